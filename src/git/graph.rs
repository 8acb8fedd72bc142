//! Reading commits' parents and dates from git's commit-graph file, as git does in every
//! history walk where one exists, instead of inflating each commit object.
//!
//! Format (git's `Documentation/gitformat-commit-graph.txt`; reader `commit-graph.c`,
//! `parse_commit_graph`, `fill_commit_in_graph`): a header `CGPH`, version 1, hash version
//! 1 (SHA-1), the number of chunks and of base graphs; a table of (4-byte id, 8-byte
//! big-endian offset) chunk entries ended by a zero id; chunks `OIDF` (256 cumulative
//! big-endian counts by first id byte), `OIDL` (the sorted ids), `CDAT` (per commit: tree id,
//! first and second parent positions, then 8 bytes whose low 34 bits are the committer time)
//! and, for octopus merges, `EDGE` (further parent positions, the last one flagged). A split
//! graph is `commit-graphs/commit-graph-chain` (layer hashes, base first) naming
//! `commit-graphs/graph-<hash>.graph` files whose positions continue those of their bases.
//!
//! Like git, refguard trusts the file's contents (git writes it from the objects; `git fsck`
//! verifies it); a file that is missing, of another version or hash, or whose chunks do not
//! fit is ignored, and every commit is then read from the object database.

use std::fs;
use std::path::Path;

use memmap2::Mmap;

use super::limit::Raw;

/// The id length of SHA-1, the only hash this build reads.
const HASH: usize = 20;
/// A `CDAT` parent position meaning "no parent".
const PARENT_NONE: u32 = 0x7000_0000;
/// In a second-parent position: the rest is an index into `EDGE`; in `EDGE`: the last parent.
const EXTENDED: u32 = 0x8000_0000;

/// One commit-graph file.
struct Layer {
    data: Mmap,
    /// Commits in this file.
    count: u32,
    /// Commits in the files below it (its first position).
    base: u32,
    oidf: usize,
    oidl: usize,
    cdat: usize,
    /// Offset and length of `EDGE`, if present.
    edge: Option<(usize, usize)>,
}

/// A repository's commit-graph: one file or a chain of them, base first.
pub(super) struct Graph {
    layers: Vec<Layer>,
}

impl Graph {
    /// The commit-graph of the object directory `objects`, if it has a readable one.
    pub(super) fn open(objects: &Path) -> Option<Graph> {
        let info = objects.join("info");
        let chain = info.join("commit-graphs").join("commit-graph-chain");
        let files: Vec<Mmap> = match fs::read_to_string(&chain) {
            Ok(text) => text
                .lines()
                .map(|hash| {
                    let hex_ok =
                        hash.len() == 2 * HASH && hash.bytes().all(|b| b.is_ascii_hexdigit());
                    hex_ok.then_some(())?;
                    map(&info
                        .join("commit-graphs")
                        .join(format!("graph-{hash}.graph")))
                })
                .collect::<Option<_>>()?,
            Err(_) => vec![map(&info.join("commit-graph"))?],
        };
        let mut layers: Vec<Layer> = Vec::with_capacity(files.len());
        let mut base = 0u32;
        for (depth, data) in files.into_iter().enumerate() {
            let layer = Layer::parse(data, base, depth)?;
            base = base.checked_add(layer.count)?;
            layers.push(layer);
        }
        (!layers.is_empty()).then_some(Graph { layers })
    }

    /// The committer time of commit `id`, its parents put in `parents`, if the graph holds
    /// it (and its entry is well-formed).
    pub(super) fn commit(&self, id: &Raw, parents: &mut Vec<Raw>) -> Option<u64> {
        parents.clear();
        let (layer, index) = self
            .layers
            .iter()
            .rev()
            .find_map(|layer| Some((layer, layer.find(id)?)))?;
        let entry = layer.cdat + index as usize * (HASH + 16);
        let word = |at: usize| layer.u32_at(entry + HASH + at);
        let (first, second) = (word(0)?, word(4)?);
        let (high, low) = (word(8)?, word(12)?);
        let date = (u64::from(high & 0x3) << 32) | u64::from(low);
        if first != PARENT_NONE {
            parents.push(self.id_at(first)?);
        }
        if second != PARENT_NONE {
            if second & EXTENDED == 0 {
                parents.push(self.id_at(second)?);
            } else {
                let (edge, len) = layer.edge?;
                let mut at = (second & !EXTENDED) as usize;
                loop {
                    if (at + 1) * 4 > len {
                        return None;
                    }
                    let value = layer.u32_at(edge + at * 4)?;
                    parents.push(self.id_at(value & !EXTENDED)?);
                    if value & EXTENDED != 0 {
                        break;
                    }
                    at += 1;
                }
            }
        }
        Some(date)
    }

    /// The id at graph position `position` (counted across the chain).
    fn id_at(&self, position: u32) -> Option<Raw> {
        let layer = self
            .layers
            .iter()
            .find(|l| position >= l.base && position - l.base < l.count)?;
        let at = layer.oidl + (position - layer.base) as usize * HASH;
        layer.data.get(at..at + HASH)?.try_into().ok()
    }
}

/// The file at `path`, mapped read-only: a lookup touches a few pages of a file that, for
/// 100,000 commits, is 6 MB, which reading whole cost more than the walk (the copy, and the
/// kernel zeroing fresh pages for it). git maps it too (`commit-graph.c`,
/// `open_commit_graph`, `xmmap`).
#[allow(unsafe_code)]
fn map(path: &Path) -> Option<Mmap> {
    let file = fs::File::open(path).ok()?;
    // SAFETY: `Mmap::map` is unsafe because the bytes change if the file is modified while
    // mapped. git never writes a commit-graph file in place: it writes a lock file and
    // renames it over the old name (`commit-graph.c`, `write_commit_graph_file`), and an
    // unlinked file stays mapped as it was. Every read through the map is bounds-checked
    // against its length; were the file truncated under us all the same, the read would be a
    // SIGBUS that kills the process, and a hook that dies rejects the push (fail closed).
    unsafe { Mmap::map(&file) }.ok()
}

impl Layer {
    /// Checks the header and chunk table of a file `depth` layers up its chain.
    fn parse(data: Mmap, base: u32, depth: usize) -> Option<Layer> {
        if data.len() < 8 || &data[..4] != b"CGPH" || data[4] != 1 || data[5] != 1 {
            return None;
        }
        let chunks = usize::from(data[6]);
        if usize::from(data[7]) != depth {
            return None;
        }
        let found = |want: &[u8; 4]| -> Option<(usize, usize)> {
            for i in 0..chunks {
                let entry = 8 + i * 12;
                let next = entry + 12;
                if data.get(entry..entry + 4)? == want {
                    let start = usize::try_from(u64_at(&data, entry + 4)?).ok()?;
                    let end = usize::try_from(u64_at(&data, next + 4)?).ok()?;
                    return (start <= end && end <= data.len()).then_some((start, end - start));
                }
            }
            None
        };
        let (oidf, oidf_len) = found(b"OIDF")?;
        let (oidl, oidl_len) = found(b"OIDL")?;
        let (cdat, cdat_len) = found(b"CDAT")?;
        let edge = found(b"EDGE");
        if oidf_len != 256 * 4 {
            return None;
        }
        let mut layer = Layer {
            data,
            count: 0,
            base,
            oidf,
            oidl,
            cdat,
            edge,
        };
        let mut last = 0;
        for byte in 0..256 {
            let count = layer.u32_at(oidf + byte * 4)?;
            if count < last {
                return None;
            }
            last = count;
        }
        layer.count = last;
        let count = last as usize;
        (oidl_len == count * HASH && cdat_len == count * (HASH + 16)).then_some(layer)
    }

    /// The index of `id` in this file's sorted ids.
    fn find(&self, id: &Raw) -> Option<u32> {
        let first = usize::from(id[0]);
        let lo = if first == 0 {
            0
        } else {
            self.u32_at(self.oidf + (first - 1) * 4)?
        };
        let hi = self.u32_at(self.oidf + first * 4)?;
        let (mut lo, mut hi) = (lo as usize, hi as usize);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let at = self.oidl + mid * HASH;
            match super::limit::cmp_id(self.data.get(at..at + HASH)?, id)? {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return u32::try_from(mid).ok(),
            }
        }
        None
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let bytes = self.data.get(at..at + 4)?;
        Some(u32::from_be_bytes(bytes.try_into().ok()?))
    }
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    let bytes = data.get(at..at + 8)?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}
