//! `refguard install` and `refguard init` on a server repository, and the audit log the hook
//! keeps.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::both_hooks;
use crate::scenario::{Hook, Scenario, Sign, fixture_policy};

const FOREIGN_HOOK: &str = "#!/bin/sh\n# someone else's hook\nexit 0\n";

fn install(s: &Scenario, hook: &str, force: bool) -> crate::scenario::CmdOutput {
    let server = s.server().to_str().expect("UTF-8 temp path");
    let mut args = vec!["install", "--repo", server, "--hook", hook];
    if force {
        args.push("--force");
    }
    s.refguard_str(&args)
}

fn is_executable(path: &std::path::Path) -> bool {
    fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[test]
fn install_both_puts_two_executable_hooks_in_place() {
    let s = Scenario::new(Hook::Both);
    for name in ["pre-receive", "update"] {
        let path = s.server().join("hooks").join(name);
        assert!(is_executable(&path), "{} is not executable", path.display());
    }
    let bob = s.client("bob");
    let id = bob.commit("Unsigned", Sign::Unsigned);
    // pre-receive runs first and declines the whole push.
    bob.push(&["HEAD:refs/heads/main"])
        .assert_rejected("unsigned", &id)
        .assert_header("refs/heads/main", &s.initial, &id)
        .assert_declined("refs/heads/main")
        .assert_refs_unchanged();
    bob.reset_hard(&s.initial);
    let id = bob.commit("Signed", Sign::Own);
    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
    assert_eq!(s.server_ref("refs/heads/main"), Some(id));
}

#[test]
fn install_refuses_a_foreign_hook_without_force() {
    let s = Scenario::builder(Hook::PreReceive).hook(None).build();
    s.install_script_hook("pre-receive", FOREIGN_HOOK);
    let hook_path = s.server().join("hooks/pre-receive");

    let out = install(&s, "pre-receive", false);
    assert_ne!(
        out.code,
        Some(0),
        "install overwrote a foreign hook\n{out:?}"
    );
    assert_eq!(
        fs::read_to_string(&hook_path).expect("read hook"),
        FOREIGN_HOOK,
        "a refused install must leave the foreign hook alone"
    );

    install(&s, "pre-receive", true).assert_success("install --force");
    assert_ne!(
        fs::read_to_string(&hook_path).expect("read hook"),
        FOREIGN_HOOK
    );
    assert!(is_executable(&hook_path));

    // And refguard is now the one judging pushes.
    let bob = s.client("bob");
    let id = bob.commit("Unsigned", Sign::Unsigned);
    bob.push(&["HEAD:refs/heads/main"])
        .assert_rejected("unsigned", &id)
        .assert_refs_unchanged();
}

#[test]
fn reinstalling_refguards_own_hook_needs_no_force() {
    let s = Scenario::new(Hook::Update);
    install(&s, "update", false).assert_success("second install of the same hook");
    install(&s, "both", false).assert_success("adding pre-receive next to update");
    assert!(is_executable(&s.server().join("hooks/pre-receive")));
}

#[test]
fn init_refuses_an_existing_policy_branch() {
    let s = Scenario::new(Hook::PreReceive);
    let before = s.server_refs();
    let file = s.home().join("again.toml");
    fs::write(&file, fixture_policy("standard")).expect("write roles file");
    let out = s.refguard_str(&[
        "init",
        "--repo",
        s.server().to_str().expect("UTF-8 path"),
        "--policy",
        file.to_str().expect("UTF-8 path"),
    ]);
    assert_ne!(out.code, Some(0), "init over an existing policy\n{out:?}");
    assert_eq!(s.server_refs(), before);
}

#[test]
fn init_refuses_an_invalid_policy() {
    let s = Scenario::builder(Hook::PreReceive).no_policy().build();
    let file = s.home().join("bad.toml");
    fs::write(&file, "version = 2\n").expect("write roles file");
    let out = s.refguard_str(&[
        "init",
        "--repo",
        s.server().to_str().expect("UTF-8 path"),
        "--policy",
        file.to_str().expect("UTF-8 path"),
    ]);
    assert_ne!(out.code, Some(0), "init with an invalid policy\n{out:?}");
    assert_eq!(s.server_ref("refs/meta/policy"), None);
}

#[test]
fn init_stores_the_file_as_roles_toml() {
    let s = Scenario::new(Hook::PreReceive);
    let stored = s.server_git(&["show", "refs/meta/policy:roles.toml"]);
    assert_eq!(stored, fixture_policy("standard"));
}

#[test]
fn hook_decisions_are_audited_and_the_chain_verifies() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = s.client("bob");
    let bad = bob.commit("Unsigned", Sign::Unsigned);
    bob.push(&["HEAD:refs/heads/main"])
        .assert_reason("unsigned");
    bob.reset_hard(&s.initial);
    let good = bob.commit("Signed", Sign::Own);
    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();

    let log = s.audit_log();
    let text = fs::read_to_string(&log)
        .unwrap_or_else(|e| panic!("read audit log {}: {e}", log.display()));
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect();
    assert_eq!(records.len(), 2, "{text}");
    let (rejected, accepted) = (&records[0], &records[1]);
    assert_eq!(rejected["v"], 2);
    for field in ["approvals", "grants", "evaluate"] {
        assert_eq!(rejected[field], serde_json::json!([]), "{field}");
    }
    assert_eq!(rejected["org_policy"], serde_json::Value::Null);
    assert_eq!(rejected["decision"], "reject");
    assert_eq!(rejected["ref"], "refs/heads/main");
    assert_eq!(rejected["new"], bad.as_str());
    assert_eq!(rejected["pusher"], "bob");
    assert_eq!(rejected["reasons"][0]["code"], "unsigned");
    assert_eq!(rejected["prev"], "0".repeat(64));
    assert_eq!(accepted["decision"], "accept");
    assert_eq!(accepted["new"], good.as_str());

    let server = s.server().to_str().expect("UTF-8 path");
    s.refguard_str(&["audit", "verify", "--repo", server])
        .assert_success("audit verify on an intact log");

    // Tamper with the first line: verification must fail.
    fs::write(&log, text.replacen("\"reject\"", "\"accept\"", 1)).expect("rewrite audit log");
    s.refguard_str(&["audit", "verify", "--repo", server])
        .assert_code(1, "audit verify on a tampered log");
}

#[test]
fn binary_invoked_as_pre_receive_acts_as_the_hook() {
    // Spec §5: a symlink named `pre-receive` behaves as `refguard hook pre-receive`.
    let s = Scenario::builder(Hook::PreReceive).hook(None).build();
    std::os::unix::fs::symlink(
        crate::scenario::refguard_bin(),
        s.server().join("hooks/pre-receive"),
    )
    .expect("symlink the binary as hooks/pre-receive");
    let bob = s.client("bob");
    let id = bob.commit("Unsigned", Sign::Unsigned);
    bob.push(&["HEAD:refs/heads/main"])
        .assert_rejected("unsigned", &id)
        .assert_header("refs/heads/main", &s.initial, &id)
        .assert_refs_unchanged();
    bob.reset_hard(&s.initial);
    let id = bob.commit("Signed", Sign::Own);
    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
    assert_eq!(s.server_ref("refs/heads/main"), Some(id));
}

both_hooks!(
    fn unwritable_audit_log_rejects_the_push(hook) {
        let s = Scenario::new(hook);
        // A directory where the log file should be: appending to it fails.
        fs::create_dir_all(s.audit_log())
            .expect("block the audit log path");
        let bob = s.client("bob");
        bob.commit("Signed, but unloggable", Sign::Own);
        let p = bob.push(&["HEAD:refs/heads/main"]);
        assert!(!p.success, "fail closed: the push must be rejected\n{}", p.transcript());
        p.assert_declined("refs/heads/main")
            .assert_refs_unchanged();
        assert!(
            p.remote.iter().any(|l| l.starts_with("refguard:")),
            "the pusher should be told why\n{}",
            p.transcript()
        );
    }
);
