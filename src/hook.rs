//! Parsing git's hook input strictly: pre-receive's `<old> <new> <ref>` lines and the update
//! hook's arguments. Pure: bytes in, ref updates or a precise error out.

use thiserror::Error;

use crate::engine::{ObjectId, RefUpdate};

/// Malformed hook input. The hook rejects the whole push with this message.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InputError {
    /// A stdin line is not `<old> <new> <ref>`.
    #[error("malformed input line {line}: {problem}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// Arguments of the update hook are not `<ref> <old> <new>`.
    #[error("malformed update hook arguments: {0}")]
    Args(String),
    /// Nothing to judge.
    #[error("no ref updates on standard input")]
    Empty,
}

/// Parses pre-receive's standard input: one `<old> <new> <ref>` per line, LF-terminated
/// (the final LF may be missing). Anything else — blank lines, extra fields, bad ids, two
/// ids of different lengths, an invalid ref name, non-UTF-8 — is an error.
pub fn parse_pre_receive(input: &[u8]) -> Result<Vec<RefUpdate>, InputError> {
    if input.is_empty() {
        return Err(InputError::Empty);
    }
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, raw)| {
            let line = i + 1;
            let err = |problem: String| InputError::Line { line, problem };
            let text = std::str::from_utf8(raw).map_err(|_| err("not UTF-8".into()))?;
            let fields: Vec<&str> = text.split(' ').collect();
            let [old, new, refname] = fields[..] else {
                return Err(err(format!(
                    "expected `<old> <new> <ref>` separated by single spaces, got {:?}",
                    text
                )));
            };
            update(refname, old, new).map_err(err)
        })
        .collect()
}

/// Parses the update hook's arguments `<ref> <old> <new>` (after the program name).
pub fn parse_update_args(args: &[String]) -> Result<RefUpdate, InputError> {
    let [refname, old, new] = args else {
        return Err(InputError::Args(format!(
            "expected 3 arguments `<ref> <old> <new>`, got {}",
            args.len()
        )));
    };
    update(refname, old, new).map_err(InputError::Args)
}

fn update(refname: &str, old: &str, new: &str) -> Result<RefUpdate, String> {
    let id = |what: &str, hex: &str| {
        ObjectId::parse(hex).ok_or_else(|| format!("{what} id {hex:?} is not 40 or 64 hex digits"))
    };
    let (old_id, new_id) = (id("old", old)?, id("new", new)?);
    if old.len() != new.len() {
        return Err("old and new ids have different lengths".into());
    }
    if old_id.is_zero() && new_id.is_zero() {
        return Err("old and new ids are both zero".into());
    }
    check_refname(refname)?;
    Ok(RefUpdate {
        refname: refname.to_string(),
        old: old_id,
        new: new_id,
    })
}

/// The subset of `git check-ref-format` rules that matter for matching: a full name under
/// `refs/`, no empty or dot-led components, no `..`, `@{`, control characters, spaces or
/// glob/special characters, no `.lock` suffix.
fn check_refname(name: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("ref name {name:?} is invalid: {why}"));
    if !name.starts_with("refs/") {
        return bad("must start with refs/");
    }
    if name.contains("..") || name.contains("@{") || name.contains("//") {
        return bad("contains `..`, `@{` or `//`");
    }
    if name
        .chars()
        .any(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
    {
        return bad("contains a space, control or special character");
    }
    if name.ends_with('/') || name.ends_with('.') || name.ends_with(".lock") {
        return bad("ends with `/`, `.` or `.lock`");
    }
    if name.split('/').any(|c| c.is_empty() || c.starts_with('.')) {
        return bad("has an empty component or one starting with `.`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn parses_well_formed_lines() {
        let input =
            format!("{A} {B} refs/heads/main\n{Z} {B} refs/tags/v1\n{A} {Z} refs/heads/x\n");
        let ups = parse_pre_receive(input.as_bytes()).expect("valid input");
        assert_eq!(ups.len(), 3);
        assert_eq!(ups[0].refname, "refs/heads/main");
        assert!(ups[1].old.is_zero());
        assert!(ups[2].new.is_zero());
    }

    #[test]
    fn final_newline_is_optional_and_sha256_ids_work() {
        let a64 = "a".repeat(64);
        let b64 = "b".repeat(64);
        let ups = parse_pre_receive(format!("{a64} {b64} refs/heads/m").as_bytes())
            .expect("valid sha256 input");
        assert_eq!(ups[0].new.as_str(), b64);
    }

    #[test]
    fn rejects_malformed_lines_with_their_number() {
        let cases: Vec<(Vec<u8>, usize, &str)> = vec![
            (b"".to_vec(), 0, "no ref updates"),
            (b"\n".to_vec(), 1, "expected `<old> <new> <ref>`"),
            (b"abc def refs/heads/main\n".to_vec(), 1, "old id"),
            (format!("{A} {B}\n").into_bytes(), 1, "expected"),
            (
                format!("{A} {B} refs/heads/a b\n").into_bytes(),
                1,
                "expected",
            ),
            (
                format!("{A}  {B} refs/heads/a\n").into_bytes(),
                1,
                "expected",
            ),
            (
                format!("{A} {B} refs/heads/a\n\n").into_bytes(),
                2,
                "expected",
            ),
            (
                format!("{A} {B} main\n").into_bytes(),
                1,
                "must start with refs/",
            ),
            (format!("{A} {B} refs/heads/a..b\n").into_bytes(), 1, "`..`"),
            (
                format!("{A} {B} refs/heads/x.lock\n").into_bytes(),
                1,
                ".lock",
            ),
            (
                format!("{A} {B} refs/heads/\x07\n").into_bytes(),
                1,
                "control",
            ),
            (
                format!("{Z} {Z} refs/heads/a\n").into_bytes(),
                1,
                "both zero",
            ),
            (
                format!("{A} {} refs/heads/a\n", "b".repeat(64)).into_bytes(),
                1,
                "different lengths",
            ),
            (
                format!("{A} {B} refs/heads/a\r\n").into_bytes(),
                1,
                "control",
            ),
            (b"\xff\xfe\n".to_vec(), 1, "not UTF-8"),
            (
                format!("{} {B} refs/heads/a\n", &A[..39]).into_bytes(),
                1,
                "old id",
            ),
            (
                format!("{A} {} refs/heads/a\n", "g".repeat(40)).into_bytes(),
                1,
                "new id",
            ),
        ];
        for (input, line, needle) in &cases {
            let err = parse_pre_receive(input).expect_err("must be rejected");
            let msg = err.to_string();
            assert!(
                msg.contains(needle),
                "{msg:?} lacks {needle:?} for {input:?}"
            );
            if *line > 0 {
                assert!(
                    matches!(err, InputError::Line { line: l, .. } if l == *line),
                    "{err:?}"
                );
            }
        }
    }

    #[test]
    fn update_args_are_strict() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let up = parse_update_args(&args(&["refs/heads/main", A, B])).expect("valid args");
        assert_eq!(up.old.as_str(), A);
        assert!(parse_update_args(&args(&["refs/heads/main", A])).is_err());
        assert!(parse_update_args(&args(&[A, B, "refs/heads/main"])).is_err());
        assert!(parse_update_args(&args(&["refs/heads/main", A, B, "x"])).is_err());
    }
}
