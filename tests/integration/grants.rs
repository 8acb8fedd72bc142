//! Just-in-time access (spec §8): time-boxed `[[grant]]`s, end to end with real pushes. Every
//! window is written relative to the time the test runs (never a sleep): a grant that is
//! active now, one that starts in an hour, one that ended an hour ago.

use serde_json::Value;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::both_hooks;
use crate::scenario::{Hook, Scenario, Sign, render_template};

/// `now + offset` as an RFC 3339 UTC time, whole seconds (what roles.toml and refguard's
/// messages write).
fn at(offset: Duration) -> String {
    let t = (OffsetDateTime::now_utc() + offset).to_offset(UtcOffset::UTC);
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .expect("formats")
}

/// A `[[grant]]` of `role` to `user` over `from` (None: none written) .. `until`.
fn grant(user: &str, role: &str, from: Option<&str>, until: &str) -> String {
    let from = from
        .map(|f| format!("from   = \"{f}\"\n"))
        .unwrap_or_default();
    format!(
        "\n[[grant]]\nuser   = \"{user}\"\nrole   = \"{role}\"\n{from}until  = \"{until}\"\n\
         reason = \"INC-4711 hotfix\"\n"
    )
}

/// main: pushed by maintainers (alice), signed by developers (carol and the maintainers);
/// bob is in no role until a grant makes him one. Anything else under heads is open.
fn roles(grants: &str) -> String {
    render_template(&format!(
        "version = 1\n\n\
         [users.alice]\nkeys = [\"{{{{key:alice}}}}\"]\n\n\
         [users.bob]\nkeys = [\"{{{{key:bob}}}}\"]\n\n\
         [users.carol]\nkeys = [\"{{{{key:carol}}}}\"]\n\n\
         [roles]\nmaintainers = [\"alice\"]\ndevelopers = [\"carol\", \"maintainers\"]\n\n\
         [policy]\nadmins = [\"alice\"]\n\n\
         [[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"maintainers\"]\n\
         signers = [\"developers\"]\n\n\
         [[rule]]\nrefs = [\"refs/heads/**\"]\npush = [\"*\"]\n\
         {grants}"
    ))
}

/// The line of the first line of `text` that is exactly `header`.
fn line_of(text: &str, header: &str) -> usize {
    text.lines()
        .position(|l| l == header)
        .unwrap_or_else(|| panic!("no {header} in the policy"))
        + 1
}

/// The line of the first `[[grant]]` header in `text`.
fn grant_line(text: &str) -> usize {
    line_of(text, "[[grant]]")
}

/// The audit log's records (`audit log --format json`, with extra filters).
fn records(s: &Scenario, filters: &[&str]) -> Vec<Value> {
    let mut args = vec!["audit", "log", "--format", "json"];
    args.extend_from_slice(filters);
    let out = s.refguard_repo(&args);
    out.assert_success("audit log");
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The last record for `refname`.
fn last_record(s: &Scenario, refname: &str) -> Value {
    records(s, &["--ref", refname])
        .pop()
        .unwrap_or_else(|| panic!("no audit record for {refname}"))
}

both_hooks!(
    /// An active grant of maintainers lets bob push to main and sign for it; the decision
    /// records the grant it relied on.
    fn an_active_grant_lets_bob_push(hook) {
        let until = at(Duration::hours(2));
        let text = roles(&grant("bob", "maintainers", Some(&at(-Duration::hours(1))), &until));
        let s = Scenario::builder(hook).policy(text.clone()).build();
        let bob = s.client("bob");
        let id = bob.commit("Hotfix for INC-4711", Sign::Own);
        let p = bob.push(&["HEAD:refs/heads/main"]);
        p.assert_accepted();
        assert_eq!(p.ref_after("refs/heads/main"), Some(id.as_str()));

        let record = last_record(&s, "refs/heads/main");
        assert_eq!(record["decision"], "accept");
        assert_eq!(
            record["grants"],
            serde_json::json!([{ "user": "bob", "role": "maintainers", "until": until }])
        );
    }
);

both_hooks!(
    /// A grant that starts in an hour does nothing yet: the normal rejection, which says
    /// when it starts.
    fn a_pending_grant_does_nothing_yet(hook) {
        let from = at(Duration::hours(1));
        let text = roles(&grant("bob", "maintainers", Some(&from), &at(Duration::hours(3))));
        let line = grant_line(&text);
        let rule = line_of(&text, "[[rule]]");
        let s = Scenario::builder(hook).policy(text).build();
        let bob = s.client("bob");
        let id = bob.commit("Too early", Sign::Own);
        let p = bob.push(&["HEAD:refs/heads/main"]);
        let note = format!("bob's grant of maintainers starts at {from} (roles.toml:{line})");
        p.assert_reason("push-denied")
            .assert_rejected("signer-not-allowed", &id)
            .assert_declined("refs/heads/main")
            .assert_refs_unchanged();
        let denied = p.reason_lines("push-denied");
        assert_eq!(
            denied,
            [format!(
                "refguard:   [push-denied] \"bob\" may not push to refs/heads/main (push: \
                 maintainers; rule roles.toml:{rule}); {note}"
            )],
            "{}",
            p.transcript()
        );
        assert!(p.reason_lines("signer-not-allowed")[0].ends_with(&note));
        let record = last_record(&s, "refs/heads/main");
        assert_eq!((&record["decision"], &record["grants"]), (&Value::from("reject"), &serde_json::json!([])));
    }
);

both_hooks!(
    /// A grant that ended an hour ago ends by itself: bob is refused as before, and told.
    fn an_ended_grant_ends_by_itself(hook) {
        let until = at(-Duration::hours(1));
        let text = roles(&grant("bob", "maintainers", Some(&at(-Duration::hours(5))), &until));
        let line = grant_line(&text);
        let s = Scenario::builder(hook).policy(text).build();
        let bob = s.client("bob");
        bob.commit("Too late", Sign::Own);
        let p = bob.push(&["HEAD:refs/heads/main"]);
        p.assert_reason("push-denied").assert_refs_unchanged();
        let note = format!("; bob's grant of maintainers ended at {until} (roles.toml:{line})");
        assert!(p.reason_lines("push-denied")[0].ends_with(&note), "{}", p.transcript());
        // The hint is the usual one: ask an admin.
        assert!(p.remote.iter().any(|l| l.contains("hint: ask an admin to add you")));
    }
);

/// A commit signed by a granted developer counts while the grant lasts, whoever pushes it;
/// the record names the signer's grant. After the grant ends, the same kind of commit is
/// `signer-not-allowed`.
#[test]
fn a_granted_signer_counts_while_the_grant_lasts() {
    let until = at(Duration::minutes(30));
    let text = roles(&format!(
        "{}{}",
        grant("bob", "developers", None, &until),
        grant("carol", "developers", None, &at(-Duration::minutes(1)))
    ));
    let s = Scenario::builder(Hook::PreReceive).policy(text).build();
    let alice = s.client("alice");
    let id = alice.commit("Reviewed fix by bob", Sign::By("bob"));
    alice.push(&["HEAD:refs/heads/main"]).assert_accepted();
    assert_eq!(s.server_ref("refs/heads/main"), Some(id));
    let record = last_record(&s, "refs/heads/main");
    assert_eq!(
        record["grants"],
        serde_json::json!([{ "user": "bob", "role": "developers", "until": until }])
    );
    // carol is a developer through [roles]; her ended grant changes nothing for her.
    let carol = alice.commit("carol's part", Sign::By("carol"));
    alice.push(&["HEAD:refs/heads/main"]).assert_accepted();
    assert_eq!(s.server_ref("refs/heads/main"), Some(carol));
    assert_eq!(
        last_record(&s, "refs/heads/main")["grants"],
        serde_json::json!([])
    );
}

/// The real flow: an admin adds a grant with an ordinary signed policy change, bob uses it,
/// and `policy show`, `who-can` and `audit log --grants` show it to a security team.
#[test]
fn an_admin_grants_and_a_security_team_reviews() {
    let s = Scenario::builder(Hook::PreReceive)
        .policy(roles(""))
        .build();
    let bob = s.client("bob");
    let fix = bob.commit("Hotfix", Sign::Own);
    bob.push(&["HEAD:refs/heads/main"])
        .assert_reason("push-denied")
        .assert_refs_unchanged();
    // Something bob may always push, for a record that relied on no grant.
    bob.push(&["HEAD:refs/heads/wip/bob"]).assert_accepted();

    // A window longer than max_grant (7 days) is refused like any invalid policy.
    let alice = s.client("alice");
    alice.checkout_policy();
    let base = std::fs::read_to_string(alice.dir().join("roles.toml")).expect("roles.toml");
    let too_long = format!(
        "{base}{}",
        grant("bob", "maintainers", None, &at(Duration::days(8)))
    );
    alice.commit_file("roles.toml", &too_long, "Grant bob for 8 days", Sign::Own);
    let p = alice.push(&["HEAD:refs/meta/policy"]);
    p.assert_reason("policy-invalid").assert_refs_unchanged();
    assert!(
        p.reason_lines("policy-invalid")[0].contains("longer than [settings] max_grant = 7d"),
        "{}",
        p.transcript()
    );

    // Eight hours is fine: signed by the admin, approvals as usual.
    alice.reset_hard("HEAD~1");
    let until = at(Duration::hours(8));
    let granted = format!("{base}{}", grant("bob", "maintainers", None, &until));
    let line = grant_line(&granted);
    alice.commit_file(
        "roles.toml",
        &granted,
        "INC-4711: bob maintains until tonight",
        Sign::Own,
    );
    alice.push(&["HEAD:refs/meta/policy"]).assert_accepted();

    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
    assert_eq!(s.server_ref("refs/heads/main"), Some(fix));

    // policy show: the grant, active, with the time left and where it is written.
    let show = s.refguard_repo(&["policy", "show"]);
    show.assert_success("policy show");
    let shown = show
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("active  bob → maintainers"))
        .unwrap_or_else(|| panic!("no grant line in\n{}", show.stdout));
    assert!(shown.contains(&format!("until {until}")), "{shown}");
    assert!(
        shown.contains("ends in 7h 59m") || shown.contains("ends in 8h"),
        "{shown}"
    );
    assert!(
        shown.ends_with(&format!("reason: INC-4711 hotfix  (roles.toml:{line})")),
        "{shown}"
    );
    let json = s.refguard_repo(&["policy", "show", "--format", "json"]);
    let json: Value = serde_json::from_str(&json.stdout).expect("policy show json");
    assert_eq!(json["grants"][0]["status"], "active");
    assert_eq!(json["grants"][0]["until"], until.as_str());

    // who-can: bob, marked with the end of his grant and its line.
    let who = s.refguard_repo(&["who-can", "push", "refs/heads/main"]);
    who.assert_success("who-can");
    let mark = format!("  bob    (grant until {until}, roles.toml:{line})");
    assert!(
        who.stdout.lines().any(|l| l == mark),
        "{mark:?} not in\n{}",
        who.stdout
    );
    let sign = s.refguard_repo(&["who-can", "sign", "refs/heads/main", "--format", "json"]);
    let sign: Value = serde_json::from_str(&sign.stdout).expect("who-can json");
    let bob_entry = sign["users"]
        .as_array()
        .and_then(|users| users.iter().find(|u| u["id"] == "bob"))
        .unwrap_or_else(|| panic!("bob may sign: {sign:#}"));
    assert_eq!(bob_entry["grant"]["location"], format!("roles.toml:{line}"));

    // audit log --grants: only the decision that relied on the grant.
    let granted_records = records(&s, &["--grants"]);
    assert_eq!(granted_records.len(), 1, "{granted_records:#?}");
    assert_eq!(granted_records[0]["ref"], "refs/heads/main");
    assert_eq!(granted_records[0]["decision"], "accept");
    assert_eq!(granted_records[0]["grants"][0]["user"], "bob");
    let all = records(&s, &[]);
    assert!(all.len() > granted_records.len());
    let table = s.refguard_repo(&["audit", "log", "--grants"]);
    table.assert_success("audit log --grants");
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(
        lines[0].ends_with("CODES  GRANTS           WOULD-REJECT"),
        "{}",
        table.stdout
    );
    assert_eq!(lines.len(), 2, "{}", table.stdout);
    assert!(lines[1].ends_with("bob:maintainers  -"), "{}", table.stdout);
}

/// `policy lint` warns about a grant that has ended, and refuses one too long from now.
#[test]
fn lint_judges_grants_at_the_time_it_runs() {
    let s = Scenario::bare().build();
    let ended = roles(&grant(
        "bob",
        "maintainers",
        Some(&at(-Duration::hours(3))),
        &at(-Duration::hours(1)),
    ));
    let line = grant_line(&ended);
    let file = s.write_file("ended.toml", &ended);
    let out = s.refguard_str(&["policy", "lint", file.to_str().expect("utf-8 path")]);
    out.assert_success("an ended grant is a warning");
    assert!(
        out.stdout.contains(&format!(
            "ended.toml:{line}:1: warning: bob's grant of maintainers ended at"
        )),
        "{}",
        out.stdout
    );
    let long = roles(&grant(
        "bob",
        "maintainers",
        None,
        &at(Duration::days(7) + Duration::hours(1)),
    ));
    let file = s.write_file("long.toml", &long);
    let out = s.refguard_str(&["policy", "lint", file.to_str().expect("utf-8 path")]);
    out.assert_code(1, "a grant longer than max_grant from now is an error");
    assert!(
        out.stdout
            .contains("has no `from`, so it starts when the policy lands"),
        "{}",
        out.stdout
    );
}
