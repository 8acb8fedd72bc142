//! The check on the new commits of a branch update (spec §3.3–§3.4): signatures by
//! `signers`, merges by `merge`, no merges under `linear`. Pure.

use time::OffsetDateTime;

use super::facts::CommitFacts;
use super::grants::{self, Relied};
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
/// given, each commit's signature reason before its merge reason; the grants that made
/// signers members go to `relied`.
pub(super) fn check<'p>(
    policy: &'p Policy,
    now: OffsetDateTime,
    rules: CommitRules<'_>,
    (refname, commits): (&str, &'p [CommitFacts]),
    relied: &mut Relied<'p>,
) -> Vec<Reason> {
    // Built once per update, not per commit: a push can bring thousands of commits.
    let need = rules
        .signers
        .map(|signers| format!("{refname} needs a signature by {}", signers.describe()));
    commits
        .iter()
        .flat_map(|commit| {
            let need = need.as_deref();
            check_commit(policy, now, rules, (refname, need, commit), relied)
        })
        .collect()
}

/// The reasons one commit fails `rules`: its signature reason, then its merge reason.
/// `need` is what `signers` asks for, in words. The grants that made its signer a member go
/// to `relied`.
pub(super) fn check_commit<'p>(
    policy: &'p Policy,
    now: OffsetDateTime,
    rules: CommitRules<'_>,
    (refname, need, commit): (&str, Option<&str>, &'p CommitFacts),
    relied: &mut Relied<'p>,
) -> Vec<Reason> {
    let signer = signer::identify(policy, now, &commit.signature);
    let mut reasons = Vec::new();
    let mut signature_failed = false;
    if let (Some(signers), Some(need)) = (rules.signers, need) {
        let failed = match signer::judge(policy, now, &signer, signers) {
            Judged::Member(_, membership) => {
                relied.note(membership);
                None
            }
            Judged::Outsider(owner) => Some((
                Code::SignerNotAllowed,
                grants::lapsed(policy, signers, Some(&owner.id), now),
            )),
            Judged::Fault(code) => Some((code, String::new())),
        };
        if let Some((code, note)) = failed {
            signature_failed = true;
            let detail = format!("{}{note}", signer::with_need(&signer, need));
            reasons.push(about(commit, code, detail));
        }
    }
    let merge = Merge {
        signer: &signer,
        signature_failed,
    };
    reasons.extend(merge.check(policy, now, rules, (refname, commit), relied));
    reasons
}

/// One commit's signer, for its merge check.
struct Merge<'s, 'p> {
    /// Who signed it.
    signer: &'s Signer<'p>,
    /// Whether its signature reason was already reported.
    signature_failed: bool,
}

impl<'p> Merge<'_, 'p> {
    /// The merge check for one commit (nothing for a non-merge). `linear` wins over `merge`
    /// (no merge can pass it, so a merge-denied would be noise); a commit already rejected
    /// for its signature is not reported again as merge-denied.
    fn check(
        &self,
        policy: &'p Policy,
        now: OffsetDateTime,
        rules: CommitRules<'_>,
        (refname, commit): (&str, &CommitFacts),
        relied: &mut Relied<'p>,
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
        if self.signature_failed {
            return None;
        }
        let note = match signer::judge(policy, now, self.signer, merge) {
            Judged::Member(_, membership) => {
                relied.note(membership);
                return None;
            }
            Judged::Outsider(owner) => grants::lapsed(policy, merge, Some(&owner.id), now),
            Judged::Fault(_) => String::new(),
        };
        Some(about(
            commit,
            Code::MergeDenied,
            format!(
                "merge {}; {refname} needs merges signed by {}{note}",
                self.signer.predicate(),
                merge.describe()
            ),
        ))
    }
}

/// A reason about one commit.
fn about(commit: &CommitFacts, code: Code, detail: String) -> Reason {
    Reason::on_object(code, commit.id.clone(), commit.summary.clone(), detail)
}
