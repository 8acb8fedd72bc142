//! The commits reachable from one tip and from none of many hidden ids, found the way
//! `git rev-list TIP --not HIDE...` finds them, for thousands of hidden ids at once.
//!
//! libgit2's revwalk keeps its queue of commits to visit in a date-sorted linked list and
//! inserts each one by scanning it (`commit_list_insert_by_date`): with the tips of 10,000
//! other branches hidden, a 10-commit push spent seconds there. This module runs git's own
//! algorithm (`revision.c` in git 2.47: `prepare_revision_walk`, `limit_list`,
//! `process_parents`, `mark_parents_uninteresting`, `still_interesting`,
//! `everybody_uninteresting`) with a binary heap as the queue. Equal dates leave the heap in
//! the order they entered it, as `commit_list_insert_by_date` leaves them, and the walk stops
//! where git's does (once every queued commit is hidden, after `SLOP` more), so the set found
//! is git's on every history, clock skew included.
//!
//! Like git, it reads every hidden id once (to date it) and then only the commits near the
//! tip, from the commit-graph file where there is one (`graph.rs`).
//!
//! Where dates are skewed beyond what the slop absorbs, git's answer (and so this one) can
//! include commits that a hidden id does reach; it never leaves out one that none reaches.
//! Checking more commits than needed rejects more, never less.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::path::Path;

use git2::{ObjectType, Odb, Oid};

use super::graph::Graph;
use super::pack::Packs;
use super::{Error, Result, to_id};

/// How many hidden commits git keeps walking once every queued commit is hidden
/// (`revision.c`, `SLOP`): a guard against commit dates that go backwards.
const SLOP: u32 = 5;
/// How many tags a hidden id may be wrapped in before it is ignored.
const MAX_PEEL: usize = 64;

/// `UNINTERESTING`: reachable from a hidden id.
const HIDDEN: u8 = 1;
/// `SEEN`: queued (or a tip).
const SEEN: u8 = 2;
/// `ADDED`: its parents were processed.
const ADDED: u8 = 4;
/// In the queue now.
const QUEUED: u8 = 8;
/// Found new by the walk (reachable from the tip, not hidden when popped and not since).
const NEW: u8 = 16;

/// A raw SHA-1 object id.
pub(super) type Raw = [u8; 20];

/// `a` (a slice of an index or graph file, 20 bytes) against `b`, in byte order: the
/// first eight bytes compared as one number, the rest only on a tie (a binary search over
/// sorted ids then rarely calls `memcmp`).
pub(super) fn cmp_id(a: &[u8], b: &Raw) -> Option<std::cmp::Ordering> {
    let a: &Raw = a.try_into().ok()?;
    let head = |x: &Raw| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&x[..8]);
        u64::from_be_bytes(bytes)
    };
    Some(head(a).cmp(&head(b)).then_with(|| a[8..].cmp(&b[8..])))
}

/// A commit's place in [`Walk::nodes`].
type Index = u32;

/// `Node::parents_at` of a commit not read yet (git's `!parsed`).
const UNREAD: u32 = u32::MAX;

/// A raw id as a hash-map key, hashed by its first eight bytes as git hashes object ids in
/// its own tables (`hash.h`, `oidhash`: the bytes of a SHA-1 are already uniform). SipHash
/// over all twenty bytes, and git2's `Oid` (compared through a C call), cost a third of the
/// walk through 10,000 hidden tips.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key(Raw);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut head = [0u8; 8];
        head.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_ne_bytes(head));
    }
}

/// The hasher of [`Key`]: the value it is given.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `Key`; anything else is folded in, byte by byte.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A commit met by the walk.
struct Node {
    id: Raw,
    flags: u8,
    /// The committer time, as git parses it (`commit.c`, `parse_commit_date`).
    date: u64,
    /// Where its parents start in [`Walk::parents`]; [`UNREAD`] until read (git's
    /// `parsed`): marks only travel through read commits.
    parents_at: u32,
    parents_len: u32,
}

/// The walk's state: every commit met, and the queue.
struct Walk<'o, 'r> {
    odb: &'o Odb<'r>,
    /// Where commits are read from first, as git does, when the repository has one.
    graph: Option<&'o Graph>,
    tip: Oid,
    index: HashMap<Key, Index, BuildHasherDefault<KeyHasher>>,
    nodes: Vec<Node>,
    /// The parents of every commit read, each commit's in a run (see `Node::parents_at`).
    parents: Vec<Index>,
    /// Newest first; among equal dates, first queued first.
    queue: BinaryHeap<(u64, Reverse<u64>, Index)>,
    queued: u64,
    /// Queued commits not (yet) hidden: git's `everybody_uninteresting` is this being zero.
    visible_queued: usize,
    /// Parent ids of the commit being read (kept to reuse its allocation).
    scratch: Vec<Raw>,
    /// The object directory whose packs hidden tips are read from (see `pack.rs`).
    objects: Option<&'o Path>,
    /// Those packs, opened on the first hidden tip the graph does not hold.
    packs: Option<Option<Packs>>,
    /// The contents of the last object read from them.
    buffer: Vec<u8>,
}

/// The commits reachable from `tip` (a commit) and from none of `hide`, children before
/// parents and otherwise newest first by commit time (as `git rev-list --date-order`).
///
/// `hide` is lenient as in [`super::Repo::new_commits`]: ids that are missing, or that are
/// or peel to no commit, are ignored, as are hidden commits that cannot be read (git skips
/// them the same way). A commit that is not hidden and cannot be read, or is malformed, is an
/// error: the walk fails closed.
pub(super) fn limit(
    odb: &Odb<'_>,
    graph: Option<&Graph>,
    objects: Option<&Path>,
    tip: Oid,
    hide: &[Oid],
) -> Result<Vec<Oid>> {
    let mut walk = Walk {
        odb,
        graph,
        tip,
        index: HashMap::with_capacity_and_hasher(2 * hide.len() + 64, Default::default()),
        nodes: Vec::with_capacity(2 * hide.len() + 64),
        parents: Vec::with_capacity(2 * hide.len() + 64),
        queue: BinaryHeap::with_capacity(hide.len() + 64),
        queued: 0,
        visible_queued: 0,
        scratch: Vec::new(),
        objects,
        packs: None,
        buffer: Vec::new(),
    };
    // prepare_revision_walk: each tip read once, hidden ones marking their parents; then the
    // list sorted by date (a stable sort: equal dates keep the command line's order).
    let mut start: Vec<(u64, Index)> = Vec::with_capacity(hide.len() + 1);
    let tip_at = walk.intern(raw(&tip));
    walk.read(tip_at)?;
    walk.nodes[tip_at as usize].flags |= SEEN;
    start.push((walk.nodes[tip_at as usize].date, tip_at));
    for id in hide {
        let Some(commit) = walk.read_hidden(raw(id)) else {
            continue;
        };
        walk.set_hidden(commit);
        walk.mark_parents_hidden(commit);
        let node = &mut walk.nodes[commit as usize];
        if node.flags & SEEN == 0 {
            node.flags |= SEEN;
            start.push((node.date, commit));
        }
    }
    start.sort_by_key(|&(date, _)| Reverse(date));
    for (_, commit) in start {
        walk.enqueue(commit);
    }

    // limit_list.
    let mut slop = SLOP;
    let mut date = u64::MAX;
    let mut popped: Vec<Index> = Vec::new();
    while let Some((_, _, commit)) = walk.queue.pop() {
        let node = &mut walk.nodes[commit as usize];
        node.flags &= !QUEUED;
        if node.flags & HIDDEN == 0 {
            walk.visible_queued -= 1;
        }
        walk.process_parents(commit)?;
        let node = &walk.nodes[commit as usize];
        if node.flags & HIDDEN != 0 {
            walk.mark_parents_hidden(commit);
            slop = walk.still_interesting(date, slop);
            if slop > 0 {
                continue;
            }
            break;
        }
        date = node.date;
        popped.push(commit);
    }

    popped.retain(|&n| walk.nodes[n as usize].flags & HIDDEN == 0);
    for &n in &popped {
        walk.nodes[n as usize].flags |= NEW;
    }
    children_first(&walk, &popped)
        .into_iter()
        .map(|n| Oid::from_bytes(&walk.nodes[n as usize].id).map_err(|cause| walk.error(cause)))
        .collect()
}

/// The raw bytes of a git2 id.
fn raw(id: &Oid) -> Raw {
    let mut out = [0u8; 20];
    out.copy_from_slice(id.as_bytes());
    out
}

/// `new` (the commits flagged [`NEW`], found in this order) with each commit after all its
/// children and otherwise newest first, equal dates in the order they were found: Kahn's
/// algorithm over a heap.
fn children_first(walk: &Walk<'_, '_>, new: &[Index]) -> Vec<Index> {
    let is_new = |n: Index| walk.nodes[n as usize].flags & NEW != 0;
    // Per new commit: its position in `new` and how many of its children are new.
    let mut position: HashMap<Index, (usize, usize)> = new
        .iter()
        .enumerate()
        .map(|(at, &n)| (n, (at, 0)))
        .collect();
    for &n in new {
        for &parent in walk.parents_of(n).iter().filter(|&&p| is_new(p)) {
            position.get_mut(&parent).expect("new commits are listed").1 += 1;
        }
    }
    let rank = |at: usize, n: Index| (walk.nodes[n as usize].date, Reverse(at), n);
    let mut ready: BinaryHeap<(u64, Reverse<usize>, Index)> = new
        .iter()
        .enumerate()
        .filter(|(_, n)| position[*n].1 == 0)
        .map(|(at, &n)| rank(at, n))
        .collect();
    let mut out = Vec::with_capacity(new.len());
    while let Some((_, _, n)) = ready.pop() {
        out.push(n);
        for &parent in walk.parents_of(n).iter().filter(|&&p| is_new(p)) {
            let (at, left) = position.get_mut(&parent).expect("new commits are listed");
            *left -= 1;
            if *left == 0 {
                let at = *at;
                ready.push(rank(at, parent));
            }
        }
    }
    out
}

impl Walk<'_, '_> {
    /// The node of commit `id`, created (unread, no flags) on first sight.
    fn intern(&mut self, id: Raw) -> Index {
        let nodes = &mut self.nodes;
        *self.index.entry(Key(id)).or_insert_with(|| {
            nodes.push(Node {
                id,
                flags: 0,
                date: 0,
                parents_at: UNREAD,
                parents_len: 0,
            });
            Index::try_from(nodes.len() - 1).expect("fewer than 2^32 commits")
        })
    }

    /// The parents of a commit read (none for one not read).
    fn parents_of(&self, n: Index) -> &[Index] {
        let node = &self.nodes[n as usize];
        if node.parents_at == UNREAD {
            return &[];
        }
        let at = node.parents_at as usize;
        &self.parents[at..at + node.parents_len as usize]
    }

    fn is_read(&self, n: Index) -> bool {
        self.nodes[n as usize].parents_at != UNREAD
    }

    fn error(&self, cause: git2::Error) -> Error {
        Error::Walk {
            id: to_id(self.tip),
            cause,
        }
    }

    fn set_hidden(&mut self, n: Index) {
        let node = &mut self.nodes[n as usize];
        if node.flags & HIDDEN == 0 {
            node.flags |= HIDDEN;
            if node.flags & QUEUED != 0 {
                self.visible_queued -= 1;
            }
        }
    }

    fn enqueue(&mut self, n: Index) {
        let node = &mut self.nodes[n as usize];
        node.flags |= QUEUED;
        let (visible, date) = (node.flags & HIDDEN == 0, node.date);
        if visible {
            self.visible_queued += 1;
        }
        self.queue.push((date, Reverse(self.queued), n));
        self.queued += 1;
    }

    /// The commit the hidden id `id` is or peels to, read; `None` if it is missing, no
    /// commit-ish, or cannot be read (git ignores such hidden ids too).
    fn read_hidden(&mut self, mut id: Raw) -> Option<Index> {
        for _ in 0..MAX_PEEL {
            if let Some(&n) = self.index.get(&Key(id))
                && self.is_read(n)
            {
                return Some(n);
            }
            if let Some(n) = self.read_from_graph(id) {
                return Some(n);
            }
            let packs = self
                .packs
                .get_or_insert_with(|| self.objects.and_then(Packs::open));
            let mut buffer = std::mem::take(&mut self.buffer);
            let object;
            let (kind, data) = match packs.as_mut().and_then(|p| p.read(&id, &mut buffer)) {
                Some(kind) => (kind, buffer.as_slice()),
                None => {
                    object = self.odb.read(Oid::from_bytes(&id).ok()?).ok()?;
                    (object.kind(), object.data())
                }
            };
            let next = match kind {
                ObjectType::Commit => {
                    let mut scratch = std::mem::take(&mut self.scratch);
                    let date = parse(data, &mut scratch);
                    let n = date.map(|date| self.store(id, &scratch, date));
                    self.scratch = scratch;
                    Err(n)
                }
                ObjectType::Tag => tag_target(data).ok_or(None),
                _ => Err(None),
            };
            self.buffer = buffer;
            match next {
                Ok(target) => id = target,
                Err(found) => return found,
            }
        }
        None
    }

    /// Reads commit `id` from the commit-graph, if it holds it.
    fn read_from_graph(&mut self, id: Raw) -> Option<Index> {
        let graph = self.graph?;
        let mut scratch = std::mem::take(&mut self.scratch);
        let date = graph.commit(&id, &mut scratch);
        let n = date.map(|date| self.store(id, &scratch, date));
        self.scratch = scratch;
        n
    }

    /// Reads commit `n` (git's `parse_commit`) unless it was read already. Errors for a
    /// missing or malformed commit; a hidden one's caller ignores them.
    fn read(&mut self, n: Index) -> Result<()> {
        if self.is_read(n) {
            return Ok(());
        }
        let id = self.nodes[n as usize].id;
        if self.read_from_graph(id).is_some() {
            return Ok(());
        }
        let oid = Oid::from_bytes(&id).map_err(|cause| self.error(cause))?;
        let object = self.odb.read(oid).map_err(|cause| Error::Object {
            id: to_id(oid),
            cause,
        })?;
        if object.kind() != ObjectType::Commit {
            return Err(Error::NotACommit { id: to_id(oid) });
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let date = parse(object.data(), &mut scratch);
        if let Some(date) = date {
            self.store(id, &scratch, date);
        }
        self.scratch = scratch;
        date.map(|_| ())
            .ok_or_else(|| self.error(git2::Error::from_str(&format!("commit {oid} is malformed"))))
    }

    /// Records what reading commit `id` found: its `parents` and committer `date`.
    fn store(&mut self, id: Raw, parents: &[Raw], date: u64) -> Index {
        let n = self.intern(id);
        let at = u32::try_from(self.parents.len()).expect("fewer than 2^32 parent links");
        for &parent in parents {
            let p = self.intern(parent);
            self.parents.push(p);
        }
        let node = &mut self.nodes[n as usize];
        node.date = date;
        node.parents_at = at;
        node.parents_len = u32::try_from(parents.len()).expect("fewer than 2^32 parents");
        n
    }

    /// git's `mark_parents_uninteresting`: hides the parents of `n` and, through commits
    /// already read, their ancestors, stopping at commits already hidden.
    fn mark_parents_hidden(&mut self, n: Index) {
        let mut stack: Vec<Index> = self.parents_of(n).iter().rev().copied().collect();
        while let Some(commit) = stack.pop() {
            if self.nodes[commit as usize].flags & HIDDEN != 0 {
                continue;
            }
            self.set_hidden(commit);
            stack.extend(self.parents_of(commit).iter().rev());
        }
    }

    /// git's `process_parents` for a commit just taken from the queue.
    fn process_parents(&mut self, n: Index) -> Result<()> {
        let node = &mut self.nodes[n as usize];
        if node.flags & ADDED != 0 {
            return Ok(());
        }
        node.flags |= ADDED;
        let hidden = node.flags & HIDDEN != 0;
        let (at, len) = if node.parents_at == UNREAD {
            (0, 0)
        } else {
            (node.parents_at as usize, node.parents_len as usize)
        };
        for k in at..at + len {
            let parent = self.parents[k];
            if hidden {
                self.set_hidden(parent);
                if self.read(parent).is_err() {
                    continue;
                }
                self.mark_parents_hidden(parent);
            } else {
                self.read(parent)?;
            }
            let node = &mut self.nodes[parent as usize];
            if node.flags & SEEN == 0 {
                node.flags |= SEEN;
                self.enqueue(parent);
            }
        }
        Ok(())
    }

    /// git's `still_interesting`: the slop left after popping a hidden commit, `date` being
    /// that of the last commit found new.
    fn still_interesting(&self, date: u64, slop: u32) -> u32 {
        let Some(&(newest, _, _)) = self.queue.peek() else {
            return 0;
        };
        if date <= newest || self.visible_queued > 0 {
            return SLOP;
        }
        slop - 1
    }
}

/// The committer time of a raw commit, its parent ids put in `parents`: its `parent`
/// headers (each must be a full id) and the time after the last `>` of its `committer` header
/// (0 when malformed, as git's `parse_commit_date` gives). `None` if a parent header is
/// malformed.
pub(super) fn parse(raw: &[u8], parents: &mut Vec<Raw>) -> Option<u64> {
    parents.clear();
    let mut date = 0;
    let mut rest = raw;
    while !rest.is_empty() {
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = &rest[..end];
        rest = &rest[(end + 1).min(rest.len())..];
        if line.is_empty() {
            break;
        }
        if let Some(hex) = line.strip_prefix(b"parent ") {
            parents.push(from_hex(hex)?);
        } else if let Some(ident) = line.strip_prefix(b"committer ") {
            date = commit_date(ident);
            break;
        }
    }
    Some(date)
}

/// The value of each hex digit; 0x80 for any other byte.
const HEX: [u8; 256] = {
    let mut table = [0x80u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// The id spelled by exactly 40 hex digits (either case, as git's `get_oid_hex` reads them).
pub(super) fn from_hex(hex: &[u8]) -> Option<Raw> {
    if hex.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    let mut bad = 0;
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (high, low) = (HEX[usize::from(pair[0])], HEX[usize::from(pair[1])]);
        bad |= high | low;
        *byte = (high << 4) | (low & 0x0f);
    }
    (bad & 0x80 == 0).then_some(out)
}

/// The seconds after the email of a `committer` value, or 0.
fn commit_date(ident: &[u8]) -> u64 {
    let Some(gt) = ident.iter().rposition(|&b| b == b'>') else {
        return 0;
    };
    let rest = &ident[gt + 1..];
    let rest = &rest[rest
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count()..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The `object` header of a raw tag.
fn tag_target(raw: &[u8]) -> Option<Raw> {
    let line = raw.split(|&b| b == b'\n').next()?;
    from_hex(line.strip_prefix(b"object ")?)
}
