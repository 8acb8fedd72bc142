//! Push certificates in the engine: the signer as pusher, refused certificates, and the
//! `signed_push` / `require_signed_push` requirements. Table-driven from struct literals.

use time::macros::datetime;

use super::fixture::*;
use crate::engine::{Code, PushCert, SignatureCheck, UpdateKind, evaluate, evaluate_signed};
use crate::policy::Policy;

use Code::*;
use UpdateKind::{Delete, FastForward};

/// The base policy with `signed_push = true` on the main rule (roles.toml:10), and
/// optionally `[settings] require_signed_push = true`.
fn signed_policy(require_all: bool) -> Policy {
    let mut policy = policy();
    if let Some(main) = policy.rules.first_mut() {
        main.signed_push = true;
    }
    policy.require_signed_push = require_all;
    policy
}

/// A certificate without problems signed as `signature` says.
fn cert(signature: SignatureCheck) -> PushCert {
    PushCert::Present {
        signature: Some(signature),
        problems: Vec::new(),
    }
}

/// A certificate signed by alice's key with the given problems.
fn flawed(problems: &[&str]) -> PushCert {
    PushCert::Present {
        signature: Some(valid(ALICE)),
        problems: problems.iter().map(|p| p.to_string()).collect(),
    }
}

/// One case of [`certificates_and_requirements`].
struct Row<'a> {
    case: &'a str,
    /// `[settings] require_signed_push`.
    require_all: bool,
    /// The pusher name from the environment.
    pusher: Option<&'a str>,
    cert: PushCert,
    refname: &'a str,
    kind: UpdateKind,
    /// The user the verdict names.
    user: Option<&'a str>,
    expected: Vec<Expect<'a>>,
}

/// The common case: alice (by environment and as the verdict's user) fast-forwards main
/// with `cert`, `require_signed_push` off.
fn row<'a>(case: &'a str, cert: PushCert, expected: Vec<Expect<'a>>) -> Row<'a> {
    Row {
        case,
        require_all: false,
        pusher: Some("alice"),
        cert,
        refname: "refs/heads/main",
        kind: FastForward,
        user: Some("alice"),
        expected,
    }
}

#[test]
fn certificates_and_requirements() {
    let free = "refs/heads/free";
    let team = "refs/heads/team/x";
    let table = vec![
        Row {
            pusher: Some("bob"),
            ..row(
                "the signer is the pusher, over the environment name",
                cert(valid(ALICE)),
                vec![],
            )
        },
        Row {
            user: Some("bob"),
            ..row(
                "a certified pusher is judged as the signer",
                cert(valid(BOB)),
                vec![(
                    PushDenied,
                    None,
                    &["\"bob\" (push certificate) may not push"],
                )],
            )
        },
        row(
            "unknown key: refused, the environment name stays",
            cert(valid(STRANGER)),
            vec![(
                PushCertInvalid,
                None,
                &["push certificate signed with unknown key"],
            )],
        ),
        row(
            "revoked key",
            cert(valid(BOB_REVOKED)),
            vec![(PushCertInvalid, None, &["revoked key", "laptop stolen"])],
        ),
        row(
            "bad signature",
            cert(SignatureCheck::Bad {
                detail: "signature does not verify".into(),
            }),
            vec![(
                PushCertInvalid,
                None,
                &["bad signature: signature does not verify"],
            )],
        ),
        row(
            "OpenPGP certificate",
            cert(SignatureCheck::Unsupported {
                format: "OpenPGP".into(),
            }),
            vec![(PushCertInvalid, None, &["OpenPGP signature"])],
        ),
        Row {
            pusher: Some("bob"),
            user: Some("bob"),
            ..row(
                "problems refuse a certificate with a good key",
                flawed(&[
                    "nonce status BAD: x",
                    "the push certificate is for other.git",
                ]),
                vec![
                    (
                        PushCertInvalid,
                        None,
                        &["nonce status BAD: x; the push certificate is for"],
                    ),
                    (PushDenied, None, &["\"bob\" may not push"]),
                ],
            )
        },
        row(
            "unparsable certificate: only its problem",
            PushCert::Present {
                signature: None,
                problems: vec!["the push certificate has no `pusher` line".into()],
            },
            vec![(PushCertInvalid, None, &["no `pusher` line"])],
        ),
        Row {
            refname: free,
            ..row(
                "a refused certificate rejects an unprotected ref too",
                cert(valid(STRANGER)),
                vec![(PushCertInvalid, None, &["unknown key"])],
            )
        },
        row(
            "signed_push rule without a certificate",
            PushCert::Absent,
            vec![(
                SignedPushRequired,
                None,
                &["signed_push = true, rule roles.toml:10"],
            )],
        ),
        Row {
            kind: Delete,
            ..row(
                "deletes need a signed push as well",
                PushCert::Absent,
                vec![
                    (SignedPushRequired, None, &["git push --signed"]),
                    (DeleteDenied, None, &["may not delete"]),
                ],
            )
        },
        Row {
            pusher: None,
            ..row(
                "signed_push rule with a good certificate",
                cert(valid(ALICE)),
                vec![],
            )
        },
        row(
            "a refused certificate is not also signed-push-required",
            cert(valid(STRANGER)),
            vec![(PushCertInvalid, None, &["unknown key"])],
        ),
        Row {
            refname: team,
            ..row("other rules need no certificate", PushCert::Absent, vec![])
        },
        Row {
            require_all: true,
            refname: team,
            ..row(
                "require_signed_push covers every rule",
                PushCert::Absent,
                vec![(
                    SignedPushRequired,
                    None,
                    &["[settings] require_signed_push"],
                )],
            )
        },
        Row {
            require_all: true,
            refname: free,
            ..row(
                "require_signed_push leaves unprotected refs alone",
                PushCert::Absent,
                vec![],
            )
        },
        Row {
            require_all: true,
            refname: POLICY_REF,
            kind: Delete,
            ..row(
                "require_signed_push covers the policy branch",
                PushCert::Absent,
                vec![
                    (
                        SignedPushRequired,
                        None,
                        &["refs/meta/policy needs a signed push"],
                    ),
                    (PolicyDenied, None, &["never be deleted"]),
                ],
            )
        },
        Row {
            require_all: true,
            ..row(
                "dry runs do not judge certificates",
                PushCert::NotChecked,
                vec![],
            )
        },
    ];
    for r in table {
        let policy = signed_policy(r.require_all);
        let facts = gathered(&policy, r.refname, r.kind);
        let v = evaluate_signed(&policy, &ctx(r.pusher), &r.cert, &facts);
        assert_reasons(r.case, &v, &r.expected);
        assert_eq!(v.user.as_deref(), r.user, "{}: user", r.case);
    }
}

#[test]
fn expiry_of_the_certificate_key_is_judged_at_push_time() {
    let policy = signed_policy(false);
    let facts = gathered(&policy, "refs/heads/main", FastForward);
    let mut c = ctx(Some("alice"));
    let carol = cert(valid(CAROL));
    let v = evaluate_signed(&policy, &c, &carol, &facts);
    assert_reasons(
        "carol current",
        &v,
        &[(PushDenied, None, &["\"carol\" (push certificate)"])],
    );
    c.now = datetime!(2026-02-01 00:00:00 UTC);
    let v = evaluate_signed(&policy, &c, &carol, &facts);
    assert_reasons(
        "carol expired",
        &v,
        &[(
            PushCertInvalid,
            None,
            &["which expired at 2026-01-01T00:00:00Z"],
        )],
    );
    assert_eq!(v.user.as_deref(), Some("alice"));
}

#[test]
fn evaluate_is_evaluate_signed_without_checking() {
    let policy = signed_policy(true);
    let facts = update("refs/heads/main", FastForward);
    let c = ctx(Some("bob"));
    assert_eq!(
        evaluate(&policy, &c, &facts),
        evaluate_signed(&policy, &c, &PushCert::NotChecked, &facts)
    );
}
