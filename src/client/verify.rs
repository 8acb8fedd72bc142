//! `refguard verify` (spec §13), the shell: gather the policy chain's commits from a clone
//! for [`crate::chain::authenticate`], and judge the protected refs' history against the
//! authenticated policy with the history audit. Trusts nothing the server says: only the
//! objects in the clone and the pinned trust root.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use thiserror::Error;
use time::OffsetDateTime;

use crate::chain::{ChainCommit, ChainFacts, KeyringId, PolicyBlobs, PolicyTree};
use crate::engine::{ObjectId, PushContext, SignatureCheck};
use crate::git::{self, Repo, WalkedCommit};
use crate::history::{self, Row};
use crate::policy::{self, Policy};
use crate::session::{POLICY_FILE, keyring_of, tree_files};
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

    // Signatures are checked here without certificates; an OpenPGP one is checked again
    // below with each policy's keyring ([`verify_openpgp`]).
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
    let mut policies = Policies::default();
    let root_policy = policies.read(repo, root)?;
    for commit in &mut commits {
        commit.policy = policies.read(repo, &commit.facts.id)?;
    }
    verify_openpgp(repo, root_policy.as_ref(), &mut commits)?;
    Ok(ChainFacts {
        policy_ref: policy_ref.to_owned(),
        root: root.clone(),
        root_time,
        root_policy,
        tip: tip.clone(),
        commits,
        now,
    })
}

fn chain_commit(repo: &Repo, c: WalkedCommit) -> Result<ChainCommit, git::Error> {
    let server_written = history::is_server_written(&c);
    let id = &c.facts.id;
    Ok(ChainCommit {
        parents: repo.parent_ids(id)?,
        openpgp: HashMap::new(),
        time: c.time,
        server_written,
        facts: c.facts,
        policy: None,
    })
}

/// The policies of the chain's commits, read once per distinct roles.toml and files.
///
/// Sound because the parser is deterministic: given the same roles.toml and the same bytes
/// for the files it asks for, it asks for the same files and returns the same policy. So the
/// paths a roles.toml blob asked for once, with the same blobs there, stand for the whole
/// read.
#[derive(Default)]
struct Policies {
    /// The files each roles.toml blob asked for, in order.
    paths: HashMap<ObjectId, Vec<String>>,
    /// The policy each set of blobs holds; not kept when a file is missing (the error names
    /// the commit it was read from, and such a policy is invalid anyway).
    parsed: HashMap<PolicyBlobs, Arc<Result<Policy, Vec<String>>>>,
}

impl Policies {
    /// The policy in the tree of `commit`: roles.toml and every file it references, parsed
    /// with the session's reader of a policy commit's tree (an unreadable or missing file
    /// makes the policy invalid: fail closed); `None` without a roles.toml.
    fn read(&mut self, repo: &Repo, commit: &ObjectId) -> Result<Option<PolicyTree>, git::Error> {
        let Some(roles) = repo.blob_id_at(commit, POLICY_FILE)? else {
            return Ok(None);
        };
        if let Some(paths) = self.paths.get(&roles) {
            let blobs = PolicyBlobs {
                files: blob_ids(repo, commit, paths)?,
                roles: roles.clone(),
            };
            if let Some(parsed) = self.parsed.get(&blobs) {
                return Ok(Some(PolicyTree {
                    parsed: Arc::clone(parsed),
                    blobs,
                }));
            }
        }
        let asked = RefCell::new(Vec::<String>::new());
        let parsed = match String::from_utf8(repo.blob(&roles)?) {
            Err(_) => Err(vec![format!("{POLICY_FILE}: not UTF-8 text")]),
            Ok(text) => {
                let files = tree_files(repo, commit);
                let reader = |path: &str| {
                    let mut asked = asked.borrow_mut();
                    if !asked.iter().any(|p| p == path) {
                        asked.push(path.to_owned());
                    }
                    files(path)
                };
                policy::parse_with(&text, &reader)
                    .map_err(|diags| diags.iter().map(|d| d.render(POLICY_FILE)).collect())
            }
        };
        let paths = asked.into_inner();
        let blobs = PolicyBlobs {
            files: blob_ids(repo, commit, &paths)?,
            roles: roles.clone(),
        };
        self.paths.insert(roles, paths);
        let parsed = Arc::new(parsed);
        if blobs.files.iter().all(|(_, blob)| blob.is_some()) {
            self.parsed.insert(blobs.clone(), Arc::clone(&parsed));
        }
        Ok(Some(PolicyTree { blobs, parsed }))
    }
}

fn blob_ids(
    repo: &Repo,
    commit: &ObjectId,
    paths: &[String],
) -> Result<Vec<(String, Option<ObjectId>)>, git::Error> {
    paths
        .iter()
        .map(|path| Ok((path.clone(), repo.blob_id_at(commit, path)?)))
        .collect()
}

/// Verifies each OpenPGP signature of the chain (a check without certificates says
/// [`SignatureCheck::NoCertificate`] exactly when it needs them) with the keyring of every
/// valid policy along the chain, so that each step can be judged with the certificates of
/// the policy that authorises it. SSH signatures need no certificate and were checked once.
fn verify_openpgp(
    repo: &Repo,
    root: Option<&PolicyTree>,
    commits: &mut [ChainCommit],
) -> Result<(), git::Error> {
    let mut keyrings: HashMap<KeyringId, Keyring> = HashMap::new();
    for tree in root
        .into_iter()
        .chain(commits.iter().filter_map(|c| c.policy.as_ref()))
    {
        let Ok(policy) = tree.parsed.as_ref() else {
            continue;
        };
        let id = tree.blobs.keyring();
        if !id.0.is_empty() && !keyrings.contains_key(&id) {
            keyrings.insert(id, keyring_of(policy));
        }
    }
    // Each commit is read once and verified once per distinct set of keys its issuer names
    // in these keyrings, not once per keyring: a chain of many policies that share most
    // certificates costs one verification per commit.
    let (ids, rings): (Vec<&KeyringId>, Vec<&Keyring>) = keyrings.iter().unzip();
    for commit in commits {
        if !matches!(commit.facts.signature, SignatureCheck::NoCertificate { .. }) {
            continue;
        }
        let checks = repo.commit_signature_each(&commit.facts.id, &rings)?;
        for (id, check) in ids.iter().zip(checks) {
            commit.openpgp.insert((*id).clone(), check);
        }
    }
    Ok(())
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
