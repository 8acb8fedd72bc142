//! Who pushed: the name the environment gives (spec §3.6) resolved through `names`, or the
//! signer of a valid push certificate. Pure.

use super::facts::PushContext;
use crate::policy::{Policy, User};

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
