//! The validated policy: users, keys, expanded roles and rules. Pure data, built only by
//! [`crate::policy::parse`]; nothing here touches the filesystem, git or the environment.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use time::OffsetDateTime;

/// Where something is written in `roles.toml` (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number (in characters).
    pub col: usize,
}

/// A validated roles file (version 1).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Users by id.
    pub users: BTreeMap<String, User>,
    /// Roles as written (members are user or role ids), for display.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Roles expanded transitively into user ids.
    pub role_members: BTreeMap<String, BTreeSet<String>>,
    /// Who may change the policy branch (`[policy] admins`), expanded.
    pub admins: Principals,
    /// How many distinct admins must sign new commits on the policy branch.
    pub approvals: u32,
    /// Where `approvals` (else `admins`, else the top of the file) is written: where a
    /// quorum that cannot be reached is reported.
    pub quorum_location: Location,
    /// `[trust] baseline` commit ids (lowercase hex), as written.
    pub baseline: Vec<String>,
    /// `[[revoked]]` keys.
    pub revoked: Vec<Revoked>,
    /// `[[rule]]`s in file order; the first match governs a ref.
    pub rules: Vec<Rule>,
    /// Key blob (SSH wire encoding of the public key) → (user id, index into `keys`).
    pub key_index: HashMap<Vec<u8>, (String, usize)>,
    /// Pusher name → user id.
    pub name_index: HashMap<String, String>,
    /// `[settings] require_signed_push = true`: every protected ref (every ref a rule
    /// governs, and the policy branch) needs a signed push.
    pub require_signed_push: bool,
}

/// One `[users.ID]` entry.
#[derive(Debug, Clone)]
pub struct User {
    /// The user id (the TOML key).
    pub id: String,
    /// The user's public keys.
    pub keys: Vec<UserKey>,
    /// Pusher names that mean this user (default: the id).
    pub names: Vec<String>,
}

/// A user's public key with its optional expiry.
#[derive(Debug, Clone)]
pub struct UserKey {
    /// The parsed OpenSSH public key.
    pub key: ssh_key::PublicKey,
    /// SSH wire encoding of the key data; the lookup identity of a key.
    pub blob: Vec<u8>,
    /// `SHA256:...` fingerprint, as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
    /// Algorithm name, e.g. `ssh-ed25519`.
    pub algorithm: String,
    /// The key is invalid from this instant on (push time is compared against it).
    pub expires: Option<OffsetDateTime>,
    /// For a FIDO key: a signature only counts if the security key was touched (its
    /// user-presence flag is set). `true` unless the key's table says `touch_required =
    /// false`, which means what OpenSSH's `no-touch-required` means for sshd. Ignored for
    /// other key types (see [`UserKey::is_fido`]).
    pub touch_required: bool,
    /// Where the key is written.
    pub location: Location,
}

impl UserKey {
    /// Whether this is a FIDO security key (`sk-ssh-ed25519@openssh.com`,
    /// `sk-ecdsa-sha2-nistp256@openssh.com`), whose signatures carry a user-presence flag.
    pub fn is_fido(&self) -> bool {
        matches!(
            self.key.algorithm(),
            ssh_key::Algorithm::SkEd25519 | ssh_key::Algorithm::SkEcdsaSha2NistP256
        )
    }

    /// Whether a signature by this key must have the user-presence flag set: a FIDO key
    /// whose `touch_required` is not turned off.
    pub fn requires_touch(&self) -> bool {
        self.is_fido() && self.touch_required
    }
}

/// A `[[revoked]]` entry.
#[derive(Debug, Clone)]
pub struct Revoked {
    /// `SHA256:...` fingerprint.
    pub fingerprint: String,
    /// Why it was revoked, if given.
    pub reason: Option<String>,
    /// Where it is written.
    pub location: Location,
}

/// A list of principals (users and roles) from the roles file, expanded to user ids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Principals {
    /// The names as written (users, roles or `*`), for messages.
    pub written: Vec<String>,
    /// `"*"` was listed: any user of the file.
    pub any_user: bool,
    /// Expanded user ids.
    pub users: BTreeSet<String>,
}

impl Principals {
    /// Whether the (resolved) user is in this list. An unknown user (`None`) never is.
    pub fn contains(&self, user: Option<&str>) -> bool {
        match user {
            None => false,
            Some(u) => self.any_user || self.users.contains(u),
        }
    }

    /// The names as written, joined for a message (`nobody` when empty).
    pub fn describe(&self) -> String {
        if self.written.is_empty() {
            "nobody".to_string()
        } else {
            self.written.join(", ")
        }
    }
}

/// What a pusher is trying to do to a ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Fast-forward an existing ref.
    Push,
    /// Create a ref.
    Create,
    /// Delete a ref.
    Delete,
    /// Make a non-fast-forward update.
    ForcePush,
}

impl Action {
    /// The field name in a `[[rule]]`.
    pub fn field(self) -> &'static str {
        match self {
            Action::Push => "push",
            Action::Create => "create",
            Action::Delete => "delete",
            Action::ForcePush => "force_push",
        }
    }
}

/// One `[[rule]]`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// 0-based position in the file.
    pub index: usize,
    /// Where the `[[rule]]` header is written.
    pub location: Location,
    /// The `refs` patterns as written.
    pub refs: Vec<String>,
    /// Compiled `refs` patterns (git-style: `*` within a component, `**` across).
    pub matcher: globset::GlobSet,
    /// `push`: absent means anyone, including an unknown pusher.
    pub push: Option<Principals>,
    /// `create`: absent means the same as `push`.
    pub create: Option<Principals>,
    /// `delete`: absent means nobody.
    pub delete: Option<Principals>,
    /// `force_push`: absent means nobody.
    pub force_push: Option<Principals>,
    /// `signers`: absent means unsigned commits are allowed.
    pub signers: Option<Principals>,
    /// `merge`: absent means any allowed signer.
    pub merge: Option<Principals>,
    /// `linear = true`: new merge commits are rejected.
    pub linear: bool,
    /// `signed_push = true`: updates need a push certificate (`git push --signed`).
    pub signed_push: bool,
    /// One of `refs` names replace refs explicitly (its literal part starts with
    /// [`REPLACE_PREFIX`]): only such a rule can govern a replace ref (spec §14).
    pub names_replace_refs: bool,
}

/// Where git keeps replace refs. git on the server honours them (`git log`, `git show`,
/// `git archive --remote`, mirrors and web views show the replacement's tree under the
/// original commit id), so they are never unprotected: only a rule that names them
/// explicitly governs them, and without one nobody may create, move or delete them.
pub const REPLACE_PREFIX: &str = "refs/replace/";

/// Whether a `refs` pattern names replace refs explicitly: its literal part (up to the first
/// glob character) starts with [`REPLACE_PREFIX`].
pub fn pattern_names_replace_refs(pattern: &str) -> bool {
    let literal = pattern
        .find(['*', '?', '[', '{', '\\'])
        .map_or(pattern, |at| &pattern[..at]);
    literal.starts_with(REPLACE_PREFIX)
}

/// Whether `refname` is a replace ref.
pub fn is_replace_ref(refname: &str) -> bool {
    refname.starts_with(REPLACE_PREFIX)
}

impl Rule {
    /// Whether this rule's patterns match `refname`.
    pub fn matches(&self, refname: &str) -> bool {
        self.matcher.is_match(refname)
    }

    /// Whether `user` (None: unknown pusher) may perform `action` under this rule.
    pub fn allows(&self, action: Action, user: Option<&str>) -> bool {
        match self.list_for(action) {
            Some(p) => p.contains(user),
            // Absent push/create: anyone. Absent delete/force_push: nobody.
            None => matches!(action, Action::Push | Action::Create),
        }
    }

    /// The effective list for `action` (None: absent, see [`Rule::allows`]).
    pub fn list_for(&self, action: Action) -> Option<&Principals> {
        match action {
            Action::Push => self.push.as_ref(),
            Action::Create => self.create.as_ref().or(self.push.as_ref()),
            Action::Delete => self.delete.as_ref(),
            Action::ForcePush => self.force_push.as_ref(),
        }
    }

    /// Whether pushes under this rule need the new commits walked at all.
    pub fn checks_commits(&self) -> bool {
        self.signers.is_some() || self.merge.is_some() || self.linear
    }

    /// `roles.toml:LINE`, for messages.
    pub fn defined_at(&self) -> String {
        format!("roles.toml:{}", self.location.line)
    }
}

impl Policy {
    /// The first rule (in file order) whose patterns match `refname`. A replace ref is
    /// governed only by a rule that names replace refs explicitly ([`REPLACE_PREFIX`]): a
    /// broad pattern such as `refs/**` never opens them.
    pub fn rule_for(&self, refname: &str) -> Option<&Rule> {
        if is_replace_ref(refname) {
            return self
                .rules
                .iter()
                .find(|r| r.names_replace_refs && r.matches(refname));
        }
        self.rules.iter().find(|r| r.matches(refname))
    }

    /// The user a pusher name maps to through `names`.
    pub fn user_for_name(&self, name: &str) -> Option<&User> {
        self.name_index.get(name).and_then(|id| self.users.get(id))
    }

    /// The user holding a key, looked up by the key's wire encoding.
    pub fn key_owner(&self, blob: &[u8]) -> Option<(&User, &UserKey)> {
        let (id, idx) = self.key_index.get(blob)?;
        let user = self.users.get(id)?;
        Some((user, user.keys.get(*idx)?))
    }

    /// Whether an update of `refname` needs a signed push, and why (for the message):
    /// `[settings] require_signed_push` covers the policy branch and every ref a rule
    /// governs; a rule's `signed_push` covers its refs.
    pub fn signed_push_requirement(&self, refname: &str, policy_ref: &str) -> Option<String> {
        let rule = self.rule_for(refname);
        if self.require_signed_push && (refname == policy_ref || rule.is_some()) {
            return Some("[settings] require_signed_push".to_string());
        }
        match rule {
            Some(rule) if rule.signed_push && refname != policy_ref => {
                Some(format!("signed_push = true, rule {}", rule.defined_at()))
            }
            _ => None,
        }
    }

    /// The `[[revoked]]` entry for a fingerprint, if any.
    pub fn revocation(&self, fingerprint: &str) -> Option<&Revoked> {
        self.revoked.iter().find(|r| r.fingerprint == fingerprint)
    }
}
