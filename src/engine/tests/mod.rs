//! Table-driven tests of the engine, from hand-built policies and facts.

mod approvals;
mod certificate;
mod fixture;
mod grants;
mod history;
mod paths;
mod touch;

use std::collections::BTreeSet;

use time::OffsetDateTime;
use time::macros::datetime;

use self::fixture::*;
use super::{Code, CommitFacts, PolicyCandidate, SignatureCheck, TagTarget, UpdateKind, evaluate};
use crate::engine::PolicyChange;
use crate::policy::{ListKind, Principals};
use crate::requirements::CommitScope;

use Code::*;
use UpdateKind::{Create, Delete, FastForward, NonFastForward};

/// A commit signature case: name, push time, signature, expected code and detail parts.
type SignatureRow = (
    &'static str,
    OffsetDateTime,
    SignatureCheck,
    Option<(Code, Vec<String>)>,
);
/// A tag case: name, pusher, kind, what `new` is, expected reasons.
type TagRow<'a> = (
    &'a str,
    &'a str,
    UpdateKind,
    Option<TagTarget>,
    Vec<Expect<'a>>,
);
/// A policy-branch case: name, pusher, kind, new commits, expected reasons.
type PolicyRow<'a> = (
    &'a str,
    Option<&'a str>,
    UpdateKind,
    Vec<CommitFacts>,
    Vec<Expect<'a>>,
);
/// A candidate case: name, candidate, expected codes and exact details.
type CandidateRow<'a> = (&'a str, Option<PolicyCandidate>, Vec<(Code, &'a str)>);

const MERGE_NEED: &str = "needs merges signed by maintainers";
const TAG_NEED: &str = "needs an annotated tag signed by release-managers";
const ADMINS_NEED: &str = "refs/meta/policy needs signatures by policy admins (policy-admins)";

#[test]
fn codes_are_unique_and_have_hints() {
    let mut seen = BTreeSet::new();
    for code in Code::ALL {
        assert!(seen.insert(code.as_str()), "duplicate code {code}");
        assert!(!code.hint().trim().is_empty(), "{code} has no hint");
        assert_eq!(code.to_string(), code.as_str());
    }
    assert_eq!(seen.len(), Code::ALL.len());
}

#[test]
fn every_code_is_documented_once_in_the_readme() {
    const README: &str = include_str!("../../../README.md");
    for code in Code::ALL {
        let row = format!("| `{code}` |");
        assert_eq!(
            README.matches(&row).count(),
            1,
            "README's reason-code table must have exactly one row for {code}"
        );
    }
}

/// How a rule's list for the action under test is written.
#[derive(Debug, Clone, Copy)]
enum ListCase {
    Absent,
    Empty,
    Maintainers,
    Star,
}

impl ListCase {
    fn principals(self) -> Option<Principals> {
        match self {
            ListCase::Absent => None,
            ListCase::Empty => Some(list(&[])),
            ListCase::Maintainers => Some(list(&["maintainers"])),
            ListCase::Star => Some(list(&["*"])),
        }
    }

    fn described(self) -> &'static str {
        match self {
            ListCase::Absent | ListCase::Empty => "nobody",
            ListCase::Maintainers => "maintainers",
            ListCase::Star => "*",
        }
    }
}

/// Pushers, in the order of the expectation strings below: a member of maintainers, a
/// known non-member, the member under an alias, a name no user has, no name at all.
const PUSHERS: [Option<&str>; 5] = [
    Some("alice"),
    Some("bob"),
    Some("alice@example.com"),
    Some("mallory"),
    None,
];

#[test]
fn kind_by_list_by_pusher() {
    use ListCase::*;
    // Y: allowed, N: denied, for the pushers of PUSHERS in order.
    let table = [
        (Create, Absent, "YYYYY", CreateDenied),
        (Create, Empty, "NNNNN", CreateDenied),
        (Create, Maintainers, "YNYNN", CreateDenied),
        (Create, Star, "YYYNN", CreateDenied),
        (FastForward, Absent, "YYYYY", PushDenied),
        (FastForward, Empty, "NNNNN", PushDenied),
        (FastForward, Maintainers, "YNYNN", PushDenied),
        (FastForward, Star, "YYYNN", PushDenied),
        (Delete, Absent, "NNNNN", DeleteDenied),
        (Delete, Empty, "NNNNN", DeleteDenied),
        (Delete, Maintainers, "YNYNN", DeleteDenied),
        (Delete, Star, "YYYNN", DeleteDenied),
        (NonFastForward, Absent, "NNNNN", ForcePushDenied),
        (NonFastForward, Empty, "NNNNN", ForcePushDenied),
        (NonFastForward, Maintainers, "YNYNN", ForcePushDenied),
        (NonFastForward, Star, "YYYNN", ForcePushDenied),
    ];
    let pusher_text = [
        "\"alice\"",
        "\"bob\"",
        "\"alice@example.com\" (user alice)",
        "unknown pusher \"mallory\"",
        "unknown pusher",
    ];
    for (kind, case, expect, code) in table {
        let mut r = rule(7, &["refs/heads/x"]);
        let p = case.principals();
        r.set_list(crate::requirements::list_for(kind), p);
        let policy = policy_with_rules(vec![r]);
        let facts = update("refs/heads/x", kind);
        for ((pusher, allowed), text) in PUSHERS.iter().zip(expect.chars()).zip(pusher_text) {
            let name = format!("{kind:?} {case:?} {pusher:?}");
            let v = evaluate(&policy, &ctx(*pusher), &facts);
            assert_eq!(
                v.rule.map(|r| r.to_string()).as_deref(),
                Some("roles.toml:7"),
                "{name}"
            );
            assert_eq!(v.kind, Some(kind), "{name}");
            if allowed == 'Y' {
                assert_reasons(&name, &v, &[]);
            } else {
                let list = format!("{}: {}", kind_field(kind), case.described());
                assert_reasons(
                    &name,
                    &v,
                    &[(code, None, &["refs/heads/x", &list, text, "roles.toml:7"])],
                );
                // The pusher text is exact, not merely a prefix of something longer.
                assert!(
                    v.reasons[0].detail.starts_with(&format!("{text} may not ")),
                    "{name}"
                );
            }
        }
    }
}

fn kind_field(kind: UpdateKind) -> &'static str {
    match kind {
        Create => "create",
        FastForward => "push",
        Delete => "delete",
        NonFastForward => "force_push",
    }
}

#[test]
fn create_defaults_to_push() {
    use ListCase::*;
    // (push, create, expectation for alice/bob/alias/mallory/none, detail fragment)
    let table = [
        (
            Maintainers,
            Absent,
            "YNYNN",
            "(create, as push: maintainers;",
        ),
        (Empty, Absent, "NNNNN", "(create, as push: nobody;"),
        (Star, Absent, "YYYNN", "(create, as push: *;"),
        (Maintainers, Star, "YYYNN", "(create: *;"),
        (Star, Empty, "NNNNN", "(create: nobody;"),
        (Empty, Maintainers, "YNYNN", "(create: maintainers;"),
    ];
    for (push, create, expect, fragment) in table {
        let mut r = rule(3, &["refs/heads/x"]);
        r.set_list(ListKind::Push, push.principals());
        r.set_list(ListKind::Create, create.principals());
        let policy = policy_with_rules(vec![r]);
        let facts = update("refs/heads/x", Create);
        for (pusher, allowed) in PUSHERS.iter().zip(expect.chars()) {
            let name = format!("push {push:?} create {create:?} {pusher:?}");
            let v = evaluate(&policy, &ctx(*pusher), &facts);
            if allowed == 'Y' {
                assert_reasons(&name, &v, &[]);
            } else {
                assert_reasons(
                    &name,
                    &v,
                    &[(CreateDenied, None, &[fragment, "may not create"])],
                );
            }
        }
    }
}

#[test]
fn verdict_names_user_rule_and_kind() {
    let policy = policy();
    let v = evaluate(
        &policy,
        &ctx(Some("alice@example.com")),
        &gathered(&policy, "refs/heads/release/1.0", Create),
    );
    assert!(v.accepted(), "{v:?}");
    assert_eq!(v.user.as_deref(), Some("alice"));
    assert_eq!(
        v.rule.map(|r| r.to_string()).as_deref(),
        Some("roles.toml:10")
    );
    assert_eq!(v.kind, Some(Create));
    assert_eq!(v.update.refname, "refs/heads/release/1.0");

    let v = evaluate(
        &policy,
        &ctx(Some("mallory")),
        &gathered(&policy, "refs/heads/main", FastForward),
    );
    assert_eq!(v.user, None);
    assert_reasons(
        "mallory",
        &v,
        &[(
            PushDenied,
            None,
            &[
                "unknown pusher \"mallory\" may not push to refs/heads/main (push: maintainers; rule roles.toml:10)",
            ],
        )],
    );
}

#[test]
fn unprotected_refs_accept_anything() {
    let policy = policy();
    for refname in [
        "refs/heads/feature/x",
        // `*` stays within one path component.
        "refs/heads/release/1.0/hotfix",
        "refs/tags/other",
        "refs/notes/commits",
    ] {
        for kind in [Create, Delete, FastForward, NonFastForward] {
            let mut facts = update(refname, kind);
            with_commits(
                &policy,
                &mut facts,
                vec![
                    commit('1', "merge", 2, SignatureCheck::Unsigned),
                    commit('2', "evil", 1, valid(GONE)),
                ],
            );
            let v = evaluate(&policy, &ctx(None), &facts);
            assert_reasons(&format!("{refname} {kind:?}"), &v, &[]);
            assert_eq!(v.rule, None);
            assert_eq!(v.kind, Some(kind));
            assert_eq!(v.user, None);
        }
    }
}

#[test]
fn first_matching_rule_governs() {
    let policy = policy();
    // Line 60 (push = ["*"]) comes before line 70 (push = []).
    let v = evaluate(
        &policy,
        &ctx(Some("bob")),
        &update("refs/heads/team/locked", FastForward),
    );
    assert_eq!(
        v.rule.map(|r| r.to_string()).as_deref(),
        Some("roles.toml:60")
    );
    assert_reasons("team/locked", &v, &[]);

    // Swapped, the narrower rule wins.
    let mut narrow = rule(1, &["refs/heads/team/locked"]);
    narrow.set_list(ListKind::Push, Some(list(&[])));
    let mut wide = rule(2, &["refs/heads/team/**"]);
    wide.set_list(ListKind::Push, Some(list(&["*"])));
    let policy = policy_with_rules(vec![narrow, wide]);
    let v = evaluate(
        &policy,
        &ctx(Some("bob")),
        &update("refs/heads/team/locked", FastForward),
    );
    assert_eq!(
        v.rule.map(|r| r.to_string()).as_deref(),
        Some("roles.toml:1")
    );
    assert_reasons("swapped", &v, &[(PushDenied, None, &["(push: nobody;"])]);
    let v = evaluate(
        &policy,
        &ctx(Some("bob")),
        &update("refs/heads/team/a/b", FastForward),
    );
    assert_eq!(
        v.rule.map(|r| r.to_string()).as_deref(),
        Some("roles.toml:2")
    );
    assert_reasons("team/a/b", &v, &[]);
}

#[test]
fn commit_signatures() {
    let fp = fingerprint;
    let before_expiry = datetime!(2025-12-31 23:59:59 UTC);
    let after_expiry = datetime!(2026-03-01 00:00:00 UTC);
    let need = "refs/heads/main needs a signature by developers";
    let table: Vec<SignatureRow> = vec![
        ("alice", NOW, valid(ALICE), None),
        ("bob", NOW, valid(BOB), None),
        (
            "unsigned",
            NOW,
            SignatureCheck::Unsigned,
            Some((Unsigned, vec![format!("not signed; {need}")])),
        ),
        (
            "openpgp",
            NOW,
            SignatureCheck::Unsupported {
                format: "OpenPGP".into(),
            },
            Some((
                UnsupportedSignature,
                vec!["OpenPGP signature".into(), need.into()],
            )),
        ),
        (
            "bad",
            NOW,
            SignatureCheck::Bad {
                detail: "namespace is \"file\", not \"git\"".into(),
            },
            Some((
                BadSignature,
                vec!["bad signature: namespace is \"file\", not \"git\"".into()],
            )),
        ),
        (
            "revoked key still listed under bob",
            NOW,
            valid(BOB_REVOKED),
            Some((
                RevokedKey,
                vec![fp(BOB_REVOKED), "of bob".into(), "laptop stolen".into()],
            )),
        ),
        // Revocation is checked before ownership: not unknown-key.
        (
            "revoked key nobody holds",
            NOW,
            valid(GONE),
            Some((
                RevokedKey,
                vec![format!("signed with revoked key {}", fp(GONE))],
            )),
        ),
        (
            "unknown",
            NOW,
            valid(STRANGER),
            Some((
                UnknownKey,
                vec![fp(STRANGER), "ssh-ed25519".into(), "no user".into()],
            )),
        ),
        (
            "carol a second before expiry",
            before_expiry,
            valid(CAROL),
            None,
        ),
        (
            "carol at expiry",
            CAROL_EXPIRES,
            valid(CAROL),
            Some((
                ExpiredKey,
                vec![
                    fp(CAROL),
                    "of carol".into(),
                    "expired at 2026-01-01T00:00:00Z".into(),
                ],
            )),
        ),
        (
            "carol after expiry",
            after_expiry,
            valid(CAROL),
            Some((ExpiredKey, vec![fp(CAROL), "2026-01-01T00:00:00Z".into()])),
        ),
        (
            "dave is no developer",
            NOW,
            valid(DAVE),
            Some((SignerNotAllowed, vec![format!("signed by dave; {need}")])),
        ),
    ];
    let policy = policy();
    for (name, now, signature, expected) in table {
        let mut c = ctx(Some("alice"));
        c.now = now;
        let mut facts = update("refs/heads/main", FastForward);
        with_commits(
            &policy,
            &mut facts,
            vec![commit('1', "Fix typo", 1, signature)],
        );
        let v = evaluate(&policy, &c, &facts);
        match expected {
            None => assert_reasons(name, &v, &[]),
            Some((code, parts)) => {
                let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
                assert_reasons(name, &v, &[(code, Some('1'), &parts)]);
                assert_eq!(v.reasons[0].subject.as_deref(), Some("Fix typo"), "{name}");
            }
        }
    }
}

#[test]
fn spec_example_message() {
    let policy = policy();
    let mut facts = update("refs/heads/main", FastForward);
    with_commits(
        &policy,
        &mut facts,
        vec![commit('9', "Fix typo", 1, SignatureCheck::Unsigned)],
    );
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert_eq!(v.reasons.len(), 1);
    let r = &v.reasons[0];
    assert_eq!(r.code, Unsigned);
    assert_eq!(r.commit, Some(oid('9')));
    assert_eq!(r.subject.as_deref(), Some("Fix typo"));
    assert_eq!(
        r.detail,
        "not signed; refs/heads/main needs a signature by developers"
    );
}

#[test]
fn merges_and_linearity() {
    // (case, ref, parents, signature, expected reasons)
    let table: Vec<(&str, &str, usize, SignatureCheck, Vec<Expect<'_>>)> = vec![
        (
            "main: merge by maintainer",
            "refs/heads/main",
            2,
            valid(ALICE),
            vec![],
        ),
        (
            "main: merge by developer",
            "refs/heads/main",
            2,
            valid(BOB),
            vec![(
                MergeDenied,
                Some('1'),
                &["merge signed by bob; refs/heads/main needs merges signed by maintainers"],
            )],
        ),
        (
            "main: octopus by developer",
            "refs/heads/main",
            3,
            valid(BOB),
            vec![(MergeDenied, Some('1'), &[MERGE_NEED])],
        ),
        (
            "main: plain commit by developer",
            "refs/heads/main",
            1,
            valid(BOB),
            vec![],
        ),
        (
            "main: root commit by developer",
            "refs/heads/main",
            0,
            valid(BOB),
            vec![],
        ),
        // A signature reason already covers the merge.
        (
            "main: unsigned merge",
            "refs/heads/main",
            2,
            SignatureCheck::Unsigned,
            vec![(Unsigned, Some('1'), &["not signed"])],
        ),
        (
            "main: merge by non-signer",
            "refs/heads/main",
            2,
            valid(DAVE),
            vec![(SignerNotAllowed, Some('1'), &["signed by dave"])],
        ),
        (
            "main: merge with unknown key",
            "refs/heads/main",
            2,
            valid(STRANGER),
            vec![(UnknownKey, Some('1'), &[])],
        ),
        (
            "main: merge with revoked key",
            "refs/heads/main",
            2,
            valid(BOB_REVOKED),
            vec![(RevokedKey, Some('1'), &[])],
        ),
        // merge set, signers absent: the merge alone must be signed by maintainers.
        (
            "merge-only: merge by maintainer",
            "refs/heads/merge-only/x",
            2,
            valid(ALICE),
            vec![],
        ),
        (
            "merge-only: unsigned merge",
            "refs/heads/merge-only/x",
            2,
            SignatureCheck::Unsigned,
            vec![(
                MergeDenied,
                Some('1'),
                &["merge not signed; refs/heads/merge-only/x needs merges signed by maintainers"],
            )],
        ),
        (
            "merge-only: merge by bob",
            "refs/heads/merge-only/x",
            2,
            valid(BOB),
            vec![(MergeDenied, Some('1'), &["merge signed by bob;"])],
        ),
        (
            "merge-only: merge with revoked key",
            "refs/heads/merge-only/x",
            2,
            valid(BOB_REVOKED),
            vec![(
                MergeDenied,
                Some('1'),
                &["merge signed with revoked key", "laptop stolen", MERGE_NEED],
            )],
        ),
        (
            "merge-only: merge with bad signature",
            "refs/heads/merge-only/x",
            2,
            SignatureCheck::Bad {
                detail: "does not verify".into(),
            },
            vec![(
                MergeDenied,
                Some('1'),
                &["merge has a bad signature: does not verify", MERGE_NEED],
            )],
        ),
        (
            "merge-only: unsigned plain commit",
            "refs/heads/merge-only/x",
            1,
            SignatureCheck::Unsigned,
            vec![],
        ),
        // linear = true.
        (
            "linear: merge by maintainer",
            "refs/heads/linear/a/b",
            2,
            valid(ALICE),
            vec![(
                Nonlinear,
                Some('1'),
                &[
                    "merge commit with 2 parents",
                    "refs/heads/linear/a/b takes no merges",
                ],
            )],
        ),
        (
            "linear: unsigned merge",
            "refs/heads/linear/a",
            2,
            SignatureCheck::Unsigned,
            vec![
                (Unsigned, Some('1'), &["not signed"]),
                (Nonlinear, Some('1'), &[]),
            ],
        ),
        (
            "linear: plain commit",
            "refs/heads/linear/a",
            1,
            valid(BOB),
            vec![],
        ),
        (
            "nolinear: merge",
            "refs/heads/nolinear/a",
            2,
            valid(ALICE),
            vec![(Nonlinear, Some('1'), &[])],
        ),
        (
            "nolinear: unsigned plain commit",
            "refs/heads/nolinear/a",
            1,
            SignatureCheck::Unsigned,
            vec![],
        ),
        // linear and merge both set: nonlinear alone, merge-denied would be noise.
        (
            "both: merge by bob",
            "refs/heads/both/a",
            2,
            valid(BOB),
            vec![(Nonlinear, Some('1'), &[])],
        ),
        // No signers, merge or linear: nothing to check.
        (
            "team: unsigned merge",
            "refs/heads/team/a",
            2,
            SignatureCheck::Unsigned,
            vec![],
        ),
    ];
    let policy = policy();
    for (name, refname, parents, signature, expected) in table {
        let mut facts = update(refname, FastForward);
        with_commits(
            &policy,
            &mut facts,
            vec![commit('1', "Merge branch 'x'", parents, signature)],
        );
        let v = evaluate(&policy, &ctx(Some("alice")), &facts);
        assert_reasons(name, &v, &expected);
    }
}

#[test]
fn reasons_keep_a_stable_order() {
    let policy = policy();
    let mut facts = update("refs/heads/main", FastForward);
    with_commits(
        &policy,
        &mut facts,
        vec![
            commit('1', "Merge unsigned", 2, SignatureCheck::Unsigned),
            commit('2', "Good", 1, valid(BOB)),
            commit('3', "By dave", 1, valid(DAVE)),
            commit('4', "Merge by bob", 2, valid(BOB)),
            commit('5', "Stolen", 1, valid(BOB_REVOKED)),
        ],
    );
    let v = evaluate(&policy, &ctx(Some("bob")), &facts);
    assert_reasons(
        "order",
        &v,
        &[
            (
                PushDenied,
                None,
                &["\"bob\" may not push to refs/heads/main"],
            ),
            (Unsigned, Some('1'), &[]),
            (SignerNotAllowed, Some('3'), &[]),
            (MergeDenied, Some('4'), &[]),
            (RevokedKey, Some('5'), &[]),
        ],
    );
    let subjects: Vec<_> = v.reasons.iter().map(|r| r.subject.as_deref()).collect();
    assert_eq!(
        subjects,
        [
            None,
            Some("Merge unsigned"),
            Some("By dave"),
            Some("Merge by bob"),
            Some("Stolen")
        ]
    );
}

#[test]
fn every_reason_is_returned() {
    let policy = policy();
    let mut facts = update("refs/heads/main", FastForward);
    let digits = "0123456789abcdef";
    let commits = digits
        .chars()
        .chain(digits.chars())
        .enumerate()
        .map(|(i, d)| {
            let mut c = commit(d, "x", 1, SignatureCheck::Unsigned);
            c.id = crate::engine::ObjectId::parse(&format!("{d}{i:039}")).expect("hex");
            c
        })
        .collect();
    with_commits(&policy, &mut facts, commits);
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert_eq!(v.reasons.len(), 32);
}

#[test]
fn deletes_skip_commit_checks() {
    let mut main = rule(1, &["refs/heads/main"]);
    main.set_list(ListKind::Delete, Some(list(&["maintainers"])));
    main.set_list(ListKind::Signers, Some(list(&["developers"])));
    main.linear = true;
    let policy = policy_with_rules(vec![main]);
    let mut facts = update("refs/heads/main", Delete);
    with_commits(
        &policy,
        &mut facts,
        vec![commit('1', "x", 2, SignatureCheck::Unsigned)],
    );
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert_reasons("alice deletes", &v, &[]);
    let v = evaluate(&policy, &ctx(Some("bob")), &facts);
    assert_reasons(
        "bob deletes",
        &v,
        &[(
            DeleteDenied,
            None,
            &["\"bob\" may not delete refs/heads/main (delete: maintainers"],
        )],
    );
}

#[test]
fn force_push_still_checks_commits() {
    let mut main = rule(1, &["refs/heads/main"]);
    main.set_list(ListKind::ForcePush, Some(list(&["maintainers"])));
    main.set_list(ListKind::Signers, Some(list(&["developers"])));
    let policy = policy_with_rules(vec![main]);
    let mut facts = update("refs/heads/main", NonFastForward);
    with_commits(
        &policy,
        &mut facts,
        vec![commit('1', "x", 1, SignatureCheck::Unsigned)],
    );
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert_reasons("alice", &v, &[(Unsigned, Some('1'), &[])]);
    let v = evaluate(&policy, &ctx(Some("bob")), &facts);
    assert_reasons(
        "bob",
        &v,
        &[
            (
                ForcePushDenied,
                None,
                &["may not force-push refs/heads/main (force_push: maintainers"],
            ),
            (Unsigned, Some('1'), &[]),
        ],
    );
}

#[test]
fn tags() {
    let annotated = |signature| {
        Some(TagTarget::Annotated {
            name: "v1.0".into(),
            signature,
        })
    };
    // (case, pusher, kind, tag, expected reasons; 'b' is the new id)
    let table: Vec<TagRow<'_>> = vec![
        (
            "signed by release manager",
            "dave",
            Create,
            annotated(valid(DAVE)),
            vec![],
        ),
        (
            "unknown tag target",
            "dave",
            Create,
            None,
            vec![(
                UnsignedTag,
                Some('b'),
                &["lightweight tag; needs an annotated tag signed by release-managers"],
            )],
        ),
        (
            "lightweight",
            "dave",
            Create,
            Some(TagTarget::Lightweight),
            vec![(UnsignedTag, Some('b'), &["lightweight tag;", TAG_NEED])],
        ),
        (
            "annotated unsigned",
            "dave",
            Create,
            annotated(SignatureCheck::Unsigned),
            vec![(UnsignedTag, Some('b'), &["tag not signed;", TAG_NEED])],
        ),
        (
            "signed by wrong user",
            "dave",
            Create,
            annotated(valid(BOB)),
            vec![(
                SignerNotAllowed,
                Some('b'),
                &["tag signed by bob;", TAG_NEED],
            )],
        ),
        (
            "openpgp",
            "dave",
            Create,
            annotated(SignatureCheck::Unsupported {
                format: "OpenPGP".into(),
            }),
            vec![(
                UnsupportedSignature,
                Some('b'),
                &["tag has an OpenPGP signature"],
            )],
        ),
        (
            "bad",
            "dave",
            Create,
            annotated(SignatureCheck::Bad {
                detail: "corrupt armor".into(),
            }),
            vec![(BadSignature, Some('b'), &["corrupt armor"])],
        ),
        (
            "unknown key",
            "dave",
            Create,
            annotated(valid(STRANGER)),
            vec![(UnknownKey, Some('b'), &[])],
        ),
        (
            "revoked key",
            "dave",
            Create,
            annotated(valid(GONE)),
            vec![(RevokedKey, Some('b'), &[])],
        ),
        (
            "creator not allowed",
            "bob",
            Create,
            annotated(valid(DAVE)),
            vec![(
                CreateDenied,
                None,
                &["\"bob\" may not create refs/tags/v1.0 (create: release-managers"],
            )],
        ),
        (
            "moving a tag",
            "dave",
            NonFastForward,
            Some(TagTarget::Lightweight),
            vec![
                (ForcePushDenied, None, &["(force_push: nobody;"]),
                (UnsignedTag, Some('b'), &[]),
            ],
        ),
        (
            "deleting a tag",
            "dave",
            Delete,
            None,
            vec![(DeleteDenied, None, &["may not delete refs/tags/v1.0"])],
        ),
    ];
    let policy = policy();
    for (name, pusher, kind, tag, expected) in table {
        let mut facts = update("refs/tags/v1.0", kind);
        facts.tag = tag;
        // Commit checks do not apply to tags: these must be ignored.
        with_commits(
            &policy,
            &mut facts,
            vec![commit('1', "Merge", 2, SignatureCheck::Unsigned)],
        );
        let v = evaluate(&policy, &ctx(Some(pusher)), &facts);
        assert_reasons(name, &v, &expected);
        for r in v.reasons.iter().filter(|r| r.commit.is_some()) {
            assert_eq!(r.subject.as_deref(), Some("v1.0"), "{name}");
        }
    }

    // A tag whose annotated name differs from the ref: the subject is the tag's own name.
    let mut facts = update("refs/tags/v2.0", Create);
    facts.tag = Some(TagTarget::Annotated {
        name: "v2.0-rc".into(),
        signature: SignatureCheck::Unsigned,
    });
    let v = evaluate(&policy, &ctx(Some("dave")), &facts);
    assert_eq!(v.reasons[0].subject.as_deref(), Some("v2.0-rc"));

    // A validly signed tag pushed under another name than it was signed with: its
    // signature covers its own name, so this replays it onto a name nobody signed.
    facts.tag = Some(TagTarget::Annotated {
        name: "v2.0-rc".into(),
        signature: valid(DAVE),
    });
    let v = evaluate(&policy, &ctx(Some("dave")), &facts);
    assert_reasons(
        "renamed tag",
        &v,
        &[(
            BadSignature,
            Some('b'),
            &["named \"v2.0-rc\" but is pushed as refs/tags/v2.0"],
        )],
    );

    // Tags under a rule without signers: lightweight is fine.
    let mut facts = update("refs/tags/nightly-1", Create);
    facts.tag = Some(TagTarget::Lightweight);
    let v = evaluate(&policy, &ctx(Some("bob")), &facts);
    assert_eq!(
        v.rule.map(|r| r.to_string()).as_deref(),
        Some("roles.toml:90")
    );
    assert_reasons("nightly", &v, &[]);
}

/// Facts for a push to the policy branch with the given commits and a valid candidate.
fn policy_push(kind: UpdateKind, commits: Vec<CommitFacts>) -> crate::engine::UpdateFacts {
    let mut facts = update(POLICY_REF, kind);
    if kind != Delete {
        facts.policy_change = Some(PolicyChange {
            candidate: PolicyCandidate::Valid,
            approving: commits.iter().map(|c| c.id.clone()).collect(),
            stale: Vec::new(),
        });
        facts.set_commits(CommitScope::PolicyBranch, commits);
    }
    facts
}

/// The policy change of a policy-branch push made by [`policy_push`].
fn change(facts: &mut crate::engine::UpdateFacts) -> &mut PolicyChange {
    facts
        .policy_change
        .as_mut()
        .expect("policy_push records a policy change")
}

#[test]
fn policy_branch() {
    let two = |a, b| {
        vec![
            commit('1', "Change policy", 1, a),
            commit('2', "Approve", 1, b),
        ]
    };
    // (case, pusher, kind, commits, expected reasons)
    let table: Vec<PolicyRow<'_>> = vec![
        (
            "two distinct admins",
            Some("alice"),
            FastForward,
            two(valid(ALICE), valid(ERIN)),
            vec![],
        ),
        (
            "admin pushes under an alias",
            Some("alice@example.com"),
            FastForward,
            two(valid(ERIN), valid(CAROL)),
            vec![],
        ),
        (
            "same admin twice counts once",
            Some("alice"),
            FastForward,
            two(valid(ALICE), valid(ALICE)),
            vec![(
                ApprovalsMissing,
                None,
                &["1 of 2 required admin approvals (policy-admins): signed by alice"],
            )],
        ),
        (
            "one of two",
            Some("erin"),
            FastForward,
            vec![commit('1', "x", 1, valid(ERIN))],
            vec![(ApprovalsMissing, None, &["1 of 2", "signed by erin"])],
        ),
        (
            "no new commits",
            Some("erin"),
            FastForward,
            vec![],
            vec![(
                ApprovalsMissing,
                None,
                &["0 of 2", "no new commit is signed by a policy admin"],
            )],
        ),
        (
            "non-admin pusher",
            Some("bob"),
            FastForward,
            two(valid(ALICE), valid(ERIN)),
            vec![(
                PolicyDenied,
                None,
                &["\"bob\" is not a policy admin (admins: policy-admins)"],
            )],
        ),
        (
            "unknown pusher",
            None,
            FastForward,
            two(valid(ALICE), valid(ERIN)),
            vec![(
                PolicyDenied,
                None,
                &["unknown pusher is not a policy admin"],
            )],
        ),
        (
            "unsigned commit",
            Some("alice"),
            FastForward,
            vec![
                commit('1', "x", 1, SignatureCheck::Unsigned),
                commit('2', "y", 1, valid(ALICE)),
                commit('3', "z", 1, valid(ERIN)),
            ],
            vec![(Unsigned, Some('1'), &["not signed; ", ADMINS_NEED])],
        ),
        (
            "signed by a non-admin",
            Some("alice"),
            FastForward,
            two(valid(BOB), valid(ALICE)),
            vec![
                (
                    PolicyDenied,
                    Some('1'),
                    &["signed by bob, who is not a policy admin (admins: policy-admins)"],
                ),
                (ApprovalsMissing, None, &["1 of 2", "signed by alice"]),
            ],
        ),
        (
            "unknown, revoked, unsupported, bad",
            Some("alice"),
            FastForward,
            vec![
                commit('1', "a", 1, valid(STRANGER)),
                commit('2', "b", 1, valid(BOB_REVOKED)),
                commit(
                    '3',
                    "c",
                    1,
                    SignatureCheck::Unsupported {
                        format: "X.509".into(),
                    },
                ),
                commit(
                    '4',
                    "d",
                    1,
                    SignatureCheck::Bad {
                        detail: "wrong namespace".into(),
                    },
                ),
            ],
            vec![
                (UnknownKey, Some('1'), &[]),
                (RevokedKey, Some('2'), &["laptop stolen"]),
                (UnsupportedSignature, Some('3'), &["X.509", ADMINS_NEED]),
                (BadSignature, Some('4'), &["wrong namespace"]),
                (ApprovalsMissing, None, &["0 of 2"]),
            ],
        ),
        (
            "delete",
            Some("alice"),
            Delete,
            vec![],
            vec![(
                PolicyDenied,
                None,
                &["refs/meta/policy is the policy branch and can never be deleted"],
            )],
        ),
        (
            "delete by unknown pusher",
            None,
            Delete,
            vec![],
            vec![(PolicyDenied, None, &["never be deleted"])],
        ),
        (
            "force push",
            Some("alice"),
            NonFastForward,
            two(valid(ALICE), valid(ERIN)),
            vec![(
                PolicyDenied,
                None,
                &["refs/meta/policy is the policy branch and can never be force-pushed"],
            )],
        ),
        (
            "force push by non-admin, unsigned",
            Some("bob"),
            NonFastForward,
            vec![commit('1', "x", 1, SignatureCheck::Unsigned)],
            vec![
                (PolicyDenied, None, &["force-pushed"]),
                (PolicyDenied, None, &["\"bob\" is not a policy admin"]),
                (Unsigned, Some('1'), &[]),
                (ApprovalsMissing, None, &["0 of 2"]),
            ],
        ),
        (
            "create",
            Some("alice"),
            Create,
            two(valid(ALICE), valid(ERIN)),
            vec![(
                PolicyDenied,
                None,
                &["only refguard init on the server creates it"],
            )],
        ),
    ];
    let policy = policy();
    for (name, pusher, kind, commits, expected) in table {
        let v = evaluate(&policy, &ctx(pusher), &policy_push(kind, commits));
        assert_reasons(name, &v, &expected);
        // Never governed by a [[rule]], though `refs/meta/**` matches at line 100.
        assert_eq!(v.rule, None, "{name}");
        assert_eq!(v.kind, Some(kind), "{name}");
    }
}

#[test]
fn policy_branch_approvals_count_only_commits_carrying_the_pushed_file() {
    // erin's commit carries another roles.toml (a foreign commit merged in, an earlier
    // draft): her signature is valid and an admin's, but approves nothing.
    let policy = policy();
    let mut facts = policy_push(
        FastForward,
        vec![
            commit('1', "Change policy", 1, valid(ALICE)),
            commit('2', "Something else", 1, valid(ERIN)),
        ],
    );
    change(&mut facts).approving.retain(|id| *id == oid('1'));
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert_reasons(
        "foreign approval",
        &v,
        &[(
            ApprovalsMissing,
            None,
            &[
                "1 of 2 required",
                "signed by alice",
                "erin signed only commits with another roles.toml",
            ],
        )],
    );
}

#[test]
fn policy_branch_approvals_count_only_commits_on_top_of_the_current_tip() {
    // erin signed the pushed roles.toml, but on a commit that does not descend from the
    // current policy tip (a proposal signed before the policy moved): no approval (§2, v2).
    let policy = policy();
    let mut facts = policy_push(
        FastForward,
        vec![
            commit('1', "Merge proposal", 2, valid(ALICE)),
            commit('2', "Old proposal", 1, valid(ERIN)),
        ],
    );
    change(&mut facts).approving.retain(|id| *id == oid('1'));
    change(&mut facts).stale = vec![oid('2')];
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert_reasons(
        "stale approval",
        &v,
        &[(
            ApprovalsMissing,
            None,
            &[
                "1 of 2 required",
                "signed by alice",
                "erin signed it only on commits that do not descend from the current policy \
                 tip aaaaaaa",
            ],
        )],
    );
    assert!(!v.reasons[0].detail.contains("another roles.toml"), "{v:?}");
}

#[test]
fn replace_refs_are_governed_only_by_rules_that_name_them() {
    // The base policy has `refs/meta/**` and `refs/heads/team/**` but nothing for
    // refs/replace/: nobody may create, move or delete a replace ref (§14).
    let replace = "refs/replace/1111111111111111111111111111111111111111";
    for kind in [Create, FastForward, NonFastForward, Delete] {
        let v = evaluate(&policy(), &ctx(Some("alice")), &update(replace, kind));
        assert_reasons(
            kind.as_str(),
            &v,
            &[(
                PushDenied,
                None,
                &["no rule names refs/replace/ explicitly"],
            )],
        );
        assert_eq!(v.rule, None);
    }
    // A catch-all rule does not open them...
    let mut rules = base_rules();
    let mut all = rule(200, &["refs/**"]);
    all.set_list(ListKind::Push, Some(list(&["*"])));
    rules.push(all);
    let v = evaluate(
        &policy_with_rules(rules.clone()),
        &ctx(Some("bob")),
        &update(replace, Create),
    );
    assert_reasons("catch-all", &v, &[(PushDenied, None, &["replace ref"])]);
    // ...an explicit one governs them, even after a broader rule.
    let mut explicit = rule(210, &["refs/replace/*"]);
    explicit.set_list(ListKind::Push, Some(list(&["maintainers"])));
    rules.push(explicit);
    let policy = policy_with_rules(rules);
    let v = evaluate(&policy, &ctx(Some("alice")), &update(replace, Create));
    assert_reasons("explicit, maintainer", &v, &[]);
    assert_eq!(
        v.rule.map(|r| r.to_string()).as_deref(),
        Some("roles.toml:210")
    );
    let v = evaluate(&policy, &ctx(Some("bob")), &update(replace, Create));
    assert_reasons(
        "explicit, developer",
        &v,
        &[(CreateDenied, None, &["maintainers"])],
    );
}

#[test]
fn policy_branch_expired_admin_key() {
    let policy = policy();
    let commits = vec![
        commit('1', "x", 1, valid(CAROL)),
        commit('2', "y", 1, valid(ALICE)),
    ];
    let mut c = ctx(Some("alice"));
    c.now = CAROL_EXPIRES;
    let v = evaluate(&policy, &c, &policy_push(FastForward, commits.clone()));
    assert_reasons(
        "carol expired",
        &v,
        &[
            (ExpiredKey, Some('1'), &["of carol"]),
            (ApprovalsMissing, None, &["1 of 2", "signed by alice"]),
        ],
    );
    c.now = NOW;
    let v = evaluate(&policy, &c, &policy_push(FastForward, commits));
    assert_reasons("carol current", &v, &[]);
}

#[test]
fn policy_branch_candidate() {
    let policy = policy();
    let ok = || {
        vec![
            commit('1', "x", 1, valid(ALICE)),
            commit('2', "y", 1, valid(ERIN)),
        ]
    };
    let errors = vec![
        "roles.toml:3:1: unknown field `pusher`".to_string(),
        "roles.toml:9:12: unknown user or role `bobb` (did you mean `bob`?)".to_string(),
    ];
    let table: Vec<CandidateRow<'_>> = vec![
        ("valid", Some(PolicyCandidate::Valid), vec![]),
        (
            "invalid",
            Some(PolicyCandidate::Invalid {
                errors: errors.clone(),
            }),
            vec![
                (PolicyInvalid, errors[0].as_str()),
                (PolicyInvalid, errors[1].as_str()),
            ],
        ),
        (
            "invalid without errors",
            Some(PolicyCandidate::Invalid { errors: vec![] }),
            vec![(PolicyInvalid, "the pushed roles.toml does not validate")],
        ),
        (
            "missing",
            Some(PolicyCandidate::Missing),
            vec![(PolicyInvalid, "no roles.toml at the root of the tree")],
        ),
        // The shell must always look: fail closed if it did not.
        (
            "not examined",
            None,
            vec![(InternalError, "the pushed roles.toml was not examined")],
        ),
    ];
    for (name, candidate, expected) in table {
        let mut facts = policy_push(FastForward, ok());
        match candidate {
            Some(candidate) => change(&mut facts).candidate = candidate,
            None => facts.policy_change = None,
        }
        let v = evaluate(&policy, &ctx(Some("alice")), &facts);
        let got: Vec<(Code, &str)> = v
            .reasons
            .iter()
            .map(|r| (r.code, r.detail.as_str()))
            .collect();
        assert_eq!(got, expected, "{name}");
        assert!(v.reasons.iter().all(|r| r.commit.is_none()), "{name}");
    }
}

#[test]
fn policy_branch_approvals_threshold() {
    let mut policy = policy();
    policy.approvals = 1;
    let facts = policy_push(FastForward, vec![commit('1', "x", 1, valid(ERIN))]);
    assert_reasons(
        "one admin suffices",
        &evaluate(&policy, &ctx(Some("erin")), &facts),
        &[],
    );
    policy.approvals = 3;
    let facts = policy_push(
        FastForward,
        vec![
            commit('1', "x", 1, valid(ERIN)),
            commit('2', "y", 1, valid(CAROL)),
            commit('3', "z", 1, valid(ALICE)),
        ],
    );
    assert_reasons(
        "three admins",
        &evaluate(&policy, &ctx(Some("erin")), &facts),
        &[],
    );
    let facts = policy_push(
        FastForward,
        vec![
            commit('1', "x", 1, valid(ERIN)),
            commit('3', "z", 1, valid(ALICE)),
        ],
    );
    assert_reasons(
        "two of three",
        &evaluate(&policy, &ctx(Some("erin")), &facts),
        &[(ApprovalsMissing, None, &["2 of 3", "signed by alice, erin"])],
    );
}

#[test]
fn policy_ref_is_configurable() {
    let policy = policy();
    let mut c = ctx(Some("alice"));
    c.policy_ref = "refs/meta/config".to_string();
    // refs/meta/policy is now an ordinary ref, governed by the rule at line 100.
    let mut facts = update(POLICY_REF, FastForward);
    with_commits_at(
        &policy,
        &c.policy_ref,
        &mut facts,
        vec![commit('1', "x", 1, valid(ALICE))],
    );
    let v = evaluate(&policy, &c, &facts);
    assert_eq!(
        v.rule.map(|r| r.to_string()).as_deref(),
        Some("roles.toml:100")
    );
    assert_reasons(
        "ordinary",
        &v,
        &[
            (PushDenied, None, &["(push: nobody;"]),
            (SignerNotAllowed, Some('1'), &["signed by alice"]),
        ],
    );
    // And refs/meta/config is the guarded one.
    let v = evaluate(&policy, &c, &update("refs/meta/config", Delete));
    assert_eq!(v.rule, None);
    assert_reasons(
        "guarded",
        &v,
        &[(
            PolicyDenied,
            None,
            &["refs/meta/config is the policy branch"],
        )],
    );
}
