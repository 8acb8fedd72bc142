//! Tests of evaluate mode (spec §11): shadows never take part in first-match, are judged in
//! addition, warn instead of rejecting, and never weaken the policy branch, approval refs or
//! fail-closed errors.

use super::fixture::*;
use crate::engine::{Code, Verdict, evaluate};
use crate::policy::{ListKind, Policy, Rule};
use crate::requirements::{self, Level, Origin};
use crate::testutil::{path_entry, rule};
use crate::update::UpdateKind::{Create, FastForward};

use Code::*;

/// A shadow at line 5, above every base rule: main may be pushed by alice only, every
/// commit signed by a maintainer.
fn strict_main() -> Rule {
    let mut shadow = rule(5, &["refs/heads/main"]);
    shadow.set_list(ListKind::Push, Some(list(&["alice"])));
    shadow.set_list(ListKind::Signers, Some(list(&["maintainers"])));
    shadow.evaluate = true;
    shadow
}

fn with_shadow(shadow: Rule) -> Policy {
    let mut rules = vec![shadow];
    rules.extend(base_rules());
    policy_with_rules(rules)
}

fn levels(v: &Verdict) -> Vec<(Code, Level)> {
    v.reasons.iter().map(|r| (r.code, r.level)).collect()
}

#[test]
fn a_shadow_above_an_enforced_rule_keeps_its_protection() {
    let policy = with_shadow(strict_main());
    let reqs = requirements::for_update(&policy, POLICY_REF, "refs/heads/main", FastForward);
    // The enforced rule at line 10 governs, not the shadow above it.
    assert_eq!(reqs.rule.map(|r| r.location.line), Some(10));
    // The enforced rule still rejects an unsigned commit pushed by alice; the shadow adds
    // its own finding as a warning.
    let mut facts = update("refs/heads/main", FastForward);
    with_commits(
        &policy,
        &mut facts,
        vec![commit(
            'c',
            "unsigned",
            1,
            crate::engine::SignatureCheck::Unsigned,
        )],
    );
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert!(!v.accepted());
    assert_eq!(
        levels(&v),
        [(Unsigned, Level::Deny), (Unsigned, Level::Warn)]
    );
    let shadow = v.warnings().next().expect("a warning");
    assert!(matches!(shadow.origin, Some(Origin::Rule(r)) if r.location.line == 5));
}

#[test]
fn what_only_the_shadow_forbids_is_a_warning_and_the_update_goes_on() {
    let policy = with_shadow(strict_main());
    // alice (a maintainer, whom the enforced rule lets push) pushes a commit bob signed: the
    // enforced rule accepts any developer's signature, the shadow wants a maintainer's.
    let mut facts = update("refs/heads/main", FastForward);
    with_commits(
        &policy,
        &mut facts,
        vec![commit('c', "by bob", 1, valid(BOB))],
    );
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert!(v.accepted(), "{:#?}", v.reasons);
    assert_eq!(levels(&v), [(SignerNotAllowed, Level::Warn)]);
    // A pusher the shadow would refuse: a warning too, next to the enforced decision.
    let policy = with_shadow({
        let mut s = strict_main();
        s.set_list(ListKind::Push, Some(list(&["carol"])));
        s
    });
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert!(v.accepted());
    assert_eq!(
        levels(&v),
        [(PushDenied, Level::Warn), (SignerNotAllowed, Level::Warn)]
    );
}

#[test]
fn a_shadow_governs_a_ref_no_enforced_rule_matches_only_as_warnings() {
    let mut shadow = rule(5, &["refs/heads/experimental/*"]);
    shadow.set_list(ListKind::Signers, Some(list(&["developers"])));
    shadow.evaluate = true;
    let policy = with_shadow(shadow);
    let reqs = requirements::for_update(&policy, POLICY_REF, "refs/heads/experimental/x", Create);
    assert!(reqs.rule.is_none());
    let mut facts = update("refs/heads/experimental/x", Create);
    with_commits(
        &policy,
        &mut facts,
        vec![commit('c', "x", 1, crate::engine::SignatureCheck::Unsigned)],
    );
    let v = evaluate(&policy, &ctx(Some("zed")), &facts);
    assert!(v.accepted());
    assert_eq!(levels(&v), [(Unsigned, Level::Warn)]);
}

#[test]
fn never_on_the_policy_branch_or_approval_refs() {
    let mut shadow = rule(5, &["refs/**"]);
    shadow.set_list(ListKind::Push, Some(list(&[])));
    shadow.evaluate = true;
    let policy = with_shadow(shadow);
    for refname in [
        POLICY_REF,
        "refs/approvals/1111111111111111111111111111111111111111/x",
    ] {
        let reqs = requirements::for_update(&policy, POLICY_REF, refname, FastForward);
        assert!(
            reqs.items.iter().all(|r| r.level == Level::Deny),
            "{refname}: {:?}",
            reqs.items
        );
    }
}

#[test]
fn a_shadow_that_cannot_be_judged_fails_closed() {
    let policy = with_shadow(strict_main());
    // The shell did not gather the shadow's commits: an internal error, which denies.
    let mut facts = update("refs/heads/main", FastForward);
    let reqs = requirements::for_update(&policy, POLICY_REF, "refs/heads/main", FastForward);
    let enforced = reqs
        .needs()
        .commits
        .into_iter()
        .find(|s| matches!(s, requirements::CommitScope::Rule(id) if id.index == 1))
        .expect("the enforced rule's scope");
    facts.set_commits(enforced, Vec::new());
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert!(!v.accepted());
    assert_eq!(levels(&v), [(InternalError, Level::Deny)]);
}

#[test]
fn a_path_entry_in_evaluate_mode_warns() {
    let mut policy = policy();
    let mut entry = path_entry(200, &["secrets/**"], &["refs/heads/**"]);
    entry.signers = Some(list(&["maintainers"]));
    entry.evaluate = true;
    policy.paths = vec![entry];
    let mut facts = update("refs/heads/main", FastForward);
    with_commits(
        &policy,
        &mut facts,
        vec![commit('c', "rotate", 1, valid(BOB))],
    );
    facts.touched.push((
        requirements::PathId::of(&policy.paths[0]),
        vec![crate::engine::Touch {
            commit: oid('c'),
            paths: vec!["secrets/db.key".into()],
        }],
    ));
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert!(v.accepted(), "{:#?}", v.reasons);
    assert_eq!(levels(&v), [(PathDenied, Level::Warn)]);
}
