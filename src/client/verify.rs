//! `refguard verify` (spec §13), the shell: gather the policy chain's commits from a clone
//! for [`crate::chain::authenticate`], and judge the protected refs' history against the
//! authenticated policy with the history audit. Trusts nothing the server says: only the
//! objects in the clone and the pinned trust root.

use std::collections::HashMap;
use std::ops::ControlFlow;

use thiserror::Error;
use time::OffsetDateTime;

use crate::chain::{ChainCommit, ChainFacts};
use crate::engine::{ObjectId, PushContext};
use crate::git::{self, Repo, WalkedCommit};
use crate::history::{self, Row};
use crate::policy::Policy;
use crate::session::POLICY_FILE;
use crate::verify::Keyring;

/// Why verification could not run (exit 2: nothing was verified).
#[derive(Debug, Error)]
pub enum Error {
    /// The policy branch is not in the clone.
    #[error("there is no {name} in this repository{}", found_hint(found))]
    NoPolicyRef {
        /// The ref looked for.
        name: String,
        /// Refs that look like fetched policy branches.
        found: Vec<String>,
    },
    /// The trust root is not a commit in the clone.
    #[error(
        "the trust root {0} is not a commit in this repository (fetch the policy branch, or \
         check the id you pinned)"
    )]
    NoTrustRoot(ObjectId),
    /// The trust root's policy is unusable.
    #[error(transparent)]
    Root(#[from] crate::chain::RootError),
    /// The history audit could not run.
    #[error(transparent)]
    History(#[from] history::Error),
    /// The repository could not be read.
    #[error(transparent)]
    Git(#[from] git::Error),
}

fn found_hint(found: &[String]) -> String {
    if found.is_empty() {
        " (fetch it: git fetch origin refs/meta/policy:refs/meta/policy)".into()
    } else {
        format!("; use --policy-ref with one of: {}", found.join(", "))
    }
}

/// The policy branch's tip, or [`Error::NoPolicyRef`] naming fetched policy branches.
pub fn policy_tip(repo: &Repo, policy_ref: &str) -> Result<ObjectId, Error> {
    if let Some(tip) = repo.resolve_ref(policy_ref)? {
        return Ok(tip);
    }
    let found = repo
        .refs_with_prefix("refs/")?
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| {
            (name.ends_with("/policy")
                && (name.starts_with("refs/refguard/") || name.starts_with("refs/remotes/")))
                || name == crate::session::DEFAULT_POLICY_REF
        })
        .collect();
    Err(Error::NoPolicyRef {
        name: policy_ref.to_owned(),
        found,
    })
}

/// Gathers every commit of the policy branch `policy_ref` from `root` to its tip `tip`;
/// `progress` is told how many were read so far.
pub fn gather_chain(
    repo: &Repo,
    policy_ref: &str,
    root: &ObjectId,
    tip: &ObjectId,
    now: OffsetDateTime,
    mut progress: impl FnMut(u64),
) -> Result<ChainFacts, Error> {
    if !repo.is_commit(root)? {
        return Err(Error::NoTrustRoot(root.clone()));
    }
    // The trust root alone: its own walk, every parent hidden.
    let root_parents = repo.parent_ids(root)?;
    let mut root_time = 0;
    repo.walk(
        std::slice::from_ref(root),
        &root_parents,
        &Keyring::empty(),
        |c| {
            root_time = c.time;
            ControlFlow::Break(())
        },
    )?;

    let mut commits = Vec::new();
    let mut failed: Option<git::Error> = None;
    repo.walk(
        std::slice::from_ref(tip),
        std::slice::from_ref(root),
        &Keyring::empty(),
        |c| match chain_commit(repo, c) {
            Ok(commit) => {
                commits.push(commit);
                progress(commits.len() as u64);
                ControlFlow::Continue(())
            }
            Err(e) => {
                failed = Some(e);
                ControlFlow::Break(())
            }
        },
    )?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let root_roles = repo.blob_id_at(root, POLICY_FILE)?;
    let mut texts = HashMap::new();
    for blob in commits
        .iter()
        .filter_map(|c| c.roles.as_ref())
        .chain(root_roles.as_ref())
    {
        if texts.contains_key(blob) {
            continue;
        }
        let text = String::from_utf8(repo.blob(blob)?)
            .map_err(|_| format!("{POLICY_FILE} is not UTF-8 text"));
        texts.insert(blob.clone(), text);
    }
    Ok(ChainFacts {
        policy_ref: policy_ref.to_owned(),
        root: root.clone(),
        root_time,
        root_roles,
        tip: tip.clone(),
        commits,
        texts,
        now,
    })
}

fn chain_commit(repo: &Repo, c: WalkedCommit) -> Result<ChainCommit, git::Error> {
    let server_written = history::is_server_written(&c);
    let id = &c.facts.id;
    Ok(ChainCommit {
        parents: repo.parent_ids(id)?,
        roles: repo.blob_id_at(id, POLICY_FILE)?,
        time: c.time,
        server_written,
        facts: c.facts,
    })
}

/// Judges the history of the protected refs (every one, or `only`) under the authenticated
/// `policy` at `now`, as `refguard audit history` does, handing each row to `visit`. The
/// policy branch itself is left out: its chain was judged step by step, each change by the
/// policy before it, which is what counts for it.
pub fn history(
    repo: &Repo,
    policy: &Policy,
    policy_ref: &str,
    only: &[String],
    now: OffsetDateTime,
    mut visit: impl FnMut(&Row<'_>) -> ControlFlow<()>,
) -> Result<(), Error> {
    let ctx = PushContext {
        pusher: None,
        now,
        policy_ref: policy_ref.to_owned(),
        repository: String::new(),
        pushed: Vec::new(),
    };
    if only.is_empty() {
        history::audit(repo, policy, &ctx, None, |row| {
            if row.refname == policy_ref {
                return ControlFlow::Continue(());
            }
            visit(row)
        })?;
        return Ok(());
    }
    for refname in only {
        let mut stopped = false;
        history::audit(repo, policy, &ctx, Some(refname), |row| {
            let flow = visit(row);
            stopped = flow.is_break();
            flow
        })?;
        if stopped {
            break;
        }
    }
    Ok(())
}
