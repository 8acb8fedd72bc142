//! The check on the new commits of a branch update (spec §3.3–§3.4): signatures by
//! `signers`, merges by `merge`, no merges under `linear`. Pure.

use time::OffsetDateTime;

use super::facts::CommitFacts;
use super::signer::{self, Judged, Signer};
use super::verdict::{Code, Reason};
use crate::policy::{Policy, Principals};

/// What a rule requires of each new commit (from [`crate::requirements::Check::Commits`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct CommitRules<'p> {
    /// `signers` (absent: unsigned commits allowed).
    pub(super) signers: Option<&'p Principals>,
    /// `merge` (absent: any allowed signer).
    pub(super) merge: Option<&'p Principals>,
    /// `linear = true`.
    pub(super) linear: bool,
}

/// Every reason the new commits of `refname` fail `rules`, commit by commit in the order
/// given, each commit's signature reason before its merge reason.
pub(super) fn check(
    policy: &Policy,
    now: OffsetDateTime,
    rules: CommitRules<'_>,
    refname: &str,
    commits: &[CommitFacts],
) -> Vec<Reason> {
    // Built once per update, not per commit: a push can bring thousands of commits.
    let need = rules
        .signers
        .map(|signers| format!("{refname} needs a signature by {}", signers.describe()));
    commits
        .iter()
        .flat_map(|commit| check_commit(policy, now, rules, refname, need.as_deref(), commit))
        .collect()
}

/// The reasons one commit fails `rules`: its signature reason, then its merge reason.
/// `need` is what `signers` asks for, in words.
pub(super) fn check_commit(
    policy: &Policy,
    now: OffsetDateTime,
    rules: CommitRules<'_>,
    refname: &str,
    need: Option<&str>,
    commit: &CommitFacts,
) -> Vec<Reason> {
    let signer = signer::identify(policy, now, &commit.signature);
    let mut reasons = Vec::new();
    let mut signature_failed = false;
    if let (Some(signers), Some(need)) = (rules.signers, need) {
        let code = match signer::judge(policy, now, &signer, signers) {
            Judged::Member(_) => None,
            Judged::Outsider => Some(Code::SignerNotAllowed),
            Judged::Fault(code) => Some(code),
        };
        if let Some(code) = code {
            signature_failed = true;
            reasons.push(about(commit, code, signer::with_need(&signer, need)));
        }
    }
    reasons.extend(merge(
        policy,
        now,
        rules,
        refname,
        commit,
        &signer,
        signature_failed,
    ));
    reasons
}

/// The merge check for one commit (nothing for a non-merge). `linear` wins over `merge` (no
/// merge can pass it, so a merge-denied would be noise); a commit already rejected for its
/// signature is not reported again as merge-denied.
fn merge(
    policy: &Policy,
    now: OffsetDateTime,
    rules: CommitRules<'_>,
    refname: &str,
    commit: &CommitFacts,
    signer: &Signer<'_>,
    signature_failed: bool,
) -> Option<Reason> {
    if commit.parent_count < 2 {
        return None;
    }
    if rules.linear {
        return Some(about(
            commit,
            Code::Nonlinear,
            format!(
                "merge commit with {} parents; {refname} takes no merges (linear = true)",
                commit.parent_count
            ),
        ));
    }
    let merge = rules.merge?;
    if signature_failed {
        return None;
    }
    match signer::judge(policy, now, signer, merge) {
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
    Reason::on_object(code, commit.id.clone(), commit.summary.clone(), detail)
}
