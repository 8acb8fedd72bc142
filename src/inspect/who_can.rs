//! `who-can`: for one ref and one action, the governing rule and the users who may.

use serde::Serialize;
use time::OffsetDateTime;

use super::{Effect, KeyStatus, ListView, key_status, rule_lists, users_or_nobody, utc};
use crate::policy::Policy;

/// What `who-can` is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhoCanAction {
    /// Fast-forward the ref.
    Push,
    /// Create the ref.
    Create,
    /// Delete the ref.
    Delete,
    /// Make a non-fast-forward update.
    ForcePush,
    /// Sign the new commits (or, for a tag, the tag object) pushed to the ref.
    Sign,
    /// Sign the new merge commits pushed to the ref.
    Merge,
}

impl WhoCanAction {
    /// The word on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            WhoCanAction::Push => "push",
            WhoCanAction::Create => "create",
            WhoCanAction::Delete => "delete",
            WhoCanAction::ForcePush => "force-push",
            WhoCanAction::Sign => "sign",
            WhoCanAction::Merge => "merge",
        }
    }

    /// Whether the answer is about signing keys rather than pushers.
    fn signs(self) -> bool {
        matches!(self, WhoCanAction::Sign | WhoCanAction::Merge)
    }
}

/// What governs a ref.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Governor {
    /// The ref is the policy branch: `[policy]` governs it, never a `[[rule]]`.
    PolicyBranch {
        /// Distinct admins whose signatures a policy push needs.
        approvals: u32,
    },
    /// The first matching `[[rule]]`.
    Rule {
        /// 1-based position in the file.
        number: usize,
        /// `roles.toml:LINE`.
        location: String,
        /// The rule's `refs` patterns.
        refs: Vec<String>,
    },
    /// No rule matches: the ref is unprotected.
    NoRule,
    /// A replace ref that no rule names explicitly: nobody may create, move or delete it.
    ReplaceGuard,
}

/// One user who may, with the keys that count for signing actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhoUser {
    /// The user id.
    pub id: String,
    /// For `sign` and `merge`: the fingerprints of the user's active keys.
    pub keys: Vec<String>,
}

/// A key of a listed user that cannot sign now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Excluded {
    /// The user id.
    pub user: String,
    /// The key's fingerprint.
    pub fingerprint: String,
    /// Why it does not count (expired or revoked).
    pub status: KeyStatus,
}

/// The answer to "who can ACTION REF".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhoCan {
    /// The ref asked about.
    #[serde(rename = "ref")]
    pub refname: String,
    /// The action asked about.
    pub action: WhoCanAction,
    /// The instant key status was judged at (UTC).
    pub now: String,
    /// What governs the ref.
    pub governed_by: Governor,
    /// The list that decides, as written and as it works.
    pub list: ListView,
    /// What the answer lets through.
    pub effect: Effect,
    /// With [`Effect::Users`]: who may (for signing actions, only users with an active key).
    pub users: Vec<WhoUser>,
    /// For signing actions: keys of listed users that do not count (expired, revoked).
    pub excluded: Vec<Excluded>,
    /// Extra conditions worth knowing (approvals, intersections, tags).
    pub notes: Vec<String>,
    /// The answer in one line.
    pub answer: String,
}

/// Who may perform `action` on `refname`, with key status judged at `now`.
pub fn who_can(
    policy: &Policy,
    policy_ref: &str,
    refname: &str,
    action: WhoCanAction,
    now: OffsetDateTime,
) -> WhoCan {
    let mut notes = Vec::new();
    let (governed_by, list) = if refname == policy_ref {
        (
            Governor::PolicyBranch {
                approvals: policy.approvals,
            },
            policy_branch_list(policy, action, &mut notes),
        )
    } else if let Some(rule) = policy.rule_for(refname) {
        let lists = rule_lists(policy, rule);
        let list = match action {
            WhoCanAction::Push => lists.push,
            WhoCanAction::Create => lists.create,
            WhoCanAction::Delete => lists.delete,
            WhoCanAction::ForcePush => lists.force_push,
            WhoCanAction::Sign => lists.signers,
            WhoCanAction::Merge => {
                let mut merge = lists.merge;
                // A merge commit passes the `signers` check first, so with both lists set
                // only users in both can sign one (engine: signature reason, then merge).
                if let (Some(_), Effect::Users, Effect::Users) =
                    (&rule.merge, merge.effect, lists.signers.effect)
                {
                    let before = merge.users.len();
                    merge.users.retain(|u| lists.signers.users.contains(u));
                    if merge.users.len() < before {
                        notes.push(format!(
                            "a merge commit must also satisfy signers ({}), so only users in both lists count",
                            lists.signers.summary
                        ));
                    }
                }
                merge
            }
        };
        if refname.starts_with("refs/tags/") {
            match action {
                WhoCanAction::Sign => notes.push(
                    "for a tag, the pushed annotated tag object itself must carry the signature"
                        .to_string(),
                ),
                WhoCanAction::Merge => notes.push(
                    "merge checks do not apply to tags; only the tag's own signature is checked"
                        .to_string(),
                ),
                _ => {}
            }
        }
        (
            Governor::Rule {
                number: rule.index + 1,
                location: rule.defined_at(),
                refs: rule.refs.clone(),
            },
            list,
        )
    } else if crate::policy::is_replace_ref(refname) {
        notes.push(format!(
            "replace refs are never unprotected: add a rule that names {} explicitly to allow them",
            crate::policy::REPLACE_PREFIX
        ));
        (Governor::ReplaceGuard, ListView::nobody())
    } else {
        let list = if action.signs() {
            ListView::effect(Effect::Unsigned, "no signature required")
        } else {
            ListView::effect(Effect::Anyone, super::defaults::PUSH)
        };
        (Governor::NoRule, list)
    };

    let mut users = Vec::new();
    let mut excluded = Vec::new();
    if list.effect == Effect::Users {
        for id in &list.users {
            if !action.signs() {
                users.push(WhoUser {
                    id: id.clone(),
                    keys: Vec::new(),
                });
                continue;
            }
            let Some(user) = policy.users.get(id) else {
                continue;
            };
            let mut active = Vec::new();
            for key in &user.keys {
                match key_status(policy, key, now) {
                    KeyStatus::Active => active.push(key.fingerprint.clone()),
                    status => excluded.push(Excluded {
                        user: id.clone(),
                        fingerprint: key.fingerprint.clone(),
                        status,
                    }),
                }
            }
            if active.is_empty() {
                notes.push(format!("{id} is listed but has no active key"));
            } else {
                users.push(WhoUser {
                    id: id.clone(),
                    keys: active,
                });
            }
        }
    }

    let answer = match list.effect {
        Effect::Anyone => super::defaults::PUSH.to_string(),
        Effect::Unsigned => "anyone: no signature is required".to_string(),
        Effect::NoMerges => "no merges: linear".to_string(),
        Effect::Users => users_or_nobody(&users.iter().map(|u| u.id.clone()).collect::<Vec<_>>()),
    };
    WhoCan {
        refname: refname.to_string(),
        action,
        now: utc(now),
        governed_by,
        effect: list.effect,
        list,
        users,
        excluded,
        notes,
        answer,
    }
}

/// The lists of the policy branch: admins push and sign; nobody creates (only `refguard
/// init` on the server), deletes or force-pushes.
fn policy_branch_list(policy: &Policy, action: WhoCanAction, notes: &mut Vec<String>) -> ListView {
    let admins = ListView::present(policy, &policy.admins);
    let approvals = format!(
        "every new commit must be signed by an admin, and at least {} distinct admin(s) must sign",
        policy.approvals
    );
    match action {
        WhoCanAction::Push | WhoCanAction::Sign | WhoCanAction::Merge => {
            notes.push(approvals);
            admins
        }
        WhoCanAction::Create => {
            notes.push("only `refguard init` on the server creates the policy branch".to_string());
            ListView::nobody()
        }
        WhoCanAction::Delete | WhoCanAction::ForcePush => {
            notes.push("the policy branch can never be deleted or force-pushed".to_string());
            ListView::nobody()
        }
    }
}

impl WhoCan {
    /// The answer as text lines for a terminal.
    pub fn to_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let governed = match &self.governed_by {
            Governor::PolicyBranch { .. } => "the policy branch, governed by [policy]".to_string(),
            Governor::Rule {
                number,
                location,
                refs,
            } => format!("rule {number} ({location}): {}", refs.join(", ")),
            Governor::NoRule => "no rule: unprotected, anyone".to_string(),
            Governor::ReplaceGuard => {
                "a replace ref that no rule names: nobody may create, move or delete it".to_string()
            }
        };
        out.push(format!("{}: {governed}", self.refname));
        out.push(format!("{}: {}", self.action.as_str(), self.list.summary));
        if self.effect == Effect::Users && self.users.is_empty() {
            out.push("  nobody".to_string());
        }
        let width = self.users.iter().map(|u| u.id.len()).max().unwrap_or(0);
        for u in &self.users {
            if u.keys.is_empty() {
                out.push(format!("  {}", u.id));
            }
            for (i, k) in u.keys.iter().enumerate() {
                let name = if i == 0 { u.id.as_str() } else { "" };
                out.push(format!("  {name:<width$}  {k}"));
            }
        }
        if !self.excluded.is_empty() {
            out.push(format!("keys that cannot sign as of {}:", self.now));
            for e in &self.excluded {
                out.push(format!(
                    "  {:<width$}  {} {}",
                    e.user,
                    e.fingerprint,
                    e.status.as_str()
                ));
            }
        }
        for n in &self.notes {
            out.push(format!("note: {n}"));
        }
        // Names, comments and patterns come from the roles file (spec §14).
        out.into_iter().map(crate::text::escape_line).collect()
    }
}
