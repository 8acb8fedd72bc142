//! A hand-built policy and fact builders for the engine tests. The keys are real OpenSSH
//! ed25519 public keys (the private halves were thrown away), so blobs and fingerprints are
//! computed exactly as the policy parser and the verifier compute them.

use time::OffsetDateTime;
use time::macros::datetime;

use crate::engine::{
    CommitFacts, ObjectId, PushContext, RefUpdate, SignatureCheck, UpdateFacts, UpdateKind, Verdict,
};
use crate::policy::{ListKind, Location, Policy, Principals, Rule};
pub use crate::testutil::{
    ALICE, BOB, BOB_REVOKED, CAROL, DAVE, ERIN, GONE, STRANGER, fingerprint, key_id, rule, user_key,
};
use crate::testutil::{Roles, build_policy, principals, revoked, user};

/// Push time in most tests.
pub const NOW: OffsetDateTime = datetime!(2025-06-01 12:00:00 UTC);
/// When carol's key expires.
pub const CAROL_EXPIRES: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);
/// The policy branch.
pub const POLICY_REF: &str = "refs/meta/policy";

/// A signature that verifies with the given key.
pub fn valid(line: &str) -> SignatureCheck {
    SignatureCheck::Valid(key_id(line))
}

/// The roles of the base policy, as written.
const ROLES: Roles = &[
    ("maintainers", &["alice"]),
    ("developers", &["bob", "maintainers", "carol"]),
    ("release-managers", &["dave"]),
    ("policy-admins", &["alice", "erin", "carol"]),
];

/// A principals list as the parser would build it from `written` under the base roles.
pub fn list(written: &[&str]) -> Principals {
    principals(ROLES, written)
}

/// The rules of the base policy, in file order.
pub fn base_rules() -> Vec<Rule> {
    let mut main = rule(10, &["refs/heads/main", "refs/heads/release/*"]);
    main.set_list(ListKind::Push, Some(list(&["maintainers"])));
    main.set_list(ListKind::Delete, Some(list(&[])));
    main.set_list(ListKind::Signers, Some(list(&["developers"])));
    main.set_list(ListKind::Merge, Some(list(&["maintainers"])));

    let mut tags = rule(20, &["refs/tags/v*"]);
    tags.set_list(ListKind::Create, Some(list(&["release-managers"])));
    tags.set_list(ListKind::Signers, Some(list(&["release-managers"])));

    let mut linear = rule(30, &["refs/heads/linear/**"]);
    linear.linear = true;
    linear.set_list(ListKind::Signers, Some(list(&["developers"])));

    let mut merge_only = rule(40, &["refs/heads/merge-only/*"]);
    merge_only.set_list(ListKind::Merge, Some(list(&["maintainers"])));

    let mut nolinear = rule(50, &["refs/heads/nolinear/*"]);
    nolinear.linear = true;

    let mut team = rule(60, &["refs/heads/team/**"]);
    team.set_list(ListKind::Push, Some(list(&["*"])));

    // Shadowed by the rule at line 60: first match in file order wins.
    let mut locked = rule(70, &["refs/heads/team/locked"]);
    locked.set_list(ListKind::Push, Some(list(&[])));

    let mut both = rule(80, &["refs/heads/both/*"]);
    both.linear = true;
    both.set_list(ListKind::Merge, Some(list(&["maintainers"])));

    let mut nightly = rule(90, &["refs/tags/nightly-*"]);
    nightly.set_list(ListKind::Push, Some(list(&["*"])));
    nightly.set_list(ListKind::ForcePush, Some(list(&["*"])));

    // Must never govern the policy branch.
    let mut meta = rule(100, &["refs/meta/**"]);
    meta.set_list(ListKind::Push, Some(list(&[])));
    meta.set_list(ListKind::Signers, Some(list(&["release-managers"])));

    vec![
        main, tags, linear, merge_only, nolinear, team, locked, both, nightly, meta,
    ]
}

/// The base policy: alice (maintainer, admin), bob (developer; one key revoked), carol
/// (developer, admin; expiring key), dave (release manager), erin (admin); approvals = 2.
pub fn policy() -> Policy {
    policy_with_rules(base_rules())
}

/// The base users, roles, admins and revocations with the given rules.
pub fn policy_with_rules(rules: Vec<Rule>) -> Policy {
    let users = vec![
        user("alice", &["alice@example.com"], vec![user_key(ALICE, None)]),
        user(
            "bob",
            &[],
            vec![user_key(BOB, None), user_key(BOB_REVOKED, None)],
        ),
        user("carol", &[], vec![user_key(CAROL, Some(CAROL_EXPIRES))]),
        user("dave", &[], vec![user_key(DAVE, None)]),
        user("erin", &[], vec![user_key(ERIN, None)]),
    ];
    let revocations = vec![
        revoked(BOB_REVOKED, Some("laptop stolen"), Location::default()),
        revoked(GONE, None, Location::default()),
    ];
    build_policy(ROLES, users, rules, revocations)
}

/// A 40-digit object id made of one repeated hex digit.
pub fn oid(digit: char) -> ObjectId {
    ObjectId::parse(&digit.to_string().repeat(40)).expect("test id is hex")
}

/// A push context for `pusher` at [`NOW`].
pub fn ctx(pusher: Option<&str>) -> PushContext {
    PushContext {
        pusher: pusher.map(str::to_string),
        now: NOW,
        policy_ref: POLICY_REF.to_string(),
        repository: "project".to_string(),
        pushed: Vec::new(),
    }
}

/// Facts for an update of `kind` on `refname` with no commits (old `a…`, new `b…`, or
/// zero as the kind requires).
pub fn update(refname: &str, kind: UpdateKind) -> UpdateFacts {
    let (old, new) = match kind {
        UpdateKind::Create => (ObjectId::zero(), oid('b')),
        UpdateKind::Delete => (oid('a'), ObjectId::zero()),
        UpdateKind::FastForward | UpdateKind::NonFastForward => (oid('a'), oid('b')),
    };
    UpdateFacts::new(
        RefUpdate {
            refname: refname.to_string(),
            old,
            new,
        },
        kind,
    )
}

/// Records `commits` as the new commits of every commit scope the requirements of `facts`'
/// update under `policy` ask for: what the shell would gather for it.
pub fn with_commits(policy: &Policy, facts: &mut UpdateFacts, commits: Vec<CommitFacts>) {
    with_commits_at(policy, POLICY_REF, facts, commits);
}

/// [`with_commits`] for a policy branch named `policy_ref`.
pub fn with_commits_at(
    policy: &Policy,
    policy_ref: &str,
    facts: &mut UpdateFacts,
    commits: Vec<CommitFacts>,
) {
    let reqs =
        crate::requirements::for_update(policy, policy_ref, &facts.update.refname, facts.kind);
    for scope in reqs.needs().commits {
        facts.set_commits(scope, commits.clone());
    }
}

/// [`update`] with the commit scopes its requirements under `policy` ask for gathered, and
/// empty: an update that brings no new commits.
pub fn gathered(policy: &Policy, refname: &str, kind: UpdateKind) -> UpdateFacts {
    let mut facts = update(refname, kind);
    with_commits(policy, &mut facts, Vec::new());
    facts
}

/// A new commit with id `digit…`, summary `subject`, `parents` parents and `signature`.
pub fn commit(
    digit: char,
    subject: &str,
    parents: usize,
    signature: SignatureCheck,
) -> CommitFacts {
    CommitFacts {
        id: oid(digit),
        summary: subject.to_string(),
        parent_count: parents,
        signature,
    }
}

/// What a reason is expected to be: code, commit digit (None: about the ref) and pieces
/// its detail must contain.
pub type Expect<'a> = (crate::engine::Code, Option<char>, &'a [&'a str]);

/// Asserts a verdict's reasons, in order: codes, commit ids and detail fragments.
#[track_caller]
pub fn assert_reasons(case: &str, verdict: &Verdict, expected: &[Expect<'_>]) {
    let got: Vec<_> = verdict
        .reasons
        .iter()
        .map(|r| (r.code, r.commit.clone(), r.detail.clone()))
        .collect();
    assert_eq!(
        verdict.reasons.len(),
        expected.len(),
        "{case}: wrong number of reasons: {got:#?}"
    );
    for (reason, (code, digit, parts)) in verdict.reasons.iter().zip(expected) {
        assert_eq!(reason.code, *code, "{case}: code in {got:#?}");
        assert_eq!(reason.commit, digit.map(oid), "{case}: commit in {got:#?}");
        for part in *parts {
            assert!(
                reason.detail.contains(part),
                "{case}: detail {:?} lacks {part:?}",
                reason.detail
            );
        }
    }
}
