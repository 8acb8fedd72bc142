//! The command line beyond the hook: `check` gives the hook's decision as a dry run, and
//! `policy lint` reports problems as `FILE:LINE:COL: message`.

use std::fs;

use crate::scenario::{CmdOutput, Hook, Push, Scenario, Sign, fixture_policy};

/// Puts `id`'s objects on the server under an unprotected ref so `check` can see them.
fn upload(c: &crate::scenario::Client, id: &str) {
    c.push(&[&format!("{id}:refs/heads/wip/upload")])
        .assert_accepted();
}

fn check(s: &Scenario, user: &str, format: &str, refname: &str, old: &str, new: &str) -> CmdOutput {
    let server = s.server().to_str().expect("UTF-8 path");
    s.refguard_str(&[
        "check", "--repo", server, "--as", user, "--format", format, refname, old, new,
    ])
}

/// The lines of `check` output that the hook also prints (header and reasons).
fn decision_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| l.starts_with("refguard: rejected ") || l.starts_with("refguard:   ["))
        .map(str::to_string)
        .collect()
}

fn hook_decision_lines(p: &Push) -> Vec<String> {
    decision_lines(&p.remote.join("\n"))
}

/// Every string value under a `key` field anywhere in `v`.
fn strings_under(v: &serde_json::Value, key: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                if let (true, Some(s)) = (k == key, child.as_str()) {
                    out.push(s.to_string());
                }
                strings_under(child, key, out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                strings_under(item, key, out);
            }
        }
        _ => {}
    }
}

/// Runs `check` (text and json) for bob's push of `new` onto main, then the real push, and
/// asserts all three agree.
fn check_agrees_with_hook(s: &Scenario, pusher: &str, new: &str, code: &str) {
    let main = "refs/heads/main";
    let text = check(s, pusher, "text", main, &s.initial, new);
    text.assert_code(1, "check of a push the hook rejects");
    let check_lines = decision_lines(&format!("{}{}", text.stdout, text.stderr));

    let json = check(s, pusher, "json", main, &s.initial, new);
    json.assert_code(1, "check --format json of a push the hook rejects");
    let value: serde_json::Value = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|e| panic!("check --format json: not JSON ({e}):\n{}", json.stdout));
    let mut codes = Vec::new();
    strings_under(&value, "code", &mut codes);
    assert!(
        codes.iter().any(|c| c == code),
        "no code {code:?} in {value:#}"
    );
    let mut decisions = Vec::new();
    strings_under(&value, "decision", &mut decisions);
    assert_eq!(decisions, ["reject"], "{value:#}");

    let c = s.client(pusher);
    c.git(&["fetch", "-q", "origin", "refs/heads/wip/upload"]);
    let p = c.push(&[&format!("{new}:{main}")]);
    p.assert_reason(code).assert_refs_unchanged();
    assert_eq!(
        check_lines,
        hook_decision_lines(&p),
        "check and the hook disagree\ncheck:\n{}{}\nhook:\n{}",
        text.stdout,
        text.stderr,
        p.transcript()
    );
}

#[test]
fn check_agrees_with_the_hook_on_an_unsigned_commit() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = s.client("bob");
    let id = bob.commit("Unsigned", Sign::Unsigned);
    upload(&bob, &id);
    check_agrees_with_hook(&s, "bob", &id, "unsigned");
}

#[test]
fn check_agrees_with_the_hook_on_a_denied_pusher() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = s.client("bob");
    let id = bob.commit("Signed by bob", Sign::Own);
    upload(&bob, &id);
    check_agrees_with_hook(&s, "carol", &id, "push-denied");
}

#[test]
fn check_agrees_with_the_hook_on_an_unknown_key() {
    let s = Scenario::new(Hook::Update);
    let bob = s.client("bob");
    let id = bob.commit("Signed by mallory", Sign::By("mallory"));
    upload(&bob, &id);
    check_agrees_with_hook(&s, "bob", &id, "unknown-key");
}

#[test]
fn check_accepts_what_the_hook_accepts() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = s.client("bob");
    let id = bob.commit("Signed", Sign::Own);
    upload(&bob, &id);
    let out = check(&s, "bob", "text", "refs/heads/main", &s.initial, &id);
    out.assert_success("check of an allowed push");
    assert!(decision_lines(&out.stdout).is_empty(), "{out:?}");

    let json = check(&s, "bob", "json", "refs/heads/main", &s.initial, &id);
    json.assert_success("check --format json of an allowed push");
    let value: serde_json::Value = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|e| panic!("check --format json: not JSON ({e}):\n{}", json.stdout));
    let mut decisions = Vec::new();
    strings_under(&value, "decision", &mut decisions);
    assert_eq!(decisions, ["accept"], "{value:#}");

    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
}

#[test]
fn lint_accepts_the_standard_roles_file() {
    let s = Scenario::bare().build();
    let file = s.home().join("roles.toml");
    fs::write(&file, fixture_policy("standard")).expect("write roles file");
    s.refguard_str(&["policy", "lint", file.to_str().expect("UTF-8 path")])
        .assert_success("lint of the standard roles file");
}

/// Writes `text` to a file in a fresh temp dir, lints it, and returns (path, output).
fn lint(text: &str) -> (String, CmdOutput, Scenario) {
    let s = Scenario::bare().build();
    let file = s.home().join("bad.toml");
    fs::write(&file, text).expect("write roles file");
    let path = file.to_str().expect("UTF-8 path").to_string();
    let out = s.refguard_str(&["policy", "lint", &path]);
    (path, out, s)
}

fn has_line_starting(out: &CmdOutput, prefix: &str, needle: &str) -> bool {
    format!("{}{}", out.stdout, out.stderr)
        .lines()
        .any(|l| l.starts_with(prefix) && l.contains(needle))
}

fn alice_block() -> String {
    format!(
        "[users.alice]\nkeys = [\"{}\"]\n",
        crate::scenario::key("alice").public
    )
}

#[test]
fn lint_reports_an_unknown_field_with_line_and_column() {
    let text = format!("version = 1\n\n{}colour = \"blue\"\n", alice_block());
    let (path, out, _s) = lint(&text);
    out.assert_code(1, "lint of a roles file with an unknown field");
    // `colour` starts line 5, column 1.
    assert!(
        has_line_starting(&out, &format!("{path}:5:1: "), "colour"),
        "expected `{path}:5:1: ...colour...`\n{out:?}"
    );
}

#[test]
fn lint_reports_an_unknown_name_with_line_and_column() {
    let text = format!(
        "version = 1\n\n{}\n[roles]\ndevelopers = [\"alice\", \"bobby\"]\n",
        alice_block()
    );
    let (path, out, _s) = lint(&text);
    out.assert_code(1, "lint of a roles file with an unknown name");
    // `"bobby"` is on line 7, from column 25.
    assert!(
        has_line_starting(&out, &format!("{path}:7:"), "bobby"),
        "expected `{path}:7:COL: ...bobby...`\n{out:?}"
    );
}

#[test]
fn lint_reports_every_problem_not_just_the_first() {
    let text = format!(
        "version = 1\n\n{}\n[roles]\ndevelopers = [\"alice\", \"bobby\"]\nreviewers = [\"carl\"]\n",
        alice_block()
    );
    let (path, out, _s) = lint(&text);
    out.assert_code(1, "lint of a roles file with two unknown names");
    assert!(
        has_line_starting(&out, &format!("{path}:7:"), "bobby")
            && has_line_starting(&out, &format!("{path}:8:"), "carl"),
        "expected both unknown names reported\n{out:?}"
    );
}
