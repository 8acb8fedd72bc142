//! Tests for time-boxed grants (spec §8) in the policy layer: the one membership function at
//! times before, inside and after a window and at its exact boundaries, roles that include
//! the granted role, the grant a rejection can point to, and durations.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::keys::{format_span, parse_span};
use super::{GrantStatus, Membership, Policy, lint_at, no_files, parse, parse_at};
use crate::testutil::{ALICE, BOB, CAROL};

const FROM: OffsetDateTime = datetime!(2026-12-01 09:00:00 UTC);
const UNTIL: OffsetDateTime = datetime!(2026-12-01 18:00:00 UTC);
const SECOND: Duration = Duration::SECOND;

/// alice maintains; bob develops; carol is in no role. `grants` is appended as written.
fn policy(grants: &str) -> Policy {
    let text = format!(
        "version = 1\n\
         [users.alice]\nkeys = [\"{ALICE}\"]\n\
         [users.bob]\nkeys = [\"{BOB}\"]\n\
         [users.carol]\nkeys = [\"{CAROL}\"]\n\
         [roles]\nmaintainers = [\"alice\"]\ndevelopers = [\"bob\", \"maintainers\"]\n\
         deployers = []\n\
         [policy]\nadmins = [\"alice\"]\n\
         [[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"maintainers\"]\n\
         signers = [\"developers\"]\ndelete = [\"deployers\"]\n\
         {grants}"
    );
    parse(&text).unwrap_or_else(|e| panic!("valid policy expected: {e:#?}\n{text}"))
}

/// carol is granted `maintainers` from FROM until UNTIL (the `[[grant]]` header is line 19).
fn carol_maintains() -> Policy {
    policy(
        "[[grant]]\nuser = \"carol\"\nrole = \"maintainers\"\n\
         from = \"2026-12-01T09:00:00Z\"\nuntil = 2026-12-01T18:00:00Z\nreason = \"INC-4711\"\n",
    )
}

fn push_list(p: &Policy) -> &super::Principals {
    p.rules[0]
        .list(super::ListKind::Push)
        .expect("push is written")
}

fn signers(p: &Policy) -> &super::Principals {
    p.rules[0]
        .list(super::ListKind::Signers)
        .expect("signers is written")
}

#[test]
fn a_grant_is_parsed_with_its_window_reason_and_location() {
    let p = carol_maintains();
    assert_eq!(p.grants.len(), 1);
    let g = &p.grants[0];
    assert_eq!((g.user.as_str(), g.role.as_str()), ("carol", "maintainers"));
    assert_eq!((g.from, g.until), (Some(FROM), UNTIL));
    assert_eq!(g.reason, "INC-4711");
    assert_eq!(g.location.to_string(), "roles.toml:19");
    assert_eq!((g.until_location.line, g.until_location.col), (23, 9));
    assert_eq!(p.max_grant, Duration::days(7));
}

#[test]
fn membership_holds_from_from_until_until_exclusive() {
    let p = carol_maintains();
    let push = push_list(&p);
    let table = [
        (FROM - Duration::days(1), false, GrantStatus::Pending),
        (FROM - SECOND, false, GrantStatus::Pending),
        (FROM, true, GrantStatus::Active),
        (FROM + Duration::hours(4), true, GrantStatus::Active),
        (UNTIL - SECOND, true, GrantStatus::Active),
        (UNTIL, false, GrantStatus::Ended),
        (UNTIL + Duration::days(1), false, GrantStatus::Ended),
    ];
    for (at, member, status) in table {
        assert_eq!(p.grants[0].status_at(at), status, "{at}");
        assert_eq!(p.member(push, Some("carol"), at), member, "{at}");
        assert_eq!(
            p.members_at(push, at).contains("carol"),
            member,
            "members_at agrees with member at {at}"
        );
        let why = p.membership(push, Some("carol"), at);
        assert_eq!(
            why.and_then(Membership::grant).map(|g| g.location.line),
            member.then_some(19),
            "{at}"
        );
        // Listed members hold at any time, and say so.
        assert_eq!(
            p.membership(push, Some("alice"), at),
            Some(Membership::Listed)
        );
        // A grant is for its user only; an unknown pusher is never a member.
        assert!(!p.member(push, Some("bob"), at));
        assert!(!p.member(push, None, at));
    }
}

#[test]
fn a_grant_opens_every_list_whose_roles_include_the_granted_role() {
    let p = carol_maintains();
    let inside = FROM + Duration::hours(1);
    // developers = [bob, maintainers]: a maintainer by grant is a developer too.
    assert!(p.member(signers(&p), Some("carol"), inside));
    let memberships = p.memberships_at(signers(&p), inside);
    assert_eq!(
        memberships.keys().map(String::as_str).collect::<Vec<_>>(),
        ["alice", "bob", "carol"]
    );
    assert!(matches!(memberships["carol"], Membership::Granted(g) if g.role == "maintainers"));
    assert_eq!(memberships["bob"], Membership::Listed);
    // A list that names neither the role nor a role including it stays closed.
    let delete = p.rules[0]
        .list(super::ListKind::Delete)
        .expect("delete is written");
    assert!(!p.member(delete, Some("carol"), inside));
    // [policy] admins = ["alice"] names no role: no grant can open it.
    assert!(!p.member(&p.admins, Some("carol"), inside));
}

#[test]
fn without_from_a_grant_holds_until_it_ends_and_the_longest_grant_is_named() {
    let p = policy(
        "[[grant]]\nuser = \"carol\"\nrole = \"developers\"\nuntil = \"2026-12-01T12:00:00Z\"\n\
         reason = \"pairing\"\n\
         [[grant]]\nuser = \"carol\"\nrole = \"maintainers\"\nuntil = \"2026-12-01T18:00:00Z\"\n\
         reason = \"INC-4711\"\n",
    );
    let signers = signers(&p);
    let early = datetime!(2020-01-01 00:00:00 UTC);
    assert!(p.member(signers, Some("carol"), early));
    // Both grants open `signers`: the one that lasts longer is the one relied on.
    let why = p.membership(signers, Some("carol"), early);
    assert_eq!(
        why.and_then(Membership::grant).map(|g| g.until),
        Some(UNTIL)
    );
    let noon = datetime!(2026-12-01 12:00:00 UTC);
    assert_eq!(
        p.membership(signers, Some("carol"), noon)
            .and_then(Membership::grant)
            .map(|g| g.role.as_str()),
        Some("maintainers")
    );
    assert!(!p.member(signers, Some("carol"), UNTIL));
}

#[test]
fn the_grant_a_rejection_points_to() {
    let p = policy(
        "[[grant]]\nuser = \"carol\"\nrole = \"maintainers\"\nfrom = \"2026-12-01T09:00:00Z\"\n\
         until = \"2026-12-01T18:00:00Z\"\nreason = \"INC-4711\"\n\
         [[grant]]\nuser = \"carol\"\nrole = \"maintainers\"\nfrom = \"2026-12-03T09:00:00Z\"\n\
         until = \"2026-12-03T18:00:00Z\"\nreason = \"INC-4712\"\n",
    );
    let push = push_list(&p);
    let line = |at| p.inactive_grant(push, "carol", at).map(|g| g.location.line);
    // Before both: the next to start.
    assert_eq!(line(FROM - SECOND), Some(19));
    // Inside the first (asked only of non-members; here: the other, still to come).
    assert_eq!(line(FROM), Some(25));
    // Between them: the one that just ended wins over the one to come.
    assert_eq!(line(UNTIL), Some(19));
    // After both: the one that ended last.
    assert_eq!(line(datetime!(2027-01-01 00:00:00 UTC)), Some(25));
    // Nobody else's grant is named, and nothing for a list the grant does not open.
    assert_eq!(p.inactive_grant(push, "bob", UNTIL), None);
    let delete = p.rules[0]
        .list(super::ListKind::Delete)
        .expect("delete is written");
    assert_eq!(p.inactive_grant(delete, "carol", UNTIL), None);
}

#[test]
fn a_grant_without_from_is_measured_from_the_time_it_is_validated() {
    let text = |until: &str| {
        format!(
            "version = 1\n[users.alice]\nkeys = [\"{ALICE}\"]\n[users.bob]\nkeys = [\"{BOB}\"]\n\
             [roles]\nops = [\"alice\"]\n[policy]\nadmins = [\"alice\"]\n\
             [settings]\nmax_grant = \"12h\"\n\
             [[grant]]\nuser = \"bob\"\nrole = \"ops\"\nuntil = \"{until}\"\nreason = \"INC-1\"\n"
        )
    };
    let now = datetime!(2026-12-01 06:00:00 UTC);
    // Exactly max_grant from now: valid, as a candidate and for lint.
    assert!(parse_at(&text("2026-12-01T18:00:00Z"), &no_files, now).is_ok());
    // One second more: invalid as a candidate (a pushed policy) and for lint...
    let long = text("2026-12-01T18:00:01Z");
    let errors = parse_at(&long, &no_files, now).expect_err("too long from now");
    assert_eq!(errors[0].code, "grant-too-long");
    assert!(
        lint_at(&long, &no_files, now)
            .iter()
            .any(|d| d.code == "grant-too-long")
    );
    // ... but the policy in force is loaded without a clock and keeps governing.
    assert!(parse(&long).is_ok());
    // Later, the same file is valid again: the window left is what counts.
    assert!(parse_at(&long, &no_files, now + Duration::hours(1)).is_ok());
}

#[test]
fn max_grant_durations() {
    for (text, expected) in [
        ("7d", Duration::days(7)),
        ("12h", Duration::hours(12)),
        ("90m", Duration::minutes(90)),
        ("1d12h", Duration::hours(36)),
        ("2w", Duration::days(14)),
    ] {
        assert_eq!(parse_span(text), Ok(expected), "{text}");
    }
    for bad in [
        "",
        "7",
        "d",
        "7 d",
        "7D",
        "1.5d",
        "-1d",
        "0m",
        "7d ",
        "99999999999d",
    ] {
        assert!(parse_span(bad).is_err(), "{bad:?} must be refused");
    }
    for (span, shown) in [
        (Duration::days(7), "7d"),
        (Duration::hours(36), "1d 12h"),
        (Duration::minutes(312), "5h 12m"),
        (Duration::minutes(45), "45m"),
        (Duration::seconds(29), "0m"),
        (Duration::seconds(59), "1m"),
        (Duration::days(10) - Duration::milliseconds(3), "10d"),
        (
            Duration::hours(5) + Duration::minutes(12) + Duration::seconds(50),
            "5h 13m",
        ),
        (Duration::days(1) + Duration::minutes(30), "1d 30m"),
        (-Duration::hours(6), "6h"),
    ] {
        assert_eq!(format_span(span), shown);
    }
}
