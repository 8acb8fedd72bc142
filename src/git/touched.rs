//! Which paths a commit touches (spec §9), by comparing its tree with its parents' trees.
//!
//! A hand-rolled tree comparison rather than libgit2's diff, for one property the spec's
//! performance target rests on: a subtree whose id is the same on both sides is never
//! descended, and neither is one that no path entry can reach. The comparison follows git's
//! tree order (`base_name_compare` in git's tree.c: a tree's name sorts as if it ended in
//! `/`), re-sorting a directory whose entries are out of order so a hostile, unsorted tree
//! object cannot make an entry slip past unseen. Tree objects are read raw (the format as
//! git's tree-walk.c decodes it), without libgit2's re-hash ([`PlainReads`]), parsed once
//! into entry offsets and kept in a bounded cache ([`Trees`]): a commit's trees are its
//! child's parent trees. Two directories whose entries are all sorted and named once are
//! compared only between the entries they do not write byte for byte alike at their start
//! and at their end ([`same_ends`]); a hostile directory is compared entry by entry.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::rc::Rc;

use git2::{ObjectType, Odb, Oid};

/// One entry of a tree object, borrowed from its raw bytes.
#[derive(Clone, Copy)]
struct Entry<'t> {
    name: &'t [u8],
    id: &'t [u8],
    mode: u32,
    is_tree: bool,
}

impl Entry<'_> {
    /// git's tree order (`base_name_compare` in git's tree.c): a tree's name compares as
    /// though it ended in `/`.
    fn git_order(&self, other: &Entry<'_>) -> Ordering {
        git_order((self.name, self.is_tree), (other.name, other.is_tree))
    }
}

/// git's order of two tree entries given as (name, whether a tree).
fn git_order((a, a_tree): (&[u8], bool), (b, b_tree): (&[u8], bool)) -> Ordering {
    let common = a.len().min(b.len());
    match a[..common].cmp(&b[..common]) {
        Ordering::Equal => {}
        unequal => return unequal,
    }
    let next = |name: &[u8], tree: bool| name.get(common).copied().or(tree.then_some(b'/'));
    next(a, a_tree).cmp(&next(b, b_tree))
}

/// Whether `mode` is a tree's: S_IFDIR, as git's object_type() decides a tree entry's type
/// from its mode.
fn is_tree(mode: u32) -> bool {
    mode & 0o170000 == 0o040000
}

/// Where one entry lies in its tree's raw bytes.
#[derive(Clone, Copy)]
struct Slot {
    /// The start of the entry (its mode).
    start: u32,
    /// The start of its name.
    name: u32,
    /// The NUL after its name; the id follows.
    nul: u32,
    mode: u32,
}

/// The modes git writes (`S_IFREG` 0644 and 0755, `S_IFDIR`, `S_IFLNK`, `S_IFGITLINK`) at
/// the start of `rest`, with the space that ends them: the mode and the length read.
fn common_mode(rest: &[u8]) -> Option<(u32, usize)> {
    if rest.starts_with(b"100644 ") {
        Some((0o100644, 7))
    } else if rest.starts_with(b"40000 ") {
        Some((0o40000, 6))
    } else if rest.starts_with(b"100755 ") {
        Some((0o100755, 7))
    } else if rest.starts_with(b"120000 ") {
        Some((0o120000, 7))
    } else if rest.starts_with(b"160000 ") {
        Some((0o160000, 7))
    } else {
        None
    }
}

/// A parsed tree object: its raw bytes and its entries in git's order.
pub(super) struct Tree {
    data: Box<[u8]>,
    slots: Vec<Slot>,
    id_len: usize,
    /// Entries strictly in git's order as written: sorted, no name twice. Only then may
    /// entries written identically on both sides be skipped without a look.
    clean: bool,
}

impl Tree {
    /// Parses a raw tree object: `<octal mode> SP <name> NUL <id>` per entry, as git's
    /// tree-walk.c (`decode_tree_entry`) reads them. A malformed tree is an error; an
    /// unsorted one (which git fsck calls `treeNotSorted`) is sorted, so that no entry can
    /// slip past the comparison unseen.
    fn parse(data: Box<[u8]>, id_len: usize) -> Result<Tree, git2::Error> {
        let malformed = || git2::Error::from_str("malformed tree object");
        if u32::try_from(data.len()).is_err() {
            return Err(git2::Error::from_str("tree object too large"));
        }
        // An entry takes at least "0 x\0" and an id.
        let mut slots: Vec<Slot> = Vec::with_capacity(data.len() / (id_len + 12) + 1);
        let (mut sorted, mut strict) = (true, true);
        let mut at = 0;
        while at < data.len() {
            let start = at;
            let mut mode = 0u32;
            // The modes git writes, read at once; anything else digit by digit.
            if let Some((value, len)) = common_mode(&data[at..]) {
                (mode, at) = (value, at + len);
            } else {
                loop {
                    let &digit = data.get(at).ok_or_else(malformed)?;
                    at += 1;
                    if digit == b' ' {
                        break;
                    }
                    if !(b'0'..=b'7').contains(&digit) || at - start > 7 {
                        return Err(malformed());
                    }
                    mode = mode * 8 + u32::from(digit - b'0');
                }
            }
            if at - start == 1 {
                return Err(malformed()); // no mode
            }
            let name = at;
            let nul = name
                + data[name..]
                    .iter()
                    .position(|&b| b == 0)
                    .ok_or_else(malformed)?;
            if nul == name || data.len() - (nul + 1) < id_len {
                return Err(malformed());
            }
            at = nul + 1 + id_len;
            // Offsets fit: the whole tree does (checked above).
            let slot = Slot {
                start: start as u32,
                name: name as u32,
                nul: nul as u32,
                mode,
            };
            if let Some(previous) = slots.last() {
                let (before, after) = (previous.name as usize, previous.nul as usize);
                let previous = (&data[before..after], is_tree(previous.mode));
                match git_order(previous, (&data[name..nul], is_tree(mode))) {
                    Ordering::Less => {}
                    Ordering::Equal => strict = false,
                    Ordering::Greater => (sorted, strict) = (false, false),
                }
            }
            slots.push(slot);
        }
        if !sorted {
            slots.sort_by(|a, b| entry(&data, a, id_len).git_order(&entry(&data, b, id_len)));
        }
        Ok(Tree {
            data,
            slots,
            id_len,
            clean: strict,
        })
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    fn get(&self, at: usize) -> Option<Entry<'_>> {
        self.slots
            .get(at)
            .map(|slot| entry(&self.data, slot, self.id_len))
    }

    /// The memory it holds, for the cache's bound.
    fn footprint(&self) -> usize {
        self.data.len() + self.slots.len() * std::mem::size_of::<Slot>() + 64
    }
}

/// How many entries clean trees `old` and `new` hold written byte for byte alike at their
/// start, and how many at their end (not overlapping). Identical bytes from the start parse
/// into identical entries. At the end, going backwards: entries are contiguous and the last
/// ones end at both ends, so an entry that starts as far from the end on both sides, within
/// the bytes both end with, spans the same bytes on both sides.
fn same_ends(old: &Tree, new: &Tree) -> (usize, usize) {
    let (a, b) = (&*old.data, &*new.data);
    let end = |slot: &Slot| slot.nul as usize + 1 + old.id_len;
    let alike = common_prefix(a, b);
    let prefix = old.slots.partition_point(|s| end(s) <= alike);
    let taken = old.slots[..prefix].last().map_or(0, end);
    let alike_end = common_suffix(a, b).min(a.len().min(b.len()) - taken);
    let mut suffix = 0;
    while let (Some(o), Some(n)) = (
        old.slots[prefix..].iter().rev().nth(suffix),
        new.slots[prefix..].iter().rev().nth(suffix),
    ) {
        let distance = a.len() - o.start as usize;
        if distance != b.len() - n.start as usize || distance > alike_end {
            break;
        }
        suffix += 1;
    }
    (prefix, suffix)
}

/// The length of the longest common prefix of `a` and `b`, compared 16 bytes at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let (wide_a, _) = a.as_chunks::<16>();
    let (wide_b, _) = b.as_chunks::<16>();
    let mut at = wide_a
        .iter()
        .zip(wide_b)
        .take_while(|(x, y)| x == y)
        .count()
        * 16;
    while at < a.len().min(b.len()) && a[at] == b[at] {
        at += 1;
    }
    at
}

/// The length of the longest common suffix of `a` and `b`, compared 16 bytes at a time.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let (_, wide_a) = a.as_rchunks::<16>();
    let (_, wide_b) = b.as_rchunks::<16>();
    let mut alike = wide_a
        .iter()
        .rev()
        .zip(wide_b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
        * 16;
    while alike < a.len().min(b.len()) && a[a.len() - 1 - alike] == b[b.len() - 1 - alike] {
        alike += 1;
    }
    alike
}

/// The entry at `slot` of the raw tree `data`.
fn entry<'t>(data: &'t [u8], slot: &Slot, id_len: usize) -> Entry<'t> {
    let (name, nul) = (slot.name as usize, slot.nul as usize);
    Entry {
        name: &data[name..nul],
        id: &data[nul + 1..nul + 1 + id_len],
        mode: slot.mode,
        is_tree: is_tree(slot.mode),
    }
}

/// How many bytes of parsed trees [`Trees`] keeps: a push's commits share most of their
/// trees (each commit's trees are its child's parent trees), so each is read and parsed
/// once; the bound keeps a long push's memory flat.
const CACHE_BYTES: usize = 8 << 20;

/// The trees read so far, by id, parsed: tree objects never change, so a cached one is
/// exactly what a fresh read would give. Oldest evicted first beyond [`CACHE_BYTES`].
pub(crate) struct Trees {
    parsed: HashMap<Oid, Rc<Tree>>,
    order: VecDeque<Oid>,
    bytes: usize,
    limit: usize,
}

impl Default for Trees {
    fn default() -> Trees {
        Trees::bounded(CACHE_BYTES)
    }
}

impl Trees {
    /// An empty cache keeping up to `limit` bytes of parsed trees.
    fn bounded(limit: usize) -> Trees {
        Trees {
            parsed: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            limit,
        }
    }

    /// Tree `id`, from the cache or read raw from `odb` and parsed (an error if it is
    /// missing, not a tree, or malformed).
    fn get(&mut self, odb: &Odb<'_>, id: Oid) -> Result<Rc<Tree>, git2::Error> {
        if let Some(tree) = self.parsed.get(&id) {
            return Ok(Rc::clone(tree));
        }
        let object = odb.read(id)?;
        if object.kind() != ObjectType::Tree {
            return Err(git2::Error::from_str(&format!("{id} is not a tree")));
        }
        let tree = Rc::new(Tree::parse(object.data().into(), id.as_bytes().len())?);
        self.bytes += tree.footprint();
        self.parsed.insert(id, Rc::clone(&tree));
        self.order.push_back(id);
        while self.bytes > self.limit {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(evicted) = self.parsed.remove(&oldest) {
                self.bytes -= evicted.footprint();
            }
        }
        Ok(tree)
    }
}

/// While alive, libgit2 reads objects as git's own tree walks do: without re-hashing each
/// one. git's `diff-tree` reads trees through `read_object_file`, which does not; every
/// object in the store or the quarantine was hashed when `index-pack` or `unpack-objects`
/// wrote it. Re-hashing with SHA-1DC was 40% of the instructions of a wide push's
/// comparison. libgit2's switch is process-wide, on by default and never turned off
/// elsewhere: restored on drop.
struct PlainReads;

impl PlainReads {
    fn start() -> PlainReads {
        git2::opts::strict_hash_verification(false);
        PlainReads
    }
}

impl Drop for PlainReads {
    fn drop(&mut self) {
        git2::opts::strict_hash_verification(true);
    }
}

/// The tree and parent ids of a raw commit, read as git's commit.c (`parse_commit_buffer`)
/// and libgit2's commit.c (`commit_parse`) read them: a first header `tree <hex>`, then the
/// `parent <hex>` headers that follow it directly (a `parent` header further down names no
/// parent for git, so none here either). Anything else there is an error.
pub(super) fn commit_header(raw: &[u8], id_len: usize) -> Result<(Oid, Vec<Oid>), git2::Error> {
    let bogus = || git2::Error::from_str("malformed commit object");
    let id = |rest: &[u8]| -> Result<Oid, git2::Error> {
        match rest.get(..id_len * 2 + 1) {
            Some([hex @ .., b'\n']) => {
                Oid::from_str(std::str::from_utf8(hex).map_err(|_| bogus())?)
            }
            _ => Err(bogus()),
        }
    };
    let rest = raw.strip_prefix(b"tree ").ok_or_else(bogus)?;
    let tree = id(rest)?;
    let mut rest = &rest[id_len * 2 + 1..];
    let mut parents = Vec::new();
    while let Some(line) = rest.strip_prefix(b"parent ") {
        parents.push(id(line)?);
        rest = &line[id_len * 2 + 1..];
    }
    Ok((tree, parents))
}

/// The literal prefixes paths must start with to be worth reporting (empty: every path).
pub(super) struct Scope<'a> {
    prefixes: &'a [String],
}

impl<'a> Scope<'a> {
    /// A scope of `prefixes`; an empty list, or an empty prefix, lets every path in.
    pub(super) fn new(prefixes: &'a [String]) -> Scope<'a> {
        Scope { prefixes }
    }

    fn everything(&self) -> bool {
        self.prefixes.is_empty() || self.prefixes.iter().any(String::is_empty)
    }

    /// Whether the directory `dir` (ending in `/`) can hold a reportable path.
    fn reaches_dir(&self, dir: &[u8]) -> bool {
        self.everything()
            || self.prefixes.iter().any(|p| {
                let p = p.as_bytes();
                p.starts_with(dir) || dir.starts_with(p)
            })
    }

    /// Whether the file path `path` is reportable.
    fn reaches_file(&self, path: &[u8]) -> bool {
        self.everything() || self.prefixes.iter().any(|p| path.starts_with(p.as_bytes()))
    }
}

/// The paths (blobs, symlinks, submodules) tree `tree` touches relative to the trees
/// `parents`, sorted:
/// with no parent every path in the tree; with one, every path whose entry (id or mode)
/// differs, appears or disappears; with several, only those that differ from every parent
/// (what a merge itself introduced). Only paths `scope` reaches are reported. Trees are
/// taken from and added to `trees`.
pub(super) fn touched(
    odb: &Odb<'_>,
    trees: &mut Trees,
    tree: Oid,
    parents: &[Oid],
    scope: &Scope<'_>,
) -> Result<Vec<String>, git2::Error> {
    let _plain = PlainReads::start();
    let mut walk = Walk {
        odb,
        trees,
        scope,
        dir: Vec::new(),
        out: BTreeSet::new(),
    };
    walk.compare(parents.first().copied(), Some(tree))?;
    let mut paths = walk.out;
    if parents.len() > 1 && !paths.is_empty() {
        // A merge: keep what differs from every other parent too.
        let mut kept = BTreeSet::new();
        for path in paths {
            let mine = entry_at(odb, trees, tree, &path)?;
            let mut differs = true;
            for parent in &parents[1..] {
                if !entry_at(odb, trees, *parent, &path)?.differs_from(&mine) {
                    differs = false;
                    break;
                }
            }
            if differs {
                kept.insert(path);
            }
        }
        paths = kept;
    }
    Ok(paths
        .into_iter()
        .map(|p| String::from_utf8_lossy(&p).into_owned())
        .collect())
}

/// What a tree holds at a path.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// No non-tree entry there.
    Missing,
    /// A non-tree entry: its raw id and mode.
    Entry(Vec<u8>, u32),
    /// A name written twice on the way (a hostile tree): never taken as unchanged.
    Ambiguous,
}

impl Found {
    fn differs_from(&self, other: &Found) -> bool {
        matches!(self, Found::Ambiguous) || matches!(other, Found::Ambiguous) || self != other
    }
}

/// The non-tree entry at `path` in tree `tree`, scanning all the entries of each tree on the
/// way (not a binary search: an unsorted tree cannot hide an entry).
fn entry_at(
    odb: &Odb<'_>,
    trees: &mut Trees,
    tree: Oid,
    path: &[u8],
) -> Result<Found, git2::Error> {
    let mut current = tree;
    let mut components = path.split(|&b| b == b'/').peekable();
    while let Some(name) = components.next() {
        let entries = trees.get(odb, current)?;
        let mut matching = (0..entries.len())
            .filter_map(|at| entries.get(at))
            .filter(|e| e.name == name);
        let (Some(entry), None) = (matching.next(), matching.next()) else {
            let count = (0..entries.len())
                .filter_map(|at| entries.get(at))
                .filter(|e| e.name == name)
                .count();
            return Ok(if count > 1 {
                Found::Ambiguous
            } else {
                Found::Missing
            });
        };
        let last = components.peek().is_none();
        match (last, entry.is_tree) {
            (true, false) => return Ok(Found::Entry(entry.id.to_vec(), entry.mode)),
            (false, true) => current = oid(&entry)?,
            _ => return Ok(Found::Missing),
        }
    }
    Ok(Found::Missing)
}

fn oid(entry: &Entry<'_>) -> Result<Oid, git2::Error> {
    Oid::from_bytes(entry.id)
}

/// One comparison of a commit's tree with a parent's.
struct Walk<'w, 'o> {
    odb: &'w Odb<'o>,
    trees: &'w mut Trees,
    scope: &'w Scope<'w>,
    /// The directory compared: empty, or ending in `/`.
    dir: Vec<u8>,
    out: BTreeSet<Vec<u8>>,
}

impl Walk<'_, '_> {
    /// Tree `id`, or an empty tree for an absent side.
    fn tree(&mut self, id: Option<Oid>) -> Result<Option<Rc<Tree>>, git2::Error> {
        id.map(|id| self.trees.get(self.odb, id)).transpose()
    }

    /// Compares the trees `old` and `new` (either absent) under `self.dir`, adding every
    /// differing path the scope reaches.
    fn compare(&mut self, old: Option<Oid>, new: Option<Oid>) -> Result<(), git2::Error> {
        if old == new {
            return Ok(());
        }
        let (old, new) = (self.tree(old)?, self.tree(new)?);
        let empty = Tree {
            data: Box::default(),
            slots: Vec::new(),
            id_len: 0,
            clean: true,
        };
        let (old, new) = (
            old.as_deref().unwrap_or(&empty),
            new.as_deref().unwrap_or(&empty),
        );
        let (mut i, mut j) = (0, 0);
        let (mut old_end, mut new_end) = (old.len(), new.len());
        if old.clean && new.clean {
            // Sorted, each name once: entries written identically at the start or the end
            // of both are unchanged, and the merge below would pair them with each other.
            let (prefix, suffix) = same_ends(old, new);
            (i, j) = (prefix, prefix);
            (old_end, new_end) = (old_end - suffix, new_end - suffix);
        }
        // A name twice in one tree (git fsck's duplicateEntries; receive.fsckObjects may be
        // off): every copy counts as added or removed, so none is taken as unchanged.
        let duplicate = |tree: &Tree, at: usize| {
            !tree.clean
                && {
                    let this = tree.get(at);
                    let same = |other: Option<Entry<'_>>| matches!((other, this), (Some(a), Some(b)) if a.git_order(&b) == Ordering::Equal);
                    same(tree.get(at + 1)) || (at > 0 && same(tree.get(at - 1)))
                }
        };
        loop {
            let (o, n) = (
                old.get(i).filter(|_| i < old_end),
                new.get(j).filter(|_| j < new_end),
            );
            match (o, n) {
                (None, None) => break,
                (Some(o), None) => {
                    self.one_side(&o)?;
                    i += 1;
                }
                (None, Some(n)) => {
                    self.one_side(&n)?;
                    j += 1;
                }
                (Some(o), Some(n)) => match o.git_order(&n) {
                    Ordering::Less => {
                        self.one_side(&o)?;
                        i += 1;
                    }
                    Ordering::Greater => {
                        self.one_side(&n)?;
                        j += 1;
                    }
                    Ordering::Equal if duplicate(old, i) || duplicate(new, j) => {
                        self.one_side(&o)?;
                        self.one_side(&n)?;
                        i += 1;
                        j += 1;
                    }
                    Ordering::Equal => {
                        // The same id and mode: unchanged, and a subtree is never descended.
                        if (o.id, o.mode) != (n.id, n.mode) {
                            if n.is_tree {
                                self.descend(Some(oid(&o)?), Some(oid(&n)?), n.name)?;
                            } else {
                                self.report(n.name);
                            }
                        }
                        i += 1;
                        j += 1;
                    }
                },
            }
        }
        Ok(())
    }

    /// An entry present on one side only: a path, or every path under a tree.
    fn one_side(&mut self, entry: &Entry<'_>) -> Result<(), git2::Error> {
        if entry.is_tree {
            self.descend(None, Some(oid(entry)?), entry.name)
        } else {
            self.report(entry.name);
            Ok(())
        }
    }

    /// Compares the subtrees named `name` under `self.dir`, if the scope reaches into them.
    fn descend(
        &mut self,
        old: Option<Oid>,
        new: Option<Oid>,
        name: &[u8],
    ) -> Result<(), git2::Error> {
        let len = self.dir.len();
        self.dir.extend_from_slice(name);
        self.dir.push(b'/');
        let result = if self.scope.reaches_dir(&self.dir) {
            self.compare(old, new)
        } else {
            Ok(())
        };
        self.dir.truncate(len);
        result
    }

    /// Adds the path `self.dir` + `name` if the scope reaches it.
    fn report(&mut self, name: &[u8]) {
        let mut path = Vec::with_capacity(self.dir.len() + name.len());
        path.extend_from_slice(&self.dir);
        path.extend_from_slice(name);
        if self.scope.reaches_file(&path) {
            self.out.insert(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::Repository;

    fn raw(entries: &[(&str, &str, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (mode, name, id) in entries {
            out.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            out.extend_from_slice(&[*id; 20]);
        }
        out
    }

    fn parse(data: &[u8], id_len: usize) -> Result<Tree, git2::Error> {
        Tree::parse(data.into(), id_len)
    }

    fn entries(tree: &Tree) -> Vec<Entry<'_>> {
        (0..tree.len()).filter_map(|at| tree.get(at)).collect()
    }

    fn names(data: &[u8]) -> Vec<String> {
        entries(&parse(data, 20).expect("parse"))
            .iter()
            .map(|e| {
                String::from_utf8_lossy(e.name).into_owned() + if e.is_tree { "/" } else { "" }
            })
            .collect()
    }

    #[test]
    fn entries_come_out_in_git_order_whatever_order_they_were_written_in() {
        // git's order: "a.b" < "a/" (a tree) < "a0"; a file "a" sorts before "a.b".
        let sorted = raw(&[
            ("100644", "a", 1),
            ("100644", "a.b", 2),
            ("40000", "a", 3),
            ("100644", "a0", 4),
        ]);
        assert_eq!(names(&sorted), ["a", "a.b", "a/", "a0"]);
        let shuffled = raw(&[
            ("100644", "a0", 4),
            ("40000", "a", 3),
            ("100644", "a.b", 2),
            ("100644", "a", 1),
        ]);
        assert_eq!(names(&shuffled), ["a", "a.b", "a/", "a0"]);
        let tree = parse(&sorted, 20).expect("parse");
        let entries = entries(&tree);
        assert_eq!(entries[2].mode, 0o40000);
        assert_eq!(entries[3].id, &[4; 20]);
        assert!(tree.clean);
        assert!(!parse(&shuffled, 20).expect("parse").clean);
        let twice = raw(&[("100644", "a", 1), ("100644", "a", 2)]);
        assert!(!parse(&twice, 20).expect("parse").clean);
        // Zero-padded modes (git fsck's zeroPaddedFilemode) are read by value.
        let padded = parse(&raw(&[("040000", "d", 1)]), 20).expect("parse");
        assert!(padded.get(0).expect("entry").is_tree);
    }

    #[test]
    fn lookups_by_path_scan_unsorted_and_duplicate_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init_bare(dir.path()).expect("init");
        let odb = repo.odb().expect("odb");
        let blob = |text: &str| odb.write(ObjectType::Blob, text.as_bytes()).expect("blob");
        let tree = |entries: &[(&str, &str, Oid)]| {
            let mut raw = Vec::new();
            for (mode, name, id) in entries {
                raw.extend_from_slice(format!("{mode} {name}\0").as_bytes());
                raw.extend_from_slice(id.as_bytes());
            }
            odb.write(ObjectType::Tree, &raw).expect("tree")
        };
        let (a, z) = (blob("a"), blob("z"));
        // Written out of order: a binary search for "a" would look past it.
        let inner = tree(&[("100644", "z", z), ("100644", "y", z), ("100644", "a", a)]);
        let root = tree(&[("40000", "dir", inner), ("100644", "top", z)]);
        let trees = &mut Trees::default();
        let found = entry_at(&odb, trees, root, b"dir/a").expect("lookup");
        assert_eq!(found, Found::Entry(a.as_bytes().to_vec(), 0o100644));
        assert_eq!(
            entry_at(&odb, trees, root, b"dir/b").expect("lookup"),
            Found::Missing
        );
        assert_eq!(
            entry_at(&odb, trees, root, b"top/a").expect("lookup"),
            Found::Missing
        );
        assert_eq!(
            entry_at(&odb, trees, root, b"dir").expect("lookup"),
            Found::Missing
        );
        // A name twice is never "the same" as anything.
        let twice = tree(&[("100644", "a", a), ("100644", "a", a)]);
        let ambiguous = entry_at(&odb, trees, twice, b"a").expect("lookup");
        assert_eq!(ambiguous, Found::Ambiguous);
        assert!(ambiguous.differs_from(&Found::Entry(a.as_bytes().to_vec(), 0o100644)));
        assert!(Found::Ambiguous.differs_from(&Found::Ambiguous));
        assert!(!Found::Missing.differs_from(&Found::Missing));
    }

    /// Writes a raw tree (entries as given, in that order) into `odb`.
    fn write_tree(odb: &Odb<'_>, entries: &[(&str, &[u8], Oid)]) -> Oid {
        let mut raw = Vec::new();
        for (mode, name, id) in entries {
            raw.extend_from_slice(format!("{mode} ").as_bytes());
            raw.extend_from_slice(name);
            raw.push(0);
            raw.extend_from_slice(id.as_bytes());
        }
        odb.write(ObjectType::Tree, &raw).expect("tree")
    }

    fn touched_in(odb: &Odb<'_>, trees: &mut Trees, new: Oid, old: &[Oid]) -> Vec<String> {
        touched(odb, trees, new, old, &Scope::new(&[])).expect("touched")
    }

    #[test]
    fn the_cache_gives_what_a_fresh_read_does_and_stays_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init_bare(dir.path()).expect("init");
        let odb = repo.odb().expect("odb");
        let blob = odb.write(ObjectType::Blob, b"x").expect("blob");
        let one = write_tree(&odb, &[("100644", b"a", blob), ("100644", b"b", blob)]);
        let two = write_tree(&odb, &[("100644", b"c", blob)]);
        let shown = |tree: &Tree| {
            entries(tree)
                .iter()
                .map(|e| (e.name.to_vec(), e.id.to_vec(), e.mode, e.is_tree))
                .collect::<Vec<_>>()
        };
        let fresh = |id: Oid| {
            let object = odb.read(id).expect("read");
            shown(&parse(object.data(), 20).expect("parse"))
        };
        // Room for the first tree only: reading the second evicts the first.
        let room = Trees::default().get(&odb, one).expect("get").footprint();
        let mut trees = Trees::bounded(room);
        let first = trees.get(&odb, one).expect("get");
        assert_eq!(shown(&first), fresh(one));
        assert!(Rc::ptr_eq(&first, &trees.get(&odb, one).expect("cached")));
        assert_eq!(shown(&trees.get(&odb, two).expect("get")), fresh(two));
        assert_eq!(trees.parsed.len(), 1);
        assert!(!Rc::ptr_eq(
            &first,
            &trees.get(&odb, one).expect("read again")
        ));
        assert_eq!(shown(&trees.get(&odb, one).expect("get")), fresh(one));
        // What is not a tree is an error, cached or not.
        assert!(trees.get(&odb, blob).is_err());
        // A whole comparison gives the same answer with a cold cache, a warm one and none.
        let mut warm = Trees::default();
        let want = touched_in(&odb, &mut Trees::bounded(0), two, &[one]);
        assert_eq!(want, ["a", "b", "c"]);
        assert_eq!(touched_in(&odb, &mut warm, two, &[one]), want);
        assert_eq!(touched_in(&odb, &mut warm, two, &[one]), want);
    }

    /// A small deterministic generator (an LCG: repeatable shapes, not quality).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, below: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % below
        }
    }

    #[test]
    fn entries_skipped_at_both_ends_are_exactly_the_unchanged_ones() {
        // Random flat trees and edits of them (ids full of spaces and NULs, names of uneven
        // length, modes of both widths): every path the comparison reports is one a plain
        // map of names finds changed, and the other way round.
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init_bare(dir.path()).expect("init");
        let odb = repo.odb().expect("odb");
        let mut rng = Lcg(7);
        let ids: Vec<Oid> = [[0u8; 20], [b' '; 20], [7; 20], *b"1 x\0y 2\0\0  aaaaaaaaa"]
            .iter()
            .map(|raw| Oid::from_bytes(raw).expect("id"))
            .collect();
        let mut trees = Trees::default();
        for round in 0..400 {
            let mut old: std::collections::BTreeMap<Vec<u8>, (u32, Oid)> = Default::default();
            for _ in 0..rng.next(40) {
                let len = 1 + rng.next(4) as usize;
                let name: Vec<u8> = (0..len).map(|_| b"ab0 "[rng.next(5) as usize]).collect();
                let mode = [0o100644, 0o100755][rng.next(2) as usize];
                old.insert(name, (mode, ids[rng.next(4) as usize]));
            }
            let mut new = old.clone();
            for _ in 0..rng.next(3) {
                let keys: Vec<Vec<u8>> = new.keys().cloned().collect();
                match (rng.next(3), keys.is_empty()) {
                    (0, false) => {
                        new.remove(&keys[rng.next(keys.len() as u64) as usize]);
                    }
                    (1, false) => {
                        let key = &keys[rng.next(keys.len() as u64) as usize];
                        new.insert(key.clone(), (0o100644, ids[rng.next(4) as usize]));
                    }
                    _ => {
                        new.insert(vec![b"ab0"[rng.next(3) as usize]; 3], (0o100755, ids[1]));
                    }
                }
            }
            let write = |map: &std::collections::BTreeMap<Vec<u8>, (u32, Oid)>| {
                let modes: Vec<(String, &Vec<u8>, Oid)> = map
                    .iter()
                    .map(|(name, (mode, id))| (format!("{mode:o}"), name, *id))
                    .collect();
                let entries: Vec<(&str, &[u8], Oid)> = modes
                    .iter()
                    .map(|(mode, name, id)| (mode.as_str(), name.as_slice(), *id))
                    .collect();
                write_tree(&odb, &entries)
            };
            let (old_id, new_id) = (write(&old), write(&new));
            let mut want: Vec<String> = old
                .keys()
                .chain(new.keys())
                .filter(|name| old.get(*name) != new.get(*name))
                .map(|name| String::from_utf8_lossy(name).into_owned())
                .collect();
            want.sort();
            want.dedup();
            let got = touched_in(&odb, &mut trees, new_id, &[old_id]);
            let mut sorted = got.clone();
            sorted.sort();
            assert_eq!(sorted, want, "round {round}");
        }
    }

    #[test]
    fn duplicate_and_unsorted_entries_never_pass_as_unchanged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init_bare(dir.path()).expect("init");
        let odb = repo.odb().expect("odb");
        let (x, y) = (
            odb.write(ObjectType::Blob, b"x").expect("blob"),
            odb.write(ObjectType::Blob, b"y").expect("blob"),
        );
        let files = |names: &[&'static str], id: Oid| -> Vec<(&'static str, &'static [u8], Oid)> {
            names.iter().map(|n| ("100644", n.as_bytes(), id)).collect()
        };
        let wide: Vec<&'static str> = vec!["a", "b", "c", "d", "e", "f", "g", "h"];
        let old = write_tree(&odb, &files(&wide, x));
        let trees = &mut Trees::default();
        // The same entries with "d" written twice: both copies count as touched.
        let mut twice = files(&wide, x);
        twice.insert(4, ("100644", b"d", x));
        let twice = write_tree(&odb, &twice);
        assert_eq!(touched_in(&odb, trees, twice, &[old]), ["d"]);
        assert_eq!(touched_in(&odb, trees, old, &[twice]), ["d"]);
        // Written out of order, one entry changed: found wherever it was written.
        let mut shuffled = files(&wide, x);
        shuffled.reverse();
        shuffled[1].2 = y; // "g"
        let shuffled = write_tree(&odb, &shuffled);
        assert_eq!(touched_in(&odb, trees, shuffled, &[old]), ["g"]);
        assert_eq!(touched_in(&odb, trees, old, &[shuffled]), ["g"]);
    }

    #[test]
    fn commit_headers_are_read_as_git_reads_them() {
        let (t, p, q) = ("1".repeat(40), "2".repeat(40), "3".repeat(40));
        let oid = |hex: &str| Oid::from_str(hex).expect("id");
        let ok = |raw: String| commit_header(raw.as_bytes(), 20).expect("commit");
        assert_eq!(ok(format!("tree {t}\nauthor a\n\nm")), (oid(&t), vec![]));
        assert_eq!(
            ok(format!("tree {t}\nparent {p}\nparent {q}\nauthor a\n\nm")),
            (oid(&t), vec![oid(&p), oid(&q)])
        );
        // A parent header after another header is no parent (git's parse_commit_buffer).
        assert_eq!(
            ok(format!("tree {t}\nparent {p}\nauthor a\nparent {q}\n\nm")),
            (oid(&t), vec![oid(&p)])
        );
        for bad in [
            format!("author a\ntree {t}\n\nm"),            // tree not first
            format!("tree {}\n\nm", &t[..39]),             // a short id
            format!("tree {t}x\n\nm"),                     // a long one
            format!("tree {t}\nparent {}\n\nm", &p[..39]), // a short parent
            format!("tree {t}\nparent {p}"),               // no newline
            format!("tree {}\n", "g".repeat(40)),          // not hex
            String::new(),
        ] {
            assert!(commit_header(bad.as_bytes(), 20).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn malformed_trees_are_errors() {
        let good = raw(&[("100644", "f", 1)]);
        for bad in [
            &good[..good.len() - 1],             // a truncated id
            b"100644 f".as_slice(),              // no NUL
            b"100644f\0aaaaaaaaaaaaaaaaaaaa",    // no space
            b"100648 f\0aaaaaaaaaaaaaaaaaaaa",   // not octal
            b" f\0aaaaaaaaaaaaaaaaaaaa",         // no mode
            b"100644 \0aaaaaaaaaaaaaaaaaaaa",    // no name
            b"10064400 f\0aaaaaaaaaaaaaaaaaaaa", // a mode too long
        ] {
            assert!(parse(bad, 20).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse(b"", 20).expect("empty tree").len(), 0);
    }
}
