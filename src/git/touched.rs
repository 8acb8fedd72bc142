//! Which paths a commit touches (spec §9), by comparing its tree with its parents' trees.
//!
//! A hand-rolled tree comparison rather than libgit2's diff, for one property the spec's
//! performance target rests on: a subtree whose id is the same on both sides is never
//! descended, and neither is one that no path entry can reach. The comparison follows git's
//! tree order (`base_name_compare` in git's tree.c: a tree's name sorts as if it ended in
//! `/`), re-sorting a directory whose entries are out of order so a hostile, unsorted tree
//! object cannot make an entry slip past unseen. Tree objects are read raw and their entries
//! borrowed, not copied (the format as git's tree-walk.c decodes it).

use std::cmp::Ordering;
use std::collections::BTreeSet;

use git2::{ObjectType, Odb, OdbObject, Oid, Repository};

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
        let common = self.name.len().min(other.name.len());
        match self.name[..common].cmp(&other.name[..common]) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
        let next = |e: &Entry<'_>| e.name.get(common).copied().or(e.is_tree.then_some(b'/'));
        next(self).cmp(&next(other))
    }
}

/// The entries of a raw tree object, in git's order: `<octal mode> SP <name> NUL <id>` per
/// entry, as git's tree-walk.c (`decode_tree_entry`) reads them. A malformed tree is an
/// error; an unsorted one (which git fsck calls `treeNotSorted`) is sorted, so that no
/// entry can slip past the comparison unseen.
fn parse(data: &[u8], id_len: usize) -> Result<Vec<Entry<'_>>, git2::Error> {
    let malformed = || git2::Error::from_str("malformed tree object");
    let mut entries = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest.iter().position(|&b| b == b' ').ok_or_else(malformed)?;
        let mode_text = &rest[..space];
        if mode_text.is_empty() || mode_text.len() > 7 {
            return Err(malformed());
        }
        let mut mode = 0u32;
        for &digit in mode_text {
            if !(b'0'..=b'7').contains(&digit) {
                return Err(malformed());
            }
            mode = mode * 8 + u32::from(digit - b'0');
        }
        rest = &rest[space + 1..];
        let nul = rest.iter().position(|&b| b == 0).ok_or_else(malformed)?;
        let name = &rest[..nul];
        if name.is_empty() || rest.len() < nul + 1 + id_len {
            return Err(malformed());
        }
        let id = &rest[nul + 1..nul + 1 + id_len];
        rest = &rest[nul + 1 + id_len..];
        entries.push(Entry {
            name,
            id,
            mode,
            // S_IFDIR, as git's object_type() decides a tree entry's type from its mode.
            is_tree: mode & 0o170000 == 0o040000,
        });
    }
    if !entries.is_sorted_by(|a, b| a.git_order(b) != Ordering::Greater) {
        entries.sort_by(|a, b| a.git_order(b));
    }
    Ok(entries)
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
/// (what a merge itself introduced). Only paths `scope` reaches are reported.
pub(super) fn touched(
    repo: &Repository,
    tree: Oid,
    parents: &[Oid],
    scope: &Scope<'_>,
) -> Result<Vec<String>, git2::Error> {
    let odb = repo.odb()?;
    let mut paths = BTreeSet::new();
    compare(
        &odb,
        parents.first().copied(),
        Some(tree),
        &mut Vec::new(),
        scope,
        &mut paths,
    )?;
    if parents.len() > 1 && !paths.is_empty() {
        // A merge: keep what differs from every other parent too.
        let mut kept = BTreeSet::new();
        for path in paths {
            let mine = entry_at(&odb, tree, &path)?;
            let mut differs = true;
            for parent in &parents[1..] {
                if !entry_at(&odb, *parent, &path)?.differs_from(&mine) {
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

/// The non-tree entry at `path` in tree `tree`, reading each tree on the way raw and
/// scanning all its entries (not a binary search: an unsorted tree cannot hide an entry).
fn entry_at(odb: &Odb<'_>, tree: Oid, path: &[u8]) -> Result<Found, git2::Error> {
    let id_len = tree.as_bytes().len();
    let mut current = tree;
    let mut components = path.split(|&b| b == b'/').peekable();
    while let Some(name) = components.next() {
        let Some(object) = read(odb, Some(current))? else {
            return Ok(Found::Missing);
        };
        let entries = parse(object.data(), id_len)?;
        let mut matching = entries.iter().filter(|e| e.name == name);
        let (Some(entry), None) = (matching.next(), matching.next()) else {
            return Ok(if entries.iter().filter(|e| e.name == name).count() > 1 {
                Found::Ambiguous
            } else {
                Found::Missing
            });
        };
        let last = components.peek().is_none();
        match (last, entry.is_tree) {
            (true, false) => return Ok(Found::Entry(entry.id.to_vec(), entry.mode)),
            (false, true) => current = oid(entry)?,
            _ => return Ok(Found::Missing),
        }
    }
    Ok(Found::Missing)
}

/// The raw bytes of tree `id` (none for an absent side).
fn read<'o>(odb: &'o Odb<'_>, id: Option<Oid>) -> Result<Option<OdbObject<'o>>, git2::Error> {
    let Some(id) = id else {
        return Ok(None);
    };
    let object = odb.read(id)?;
    if object.kind() != ObjectType::Tree {
        return Err(git2::Error::from_str(&format!("{id} is not a tree")));
    }
    Ok(Some(object))
}

/// Compares the trees `old` and `new` (either absent) under directory `dir` (empty, or
/// ending in `/`), adding every differing path `scope` reaches to `out`.
fn compare(
    odb: &Odb<'_>,
    old: Option<Oid>,
    new: Option<Oid>,
    dir: &mut Vec<u8>,
    scope: &Scope<'_>,
    out: &mut BTreeSet<Vec<u8>>,
) -> Result<(), git2::Error> {
    if old == new {
        return Ok(());
    }
    let id_len = old.or(new).map_or(20, |id| id.as_bytes().len());
    let (old_object, new_object) = (read(odb, old)?, read(odb, new)?);
    let old = match &old_object {
        Some(o) => parse(o.data(), id_len)?,
        None => Vec::new(),
    };
    let new = match &new_object {
        Some(o) => parse(o.data(), id_len)?,
        None => Vec::new(),
    };
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) => o.git_order(n),
            (Some(_), None) => Ordering::Less,
            (None, _) => Ordering::Greater,
        };
        // A name twice in one tree (git fsck's duplicateEntries; receive.fsckObjects may be
        // off): every copy counts as added or removed, so none is taken as unchanged.
        let duplicate = |list: &[Entry<'_>], at: usize| {
            list.get(at + 1)
                .is_some_and(|next| next.git_order(&list[at]) == Ordering::Equal)
                || (at > 0 && list[at - 1].git_order(&list[at]) == Ordering::Equal)
        };
        match order {
            Ordering::Less => {
                one_side(odb, &old[i], dir, scope, out)?;
                i += 1;
            }
            Ordering::Greater => {
                one_side(odb, &new[j], dir, scope, out)?;
                j += 1;
            }
            Ordering::Equal if duplicate(&old, i) || duplicate(&new, j) => {
                one_side(odb, &old[i], dir, scope, out)?;
                one_side(odb, &new[j], dir, scope, out)?;
                i += 1;
                j += 1;
            }
            Ordering::Equal => {
                let (o, n) = (&old[i], &new[j]);
                // The same id and mode: unchanged, and a subtree is never descended.
                if (o.id, o.mode) != (n.id, n.mode) {
                    if n.is_tree {
                        descend(odb, Some(oid(o)?), Some(oid(n)?), n.name, dir, scope, out)?;
                    } else {
                        report(n.name, dir, scope, out);
                    }
                }
                i += 1;
                j += 1;
            }
        }
    }
    Ok(())
}

fn oid(entry: &Entry<'_>) -> Result<Oid, git2::Error> {
    Oid::from_bytes(entry.id)
}

/// An entry present on one side only: a path, or every path under a tree.
fn one_side(
    odb: &Odb<'_>,
    entry: &Entry<'_>,
    dir: &mut Vec<u8>,
    scope: &Scope<'_>,
    out: &mut BTreeSet<Vec<u8>>,
) -> Result<(), git2::Error> {
    if entry.is_tree {
        descend(odb, None, Some(oid(entry)?), entry.name, dir, scope, out)
    } else {
        report(entry.name, dir, scope, out);
        Ok(())
    }
}
/// Compares the subtrees named `name` under `dir`, if `scope` reaches into them.
fn descend(
    odb: &Odb<'_>,
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
        compare(odb, old, new, dir, scope, out)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(entries: &[(&str, &str, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (mode, name, id) in entries {
            out.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            out.extend_from_slice(&[*id; 20]);
        }
        out
    }

    fn names(data: &[u8]) -> Vec<String> {
        parse(data, 20)
            .expect("parse")
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
        let entries = parse(&sorted, 20).expect("parse");
        assert_eq!(entries[2].mode, 0o40000);
        assert_eq!(entries[3].id, &[4; 20]);
        // Zero-padded modes (git fsck's zeroPaddedFilemode) are read by value.
        assert!(parse(&raw(&[("040000", "d", 1)]), 20).expect("parse")[0].is_tree);
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
        let found = entry_at(&odb, root, b"dir/a").expect("lookup");
        assert_eq!(found, Found::Entry(a.as_bytes().to_vec(), 0o100644));
        assert_eq!(
            entry_at(&odb, root, b"dir/b").expect("lookup"),
            Found::Missing
        );
        assert_eq!(
            entry_at(&odb, root, b"top/a").expect("lookup"),
            Found::Missing
        );
        assert_eq!(
            entry_at(&odb, root, b"dir").expect("lookup"),
            Found::Missing
        );
        // A name twice is never "the same" as anything.
        let twice = tree(&[("100644", "a", a), ("100644", "a", a)]);
        let ambiguous = entry_at(&odb, twice, b"a").expect("lookup");
        assert_eq!(ambiguous, Found::Ambiguous);
        assert!(ambiguous.differs_from(&Found::Entry(a.as_bytes().to_vec(), 0o100644)));
        assert!(Found::Ambiguous.differs_from(&Found::Ambiguous));
        assert!(!Found::Missing.differs_from(&Found::Missing));
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
        assert!(parse(b"", 20).expect("empty tree").is_empty());
    }
}
