//! `refguard audit ...` end to end: real `git push` into a bare repository with the refguard
//! hook installed (the shared `Scenario` harness), then the audit commands on what the hook
//! logged, and `audit history` on a history of signed, unsigned and baseline commits.

use std::fs;

use serde_json::Value;

use crate::scenario::{Client, Hook, Push, Pusher, Scenario, Sign, key, render_template};

/// main must be signed by alice (devs); anyone may push anything else under refs/heads/.
fn roles(baseline: Option<&str>) -> String {
    let trust = baseline
        .map(|id| format!("[trust]\nbaseline = [\"{id}\"]\n\n"))
        .unwrap_or_default();
    render_template(&format!(
        "version = 1\n\n[users.alice]\nkeys = [\"{{{{key:alice}}}}\"]\n\n\
         [users.bob]\nkeys = [\"{{{{key:bob}}}}\"]\n\n\
         [roles]\ndevs = [\"alice\"]\n\n[policy]\nadmins = [\"alice\"]\n\n{trust}\
         [[rule]]\nrefs = [\"refs/heads/main\"]\nsigners = [\"devs\"]\n\n\
         [[rule]]\nrefs = [\"refs/heads/**\"]\n"
    ))
}

/// Creates the policy branch from `roles` and installs the pre-receive hook.
fn protect(s: &Scenario, roles: &str) {
    s.init_policy(roles).assert_success("refguard init");
    s.install(Hook::PreReceive)
        .assert_success("refguard install");
}

/// An empty server protected by `roles(None)`.
fn protected() -> Scenario {
    let s = Scenario::bare().build();
    protect(&s, &roles(None));
    s
}

/// A client of the server working as bob, with one unsigned root commit.
fn client(s: &Scenario) -> Client {
    let client = s.client("bob");
    client.commit("root", Sign::Unsigned);
    client
}

/// Runs refguard, asserts the exit code, returns stdout.
fn refguard_code(s: &Scenario, args: &[&str], code: i32) -> String {
    let out = s.refguard_str(args);
    out.assert_code(code, "refguard");
    out.stdout
}

/// `audit verify --repo`, or `audit verify FILE` when `extra` names one: exit code and stdout.
fn verify(s: &Scenario, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    let out = if extra.is_empty() {
        s.refguard_repo(&args)
    } else {
        s.refguard_str(&args)
    };
    (out.code, out.stdout)
}

/// The log's records as JSON values (through `audit log --format json`).
fn records(s: &Scenario, filters: &[&str]) -> Vec<Value> {
    let mut args = vec!["audit", "log", "--format", "json"];
    args.extend_from_slice(filters);
    let out = s.refguard_repo(&args);
    out.assert_success("audit log");
    json_lines(&out.stdout)
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A push as `user`.
fn push(client: &Client, user: &str, refspec: &str) -> Push {
    client.push_as(Pusher::Name(user), &[refspec])
}

/// A protected server with `n` accepted pushes (`refs/heads/topic-<i>` as bob), then one
/// rejected unsigned push to main, then one accepted push to main signed by alice.
fn logged_world(n: usize) -> (Scenario, Client) {
    let s = protected();
    let client = client(&s);
    for i in 0..n {
        push(&client, "bob", &format!("HEAD:refs/heads/topic-{i}")).assert_accepted();
    }
    push(&client, "bob", "HEAD:refs/heads/main")
        .assert_reason("unsigned")
        .assert_refs_unchanged();
    // A fresh history whose only commit alice signed.
    client.git(&["checkout", "-q", "--orphan", "signed"]);
    client.commit("signed", Sign::By("alice"));
    push(&client, "alice", "HEAD:refs/heads/main").assert_accepted();
    (s, client)
}

// ---- tests ---------------------------------------------------------------------------------

#[test]
fn parallel_pushes_all_land_in_one_intact_chain() {
    const PUSHES: usize = 16;
    let s = protected();
    let client = client(&s);
    // Every push runs at once, each in its own thread, so the hooks contend for the log.
    std::thread::scope(|scope| {
        let pushes: Vec<_> = (0..PUSHES)
            .map(|i| {
                let client = &client;
                scope.spawn(move || push(client, "bob", &format!("HEAD:refs/heads/p{i}")))
            })
            .collect();
        for p in pushes {
            let p = p.join().expect("push thread");
            assert!(p.success, "{}", p.transcript());
        }
    });

    let (code, stdout) = verify(&s, &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains(": intact"), "{stdout}");
    assert!(stdout.contains(&format!("records: {PUSHES}\n")), "{stdout}");
    assert!(stdout.contains("chain start: genesis"), "{stdout}");

    let records = records(&s, &[]);
    assert_eq!(records.len(), PUSHES);
    let mut refs: Vec<&str> = records
        .iter()
        .map(|r| r["ref"].as_str().expect("ref"))
        .collect();
    refs.sort_unstable();
    refs.dedup();
    assert_eq!(refs.len(), PUSHES, "every push logged once: {refs:?}");
    assert!(
        records
            .iter()
            .all(|r| r["decision"] == "accept" && r["pusher"] == "bob")
    );
}

#[test]
fn verify_names_the_first_broken_line() {
    let (s, _client) = logged_world(3);
    let log = s.audit_log();
    let log_arg = log.to_str().expect("utf-8");
    let (code, stdout) = verify(&s, &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("records: 5\n"), "{stdout}");
    let last_hash = stdout
        .lines()
        .find_map(|l| l.strip_prefix("  last hash: "))
        .expect("last hash")
        .to_owned();
    assert_eq!(last_hash.len(), 64);

    let original = fs::read_to_string(&log).expect("read log");
    let lines: Vec<&str> = original.lines().collect();

    // Editing line 2 breaks the link that line 3 carries.
    let mut edited = lines.clone();
    let forged = edited[1].replace("\"bob\"", "\"eve\"");
    assert_ne!(forged, edited[1]);
    edited[1] = &forged;
    fs::write(&log, edited.join("\n") + "\n").expect("write");
    let (code, stdout) = verify(&s, &[log_arg]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.starts_with(&format!("{log_arg}:3: `prev` is not the hash of line 2")),
        "{stdout}"
    );
    assert!(stdout.contains("records (intact): 2\n"), "{stdout}");

    // Removing the first line: line 1 no longer starts the chain.
    fs::write(&log, lines[1..].join("\n") + "\n").expect("write");
    let (code, stdout) = verify(&s, &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains(":1: `prev` is not 64 zeros"), "{stdout}");

    // A line that is not JSON.
    let mut garbled = lines.clone();
    garbled[3] = "{not json";
    fs::write(&log, garbled.join("\n") + "\n").expect("write");
    let (code, stdout) = verify(&s, &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains(":4: not valid JSON"), "{stdout}");

    // A torn last line (no newline).
    fs::write(&log, original.trim_end()).expect("write");
    let (code, stdout) = verify(&s, &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains(":5: no trailing newline"), "{stdout}");

    // Restored: intact again, with the same last hash. A missing file is exit 2.
    fs::write(&log, &original).expect("write");
    let (code, stdout) = verify(&s, &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains(&last_hash));
    let missing = s.home().join("nope.jsonl");
    let (code, _) = verify(&s, &[missing.to_str().expect("utf-8")]);
    assert_eq!(code, Some(2));
}

#[test]
fn log_filters_by_ref_decision_and_date() {
    let (s, _client) = logged_world(2);
    let all = records(&s, &[]);
    assert_eq!(all.len(), 4);
    // JSON lines are the log's own lines, byte for byte.
    let raw = fs::read_to_string(s.audit_log()).expect("read log");
    let server = s.server().to_str().expect("utf-8").to_owned();
    let json = refguard_code(
        &s,
        &["audit", "log", "--repo", &server, "--format", "json"],
        0,
    );
    assert_eq!(json, raw);

    let rejected = records(&s, &["--decision", "reject"]);
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["ref"], "refs/heads/main");
    assert_eq!(rejected[0]["reasons"][0]["code"], "unsigned");

    let main = records(&s, &["--ref", "refs/heads/main"]);
    assert_eq!(main.len(), 2);
    let accepted_main = records(&s, &["--ref", "refs/heads/main", "--decision", "accept"]);
    assert_eq!(accepted_main.len(), 1);
    assert_eq!(accepted_main[0]["user"], "alice");

    assert_eq!(records(&s, &["--since", "2000-01-01"]).len(), 4);
    assert!(records(&s, &["--since", "2999-01-01"]).is_empty());
    assert!(records(&s, &["--since", "2999-01-01T00:00:00Z"]).is_empty());

    let table = refguard_code(
        &s,
        &["audit", "log", "--repo", &server, "--decision", "reject"],
        0,
    );
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("TIME"), "{table}");
    assert!(
        lines[1].contains("reject") && lines[1].contains("unsigned"),
        "{table}"
    );

    let bad = s.refguard_str(&["audit", "log", "--repo", &server, "--since", "yesterday"]);
    bad.assert_code(2, "audit log --since yesterday");
    assert!(bad.stderr.contains("YYYY-MM-DD"), "{}", bad.stderr);
}

#[test]
fn rotate_then_verify_both_files() {
    let (s, client) = logged_world(1);
    let server = s.server().to_str().expect("utf-8").to_owned();
    let (_, before) = verify(&s, &[]);
    let last_hash = before
        .lines()
        .find_map(|l| l.strip_prefix("  last hash: "))
        .expect("last hash")
        .to_owned();

    let out = refguard_code(&s, &["audit", "rotate", "--repo", &server], 0);
    let archived = out
        .lines()
        .find_map(|l| l.strip_prefix("  archived: "))
        .expect("archived path")
        .to_owned();
    assert!(out.contains(&format!("  link: {last_hash}")), "{out}");
    assert!(!s.audit_log().exists());

    // The archive verifies on its own; the new (empty) log starts at the link.
    let (code, stdout) = verify(&s, &[&archived]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("records: 3\n"), "{stdout}");
    let (code, stdout) = verify(&s, &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("records: 0\n"), "{stdout}");
    assert!(
        stdout.contains(&format!("chain start: rotation link {last_hash}")),
        "{stdout}"
    );

    // New decisions continue the chain from the link.
    push(&client, "bob", "HEAD:refs/heads/after-rotation").assert_accepted();
    let (code, stdout) = verify(&s, &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("records: 1\n"), "{stdout}");
    let records = records(&s, &[]);
    assert_eq!(records[0]["prev"], last_hash.as_str());

    // Rotating twice in a row: the second has nothing to do, which is fine for cron.
    refguard_code(&s, &["audit", "rotate", "--repo", &server], 0);
    let again = s.refguard_str(&["audit", "rotate", "--repo", &server]);
    again.assert_code(0, "a second rotation");
    assert!(
        again.stderr.contains("nothing to rotate"),
        "{}",
        again.stderr
    );
}

#[test]
fn push_is_rejected_when_the_audit_log_cannot_be_written() {
    let s = protected();
    // A regular file used as a directory: the log can never be created.
    let blocker = s.write_file("not-a-dir", "");
    let target = blocker.join("audit.jsonl");
    s.server_git(&[
        "config",
        "refguard.auditLog",
        target.to_str().expect("utf-8"),
    ]);

    let client = client(&s);
    let p = push(&client, "bob", "HEAD:refs/heads/topic");
    assert!(!p.success, "{}", p.transcript());
    let stderr = &p.stderr;
    assert!(stderr.contains("[internal-error]"), "{stderr}");
    assert!(stderr.contains("audit log"), "{stderr}");
    assert!(stderr.contains("cannot be written"), "{stderr}");
    assert_eq!(s.server_git(&["for-each-ref", "refs/heads/"]), "");
}

#[test]
fn history_judges_each_commit_once_under_the_current_policy() {
    let s = Scenario::bare().build();
    let (alice, bob) = (key("alice"), key("bob"));
    let client = client(&s); // root: unsigned
    let baseline = client.commit("old work", Sign::Unsigned);
    // History pushed before refguard protected the repository.
    let good = client.commit("by alice", Sign::By("alice"));
    let unsigned = client.commit("unsigned", Sign::Unsigned);
    let by_bob = client.commit("by bob", Sign::By("bob"));
    client.git(&["branch", "feature", &unsigned]);
    client.git(&["push", "-q", "origin", "main", "feature"]);
    // An unprotected branch's own commits are not walked.
    client.git(&["checkout", "-q", "-b", "scratch"]);
    client.commit("scratch work", Sign::Unsigned);
    client.git(&["push", "-q", "origin", "scratch"]);
    protect(&s, &roles(Some(&baseline)));
    let policy_commit = s.server_ref("refs/meta/policy").expect("a policy branch");

    let out = s.refguard_repo(&["audit", "history", "--format", "json"]);
    out.assert_code(1, "audit history");
    let rows = json_lines(&out.stdout);
    let (summary, rows) = rows.split_last().expect("rows");
    let by_id = |id: &str| -> &Value {
        rows.iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no row for {id}: {rows:?}"))
    };
    // 3 judged on main + 2 baseline (root and "old work") + the policy commit.
    assert_eq!(rows.len(), 6, "{rows:#?}");
    let row = by_id(&good);
    assert_eq!(row["verdict"], "ok");
    assert_eq!(row["signature"], "valid");
    assert_eq!(row["user"], "alice");
    assert_eq!(row["fingerprint"], alice.fingerprint.as_str());
    assert_eq!(row["ref"], "refs/heads/main");
    let row = by_id(&unsigned);
    assert_eq!(row["verdict"], "violation");
    assert_eq!(row["reasons"][0]["code"], "unsigned");
    let row = by_id(&by_bob);
    assert_eq!(row["verdict"], "violation");
    assert_eq!(row["user"], "bob");
    assert_eq!(row["fingerprint"], bob.fingerprint.as_str());
    assert_eq!(row["reasons"][0]["code"], "signer-not-allowed");
    assert_eq!(by_id(&baseline)["verdict"], "baseline");
    let row = by_id(&policy_commit);
    assert_eq!(row["verdict"], "server");
    assert_eq!(row["reasons"].as_array().map(Vec::len), Some(0));
    assert_eq!(row["ref"], "refs/meta/policy");

    let sum = &summary["summary"];
    assert_eq!(sum["commits"], 6);
    assert_eq!(sum["baseline"], 2);
    assert_eq!(sum["server"], 1);
    assert_eq!(sum["judged"], 3);
    assert_eq!(sum["signed_by_allowed"], 1);
    assert_eq!(sum["violations"], 2);
    assert_eq!(sum["violations_by_code"]["unsigned"], 1);
    assert_eq!(sum["violations_by_code"]["signer-not-allowed"], 1);
    assert_eq!(sum["signers"]["alice"], 1);
    assert_eq!(sum["signers"]["bob"], 1);

    // Table: a header, one row per commit, the summary at the end.
    let out = s.refguard_repo(&["audit", "history"]);
    out.assert_code(1, "audit history");
    let table = out.stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("COMMIT"), "{table}");
    assert!(
        lines.iter().any(|l| l.starts_with(&by_bob[..7])
            && l.contains("violation")
            && l.contains(&bob.fingerprint)
            && l.contains("signer-not-allowed")),
        "{table}"
    );
    assert!(
        table.contains(
            "refguard: 6 commits, 0 tags: 3 judged, 2 baseline, 1 written by refguard on the server"
        ),
        "{table}"
    );
    assert!(
        table.contains("  signed by allowed signers: 1 of 3 (33.33%)"),
        "{table}"
    );
    assert!(
        table.contains("  violations: 2 (signer-not-allowed 1, unsigned 1)"),
        "{table}"
    );
    assert!(table.contains("  signers: alice 1, bob 1"), "{table}");

    // One ref only: the feature branch is unprotected, so nothing there is a violation.
    let out = s.refguard_repo(&[
        "audit",
        "history",
        "--ref",
        "refs/heads/feature",
        "--format",
        "json",
    ]);
    out.assert_success("audit history --ref refs/heads/feature");
    let rows = json_lines(&out.stdout);
    let sum = &rows.last().expect("summary")["summary"];
    assert_eq!(sum["judged"], 2, "{rows:#?}");
    assert_eq!(sum["violations"], 0);
    let missing = s.refguard_repo(&["audit", "history", "--ref", "refs/heads/nope"]);
    missing.assert_code(2, "audit history of a missing ref");
}
