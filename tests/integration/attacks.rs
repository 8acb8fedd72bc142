//! Attacks on refguard found by review: each test is an input refguard once accepted but
//! must reject (or a documented limitation pinned down).

use crate::both_hooks;
use crate::scenario::{Client, Hook, Scenario, Sign, ZERO, fixture_policy, key};

/// The standard roles file with one extra first rule that governs a branch and tags
/// together: anyone of the file may push, only maintainers sign.
fn shared_rule_policy() -> String {
    let standard = fixture_policy("standard");
    let extra = "[[rule]]\nrefs = [\"refs/heads/shared\", \"refs/tags/shared-*\"]\n\
                 push = [\"*\"]\nsigners = [\"maintainers\"]\n\n";
    let at = standard
        .find("[[rule]]")
        .expect("standard policy has rules");
    format!("{}{extra}{}", &standard[..at], &standard[at..])
}

both_hooks!(
    fn a_signed_tag_under_the_same_rule_does_not_hide_unsigned_commits(hook) {
        // Tags get the tag check only (spec §3.5): the commits a signed tag points at were
        // never checked, so the tag's tip must not hide them from a branch of the same rule.
        let s = Scenario::builder(hook).policy(shared_rule_policy()).build();
        let carol = s.client("carol");
        let unsigned = carol.commit("Unsigned, by carol", Sign::Unsigned);
        // A tag alice signed over that commit (say, an import she tagged elsewhere).
        carol.tag_signed("shared-import", "Imported", "alice");
        carol.push(&["refs/tags/shared-import"]).assert_accepted();

        let p = carol.push(&["HEAD:refs/heads/shared"]);
        p.assert_rejected("unsigned", &unsigned)
            .assert_header("refs/heads/shared", ZERO, &unsigned)
            .assert_refs_unchanged();
    }
);

/// `refs/tags/…` sorts after `refs/meta/policy`, so git sends (and receive-pack runs the
/// update hook for) the tag after the policy ref has moved in the same push. With `update`
/// alone the tag is judged by the new policy: a documented limitation (README, "Which
/// hook?"). pre-receive, and `both`, judge the whole push by the policy before it.
fn policy_change_and_tag_in_one_push(hook: Hook) {
    let s = Scenario::new(hook);
    let alice = s.client("alice");
    alice.checkout_policy();
    let path = alice.dir().join("roles.toml");
    let text = std::fs::read_to_string(&path).expect("roles.toml");
    let edited = text.replace(
        "release-managers = [\"alice\",",
        "release-managers = [\"carol\", \"alice\",",
    );
    assert_ne!(edited, text);
    alice.commit_file("roles.toml", &edited, "Let carol tag", Sign::Own);
    alice.tag_signed("v9.0", "Signed by carol", "carol");
    let p = alice.push(&["policy:refs/meta/policy", "refs/tags/v9.0"]);
    p.assert_reason("signer-not-allowed")
        .assert_refs_unchanged();
}

#[test]
fn policy_change_and_later_ref_in_one_push_pre_receive() {
    policy_change_and_tag_in_one_push(Hook::PreReceive);
}

#[test]
fn policy_change_and_later_ref_in_one_push_both_hooks() {
    policy_change_and_tag_in_one_push(Hook::Both);
}

/// The standard roles file with alice and dave as policy admins and two approvals required.
fn two_approvals() -> String {
    let text = fixture_policy("standard");
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

/// `git -c gpg.format=ssh -c user.signingKey=<signer's key>` followed by `args`.
fn signed_git(c: &Client, signer: &str, args: &[&str]) -> String {
    let key = format!("user.signingKey={}", key(signer).private.display());
    let mut full = vec!["-c", "gpg.format=ssh", "-c", &key];
    full.extend_from_slice(args);
    c.git(&full).trim().to_string()
}

both_hooks!(
    fn an_unrelated_commit_signed_by_another_admin_is_no_approval(hook) {
        // approvals = 2. alice, alone, changes the policy and merges in a commit dave once
        // signed for something else entirely (here: a root commit of another project).
        // dave's signature is on a pushed commit, but he never approved this roles.toml.
        let s = Scenario::builder(hook).policy(two_approvals()).build();
        let alice = s.client("alice");
        let old = alice.checkout_policy();
        let path = alice.dir().join("roles.toml");
        let text = std::fs::read_to_string(&path).expect("roles.toml");
        let edited = text.replace("developers = [\"bob\",", "developers = [\"carol\", \"bob\",");
        assert_ne!(edited, text);
        let change = alice.commit_file("roles.toml", &edited, "Let carol in", Sign::Own);

        alice.git(&["checkout", "-q", "--orphan", "elsewhere"]);
        alice.git(&["rm", "-q", "-r", "-f", "."]);
        let foreign = alice.commit_file("README", "other project\n", "Initial", Sign::By("dave"));

        let tree = format!("{change}^{{tree}}");
        let merge = signed_git(
            &alice,
            "alice",
            &["commit-tree", "-S", "-p", &change, "-p", &foreign, "-m", "Merge", &tree],
        );
        let p = alice.push(&[&format!("{merge}:refs/meta/policy")]);
        p.assert_reason("approvals-missing")
            .assert_header("refs/meta/policy", &old, &merge)
            .assert_refs_unchanged();
    }
);

#[test]
fn a_signed_tag_object_cannot_be_pushed_under_another_name() {
    // The signature covers the tag header's name: replaying alice's signed `v1.0` as
    // `refs/tags/v2.0` is a signature over something else.
    let s = Scenario::new(Hook::PreReceive);
    let alice = s.client("alice");
    let tag = alice.tag_signed("v1.0", "Release 1.0", "alice");
    let p = alice.push(&[&format!("{tag}:refs/tags/v2.0")]);
    p.assert_reason("bad-signature").assert_refs_unchanged();
    let line = p.reason_lines("bad-signature")[0];
    assert!(
        line.contains(&format!("tag {}", &tag[..7]))
            && line.contains("named \"v1.0\" but is pushed as refs/tags/v2.0"),
        "{}",
        p.transcript()
    );
    // Under its own name it is fine.
    alice.push(&["refs/tags/v1.0"]).assert_accepted();
}

both_hooks!(
    fn a_tree_pushed_to_a_protected_branch_is_rejected(hook) {
        // Not a commit: nothing to check the signature of, so it must fail closed.
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let tree = bob.rev("HEAD^{tree}");
        let p = bob.push(&[&format!("{tree}:refs/heads/feature/tree")]);
        assert!(!p.success, "{}", p.transcript());
        p.assert_refs_unchanged();
    }
);
