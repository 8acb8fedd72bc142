//! FIDO user presence in the engine: an sk signature whose user-presence flag is not set is
//! a `[bad-signature]` unless the key has `touch_required = false`; other key types are
//! never affected. The chain order is revoked → unknown → expired → untouched → membership.

use time::OffsetDateTime;
use time::macros::datetime;

use super::fixture::*;
use crate::engine::{
    Code, PushCert, SignatureCheck, SignatureStatus, SignedBy, TagTarget, evaluate,
    evaluate_signed, signed_by,
};
use crate::policy::{Location, Policy, Revoked};

use crate::engine::UpdateKind::{Create, FastForward};
use Code::*;

// Hand-built FIDO public keys (no token is needed to build a public key).
const SK_ED25519: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAICm7dhmDrf/6PtORI1LnvjMeHtRXgDjuAk1TUgeHqL6AAAAABHNzaDo= fido@test";
const SK_ECDSA: &str = "sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBF0RwhtXldNnbqKpaXVqZnVGrSGFXelDbEb1KMzkr639QLpq4FB1m/il9MjR4xbOkuAIe8xRGcyEHNUj/P7F7F0AAAAEc3NoOg== fido@test";

/// What the rule for refs/heads/main asks for, in the base policy.
const NEED: &str = "refs/heads/main needs a signature by developers";

/// The base policy with one more key for `user`: `line`, `touch_required`, `expires`.
fn with_key(
    mut policy: Policy,
    user: &str,
    line: &str,
    touch_required: bool,
    expires: Option<OffsetDateTime>,
) -> Policy {
    let mut key = user_key(line, expires);
    key.touch_required = touch_required;
    let holder = policy.users.get_mut(user).expect("user of the base policy");
    holder.keys.push(key);
    policy.indexes.reset();
    policy
}

/// A signature that verifies with `line`, reporting `user_present` as `verify` would.
fn signed(line: &str, user_present: Option<bool>) -> SignatureCheck {
    let mut id = key_id(line);
    id.user_present = user_present;
    SignatureCheck::Valid(id)
}

/// The detail of an untouched signature by `owner`'s key `line` (without the rule's need:
/// another signer would not help).
fn untouched(line: &str, owner: &str) -> String {
    format!(
        "has a bad signature: signed with key {} of {owner} without touching the security key \
         (user presence flag not set); roles.toml can allow it per key with touch_required = \
         false",
        fingerprint(line)
    )
}

/// The reasons of a one-commit push to refs/heads/main at `now`.
fn push_main(
    policy: &Policy,
    now: OffsetDateTime,
    signature: SignatureCheck,
) -> Vec<(Code, String)> {
    let mut c = ctx(Some("alice"));
    c.now = now;
    let mut facts = update("refs/heads/main", FastForward);
    with_commits(
        policy,
        &mut facts,
        vec![commit('1', "Fix typo", 1, signature)],
    );
    evaluate(policy, &c, &facts)
        .reasons
        .into_iter()
        .map(|r| (r.code, r.detail))
        .collect()
}

/// Both FIDO types × flag (touched, untouched, not reported) × `touch_required`, and
/// non-FIDO keys, whose flag is never looked at (even a stray `Some(false)`).
#[test]
fn user_presence_by_key_type_flag_and_setting() {
    for line in [SK_ED25519, SK_ECDSA, OTHER_ED25519] {
        let fido = line.starts_with("sk-");
        for touch_required in [true, false] {
            let policy = with_key(policy(), "bob", line, touch_required, None);
            for flag in [Some(true), Some(false), None] {
                let case = format!("{line:.30} touch_required={touch_required} flag={flag:?}");
                let reasons = push_main(&policy, NOW, signed(line, flag));
                // A missing flag on a FIDO key fails closed, like an unset one.
                if fido && touch_required && flag != Some(true) {
                    assert_eq!(reasons, [(BadSignature, untouched(line, "bob"))], "{case}");
                } else {
                    assert_eq!(reasons, [], "{case}");
                }
            }
        }
    }
}

/// An ed25519 key no base user holds (`ssh-keygen -t ed25519`, private half discarded).
const OTHER_ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPJCzm3a4SPSbwM1+3y9hjaM1aKuEucKP1XkwfH+NEge other@test";

/// The touch check sits after revocation and expiry (the key itself is the problem there)
/// and before membership (a touch is needed whoever signs, and "ask someone else" would
/// not be the fix).
#[test]
fn user_presence_in_the_lookup_chain() {
    let fp = fingerprint(SK_ED25519);
    let after_expiry = datetime!(2026-03-01 00:00:00 UTC);

    // Expired: expired-key, touched or not; before expiry an untouched one is bad.
    let carol = with_key(policy(), "carol", SK_ED25519, true, Some(CAROL_EXPIRES));
    for flag in [Some(true), Some(false)] {
        let reasons = push_main(&carol, after_expiry, signed(SK_ED25519, flag));
        assert_eq!(reasons.len(), 1, "{flag:?}: {reasons:?}");
        assert_eq!(reasons[0].0, ExpiredKey, "{flag:?}");
    }
    assert_eq!(
        push_main(&carol, NOW, signed(SK_ED25519, Some(false))),
        [(BadSignature, untouched(SK_ED25519, "carol"))]
    );

    // Revoked: revoked-key, whether or not the signature was touched.
    let mut revoked = with_key(policy(), "bob", SK_ED25519, true, None);
    revoked.revoked.push(Revoked {
        fingerprint: fp.clone(),
        reason: Some("token lost".into()),
        location: Location::default(),
    });
    let reasons = push_main(&revoked, NOW, signed(SK_ED25519, Some(false)));
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert_eq!(reasons[0].0, RevokedKey);
    assert!(reasons[0].1.contains("token lost"), "{reasons:?}");

    // Unknown: nobody holds it, so there is no `touch_required` to consult.
    let reasons = push_main(&policy(), NOW, signed(SK_ED25519, Some(false)));
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert_eq!(reasons[0].0, UnknownKey);

    // Not a member: untouched is reported first; touched, the membership is.
    let dave = with_key(policy(), "dave", SK_ED25519, true, None);
    assert_eq!(
        push_main(&dave, NOW, signed(SK_ED25519, Some(false))),
        [(BadSignature, untouched(SK_ED25519, "dave"))]
    );
    assert_eq!(
        push_main(&dave, NOW, signed(SK_ED25519, Some(true))),
        [(SignerNotAllowed, format!("signed by dave; {NEED}"))]
    );
}

/// Every place a signer is identified applies the same check: merges, tags, the policy
/// branch (an untouched admin signature is no approval), push certificates and the
/// history audit.
#[test]
fn untouched_everywhere_a_signer_is_identified() {
    let policy = with_key(policy(), "alice", SK_ECDSA, true, None);
    let policy = with_key(policy, "dave", SK_ED25519, true, None);
    let alice_untouched = || signed(SK_ECDSA, Some(false));

    // A merge on main: the signature is bad; merge-denied is not piled on.
    let mut facts = update("refs/heads/main", FastForward);
    with_commits(
        &policy,
        &mut facts,
        vec![commit('1', "Merge", 2, alice_untouched())],
    );
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert_reasons(
        "merge on main",
        &v,
        &[(BadSignature, Some('1'), &["without touching"])],
    );

    // A merge under a rule with only `merge`: the merge signer is judged by the same chain.
    let mut facts = update("refs/heads/merge-only/x", FastForward);
    with_commits(
        &policy,
        &mut facts,
        vec![commit('1', "Merge", 2, alice_untouched())],
    );
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    let expected = format!("merge {}", untouched(SK_ECDSA, "alice"));
    assert_reasons("merge-only", &v, &[(MergeDenied, Some('1'), &[&expected])]);

    // A tag by a release manager.
    let mut facts = update("refs/tags/v1.0", Create);
    facts.tag = Some(TagTarget::Annotated {
        name: "v1.0".into(),
        signature: signed(SK_ED25519, Some(false)),
    });
    let v = evaluate(&policy, &ctx(Some("dave")), &facts);
    let expected = format!("tag {}", untouched(SK_ED25519, "dave"));
    assert_reasons("tag", &v, &[(BadSignature, Some('b'), &[&expected])]);

    // The policy branch: alice's untouched signature does not approve.
    let mut facts = update(POLICY_REF, FastForward);
    let commits = vec![
        commit('1', "Change policy", 1, alice_untouched()),
        commit('2', "Approve", 1, valid(ERIN)),
    ];
    facts.policy_change = Some(crate::engine::PolicyChange {
        candidate: crate::engine::PolicyCandidate::Valid,
        approving: commits.iter().map(|c| c.id.clone()).collect(),
        stale: Vec::new(),
    });
    facts.set_commits(crate::requirements::CommitScope::PolicyBranch, commits);
    let v = evaluate(&policy, &ctx(Some("alice")), &facts);
    assert_reasons(
        "policy branch",
        &v,
        &[
            (
                BadSignature,
                Some('1'),
                &["without touching the security key"],
            ),
            (ApprovalsMissing, None, &["1 of 2 required admin approvals"]),
        ],
    );

    // A push certificate signed without a touch is refused.
    let cert = PushCert::Present {
        signature: Some(alice_untouched()),
        problems: Vec::new(),
    };
    let v = evaluate_signed(
        &policy,
        &ctx(Some("alice")),
        &cert,
        &update("refs/heads/free", FastForward),
    );
    let expected = format!("push certificate {}", untouched(SK_ECDSA, "alice"));
    assert_reasons("certificate", &v, &[(PushCertInvalid, None, &[&expected])]);

    // The history audit: a bad signature, still attributed to the key's owner.
    assert_eq!(
        signed_by(&policy, &ctx(None), &alice_untouched()),
        SignedBy {
            status: SignatureStatus::Bad,
            user: Some("alice".into()),
            fingerprint: Some(fingerprint(SK_ECDSA)),
        }
    );
    assert_eq!(
        signed_by(&policy, &ctx(None), &signed(SK_ECDSA, Some(true))).status,
        SignatureStatus::Valid
    );
}
