//! What one ref update needs (spec §2, §3, §14): from the policy, the ref name and the kind
//! of update, the typed list of [`Requirement`]s that apply — who may push, what the new
//! commits or the tag need, the policy branch's guard, a signed push — each with its
//! [`Origin`] (which file, which line) and [`Level`]. Pure.
//!
//! This is the one place that reads the policy's structure for a ref. The shell asks the
//! requirements which facts to gather ([`Requirements::needs`]) instead of deciding itself;
//! the engine judges each requirement with one module per [`Check`]; `who-can`, `policy
//! show`, `check` and the history audit read the same list. A new kind of check is a policy
//! section, a [`Check`] variant, an engine module and a fact in [`Needs`] — nothing else.

use std::fmt;

use serde::Serialize;

use crate::approval;
use crate::policy::{
    ApprovalRule, Effective, ListKind, Location, PathEntry, Policy, PolicyFile, Principals, Rule,
    is_replace_ref,
};
use crate::update::{UpdateKind, is_tag};

/// A `[[rule]]` of a roles file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId {
    /// The file it is written in.
    pub file: PolicyFile,
    /// Its 0-based position in that file.
    pub index: usize,
}

/// A rule as a verdict names it: which rule, and where it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleRef {
    /// Which rule.
    pub id: RuleId,
    /// Where its `[[rule]]` header is.
    pub location: Location,
}

impl RuleRef {
    /// The reference to `rule`.
    pub fn of(rule: &Rule) -> RuleRef {
        RuleRef {
            id: RuleId {
                file: rule.location.file,
                index: rule.index,
            },
            location: rule.location,
        }
    }
}

impl fmt::Display for RuleRef {
    /// `roles.toml:12` (`org:roles.toml:12` for an organisation rule).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.location.fmt(f)
    }
}

impl Serialize for RuleRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A `[[path]]` entry of a roles file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathId {
    /// The file it is written in.
    pub file: PolicyFile,
    /// Its 0-based position among that file's `[[path]]` entries (`u32` keeps
    /// [`Origin`], and so every reason, small; a roles file is far below 4 GiB).
    pub index: u32,
}

impl PathId {
    /// The id of `entry`.
    pub fn of(entry: &PathEntry) -> PathId {
        PathId {
            file: entry.location.file,
            index: u32::try_from(entry.index).expect("a roles file holds fewer than 2^32 entries"),
        }
    }
}

/// Where a requirement comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A `[[rule]]`.
    Rule(RuleRef),
    /// A `[[path]]` entry, written at this location.
    Path(PathId, Location),
    /// `[policy]`, the guard of the policy branch.
    PolicySection,
    /// `[settings] require_signed_push`.
    Settings,
    /// refguard itself: replace refs that no rule names (spec §14).
    Builtin,
}

impl fmt::Display for Origin {
    /// `roles.toml:12` for a rule; the section's name otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Rule(rule) => rule.fmt(f),
            Origin::Path(_, location) => write!(f, "path {location}"),
            Origin::PolicySection => f.write_str("[policy]"),
            Origin::Settings => f.write_str("[settings]"),
            Origin::Builtin => f.write_str("refguard"),
        }
    }
}

/// How a finding counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The update is rejected.
    Deny,
    /// The update goes on; the finding is reported (a rule in evaluate mode, spec §11).
    Warn,
}

/// Which commits count as new for a requirement (spec §3.2): those reachable from `new` and
/// not from `old`, nor from what the scope says hides them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommitScope {
    /// A rule's: also hidden by the pre-push tips of the other refs the same rule governs
    /// (tags excepted, spec §3.2 v2) and by the `[trust] baseline`.
    Rule(RuleId),
    /// The policy branch's: every commit not reachable from the old tip (no baseline, no
    /// other refs).
    PolicyBranch,
    /// A `[[path]]` entry's (spec §9): also hidden by the pre-push tips of the other refs the
    /// entry's `refs` match (tags excepted) and by the baseline. So work pushed first to a
    /// branch the entry does not cover is still checked when it reaches one it does.
    Path(PathId),
}

impl CommitScope {
    /// Whether `[trust] baseline` commits (and their ancestors) are hidden.
    pub fn uses_baseline(self) -> bool {
        matches!(self, CommitScope::Rule(_) | CommitScope::Path(_))
    }

    /// Name prefixes that together cover every ref that can hide commits in this scope (see
    /// [`CommitScope::hidden_by`]): the literal start of each of the rule's patterns, so the
    /// shell lists only those refs, not all of them.
    pub fn ref_prefixes(self, policy: &Policy) -> Vec<String> {
        match self {
            CommitScope::Rule(id) => policy
                .rules
                .iter()
                .filter(|r| RuleRef::of(r).id == id)
                .flat_map(|r| r.refs.iter())
                .map(|pattern| {
                    let literal = pattern
                        .find(['*', '?', '[', '{', '\\'])
                        .map_or(pattern.as_str(), |at| &pattern[..at]);
                    literal.to_string()
                })
                .collect(),
            CommitScope::Path(id) => policy
                .paths
                .iter()
                .filter(|p| PathId::of(p) == id)
                .flat_map(|p| p.refs.iter())
                .map(|pattern| {
                    let literal = pattern
                        .find(['*', '?', '[', '{', '\\'])
                        .map_or(pattern.as_str(), |at| &pattern[..at]);
                    literal.to_string()
                })
                .collect(),
            CommitScope::PolicyBranch => Vec::new(),
        }
    }

    /// Whether the pre-push tip of the ref `other` hides commits in this scope for an update
    /// of `refname`.
    pub fn hidden_by(self, policy: &Policy, policy_ref: &str, refname: &str, other: &str) -> bool {
        match self {
            CommitScope::Rule(id) => {
                other != refname
                    && other != policy_ref
                    // A tag update gets the tag check only: the commits behind a tag were
                    // never checked, so its tip must not count as known.
                    && !is_tag(other)
                    && match policy.rules.iter().find(|r| RuleRef::of(r).id == id) {
                        // A shadow (spec §11) governs nothing: the refs it matches are those
                        // whose commits it would have judged.
                        Some(shadow) if shadow.evaluate => shadow.matches(other),
                        // Under an organisation policy a ref has a governing rule per file.
                        _ => policy
                            .rules_for(other)
                            .iter()
                            .any(|r| RuleRef::of(r).id == id),
                    }
            }
            CommitScope::Path(id) => {
                other != refname
                    && other != policy_ref
                    && !is_tag(other)
                    && !approval::is_approval_ref(other)
                    && policy
                        .paths
                        .iter()
                        .any(|p| PathId::of(p) == id && p.applies_to(other))
            }
            CommitScope::PolicyBranch => false,
        }
    }
}

/// One thing an update must satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement<'p> {
    /// Where it comes from.
    pub origin: Origin,
    /// Whether a violation rejects or warns.
    pub level: Level,
    /// What is checked.
    pub check: Check<'p>,
}

/// What a requirement checks; each variant has its module in the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check<'p> {
    /// The push carries a push certificate (`signed_push`, `require_signed_push`).
    SignedPush,
    /// The policy branch's guard (spec §2): admin pusher, admin signatures, `approvals`
    /// distinct approvals, a valid pushed roles.toml; never created, deleted or rewritten.
    PolicyBranch {
        /// `[policy] admins`.
        admins: &'p Principals,
        /// `[policy] approvals`.
        approvals: u32,
    },
    /// The pusher is in the list for this kind of update.
    Permission {
        /// The list the kind of update needs (`push`, `create`, `delete`, `force_push`).
        list: ListKind,
        /// What decides, once absence is spelled out.
        effective: Effective<'p>,
    },
    /// A replace ref that no rule names: nobody may create, move or delete it.
    ReplaceRef,
    /// The new commits of `scope`: signed by `signers`, merges by `merge`, none if `linear`.
    Commits {
        /// Which commits are new.
        scope: CommitScope,
        /// `signers` (absent: unsigned commits allowed).
        signers: Option<&'p Principals>,
        /// `merge` (absent: any allowed signer).
        merge: Option<&'p Principals>,
        /// `linear = true`.
        linear: bool,
    },
    /// The update carries `rule.count` approvals by distinct members of `rule.by` (spec §7).
    Approvals {
        /// The rule's `approvals`.
        rule: &'p ApprovalRule,
    },
    /// A push under `refs/approvals/`: only the creation of a well-formed, verifiable
    /// approval (spec §7); guarded by refguard itself, never by a rule.
    ApprovalRef,
    /// A `[[path]]` entry (spec §9): each new commit of `scope` that touches the entry's
    /// paths is signed by its `signers`, and the update carries its `approvals` if any does.
    Path {
        /// The entry.
        entry: &'p PathEntry,
        /// Its commit scope (`CommitScope::Path`).
        scope: CommitScope,
    },
    /// `new` is an annotated tag signed by a member of `signers`, pushed under its name.
    Tag {
        /// The rule's `signers`.
        signers: &'p Principals,
    },
}

/// What the engine needs gathered to judge a set of requirements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// The new commits of these scopes (verified), each once.
    pub commits: Vec<CommitScope>,
    /// What a tag ref's `new` is (annotated or not, its signature).
    pub tag: bool,
    /// The pushed policy: its roles.toml, validated, and which new commits approve it.
    pub policy_change: bool,
    /// The approvals of `new` (stored under `refs/approvals/<new>/`, or pushed along).
    pub approvals: bool,
    /// The approval tag pushed (an update under `refs/approvals/`).
    pub approval: bool,
    /// For these `[[path]]` entries: which paths each new commit of their scope touches.
    pub touched: Vec<PathId>,
}

/// Everything one ref update must satisfy, in the order reasons are reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirements<'p> {
    /// The kind of update these are for.
    pub kind: UpdateKind,
    /// The governing rule, when one governs the ref: the repository's, else the
    /// organisation's (spec §10: under an organisation policy each file's governing rule
    /// adds its requirements, each with its own origin).
    pub rule: Option<RuleRef>,
    /// The requirements, in reporting order.
    pub items: Vec<Requirement<'p>>,
}

impl Requirements<'_> {
    /// What to gather: every scope, the tag, the policy change, as the requirements need.
    pub fn needs(&self) -> Needs {
        let mut needs = Needs::default();
        for req in &self.items {
            match &req.check {
                Check::Commits { scope, .. } => {
                    if !needs.commits.contains(scope) {
                        needs.commits.push(*scope);
                    }
                }
                Check::Tag { .. } => needs.tag = true,
                Check::Approvals { .. } => needs.approvals = true,
                Check::Path { entry, scope } => {
                    if !needs.commits.contains(scope) {
                        needs.commits.push(*scope);
                    }
                    needs.touched.push(PathId::of(entry));
                    // Approvals are looked up when any touching commit needs them.
                    if entry.approvals.is_some() {
                        needs.approvals = true;
                    }
                }
                Check::ApprovalRef if self.kind != UpdateKind::Delete => needs.approval = true,
                Check::PolicyBranch { .. } if self.kind != UpdateKind::Delete => {
                    needs.policy_change = true;
                    if !needs.commits.contains(&CommitScope::PolicyBranch) {
                        needs.commits.push(CommitScope::PolicyBranch);
                    }
                }
                Check::PolicyBranch { .. }
                | Check::ApprovalRef
                | Check::SignedPush
                | Check::Permission { .. }
                | Check::ReplaceRef => {}
            }
        }
        needs
    }

    /// Whether any requirement applies (a ref no rule governs has none).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The list a kind of update needs (spec §3.1).
pub fn list_for(kind: UpdateKind) -> ListKind {
    match kind {
        UpdateKind::Create => ListKind::Create,
        UpdateKind::Delete => ListKind::Delete,
        UpdateKind::FastForward => ListKind::Push,
        UpdateKind::NonFastForward => ListKind::ForcePush,
    }
}

/// The requirements of an update of `refname` of `kind` under `policy`, whose policy branch
/// is `policy_ref`.
///
/// The policy branch is guarded by `[policy]` alone, never by a rule; a ref is otherwise
/// governed by its first matching rule (spec §2); a replace ref that no rule names is
/// refused to everyone (spec §14); any other ref is unprotected. A signed push, where the
/// policy asks for one, comes first, then the guard or the permission, then what the new
/// commits or the tag need (none for a delete).
pub fn for_update<'p>(
    policy: &'p Policy,
    policy_ref: &str,
    refname: &str,
    kind: UpdateKind,
) -> Requirements<'p> {
    let deny = |origin, check| Requirement {
        origin,
        level: Level::Deny,
        check,
    };
    if approval::is_approval_ref(refname) {
        return Requirements {
            kind,
            rule: None,
            items: vec![deny(Origin::Builtin, Check::ApprovalRef)],
        };
    }
    // The first match of each file: both must be passed (spec §10).
    let rules = if refname == policy_ref {
        Vec::new()
    } else {
        policy.rules_for(refname)
    };
    let mut items = Vec::new();
    if policy.require_signed_push && (refname == policy_ref || !rules.is_empty()) {
        items.push(deny(Origin::Settings, Check::SignedPush));
    } else if let Some(rule) = rules.iter().find(|r| r.signed_push) {
        items.push(deny(Origin::Rule(RuleRef::of(rule)), Check::SignedPush));
    }
    if refname == policy_ref {
        items.push(deny(
            Origin::PolicySection,
            Check::PolicyBranch {
                admins: &policy.admins,
                approvals: policy.approvals,
            },
        ));
    } else if !rules.is_empty() {
        for rule in &rules {
            items.extend(rule_requirements(rule, refname, kind));
        }
    } else if is_replace_ref(refname) {
        items.push(deny(Origin::Builtin, Check::ReplaceRef));
    }
    // Rules in evaluate mode whose refs match (spec §11): judged in addition, as warnings.
    // Never for the policy branch (approval refs returned above).
    if refname != policy_ref {
        for shadow in policy.shadows_for(refname) {
            let origin = Origin::Rule(RuleRef::of(shadow));
            let signed_push =
                (shadow.signed_push && !policy.require_signed_push).then_some(Check::SignedPush);
            items.extend(
                signed_push
                    .into_iter()
                    .chain(rule_requirements(shadow, refname, kind).map(|r| r.check))
                    .map(|check| Requirement {
                        origin,
                        level: Level::Warn,
                        check,
                    }),
            );
        }
    }
    // Every [[path]] entry whose refs match applies, in addition to the governing rule
    // (spec §9); to branch-like refs, never to tags (whose update checks only the tag object)
    // or the policy branch or approval refs, which hold no commits).
    if refname != policy_ref
        && !is_tag(refname)
        && !approval::is_approval_ref(refname)
        && kind != UpdateKind::Delete
    {
        for entry in policy.paths.iter().filter(|p| p.applies_to(refname)) {
            let id = PathId::of(entry);
            items.push(Requirement {
                origin: Origin::Path(id, entry.location),
                // An entry in evaluate mode only warns (spec §11).
                level: if entry.evaluate {
                    Level::Warn
                } else {
                    Level::Deny
                },
                check: Check::Path {
                    entry,
                    scope: CommitScope::Path(id),
                },
            });
        }
    }
    Requirements {
        kind,
        rule: rules.first().map(|r| RuleRef::of(r)),
        items,
    }
}

/// What `rule` requires of an update of `refname` of `kind`: the permission, then (unless
/// it is a delete) the tag's signature or the new commits' checks.
fn rule_requirements<'p>(
    rule: &'p Rule,
    refname: &str,
    kind: UpdateKind,
) -> impl Iterator<Item = Requirement<'p>> {
    let origin = Origin::Rule(RuleRef::of(rule));
    let list = list_for(kind);
    let permission = Check::Permission {
        list,
        effective: rule.effective(list),
    };
    let approvals = rule
        .approvals
        .as_ref()
        .filter(|a| kind != UpdateKind::Delete && a.applies_to(list))
        .map(|rule| Check::Approvals { rule });
    let content = match kind {
        UpdateKind::Delete => None,
        _ if is_tag(refname) => rule
            .list(ListKind::Signers)
            .map(|signers| Check::Tag { signers }),
        _ if rule.checks_commits() => Some(Check::Commits {
            scope: CommitScope::Rule(RuleRef::of(rule).id),
            signers: rule.list(ListKind::Signers),
            merge: rule.list(ListKind::Merge),
            linear: rule.linear,
        }),
        _ => None,
    };
    std::iter::once(permission)
        .chain(approvals)
        .chain(content)
        .map(move |check| Requirement {
            origin,
            level: Level::Deny,
            check,
        })
}

/// The literal starts of every `[[path]]` glob of `policy` (`secrets/**` → `secrets/`,
/// `deploy/prod-*.yml` → `deploy/prod-`), or none (every path) when some glob starts with a
/// wildcard (`**/*.key`): one tree comparison per commit serves every entry.
pub fn path_prefixes(policy: &Policy) -> Vec<String> {
    let mut prefixes = Vec::new();
    for literal in policy.paths.iter().flat_map(PathEntry::literal_prefixes) {
        if literal.is_empty() {
            return Vec::new();
        }
        prefixes.push(literal.to_string());
    }
    prefixes.sort();
    prefixes.dedup();
    prefixes
}

#[cfg(test)]
mod tests;
