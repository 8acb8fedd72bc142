//! Diagnostics (spec §15) and audit shipping to syslog: what the pusher sees with
//! `REFGUARD_LOG` set (one `info` line per accepted ref, nothing more), what goes to
//! `refguard.logFile` instead (the push's spans with their timings, as text or JSON), what a
//! person running a command sees on stderr, and the copy of each audit record sent to a real
//! Unix datagram socket standing in for `/dev/log`.

use std::fs;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

use crate::both_hooks;
use crate::scenario::{Hook, Pusher, Scenario, Sign, ZERO, short};

/// The one line the pusher may see for an accepted fast-forward of main by bob.
fn accepted_line(old: &str, new: &str) -> String {
    format!(
        "refguard: accepted refs/heads/main ({}..{}) fast-forward user=bob rule=roles.toml:63",
        short(old),
        short(new)
    )
}

fn set_config(s: &Scenario, name: &str, value: &str) {
    s.server_git(&["config", name, value]);
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

both_hooks! {
    fn refguard_log_1_and_info_show_one_line_per_accepted_ref(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        let mut old = s.initial.clone();
        for value in ["1", "info"] {
            let id = bob.commit("Signed", Sign::Own);
            let env = [("REFGUARD_USER", "bob"), ("REFGUARD_LOG", value)];
            let push = bob.push_as(Pusher::Env(&env), &["HEAD:refs/heads/main"]);
            assert!(push.success, "{}", push.transcript());
            assert_eq!(push.remote, vec![accepted_line(&old, &id)], "REFGUARD_LOG={value}\n{}", push.transcript());
            old = id;
        }
        // Unset: an accepted push prints nothing.
        bob.commit("Signed", Sign::Own);
        bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
    }
}

both_hooks! {
    fn debug_goes_to_the_log_file_and_never_to_the_pusher(hook) {
        let s = Scenario::new(hook);
        let log = s.home().join("diag.log");
        set_config(&s, "refguard.logFile", log.to_str().expect("UTF-8 path"));
        let bob = s.client("bob");
        let id = bob.commit("Signed", Sign::Own);
        let env = [("REFGUARD_USER", "bob"), ("REFGUARD_LOG", "debug")];
        let push = bob.push_as(Pusher::Env(&env), &["HEAD:refs/heads/main"]);
        assert!(push.success, "{}", push.transcript());
        // The pusher sees the info line and nothing else: no rule internals, server paths
        // or timings.
        assert_eq!(push.remote, vec![accepted_line(&s.initial, &id)], "{}", push.transcript());
        let server = s.server().display().to_string();
        assert!(!push.stderr.contains(&server), "{}", push.transcript());
        assert!(!push.stderr.contains("time.busy"), "{}", push.transcript());

        // The file has one push's spans, each with its timings when it closes.
        let text = read(&log);
        for needle in [
            "push{hook=",
            "update{refname=refs/heads/main",
            "gather",
            "walk",
            "verify",
            "decide",
            "log{records=1}",
            "time.busy=",
            "decision=\"accept\"",
            "user=bob",
            "rule=roles.toml:63",
            "refguard: accepted refs/heads/main",
        ] {
            assert!(text.contains(needle), "no {needle:?} in the log file:\n{text}");
        }
        assert!(text.contains(&server), "the repository path belongs in the file:\n{text}");
        // Nothing at trace level was asked for.
        assert!(!text.contains("TRACE"), "{text}");
    }
}

#[test]
fn json_lines_for_log_shippers() {
    let s = Scenario::new(Hook::PreReceive);
    let log = s.home().join("diag.jsonl");
    set_config(&s, "refguard.logFile", log.to_str().expect("UTF-8 path"));
    let bob = s.client("bob");
    bob.commit("Signed", Sign::Own);
    let env = [
        ("REFGUARD_USER", "bob"),
        ("REFGUARD_LOG", "refguard=debug,refguard::engine=trace"),
        ("REFGUARD_LOG_FORMAT", "json"),
    ];
    let push = bob.push_as(Pusher::Env(&env), &["HEAD:refs/heads/main"]);
    assert!(push.success, "{}", push.transcript());
    // The pusher's line stays the plain text line: JSON is for the file.
    assert_eq!(push.remote.len(), 1, "{}", push.transcript());
    assert!(push.remote[0].starts_with("refguard: accepted refs/heads/main ("));

    let text = read(&log);
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let update_close = events
        .iter()
        .find(|e| e["span"]["name"] == "update" && e["fields"]["message"] == "close")
        .unwrap_or_else(|| panic!("no closing update span:\n{text}"));
    assert_eq!(update_close["span"]["refname"], "refs/heads/main");
    assert_eq!(update_close["span"]["decision"], "accept");
    assert!(
        update_close["fields"]["time.busy"].is_string(),
        "{update_close}"
    );
    let spans = &update_close["spans"];
    assert_eq!(spans[0]["name"], "push", "{update_close}");
    // refguard::engine=trace: one event per requirement judged.
    assert!(
        events
            .iter()
            .any(|e| e["target"] == "refguard::engine::judge" && e["level"] == "TRACE"),
        "{text}"
    );
}

both_hooks! {
    fn rejections_are_the_same_whatever_the_filter(hook) {
        let s = Scenario::new(hook);
        let log = s.home().join("diag.log");
        set_config(&s, "refguard.logFile", log.to_str().expect("UTF-8 path"));
        let bob = s.client("bob");
        let id = bob.commit("Unsigned", Sign::Unsigned);
        let quiet = bob.push(&["HEAD:refs/heads/main"]);
        quiet.assert_rejected("unsigned", &id).assert_refs_unchanged();
        for value in ["1", "trace"] {
            let env = [("REFGUARD_USER", "bob"), ("REFGUARD_LOG", value)];
            let loud = bob.push_as(Pusher::Env(&env), &["HEAD:refs/heads/main"]);
            assert_eq!(loud.remote, quiet.remote, "REFGUARD_LOG={value}\n{}", loud.transcript());
        }
        let text = read(&log);
        assert!(text.contains("decision=\"reject\"") && text.contains("codes=unsigned"), "{text}");
    }
}

#[test]
fn a_log_file_that_cannot_be_opened_changes_nothing() {
    let s = Scenario::new(Hook::PreReceive);
    set_config(&s, "refguard.logFile", "/nonexistent/dir/diag.log");
    let bob = s.client("bob");
    let id = bob.commit("Signed", Sign::Own);
    let env = [("REFGUARD_USER", "bob"), ("REFGUARD_LOG", "debug")];
    let push = bob.push_as(Pusher::Env(&env), &["HEAD:refs/heads/main"]);
    assert!(push.success, "{}", push.transcript());
    assert_eq!(push.remote, vec![accepted_line(&s.initial, &id)]);
}

#[test]
fn commands_run_by_a_person_log_to_stderr() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = s.client("bob");
    let id = bob.commit("Signed", Sign::Own);
    bob.git(&["push", "-q", "origin", "HEAD:refs/heads/wip/x"]);
    let args = [
        "check",
        "--as",
        "bob",
        "refs/heads/main",
        s.initial.as_str(),
        id.as_str(),
    ];
    let quiet = s.refguard_repo(&args);
    quiet.assert_success("check");
    assert_eq!(quiet.stderr, "", "no diagnostics without REFGUARD_LOG");
    let loud = s.refguard_repo_with(&args, &[("REFGUARD_LOG", "debug")]);
    loud.assert_success("check with REFGUARD_LOG=debug");
    assert_eq!(
        loud.stdout, quiet.stdout,
        "diagnostics never change the output"
    );
    for needle in [
        "update{refname=refs/heads/main",
        "gather",
        "verify",
        "time.busy=",
    ] {
        assert!(
            loud.stderr.contains(needle),
            "no {needle:?} on stderr:\n{}",
            loud.stderr
        );
    }
    let bad = s.refguard_repo_with(&args, &[("REFGUARD_LOG", "refguard=loud")]);
    bad.assert_success("check with a bad filter");
    assert!(
        bad.stderr
            .contains("REFGUARD_LOG=refguard=loud is not a valid filter"),
        "{}",
        bad.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// Audit shipping

/// A datagram socket in the scenario's directory standing in for `/dev/log`, and the
/// server configured to ship to it.
fn syslog_socket(s: &Scenario) -> UnixDatagram {
    let path = s.home().join("log.sock");
    let socket = UnixDatagram::bind(&path).expect("bind the syslog stand-in");
    socket.set_nonblocking(true).expect("non-blocking");
    set_config(s, "refguard.auditSyslog", "true");
    set_config(
        s,
        "refguard.auditSyslogSocket",
        path.to_str().expect("UTF-8"),
    );
    socket
}

/// Every datagram waiting on `socket` (the hook has exited: all were sent before).
fn received(socket: &UnixDatagram) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    while let Ok(n) = socket.recv(&mut buf) {
        out.push(String::from_utf8(buf[..n].to_vec()).expect("UTF-8 message"));
    }
    out
}

fn audit_lines(s: &Scenario) -> Vec<String> {
    read(&s.audit_log()).lines().map(str::to_string).collect()
}

both_hooks! {
    fn each_audit_record_goes_to_syslog_as_logged(hook) {
        let s = Scenario::new(hook);
        let socket = syslog_socket(&s);
        let bob = s.client("bob");
        bob.commit("Signed", Sign::Own);
        bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
        let accepted = received(&socket);
        let lines = audit_lines(&s);
        assert_eq!(accepted.len(), 1, "{accepted:?}");
        let last = lines.last().expect("a record");
        assert!(accepted[0].starts_with("<85>1 "), "{}", accepted[0]);
        assert!(accepted[0].contains(" refguard "), "{}", accepted[0]);
        assert!(accepted[0].ends_with(&format!(" accept - {last}")), "{}\n{last}", accepted[0]);

        let id = bob.commit("Unsigned", Sign::Unsigned);
        bob.push(&["HEAD:refs/heads/main"]).assert_rejected("unsigned", &id);
        let rejected = received(&socket);
        let lines = audit_lines(&s);
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert!(rejected[0].starts_with("<84>1 "), "{}", rejected[0]);
        let last = lines.last().expect("a record");
        assert!(rejected[0].ends_with(&format!(" reject - {last}")), "{}", rejected[0]);
        assert!(last.contains("\"unsigned\""), "{last}");
    }
}

#[test]
fn every_record_of_a_push_is_shipped() {
    let s = Scenario::new(Hook::PreReceive);
    let socket = syslog_socket(&s);
    let bob = s.client("bob");
    bob.commit("Signed", Sign::Own);
    bob.push(&["HEAD:refs/heads/main", "HEAD:refs/heads/wip/a"])
        .assert_accepted();
    let got = received(&socket);
    let lines = audit_lines(&s);
    assert_eq!(got.len(), 2, "{got:?}");
    for (message, line) in got.iter().zip(&lines[lines.len() - 2..]) {
        assert!(message.ends_with(line.as_str()), "{message}\n{line}");
    }
}

#[test]
fn a_missing_or_full_syslog_never_rejects_a_push() {
    let s = Scenario::new(Hook::PreReceive);
    let path = s.home().join("log.sock");
    set_config(&s, "refguard.auditSyslog", "true");
    set_config(
        &s,
        "refguard.auditSyslogSocket",
        path.to_str().expect("UTF-8"),
    );
    let bob = s.client("bob");

    // Nobody listens.
    let id = bob.commit("Signed", Sign::Own);
    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
    assert!(audit_lines(&s).last().expect("logged").contains(&id));

    // A listener whose queue is full (it never reads): the send fails at once.
    let listener = UnixDatagram::bind(&path).expect("bind");
    let filler = UnixDatagram::unbound().expect("socket");
    filler.set_nonblocking(true).expect("non-blocking");
    while filler.send_to(&[b'x'; 4096], &path).is_ok() {}
    let id = bob.commit("Signed", Sign::Own);
    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
    assert!(audit_lines(&s).last().expect("logged").contains(&id));
    drop(listener);

    // Not a boolean: not shipped, not rejected.
    set_config(&s, "refguard.auditSyslog", "perhaps");
    let id = bob.commit("Signed", Sign::Own);
    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
    assert!(audit_lines(&s).last().expect("logged").contains(&id));
}

#[test]
fn a_rejection_before_any_policy_is_shipped_too() {
    let s = Scenario::builder(Hook::PreReceive).no_policy().build();
    let socket = syslog_socket(&s);
    let bob = s.client("bob");
    bob.commit("Signed", Sign::Own);
    let push = bob.push(&["HEAD:refs/heads/wip/x"]);
    push.assert_reason("no-policy");
    let got = received(&socket);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].contains("\"no-policy\"") && got[0].contains(ZERO),
        "{}",
        got[0]
    );
}
