//! Evaluate mode and replay (spec §11) with real pushes: a shadow rule above an enforced one
//! keeps the protection and warns; warnings reach the pusher and the audit log;
//! `audit log --would-reject` lists exactly those decisions; `audit replay` reports both
//! directions of change on a log made by real pushes.

use serde_json::Value;

use crate::both_hooks;
use crate::scenario::{Hook, Scenario, Sign, fixture_policy};

/// A shadow above the standard main rule: only alice may push main, every commit signed by
/// a maintainer.
const SHADOW: &str = "[[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"alice\"]\n\
                      signers = [\"maintainers\"]\nmode = \"evaluate\"\n\n";

/// The standard policy with `SHADOW` before its first rule, and the shadow's line.
fn shadowed() -> (String, usize) {
    let standard = fixture_policy("standard");
    let at = standard.find("[[rule]]").expect("a rule");
    let line = standard[..at].lines().count() + 1;
    (
        format!("{}{SHADOW}{}", &standard[..at], &standard[at..]),
        line,
    )
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

both_hooks!(
    fn a_shadow_above_an_enforced_rule_keeps_the_protection_and_warns(hook) {
        let (policy, line) = shadowed();
        let s = Scenario::builder(hook).policy(policy).build();
        let bob = s.client("bob");
        let warning = format!(
            "refguard: warning: refs/heads/main would be rejected by rule roles.toml:{line} \
             (evaluate mode)"
        );

        // What the enforced rule allows goes through, with the shadow's findings as warnings.
        let signed = bob.commit_file("a.txt", "a\n", "Signed by bob", Sign::Own);
        let p = bob.push(&["HEAD:main"]);
        p.assert_accepted();
        assert!(p.remote.contains(&warning), "{}", p.transcript());
        let push_denied = p.reason_lines("push-denied");
        assert!(push_denied.iter().any(|l| l.contains("\"bob\" may not push")), "{}", p.transcript());
        let signer = p.reason_lines("signer-not-allowed");
        assert!(
            signer.iter().any(|l| l.contains(&signed[..7])),
            "{}",
            p.transcript()
        );

        // What the enforced rule forbids stays forbidden, above it or not.
        let unsigned = bob.commit_file("b.txt", "b\n", "Unsigned", Sign::Unsigned);
        let p = bob.push(&["HEAD:main"]);
        p.assert_rejected("unsigned", &unsigned).assert_refs_unchanged();
        assert!(p.remote.contains(&warning), "{}", p.transcript());

        // A ref no shadow matches: no warning.
        let p = bob.push(&["HEAD:refs/heads/wip/bob"]);
        p.assert_accepted();
        assert!(!p.stderr.contains("warning:"), "{}", p.transcript());

        // The log: each decision once, the findings under `evaluate`; --would-reject lists
        // exactly the two decisions with findings.
        let all = s.refguard_repo(&["audit", "log", "--format", "json"]);
        all.assert_success("audit log");
        let all = json_lines(&all.stdout);
        let with_findings: Vec<&Value> = all
            .iter()
            .filter(|r| !r["evaluate"].as_array().expect("evaluate").is_empty())
            .collect();
        assert_eq!(with_findings.len(), 2, "{all:#?}");
        let first = with_findings[0];
        assert_eq!(first["decision"], "accept");
        assert_eq!(first["evaluate"][0]["rule"], format!("roles.toml:{line}"));
        let codes: Vec<&str> = first["evaluate"]
            .as_array()
            .expect("list")
            .iter()
            .map(|f| f["code"].as_str().expect("code"))
            .collect();
        assert_eq!(codes, ["push-denied", "signer-not-allowed"]);
        assert_eq!(with_findings[1]["decision"], "reject");

        let listed = s.refguard_repo(&["audit", "log", "--would-reject", "--format", "json"]);
        listed.assert_success("audit log --would-reject");
        let listed = json_lines(&listed.stdout);
        assert_eq!(listed.len(), 2, "{listed:#?}");
        assert!(listed.iter().zip(&with_findings).all(|(a, b)| a == *b));
        let table = s.refguard_repo(&["audit", "log", "--would-reject"]);
        assert_eq!(table.stdout.lines().count(), 3, "{}", table.stdout);
        assert!(table.stdout.lines().next().expect("header").ends_with("WOULD-REJECT"));
        assert!(
            table.stdout.contains(&format!("push-denied@roles.toml:{line},signer-not-allowed@roles.toml:{line}")),
            "{}",
            table.stdout
        );
    }
);

#[test]
fn replay_reports_both_directions_of_change_on_a_real_log() {
    let standard = fixture_policy("standard");
    let s = Scenario::builder(Hook::PreReceive)
        .policy(standard.clone())
        .build();
    let bob = s.client("bob");
    let carol = s.client("carol");
    // bob (a developer) moves main: accepted.
    bob.commit_file("a.txt", "a\n", "By bob", Sign::Own);
    bob.push(&["HEAD:main"]).assert_accepted();
    // carol (in no role) tries main: rejected; the same commit then lands on an unprotected
    // branch, so its objects stay in the repository.
    carol.git(&["pull", "-q", "origin", "main"]);
    let by_carol = carol.commit_file("c.txt", "c\n", "By carol", Sign::Own);
    carol.push(&["HEAD:main"]).assert_reason("push-denied");
    carol.push(&["HEAD:refs/heads/wip/carol"]).assert_accepted();

    // The policy in force, replayed: nothing changes.
    let same = s.write_file("same.toml", &standard);
    let out = s.refguard_repo(&["audit", "replay", "--policy", same.to_str().expect("utf-8")]);
    out.assert_code(0, "replay of the same policy");
    assert!(
        out.stdout.contains("3 logged updates replayed"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("0 would change"), "{}", out.stdout);

    // A candidate where only maintainers push main, and carol is a developer: bob's push
    // would be rejected, carol's accepted.
    let candidate = standard
        .replacen(
            "developers = [\"bob\",",
            "developers = [\"carol\", \"bob\",",
            1,
        )
        .replacen(
            "refs = [\"refs/heads/main\", \"refs/heads/release/*\"]\npush = [\"developers\"]",
            "refs = [\"refs/heads/main\", \"refs/heads/release/*\"]\npush = [\"maintainers\", \"carol\"]",
            1,
        );
    assert_ne!(candidate, standard, "the candidate differs");
    let file = s.write_file("candidate.toml", &candidate);
    let file = file.to_str().expect("utf-8");
    let out = s.refguard_repo(&["audit", "replay", "--policy", file]);
    out.assert_code(1, "replay of the candidate");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let to_reject = lines
        .iter()
        .find(|l| l.starts_with("accepted → rejected"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(to_reject.contains("bob") && to_reject.contains("refs/heads/main"));
    assert!(to_reject.contains("push-denied"), "{to_reject}");
    let to_accept = lines
        .iter()
        .find(|l| l.starts_with("rejected → accepted"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        to_accept.contains("carol") && to_accept.ends_with("push-denied,signer-not-allowed"),
        "{to_accept}"
    );
    assert!(
        out.stdout
            .contains("2 would change (1 accepted → rejected, 1 rejected → accepted)")
    );

    let json = s.refguard_repo(&["audit", "replay", "--policy", file, "--format", "json"]);
    json.assert_code(1, "replay as JSON");
    let rows = json_lines(&json.stdout);
    let (summary, changes) = rows.split_last().expect("rows");
    assert_eq!(changes.len(), 2);
    assert_eq!(summary["summary"]["accepted_to_rejected"], 1);
    assert_eq!(summary["summary"]["rejected_to_accepted"], 1);
    assert_eq!(changes[1]["new"], by_carol.as_str());
    assert_eq!(changes[1]["logged_codes"][0], "push-denied");

    // --since after every push: nothing replayed.
    let later = s.refguard_repo(&["audit", "replay", "--policy", file, "--since", "2999-01-01"]);
    later.assert_code(0, "replay since the future");
    assert!(later.stdout.contains("0 logged updates replayed"));

    // An invalid candidate is an error.
    let bad = s.write_file("bad.toml", "version = 1\n[[rule]]\n");
    let out = s.refguard_repo(&["audit", "replay", "--policy", bad.to_str().expect("utf-8")]);
    out.assert_code(2, "an invalid candidate");
}
