//! The audit log's operational errors, each with the path it concerns.

use std::io;
use std::path::PathBuf;

/// Something went wrong reading or writing an audit log. In a hook, any of these rejects the
/// push (fail closed, spec §6).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A filesystem operation failed.
    #[error("{path}: cannot {op}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being done, e.g. `open the audit log`.
        op: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The log's last line has no trailing newline: a write was torn or interrupted, or the
    /// file was edited. Appending would chain onto bytes nobody vouched for, so refguard
    /// refuses until an administrator has looked.
    #[error(
        "{path}: the last line has no trailing newline (a torn write or an edit); refusing to \
         append until an administrator inspects the log: run `refguard audit verify`, and if \
         the last line is the remains of an interrupted write (its push was rejected), \
         remove that partial line"
    )]
    TornLastLine {
        /// The log file.
        path: PathBuf,
    },
    /// A rotation link file (`<log>.prev`) does not hold one SHA-256 hex digest.
    #[error("{path}: not a rotation link (expected 64 lowercase hex digits and a newline)")]
    BadLink {
        /// The link file.
        path: PathBuf,
    },
    /// A line of the log is not a valid version-1 record (when reading records back).
    #[error("{path}:{line}: {reason}")]
    BadRecord {
        /// The log file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A record could not be serialized (only possible for a hand-built record).
    #[error("{path}: cannot serialize an audit record")]
    Serialize {
        /// The log file.
        path: PathBuf,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// `rotate` was asked to rotate a log with no records.
    #[error("{path}: the log is empty; nothing to rotate")]
    NothingToRotate {
        /// The log file.
        path: PathBuf,
    },
}

impl AuditError {
    /// Wraps an I/O error with the path and the operation.
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| AuditError::Io { path, op, source }
    }
}
