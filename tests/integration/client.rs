//! The client side (spec §13) with real clones, real pushes and the real server hook: the
//! pre-push check (`refguard install --client`) that tells a developer about a rejection
//! before anything leaves the machine, and `refguard verify`, which authenticates a clone's
//! policy chain from a pinned trust root and judges its history without trusting the server.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::scenario::{
    Client, CmdOutput, Hook, Push, Scenario, Sign, fixture_policy, isolated, key, run_ok, short,
};

const POLICY: &str = "refs/meta/policy";
const PRODUCTION: &str = "refs/heads/production";

/// `refguard install --client` in `c`, with `--mode` if given.
fn install_client(s: &Scenario, c: &Client, mode: Option<&str>) -> CmdOutput {
    let dir = c.dir().to_str().expect("UTF-8 clone path");
    let mut args = vec!["install", "--client", "--repo", dir];
    if let Some(mode) = mode {
        args.extend(["--mode", mode]);
    }
    s.refguard_str(&args)
}

/// A clone of `s` as `user` with the pre-push check installed, judging as `user`
/// (`refguard.user`), in `mode`.
fn checked_client(s: &Scenario, user: &str, mode: Option<&str>) -> Client {
    let c = s.client(user);
    install_client(s, &c, mode).assert_success("install --client");
    c.git(&["config", "refguard.user", user]);
    c
}

/// refguard's own lines on the pusher's screen: printed by the pre-push check on this
/// machine, not by the server (whose lines git prefixes with `remote: `).
fn local_lines(p: &Push) -> Vec<&str> {
    p.stderr
        .lines()
        .filter(|l| l.starts_with("refguard:"))
        .collect()
}

/// The server's audit log, empty when nothing was ever logged.
fn audit_text(s: &Scenario) -> String {
    fs::read_to_string(s.audit_log()).unwrap_or_default()
}

/// The assertions of a push the pre-push check stopped: it failed, printed the server's
/// rejection lines for `refname` locally, and the server never heard of it (no `remote:`
/// line, no ref changed, no audit record).
fn assert_blocked<'p>(p: &'p Push, s: &Scenario, log_before: &str) -> Vec<&'p str> {
    assert!(!p.success, "the push must fail\n{}", p.transcript());
    assert!(
        p.remote.is_empty(),
        "the server's hook must never run for a push stopped on the client\n{}",
        p.transcript()
    );
    p.assert_refs_unchanged();
    assert_eq!(
        audit_text(s),
        log_before,
        "the server logged nothing: it never saw the push"
    );
    let lines = local_lines(p);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("refguard: origin would reject this push; nothing was sent")),
        "expected the block line\n{}",
        p.transcript()
    );
    assert!(
        p.stderr.contains("failed to push some refs"),
        "git reports the failed push\n{}",
        p.transcript()
    );
    lines
}

#[test]
fn install_client_writes_the_pre_push_hook_and_refuses_a_foreign_one() {
    let s = Scenario::new(Hook::PreReceive);
    let c = s.client("bob");
    let hook = c.dir().join(".git/hooks/pre-push");
    fs::write(&hook, "#!/bin/sh\nexit 0\n").expect("write a foreign hook");
    let out = install_client(&s, &c, None);
    out.assert_code(2, "a foreign pre-push hook");
    assert!(
        out.stderr.contains("was not written by refguard"),
        "{}",
        out.stderr
    );
    assert_eq!(
        fs::read_to_string(&hook).expect("hook"),
        "#!/bin/sh\nexit 0\n"
    );

    let dir = c.dir().to_str().expect("UTF-8");
    let out = s.refguard_str(&[
        "install", "--client", "--repo", dir, "--force", "--mode", "warn",
    ]);
    out.assert_success("install --client --force");
    let text = fs::read_to_string(&hook).expect("hook");
    assert!(text.contains("# refguard-hook: pre-push"), "{text}");
    assert!(text.contains("hook pre-push \"$@\""), "{text}");
    assert!(c.dir().join(".git/hooks/pre-push.before-refguard").exists());
    assert_eq!(c.git(&["config", "refguard.clientMode"]).trim(), "warn");
    assert!(
        out.stdout.contains("set git config refguard.user"),
        "no identity yet: the install says how to set one\n{}",
        out.stdout
    );
    // Installing again rewrites its own hook without --force.
    install_client(&s, &c, Some("block")).assert_success("reinstall");
    assert_eq!(c.git(&["config", "refguard.clientMode"]).trim(), "block");
}

#[test]
fn a_push_the_server_would_reject_is_stopped_before_it_leaves() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = checked_client(&s, "bob", None);
    let id = bob.commit("Unsigned work", Sign::Unsigned);
    let log = audit_text(&s);
    let p = bob.push(&["HEAD:refs/heads/main"]);
    let lines = assert_blocked(&p, &s, &log);
    // The server's own messages, as `check` and the hook print them.
    let header = format!(
        "refguard: rejected refs/heads/main ({}..{})",
        short(&s.initial),
        short(&id)
    );
    assert!(lines.contains(&header.as_str()), "{}", p.transcript());
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "refguard:   [unsigned] commit {} \"Unsigned work\": not signed",
            short(&id)
        ))),
        "{}",
        p.transcript()
    );
    assert!(
        lines.iter().any(|l| l.starts_with("refguard:   hint: ")),
        "{}",
        p.transcript()
    );
    assert!(
        lines.contains(&"refguard:   (rule roles.toml:63; you are user bob)"),
        "{}",
        p.transcript()
    );
    // The policy it judged with is the server's, fetched into the clone.
    assert_eq!(
        bob.rev("refs/refguard/origin/policy"),
        s.server_ref(POLICY).expect("policy")
    );

    // The same push without the check: the server says the same.
    let p = bob.push(&["--no-verify", "HEAD:refs/heads/main"]);
    p.assert_rejected("unsigned", &id).assert_refs_unchanged();
    let server: Vec<&str> = p
        .remote
        .iter()
        .map(String::as_str)
        .filter(|l| l.starts_with("refguard:"))
        .collect();
    let local: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("refguard:   ") || l.starts_with("refguard: rejected "))
        .collect();
    assert_eq!(local, server, "the client prints the server's messages");
}

#[test]
fn an_allowed_push_goes_through_without_a_word() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = checked_client(&s, "bob", None);
    let id = bob.commit("Signed work", Sign::Own);
    let p = bob.push(&["HEAD:refs/heads/main"]);
    p.assert_accepted();
    assert!(local_lines(&p).is_empty(), "{}", p.transcript());
    assert_eq!(p.ref_after("refs/heads/main"), Some(id.as_str()));
}

#[test]
fn evaluate_mode_warnings_show_before_the_push_and_it_goes_through() {
    // A shadow above the main rule: only alice may push main (spec §11).
    let standard = fixture_policy("standard");
    let at = standard.find("[[rule]]").expect("a rule");
    let line = standard[..at].lines().count() + 1;
    let policy = format!(
        "{}[[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"alice\"]\nmode = \"evaluate\"\n\n{}",
        &standard[..at],
        &standard[at..]
    );
    let s = Scenario::builder(Hook::PreReceive).policy(policy).build();
    let bob = checked_client(&s, "bob", None);
    let id = bob.commit("Signed work", Sign::Own);
    let p = bob.push(&["HEAD:refs/heads/main"]);
    p.assert_accepted();
    let warning = format!(
        "refguard: warning: refs/heads/main would be rejected by rule roles.toml:{line} (evaluate mode)"
    );
    let local = local_lines(&p);
    assert_eq!(
        local.first().copied(),
        Some(warning.as_str()),
        "{}",
        p.transcript()
    );
    assert!(
        local.iter().any(|l| l.contains("[push-denied]")),
        "{}",
        p.transcript()
    );
    // The server says the same.
    assert!(p.remote.contains(&warning), "{}", p.transcript());
    assert_eq!(p.ref_after("refs/heads/main"), Some(id.as_str()));
}

#[test]
fn warn_mode_reports_and_pushes_anyway() {
    let s = Scenario::new(Hook::PreReceive);
    // The check judges as carol (no developer); the server knows the pusher as bob.
    let c = checked_client(&s, "bob", Some("warn"));
    c.git(&["config", "refguard.user", "carol"]);
    let id = c.commit("Signed by bob", Sign::Own);
    let p = c.push(&["HEAD:refs/heads/main"]);
    p.assert_accepted();
    let lines = local_lines(&p);
    assert!(
        lines.iter().any(|l| l.starts_with(
            "refguard: warning: origin would reject this push; pushing anyway (refguard.clientMode = warn)"
        )),
        "{}",
        p.transcript()
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("refguard:   [push-denied] ")),
        "{}",
        p.transcript()
    );
    assert!(
        lines.iter().any(|l| l.contains("you are user carol")),
        "{}",
        p.transcript()
    );
    assert_eq!(p.ref_after("refs/heads/main"), Some(id.as_str()));

    // What the server rejects, it still rejects: warn mode is only a warning.
    let unsigned = c.commit("Unsigned", Sign::Unsigned);
    let p = c.push(&["HEAD:refs/heads/main"]);
    p.assert_rejected("unsigned", &unsigned)
        .assert_refs_unchanged();
    assert!(
        local_lines(&p)
            .iter()
            .any(|l| l.starts_with("refguard: warning: origin would reject this push")),
        "{}",
        p.transcript()
    );
}

#[test]
fn no_policy_on_the_remote_is_one_line_and_the_push_proceeds() {
    let s = Scenario::builder(Hook::PreReceive)
        .no_policy()
        .hook(None)
        .build();
    let bob = checked_client(&s, "bob", None);
    let id = bob.commit("Anything goes here", Sign::Unsigned);
    let p = bob.push(&["HEAD:refs/heads/main"]);
    p.assert_accepted();
    assert_eq!(
        local_lines(&p),
        vec![
            "refguard: cannot check this push against origin's policy: origin has no policy \
             branch refs/meta/policy; pushing anyway (the server decides)"
        ],
        "{}",
        p.transcript()
    );
    assert_eq!(p.ref_after("refs/heads/main"), Some(id.as_str()));
    assert!(
        bob.git_raw(&["rev-parse", "-q", "--verify", "refs/refguard/origin/policy"])
            .stdout
            .is_empty()
    );
}

#[test]
fn a_failed_fetch_is_one_line_and_the_push_proceeds() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = checked_client(&s, "bob", None);
    // Fetches from the server go to a repository that is not there; pushes still go to the
    // server (as when a clone fetches over one transport and pushes over another).
    let url = format!("file://{}", s.server().display());
    let gone = format!("file://{}", s.home().join("gone.git").display());
    bob.git(&["config", &format!("url.{gone}.insteadOf"), &url]);
    bob.git(&["config", &format!("url.{url}.pushInsteadOf"), &url]);
    let id = bob.commit("Signed work", Sign::Own);
    let p = bob.push(&["HEAD:refs/heads/main"]);
    p.assert_accepted();
    let lines = local_lines(&p);
    assert_eq!(lines.len(), 1, "{}", p.transcript());
    assert!(
        lines[0].starts_with(
            "refguard: cannot check this push against origin's policy: cannot fetch the policy \
             from origin: git fetch failed"
        ) && lines[0].ends_with("; pushing anyway (the server decides)"),
        "{}",
        p.transcript()
    );
    assert_eq!(p.ref_after("refs/heads/main"), Some(id.as_str()));
}

#[test]
fn no_verify_skips_the_check_and_the_server_decides() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = checked_client(&s, "bob", None);
    let id = bob.commit("Unsigned", Sign::Unsigned);
    let p = bob.push(&["--no-verify", "HEAD:refs/heads/main"]);
    assert!(local_lines(&p).is_empty(), "{}", p.transcript());
    p.assert_rejected("unsigned", &id)
        .assert_declined("refs/heads/main")
        .assert_refs_unchanged();
    // The hook never ran: not even the policy was fetched.
    assert!(
        bob.git_raw(&["rev-parse", "-q", "--verify", "refs/refguard/origin/policy"])
            .stdout
            .is_empty()
    );
}

#[test]
fn the_pusher_is_the_holder_of_the_signing_key() {
    let s = Scenario::new(Hook::PreReceive);
    let c = s.client("bob");
    install_client(&s, &c, None).assert_success("install --client");
    c.git(&["config", "gpg.format", "ssh"]);
    let id = c.commit("Signed by bob", Sign::Own);

    // carol's key: carol may not push to main.
    let carol = key("carol").private.display().to_string();
    c.git(&["config", "user.signingKey", &carol]);
    let log = audit_text(&s);
    let p = c.push(&["HEAD:refs/heads/main"]);
    let lines = assert_blocked(&p, &s, &log);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("refguard:   [push-denied] ")),
        "{}",
        p.transcript()
    );
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            "as user carol, holder of user.signingKey {})",
            key("carol").fingerprint
        ))),
        "{}",
        p.transcript()
    );

    // A key no user of the policy holds: the check cannot tell who pushes, and lets go.
    let mallory = format!("key::{}", key("mallory").public);
    c.git(&["config", "user.signingKey", &mallory]);
    let p = c.push(&["HEAD:refs/heads/main"]);
    p.assert_accepted();
    let lines = local_lines(&p);
    assert_eq!(lines.len(), 1, "{}", p.transcript());
    assert!(
        lines[0].contains("no user of the policy holds user.signingKey"),
        "{}",
        p.transcript()
    );
    assert_eq!(p.ref_after("refs/heads/main"), Some(id.as_str()));

    // bob's own key (the public key file): judged as bob, nothing to say.
    let next = c.commit("More", Sign::Own);
    let bob_pub = format!("{}.pub", key("bob").private.display());
    c.git(&["config", "user.signingKey", &bob_pub]);
    let p = c.push(&["HEAD:refs/heads/main"]);
    p.assert_accepted();
    assert!(local_lines(&p).is_empty(), "{}", p.transcript());
    assert_eq!(p.ref_after("refs/heads/main"), Some(next.as_str()));
}

#[test]
fn remote_tracking_refs_hide_what_the_server_has_and_local_branches_hide_nothing() {
    // release/1.0 on the server carries a commit signed with trent's key, which has since
    // expired (pushed before the hook was installed).
    let s = Scenario::builder(Hook::PreReceive).hook(None).build();
    let alice = s.client("alice");
    alice.branch("release", "origin/release/1.0");
    let old = alice.commit("Signed by trent long ago", Sign::By("trent"));
    alice
        .push(&["HEAD:refs/heads/release/1.0"])
        .assert_accepted();
    s.install(Hook::PreReceive).assert_success("install");

    // Fast-forwarding main to release/1.0 brings nothing new: release/1.0's tip hides it, on
    // the server and (through refs/remotes/origin/release/1.0) in the check.
    let bob = checked_client(&s, "bob", None);
    bob.reset_hard("origin/release/1.0");
    let p = bob.push(&["HEAD:refs/heads/main"]);
    p.assert_accepted();
    assert!(local_lines(&p).is_empty(), "{}", p.transcript());
    assert_eq!(p.ref_after("refs/heads/main"), Some(old.as_str()));

    // A local branch is no server ref: its unsigned commit is new in what bob pushes.
    bob.branch("wip", "HEAD");
    let unsigned = bob.commit("Local only", Sign::Unsigned);
    let signed = bob.commit("Signed on top", Sign::Own);
    let log = audit_text(&s);
    let p = bob.push(&["HEAD:refs/heads/main"]);
    let lines = assert_blocked(&p, &s, &log);
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "refguard:   [unsigned] commit {}",
            short(&unsigned)
        ))),
        "{}",
        p.transcript()
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("refguard:   [") && l.contains(short(&signed))),
        "bob's signed commit is fine\n{}",
        p.transcript()
    );
}

/// The standard policy with a production rule needing one approval by release managers.
fn production_policy() -> String {
    let text = fixture_policy("standard").replacen(
        "policy-admins = [\"alice\"]",
        "policy-admins = [\"alice\"]\ndeployers = [\"bob\"]",
        1,
    );
    let at = text.find("[[rule]]").expect("standard policy has rules");
    let rule = format!(
        "[[rule]]\nrefs = [\"{PRODUCTION}\"]\npush = [\"deployers\"]\ncreate = [\"deployers\"]\n\
         signers = [\"developers\"]\napprovals = {{ by = [\"release-managers\"], count = 1 }}\n\n"
    );
    format!("{}{rule}{}", &text[..at], &text[at..])
}

#[test]
fn the_check_fetches_the_approvals_of_what_it_pushes() {
    let s = Scenario::builder(Hook::PreReceive)
        .policy(production_policy())
        .build();
    let alice = s.client("alice");
    alice
        .approve(&[&s.initial, "--ref", PRODUCTION])
        .assert_success("approve the create");
    let bob = checked_client(&s, "bob", None);
    bob.push(&[&format!("{}:{PRODUCTION}", s.initial)])
        .assert_accepted();
    let next = bob.commit("Release 1.1", Sign::Own);
    bob.push(&["HEAD:refs/heads/wip/release"]).assert_accepted();

    let log = audit_text(&s);
    let p = bob.push(&[&format!("HEAD:{PRODUCTION}")]);
    let lines = assert_blocked(&p, &s, &log);
    assert!(
        lines.iter().any(|l| l
            .starts_with("refguard:   [approvals-missing] 0 of 1 approval by release-managers")),
        "{}",
        p.transcript()
    );

    let dave = s.client("dave");
    dave.git(&["fetch", "-q", "origin", "refs/heads/wip/release"]);
    dave.approve(&[&next, "--ref", PRODUCTION])
        .assert_success("approve the deployment");
    let p = bob.push(&[&format!("HEAD:{PRODUCTION}")]);
    p.assert_accepted();
    assert!(local_lines(&p).is_empty(), "{}", p.transcript());
    assert_eq!(p.ref_after(PRODUCTION), Some(next.as_str()));
}

#[test]
fn a_policy_change_is_checked_like_the_server_checks_it() {
    let s = Scenario::new(Hook::PreReceive);
    let alice = checked_client(&s, "alice", None);
    alice.checkout_policy();
    let text = fs::read_to_string(alice.dir().join("roles.toml")).expect("roles.toml");
    let edited = text.replace(
        "policy-admins = [\"alice\"]",
        "policy-admins = [\"alice\", \"dave\"]",
    );
    alice.commit_file("roles.toml", &edited, "Add dave", Sign::Unsigned);
    let log = audit_text(&s);
    let p = alice.push(&["HEAD:refs/meta/policy"]);
    let lines = assert_blocked(&p, &s, &log);
    for code in ["unsigned", "approvals-missing"] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("refguard:   [{code}] "))),
            "{code}\n{}",
            p.transcript()
        );
    }
    alice.git(&["reset", "-q", "--soft", "HEAD~1"]);
    let signed = alice.commit_file("roles.toml", &edited, "Add dave", Sign::Own);
    let p = alice.push(&["HEAD:refs/meta/policy"]);
    p.assert_accepted();
    assert!(local_lines(&p).is_empty(), "{}", p.transcript());
    assert_eq!(p.ref_after(POLICY), Some(signed.as_str()));
}

// ---- verify ------------------------------------------------------------------------------

/// A mirror clone of the server (every ref under its own name), as a security team makes it.
pub(crate) fn mirror(s: &Scenario) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = s.home().join(format!(
        "mirror-{}.git",
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let mut cmd = isolated("git", s.home());
    cmd.args(["clone", "-q", "--mirror"])
        .arg(format!("file://{}", s.server().display()))
        .arg(&dir);
    run_ok(cmd, None);
    dir
}

/// `refguard verify --repo DIR ARGS`.
pub(crate) fn verify(s: &Scenario, repo: &Path, args: &[&str]) -> CmdOutput {
    let dir = repo.to_str().expect("UTF-8 path");
    let mut full = vec!["verify", "--repo", dir];
    full.extend(args);
    s.refguard_str(&full)
}

/// `verify --format json`, parsed.
pub(crate) fn verify_json(
    s: &Scenario,
    repo: &Path,
    args: &[&str],
) -> (Option<i32>, serde_json::Value) {
    let mut full = args.to_vec();
    full.extend(["--format", "json"]);
    let out = verify(s, repo, &full);
    let value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("verify --format json: {e}\n{}\n{}", out.stdout, out.stderr));
    (out.code, value)
}

/// alice's signed policy change (dave becomes a policy admin), pushed; returns its id.
fn push_policy_change(s: &Scenario, edit: impl Fn(&str) -> String, extra: Option<&str>) -> String {
    let alice = s.client("alice");
    alice.checkout_policy();
    let text = fs::read_to_string(alice.dir().join("roles.toml")).expect("roles.toml");
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit changed nothing");
    let mut id = alice.commit_file("roles.toml", &edited, "Change the policy", Sign::Own);
    if let Some(second) = extra {
        id = alice.commit("Approved", Sign::By(second));
    }
    alice.push(&["HEAD:refs/meta/policy"]).assert_accepted();
    id
}

fn add_dave_as_admin(text: &str) -> String {
    text.replace(
        "policy-admins = [\"alice\"]",
        "policy-admins = [\"alice\", \"dave\"]",
    )
}

#[test]
fn verify_authenticates_a_clean_chain_and_history() {
    let s = Scenario::new(Hook::PreReceive);
    let root = s.server_ref(POLICY).expect("init commit");
    let change = push_policy_change(&s, add_dave_as_admin, None);
    let m = mirror(&s);
    let out = verify(&s, &m, &["--trust-root", &root]);
    out.assert_success("a clean chain");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "refguard: policy chain refs/meta/policy: trust root {} .. tip {}, 1 commit",
            short(&root),
            short(&change)
        )),
        "{}",
        out.stdout
    );
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "refguard:   step {}..{}",
            short(&root),
            short(&change)
        )) && l.contains("approved by alice")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "refguard: chain: unbroken, 1 step verified; the policy at {} is authentic",
            short(&change)
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "refguard: history against the authenticated policy at {}: 1 commit, 1 tag: \
             2 judged, 0 baseline; 0 violations",
            short(&change)
        )),
        "{}",
        out.stdout
    );
    assert_eq!(lines.last(), Some(&"refguard: verified"));

    let (code, json) = verify_json(&s, &m, &["--trust-root", &root]);
    assert_eq!(code, Some(0));
    assert_eq!(json["verified"], true);
    assert_eq!(json["chain"]["unbroken"], true);
    assert_eq!(json["chain"]["authenticated"], change.as_str());
    assert_eq!(json["chain"]["steps"][0]["approvers"][0], "alice");
    assert_eq!(json["history"]["violations"], 0);
}

#[test]
fn verify_counts_two_admins_approving_one_change() {
    let policy = fixture_policy("standard")
        .replace(
            "policy-admins = [\"alice\"]",
            "policy-admins = [\"alice\", \"dave\"]",
        )
        .replace(
            "admins = [\"policy-admins\"]",
            "admins = [\"policy-admins\"]\napprovals = 2",
        );
    let s = Scenario::builder(Hook::PreReceive).policy(policy).build();
    let root = s.server_ref(POLICY).expect("init commit");
    let tip = push_policy_change(
        &s,
        |t| {
            t.replace(
                "developers = [\"bob\",",
                "developers = [\"carol\", \"bob\",",
            )
        },
        Some("dave"),
    );
    let (code, json) = verify_json(&s, &mirror(&s), &["--trust-root", &root]);
    assert_eq!(code, Some(0), "{json}");
    let steps = json["chain"]["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 1, "{json}");
    assert_eq!(steps[0]["to"], tip.as_str());
    assert_eq!(steps[0]["commits"], 2);
    assert_eq!(steps[0]["approvers"], serde_json::json!(["alice", "dave"]));
}

#[test]
fn a_policy_reset_on_the_server_breaks_the_chain() {
    let s = Scenario::new(Hook::PreReceive);
    let root = s.server_ref(POLICY).expect("init commit");
    let change = push_policy_change(&s, add_dave_as_admin, None);
    let file = s.write_file("reset.toml", &fixture_policy("standard"));
    s.refguard_repo(&[
        "policy",
        "reset",
        "--policy",
        file.to_str().expect("UTF-8"),
        "--yes-i-hold-the-server",
    ])
    .assert_success("policy reset");
    let reset = s.server_ref(POLICY).expect("reset commit");
    let m = mirror(&s);

    let out = verify(&s, &m, &["--trust-root", &root]);
    out.assert_code(1, "a reset breaks the chain");
    assert!(
        out.stdout.contains(&format!(
            "refguard: chain: BROKEN after {} (1 step verified, 1 commit after it not verified)",
            short(&change)
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "refguard:   [server-written] commit {} \"refguard policy reset by",
            short(&reset)
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "verify from there: refguard verify --trust-root {reset}"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "refguard: history against the last authenticated policy at {}: ",
            short(&change)
        )),
        "{}",
        out.stdout
    );
    let (_, json) = verify_json(&s, &m, &["--trust-root", &root]);
    assert_eq!(json["chain"]["break"]["kind"], "server-written");
    assert_eq!(json["chain"]["break"]["commit"], reset.as_str());

    // Accepted as a new trust root, what follows it verifies.
    verify(&s, &m, &["--trust-root", &reset]).assert_success("from the reset");
}

#[test]
fn a_bypass_commit_written_on_the_server_breaks_the_chain() {
    let s = Scenario::new(Hook::PreReceive);
    let root = s.server_ref(POLICY).expect("init commit");
    // Someone with a shell on the server writes a policy commit past the hook.
    let text = s.server_git(&["cat-file", "blob", &format!("{root}:roles.toml")]);
    let edited = text.replace(
        "maintainers = [\"alice\"]",
        "maintainers = [\"alice\", \"mallory\"]",
    );
    let git_in_server = |args: &[&str], stdin: Option<&[u8]>| {
        let mut cmd = isolated("git", s.home());
        cmd.current_dir(s.server()).args(args);
        run_ok(cmd, stdin).trim().to_string()
    };
    let blob = git_in_server(&["hash-object", "-w", "--stdin"], Some(edited.as_bytes()));
    let tree = git_in_server(
        &["mktree"],
        Some(format!("100644 blob {blob}\troles.toml\n").as_bytes()),
    );
    let bypass = git_in_server(
        &[
            "commit-tree",
            &tree,
            "-p",
            &root,
            "-m",
            "Quietly widen maintainers",
        ],
        None,
    );
    git_in_server(&["update-ref", POLICY, &bypass, &root], None);

    let out = verify(&s, &mirror(&s), &["--trust-root", &root]);
    out.assert_code(1, "a bypass breaks the chain");
    assert!(
        out.stdout.contains(&format!(
            "refguard: chain: BROKEN after {} (0 steps verified, 1 commit after it not verified)",
            short(&root)
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("refguard:   [not-approved] "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "refguard:     [unsigned] commit {} \"Quietly widen maintainers\": not signed",
            short(&bypass)
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("[approvals-missing]"), "{}", out.stdout);
    assert!(
        out.stdout.ends_with("refguard: NOT verified\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_wrong_trust_root_is_refused() {
    let s = Scenario::new(Hook::PreReceive);
    let root = s.server_ref(POLICY).expect("init commit");
    push_policy_change(&s, add_dave_as_admin, None);
    let m = mirror(&s);

    // Not a policy commit: main's first commit has no roles.toml.
    let out = verify(&s, &m, &["--trust-root", &s.initial]);
    out.assert_code(2, "not a policy commit");
    assert!(
        out.stderr.contains(&format!(
            "the trust root {} is not a policy commit: no roles.toml",
            s.initial
        )),
        "{}",
        out.stderr
    );
    // Not in the clone at all.
    let missing = "1234567890123456789012345678901234567890";
    let out = verify(&s, &m, &["--trust-root", missing]);
    out.assert_code(2, "unknown trust root");
    assert!(
        out.stderr.contains("is not a commit in this repository"),
        "{}",
        out.stderr
    );
    // An abbreviation is not a pin.
    let out = verify(&s, &m, &["--trust-root", short(&root)]);
    out.assert_code(2, "abbreviated");
    assert!(
        out.stderr.contains("takes a full commit id"),
        "{}",
        out.stderr
    );

    // A policy commit the branch does not descend from (another branch's policy).
    let git_in_mirror = |args: &[&str]| {
        let mut cmd = isolated("git", s.home());
        cmd.current_dir(&m).args(args);
        run_ok(cmd, None).trim().to_string()
    };
    let tree = git_in_mirror(&["rev-parse", &format!("{root}^{{tree}}")]);
    let elsewhere = git_in_mirror(&["commit-tree", &tree, "-m", "Another policy branch"]);
    let out = verify(&s, &m, &["--trust-root", &elsewhere]);
    out.assert_code(1, "not an ancestor");
    assert!(
        out.stdout.contains(&format!(
            "refguard:   [not-descendant] the tip {} does not descend from the trust root {}",
            short(&s.server_ref(POLICY).expect("tip")),
            short(&elsewhere)
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn history_violations_fail_verification() {
    // An unsigned commit landed on main while no hook guarded the server.
    let s = Scenario::builder(Hook::PreReceive).hook(None).build();
    let root = s.server_ref(POLICY).expect("init commit");
    let bob = s.client("bob");
    let unsigned = bob.commit("Sneaked in", Sign::Unsigned);
    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
    let m = mirror(&s);

    let out = verify(&s, &m, &["--trust-root", &root]);
    out.assert_code(1, "a violation in history");
    assert!(
        out.stdout
            .contains("refguard: chain: unbroken, 0 steps verified"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "refguard:   refs/heads/main: [unsigned] commit {} \"Sneaked in\": not signed",
            short(&unsigned)
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("1 violation (unsigned 1)"),
        "{}",
        out.stdout
    );
    let (_, json) = verify_json(&s, &m, &["--trust-root", &root]);
    assert_eq!(json["verified"], false);
    assert_eq!(json["history"]["findings"][0]["id"], unsigned.as_str());

    // Narrowed to a clean ref, it verifies.
    verify(
        &s,
        &m,
        &["--trust-root", &root, "--ref", "refs/heads/release/1.0"],
    )
    .assert_success("release/1.0 is clean");
}

#[test]
fn verify_in_an_ordinary_clone_uses_the_policy_the_check_fetched() {
    let s = Scenario::new(Hook::PreReceive);
    let root = s.server_ref(POLICY).expect("init commit");
    let bob = checked_client(&s, "bob", None);
    let out = verify(&s, bob.dir(), &["--trust-root", &root]);
    out.assert_code(2, "no policy branch yet");
    assert!(
        out.stderr
            .contains("fetch it: git fetch origin refs/meta/policy"),
        "{}",
        out.stderr
    );

    bob.commit("Signed", Sign::Own);
    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
    let out = verify(&s, bob.dir(), &["--trust-root", &root]);
    out.assert_code(2, "the fetched policy is named");
    assert!(
        out.stderr
            .contains("use --policy-ref with one of: refs/refguard/origin/policy"),
        "{}",
        out.stderr
    );
    verify(
        &s,
        bob.dir(),
        &[
            "--trust-root",
            &root,
            "--policy-ref",
            "refs/refguard/origin/policy",
        ],
    )
    .assert_success("the fetched policy verifies");
}
