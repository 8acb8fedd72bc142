//! Regression tests for the holes found by attacking 0.1.0 (issue 9, SPEC v2 §2, §3, §6,
//! §14): each drives real git and real keys and fails on 0.1.0's behaviour.

use std::fs;

use crate::both_hooks;
use crate::objects::RawCommit;
use crate::scenario::{Client, Hook, Pusher, Scenario, Sign, ZERO, fixture_policy, key};

const POLICY: &str = "refs/meta/policy";

/// The audit log's records, parsed.
fn records(s: &Scenario) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(s.audit_log())
        .unwrap_or_else(|e| panic!("read {}: {e}", s.audit_log().display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect()
}

/// The standard policy with `extra` inserted before its first rule.
fn with_first_rule(extra: &str) -> String {
    let standard = fixture_policy("standard");
    let at = standard
        .find("[[rule]]")
        .expect("standard policy has rules");
    format!("{}{extra}\n{}", &standard[..at], &standard[at..])
}

// ---- 1. replace refs ----------------------------------------------------------------------

both_hooks!(
    fn a_replace_ref_for_a_protected_commit_is_refused(hook) {
        // 0.1.0: no rule matched refs/replace/*, so anyone could make git on the server show
        // their own unsigned tree under alice's signed commit id.
        let s = Scenario::new(hook);
        assert_eq!(
            s.server_git(&["config", "core.useReplaceRefs"]).trim(),
            "false",
            "refguard install turns replace refs off for git on the server"
        );
        let bob = s.client("bob");
        let evil = bob.commit("Looks like the initial commit", Sign::Unsigned);
        let replace = format!("refs/replace/{}", s.initial);
        let p = bob.push(&[&format!("{evil}:{replace}")]);
        p.assert_reason("push-denied")
            .assert_header(&replace, ZERO, &evil)
            .assert_refs_unchanged();
        let line = p.reason_lines("push-denied")[0];
        assert!(
            line.contains("may not create refs/replace/")
                && line.contains("no rule names refs/replace/ explicitly"),
            "{}",
            p.transcript()
        );
        // Not even a maintainer, and not by moving or deleting one an admin made by hand.
        let alice = s.client("alice");
        alice.git(&["fetch", "-q", &bob.dir().display().to_string(), &evil]);
        alice
            .push(&[&format!("{evil}:{replace}")])
            .assert_reason("push-denied");
        s.server_git(&["update-ref", &replace, &s.initial]);
        bob.push(&[&format!(":{replace}")])
            .assert_reason("push-denied")
            .assert_refs_unchanged();
        // git on the server still shows the signed commit's own tree.
        assert_eq!(
            s.server_git(&["log", "-1", "--format=%s", "main"]).trim(),
            "Initial commit"
        );
    }
);

#[test]
fn only_a_rule_that_names_replace_refs_governs_them() {
    // A catch-all rule does not open replace refs; an explicit one governs them.
    let explicit = "[[rule]]\nrefs = [\"refs/replace/*\"]\npush = [\"maintainers\"]\n\n";
    let text = format!(
        "{}\n[[rule]]\nrefs = [\"refs/**\"]\npush = [\"*\"]\n",
        fixture_policy("standard")
    );
    let s = Scenario::builder(Hook::PreReceive).policy(text).build();
    let bob = s.client("bob");
    let id = bob.commit("Replacement", Sign::Unsigned);
    let replace = format!("refs/replace/{}", s.initial);
    bob.push(&[&format!("{id}:{replace}")])
        .assert_reason("push-denied")
        .assert_refs_unchanged();

    let s = Scenario::builder(Hook::PreReceive)
        .policy(with_first_rule(explicit))
        .build();
    let bob = s.client("bob");
    let id = bob.commit("Replacement", Sign::Unsigned);
    let replace = format!("refs/replace/{}", s.initial);
    let p = bob.push(&[&format!("{id}:{replace}")]);
    p.assert_reason("create-denied").assert_refs_unchanged();
    let alice = s.client("alice");
    alice.git(&["fetch", "-q", &bob.dir().display().to_string(), &id]);
    alice.push(&[&format!("{id}:{replace}")]).assert_accepted();

    // Lint warns about the explicit rule that makes them writable.
    let file = s.write_file("replace.toml", &with_first_rule(explicit));
    let out = s.refguard_str(&["policy", "lint", file.to_str().expect("UTF-8 path")]);
    out.assert_success("a warning is not an error");
    assert!(
        out.stdout
            .contains("warning: this rule lets people write replace refs (push, create)"),
        "{}",
        out.stdout
    );
}

// ---- 2. stale approvals ---------------------------------------------------------------------

/// The standard roles file with alice and dave as admins and two approvals required.
fn two_approvals() -> String {
    let edited = fixture_policy("standard")
        .replace(
            "policy-admins = [\"alice\"]",
            "policy-admins = [\"alice\", \"dave\"]",
        )
        .replace(
            "admins = [\"policy-admins\"]",
            "admins = [\"policy-admins\"]\napprovals = 2",
        );
    assert_eq!(edited.matches("approvals = 2").count(), 1, "{edited}");
    edited
}

/// roles.toml on `c`'s checkout, edited by replacing `from` with `to`.
fn edit_roles(c: &Client, from: &str, to: &str) -> String {
    let text = fs::read_to_string(c.dir().join("roles.toml")).expect("roles.toml");
    let edited = text.replacen(from, to, 1);
    assert_ne!(edited, text, "{from:?} not in roles.toml");
    edited
}

/// An empty commit on `c`'s HEAD signed by `signer`: an admin's approval.
fn approve(c: &Client, signer: &str) -> String {
    let key = format!("user.signingKey={}", key(signer).private.display());
    c.git(&[
        "-c",
        "gpg.format=ssh",
        "-c",
        &key,
        "commit",
        "-q",
        "--allow-empty",
        "-S",
        "-m",
        "Approve",
    ]);
    c.rev("HEAD")
}

both_hooks!(
    fn a_proposal_signed_before_the_policy_moved_approves_nothing(hook) {
        let s = Scenario::builder(hook).policy(two_approvals()).build();
        // dave signs a proposal to let carol in, on top of the policy as it is now (T0).
        let dave = s.client("dave");
        let t0 = dave.checkout_policy();
        let proposal_text = edit_roles(&dave, "developers = [\"bob\",", "developers = [\"carol\", \"bob\",");
        let proposal = dave.commit_file("roles.toml", &proposal_text, "Let carol in", Sign::Own);
        dave.push(&["HEAD:refs/heads/wip/proposal"]).assert_accepted();

        // The proposal is not taken; instead both admins agree to revoke bob's key (T1).
        let alice = s.client("alice");
        alice.checkout_policy();
        let revoke = format!(
            "[[revoked]]\nkey = \"{}\"\nreason = \"bob left\"\n\n[[revoked]]",
            key("bob").fingerprint
        );
        let t1_text = edit_roles(&alice, "[[revoked]]", &revoke);
        alice.commit_file("roles.toml", &t1_text, "Revoke bob's key", Sign::Own);
        approve(&alice, "dave");
        alice.push(&["HEAD:refs/meta/policy"]).assert_accepted();
        let t1 = alice.rev("HEAD");

        // alice alone merges the old proposal, taking its roles.toml (which also undoes the
        // revocation both agreed on), and signs the merge.
        alice.git(&["fetch", "-q", "origin", "refs/heads/wip/proposal"]);
        alice.git(&["merge", "-q", "--no-commit", "-s", "ours", &proposal]);
        fs::write(alice.dir().join("roles.toml"), &proposal_text).expect("write roles.toml");
        alice.git(&["add", "roles.toml"]);
        let key_opt = format!("user.signingKey={}", key("alice").private.display());
        alice.git(&["-c", "gpg.format=ssh", "-c", &key_opt, "commit", "-q", "-S", "-m", "Merge proposal"]);
        let merge = alice.rev("HEAD");
        assert_ne!(t0, t1);

        // 0.1.0 counted dave's old signature on the proposal as the second approval.
        let p = alice.push(&["HEAD:refs/meta/policy"]);
        p.assert_reason("approvals-missing")
            .assert_header(POLICY, &t1, &merge)
            .assert_refs_unchanged();
        let line = p.reason_lines("approvals-missing")[0];
        assert!(
            line.contains("1 of 2 required admin approvals")
                && line.contains(&format!(
                    "dave signed it only on commits that do not descend from the current policy tip {}",
                    &t1[..7]
                )),
            "{}",
            p.transcript()
        );

        // dave approving the merge itself, now, is an approval.
        approve(&alice, "dave");
        alice.push(&["HEAD:refs/meta/policy"]).assert_accepted();
    }
);

// ---- 3. admin keys expired at push time ------------------------------------------------------

both_hooks!(
    fn a_policy_whose_admin_keys_have_expired_is_invalid(hook) {
        // 0.1.0 accepted this change and then refused every later one until `policy reset`.
        let s = Scenario::new(hook);
        let alice = s.client("alice");
        let old = alice.checkout_policy();
        let text = edit_roles(
            &alice,
            "[users.alice]\nkeys = [\"",
            "[users.alice]\nkeys = [{ expires = \"2020-01-01\", key = \"",
        );
        let text = text.replacen(
            &format!("{}\"]", key("alice").public),
            &format!("{}\" }}]", key("alice").public),
            1,
        );
        let id = alice.commit_file("roles.toml", &text, "Expire my key", Sign::Own);
        let p = alice.push(&["HEAD:refs/meta/policy"]);
        p.assert_reason("policy-invalid")
            .assert_header(POLICY, &old, &id)
            .assert_refs_unchanged();
        let line = p.reason_lines("policy-invalid")[0];
        assert!(
            line.contains("approvals = 1 but only 0 admins (none) hold a key that is usable at"),
            "{}",
            p.transcript()
        );
    }
);

#[test]
fn lint_judges_admin_keys_at_the_time_it_runs() {
    let s = Scenario::builder(Hook::PreReceive).no_policy().build();
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::days(10)).date();
    let with_expiry = |date: &str| {
        fixture_policy("standard").replacen(
            &format!("[users.alice]\nkeys = [\"{}\"]", key("alice").public),
            &format!(
                "[users.alice]\nkeys = [{{ key = \"{}\", expires = \"{date}\" }}]",
                key("alice").public
            ),
            1,
        )
    };
    let file = s.write_file("soon.toml", &with_expiry(&soon.to_string()));
    let out = s.refguard_str(&["policy", "lint", file.to_str().expect("UTF-8 path")]);
    out.assert_success("an admin key expiring soon is a warning");
    assert!(
        out.stdout.contains("warning: policy admin alice's key")
            && out
                .stdout
                .contains("approvals = 1 can no longer be reached"),
        "{}",
        out.stdout
    );
    let file = s.write_file("gone.toml", &with_expiry("2020-01-01"));
    let out = s.refguard_str(&["policy", "lint", file.to_str().expect("UTF-8 path")]);
    out.assert_code(1, "no admin with a usable key is an error");
    assert!(
        out.stdout.contains("approvals = 1 but only 0 admins"),
        "{}",
        out.stdout
    );
    // init refuses it as well: it would be born locked.
    let server = s.server().to_str().expect("UTF-8 path");
    s.refguard_str(&[
        "init",
        "--repo",
        server,
        "--policy",
        file.to_str().expect("UTF-8"),
    ])
    .assert_code(1, "init refuses a policy nobody could ever change");
}

// ---- 4. every decision is logged ----------------------------------------------------------

both_hooks!(
    fn a_ref_name_that_is_not_utf8_is_rejected_and_logged(hook) {
        // 0.1.0 rejected the whole push before logging anything, so the attempt on main in
        // the same push left no trace.
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let id = bob.commit("Unsigned", Sign::Unsigned);
        // git allows any byte >= 0x80 in a ref name; the refspec is passed through an
        // environment-free argv, so build it from bytes.
        use std::os::unix::ffi::OsStringExt;
        let weird = std::ffi::OsString::from_vec(b"HEAD:refs/heads/caf\xe9".to_vec());
        let mut cmd = crate::scenario::isolated("git", s.home());
        cmd.current_dir(bob.dir())
            .env("REFGUARD_USER", "bob")
            .args(["push", "--porcelain", "origin", "HEAD:refs/heads/main"])
            .arg(&weird);
        let out = crate::scenario::run_raw(cmd, None);
        assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("refs/heads/caf\\xe9"), "{stderr}");

        let records = records(&s);
        let weird_record = records
            .iter()
            .find(|r| r["ref"] == "refs/heads/caf\\xe9")
            .unwrap_or_else(|| panic!("no record for the non-UTF-8 ref: {records:?}"));
        assert_eq!(weird_record["decision"], "reject");
        assert_eq!(weird_record["reasons"][0]["code"], "internal-error");
        assert!(
            weird_record["reasons"][0]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("ref name is not UTF-8")),
            "{weird_record}"
        );
        let main = records
            .iter()
            .find(|r| r["ref"] == "refs/heads/main")
            .unwrap_or_else(|| panic!("no record for main: {records:?}"));
        assert_eq!(main["decision"], "reject");
        assert_eq!(main["new"], id.as_str());
        assert_eq!(main["reasons"][0]["code"], "unsigned");
        s.refguard_repo(&["audit", "verify"]).assert_success("chain intact");
    }
);

both_hooks!(
    fn a_crash_is_a_logged_rejection(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let id = bob.commit("Signed", Sign::Own);
        let p = bob.push_as(
            Pusher::Env(&[("REFGUARD_USER", "bob"), ("REFGUARD_TEST_PANIC", "1")]),
            &["HEAD:refs/heads/main"],
        );
        p.assert_reason("internal-error")
            .assert_header("refs/heads/main", &s.initial, &id)
            .assert_refs_unchanged();
        assert!(
            p.remote.iter().any(|l| l.contains("refguard crashed")),
            "{}",
            p.transcript()
        );
        let records = records(&s);
        let last = records.last().expect("a record");
        assert_eq!(last["ref"], "refs/heads/main");
        assert_eq!(last["decision"], "reject");
        assert_eq!(last["pusher"], "bob");
        assert!(
            last["reasons"][0]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("refguard crashed") && d.contains("REFGUARD_TEST_PANIC")),
            "{last}"
        );
    }
);

both_hooks!(
    fn an_unreadable_policy_is_a_logged_rejection(hook) {
        let s = Scenario::new(hook);
        // The policy ref points at a blob, not a commit (someone with shell access broke
        // it): reading the policy fails.
        let mut cmd = crate::scenario::isolated("git", s.home());
        cmd.current_dir(s.server()).args(["hash-object", "-w", "--stdin"]);
        let blob = crate::scenario::run_ok(cmd, Some(b"not a commit\n"));
        s.server_git(&["update-ref", POLICY, blob.trim()]);
        let carol = s.client("carol");
        let id = carol.commit("Unprotected", Sign::Unsigned);
        let p = carol.push(&["HEAD:refs/heads/wip/carol"]);
        p.assert_reason("internal-error").assert_refs_unchanged();
        let records = records(&s);
        let last = records.last().expect("a record");
        assert_eq!(last["ref"], "refs/heads/wip/carol");
        assert_eq!(last["new"], id.as_str());
        assert_eq!(last["decision"], "reject");
        assert_eq!(last["policy"], serde_json::Value::Null);
    }
);

#[test]
fn malformed_hook_input_is_logged_with_what_can_be_told() {
    let s = Scenario::new(Hook::PreReceive);
    let main = s.initial.clone();
    let mut input = format!("{main} {main} refs/heads/main\nnot a line at all\n").into_bytes();
    input.extend_from_slice(format!("{ZERO} {main} refs/heads/x\u{202e}y\n").as_bytes());
    let mut cmd = crate::scenario::isolated(crate::scenario::refguard_bin(), s.home());
    cmd.current_dir(s.server())
        .env("GIT_DIR", ".")
        .env("REFGUARD_USER", "bob")
        .args(["hook", "pre-receive"]);
    let out = crate::scenario::run_raw(cmd, Some(&input));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("expected `<old> <new> <ref>`")
            && stderr.contains("refs/heads/x\\u{202e}y"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{202e}'),
        "raw bidi override shown: {stderr}"
    );
    let records = records(&s);
    assert_eq!(records.len(), 3, "{records:?}");
    assert_eq!(records[0]["ref"], "refs/heads/main");
    assert_eq!(records[0]["decision"], "reject");
    assert_eq!(records[1]["ref"], "");
    assert_eq!(records[1]["reasons"][0]["code"], "internal-error");
    assert_eq!(records[2]["ref"], "refs/heads/x\u{202e}y");
}

// ---- 5. gpgsig-sha256 in a SHA-1 repository -------------------------------------------------

both_hooks!(
    fn a_signature_only_in_gpgsig_sha256_is_unsigned(hook) {
        // git in a SHA-1 repository checks `gpgsig` only; 0.1.0 accepted this commit.
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let plain = bob.commit("Signed the SHA-256 way only", Sign::Unsigned);
        bob.reset_hard("HEAD~1");
        let raw = RawCommit::parse(&bob.raw_commit(&plain));
        let sig = bob.ssh_sign(raw.payload().as_bytes(), "bob", "git");
        let mut header = String::from("gpgsig-sha256");
        for (i, line) in sig.trim_end().lines().enumerate() {
            header.push_str(if i == 0 { " " } else { "\n " });
            header.push_str(line);
        }
        let mut crafted = raw.clone();
        crafted.headers.push(header);
        let id = bob.write_commit(&crafted.to_raw());
        bob.reset_hard(&id);
        let verify = bob.verify("verify-commit", &id);
        assert!(!verify.status.success(), "git says it is not signed");
        let p = bob.push(&["HEAD:refs/heads/main"]);
        p.assert_rejected("unsigned", &id)
            .assert_header("refs/heads/main", &s.initial, &id)
            .assert_refs_unchanged();
    }
);

// ---- 6. invisible characters ----------------------------------------------------------------

#[test]
fn invisible_characters_are_shown_escaped() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = s.client("bob");
    let id = bob.commit("Fix\u{202e}txt.exe", Sign::Unsigned);
    let refname = "refs/heads/feature/ma\u{200b}in";
    let p = bob.push(&[&format!("HEAD:{refname}")]);
    p.assert_rejected("unsigned", &id).assert_refs_unchanged();
    let transcript = p.remote.join("\n");
    assert!(
        transcript.contains("refs/heads/feature/ma\\u{200b}in")
            && transcript.contains("Fix\\u{202e}txt.exe"),
        "{transcript}"
    );
    assert!(
        !transcript.contains('\u{200b}') && !transcript.contains('\u{202e}'),
        "raw invisible characters reached the pusher: {transcript:?}"
    );
    let log = s.refguard_repo(&["audit", "log"]);
    log.assert_success("audit log");
    assert!(
        log.stdout.contains("refs/heads/feature/ma\\u{200b}in") && !log.stdout.contains('\u{200b}'),
        "{}",
        log.stdout
    );

    // A proposed roles.toml cannot hide lines on a reviewer's terminal either.
    let hostile = fixture_policy("standard").replacen(
        "[users.carol]\nkeys = [\"",
        "[users.\"ca\u{202e}rol\"]\nkeys = [\"",
        1,
    );
    let hostile = hostile.replacen(
        &format!("{}\"", key("carol").public),
        &format!(
            "{} \\u001b[2J\\u001b[Hevil\"",
            key("carol").public.rsplit_once(' ').expect("comment").0
        ),
        1,
    );
    let s = Scenario::builder(Hook::PreReceive).policy(hostile).build();
    let show = s.refguard_repo(&["policy", "show"]);
    show.assert_success("policy show");
    assert!(
        show.stdout.contains("ca\\u{202e}rol") && show.stdout.contains("\\u{1b}[2J"),
        "{}",
        show.stdout
    );
    assert!(
        !show.stdout.contains('\u{1b}') && !show.stdout.contains('\u{202e}'),
        "{:?}",
        show.stdout
    );
    let who = s.refguard_repo(&["who-can", "sign", "refs/heads/main"]);
    assert!(!who.stdout.contains('\u{202e}'), "{:?}", who.stdout);
}

// ---- 7. delete and re-create ------------------------------------------------------------------

#[test]
fn lint_warns_about_delete_and_recreate_without_force_push() {
    let s = Scenario::builder(Hook::PreReceive).no_policy().build();
    // The standard file lets developers delete and create feature branches, not force-push.
    let file = s.write_file("roles.toml", &fixture_policy("standard"));
    let out = s.refguard_str(&["policy", "lint", file.to_str().expect("UTF-8 path")]);
    out.assert_success("a warning is not an error");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("warning: this rule lets")
                && l.contains("delete and re-create its refs but not force-push them")),
        "{}",
        out.stdout
    );
}
