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

/// (case, require_signed_push, env pusher, certificate, ref, kind, expected user, reasons)
type Row<'a> = (
    &'a str,
    bool,
    Option<&'a str>,
    PushCert,
    &'a str,
    UpdateKind,
    Option<&'a str>,
    Vec<Expect<'a>>,
);

#[test]
fn certificates_and_requirements() {
    let main = "refs/heads/main";
    let free = "refs/heads/free";
    let table: Vec<Row<'_>> = vec![
        (
            "the signer is the pusher, over the environment name",
            false,
            Some("bob"),
            cert(valid(ALICE)),
            main,
            FastForward,
            Some("alice"),
            vec![],
        ),
        (
            "a certified pusher is judged as the signer",
            false,
            Some("alice"),
            cert(valid(BOB)),
            main,
            FastForward,
            Some("bob"),
            vec![(
                PushDenied,
                None,
                &["\"bob\" (push certificate) may not push"],
            )],
        ),
        (
            "unknown key: refused, the environment name stays",
            false,
            Some("alice"),
            cert(valid(STRANGER)),
            main,
            FastForward,
            Some("alice"),
            vec![(
                PushCertInvalid,
                None,
                &["push certificate signed with unknown key"],
            )],
        ),
        (
            "revoked key",
            false,
            Some("alice"),
            cert(valid(BOB_REVOKED)),
            main,
            FastForward,
            Some("alice"),
            vec![(PushCertInvalid, None, &["revoked key", "laptop stolen"])],
        ),
        (
            "bad signature",
            false,
            Some("alice"),
            cert(SignatureCheck::Bad {
                detail: "signature does not verify".into(),
            }),
            main,
            FastForward,
            Some("alice"),
            vec![(
                PushCertInvalid,
                None,
                &["bad signature: signature does not verify"],
            )],
        ),
        (
            "OpenPGP certificate",
            false,
            Some("alice"),
            cert(SignatureCheck::Unsupported {
                format: "OpenPGP".into(),
            }),
            main,
            FastForward,
            Some("alice"),
            vec![(PushCertInvalid, None, &["OpenPGP signature"])],
        ),
        (
            "problems refuse a certificate with a good key",
            false,
            Some("bob"),
            flawed(&[
                "nonce status BAD: x",
                "the push certificate is for other.git",
            ]),
            main,
            FastForward,
            Some("bob"),
            vec![
                (
                    PushCertInvalid,
                    None,
                    &["nonce status BAD: x; the push certificate is for"],
                ),
                (PushDenied, None, &["\"bob\" may not push"]),
            ],
        ),
        (
            "unparsable certificate: only its problem",
            false,
            Some("alice"),
            PushCert::Present {
                signature: None,
                problems: vec!["the push certificate has no `pusher` line".into()],
            },
            main,
            FastForward,
            Some("alice"),
            vec![(PushCertInvalid, None, &["no `pusher` line"])],
        ),
        (
            "a refused certificate rejects an unprotected ref too",
            false,
            Some("alice"),
            cert(valid(STRANGER)),
            free,
            FastForward,
            Some("alice"),
            vec![(PushCertInvalid, None, &["unknown key"])],
        ),
        (
            "signed_push rule without a certificate",
            false,
            Some("alice"),
            PushCert::Absent,
            main,
            FastForward,
            Some("alice"),
            vec![(
                SignedPushRequired,
                None,
                &["signed_push = true, rule roles.toml:10"],
            )],
        ),
        (
            "deletes need a signed push as well",
            false,
            Some("alice"),
            PushCert::Absent,
            main,
            Delete,
            Some("alice"),
            vec![
                (SignedPushRequired, None, &["git push --signed"]),
                (DeleteDenied, None, &["may not delete"]),
            ],
        ),
        (
            "signed_push rule with a good certificate",
            false,
            None,
            cert(valid(ALICE)),
            main,
            FastForward,
            Some("alice"),
            vec![],
        ),
        (
            "a refused certificate is not also signed-push-required",
            false,
            Some("alice"),
            cert(valid(STRANGER)),
            main,
            FastForward,
            Some("alice"),
            vec![(PushCertInvalid, None, &["unknown key"])],
        ),
        (
            "other rules need no certificate",
            false,
            Some("alice"),
            PushCert::Absent,
            "refs/heads/team/x",
            FastForward,
            Some("alice"),
            vec![],
        ),
        (
            "require_signed_push covers every rule",
            true,
            Some("alice"),
            PushCert::Absent,
            "refs/heads/team/x",
            FastForward,
            Some("alice"),
            vec![(
                SignedPushRequired,
                None,
                &["[settings] require_signed_push"],
            )],
        ),
        (
            "require_signed_push leaves unprotected refs alone",
            true,
            Some("alice"),
            PushCert::Absent,
            free,
            FastForward,
            Some("alice"),
            vec![],
        ),
        (
            "require_signed_push covers the policy branch",
            true,
            Some("alice"),
            PushCert::Absent,
            POLICY_REF,
            Delete,
            Some("alice"),
            vec![
                (
                    SignedPushRequired,
                    None,
                    &["refs/meta/policy needs a signed push"],
                ),
                (PolicyDenied, None, &["never be deleted"]),
            ],
        ),
        (
            "dry runs do not judge certificates",
            true,
            Some("alice"),
            PushCert::NotChecked,
            main,
            FastForward,
            Some("alice"),
            vec![],
        ),
    ];
    for (case, require_all, pusher, cert, refname, kind, user, expected) in table {
        let policy = signed_policy(require_all);
        let v = evaluate_signed(&policy, &ctx(pusher), &cert, &update(refname, kind));
        assert_reasons(case, &v, &expected);
        assert_eq!(v.user.as_deref(), user, "{case}: user");
    }
}

#[test]
fn expiry_of_the_certificate_key_is_judged_at_push_time() {
    let policy = signed_policy(false);
    let facts = update("refs/heads/main", FastForward);
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
