//! Tests of approvals (spec §7): counting, every reason an approval is ignored, and the
//! guard of `refs/approvals/**`, from hand-built facts.

use time::macros::datetime;

use super::fixture::*;
use crate::approval::Statement;
use crate::engine::{ApprovalFact, Code, ObjectId, SignatureCheck, evaluate};
use crate::policy::{ApprovalRule, ListKind, Location, Policy};
use crate::update::UpdateKind;

use Code::*;
use UpdateKind::{Create, Delete, FastForward, NonFastForward};

const PROD: &str = "refs/heads/prod";

/// The base policy plus a prod rule (line 110): anyone pushes, `count` approvals by
/// policy-admins (alice, erin, carol) needed on create and push only.
fn prod_policy(count: u32, allow_self: bool) -> Policy {
    let mut rules = base_rules();
    let mut prod = rule(110, &[PROD]);
    prod.set_list(ListKind::ForcePush, Some(list(&["*"])));
    prod.approvals = Some(ApprovalRule {
        by: list(&["policy-admins"]),
        count,
        on: vec![ListKind::Create, ListKind::Push],
        allow_self,
        location: Location::new(115, 13),
    });
    rules.insert(0, prod);
    policy_with_rules(rules)
}

/// An approval by the holder of `key` (`None`: unsigned) of moving prod from `a…` to `b…`,
/// with tag id `tag…`.
fn approval(tag: char, key: Option<&str>) -> ApprovalFact {
    let tag = oid(tag);
    ApprovalFact {
        refname: format!("refs/approvals/{}/{tag}", oid('b')),
        tag,
        annotated: true,
        target: Some(oid('b')),
        target_kind: "commit".into(),
        statement: Ok(Statement {
            repository: "project".into(),
            refname: PROD.into(),
            from: oid('a'),
            expires: None,
        }),
        signature: key.map_or(SignatureCheck::Unsigned, valid),
    }
}

/// A fast-forward of prod from `a…` to `b…` carrying `approvals`.
fn prod_push(approvals: Vec<ApprovalFact>) -> crate::engine::UpdateFacts {
    let mut facts = update(PROD, FastForward);
    facts.approvals = Some(approvals);
    facts
}

#[test]
fn distinct_users_count_once_whatever_their_tags() {
    let policy = prod_policy(2, false);
    let v = evaluate(
        &policy,
        &ctx(Some("bob")),
        &prod_push(vec![approval('1', Some(ALICE)), approval('2', Some(ALICE))]),
    );
    assert_reasons(
        "alice twice",
        &v,
        &[(
            ApprovalsMissing,
            None,
            &[
                "1 of 2 approvals by policy-admins",
                "counted: alice",
                "who may approve: alice, carol, erin",
            ],
        )],
    );
    assert!(
        v.approvals.is_empty(),
        "nothing is recorded for a refused update"
    );

    let v = evaluate(
        &policy,
        &ctx(Some("bob")),
        &prod_push(vec![approval('2', Some(ERIN)), approval('1', Some(ALICE))]),
    );
    assert_reasons("alice and erin", &v, &[]);
    let counted: Vec<(&str, &ObjectId)> = v
        .approvals
        .iter()
        .map(|a| (a.user.as_str(), &a.tag))
        .collect();
    assert_eq!(counted, [("alice", &oid('1')), ("erin", &oid('2'))]);
}

#[test]
fn every_ignored_approval_says_why() {
    let policy = prod_policy(1, false);
    let mut other_ref = approval('3', Some(ERIN));
    if let Ok(s) = &mut other_ref.statement {
        s.refname = "refs/heads/staging".into();
    }
    let mut stale = approval('4', Some(ERIN));
    if let Ok(s) = &mut stale.statement {
        s.from = oid('c');
    }
    let mut expired = approval('5', Some(ERIN));
    if let Ok(s) = &mut expired.statement {
        s.expires = Some(NOW);
    }
    let mut elsewhere = approval('6', Some(ERIN));
    if let Ok(s) = &mut elsewhere.statement {
        s.repository = "other".into();
    }
    let mut malformed = approval('7', Some(ERIN));
    malformed.statement = Err("no `Refguard-Ref:` line".into());
    let mut lightweight = approval('8', None);
    lightweight.annotated = false;
    let mut other_commit = approval('9', Some(ERIN));
    other_commit.target = Some(oid('d'));
    let table: Vec<(&str, ApprovalFact, &str)> = vec![
        (
            "own",
            approval('1', Some(ALICE)),
            "alice's approval is the pusher's own",
        ),
        (
            "outsider",
            approval('2', Some(DAVE)),
            "dave is not among the approvers (policy-admins)",
        ),
        (
            "ref",
            other_ref,
            "erin's approval is for refs/heads/staging",
        ),
        (
            "stale",
            stale,
            "erin's approval approved moving from ccccccc, the ref is at aaaaaaa",
        ),
        (
            "expired",
            expired,
            "erin's approval expired at 2025-06-01T12:00:00Z",
        ),
        (
            "repository",
            elsewhere,
            "erin's approval is for repository other, this is project",
        ),
        (
            "malformed",
            malformed,
            "not an approval statement: no `Refguard-Ref:` line",
        ),
        ("lightweight", lightweight, "is not an annotated tag"),
        (
            "commit",
            other_commit,
            "erin's approval is for another commit",
        ),
        (
            "unsigned",
            approval('a', None),
            "the approval tag not signed",
        ),
        (
            "revoked",
            approval('b', Some(BOB_REVOKED)),
            "bob's key is revoked",
        ),
        (
            "unknown",
            approval('c', Some(STRANGER)),
            "signed with unknown key",
        ),
        (
            "expired key",
            approval('d', Some(CAROL)),
            "carol's key has expired",
        ),
    ];
    let mut c = ctx(Some("alice"));
    c.now = datetime!(2026-06-01 12:00:00 UTC); // after carol's key expired
    for (name, fact, why) in table {
        let v = evaluate(&policy, &c, &prod_push(vec![fact]));
        assert_reasons(
            name,
            &v,
            &[
                (ApprovalsMissing, None, &["0 of 1 approval"]),
                (ApprovalsMissing, None, &["ignored approval", why]),
            ],
        );
    }
}

#[test]
fn allow_self_lets_the_pusher_approve() {
    let v = evaluate(
        &prod_policy(1, true),
        &ctx(Some("alice")),
        &prod_push(vec![approval('1', Some(ALICE))]),
    );
    assert_reasons("allow_self", &v, &[]);
    assert_eq!(v.approvals.len(), 1);
}

#[test]
fn approvals_apply_to_the_kinds_listed_in_on() {
    let policy = prod_policy(1, false);
    // `on` = create and push: a force-push and a delete need none.
    for kind in [NonFastForward, Delete] {
        let v = evaluate(&policy, &ctx(Some("bob")), &gathered(&policy, PROD, kind));
        assert!(
            !v.reasons.iter().any(|r| r.code == ApprovalsMissing),
            "{kind:?}: {v:?}"
        );
    }
    // A create needs them, approved from zero.
    let mut facts = update(PROD, Create);
    let mut create = approval('1', Some(ERIN));
    if let Ok(s) = &mut create.statement {
        s.from = ObjectId::zero();
    }
    facts.approvals = Some(vec![create]);
    assert_reasons("create", &evaluate(&policy, &ctx(Some("bob")), &facts), &[]);
    // Not looked up: fail closed.
    let v = evaluate(&policy, &ctx(Some("bob")), &update(PROD, FastForward));
    assert_reasons(
        "not examined",
        &v,
        &[(
            InternalError,
            None,
            &["approvals of refs/heads/prod were not examined"],
        )],
    );
}

#[test]
fn the_approval_ref_guard() {
    let policy = policy();
    let name = format!("refs/approvals/{}/{}", oid('b'), oid('1'));
    let good = || {
        let mut a = approval('1', Some(ERIN));
        a.refname = name.clone();
        a
    };
    let push = |kind, fact: Option<ApprovalFact>, refname: &str| {
        let mut facts = update(refname, kind);
        facts.update.new = if kind == Delete {
            ObjectId::zero()
        } else {
            oid('1')
        };
        facts.approval = fact;
        evaluate(&policy, &ctx(Some("mallory")), &facts)
    };
    // Anyone may push a sound approval, even an unknown pusher: it is evidence.
    assert_reasons("good", &push(Create, Some(good()), &name), &[]);
    let mut expired_key = good();
    expired_key.signature = valid(CAROL);
    let mut c = ctx(None);
    c.now = datetime!(2026-06-01 12:00:00 UTC);
    let mut facts = update(&name, Create);
    facts.update.new = oid('1');
    facts.approval = Some(expired_key);
    assert_reasons(
        "expired key: judged at use",
        &evaluate(&policy, &c, &facts),
        &[],
    );

    let mut other_repo = good();
    if let Ok(s) = &mut other_repo.statement {
        s.repository = "elsewhere".into();
    }
    let mut wrong_target = good();
    wrong_target.target = Some(oid('c'));
    let cases: Vec<(&str, UpdateKind, Option<ApprovalFact>, String, &str)> = vec![
        (
            "delete",
            Delete,
            None,
            name.clone(),
            "can never be moved or deleted",
        ),
        (
            "move",
            NonFastForward,
            Some(good()),
            name.clone(),
            "can never be moved or deleted",
        ),
        (
            "shape",
            Create,
            Some(good()),
            format!("refs/approvals/{}", oid('b')),
            "is not an approval ref",
        ),
        (
            "tag id",
            Create,
            Some(good()),
            format!("refs/approvals/{}/{}", oid('b'), oid('2')),
            "names tag 2222222 but points at 1111111",
        ),
        (
            "repository",
            Create,
            Some(other_repo),
            name.clone(),
            "repository elsewhere",
        ),
        (
            "target",
            Create,
            Some(wrong_target),
            name.clone(),
            "its ref names commit bbbbbbb",
        ),
        (
            "revoked",
            Create,
            Some(ApprovalFact {
                signature: valid(BOB_REVOKED),
                ..good()
            }),
            name.clone(),
            "revoked key",
        ),
        (
            "unsigned",
            Create,
            Some(ApprovalFact {
                signature: SignatureCheck::Unsigned,
                ..good()
            }),
            name.clone(),
            "not signed",
        ),
    ];
    for (case, kind, fact, refname, why) in cases {
        let v = push(kind, fact, &refname);
        assert_reasons(case, &v, &[(BadApproval, None, &[why])]);
        assert_eq!(v.rule, None, "{case}: no rule governs refs/approvals/");
    }
}

#[test]
fn a_granted_approver_counts_while_the_grant_lasts_and_the_verdict_names_the_grant() {
    // dave is a release manager, not a policy admin; a grant makes him one for an hour.
    let hour = time::Duration::hours(1);
    let grant = |from, until| crate::policy::Grant {
        user: "dave".into(),
        role: "policy-admins".into(),
        from: Some(from),
        until,
        reason: "INC-1 second approver".into(),
        location: Location::new(120, 1),
        until_location: Location::new(124, 9),
    };
    for (case, window, counts) in [
        ("active", grant(NOW - hour, NOW + hour), true),
        ("ended", grant(NOW - 2 * hour, NOW - hour), false),
    ] {
        let mut policy = prod_policy(1, false);
        policy.grants = vec![window].into();
        let v = evaluate(
            &policy,
            &ctx(Some("bob")),
            &prod_push(vec![approval('1', Some(DAVE))]),
        );
        if counts {
            assert_reasons(case, &v, &[]);
            assert_eq!(v.approvals[0].user, "dave");
            assert_eq!(
                v.grants.len(),
                1,
                "{case}: the decision relied on the grant"
            );
        } else {
            assert_reasons(
                case,
                &v,
                &[
                    (ApprovalsMissing, None, &["0 of 1"]),
                    (
                        ApprovalsMissing,
                        None,
                        &[
                            "dave is not among the approvers",
                            "dave's grant of policy-admins ended at",
                        ],
                    ),
                ],
            );
            assert!(v.grants.is_empty(), "{case}");
        }
    }
}
