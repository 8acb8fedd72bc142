//! The vocabulary of a push: object ids, ref updates and their kinds (spec §3.1). Pure data,
//! shared by the hook input parser, the requirements, the engine and the shell.

use std::fmt;

/// A git object id as lowercase hex (40 digits for SHA-1, 64 for SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(String);

impl ObjectId {
    /// Parses a hex object id (40 or 64 hex digits, case-insensitive).
    pub fn parse(hex: &str) -> Option<ObjectId> {
        let ok = matches!(hex.len(), 40 | 64) && hex.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| ObjectId(hex.to_ascii_lowercase()))
    }

    /// The all-zero id of SHA-1 length (git's "no object").
    pub fn zero() -> ObjectId {
        ObjectId("0".repeat(40))
    }

    /// Whether this is the all-zero id (create when old, delete when new).
    pub fn is_zero(&self) -> bool {
        self.0.bytes().all(|b| b == b'0')
    }

    /// The full hex string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id abbreviated to 7 hex digits, for messages.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One `<old> <new> <ref>` command of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The full ref name, e.g. `refs/heads/main`.
    pub refname: String,
    /// The ref's value before the push (zero: create).
    pub old: ObjectId,
    /// The ref's value after the push (zero: delete).
    pub new: ObjectId,
}

/// The kind of a ref update (spec §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    /// `old` is zero.
    Create,
    /// `new` is zero.
    Delete,
    /// `old` is an ancestor of `new` (never for tags).
    FastForward,
    /// Anything else, including moving an existing tag.
    NonFastForward,
}

impl UpdateKind {
    /// A lowercase word for messages and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateKind::Create => "create",
            UpdateKind::Delete => "delete",
            UpdateKind::FastForward => "fast-forward",
            UpdateKind::NonFastForward => "non-fast-forward",
        }
    }
}

/// Whether a ref is a tag (`refs/tags/…`): tags get the tag check instead of the commit
/// checks, and moving one is never a fast-forward (spec §3.1, §3.5).
pub fn is_tag(refname: &str) -> bool {
    refname.starts_with("refs/tags/")
}
