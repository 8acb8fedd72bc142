//! Listing the refs under a name prefix without reading every ref: loose refs from the
//! directory the prefix names, packed refs by binary search in `packed-refs`.
//!
//! libgit2 answers any ref lookup (and `references_glob`) by parsing the whole `packed-refs`
//! file into a sorted cache: with 10,000 approval refs packed, that is ~10 ms per push
//! before anything is judged. git itself binary-searches the file
//! (`refs/packed-backend.c`, `find_reference_location`), which `git pack-refs` writes sorted
//! and marks with the `sorted` trait in its header (`# pack-refs with: peeled fully-peeled
//! sorted`). This module does the same: the cost is the size of the answer (and a log of the
//! file), not the number of refs in the repository.
//!
//! Format, as git writes it (`refs/packed-backend.c`, `write_with_updates`): an optional
//! header line `# pack-refs with: TRAITS`, then one `<hex-id> SP <refname> LF` per ref, in
//! byte order of the names, each optionally followed by a `^<hex-id> LF` line (the peeled
//! tag target). Loose refs are files under the git directory holding `<hex-id> LF`, or
//! `ref: <target> LF` for a symbolic ref (skipped, as `Repo::refs` skips them); a loose ref
//! wins over a packed one of the same name. A file that is not sorted is scanned linearly,
//! and anything unexpected (a reftable repository, an unreadable file) is an error: the
//! caller falls back to libgit2.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use crate::update::ObjectId;

/// Every direct ref whose name starts with `prefix` (which starts with `refs/`), with its
/// id, sorted by name.
pub(super) fn with_prefix(git_dir: &Path, prefix: &str) -> io::Result<Vec<(String, ObjectId)>> {
    if !prefix.starts_with("refs/") || prefix.contains("..") {
        return Err(io::Error::other(format!("not a ref prefix: {prefix}")));
    }
    let mut packed_refs = Vec::new();
    let sorted = match fs::read(git_dir.join("packed-refs")) {
        Ok(packed) => packed_with_prefix(&packed, prefix, &mut packed_refs)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => true,
        Err(e) => return Err(e),
    };
    let mut loose = BTreeMap::new();
    loose_with_prefix(git_dir, prefix, &mut loose)?;
    if sorted && loose.is_empty() {
        // The common case on a server (every ref packed): already in order, one of each.
        return Ok(packed_refs);
    }
    let mut found: BTreeMap<String, ObjectId> = packed_refs.into_iter().collect();
    for (name, id) in loose {
        match id {
            Some(id) => found.insert(name, id),
            None => found.remove(&name),
        };
    }
    Ok(found.into_iter().collect())
}

/// Calls `visit` with the name and raw id of every direct ref whose name starts with
/// `prefix`, in name order, as [`with_prefix`] lists them: for a sorted `packed-refs` and no
/// loose ref under the prefix (a server's usual state) straight from the file, without a
/// string per ref. Refs whose ids are not SHA-1 are skipped (this build reads only SHA-1).
pub(super) fn visit_with_prefix(
    git_dir: &Path,
    prefix: &str,
    mut visit: impl FnMut(&str, &[u8]),
) -> io::Result<()> {
    if !prefix.starts_with("refs/") || prefix.contains("..") {
        return Err(io::Error::other(format!("not a ref prefix: {prefix}")));
    }
    let mut loose = BTreeMap::new();
    loose_with_prefix(git_dir, prefix, &mut loose)?;
    let packed = match fs::read(git_dir.join("packed-refs")) {
        Ok(packed) => packed,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    let (body, sorted) = split_header(&packed);
    if !(sorted && loose.is_empty()) {
        for (name, id) in with_prefix(git_dir, prefix)? {
            if let Some(raw) = super::limit::from_hex(id.as_str().as_bytes()) {
                visit(&name, &raw);
            }
        }
        return Ok(());
    }
    let start = first_at_or_after(body, prefix.as_bytes());
    for line in body[start..].split(|&b| b == b'\n') {
        if line.is_empty() || line[0] == b'^' || line[0] == b'#' {
            continue;
        }
        let bad = || io::Error::other("packed-refs has a malformed line");
        let space = line.iter().position(|&b| b == b' ').ok_or_else(bad)?;
        let (hex, name) = (&line[..space], &line[space + 1..]);
        if !name.starts_with(prefix.as_bytes()) {
            if name > prefix.as_bytes() {
                break;
            }
            continue;
        }
        match (hex.len(), super::limit::from_hex(hex)) {
            (40, Some(raw)) => match std::str::from_utf8(name) {
                Ok(name) => visit(name, &raw),
                Err(_) => visit(&String::from_utf8_lossy(name), &raw),
            },
            (64, _) if hex.iter().all(u8::is_ascii_hexdigit) => {}
            _ => return Err(bad()),
        }
    }
    Ok(())
}

/// The body of a `packed-refs` file after its header line, and whether the header says it
/// is sorted.
fn split_header(packed: &[u8]) -> (&[u8], bool) {
    match packed.strip_prefix(b"# pack-refs with:") {
        Some(rest) => {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let traits = &rest[..end];
            let sorted = traits.split(|&b| b == b' ').any(|t| t == b"sorted");
            (&rest[(end + 1).min(rest.len())..], sorted)
        }
        None => (packed, false),
    }
}

/// The packed refs starting with `prefix`, appended to `found` in the file's order; whether
/// that order is sorted (the file says so).
fn packed_with_prefix(
    packed: &[u8],
    prefix: &str,
    found: &mut Vec<(String, ObjectId)>,
) -> io::Result<bool> {
    let (body, sorted) = split_header(packed);
    let start = if sorted {
        first_at_or_after(body, prefix.as_bytes())
    } else {
        0
    };
    for line in body[start..].split(|&b| b == b'\n') {
        if line.is_empty() || line[0] == b'^' || line[0] == b'#' {
            continue;
        }
        let (name, id) = parse_line(line)?;
        if name.as_bytes() >= prefix.as_bytes() && name.starts_with(prefix) {
            found.push((name, id));
        } else if sorted && name.as_bytes() > prefix.as_bytes() {
            break;
        }
    }
    Ok(sorted)
}

/// `<hex-id> SP <refname>`.
fn parse_line(line: &[u8]) -> io::Result<(String, ObjectId)> {
    let bad = || io::Error::other("packed-refs has a malformed line");
    let space = line.iter().position(|&b| b == b' ').ok_or_else(bad)?;
    let id = std::str::from_utf8(&line[..space])
        .ok()
        .and_then(ObjectId::parse)
        .ok_or_else(bad)?;
    let name = String::from_utf8_lossy(&line[space + 1..]).into_owned();
    Ok((name, id))
}

/// The offset of the first ref line in the sorted `body` whose name is not less than
/// `prefix` (the start of a line; `body.len()` if there is none). Binary search over byte
/// offsets, each probe moved to the start of the next ref line, as git's
/// `find_reference_location` does.
fn first_at_or_after(body: &[u8], prefix: &[u8]) -> usize {
    // The start of the first ref line at or after `at` (skipping peeled `^` lines).
    let line_start = |mut at: usize| -> usize {
        if at > 0 {
            match body[at - 1..].iter().position(|&b| b == b'\n') {
                Some(i) => at = at - 1 + i + 1,
                None => return body.len(),
            }
        }
        while at < body.len() && body[at] == b'^' {
            match body[at..].iter().position(|&b| b == b'\n') {
                Some(i) => at += i + 1,
                None => return body.len(),
            }
        }
        at
    };
    let name_at = |at: usize| -> &[u8] {
        let line = &body[at..];
        let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
        let line = &line[..end];
        match line.iter().position(|&b| b == b' ') {
            Some(i) => &line[i + 1..],
            None => line,
        }
    };
    let (mut lo, mut hi) = (0usize, body.len());
    // Invariant: every ref line starting before `lo` sorts before `prefix`; the answer is a
    // line start in [lo, hi].
    while lo < hi {
        let mid = line_start(lo + (hi - lo) / 2);
        if mid >= hi {
            hi = lo + (hi - lo) / 2;
            continue;
        }
        if name_at(mid) < prefix {
            lo = line_start(mid + 1);
        } else {
            hi = mid;
        }
    }
    line_start(lo)
}

/// The loose refs under `prefix`: the directory it names (its part up to the last `/`),
/// entries whose names start with the rest, recursively; symbolic ones as `None` (they hide
/// a packed ref of the same name).
fn loose_with_prefix(
    git_dir: &Path,
    prefix: &str,
    found: &mut BTreeMap<String, Option<ObjectId>>,
) -> io::Result<()> {
    let (dir, start) = match prefix.rfind('/') {
        Some(at) => (&prefix[..at], &prefix[at + 1..]),
        None => ("", prefix),
    };
    let entries = match fs::read_dir(git_dir.join(dir)) {
        Ok(entries) => entries,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(start) || name.ends_with(".lock") {
            continue;
        }
        let full = format!("{dir}/{name}");
        if entry.file_type()?.is_dir() {
            loose_with_prefix(git_dir, &format!("{full}/"), found)?;
            continue;
        }
        let content = fs::read(entry.path())?;
        let text = String::from_utf8_lossy(&content);
        let text = text.trim_end();
        if text.starts_with("ref:") {
            // A symbolic ref: its target is listed under its own name.
            found.insert(full, None);
            continue;
        }
        match ObjectId::parse(text) {
            Some(id) => {
                found.insert(full, Some(id));
            }
            None => return Err(io::Error::other(format!("loose ref {full} is malformed"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> String {
        format!("{n:040x}")
    }

    fn packed(names: &[&str], sorted: bool) -> Vec<u8> {
        let mut out = String::new();
        out.push_str(if sorted {
            "# pack-refs with: peeled fully-peeled sorted \n"
        } else {
            "# pack-refs with: peeled \n"
        });
        for (i, n) in names.iter().enumerate() {
            out.push_str(&format!("{} {n}\n", id(i as u32 + 1)));
            if n.contains("tags") {
                out.push_str(&format!("^{}\n", id(999)));
            }
        }
        out.into_bytes()
    }

    fn lookup(body: &[u8], prefix: &str) -> Vec<String> {
        let mut found = Vec::new();
        packed_with_prefix(body, prefix, &mut found).expect("parses");
        let mut names: Vec<String> = found.into_iter().map(|(name, _)| name).collect();
        names.sort();
        names
    }

    #[test]
    fn binary_search_finds_exactly_the_prefix() {
        let mut names: Vec<String> = (0..500)
            .map(|i| format!("refs/approvals/{:040x}/{:040x}", i * 7, i))
            .collect();
        names.extend(["refs/heads/main".into(), "refs/heads/production".into()]);
        names.extend(["refs/tags/v1".into(), "refs/tags/v2".into()]);
        names.sort();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        for sorted in [true, false] {
            let body = packed(&refs, sorted);
            for prefix in [
                "refs/approvals/",
                &format!("refs/approvals/{:040x}/", 7 * 123),
                "refs/heads/prod",
                "refs/heads/",
                "refs/tags/",
                "refs/zzz/",
                "refs/a",
                "refs/",
            ] {
                let want: Vec<String> = names
                    .iter()
                    .filter(|n| n.starts_with(prefix))
                    .cloned()
                    .collect();
                assert_eq!(lookup(&body, prefix), want, "{prefix} sorted={sorted}");
            }
        }
    }

    #[test]
    fn malformed_lines_are_errors() {
        let mut found = Vec::new();
        let body = b"# pack-refs with: sorted\nnot-an-id refs/heads/x\n".to_vec();
        assert!(packed_with_prefix(&body, "refs/heads/", &mut found).is_err());
    }

    /// `visit_with_prefix` lists what `with_prefix` lists (straight from a sorted file, and
    /// through it when a loose ref or an unsorted file is in the way), and fails on a
    /// malformed line where it reads the file itself.
    #[test]
    fn visiting_agrees_with_listing() {
        let mut names: Vec<String> = (0..300).map(|i| format!("refs/heads/f/{i:04}")).collect();
        names.extend(["refs/heads/main".into(), "refs/tags/v1".into()]);
        names.push("refs/heads/sha256".into());
        names.sort();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let visited = |dir: &Path, prefix: &str| -> io::Result<Vec<(String, String)>> {
            let mut out = Vec::new();
            visit_with_prefix(dir, prefix, |name, id| {
                let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
                out.push((name.to_owned(), hex));
            })?;
            Ok(out)
        };
        let listed = |dir: &Path, prefix: &str| -> Vec<(String, String)> {
            with_prefix(dir, prefix)
                .expect("lists")
                .into_iter()
                .filter(|(_, id)| id.as_str().len() == 40)
                .map(|(name, id)| (name, id.as_str().to_owned()))
                .collect()
        };
        for (sorted, loose) in [(true, false), (false, false), (true, true)] {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut body = packed(&refs, sorted);
            // A SHA-256 ref is skipped, as `Hides::push` skips it.
            let long = format!("{} refs/heads/sha256\n", "ab".repeat(32));
            let text = String::from_utf8(body).expect("utf-8");
            body = text
                .lines()
                .map(|l| {
                    if l.ends_with(" refs/heads/sha256") {
                        long.clone()
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect::<String>()
                .into_bytes();
            fs::write(dir.path().join("packed-refs"), &body).expect("write");
            if loose {
                fs::create_dir_all(dir.path().join("refs/heads/f")).expect("mkdir");
                fs::write(
                    dir.path().join("refs/heads/f/0007"),
                    format!("{}\n", id(4242)),
                )
                .expect("write");
                fs::write(
                    dir.path().join("refs/heads/f/new"),
                    format!("{}\n", id(4343)),
                )
                .expect("write");
            }
            for prefix in [
                "refs/heads/",
                "refs/heads/f/",
                "refs/heads/f/01",
                "refs/tags/",
                "refs/zz/",
            ] {
                let got = visited(dir.path(), prefix).expect("visits");
                assert_eq!(got, listed(dir.path(), prefix), "{prefix} {sorted} {loose}");
                if prefix == "refs/heads/f/" {
                    assert_eq!(got.len(), if loose { 301 } else { 300 });
                }
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(
            dir.path().join("packed-refs"),
            "# pack-refs with: peeled fully-peeled sorted \nnot-an-id refs/heads/x\n",
        )
        .expect("write");
        assert!(visited(dir.path(), "refs/heads/").is_err());
    }
}
