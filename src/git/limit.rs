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
use std::collections::{BinaryHeap, HashMap, HashSet};

use git2::{ObjectType, Odb, Oid};

use super::graph::Graph;
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

/// A commit met by the walk.
struct Node {
    flags: u8,
    /// The committer time, as git parses it (`commit.c`, `parse_commit_date`).
    date: u64,
    /// `None` until read (git's `parsed`): marks only travel through read commits.
    parents: Option<Vec<Oid>>,
}

/// The walk's state: every commit met, and the queue.
struct Walk<'o, 'r> {
    odb: &'o Odb<'r>,
    /// Where commits are read from first, as git does, when the repository has one.
    graph: Option<&'o Graph>,
    tip: Oid,
    nodes: HashMap<Oid, Node>,
    /// Newest first; among equal dates, first queued first.
    queue: BinaryHeap<(u64, Reverse<u64>, Oid)>,
    queued: u64,
    /// Queued commits not (yet) hidden: git's `everybody_uninteresting` is this being zero.
    visible_queued: usize,
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
    tip: Oid,
    hide: &[Oid],
) -> Result<Vec<Oid>> {
    let mut walk = Walk {
        odb,
        graph,
        tip,
        nodes: HashMap::with_capacity(2 * hide.len() + 64),
        queue: BinaryHeap::with_capacity(hide.len() + 64),
        queued: 0,
        visible_queued: 0,
    };
    // prepare_revision_walk: each tip read once, hidden ones marking their parents; then the
    // list sorted by date (a stable sort: equal dates keep the command line's order).
    let mut start: Vec<(u64, Oid)> = Vec::with_capacity(hide.len() + 1);
    walk.read(tip)?;
    walk.node(tip).flags |= SEEN;
    start.push((walk.node(tip).date, tip));
    for &id in hide {
        let Some(commit) = walk.peel(id) else {
            continue;
        };
        if walk.read(commit).is_err() {
            continue;
        }
        walk.node(commit).flags |= HIDDEN;
        walk.mark_parents_hidden(commit);
        let node = walk.node(commit);
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
    let mut popped: Vec<Oid> = Vec::new();
    while let Some((_, _, commit)) = walk.queue.pop() {
        let node = walk.node(commit);
        node.flags &= !QUEUED;
        if node.flags & HIDDEN == 0 {
            walk.visible_queued -= 1;
        }
        walk.process_parents(commit)?;
        let node = walk.node(commit);
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

    let new: HashSet<Oid> = popped
        .iter()
        .copied()
        .filter(|id| walk.nodes[id].flags & HIDDEN == 0)
        .collect();
    Ok(children_first(&walk, &popped, &new))
}

/// `new` (found in the order `popped`) with each commit after all its children and otherwise
/// newest first, equal dates in the order they were found: Kahn's algorithm over a heap.
fn children_first(walk: &Walk<'_, '_>, popped: &[Oid], new: &HashSet<Oid>) -> Vec<Oid> {
    let parents = |id: &Oid| walk.nodes[id].parents.iter().flatten();
    let mut children: HashMap<Oid, usize> = HashMap::with_capacity(new.len());
    for id in new {
        for parent in parents(id).filter(|p| new.contains(*p)) {
            *children.entry(*parent).or_default() += 1;
        }
    }
    let rank = |at: usize, id: Oid| (walk.nodes[&id].date, Reverse(at), id);
    let position: HashMap<Oid, usize> = popped.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut ready: BinaryHeap<(u64, Reverse<usize>, Oid)> = popped
        .iter()
        .enumerate()
        .filter(|(_, id)| new.contains(*id) && !children.contains_key(*id))
        .map(|(at, id)| rank(at, *id))
        .collect();
    let mut out = Vec::with_capacity(new.len());
    while let Some((_, _, id)) = ready.pop() {
        out.push(id);
        for parent in parents(&id).filter(|p| new.contains(*p)) {
            let left = children.get_mut(parent).expect("counted above");
            *left -= 1;
            if *left == 0 {
                ready.push(rank(position[parent], *parent));
            }
        }
    }
    out
}

impl Walk<'_, '_> {
    fn node(&mut self, id: Oid) -> &mut Node {
        self.nodes
            .get_mut(&id)
            .expect("only commits already met are looked up")
    }

    /// The flags of `id` (0 if never met).
    fn flags(&self, id: Oid) -> u8 {
        self.nodes.get(&id).map_or(0, |n| n.flags)
    }

    fn set_hidden(&mut self, id: Oid) {
        let node = self.nodes.entry(id).or_insert(Node {
            flags: 0,
            date: 0,
            parents: None,
        });
        if node.flags & HIDDEN == 0 {
            node.flags |= HIDDEN;
            if node.flags & QUEUED != 0 {
                self.visible_queued -= 1;
            }
        }
    }

    fn enqueue(&mut self, id: Oid) {
        let node = self.node(id);
        node.flags |= QUEUED;
        let (visible, date) = (node.flags & HIDDEN == 0, node.date);
        if visible {
            self.visible_queued += 1;
        }
        self.queue.push((date, Reverse(self.queued), id));
        self.queued += 1;
    }

    /// The commit `id` is or peels to, `None` if it is missing or no commit-ish.
    fn peel(&self, mut id: Oid) -> Option<Oid> {
        for _ in 0..MAX_PEEL {
            if self.nodes.get(&id).is_some_and(|n| n.parents.is_some())
                || self.graph.is_some_and(|g| g.contains(&id))
            {
                return Some(id);
            }
            let object = self.odb.read(id).ok()?;
            match object.kind() {
                ObjectType::Commit => return Some(id),
                ObjectType::Tag => id = tag_target(object.data())?,
                _ => return None,
            }
        }
        None
    }

    /// Reads commit `id` (git's `parse_commit`) unless it was read already. Errors for a
    /// missing or malformed commit; a hidden one's caller ignores them.
    fn read(&mut self, id: Oid) -> Result<()> {
        if self.nodes.get(&id).is_some_and(|n| n.parents.is_some()) {
            return Ok(());
        }
        if let Some((parents, date)) = self.graph.and_then(|g| g.commit(&id)) {
            self.store(id, parents, date);
            return Ok(());
        }
        let object = self.odb.read(id).map_err(|cause| Error::Object {
            id: to_id(id),
            cause,
        })?;
        if object.kind() != ObjectType::Commit {
            return Err(Error::NotACommit { id: to_id(id) });
        }
        let (parents, date) = parse(object.data()).ok_or_else(|| Error::Walk {
            id: to_id(self.tip),
            cause: git2::Error::from_str(&format!("commit {id} is malformed")),
        })?;
        self.store(id, parents, date);
        Ok(())
    }

    /// Records what reading commit `id` found.
    fn store(&mut self, id: Oid, parents: Vec<Oid>, date: u64) {
        let node = self.nodes.entry(id).or_insert(Node {
            flags: 0,
            date: 0,
            parents: None,
        });
        node.date = date;
        node.parents = Some(parents);
    }

    /// git's `mark_parents_uninteresting`: hides the parents of `id` and, through commits
    /// already read, their ancestors, stopping at commits already hidden.
    fn mark_parents_hidden(&mut self, id: Oid) {
        let mut stack: Vec<Oid> = self.nodes[&id].parents.clone().unwrap_or_default();
        stack.reverse();
        while let Some(commit) = stack.pop() {
            if self.flags(commit) & HIDDEN != 0 {
                continue;
            }
            self.set_hidden(commit);
            if let Some(parents) = &self.nodes[&commit].parents {
                stack.extend(parents.iter().rev());
            }
        }
    }

    /// git's `process_parents` for a commit just taken from the queue.
    fn process_parents(&mut self, id: Oid) -> Result<()> {
        let node = self.node(id);
        if node.flags & ADDED != 0 {
            return Ok(());
        }
        node.flags |= ADDED;
        let hidden = node.flags & HIDDEN != 0;
        let parents = node.parents.clone().unwrap_or_default();
        for parent in parents {
            if hidden {
                self.set_hidden(parent);
                if self.read(parent).is_err() {
                    continue;
                }
                self.mark_parents_hidden(parent);
            } else {
                self.read(parent)?;
            }
            let node = self.node(parent);
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

/// The parent ids and committer time of a raw commit: its `parent` headers (each must be a
/// full id) and the time after the last `>` of its `committer` header (0 when malformed, as
/// git's `parse_commit_date` gives). `None` if a parent header is malformed.
fn parse(raw: &[u8]) -> Option<(Vec<Oid>, u64)> {
    let mut parents = Vec::new();
    let mut date = 0;
    for line in raw.split(|&b| b == b'\n') {
        if line.is_empty() {
            break;
        }
        if let Some(hex) = line.strip_prefix(b"parent ") {
            if hex.len() != 40 {
                return None;
            }
            parents.push(Oid::from_str(std::str::from_utf8(hex).ok()?).ok()?);
        } else if let Some(ident) = line.strip_prefix(b"committer ") {
            date = commit_date(ident);
            break;
        }
    }
    Some((parents, date))
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
fn tag_target(raw: &[u8]) -> Option<Oid> {
    let line = raw.split(|&b| b == b'\n').next()?;
    let hex = line.strip_prefix(b"object ")?;
    Oid::from_str(std::str::from_utf8(hex).ok()?).ok()
}
