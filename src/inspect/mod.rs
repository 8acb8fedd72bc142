//! Read-only views of a validated policy for people: `policy show`, `who-can` and
//! `keys allowed-signers`. Pure: takes a [`Policy`] and the time to judge key expiry at,
//! returns serde-serializable data and text lines; never touches git, the filesystem, the
//! environment or the clock, and never prints.
//!
//! Every answer states the spec's defaults for absent lists explicitly (push absent: anyone,
//! including unknown pushers; create absent: same as push; delete and force_push absent:
//! nobody; signers absent: unsigned commits allowed; merge absent: any allowed signer), so
//! that an admin never has to remember them to read the output.

mod allowed_signers;
mod show;
mod who_can;

#[cfg(test)]
mod tests;

pub use allowed_signers::allowed_signers;
pub use show::{
    AdminsView, ApprovalsView, GrantView, KeyView, PathView, PolicyView, RevokedView, RoleView,
    RuleView, UserView, policy_view,
};
pub use who_can::{Excluded, Governor, PathEntryMatch, WhoCan, WhoCanAction, WhoUser, who_can};

use serde::Serialize;
use time::OffsetDateTime;

use crate::policy::{
    Absent, Effective, Grant, LISTS, ListKind, Membership, Policy, Principals, Rule, UserKey,
};
pub use crate::policy::{GrantStatus, KeyStatus};

/// The status of a user's key at `now` ([`Policy::key_status`], the engine's order:
/// revoked, then expired).
pub fn key_status(policy: &Policy, key: &UserKey, now: OffsetDateTime) -> KeyStatus {
    policy.key_status(key, now)
}

/// What a list lets through, once its absence and `"*"` are spelled out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// Any pusher, including one whose name maps to no user (an absent push/create list).
    Anyone,
    /// Exactly the users listed alongside (none: nobody).
    Users,
    /// No signature is required (an absent `signers`, and `merge` with it).
    Unsigned,
    /// No merge commit is accepted at all (`linear = true`).
    NoMerges,
    /// Nothing of the kind is needed (no approvals on the rule).
    NotNeeded,
}

/// One list of a rule (or of `[policy]`), as written and as it works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListView {
    /// The names as written; `None` when the field is absent.
    pub written: Option<Vec<String>>,
    /// When absent, what the spec says absence means.
    pub default: Option<String>,
    /// What the list lets through.
    pub effect: Effect,
    /// With [`Effect::Users`]: the user ids who are members at the time judged.
    pub users: Vec<String>,
    /// Those of `users` who are members only through a time-boxed grant active at the time
    /// judged (spec §8), sorted by user.
    pub granted: Vec<GrantMark>,
    /// One line for people: `maintainers → alice, bob (grant until ...)` or `absent: nobody`.
    pub summary: String,
}

/// A member through a grant, as the views mark them (spec §8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantMark {
    /// The user id.
    pub user: String,
    /// The role granted (the list names it, or a role that includes it).
    pub role: String,
    /// When the grant ends (UTC).
    pub until: String,
    /// `roles.toml:LINE` of the `[[grant]]`.
    pub location: String,
}

impl GrantMark {
    /// The mark of a grant.
    pub(crate) fn of(grant: &Grant) -> GrantMark {
        GrantMark {
            user: grant.user.clone(),
            role: grant.role.clone(),
            until: utc(grant.until),
            location: grant.location.to_string(),
        }
    }

    /// `(grant until 2026-12-01T18:00:00Z, roles.toml:40)`, as `who-can` marks a member.
    pub fn describe(&self) -> String {
        format!("(grant until {}, {})", self.until, self.location)
    }
}

impl ListView {
    /// A present list, its members judged at `now` ([`Policy::memberships_at`]: listed, or
    /// through a grant active at `now`).
    pub(crate) fn present(policy: &Policy, p: &Principals, now: OffsetDateTime) -> ListView {
        let memberships = policy.memberships_at(p, now);
        let granted: Vec<GrantMark> = memberships
            .values()
            .filter_map(|m| m.grant().map(GrantMark::of))
            .collect();
        let users: Vec<String> = memberships.into_keys().collect();
        let written = if p.written.is_empty() {
            "[]".to_string()
        } else {
            p.written.join(", ")
        };
        ListView {
            written: Some(p.written.clone()),
            default: None,
            effect: Effect::Users,
            summary: format!("{written} → {}", members_or_nobody(&users, &granted)),
            users,
            granted,
        }
    }

    /// The grant that makes `user` a member, if it is one.
    pub fn grant_of(&self, user: &str) -> Option<&GrantMark> {
        self.granted.iter().find(|g| g.user == user)
    }

    /// An absent list whose default lets the same people through as `like`.
    fn absent(default: &str, like: ListView) -> ListView {
        let meaning = match like.effect {
            Effect::Users => members_or_nobody(&like.users, &like.granted),
            Effect::Anyone => Absent::Anyone.describe().to_string(),
            Effect::Unsigned => Absent::Unsigned.describe().to_string(),
            Effect::NoMerges => "no merges".to_string(),
            Effect::NotNeeded => "not needed".to_string(),
        };
        let summary = if meaning == default {
            format!("absent: {default}")
        } else {
            format!("absent: {default} → {meaning}")
        };
        ListView {
            written: None,
            default: Some(default.to_string()),
            summary,
            ..like
        }
    }

    /// A list that lets nobody through (the base of absent delete/force_push).
    pub(crate) fn nobody() -> ListView {
        ListView {
            written: None,
            default: None,
            effect: Effect::Users,
            users: Vec::new(),
            granted: Vec::new(),
            summary: "nobody".to_string(),
        }
    }

    /// A list with a fixed effect and no users (anyone, unsigned, no merges).
    pub(crate) fn effect(effect: Effect, summary: &str) -> ListView {
        ListView {
            written: None,
            default: None,
            effect,
            users: Vec::new(),
            granted: Vec::new(),
            summary: summary.to_string(),
        }
    }

    /// The list that decides `kind` of `rule`, as it works at `now`: [`Rule::effective`]
    /// spelled out with the table's words for absence ([`crate::policy::LISTS`]).
    pub(crate) fn of_rule(
        policy: &Policy,
        rule: &Rule,
        kind: ListKind,
        now: OffsetDateTime,
    ) -> ListView {
        let absent = kind.spec().absent;
        let view = match rule.effective(kind) {
            Effective::Listed { list, via } if via == kind => {
                return ListView::present(policy, list, now);
            }
            Effective::Listed { list, .. } => ListView::present(policy, list, now),
            Effective::Absent(Absent::Anyone) => {
                ListView::effect(Effect::Anyone, Absent::Anyone.describe())
            }
            Effective::Absent(Absent::Unsigned) => {
                ListView::effect(Effect::Unsigned, Absent::Unsigned.describe())
            }
            Effective::Absent(Absent::AnySigner) => {
                ListView::of_rule(policy, rule, ListKind::Signers, now)
            }
            Effective::Absent(Absent::Nobody | Absent::SameAs(_)) => ListView::nobody(),
        };
        ListView::absent(absent.describe(), view)
    }
}

/// Every list of a rule as it works at `now`, in the order of the table (and of the roles
/// file): push, create, delete, force_push, signers, merge. Under `linear = true` the merge
/// list lets no merge through.
pub(crate) fn rule_lists(policy: &Policy, rule: &Rule, now: OffsetDateTime) -> Vec<ListView> {
    LISTS
        .iter()
        .map(|spec| {
            let mut view = ListView::of_rule(policy, rule, spec.kind, now);
            if spec.kind == ListKind::Merge && rule.linear {
                view.effect = Effect::NoMerges;
                view.users.clear();
                view.granted.clear();
                view.summary = format!("no merges: linear = true (as written: {})", view.summary);
            }
            view
        })
        .collect()
}

/// `alice, bob`, or `nobody` for no users.
pub(crate) fn users_or_nobody(users: &[String]) -> String {
    if users.is_empty() {
        "nobody".to_string()
    } else {
        users.join(", ")
    }
}

/// [`users_or_nobody`] with members through a grant marked: `alice, bob (grant until
/// 2026-12-01T18:00:00Z)`.
pub(crate) fn members_or_nobody(users: &[String], granted: &[GrantMark]) -> String {
    let marked: Vec<String> = users
        .iter()
        .map(|u| match granted.iter().find(|g| g.user == *u) {
            Some(g) => format!("{u} (grant until {})", g.until),
            None => u.clone(),
        })
        .collect();
    users_or_nobody(&marked)
}

/// A membership's grant mark, if it rests on a grant.
pub(crate) fn mark(membership: Membership<'_>) -> Option<GrantMark> {
    membership.grant().map(GrantMark::of)
}

/// `2027-06-30T00:00:00Z`: an instant in UTC, whole seconds.
pub(crate) fn utc(at: OffsetDateTime) -> String {
    crate::policy::utc(at)
}
