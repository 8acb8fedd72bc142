//! Branch pushes under the standard roles file (fixtures/scenarios/standard.toml): who may
//! push, create, delete and force-push, and which signatures new commits need.

use crate::both_hooks;
use crate::scenario::{Hook, Pusher, Scenario, Sign, ZERO, short};

const MAIN: &str = "refs/heads/main";

both_hooks!(
    fn signed_fast_forward_is_accepted(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let id = bob.commit("Add feature", Sign::Own);
        let p = bob.push(&["HEAD:refs/heads/main"]);
        p.assert_accepted().assert_ref_ok(MAIN);
        // Under pre-receive this also proves refguard reads the quarantined objects.
        assert_eq!(p.ref_after(MAIN), Some(id.as_str()));
    }
);

#[test]
fn ecdsa_rsa_and_not_yet_expired_keys_are_accepted() {
    let s = Scenario::new(Hook::PreReceive);
    for user in ["erin", "frank", "gina"] {
        let c = s.client(user);
        let id = c.commit(&format!("Signed by {user}"), Sign::Own);
        let p = c.push(&["HEAD:refs/heads/main"]);
        p.assert_accepted();
        assert_eq!(p.ref_after(MAIN), Some(id.as_str()), "{user}");
    }
}

both_hooks!(
    fn unsigned_commit_is_rejected(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let id = bob.commit("Fix typo", Sign::Unsigned);
        let p = bob.push(&["HEAD:refs/heads/main"]);
        p.assert_rejected("unsigned", &id)
            .assert_header(MAIN, &s.initial, &id)
            .assert_declined(MAIN)
            .assert_refs_unchanged();
        // The reason line quotes the subject, as in the spec's example.
        let line = p.reason_lines("unsigned")[0];
        assert!(
            line.starts_with(&format!("refguard:   [unsigned] commit {} \"Fix typo\"", short(&id))),
            "{}",
            p.transcript()
        );
        // ...followed by the hint that tells how to sign.
        assert!(
            p.remote
                .iter()
                .any(|l| l.starts_with("refguard:   hint: git config gpg.format ssh")),
            "{}",
            p.transcript()
        );
    }
);

both_hooks!(
    fn only_the_bad_commit_of_several_is_reported(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let good1 = bob.commit("Good one", Sign::Own);
        let bad = bob.commit("Bad one", Sign::Unsigned);
        let good2 = bob.commit("Good two", Sign::Own);
        let p = bob.push(&["HEAD:refs/heads/main"]);
        p.assert_rejected("unsigned", &bad)
            .assert_header(MAIN, &s.initial, &good2)
            .assert_refs_unchanged();
        assert_eq!(p.all_reason_lines().len(), 1, "{}", p.transcript());
        assert!(!p.all_reason_lines()[0].contains(short(&good1)));
    }
);

both_hooks!(
    fn commit_signed_by_unknown_key_is_rejected(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let id = bob.commit("Signed by a stranger", Sign::By("mallory"));
        let p = bob.push(&["HEAD:refs/heads/main"]);
        p.assert_rejected("unknown-key", &id)
            .assert_header(MAIN, &s.initial, &id)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn commit_signed_by_user_outside_signers_is_rejected(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let id = bob.commit("Signed by carol", Sign::By("carol"));
        let p = bob.push(&["HEAD:refs/heads/main"]);
        p.assert_rejected("signer-not-allowed", &id)
            .assert_header(MAIN, &s.initial, &id)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn commit_signed_with_expired_key_is_rejected(hook) {
        let s = Scenario::new(hook);
        let trent = s.client("trent");
        let id = trent.commit("Signed with an old key", Sign::Own);
        let p = trent.push(&["HEAD:refs/heads/main"]);
        p.assert_rejected("expired-key", &id)
            .assert_header(MAIN, &s.initial, &id)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn commit_signed_with_revoked_key_is_rejected(hook) {
        let s = Scenario::new(hook);
        let vic = s.client("vic");
        let id = vic.commit("Signed with a stolen key", Sign::Own);
        let p = vic.push(&["HEAD:refs/heads/main"]);
        p.assert_rejected("revoked-key", &id)
            .assert_header(MAIN, &s.initial, &id)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn pusher_outside_push_list_is_denied(hook) {
        let s = Scenario::new(hook);
        let carol = s.client("carol");
        let id = carol.commit("Signed by bob, pushed by carol", Sign::By("bob"));
        let p = carol.push(&["HEAD:refs/heads/main"]);
        p.assert_reason("push-denied")
            .assert_header(MAIN, &s.initial, &id)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn create_by_allowed_pusher_is_accepted(hook) {
        let s = Scenario::new(hook);
        let alice = s.client("alice");
        let id = alice.commit("Release branch", Sign::Own);
        let p = alice.push(&["HEAD:refs/heads/release/2.0"]);
        p.assert_accepted();
        assert_eq!(p.ref_after("refs/heads/release/2.0"), Some(id.as_str()));
    }
);

both_hooks!(
    fn create_by_pusher_outside_create_list_is_denied(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let id = bob.commit("My own release", Sign::Own);
        let p = bob.push(&["HEAD:refs/heads/release/2.0"]);
        p.assert_reason("create-denied")
            .assert_header("refs/heads/release/2.0", ZERO, &id)
            .assert_declined("refs/heads/release/2.0")
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn create_defaults_to_the_push_list(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let id = bob.commit("Feature work", Sign::Own);
        bob.push(&["HEAD:refs/heads/feature/x"]).assert_accepted();
        assert_eq!(s.server_ref("refs/heads/feature/x"), Some(id));

        let carol = s.client("carol");
        let id = carol.commit("Carol's feature", Sign::By("bob"));
        let p = carol.push(&["HEAD:refs/heads/feature/y"]);
        p.assert_reason("create-denied")
            .assert_header("refs/heads/feature/y", ZERO, &id)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn delete_by_pusher_outside_delete_list_is_denied(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let p = bob.push(&[":refs/heads/release/1.0"]);
        p.assert_reason("delete-denied")
            .assert_header("refs/heads/release/1.0", &s.initial, ZERO)
            .assert_declined("refs/heads/release/1.0")
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn delete_by_allowed_pusher_is_accepted(hook) {
        let s = Scenario::new(hook);
        let alice = s.client("alice");
        let p = alice.push(&[":refs/heads/release/1.0"]);
        p.assert_accepted().assert_ref_ok("refs/heads/release/1.0");
        assert_eq!(p.ref_after("refs/heads/release/1.0"), None);
    }
);

#[test]
fn delete_is_denied_to_everyone_when_the_list_is_absent() {
    // The tag rule has no `delete`: nobody may delete, not even a release manager.
    let s = Scenario::new(Hook::PreReceive);
    let alice = s.client("alice");
    let p = alice.push(&[":refs/tags/v0.9"]);
    p.assert_reason("delete-denied")
        .assert_header("refs/tags/v0.9", &s.initial_tag, ZERO)
        .assert_refs_unchanged();
}

/// Pushes a signed commit on main as bob, then rewinds and makes a diverging signed commit
/// as `user`: returns (client, accepted tip, diverging commit).
fn diverge(s: &Scenario, user: &str) -> (crate::scenario::Client, String, String) {
    let bob = s.client("bob");
    let first = bob.commit("First", Sign::Own);
    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
    let c = s.client(user);
    c.git(&["fetch", "-q", "origin"]);
    c.reset_hard(&s.initial);
    let rewritten = c.commit("Rewritten history", Sign::Own);
    (c, first, rewritten)
}

both_hooks!(
    fn force_push_by_pusher_outside_list_is_denied(hook) {
        let s = Scenario::new(hook);
        let (bob, first, rewritten) = diverge(&s, "bob");
        let p = bob.push(&["+HEAD:refs/heads/main"]);
        p.assert_reason("force-push-denied")
            .assert_header(MAIN, &first, &rewritten)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn force_push_by_allowed_pusher_is_accepted(hook) {
        let s = Scenario::new(hook);
        let (alice, _first, rewritten) = diverge(&s, "alice");
        let p = alice.push(&["+HEAD:refs/heads/main"]);
        p.assert_accepted();
        assert_eq!(p.ref_after(MAIN), Some(rewritten.as_str()));
        assert_eq!(p.ref_status(MAIN).map(|s| s.0), Some('+'));
    }
);

both_hooks!(
    fn unprotected_ref_accepts_anything(hook) {
        let s = Scenario::new(hook);
        let carol = s.client("carol");
        let id = carol.commit("Scratch work", Sign::Unsigned);
        carol.push(&["HEAD:refs/heads/wip/carol"]).assert_accepted();
        assert_eq!(s.server_ref("refs/heads/wip/carol"), Some(id.clone()));
        // Unknown pushers too: no rule, no list to be in.
        carol
            .push_as(Pusher::Name("mallory"), &["HEAD:refs/heads/wip/mallory"])
            .assert_accepted();
        carol
            .push_as(Pusher::Nobody, &["HEAD:refs/heads/wip/nobody"])
            .assert_accepted();
        carol
            .push_as(Pusher::Nobody, &[":refs/heads/wip/nobody"])
            .assert_accepted();
    }
);

both_hooks!(
    fn first_matching_rule_governs(hook) {
        let s = Scenario::new(hook);
        // team/other: only `refs/heads/team/*` matches; push = "*" and no signers.
        let bob = s.client("bob");
        bob.commit("Team work", Sign::Unsigned);
        bob.push(&["HEAD:refs/heads/team/other"]).assert_accepted();

        // team/locked matches the earlier rule too, and that one wins: alice only, signed.
        let p = bob.push(&["HEAD:refs/heads/team/locked"]);
        p.assert_reason("create-denied").assert_refs_unchanged();

        let alice = s.client("alice");
        let id = alice.commit("Locked work", Sign::Unsigned);
        let p = alice.push(&["HEAD:refs/heads/team/locked"]);
        p.assert_rejected("unsigned", &id)
            .assert_header("refs/heads/team/locked", ZERO, &id)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn unknown_pusher_is_denied_on_protected_ref(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let id = bob.commit("Signed, but who pushes?", Sign::Own);
        for pusher in [Pusher::Name("mallory"), Pusher::Nobody, Pusher::Name("")] {
            let p = bob.push_as(pusher, &["HEAD:refs/heads/main"]);
            p.assert_reason("push-denied")
                .assert_header(MAIN, &s.initial, &id)
                .assert_refs_unchanged();
        }
        // `"*"` means any user of the file, not anyone at all (team/* has push = ["*"]).
        let p = bob.push_as(Pusher::Name("mallory"), &["HEAD:refs/heads/team/x"]);
        p.assert_reason("create-denied").assert_refs_unchanged();
    }
);

#[test]
fn pusher_name_comes_from_the_first_nonempty_variable() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = s.client("bob");
    bob.commit("Pushed through a forge", Sign::Own);
    let p = bob.push_as(
        Pusher::Env(&[("REFGUARD_USER", "carol"), ("GL_USER", "bob")]),
        &["HEAD:refs/heads/main"],
    );
    p.assert_reason("push-denied").assert_refs_unchanged();
    for vars in [
        &[("GL_USER", "bob")][..],
        &[("REFGUARD_USER", ""), ("GITEA_PUSHER_NAME", "bob")][..],
        &[("GL_USERNAME", "bob")][..],
        &[("REMOTE_USER", "bob")][..],
    ] {
        let id = bob.commit(&format!("Via {vars:?}"), Sign::Own);
        let p = bob.push_as(Pusher::Env(vars), &["HEAD:refs/heads/main"]);
        p.assert_accepted();
        assert_eq!(p.ref_after(MAIN), Some(id.as_str()), "{vars:?}");
    }
}

both_hooks!(
    fn multi_ref_push(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let good = bob.commit("Good", Sign::Own);
        bob.branch("topic", &good);
        let bad = bob.commit("Unsigned feature", Sign::Unsigned);
        let p = bob.push(&["main:refs/heads/main", "topic:refs/heads/feature/topic"]);
        p.assert_rejected("unsigned", &bad)
            .assert_header("refs/heads/feature/topic", ZERO, &bad)
            .assert_no_header(MAIN)
            .assert_declined("refs/heads/feature/topic");
        match hook {
            Hook::PreReceive | Hook::Both => {
                // All or nothing: the good ref is declined too and nothing moves.
                p.assert_declined(MAIN).assert_refs_unchanged();
            }
            Hook::Update => {
                p.assert_ref_ok(MAIN);
                assert_eq!(p.ref_after(MAIN), Some(good.as_str()));
                assert_eq!(p.ref_after("refs/heads/feature/topic"), None);
            }
        }
    }
);

both_hooks!(
    fn every_rejected_ref_is_reported(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let unsigned = bob.commit("Unsigned", Sign::Unsigned);
        let p = bob.push(&[
            "HEAD:refs/heads/main",
            "HEAD:refs/heads/release/2.0",
            ":refs/heads/release/1.0",
        ]);
        p.assert_rejected("unsigned", &unsigned)
            .assert_reason("create-denied")
            .assert_reason("delete-denied")
            .assert_header(MAIN, &s.initial, &unsigned)
            .assert_header("refs/heads/release/2.0", ZERO, &unsigned)
            .assert_header("refs/heads/release/1.0", &s.initial, ZERO)
            .assert_refs_unchanged();
    }
);

#[test]
fn reasons_are_capped_at_twenty_with_a_count_of_the_rest() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = s.client("bob");
    let ids = bob.commits(25, "Unsigned change", Sign::Unsigned);
    let tip = ids.last().expect("25 commits");
    let p = bob.push(&["HEAD:refs/heads/main"]);
    p.assert_reason("unsigned")
        .assert_header(MAIN, &s.initial, tip)
        .assert_refs_unchanged();
    let lines = p.reason_lines("unsigned");
    assert_eq!(lines.len(), 20, "{}", p.transcript());
    for line in &lines {
        assert!(
            ids.iter().any(|id| line.contains(short(id))),
            "{line:?} names none of the pushed commits"
        );
    }
    let last_reason = p
        .remote
        .iter()
        .rposition(|l| l.starts_with("refguard:   [unsigned]"))
        .expect("a reason line");
    assert!(
        p.remote[last_reason + 1..]
            .iter()
            .any(|l| l.starts_with("refguard:") && l.split_whitespace().any(|w| w == "5")),
        "expected a count of the 5 reasons not shown\n{}",
        p.transcript()
    );
}

#[test]
fn policy_without_rules_protects_nothing() {
    let s = Scenario::builder(Hook::PreReceive)
        .policy(crate::scenario::fixture_policy("minimal"))
        .build();
    let carol = s.client("carol");
    let id = carol.commit("Unsigned, by a stranger", Sign::Unsigned);
    let p = carol.push(&["HEAD:refs/heads/main"]);
    p.assert_accepted();
    assert_eq!(p.ref_after(MAIN), Some(id.as_str()));
    // The policy branch is still guarded.
    let p = carol.push(&[":refs/meta/policy"]);
    p.assert_reason("policy-denied").assert_refs_unchanged();
}

#[test]
fn commits_already_under_the_same_rule_are_not_new() {
    // An unsigned commit lands on main before refguard is installed (history predating it).
    let s = Scenario::builder(Hook::PreReceive).hook(None).build();
    let bob = s.client("bob");
    let legacy = bob.commit("Legacy, unsigned", Sign::Unsigned);
    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
    s.install(Hook::PreReceive)
        .assert_success("refguard install");

    // release/1.0 shares main's rule: the legacy commit is reachable from main, so not new.
    let p = bob.push(&["HEAD:refs/heads/release/1.0"]);
    p.assert_accepted();
    assert_eq!(p.ref_after("refs/heads/release/1.0"), Some(legacy.as_str()));

    // feature/* is another rule: there the legacy commit is new and must be signed.
    let p = bob.push(&["HEAD:refs/heads/feature/legacy"]);
    p.assert_rejected("unsigned", &legacy)
        .assert_header("refs/heads/feature/legacy", ZERO, &legacy)
        .assert_refs_unchanged();
}
