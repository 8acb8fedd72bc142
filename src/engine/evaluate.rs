//! The decision function: resolves the pusher, finds the governing rule and runs the checks
//! in a stable order (ref-level permission, then per commit or tag). Pure: no I/O, no clock.

use super::facts::{PushCert, PushContext, UpdateFacts, UpdateKind};
use super::verdict::{Code, Reason, Verdict};
use super::{certificate, commits, policy_branch, tag};
use crate::policy::{Action, Policy, REPLACE_PREFIX, Rule, User, is_replace_ref};

/// Judges one ref update under `policy`: every reason to reject, or none. Push certificates
/// are not judged ([`PushCert::NotChecked`]): the hook uses [`evaluate_signed`].
pub fn evaluate(policy: &Policy, ctx: &PushContext, facts: &UpdateFacts) -> Verdict {
    evaluate_signed(policy, ctx, &PushCert::NotChecked, facts)
}

/// Judges one ref update of a push that carries (or lacks) a push certificate: a valid
/// certificate's signer is the pusher, whatever the environment says; a refused certificate
/// rejects every ref of the push, protected or not.
pub fn evaluate_signed(
    policy: &Policy,
    ctx: &PushContext,
    cert: &PushCert,
    facts: &UpdateFacts,
) -> Verdict {
    let certified = certificate::judge(policy, ctx.now, cert);
    let pusher = match certified.signer {
        Some(user) => Pusher::certified(user),
        None => Pusher::resolve(policy, ctx),
    };
    let mut verdict = Verdict {
        update: facts.update.clone(),
        kind: Some(facts.kind),
        user: pusher.user.map(|u| u.id.clone()),
        rule: None,
        reasons: Vec::new(),
    };
    verdict.reasons.extend(certified.reason);
    let refname = &facts.update.refname;
    verdict.reasons.extend(certificate::required(
        policy,
        cert,
        refname,
        &ctx.policy_ref,
    ));
    // The policy branch is guarded by `[policy]` alone, never by a `[[rule]]` (spec §2).
    if facts.update.refname == ctx.policy_ref {
        verdict
            .reasons
            .extend(policy_branch::check(policy, ctx, &pusher, facts));
        return verdict;
    }
    let Some(rule) = policy.rule_for(&facts.update.refname) else {
        if is_replace_ref(refname) {
            verdict.reasons.push(replace_denied(&pusher, facts));
        }
        // Otherwise an unprotected ref: anything goes.
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

/// A replace ref that no rule names explicitly: nobody may create, move or delete it
/// (spec §14).
fn replace_denied(pusher: &Pusher<'_>, facts: &UpdateFacts) -> Reason {
    Reason::on_ref(
        Code::PushDenied,
        format!(
            "{} may not {} {}: replace refs make git on the server show another tree under a \
             commit id, and no rule names {REPLACE_PREFIX} explicitly, so nobody may create, \
             move or delete them",
            pusher.describe(),
            match facts.kind {
                UpdateKind::Create => "create",
                UpdateKind::Delete => "delete",
                UpdateKind::FastForward | UpdateKind::NonFastForward => "move",
            },
            facts.update.refname
        ),
    )
}

/// Whether a ref is a tag: tags get the tag check instead of the commit checks (spec §3.5).
fn is_tag(refname: &str) -> bool {
    refname.starts_with("refs/tags/")
}

/// The pusher as named by the environment and as resolved through `names`, or as the
/// signer of a valid push certificate.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pusher<'a> {
    /// The name given, if any.
    pub(super) name: Option<&'a str>,
    /// The user that name maps to, if any.
    pub(super) user: Option<&'a User>,
    /// The user was established by a push certificate, not by a name.
    pub(super) certified: bool,
}

impl<'a> Pusher<'a> {
    /// Maps `ctx.pusher` to a user; an absent or unmapped name is an unknown pusher.
    pub(super) fn resolve(policy: &'a Policy, ctx: &'a PushContext) -> Pusher<'a> {
        let name = ctx.pusher.as_deref();
        Pusher {
            name,
            user: name.and_then(|n| policy.user_for_name(n)),
            certified: false,
        }
    }

    /// The signer of a valid push certificate.
    pub(super) fn certified(user: &'a User) -> Pusher<'a> {
        Pusher {
            name: Some(&user.id),
            user: Some(user),
            certified: true,
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
            (_, Some(user)) if self.certified => format!("\"{}\" (push certificate)", user.id),
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
