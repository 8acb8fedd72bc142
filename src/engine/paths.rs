//! `[[path]]` entries (spec §9): each new commit (of the entry's own scope) that touches the
//! entry's paths must be signed by one of its `signers`, and an update bringing such a
//! commit needs the entry's `approvals`. Pure: which paths each commit touches was computed
//! by the shell.

use time::OffsetDateTime;

use super::approvals;
use super::facts::{CommitFacts, PushContext, Touch, UpdateFacts};
use super::grants::Relied;
use super::pusher::Pusher;
use super::signer::{self, Judged};
use super::verdict::{Code, Reason};
use crate::policy::{PathEntry, Policy};
use crate::requirements::{CommitScope, PathId, list_for};

/// What a path entry found: reasons, and the approvals that counted for it.
#[derive(Debug, Default)]
pub(super) struct Found {
    pub(super) reasons: Vec<Reason>,
    pub(super) approvals: Vec<approvals::Approval>,
}

/// Judges `entry` against the new commits of `scope` and the paths they touch.
pub(super) fn check<'p>(
    policy: &'p Policy,
    ctx: &PushContext,
    entry: &'p PathEntry,
    scope: CommitScope,
    pusher: &Pusher<'_>,
    facts: &'p UpdateFacts,
    relied: &mut Relied<'p>,
) -> Found {
    let refname = &facts.update.refname;
    let id = PathId::of(entry);
    let (Some(commits), Some(touches)) = (facts.commits_in(scope), facts.touched_in(id)) else {
        // Fail closed: the shell must gather what the requirement asks for.
        return Found {
            reasons: vec![Reason::on_ref(
                Code::InternalError,
                format!(
                    "the paths touched by the new commits of {refname} were not examined \
                     (path {})",
                    entry.location
                ),
            )],
            approvals: Vec::new(),
        };
    };
    let mut found = Found::default();
    if entry.signers.is_some() {
        for touch in touches {
            let Some(commit) = commits.iter().find(|c| c.id == touch.commit) else {
                continue;
            };
            found
                .reasons
                .extend(check_commit(policy, ctx.now, entry, commit, touch, relied));
        }
    }
    let needs_approval = entry
        .approvals
        .as_ref()
        .filter(|a| a.applies_to(list_for(facts.kind)));
    if let (Some(rule), Some(first)) = (needs_approval, touches.first()) {
        let counted = approvals::check(policy, ctx, rule, pusher, facts, relied);
        let mut reasons = counted.reasons;
        if let Some(summary) = reasons.first_mut() {
            summary.detail.push_str(&format!(
                "; needed because commit {} touches {} (path {})",
                first.commit.short(),
                first.paths.first().map_or("", String::as_str),
                entry.location
            ));
        }
        found.reasons.extend(reasons);
        found.approvals = counted.approvals;
    }
    found
}

/// The reason `commit`, which touches `touch.paths`, fails `entry.signers`, if it does.
/// Also what the history audit judges for each commit.
pub(super) fn check_commit<'p>(
    policy: &'p Policy,
    now: OffsetDateTime,
    entry: &'p PathEntry,
    commit: &'p CommitFacts,
    touch: &Touch,
    relied: &mut Relied<'p>,
) -> Option<Reason> {
    let signers = entry.signers.as_ref()?;
    let signer = signer::identify(policy, now, &commit.signature);
    match signer::judge(policy, now, &signer, signers) {
        Judged::Member(_, membership) => {
            relied.note(membership);
            None
        }
        Judged::Outsider(_) | Judged::Fault(_) => {
            let path = touch.paths.first().map_or("", String::as_str);
            let pattern = entry.pattern_for(path).unwrap_or("");
            Some(Reason::on_object(
                Code::PathDenied,
                commit.id.clone(),
                commit.summary.clone(),
                format!(
                    "touches {path} ({pattern}), which needs a signature by {} (path {}); {}",
                    signers.describe(),
                    entry.location,
                    signer.predicate()
                ),
            ))
        }
    }
}
