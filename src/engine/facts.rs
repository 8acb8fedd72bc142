//! What the shell gathered about one ref update before the decision: plain data, no git2.

use std::fmt;

use time::OffsetDateTime;

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

/// The identity of a public key that produced a cryptographically valid signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyId {
    /// SSH wire encoding of the public key (looked up in the policy by these bytes).
    pub blob: Vec<u8>,
    /// `SHA256:...` fingerprint, as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
    /// Key algorithm, e.g. `ssh-ed25519`.
    pub algorithm: String,
    /// For a FIDO key (`sk-ssh-ed25519@openssh.com`, `sk-ecdsa-sha2-nistp256@openssh.com`):
    /// whether the signature's flags byte has the user-presence bit (`0x01`) set, i.e. the
    /// security key was touched. The flags are covered by the signature. `None` for every
    /// other key type. The policy decides whether an untouched signature counts
    /// (`touch_required`).
    pub user_present: Option<bool>,
}

/// What signature an object carries, and whether it verifies (before any policy lookup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// No signature at all.
    Unsigned,
    /// A signature of a format refguard does not verify (OpenPGP, X.509).
    Unsupported {
        /// The format's name, e.g. `OpenPGP`.
        format: String,
    },
    /// An SSH signature that is malformed, has the wrong namespace or does not verify.
    Bad {
        /// What is wrong, for the message.
        detail: String,
    },
    /// An SSH signature (namespace `git`) that verifies over the object with this key.
    Valid(KeyId),
}

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

/// Everything the decision needs about one ref update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFacts {
    /// The command.
    pub update: RefUpdate,
    /// Its kind.
    pub kind: UpdateKind,
    /// New commits, newest first; empty for deletes, tags and refs whose rule checks no commits.
    pub commits: Vec<CommitFacts>,
    /// For `refs/tags/*` with a non-zero `new`: what it points at.
    pub tag: Option<TagTarget>,
    /// For an update of the policy branch with a non-zero `new`: the pushed roles.toml.
    pub candidate: Option<PolicyCandidate>,
    /// For an update of the policy branch: the new commits whose tree holds the pushed
    /// roles.toml byte for byte and that descend from the current policy tip (spec §2, v2).
    /// Only their signers count as approvals: a signature on any other commit (another
    /// project's, an earlier draft) approves something else.
    pub approving: Vec<ObjectId>,
    /// For an update of the policy branch: the new commits whose tree holds the pushed
    /// roles.toml but that do not descend from the current policy tip (a proposal signed
    /// before the policy last moved): their signatures approve nothing, and the message
    /// says so.
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
