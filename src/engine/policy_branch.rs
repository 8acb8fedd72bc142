//! The check on a push to the policy branch (spec §2): guarded by `[policy]`, never by a
//! `[[rule]]`. It can never be deleted, created by a push or force-pushed; the pusher must
//! be an admin, every new commit signed by an admin, at least `approvals` distinct admins
//! must have signed a new commit whose tree holds the pushed roles.toml (their approval of
//! exactly that file), and the pushed roles.toml must validate. Pure.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::facts::{CommitFacts, PolicyCandidate, UpdateFacts, UpdateKind};
use super::grants::{self, Relied};
use super::pusher::Pusher;
use super::signer::{self, Judged};
use super::verdict::{Code, Reason};
use crate::policy::{Membership, Policy, Principals, User};
use crate::requirements::CommitScope;

/// The guard as the requirement states it: `[policy] admins` and `approvals`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Guard<'p> {
    /// `[policy] admins`.
    pub(super) admins: &'p Principals,
    /// `[policy] approvals`.
    pub(super) approvals: u32,
}

/// Every reason a push to the policy branch is rejected, ref-level first, then per commit,
/// then approvals, then the candidate roles.toml. Granted admins (spec §8) are admins here,
/// as pusher, signer and approver; the grants relied on go to `relied`.
pub(super) fn check<'p>(
    policy: &'p Policy,
    now: OffsetDateTime,
    guard: Guard<'_>,
    pusher: &Pusher<'_>,
    facts: &'p UpdateFacts,
    relied: &mut Relied<'p>,
) -> Vec<Reason> {
    let admins = guard.admins;
    let mut reasons = kind_reasons(facts);
    if facts.kind == UpdateKind::Delete {
        // Nothing else to judge for a delete: there is no new tree or commit.
        return reasons;
    }
    if !relied.member(policy.membership(admins, pusher.id(), now)) {
        reasons.push(Reason::on_ref(
            Code::PolicyDenied,
            format!(
                "{} is not a policy admin (admins: {}){}",
                pusher.describe(),
                admins.describe(),
                grants::lapsed(policy, admins, pusher.id(), now)
            ),
        ));
    }
    reasons.extend(judge_change(policy, now, guard, facts, relied).reasons);
    reasons
}

/// A change of the policy branch judged without its pusher: what history can tell (spec §13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Change {
    /// Every reason it would be rejected, per commit, then approvals, then the candidate.
    pub(super) reasons: Vec<Reason>,
    /// The admins whose signatures approve the pushed roles.toml, by user id, sorted.
    pub(super) approvers: Vec<String>,
}

/// The ref-level reasons of the kind of update: the policy branch is never deleted, created
/// by a push or force-pushed.
pub(super) fn kind_reasons(facts: &UpdateFacts) -> Vec<Reason> {
    let refname = &facts.update.refname;
    let detail = match facts.kind {
        UpdateKind::Delete => format!("{refname} is the policy branch and can never be deleted"),
        UpdateKind::NonFastForward => {
            format!("{refname} is the policy branch and can never be force-pushed")
        }
        // The shell answers no-policy before we get here; a create that slips through is
        // still refused: only `refguard init` bootstraps the policy branch.
        UpdateKind::Create => {
            format!("{refname} is the policy branch; only refguard init on the server creates it")
        }
        UpdateKind::FastForward => return Vec::new(),
    };
    vec![Reason::on_ref(Code::PolicyDenied, detail)]
}

/// Everything about a (non-delete) change of the policy branch except its kind and who
/// pushes it: every new commit signed by an admin, `approvals` distinct admins approving the
/// pushed roles.toml, and a valid candidate.
pub(super) fn judge_change<'p>(
    policy: &'p Policy,
    now: OffsetDateTime,
    guard: Guard<'_>,
    facts: &'p UpdateFacts,
    relied: &mut Relied<'p>,
) -> Change {
    let refname = &facts.update.refname;
    let admins = guard.admins;
    let mut reasons = Vec::new();
    let Some(change) = &facts.policy_change else {
        // Fail closed: the shell must always examine the pushed policy.
        reasons.push(Reason::on_ref(
            Code::InternalError,
            "the pushed roles.toml was not examined",
        ));
        return Change {
            reasons,
            approvers: Vec::new(),
        };
    };
    let Some(commits) = facts.commits_in(CommitScope::PolicyBranch) else {
        reasons.push(Reason::on_ref(
            Code::InternalError,
            "the new commits of the policy branch were not examined",
        ));
        return Change {
            reasons,
            approvers: Vec::new(),
        };
    };
    let mut approvers = BTreeSet::new();
    // Admins who signed only commits whose roles.toml differs from the pushed one.
    let mut elsewhere = BTreeSet::new();
    // Admins who signed the pushed roles.toml only on commits that do not descend from the
    // current tip (given before the policy last moved).
    let mut stale = BTreeSet::new();
    for commit in commits {
        match admin_signature(policy, now, admins, refname, commit) {
            Ok((user, membership)) => {
                relied.note(membership);
                // An approval is a signature on a commit carrying the pushed roles.toml that
                // descends from the current policy tip.
                if change.approving.contains(&commit.id) {
                    approvers.insert(user.id.as_str());
                } else if change.stale.contains(&commit.id) {
                    stale.insert(user.id.as_str());
                } else {
                    elsewhere.insert(user.id.as_str());
                }
            }
            Err(reason) => reasons.push(reason),
        }
    }

    let required = guard.approvals as usize;
    let approved = approvers.len();
    if approved < required {
        let mut who = if approvers.is_empty() {
            "no new commit is signed by a policy admin".to_string()
        } else {
            let names: Vec<&str> = approvers.iter().copied().collect();
            format!("signed by {}", names.join(", "))
        };
        let stale: Vec<&str> = stale.difference(&approvers).copied().collect();
        let others: Vec<&str> = elsewhere
            .difference(&approvers)
            .copied()
            .filter(|u| !stale.contains(u))
            .collect();
        if approvers.is_empty() && !(others.is_empty() && stale.is_empty()) {
            who = "no new commit carrying the pushed roles.toml on top of the current policy is \
                   signed by a policy admin"
                .to_string();
        }
        if !stale.is_empty() {
            who.push_str(&format!(
                "; {} signed it only on commits that do not descend from the current policy \
                 tip {}, which approve nothing (a signature approves a proposal until the \
                 policy moves on)",
                stale.join(", "),
                facts.update.old.short()
            ));
        }
        if !others.is_empty() {
            who.push_str(&format!(
                "; {} signed only commits with another roles.toml, which approve nothing",
                others.join(", ")
            ));
        }
        reasons.push(Reason::on_ref(
            Code::ApprovalsMissing,
            format!(
                "{} of {required} required admin approvals ({}): {who}",
                approved,
                admins.describe()
            ),
        ));
    }

    match &change.candidate {
        PolicyCandidate::Valid => {}
        PolicyCandidate::Invalid { errors } if errors.is_empty() => {
            reasons.push(Reason::on_ref(
                Code::PolicyInvalid,
                "the pushed roles.toml does not validate",
            ));
        }
        PolicyCandidate::Invalid { errors } => {
            reasons.extend(
                errors
                    .iter()
                    .map(|e| Reason::on_ref(Code::PolicyInvalid, e.clone())),
            );
        }
        PolicyCandidate::Missing => reasons.push(Reason::on_ref(
            Code::PolicyInvalid,
            "no roles.toml at the root of the tree",
        )),
    }
    Change {
        reasons,
        approvers: approvers.into_iter().map(str::to_owned).collect(),
    }
}

/// The admin who validly signed `commit` (every new policy commit needs one) and why they
/// are one, or the reason it fails: not signed by an admin, or a fault of its signature or
/// key.
pub(super) fn admin_signature<'p>(
    policy: &'p Policy,
    now: OffsetDateTime,
    admins: &Principals,
    refname: &str,
    commit: &'p CommitFacts,
) -> Result<(&'p User, Membership<'p>), Reason> {
    let signer = signer::identify(policy, now, &commit.signature);
    let (code, detail) = match signer::judge(policy, now, &signer, admins) {
        Judged::Member(user, membership) => return Ok((user, membership)),
        Judged::Outsider(owner) => (
            Code::PolicyDenied,
            format!(
                "{}, who is not a policy admin (admins: {}){}",
                signer.predicate(),
                admins.describe(),
                grants::lapsed(policy, admins, Some(&owner.id), now)
            ),
        ),
        Judged::Fault(code) => (code, signer::with_need(&signer, &need(refname, admins))),
    };
    Err(Reason::on_object(
        code,
        commit.id.clone(),
        commit.summary.clone(),
        detail,
    ))
}

/// What every commit on the policy branch needs, in words.
fn need(refname: &str, admins: &Principals) -> String {
    format!(
        "{refname} needs signatures by policy admins ({})",
        admins.describe()
    )
}
