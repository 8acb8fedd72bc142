//! The policy's life cycle through real pushes: k-of-n approvals, revoking and expiring keys
//! by a policy change, and adopting refguard on a repository with unsigned history through
//! `[trust] baseline` (set with `policy reset`, the lock-out recovery command).

use std::fs;

use crate::scenario::{Hook, Scenario, Sign, fixture_policy, key};

const POLICY: &str = "refs/meta/policy";

/// The standard roles file with alice, dave and gina as admins and `approvals` required.
fn admins_policy(approvals: u32) -> String {
    let text = fixture_policy("standard");
    let edited = text
        .replace(
            "policy-admins = [\"alice\"]",
            "policy-admins = [\"alice\", \"dave\", \"gina\"]",
        )
        .replace(
            "admins = [\"policy-admins\"]",
            &format!("admins = [\"policy-admins\"]\napprovals = {approvals}"),
        );
    assert_ne!(edited, text, "the standard roles file changed shape");
    edited
}

/// Edits roles.toml in a client's checkout of the policy branch.
fn edit_roles(c: &crate::scenario::Client, edit: impl Fn(&str) -> String) -> String {
    let text = fs::read_to_string(c.dir().join("roles.toml")).expect("roles.toml checked out");
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit changed nothing");
    edited
}

/// Commits with another user's key (`git commit --allow-empty -S` as an approval).
fn approve(c: &crate::scenario::Client, admin: &str) -> String {
    let key = key(admin).private.display().to_string();
    c.git(&[
        "-c",
        "gpg.format=ssh",
        "-c",
        &format!("user.signingKey={key}"),
        "commit",
        "-q",
        "--allow-empty",
        "-S",
        "-m",
        &format!("Approve ({admin})"),
    ]);
    c.rev("HEAD")
}

#[test]
fn two_of_three_admins_must_sign_and_one_admin_twice_counts_once() {
    let s = Scenario::builder(Hook::PreReceive)
        .policy(admins_policy(2))
        .build();
    let alice = s.client("alice");
    let old = alice.checkout_policy();
    let text = edit_roles(&alice, |t| {
        t.replace(
            "maintainers = [\"alice\"]",
            "maintainers = [\"alice\", \"bob\"]",
        )
    });
    let change = alice.commit_file("roles.toml", &text, "Make bob a maintainer", Sign::Own);

    // One signer: rejected.
    let p = alice.push(&["HEAD:refs/meta/policy"]);
    p.assert_reason("approvals-missing")
        .assert_header(POLICY, &old, &change)
        .assert_refs_unchanged();
    assert!(
        p.reason_lines("approvals-missing")[0].contains("1 of 2"),
        "{}",
        p.transcript()
    );

    // The same admin approving her own change is still one admin.
    approve(&alice, "alice");
    let p = alice.push(&["HEAD:refs/meta/policy"]);
    p.assert_reason("approvals-missing").assert_refs_unchanged();
    assert!(p.reason_lines("approvals-missing")[0].contains("1 of 2"));

    // A non-admin's approval does not count, and taints the push.
    let bobs = approve(&alice, "bob");
    let p = alice.push(&["HEAD:refs/meta/policy"]);
    p.assert_rejected("policy-denied", &bobs)
        .assert_refs_unchanged();
    alice.reset_hard("HEAD~1");

    // A second admin: accepted, and the new policy governs the very next push.
    let approved = approve(&alice, "gina");
    alice.push(&["HEAD:refs/meta/policy"]).assert_accepted();
    assert_eq!(s.server_ref(POLICY), Some(approved));

    let bob = s.client("bob");
    bob.git(&["checkout", "-q", "-b", "rel", "origin/main"]);
    let id = bob.commit("Release branch by a new maintainer", Sign::Own);
    let p = bob.push(&["HEAD:refs/heads/release/2.0"]);
    p.assert_accepted();
    assert_eq!(p.ref_after("refs/heads/release/2.0"), Some(id.as_str()));
}

#[test]
fn revoking_a_key_by_policy_change_refuses_it_on_the_next_push() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = s.client("bob");
    let before = bob.commit("Signed before the revocation", Sign::Own);

    let alice = s.client("alice");
    alice.checkout_policy();
    let fingerprint = key("bob").fingerprint.clone();
    let text = edit_roles(&alice, |t| {
        format!("{t}\n[[revoked]]\nkey = \"{fingerprint}\"\nreason = \"bob lost his laptop\"\n")
    });
    alice.commit_file("roles.toml", &text, "Revoke bob's key", Sign::Own);
    alice.push(&["HEAD:refs/meta/policy"]).assert_accepted();

    // bob's key is still listed under him, but revoked: refused, with the reason.
    let p = bob.push(&["HEAD:refs/heads/main"]);
    p.assert_rejected("revoked-key", &before)
        .assert_refs_unchanged();
    assert!(
        p.reason_lines("revoked-key")[0].contains("bob lost his laptop"),
        "{}",
        p.transcript()
    );

    // The same on a tag signed with it.
    bob.tag_signed("v9.9", "Release", "bob");
    let p = bob.push(&["refs/tags/v9.9"]);
    p.assert_reason("revoked-key").assert_refs_unchanged();
}

#[test]
fn expiring_a_key_by_policy_change_refuses_it_at_push_time() {
    let s = Scenario::new(Hook::Update);
    let bob = s.client("bob");
    let id = bob.commit("Signed with a key about to expire", Sign::Own);
    let alice = s.client("alice");
    alice.checkout_policy();
    let bob_key = key("bob").public.trim().to_string();
    let text = edit_roles(&alice, |t| {
        t.replace(
            &format!("keys = [\"{bob_key}\"]"),
            &format!("keys = [{{ key = \"{bob_key}\", expires = \"2021-06-30\" }}]"),
        )
    });
    alice.commit_file("roles.toml", &text, "Expire bob's key", Sign::Own);
    alice.push(&["HEAD:refs/meta/policy"]).assert_accepted();
    let p = bob.push(&["HEAD:refs/heads/main"]);
    p.assert_rejected("expired-key", &id)
        .assert_refs_unchanged();
}

#[test]
fn baseline_lets_a_repository_with_unsigned_history_adopt_refguard() {
    // Years of unsigned history pushed before refguard was installed.
    let s = Scenario::builder(Hook::PreReceive).hook(None).build();
    let server = s.server().to_str().expect("UTF-8 path").to_string();
    let bob = s.client("bob");
    let legacy = bob.commits(3, "Legacy, unsigned", Sign::Unsigned);
    let tip = legacy.last().expect("three commits").clone();
    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();

    // The server admin trusts that history (policy reset: the filesystem route) and
    // installs the hook.
    let roles = s.home().join("with-baseline.toml");
    fs::write(
        &roles,
        format!(
            "{}\n[trust]\nbaseline = [\"{tip}\"]\n",
            fixture_policy("standard")
        ),
    )
    .expect("write roles file");
    let roles = roles.to_str().expect("UTF-8 path");
    s.refguard_str(&[
        "policy",
        "reset",
        "--repo",
        &server,
        "--policy",
        roles,
        "--yes-i-hold-the-server",
    ])
    .assert_success("policy reset with a baseline");
    s.install(Hook::PreReceive).assert_success("install");

    // feature/* is another rule than main: without the baseline the legacy commits would be
    // new there and unsigned (see push.rs); with it they pass unchecked.
    let p = bob.push(&["HEAD:refs/heads/feature/legacy"]);
    p.assert_accepted();
    assert_eq!(p.ref_after("refs/heads/feature/legacy"), Some(tip.as_str()));

    // New work on top is checked in full: only the new unsigned commit is reported.
    let signed = bob.commit("New, signed", Sign::Own);
    let unsigned = bob.commit("New, unsigned", Sign::Unsigned);
    let p = bob.push(&["HEAD:refs/heads/feature/legacy"]);
    p.assert_rejected("unsigned", &unsigned)
        .assert_header("refs/heads/feature/legacy", &tip, &unsigned)
        .assert_refs_unchanged();
    assert_eq!(p.reason_lines("unsigned").len(), 1, "{}", p.transcript());
    for old in &legacy {
        let reported = p.all_reason_lines().iter().any(|l| l.contains(&old[..7]));
        assert!(!reported, "legacy {old} reported:\n{}", p.transcript());
    }
    bob.reset_hard(&signed);
    bob.push(&["HEAD:refs/heads/feature/legacy"])
        .assert_accepted();
    // Creating a new protected branch elsewhere from the legacy tip is fine too.
    bob.push(&[&format!("{tip}:refs/heads/feature/old")])
        .assert_accepted();
}
