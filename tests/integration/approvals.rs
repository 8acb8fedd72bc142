//! Approvals (spec §7): deployments and rollbacks that need explicit sign-off, with real
//! `refguard approve` runs, real signed tags and real pushes through both hooks.
//!
//! The cast (fixtures/scenarios/standard.toml plus a production rule): bob and carol deploy;
//! release managers alice and dave approve (trent's key has expired, vic's is revoked);
//! production needs two approvals.

use std::fs;

use crate::both_hooks;
use crate::scenario::{Client, Hook, Scenario, Sign, ZERO, fixture_policy, key};

const PRODUCTION: &str = "refs/heads/production";

/// The standard policy with a production rule needing `approvals` (inline table text).
fn policy_with(approvals: &str) -> String {
    let text = fixture_policy("standard").replacen(
        "policy-admins = [\"alice\"]",
        "policy-admins = [\"alice\"]\ndeployers = [\"bob\", \"carol\"]",
        1,
    );
    let at = text.find("[[rule]]").expect("standard policy has rules");
    let rule = format!(
        "[[rule]]\nrefs = [\"{PRODUCTION}\"]\npush = [\"deployers\"]\ncreate = [\"deployers\"]\n\
         force_push = [\"deployers\"]\nsigners = [\"developers\"]\napprovals = {approvals}\n\n"
    );
    format!("{}{rule}{}", &text[..at], &text[at..])
}

fn two_approvals() -> String {
    policy_with("{ by = [\"release-managers\"], count = 2 }")
}

/// A server with production at the initial commit (created before the hook existed... no:
/// created by bob with alice's and dave's approvals) and bob's signed commit on top of it,
/// not pushed yet. Returns (scenario, bob, the commit to deploy).
fn deploy_ready(hook: Hook, policy: String) -> (Scenario, Client, String) {
    let s = Scenario::builder(hook).policy(policy).build();
    // Production starts where main is, created by bob with two approvals of the create.
    let alice = s.client("alice");
    alice
        .approve(&[&s.initial, "--ref", PRODUCTION])
        .assert_success("approve create");
    let dave = s.client("dave");
    dave.approve(&[&s.initial, "--ref", PRODUCTION])
        .assert_success("approve create");
    let bob = s.client("bob");
    bob.push(&[&format!("{}:{PRODUCTION}", s.initial)])
        .assert_accepted();
    let next = bob.commit("Release 1.1", Sign::Own);
    bob.push(&["HEAD:refs/heads/wip/release"]).assert_accepted();
    (s, bob, next)
}

/// A clone of `s` as `user` that has `commit` (fetched from the unprotected wip branch).
fn approver(s: &Scenario, user: &str) -> Client {
    let c = s.client(user);
    c.git(&["fetch", "-q", "origin", "refs/heads/wip/release"]);
    c
}

/// The audit log's records.
fn records(s: &Scenario) -> Vec<serde_json::Value> {
    fs::read_to_string(s.audit_log())
        .expect("read the audit log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record"))
        .collect()
}

both_hooks!(
    fn a_deployment_needs_two_approvals_by_release_managers(hook) {
        let (s, bob, next) = deploy_ready(hook, two_approvals());
        let at = s.server_ref(PRODUCTION).expect("production exists");

        let p = bob.push(&[&format!("HEAD:{PRODUCTION}")]);
        p.assert_reason("approvals-missing")
            .assert_header(PRODUCTION, &at, &next)
            .assert_refs_unchanged();
        let line = p.reason_lines("approvals-missing")[0];
        assert!(
            line.contains("0 of 2 approvals by release-managers for refs/heads/production")
                && line.contains("who may approve: alice, dave"),
            "trent (expired key) and vic (revoked) cannot approve\n{}",
            p.transcript()
        );

        approver(&s, "alice")
            .approve(&[&next, "--ref", PRODUCTION])
            .assert_success("alice approves");
        let p = bob.push(&[&format!("HEAD:{PRODUCTION}")]);
        let line = p.reason_lines("approvals-missing")[0];
        assert!(line.contains("1 of 2 approvals") && line.contains("counted: alice"), "{line}");

        approver(&s, "dave")
            .approve(&[&next, "--ref", "production"])
            .assert_success("dave approves (a bare branch name means refs/heads/)");
        bob.push(&[&format!("HEAD:{PRODUCTION}")]).assert_accepted();
        assert_eq!(s.server_ref(PRODUCTION), Some(next.clone()));

        // The audit record lists the approvals that counted, with their tags.
        let records = records(&s);
        let accepted = records
            .iter()
            .rev()
            .find(|r| r["ref"] == PRODUCTION && r["decision"] == "accept")
            .expect("an accepted production record");
        let users: Vec<&str> = accepted["approvals"]
            .as_array()
            .expect("approvals list")
            .iter()
            .map(|a| a["user"].as_str().expect("user"))
            .collect();
        assert_eq!(users, ["alice", "dave"]);
        let tag = accepted["approvals"][0]["tag"].as_str().expect("tag id");
        assert!(
            s.server_ref(&format!("refs/approvals/{next}/{tag}")).is_some(),
            "the counted tag is stored under refs/approvals/<new>/<tag>"
        );
    }
);

both_hooks!(
    fn approvals_are_single_use_and_bound_to_ref_and_repository(hook) {
        let (s, bob, b) = deploy_ready(hook, two_approvals());
        let a = s.server_ref(PRODUCTION).expect("production exists");
        let c = bob.commit("Release 1.2", Sign::Own);
        bob.push(&["HEAD:refs/heads/wip/release"]).assert_accepted();
        let alice = approver(&s, "alice");
        let dave = approver(&s, "dave");
        // alice approves both releases now, while production is at A.
        alice.approve(&[&b, "--ref", PRODUCTION]).assert_success("alice approves B");
        alice.approve(&[&c, "--ref", PRODUCTION]).assert_success("alice approves C");
        // dave approves B, but for staging first: that approves nothing for production.
        dave.approve(&[&b, "--ref", "refs/heads/staging"])
            .assert_success("an approval for another ref is a valid approval");
        bob.reset_hard(&b);
        let p = bob.push(&[&format!("HEAD:{PRODUCTION}")]);
        p.assert_reason("approvals-missing").assert_header(PRODUCTION, &a, &b);
        let lines = p.reason_lines("approvals-missing").join("\n");
        assert!(
            lines.contains("1 of 2 approvals") && lines.contains("dave's approval is for refs/heads/staging"),
            "{}",
            p.transcript()
        );
        dave.approve(&[&b, "--ref", PRODUCTION]).assert_success("dave approves B");
        bob.push(&[&format!("HEAD:{PRODUCTION}")]).assert_accepted();

        // Production moved to B: alice's approval of C, given while it was at A, is spent.
        dave.approve(&[&c, "--ref", PRODUCTION]).assert_success("dave approves C");
        bob.reset_hard(&c);
        let p = bob.push(&[&format!("HEAD:{PRODUCTION}")]);
        p.assert_reason("approvals-missing").assert_refs_unchanged();
        let lines = p.reason_lines("approvals-missing").join("\n");
        assert!(
            lines.contains("1 of 2 approvals")
                && lines.contains("counted: dave")
                && lines.contains(&format!(
                    "alice's approval approved moving from {}, the ref is at {}",
                    &a[..7],
                    &b[..7]
                )),
            "{}",
            p.transcript()
        );

        // An approval naming another repository is refused when it is pushed.
        let out = alice.approve(&[&c, "--ref", PRODUCTION, "--repository", "other"]);
        out.assert_code(1, "an approval for another repository is refused");
        assert!(
            out.stderr.contains("[bad-approval]")
                && out.stderr.contains("the approval is for repository other, this is server"),
            "{}",
            out.stderr
        );
        // alice approves again, now from B: the deployment goes through.
        alice.approve(&[&c, "--ref", PRODUCTION]).assert_success("alice approves C again");
        bob.push(&[&format!("HEAD:{PRODUCTION}")]).assert_accepted();
    }
);

/// Writes an approval tag by hand (`git tag -s` with `message`) for `commit`, stores it under
/// its approval ref and returns that ref name; not pushed.
fn hand_made(c: &Client, commit: &str, message: &str, signer: &str) -> String {
    let file = c.dir().join("approval-message");
    fs::write(&file, message).expect("write the message");
    let key_opt = format!("user.signingKey={}", key(signer).private.display());
    let file = file.to_str().expect("UTF-8 path");
    c.git(&[
        "-c",
        "gpg.format=ssh",
        "-c",
        &key_opt,
        "tag",
        "-s",
        "-F",
        file,
        "hand-made",
        commit,
    ]);
    let tag = c.rev("refs/tags/hand-made");
    c.git(&["tag", "-d", "hand-made"]);
    let name = format!("refs/approvals/{commit}/{tag}");
    c.git(&["update-ref", &name, &tag]);
    name
}

/// The approval message for moving production from `from`.
fn statement(from: &str, expires: Option<&str>) -> String {
    let mut text = format!(
        "refguard approval\n\nRefguard-Repository: server\nRefguard-Ref: {PRODUCTION}\n\
         Refguard-From: {from}\n"
    );
    if let Some(at) = expires {
        text.push_str(&format!("Refguard-Expires: {at}\n"));
    }
    text
}

both_hooks!(
    fn each_ignored_approval_says_why(hook) {
        let policy = policy_with("{ by = [\"release-managers\"], count = 1 }")
            .replacen("deployers = [\"bob\", \"carol\"]", "deployers = [\"alice\", \"bob\", \"carol\"]", 1);
        let (s, bob, next) = deploy_ready(hook, policy);
        let at = s.server_ref(PRODUCTION).expect("production exists");
        // trent's key expired in 2020: his approval is sound evidence, it just does not count.
        approver(&s, "trent").approve(&[&next, "--ref", PRODUCTION]).assert_success("trent");
        // carol is a known user but no release manager.
        approver(&s, "carol").approve(&[&next, "--ref", PRODUCTION]).assert_success("carol");
        // dave's approval expired an hour ago (made by hand: refguard approve refuses that).
        let dave = approver(&s, "dave");
        let past = (time::OffsetDateTime::now_utc() - time::Duration::hours(1))
            .replace_nanosecond(0)
            .expect("whole seconds")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("RFC 3339");
        let expired = hand_made(&dave, &next, &statement(&at, Some(&past)), "dave");
        dave.push(&[&format!("{expired}:{expired}")]).assert_accepted();
        // alice's approval is her own when she pushes.
        let alice = approver(&s, "alice");
        alice.approve(&[&next, "--ref", PRODUCTION]).assert_success("alice");
        alice.git(&["fetch", "-q", "origin", "refs/heads/wip/release"]);
        alice.reset_hard(&next);
        let p = alice.push(&[&format!("HEAD:{PRODUCTION}")]);
        p.assert_reason("approvals-missing").assert_refs_unchanged();
        let lines = p.reason_lines("approvals-missing").join("\n");
        for why in [
            "0 of 1 approval by release-managers",
            "trent's key has expired",
            "carol is not among the approvers (release-managers)",
            "dave's approval expired at",
            "alice's approval is the pusher's own, which does not count (allow_self = false)",
        ] {
            assert!(lines.contains(why), "missing {why:?}\n{}", p.transcript());
        }
        // The same approval counts when bob pushes.
        bob.push(&[&format!("HEAD:{PRODUCTION}")]).assert_accepted();
    }
);

both_hooks!(
    fn approvals_can_arrive_in_the_same_push(hook) {
        let (s, bob, next) = deploy_ready(hook, two_approvals());
        // The approvers store their approvals locally; bob fetches and pushes them along.
        for user in ["alice", "dave"] {
            let c = approver(&s, user);
            c.approve(&[&next, "--ref", PRODUCTION, "--no-push"]).assert_success(user);
            let dir = c.dir().display().to_string();
            bob.git(&["fetch", "-q", &dir, "+refs/approvals/*:refs/approvals/*"]);
        }
        let names: Vec<String> = bob
            .git(&["for-each-ref", "--format=%(refname)", "refs/approvals/"])
            .lines()
            .filter(|l| l.contains(&next))
            .map(str::to_string)
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        let mut refspecs: Vec<String> = names.iter().map(|n| format!("{n}:{n}")).collect();
        refspecs.push(format!("HEAD:{PRODUCTION}"));
        let refspecs: Vec<&str> = refspecs.iter().map(String::as_str).collect();
        let p = bob.push(&refspecs);
        match hook {
            // pre-receive sees the whole push: the approvals in the quarantine count.
            Hook::PreReceive | Hook::Both => {
                p.assert_accepted();
            }
            // The update hook judges each ref as git updates it, and git updates a ref that
            // already exists (production) before new ones (the approvals): the approvals land,
            // production does not, and the next push of production counts them.
            Hook::Update => {
                p.assert_reason("approvals-missing");
                assert!(names.iter().all(|n| p.ref_after(n).is_some()), "{}", p.transcript());
                bob.push(&[&format!("HEAD:{PRODUCTION}")]).assert_accepted();
            }
        }
        assert_eq!(s.server_ref(PRODUCTION), Some(next));
    }
);

both_hooks!(
    fn refs_under_refs_approvals_are_guarded(hook) {
        let (s, bob, next) = deploy_ready(hook, two_approvals());
        let at = s.server_ref(PRODUCTION).expect("production exists");
        let alice = approver(&s, "alice");
        alice.approve(&[&next, "--ref", PRODUCTION]).assert_success("alice");
        let stored = alice
            .git(&["for-each-ref", "--format=%(refname)", &format!("refs/approvals/{next}/")])
            .trim()
            .to_string();
        let bad = |p: crate::scenario::Push, why: &str| {
            p.assert_reason("bad-approval").assert_refs_unchanged();
            let line = p.reason_lines("bad-approval").join("\n");
            assert!(line.contains(why), "expected {why:?}\n{}", p.transcript());
        };
        // Never deleted, never moved.
        bad(alice.push(&[&format!(":{stored}")]), "can never be moved or deleted");
        let other = hand_made(&alice, &next, &statement(&at, None), "alice");
        let other_tag = alice.rev(&other);
        bad(
            alice.push(&[&format!("{other_tag}:{stored}")]),
            "can never be moved or deleted",
        );
        // Only refs/approvals/<commit>/<tag>, pointing at that tag.
        bad(
            alice.push(&[&format!("{other_tag}:refs/approvals/{next}")]),
            "is not an approval ref",
        );
        bad(
            alice.push(&[&format!("{other_tag}:refs/approvals/{next}/{}", "0".repeat(40))]),
            "names tag 0000000",
        );
        // A commit is no approval; nor is a tag pointing elsewhere than its ref says.
        bad(
            alice.push(&[&format!("{next}:refs/approvals/{next}/{next}")]),
            "is not an annotated tag",
        );
        let wrong = format!("refs/approvals/{at}/{other_tag}");
        bad(
            alice.push(&[&format!("{other_tag}:{wrong}")]),
            &format!("its ref names commit {}", &at[..7]),
        );
        // Unsigned, by a revoked key, by a key no user holds, not an approval statement.
        alice.git(&["tag", "-a", "-m", &statement(&at, None), "unsigned", &next]);
        let unsigned = alice.rev("refs/tags/unsigned");
        bad(
            alice.push(&[&format!("{unsigned}:refs/approvals/{next}/{unsigned}")]),
            "not signed",
        );
        for (signer, why) in [("vic", "revoked key"), ("mallory", "unknown key")] {
            let name = hand_made(&alice, &next, &statement(&at, None), signer);
            bad(alice.push(&[&format!("{name}:{name}")]), why);
        }
        let name = hand_made(&alice, &next, "Looks good to me\n", "alice");
        bad(alice.push(&[&format!("{name}:{name}")]), "not an approval statement");
        let _ = bob;
    }
);

#[test]
fn a_rollback_needs_approval_a_deployment_does_not() {
    let (s, bob, next) = deploy_ready(
        Hook::PreReceive,
        policy_with("{ by = [\"release-managers\"], on = [\"force_push\"] }"),
    );
    // Forward: no approvals needed.
    let at = s.server_ref(PRODUCTION).expect("production exists");
    bob.push(&[&format!("HEAD:{PRODUCTION}")]).assert_accepted();
    // Back to the previous release: a non-fast-forward update, which needs an approval.
    let p = bob.push(&[&format!("+{at}:{PRODUCTION}")]);
    p.assert_reason("approvals-missing")
        .assert_header(PRODUCTION, &next, &at)
        .assert_refs_unchanged();
    let dave = s.client("dave");
    dave.approve(&[&at, "--ref", PRODUCTION])
        .assert_success("dave approves the rollback");
    bob.push(&[&format!("+{at}:{PRODUCTION}")])
        .assert_accepted();
    assert_eq!(s.server_ref(PRODUCTION), Some(at));
}

#[test]
fn who_can_approve_policy_show_and_check_know_approvals() {
    let (s, bob, next) = deploy_ready(Hook::PreReceive, two_approvals());
    let at = s.server_ref(PRODUCTION).expect("production exists");
    let who = s.refguard_repo(&["who-can", "approve", PRODUCTION]);
    who.assert_success("who-can approve");
    assert!(
        who.stdout
            .contains("approve: release-managers → alice, dave, trent, vic")
            && who.stdout.contains("needs 2 approvals by distinct members")
            && who
                .stdout
                .contains(&format!("  alice  {}", key("alice").fingerprint))
            && who
                .stdout
                .contains(&format!("  vic    {} revoked", key("vic").fingerprint)),
        "{}",
        who.stdout
    );
    let none = s.refguard_repo(&["who-can", "approve", "refs/heads/main"]);
    assert!(
        none.stdout.contains("no approvals needed"),
        "{}",
        none.stdout
    );
    let show = s.refguard_repo(&["policy", "show"]);
    assert!(
        show.stdout
            .contains("approvals:  2 by release-managers → alice, dave, trent, vic"),
        "{}",
        show.stdout
    );

    // `check` looks the approvals up as the hook does.
    let check =
        |s: &Scenario| s.refguard_repo_with(&["check", "--as", "bob", PRODUCTION, &at, &next], &[]);
    check(&s).assert_code(1, "no approvals yet");
    for user in ["alice", "dave"] {
        approver(&s, user)
            .approve(&[&next, "--ref", PRODUCTION])
            .assert_success(user);
    }
    let out = check(&s);
    out.assert_success("approved");
    let _ = (bob, ZERO);
}
