//! The validated policy: users, keys, expanded roles and rules. Pure data, built only by
//! [`crate::policy::parse`]; nothing here touches the filesystem, git or the environment.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::lists::{Absent, LIST_KINDS, ListKind};
use crate::openpgp::{Certificate, KeyState, SharedCertificate};
use crate::signature::{KeyId, KeyKind};

/// Which roles file something is written in: the repository's own, or the organisation's
/// (spec §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum PolicyFile {
    /// The repository's roles.toml.
    #[default]
    Repo,
    /// The organisation's roles.toml.
    Org,
}

impl PolicyFile {
    /// How locations in this file are named: `roles.toml` or `org:roles.toml`.
    pub fn name(self) -> &'static str {
        match self {
            PolicyFile::Repo => "roles.toml",
            PolicyFile::Org => "org:roles.toml",
        }
    }
}

/// Where something is written in a roles file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Location {
    /// Which roles file.
    pub file: PolicyFile,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number (in characters).
    pub col: usize,
}

impl Location {
    /// A location in the repository's roles.toml.
    pub const fn new(line: usize, col: usize) -> Location {
        Location {
            file: PolicyFile::Repo,
            line,
            col,
        }
    }
}

impl fmt::Display for Location {
    /// `roles.toml:12` or `org:roles.toml:12`: file and line, as messages name rules.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.name(), self.line)
    }
}

impl Serialize for Location {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A validated roles file (version 1).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Users by id.
    pub users: BTreeMap<String, User>,
    /// Roles as written (members are user or role ids), for display.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Roles expanded transitively into user ids (shared with the lists that are exactly a
    /// role's members, [`Principals::users`]).
    pub role_members: BTreeMap<String, Arc<BTreeSet<String>>>,
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
    /// `[[path]]` entries in file order; every entry whose `refs` match applies (spec §9).
    pub paths: Vec<PathEntry>,
    /// The key and pusher-name indexes of `users`, built when first needed
    /// ([`Policy::key_owner`], [`Policy::user_for_name`]).
    pub indexes: Indexes,
    /// `[settings] require_signed_push = true`: every protected ref (every ref a rule
    /// governs, and the policy branch) needs a signed push.
    pub require_signed_push: bool,
    /// `[[grant]]`s in file order: time-boxed role membership (spec §8).
    pub grants: Grants,
    /// `[settings] max_grant`: the longest window a grant may have (default
    /// [`DEFAULT_MAX_GRANT`]).
    pub max_grant: Duration,
    /// The files beside roles.toml it references (OpenPGP certificates), by path relative to
    /// it, with their bytes as read: what an approval of a policy change must carry byte for
    /// byte besides roles.toml (spec §2), and what `init` and `policy reset` write.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Key identity (kind and lookup bytes, as [`crate::signature::KeyId`] has them) → (user id,
/// index into its `keys`).
pub type KeyIndex = HashMap<(KeyKind, Vec<u8>), (String, usize)>;

/// Pusher name → user id.
pub type NameIndex = HashMap<String, String>;

/// How many lookups of one kind (keys, names) a policy answers by walking its users before it
/// builds the index for that kind. A push looks up a handful of keys and one pusher name: under
/// a 10,000-user policy a walk costs ~0.1 ms and building an index ~2 ms (an allocation per
/// key and name), so a small push never builds one; a push of many commits by many signers
/// builds it after these walks and then looks up in constant time.
pub const WALKS_BEFORE_INDEX: u32 = 16;

/// The key and pusher-name indexes of a policy, derived from its users alone and built on
/// demand ([`WALKS_BEFORE_INDEX`]). Every answer is the one the built index would give: the
/// first listing (in user-id order, then key order) wins, and a valid policy lists each key
/// and pusher name for one user only (anything else is a validation error), so it is also
/// what the parser's validation found.
///
/// Whoever changes `users` after a lookup calls [`Indexes::reset`]; a policy is built whole
/// (by the parser, the cache or [`Policy::join_org`]) and not changed afterwards.
#[derive(Debug, Default)]
pub struct Indexes {
    keys: OnceLock<KeyIndex>,
    names: OnceLock<NameIndex>,
    key_walks: AtomicU32,
    name_walks: AtomicU32,
}

impl Clone for Indexes {
    /// Not built: the clone builds its own when it needs them.
    fn clone(&self) -> Indexes {
        Indexes::default()
    }
}

impl Indexes {
    /// Forgets what was built (after the users changed).
    pub fn reset(&mut self) {
        *self = Indexes::default();
    }

    /// Whether the next lookup of this kind should build the index rather than walk.
    fn build_now(walks: &AtomicU32) -> bool {
        walks.fetch_add(1, Ordering::Relaxed) >= WALKS_BEFORE_INDEX
    }
}

/// The key index of `users`: see [`Indexes`].
fn key_index_of(users: &BTreeMap<String, User>) -> KeyIndex {
    let mut index = KeyIndex::with_capacity(users.len());
    for (id, user) in users {
        for (k, key) in user.keys.iter().enumerate() {
            index
                .entry((key.kind, key.blob.clone()))
                .or_insert_with(|| (id.clone(), k));
        }
    }
    index
}

/// The pusher-name index of `users`: see [`Indexes`].
fn name_index_of(users: &BTreeMap<String, User>) -> NameIndex {
    let mut index = NameIndex::with_capacity(users.len());
    for (id, user) in users {
        for name in &user.names {
            index.entry(name.clone()).or_insert_with(|| id.clone());
        }
    }
    index
}

/// How long a grant may last when `[settings] max_grant` is not written (spec §8).
pub const DEFAULT_MAX_GRANT: Duration = Duration::days(7);

/// The `[[grant]]`s of a policy, in file order (as a slice), indexed by user: membership is
/// asked about one user at a time, for every new commit of a push, and a policy may carry
/// many grants (judging a push of 100,000 commits under 1,000 grants took 1.6 s scanning
/// them all for every commit, 40 ms with this index).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    all: Vec<Grant>,
    by_user: HashMap<String, Vec<usize>>,
}

impl Grants {
    /// The grants, indexed.
    pub fn new(all: Vec<Grant>) -> Grants {
        let mut by_user: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, grant) in all.iter().enumerate() {
            by_user.entry(grant.user.clone()).or_default().push(i);
        }
        Grants { all, by_user }
    }

    /// The grants of `user`, in file order.
    pub fn of_user<'a>(&'a self, user: &str) -> impl Iterator<Item = &'a Grant> {
        self.by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.all.get(i))
    }
}

impl std::ops::Deref for Grants {
    type Target = [Grant];

    fn deref(&self) -> &[Grant] {
        &self.all
    }
}

impl<'a> IntoIterator for &'a Grants {
    type Item = &'a Grant;
    type IntoIter = std::slice::Iter<'a, Grant>;

    fn into_iter(self) -> Self::IntoIter {
        self.all.iter()
    }
}

impl From<Vec<Grant>> for Grants {
    fn from(all: Vec<Grant>) -> Grants {
        Grants::new(all)
    }
}

/// One `[[grant]]`: `user` is a member of `role` while `from <= t < until` (spec §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The granted user's id.
    pub user: String,
    /// The role granted.
    pub role: String,
    /// When it starts; `None`: as soon as the policy that carries it is in force.
    pub from: Option<OffsetDateTime>,
    /// When it ends: from this instant on, it grants nothing.
    pub until: OffsetDateTime,
    /// Why it was granted (an incident, a ticket).
    pub reason: String,
    /// Where the `[[grant]]` header is written.
    pub location: Location,
    /// Where its `until` value is written (where a window that is too long is reported).
    pub until_location: Location,
}

/// Where a grant stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GrantStatus {
    /// `from` is still to come.
    Pending,
    /// `from <= t < until`: the user holds the role.
    Active,
    /// `until` has come: it grants nothing any more.
    Ended,
}

impl GrantStatus {
    /// The word used in text output.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantStatus::Pending => "pending",
            GrantStatus::Active => "active",
            GrantStatus::Ended => "ended",
        }
    }
}

impl Grant {
    /// Where the grant stands at `at`: pending before `from`, ended from `until` on (the
    /// boundary instant is ended, as for key expiry), active in between.
    pub fn status_at(&self, at: OffsetDateTime) -> GrantStatus {
        if self.from.is_some_and(|from| at < from) {
            GrantStatus::Pending
        } else if self.until <= at {
            GrantStatus::Ended
        } else {
            GrantStatus::Active
        }
    }

    /// Whether `user` holds `role` through this grant at `at`.
    pub fn is_active_at(&self, at: OffsetDateTime) -> bool {
        self.status_at(at) == GrantStatus::Active
    }

    /// Whether this grant, while active, makes its user a member of `list`: the list names
    /// the granted role, or a role that includes it.
    pub fn opens(&self, list: &Principals) -> bool {
        list.roles.contains(&self.role)
    }

    /// Whether this grant makes its user a member of `list` at `at`: it opens the list and
    /// is active then. The one place that judges a grant for membership.
    pub fn applies(&self, list: &Principals, at: OffsetDateTime) -> bool {
        self.opens(list) && self.is_active_at(at)
    }
}

/// Why a user is a member of a list at some time ([`Policy::membership`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership<'p> {
    /// Listed: by name, through a role, or as `"*"`. Holds at any time.
    Listed,
    /// Only through this time-boxed grant, active at the time asked about.
    Granted(&'p Grant),
}

impl<'p> Membership<'p> {
    /// The grant the membership rests on, if it rests on one.
    pub fn grant(self) -> Option<&'p Grant> {
        match self {
            Membership::Listed => None,
            Membership::Granted(grant) => Some(grant),
        }
    }
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

/// The key material a user lists: an OpenSSH public key or an OpenPGP certificate.
#[derive(Debug, Clone)]
pub enum KeyMaterial {
    /// An OpenSSH public key line, parsed.
    Ssh(ssh_key::PublicKey),
    /// An OpenPGP certificate (spec §12), its self-signatures verified; shared with the
    /// keyring signatures are verified with.
    OpenPgp(SharedCertificate),
}

/// A user's public key with its optional expiry.
#[derive(Debug, Clone)]
pub struct UserKey {
    /// The parsed key: an OpenSSH public key or an OpenPGP certificate.
    pub material: KeyMaterial,
    /// What kind of key (the lookup namespace of `blob`).
    pub kind: KeyKind,
    /// The lookup identity of the key: for SSH, the wire encoding of its key data; for
    /// OpenPGP, the certificate's primary key fingerprint.
    pub blob: Vec<u8>,
    /// `SHA256:...` fingerprint, as `ssh-keygen -lf` prints it; for OpenPGP, `openpgp:` and
    /// the primary key's fingerprint.
    pub fingerprint: String,
    /// Algorithm name, e.g. `ssh-ed25519` (for OpenPGP, the primary key's: `ed25519`,
    /// `rsa3072`).
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
    /// For an OpenPGP certificate: its file, relative to roles.toml.
    pub file: Option<String>,
}

impl UserKey {
    /// Whether this is a FIDO security key (`sk-ssh-ed25519@openssh.com`,
    /// `sk-ecdsa-sha2-nistp256@openssh.com`), whose signatures carry a user-presence flag.
    pub fn is_fido(&self) -> bool {
        matches!(
            &self.material,
            KeyMaterial::Ssh(key) if matches!(
                key.algorithm(),
                ssh_key::Algorithm::SkEd25519 | ssh_key::Algorithm::SkEcdsaSha2NistP256
            )
        )
    }

    /// The OpenSSH public key, when this key is one.
    pub fn ssh(&self) -> Option<&ssh_key::PublicKey> {
        match &self.material {
            KeyMaterial::Ssh(key) => Some(key),
            KeyMaterial::OpenPgp(_) => None,
        }
    }

    /// The OpenPGP certificate, when this key is one.
    pub fn certificate(&self) -> Option<&Certificate> {
        match &self.material {
            KeyMaterial::OpenPgp(cert) => Some(cert),
            KeyMaterial::Ssh(_) => None,
        }
    }

    /// Whether a signature by this key must have the user-presence flag set: a FIDO key
    /// whose `touch_required` is not turned off.
    pub fn requires_touch(&self) -> bool {
        self.is_fido() && self.touch_required
    }
}

/// Whether a key may sign at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyStatus {
    /// Neither revoked nor expired.
    Active,
    /// Its `expires` is at or before the time asked about.
    Expired,
    /// Its fingerprint is under `[[revoked]]` (this wins over expired).
    Revoked,
}

impl KeyStatus {
    /// The word used in text output.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Expired => "expired",
            KeyStatus::Revoked => "revoked",
        }
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
    /// Expanded user ids. Shared, not copied, where a list is exactly a role's members
    /// ([`Policy::role_members`]): under a 10,000-user policy whose rules name a `developers`
    /// role, one set of 10,000 ids serves the role and every list naming it.
    pub users: Arc<BTreeSet<String>>,
    /// The roles listed, and the roles they include, transitively: a time-boxed grant of
    /// any of them makes its user a member while it lasts (spec §8).
    pub roles: BTreeSet<String>,
}

impl Principals {
    /// Whether the (resolved) user is in this list as written, whatever the time. An unknown
    /// user (`None`) never is. Judging at a time goes through [`Policy::member`].
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
    /// The lists as written (`None`: absent), indexed by [`ListKind`]; what absence means
    /// is in [`super::LISTS`].
    pub lists: [Option<Principals>; LIST_KINDS],
    /// `linear = true`: new merge commits are rejected.
    pub linear: bool,
    /// `signed_push = true`: updates need a push certificate (`git push --signed`).
    pub signed_push: bool,
    /// `approvals = { ... }`: updates need approvals (spec §7).
    pub approvals: Option<ApprovalRule>,
    /// One of `refs` names replace refs explicitly (its literal part starts with
    /// [`REPLACE_PREFIX`]): only such a rule can govern a replace ref (spec §14).
    pub names_replace_refs: bool,
    /// `mode = "evaluate"`: a shadow (spec §11), never part of first-match, judged in
    /// addition to the governing rule, its findings warnings.
    pub evaluate: bool,
}

/// One `[[path]]` entry (spec §9): changes to `paths` on refs matching `refs` need
/// signatures by `signers` and/or `approvals`, in addition to whatever rule governs the ref.
#[derive(Debug, Clone)]
pub struct PathEntry {
    /// 0-based position among the `[[path]]` entries of its file.
    pub index: usize,
    /// Where the `[[path]]` header is written.
    pub location: Location,
    /// The path globs as written.
    pub paths: Vec<String>,
    /// Compiled `paths` (git-style: `*` within a component, `**` across).
    pub path_matcher: globset::GlobSet,
    /// The ref patterns as written (default `refs/heads/**`).
    pub refs: Vec<String>,
    /// Compiled `refs`.
    pub ref_matcher: globset::GlobSet,
    /// `signers`: each new commit touching the paths must be signed by one of these.
    pub signers: Option<Principals>,
    /// `approvals`: an update whose new commits touch the paths needs these approvals.
    pub approvals: Option<ApprovalRule>,
    /// `mode = "evaluate"`: its findings are warnings (spec §11).
    pub evaluate: bool,
}

impl PartialEq for PathEntry {
    /// The same entry: same place, same patterns (the compiled matchers follow from them).
    fn eq(&self, other: &PathEntry) -> bool {
        (self.index, self.location, &self.paths, &self.refs)
            == (other.index, other.location, &other.paths, &other.refs)
            && (&self.signers, &self.approvals) == (&other.signers, &other.approvals)
            && self.evaluate == other.evaluate
    }
}

impl Eq for PathEntry {}

impl PathEntry {
    /// Whether this entry applies to updates of `refname`.
    pub fn applies_to(&self, refname: &str) -> bool {
        self.ref_matcher.is_match(refname)
    }

    /// The first of `paths` (as written) that `path` matches, if any.
    pub fn pattern_for(&self, path: &str) -> Option<&str> {
        self.path_matcher
            .matches(path)
            .first()
            .map(|&i| self.paths[i].as_str())
    }

    /// The paths of `paths` this entry's globs match, in order.
    pub fn matching(&self, paths: &[String]) -> Vec<String> {
        paths
            .iter()
            .filter(|p| self.pattern_for(p).is_some())
            .cloned()
            .collect()
    }

    /// The literal start of each path glob (up to its first glob character), for pruning
    /// tree walks: a directory no prefix points into (or out of) cannot hold a match.
    pub fn literal_prefixes(&self) -> Vec<&str> {
        self.paths
            .iter()
            .map(|p| {
                p.find(['*', '?', '[', '{', '\\'])
                    .map_or(p.as_str(), |at| &p[..at])
            })
            .collect()
    }
}

/// `approvals = { by, count, on, allow_self }` (spec §7): an update of one of the kinds `on`
/// needs `count` approvals by distinct members of `by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRule {
    /// Who may approve.
    pub by: Principals,
    /// How many distinct approvers an update needs (at least 1).
    pub count: u32,
    /// Which kinds of update need approvals: `Create`, `Push` (fast-forward), `ForcePush`.
    pub on: Vec<ListKind>,
    /// Whether the pusher's own approval counts (default: no — separation of duties).
    pub allow_self: bool,
    /// Where `approvals` is written.
    pub location: Location,
}

impl ApprovalRule {
    /// The kinds of update `on` can name, as written: `create`, `push`, `force_push`.
    pub const KINDS: [ListKind; 3] = [ListKind::Create, ListKind::Push, ListKind::ForcePush];

    /// Whether an update needing permission `list` needs approvals.
    pub fn applies_to(&self, list: ListKind) -> bool {
        self.on.contains(&list)
    }
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

/// The list that decides for one [`ListKind`] of a rule, once absence is spelled out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effective<'a> {
    /// A list as written; `via` is the field it was written as (`Push` for an absent
    /// `create`).
    Listed {
        /// The list.
        list: &'a Principals,
        /// The field it was written as.
        via: ListKind,
    },
    /// No list applies: the field (and what it falls back to) is absent.
    Absent(Absent),
}

impl Rule {
    /// Whether this rule's patterns match `refname`.
    pub fn matches(&self, refname: &str) -> bool {
        self.matcher.is_match(refname)
    }

    /// The list `kind` as written (`None`: absent).
    pub fn list(&self, kind: ListKind) -> Option<&Principals> {
        self.lists[kind as usize].as_ref()
    }

    /// Sets the list `kind`.
    pub fn set_list(&mut self, kind: ListKind, list: Option<Principals>) {
        self.lists[kind as usize] = list;
    }

    /// The list that decides `kind`, following [`Absent::SameAs`].
    pub fn effective(&self, kind: ListKind) -> Effective<'_> {
        match self.list(kind) {
            Some(list) => Effective::Listed { list, via: kind },
            None => match kind.spec().absent {
                Absent::SameAs(other) => self.effective(other),
                absent => Effective::Absent(absent),
            },
        }
    }

    /// Whether pushes under this rule need the new commits walked at all.
    pub fn checks_commits(&self) -> bool {
        self.list(ListKind::Signers).is_some()
            || self.list(ListKind::Merge).is_some()
            || self.linear
    }
}

impl Policy {
    /// The rules that govern `refname`: the first enforced rule (in file order) whose
    /// patterns match it, in each file — the repository's, then (under an organisation
    /// policy, spec §10) the organisation's, each of which must be passed. A replace ref is
    /// governed only by a rule that names replace refs explicitly ([`REPLACE_PREFIX`]): a
    /// broad pattern such as `refs/**` never opens them.
    pub fn rules_for(&self, refname: &str) -> Vec<&Rule> {
        let replace = is_replace_ref(refname);
        let mut governing: Vec<&Rule> = Vec::with_capacity(2);
        for rule in &self.rules {
            // A shadow (spec §11) governs nothing, replace refs included.
            if !rule.evaluate
                && (!replace || rule.names_replace_refs)
                && !governing
                    .iter()
                    .any(|g| g.location.file == rule.location.file)
                && rule.matches(refname)
            {
                governing.push(rule);
            }
        }
        governing
    }

    /// The first rule of [`Policy::rules_for`]: the repository's governing rule, else the
    /// organisation's.
    pub fn rule_for(&self, refname: &str) -> Option<&Rule> {
        self.rules_for(refname).into_iter().next()
    }

    /// This repository's own policy joined with the organisation policy it was validated
    /// under ([`crate::policy::parse_under`], spec §10): the users, roles, `[[revoked]]`
    /// keys and `[[grant]]`s of both; both files' rules (the repository's first, each keeping
    /// its file, so [`Policy::rules_for`] finds one per file) and `[[path]]` entries; this
    /// repository's `[policy]`, `[trust]`, `max_grant` and referenced files (they are per
    /// file); a signed push required if either file requires it. The organisation's maps are
    /// kept and the repository's (small) ones moved into them.
    pub fn join_org(self, org: Policy) -> Policy {
        let own = self;
        let mut joined = org;
        joined.users.extend(own.users);
        joined.roles.extend(own.roles);
        joined.role_members.extend(own.role_members);
        joined.revoked.extend(own.revoked);
        // Built again from the joined users when needed.
        joined.indexes.reset();
        let mut grants = std::mem::take(&mut joined.grants.all);
        grants.extend(own.grants.all);
        let mut rules = own.rules;
        rules.append(&mut joined.rules);
        let mut paths = own.paths;
        paths.append(&mut joined.paths);
        Policy {
            admins: own.admins,
            approvals: own.approvals,
            quorum_location: own.quorum_location,
            baseline: own.baseline,
            rules,
            paths,
            require_signed_push: own.require_signed_push || joined.require_signed_push,
            grants: Grants::new(grants),
            max_grant: own.max_grant,
            files: own.files,
            ..joined
        }
    }

    /// The rules in evaluate mode whose `refs` match `refname`, in file order: each is judged
    /// in addition to the governing rule (spec §11). Replace refs, which only rules naming
    /// them can govern, are shadowed the same way.
    pub fn shadows_for(&self, refname: &str) -> Vec<&Rule> {
        let replace = is_replace_ref(refname);
        self.rules
            .iter()
            .filter(|r| r.evaluate && r.matches(refname) && (!replace || r.names_replace_refs))
            .collect()
    }

    /// The user a pusher name maps to through `names`.
    pub fn user_for_name(&self, name: &str) -> Option<&User> {
        let indexes = &self.indexes;
        if indexes.names.get().is_none() && !Indexes::build_now(&indexes.name_walks) {
            return self
                .users
                .values()
                .find(|user| user.names.iter().any(|n| n == name));
        }
        self.name_index()
            .get(name)
            .and_then(|id| self.users.get(id))
    }

    /// The user holding the key that made a signature, looked up by its identity.
    pub fn key_owner(&self, key: &KeyId) -> Option<(&User, &UserKey)> {
        self.key_holder(key.kind, &key.blob)
    }

    /// The user holding the key of `kind` whose lookup bytes are `blob` (as
    /// [`UserKey::blob`]), with that key.
    pub fn key_holder(&self, kind: KeyKind, blob: &[u8]) -> Option<(&User, &UserKey)> {
        let indexes = &self.indexes;
        if indexes.keys.get().is_none() && !Indexes::build_now(&indexes.key_walks) {
            return self.users.values().find_map(|user| {
                let key = user
                    .keys
                    .iter()
                    .find(|k| k.kind == kind && k.blob == blob)?;
                Some((user, key))
            });
        }
        let (id, idx) = self.key_index().get(&(kind, blob.to_vec()))?;
        let user = self.users.get(id)?;
        Some((user, user.keys.get(*idx)?))
    }

    /// The key index of the users, built now if it was not yet ([`Indexes`]).
    pub fn key_index(&self) -> &KeyIndex {
        self.indexes.keys.get_or_init(|| key_index_of(&self.users))
    }

    /// The pusher-name index of the users, built now if it was not yet ([`Indexes`]).
    pub fn name_index(&self) -> &NameIndex {
        self.indexes
            .names
            .get_or_init(|| name_index_of(&self.users))
    }

    /// Whether an update of `refname` needs a signed push, and why (for the message):
    /// `[settings] require_signed_push` covers the policy branch and every ref a rule
    /// governs; a rule's `signed_push` covers its refs.
    pub fn signed_push_requirement(&self, refname: &str, policy_ref: &str) -> Option<String> {
        let rules = self.rules_for(refname);
        if self.require_signed_push && (refname == policy_ref || !rules.is_empty()) {
            return Some("[settings] require_signed_push".to_string());
        }
        rules
            .into_iter()
            .find(|rule| rule.signed_push && refname != policy_ref)
            .map(|rule| format!("signed_push = true, rule {}", rule.location))
    }

    /// Why `user` (None: an unknown pusher) is a member of `list` at `at`, or `None` when
    /// they are not: listed (by name, through a role, or `"*"`), or else (spec §8) granted
    /// one of its roles for a window that contains `at`. Where several grants apply, the one
    /// that lasts longest. THE membership function: [`Policy::member`],
    /// [`Policy::memberships_at`] and so the engine, `who-can`, `policy show` and the history
    /// audit all judge through it.
    pub fn membership(
        &self,
        list: &Principals,
        user: Option<&str>,
        at: OffsetDateTime,
    ) -> Option<Membership<'_>> {
        let user = user?;
        if list.contains(Some(user)) {
            return Some(Membership::Listed);
        }
        self.grants
            .of_user(user)
            .filter(|g| g.applies(list, at))
            .max_by_key(|g| g.until)
            .map(Membership::Granted)
    }

    /// Whether `user` is a member of `list` at `at` ([`Policy::membership`]).
    pub fn member(&self, list: &Principals, user: Option<&str>, at: OffsetDateTime) -> bool {
        self.membership(list, user, at).is_some()
    }

    /// Every user who is a member of `list` at `at`, with why ([`Policy::membership`] for
    /// each user of the file, computed in one pass).
    pub fn memberships_at(
        &self,
        list: &Principals,
        at: OffsetDateTime,
    ) -> BTreeMap<String, Membership<'_>> {
        let listed: Vec<&String> = if list.any_user {
            self.users.keys().collect()
        } else {
            list.users.iter().collect()
        };
        let mut out: BTreeMap<String, Membership<'_>> = listed
            .into_iter()
            .map(|id| (id.clone(), Membership::Listed))
            .collect();
        for grant in self.grants.iter().filter(|g| g.applies(list, at)) {
            match out.get(&grant.user) {
                Some(Membership::Listed) => {}
                Some(Membership::Granted(other)) if other.until >= grant.until => {}
                _ => {
                    out.insert(grant.user.clone(), Membership::Granted(grant));
                }
            }
        }
        out
    }

    /// Every user who is a member of `list` at `at` ([`Policy::memberships_at`]).
    pub fn members_at(&self, list: &Principals, at: OffsetDateTime) -> BTreeSet<String> {
        self.memberships_at(list, at).into_keys().collect()
    }

    /// A grant that would make `user` a member of `list` at another time but not at `at`
    /// (the most recently ended one, else the next to start): what a rejection tells a
    /// grantee whose window has closed or not opened yet.
    pub fn inactive_grant(
        &self,
        list: &Principals,
        user: &str,
        at: OffsetDateTime,
    ) -> Option<&Grant> {
        let related = || self.grants.of_user(user).filter(|g| g.opens(list));
        related()
            .filter(|g| g.status_at(at) == GrantStatus::Ended)
            .max_by_key(|g| g.until)
            .or_else(|| {
                related()
                    .filter(|g| g.status_at(at) == GrantStatus::Pending)
                    .min_by_key(|g| g.from)
            })
    }

    /// Whether a user's key may sign at `at`: revoked wins over expired (the boundary
    /// instant is expired), as the engine judges a signature. An OpenPGP certificate is
    /// active when one of its signing keys is ([`Certificate::state_at`], with `[[revoked]]`
    /// naming the certificate or the key); otherwise expired when one of them has expired,
    /// else revoked (which covers a key whose binding no longer lets it sign).
    pub fn key_status(&self, key: &UserKey, at: OffsetDateTime) -> KeyStatus {
        if self.revocation(&key.fingerprint).is_some() {
            return KeyStatus::Revoked;
        }
        if key.expires.is_some_and(|e| e <= at) {
            return KeyStatus::Expired;
        }
        let Some(cert) = key.certificate() else {
            return KeyStatus::Active;
        };
        let mut status = KeyStatus::Revoked;
        for k in cert
            .keys
            .iter()
            .filter(|k| k.refused.is_none() && cert.can_ever_sign(k))
        {
            if self.revocation(&k.name()).is_some() {
                continue;
            }
            match cert.state_at(k, at) {
                KeyState::Active { .. } => return KeyStatus::Active,
                KeyState::Expired { .. } => status = KeyStatus::Expired,
                KeyState::Revoked { .. } | KeyState::Unusable { .. } => {}
            }
        }
        status
    }

    /// The `[[revoked]]` entry for a fingerprint, if any.
    pub fn revocation(&self, fingerprint: &str) -> Option<&Revoked> {
        self.revoked.iter().find(|r| r.fingerprint == fingerprint)
    }

    /// The `[[revoked]]` entry for the key that made a signature: by its own fingerprint,
    /// or for an OpenPGP subkey by its certificate's.
    pub fn revocation_of(&self, key: &KeyId) -> Option<&Revoked> {
        key.names().find_map(|name| self.revocation(name))
    }

    /// Every OpenPGP certificate the users list (what the keyring of a push is built from).
    pub fn certificates(&self) -> impl Iterator<Item = &SharedCertificate> {
        self.users
            .values()
            .flat_map(|u| u.keys.iter())
            .filter_map(|k| match &k.material {
                KeyMaterial::OpenPgp(cert) => Some(cert),
                KeyMaterial::Ssh(_) => None,
            })
    }
}
