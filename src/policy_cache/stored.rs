//! The stored form of a [`Policy`]: plain serde data, converted from a validated policy and
//! back. What parsing computed is stored as it is (expanded roles and lists included) so
//! that a loaded policy judges exactly as the parsed one; only what cannot be serialized is
//! rebuilt from what it was made of: SSH keys from their wire bytes, OpenPGP certificates
//! from their packets, glob matchers from the patterns as written. The key and pusher-name
//! indexes follow from the users and are built on demand ([`crate::policy::Indexes`]).
//!
//! A user id in a list (a role's members, an expanded list) is stored as the user's position
//! in [`StoredPolicy::users`] ([`StoredName`]), and a user's pusher names as nothing when
//! they are the default (the id alone): under a 10,000-user policy whose lists name every
//! user, this keeps one copy of each id in an entry rather than six, so the entry is smaller
//! to read and check and has fewer strings to decode.
//!
//! The conversions destructure every struct exhaustively, so a field added to the policy
//! model does not compile until it is stored here too (and [`super::FORMAT`] is bumped).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::openpgp::{Certificate, SharedCertificate};
use crate::policy::{
    ApprovalRule, Grant, KeyMaterial, LIST_KINDS, ListKind, Location, PathEntry, Policy,
    PolicyFile, Principals, Revoked, Rule, User, UserKey,
};
use crate::signature::KeyKind;

/// Why a stored policy could not be turned back into a [`Policy`] (the cache entry is then
/// ignored and the policy parsed again).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unusable(String);

fn unusable(what: impl Into<String>) -> Unusable {
    Unusable(what.into())
}

/// A whole policy.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(super) struct StoredPolicy {
    /// In user-id order (the order of [`Policy::users`]).
    users: Vec<StoredUser>,
    roles: Vec<(String, Vec<StoredName>)>,
    role_members: Vec<(String, Vec<StoredName>)>,
    admins: StoredPrincipals,
    approvals: u32,
    quorum_location: StoredLocation,
    baseline: Vec<String>,
    revoked: Vec<StoredRevoked>,
    rules: Vec<StoredRule>,
    paths: Vec<StoredPath>,
    require_signed_push: bool,
    grants: Vec<StoredGrant>,
    max_grant: StoredDuration,
    files: Vec<(String, ByteBuf)>,
}

/// Bytes stored as one byte string, not as a sequence of integers.
type ByteBuf = serde_bytes::ByteBuf;

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum StoredKeyKind {
    Ssh,
    OpenPgp,
}

/// A name in a list: a user's position in [`StoredPolicy::users`], or any other name (a
/// role, `*`, an id that is not a user of this policy) as it is.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum StoredName {
    User(u32),
    Other(String),
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct StoredUser {
    id: String,
    keys: Vec<StoredKey>,
    /// `None`: the id alone (the default when `names` is not written).
    names: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum StoredMaterial {
    /// An OpenSSH key: rebuilt from `blob` (its wire bytes), with its comment.
    Ssh { comment: String },
    /// An OpenPGP certificate, as its packets (a joined policy keeps only the repository's
    /// files, so the organisation's certificates are not in `Policy::files`), parsed again
    /// on load, its self-signatures verified as parsing the policy does.
    OpenPgp { certificate: ByteBuf },
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct StoredKey {
    material: StoredMaterial,
    kind: StoredKeyKind,
    blob: ByteBuf,
    fingerprint: String,
    algorithm: String,
    expires: Option<StoredTime>,
    touch_required: bool,
    location: StoredLocation,
    file: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Copy)]
struct StoredLocation {
    org: bool,
    line: u64,
    col: u64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Copy)]
struct StoredTime {
    unix_nanos: i128,
    offset_seconds: i32,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Copy)]
struct StoredDuration {
    seconds: i64,
    nanos: i32,
}

/// Sets are stored as their sorted elements and rebuilt in bulk (`FromIterator` of a sorted
/// sequence builds the tree in one pass; inserting 10,000 user ids one by one costs a
/// comparison walk each).
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct StoredPrincipals {
    written: Vec<String>,
    any_user: bool,
    users: StoredMembers,
    roles: Vec<String>,
}

/// The expanded users of a list.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum StoredMembers {
    /// Exactly the members of this role ([`Policy::role_members`]): loaded as that role's
    /// set, shared.
    Role(String),
    /// Anything else, one by one.
    Listed(Vec<StoredName>),
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct StoredRevoked {
    fingerprint: String,
    reason: Option<String>,
    location: StoredLocation,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct StoredRule {
    index: u64,
    location: StoredLocation,
    refs: Vec<String>,
    lists: [Option<StoredPrincipals>; LIST_KINDS],
    linear: bool,
    signed_push: bool,
    approvals: Option<StoredApproval>,
    names_replace_refs: bool,
    evaluate: bool,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct StoredPath {
    index: u64,
    location: StoredLocation,
    paths: Vec<String>,
    refs: Vec<String>,
    signers: Option<StoredPrincipals>,
    approvals: Option<StoredApproval>,
    evaluate: bool,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct StoredApproval {
    by: StoredPrincipals,
    count: u32,
    on: Vec<u8>,
    allow_self: bool,
    location: StoredLocation,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct StoredGrant {
    user: String,
    role: String,
    from: Option<StoredTime>,
    until: StoredTime,
    reason: String,
    location: StoredLocation,
    until_location: StoredLocation,
}

const LIST_ORDER: [ListKind; LIST_KINDS] = [
    ListKind::Push,
    ListKind::Create,
    ListKind::Delete,
    ListKind::ForcePush,
    ListKind::Signers,
    ListKind::Merge,
];

fn list_code(kind: ListKind) -> u8 {
    match kind {
        ListKind::Push => 0,
        ListKind::Create => 1,
        ListKind::Delete => 2,
        ListKind::ForcePush => 3,
        ListKind::Signers => 4,
        ListKind::Merge => 5,
    }
}

fn list_kind(code: u8) -> Result<ListKind, Unusable> {
    LIST_ORDER
        .get(usize::from(code))
        .copied()
        .ok_or_else(|| unusable(format!("unknown list kind {code}")))
}

impl StoredPolicy {
    /// The stored form of a validated policy.
    pub(super) fn from_policy(policy: &Policy) -> StoredPolicy {
        let Policy {
            users,
            roles,
            role_members,
            admins,
            approvals,
            quorum_location,
            baseline,
            revoked,
            rules,
            paths,
            // Follow from the users: built on demand after loading.
            indexes: _,
            require_signed_push,
            grants,
            max_grant,
            files,
        } = policy;
        let at = Positions(
            users
                .keys()
                .enumerate()
                .filter_map(|(i, id)| Some((id.as_str(), u32::try_from(i).ok()?)))
                .collect(),
            role_members,
        );
        StoredPolicy {
            users: users.values().map(store_user).collect(),
            roles: roles
                .iter()
                .map(|(role, members)| (role.clone(), at.names(members)))
                .collect(),
            role_members: role_members
                .iter()
                .map(|(role, members)| (role.clone(), at.names(members.iter())))
                .collect(),
            admins: store_principals(admins, &at),
            approvals: *approvals,
            quorum_location: store_location(*quorum_location),
            baseline: baseline.clone(),
            revoked: revoked.iter().map(store_revoked).collect(),
            rules: rules.iter().map(|r| store_rule(r, &at)).collect(),
            paths: paths.iter().map(|p| store_path(p, &at)).collect(),
            require_signed_push: *require_signed_push,
            grants: grants.iter().map(store_grant).collect(),
            max_grant: StoredDuration {
                seconds: max_grant.whole_seconds(),
                nanos: max_grant.subsec_nanoseconds(),
            },
            files: files
                .iter()
                .map(|(p, b)| (p.clone(), ByteBuf::from(b.clone())))
                .collect(),
        }
    }

    /// The policy back: keys, certificates and matchers rebuilt. Err when anything stored
    /// does not make a policy again (then the entry is not used).
    pub(super) fn into_policy(self) -> Result<Policy, Unusable> {
        let StoredPolicy {
            users,
            roles,
            role_members,
            admins,
            approvals,
            quorum_location,
            baseline,
            revoked,
            rules,
            paths,
            require_signed_push,
            grants,
            max_grant,
            files,
        } = self;
        let files: Vec<(String, Vec<u8>)> =
            files.into_iter().map(|(p, b)| (p, b.into_vec())).collect();
        // One certificate per distinct certificate, shared by every key that lists it.
        let mut certs: HashMap<Vec<u8>, SharedCertificate> = HashMap::new();
        let users: Vec<User> = users
            .into_iter()
            .map(|user| load_user(user, &mut certs))
            .collect::<Result<_, Unusable>>()?;
        let no_roles = BTreeMap::new();
        let table = Table(&users, &no_roles);
        let roles = roles
            .into_iter()
            .map(|(role, members)| Ok((role, table.names(members)?)))
            .collect::<Result<_, Unusable>>()?;
        let role_members: BTreeMap<String, Arc<BTreeSet<String>>> = role_members
            .into_iter()
            .map(|(role, members)| Ok((role, Arc::new(table.names(members)?))))
            .collect::<Result<_, Unusable>>()?;
        let table = Table(&users, &role_members);
        let admins = load_principals(admins, &table)?;
        let rules = rules
            .into_iter()
            .map(|r| load_rule(r, &table))
            .collect::<Result<_, _>>()?;
        let paths = paths
            .into_iter()
            .map(|p| load_path(p, &table))
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            users: users.into_iter().map(|u| (u.id.clone(), u)).collect(),
            roles,
            role_members,
            admins,
            approvals,
            quorum_location: load_location(quorum_location)?,
            baseline,
            revoked: revoked
                .into_iter()
                .map(load_revoked)
                .collect::<Result<_, _>>()?,
            rules,
            paths,
            indexes: Default::default(),
            require_signed_push,
            grants: grants
                .into_iter()
                .map(load_grant)
                .collect::<Result<Vec<_>, _>>()?
                .into(),
            max_grant: Duration::new(max_grant.seconds, max_grant.nanos),
            files,
        })
    }
}

/// Each user's position in [`StoredPolicy::users`], by id, and the expanded roles (for
/// storing).
struct Positions<'a>(
    HashMap<&'a str, u32>,
    &'a BTreeMap<String, Arc<BTreeSet<String>>>,
);

impl Positions<'_> {
    /// A list's users: the first role (by name) with exactly these members, else each.
    fn members(&self, users: &BTreeSet<String>) -> StoredMembers {
        let role = self
            .1
            .iter()
            .find(|(_, members)| !users.is_empty() && ***members == *users);
        match role {
            Some((role, _)) => StoredMembers::Role(role.clone()),
            None => StoredMembers::Listed(self.names(users)),
        }
    }

    fn name(&self, name: &str) -> StoredName {
        match self.0.get(name) {
            Some(&at) => StoredName::User(at),
            None => StoredName::Other(name.to_string()),
        }
    }

    fn names<'n>(&self, names: impl IntoIterator<Item = &'n String>) -> Vec<StoredName> {
        names.into_iter().map(|n| self.name(n)).collect()
    }
}

/// The users in [`StoredPolicy::users`] order, and the expanded roles (for loading).
struct Table<'a>(&'a [User], &'a BTreeMap<String, Arc<BTreeSet<String>>>);

impl Table<'_> {
    fn members(&self, members: StoredMembers) -> Result<Arc<BTreeSet<String>>, Unusable> {
        match members {
            StoredMembers::Role(role) => self
                .1
                .get(&role)
                .cloned()
                .ok_or_else(|| unusable(format!("no role `{role}`"))),
            StoredMembers::Listed(names) => Ok(Arc::new(self.names(names)?)),
        }
    }

    fn name(&self, name: StoredName) -> Result<String, Unusable> {
        match name {
            StoredName::User(at) => usize::try_from(at)
                .ok()
                .and_then(|at| self.0.get(at))
                .map(|user| user.id.clone())
                .ok_or_else(|| unusable(format!("no user at position {at}"))),
            StoredName::Other(name) => Ok(name),
        }
    }

    fn names<C: FromIterator<String>>(&self, names: Vec<StoredName>) -> Result<C, Unusable> {
        names.into_iter().map(|n| self.name(n)).collect()
    }
}

fn store_kind(kind: KeyKind) -> StoredKeyKind {
    match kind {
        KeyKind::Ssh => StoredKeyKind::Ssh,
        KeyKind::OpenPgp => StoredKeyKind::OpenPgp,
    }
}

fn load_kind(kind: StoredKeyKind) -> KeyKind {
    match kind {
        StoredKeyKind::Ssh => KeyKind::Ssh,
        StoredKeyKind::OpenPgp => KeyKind::OpenPgp,
    }
}

fn store_location(at: Location) -> StoredLocation {
    let Location { file, line, col } = at;
    StoredLocation {
        org: file == PolicyFile::Org,
        line: line as u64,
        col: col as u64,
    }
}

fn load_location(at: StoredLocation) -> Result<Location, Unusable> {
    let size = |n: u64| usize::try_from(n).map_err(|_| unusable("location out of range"));
    Ok(Location {
        file: if at.org {
            PolicyFile::Org
        } else {
            PolicyFile::Repo
        },
        line: size(at.line)?,
        col: size(at.col)?,
    })
}

fn store_time(t: OffsetDateTime) -> StoredTime {
    StoredTime {
        unix_nanos: t.unix_timestamp_nanos(),
        offset_seconds: t.offset().whole_seconds(),
    }
}

fn load_time(t: StoredTime) -> Result<OffsetDateTime, Unusable> {
    let offset =
        UtcOffset::from_whole_seconds(t.offset_seconds).map_err(|e| unusable(e.to_string()))?;
    Ok(OffsetDateTime::from_unix_timestamp_nanos(t.unix_nanos)
        .map_err(|e| unusable(e.to_string()))?
        .to_offset(offset))
}

fn store_user(user: &User) -> StoredUser {
    let User { id, keys, names } = user;
    StoredUser {
        id: id.clone(),
        keys: keys.iter().map(store_key).collect(),
        names: (names.as_slice() != std::slice::from_ref(id)).then(|| names.clone()),
    }
}

fn load_user(
    user: StoredUser,
    certs: &mut HashMap<Vec<u8>, SharedCertificate>,
) -> Result<User, Unusable> {
    let keys = user
        .keys
        .into_iter()
        .map(|k| load_key(k, certs))
        .collect::<Result<_, _>>()?;
    let names = match user.names {
        Some(names) => names,
        None => vec![user.id.clone()],
    };
    Ok(User {
        id: user.id,
        keys,
        names,
    })
}

fn store_key(key: &UserKey) -> StoredKey {
    let UserKey {
        material,
        kind,
        blob,
        fingerprint,
        algorithm,
        expires,
        touch_required,
        location,
        file,
    } = key;
    StoredKey {
        material: match material {
            KeyMaterial::Ssh(key) => StoredMaterial::Ssh {
                comment: key.comment().to_string(),
            },
            KeyMaterial::OpenPgp(cert) => StoredMaterial::OpenPgp {
                certificate: ByteBuf::from(cert.to_bytes()),
            },
        },
        kind: store_kind(*kind),
        blob: ByteBuf::from(blob.clone()),
        fingerprint: fingerprint.clone(),
        algorithm: algorithm.clone(),
        expires: expires.map(store_time),
        touch_required: *touch_required,
        location: store_location(*location),
        file: file.clone(),
    }
}

fn load_key(
    key: StoredKey,
    certs: &mut HashMap<Vec<u8>, SharedCertificate>,
) -> Result<UserKey, Unusable> {
    let blob = key.blob.into_vec();
    let material = match key.material {
        StoredMaterial::Ssh { comment } => {
            // The lookup blob of an SSH key is its wire encoding (`KeyId::ssh`).
            let mut ssh = ssh_key::PublicKey::from_bytes(&blob)
                .map_err(|e| unusable(format!("stored SSH key: {e}")))?;
            ssh.set_comment(comment);
            KeyMaterial::Ssh(ssh)
        }
        StoredMaterial::OpenPgp { certificate } => {
            KeyMaterial::OpenPgp(parse_certificate(certificate.into_vec(), certs)?)
        }
    };
    Ok(UserKey {
        material,
        kind: load_kind(key.kind),
        blob,
        fingerprint: key.fingerprint,
        algorithm: key.algorithm,
        expires: key.expires.map(load_time).transpose()?,
        touch_required: key.touch_required,
        location: load_location(key.location)?,
        file: key.file,
    })
}

/// The certificate whose packets are `bytes`, parsed once however many keys list it.
fn parse_certificate(
    bytes: Vec<u8>,
    certs: &mut HashMap<Vec<u8>, SharedCertificate>,
) -> Result<SharedCertificate, Unusable> {
    if let Some(cert) = certs.get(&bytes) {
        return Ok(Arc::clone(cert));
    }
    let cert =
        Arc::new(Certificate::parse(&bytes).map_err(|e| unusable(format!("certificate {e}")))?);
    certs.insert(bytes, Arc::clone(&cert));
    Ok(cert)
}

fn store_principals(list: &Principals, at: &Positions<'_>) -> StoredPrincipals {
    let Principals {
        written,
        any_user,
        users,
        roles,
    } = list;
    StoredPrincipals {
        written: written.clone(),
        any_user: *any_user,
        users: at.members(users),
        roles: roles.iter().cloned().collect(),
    }
}

fn load_principals(list: StoredPrincipals, table: &Table<'_>) -> Result<Principals, Unusable> {
    Ok(Principals {
        written: list.written,
        any_user: list.any_user,
        users: table.members(list.users)?,
        roles: list.roles.into_iter().collect(),
    })
}

fn store_revoked(r: &Revoked) -> StoredRevoked {
    let Revoked {
        fingerprint,
        reason,
        location,
    } = r;
    StoredRevoked {
        fingerprint: fingerprint.clone(),
        reason: reason.clone(),
        location: store_location(*location),
    }
}

fn load_revoked(r: StoredRevoked) -> Result<Revoked, Unusable> {
    Ok(Revoked {
        fingerprint: r.fingerprint,
        reason: r.reason,
        location: load_location(r.location)?,
    })
}

fn store_approval(a: &ApprovalRule, at: &Positions<'_>) -> StoredApproval {
    let ApprovalRule {
        by,
        count,
        on,
        allow_self,
        location,
    } = a;
    StoredApproval {
        by: store_principals(by, at),
        count: *count,
        on: on.iter().map(|k| list_code(*k)).collect(),
        allow_self: *allow_self,
        location: store_location(*location),
    }
}

fn load_approval(a: StoredApproval, table: &Table<'_>) -> Result<ApprovalRule, Unusable> {
    Ok(ApprovalRule {
        by: load_principals(a.by, table)?,
        count: a.count,
        on: a.on.into_iter().map(list_kind).collect::<Result<_, _>>()?,
        allow_self: a.allow_self,
        location: load_location(a.location)?,
    })
}

/// The matcher of patterns that validated (each compiled as parsing compiles it: git-style,
/// `*` within a component).
fn globs(patterns: &[String]) -> Result<GlobSet, Unusable> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| unusable(format!("stored pattern `{pattern}`: {e}")))?;
        builder.add(glob);
    }
    builder
        .build()
        .map_err(|e| unusable(format!("stored patterns: {e}")))
}

fn store_rule(rule: &Rule, at: &Positions<'_>) -> StoredRule {
    let Rule {
        index,
        location,
        refs,
        matcher: _,
        lists,
        linear,
        signed_push,
        approvals,
        names_replace_refs,
        evaluate,
    } = rule;
    StoredRule {
        index: *index as u64,
        location: store_location(*location),
        refs: refs.clone(),
        lists: std::array::from_fn(|i| lists[i].as_ref().map(|l| store_principals(l, at))),
        linear: *linear,
        signed_push: *signed_push,
        approvals: approvals.as_ref().map(|a| store_approval(a, at)),
        names_replace_refs: *names_replace_refs,
        evaluate: *evaluate,
    }
}

fn load_rule(rule: StoredRule, table: &Table<'_>) -> Result<Rule, Unusable> {
    let [a, b, c, d, e, f] = rule.lists;
    let list = |l: Option<StoredPrincipals>| l.map(|l| load_principals(l, table)).transpose();
    Ok(Rule {
        index: usize::try_from(rule.index).map_err(|_| unusable("rule index out of range"))?,
        location: load_location(rule.location)?,
        matcher: globs(&rule.refs)?,
        refs: rule.refs,
        lists: [list(a)?, list(b)?, list(c)?, list(d)?, list(e)?, list(f)?],
        linear: rule.linear,
        signed_push: rule.signed_push,
        approvals: rule
            .approvals
            .map(|a| load_approval(a, table))
            .transpose()?,
        names_replace_refs: rule.names_replace_refs,
        evaluate: rule.evaluate,
    })
}

fn store_path(entry: &PathEntry, at: &Positions<'_>) -> StoredPath {
    let PathEntry {
        index,
        location,
        paths,
        path_matcher: _,
        refs,
        ref_matcher: _,
        signers,
        approvals,
        evaluate,
    } = entry;
    StoredPath {
        index: *index as u64,
        location: store_location(*location),
        paths: paths.clone(),
        refs: refs.clone(),
        signers: signers.as_ref().map(|l| store_principals(l, at)),
        approvals: approvals.as_ref().map(|a| store_approval(a, at)),
        evaluate: *evaluate,
    }
}

fn load_path(entry: StoredPath, table: &Table<'_>) -> Result<PathEntry, Unusable> {
    Ok(PathEntry {
        index: usize::try_from(entry.index).map_err(|_| unusable("path index out of range"))?,
        location: load_location(entry.location)?,
        path_matcher: globs(&entry.paths)?,
        paths: entry.paths,
        ref_matcher: globs(&entry.refs)?,
        refs: entry.refs,
        signers: entry
            .signers
            .map(|l| load_principals(l, table))
            .transpose()?,
        approvals: entry
            .approvals
            .map(|a| load_approval(a, table))
            .transpose()?,
        evaluate: entry.evaluate,
    })
}

fn store_grant(grant: &Grant) -> StoredGrant {
    let Grant {
        user,
        role,
        from,
        until,
        reason,
        location,
        until_location,
    } = grant;
    StoredGrant {
        user: user.clone(),
        role: role.clone(),
        from: from.map(store_time),
        until: store_time(*until),
        reason: reason.clone(),
        location: store_location(*location),
        until_location: store_location(*until_location),
    }
}

fn load_grant(grant: StoredGrant) -> Result<Grant, Unusable> {
    Ok(Grant {
        user: grant.user,
        role: grant.role,
        from: grant.from.map(load_time).transpose()?,
        until: load_time(grant.until)?,
        reason: grant.reason,
        location: load_location(grant.location)?,
        until_location: load_location(grant.until_location)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list naming a user position or a role the entry does not hold never loads (the
    /// entry is a miss), whatever its checksum says.
    #[test]
    fn positions_and_roles_that_are_not_there_do_not_load() {
        let text = include_str!("../../fixtures/roles/good-full.toml");
        let policy = crate::policy::parse(text).expect("validates");
        assert!(StoredPolicy::from_policy(&policy).into_policy().is_ok());
        let users = StoredPolicy::from_policy(&policy).users.len();
        let breakages: [fn(&mut StoredPolicy, usize); 4] = [
            |s, n| s.admins.users = StoredMembers::Listed(vec![StoredName::User(n as u32)]),
            |s, _| s.admins.users = StoredMembers::Role("no-such-role".into()),
            |s, n| s.role_members[0].1.push(StoredName::User(n as u32)),
            |s, n| s.roles[0].1.push(StoredName::User(u32::MAX - n as u32)),
        ];
        for (i, breakage) in breakages.into_iter().enumerate() {
            let mut stored = StoredPolicy::from_policy(&policy);
            breakage(&mut stored, users);
            let bytes = postcard::to_allocvec(&stored).expect("encode");
            let back: StoredPolicy = postcard::from_bytes(&bytes).expect("decode");
            assert!(back.into_policy().is_err(), "breakage {i}");
        }
    }
}
