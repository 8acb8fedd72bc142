//! Checks on the new commits of a branch update (spec §3.3–§3.4): signatures by `signers`,
//! merges by `merge`, `linear`. Pure.

use super::facts::{CommitFacts, PushContext, UpdateFacts};
use super::signer::{self, Judged, Signer};
use super::verdict::{Code, Reason};
use crate::policy::{Policy, Rule};

/// Every reason the new commits of a (non-delete) branch update fail `rule`, commit by
/// commit in the order given, each commit's signature reason before its merge reason.
pub(super) fn check(
    policy: &Policy,
    ctx: &PushContext,
    rule: &Rule,
    facts: &UpdateFacts,
) -> Vec<Reason> {
    let refname = &facts.update.refname;
    // Built once per update, not per commit: a push can bring thousands of commits.
    let signers = rule.signers.as_ref().map(|signers| {
        let need = format!("{refname} needs a signature by {}", signers.describe());
        (signers, need)
    });
    let mut reasons = Vec::new();
    for commit in &facts.commits {
        let signer = signer::identify(policy, ctx.now, &commit.signature);
        let mut signature_failed = false;
        if let Some((signers, need)) = &signers {
            let code = match signer::judge(&signer, signers) {
                Judged::Member(_) => None,
                Judged::Outsider => Some(Code::SignerNotAllowed),
                Judged::Fault(code) => Some(code),
            };
            if let Some(code) = code {
                signature_failed = true;
                reasons.push(about(commit, code, signer::with_need(&signer, need)));
            }
        }
        reasons.extend(merge(rule, refname, commit, &signer, signature_failed));
    }
    reasons
}

/// The merge check for one commit (nothing for a non-merge). `linear` wins over `merge` (no merge can pass
/// it, so a merge-denied would be noise); a commit already rejected for its signature is
/// not reported again as merge-denied.
fn merge(
    rule: &Rule,
    refname: &str,
    commit: &CommitFacts,
    signer: &Signer<'_>,
    signature_failed: bool,
) -> Option<Reason> {
    if commit.parent_count < 2 {
        return None;
    }
    if rule.linear {
        return Some(about(
            commit,
            Code::Nonlinear,
            format!(
                "merge commit with {} parents; {refname} takes no merges (linear = true)",
                commit.parent_count
            ),
        ));
    }
    let merge = rule.merge.as_ref()?;
    if signature_failed {
        return None;
    }
    match signer::judge(signer, merge) {
        Judged::Member(_) => None,
        Judged::Outsider | Judged::Fault(_) => Some(about(
            commit,
            Code::MergeDenied,
            format!(
                "merge {}; {refname} needs merges signed by {}",
                signer.predicate(),
                merge.describe()
            ),
        )),
    }
}

/// A reason about one commit.
fn about(commit: &CommitFacts, code: Code, detail: String) -> Reason {
    Reason {
        code,
        commit: Some(commit.id.clone()),
        subject: Some(commit.summary.clone()),
        detail,
    }
}
