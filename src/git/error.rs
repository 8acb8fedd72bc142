//! The errors of repository access, each naming the repository path, ref or object involved.
//!
//! The git2 cause is part of each message (a field named `cause`, not `source`), so that
//! `to_string()` alone tells the whole story in the audit log and `{:#}` does not repeat it.

use std::path::PathBuf;

use crate::engine::ObjectId;

/// A failure to read or write the repository. In a hook, every one of these rejects.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository named by the hook environment (`GIT_DIR`...) cannot be opened.
    #[error("cannot open the repository from the environment (GIT_DIR): {cause}")]
    OpenFromEnv {
        /// What git2 said.
        cause: git2::Error,
    },
    /// The repository at a path cannot be opened.
    #[error("cannot open the repository at {}: {cause}", path.display())]
    Open {
        /// The path given.
        path: PathBuf,
        /// What git2 said.
        cause: git2::Error,
    },
    /// The quarantine object directory (`GIT_QUARANTINE_PATH`) cannot be added.
    #[error("cannot use the quarantine object directory {}: {cause}", path.display())]
    Quarantine {
        /// The quarantine directory.
        path: PathBuf,
        /// What git2 said.
        cause: git2::Error,
    },
    /// A config variable cannot be read.
    #[error("cannot read config `{name}`: {cause}")]
    Config {
        /// The variable, e.g. `refguard.policyRef`.
        name: String,
        /// What git2 said.
        cause: git2::Error,
    },
    /// A ref cannot be read (`*` when listing all refs).
    #[error("cannot read ref `{name}`: {cause}")]
    Ref {
        /// The ref name.
        name: String,
        /// What git2 said.
        cause: git2::Error,
    },
    /// An object is missing or unreadable.
    #[error("cannot read object {id}: {cause}")]
    Object {
        /// The object.
        id: ObjectId,
        /// What git2 said.
        cause: git2::Error,
    },
    /// An object that must be a commit (or peel to one) is not.
    #[error("object {id} is not a commit")]
    NotACommit {
        /// The object.
        id: ObjectId,
    },
    /// Walking history failed (a missing ancestor, a corrupt object).
    #[error("cannot walk the history of {id}: {cause}")]
    Walk {
        /// The commit the walk started from.
        id: ObjectId,
        /// What git2 said.
        cause: git2::Error,
    },
    /// A walk that must emit children before parents did not (see
    /// [`super::Repo::walk_labelled`]); what it found cannot be trusted.
    #[error(
        "the history walk met commit {id} out of order (a parent before its child); \
         refusing to attribute commits from it"
    )]
    WalkOrder {
        /// The commit met out of order.
        id: ObjectId,
    },
    /// The id has a form this build cannot read (SHA-256 repositories are not supported).
    #[error("object id {id} is not supported (SHA-256 repositories are not supported)")]
    UnsupportedId {
        /// The id.
        id: ObjectId,
    },
    /// A ref update with both old and new zero, which git never sends.
    #[error("invalid update of {refname}: old and new are both zero")]
    BothZero {
        /// The ref.
        refname: String,
    },
    /// The policy ref exists already, so it was not created.
    #[error("{refname} already exists")]
    RefExists {
        /// The ref.
        refname: String,
    },
    /// The policy ref no longer points at the expected parent, so it was not updated.
    #[error("{refname} no longer points at {expected}; someone changed it meanwhile")]
    RefMoved {
        /// The ref.
        refname: String,
        /// Where it was expected to point.
        expected: ObjectId,
    },
    /// Writing a policy commit or updating its ref failed.
    #[error("cannot write to {refname}: {cause}")]
    Write {
        /// The ref being written.
        refname: String,
        /// What git2 said.
        cause: git2::Error,
    },
}

/// A [`Result`](std::result::Result) with this module's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
