//! What the shell gathered about one ref update before the decision: plain data, no git2.

use time::OffsetDateTime;

use crate::approval::Statement;
use crate::requirements::{CommitScope, PathId};
pub use crate::signature::{KeyId, SignatureCheck};
pub use crate::update::{ObjectId, RefUpdate, UpdateKind};

/// Facts about one new commit (spec §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitFacts {
    /// The commit id.
    pub id: ObjectId,
    /// The first line of the message, for messages.
    pub summary: String,
    /// Number of parents (2 or more: a merge).
    pub parent_count: usize,
    /// Its signature.
    pub signature: SignatureCheck,
}

/// What `new` points at, for a ref under `refs/tags/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagTarget {
    /// A lightweight tag: `new` is not a tag object.
    Lightweight,
    /// An annotated tag object.
    Annotated {
        /// The tag's own name (`tag` header).
        name: String,
        /// The tag object's signature.
        signature: SignatureCheck,
    },
}

/// Everything the decision needs about one ref update: what the shell gathered because the
/// requirements asked for it ([`crate::requirements::Needs`]). Anything not asked for stays
/// empty; a requirement whose facts are missing fails closed in the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFacts {
    /// The command.
    pub update: RefUpdate,
    /// Its kind.
    pub kind: UpdateKind,
    /// The new commits of each commit scope asked for, newest first.
    pub commits: Vec<(CommitScope, Vec<CommitFacts>)>,
    /// For a tag ref with a non-zero `new`, when asked for: what it points at.
    pub tag: Option<TagTarget>,
    /// For an update of the policy branch, when asked for: the pushed policy.
    pub policy_change: Option<PolicyChange>,
    /// When asked for: the approvals stored (or pushed along) for `new` (spec §7).
    pub approvals: Option<Vec<ApprovalFact>>,
    /// For a push under `refs/approvals/`, when asked for: the pushed approval.
    pub approval: Option<ApprovalFact>,
    /// For each `[[path]]` entry asked for: the new commits of its scope that touch its
    /// paths, with the paths they touch (spec §9).
    pub touched: Vec<(PathId, Vec<Touch>)>,
}

/// A commit that touches paths a `[[path]]` entry protects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    /// The commit.
    pub commit: ObjectId,
    /// The paths it touches that the entry's globs match, sorted.
    pub paths: Vec<String>,
}

impl UpdateFacts {
    /// The facts of `update` of `kind` with nothing gathered yet.
    pub fn new(update: RefUpdate, kind: UpdateKind) -> UpdateFacts {
        UpdateFacts {
            update,
            kind,
            commits: Vec::new(),
            tag: None,
            policy_change: None,
            approvals: None,
            approval: None,
            touched: Vec::new(),
        }
    }

    /// The touching commits of the `[[path]]` entry `id`, if they were gathered.
    pub fn touched_in(&self, id: PathId) -> Option<&[Touch]> {
        self.touched
            .iter()
            .find(|(p, _)| *p == id)
            .map(|(_, t)| t.as_slice())
    }

    /// The new commits of `scope`, if they were gathered.
    pub fn commits_in(&self, scope: CommitScope) -> Option<&[CommitFacts]> {
        self.commits
            .iter()
            .find(|(s, _)| *s == scope)
            .map(|(_, commits)| commits.as_slice())
    }

    /// Records the new commits of `scope` (replacing any gathered before).
    pub fn set_commits(&mut self, scope: CommitScope, commits: Vec<CommitFacts>) {
        self.commits.retain(|(s, _)| *s != scope);
        self.commits.push((scope, commits));
    }
}

/// An approval tag (spec §7) as read from the repository: what it is, what it says, who
/// signed it. Judged by the engine; nothing here says whether it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalFact {
    /// The approval ref it is stored under (or pushed as).
    pub refname: String,
    /// The object the ref points at (the tag object's id).
    pub tag: ObjectId,
    /// Whether that object is an annotated tag at all.
    pub annotated: bool,
    /// The tag's `object` header: what it approves.
    pub target: Option<ObjectId>,
    /// The tag's `type` header (`commit` for an approval).
    pub target_kind: String,
    /// The approval statement, or why the message is not one.
    pub statement: Result<Statement, String>,
    /// The tag's signature.
    pub signature: SignatureCheck,
}

/// A push to the policy branch: the pushed roles.toml and which new commits approve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyChange {
    /// The pushed roles.toml, validated at push time.
    pub candidate: PolicyCandidate,
    /// The new commits whose tree holds the pushed roles.toml byte for byte and that descend
    /// from the current policy tip (spec §2, v2). Only their signers count as approvals: a
    /// signature on any other commit (another project's, an earlier draft) approves
    /// something else.
    pub approving: Vec<ObjectId>,
    /// The new commits whose tree holds the pushed roles.toml but that do not descend from
    /// the current policy tip (a proposal signed before the policy last moved): their
    /// signatures approve nothing, and the message says so.
    pub stale: Vec<ObjectId>,
}

/// The roles.toml at the tip of a pushed policy branch, as validated by the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyCandidate {
    /// It parses and validates.
    Valid,
    /// It does not validate: each error rendered as `roles.toml:LINE:COL: message`.
    Invalid {
        /// The rendered errors, first first.
        errors: Vec<String>,
    },
    /// The tree has no `roles.toml` blob at its root.
    Missing,
}

/// Facts about the push as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushContext {
    /// The pusher name from the environment (spec §3.6), if any.
    pub pusher: Option<String>,
    /// Push time: expiry is judged against it.
    pub now: OffsetDateTime,
    /// The policy branch's ref name (default `refs/meta/policy`).
    pub policy_ref: String,
    /// This repository's name (`git config refguard.name`, else its directory's name without
    /// `.git`), which approvals must name (spec §7).
    pub repository: String,
    /// Every ref update of the push (pre-receive; the one update for the update hook and
    /// dry runs): approvals pushed along with an update count for it.
    pub pushed: Vec<RefUpdate>,
}

/// What the push certificate (`git push --signed`) says about who pushed, before any policy
/// lookup. Built by the shell with [`crate::pushcert::assess`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushCert {
    /// Certificates were not looked at (a dry run such as `refguard check`): neither the
    /// certificate checks nor `signed_push` requirements are judged.
    NotChecked,
    /// The push carries no certificate (`GIT_PUSH_CERT` unset).
    Absent,
    /// The push carries a certificate.
    Present {
        /// Its signature, verified over the certificate (the key is looked up by the
        /// engine); `None` when the certificate does not parse, so nothing was verified.
        signature: Option<SignatureCheck>,
        /// What is wrong with it apart from the signature (nonce, repository, commands,
        /// format); empty when nothing is.
        problems: Vec<String>,
    },
}
