//! Tests of judging history one object at a time (`refguard audit history`).

use time::macros::datetime;

use super::fixture::*;
use crate::engine::{
    Code, PushContext, SignatureCheck, SignatureStatus, TagTarget, judge_commit, judge_tag,
    signed_by,
};

use Code::*;
use SignatureStatus as S;

/// A history case: name, ref, parents, signature, (status, user, fingerprint?), allowed,
/// expected codes.
type Row = (
    &'static str,
    &'static str,
    usize,
    SignatureCheck,
    (SignatureStatus, Option<&'static str>, bool),
    bool,
    &'static [Code],
);

#[test]
fn commits_are_judged_by_their_refs_rule_without_pusher_checks() {
    let policy = policy();
    let main = "refs/heads/main";
    let rows: Vec<Row> = vec![
        (
            "member",
            main,
            1,
            valid(BOB),
            (S::Valid, Some("bob"), true),
            true,
            &[],
        ),
        (
            "unsigned",
            main,
            1,
            SignatureCheck::Unsigned,
            (S::Unsigned, None, false),
            false,
            &[Unsigned],
        ),
        (
            "outsider",
            main,
            1,
            valid(DAVE),
            (S::Valid, Some("dave"), true),
            false,
            &[SignerNotAllowed],
        ),
        (
            "unknown",
            main,
            1,
            valid(STRANGER),
            (S::Unknown, None, true),
            false,
            &[UnknownKey],
        ),
        (
            "revoked",
            main,
            1,
            valid(BOB_REVOKED),
            (S::Revoked, Some("bob"), true),
            false,
            &[RevokedKey],
        ),
        (
            "bad",
            main,
            1,
            SignatureCheck::Bad { detail: "x".into() },
            (S::Bad, None, false),
            false,
            &[BadSignature],
        ),
        (
            "pgp",
            main,
            1,
            SignatureCheck::Unsupported {
                format: "OpenPGP".into(),
            },
            (S::Unsupported, None, false),
            false,
            &[UnsupportedSignature],
        ),
        (
            "merge by developer",
            main,
            2,
            valid(BOB),
            (S::Valid, Some("bob"), true),
            true,
            &[MergeDenied],
        ),
        (
            "merge by maintainer",
            main,
            2,
            valid(ALICE),
            (S::Valid, Some("alice"), true),
            true,
            &[],
        ),
        (
            "linear merge",
            "refs/heads/linear/x",
            2,
            SignatureCheck::Unsigned,
            (S::Unsigned, None, false),
            false,
            &[Unsigned, Nonlinear],
        ),
        // No `signers`: any user of the file is an allowed signer; unsigned is no violation.
        (
            "merge-only plain",
            "refs/heads/merge-only/a",
            1,
            SignatureCheck::Unsigned,
            (S::Unsigned, None, false),
            false,
            &[],
        ),
        (
            "merge-only by dave",
            "refs/heads/merge-only/a",
            1,
            valid(DAVE),
            (S::Valid, Some("dave"), true),
            true,
            &[],
        ),
        (
            "unprotected",
            "refs/heads/scratch",
            2,
            valid(STRANGER),
            (S::Unknown, None, true),
            false,
            &[],
        ),
        // The policy branch: admins sign; no pusher, approvals or candidate checks.
        (
            "policy by admin",
            POLICY_REF,
            1,
            valid(ALICE),
            (S::Valid, Some("alice"), true),
            true,
            &[],
        ),
        (
            "policy by bob",
            POLICY_REF,
            1,
            valid(BOB),
            (S::Valid, Some("bob"), true),
            false,
            &[PolicyDenied],
        ),
        (
            "policy unsigned",
            POLICY_REF,
            1,
            SignatureCheck::Unsigned,
            (S::Unsigned, None, false),
            false,
            &[Unsigned],
        ),
    ];
    // No pusher at all: a push would be refused at ref level on main, which history ignores.
    let ctx = ctx(None);
    for (name, refname, parents, signature, (status, user, has_fp), allowed, codes) in rows {
        let c = commit('c', "subject", parents, signature);
        let j = judge_commit(&policy, &ctx, refname, &c, &[]);
        assert_eq!(j.signed_by.status, status, "{name}");
        assert_eq!(j.signed_by.user.as_deref(), user, "{name}");
        assert_eq!(j.signed_by.fingerprint.is_some(), has_fp, "{name}");
        assert_eq!(j.allowed_signer, allowed, "{name}");
        let got: Vec<Code> = j.reasons.iter().map(|r| r.code).collect();
        assert_eq!(got, codes, "{name}");
        assert!(
            j.reasons.iter().all(|r| r.commit == Some(oid('c'))),
            "{name}"
        );
    }
}

#[test]
fn expiry_and_fingerprints_are_judged_at_the_given_time() {
    let policy = policy();
    let c = commit('c', "by carol", 1, valid(CAROL));
    let before = judge_commit(&policy, &ctx(None), "refs/heads/main", &c, &[]);
    assert_eq!(before.signed_by.status, S::Valid);
    assert_eq!(before.signed_by.fingerprint, Some(fingerprint(CAROL)));
    assert!(before.reasons.is_empty() && before.allowed_signer);

    let later = PushContext {
        now: datetime!(2026-02-01 00:00:00 UTC),
        ..ctx(None)
    };
    let after = judge_commit(&policy, &later, "refs/heads/main", &c, &[]);
    assert_eq!(after.signed_by.status, S::Expired);
    assert_eq!(after.signed_by.user.as_deref(), Some("carol"));
    assert!(!after.allowed_signer);
    assert_eq!(after.reasons[0].code, ExpiredKey);

    let baseline = signed_by(&policy, &later, &valid(CAROL));
    assert_eq!(baseline, after.signed_by);
    assert_eq!(S::Unknown.as_str(), "unknown-key");
}

#[test]
fn tags_are_judged_by_their_own_signature() {
    let policy = policy();
    let ctx = ctx(Some("mallory"));
    let annotated = |sig| TagTarget::Annotated {
        name: "v1".into(),
        signature: sig,
    };
    let cases: Vec<(&str, TagTarget, bool, &[Code])> = vec![
        ("lightweight", TagTarget::Lightweight, false, &[UnsignedTag]),
        (
            "unsigned",
            annotated(SignatureCheck::Unsigned),
            false,
            &[UnsignedTag],
        ),
        ("release manager", annotated(valid(DAVE)), true, &[]),
        (
            "developer",
            annotated(valid(BOB)),
            false,
            &[SignerNotAllowed],
        ),
    ];
    for (name, target, allowed, codes) in cases {
        let j = judge_tag(&policy, &ctx, "refs/tags/v1", &oid('e'), &target);
        assert_eq!(j.allowed_signer, allowed, "{name}");
        let got: Vec<Code> = j.reasons.iter().map(|r| r.code).collect();
        assert_eq!(got, codes, "{name}");
    }
}
