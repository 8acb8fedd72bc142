//! Commands that explain the policy to people — `policy show`, `who-can`, `keys
//! allowed-signers`, `keys export --openpgp` — and the lock-out recovery `policy reset`. The views themselves are
//! built by the pure [`crate::inspect`]; this module loads, prints and writes.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::ValueEnum;
use time::OffsetDateTime;

use super::admin::open_repo;
use super::hook::{audit_log_path, repo_name};
use super::{EXIT_ERROR, EXIT_OK, EXIT_REJECT, Format};
use crate::audit::{self, Decision, Hook, Record, record};
use crate::engine::ObjectId;
use crate::git::Repo;
use crate::inspect::{self, WhoCanAction};
use crate::policy::Policy;
use crate::session::{PolicyState, Session};

/// The actions `who-can` answers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WhoCanArg {
    /// Fast-forward the ref (`push` list).
    Push,
    /// Create the ref (`create` list, else `push`).
    Create,
    /// Delete the ref (`delete` list).
    Delete,
    /// Make a non-fast-forward update (`force_push` list).
    ForcePush,
    /// Sign the new commits (or the tag) pushed to the ref: users with active keys.
    Sign,
    /// Sign the new merge commits pushed to the ref.
    Merge,
    /// Approve an update of the ref (sign an approval, spec §7).
    Approve,
}

impl From<WhoCanArg> for WhoCanAction {
    fn from(a: WhoCanArg) -> WhoCanAction {
        match a {
            WhoCanArg::Push => WhoCanAction::Push,
            WhoCanArg::Create => WhoCanAction::Create,
            WhoCanArg::Delete => WhoCanAction::Delete,
            WhoCanArg::ForcePush => WhoCanAction::ForcePush,
            WhoCanArg::Sign => WhoCanAction::Sign,
            WhoCanArg::Merge => WhoCanAction::Merge,
            WhoCanArg::Approve => WhoCanAction::Approve,
        }
    }
}

/// The policy at the tip of the policy branch, or the exit code after saying why there is
/// none (no branch, or a roles.toml that does not validate).
struct Loaded {
    policy_ref: String,
    commit: ObjectId,
    policy: Box<Policy>,
}

fn load(repo: &Repo) -> Result<std::result::Result<Loaded, u8>> {
    let session = Session::load(repo)?;
    let policy_ref = session.policy_ref().to_string();
    match session.state() {
        PolicyState::Missing => {
            eprintln!(
                "refguard: {} has no policy branch {policy_ref}; create it with refguard init",
                repo.git_dir().display()
            );
            Ok(Err(EXIT_ERROR))
        }
        PolicyState::Broken { commit, detail } => {
            eprintln!(
                "refguard: the policy at {policy_ref} ({}) is unusable: {detail}",
                commit.short()
            );
            Ok(Err(EXIT_REJECT))
        }
        PolicyState::OrgUnusable { detail, .. } => {
            eprintln!("refguard: {detail}");
            Ok(Err(EXIT_REJECT))
        }
        PolicyState::Loaded { commit, policy } => Ok(Ok(Loaded {
            policy_ref,
            commit: commit.clone(),
            policy: policy.clone(),
        })),
    }
}

/// `refguard policy show [--repo DIR] [--format text|json]`.
pub fn show(repo: Option<PathBuf>, format: Format) -> Result<u8> {
    let repo = open_repo(repo)?;
    let loaded = match load(&repo)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let view = inspect::policy_view(
        &loaded.policy,
        &loaded.policy_ref,
        Some(loaded.commit.as_str()),
        OffsetDateTime::now_utc(),
    );
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&view)?),
        Format::Text => view.to_lines().iter().for_each(|l| println!("{l}")),
    }
    Ok(EXIT_OK)
}

/// `refguard who-can ACTION REF [--path PATH] [--repo DIR] [--format text|json]`.
pub fn who_can(
    repo: Option<PathBuf>,
    action: WhoCanArg,
    refname: &str,
    path: Option<&str>,
    format: Format,
) -> Result<u8> {
    let repo = open_repo(repo)?;
    let loaded = match load(&repo)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let answer = inspect::who_can(
        &loaded.policy,
        &loaded.policy_ref,
        refname,
        action.into(),
        path,
        OffsetDateTime::now_utc(),
    );
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&answer)?),
        Format::Text => answer.to_lines().iter().for_each(|l| println!("{l}")),
    }
    Ok(EXIT_OK)
}

/// `refguard keys allowed-signers [--repo DIR]`.
pub fn allowed_signers(repo: Option<PathBuf>) -> Result<u8> {
    let repo = open_repo(repo)?;
    let loaded = match load(&repo)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    for line in inspect::allowed_signers(&loaded.policy, OffsetDateTime::now_utc()) {
        println!("{line}");
    }
    Ok(EXIT_OK)
}

/// `refguard keys export --openpgp [--repo DIR]`: every OpenPGP certificate the policy
/// lists, as one armored keyring for `gpg --import` (expired and revoked ones too: they
/// verify history, and gpg shows their state itself).
pub fn export_openpgp(repo: Option<PathBuf>) -> Result<u8> {
    let repo = open_repo(repo)?;
    let loaded = match load(&repo)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let certs: Vec<&crate::openpgp::Certificate> =
        loaded.policy.certificates().map(|c| c.as_ref()).collect();
    if certs.is_empty() {
        eprintln!("refguard: the policy lists no OpenPGP certificates");
        return Ok(EXIT_REJECT);
    }
    print!("{}", crate::openpgp::armored_keyring(certs));
    Ok(EXIT_OK)
}

/// What `policy reset` says when run without its confirmation flag.
const RESET_REFUSAL: &str = "\
refguard: policy reset replaces the policy on the server without any admin signature.
refguard: It is the recovery for a server administrator who has lost every policy admin key:
refguard: it validates FILE, writes it as roles.toml in a new commit on the policy branch
refguard: (bypassing [policy] admins and approvals), and records the reset in the audit log.
refguard: Anyone who can run this has filesystem access to the repository anyway; to confirm,
refguard: add --yes-i-hold-the-server.";

/// `refguard policy reset --repo DIR --policy FILE --yes-i-hold-the-server`.
pub fn reset(repo: Option<PathBuf>, file: &Path, confirmed: bool) -> Result<u8> {
    if !confirmed {
        eprintln!("{RESET_REFUSAL}");
        return Ok(EXIT_ERROR);
    }
    let text =
        fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.display().to_string();
    let now = OffsetDateTime::now_utc();
    let repo = open_repo(repo)?;
    let parsed = match super::admin::candidate(&repo, file, &text, now, "the policy was not reset")?
    {
        Ok(parsed) => parsed,
        Err(code) => return Ok(code),
    };

    let session = Session::load(&repo)?;
    let policy_ref = session.policy_ref().to_string();
    let old = repo.resolve_ref(&policy_ref)?;
    let who = local_user();
    let stamp = record::utc_seconds::format(now)?;
    let message = format!("refguard policy reset by {who} at {stamp}\n");
    let log = audit_log_path(&repo)?;
    let new = repo.write_policy_tree(
        &policy_ref,
        text.as_bytes(),
        &parsed.files,
        &message,
        old.as_ref(),
    )?;

    let entry = Record {
        v: record::VERSION,
        time: record::utc_seconds::normalize(now),
        repo: repo_name(&repo),
        hook: Hook::Reset,
        pusher: Some(who.clone()),
        user: None,
        refname: policy_ref.clone(),
        old: old.clone().unwrap_or_else(ObjectId::zero),
        new: new.clone(),
        decision: Decision::Accept,
        reasons: Vec::new(),
        policy: old.clone(),
        approvals: Vec::new(),
        grants: Vec::new(),
        evaluate: Vec::new(),
        org_policy: None,
        prev: String::new(),
    };
    let from = old.as_ref().map_or("(none)", ObjectId::short);
    eprintln!(
        "refguard: policy reset: {policy_ref} {from} -> {} by {who}; {name} now governs every push",
        new.short()
    );
    if let Err(e) = audit::append(&log, &[entry]) {
        eprintln!(
            "refguard: error: the reset is done, but it could not be recorded in the audit log {}: {e}",
            log.display()
        );
        return Ok(EXIT_ERROR);
    }
    eprintln!("refguard: recorded in {}", log.display());
    Ok(EXIT_OK)
}

/// The local account running the command: `$USER`, else `$LOGNAME`, else `uid N`.
fn local_user() -> String {
    use std::os::unix::fs::MetadataExt as _;
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| match fs::metadata("/proc/self") {
            // /proc/self belongs to the process's own (effective) uid.
            Ok(m) => format!("uid {}", m.uid()),
            Err(_) => "an unknown local user".to_string(),
        })
}
