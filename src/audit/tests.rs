//! Tests of the log on real files in temporary directories: append, chain, tampering, locking,
//! permissions, rotation, reading back.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use time::macros::datetime;

use super::log::{line_hash, link_path};
use super::*;
use crate::engine::{Code, ObjectId, Reason, RefUpdate, Verdict};

const T0: OffsetDateTime = datetime!(2026-11-30 12:00:00 UTC);

fn oid(n: u32) -> ObjectId {
    ObjectId::parse(&format!("{n:040x}")).expect("valid hex")
}

/// A record for ref `refs/heads/r<n>`, `n` seconds after T0, rejected when `n` is odd.
fn record(n: u32) -> Record {
    let update = RefUpdate {
        refname: format!("refs/heads/r{n}"),
        old: oid(n),
        new: oid(n + 1),
    };
    let verdict = if n % 2 == 1 {
        let mut v = Verdict::reject(update, Code::Unsigned, "not signed");
        v.reasons[0].commit = Some(oid(n + 1));
        v
    } else {
        Verdict {
            update,
            kind: None,
            user: Some("alice".into()),
            rule: None,
            reasons: vec![],
            approvals: Vec::new(),
            grants: Vec::new(),
        }
    };
    Record::from_verdict(
        &verdict,
        &RecordContext {
            time: T0 + time::Duration::seconds(i64::from(n)),
            repo: "/srv/git/p.git".into(),
            hook: Hook::PreReceive,
            pusher: Some("alice".into()),
            policy: Some(oid(999)),
            org_policy: None,
        },
    )
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .expect("log readable")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    fs::write(path, text).expect("log writable");
}

/// A log of records 1..=n, one append each.
fn log_of(dir: &Path, n: u32) -> PathBuf {
    let path = dir.join("audit.jsonl");
    for i in 1..=n {
        append(&path, &[record(i)]).expect("append");
    }
    path
}

fn bad_line(path: &Path) -> Option<u64> {
    let report = verify(path).expect("verify runs");
    if let Some(bad) = &report.first_bad {
        assert_eq!(report.records, bad.line_no - 1, "{bad:?}");
    }
    report.first_bad.map(|b| b.line_no)
}

#[test]
fn append_then_verify_round_trips() {
    let dir = temp();
    let path = dir.path().join("audit.jsonl");
    let batch = [record(1), record(2), record(3)];
    append(&path, &batch).expect("append");

    let report = verify(&path).expect("verify");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, 3);
    assert_eq!(report.start, ChainStart::Genesis);
    assert_eq!(report.first_time, Some(T0 + time::Duration::seconds(1)));
    assert_eq!(report.last_time, Some(T0 + time::Duration::seconds(3)));
    let text = lines(&path);
    assert_eq!(report.last_hash, line_hash(text[2].as_bytes()));
    assert!(text[0].starts_with("{\"v\":2,\"time\":\"2026-11-30T12:00:01Z\","));
    assert!(text[0].ends_with(&format!(",\"prev\":\"{GENESIS}\"}}")));

    let back: Vec<Record> = read(&path, &Filter::default())
        .expect("open")
        .collect::<Result<_, _>>()
        .expect("all records parse");
    assert_eq!(back.len(), 3);
    for ((got, want), prev) in back.iter().zip(&batch).zip([
        GENESIS.to_owned(),
        line_hash(text[0].as_bytes()),
        line_hash(text[1].as_bytes()),
    ]) {
        assert_eq!(
            *got,
            Record {
                prev,
                ..want.clone()
            }
        );
    }
}

#[test]
fn chain_continues_across_appends() {
    let dir = temp();
    let path = dir.path().join("audit.jsonl");
    append(&path, &[record(1)]).expect("append");
    append(&path, &[record(2), record(3)]).expect("append");
    append(&path, &[]).expect("an empty batch is a no-op");
    append(&path, &[record(4)]).expect("append");
    let text = lines(&path);
    assert_eq!(text.len(), 4);
    for pair in text.windows(2) {
        let next: Record = serde_json::from_str(&pair[1]).expect("record");
        assert_eq!(next.prev, line_hash(pair[0].as_bytes()));
    }
    assert_eq!(bad_line(&path), None);
}

#[test]
fn lines_longer_than_a_read_chunk_chain_correctly() {
    let dir = temp();
    let path = dir.path().join("audit.jsonl");
    for n in 1..=3 {
        let mut r = record(n);
        r.reasons.push(RecordReason {
            code: "internal-error".into(),
            commit: None,
            detail: "x".repeat(20_000 * n as usize),
        });
        append(&path, &[r]).expect("append");
    }
    let report = verify(&path).expect("verify");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, 3);
}

#[test]
fn tampering_is_found_at_the_right_line() {
    type Tamper = fn(&mut Vec<String>);
    let cases: [(&str, Tamper, u64); 9] = [
        (
            "edited field in line 3 (seen by line 4's prev)",
            |l| l[2] = l[2].replace("refs/heads/r3", "refs/heads/rX"),
            4,
        ),
        (
            "inserted line after line 3",
            |l| {
                let copy = l[1].clone();
                l.insert(3, copy);
            },
            4,
        ),
        (
            "removed line 3",
            |l| {
                l.remove(2);
            },
            3,
        ),
        (
            "removed line 1",
            |l| {
                l.remove(0);
            },
            1,
        ),
        ("reordered lines 2 and 3", |l| l.swap(1, 2), 2),
        ("garbage line 2", |l| l[1] = "not json at all".into(), 2),
        (
            "valid JSON but not a record",
            |l| l[1] = "{\"v\":1,\"hello\":\"world\"}".into(),
            2,
        ),
        (
            "version 1 in line 2",
            |l| l[1] = l[1].replacen("{\"v\":2,", "{\"v\":1,", 1),
            2,
        ),
        ("empty line inserted", |l| l.insert(2, String::new()), 3),
    ];
    for (what, tamper, expected) in cases {
        let dir = temp();
        let path = log_of(dir.path(), 5);
        assert_eq!(bad_line(&path), None, "{what}: intact before tampering");
        let mut text = lines(&path);
        tamper(&mut text);
        write_lines(&path, &text);
        assert_eq!(bad_line(&path), Some(expected), "{what}");
    }
}

#[test]
fn bad_line_reasons_say_what_is_wrong() {
    let dir = temp();
    let path = log_of(dir.path(), 3);
    let mut text = lines(&path);
    text[1] = text[1].replacen("{\"v\":2,", "{\"v\":7,", 1);
    write_lines(&path, &text);
    let bad = verify(&path).expect("verify").first_bad.expect("bad");
    assert!(
        bad.reason.contains("unsupported record version 7"),
        "{bad:?}"
    );

    let path = log_of(temp().path(), 0);
    assert!(verify(&path).is_err(), "a missing log is an error");
}

#[test]
fn torn_last_line_is_reported_and_never_chained_onto() {
    for cut in [1, 10] {
        let dir = temp();
        let path = log_of(dir.path(), 4);
        let bytes = fs::read(&path).expect("read");
        fs::write(&path, &bytes[..bytes.len() - cut]).expect("truncate");

        let report = verify(&path).expect("verify");
        let bad = report.first_bad.expect("torn");
        assert_eq!((bad.line_no, report.records), (4, 3));
        assert!(bad.reason.contains("no trailing newline"), "{bad:?}");

        let err = append(&path, &[record(5)]).expect_err("must fail closed");
        assert!(matches!(err, AuditError::TornLastLine { .. }), "{err:?}");
        assert!(err.to_string().contains("inspect"), "{err}");
        assert_eq!(fs::read(&path).expect("read").len(), bytes.len() - cut);
    }
}

#[test]
fn creates_directory_0700_and_file_0600() {
    let dir = temp();
    let path = dir
        .path()
        .join("refguard")
        .join("deeper")
        .join("audit.jsonl");
    append(&path, &[record(1)]).expect("append");
    let mode = |p: &Path| fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("refguard")), 0o700);
    assert_eq!(mode(path.parent().expect("parent")), 0o700);
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn concurrent_appends_keep_the_chain() {
    let dir = temp();
    let path = dir.path().join("audit.jsonl");
    std::thread::scope(|s| {
        for t in 0..16u32 {
            let path = &path;
            s.spawn(move || {
                for i in 0..20 {
                    // Each call opens its own file description, so the flocks contend.
                    append(path, &[record(t * 100 + i)]).expect("append");
                }
            });
        }
    });
    let report = verify(&path).expect("verify");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, 320);
}

#[test]
fn rotation_keeps_the_link() {
    let dir = temp();
    let path = log_of(dir.path(), 3);
    let old_last = verify(&path).expect("verify").last_hash;

    let rotation = rotate(&path, T0).expect("rotate");
    assert_eq!(
        rotation.archived,
        dir.path().join("audit-20261130T120000Z.jsonl")
    );
    assert_eq!(rotation.link, old_last);
    assert!(!path.exists());
    assert_eq!(
        fs::read_to_string(link_path(&path)).expect("link"),
        format!("{old_last}\n")
    );
    // Right after a rotation: no records yet, and that verifies.
    let empty = verify(&path).expect("verify");
    assert_eq!((empty.records, empty.is_intact()), (0, true));

    append(&path, &[record(4), record(5)]).expect("append");
    let first: Record = serde_json::from_str(&lines(&path)[0]).expect("record");
    assert_eq!(first.prev, old_last);
    let report = verify(&path).expect("verify");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.start, ChainStart::Link(old_last.clone()));
    assert_eq!(report.records, 2);
    let archived = verify(&rotation.archived).expect("verify archive");
    assert!(archived.is_intact());
    assert_eq!((archived.start, archived.records), (ChainStart::Genesis, 3));

    // A second rotation in the same second gets a fresh name, and the archive keeps its
    // own start link.
    let second = rotate(&path, T0).expect("rotate again");
    assert_eq!(
        second.archived,
        dir.path().join("audit-20261130T120000Z-2.jsonl")
    );
    let report = verify(&second.archived).expect("verify");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.start, ChainStart::Link(old_last));

    // Removing the first line of a rotated file is detected against its link.
    let mut text = lines(&second.archived);
    text.remove(0);
    write_lines(&second.archived, &text);
    assert_eq!(bad_line(&second.archived), Some(1));
}

#[test]
fn rotation_refuses_empty_missing_and_torn_logs() {
    let dir = temp();
    let path = dir.path().join("audit.jsonl");
    assert!(matches!(rotate(&path, T0), Err(AuditError::Io { .. })));
    fs::write(&path, "").expect("create");
    assert!(matches!(
        rotate(&path, T0),
        Err(AuditError::NothingToRotate { .. })
    ));
    let path = log_of(dir.path(), 2);
    let bytes = fs::read(&path).expect("read");
    fs::write(&path, &bytes[..bytes.len() - 1]).expect("truncate");
    assert!(matches!(
        rotate(&path, T0),
        Err(AuditError::TornLastLine { .. })
    ));
    assert!(path.exists() && !link_path(&path).exists());
}

#[test]
fn a_bad_link_file_is_an_error() {
    let dir = temp();
    let path = dir.path().join("audit.jsonl");
    fs::write(link_path(&path), "not a hash\n").expect("write");
    assert!(matches!(
        append(&path, &[record(1)]),
        Err(AuditError::BadLink { .. })
    ));
    assert!(matches!(verify(&path), Err(AuditError::BadLink { .. })));
}

#[test]
fn rotating_while_appending_loses_no_record_and_no_link() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = temp();
    let path = dir.path().join("audit.jsonl");
    let mut archives = Vec::new();
    // Appenders pause halfway until a rotation has happened, so that at least one rotation
    // always lands between appends however the threads are scheduled (a loaded machine
    // could otherwise finish every append before the first rotation).
    let rotations = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..8u32 {
            let (path, rotations, finished) = (&path, &rotations, &finished);
            s.spawn(move || {
                for i in 0..20 {
                    if i == 10 {
                        let start = std::time::Instant::now();
                        while rotations.load(Ordering::SeqCst) == 0
                            && start.elapsed() < std::time::Duration::from_secs(30)
                        {
                            std::thread::yield_now();
                        }
                    }
                    append(path, &[record(t * 100 + i)]).expect("append");
                }
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        let mut n = 0;
        while archives.len() < 5 && finished.load(Ordering::SeqCst) < 8 {
            n += 1;
            match rotate(&path, T0 + time::Duration::seconds(n)) {
                Ok(rotation) => {
                    archives.push(rotation);
                    rotations.fetch_add(1, Ordering::SeqCst);
                }
                Err(AuditError::NothingToRotate { .. } | AuditError::Io { .. }) => {
                    std::thread::yield_now();
                }
                Err(e) => panic!("rotate: {e}"),
            }
        }
    });
    assert!(!archives.is_empty(), "at least one rotation happened");
    let mut files: Vec<PathBuf> = archives.iter().map(|r| r.archived.clone()).collect();
    files.push(path.clone());
    let mut expected_start = ChainStart::Genesis;
    let mut total = 0;
    for file in &files {
        let report = verify(file).expect("verify");
        assert!(report.is_intact(), "{}: {report:?}", file.display());
        assert_eq!(report.start, expected_start, "{}", file.display());
        total += report.records;
        expected_start = ChainStart::Link(report.last_hash);
    }
    assert_eq!(total, 160);
}

#[test]
fn filters_select_records() {
    let dir = temp();
    let path = log_of(dir.path(), 6);
    let refs = |filter: Filter| -> Vec<String> {
        read(&path, &filter)
            .expect("open")
            .map(|r| r.expect("record").refname)
            .collect()
    };
    assert_eq!(refs(Filter::default()).len(), 6);
    assert_eq!(
        refs(Filter {
            decision: Some(Decision::Reject),
            ..Filter::default()
        }),
        ["refs/heads/r1", "refs/heads/r3", "refs/heads/r5"]
    );
    assert_eq!(
        refs(Filter {
            since: Some(T0 + time::Duration::seconds(4)),
            ..Filter::default()
        }),
        ["refs/heads/r4", "refs/heads/r5", "refs/heads/r6"]
    );
    assert_eq!(
        refs(Filter {
            refname: Some("refs/heads/r2".into()),
            decision: Some(Decision::Accept),
            since: Some(T0),
            grants: false,
            would_reject: false,
        }),
        ["refs/heads/r2"]
    );
    assert!(
        refs(Filter {
            refname: Some("refs/heads/r2".into()),
            decision: Some(Decision::Reject),
            since: None,
            grants: false,
            would_reject: false,
        })
        .is_empty()
    );
}

#[test]
fn the_grants_filter_keeps_decisions_that_relied_on_a_grant() {
    let dir = temp();
    let path = dir.path().join("audit.jsonl");
    let mut granted = record(2);
    granted.grants.push(RecordGrant {
        user: "bob".into(),
        role: "maintainers".into(),
        until: T0 + time::Duration::hours(8),
    });
    let mut rejected = record(3);
    rejected.grants = granted.grants.clone();
    append(&path, &[record(1), granted, record(4)]).expect("append");
    append(&path, &[rejected]).expect("append");
    let refs = |filter: Filter| -> Vec<String> {
        read(&path, &filter)
            .expect("open")
            .map(|r| r.expect("record").refname)
            .collect()
    };
    let only_grants = Filter {
        grants: true,
        ..Filter::default()
    };
    // No record here has evaluate findings.
    let would_reject = Filter {
        would_reject: true,
        ..Filter::default()
    };
    assert!(refs(would_reject).is_empty());
    assert_eq!(
        refs(only_grants.clone()),
        ["refs/heads/r2", "refs/heads/r3"]
    );
    assert_eq!(
        refs(Filter {
            decision: Some(Decision::Reject),
            ..only_grants
        }),
        ["refs/heads/r3"]
    );
    // Read back as written: the chain holds and the field survives.
    assert!(verify(&path).expect("verify").is_intact());
    let back = read(&path, &Filter::default())
        .expect("open")
        .nth(1)
        .expect("second record")
        .expect("valid");
    assert_eq!(back.grants[0].until, T0 + time::Duration::hours(8));
}

#[test]
fn reading_reports_bad_lines_and_goes_on() {
    let dir = temp();
    let path = log_of(dir.path(), 3);
    let mut text = lines(&path);
    text[1] = "garbage".into();
    write_lines(&path, &text);
    let items: Vec<_> = read(&path, &Filter::default()).expect("open").collect();
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[2].is_ok());
    match &items[1] {
        Err(AuditError::BadRecord { line, reason, .. }) => {
            assert_eq!(*line, 2);
            assert!(reason.starts_with("not valid JSON"), "{reason}");
        }
        other => panic!("expected a bad record, got {other:?}"),
    }
}

#[test]
fn table_lines_are_aligned() {
    let mut r1 = record(1);
    r1.reasons.push(RecordReason {
        code: "merge-denied".into(),
        commit: None,
        detail: String::new(),
    });
    r1.old = ObjectId::parse(&format!("3f1c2aa{}", "0".repeat(33))).expect("hex");
    r1.new = ObjectId::parse(&format!("9be04d1{}", "0".repeat(33))).expect("hex");
    let mut r2 = record(2);
    r2.pusher = None;
    r2.refname = "refs/heads/feature/\u{1b}[31mred".into();
    r2.grants.push(RecordGrant {
        user: "bob".into(),
        role: "maintainers".into(),
        until: T0,
    });
    // Two findings of one shadow with the same code show once.
    for _ in 0..2 {
        r2.evaluate.push(RecordFinding {
            code: "unsigned".into(),
            commit: None,
            detail: String::new(),
            rule: "roles.toml:30".into(),
        });
    }
    let got = table(&[r1, r2]);
    let want = [
        "TIME                  DECISION  PUSHER  REF                               OLD..NEW          CODES                  GRANTS           WOULD-REJECT",
        "2026-11-30T12:00:01Z  reject    alice   refs/heads/r1                     3f1c2aa..9be04d1  unsigned,merge-denied  -                -",
        "2026-11-30T12:00:02Z  accept    -       refs/heads/feature/\\u{1b}[31mred  0000000..0000000  -                      bob:maintainers  unsigned@roles.toml:30",
    ];
    assert_eq!(got, want);
}

#[test]
fn from_verdict_keeps_reason_commits() {
    let verdict = Verdict {
        update: RefUpdate {
            refname: "refs/heads/main".into(),
            old: oid(1),
            new: oid(2),
        },
        kind: None,
        user: None,
        rule: None,
        reasons: vec![
            Reason::on_ref(Code::PushDenied, "alice may not push"),
            Reason::on_object(Code::Unsigned, oid(2), "Fix", "not signed"),
        ],
        approvals: Vec::new(),
        grants: Vec::new(),
    };
    let r = Record::from_verdict(
        &verdict,
        &RecordContext {
            time: T0,
            repo: "/r".into(),
            hook: Hook::Update,
            pusher: None,
            policy: None,
            org_policy: None,
        },
    );
    assert_eq!(r.reasons[0].commit, None);
    assert_eq!(r.reasons[1].commit, Some(oid(2)));
    assert_eq!(r.reasons[1].code(), Some(Code::Unsigned));
}

/// Property tests: random byte edits of a real log never panic `verify` or `read`, and an
/// edit anywhere before the last line breaks the chain no later than the line after it.
mod proptests {
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;

    /// Lines in the log the edits are made to.
    const LINES: u32 = 6;

    /// The bytes of a log of records 1..=LINES, written once by `append`.
    fn original() -> &'static [u8] {
        static LOG: OnceLock<Vec<u8>> = OnceLock::new();
        LOG.get_or_init(|| {
            let dir = temp();
            fs::read(log_of(dir.path(), LINES)).expect("log readable")
        })
    }

    /// 1-based number of the line holding byte `at` (its newline belongs to it).
    fn line_of(bytes: &[u8], at: usize) -> u64 {
        1 + bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64
    }

    /// Writes `bytes` as a log, then verifies it and reads every record back.
    fn verify_bytes(bytes: &[u8]) -> VerifyReport {
        let dir = temp();
        let path = dir.path().join("audit.jsonl");
        fs::write(&path, bytes).expect("log writable");
        let report = verify(&path).expect("verify reads the file");
        if let Some(bad) = &report.first_bad {
            assert!(!bad.reason.contains(char::is_control), "{bad:?}");
        }
        let read_back: Vec<_> = read(&path, &Filter::default()).expect("opens").collect();
        let good = read_back.iter().filter(|r| r.is_ok()).count() as u64;
        assert!(good >= report.records, "{report:?}");
        report
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn edits_before_the_last_line_break_the_chain(
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), any::<u8>()), 1..4
            ),
        ) {
            let log = original();
            let mut bytes = log.to_vec();
            let mut first_edited: Option<u64> = None;
            for (i, b) in &edits {
                let at = i.index(bytes.len());
                if bytes[at] == *b {
                    continue;
                }
                bytes[at] = *b;
                let line = line_of(log, at);
                first_edited = Some(first_edited.map_or(line, |l| l.min(line)));
            }
            let report = verify_bytes(&bytes);
            match first_edited {
                None => prop_assert!(report.is_intact(), "{report:?}"),
                Some(k) if k < u64::from(LINES) => {
                    let bad = report.first_bad.as_ref().map_or(0, |b| b.line_no);
                    prop_assert!((1..=k + 1).contains(&bad), "edit on line {k}: {report:?}");
                    prop_assert_eq!(report.records, bad - 1);
                }
                // The last line can be edited undetectably (see the module docs).
                Some(_) => prop_assert!(report.records >= u64::from(LINES) - 1),
            }
        }

        #[test]
        fn arbitrary_logs_never_panic(
            lines in prop::collection::vec(
                prop_oneof![
                    prop::collection::vec(any::<u8>(), 0..120),
                    Just(format!("{{\"v\":1,\"prev\":\"{GENESIS}\"}}").into_bytes()),
                    Just(b"{\"v\":2}".to_vec()),
                    Just(br#"{"v":1,"hook":"a\nb","ref":"\u001b"}"#.to_vec()),
                    Just(b"{\"v\":18446744073709551617}".to_vec()),
                    Just(b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".to_vec()),
                ],
                0..6,
            ),
        ) {
            let report = verify_bytes(&lines.join(&b'\n'));
            prop_assert_eq!(report.records, 0);
        }
    }
}
