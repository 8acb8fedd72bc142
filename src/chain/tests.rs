//! The chain rules from hand-built facts: real keys, roles files as text, signatures as
//! verified outcomes.

use std::collections::HashMap;

use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::engine::SignatureCheck;
use crate::testutil::{ALICE, DAVE, ERIN, key_id};

const POLICY_REF: &str = "refs/meta/policy";
const NOW: OffsetDateTime = datetime!(2026-06-01 00:00:00 UTC);
/// Committer times: one day apart from here.
const START: i64 = 1_767_225_600; // 2026-01-01

/// A roles file with alice, dave and erin, `admins` as policy admins and `approvals`.
fn roles(admins: &[&str], approvals: u32, dave_expires: Option<&str>) -> String {
    let dave = match dave_expires {
        Some(date) => format!("[{{ key = \"{DAVE}\", expires = \"{date}\" }}]"),
        None => format!("[\"{DAVE}\"]"),
    };
    let admins: Vec<String> = admins.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        "version = 1\n\n[users.alice]\nkeys = [\"{ALICE}\"]\n\n[users.dave]\nkeys = {dave}\n\n\
         [users.erin]\nkeys = [\"{ERIN}\"]\n\n[roles]\npolicy-admins = [{}]\n\n[policy]\n\
         admins = [\"policy-admins\"]\napprovals = {approvals}\n",
        admins.join(", ")
    )
}

fn id(n: u32) -> ObjectId {
    ObjectId::parse(&format!("{n:040x}")).expect("40 hex digits")
}

/// Files beside a roles file: (path, bytes).
type Files<'a> = &'a [(&'a str, &'a [u8])];

/// Builds chain facts commit by commit.
struct Builder {
    facts: ChainFacts,
    /// Blob ids by content.
    blobs: HashMap<Vec<u8>, ObjectId>,
    next: u32,
    /// The committer time of the trust root; each commit is a day later than the one before.
    start: i64,
}

impl Builder {
    /// A trust root holding `text`.
    fn new(text: &str) -> Builder {
        Builder::with_files(text, &[], START, NOW)
    }

    /// A trust root holding `text` and `files`, committed at `start`, verified at `now`.
    fn with_files(text: &str, files: Files<'_>, start: i64, now: OffsetDateTime) -> Builder {
        let mut b = Builder {
            facts: ChainFacts {
                policy_ref: POLICY_REF.into(),
                root: id(1),
                root_time: start,
                root_policy: None,
                tip: id(1),
                commits: Vec::new(),
                now,
            },
            blobs: HashMap::new(),
            next: 2,
            start,
        };
        b.facts.root_policy = Some(b.tree(text, files));
        b
    }

    fn blob(&mut self, bytes: &[u8]) -> ObjectId {
        if let Some(id) = self.blobs.get(bytes) {
            return id.clone();
        }
        let blob = id(0xb000 + self.blobs.len() as u32);
        self.blobs.insert(bytes.to_vec(), blob.clone());
        blob
    }

    /// The policy of `text` with `files` beside it, read as the shell reads a policy commit.
    fn tree(&mut self, text: &str, files: Files<'_>) -> PolicyTree {
        let asked = std::cell::RefCell::new(Vec::<String>::new());
        let file = |path: &str| files.iter().find(|(p, _)| *p == path).map(|(_, b)| *b);
        let reader = |path: &str| {
            asked.borrow_mut().push(path.to_owned());
            file(path)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| "no such file".to_string())
        };
        let parsed = policy::parse_with(text, &reader)
            .map_err(|diags| diags.iter().map(|d| d.render("roles.toml")).collect());
        let mut paths = asked.into_inner();
        paths.dedup();
        let files = paths
            .into_iter()
            .map(|path| {
                let blob = file(&path).map(|bytes| self.blob(bytes));
                (path, blob)
            })
            .collect();
        PolicyTree {
            blobs: PolicyBlobs {
                roles: self.blob(text.as_bytes()),
                files,
            },
            parsed: std::sync::Arc::new(parsed),
        }
    }

    /// A commit on `parents` carrying `text`, signed with `key` (None: unsigned); it becomes
    /// the tip.
    fn commit(&mut self, parents: &[&ObjectId], text: &str, key: Option<&str>) -> ObjectId {
        let signature = key.map_or(SignatureCheck::Unsigned, |k| {
            SignatureCheck::Valid(key_id(k))
        });
        self.commit_files(parents, text, &[], signature)
    }

    /// A commit on `parents` carrying `text` and `files`, with `signature` as verified
    /// without certificates; it becomes the tip.
    fn commit_files(
        &mut self,
        parents: &[&ObjectId],
        text: &str,
        files: Files<'_>,
        signature: SignatureCheck,
    ) -> ObjectId {
        let policy = self.tree(text, files);
        let n = self.next;
        self.next += 1;
        let commit = ChainCommit {
            facts: CommitFacts {
                id: id(n),
                summary: format!("commit {n}"),
                parent_count: parents.len(),
                signature,
            },
            openpgp: HashMap::new(),
            parents: parents.iter().map(|p| (*p).clone()).collect(),
            time: self.start + i64::from(n) * 86_400,
            server_written: false,
            policy: Some(policy),
        };
        self.facts.tip = commit.facts.id.clone();
        self.facts.commits.push(commit);
        self.facts.tip.clone()
    }

    fn root(&self) -> ObjectId {
        self.facts.root.clone()
    }

    fn run(&self) -> Chain {
        authenticate(&self.facts).expect("the trust root is a policy")
    }
}

fn codes(b: &Break) -> Vec<&'static str> {
    b.reasons.iter().map(|r| r.code.as_str()).collect()
}

#[test]
fn each_admin_signed_change_is_a_step() {
    let alice_only = roles(&["alice"], 1, None);
    let with_dave = roles(&["alice", "dave"], 1, None);
    let mut b = Builder::new(&alice_only);
    let root = b.root();
    let one = b.commit(&[&root], &with_dave, Some(ALICE));
    let two = b.commit(
        &[&one],
        &with_dave.replace("approvals = 1", "approvals = 2"),
        Some(DAVE),
    );
    let chain = b.run();
    assert_eq!(chain.broken, None);
    assert_eq!(chain.authenticated, two);
    assert_eq!(chain.commits, 2);
    assert_eq!(chain.unverified, 0);
    let steps: Vec<(&ObjectId, &ObjectId, Vec<String>, bool)> = chain
        .steps
        .iter()
        .map(|s| (&s.from, &s.to, s.approvers.clone(), s.changed))
        .collect();
    assert_eq!(
        steps,
        vec![
            (&root, &one, vec!["alice".to_string()], true),
            (&one, &two, vec!["dave".to_string()], true)
        ]
    );
    // Dave became an admin at step one: judged by the policy before it, his commit alone
    // would not have been accepted.
    assert_eq!(chain.steps[0].at, datetime!(2026-01-03 00:00:00 UTC));
}

#[test]
fn two_approvals_make_one_step_of_two_commits() {
    let two = roles(&["alice", "dave"], 2, None);
    let changed = two.replace("[users.erin]", "# erin is new\n[users.erin]");
    let mut b = Builder::new(&two);
    let root = b.root();
    let proposal = b.commit(&[&root], &changed, Some(ALICE));
    let second = b.commit(&[&proposal], &changed, Some(DAVE));
    let chain = b.run();
    assert_eq!(chain.broken, None, "{chain:?}");
    assert_eq!(chain.steps.len(), 1);
    assert_eq!(chain.steps[0].to, second);
    assert_eq!(chain.steps[0].commits, 2);
    assert_eq!(chain.steps[0].approvers, vec!["alice", "dave"]);
}

#[test]
fn one_approval_of_two_breaks_the_chain() {
    let two = roles(&["alice", "dave"], 2, None);
    let changed = two.replace("approvals = 2", "approvals = 1");
    let mut b = Builder::new(&two);
    let root = b.root();
    let alone = b.commit(&[&root], &changed, Some(ALICE));
    let chain = b.run();
    let broken = chain.broken.expect("alice alone cannot change it");
    assert_eq!(broken.kind, BreakKind::NotApproved);
    assert_eq!(broken.after, root);
    assert_eq!(broken.commit, alone);
    assert_eq!(codes(&broken), vec!["approvals-missing"]);
    assert!(
        broken.reasons[0]
            .detail
            .starts_with("1 of 2 required admin approvals"),
        "{}",
        broken.reasons[0].detail
    );
    assert_eq!(chain.unverified, 1);
    assert_eq!(chain.authenticated, root);
}

#[test]
fn a_shorter_cut_that_leads_nowhere_is_given_up() {
    // alice alone pushed two commits at once: the first raises the quorum to 2, the second
    // changes something else. Judged as one push by the policy before it (quorum 1), that
    // is what the server accepted; cut after the first, the second would need 2 approvals.
    let one = roles(&["alice"], 1, None);
    let raised = roles(&["alice", "dave"], 2, None);
    let later = raised.replace("[users.erin]", "# note\n[users.erin]");
    let mut b = Builder::new(&one);
    let root = b.root();
    let first = b.commit(&[&root], &raised, Some(ALICE));
    let tip = b.commit(&[&first], &later, Some(ALICE));
    let chain = b.run();
    assert_eq!(chain.broken, None, "{chain:?}");
    assert_eq!(chain.steps.len(), 1);
    assert_eq!((&chain.steps[0].from, &chain.steps[0].to), (&root, &tip));
}

#[test]
fn a_server_written_commit_is_a_break() {
    let text = roles(&["alice"], 1, None);
    let mut b = Builder::new(&text);
    let root = b.root();
    let good = b.commit(
        &[&root],
        &text.replace("approvals = 1", "approvals = 1 # ok"),
        Some(ALICE),
    );
    let reset = b.commit(&[&good], &roles(&["dave"], 1, None), None);
    b.facts
        .commits
        .last_mut()
        .expect("the reset")
        .server_written = true;
    let after = b.commit(&[&reset], &roles(&["dave"], 1, None), Some(DAVE));
    let chain = b.run();
    let broken = chain.broken.expect("the reset breaks it");
    assert_eq!(broken.kind, BreakKind::ServerWritten);
    assert_eq!(broken.after, good);
    assert_eq!(broken.commit, reset);
    assert_eq!(chain.steps.len(), 1);
    assert_eq!(chain.unverified, 2);

    // Given as the new trust root, what follows verifies.
    let mut from_reset = b.facts.clone();
    from_reset.root = reset.clone();
    from_reset.root_policy = b.facts.commits[1].policy.clone();
    from_reset.commits.retain(|c| c.facts.id == after);
    let chain = authenticate(&from_reset).expect("a policy commit");
    assert_eq!(chain.broken, None);
    assert_eq!(chain.steps[0].approvers, vec!["dave"]);
}

#[test]
fn an_unsigned_bypass_commit_breaks_the_chain_at_that_commit() {
    let text = roles(&["alice"], 1, None);
    let mut b = Builder::new(&text);
    let root = b.root();
    let bypass = b.commit(&[&root], &roles(&["alice", "erin"], 1, None), None);
    b.commit(&[&bypass], &roles(&["alice", "erin"], 1, None), Some(ALICE));
    let chain = b.run();
    let broken = chain.broken.expect("unsigned");
    assert_eq!(broken.kind, BreakKind::NotApproved);
    assert_eq!(broken.commit, bypass);
    assert!(codes(&broken).contains(&"unsigned"), "{:?}", codes(&broken));
    assert_eq!(chain.unverified, 2);
}

#[test]
fn a_non_admin_signature_breaks_the_chain() {
    let text = roles(&["alice"], 1, None);
    let mut b = Builder::new(&text);
    let root = b.root();
    let by_erin = b.commit(&[&root], &roles(&["erin"], 1, None), Some(ERIN));
    let broken = b.run().broken.expect("erin is no admin");
    assert_eq!(broken.commit, by_erin);
    assert_eq!(codes(&broken)[0], "policy-denied");
}

#[test]
fn a_tip_that_does_not_descend_from_the_trust_root_is_a_break() {
    let text = roles(&["alice"], 1, None);
    let mut b = Builder::new(&text);
    let elsewhere = id(99);
    let tip = b.commit(&[&elsewhere], &text, Some(ALICE));
    let chain = b.run();
    let broken = chain.broken.expect("not a descendant");
    assert_eq!(broken.kind, BreakKind::NotDescendant);
    assert_eq!(broken.commit, tip);
    assert_eq!(chain.unverified, 1);
}

#[test]
fn a_trust_root_without_a_valid_policy_is_refused() {
    let mut b = Builder::new("version = 2\n");
    let root = b.root();
    b.commit(&[&root], &roles(&["alice"], 1, None), Some(ALICE));
    assert!(matches!(
        authenticate(&b.facts),
        Err(RootError::NotAPolicy { .. })
    ));
    b.facts.root_policy = None;
    assert!(matches!(
        authenticate(&b.facts),
        Err(RootError::NotAPolicy { .. })
    ));
}

#[test]
fn the_trust_root_itself_is_an_unbroken_chain() {
    let b = Builder::new(&roles(&["alice"], 1, None));
    let chain = b.run();
    assert_eq!(chain.broken, None);
    assert!(chain.steps.is_empty());
    assert_eq!(chain.authenticated, b.root());
}

#[test]
fn a_merge_that_reaches_the_trust_root_through_its_second_parent() {
    // A proposal started elsewhere (not on the policy), merged with the policy tip.
    let text = roles(&["alice"], 1, None);
    let proposal_text = roles(&["alice", "dave"], 1, None);
    let mut b = Builder::new(&text);
    let root = b.root();
    let orphan = b.commit(&[], &proposal_text, Some(ALICE));
    let merge = b.commit(&[&orphan, &root], &proposal_text, Some(ALICE));
    let chain = b.run();
    assert_eq!(chain.broken, None, "{chain:?}");
    assert_eq!(chain.steps.len(), 1);
    assert_eq!(chain.steps[0].to, merge);
    assert_eq!(chain.steps[0].commits, 2);
}

#[test]
fn a_signature_on_a_commit_that_does_not_descend_from_the_tip_approves_nothing() {
    let two = roles(&["alice", "dave"], 2, None);
    let changed = two.replace("[users.erin]", "# erin\n[users.erin]");
    let mut b = Builder::new(&two);
    let root = b.root();
    // Dave signed the proposal on a side line that never saw the trust root.
    let stale = b.commit(&[], &changed, Some(DAVE));
    let merge = b.commit(&[&root, &stale], &changed, Some(ALICE));
    let broken = b.run().broken.expect("dave's signature is stale");
    assert_eq!(broken.commit, merge);
    assert_eq!(codes(&broken), vec!["approvals-missing"]);
    assert!(
        broken.reasons[0]
            .detail
            .contains("dave signed it only on commits that do not descend"),
        "{}",
        broken.reasons[0].detail
    );
}

#[test]
fn keys_are_judged_at_the_steps_time_not_now() {
    // Dave's key expires on 2026-03-01: his approval on 2026-01-04 stands after that.
    let text = roles(&["alice", "dave"], 1, Some("2026-03-01"));
    let changed = text.replace("approvals = 1", "approvals = 1 # dave was here");
    let mut b = Builder::new(&text);
    let root = b.root();
    b.commit(&[&root], &changed, Some(DAVE));
    assert_eq!(b.run().broken, None);

    // A commit claiming a time after the expiry is judged then: expired.
    b.facts.commits[0].time = START + 120 * 86_400;
    let broken = b.run().broken.expect("expired at the claimed time");
    assert!(
        codes(&broken).contains(&"expired-key"),
        "{:?}",
        codes(&broken)
    );

    // A claim in the future is judged now, never later.
    b.facts.commits[0].time = START + 5_000 * 86_400;
    b.facts.now = datetime!(2026-02-01 00:00:00 UTC);
    assert_eq!(b.run().broken, None);
}

#[test]
fn backdating_cannot_go_before_an_earlier_step() {
    // The first step is dated after dave's key expired: a later step claiming an earlier
    // time is judged at the first step's time.
    let text = roles(&["alice", "dave"], 1, Some("2026-03-01"));
    let mut b = Builder::new(&text);
    let root = b.root();
    let first = b.commit(
        &[&root],
        &text.replace("approvals = 1", "approvals = 1 # a"),
        Some(ALICE),
    );
    b.facts.commits[0].time = START + 100 * 86_400;
    b.commit(
        &[&first],
        &text.replace("approvals = 1", "approvals = 1 # b"),
        Some(DAVE),
    );
    b.facts.commits[1].time = START;
    let broken = b.run().broken.expect("judged at the first step's time");
    assert!(
        codes(&broken).contains(&"expired-key"),
        "{:?}",
        codes(&broken)
    );
}

// ---- OpenPGP certificates (spec §12) ----------------------------------------------------

/// `roles(admins, approvals)` with a user `pgp` whose one key is the certificate
/// `keys/pgp.asc`.
fn roles_with_pgp(admins: &[&str], approvals: u32) -> String {
    format!(
        "{}\n[users.pgp]\nkeys = [{{ openpgp = \"keys/pgp.asc\" }}]\n",
        roles(admins, approvals, None)
    )
}

/// The OpenPGP key id of a test certificate's primary key, as the verifier reports it.
fn pgp_key_id(cert: &crate::openpgp::testcerts::TestCert) -> crate::engine::KeyId {
    let parsed = crate::openpgp::Certificate::parse(&cert.public).expect("gpg's certificate");
    crate::engine::KeyId::openpgp(&parsed, parsed.primary(), None)
}

/// A builder for OpenPGP keys, which are judged after the test certificates were made (on
/// first use, before this): a trust root committed now, its commits a day apart after it, so
/// that every step is judged at the verification time, an hour from now.
fn recent(text: &str, files: Files<'_>) -> Builder {
    let now = OffsetDateTime::now_utc();
    Builder::with_files(
        text,
        files,
        now.unix_timestamp(),
        now + time::Duration::hours(1),
    )
}

#[test]
fn a_certificate_only_change_signed_by_an_admin_is_a_step() {
    let certs = crate::openpgp::testcerts::certs();
    let text = roles_with_pgp(&["alice"], 1);
    let mut b = recent(&text, &[("keys/pgp.asc", &certs.carol.public)]);
    let root = b.root();
    // roles.toml unchanged: only the certificate file is replaced.
    let swap = b.commit_files(
        &[&root],
        &text,
        &[("keys/pgp.asc", &certs.alice.public)],
        SignatureCheck::Valid(key_id(ALICE)),
    );
    let chain = b.run();
    assert_eq!(chain.broken, None, "{chain:?}");
    assert_eq!(chain.authenticated, swap);
    assert_eq!(chain.steps.len(), 1);
    assert_eq!(chain.steps[0].approvers, vec!["alice"]);
    assert!(
        chain.steps[0].changed,
        "a new certificate is a policy change"
    );
    assert!(!chain.steps[0].roles_changed, "roles.toml is the same");
}

#[test]
fn a_certificate_swapped_in_without_the_admins_breaks_the_chain() {
    let certs = crate::openpgp::testcerts::certs();
    let text = roles_with_pgp(&["alice"], 1);
    let files: Files<'_> = &[("keys/pgp.asc", &certs.carol.public)];
    let swapped: Files<'_> = &[("keys/pgp.asc", &certs.alice.public)];

    // Signed by erin, who is no admin.
    let mut b = recent(&text, files);
    let root = b.root();
    let by_erin = b.commit_files(
        &[&root],
        &text,
        swapped,
        SignatureCheck::Valid(key_id(ERIN)),
    );
    let chain = b.run();
    let broken = chain.broken.expect("erin may not change the policy");
    assert_eq!(broken.kind, BreakKind::NotApproved);
    assert_eq!(broken.commit, by_erin);
    assert_eq!(codes(&broken)[0], "policy-denied");
    assert_eq!(chain.authenticated, root);

    // Unsigned, on top of an authenticated change.
    let mut b = recent(&text, files);
    let root = b.root();
    let good = b.commit_files(
        &[&root],
        &text.replace("approvals = 1", "approvals = 1 # ok"),
        files,
        SignatureCheck::Valid(key_id(ALICE)),
    );
    let bypass = b.commit_files(
        &[&good],
        &text.replace("approvals = 1", "approvals = 1 # ok"),
        swapped,
        SignatureCheck::Unsigned,
    );
    let chain = b.run();
    let broken = chain.broken.clone().expect("an unsigned certificate swap");
    assert_eq!(chain.steps.len(), 1, "{chain:?}");
    assert_eq!((&broken.after, &broken.commit), (&good, &bypass));
    assert!(codes(&broken).contains(&"unsigned"), "{:?}", codes(&broken));
}

#[test]
fn an_approval_counts_only_on_the_same_certificates() {
    // Two approvals needed; dave signed the roles file with one certificate beside it,
    // alice with another: they approved two different policies.
    let certs = crate::openpgp::testcerts::certs();
    let text = roles_with_pgp(&["alice", "dave"], 2);
    let mut b = recent(&text, &[("keys/pgp.asc", &certs.carol.public)]);
    let root = b.root();
    let changed = text.replace("[users.erin]", "# erin\n[users.erin]");
    let by_dave = b.commit_files(
        &[&root],
        &changed,
        &[("keys/pgp.asc", &certs.erin.public)],
        SignatureCheck::Valid(key_id(DAVE)),
    );
    let tip = b.commit_files(
        &[&by_dave],
        &changed,
        &[("keys/pgp.asc", &certs.alice.public)],
        SignatureCheck::Valid(key_id(ALICE)),
    );
    let broken = b.run().broken.expect("one approval of each policy");
    assert_eq!(broken.kind, BreakKind::NotApproved);
    assert!(
        codes(&broken).contains(&"approvals-missing"),
        "{:?}",
        codes(&broken)
    );

    // With the same certificate under both signatures, the two approvals make one step.
    b.facts.commits[0].policy = b.facts.commits[1].policy.clone();
    let chain = b.run();
    assert_eq!(chain.broken, None, "{chain:?}");
    assert_eq!(chain.steps.len(), 1);
    assert_eq!(chain.steps[0].to, tip);
    assert_eq!(chain.steps[0].approvers, vec!["alice", "dave"]);
}

#[test]
fn openpgp_signatures_are_verified_with_the_certificates_of_the_policy_before() {
    let certs = crate::openpgp::testcerts::certs();
    let text = roles_with_pgp(&["pgp"], 1);
    let mut b = recent(&text, &[("keys/pgp.asc", &certs.alice.public)]);
    let root = b.root();
    let no_cert = |fpr: &str| SignatureCheck::NoCertificate {
        issuer: format!("openpgp:{fpr}"),
    };
    let by_alice = no_cert(&certs.alice.fingerprints[0]);
    let by_carol = no_cert(&certs.carol.fingerprints[0]);

    // The admin `pgp` signs a change with the certificate the trust root lists.
    let changed = text.replace("approvals = 1", "approvals = 1 # by pgp");
    let one = b.commit_files(
        &[&root],
        &changed,
        &[("keys/pgp.asc", &certs.alice.public)],
        by_alice.clone(),
    );
    let alice_ring = b.facts.root_policy.as_ref().expect("root").blobs.keyring();
    b.facts.commits[0].openpgp.insert(
        alice_ring.clone(),
        SignatureCheck::Valid(pgp_key_id(&certs.alice)),
    );
    let chain = b.run();
    assert_eq!(chain.broken, None, "{chain:?}");
    assert_eq!(chain.steps[0].approvers, vec!["pgp"]);

    // A signature the shell did not verify with that policy's certificates counts as bad.
    b.facts.commits[0].openpgp.clear();
    let broken = b.run().broken.expect("not verified: fail closed");
    assert!(
        codes(&broken).contains(&"bad-signature"),
        "{:?}",
        codes(&broken)
    );
    assert!(
        broken.reasons[0].detail.contains(UNVERIFIED),
        "{}",
        broken.reasons[0].detail
    );
    b.facts.commits[0].openpgp.insert(
        alice_ring.clone(),
        SignatureCheck::Valid(pgp_key_id(&certs.alice)),
    );

    // Carol swaps her certificate in and signs with it: it verifies only with the
    // certificates it brings, which cannot vouch for the commit that brings them.
    let swap = b.commit_files(
        &[&one],
        &changed,
        &[("keys/pgp.asc", &certs.carol.public)],
        by_carol.clone(),
    );
    let carol_ring = b.facts.commits[1]
        .policy
        .as_ref()
        .expect("a policy")
        .blobs
        .keyring();
    assert_ne!(carol_ring, alice_ring);
    let swapped = &mut b.facts.commits[1].openpgp;
    swapped.insert(alice_ring, by_carol);
    swapped.insert(carol_ring, SignatureCheck::Valid(pgp_key_id(&certs.carol)));
    let chain = b.run();
    let broken = chain
        .broken
        .expect("carol's certificate is not the admin's");
    assert_eq!((&broken.after, &broken.commit), (&one, &swap));
    assert!(
        codes(&broken).contains(&"unknown-key"),
        "{:?}",
        codes(&broken)
    );
    assert_eq!(chain.steps.len(), 1);
}
