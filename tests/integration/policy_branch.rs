//! The policy branch `refs/meta/policy`: missing (no-policy), and pushes to it, which are
//! guarded by `[policy]` (admins = alice) and judged by the policy before the push.

use std::fs;

use crate::both_hooks;
use crate::scenario::{Hook, Scenario, Sign, ZERO};

const POLICY: &str = "refs/meta/policy";

both_hooks!(
    fn every_push_is_rejected_before_init(hook) {
        let s = Scenario::builder(hook).no_policy().build();
        assert_eq!(s.server_ref(POLICY), None);
        let bob = s.client("bob");
        let id = bob.commit("Signed, but there is no policy", Sign::Own);
        let p = bob.push(&["HEAD:refs/heads/main"]);
        p.assert_reason("no-policy")
            .assert_header("refs/heads/main", &s.initial, &id)
            .assert_declined("refs/heads/main")
            .assert_refs_unchanged();
        // Even a ref no rule could ever protect.
        let p = bob.push(&["HEAD:refs/heads/wip/bob"]);
        p.assert_reason("no-policy")
            .assert_header("refs/heads/wip/bob", ZERO, &id)
            .assert_refs_unchanged();
    }
);

/// `roles.toml` on alice's checkout of the policy branch, edited by `edit`.
fn edited_policy(c: &crate::scenario::Client, edit: impl Fn(&str) -> String) -> String {
    let path = c.dir().join("roles.toml");
    let text = fs::read_to_string(&path).expect("roles.toml on the policy branch");
    edit(&text)
}

fn add_carol_to_developers(text: &str) -> String {
    let edited = text.replace(
        "developers = [\"bob\",",
        "developers = [\"carol\", \"bob\",",
    );
    assert_ne!(edited, text, "the standard roles file changed shape");
    edited
}

both_hooks!(
    fn non_admin_cannot_change_the_policy(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let old = bob.checkout_policy();
        let text = edited_policy(&bob, add_carol_to_developers);
        let id = bob.commit_file("roles.toml", &text, "Let carol in", Sign::Own);
        let p = bob.push(&["HEAD:refs/meta/policy"]);
        p.assert_reason("policy-denied")
            .assert_header(POLICY, &old, &id)
            .assert_declined(POLICY)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn admin_cannot_push_an_unsigned_policy_change(hook) {
        let s = Scenario::new(hook);
        let alice = s.client("alice");
        let old = alice.checkout_policy();
        let text = edited_policy(&alice, add_carol_to_developers);
        let id = alice.commit_file("roles.toml", &text, "Let carol in", Sign::Unsigned);
        let p = alice.push(&["HEAD:refs/meta/policy"]);
        // An admin's unsigned commit gets the precise commit code, plus the missing approval.
        p.assert_rejected("unsigned", &id)
            .assert_reason("approvals-missing")
            .assert_header(POLICY, &old, &id)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn policy_branch_cannot_be_deleted_or_rewritten(hook) {
        let s = Scenario::new(hook);
        let alice = s.client("alice");
        let old = alice.checkout_policy();
        let p = alice.push(&[":refs/meta/policy"]);
        p.assert_reason("policy-denied")
            .assert_header(POLICY, &old, ZERO)
            .assert_refs_unchanged();

        // A signed commit that does not descend from the current policy.
        alice.git(&["checkout", "-q", "--orphan", "rewrite"]);
        let text = edited_policy(&alice, add_carol_to_developers);
        let id = alice.commit_file("roles.toml", &text, "Rewritten policy", Sign::Own);
        let p = alice.push(&["+HEAD:refs/meta/policy"]);
        p.assert_reason("policy-denied")
            .assert_header(POLICY, &old, &id)
            .assert_refs_unchanged();
    }
);

#[test]
fn admin_signed_policy_change_governs_later_pushes() {
    let s = Scenario::new(Hook::PreReceive);
    let carol = s.client("carol");
    let work = carol.commit("Carol's work", Sign::Own);
    carol
        .push(&["HEAD:refs/heads/main"])
        .assert_reason("push-denied")
        .assert_refs_unchanged();

    let alice = s.client("alice");
    alice.checkout_policy();
    let text = edited_policy(&alice, add_carol_to_developers);
    let id = alice.commit_file("roles.toml", &text, "Let carol in", Sign::Own);
    alice.push(&["HEAD:refs/meta/policy"]).assert_accepted();
    assert_eq!(s.server_ref(POLICY), Some(id));

    let p = carol.push(&["HEAD:refs/heads/main"]);
    p.assert_accepted();
    assert_eq!(p.ref_after("refs/heads/main"), Some(work.as_str()));
}

#[test]
fn invalid_policy_is_rejected_even_from_an_admin() {
    let s = Scenario::new(Hook::PreReceive);
    let alice = s.client("alice");
    let old = alice.checkout_policy();
    let text = edited_policy(&alice, |t| {
        t.replace("maintainers = [\"alice\"]", "maintainers = [\"alicia\"]")
    });
    let id = alice.commit_file("roles.toml", &text, "Typo in a name", Sign::Own);
    let p = alice.push(&["HEAD:refs/meta/policy"]);
    p.assert_reason("policy-invalid")
        .assert_header(POLICY, &old, &id)
        .assert_refs_unchanged();
}

both_hooks!(
    fn admin_cannot_push_a_policy_change_signed_by_a_non_admin(hook) {
        let s = Scenario::new(hook);
        let alice = s.client("alice");
        let old = alice.checkout_policy();
        let text = edited_policy(&alice, add_carol_to_developers);
        let id = alice.commit_file("roles.toml", &text, "Let carol in", Sign::By("bob"));
        let p = alice.push(&["HEAD:refs/meta/policy"]);
        p.assert_reason("policy-denied")
            .assert_header(POLICY, &old, &id)
            .assert_refs_unchanged();
    }
);

/// Points the server's policy branch at a commit whose tree holds `files`, bypassing the
/// hook (as a careless admin with shell access could).
fn force_server_policy(s: &Scenario, files: &[(&str, &str)]) {
    let mut tree = String::new();
    for (name, text) in files {
        let mut cmd = crate::scenario::isolated("git", s.home());
        cmd.current_dir(s.server())
            .args(["hash-object", "-w", "--stdin"]);
        let blob = crate::scenario::run_ok(cmd, Some(text.as_bytes()));
        tree.push_str(&format!("100644 blob {}\t{name}\n", blob.trim()));
    }
    let mut cmd = crate::scenario::isolated("git", s.home());
    cmd.current_dir(s.server()).arg("mktree");
    let tree = crate::scenario::run_ok(cmd, Some(tree.as_bytes()));
    let commit = s.server_git(&[
        "commit-tree",
        tree.trim(),
        "-p",
        POLICY,
        "-m",
        "Broken policy",
    ]);
    s.server_git(&["update-ref", POLICY, commit.trim()]);
}

both_hooks!(
    fn corrupt_policy_on_the_server_fails_closed(hook) {
        let s = Scenario::new(hook);
        force_server_policy(&s, &[("roles.toml", "version = 1\n[users.alice\n")]);
        let carol = s.client("carol");
        let id = carol.commit("Unprotected work", Sign::Unsigned);
        let p = carol.push(&["HEAD:refs/heads/wip/carol"]);
        assert!(
            !p.reason_lines("policy-invalid").is_empty()
                || !p.reason_lines("internal-error").is_empty(),
            "expected [policy-invalid] or [internal-error]\n{}",
            p.transcript()
        );
        p.assert_header("refs/heads/wip/carol", ZERO, &id)
            .assert_declined("refs/heads/wip/carol")
            .assert_refs_unchanged();
    }
);

#[test]
fn policy_branch_without_roles_toml_fails_closed() {
    let s = Scenario::new(Hook::PreReceive);
    force_server_policy(&s, &[("README", "no roles here\n")]);
    let carol = s.client("carol");
    let id = carol.commit("Unprotected work", Sign::Unsigned);
    let p = carol.push(&["HEAD:refs/heads/wip/carol"]);
    assert!(!p.success, "{}", p.transcript());
    assert!(
        p.all_reason_lines().iter().any(|l| {
            ["[no-policy]", "[policy-invalid]", "[internal-error]"]
                .iter()
                .any(|c| l.contains(c))
        }),
        "expected [no-policy], [policy-invalid] or [internal-error]\n{}",
        p.transcript()
    );
    p.assert_header("refs/heads/wip/carol", ZERO, &id)
        .assert_refs_unchanged();
}

#[test]
fn policy_ref_can_be_renamed_with_git_config() {
    let s = Scenario::new(Hook::PreReceive);
    s.server_git(&["config", "refguard.policyRef", "refs/meta/other"]);
    let carol = s.client("carol");
    let id = carol.commit("Unprotected work", Sign::Unsigned);
    // refs/meta/policy still exists, but the configured ref does not.
    carol
        .push(&["HEAD:refs/heads/wip/carol"])
        .assert_reason("no-policy")
        .assert_header("refs/heads/wip/carol", ZERO, &id)
        .assert_refs_unchanged();

    let policy = s.server_git(&["rev-parse", POLICY]);
    s.server_git(&["update-ref", "refs/meta/other", policy.trim()]);
    carol.push(&["HEAD:refs/heads/wip/carol"]).assert_accepted();
}

both_hooks!(
    fn a_push_is_judged_by_the_policy_before_it(hook) {
        // One push carries a policy change that lets carol sign for main, and a commit on
        // main signed by carol. The main update is judged by the old policy (spec §1), even
        // when the policy ref comes first in the push.
        let s = Scenario::new(hook);
        let alice = s.client("alice");
        let old_policy = alice.checkout_policy();
        let text = edited_policy(&alice, add_carol_to_developers);
        let policy = alice.commit_file("roles.toml", &text, "Let carol in", Sign::Own);
        alice.branch("work", &s.initial);
        let work = alice.commit("Signed by carol", Sign::By("carol"));
        let p = alice.push(&["policy:refs/meta/policy", "work:refs/heads/main"]);
        p.assert_rejected("signer-not-allowed", &work)
            .assert_header("refs/heads/main", &s.initial, &work)
            .assert_no_header(POLICY);
        assert_eq!(p.ref_after("refs/heads/main"), Some(s.initial.as_str()));
        match hook {
            Hook::PreReceive | Hook::Both => {
                p.assert_refs_unchanged();
                assert_eq!(p.ref_after(POLICY), Some(old_policy.as_str()));
            }
            Hook::Update => {
                assert_eq!(p.ref_after(POLICY), Some(policy.as_str()));
            }
        }
    }
);

/// The standard roles file with alice and dave as admins and two approvals required.
fn two_approvals() -> String {
    let text = crate::scenario::fixture_policy("standard");
    let edited = text
        .replace(
            "policy-admins = [\"alice\"]",
            "policy-admins = [\"alice\", \"dave\"]",
        )
        .replace(
            "admins = [\"policy-admins\"]",
            "admins = [\"policy-admins\"]\napprovals = 2",
        );
    assert_eq!(edited.matches("approvals = 2").count(), 1, "{edited}");
    edited
}

both_hooks!(
    fn policy_change_needs_the_configured_approvals(hook) {
        let s = Scenario::builder(hook).policy(two_approvals()).build();
        let alice = s.client("alice");
        let old = alice.checkout_policy();
        let text = edited_policy(&alice, add_carol_to_developers);
        let change = alice.commit_file("roles.toml", &text, "Let carol in", Sign::Own);
        let p = alice.push(&["HEAD:refs/meta/policy"]);
        p.assert_reason("approvals-missing")
            .assert_header(POLICY, &old, &change)
            .assert_refs_unchanged();

        // A second admin approves with a signed commit on top.
        alice.git(&["-c", "gpg.format=ssh", "-c", &format!(
            "user.signingKey={}",
            crate::scenario::key("dave").private.display()
        ), "commit", "-q", "--allow-empty", "-S", "-m", "Approve"]);
        let approved = alice.rev("HEAD");
        alice.push(&["HEAD:refs/meta/policy"]).assert_accepted();
        assert_eq!(s.server_ref(POLICY), Some(approved));
    }
);
