//! The outcome of a decision: reasons with stable kebab-case codes and their hints.

pub use super::approvals::Approval;
use super::facts::{ObjectId, RefUpdate, UpdateKind};
pub use crate::code::Code;
use crate::policy::Grant;
use crate::requirements::{Level, Origin, RuleRef};

/// One finding about a ref update: a reason to reject it, or (at [`Level::Warn`]) what a
/// rule in evaluate mode would have rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The stable code.
    pub code: Code,
    /// The commit (or tag object) it is about, if any.
    pub commit: Option<ObjectId>,
    /// The commit's summary line (or the tag name), if any.
    pub subject: Option<String>,
    /// What is wrong, in one line.
    pub detail: String,
    /// Whether it rejects the update or only warns.
    pub level: Level,
    /// The requirement it comes from, when one does (not for push-level or fail-closed
    /// reasons).
    pub origin: Option<Origin>,
}

impl Reason {
    /// A deny-level reason about the ref as a whole.
    pub fn on_ref(code: Code, detail: impl Into<String>) -> Reason {
        Reason {
            code,
            commit: None,
            subject: None,
            detail: detail.into(),
            level: Level::Deny,
            origin: None,
        }
    }

    /// A deny-level reason about a commit or tag object.
    pub fn on_object(
        code: Code,
        commit: ObjectId,
        subject: impl Into<String>,
        detail: impl Into<String>,
    ) -> Reason {
        Reason {
            code,
            commit: Some(commit),
            subject: Some(subject.into()),
            detail: detail.into(),
            level: Level::Deny,
            origin: None,
        }
    }

    /// The same reason, attributed to `origin` at `level`. A fail-closed error
    /// (`internal-error`) denies whatever the level: a shadow that cannot be judged is no
    /// warning (spec §11).
    pub fn from_requirement(self, origin: Origin, level: Level) -> Reason {
        let level = if self.code == Code::InternalError {
            Level::Deny
        } else {
            level
        };
        Reason {
            origin: Some(origin),
            level,
            ..self
        }
    }

    /// Whether it rejects the update.
    pub fn denies(&self) -> bool {
        self.level == Level::Deny
    }
}

/// The decision for one ref update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The command judged.
    pub update: RefUpdate,
    /// Its kind, when known.
    pub kind: Option<UpdateKind>,
    /// The user the pusher resolved to, if any.
    pub user: Option<String>,
    /// The governing rule, if any.
    pub rule: Option<RuleRef>,
    /// Every finding: reasons to reject, and warnings.
    pub reasons: Vec<Reason>,
    /// The approvals that counted for the update (spec §7).
    pub approvals: Vec<Approval>,
    /// The time-boxed grants (spec §8) that made the pusher or a signer a member of a list
    /// the decision judged, each once, whatever the outcome.
    pub grants: Vec<Grant>,
}

impl Verdict {
    /// Whether the update is allowed: no finding rejects it.
    pub fn accepted(&self) -> bool {
        !self.reasons.iter().any(Reason::denies)
    }

    /// The findings that reject the update.
    pub fn denials(&self) -> impl Iterator<Item = &Reason> {
        self.reasons.iter().filter(|r| r.denies())
    }

    /// The findings that only warn.
    pub fn warnings(&self) -> impl Iterator<Item = &Reason> {
        self.reasons.iter().filter(|r| !r.denies())
    }

    /// A rejection of `update` for one ref-level reason (no policy, internal error...).
    pub fn reject(update: RefUpdate, code: Code, detail: impl Into<String>) -> Verdict {
        Verdict {
            update,
            kind: None,
            user: None,
            rule: None,
            reasons: vec![Reason::on_ref(code, detail)],
            approvals: Vec::new(),
            grants: Vec::new(),
        }
    }
}
