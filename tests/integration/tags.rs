//! Tags under `refs/tags/v*` (signers = release-managers, force_push = alice): the tag object
//! itself must be annotated and signed; moving a tag is a non-fast-forward update.

use crate::both_hooks;
use crate::scenario::{Hook, Pusher, Scenario, Sign, ZERO};

both_hooks!(
    fn signed_tag_by_release_manager_is_accepted(hook) {
        let s = Scenario::new(hook);
        let alice = s.client("alice");
        // The tagged commit itself is unsigned: commit checks do not apply to tags.
        alice.commit("Unsigned, but tagged", Sign::Unsigned);
        let tag = alice.tag_signed("v1.0", "Release 1.0", "alice");
        let p = alice.push(&["refs/tags/v1.0"]);
        p.assert_accepted();
        assert_eq!(p.ref_after("refs/tags/v1.0"), Some(tag.as_str()));
    }
);

both_hooks!(
    fn lightweight_tag_is_unsigned_tag(hook) {
        let s = Scenario::new(hook);
        let alice = s.client("alice");
        let commit = alice.commit("To be tagged", Sign::Own);
        alice.tag_lightweight("v1.1");
        let p = alice.push(&["refs/tags/v1.1"]);
        p.assert_reason("unsigned-tag")
            .assert_header("refs/tags/v1.1", ZERO, &commit)
            .assert_declined("refs/tags/v1.1")
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn annotated_unsigned_tag_is_unsigned_tag(hook) {
        let s = Scenario::new(hook);
        let alice = s.client("alice");
        let tag = alice.tag_annotated("v1.2", "Release 1.2, unsigned");
        let p = alice.push(&["refs/tags/v1.2"]);
        p.assert_reason("unsigned-tag")
            .assert_header("refs/tags/v1.2", ZERO, &tag)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn tag_signed_by_non_release_manager_is_rejected(hook) {
        let s = Scenario::new(hook);
        let alice = s.client("alice");
        let tag = alice.tag_signed("v1.3", "Signed by bob", "bob");
        let p = alice.push(&["refs/tags/v1.3"]);
        p.assert_reason("signer-not-allowed")
            .assert_header("refs/tags/v1.3", ZERO, &tag)
            .assert_refs_unchanged();

        let tag = alice.tag_signed("v1.4", "Signed by a stranger", "mallory");
        let p = alice.push(&["refs/tags/v1.4"]);
        p.assert_reason("unknown-key")
            .assert_header("refs/tags/v1.4", ZERO, &tag)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn tag_signed_with_expired_or_revoked_key_is_rejected(hook) {
        let s = Scenario::new(hook);
        let alice = s.client("alice");
        let tag = alice.tag_signed("v2.0", "Signed with an expired key", "trent");
        let p = alice.push(&["refs/tags/v2.0"]);
        p.assert_reason("expired-key")
            .assert_header("refs/tags/v2.0", ZERO, &tag)
            .assert_refs_unchanged();

        let tag = alice.tag_signed("v2.1", "Signed with a revoked key", "vic");
        let p = alice.push(&["refs/tags/v2.1"]);
        p.assert_reason("revoked-key")
            .assert_header("refs/tags/v2.1", ZERO, &tag)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn tag_create_by_non_release_manager_is_denied(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let tag = bob.tag_signed("v3.0", "Signed by alice, pushed by bob", "alice");
        let p = bob.push(&["refs/tags/v3.0"]);
        p.assert_reason("create-denied")
            .assert_header("refs/tags/v3.0", ZERO, &tag)
            .assert_refs_unchanged();
    }
);

#[test]
fn pusher_alias_maps_through_names() {
    let s = Scenario::new(Hook::PreReceive);
    let dave = s.client("dave");
    let tag = dave.tag_signed("v4.0", "Release 4.0", "dave");
    dave.push_as(Pusher::Name("dave@example.com"), &["refs/tags/v4.0"])
        .assert_accepted();
    assert_eq!(s.server_ref("refs/tags/v4.0"), Some(tag));

    let tag = dave.tag_signed("v4.1", "Release 4.1", "dave");
    let p = dave.push_as(Pusher::Name("dave@evil.example"), &["refs/tags/v4.1"]);
    p.assert_reason("create-denied")
        .assert_header("refs/tags/v4.1", ZERO, &tag)
        .assert_refs_unchanged();
}

both_hooks!(
    fn moving_a_tag_needs_force_push(hook) {
        let s = Scenario::new(hook);
        // dave may create tags but is not in force_push.
        let dave = s.client("dave");
        dave.commit("Later work", Sign::Own);
        let moved = dave.tag_signed("v0.9", "Release 0.9, moved", "dave");
        let p = dave.push(&["+refs/tags/v0.9:refs/tags/v0.9"]);
        p.assert_reason("force-push-denied")
            .assert_header("refs/tags/v0.9", &s.initial_tag, &moved)
            .assert_refs_unchanged();

        let alice = s.client("alice");
        alice.commit("Later work", Sign::Own);
        let moved = alice.tag_signed("v0.9", "Release 0.9, moved by alice", "alice");
        let p = alice.push(&["+refs/tags/v0.9:refs/tags/v0.9"]);
        p.assert_accepted();
        assert_eq!(p.ref_after("refs/tags/v0.9"), Some(moved.as_str()));
    }
);

#[test]
fn tags_no_rule_matches_are_unprotected() {
    let s = Scenario::new(Hook::PreReceive);
    let carol = s.client("carol");
    carol.tag_lightweight("nightly");
    carol.push(&["refs/tags/nightly"]).assert_accepted();
    assert_eq!(s.server_ref("refs/tags/nightly"), Some(s.initial.clone()));
}
