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
        p.assert_reason("policy-denied")
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
