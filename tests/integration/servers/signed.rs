//! Signed pushes (`git push --signed`, `gpg.format=ssh`) over SSH, smart HTTP and file://:
//! the certificate's signer is the pusher, whatever the transport account says; a
//! certificate by a key roles.toml does not hold is refused; `require_signed_push` refuses
//! unsigned pushes. Bad nonces and mismatched commands cannot be made with a stock client:
//! the unit tests of `pushcert` and the engine cover them.

use std::path::Path;

use super::harness::{Key, Pushed, World, key, require};
use super::http::{self, HTTP, WebServer};
use super::ssh::{SSHD, Sshd, forced_command_line, roles};

/// A server repository that asks for push certificates.
fn signed_server(w: &World, path: &Path, roles: &str) {
    w.server_repo(path, roles);
    w.git(
        path,
        &["config", "receive.certNonceSeed", "test-seed-not-secret"],
    );
}

/// `git push --signed` (or not) over file:// with `REFGUARD_USER` set, the certificate
/// signed with `signing_key`.
fn push_file(
    w: &World,
    client: &Path,
    server: &Path,
    user: &str,
    signing_key: Option<&Key>,
) -> Pushed {
    let mut cmd = w.cmd("git");
    cmd.arg("-C").arg(client).env("REFGUARD_USER", user);
    if let Some(key) = signing_key {
        cmd.arg("-c")
            .arg(format!("user.signingKey={}", key.private.display()));
    }
    cmd.arg("push");
    if signing_key.is_some() {
        cmd.arg("--signed");
    }
    cmd.arg(format!("file://{}", server.display()))
        .arg("HEAD:refs/heads/main");
    Pushed::run(w, &mut cmd)
}

#[test]
fn signed_push_over_ssh_makes_the_signer_the_pusher() {
    if !require("signed_push_over_ssh_makes_the_signer_the_pusher", SSHD) {
        return;
    }
    let w = World::new();
    let (alice, bob) = (key("alice"), key("bob"));
    let server = w.root.join("srv/project.git");
    signed_server(&w, &server, &roles(alice, bob));
    // The transport key is bob's (REFGUARD_USER=bob); the certificate is signed by alice.
    let keys = w.write(
        "authorized_keys",
        &format!("{}\n", forced_command_line("bob", bob)),
    );
    let sshd = Sshd::start(&w, "sshd", &keys, "");
    let url = sshd.url(&server.display().to_string());

    let a = w.client("alice", &server, alice);
    w.commit(&a, "Release");
    sshd.push(&w, &a, bob, &url, &["HEAD:refs/heads/main"])
        .assert_rejected(&["refguard:   [push-denied] \"bob\" may not push to refs/heads/main"]);

    let pushed = sshd.push(&w, &a, bob, &url, &["--signed", "HEAD:refs/heads/main"]);
    assert!(pushed.ok, "{}\n--- sshd ---\n{}", pushed.stderr, sshd.log());
    pushed.assert_accepted();
    let audit = w.last_audit(&server);
    assert_eq!(
        audit["pusher"], "bob",
        "the transport's name is still logged"
    );
    assert_eq!(
        audit["user"], "alice",
        "the certificate's signer was judged"
    );
    assert_eq!(audit["decision"], "accept");
}

#[test]
fn signed_push_over_http_within_nonce_slop() {
    if !require("signed_push_over_http_within_nonce_slop", HTTP) {
        return;
    }
    let w = World::new();
    let (alice, bob) = (key("alice"), key("bob"));
    let root = w.root.join("srv");
    let server = root.join("project.git");
    signed_server(&w, &server, &roles(alice, bob));
    w.git(&server, &["config", "http.receivepack", "true"]);
    // Over stateless HTTP the nonce comes from the advertisement request and is checked by
    // another receive-pack process: git calls it OK only within receive.certNonceSlop
    // seconds (else SLOP, which refguard refuses).
    w.git(&server, &["config", "receive.certNonceSlop", "60"]);
    let web = WebServer::start(&w, &root);

    let a = w.client("alice", &server, alice);
    w.commit(&a, "Release");
    let url = web.url("bob", "bob-secret", "project.git");
    let pushed = http::push(&w, &a, &url, &["--signed", "HEAD:refs/heads/main"]);
    assert!(pushed.ok, "{}\n--- nginx ---\n{}", pushed.stderr, web.log());
    pushed.assert_accepted();
    let audit = w.last_audit(&server);
    assert_eq!(audit["pusher"], "bob");
    assert_eq!(audit["user"], "alice");
}

#[test]
fn signed_push_by_an_unknown_key_is_refused() {
    let w = World::new();
    let (alice, bob, mallory) = (key("alice"), key("bob"), key("mallory"));
    let server = w.root.join("srv/project.git");
    signed_server(&w, &server, &roles(alice, bob));
    let a = w.client("alice", &server, alice);
    w.commit(&a, "Change");
    let fingerprint = w.run_ok(
        w.cmd("ssh-keygen")
            .arg("-lf")
            .arg(mallory.private.with_extension("pub")),
    );
    let fingerprint = fingerprint.split_whitespace().nth(1).expect("fingerprint");
    push_file(&w, &a, &server, "alice", Some(mallory)).assert_rejected(&[
        "refguard: rejected refs/heads/main (",
        &format!(
            "refguard:   [push-cert-invalid] push certificate signed with unknown key {fingerprint} \
             (ssh-ed25519): no user in roles.toml holds it"
        ),
        "refguard:   hint: sign the push with your key listed in roles.toml",
    ]);
    // The same push signed by alice passes.
    push_file(&w, &a, &server, "alice", Some(alice)).assert_accepted();
}

#[test]
fn require_signed_push_refuses_unsigned_pushes() {
    let w = World::new();
    let (alice, bob) = (key("alice"), key("bob"));
    let server = w.root.join("srv/project.git");
    let policy = roles(alice, bob).replace(
        "[policy]\n",
        "[settings]\nrequire_signed_push = true\n[policy]\n",
    );
    signed_server(&w, &server, &policy);
    let a = w.client("alice", &server, alice);
    w.commit(&a, "Change");
    push_file(&w, &a, &server, "alice", None).assert_rejected(&[
        "refguard:   [signed-push-required] refs/heads/main needs a signed push (git push --signed) \
         ([settings] require_signed_push)",
        "refguard:   hint: git config gpg.format ssh;",
    ]);
    push_file(&w, &a, &server, "alice", Some(alice)).assert_accepted();
    assert_eq!(w.last_audit(&server)["user"], "alice");
}
