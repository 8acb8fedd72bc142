//! Parsing git's hook input strictly: pre-receive's `<old> <new> <ref>` lines and the update
//! hook's arguments. Pure: bytes in, ref updates or a precise error out.

use thiserror::Error;

use crate::engine::{ObjectId, RefUpdate};
use crate::text;

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
    parse_pre_receive_lines(input)
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            line.map_err(|bad| InputError::Line {
                line: i + 1,
                problem: bad.problem,
            })
        })
        .collect()
}

/// A line of hook input (or the update hook's arguments) that is not a valid ref update:
/// what is wrong, and as much of the update as can be told, for the audit record (spec §6,
/// v2: every decision is logged, also a rejection of input that names no valid ref).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    /// The ref field as given, hidden characters and invalid UTF-8 escaped (`\xff`); empty
    /// when the input has no ref field.
    pub refname: String,
    /// The old id when that field is a valid id, else zero.
    pub old: ObjectId,
    /// The new id when that field is a valid id, else zero.
    pub new: ObjectId,
    /// What is wrong, in one line.
    pub problem: String,
}

/// Parses pre-receive's standard input line by line (see [`parse_pre_receive`]): each line
/// is a ref update or a [`BadInput`] (the n-th result is line n). Empty input is one
/// [`BadInput`] naming no ref.
pub fn parse_pre_receive_lines(input: &[u8]) -> Vec<Result<RefUpdate, BadInput>> {
    if input.is_empty() {
        return vec![Err(BadInput {
            refname: String::new(),
            old: ObjectId::zero(),
            new: ObjectId::zero(),
            problem: InputError::Empty.to_string(),
        })];
    }
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    body.split(|&b| b == b'\n')
        .map(|raw| {
            let fields: Vec<&[u8]> = raw.split(|&b| b == b' ').collect();
            let [old, new, refname] = fields[..] else {
                return Err(bad_input(
                    b"",
                    b"",
                    b"",
                    format!(
                        "expected `<old> <new> <ref>` separated by single spaces, got \"{}\"",
                        text::escape_bytes(raw)
                    ),
                ));
            };
            parse_raw(refname, old, new)
        })
        .collect()
}

/// Parses the client-side pre-push hook's standard input (githooks(5), "pre-push"): one
/// `<local-ref> SP <local-oid> SP <remote-ref> SP <remote-oid>` per line, read as the update
/// of `<remote-ref>` from `<remote-oid>` (what the server has; zeros for a create) to
/// `<local-oid>` (zeros for a delete). The local ref is not needed, and may be whatever
/// expression was pushed (`HEAD~1`), so it is everything before the last three fields. Empty
/// input is an empty push; a malformed line is an error.
pub fn parse_pre_push(input: &[u8]) -> Result<Vec<RefUpdate>, InputError> {
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, raw)| {
            let line_error = |problem: String| InputError::Line {
                line: i + 1,
                problem,
            };
            let mut fields = raw.rsplitn(4, |&b| b == b' ');
            let (Some(remote_oid), Some(remote_ref), Some(local_oid), Some(local_ref)) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(line_error(format!(
                    "expected `<local-ref> <local-oid> <remote-ref> <remote-oid>`, got \"{}\"",
                    text::escape_bytes(raw)
                )));
            };
            if local_ref.is_empty() {
                return Err(line_error("the local ref is empty".into()));
            }
            parse_raw(remote_ref, remote_oid, local_oid).map_err(|bad| line_error(bad.problem))
        })
        .collect()
}

/// Parses the update hook's arguments `<ref> <old> <new>` given as bytes (git passes the ref
/// name as it is, which need not be UTF-8).
pub fn parse_update_raw(args: &[&[u8]]) -> Result<RefUpdate, BadInput> {
    let [refname, old, new] = args else {
        let refname = args.first().copied().unwrap_or_default();
        return Err(bad_input(
            refname,
            b"",
            b"",
            format!(
                "malformed update hook arguments: expected 3 arguments `<ref> <old> <new>`, got {}",
                args.len()
            ),
        ));
    };
    parse_raw(refname, old, new).map_err(|bad| BadInput {
        problem: format!("malformed update hook arguments: {}", bad.problem),
        ..bad
    })
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

/// One update from raw fields; a [`BadInput`] with the fields' best reading otherwise.
fn parse_raw(refname: &[u8], old: &[u8], new: &[u8]) -> Result<RefUpdate, BadInput> {
    let text = (
        std::str::from_utf8(refname),
        std::str::from_utf8(old),
        std::str::from_utf8(new),
    );
    let (Ok(r), Ok(o), Ok(n)) = text else {
        let what = if text.0.is_err() {
            "ref name"
        } else {
            "object id"
        };
        return Err(bad_input(
            refname,
            old,
            new,
            format!("{what} is not UTF-8: {}", text::escape_bytes(refname)),
        ));
    };
    update(r, o, n).map_err(|problem| bad_input(refname, old, new, problem))
}

fn bad_input(refname: &[u8], old: &[u8], new: &[u8], problem: String) -> BadInput {
    let id = |raw: &[u8]| {
        std::str::from_utf8(raw)
            .ok()
            .and_then(ObjectId::parse)
            .unwrap_or_else(ObjectId::zero)
    };
    BadInput {
        refname: text::escape_bytes(refname),
        old: id(old),
        new: id(new),
        problem,
    }
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
    fn pre_push_lines_are_updates_of_the_remote_ref() {
        let input = format!(
            "refs/heads/main {B} refs/heads/main {A}\nHEAD~1 {B} refs/heads/new {Z}\n\
             (delete) {Z} refs/heads/old {A}\n:/fix the bug {B} refs/heads/x {A}\n"
        );
        let ups = parse_pre_push(input.as_bytes()).expect("valid input");
        assert_eq!(ups.len(), 4);
        assert_eq!(
            (
                ups[0].refname.as_str(),
                ups[0].old.as_str(),
                ups[0].new.as_str()
            ),
            ("refs/heads/main", A, B)
        );
        assert!(ups[1].old.is_zero());
        assert!(ups[2].new.is_zero());
        assert_eq!(ups[3].refname, "refs/heads/x");
        assert_eq!(parse_pre_push(b""), Ok(Vec::new()));
        assert_eq!(parse_pre_push(b"\n"), Ok(Vec::new()));
    }

    #[test]
    fn malformed_pre_push_lines_are_errors() {
        for bad in [
            format!("{B} refs/heads/main {A}"),
            format!("refs/heads/main {B} refs/heads/main nothex"),
            format!("refs/heads/main {B} main {A}"),
            format!(" {B} refs/heads/main {A}"),
            format!("x {Z} refs/heads/main {Z}"),
        ] {
            assert!(
                matches!(
                    parse_pre_push(bad.as_bytes()),
                    Err(InputError::Line { line: 1, .. })
                ),
                "{bad}"
            );
        }
    }

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
            (b"\xff\xfe\n".to_vec(), 1, "got \"\\xff\\xfe\""),
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
    fn bad_lines_keep_what_can_be_told_for_the_audit_log() {
        let mut input = format!("{A} {B} refs/heads/main\n{Z} {B} refs/heads/").into_bytes();
        input.extend_from_slice(b"caf\xe9\xe2\x80\xae\n");
        input.extend_from_slice(b"garbage\n");
        let lines = parse_pre_receive_lines(&input);
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0].as_ref().map(|u| u.refname.as_str()),
            Ok("refs/heads/main")
        );
        let bad = lines[1].as_ref().expect_err("non-UTF-8 ref name");
        assert_eq!(bad.refname, "refs/heads/caf\\xe9\\u{202e}");
        assert!(bad.old.is_zero());
        assert_eq!(bad.new.as_str(), B);
        assert!(
            bad.problem.contains("ref name is not UTF-8"),
            "{}",
            bad.problem
        );
        let bad = lines[2].as_ref().expect_err("one field");
        assert_eq!(bad.refname, "");
        assert!(bad.problem.contains("expected `<old> <new> <ref>`"));

        let empty = parse_pre_receive_lines(b"");
        assert!(matches!(&empty[..], [Err(b)] if b.problem.contains("no ref updates")));

        let raw = parse_update_raw(&[b"refs/heads/\xff", A.as_bytes(), B.as_bytes()])
            .expect_err("non-UTF-8 ref name");
        assert_eq!(raw.refname, "refs/heads/\\xff");
        assert_eq!(raw.old.as_str(), A);
        assert!(parse_update_raw(&[b"refs/heads/x"]).is_err());
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

    /// Property tests: hostile stdin and argv never panic, and anything accepted is
    /// well-formed.
    mod proptests {
        use super::*;
        use proptest::prelude::*;

        /// An independent statement of what an accepted update must look like.
        fn assert_well_formed(up: &RefUpdate) {
            for id in [&up.old, &up.new] {
                let hex = id.as_str();
                assert!(matches!(hex.len(), 40 | 64), "{up:?}");
                assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{up:?}");
            }
            assert_eq!(up.old.as_str().len(), up.new.as_str().len(), "{up:?}");
            assert!(!(up.old.is_zero() && up.new.is_zero()), "{up:?}");
            let r = &up.refname;
            assert!(r.starts_with("refs/") && r.len() > 5, "{up:?}");
            assert!(
                !r.chars().any(|c| c.is_control() || c.is_whitespace()),
                "{up:?}"
            );
            assert!(
                !r.contains("..") && !r.contains("//") && !r.contains("@{"),
                "{up:?}"
            );
            assert!(!r.ends_with('/') && !r.ends_with(".lock"), "{up:?}");
        }

        fn hex_id() -> impl Strategy<Value = String> {
            prop_oneof![
                4 => "[0-9a-f]{40}",
                1 => "[0-9a-f]{64}",
                1 => Just(Z.to_string()),
            ]
        }

        fn refname() -> impl Strategy<Value = String> {
            "refs/(heads|tags|notes)/[a-z0-9_-]{1,12}(/[a-z0-9_-]{1,12}){0,2}"
        }

        /// One valid `<old> <new> <ref>` line (ids of one length, not both zero).
        fn valid_line() -> impl Strategy<Value = String> {
            (hex_id(), hex_id(), refname()).prop_map(|(old, new, r)| {
                let new = if new.len() != old.len() || (old == Z && new == Z) {
                    old.replace('0', "1").replace(|c: char| c != '1', "1")
                } else {
                    new
                };
                format!("{old} {new} {r}")
            })
        }

        /// A way to damage a valid line that must make it invalid.
        #[derive(Debug, Clone)]
        enum Damage {
            /// A hex digit becomes a non-hex character.
            NonHex(usize, char),
            /// A separating space is doubled.
            DoubleSpace(bool),
            /// A separating space is removed.
            MissingSpace(bool),
            /// A byte is inserted into the ref name.
            InsertInRef(usize, u8),
            /// A digit of the old id is dropped.
            ShortId(usize),
            /// A CR before the LF (a CRLF line ending).
            Cr,
        }

        fn damage() -> impl Strategy<Value = Damage> {
            prop_oneof![
                (0usize..80, "[g-zG-Z!#%&*+,=?@_~]")
                    .prop_map(|(i, c)| Damage::NonHex(i, c.chars().next().expect("one char"))),
                any::<bool>().prop_map(Damage::DoubleSpace),
                any::<bool>().prop_map(Damage::MissingSpace),
                (
                    0usize..40,
                    prop::sample::select(vec![
                        b'\r', 0, b' ', b'\t', b'~', b'^', b':', b'\\', 0x7f
                    ])
                )
                    .prop_map(|(i, b)| Damage::InsertInRef(i, b)),
                (0usize..40).prop_map(Damage::ShortId),
                Just(Damage::Cr),
            ]
        }

        fn apply(line: &str, d: &Damage) -> Vec<u8> {
            let mut fields: Vec<String> = line.split(' ').map(str::to_string).collect();
            match d {
                Damage::NonHex(i, c) => {
                    let f = if i % 2 == 0 { 0 } else { 1 };
                    let at = i / 2 % fields[f].len();
                    fields[f].replace_range(at..at + 1, &c.to_string());
                }
                Damage::ShortId(i) => {
                    let at = i % fields[0].len();
                    fields[0].remove(at);
                }
                Damage::InsertInRef(i, b) => {
                    let mut r = fields[2].clone().into_bytes();
                    let at = 5 + i % (r.len() - 4);
                    r.insert(at, *b);
                    fields[2] = String::from_utf8(r).expect("ASCII inserted");
                }
                Damage::Cr => fields[2].push('\r'),
                Damage::DoubleSpace(_) | Damage::MissingSpace(_) => {}
            }
            let sep = |first: bool| match d {
                Damage::DoubleSpace(b) if *b == first => "  ",
                Damage::MissingSpace(b) if *b == first => "",
                _ => " ",
            };
            format!(
                "{}{}{}{}{}",
                fields[0],
                sep(true),
                fields[1],
                sep(false),
                fields[2]
            )
            .into_bytes()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn arbitrary_bytes_never_panic_and_accept_only_well_formed(
                input in prop::collection::vec(any::<u8>(), 0..300)
            ) {
                if let Ok(ups) = parse_pre_receive(&input) {
                    prop_assert!(!ups.is_empty());
                    ups.iter().for_each(assert_well_formed);
                }
            }

            #[test]
            fn valid_lines_round_trip(lines in prop::collection::vec(valid_line(), 1..5),
                                      final_lf in any::<bool>()) {
                let mut input = lines.join("\n");
                if final_lf {
                    input.push('\n');
                }
                let ups = parse_pre_receive(input.as_bytes()).expect("valid input");
                prop_assert_eq!(ups.len(), lines.len());
                for (up, line) in ups.iter().zip(&lines) {
                    assert_well_formed(up);
                    prop_assert_eq!(
                        format!("{} {} {}", up.old.as_str(), up.new.as_str(), up.refname),
                        line.clone()
                    );
                }
            }

            #[test]
            fn damaged_lines_are_rejected_with_their_line_number(
                lines in prop::collection::vec(valid_line(), 1..4),
                which in any::<prop::sample::Index>(),
                d in damage(),
            ) {
                let at = which.index(lines.len());
                let mut input = Vec::new();
                for (i, line) in lines.iter().enumerate() {
                    if i == at {
                        input.extend(apply(line, &d));
                    } else {
                        input.extend_from_slice(line.as_bytes());
                    }
                    input.push(b'\n');
                }
                match parse_pre_receive(&input) {
                    Err(InputError::Line { line, .. }) => prop_assert_eq!(line, at + 1),
                    other => prop_assert!(false, "{d:?} on {:?}: {other:?}",
                                          String::from_utf8_lossy(&input)),
                }
            }

            #[test]
            fn byte_edits_of_valid_input_accept_only_well_formed(
                lines in prop::collection::vec(valid_line(), 1..4),
                edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
                long in 0usize..5000,
            ) {
                let mut input = lines.join("\n").into_bytes();
                for (i, b) in &edits {
                    let at = i.index(input.len());
                    input[at] = *b;
                }
                // A long ref name or a long run of garbage.
                input.extend(std::iter::repeat_n(b'a', long));
                if let Ok(ups) = parse_pre_receive(&input) {
                    ups.iter().for_each(assert_well_formed);
                }
            }

            #[test]
            fn update_args_never_panic_and_accept_only_well_formed(
                args in prop::collection::vec(
                    prop_oneof![hex_id(), refname(), any::<String>(), "[0-9a-fA-F]{38,66}"],
                    0..5,
                )
            ) {
                if let Ok(up) = parse_update_args(&args) {
                    assert_well_formed(&up);
                    prop_assert_eq!(args.len(), 3);
                    prop_assert_eq!(&up.refname, &args[0]);
                }
            }
        }
    }
}
