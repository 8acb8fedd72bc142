//! The history audit (`refguard audit history`): walk the history of every protected ref and
//! judge each commit and tag as though it were new on its ref now, with the same
//! requirements and checks as the hook. The shell: git to walk (once, over all protected
//! tips), the engine to judge; rows go to a visitor as they are judged, which prints (the CLI)
//! or collects (tests).

use std::ops::ControlFlow;

use thiserror::Error;

use crate::engine::{self, CommitFacts, Judgement, ObjectId, PushContext, SignedBy};
use crate::git::{self, Repo, WalkedCommit};
use crate::policy::Policy;
use crate::requirements::{self, Check};
use crate::update::{UpdateKind, is_tag};
use crate::verify::Keyring;

/// Why the history audit could not run.
#[derive(Debug, Error)]
pub enum Error {
    /// `--ref` names a ref that does not exist.
    #[error("no ref {0}")]
    NoRef(String),
    /// The history of the protected refs could not be walked.
    #[error("cannot walk the history of {refname}: {cause}")]
    Walk {
        /// The ref (or "the protected refs" when the walk over all of them failed).
        refname: String,
        /// What git said (a field named `cause`, not `source`, so that the message, which
        /// includes it, is not followed by it again in an error chain).
        cause: git::Error,
    },
    /// A tag could not be read.
    #[error("cannot read the tag {refname}: {cause}")]
    Tag {
        /// The tag ref.
        refname: String,
        /// What git said (a field named `cause`, not `source`, so that the message, which
        /// includes it, is not followed by it again in an error chain).
        cause: git::Error,
    },
    /// The refs could not be listed or resolved.
    #[error(transparent)]
    Git(#[from] git::Error),
}

/// Audits the history of every protected ref of `repo` (or of `only`, whatever its rule)
/// under `policy` at `ctx.now`, handing each judged object to `visit` (which may stop the
/// walk). Each commit is visited once, under the first ref (in rule order, then by name; the
/// policy branch last) that reaches it, or as `baseline`. All commits come from one walk over
/// every protected tip, children before parents and otherwise newest first (so the commits
/// of different refs interleave); tags follow.
pub fn audit(
    repo: &Repo,
    policy: &Policy,
    ctx: &PushContext,
    only: Option<&str>,
    visit: impl FnMut(&Row<'_>) -> ControlFlow<()>,
) -> Result<(), Error> {
    let targets = targets(repo, policy, &ctx.policy_ref, only)?;
    let keyring = Keyring::new(policy.certificates().cloned());
    Audit {
        repo,
        policy,
        keyring: &keyring,
        ctx,
        visit,
        stopped: false,
        prefixes: requirements::path_prefixes(policy),
    }
    .run(&targets)
}

/// What the history audit concluded about one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Passes the current policy.
    Ok,
    /// Would be rejected now.
    Violation,
    /// Reachable from a `[trust] baseline` commit: not judged.
    Baseline,
    /// An unsigned commit on the policy branch written by refguard itself on the server
    /// (`refguard init` or `refguard policy reset`): only someone with filesystem access can write those.
    Server,
}

impl Outcome {
    /// The word for tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Violation => "violation",
            Outcome::Baseline => "baseline",
            Outcome::Server => "server",
        }
    }
}

/// One object of the history audit, judged.
#[derive(Debug)]
pub struct Row<'a> {
    /// `commit` or `tag`.
    pub kind: &'static str,
    /// The object id.
    pub id: &'a ObjectId,
    /// The ref it is listed under (`-` for baseline commits).
    pub refname: &'a str,
    /// The committer time (seconds since the epoch), for commits.
    pub time: Option<i64>,
    /// The committer as written (empty for tags).
    pub committer: &'a str,
    /// The commit's summary or the tag's name.
    pub summary: &'a str,
    /// The number of parents, for commits.
    pub parents: Option<usize>,
    /// Who signed it.
    pub signed_by: &'a SignedBy,
    /// What the audit concluded.
    pub outcome: Outcome,
    /// Why it would be rejected now (empty unless a violation).
    pub reasons: &'a [engine::Reason],
    /// Whether it is validly signed by a user its ref accepts as a signer.
    pub allowed_signer: bool,
}

/// The refs the history audit walks, in the order that decides which ref a shared commit is
/// listed under.
struct Targets {
    /// Branch-like refs (and the policy branch, last), each with its tip.
    branches: Vec<(String, ObjectId)>,
    /// Tag refs under a rule with `signers`.
    tags: Vec<(String, ObjectId)>,
    /// The baseline ids that name objects in the repository.
    baseline: Vec<ObjectId>,
}

fn targets(
    repo: &Repo,
    policy: &Policy,
    policy_ref: &str,
    only: Option<&str>,
) -> Result<Targets, Error> {
    let refs = match only {
        Some(name) => match repo.resolve_ref(name)? {
            Some(id) => vec![(name.to_owned(), id)],
            None => return Err(Error::NoRef(name.to_owned())),
        },
        None => repo.refs()?,
    };
    let mut branches = Vec::new();
    let mut tags = Vec::new();
    let mut policy_branch = None;
    for (name, id) in refs {
        if name == policy_ref {
            policy_branch = Some((name, id));
            continue;
        }
        // A ref is protected when the requirements of an update of it look at its content:
        // a tag's signature, or the new commits of a branch (for its rule or a path entry).
        let reqs = requirements::for_update(policy, policy_ref, &name, UpdateKind::Create);
        let judged = reqs.items.iter().any(|r| {
            matches!(
                r.check,
                Check::Tag { .. } | Check::Commits { .. } | Check::Path { .. }
            )
        });
        if is_tag(&name) {
            if only.is_some() || judged {
                tags.push((name, id));
            }
        } else if only.is_some() || judged {
            let order = reqs.rule.map_or(usize::MAX, |r| r.id.index);
            branches.push((order, name, id));
        }
    }
    branches.sort();
    let mut branches: Vec<(String, ObjectId)> =
        branches.into_iter().map(|(_, n, id)| (n, id)).collect();
    branches.extend(policy_branch);
    let baseline = policy
        .baseline
        .iter()
        .filter_map(|hex| ObjectId::parse(hex))
        .collect();
    Ok(Targets {
        branches,
        tags,
        baseline,
    })
}

/// One run of the history audit.
struct Audit<'a, V> {
    repo: &'a Repo,
    policy: &'a Policy,
    /// The policy's OpenPGP certificates, signatures are verified with.
    keyring: &'a Keyring,
    ctx: &'a PushContext,
    visit: V,
    /// The visitor asked to stop.
    stopped: bool,
    /// Where `[[path]]` globs can match ([`requirements::path_prefixes`]).
    prefixes: Vec<String>,
}

impl<V: FnMut(&Row<'_>) -> ControlFlow<()>> Audit<'_, V> {
    fn row(&mut self, row: &Row<'_>) -> ControlFlow<()> {
        let flow = (self.visit)(row);
        self.stopped |= flow.is_break();
        flow
    }

    fn run(&mut self, targets: &Targets) -> Result<(), Error> {
        self.commits(targets)?;
        self.tags(targets)
    }

    /// Each tag, judged by its own signature.
    fn tags(&mut self, targets: &Targets) -> Result<(), Error> {
        for (refname, id) in &targets.tags {
            if self.stopped {
                break;
            }
            let target = self
                .repo
                .tag_target(id, self.keyring)
                .map_err(|cause| Error::Tag {
                    refname: refname.clone(),
                    cause,
                })?;
            let judgement = engine::judge_tag(self.policy, self.ctx, refname, id, &target);
            let summary = match &target {
                engine::TagTarget::Annotated { name, .. } => name.as_str(),
                engine::TagTarget::Lightweight => "(lightweight tag)",
            };
            let row = Row {
                kind: "tag",
                id,
                refname,
                time: None,
                committer: "",
                summary,
                parents: None,
                signed_by: &judgement.signed_by,
                outcome: outcome(&judgement),
                reasons: &judgement.reasons,
                allowed_signer: judgement.allowed_signer,
            };
            if self.row(&row).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// Every commit of the branches, in one walk over all their tips (children before
    /// parents, otherwise newest first), each listed once:
    ///
    /// - under the first branch (lowest rank in `targets.branches`) that reaches it, judged
    ///   by that branch's requirements: the walk labels each commit with the lowest rank of
    ///   the tips it is reachable from;
    /// - as `baseline`, unjudged, when a `[trust] baseline` commit reaches it too, unless that
    ///   first branch is the policy branch, which the hook judges without the baseline (it
    ///   is last, so it is first only for commits no other branch reaches).
    ///
    /// This is exactly what walking each branch in turn while hiding the tips before it and
    /// the baseline lists (the policy branch hiding only the tips), without its cost of
    /// refs × history; `tests.rs` holds that algorithm and checks the two agree.
    fn commits(&mut self, targets: &Targets) -> Result<(), Error> {
        let tips: Vec<(ObjectId, u32)> = targets
            .branches
            .iter()
            .enumerate()
            .map(|(rank, (_, tip))| {
                let rank = u32::try_from(rank).expect("fewer than 2^32 - 1 refs");
                (tip.clone(), rank)
            })
            .collect();
        let ctx = self.ctx;
        let keyring = self.keyring;
        self.repo
            .walk_labelled(&tips, &targets.baseline, keyring, |c| {
                let (refname, _) = &targets.branches[c.label as usize];
                if c.marked && *refname != ctx.policy_ref {
                    let signature = &c.commit.facts.signature;
                    let signed_by = engine::signed_by(self.policy, ctx, signature);
                    let row = commit_row(&c.commit, "-", &signed_by, Outcome::Baseline, &[], false);
                    self.row(&row)
                } else {
                    self.commit(refname, &c.commit)
                }
            })
            .map_err(|cause| Error::Walk {
                refname: walk_name(targets, &cause),
                cause,
            })?;
        Ok(())
    }

    fn commit(&mut self, refname: &str, c: &WalkedCommit) -> ControlFlow<()> {
        // The paths it touches, compared only when a path entry covers its ref.
        let covered = self.policy.paths.iter().any(|p| p.applies_to(refname))
            && *refname != self.ctx.policy_ref;
        let (touched, unreadable) = if covered {
            match self.repo.touched_paths(&c.facts.id, &self.prefixes) {
                Ok(paths) => (paths, None),
                // Fail closed: a commit whose trees cannot be compared is a violation.
                Err(e) => (
                    Vec::new(),
                    Some(engine::Reason::on_object(
                        engine::Code::InternalError,
                        c.facts.id.clone(),
                        c.facts.summary.clone(),
                        format!("cannot tell which paths it touches: {e}"),
                    )),
                ),
            }
        } else {
            (Vec::new(), None)
        };
        let mut judgement =
            engine::judge_commit(self.policy, self.ctx, refname, &c.facts, &touched);
        judgement.reasons.extend(unreadable);
        let mut outcome = outcome(&judgement);
        if *refname == self.ctx.policy_ref && is_server_written(c) {
            // Not judged: its `unsigned` is expected, not a finding.
            outcome = Outcome::Server;
            judgement.reasons.clear();
        }
        let row = commit_row(
            c,
            refname,
            &judgement.signed_by,
            outcome,
            &judgement.reasons,
            judgement.allowed_signer,
        );
        self.row(&row)
    }
}

/// What a failed walk was walking, for its message: the ref whose tip is no commit, the one
/// ref walked, or all of them.
fn walk_name(targets: &Targets, error: &git::Error) -> String {
    let culprit = match error {
        git::Error::NotACommit { id } => targets.branches.iter().find(|(_, tip)| tip == id),
        _ if targets.branches.len() == 1 => targets.branches.first(),
        _ => None,
    };
    culprit.map_or_else(|| "the protected refs".to_owned(), |(name, _)| name.clone())
}

/// Whether an unsigned policy-branch commit was written by refguard on the server
/// (`refguard init` or `policy reset`). A push can never bring one: the hook requires admin signatures on
/// every new policy commit, so only filesystem access (the same trust as init) can.
pub fn is_server_written(c: &WalkedCommit) -> bool {
    c.facts.signature == engine::SignatureCheck::Unsigned
        && c.committer == format!("{} <{}>", git::IDENT_NAME, git::IDENT_EMAIL)
}

fn outcome(judgement: &Judgement) -> Outcome {
    if judgement.reasons.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Violation
    }
}

fn commit_row<'a>(
    c: &'a WalkedCommit,
    refname: &'a str,
    signed_by: &'a SignedBy,
    outcome: Outcome,
    reasons: &'a [engine::Reason],
    allowed_signer: bool,
) -> Row<'a> {
    let CommitFacts {
        id,
        summary,
        parent_count,
        ..
    } = &c.facts;
    Row {
        kind: "commit",
        id,
        refname,
        time: Some(c.time),
        committer: &c.committer,
        summary,
        parents: Some(*parent_count),
        signed_by,
        outcome,
        reasons,
        allowed_signer,
    }
}

#[cfg(test)]
mod tests;
