//! The decision function: resolves the pusher, finds the governing rule and runs the checks
//! in a stable order (ref-level permission, then per commit or tag). Pure: no I/O, no clock.

use super::facts::{PushContext, UpdateFacts, UpdateKind};
use super::verdict::{Code, Reason, Verdict};
use super::{commits, policy_branch, tag};
use crate::policy::{Action, Policy, Rule, User};

/// Judges one ref update under `policy`: every reason to reject, or none.
pub fn evaluate(policy: &Policy, ctx: &PushContext, facts: &UpdateFacts) -> Verdict {
    let pusher = Pusher::resolve(policy, ctx);
    let mut verdict = Verdict {
        update: facts.update.clone(),
        kind: Some(facts.kind),
        user: pusher.user.map(|u| u.id.clone()),
        rule: None,
        reasons: Vec::new(),
    };
    // The policy branch is guarded by `[policy]` alone, never by a `[[rule]]` (spec §2).
    if facts.update.refname == ctx.policy_ref {
        verdict.reasons = policy_branch::check(policy, ctx, &pusher, facts);
        return verdict;
    }
    let Some(rule) = policy.rule_for(&facts.update.refname) else {
        // Unprotected ref: anything goes.
        return verdict;
    };
    verdict.rule = Some(rule.defined_at());
    verdict.reasons.extend(permission(rule, &pusher, facts));
    if facts.kind != UpdateKind::Delete {
        if is_tag(&facts.update.refname) {
            verdict.reasons.extend(tag::check(policy, ctx, rule, facts));
        } else {
            verdict
                .reasons
                .extend(commits::check(policy, ctx, rule, facts));
        }
    }
    verdict
}

/// Whether a ref is a tag: tags get the tag check instead of the commit checks (spec §3.5).
fn is_tag(refname: &str) -> bool {
    refname.starts_with("refs/tags/")
}

/// The pusher as named by the environment and as resolved through `names`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pusher<'a> {
    /// The name given, if any.
    pub(super) name: Option<&'a str>,
    /// The user that name maps to, if any.
    pub(super) user: Option<&'a User>,
}

impl<'a> Pusher<'a> {
    /// Maps `ctx.pusher` to a user; an absent or unmapped name is an unknown pusher.
    pub(super) fn resolve(policy: &'a Policy, ctx: &'a PushContext) -> Pusher<'a> {
        let name = ctx.pusher.as_deref();
        Pusher {
            name,
            user: name.and_then(|n| policy.user_for_name(n)),
        }
    }

    /// The resolved user id, for list membership.
    pub(super) fn id(&self) -> Option<&'a str> {
        self.user.map(|u| u.id.as_str())
    }

    /// The pusher for messages: `"bob"`, `"bob@example.com" (user bob)`,
    /// `unknown pusher "mallory"` or `unknown pusher`.
    pub(super) fn describe(&self) -> String {
        match (self.name, self.user) {
            (Some(name), Some(user)) if name == user.id => format!("\"{name}\""),
            (Some(name), Some(user)) => format!("\"{name}\" (user {})", user.id),
            (Some(name), None) => format!("unknown pusher \"{name}\""),
            (None, _) => "unknown pusher".to_string(),
        }
    }
}

/// The action a kind of update needs permission for (spec §3.1).
fn action_for(kind: UpdateKind) -> Action {
    match kind {
        UpdateKind::Create => Action::Create,
        UpdateKind::Delete => Action::Delete,
        UpdateKind::FastForward => Action::Push,
        UpdateKind::NonFastForward => Action::ForcePush,
    }
}

/// The ref-level check: is the pusher in the list for this kind of update?
fn permission(rule: &Rule, pusher: &Pusher<'_>, facts: &UpdateFacts) -> Option<Reason> {
    let action = action_for(facts.kind);
    if rule.allows(action, pusher.id()) {
        return None;
    }
    let (code, verb) = match action {
        Action::Create => (Code::CreateDenied, "create"),
        Action::Delete => (Code::DeleteDenied, "delete"),
        Action::Push => (Code::PushDenied, "push to"),
        Action::ForcePush => (Code::ForcePushDenied, "force-push"),
    };
    let list = rule
        .list_for(action)
        .map_or_else(|| "nobody".to_string(), |p| p.describe());
    // `create` falls back to `push` when absent: say which list was applied.
    let field = if action == Action::Create && rule.create.is_none() {
        "create, as push".to_string()
    } else {
        action.field().to_string()
    };
    Some(Reason::on_ref(
        code,
        format!(
            "{} may not {verb} {} ({field}: {list}; rule {})",
            pusher.describe(),
            facts.update.refname,
            rule.defined_at()
        ),
    ))
}
