//! Approvals (spec §7): does an update carry `count` approvals by distinct members of `by`?
//! And the guard of `refs/approvals/**`: only the creation of a well-formed, verifiable
//! approval. Pure: the approval tags were read and their signatures verified by the shell.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::facts::{ApprovalFact, PushContext, UpdateFacts};
use super::grants::{self, Relied};
use super::pusher::Pusher;
use super::signer::{self, Signer};
use super::verdict::{Code, Reason};
use crate::approval::{self, Statement};
use crate::policy::{ApprovalRule, KeyStatus, Membership, Policy, User};
use crate::update::{ObjectId, UpdateKind};

/// An approval that counted for an update: who approved, with which tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The approving user.
    pub user: String,
    /// The approval tag object.
    pub tag: ObjectId,
}

/// What the approvals of an update amount to.
#[derive(Debug, Default)]
pub(super) struct Counted {
    /// The approvals that counted, one per user.
    pub(super) approvals: Vec<Approval>,
    /// Why the update is refused, if it is: the summary, then one line per ignored approval.
    pub(super) reasons: Vec<Reason>,
}

/// Counts the approvals of `facts.update` under `rule`, for `pusher` at `ctx.now`; the
/// grants that made a counted approver a member of `by` go to `relied`.
pub(super) fn check<'p>(
    policy: &'p Policy,
    ctx: &PushContext,
    rule: &ApprovalRule,
    pusher: &Pusher<'_>,
    facts: &'p UpdateFacts,
    relied: &mut Relied<'p>,
) -> Counted {
    let update = &facts.update;
    let Some(found) = &facts.approvals else {
        // Fail closed: the shell must look approvals up when asked to.
        return Counted {
            approvals: Vec::new(),
            reasons: vec![Reason::on_ref(
                Code::InternalError,
                format!("the approvals of {} were not examined", update.refname),
            )],
        };
    };
    // One approval per user: the first that counts, in tag id order (stable whatever order
    // the refs were listed in).
    let mut sorted: Vec<&ApprovalFact> = found.iter().collect();
    sorted.sort_by(|a, b| a.tag.cmp(&b.tag));
    sorted.dedup_by(|a, b| a.tag == b.tag);
    let mut counted: BTreeMap<&str, &ObjectId> = BTreeMap::new();
    let mut ignored = Vec::new();
    for fact in sorted {
        match judge(policy, ctx, rule, pusher, facts, fact) {
            Ok((user, membership)) => {
                if !counted.contains_key(user.id.as_str()) {
                    relied.note(membership);
                    counted.insert(user.id.as_str(), &fact.tag);
                }
            }
            Err(why) => ignored.push((fact.tag.clone(), why)),
        }
    }
    let approvals: Vec<Approval> = counted
        .iter()
        .map(|(user, tag)| Approval {
            user: user.to_string(),
            tag: (*tag).clone(),
        })
        .collect();
    let required = rule.count as usize;
    if approvals.len() >= required {
        return Counted {
            approvals,
            reasons: Vec::new(),
        };
    }
    let able: Vec<String> = policy
        .members_at(&rule.by, ctx.now)
        .into_iter()
        .filter(|id| {
            policy.users.get(id).is_some_and(|u| {
                u.keys
                    .iter()
                    .any(|k| policy.key_status(k, ctx.now) == KeyStatus::Active)
            })
        })
        .collect();
    let who: Vec<String> = able
        .iter()
        .filter(|id| rule.allow_self || Some(id.as_str()) != pusher.id())
        .cloned()
        .collect();
    let counted_text = if approvals.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = approvals.iter().map(|a| a.user.as_str()).collect();
        format!("; counted: {}", names.join(", "))
    };
    let mut reasons = vec![Reason::on_ref(
        Code::ApprovalsMissing,
        format!(
            "{} of {required} approval{} by {} for {} {}..{}{counted_text}; who may approve: {}",
            approvals.len(),
            if required == 1 { "" } else { "s" },
            rule.by.describe(),
            update.refname,
            update.old.short(),
            update.new.short(),
            if who.is_empty() && !able.is_empty() {
                "nobody but the pusher, whose own approval does not count (allow_self = false)"
                    .to_string()
            } else if who.is_empty() {
                "nobody (no member has an active key)".to_string()
            } else {
                who.join(", ")
            }
        ),
    )];
    reasons.extend(ignored.into_iter().map(|(tag, why)| {
        Reason::on_ref(
            Code::ApprovalsMissing,
            format!("ignored approval {}: {why}", tag.short()),
        )
    }));
    Counted {
        approvals: Vec::new(),
        reasons,
    }
}

/// The user whose approval `fact` is and why they are an approver, if it counts for this
/// update; else why not.
fn judge<'p>(
    policy: &'p Policy,
    ctx: &PushContext,
    rule: &ApprovalRule,
    pusher: &Pusher<'_>,
    facts: &UpdateFacts,
    fact: &'p ApprovalFact,
) -> Result<(&'p User, Membership<'p>), String> {
    let update = &facts.update;
    let statement = usable_tag(fact)?;
    let user = signed_by(policy, ctx.now, fact)?;
    let who = format!("{}'s approval", user.id);
    if fact.target.as_ref() != Some(&update.new) {
        return Err(format!("{who} is for another commit"));
    }
    if !approval::names_repository(&statement.repository, &ctx.repository) {
        return Err(format!(
            "{who} is for repository {}, this is {}",
            statement.repository, ctx.repository
        ));
    }
    if statement.refname != update.refname {
        return Err(format!("{who} is for {}", statement.refname));
    }
    if statement.from != update.old {
        return Err(if statement.from.is_zero() {
            format!(
                "{who} approved creating {}, which is at {}",
                update.refname,
                update.old.short()
            )
        } else if update.old.is_zero() {
            format!(
                "{who} approved moving from {}, but the ref does not exist",
                statement.from.short()
            )
        } else {
            format!(
                "{who} approved moving from {}, the ref is at {}",
                statement.from.short(),
                update.old.short()
            )
        });
    }
    if let Some(expires) = statement.expires.filter(|e| *e <= ctx.now) {
        return Err(format!("{who} expired at {}", crate::policy::utc(expires)));
    }
    let Some(membership) = policy.membership(&rule.by, Some(&user.id), ctx.now) else {
        return Err(format!(
            "{} is not among the approvers ({}){}",
            user.id,
            rule.by.describe(),
            grants::lapsed(policy, &rule.by, Some(&user.id), ctx.now)
        ));
    };
    if !rule.allow_self && pusher.id() == Some(user.id.as_str()) {
        return Err(format!(
            "{who} is the pusher's own, which does not count (allow_self = false)"
        ));
    }
    Ok((user, membership))
}

/// The statement of an approval tag that has the shape of one.
fn usable_tag(fact: &ApprovalFact) -> Result<&Statement, String> {
    if !fact.annotated {
        return Err(format!("{} is not an annotated tag", fact.refname));
    }
    fact.statement
        .as_ref()
        .map_err(|e| format!("not an approval statement: {e}"))
}

/// The user whose current key signed the approval; else what is wrong with the signature.
fn signed_by<'p>(
    policy: &'p Policy,
    now: OffsetDateTime,
    fact: &'p ApprovalFact,
) -> Result<&'p User, String> {
    match signer::identify(policy, now, &fact.signature) {
        Signer::Known { owner } => Ok(owner),
        Signer::Revoked {
            owner: Some(owner), ..
        } => Err(format!("{}'s key is revoked", owner.id)),
        Signer::Expired { owner, .. } => Err(format!("{}'s key has expired", owner.id)),
        other => Err(format!("the approval tag {}", other.predicate())),
    }
}

/// The reason a push under `refs/approvals/` is refused, if it is: anything but the
/// creation of a well-formed approval whose signature verifies with a key a known user
/// holds and that is not revoked (any user: whether it counts is decided when it is used).
pub(super) fn check_ref(policy: &Policy, ctx: &PushContext, facts: &UpdateFacts) -> Option<Reason> {
    let update = &facts.update;
    let bad = |detail: String| Some(Reason::on_ref(Code::BadApproval, detail));
    if facts.kind != UpdateKind::Create {
        return bad(format!(
            "{} is an approval: approvals are evidence and can never be moved or deleted",
            update.refname
        ));
    }
    let Some((commit, tag)) = approval::parse_ref_name(&update.refname) else {
        return bad(format!(
            "{} is not an approval ref: approvals are stored as \
             refs/approvals/<commit-id>/<tag-id>, full lowercase ids",
            update.refname
        ));
    };
    if tag != update.new {
        return bad(format!(
            "{} names tag {} but points at {}",
            update.refname,
            tag.short(),
            update.new.short()
        ));
    }
    let Some(fact) = &facts.approval else {
        return Some(Reason::on_ref(
            Code::InternalError,
            format!("the approval {} was not examined", update.refname),
        ));
    };
    let statement = match usable_tag(fact) {
        Ok(statement) => statement,
        Err(why) => return bad(why),
    };
    if fact.target.as_ref() != Some(&commit) || fact.target_kind != "commit" {
        return bad(format!(
            "the approval tag points at {} {}, but its ref names commit {}",
            fact.target_kind,
            fact.target.as_ref().map_or("(nothing)", ObjectId::short),
            commit.short()
        ));
    }
    if !approval::names_repository(&statement.repository, &ctx.repository) {
        return bad(format!(
            "the approval is for repository {}, this is {}",
            statement.repository, ctx.repository
        ));
    }
    match signer::identify(policy, ctx.now, &fact.signature) {
        // An expired key or a user outside the approvers is judged when the approval is
        // used; the tag itself is sound evidence.
        Signer::Known { .. } | Signer::Expired { .. } => None,
        other => bad(format!("the approval tag {}", other.predicate())),
    }
}
