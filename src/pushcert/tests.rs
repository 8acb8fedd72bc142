//! Push certificate parsing and assessment, from byte literals and certificates signed with
//! the real `ssh-keygen` (namespace `git`, as `git push --signed` signs them).

use super::*;
use crate::engine::{PushCert, SignatureCheck};
use crate::verify::testkeys::keys;

const A: &str = "1111111111111111111111111111111111111111";
const B: &str = "2222222222222222222222222222222222222222";
const C: &str = "3333333333333333333333333333333333333333";
const Z: &str = "0000000000000000000000000000000000000000";

/// A certificate body as git writes it (send-pack.c), without the signature.
fn body(pushee: &str, commands: &[(&str, &str, &str)]) -> String {
    let mut s = format!(
        "certificate version 0.1\n\
         pusher Tester <tester@example.com> 1735689600 +0000\n\
         pushee {pushee}\n\
         nonce 1735689600-0123456789abcdef0123\n\
         push-option ci.skip\n\
         \n"
    );
    for (old, new, r) in commands {
        s.push_str(&format!("{old} {new} {r}\n"));
    }
    s
}

/// `body` signed with the shared ed25519 test key, as the blob receive-pack stores.
fn signed(text: &str) -> Vec<u8> {
    let mut blob = text.as_bytes().to_vec();
    blob.extend(keys().ed25519.sign("git", text.as_bytes(), &[]));
    blob
}

fn update(old: &str, new: &str, r: &str) -> RefUpdate {
    RefUpdate {
        refname: r.to_string(),
        old: ObjectId::parse(old).expect("hex"),
        new: ObjectId::parse(new).expect("hex"),
    }
}

fn assess_with(
    blob: &[u8],
    status: &NonceStatus,
    updates: &[RefUpdate],
    coverage: Coverage,
) -> PushCert {
    assess(&Presented {
        blob,
        nonce_status: status,
        updates,
        coverage,
        repo_name: "project.git",
        keyring: &crate::verify::Keyring::empty(),
    })
}

/// The problems and whether the signature verified with the ed25519 test key.
fn outcome(cert: PushCert) -> (Vec<String>, bool) {
    match cert {
        PushCert::Present {
            signature,
            problems,
        } => {
            let good = matches!(signature, Some(SignatureCheck::Valid(ref k))
                if k.fingerprint == keys().ed25519.fingerprint);
            (problems, good)
        }
        other => panic!("expected a present certificate, got {other:?}"),
    }
}

/// The outcome of a certificate naming `pushee` and signing `cmds`, judged with nonce
/// status OK against exactly `updates`.
fn outcome_for(
    pushee: &str,
    cmds: &[(&str, &str, &str)],
    updates: &[RefUpdate],
) -> (Vec<String>, bool) {
    let blob = signed(&body(pushee, cmds));
    outcome(assess_with(
        &blob,
        &NonceStatus::Ok,
        updates,
        Coverage::Exact,
    ))
}

/// Asserts no problem (`None`), or exactly one problem containing `expected`.
#[track_caller]
fn assert_problem(case: &str, problems: &[String], expected: Option<&str>) {
    match expected {
        None => assert!(problems.is_empty(), "{case}: {problems:?}"),
        Some(part) => {
            assert_eq!(problems.len(), 1, "{case}: {problems:?}");
            assert!(problems[0].contains(part), "{case}: {problems:?}");
        }
    }
}

#[test]
fn parses_what_git_writes() {
    let text = body(
        "ssh://git@host/srv/project.git",
        &[(A, B, "refs/heads/main"), (Z, C, "refs/tags/v1")],
    );
    let cert = parse(&signed(&text)).expect("parses");
    assert_eq!(cert.pusher, "Tester <tester@example.com> 1735689600 +0000");
    assert_eq!(
        cert.pushee.as_deref(),
        Some("ssh://git@host/srv/project.git")
    );
    assert_eq!(
        cert.nonce.as_deref(),
        Some("1735689600-0123456789abcdef0123")
    );
    assert_eq!(cert.push_options, ["ci.skip"]);
    assert_eq!(
        cert.commands,
        [
            update(A, B, "refs/heads/main"),
            update(Z, C, "refs/tags/v1")
        ]
    );
    assert_eq!(cert.payload, text.as_bytes());
    assert!(cert.signature.starts_with(b"-----BEGIN SSH SIGNATURE-----"));
}

#[test]
fn malformed_certificates_are_parse_errors() {
    let sig = "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n";
    let table: [(&str, String, ParseError); 8] = [
        ("no signature", body("x", &[]), ParseError::Unsigned),
        (
            "wrong version",
            format!("certificate version 0.2\npusher x 1 +0000\n\n{sig}"),
            ParseError::Version,
        ),
        (
            "no pusher",
            format!("certificate version 0.1\npushee x\n\n{sig}"),
            ParseError::NoPusher,
        ),
        (
            "unknown header",
            format!("certificate version 0.1\npusher x 1 +0000\nfoo bar\n\n{sig}"),
            ParseError::Header("foo bar".into()),
        ),
        (
            "repeated header",
            format!("certificate version 0.1\npusher x 1 +0000\nnonce a\nnonce b\n\n{sig}"),
            ParseError::Header("nonce b".into()),
        ),
        (
            "no blank line",
            format!("certificate version 0.1\npusher x 1 +0000\n{sig}"),
            ParseError::Unsigned,
        ),
        (
            "short command",
            format!("certificate version 0.1\npusher x 1 +0000\n\n{A} {B}\n{sig}"),
            ParseError::Command(format!("{A} {B}")),
        ),
        (
            "command with a bad id",
            format!("certificate version 0.1\npusher x 1 +0000\n\n{A} xyz refs/heads/a\n{sig}"),
            ParseError::Command(format!("{A} xyz refs/heads/a")),
        ),
    ];
    for (case, text, expected) in table {
        assert_eq!(parse(text.as_bytes()), Err(expected), "{case}");
    }
}

#[test]
fn a_matching_certificate_has_no_problems_and_verifies() {
    let cmds = [(A, B, "refs/heads/main"), (Z, C, "refs/heads/new")];
    let updates: Vec<_> = cmds.iter().map(|(o, n, r)| update(o, n, r)).collect();
    for pushee in [
        "ssh://git@127.0.0.1:2222/srv/git/project.git",
        "file:///tmp/x/project.git/",
        "http://127.0.0.1:8080/git/project",
        "git@host:project",
        "/srv/git/project.git",
    ] {
        let (problems, good) = outcome_for(pushee, &cmds, &updates);
        assert!(problems.is_empty(), "{pushee}: {problems:?}");
        assert!(good, "{pushee}: signature");
    }
}

#[test]
fn commands_must_match_the_push() {
    let blob = signed(&body(
        "ssh://h/project.git",
        &[(A, B, "refs/heads/main"), (Z, C, "refs/heads/x")],
    ));
    // (case, judged commands, coverage, expected problem or none)
    let table: [(&str, Vec<RefUpdate>, Coverage, Option<&str>); 6] = [
        (
            "same set, other order",
            vec![
                update(Z, C, "refs/heads/x"),
                update(A, B, "refs/heads/main"),
            ],
            Coverage::Exact,
            None,
        ),
        (
            "a command the certificate does not sign",
            vec![
                update(A, B, "refs/heads/main"),
                update(Z, C, "refs/heads/x"),
                update(Z, A, "refs/heads/y"),
            ],
            Coverage::Exact,
            Some("does not sign the command refs/heads/y 0000000..1111111 of this push"),
        ),
        (
            "another new id",
            vec![
                update(A, C, "refs/heads/main"),
                update(Z, C, "refs/heads/x"),
            ],
            Coverage::Exact,
            Some("does not sign the command refs/heads/main 1111111..3333333"),
        ),
        (
            "a signed command missing from the push",
            vec![update(A, B, "refs/heads/main")],
            Coverage::Exact,
            Some("signs the command refs/heads/x 0000000..3333333, which is not part of this push"),
        ),
        (
            "update hook: one of the signed commands",
            vec![update(A, B, "refs/heads/main")],
            Coverage::Contains,
            None,
        ),
        (
            "update hook: a command not signed",
            vec![update(B, A, "refs/heads/main")],
            Coverage::Contains,
            Some("does not sign the command refs/heads/main 2222222..1111111"),
        ),
    ];
    for (case, judged, coverage, expected) in table {
        let (problems, good) = outcome(assess_with(&blob, &NonceStatus::Ok, &judged, coverage));
        assert!(good, "{case}: the signature is fine either way");
        assert_problem(case, &problems, expected);
    }
}

#[test]
fn only_nonce_status_ok_is_accepted() {
    let cmds = [(A, B, "refs/heads/main")];
    let updates = [update(A, B, "refs/heads/main")];
    let blob = signed(&body("ssh://h/project.git", &cmds));
    let table = [
        (Some("OK"), None),
        (Some("SLOP"), Some("nonce status SLOP")),
        (
            Some("BAD"),
            Some("nonce status BAD: this server did not issue the nonce"),
        ),
        (Some("MISSING"), Some("nonce status MISSING")),
        (Some("UNSOLICITED"), Some("nonce status UNSOLICITED")),
        (
            Some("WHATEVER\n"),
            Some("unknown nonce status `WHATEVER\\n`"),
        ),
        (None, Some("GIT_PUSH_CERT_NONCE_STATUS unset")),
    ];
    for (value, expected) in table {
        let status = NonceStatus::from_env_value(value);
        let (problems, _) = outcome(assess_with(&blob, &status, &updates, Coverage::Exact));
        assert_problem(&format!("{value:?}"), &problems, expected);
    }
}

#[test]
fn pushee_must_name_this_repository() {
    let cmds = [(A, B, "refs/heads/main")];
    let updates = [update(A, B, "refs/heads/main")];
    for pushee in [
        "ssh://h/srv/other.git",
        "ssh://h/srv/project.git/other",
        "http://h/project-old.git",
        "file:///srv/myproject.git",
        "ssh://h:22",
    ] {
        let (problems, good) = outcome_for(pushee, &cmds, &updates);
        assert!(good);
        assert_problem(pushee, &problems, Some("not this repository (project.git)"));
    }
    let text = body("x", &cmds).replace("pushee x\n", "");
    let (problems, _) = outcome(assess_with(
        &signed(&text),
        &NonceStatus::Ok,
        &updates,
        Coverage::Exact,
    ));
    assert_eq!(
        problems,
        ["the push certificate names no repository (no `pushee` line)"]
    );
}

#[test]
fn every_problem_is_listed_and_the_signature_still_checked() {
    let blob = signed(&body("ssh://h/other.git", &[(A, B, "refs/heads/main")]));
    let (problems, good) = outcome(assess_with(
        &blob,
        &NonceStatus::Bad,
        &[update(A, C, "refs/heads/main")],
        Coverage::Exact,
    ));
    assert!(good);
    assert_eq!(problems.len(), 3, "{problems:?}");
}

#[test]
fn a_tampered_certificate_does_not_verify() {
    let text = body("ssh://h/project.git", &[(A, B, "refs/heads/main")]);
    let blob = signed(&text);
    let tampered =
        String::from_utf8(blob)
            .expect("utf-8")
            .replacen("refs/heads/main", "refs/heads/prod", 1);
    let cert = assess_with(
        tampered.as_bytes(),
        &NonceStatus::Ok,
        &[update(A, B, "refs/heads/prod")],
        Coverage::Exact,
    );
    let PushCert::Present {
        signature,
        problems,
    } = cert
    else {
        panic!("present");
    };
    assert!(problems.is_empty(), "{problems:?}");
    assert!(
        matches!(signature, Some(SignatureCheck::Bad { .. })),
        "{signature:?}"
    );
}

#[test]
fn an_unparsable_certificate_is_one_problem_and_no_signature() {
    let cert = assess_with(b"garbage", &NonceStatus::Ok, &[], Coverage::Exact);
    assert_eq!(
        cert,
        PushCert::Present {
            signature: None,
            problems: vec!["the push certificate carries no signature".into()],
        }
    );
}

/// Property tests: hostile certificate blobs never panic, anything parsed is well-formed, and
/// an edited certificate never passes as the one that was signed.
mod proptests {
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;

    /// A certificate for two commands, signed once per test binary.
    fn original() -> &'static (String, Vec<u8>) {
        static CERT: OnceLock<(String, Vec<u8>)> = OnceLock::new();
        CERT.get_or_init(|| {
            let text = body(
                "ssh://git@host/srv/project.git",
                &[(A, B, "refs/heads/main"), (Z, C, "refs/tags/v1")],
            );
            let blob = signed(&text);
            (text, blob)
        })
    }

    fn updates() -> Vec<RefUpdate> {
        vec![
            update(A, B, "refs/heads/main"),
            update(Z, C, "refs/tags/v1"),
        ]
    }

    fn assert_well_formed(blob: &[u8], cert: &Certificate) -> Result<(), TestCaseError> {
        prop_assert_eq!(
            [cert.payload.as_slice(), cert.signature.as_slice()].concat(),
            blob
        );
        prop_assert!(cert.payload.starts_with(b"certificate version 0.1\n"));
        for c in &cert.commands {
            for id in [&c.old, &c.new] {
                prop_assert!(matches!(id.as_str().len(), 40 | 64));
            }
            prop_assert!(!c.refname.is_empty() && !c.refname.contains('\n'));
        }
        Ok(())
    }

    /// Lines a certificate might be built from, valid or not.
    fn cert_line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("certificate version 0.1".to_string()),
            Just("pusher T <t@x> 1 +0000".to_string()),
            Just("pushee ssh://h/project.git".to_string()),
            Just("nonce 1-abc".to_string()),
            Just("push-option x".to_string()),
            Just(String::new()),
            Just(format!("{A} {B} refs/heads/main")),
            Just("-----BEGIN SSH SIGNATURE-----".to_string()),
            Just("-----END SSH SIGNATURE-----".to_string()),
            "[0-9a-f]{40} [0-9a-f]{40} [ -~]{0,20}",
            "[a-z-]{1,12} [ -~]{0,20}",
            "\\PC{0,30}",
        ]
    }

    fn edit() -> impl Strategy<Value = (prop::sample::Index, u8, u8)> {
        (
            any::<prop::sample::Index>(),
            0u8..3,
            prop_oneof![any::<u8>(), prop::sample::select(b"\n \r0a".to_vec())],
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(cert) = parse(&bytes) {
                assert_well_formed(&bytes, &cert)?;
            }
        }

        #[test]
        fn line_soup_parses_only_well_formed(
            lines in prop::collection::vec(cert_line(), 0..12),
        ) {
            let blob = lines.join("\n").into_bytes();
            if let Ok(cert) = parse(&blob) {
                assert_well_formed(&blob, &cert)?;
            }
        }
    }

    proptest! {
        // Each case may verify a signature (about 10 ms unoptimized): keep the count low.
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn edited_certificates_never_pass_as_the_original(
            edits in prop::collection::vec(edit(), 1..4),
        ) {
            let (text, blob) = original();
            let mut bytes = blob.clone();
            for (i, op, b) in &edits {
                match op {
                    0 if !bytes.is_empty() => {
                        let at = i.index(bytes.len());
                        bytes[at] = *b;
                    }
                    1 => bytes.insert(i.index(bytes.len() + 1), *b),
                    _ if !bytes.is_empty() => {
                        bytes.remove(i.index(bytes.len()));
                    }
                    _ => {}
                }
            }
            if let Ok(cert) = parse(&bytes) {
                assert_well_formed(&bytes, &cert)?;
            }
            let updates = updates();
            let got = assess_with(&bytes, &NonceStatus::Ok, &updates, Coverage::Exact);
            let PushCert::Present { signature, problems } = got else {
                return Err(TestCaseError::fail("certificate not present"));
            };
            if let Some(SignatureCheck::Valid(_)) = signature {
                let cert = parse(&bytes).expect("a verified certificate parsed");
                prop_assert_eq!(
                    String::from_utf8_lossy(&cert.payload),
                    text.as_str(),
                    "problems: {:?}", problems
                );
            }
        }
    }
}
