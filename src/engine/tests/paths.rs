//! Tests of `[[path]]` entries (spec §9) from hand-built facts: which updates they apply to,
//! the signer check on touching commits, approvals, several entries at once, the commit
//! scope, and failing closed when the shell did not say what was touched.

use super::fixture::*;
use crate::engine::{Code, Touch, UpdateFacts, evaluate, judge_commit};
use crate::policy::{ApprovalRule, ListKind, Location, PathEntry, Policy};
use crate::requirements::{self, Check, CommitScope, PathId};
use crate::testutil::path_entry;
use crate::update::UpdateKind;

use Code::*;
use UpdateKind::{Create, Delete, FastForward};

/// A `[[path]]` entry written at `line`.
fn entry(
    line: usize,
    paths: &[&str],
    refs: &[&str],
    signers: Option<&[&str]>,
    approvals: Option<&[&str]>,
) -> PathEntry {
    PathEntry {
        signers: signers.map(list),
        approvals: approvals.map(|by| ApprovalRule {
            by: list(by),
            count: 1,
            on: vec![ListKind::Create, ListKind::Push],
            allow_self: false,
            location: Location::new(line + 3, 13),
        }),
        ..path_entry(line, paths, refs)
    }
}

/// The base policy with `entries` (numbered in order).
fn with_entries(entries: Vec<PathEntry>) -> Policy {
    let mut policy = policy();
    policy.paths = entries
        .into_iter()
        .enumerate()
        .map(|(index, e)| PathEntry { index, ..e })
        .collect();
    policy
}

/// secrets/** on every branch, signed by maintainers (alice).
fn secrets() -> PathEntry {
    entry(
        200,
        &["secrets/**"],
        &["refs/heads/**"],
        Some(&["maintainers"]),
        None,
    )
}

/// An update of `refname` bringing `commits` (digit, signer key), of which those in
/// `touching` touch `path` for every entry of `policy`.
fn push(
    policy: &Policy,
    refname: &str,
    kind: UpdateKind,
    commits: &[(char, &str)],
    touching: &[(char, &str)],
) -> UpdateFacts {
    let mut facts = update(refname, kind);
    let commits = commits
        .iter()
        .map(|(d, key)| commit(*d, "change", 1, valid(key)))
        .collect();
    with_commits(policy, &mut facts, commits);
    for e in &policy.paths {
        let touches = touching
            .iter()
            .filter(|(_, path)| e.pattern_for(path).is_some())
            .map(|(d, path)| Touch {
                commit: oid(*d),
                paths: vec![path.to_string()],
            })
            .collect();
        facts.touched.push((PathId::of(e), touches));
    }
    facts.approvals = Some(Vec::new());
    facts
}

#[test]
fn a_touching_commit_needs_a_signer_of_the_entry_whatever_the_rule_allows() {
    let policy = with_entries(vec![secrets()]);
    // bob is a developer: main's rule lets him sign, the entry does not.
    let facts = push(
        &policy,
        "refs/heads/main",
        FastForward,
        &[('c', BOB), ('d', BOB)],
        &[('c', "secrets/db.key")],
    );
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert_reasons(
        "bob touches a secret",
        &v,
        &[(
            PathDenied,
            Some('c'),
            &[
                "touches secrets/db.key (secrets/**), which needs a signature by maintainers \
                 (path roles.toml:200)",
                "signed by bob",
            ],
        )],
    );
    // alice (a maintainer and a developer) may.
    let facts = push(
        &policy,
        "refs/heads/main",
        FastForward,
        &[('c', ALICE)],
        &[('c', "secrets/db.key")],
    );
    assert!(evaluate(&policy, &ctx(Some("alice")), &facts).accepted());
}

#[test]
fn the_entry_adds_to_the_rule_and_never_relaxes_it() {
    let policy = with_entries(vec![secrets()]);
    // dave is a maintainer of nothing the main rule lets sign: the rule still rejects him,
    // and the entry (which wants maintainers) adds its own reason.
    let facts = push(
        &policy,
        "refs/heads/main",
        FastForward,
        &[('c', DAVE)],
        &[('c', "secrets/x")],
    );
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    let codes: Vec<Code> = v.reasons.iter().map(|r| r.code).collect();
    assert_eq!(codes, [SignerNotAllowed, PathDenied], "{:#?}", v.reasons);
}

#[test]
fn commits_that_touch_nothing_protected_pass() {
    let policy = with_entries(vec![secrets()]);
    let facts = push(&policy, "refs/heads/main", FastForward, &[('c', BOB)], &[]);
    assert!(evaluate(&policy, &ctx(Some("alice")), &facts).accepted());
}

#[test]
fn unsigned_and_unknown_signatures_on_touching_commits_are_denied() {
    let policy = with_entries(vec![secrets()]);
    // team/** asks nothing of signers: only the entry speaks.
    for (signature, says) in [
        (crate::engine::SignatureCheck::Unsigned, "not signed"),
        (valid(STRANGER), "unknown key"),
    ] {
        let mut facts = update("refs/heads/team/x", FastForward);
        with_commits(
            &policy,
            &mut facts,
            vec![commit('c', "change", 1, signature)],
        );
        facts.touched.push((
            PathId::of(&policy.paths[0]),
            vec![Touch {
                commit: oid('c'),
                paths: vec!["secrets/a".into()],
            }],
        ));
        let v = evaluate(&policy, &ctx(Some("bob")), &facts);
        assert_reasons(says, &v, &[(PathDenied, Some('c'), &[says])]);
    }
}

#[test]
fn every_matching_entry_applies_in_file_order() {
    let deploy = entry(
        210,
        &["deploy/*.yml"],
        &["refs/heads/**"],
        Some(&["release-managers"]),
        None,
    );
    let policy = with_entries(vec![secrets(), deploy]);
    let facts = push(
        &policy,
        "refs/heads/team/x",
        FastForward,
        &[('c', BOB)],
        &[('c', "secrets/a"), ('c', "deploy/prod.yml")],
    );
    let v = evaluate(&policy, &ctx(Some("bob")), &facts);
    assert_reasons(
        "both entries",
        &v,
        &[
            (
                PathDenied,
                Some('c'),
                &["secrets/a (secrets/**)", "roles.toml:200"],
            ),
            (
                PathDenied,
                Some('c'),
                &[
                    "deploy/prod.yml (deploy/*.yml)",
                    "release-managers",
                    "roles.toml:210",
                ],
            ),
        ],
    );
}

#[test]
fn approvals_are_needed_only_when_a_new_commit_touches_the_paths() {
    let deploy = entry(
        210,
        &["deploy/**"],
        &["refs/heads/**"],
        None,
        Some(&["policy-admins"]),
    );
    let policy = with_entries(vec![deploy]);
    let facts = push(
        &policy,
        "refs/heads/team/x",
        FastForward,
        &[('c', BOB), ('d', BOB)],
        &[('d', "deploy/prod.yml")],
    );
    let v = evaluate(&policy, &ctx(Some("bob")), &facts);
    assert_reasons(
        "deploy change",
        &v,
        &[(
            ApprovalsMissing,
            None,
            &[
                "0 of 1 approval by policy-admins",
                &format!(
                    "needed because commit {} touches deploy/prod.yml (path roles.toml:210)",
                    oid('d').short()
                ),
            ],
        )],
    );
    let facts = push(
        &policy,
        "refs/heads/team/x",
        FastForward,
        &[('c', BOB)],
        &[],
    );
    assert!(evaluate(&policy, &ctx(Some("bob")), &facts).accepted());
}

#[test]
fn entries_apply_to_the_refs_they_name_and_never_to_tags_deletes_or_the_policy_branch() {
    let only_main = entry(
        200,
        &["secrets/**"],
        &["refs/heads/main", "refs/**"],
        Some(&["maintainers"]),
        None,
    );
    let policy = with_entries(vec![only_main]);
    let has_path = |refname: &str, kind: UpdateKind| {
        requirements::for_update(&policy, POLICY_REF, refname, kind)
            .items
            .iter()
            .any(|r| matches!(r.check, Check::Path { .. }))
    };
    assert!(has_path("refs/heads/main", FastForward));
    assert!(has_path("refs/heads/anything", Create));
    assert!(!has_path("refs/heads/main", Delete));
    assert!(!has_path("refs/tags/v1", Create));
    assert!(!has_path(POLICY_REF, FastForward));
    assert!(!has_path(
        &format!("refs/approvals/{}/{}", oid('b'), oid('c')),
        Create
    ));

    let narrow = with_entries(vec![entry(
        200,
        &["secrets/**"],
        &["refs/heads/main"],
        Some(&["maintainers"]),
        None,
    )]);
    assert!(
        !requirements::for_update(&narrow, POLICY_REF, "refs/heads/team/x", FastForward)
            .items
            .iter()
            .any(|r| matches!(r.check, Check::Path { .. }))
    );
}

#[test]
fn the_commit_scope_of_an_entry_is_hidden_by_the_other_refs_it_covers() {
    let policy = with_entries(vec![entry(
        200,
        &["secrets/**"],
        &["refs/heads/main", "refs/heads/release/*"],
        Some(&["maintainers"]),
        None,
    )]);
    let scope = CommitScope::Path(PathId::of(&policy.paths[0]));
    let hides = |other: &str| scope.hidden_by(&policy, POLICY_REF, "refs/heads/main", other);
    assert!(hides("refs/heads/release/1.0"));
    assert!(
        !hides("refs/heads/main"),
        "the ref itself is `old`, not another tip"
    );
    assert!(
        !hides("refs/heads/wip/parked"),
        "an uncovered branch launders nothing"
    );
    assert!(!hides("refs/tags/v1.0"));
    assert!(!hides(POLICY_REF));
    assert!(scope.uses_baseline());
}

#[test]
fn untold_touches_fail_closed() {
    let policy = with_entries(vec![secrets()]);
    let mut facts = update("refs/heads/main", FastForward);
    with_commits(
        &policy,
        &mut facts,
        vec![commit('c', "change", 1, valid(BOB))],
    );
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert_reasons(
        "no touches gathered",
        &v,
        &[(
            InternalError,
            None,
            &["were not examined", "roles.toml:200"],
        )],
    );
}

#[test]
fn history_applies_the_signers_of_every_entry_covering_the_ref() {
    let deploy = entry(
        210,
        &["deploy/**"],
        &["refs/heads/main"],
        Some(&["maintainers"]),
        None,
    );
    let policy = with_entries(vec![secrets(), deploy]);
    let ctx = ctx(None);
    let touched: Vec<String> = ["deploy/prod.yml", "docs/a.md", "secrets/db.key"]
        .map(String::from)
        .to_vec();
    let judge = |refname: &str, key: &str, touched: &[String]| -> Vec<(Code, String)> {
        let c = commit('c', "rotate", 1, valid(key));
        judge_commit(&policy, &ctx, refname, &c, touched)
            .reasons
            .into_iter()
            .map(|r| (r.code, r.detail))
            .collect()
    };
    // On main both entries apply, each naming its own path and line.
    let main = judge("refs/heads/main", BOB, &touched);
    assert_eq!(main.len(), 2, "{main:?}");
    assert!(main.iter().all(|(code, _)| *code == PathDenied));
    assert!(
        main[0].1.contains("secrets/db.key (secrets/**)"),
        "{main:?}"
    );
    assert!(main[0].1.contains("roles.toml:200"), "{main:?}");
    assert!(
        main[1].1.contains("deploy/prod.yml (deploy/**)"),
        "{main:?}"
    );
    assert!(main[1].1.contains("roles.toml:210"), "{main:?}");
    // Elsewhere only the entry covering every branch.
    let feature = judge("refs/heads/feature/x", BOB, &touched);
    assert_eq!(feature.len(), 1, "{feature:?}");
    assert!(feature[0].1.contains("secrets/db.key"));
    // Untouched paths, or a signer the entries accept: nothing.
    let docs = ["docs/a.md".to_string()];
    assert!(judge("refs/heads/main", BOB, &docs).is_empty());
    assert!(judge("refs/heads/main", ALICE, &touched).is_empty());
    // Tags are judged by their tag rule only.
    assert!(judge("refs/tags/v1", BOB, &touched).is_empty());
}
