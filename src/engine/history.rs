//! Judging objects already in history under the current policy, for `refguard audit history`:
//! one commit or tag at a time, as though it were new on its ref now. Built on the same
//! requirements and the same checks as the hook, so the history audit and the hook can
//! never disagree about a signature. Pure.

use super::commits::{self, CommitRules};
use super::facts::{
    CommitFacts, ObjectId, PushContext, RefUpdate, SignatureCheck, TagTarget, Touch, UpdateFacts,
    UpdateKind,
};
use super::grants::Relied;
use super::signer::{self, Signer};
use super::verdict::Reason;
use super::{paths, policy_branch, tag};
use crate::policy::{Policy, Principals};
use crate::requirements::{self, Check};

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

/// Judges one commit as a new commit of `refname`, under `policy` at `ctx.now`: the checks
/// the requirements of a fast-forward of `refname` make on each new commit — the rule's
/// signer, merge and linearity checks, the `signers` of every `[[path]]` entry covering
/// `refname` whose paths the commit touches (`touched`: the paths it touches, as
/// [`crate::requirements::path_prefixes`] bound them), or `[policy]`'s admin signature on
/// the policy branch. Who pushes is not part of history, nor are approvals (they are judged
/// at push time and kept in the audit log). A ref no rule governs yields no reasons.
pub fn judge_commit(
    policy: &Policy,
    ctx: &PushContext,
    refname: &str,
    commit: &CommitFacts,
    touched: &[String],
) -> Judgement {
    let reqs = requirements::for_update(policy, &ctx.policy_ref, refname, UpdateKind::FastForward);
    let mut reasons = Vec::new();
    // Who may sign here: `None` while no requirement names a list (any user of the policy).
    let mut signers: Option<&Principals> = None;
    for req in &reqs.items {
        let found = match &req.check {
            Check::Commits {
                signers: list,
                merge,
                linear,
                ..
            } => {
                signers = *list;
                let rules = CommitRules {
                    signers: *list,
                    merge: *merge,
                    linear: *linear,
                };
                let need = list.map(|l| format!("{refname} needs a signature by {}", l.describe()));
                // History has no audit record: the grants relied on are not kept.
                let mut relied = Relied::default();
                let commit = (refname, need.as_deref(), commit);
                commits::check_commit(policy, ctx.now, rules, commit, &mut relied)
            }
            Check::PolicyBranch { admins, .. } => {
                signers = Some(admins);
                policy_branch::admin_signature(policy, ctx.now, admins, refname, commit)
                    .err()
                    .into_iter()
                    .collect()
            }
            Check::Path { entry, .. } => {
                let paths = entry.matching(touched);
                if paths.is_empty() {
                    Vec::new()
                } else {
                    let touch = Touch {
                        commit: commit.id.clone(),
                        paths,
                    };
                    let mut relied = Relied::default();
                    paths::check_commit(policy, ctx.now, entry, commit, &touch, &mut relied)
                        .into_iter()
                        .collect()
                }
            }
            // Who pushed, and how, is not part of history; tags are judged by judge_tag.
            Check::SignedPush
            | Check::Permission { .. }
            | Check::ReplaceRef
            | Check::Approvals { .. }
            | Check::ApprovalRef
            | Check::Tag { .. } => Vec::new(),
        };
        reasons.extend(
            found
                .into_iter()
                .map(|r| r.from_requirement(req.origin, req.level)),
        );
    }
    judged(policy, ctx, signers, &commit.signature, reasons)
}

/// A step of the policy branch's history (`prev → next`) judged as the hook judged the push
/// that made it, except who pushed (spec §13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyStep {
    /// Every reason the step would have been rejected: per commit (not signed by an admin),
    /// then approvals, then the candidate roles.toml; ref-level ones for anything but a
    /// fast-forward.
    pub reasons: Vec<Reason>,
    /// The admins whose signatures approve the step's roles.toml, by user id, sorted.
    pub approvers: Vec<String>,
}

/// Judges the update `facts` of the policy branch `ctx.policy_ref` under `policy` (the policy
/// before it) at `ctx.now`, with the requirements the hook uses (the `[policy]` guard), but
/// not who pushed: history does not record pushers. `facts` must carry the policy branch's
/// new commits and the policy change, as the session gathers them.
pub fn judge_policy_step(policy: &Policy, ctx: &PushContext, facts: &UpdateFacts) -> PolicyStep {
    let reqs = requirements::for_update(policy, &ctx.policy_ref, &ctx.policy_ref, facts.kind);
    let mut step = PolicyStep {
        reasons: Vec::new(),
        approvers: Vec::new(),
    };
    for req in &reqs.items {
        // A push certificate is not part of history either.
        let Check::PolicyBranch { admins, approvals } = &req.check else {
            continue;
        };
        let mut found = policy_branch::kind_reasons(facts);
        if facts.kind != UpdateKind::Delete {
            let guard = policy_branch::Guard {
                admins,
                approvals: *approvals,
            };
            let change =
                policy_branch::judge_change(policy, ctx.now, guard, facts, &mut Relied::default());
            found.extend(change.reasons);
            step.approvers = change.approvers;
        }
        step.reasons.extend(
            found
                .into_iter()
                .map(|r| r.from_requirement(req.origin, req.level)),
        );
    }
    step
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
    let reqs = requirements::for_update(policy, &ctx.policy_ref, refname, UpdateKind::Create);
    let mut facts = UpdateFacts::new(
        RefUpdate {
            refname: refname.to_owned(),
            old: ObjectId::zero(),
            new: id.clone(),
        },
        UpdateKind::Create,
    );
    facts.tag = Some(target.clone());
    let mut reasons = Vec::new();
    let mut signers = None;
    for req in &reqs.items {
        if let Check::Tag { signers: list } = &req.check {
            signers = Some(*list);
            reasons.extend(
                tag::check(policy, ctx.now, list, &facts, &mut Relied::default())
                    .map(|r| r.from_requirement(req.origin, req.level)),
            );
        }
    }
    let signature = match target {
        TagTarget::Lightweight => &SignatureCheck::Unsigned,
        TagTarget::Annotated { signature, .. } => signature,
    };
    judged(policy, ctx, signers, signature, reasons)
}

/// Who signed, under the policy's keys at `ctx.now` (for objects judged by no rule, such as
/// baseline commits).
pub fn signed_by(policy: &Policy, ctx: &PushContext, signature: &SignatureCheck) -> SignedBy {
    describe(&signer::identify(policy, ctx.now, signature), signature)
}

/// The judgement of an object whose requirements found `reasons`; `signers` is the list of
/// who may sign it (`None`: any user of the policy).
fn judged(
    policy: &Policy,
    ctx: &PushContext,
    signers: Option<&Principals>,
    signature: &SignatureCheck,
    reasons: Vec<Reason>,
) -> Judgement {
    let signer = signer::identify(policy, ctx.now, signature);
    let allowed_signer = match signer {
        Signer::Known { owner } => {
            signers.is_none_or(|list| policy.member(list, Some(&owner.id), ctx.now))
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
        Signer::Untouched { owner, .. } | Signer::Unusable { owner, .. } => {
            (SignatureStatus::Bad, Some(owner))
        }
        Signer::Revoked { owner, .. } => (SignatureStatus::Revoked, owner),
        Signer::Unknown { .. } | Signer::NoCertificate { .. } => (SignatureStatus::Unknown, None),
        Signer::Expired { owner, .. } => (SignatureStatus::Expired, Some(owner)),
        Signer::Known { owner } => (SignatureStatus::Valid, Some(owner)),
    };
    let fingerprint = match signature {
        SignatureCheck::Valid(key) => Some(key.fingerprint.clone()),
        SignatureCheck::NoCertificate { issuer } => Some(issuer.clone()),
        _ => None,
    };
    SignedBy {
        status,
        user: user.map(|u| u.id.clone()),
        fingerprint,
    }
}
