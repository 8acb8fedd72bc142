//! Hostile objects crafted by hand (`git cat-file commit`, edit, `git hash-object -w`): every
//! one must be rejected with the right code, whatever it claims.

use crate::both_hooks;
use crate::objects::{GARBAGE_ARMOR, PGP_ARMOR, RawCommit, truncate_armor};
use crate::scenario::{Client, Hook, Scenario, Sign};

const MAIN: &str = "refs/heads/main";

/// Writes `raw` as a commit, points bob's main at it and pushes; returns the id and outcome.
fn push_crafted(bob: &Client, raw: &RawCommit) -> (String, crate::scenario::Push) {
    let id = bob.write_commit(&raw.to_raw());
    bob.reset_hard(&id);
    let p = bob.push(&["HEAD:refs/heads/main"]);
    (id, p)
}

/// An unsigned commit by bob on top of main, parsed.
fn unsigned_commit(bob: &Client, message: &str) -> RawCommit {
    let id = bob.commit(message, Sign::Unsigned);
    let raw = RawCommit::parse(&bob.raw_commit(&id));
    // Leave main where it was; the crafted commit replaces this one.
    bob.reset_hard("HEAD~1");
    raw
}

#[test]
fn control_a_correctly_crafted_signature_is_accepted() {
    // Proves the crafting itself is sound: the same steps with namespace `git` pass.
    let s = Scenario::new(Hook::PreReceive);
    let bob = s.client("bob");
    let raw = unsigned_commit(&bob, "Crafted, correctly");
    let sig = bob.ssh_sign(raw.payload().as_bytes(), "bob", "git");
    let (id, p) = push_crafted(&bob, &raw.with_signature(&sig));
    p.assert_accepted();
    assert_eq!(p.ref_after(MAIN), Some(id.as_str()));
}

both_hooks!(
    fn tampered_message_under_valid_signature(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let signed = bob.commit("Harmless change", Sign::Own);
        bob.reset_hard("HEAD~1");
        let raw = RawCommit::parse(&bob.raw_commit(&signed));
        assert!(raw.signature.is_some());
        let (id, p) = push_crafted(&bob, &raw.with_message("Harmful change\n"));
        assert_ne!(id, signed);
        p.assert_rejected("bad-signature", &id)
            .assert_header(MAIN, &s.initial, &id)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn signature_in_the_wrong_namespace(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let raw = unsigned_commit(&bob, "Signed as a file");
        let sig = bob.ssh_sign(raw.payload().as_bytes(), "bob", "file");
        let (id, p) = push_crafted(&bob, &raw.with_signature(&sig));
        p.assert_rejected("bad-signature", &id)
            .assert_header(MAIN, &s.initial, &id)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn signature_lifted_from_another_commit(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let donor = bob.commit("Donor", Sign::Own);
        let donor_sig = RawCommit::parse(&bob.raw_commit(&donor))
            .signature
            .expect("donor is signed");
        bob.reset_hard("HEAD~1");
        let raw = unsigned_commit(&bob, "Wearing a borrowed signature");
        let (id, p) = push_crafted(&bob, &raw.with_signature(&donor_sig));
        p.assert_rejected("bad-signature", &id)
            .assert_header(MAIN, &s.initial, &id)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn truncated_armor(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let raw = unsigned_commit(&bob, "Truncated signature");
        let sig = bob.ssh_sign(raw.payload().as_bytes(), "bob", "git");
        let (id, p) = push_crafted(&bob, &raw.with_signature(&truncate_armor(&sig)));
        p.assert_rejected("bad-signature", &id)
            .assert_header(MAIN, &s.initial, &id)
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn garbage_armor(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let raw = unsigned_commit(&bob, "Garbage signature");
        let (id, p) = push_crafted(&bob, &raw.with_signature(GARBAGE_ARMOR));
        p.assert_rejected("bad-signature", &id)
            .assert_header(MAIN, &s.initial, &id)
            .assert_refs_unchanged();
    }
);

#[test]
fn armor_without_end_line() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = s.client("bob");
    let raw = unsigned_commit(&bob, "No END line");
    let sig = bob.ssh_sign(raw.payload().as_bytes(), "bob", "git");
    let cut: String = sig
        .lines()
        .filter(|l| !l.starts_with("-----END"))
        .map(|l| format!("{l}\n"))
        .collect();
    let (id, p) = push_crafted(&bob, &raw.with_signature(&cut));
    p.assert_rejected("bad-signature", &id)
        .assert_header(MAIN, &s.initial, &id)
        .assert_refs_unchanged();
}

both_hooks!(
    fn forged_pgp_signature_is_bad(hook) {
        // OpenPGP is verified (spec §12): armor that holds no valid signature is a bad one.
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let raw = unsigned_commit(&bob, "Signed with GnuPG");
        let (id, p) = push_crafted(&bob, &raw.with_signature(PGP_ARMOR));
        p.assert_rejected("bad-signature", &id)
            .assert_header(MAIN, &s.initial, &id)
            .assert_refs_unchanged();
    }
);

#[test]
fn valid_signature_by_someone_else_over_bobs_commit_is_judged_by_its_key() {
    // Mallory signs bob's exact payload correctly: the signature verifies, the key is unknown.
    let s = Scenario::new(Hook::PreReceive);
    let bob = s.client("bob");
    let raw = unsigned_commit(&bob, "Bob's words, mallory's key");
    let sig = bob.ssh_sign(raw.payload().as_bytes(), "mallory", "git");
    let (id, p) = push_crafted(&bob, &raw.with_signature(&sig));
    p.assert_rejected("unknown-key", &id)
        .assert_header(MAIN, &s.initial, &id)
        .assert_refs_unchanged();
}
