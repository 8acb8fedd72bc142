//! Attacks on refguard found by review: each test is an input refguard once accepted but
//! must reject (or a documented limitation pinned down).

use crate::both_hooks;
use crate::scenario::{Scenario, Sign, ZERO, fixture_policy};

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
