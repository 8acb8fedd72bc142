//! `who-can`: for one ref and one action, the governing rule and the users who may.

use serde::Serialize;
use time::OffsetDateTime;

use super::{Effect, GrantMark, KeyStatus, ListView, mark, rule_lists, users_or_nobody, utc};
use crate::policy::{
    Absent, ApprovalRule, ListKind, PathEntry, Policy, Principals, REPLACE_PREFIX, Rule,
};
use crate::requirements::{self, Check, Origin, Requirements, RuleRef, list_for};
use crate::update::{UpdateKind, is_tag};

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
    /// Approve an update of the ref (spec §7).
    Approve,
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
            WhoCanAction::Approve => "approve",
        }
    }

    /// Whether the answer is about signing keys rather than pushers.
    fn signs(self) -> bool {
        matches!(
            self,
            WhoCanAction::Sign | WhoCanAction::Merge | WhoCanAction::Approve
        )
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
    /// The time-boxed grant that makes the user one who may, if that is why (spec §8).
    pub grant: Option<GrantMark>,
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

/// A `[[path]]` entry that applies to the path asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathEntryMatch {
    /// `roles.toml:LINE` of the entry.
    pub location: String,
    /// The first of its `paths` that the path matches.
    pub pattern: String,
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
    /// The path asked about (`--path`), if any.
    pub path: Option<String>,
    /// The `[[path]]` entries that apply to that path on the ref (spec §9).
    pub path_entries: Vec<PathEntryMatch>,
    /// Extra conditions worth knowing (approvals, intersections, tags).
    pub notes: Vec<String>,
    /// The answer in one line.
    pub answer: String,
}

impl WhoCanAction {
    /// The kind of update whose requirements answer the question: a permission action asks
    /// for its own kind; signing and merging are about the new commits of a fast-forward.
    fn update_kind(self) -> UpdateKind {
        match self {
            WhoCanAction::Create => UpdateKind::Create,
            WhoCanAction::Delete => UpdateKind::Delete,
            WhoCanAction::ForcePush => UpdateKind::NonFastForward,
            WhoCanAction::Push
            | WhoCanAction::Sign
            | WhoCanAction::Merge
            | WhoCanAction::Approve => UpdateKind::FastForward,
        }
    }
}

/// Who may perform `action` on `refname`, with membership and key status judged at `now`:
/// read off the same requirements the hook judges an update of that kind by. With `path`,
/// for a change that touches that path: every `[[path]]` entry of the ref that matches it
/// narrows who may sign, merge or approve (spec §9).
pub fn who_can(
    policy: &Policy,
    policy_ref: &str,
    refname: &str,
    action: WhoCanAction,
    path: Option<&str>,
    now: OffsetDateTime,
) -> WhoCan {
    let reqs = requirements::for_update(policy, policy_ref, refname, action.update_kind());
    let governing = match reqs.rule {
        Some(_) => policy.rules_for(refname),
        None => Vec::new(),
    };
    let question = Question {
        refname,
        action,
        path,
        now,
    };
    let [repo_rule, org_rule] = match governing.as_slice() {
        [repo_rule, org_rule] => [*repo_rule, *org_rule],
        _ => return answer(policy, &reqs, governing.first().copied(), question),
    };
    // Under an organisation policy (spec §10) a ref can have a governing rule in each file,
    // and an update must pass both: the answer for each rule, intersected.
    let only = |rule: &Rule| {
        let other = |origin: Origin| {
            matches!(origin, Origin::Rule(r) if r.id != RuleRef::of(rule).id
                && governing.iter().any(|g| RuleRef::of(g).id == r.id))
        };
        Requirements {
            kind: reqs.kind,
            rule: Some(RuleRef::of(rule)),
            items: reqs
                .items
                .iter()
                .filter(|req| !other(req.origin))
                .cloned()
                .collect(),
        }
    };
    let mut first = answer(policy, &only(repo_rule), Some(repo_rule), question);
    let second = answer(policy, &only(org_rule), Some(org_rule), question);
    first.notes.push(format!(
        "the organisation's rule {} governs {refname} too, and an update must pass both: the \
         answer is what both let through",
        org_rule.location
    ));
    for note in second.notes {
        if !first.notes.contains(&note) {
            first.notes.push(note);
        }
    }
    match (first.list.effect, second.list.effect) {
        (Effect::Users, Effect::Users) => first
            .users
            .retain(|u| second.users.iter().any(|o| o.id == u.id)),
        (_, Effect::Users) => first.users = second.users,
        _ => {}
    }
    first.list = both(first.list, second.list);
    first.effect = first.list.effect;
    if first.effect != Effect::Users {
        first.users.clear();
    }
    for gone in second.excluded {
        if !first.excluded.contains(&gone) {
            first.excluded.push(gone);
        }
    }
    first.answer = one_line_answer(first.list.effect, &first.users);
    first
}

/// What both lists let through (an update must pass two rules): the users in both when
/// both name users; the stricter effect otherwise.
fn both(a: ListView, b: ListView) -> ListView {
    let lets_all = |l: &ListView| {
        matches!(
            l.effect,
            Effect::Anyone | Effect::Unsigned | Effect::NotNeeded
        )
    };
    match (a.effect, b.effect) {
        (Effect::NoMerges, _) => a,
        (_, Effect::NoMerges) => b,
        _ if lets_all(&b) => a,
        _ if lets_all(&a) => b,
        _ => {
            let mut list = a;
            list.users.retain(|u| b.users.contains(u));
            list.granted.retain(|g| list.users.contains(&g.user));
            for mark in b.granted {
                if list.users.contains(&mark.user) && list.grant_of(&mark.user).is_none() {
                    list.granted.push(mark);
                }
            }
            list.summary = format!("{} and {}", list.summary, b.summary);
            list
        }
    }
}

/// The one-line answer for an effect and the users who may.
fn one_line_answer(effect: Effect, users: &[WhoUser]) -> String {
    match effect {
        Effect::Anyone => Absent::Anyone.describe().to_string(),
        Effect::Unsigned => "anyone: no signature is required".to_string(),
        Effect::NoMerges => "no merges: linear".to_string(),
        Effect::NotNeeded => "no approvals needed".to_string(),
        Effect::Users => users_or_nobody(&users.iter().map(|u| u.id.clone()).collect::<Vec<_>>()),
    }
}

/// What `who-can` is asked.
#[derive(Clone, Copy)]
struct Question<'a> {
    refname: &'a str,
    action: WhoCanAction,
    path: Option<&'a str>,
    now: OffsetDateTime,
}

/// The answer under one governing rule (`None`: no rule governs the ref), read off `reqs`.
fn answer(
    policy: &Policy,
    reqs: &Requirements<'_>,
    rule: Option<&Rule>,
    question: Question<'_>,
) -> WhoCan {
    let Question {
        refname,
        action,
        path,
        now,
    } = question;
    let mut notes = Vec::new();
    let mut governed_by = Governor::NoRule;
    let mut list = None;
    for req in &reqs.items {
        match (&req.check, action) {
            (Check::PolicyBranch { admins, approvals }, _) => {
                governed_by = Governor::PolicyBranch {
                    approvals: *approvals,
                };
                list = Some(policy_branch_list(
                    policy, admins, *approvals, action, now, &mut notes,
                ));
            }
            (Check::ReplaceRef, _) => {
                governed_by = Governor::ReplaceGuard;
                notes.push(format!(
                    "replace refs are never unprotected: add a rule that names {REPLACE_PREFIX} \
                     explicitly to allow them"
                ));
                list = Some(ListView::nobody());
            }
            (Check::Permission { .. }, a) if !a.signs() => {
                let Some(rule) = rule else { continue };
                list = Some(ListView::of_rule(
                    policy,
                    rule,
                    list_for(action.update_kind()),
                    now,
                ));
            }
            (
                Check::Commits {
                    signers, linear, ..
                },
                WhoCanAction::Merge,
            ) => {
                let Some(rule) = rule else { continue };
                let mut merge = rule_lists(policy, rule, now).swap_remove(ListKind::Merge as usize);
                // A merge commit passes the `signers` check first, so with both lists set
                // only users in both can sign one (engine: signature reason, then merge).
                if let (Some(_), Some(signers), false) =
                    (rule.list(ListKind::Merge), signers, linear)
                {
                    let before = merge.users.len();
                    let allowed = policy.memberships_at(signers, now);
                    merge.users.retain(|u| allowed.contains_key(u));
                    merge.granted.retain(|g| allowed.contains_key(&g.user));
                    // A listed merger who signs only through a grant in `signers` relies on it.
                    for user in &merge.users {
                        if merge.grant_of(user).is_none()
                            && let Some(granted) = allowed.get(user).copied().and_then(mark)
                        {
                            merge.granted.push(granted);
                        }
                    }
                    merge.granted.sort_by(|a, b| a.user.cmp(&b.user));
                    if merge.users.len() < before {
                        let signers = ListView::present(policy, signers, now);
                        notes.push(format!(
                            "a merge commit must also satisfy signers ({}), so only users in \
                             both lists count",
                            signers.summary
                        ));
                    }
                }
                list = Some(merge);
            }
            (Check::Tag { .. }, WhoCanAction::Sign) => notes.push(
                "for a tag, the pushed annotated tag object itself must carry the signature"
                    .to_string(),
            ),
            _ => {}
        }
    }
    if let (Some(rule), WhoCanAction::Approve, None) = (rule, action, &list) {
        list = Some(match &rule.approvals {
            Some(approvals) => {
                notes.push(approvals_note(approvals));
                ListView::present(policy, &approvals.by, now)
            }
            None => ListView::effect(Effect::NotNeeded, "no approvals needed"),
        });
    }
    if rule.is_some() && is_tag(refname) && action == WhoCanAction::Merge {
        notes.push(
            "merge checks do not apply to tags; only the tag's own signature is checked"
                .to_string(),
        );
    }
    if let Some(rule) = rule {
        governed_by = Governor::Rule {
            number: rule.index + 1,
            location: rule.location.to_string(),
            refs: rule.refs.clone(),
        };
    }
    let mut list = match (list, rule) {
        (Some(list), _) => list,
        // A rule whose requirements say nothing about signing: its absent lists say why.
        (None, Some(rule)) => {
            let kind = if action == WhoCanAction::Merge {
                ListKind::Merge
            } else {
                ListKind::Signers
            };
            rule_lists(policy, rule, now).swap_remove(kind as usize)
        }
        (None, None) if action.signs() => {
            ListView::effect(Effect::Unsigned, "no signature required")
        }
        (None, None) => ListView::effect(Effect::Anyone, Absent::Anyone.describe()),
    };
    let mut path_entries = Vec::new();
    if let Some(path) = path {
        // The same entries the hook applies to an update of this ref (tags and the policy
        // branch have none), those of them whose paths match.
        for req in &reqs.items {
            let Check::Path { entry, .. } = req.check else {
                continue;
            };
            let Some(pattern) = entry.pattern_for(path) else {
                continue;
            };
            path_entries.push(PathEntryMatch {
                location: entry.location.to_string(),
                pattern: pattern.to_string(),
            });
            list = narrow_for_path(policy, list, entry, pattern, path, action, now, &mut notes);
        }
        if path_entries.is_empty() {
            notes.push(format!("no [[path]] entry covers {path} on {refname}"));
        }
    }

    let mut users = Vec::new();
    let mut excluded = Vec::new();
    if list.effect == Effect::Users {
        for id in &list.users {
            let grant = list.grant_of(id).cloned();
            if !action.signs() {
                users.push(WhoUser {
                    id: id.clone(),
                    keys: Vec::new(),
                    grant,
                });
                continue;
            }
            let Some(user) = policy.users.get(id) else {
                continue;
            };
            let mut active = Vec::new();
            for key in &user.keys {
                match policy.key_status(key, now) {
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
                    grant,
                });
            }
        }
    }

    let answer = one_line_answer(list.effect, &users);
    WhoCan {
        refname: refname.to_string(),
        action,
        now: utc(now),
        governed_by,
        effect: list.effect,
        list,
        users,
        excluded,
        path: path.map(str::to_string),
        path_entries,
        notes,
        answer,
    }
}

/// `list` narrowed by one `[[path]]` entry that covers `path`: a commit touching it must
/// satisfy both the rule's list and the entry's `signers` (so only users in both count), and
/// an update carrying it needs both approvals (whose approval counts for every one of them).
/// Pushers are not the entry's concern; it only says so.
#[allow(clippy::too_many_arguments)]
fn narrow_for_path(
    policy: &Policy,
    list: ListView,
    entry: &PathEntry,
    pattern: &str,
    path: &str,
    action: WhoCanAction,
    now: OffsetDateTime,
    notes: &mut Vec<String>,
) -> ListView {
    let at = format!("path {} ({pattern})", entry.location);
    let (needed, what) = match action {
        WhoCanAction::Sign | WhoCanAction::Merge => match &entry.signers {
            Some(signers) => (signers, "signed by"),
            None => {
                notes.push(format!(
                    "{path} matches {at}, which asks nothing of signers"
                ));
                return list;
            }
        },
        WhoCanAction::Approve => match &entry.approvals {
            Some(approvals) => {
                notes.push(format!("{at}: {}", approvals_note(approvals)));
                (&approvals.by, "approved by")
            }
            None => {
                notes.push(format!("{path} matches {at}, which needs no approvals"));
                return list;
            }
        },
        _ => {
            notes.push(format!(
                "{path} matches {at}; path entries constrain signers and approvals, not pushers"
            ));
            return list;
        }
    };
    let entry_list = ListView::present(policy, needed, now);
    notes.push(if list.effect == Effect::Users {
        format!(
            "a change touching {path} must also be {what} {} ({at}), so only users in both \
             lists count",
            entry_list.summary
        )
    } else {
        format!(
            "a change touching {path} must be {what} {} ({at})",
            entry_list.summary
        )
    });
    match list.effect {
        // Nothing asked before: the entry's list decides alone.
        Effect::Anyone | Effect::Unsigned | Effect::NotNeeded => entry_list,
        Effect::NoMerges => list,
        Effect::Users => {
            let mut both = list;
            both.users.retain(|u| entry_list.users.contains(u));
            let kept = both.users.clone();
            both.granted.retain(|g| kept.contains(&g.user));
            for g in entry_list.granted {
                if kept.contains(&g.user) && both.grant_of(&g.user).is_none() {
                    both.granted.push(g);
                }
            }
            both.granted.sort_by(|a, b| a.user.cmp(&b.user));
            both.summary = format!("{} ∩ {}", both.summary, entry_list.summary);
            both
        }
    }
}

/// What a rule's `approvals` asks, in one sentence.
pub(crate) fn approvals_note(approvals: &ApprovalRule) -> String {
    let on: Vec<&str> = approvals.on.iter().map(|k| k.field()).collect();
    format!(
        "an update ({}) needs {} approval{} by distinct members, made for that very move \
         (refguard approve); {} (allow_self = {})",
        on.join(", "),
        approvals.count,
        if approvals.count == 1 { "" } else { "s" },
        if approvals.allow_self {
            "the pusher's own approval counts"
        } else {
            "the pusher's own approval does not count"
        },
        approvals.allow_self
    )
}

/// The lists of the policy branch: admins push and sign; nobody creates (only `refguard
/// init` on the server), deletes or force-pushes.
fn policy_branch_list(
    policy: &Policy,
    admins: &Principals,
    approvals: u32,
    action: WhoCanAction,
    now: OffsetDateTime,
    notes: &mut Vec<String>,
) -> ListView {
    match action {
        WhoCanAction::Approve => {
            notes.push(format!(
                "a policy change is approved by admins' signatures on its commits: at least \
                 {approvals} distinct admin(s)"
            ));
            ListView::present(policy, admins, now)
        }
        WhoCanAction::Push | WhoCanAction::Sign | WhoCanAction::Merge => {
            notes.push(format!(
                "every new commit must be signed by an admin, and at least {approvals} distinct \
                 admin(s) must sign"
            ));
            ListView::present(policy, admins, now)
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
            // A member through a grant: when it ends and where it is written, on the first line.
            let granted = u
                .grant
                .as_ref()
                .map(|g| format!("  {}", g.describe()))
                .unwrap_or_default();
            if u.keys.is_empty() {
                let line = format!("  {:<width$}{granted}", u.id);
                out.push(line.trim_end().to_string());
            }
            for (i, k) in u.keys.iter().enumerate() {
                let (name, granted) = if i == 0 {
                    (u.id.as_str(), granted.as_str())
                } else {
                    ("", "")
                };
                out.push(format!("  {name:<width$}  {k}{granted}"));
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
