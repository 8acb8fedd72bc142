//! Tests of the harness itself, with no refguard hook: signed commits verify with git, raw
//! commit crafting reproduces git's signing, and a hook's stderr reaches the pusher.

use crate::objects::RawCommit;
use crate::scenario::{Hook, Pusher, Scenario, Sign, ZERO, key, keys};

fn bare() -> Scenario {
    Scenario::builder(Hook::PreReceive)
        .no_policy()
        .hook(None)
        .build()
}

#[test]
fn every_key_type_is_generated() {
    let types: Vec<&str> = keys()
        .values()
        .map(|k| k.public.split(' ').next().expect("key type"))
        .collect();
    assert!(types.contains(&"ssh-ed25519"), "{types:?}");
    assert!(types.contains(&"ecdsa-sha2-nistp256"), "{types:?}");
    assert!(types.contains(&"ssh-rsa"), "{types:?}");
    assert!(key("vic").fingerprint.starts_with("SHA256:"));
}

#[test]
fn signed_commits_and_tags_verify_with_git() {
    let s = bare();
    let c = s.client("erin");
    for signer in ["alice", "erin", "frank"] {
        let id = c.commit(
            &format!("signed by {signer}"),
            crate::scenario::Sign::By(signer),
        );
        let out = c.verify("verify-commit", &id);
        assert!(out.status.success(), "{signer}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("for {signer}@example.com with")),
            "{stderr}"
        );
    }
    let unsigned = c.commit("unsigned", Sign::Unsigned);
    assert!(!c.verify("verify-commit", &unsigned).status.success());
    // The seeded tag is signed by alice.
    assert!(c.verify("verify-tag", &s.initial_tag).status.success());
}

#[test]
fn crafted_signature_matches_what_git_makes() {
    let s = bare();
    let c = s.client("bob");
    let unsigned = c.commit("crafted", Sign::Unsigned);
    let raw = RawCommit::parse(&c.raw_commit(&unsigned));
    assert!(raw.signature.is_none());

    let good = c.ssh_sign(raw.payload().as_bytes(), "bob", "git");
    let crafted = c.write_commit(&raw.with_signature(&good).to_raw());
    let out = c.verify("verify-commit", &crafted);
    assert!(out.status.success(), "{out:?}");

    // Same payload, namespace `file`: git refuses it, as refguard must.
    let wrong_ns = c.ssh_sign(raw.payload().as_bytes(), "bob", "file");
    let crafted = c.write_commit(&raw.with_signature(&wrong_ns).to_raw());
    assert!(!c.verify("verify-commit", &crafted).status.success());

    // A commit git signed round-trips through the parser byte for byte.
    let signed = c.commit("signed by git", Sign::Own);
    let text = c.raw_commit(&signed);
    assert_eq!(RawCommit::parse(&text).to_raw(), text);
}

#[test]
fn push_reports_hook_lines_status_and_refs() {
    let s = bare();
    s.install_script_hook(
        "pre-receive",
        "#!/bin/sh\nwhile read old new ref; do echo \"seen $ref $old $new\" >&2; done\n\
         echo \"user=$REFGUARD_USER gl=$GL_USER home=$HOME\" >&2\nexit 1\n",
    );
    let c = s.client("bob");
    let id = c.commit("to be declined", Sign::Own);
    let p = c.push(&["HEAD:refs/heads/main"]);
    assert!(!p.success, "{}", p.transcript());
    p.assert_refs_unchanged();
    assert_eq!(
        p.remote[0],
        format!("seen refs/heads/main {} {id}", s.initial),
        "{}",
        p.transcript()
    );
    assert_eq!(
        p.remote[1],
        format!("user=bob gl= home={}", s.home().display()),
        "{}",
        p.transcript()
    );
    assert_eq!(
        p.ref_status("refs/heads/main"),
        Some((
            '!',
            "[remote rejected] (pre-receive hook declined)".to_string()
        ))
    );

    let p = c.push_as(
        Pusher::Env(&[("GL_USER", "gl-bob")]),
        &["HEAD:refs/heads/new"],
    );
    assert_eq!(p.remote[0], format!("seen refs/heads/new {ZERO} {id}"));
    assert_eq!(
        p.remote[1],
        format!("user= gl=gl-bob home={}", s.home().display())
    );
}

#[test]
fn accepted_push_moves_refs_and_the_hook_sees_quarantined_objects() {
    let s = bare();
    // The hook can read the pushed commit (quarantine env), then accepts.
    s.install_script_hook(
        "pre-receive",
        "#!/bin/sh\nwhile read old new ref; do git cat-file -e $new || exit 1; done\nexit 0\n",
    );
    let c = s.client("bob");
    let id = c.commit("accepted", Sign::Own);
    let p = c.push(&["HEAD:refs/heads/main"]);
    p.assert_accepted();
    assert_eq!(p.ref_after("refs/heads/main"), Some(id.as_str()));
    assert_eq!(s.server_ref("refs/heads/main"), Some(id));
    assert_eq!(p.ref_status("refs/heads/main").map(|s| s.0), Some(' '));
}
