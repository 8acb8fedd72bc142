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
    AdminsView, KeyView, PolicyView, RevokedView, RoleView, RuleView, UserView, policy_view,
};
pub use who_can::{Excluded, Governor, WhoCan, WhoCanAction, WhoUser, who_can};

use std::collections::BTreeSet;

use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::policy::{Policy, Principals, Rule, UserKey};

/// Whether a key may sign right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyStatus {
    /// Neither revoked nor expired.
    Active,
    /// Its `expires` is at or before the time asked about (the boundary instant is expired,
    /// as in the engine).
    Expired,
    /// Its fingerprint is under `[[revoked]]` (this wins over expired).
    Revoked,
}

impl KeyStatus {
    /// The word used in text output.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Expired => "expired",
            KeyStatus::Revoked => "revoked",
        }
    }
}

/// The status of a user's key at `now`, judged in the engine's order: revoked, then expired.
pub fn key_status(policy: &Policy, key: &UserKey, now: OffsetDateTime) -> KeyStatus {
    if policy.revocation(&key.fingerprint).is_some() {
        KeyStatus::Revoked
    } else if key.expires.is_some_and(|e| e <= now) {
        KeyStatus::Expired
    } else {
        KeyStatus::Active
    }
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
    /// With [`Effect::Users`]: the user ids, expanded through roles (`"*"`: every user).
    pub users: Vec<String>,
    /// One line for people: `maintainers → alice` or `absent: nobody`.
    pub summary: String,
}

impl ListView {
    /// A present list.
    fn present(policy: &Policy, p: &Principals) -> ListView {
        let users = expand(policy, p);
        let written = if p.written.is_empty() {
            "[]".to_string()
        } else {
            p.written.join(", ")
        };
        ListView {
            written: Some(p.written.clone()),
            default: None,
            effect: Effect::Users,
            summary: format!("{written} → {}", users_or_nobody(&users)),
            users,
        }
    }

    /// An absent list whose default lets the same people through as `like`.
    fn absent(default: &str, like: ListView) -> ListView {
        let meaning = match like.effect {
            Effect::Users => users_or_nobody(&like.users),
            Effect::Anyone => defaults::PUSH.to_string(),
            Effect::Unsigned => defaults::SIGNERS.to_string(),
            Effect::NoMerges => "no merges".to_string(),
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
    fn nobody() -> ListView {
        ListView {
            written: None,
            default: None,
            effect: Effect::Users,
            users: Vec::new(),
            summary: "nobody".to_string(),
        }
    }

    /// A list with a fixed effect and no users (anyone, unsigned, no merges).
    fn effect(effect: Effect, summary: &str) -> ListView {
        ListView {
            written: None,
            default: None,
            effect,
            users: Vec::new(),
            summary: summary.to_string(),
        }
    }
}

/// What each absent field of a rule means (spec §2).
pub(crate) mod defaults {
    /// Absent `push`.
    pub const PUSH: &str = "anyone, including unknown pushers";
    /// Absent `create`.
    pub const CREATE: &str = "same as push";
    /// Absent `delete` and `force_push`.
    pub const NOBODY: &str = "nobody";
    /// Absent `signers`.
    pub const SIGNERS: &str = "unsigned commits allowed";
    /// Absent `merge`.
    pub const MERGE: &str = "any allowed signer";
}

/// The six lists of a rule as they work, in the order of the roles file.
pub(crate) struct RuleLists {
    pub push: ListView,
    pub create: ListView,
    pub delete: ListView,
    pub force_push: ListView,
    pub signers: ListView,
    pub merge: ListView,
}

/// Spells out every list of `rule`, defaults included.
pub(crate) fn rule_lists(policy: &Policy, rule: &Rule) -> RuleLists {
    let present = |p: &Principals| ListView::present(policy, p);
    let push = match &rule.push {
        Some(p) => present(p),
        None => ListView::absent(
            defaults::PUSH,
            ListView::effect(Effect::Anyone, defaults::PUSH),
        ),
    };
    let create = match &rule.create {
        Some(p) => present(p),
        None => ListView::absent(defaults::CREATE, push.clone()),
    };
    let nobody = || ListView::absent(defaults::NOBODY, ListView::nobody());
    let delete = rule.delete.as_ref().map_or_else(nobody, present);
    let force_push = rule.force_push.as_ref().map_or_else(nobody, present);
    let signers = match &rule.signers {
        Some(p) => present(p),
        None => ListView::absent(
            defaults::SIGNERS,
            ListView::effect(Effect::Unsigned, defaults::SIGNERS),
        ),
    };
    let mut merge = match &rule.merge {
        Some(p) => present(p),
        None => ListView::absent(defaults::MERGE, signers.clone()),
    };
    if rule.linear {
        merge.effect = Effect::NoMerges;
        merge.users.clear();
        merge.summary = format!("no merges: linear = true (as written: {})", merge.summary);
    }
    RuleLists {
        push,
        create,
        delete,
        force_push,
        signers,
        merge,
    }
}

/// The user ids a list names, expanded; `"*"` is every user of the file.
pub(crate) fn expand(policy: &Policy, p: &Principals) -> Vec<String> {
    let mut users: BTreeSet<String> = p.users.clone();
    if p.any_user {
        users.extend(policy.users.keys().cloned());
    }
    users.into_iter().collect()
}

/// `alice, bob`, or `nobody` for no users.
pub(crate) fn users_or_nobody(users: &[String]) -> String {
    if users.is_empty() {
        "nobody".to_string()
    } else {
        users.join(", ")
    }
}

/// `2027-06-30T00:00:00Z`: an instant in UTC, whole seconds.
pub(crate) fn utc(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_else(|_| at.to_string())
}
