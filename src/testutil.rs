//! Test support shared across modules: hand-built policies from real OpenSSH ed25519 public
//! keys (the private halves were thrown away), so blobs and fingerprints are computed exactly
//! as the policy parser and the verifier compute them; and running a child process with
//! input on stdin.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use globset::{GlobBuilder, GlobSetBuilder};
use ssh_key::{HashAlg, PublicKey};
use time::OffsetDateTime;

use crate::engine::KeyId;
use crate::policy::{Location, PathEntry, Policy, Principals, Revoked, Rule, User, UserKey};

pub const ALICE: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICYuiPDztavk1w/U2euF2hbXi9tZV/vISBb/uyY3JZdB alice@test";
pub const BOB: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJvbwKkvUBDv74WYP6YCGzu0dfypA+rUugNAtcOL9efC bob1@test";
/// Bob's second key, revoked ("laptop stolen") in the test policies.
pub const BOB_REVOKED: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDKfG4WAw++wMOyIJh7mGC55P8pvj4wM4Pihp0ziotgG bob2@test";
/// Carol's only key, which expires in the test policies.
pub const CAROL: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJELXJIOxoIxqe2Dhp2JRWCPMuCdqOgUN40510CDso8R carol@test";
pub const DAVE: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBT/UcUDfqE4cVrdlWh+J1CS0NTqP/BFspa2RFOcQ6vP dave@test";
pub const ERIN: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO2b/EHz3+xwUlmOX66u2nuJl/B17ZtjCHzOR0oamBTc erin@test";
/// A key no user holds.
pub const STRANGER: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHyLDEQ0kF5XDp7DjrsYeoPtxu6Yj1TXF6xFfjrxHtyI stranger@test";
/// A key no user holds, revoked without a reason.
pub const GONE: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJn6h/7oDDueOE+mjF8xTnFv5FZmqFFVfJtf8lhnEPPH gone@test";

/// Roles as written: (role, members), members being user or role ids.
pub type Roles = &'static [(&'static str, &'static [&'static str])];

fn parse_key(line: &str) -> PublicKey {
    PublicKey::from_openssh(line).expect("test key parses")
}

/// The identity the verifier reports for a key line.
pub fn key_id(line: &str) -> KeyId {
    let key = parse_key(line);
    KeyId {
        kind: crate::signature::KeyKind::Ssh,
        // `PublicKey::to_bytes` is the SSH wire encoding of the key data (ssh-key 0.6.7 does
        // not re-export its `Encode` trait).
        blob: key.to_bytes().expect("key encodes"),
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        algorithm: key.algorithm().to_string(),
        user_present: None,
        certificate: None,
        signature_expires: None,
    }
}

/// The `SHA256:...` fingerprint of a key line.
pub fn fingerprint(line: &str) -> String {
    key_id(line).fingerprint
}

/// A policy key for `line` (touch required, as the parser defaults) with `expires`, at the
/// default location.
pub fn user_key(line: &str, expires: Option<OffsetDateTime>) -> UserKey {
    let id = key_id(line);
    UserKey {
        material: crate::policy::KeyMaterial::Ssh(parse_key(line)),
        kind: id.kind,
        blob: id.blob,
        fingerprint: id.fingerprint,
        algorithm: id.algorithm,
        expires,
        touch_required: true,
        location: Location::default(),
        file: None,
    }
}

/// A user whose names are its id followed by `names`.
pub fn user(id: &str, names: &[&str], keys: Vec<UserKey>) -> User {
    let mut all_names = vec![id.to_string()];
    all_names.extend(names.iter().map(|n| n.to_string()));
    User {
        id: id.to_string(),
        keys,
        names: all_names,
    }
}

/// Adds the users `name` stands for (itself if it is no role) to `out`.
fn expand(roles: Roles, name: &str, out: &mut BTreeSet<String>) {
    match roles.iter().find(|(role, _)| *role == name) {
        Some((_, members)) => members.iter().for_each(|m| expand(roles, m, out)),
        None => {
            out.insert(name.to_string());
        }
    }
}

/// The role `name` (if it is one) and every role it includes, transitively.
fn included_roles(roles: Roles, name: &str, out: &mut BTreeSet<String>) {
    if let Some((role, members)) = roles.iter().find(|(role, _)| *role == name) {
        out.insert(role.to_string());
        members.iter().for_each(|m| included_roles(roles, m, out));
    }
}

/// Every role expanded transitively into user ids.
pub fn role_members(roles: Roles) -> BTreeMap<String, std::sync::Arc<BTreeSet<String>>> {
    roles
        .iter()
        .map(|(role, _)| {
            let mut users = BTreeSet::new();
            expand(roles, role, &mut users);
            (role.to_string(), users.into())
        })
        .collect()
}

/// A principals list as the parser would build it from `written` under `roles`.
pub fn principals(roles: Roles, written: &[&str]) -> Principals {
    let mut users = BTreeSet::new();
    let mut included = BTreeSet::new();
    for name in written.iter().filter(|w| **w != "*") {
        expand(roles, name, &mut users);
        included_roles(roles, name, &mut included);
    }
    Principals {
        written: written.iter().map(|w| w.to_string()).collect(),
        any_user: written.contains(&"*"),
        users: users.into(),
        roles: included,
    }
}

/// A rule at `line` with the given patterns and every list absent; [`build_policy`] sets
/// its index.
pub fn rule(line: usize, refs: &[&str]) -> Rule {
    Rule {
        index: 0,
        location: Location::new(line, 1),
        refs: refs.iter().map(|r| r.to_string()).collect(),
        matcher: globs(refs),
        lists: Default::default(),
        linear: false,
        signed_push: false,
        approvals: None,
        evaluate: false,
        names_replace_refs: refs
            .iter()
            .any(|p| crate::policy::pattern_names_replace_refs(p)),
    }
}

/// Git-style globs (`*` stays within a component), compiled as the parser compiles them.
pub fn globs(patterns: &[&str]) -> globset::GlobSet {
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .expect("test glob compiles");
        set.add(glob);
    }
    set.build().expect("test globset builds")
}

/// A `[[path]]` entry written at `line` (index 0) with no `signers` and no `approvals`.
pub fn path_entry(line: usize, paths: &[&str], refs: &[&str]) -> PathEntry {
    PathEntry {
        index: 0,
        location: Location::new(line, 1),
        paths: paths.iter().map(|p| p.to_string()).collect(),
        path_matcher: globs(paths),
        refs: refs.iter().map(|r| r.to_string()).collect(),
        ref_matcher: globs(refs),
        signers: None,
        approvals: None,
        evaluate: false,
    }
}

/// A `[[revoked]]` entry for the key `line`.
pub fn revoked(line: &str, reason: Option<&str>, location: Location) -> Revoked {
    Revoked {
        fingerprint: fingerprint(line),
        reason: reason.map(str::to_string),
        location,
    }
}

/// A policy as the parser would build it: the indexes filled in, rules numbered in order,
/// `admins = ["policy-admins"]`, `approvals = 2`, no baseline, no signed pushes required.
pub fn build_policy(
    roles: Roles,
    users: Vec<User>,
    rules: Vec<Rule>,
    revoked: Vec<Revoked>,
) -> Policy {
    let rules = rules
        .into_iter()
        .enumerate()
        .map(|(index, r)| Rule { index, ..r })
        .collect();
    Policy {
        users: users.into_iter().map(|u| (u.id.clone(), u)).collect(),
        roles: roles
            .iter()
            .map(|(r, m)| (r.to_string(), m.iter().map(|s| s.to_string()).collect()))
            .collect(),
        role_members: role_members(roles),
        admins: principals(roles, &["policy-admins"]),
        approvals: 2,
        quorum_location: Location::default(),
        baseline: Vec::new(),
        revoked,
        rules,
        paths: Vec::new(),
        indexes: Default::default(),
        require_signed_push: false,
        grants: Default::default(),
        max_grant: crate::policy::DEFAULT_MAX_GRANT,
        files: Vec::new(),
    }
}

/// Runs `cmd` with `input` on its stdin and stdout and stderr captured; the caller judges
/// the exit status.
pub fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child process");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("wait for child process")
}

/// Standard base64 with padding (test vectors and `.pub` lines).
pub fn base64(bytes: &[u8]) -> String {
    use base64ct::Encoding as _;
    base64ct::Base64::encode_string(bytes)
}

/// Decodes standard base64, panicking on bad input: tests only.
pub fn base64_decode(text: &str) -> Vec<u8> {
    use base64ct::Encoding as _;
    base64ct::Base64::decode_vec(text.trim()).expect("valid base64")
}

/// An SSHSIG blob in its armor: base64 wrapped at 70 columns, as OpenSSH writes it.
pub fn sshsig_armor(blob: &[u8]) -> Vec<u8> {
    let body = base64(blob);
    let mut out = String::from("-----BEGIN SSH SIGNATURE-----\n");
    for line in body.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END SSH SIGNATURE-----\n");
    out.into_bytes()
}
