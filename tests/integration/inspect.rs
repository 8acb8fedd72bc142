//! `policy show`, `who-can`, `keys allowed-signers` and `policy reset`, driven through the
//! built binary against a real bare repository (the shared `Scenario` harness).

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::scenario::{CmdOutput, Pusher, Scenario, Sign, key, render_template};

const POLICY_REF: &str = "refs/meta/policy";

/// The local account `policy reset` names: refguard reads `$USER`.
const SERVER_ADMIN: &[(&str, &str)] = &[("USER", "root-on-server")];

/// The policy branch's tip on the server.
fn policy_tip(s: &Scenario) -> String {
    s.server_ref(POLICY_REF).expect("a policy branch")
}

/// Runs refguard against the server as the server's admin; returns the output, any exit code.
fn refguard(s: &Scenario, args: &[&str]) -> CmdOutput {
    s.refguard_repo_with(args, SERVER_ADMIN)
}

/// Runs refguard against the server; asserts it exited `code`, returns stdout.
fn stdout_of(s: &Scenario, args: &[&str], code: i32) -> String {
    let out = refguard(s, args);
    out.assert_code(code, "refguard");
    out.stdout
}

/// `policy reset` to the roles file `file`, as the server's admin who confirms holding the
/// server.
fn reset(s: &Scenario, file: &Path) -> CmdOutput {
    let file = file.to_str().expect("UTF-8 temp path");
    refguard(
        s,
        &[
            "policy",
            "reset",
            "--policy",
            file,
            "--yes-i-hold-the-server",
        ],
    )
}

/// The 1-based line of the `n`th (0-based) line equal to `needle` in `text`.
fn line_of(text: &str, needle: &str, n: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == needle)
        .nth(n)
        .map(|(i, _)| i + 1)
        .expect("line present")
}

/// A realistic team's policy: alice (maintainer, admin; key expires in 2099), bob
/// (developer; his old key `bob-old` is revoked but still listed), carol (developer; her key
/// expired), dave (admin).
fn team_policy() -> String {
    render_template(
        r#"version = 1

[users.alice]
keys = [{ key = "{{key:alice}}", expires = "2099-12-31T00:00:00Z" }]
names = ["alice", "alice@example.com"]

[users.bob]
keys = ["{{key:bob}}", "{{key:bob-old}}"]

[users.carol]
keys = [{ key = "{{key:carol}}", expires = "2020-01-01T00:00:00Z" }]

[users.dave]
keys = ["{{key:dave}}"]

[roles]
maintainers = ["alice"]
developers = ["bob", "carol", "maintainers"]
policy-admins = ["alice", "dave"]

[policy]
admins = ["policy-admins"]
approvals = 1

[[revoked]]
key = "{{fingerprint:bob-old}}"
reason = "laptop stolen"

[[rule]]
refs = ["refs/heads/main", "refs/heads/release/*"]
push = ["maintainers"]
delete = []
signers = ["developers"]
merge = ["maintainers"]

[[rule]]
refs = ["refs/heads/feature/**"]

[[rule]]
refs = ["refs/heads/linear"]
linear = true
signers = ["developers"]
"#,
    )
}

/// An empty server whose policy is the team's.
fn team_server() -> (Scenario, String) {
    let s = Scenario::bare().build();
    let policy = team_policy();
    s.init_policy(&policy).assert_success("refguard init");
    (s, policy)
}

#[test]
fn policy_show_text_and_json() {
    let (s, policy) = team_server();
    let tip = policy_tip(&s);
    let rule1 = line_of(&policy, "[[rule]]", 0);
    let rule2 = line_of(&policy, "[[rule]]", 1);

    let text = stdout_of(&s, &["policy", "show"], 0);
    for needle in [
        format!("policy refs/meta/policy at {tip}"),
        "  alice  names: alice, alice@example.com".to_string(),
        format!(
            "    active   ssh-ed25519 {} alice  expires 2099-12-31T00:00:00Z",
            key("alice").fingerprint
        ),
        format!(
            "    revoked  ssh-ed25519 {} bob-old",
            key("bob-old").fingerprint
        ),
        format!(
            "    expired  ssh-ed25519 {} carol",
            key("carol").fingerprint
        ),
        "  developers = [bob, carol, maintainers] → alice, bob, carol".to_string(),
        "  admins:    policy-admins → alice, dave".to_string(),
        "  approvals: 1".to_string(),
        format!(
            "  {}  reason: laptop stolen  still listed by bob",
            key("bob-old").fingerprint
        ),
        format!("  rule 1 (roles.toml:{rule1}): refs/heads/main, refs/heads/release/*"),
        "    push:       maintainers → alice".to_string(),
        "    delete:     [] → nobody".to_string(),
        "    force_push: absent: nobody".to_string(),
        format!("  rule 2 (roles.toml:{rule2}): refs/heads/feature/**"),
        "    push:       absent: anyone, including unknown pushers".to_string(),
        "    create:     absent: same as push → anyone, including unknown pushers".to_string(),
        "    signers:    absent: unsigned commits allowed".to_string(),
        "    merge:      absent: any allowed signer → unsigned commits allowed".to_string(),
    ] {
        assert!(text.contains(&needle), "{needle:?} not in:\n{text}");
    }

    let out = stdout_of(&s, &["policy", "show", "--format", "json"], 0);
    let json: Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(json["policy_commit"], tip.as_str());
    assert_eq!(json["users"][0]["id"], "alice");
    assert_eq!(json["users"][1]["keys"][1]["status"], "revoked");
    assert_eq!(json["users"][2]["keys"][0]["status"], "expired");
    assert_eq!(json["admins"]["approvals"], 1);
    assert_eq!(json["revoked"][0]["still_listed_by"], "bob");
    assert_eq!(json["rules"][0]["location"], format!("roles.toml:{rule1}"));
    assert_eq!(json["rules"][1]["push"]["written"], Value::Null);
    assert_eq!(json["rules"][1]["push"]["effect"], "anyone");
    assert_eq!(
        json["rules"][0]["signers"]["users"],
        serde_json::json!(["alice", "bob", "carol"])
    );
}

#[test]
fn who_can_answers_each_action() {
    let (s, policy) = team_server();
    let rule1 = line_of(&policy, "[[rule]]", 0);
    let ask = |action: &str, refname: &str| stdout_of(&s, &["who-can", action, refname], 0);

    let push = ask("push", "refs/heads/release/2.0");
    assert!(
        push.starts_with(&format!(
            "refs/heads/release/2.0: rule 1 (roles.toml:{rule1}): refs/heads/main, refs/heads/release/*\n\
             push: maintainers → alice\n  alice\n"
        )),
        "{push}"
    );
    assert!(ask("create", "refs/heads/main").contains("create: absent: same as push → alice"));
    assert!(ask("delete", "refs/heads/main").contains("delete: [] → nobody\n  nobody"));
    assert!(ask("force-push", "refs/heads/main").contains("force-push: absent: nobody\n  nobody"));
    assert!(
        ask("push", "refs/heads/feature/x/y")
            .contains("push: absent: anyone, including unknown pushers")
    );
    assert!(
        ask("create", "refs/heads/feature/x")
            .contains("create: absent: same as push → anyone, including unknown pushers")
    );
    assert!(ask("sign", "refs/heads/feature/x").contains("sign: absent: unsigned commits allowed"));
    let unprotected = ask("push", "refs/heads/other");
    assert!(
        unprotected.starts_with("refs/heads/other: no rule: unprotected, anyone\n"),
        "{unprotected}"
    );

    // sign: only active keys count; carol (expired) and bob's revoked key are named apart.
    let sign = ask("sign", "refs/heads/main");
    assert!(
        sign.contains(&format!("  alice  {}", key("alice").fingerprint)),
        "{sign}"
    );
    assert!(
        sign.contains(&format!("  bob    {}", key("bob").fingerprint)),
        "{sign}"
    );
    assert!(
        sign.contains(&format!("  bob    {} revoked", key("bob-old").fingerprint)),
        "{sign}"
    );
    assert!(
        sign.contains(&format!("  carol  {} expired", key("carol").fingerprint)),
        "{sign}"
    );
    assert!(
        sign.contains("note: carol is listed but has no active key"),
        "{sign}"
    );

    assert!(
        ask("merge", "refs/heads/main").contains(&format!("  alice  {}", key("alice").fingerprint))
    );
    assert!(ask("merge", "refs/heads/linear").contains("merge: no merges: linear = true"));

    // The policy branch answers from [policy].
    let policy_push = ask("push", POLICY_REF);
    assert!(
        policy_push.starts_with(
            "refs/meta/policy: the policy branch, governed by [policy]\n\
             push: policy-admins → alice, dave\n  alice\n  dave\n"
        ),
        "{policy_push}"
    );
    assert!(ask("sign", POLICY_REF).contains(&format!("  dave   {}", key("dave").fingerprint)));
    assert!(ask("delete", POLICY_REF).contains("  nobody"));
    assert!(ask("force-push", POLICY_REF).contains("  nobody"));

    let out = stdout_of(
        &s,
        &["who-can", "sign", "refs/heads/main", "--format", "json"],
        0,
    );
    let json: Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(json["ref"], "refs/heads/main");
    assert_eq!(json["action"], "sign");
    assert_eq!(json["governed_by"]["kind"], "rule");
    assert_eq!(json["answer"], "alice, bob");
    assert_eq!(
        json["users"][1]["keys"],
        serde_json::json!([key("bob").fingerprint])
    );
    assert_eq!(json["excluded"][0]["status"], "revoked");
    assert_eq!(json["excluded"][1]["user"], "carol");

    let out = refguard(
        &s,
        &[
            "who-can",
            "push",
            "refs/heads/feature/a",
            "--format",
            "json",
        ],
    );
    let json: Value = serde_json::from_str(&out.stdout).expect("valid JSON");
    assert_eq!(json["effect"], "anyone");
    assert_eq!(json["answer"], "anyone, including unknown pushers");
}

#[test]
fn allowed_signers_output_is_accepted_by_git() {
    let (s, _) = team_server();
    let text = stdout_of(&s, &["keys", "allowed-signers"], 0);
    let b64 = |name: &str| {
        key(name)
            .public
            .split_whitespace()
            .nth(1)
            .expect("b64")
            .to_string()
    };
    assert_eq!(
        text,
        format!(
            "alice,alice@example.com namespaces=\"git\",valid-before=\"20991231000000Z\" ssh-ed25519 {}\n\
             bob namespaces=\"git\" ssh-ed25519 {}\n\
             dave namespaces=\"git\" ssh-ed25519 {}\n",
            b64("alice"),
            b64("bob"),
            b64("dave")
        )
    );
    let file = s.write_file("allowed_signers", &text);
    let config = format!("gpg.ssh.allowedSignersFile={}", file.display());

    let client = s.client("verify");
    let verify = |id: &str| client.git_raw(&["-c", &config, "verify-commit", id]);
    for principal in ["alice", "bob", "dave"] {
        let id = client.commit(&format!("by {principal}"), Sign::By(principal));
        let out = verify(&id);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{principal}: {stderr}");
        assert!(
            stderr.contains(&format!("Good \"git\" signature for {principal}")),
            "{stderr}"
        );
    }
    for (signer, who) in [
        ("bob-old", "bob's revoked key"),
        ("carol", "carol's expired key"),
    ] {
        let id = client.commit(who, Sign::By(signer));
        assert!(!verify(&id).status.success(), "{who} must not verify");
    }
}

#[test]
fn reset_refuses_without_the_flag_and_with_an_invalid_file() {
    let (s, policy) = team_server();
    let tip = policy_tip(&s);
    let good = s.write_file("new.toml", &policy);

    let out = refguard(
        &s,
        &["policy", "reset", "--policy", good.to_str().expect("utf-8")],
    );
    out.assert_code(2, "reset without --yes-i-hold-the-server");
    assert!(
        out.stderr.contains("--yes-i-hold-the-server"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("without any admin signature"),
        "{}",
        out.stderr
    );
    assert_eq!(policy_tip(&s), tip);

    let bad = s.write_file("bad.toml", "version = 2\n");
    let bad_name = bad.display().to_string();
    let out = reset(&s, &bad);
    out.assert_code(1, "reset to an invalid file");
    assert!(
        out.stderr.contains(&format!("{bad_name}:1:")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the policy was not reset"),
        "{}",
        out.stderr
    );
    assert_eq!(policy_tip(&s), tip);
}

/// The audit log's last record.
fn last_audit_record(s: &Scenario) -> Value {
    let log = fs::read_to_string(s.audit_log()).expect("audit log");
    serde_json::from_str(log.lines().last().expect("a record")).expect("JSON record")
}

#[test]
fn reset_replaces_the_policy_records_it_and_governs_later_pushes() {
    let (s, _) = team_server();
    let old_tip = policy_tip(&s);
    refguard(&s, &["install"]).assert_success("refguard install");

    // Under the old policy bob may not push to main (push = maintainers).
    let client = s.client("bob");
    let first = client.commit("first", Sign::Own);
    client
        .push(&["HEAD:refs/heads/main"])
        .assert_reason("create-denied")
        .assert_refs_unchanged();

    // The admins lost their keys; the server admin resets to a policy where bob pushes
    // main and nobody else does.
    let new_policy = render_template(
        "version = 1\n\n[users.bob]\nkeys = [\"{{key:bob}}\"]\n\n[users.erin]\nkeys = [\"{{key:dave}}\"]\n\n\
         [policy]\nadmins = [\"erin\"]\n\n[[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"bob\"]\n",
    );
    let file = s.write_file("recovery.toml", &new_policy);
    let out = reset(&s, &file);
    out.assert_success("policy reset");
    let new_tip = policy_tip(&s);
    assert_ne!(new_tip, old_tip);
    assert!(
        out.stderr.contains(&format!(
            "refguard: policy reset: refs/meta/policy {} -> {} by root-on-server",
            &old_tip[..7],
            &new_tip[..7]
        )),
        "{}",
        out.stderr
    );
    assert_eq!(
        s.server_git(&["rev-parse", &format!("{new_tip}^")]).trim(),
        old_tip
    );
    let subject = s.server_git(&["log", "-1", "--format=%s", POLICY_REF]);
    assert!(
        subject.starts_with("refguard policy reset by root-on-server at 20"),
        "{subject}"
    );
    assert_eq!(
        s.server_git(&["show", &format!("{POLICY_REF}:roles.toml")])
            .trim_end(),
        new_policy.trim_end()
    );

    // The audit log holds the reset.
    let last = last_audit_record(&s);
    assert_eq!(last["hook"], "reset");
    assert_eq!(last["decision"], "accept");
    assert_eq!(last["pusher"], "root-on-server");
    assert_eq!(last["ref"], POLICY_REF);
    assert_eq!(last["old"], old_tip.as_str());
    assert_eq!(last["new"], new_tip.as_str());

    // The new policy governs: bob's push is accepted, alice's is not.
    let p = client.push(&["HEAD:refs/heads/main"]);
    p.assert_accepted();
    assert_eq!(p.ref_after("refs/heads/main"), Some(first.as_str()));
    client.commit("second", Sign::Unsigned);
    client
        .push_as(Pusher::Name("alice"), &["HEAD:refs/heads/main"])
        .assert_reason("push-denied")
        .assert_refs_unchanged();
}

#[test]
fn reset_creates_a_missing_policy_branch() {
    let s = Scenario::bare().build();
    let file = s.write_file("roles.toml", &team_policy());
    let out = reset(&s, &file);
    out.assert_success("policy reset without a policy branch");
    assert!(
        out.stderr.contains("refs/meta/policy (none) -> "),
        "{}",
        out.stderr
    );
    let tip = policy_tip(&s);
    assert_eq!(
        s.server_git(&["rev-list", "--count", &tip]).trim(),
        "1",
        "a root commit"
    );
    let log = fs::read_to_string(s.audit_log()).expect("audit log");
    assert_eq!(log.lines().count(), 1, "one record");
    let last = last_audit_record(&s);
    assert_eq!(last["old"], crate::scenario::ZERO);
    assert_eq!(last["policy"], Value::Null);
}
