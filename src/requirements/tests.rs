//! Tests of the requirements: which apply to an update, in which order, with which origin,
//! what they ask the shell to gather, and which other refs hide commits in a scope.

use super::*;
use crate::policy::{ListKind, Location, Policy, Principals, Rule};
use crate::testutil::{ALICE, BOB, Roles, build_policy, principals, rule, user, user_key};

const POLICY_REF: &str = "refs/meta/policy";
const ROLES: Roles = &[
    ("maintainers", &["alice"]),
    ("developers", &["bob", "maintainers"]),
];

fn list(written: &[&str]) -> Principals {
    principals(ROLES, written)
}

/// main (line 10: push, signers, merge), tags (line 20: signers), open (line 30: nothing
/// checked), replace (line 40: names refs/replace/), catch-all (line 50: `refs/**`).
fn policy() -> Policy {
    let mut main = rule(10, &["refs/heads/main", "refs/heads/release/*"]);
    main.set_list(ListKind::Push, Some(list(&["developers"])));
    main.set_list(ListKind::Signers, Some(list(&["developers"])));
    main.set_list(ListKind::Merge, Some(list(&["maintainers"])));
    let mut tags = rule(20, &["refs/tags/v*"]);
    tags.set_list(ListKind::Signers, Some(list(&["maintainers"])));
    let open = rule(30, &["refs/heads/open/*"]);
    let mut replace = rule(40, &["refs/replace/*"]);
    replace.set_list(ListKind::Push, Some(list(&["maintainers"])));
    let all = rule(50, &["refs/**"]);
    let users = vec![
        user("alice", &[], vec![user_key(ALICE, None)]),
        user("bob", &[], vec![user_key(BOB, None)]),
    ];
    build_policy(
        ROLES,
        users,
        vec![main, tags, open, replace, all],
        Vec::new(),
    )
}

/// The checks of `reqs` in order, as short words.
fn shape(reqs: &Requirements<'_>) -> Vec<String> {
    reqs.items
        .iter()
        .map(|r| match &r.check {
            Check::SignedPush => format!("signed-push@{}", r.origin),
            Check::PolicyBranch { approvals, .. } => format!("policy-branch({approvals})"),
            Check::Permission { list, .. } => format!("permission({})@{}", list.field(), r.origin),
            Check::ReplaceRef => "replace-ref".to_string(),
            Check::Commits { scope, linear, .. } => format!("commits({scope:?}, linear={linear})"),
            Check::Tag { .. } => format!("tag@{}", r.origin),
            Check::Approvals { rule } => format!("approvals({})@{}", rule.count, r.origin),
            Check::ApprovalRef => "approval-ref".to_string(),
            Check::Path { scope, .. } => format!("path({scope:?})@{}", r.origin),
        })
        .collect()
}

fn main_scope() -> CommitScope {
    CommitScope::Rule(RuleId {
        file: PolicyFile::Repo,
        index: 0,
    })
}

#[test]
fn what_each_kind_of_update_requires() {
    use UpdateKind::*;
    let p = policy();
    let main = format!("commits({:?}, linear=false)", main_scope());
    let table: Vec<(&str, UpdateKind, Vec<&str>)> = vec![
        (
            "refs/heads/main",
            FastForward,
            vec!["permission(push)@roles.toml:10", &main],
        ),
        (
            "refs/heads/main",
            Create,
            vec!["permission(create)@roles.toml:10", &main],
        ),
        (
            "refs/heads/main",
            NonFastForward,
            vec!["permission(force_push)@roles.toml:10", &main],
        ),
        // A delete has no new commits to check.
        (
            "refs/heads/main",
            Delete,
            vec!["permission(delete)@roles.toml:10"],
        ),
        (
            "refs/tags/v1.0",
            Create,
            vec!["permission(create)@roles.toml:20", "tag@roles.toml:20"],
        ),
        (
            "refs/tags/v1.0",
            Delete,
            vec!["permission(delete)@roles.toml:20"],
        ),
        // A rule that checks no commits asks for none.
        (
            "refs/heads/open/x",
            FastForward,
            vec!["permission(push)@roles.toml:30"],
        ),
        // Only the rule that names replace refs governs them, not the catch-all.
        (
            "refs/replace/1111111111111111111111111111111111111111",
            Create,
            vec!["permission(create)@roles.toml:40"],
        ),
        // [policy] alone guards the policy branch, though `refs/**` matches it.
        (POLICY_REF, FastForward, vec!["policy-branch(2)"]),
        (POLICY_REF, Delete, vec!["policy-branch(2)"]),
    ];
    for (refname, kind, want) in table {
        let reqs = for_update(&p, POLICY_REF, refname, kind);
        assert_eq!(shape(&reqs), want, "{refname} {kind:?}");
        assert_eq!(reqs.kind, kind);
        assert!(reqs.items.iter().all(|r| r.level == Level::Deny));
    }
    let reqs = for_update(&p, POLICY_REF, "refs/heads/main", UpdateKind::FastForward);
    assert_eq!(
        reqs.rule.map(|r| r.to_string()).as_deref(),
        Some("roles.toml:10")
    );
    assert_eq!(
        for_update(&p, POLICY_REF, POLICY_REF, UpdateKind::FastForward).rule,
        None
    );
}

#[test]
fn refs_no_rule_governs() {
    let mut p = policy();
    p.rules.truncate(3); // no replace rule, no catch-all
    let open = for_update(&p, POLICY_REF, "refs/heads/wip", UpdateKind::Create);
    assert!(open.is_empty() && open.rule.is_none());
    assert_eq!(open.needs(), Needs::default());
    let replace = for_update(
        &p,
        POLICY_REF,
        "refs/replace/1111111111111111111111111111111111111111",
        UpdateKind::Delete,
    );
    assert_eq!(shape(&replace), ["replace-ref"]);
    assert_eq!(replace.items[0].origin, Origin::Builtin);
}

#[test]
fn signed_pushes_come_first_from_settings_or_the_rule() {
    let mut p = policy();
    p.rules[0].signed_push = true;
    let reqs = for_update(&p, POLICY_REF, "refs/heads/main", UpdateKind::FastForward);
    assert_eq!(shape(&reqs)[0], "signed-push@roles.toml:10");
    assert!(
        for_update(&p, POLICY_REF, POLICY_REF, UpdateKind::FastForward)
            .items
            .len()
            == 1
    );

    p.require_signed_push = true;
    for refname in ["refs/heads/main", "refs/tags/v1", POLICY_REF] {
        let reqs = for_update(&p, POLICY_REF, refname, UpdateKind::FastForward);
        assert_eq!(shape(&reqs)[0], "signed-push@[settings]", "{refname}");
    }
    // Unprotected refs need none, even then.
    p.rules.truncate(3);
    assert!(for_update(&p, POLICY_REF, "refs/heads/wip", UpdateKind::Create).is_empty());
}

#[test]
fn needs_follow_the_requirements() {
    let p = policy();
    let needs = |refname: &str, kind| for_update(&p, POLICY_REF, refname, kind).needs();
    assert_eq!(
        needs("refs/heads/main", UpdateKind::FastForward),
        Needs {
            commits: vec![main_scope()],
            ..Needs::default()
        }
    );
    assert_eq!(
        needs("refs/heads/main", UpdateKind::Delete),
        Needs::default()
    );
    assert_eq!(
        needs("refs/tags/v2", UpdateKind::Create),
        Needs {
            tag: true,
            ..Needs::default()
        }
    );
    assert_eq!(
        needs("refs/heads/open/x", UpdateKind::Create),
        Needs::default()
    );
    assert_eq!(
        needs(POLICY_REF, UpdateKind::FastForward),
        Needs {
            commits: vec![CommitScope::PolicyBranch],
            policy_change: true,
            ..Needs::default()
        }
    );
    assert_eq!(needs(POLICY_REF, UpdateKind::Delete), Needs::default());
}

#[test]
fn what_hides_commits_in_a_scope() {
    let p = policy();
    let main = main_scope();
    let hides = |other: &str| main.hidden_by(&p, POLICY_REF, "refs/heads/main", other);
    assert!(hides("refs/heads/release/1.0"), "same rule");
    assert!(
        !hides("refs/heads/main"),
        "the ref itself (its old tip hides, not its name)"
    );
    assert!(!hides("refs/heads/open/x"), "another rule");
    assert!(!hides(POLICY_REF), "the policy branch");
    assert!(!hides("refs/heads/wip"), "no rule");
    assert!(main.uses_baseline());

    // Tags never hide commits from a branch, even under the same rule.
    let mut shared = policy();
    let mut r: Rule = rule(10, &["refs/heads/main", "refs/tags/shared-*"]);
    r.lists = shared.rules[0].lists.clone();
    shared.rules[0] = r;
    assert!(shared.rules[0].matches("refs/tags/shared-1"));
    assert!(!main.hidden_by(&shared, POLICY_REF, "refs/heads/main", "refs/tags/shared-1"));

    let policy_branch = CommitScope::PolicyBranch;
    assert!(!policy_branch.uses_baseline());
    assert!(!policy_branch.hidden_by(&p, POLICY_REF, POLICY_REF, "refs/heads/main"));
}

#[test]
fn origins_name_their_file_and_line() {
    let rule = RuleRef {
        id: RuleId {
            file: PolicyFile::Org,
            index: 3,
        },
        location: Location {
            file: PolicyFile::Org,
            line: 12,
            col: 1,
        },
    };
    assert_eq!(Origin::Rule(rule).to_string(), "org:roles.toml:12");
    assert_eq!(Origin::PolicySection.to_string(), "[policy]");
    assert_eq!(
        serde_json::to_string(&rule).expect("serializes"),
        "\"org:roles.toml:12\""
    );
}

/// An organisation policy (spec §10) with a rule for release branches (line 4) and a
/// repository's under it with a rule for main and release branches (line 4) and a catch-all
/// (line 7), joined.
fn joined() -> Policy {
    use crate::policy::{Layer, no_files, parse_layer};
    let org = parse_layer(
        &format!(
            "version = 1\n[users.alice]\nkeys = [\"{ALICE}\"]\n\
             [[rule]]\nrefs = [\"refs/heads/release/*\"]\npush = [\"alice\"]\nlinear = true\n"
        ),
        &no_files,
        Layer::Org,
    )
    .expect("organisation file");
    parse_layer(
        &format!(
            "version = 1\n[users.bob]\nkeys = [\"{BOB}\"]\n\
             [[rule]]\nrefs = [\"refs/heads/main\", \"refs/heads/release/*\"]\nsigners = [\"bob\"]\n\
             [[rule]]\nrefs = [\"refs/**\"]\n"
        ),
        &no_files,
        Layer::UnderOrg(&org),
    )
    .expect("repository file under it")
}

#[test]
fn under_an_organisation_both_files_governing_rules_add_their_requirements() {
    let p = joined();
    let reqs = for_update(
        &p,
        POLICY_REF,
        "refs/heads/release/1",
        UpdateKind::FastForward,
    );
    let origins: Vec<String> = reqs.items.iter().map(|r| r.origin.to_string()).collect();
    assert_eq!(
        origins,
        [
            "roles.toml:4",
            "roles.toml:4",
            "org:roles.toml:4",
            "org:roles.toml:4"
        ]
    );
    assert_eq!(
        reqs.rule.map(|r| r.to_string()).as_deref(),
        Some("roles.toml:4")
    );
    // Each rule's commits are its own scope; both are gathered.
    assert_eq!(reqs.needs().commits.len(), 2);
    // The organisation has no rule for main: only the repository's requirements apply.
    let main = for_update(&p, POLICY_REF, "refs/heads/main", UpdateKind::FastForward);
    assert!(
        main.items
            .iter()
            .all(|r| !r.origin.to_string().starts_with("org:"))
    );
}

#[test]
fn another_ref_hides_commits_for_a_rule_that_governs_it_in_either_file() {
    let p = joined();
    let org_rule = p
        .rules
        .iter()
        .find(|r| r.location.file == crate::policy::PolicyFile::Org)
        .map(|r| RuleRef::of(r).id)
        .expect("the organisation's rule");
    let scope = CommitScope::Rule(org_rule);
    // release/2 is governed by both files' rules: it hides commits for the organisation's.
    assert!(scope.hidden_by(
        &p,
        POLICY_REF,
        "refs/heads/release/1",
        "refs/heads/release/2"
    ));
    // main is not governed by the organisation's rule.
    assert!(!scope.hidden_by(&p, POLICY_REF, "refs/heads/release/1", "refs/heads/main"));
}

#[test]
fn under_an_organisation_its_path_entries_apply_too() {
    use crate::policy::{Layer, PolicyFile, no_files, parse_layer};
    let org = parse_layer(
        &format!(
            "version = 1\n[users.alice]\nkeys = [\"{ALICE}\"]\n\
             [[path]]\npaths = [\"deploy/**\"]\nsigners = [\"alice\"]\n"
        ),
        &no_files,
        Layer::Org,
    )
    .expect("organisation file");
    let p = parse_layer(
        &format!(
            "version = 1\n[users.bob]\nkeys = [\"{BOB}\"]\n\
             [[path]]\npaths = [\"secrets/**\"]\nsigners = [\"bob\"]\n"
        ),
        &no_files,
        Layer::UnderOrg(&org),
    )
    .expect("repository file under it");
    let reqs = for_update(&p, POLICY_REF, "refs/heads/main", UpdateKind::FastForward);
    let entries: Vec<(PolicyFile, String)> = reqs
        .items
        .iter()
        .filter_map(|r| match (&r.check, r.origin) {
            (Check::Path { entry, .. }, Origin::Path(id, _)) => {
                Some((id.file, entry.paths[0].clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        entries,
        [
            (PolicyFile::Repo, "secrets/**".to_string()),
            (PolicyFile::Org, "deploy/**".to_string())
        ]
    );
    // One tree comparison serves both files' entries.
    assert_eq!(path_prefixes(&p), ["deploy/", "secrets/"]);
}
