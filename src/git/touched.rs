//! Which paths a commit touches (spec §9), by comparing its tree with its parents' trees.
//!
//! A hand-rolled tree comparison rather than libgit2's diff, for one property the spec's
//! performance target rests on: a subtree whose id is the same on both sides is never
//! descended, and neither is one that no path entry can reach. The comparison follows git's
//! tree order (`base_name_compare` in git's tree.c: a tree's name sorts as if it ended in
//! `/`), re-sorting each directory first so a hostile, unsorted tree object cannot make an
//! entry slip past unseen.

use std::collections::BTreeSet;

use git2::{ObjectType, Oid, Repository, Tree};

/// One entry of a tree, keyed the way git orders entries.
struct Entry {
    /// The name, with `/` appended for a tree (git's sort key).
    key: Vec<u8>,
    id: Oid,
    mode: i32,
    is_tree: bool,
}

impl Entry {
    /// The name without the `/` a tree's key carries.
    fn name(&self) -> &[u8] {
        if self.is_tree {
            &self.key[..self.key.len() - 1]
        } else {
            &self.key
        }
    }
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

/// The paths (blobs, symlinks, submodules) `tree` touches relative to `parents`, sorted:
/// with no parent every path in the tree; with one, every path whose entry (id or mode)
/// differs, appears or disappears; with several, only those that differ from every parent
/// (what a merge itself introduced). Only paths `scope` reaches are reported.
pub(super) fn touched(
    repo: &Repository,
    tree: &Tree<'_>,
    parents: &[Tree<'_>],
    scope: &Scope<'_>,
) -> Result<Vec<String>, git2::Error> {
    let mut paths = BTreeSet::new();
    compare(
        repo,
        parents.first().map(Tree::id),
        Some(tree.id()),
        &mut Vec::new(),
        scope,
        &mut paths,
    )?;
    for parent in parents.iter().skip(1) {
        let mut kept = BTreeSet::new();
        for path in paths {
            if entry_at(parent, &path) != entry_at(tree, &path) {
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

/// The id and mode of the non-tree entry at `path` in `tree`, if there is one.
fn entry_at(tree: &Tree<'_>, path: &[u8]) -> Option<(Oid, i32)> {
    use std::os::unix::ffi::OsStrExt;
    let entry = tree
        .get_path(std::path::Path::new(std::ffi::OsStr::from_bytes(path)))
        .ok()?;
    (entry.kind() != Some(ObjectType::Tree)).then(|| (entry.id(), entry.filemode()))
}

/// The entries of tree `id`, sorted in git's order.
fn entries(repo: &Repository, id: Option<Oid>) -> Result<Vec<Entry>, git2::Error> {
    let Some(id) = id else {
        return Ok(Vec::new());
    };
    let tree = repo.find_tree(id)?;
    let mut out: Vec<Entry> = tree
        .iter()
        .map(|e| {
            let is_tree = e.kind() == Some(ObjectType::Tree);
            let mut key = e.name_bytes().to_vec();
            if is_tree {
                key.push(b'/');
            }
            Entry {
                key,
                id: e.id(),
                mode: e.filemode(),
                is_tree,
            }
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// Compares the trees `old` and `new` (either absent) under directory `dir` (empty, or
/// ending in `/`), adding every differing path `scope` reaches to `out`.
fn compare(
    repo: &Repository,
    old: Option<Oid>,
    new: Option<Oid>,
    dir: &mut Vec<u8>,
    scope: &Scope<'_>,
    out: &mut BTreeSet<Vec<u8>>,
) -> Result<(), git2::Error> {
    if old == new {
        return Ok(());
    }
    let (old, new) = (entries(repo, old)?, entries(repo, new)?);
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) => o.key.cmp(&n.key),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, _) => std::cmp::Ordering::Greater,
        };
        // A name twice in one tree (git fsck's duplicateEntries; receive.fsckObjects may be
        // off): every copy counts as added or removed, so none is taken as unchanged.
        let duplicate = |list: &[Entry], at: usize| {
            list.get(at + 1)
                .is_some_and(|next| next.key == list[at].key)
                || (at > 0 && list[at - 1].key == list[at].key)
        };
        match order {
            std::cmp::Ordering::Less => {
                one_side(repo, &old[i], dir, scope, out)?;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                one_side(repo, &new[j], dir, scope, out)?;
                j += 1;
            }
            std::cmp::Ordering::Equal if duplicate(&old, i) || duplicate(&new, j) => {
                one_side(repo, &old[i], dir, scope, out)?;
                one_side(repo, &new[j], dir, scope, out)?;
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (o, n) = (&old[i], &new[j]);
                // The same id and mode: unchanged, and a subtree is never descended.
                if (o.id, o.mode) != (n.id, n.mode) {
                    if n.is_tree {
                        descend(repo, Some(o.id), Some(n.id), n.name(), dir, scope, out)?;
                    } else {
                        report(n.name(), dir, scope, out);
                    }
                }
                i += 1;
                j += 1;
            }
        }
    }
    Ok(())
}

/// An entry present on one side only: a path, or every path under a tree.
fn one_side(
    repo: &Repository,
    entry: &Entry,
    dir: &mut Vec<u8>,
    scope: &Scope<'_>,
    out: &mut BTreeSet<Vec<u8>>,
) -> Result<(), git2::Error> {
    if entry.is_tree {
        descend(repo, None, Some(entry.id), entry.name(), dir, scope, out)
    } else {
        report(entry.name(), dir, scope, out);
        Ok(())
    }
}

/// Compares the subtrees named `name` under `dir`, if `scope` reaches into them.
fn descend(
    repo: &Repository,
    old: Option<Oid>,
    new: Option<Oid>,
    name: &[u8],
    dir: &mut Vec<u8>,
    scope: &Scope<'_>,
    out: &mut BTreeSet<Vec<u8>>,
) -> Result<(), git2::Error> {
    let len = dir.len();
    dir.extend_from_slice(name);
    dir.push(b'/');
    let result = if scope.reaches_dir(dir) {
        compare(repo, old, new, dir, scope, out)
    } else {
        Ok(())
    };
    dir.truncate(len);
    result
}

/// Adds the path `dir` + `name` to `out` if `scope` reaches it.
fn report(name: &[u8], dir: &[u8], scope: &Scope<'_>, out: &mut BTreeSet<Vec<u8>>) {
    let mut path = dir.to_vec();
    path.extend_from_slice(name);
    if scope.reaches_file(&path) {
        out.insert(path);
    }
}
