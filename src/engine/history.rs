//! Judging objects already in history under the current policy, for `refguard audit history`:
//! one commit or tag at a time, as though it were new on its ref now. Built on [`evaluate`],
//! so the history audit and the hook can never disagree about a signature. Pure.

use super::evaluate::evaluate;
use super::facts::{
    CommitFacts, ObjectId, PolicyCandidate, PushContext, RefUpdate, SignatureCheck, TagTarget,
    UpdateFacts, UpdateKind,
};
use super::signer::{self, Signer};
use super::verdict::Reason;
use crate::policy::Policy;

/// What a signature amounts to under the policy, before any rule is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignatureStatus {
    /// No signature.
    Unsigned,
    /// An OpenPGP or X.509 signature, which refguard does not verify.
    Unsupported,
    /// An SSH signature that does not verify, or a FIDO signature made without touching the
    /// security key where the key requires a touch.
    Bad,
    /// Verifies with a key under `[[revoked]]`.
    Revoked,
    /// Verifies with a key no user holds.
    Unknown,
    /// Verifies with a user's key that has expired (at the time judged).
    Expired,
    /// Verifies with a current key of a user.
    Valid,
}

impl SignatureStatus {
    /// A kebab-case word for tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureStatus::Unsigned => "unsigned",
            SignatureStatus::Unsupported => "unsupported",
            SignatureStatus::Bad => "bad",
            SignatureStatus::Revoked => "revoked",
            SignatureStatus::Unknown => "unknown-key",
            SignatureStatus::Expired => "expired",
            SignatureStatus::Valid => "valid",
        }
    }
}

/// Who signed an object, as far as the policy can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBy {
    /// What the signature amounts to.
    pub status: SignatureStatus,
    /// The user holding the key, if any (also for a revoked or expired key, and for a FIDO
    /// signature made without the touch its key requires).
    pub user: Option<String>,
    /// The key's `SHA256:...` fingerprint, for any signature that verifies.
    pub fingerprint: Option<String>,
}

/// One object of history judged under the current policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// Who signed it.
    pub signed_by: SignedBy,
    /// Whether it is validly signed by a user its ref accepts as a signer: a member of the
    /// rule's `signers` (of `[policy] admins` on the policy branch), or, where the rule sets
    /// no `signers`, any user of the policy.
    pub allowed_signer: bool,
    /// Every reason the object would be rejected if it were pushed to its ref now (only the
    /// reasons about the object: who pushes is not part of history).
    pub reasons: Vec<Reason>,
}

/// Judges one commit as a new commit of `refname`, under `policy` at `ctx.now`.
///
/// This is [`evaluate`] of a one-commit fast-forward, keeping only the reasons about the
/// commit: signer, merge and linearity checks of the ref's rule, or of `[policy]` when
/// `refname` is `ctx.policy_ref`. A ref no rule governs yields no reasons.
pub fn judge_commit(
    policy: &Policy,
    ctx: &PushContext,
    refname: &str,
    commit: &CommitFacts,
) -> Judgement {
    let facts = UpdateFacts {
        update: RefUpdate {
            refname: refname.to_owned(),
            old: commit.id.clone(),
            new: commit.id.clone(),
        },
        kind: UpdateKind::FastForward,
        commits: vec![commit.clone()],
        tag: None,
        // Not under judgement here; `Valid` keeps the policy-branch check from reporting it.
        candidate: Some(PolicyCandidate::Valid),
        approving: vec![commit.id.clone()],
        stale: Vec::new(),
    };
    judged(policy, ctx, &facts, &commit.id, &commit.signature)
}

/// Judges the tag object (or lightweight tag) `id` at the tag ref `refname` as though it
/// were created now: the `signers` check of the ref's rule.
pub fn judge_tag(
    policy: &Policy,
    ctx: &PushContext,
    refname: &str,
    id: &ObjectId,
    target: &TagTarget,
) -> Judgement {
    let facts = UpdateFacts {
        update: RefUpdate {
            refname: refname.to_owned(),
            old: ObjectId::zero(),
            new: id.clone(),
        },
        kind: UpdateKind::Create,
        commits: Vec::new(),
        tag: Some(target.clone()),
        candidate: None,
        approving: Vec::new(),
        stale: Vec::new(),
    };
    let signature = match target {
        TagTarget::Lightweight => &SignatureCheck::Unsigned,
        TagTarget::Annotated { signature, .. } => signature,
    };
    judged(policy, ctx, &facts, id, signature)
}

/// Who signed, under the policy's keys at `ctx.now` (for objects judged by no rule, such as
/// baseline commits).
pub fn signed_by(policy: &Policy, ctx: &PushContext, signature: &SignatureCheck) -> SignedBy {
    describe(&signer::identify(policy, ctx.now, signature), signature)
}

fn judged(
    policy: &Policy,
    ctx: &PushContext,
    facts: &UpdateFacts,
    id: &ObjectId,
    signature: &SignatureCheck,
) -> Judgement {
    let verdict = evaluate(policy, ctx, facts);
    let reasons = verdict
        .reasons
        .into_iter()
        .filter(|r| r.commit.as_ref() == Some(id))
        .collect();
    let signer = signer::identify(policy, ctx.now, signature);
    let allowed_signer = match signer {
        Signer::Known { owner } => {
            let refname = &facts.update.refname;
            let allowed = if *refname == ctx.policy_ref {
                Some(&policy.admins)
            } else {
                policy.rule_for(refname).and_then(|r| r.signers.as_ref())
            };
            allowed.is_none_or(|list| list.contains(Some(&owner.id)))
        }
        _ => false,
    };
    Judgement {
        signed_by: describe(&signer, signature),
        allowed_signer,
        reasons,
    }
}

fn describe(signer: &Signer<'_>, signature: &SignatureCheck) -> SignedBy {
    let (status, user) = match *signer {
        Signer::Unsigned => (SignatureStatus::Unsigned, None),
        Signer::Unsupported { .. } => (SignatureStatus::Unsupported, None),
        Signer::Bad { .. } => (SignatureStatus::Bad, None),
        Signer::Untouched { owner, .. } => (SignatureStatus::Bad, Some(owner)),
        Signer::Revoked { owner, .. } => (SignatureStatus::Revoked, owner),
        Signer::Unknown { .. } => (SignatureStatus::Unknown, None),
        Signer::Expired { owner, .. } => (SignatureStatus::Expired, Some(owner)),
        Signer::Known { owner } => (SignatureStatus::Valid, Some(owner)),
    };
    let fingerprint = match signature {
        SignatureCheck::Valid(key) => Some(key.fingerprint.clone()),
        _ => None,
    };
    SignedBy {
        status,
        user: user.map(|u| u.id.clone()),
        fingerprint,
    }
}
