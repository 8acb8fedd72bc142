//! Tests for the policy views over a hand-built policy (the parser is not needed): real
//! OpenSSH ed25519 public keys, so fingerprints and allowed_signers lines are exact.

use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::policy::{Location, Policy, Principals, UserKey};
use crate::testutil::{
    ALICE, BOB, BOB_REVOKED, CAROL as CAROL_EXPIRED, DAVE, GONE, Roles, build_policy, fingerprint,
    principals, revoked, rule, user,
};

const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const ALICE_EXPIRES: OffsetDateTime = datetime!(2027-06-30 00:00:00 UTC);
const CAROL_EXPIRES: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);
const POLICY_REF: &str = "refs/meta/policy";

/// A policy key written at `roles.toml:<at>`.
fn user_key(line: &str, expires: Option<OffsetDateTime>, at: usize) -> UserKey {
    UserKey {
        location: Location::new(at, 3),
        ..crate::testutil::user_key(line, expires)
    }
}

const ROLES: Roles = &[
    ("maintainers", &["alice"]),
    ("developers", &["bob", "maintainers", "carol"]),
    ("policy-admins", &["alice", "dave"]),
];

fn list(written: &[&str]) -> Principals {
    principals(ROLES, written)
}

/// alice (maintainer, admin; key expires 2027), bob (developer; second key revoked), carol
/// (developer; key expired), dave (admin, release manager). Rules: main (everything set),
/// feature (everything absent), linear, tags, team (`*`).
fn policy() -> Policy {
    let users = vec![
        user(
            "alice",
            &["alice@example.com", "Alice Liddell"],
            vec![user_key(ALICE, Some(ALICE_EXPIRES), 4)],
        ),
        user(
            "bob",
            &[],
            vec![user_key(BOB, None, 8), user_key(BOB_REVOKED, None, 9)],
        ),
        user(
            "carol",
            &[],
            vec![user_key(CAROL_EXPIRED, Some(CAROL_EXPIRES), 12)],
        ),
        user("dave", &[], vec![user_key(DAVE, None, 15)]),
    ];
    let mut main = rule(40, &["refs/heads/main", "refs/heads/release/*"]);
    main.set_list(ListKind::Push, Some(list(&["maintainers"])));
    main.set_list(ListKind::Create, Some(list(&["maintainers"])));
    main.set_list(ListKind::Delete, Some(list(&[])));
    main.set_list(ListKind::Signers, Some(list(&["developers"])));
    main.set_list(ListKind::Merge, Some(list(&["maintainers", "dave"])));
    let feature = rule(50, &["refs/heads/feature/**"]);
    let mut linear = rule(53, &["refs/heads/linear"]);
    linear.linear = true;
    linear.set_list(ListKind::Signers, Some(list(&["developers"])));
    linear.set_list(ListKind::Merge, Some(list(&["maintainers"])));
    let mut tags = rule(59, &["refs/tags/v*"]);
    tags.set_list(ListKind::Create, Some(list(&["dave"])));
    tags.set_list(ListKind::Signers, Some(list(&["dave"])));
    let mut team = rule(64, &["refs/heads/team/*"]);
    team.set_list(ListKind::Push, Some(list(&["*"])));
    team.set_list(ListKind::Merge, Some(list(&["bob"])));

    let revocations = vec![
        revoked(BOB_REVOKED, Some("laptop stolen"), Location::new(30, 1)),
        revoked(GONE, None, Location::new(34, 1)),
    ];
    Policy {
        baseline: vec!["9fceb02d0ae598e95dc970b74767f19372d61af8".into()],
        ..build_policy(
            ROLES,
            users,
            vec![main, feature, linear, tags, team],
            revocations,
        )
    }
}

fn ask(refname: &str, action: WhoCanAction) -> WhoCan {
    who_can(&policy(), POLICY_REF, refname, action, None, NOW)
}

fn ids(w: &WhoCan) -> Vec<&str> {
    w.users.iter().map(|u| u.id.as_str()).collect()
}

#[test]
fn key_status_revoked_wins_and_expiry_boundary_is_expired() {
    let p = policy();
    let bob = &p.users["bob"];
    assert_eq!(key_status(&p, &bob.keys[0], NOW), KeyStatus::Active);
    assert_eq!(key_status(&p, &bob.keys[1], NOW), KeyStatus::Revoked);
    let carol = &p.users["carol"].keys[0];
    assert_eq!(key_status(&p, carol, NOW), KeyStatus::Expired);
    assert_eq!(key_status(&p, carol, CAROL_EXPIRES), KeyStatus::Expired);
    assert_eq!(
        key_status(&p, carol, CAROL_EXPIRES - time::Duration::SECOND),
        KeyStatus::Active
    );
}

#[test]
fn show_lists_users_keys_roles_admins_revocations() {
    let v = policy_view(&policy(), POLICY_REF, Some("abc"), NOW);
    assert_eq!(v.now, "2026-03-01T12:00:00Z");
    let ids: Vec<&str> = v.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["alice", "bob", "carol", "dave"]);
    let alice = &v.users[0].keys[0];
    assert_eq!(alice.algorithm, "ssh-ed25519");
    assert_eq!(alice.comment, "alice@test");
    assert_eq!(alice.expires.as_deref(), Some("2027-06-30T00:00:00Z"));
    assert_eq!(alice.status, KeyStatus::Active);
    assert_eq!(alice.location, "roles.toml:4");
    let bob = &v.users[1].keys;
    assert_eq!(
        (bob[1].status, bob[1].revoked_reason.as_deref()),
        (KeyStatus::Revoked, Some("laptop stolen"))
    );
    assert_eq!(v.users[2].keys[0].status, KeyStatus::Expired);

    let dev = v
        .roles
        .iter()
        .find(|r| r.name == "developers")
        .expect("role");
    assert_eq!(dev.written, ["bob", "maintainers", "carol"]);
    assert_eq!(dev.users, ["alice", "bob", "carol"]);
    assert_eq!(v.admins.admins.users, ["alice", "dave"]);
    assert_eq!(v.admins.admins.summary, "policy-admins → alice, dave");
    assert_eq!(v.admins.approvals, 2);

    assert_eq!(v.revoked[0].still_listed_by.as_deref(), Some("bob"));
    assert_eq!(v.revoked[1].still_listed_by, None);
    assert_eq!(v.revoked[1].location, "roles.toml:34");
}

#[test]
fn show_spells_out_every_absent_list() {
    let v = policy_view(&policy(), POLICY_REF, None, NOW);
    let main = &v.rules[0];
    assert_eq!((main.number, main.location.as_str()), (1, "roles.toml:40"));
    assert_eq!(main.push.summary, "maintainers → alice");
    assert_eq!(main.delete.summary, "[] → nobody");
    assert_eq!(main.force_push.summary, "absent: nobody");
    assert_eq!(main.signers.users, ["alice", "bob", "carol"]);

    let feature = &v.rules[1];
    let summaries = [
        &feature.push,
        &feature.create,
        &feature.delete,
        &feature.force_push,
        &feature.signers,
        &feature.merge,
    ]
    .map(|l| l.summary.as_str());
    assert_eq!(
        summaries,
        [
            "absent: anyone, including unknown pushers",
            "absent: same as push → anyone, including unknown pushers",
            "absent: nobody",
            "absent: nobody",
            "absent: unsigned commits allowed",
            "absent: any allowed signer → unsigned commits allowed",
        ]
    );
    assert_eq!(feature.push.written, None);
    assert_eq!(feature.push.effect, Effect::Anyone);
    assert_eq!(feature.merge.effect, Effect::Unsigned);

    let linear = &v.rules[2];
    assert_eq!(linear.merge.effect, Effect::NoMerges);
    assert!(linear.merge.summary.starts_with("no merges: linear = true"));

    let tags = &v.rules[3];
    assert_eq!(
        tags.push.summary,
        "absent: anyone, including unknown pushers"
    );
    assert_eq!(tags.create.summary, "dave → dave");

    // "*" is every user of the file, not unknown pushers.
    let team = &v.rules[4];
    assert_eq!(team.push.effect, Effect::Users);
    assert_eq!(team.push.users, ["alice", "bob", "carol", "dave"]);
    assert_eq!(
        team.create.summary,
        "absent: same as push → alice, bob, carol, dave"
    );
}

#[test]
fn show_serializes_to_json_and_text() {
    let v = policy_view(&policy(), POLICY_REF, Some("abc"), NOW);
    let json = serde_json::to_value(&v).expect("serializes");
    assert_eq!(json["rules"][1]["push"]["written"], serde_json::Value::Null);
    assert_eq!(json["rules"][1]["push"]["effect"], "anyone");
    assert_eq!(
        json["rules"][1]["push"]["default"],
        "anyone, including unknown pushers"
    );
    assert_eq!(json["users"][1]["keys"][1]["status"], "revoked");
    let text = v.to_lines().join("\n");
    for needle in [
        "policy refs/meta/policy at abc",
        "  alice  names: alice, alice@example.com, Alice Liddell",
        "expires 2027-06-30T00:00:00Z",
        "revoked: laptop stolen",
        "still listed by bob",
        "  developers = [bob, maintainers, carol] → alice, bob, carol",
        "  admins:    policy-admins → alice, dave",
        "  approvals: 2",
        "  9fceb02d0ae598e95dc970b74767f19372d61af8",
        "  rule 2 (roles.toml:50): refs/heads/feature/**",
        "    push:       absent: anyone, including unknown pushers",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
}

#[test]
fn who_can_ref_actions_follow_the_first_matching_rule() {
    let w = ask("refs/heads/release/1.0", WhoCanAction::Push);
    assert_eq!(
        w.governed_by,
        Governor::Rule {
            number: 1,
            location: "roles.toml:40".into(),
            refs: vec!["refs/heads/main".into(), "refs/heads/release/*".into()],
        }
    );
    assert_eq!(ids(&w), ["alice"]);
    assert_eq!(ask("refs/heads/main", WhoCanAction::Create).answer, "alice");
    let del = ask("refs/heads/main", WhoCanAction::Delete);
    assert_eq!((del.effect, del.answer.as_str()), (Effect::Users, "nobody"));
    assert_eq!(
        ask("refs/heads/main", WhoCanAction::ForcePush).answer,
        "nobody"
    );
}

#[test]
fn who_can_spells_out_absent_lists() {
    let feature = "refs/heads/feature/x";
    // (ref, action, effect, answer); `None`: not checked.
    let table: [(&str, WhoCanAction, Option<Effect>, Option<&str>); 7] = [
        (
            "refs/heads/feature/x/y",
            WhoCanAction::Push,
            Some(Effect::Anyone),
            Some("anyone, including unknown pushers"),
        ),
        (feature, WhoCanAction::Create, Some(Effect::Anyone), None),
        (feature, WhoCanAction::Delete, None, Some("nobody")),
        (feature, WhoCanAction::ForcePush, None, Some("nobody")),
        (
            feature,
            WhoCanAction::Sign,
            Some(Effect::Unsigned),
            Some("anyone: no signature is required"),
        ),
        (feature, WhoCanAction::Merge, Some(Effect::Unsigned), None),
        // Tags: create set, push absent.
        (
            "refs/tags/v1",
            WhoCanAction::Push,
            Some(Effect::Anyone),
            None,
        ),
    ];
    for (refname, action, effect, answer) in table {
        let w = ask(refname, action);
        if let Some(effect) = effect {
            assert_eq!(w.effect, effect, "{refname} {action:?}");
        }
        if let Some(answer) = answer {
            assert_eq!(w.answer, answer, "{refname} {action:?}");
        }
    }
}

#[test]
fn who_can_without_a_rule_is_anyone() {
    let w = ask("refs/heads/random", WhoCanAction::Delete);
    assert_eq!(w.governed_by, Governor::NoRule);
    assert_eq!(w.effect, Effect::Anyone);
    assert_eq!(
        w.to_lines()[0],
        "refs/heads/random: no rule: unprotected, anyone"
    );
    assert_eq!(
        ask("refs/heads/random", WhoCanAction::Sign).effect,
        Effect::Unsigned
    );
}

#[test]
fn who_can_sign_counts_only_active_keys() {
    let w = ask("refs/heads/main", WhoCanAction::Sign);
    // developers = alice, bob, carol; carol's only key expired; bob's second key is revoked.
    assert_eq!(ids(&w), ["alice", "bob"]);
    assert_eq!(w.users[1].keys, [fingerprint(BOB)]);
    assert_eq!(w.users[0].keys, [fingerprint(ALICE)]);
    assert_eq!(
        w.excluded,
        [
            Excluded {
                user: "bob".into(),
                fingerprint: fingerprint(BOB_REVOKED),
                status: KeyStatus::Revoked
            },
            Excluded {
                user: "carol".into(),
                fingerprint: fingerprint(CAROL_EXPIRED),
                status: KeyStatus::Expired
            },
        ]
    );
    assert!(
        w.notes
            .iter()
            .any(|n| n == "carol is listed but has no active key")
    );
    let text = w.to_lines().join("\n");
    assert!(
        text.contains(&format!("  bob    {}", fingerprint(BOB))),
        "{text}"
    );
    assert!(text.contains("revoked"), "{text}");
    // After alice's key expires, nobody but bob.
    let later = who_can(
        &policy(),
        POLICY_REF,
        "refs/heads/main",
        WhoCanAction::Sign,
        None,
        ALICE_EXPIRES,
    );
    assert_eq!(ids(&later), ["bob"]);
}

#[test]
fn who_can_merge() {
    // merge = maintainers + dave, but dave is not in signers: only alice can sign a merge.
    let w = ask("refs/heads/main", WhoCanAction::Merge);
    assert_eq!(ids(&w), ["alice"]);
    assert!(
        w.notes
            .iter()
            .any(|n| n.contains("must also satisfy signers"))
    );
    // linear wins.
    let l = ask("refs/heads/linear", WhoCanAction::Merge);
    assert_eq!(
        (l.effect, l.answer.as_str()),
        (Effect::NoMerges, "no merges: linear")
    );
    // merge set, signers absent: the merge list alone.
    assert_eq!(ids(&ask("refs/heads/team/x", WhoCanAction::Merge)), ["bob"]);
    // merge absent, signers set: the signers.
    assert_eq!(ids(&ask("refs/tags/v2", WhoCanAction::Merge)), ["dave"]);
}

#[test]
fn who_can_on_the_policy_branch_uses_admins() {
    let push = ask(POLICY_REF, WhoCanAction::Push);
    assert_eq!(push.governed_by, Governor::PolicyBranch { approvals: 2 });
    assert_eq!(ids(&push), ["alice", "dave"]);
    assert!(push.notes[0].contains("at least 2 distinct admin(s)"));
    let sign = ask(POLICY_REF, WhoCanAction::Sign);
    assert_eq!(sign.users[1].keys, [fingerprint(DAVE)]);
    for action in [
        WhoCanAction::Delete,
        WhoCanAction::ForcePush,
        WhoCanAction::Create,
    ] {
        assert_eq!(ask(POLICY_REF, action).answer, "nobody", "{action:?}");
    }
    // A custom policy ref: refs/meta/policy is then an ordinary (unmatched) ref.
    let other = who_can(
        &policy(),
        "refs/meta/config",
        POLICY_REF,
        WhoCanAction::Push,
        None,
        NOW,
    );
    assert_eq!(other.governed_by, Governor::NoRule);
}

#[test]
fn who_can_json_shape() {
    let json = serde_json::to_value(ask("refs/heads/main", WhoCanAction::ForcePush)).expect("json");
    assert_eq!(json["ref"], "refs/heads/main");
    assert_eq!(json["action"], "force-push");
    assert_eq!(json["governed_by"]["kind"], "rule");
    assert_eq!(json["governed_by"]["location"], "roles.toml:40");
    assert_eq!(json["list"]["summary"], "absent: nobody");
    assert_eq!(json["answer"], "nobody");
}

#[test]
fn allowed_signers_lines() {
    let lines = allowed_signers(&policy(), NOW);
    let b64 = |line: &str| line.split_whitespace().nth(1).expect("b64").to_string();
    assert_eq!(
        lines,
        [
            format!(
                "alice,alice@example.com namespaces=\"git\",valid-before=\"20270630000000Z\" ssh-ed25519 {}",
                b64(ALICE)
            ),
            format!("bob namespaces=\"git\" ssh-ed25519 {}", b64(BOB)),
            format!("dave namespaces=\"git\" ssh-ed25519 {}", b64(DAVE)),
        ]
    );
    // Once alice's key expires it is left out too.
    assert_eq!(allowed_signers(&policy(), ALICE_EXPIRES).len(), 2);
}

#[test]
fn principals_that_would_be_patterns_are_left_out() {
    for bad in ["a b", "a,b", "a*", "x?", "!x", "q\"", ""] {
        assert!(!allowed_signers::plain_principal(bad), "{bad:?}");
    }
    assert!(allowed_signers::plain_principal("alice@example.com"));
}

/// The policy with grants (spec §8) at NOW: bob is a maintainer for 5h 12m more (line 70),
/// dave a developer from tomorrow (line 76), carol was a maintainer until yesterday (line 82).
fn granted() -> Policy {
    let grant = |user: &str, role: &str, from, until, line| crate::policy::Grant {
        user: user.into(),
        role: role.into(),
        from,
        until,
        reason: format!("INC-{line}"),
        location: Location::new(line, 1),
        until_location: Location::new(line + 4, 9),
    };
    let hours = time::Duration::hours;
    Policy {
        grants: vec![
            grant(
                "bob",
                "maintainers",
                None,
                NOW + hours(5) + time::Duration::minutes(12),
                70,
            ),
            grant(
                "dave",
                "developers",
                Some(NOW + hours(20)),
                NOW + hours(29),
                76,
            ),
            grant(
                "carol",
                "maintainers",
                Some(NOW - hours(50)),
                NOW - hours(26),
                82,
            ),
        ]
        .into(),
        ..policy()
    }
}

#[test]
fn who_can_marks_members_through_a_grant() {
    let p = granted();
    let push = who_can(
        &p,
        POLICY_REF,
        "refs/heads/main",
        WhoCanAction::Push,
        None,
        NOW,
    );
    // main: push = maintainers = alice, and bob by grant; carol's has ended.
    assert_eq!(ids(&push), ["alice", "bob"]);
    assert_eq!(push.users[0].grant, None);
    let mark = push.users[1].grant.as_ref().expect("bob is marked");
    assert_eq!(
        (
            mark.role.as_str(),
            mark.until.as_str(),
            mark.location.as_str()
        ),
        ("maintainers", "2026-03-01T17:12:00Z", "roles.toml:70")
    );
    let text = push.to_lines();
    assert_eq!(
        text[1],
        "push: maintainers → alice, bob (grant until 2026-03-01T17:12:00Z)"
    );
    assert_eq!(
        text[3],
        "  bob    (grant until 2026-03-01T17:12:00Z, roles.toml:70)"
    );
    let json = serde_json::to_value(&push).expect("json");
    assert_eq!(json["users"][1]["grant"]["location"], "roles.toml:70");
    assert_eq!(json["list"]["granted"][0]["user"], "bob");
    assert_eq!(json["users"][0]["grant"], serde_json::Value::Null);

    // Signing: bob is a developer without his grant, so `signers` marks nobody; dave's
    // grant of developers is still pending.
    let sign = who_can(
        &p,
        POLICY_REF,
        "refs/heads/main",
        WhoCanAction::Sign,
        None,
        NOW,
    );
    assert_eq!(ids(&sign), ["alice", "bob"]);
    assert!(sign.list.granted.is_empty(), "{:?}", sign.list.granted);
    assert!(sign.users.iter().all(|u| u.grant.is_none()));
    // Tomorrow dave signs by grant, marked on his first key line.
    let tomorrow = NOW + time::Duration::hours(21);
    let sign = who_can(
        &p,
        POLICY_REF,
        "refs/heads/main",
        WhoCanAction::Sign,
        None,
        tomorrow,
    );
    assert_eq!(ids(&sign), ["alice", "bob", "dave"]);
    let line = format!(
        "  dave   {}  (grant until 2026-03-02T17:00:00Z, roles.toml:76)",
        fingerprint(DAVE)
    );
    assert!(sign.to_lines().contains(&line), "{:#?}", sign.to_lines());

    // Merge: merge = maintainers + dave, and a merge also needs signers (developers):
    // bob by grant in merge; once dave's grant starts, dave too, marked from signers.
    let merge = who_can(
        &p,
        POLICY_REF,
        "refs/heads/main",
        WhoCanAction::Merge,
        None,
        NOW,
    );
    assert_eq!(ids(&merge), ["alice", "bob"]);
    let merge = who_can(
        &p,
        POLICY_REF,
        "refs/heads/main",
        WhoCanAction::Merge,
        None,
        tomorrow,
    );
    assert_eq!(ids(&merge), ["alice", "dave"]);
    let dave = merge.users[1].grant.as_ref().expect("dave signs by grant");
    assert_eq!(
        (dave.role.as_str(), dave.location.as_str()),
        ("developers", "roles.toml:76")
    );
}

#[test]
fn show_lists_grants_active_pending_and_ended() {
    let v = policy_view(&granted(), POLICY_REF, None, NOW);
    let statuses: Vec<(&str, GrantStatus, &str)> = v
        .grants
        .iter()
        .map(|g| (g.user.as_str(), g.status, g.when.as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("bob", GrantStatus::Active, "ends in 5h 12m"),
            ("dave", GrantStatus::Pending, "starts in 20h, lasts 9h"),
            ("carol", GrantStatus::Ended, "ended 1d 2h ago"),
        ]
    );
    assert_eq!(v.grants[0].seconds_left, 5 * 3600 + 12 * 60);
    assert_eq!(v.grants[2].seconds_left, -26 * 3600);
    assert_eq!(v.max_grant, "7d");
    // Lists show who is a member now, through a grant or not.
    assert_eq!(
        v.rules[0].push.summary,
        "maintainers → alice, bob (grant until 2026-03-01T17:12:00Z)"
    );
    let text = v.to_lines();
    for needle in [
        "key and grant status as of 2026-03-01T12:00:00Z",
        "grants (3; time-boxed role membership, max_grant 7d):",
        "  active  bob → maintainers  until 2026-03-01T17:12:00Z  ends in 5h 12m  reason: INC-70  (roles.toml:70)",
        "  pending dave → developers  2026-03-02T08:00:00Z .. 2026-03-02T17:00:00Z  starts in 20h, lasts 9h  reason: INC-76  (roles.toml:76)",
        "  ended   carol → maintainers  2026-02-27T10:00:00Z .. 2026-02-28T10:00:00Z  ended 1d 2h ago  reason: INC-82  (roles.toml:82)",
    ] {
        assert!(
            text.iter().any(|l| l == needle),
            "{needle:?} not in\n{}",
            text.join("\n")
        );
    }
    let json = serde_json::to_value(&v).expect("json");
    assert_eq!(json["grants"][1]["status"], "pending");
    assert_eq!(json["grants"][1]["from"], "2026-03-02T08:00:00Z");
    assert_eq!(json["grants"][0]["from"], serde_json::Value::Null);
    // Without grants, one line says so.
    let plain = policy_view(&policy(), POLICY_REF, None, NOW).to_lines();
    assert!(plain.iter().any(|l| l == "grants: none (max_grant 7d)"));
}

#[test]
fn who_can_with_a_path_narrows_signers_by_every_entry_that_covers_it() {
    let mut p = policy();
    p.paths = vec![crate::policy::PathEntry {
        signers: Some(list(&["maintainers"])),
        ..crate::testutil::path_entry(70, &["secrets/**"], &["refs/heads/**"])
    }];
    let ask = |refname: &str, action, path| who_can(&p, POLICY_REF, refname, action, path, NOW);
    // main: developers (alice, bob) ∩ maintainers (alice).
    let sign = ask(
        "refs/heads/main",
        WhoCanAction::Sign,
        Some("secrets/db.key"),
    );
    assert_eq!(ids(&sign), ["alice"]);
    assert_eq!(sign.path_entries.len(), 1);
    assert_eq!(sign.path_entries[0].pattern, "secrets/**");
    assert!(
        sign.notes
            .iter()
            .any(|n| n.contains("path roles.toml:70 (secrets/**)")),
        "{:#?}",
        sign.notes
    );
    // A path no entry covers: the rule alone.
    let other = ask("refs/heads/main", WhoCanAction::Sign, Some("docs/a.md"));
    assert_eq!(ids(&other), ["alice", "bob"]);
    assert!(other.path_entries.is_empty());
    // feature asks nothing of signers: the entry decides alone.
    let feature = ask(
        "refs/heads/feature/x",
        WhoCanAction::Sign,
        Some("secrets/a"),
    );
    assert_eq!(ids(&feature), ["alice"]);
    // Pushers are not the entry's concern.
    let push = ask("refs/heads/main", WhoCanAction::Push, Some("secrets/a"));
    assert_eq!(
        push.answer,
        ask("refs/heads/main", WhoCanAction::Push, None).answer
    );
    // Tags have no path entries.
    let tag = ask("refs/tags/v1", WhoCanAction::Sign, Some("secrets/a"));
    assert!(tag.path_entries.is_empty());
}
