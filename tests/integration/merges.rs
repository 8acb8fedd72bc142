//! Merge commits: `merge` lists who may sign them, `linear = true` forbids them.

use crate::both_hooks;
use crate::scenario::{Client, Scenario, Sign, ZERO};

/// On `c`'s main: a signed commit on a side branch, a signed commit on main, then a
/// `--no-ff` merge signed as `merge_sign`. Returns the merge commit.
fn make_merge(c: &Client, merge_sign: Sign<'_>) -> String {
    let base = c.rev("HEAD");
    c.branch("side", &base);
    c.commit("Side work", Sign::Own);
    c.checkout("main");
    c.commit("Main work", Sign::Own);
    c.merge("side", "Merge side", merge_sign)
}

both_hooks!(
    fn merge_signed_by_non_merger_is_denied(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let merge = make_merge(&bob, Sign::Own);
        let p = bob.push(&["main:refs/heads/main"]);
        p.assert_rejected("merge-denied", &merge)
            .assert_header("refs/heads/main", &s.initial, &merge)
            .assert_refs_unchanged()
            .assert_no_reason("unsigned");
        // The ordinary commits around it are fine.
        assert_eq!(p.all_reason_lines().len(), 1, "{}", p.transcript());
    }
);

both_hooks!(
    fn merge_signed_by_merger_is_accepted(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let merge = make_merge(&bob, Sign::By("alice"));
        let p = bob.push(&["main:refs/heads/main"]);
        p.assert_accepted();
        assert_eq!(p.ref_after("refs/heads/main"), Some(merge.as_str()));
    }
);

both_hooks!(
    fn unsigned_merge_is_rejected(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let merge = make_merge(&bob, Sign::Unsigned);
        let p = bob.push(&["main:refs/heads/main"]);
        p.assert_rejected("unsigned", &merge)
            .assert_header("refs/heads/main", &s.initial, &merge)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn merge_under_linear_rule_is_nonlinear(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let merge = make_merge(&bob, Sign::Own);
        let p = bob.push(&["main:refs/heads/linear"]);
        p.assert_rejected("nonlinear", &merge)
            .assert_header("refs/heads/linear", ZERO, &merge)
            .assert_refs_unchanged();

        // Linear history on the same ref is fine.
        bob.reset_hard(&s.initial);
        let id = bob.commit("Straight line", Sign::Own);
        bob.push(&["main:refs/heads/linear"]).assert_accepted();
        assert_eq!(s.server_ref("refs/heads/linear"), Some(id));
    }
);
