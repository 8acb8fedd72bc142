//! A hand-built policy and fact builders for the engine tests. The keys are real OpenSSH
//! ed25519 public keys (the private halves were thrown away), so blobs and fingerprints are
//! computed exactly as the policy parser and the verifier compute them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use globset::{GlobBuilder, GlobSetBuilder};
use ssh_key::{HashAlg, PublicKey};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::engine::{
    CommitFacts, KeyId, ObjectId, PushContext, RefUpdate, SignatureCheck, UpdateFacts, UpdateKind,
    Verdict,
};
use crate::policy::{Location, Policy, Principals, Revoked, Rule, User, UserKey};

pub const ALICE: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICYuiPDztavk1w/U2euF2hbXi9tZV/vISBb/uyY3JZdB alice@test";
pub const BOB: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJvbwKkvUBDv74WYP6YCGzu0dfypA+rUugNAtcOL9efC bob1@test";
/// Bob's second key, revoked ("laptop stolen") but still listed under bob.
pub const BOB_REVOKED: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDKfG4WAw++wMOyIJh7mGC55P8pvj4wM4Pihp0ziotgG bob2@test";
/// Carol's only key, which expires at [`CAROL_EXPIRES`].
pub const CAROL: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJELXJIOxoIxqe2Dhp2JRWCPMuCdqOgUN40510CDso8R carol@test";
pub const DAVE: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBT/UcUDfqE4cVrdlWh+J1CS0NTqP/BFspa2RFOcQ6vP dave@test";
pub const ERIN: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO2b/EHz3+xwUlmOX66u2nuJl/B17ZtjCHzOR0oamBTc erin@test";
/// A key no user holds.
pub const STRANGER: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHyLDEQ0kF5XDp7DjrsYeoPtxu6Yj1TXF6xFfjrxHtyI stranger@test";
/// A key no user holds, revoked without a reason.
pub const GONE: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJn6h/7oDDueOE+mjF8xTnFv5FZmqFFVfJtf8lhnEPPH gone@test";

/// Push time in most tests.
pub const NOW: OffsetDateTime = datetime!(2025-06-01 12:00:00 UTC);
/// When carol's key expires.
pub const CAROL_EXPIRES: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);
/// The policy branch.
pub const POLICY_REF: &str = "refs/meta/policy";

fn parse_key(line: &str) -> PublicKey {
    PublicKey::from_openssh(line).expect("test key parses")
}

/// The identity the verifier reports for a key line.
pub fn key_id(line: &str) -> KeyId {
    let key = parse_key(line);
    KeyId {
        // `PublicKey::to_bytes` is the SSH wire encoding of the key data (ssh-key 0.6.7 does
        // not re-export its `Encode` trait).
        blob: key.to_bytes().expect("key encodes"),
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        algorithm: key.algorithm().to_string(),
        user_present: None,
    }
}

/// The `SHA256:...` fingerprint of a key line.
pub fn fingerprint(line: &str) -> String {
    key_id(line).fingerprint
}

/// A signature that verifies with the given key.
pub fn valid(line: &str) -> SignatureCheck {
    SignatureCheck::Valid(key_id(line))
}

/// A policy key for `line` (touch required, as the parser defaults) with `expires`.
pub fn user_key(line: &str, expires: Option<OffsetDateTime>) -> UserKey {
    let id = key_id(line);
    UserKey {
        key: parse_key(line),
        blob: id.blob,
        fingerprint: id.fingerprint,
        algorithm: id.algorithm,
        expires,
        touch_required: true,
        location: Location::default(),
    }
}

fn user(id: &str, names: &[&str], keys: Vec<UserKey>) -> User {
    let mut all_names = vec![id.to_string()];
    all_names.extend(names.iter().map(|n| n.to_string()));
    User {
        id: id.to_string(),
        keys,
        names: all_names,
    }
}

/// The roles of the base policy, as written.
const ROLES: &[(&str, &[&str])] = &[
    ("maintainers", &["alice"]),
    ("developers", &["bob", "maintainers", "carol"]),
    ("release-managers", &["dave"]),
    ("policy-admins", &["alice", "erin", "carol"]),
];

fn role_members() -> BTreeMap<String, BTreeSet<String>> {
    fn expand(name: &str, out: &mut BTreeSet<String>) {
        match ROLES.iter().find(|(role, _)| *role == name) {
            Some((_, members)) => members.iter().for_each(|m| expand(m, out)),
            None => {
                out.insert(name.to_string());
            }
        }
    }
    ROLES
        .iter()
        .map(|(role, _)| {
            let mut users = BTreeSet::new();
            expand(role, &mut users);
            (role.to_string(), users)
        })
        .collect()
}

/// A principals list as the parser would build it from `written`.
pub fn list(written: &[&str]) -> Principals {
    let roles = role_members();
    let mut p = Principals {
        written: written.iter().map(|w| w.to_string()).collect(),
        any_user: false,
        users: BTreeSet::new(),
    };
    for name in written {
        match (*name, roles.get(*name)) {
            ("*", _) => p.any_user = true,
            (_, Some(members)) => p.users.extend(members.iter().cloned()),
            (_, None) => {
                p.users.insert(name.to_string());
            }
        }
    }
    p
}

/// A rule at `line` with the given patterns and every list absent.
pub fn rule(line: usize, refs: &[&str]) -> Rule {
    let mut set = GlobSetBuilder::new();
    for pattern in refs {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .expect("test glob compiles");
        set.add(glob);
    }
    Rule {
        index: 0,
        location: Location { line, col: 1 },
        refs: refs.iter().map(|r| r.to_string()).collect(),
        matcher: set.build().expect("test globset builds"),
        push: None,
        create: None,
        delete: None,
        force_push: None,
        signers: None,
        merge: None,
        linear: false,
        signed_push: false,
    }
}

/// The rules of the base policy, in file order.
fn base_rules() -> Vec<Rule> {
    let mut main = rule(10, &["refs/heads/main", "refs/heads/release/*"]);
    main.push = Some(list(&["maintainers"]));
    main.delete = Some(list(&[]));
    main.signers = Some(list(&["developers"]));
    main.merge = Some(list(&["maintainers"]));

    let mut tags = rule(20, &["refs/tags/v*"]);
    tags.create = Some(list(&["release-managers"]));
    tags.signers = Some(list(&["release-managers"]));

    let mut linear = rule(30, &["refs/heads/linear/**"]);
    linear.linear = true;
    linear.signers = Some(list(&["developers"]));

    let mut merge_only = rule(40, &["refs/heads/merge-only/*"]);
    merge_only.merge = Some(list(&["maintainers"]));

    let mut nolinear = rule(50, &["refs/heads/nolinear/*"]);
    nolinear.linear = true;

    let mut team = rule(60, &["refs/heads/team/**"]);
    team.push = Some(list(&["*"]));

    // Shadowed by the rule at line 60: first match in file order wins.
    let mut locked = rule(70, &["refs/heads/team/locked"]);
    locked.push = Some(list(&[]));

    let mut both = rule(80, &["refs/heads/both/*"]);
    both.linear = true;
    both.merge = Some(list(&["maintainers"]));

    let mut nightly = rule(90, &["refs/tags/nightly-*"]);
    nightly.push = Some(list(&["*"]));
    nightly.force_push = Some(list(&["*"]));

    // Must never govern the policy branch.
    let mut meta = rule(100, &["refs/meta/**"]);
    meta.push = Some(list(&[]));
    meta.signers = Some(list(&["release-managers"]));

    vec![
        main, tags, linear, merge_only, nolinear, team, locked, both, nightly, meta,
    ]
}

/// The base policy: alice (maintainer, admin), bob (developer; one key revoked), carol
/// (developer, admin; expiring key), dave (release manager), erin (admin); approvals = 2.
pub fn policy() -> Policy {
    policy_with_rules(base_rules())
}

/// The base users, roles, admins and revocations with the given rules.
pub fn policy_with_rules(rules: Vec<Rule>) -> Policy {
    let users = vec![
        user("alice", &["alice@example.com"], vec![user_key(ALICE, None)]),
        user(
            "bob",
            &[],
            vec![user_key(BOB, None), user_key(BOB_REVOKED, None)],
        ),
        user("carol", &[], vec![user_key(CAROL, Some(CAROL_EXPIRES))]),
        user("dave", &[], vec![user_key(DAVE, None)]),
        user("erin", &[], vec![user_key(ERIN, None)]),
    ];
    let mut key_index = HashMap::new();
    let mut name_index = HashMap::new();
    for u in &users {
        for (i, k) in u.keys.iter().enumerate() {
            key_index.insert(k.blob.clone(), (u.id.clone(), i));
        }
        for n in &u.names {
            name_index.insert(n.clone(), u.id.clone());
        }
    }
    let rules = rules
        .into_iter()
        .enumerate()
        .map(|(index, r)| Rule { index, ..r })
        .collect();
    Policy {
        users: users.into_iter().map(|u| (u.id.clone(), u)).collect(),
        roles: ROLES
            .iter()
            .map(|(r, m)| (r.to_string(), m.iter().map(|s| s.to_string()).collect()))
            .collect(),
        role_members: role_members(),
        admins: list(&["policy-admins"]),
        approvals: 2,
        baseline: Vec::new(),
        revoked: vec![
            Revoked {
                fingerprint: fingerprint(BOB_REVOKED),
                reason: Some("laptop stolen".to_string()),
                location: Location::default(),
            },
            Revoked {
                fingerprint: fingerprint(GONE),
                reason: None,
                location: Location::default(),
            },
        ],
        rules,
        key_index,
        name_index,
        require_signed_push: false,
    }
}

/// A 40-digit object id made of one repeated hex digit.
pub fn oid(digit: char) -> ObjectId {
    ObjectId::parse(&digit.to_string().repeat(40)).expect("test id is hex")
}

/// A push context for `pusher` at [`NOW`].
pub fn ctx(pusher: Option<&str>) -> PushContext {
    PushContext {
        pusher: pusher.map(str::to_string),
        now: NOW,
        policy_ref: POLICY_REF.to_string(),
    }
}

/// Facts for an update of `kind` on `refname` with no commits (old `a…`, new `b…`, or
/// zero as the kind requires).
pub fn update(refname: &str, kind: UpdateKind) -> UpdateFacts {
    let (old, new) = match kind {
        UpdateKind::Create => (ObjectId::zero(), oid('b')),
        UpdateKind::Delete => (oid('a'), ObjectId::zero()),
        UpdateKind::FastForward | UpdateKind::NonFastForward => (oid('a'), oid('b')),
    };
    UpdateFacts {
        update: RefUpdate {
            refname: refname.to_string(),
            old,
            new,
        },
        kind,
        commits: Vec::new(),
        tag: None,
        candidate: None,
        approving: Vec::new(),
    }
}

/// A new commit with id `digit…`, summary `subject`, `parents` parents and `signature`.
pub fn commit(
    digit: char,
    subject: &str,
    parents: usize,
    signature: SignatureCheck,
) -> CommitFacts {
    CommitFacts {
        id: oid(digit),
        summary: subject.to_string(),
        parent_count: parents,
        signature,
    }
}

/// What a reason is expected to be: code, commit digit (None: about the ref) and pieces
/// its detail must contain.
pub type Expect<'a> = (crate::engine::Code, Option<char>, &'a [&'a str]);

/// Asserts a verdict's reasons, in order: codes, commit ids and detail fragments.
#[track_caller]
pub fn assert_reasons(case: &str, verdict: &Verdict, expected: &[Expect<'_>]) {
    let got: Vec<_> = verdict
        .reasons
        .iter()
        .map(|r| (r.code, r.commit.clone(), r.detail.clone()))
        .collect();
    assert_eq!(
        verdict.reasons.len(),
        expected.len(),
        "{case}: wrong number of reasons: {got:#?}"
    );
    for (reason, (code, digit, parts)) in verdict.reasons.iter().zip(expected) {
        assert_eq!(reason.code, *code, "{case}: code in {got:#?}");
        assert_eq!(reason.commit, digit.map(oid), "{case}: commit in {got:#?}");
        for part in *parts {
            assert!(
                reason.detail.contains(part),
                "{case}: detail {:?} lacks {part:?}",
                reason.detail
            );
        }
    }
}
