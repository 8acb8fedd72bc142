//! Authenticating the policy branch offline (spec §13): from a pinned trust root to the tip,
//! every change approved as §2 requires by the policy before it. Pure: the shell gathers the
//! chain's commits ([`ChainFacts`]); this module cuts the chain into steps the server would
//! have accepted and judges each with the engine, as the hook judged pushes.
//!
//! Decisions where the spec is silent (the README says the same):
//! - **Steps.** A clone does not record how commits were grouped into pushes. A step is an
//!   update `prev → next` between two commits of the tip's first-parent line (the trust
//!   root, or the first commit of that line that descends from it, starts it); its new
//!   commits are those reachable from `next` and not from `prev`, merged side commits
//!   included. The chain is authenticated when it can be cut into steps each of which the
//!   hook would have accepted under the policy at `prev` (pusher aside: history does not
//!   record who pushed, and every new commit must be signed by an admin anyway). Any such
//!   cut is a sequence of pushes the server would have accepted, so which one is found does
//!   not matter; the search prefers short steps and backtracks when a cut leads nowhere.
//!   Once a step from `prev` fails on one of its commits (not signed by an admin), every
//!   longer step from `prev` contains that commit and is not tried.
//! - **Time.** Push time is unknown offline. A step is judged at its tip's committer time,
//!   never later than now and never earlier than any step before it (the running maximum
//!   along the first-parent line): keys and grants are judged as they stood then, so a
//!   chain does not break when a key expires later. The time is the signer's claim; the
//!   README says what that allows.
//! - **Breaks.** A commit that `refguard init` or `policy reset` wrote on the server
//!   (unsigned, committer `refguard <refguard@localhost>`) is a break of its own kind: the
//!   server's administrator replaced the policy. Nothing after the first break is
//!   authenticated; verification continues from a break only when it is given as a new
//!   trust root.
//! - **Certificates.** A policy is roles.toml and every file it references (OpenPGP
//!   certificates, spec §12), as the hook reads it: a commit that changes only a certificate
//!   file is a policy change like any other, and a commit approves a step only when it
//!   carries the step's roles.toml and files byte for byte. Each step's signatures are
//!   verified with the certificates of the policy that authorises it (the one before the
//!   step), never with those the step brings: a certificate swapped in cannot vouch for the
//!   commit that swaps it in.

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::engine::{
    self, CommitFacts, ObjectId, PolicyCandidate, PolicyChange, PushContext, Reason, RefUpdate,
    SignatureCheck, UpdateFacts, UpdateKind,
};
use crate::policy::{self, Policy, Severity};
use crate::requirements::CommitScope;

/// The blobs of a policy commit's policy: two commits carry the same policy when these are
/// equal (spec §2, v2: an approval is a signature on a commit that carries the pushed policy
/// byte for byte).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyBlobs {
    /// The blob id of `roles.toml` at the root of the tree.
    pub roles: ObjectId,
    /// Each file roles.toml references (OpenPGP certificates), by path relative to it, in
    /// the order the parser asked for them, with its blob id (`None`: not in the tree).
    pub files: Vec<(String, Option<ObjectId>)>,
}

impl PolicyBlobs {
    /// The keyring a policy with these files verifies OpenPGP signatures with: its files'
    /// blob ids, sorted, without repeats (a policy's certificates are exactly the files it
    /// references, so equal ids make equal keyrings).
    pub fn keyring(&self) -> KeyringId {
        let mut ids: Vec<ObjectId> = self.files.iter().filter_map(|(_, b)| b.clone()).collect();
        ids.sort();
        ids.dedup();
        KeyringId(ids)
    }
}

/// Which certificates an OpenPGP signature was verified with: the blob ids of a policy's
/// certificate files ([`PolicyBlobs::keyring`]). Empty: no certificates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyringId(pub Vec<ObjectId>);

/// The policy a commit of the policy branch carries, read from its tree by the shell.
#[derive(Debug, Clone)]
pub struct PolicyTree {
    /// roles.toml's blob and those of the files it references.
    pub blobs: PolicyBlobs,
    /// The policy, parsed with those files as the hook loads the policy in force, or every
    /// error, rendered (`roles.toml:LINE:COL: message`). Shared by the commits that carry
    /// the same blobs.
    pub parsed: Arc<Result<Policy, Vec<String>>>,
}

/// One commit of the policy branch between the trust root and the tip.
#[derive(Debug, Clone)]
pub struct ChainCommit {
    /// Id, summary, parent count and signature as verified without certificates: an SSH
    /// signature (or none, or a malformed one) is judged from this alone; an OpenPGP one
    /// is then [`SignatureCheck::NoCertificate`] and judged from `openpgp`.
    pub facts: CommitFacts,
    /// An OpenPGP signature's check with each keyring of the chain's policies (empty for
    /// any other). A step whose keyring is missing here counts it as a bad signature.
    pub openpgp: HashMap<KeyringId, SignatureCheck>,
    /// Its parents, first parent first.
    pub parents: Vec<ObjectId>,
    /// The committer time, seconds since the epoch (the committer's claim).
    pub time: i64,
    /// Whether `refguard init` or `policy reset` wrote it on the server.
    pub server_written: bool,
    /// The policy in its tree; `None` without a `roles.toml` at the root of its tree.
    pub policy: Option<PolicyTree>,
}

impl ChainCommit {
    /// Its facts with the signature as the certificates of `keyring` judge it (an OpenPGP
    /// signature not verified with them is bad: fail closed).
    fn facts_with(&self, keyring: &KeyringId) -> CommitFacts {
        let mut facts = self.facts.clone();
        let openpgp = matches!(facts.signature, SignatureCheck::NoCertificate { .. });
        if openpgp && !keyring.0.is_empty() {
            facts.signature = match self.openpgp.get(keyring) {
                Some(check) => check.clone(),
                None => SignatureCheck::Bad {
                    detail: UNVERIFIED.into(),
                },
            };
        }
        facts
    }
}

/// Why an OpenPGP signature the shell did not check with a step's keyring counts as bad.
const UNVERIFIED: &str =
    "the OpenPGP signature was not verified with the certificates of the policy before it";

/// Everything the chain's authentication looks at, gathered by the shell.
#[derive(Debug, Clone)]
pub struct ChainFacts {
    /// The policy branch's name (for the updates the steps are judged as).
    pub policy_ref: String,
    /// The trust root: a policy commit the verifier pins.
    pub root: ObjectId,
    /// The trust root's committer time.
    pub root_time: i64,
    /// The trust root's policy; `None` without a roles.toml.
    pub root_policy: Option<PolicyTree>,
    /// The tip of the policy branch.
    pub tip: ObjectId,
    /// Every commit reachable from the tip and not from the trust root.
    pub commits: Vec<ChainCommit>,
    /// Now: no step is judged later than this.
    pub now: OffsetDateTime,
}

/// Why the chain cannot be authenticated at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RootError {
    /// The trust root carries no usable roles.toml.
    #[error("the trust root {root} is not a policy commit: {detail}")]
    NotAPolicy {
        /// The trust root.
        root: ObjectId,
        /// What is wrong with its roles.toml.
        detail: String,
    },
}

/// One authenticated step of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The policy commit before it.
    pub from: ObjectId,
    /// The policy commit it leads to.
    pub to: ObjectId,
    /// The time it was judged at.
    pub at: OffsetDateTime,
    /// How many commits it brings.
    pub commits: usize,
    /// The admins who approved it, by user id.
    pub approvers: Vec<String>,
    /// Whether the policy (roles.toml or a file it references) differs from the step
    /// before.
    pub changed: bool,
    /// Whether roles.toml itself differs from the step before (when only `changed` is
    /// set, only files it references did: a certificate-only change).
    pub roles_changed: bool,
}

/// What kind of break ends the authenticated chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The tip does not descend from the trust root: the branch was rewritten, or the trust
    /// root belongs to another branch.
    NotDescendant,
    /// A commit written on the server by `refguard init` or `policy reset`.
    ServerWritten,
    /// No step from the last authenticated commit is approved by its policy.
    NotApproved,
}

impl BreakKind {
    /// A kebab-case word for JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakKind::NotDescendant => "not-descendant",
            BreakKind::ServerWritten => "server-written",
            BreakKind::NotApproved => "not-approved",
        }
    }
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// What kind of break.
    pub kind: BreakKind,
    /// The last authenticated policy commit.
    pub after: ObjectId,
    /// The commit the break is about: the server-written or offending commit, or the tip
    /// of the step that lacks approvals.
    pub commit: ObjectId,
    /// That commit's summary.
    pub summary: String,
    /// Why the step from `after` would have been rejected (empty for the other kinds).
    pub reasons: Vec<Reason>,
}

/// The authentication of a policy chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The authenticated steps, trust root first.
    pub steps: Vec<Step>,
    /// The last authenticated policy commit: the tip when the chain is unbroken.
    pub authenticated: ObjectId,
    /// The first break, if any.
    pub broken: Option<Break>,
    /// The commits between the trust root and the tip.
    pub commits: usize,
    /// Those not covered by the authenticated steps.
    pub unverified: usize,
}

/// Authenticates the chain from `facts.root` to `facts.tip`.
pub fn authenticate(facts: &ChainFacts) -> Result<Chain, RootError> {
    let root_policy = match facts.root_policy.as_ref().map(|tree| in_force(tree)) {
        Some(Ok(policy)) => policy,
        Some(Err(detail)) => {
            return Err(RootError::NotAPolicy {
                root: facts.root.clone(),
                detail,
            });
        }
        None => {
            return Err(RootError::NotAPolicy {
                root: facts.root.clone(),
                detail: "no roles.toml at the root of its tree".into(),
            });
        }
    };
    let graph = Graph::new(facts);
    if facts.tip == facts.root {
        return Ok(Chain {
            steps: Vec::new(),
            authenticated: facts.root.clone(),
            broken: None,
            commits: 0,
            unverified: 0,
        });
    }
    let Some(line) = graph.line() else {
        let tip = graph.commit(&facts.tip);
        return Ok(Chain {
            steps: Vec::new(),
            authenticated: facts.root.clone(),
            broken: Some(Break {
                kind: BreakKind::NotDescendant,
                after: facts.root.clone(),
                commit: facts.tip.clone(),
                summary: tip.map(|c| c.facts.summary.clone()).unwrap_or_default(),
                reasons: Vec::new(),
            }),
            commits: facts.commits.len(),
            unverified: facts.commits.len(),
        });
    };
    let search = Search::new(facts, &graph, line, root_policy);
    Ok(search.run())
}

/// The policy a tree holds, as the hook loads the policy it judges with, or why it cannot be.
fn in_force(tree: &PolicyTree) -> Result<&Policy, String> {
    match tree.parsed.as_ref() {
        Ok(policy) => Ok(policy),
        Err(errors) => Err(format!(
            "roles.toml does not validate: {}",
            errors.first().map(String::as_str).unwrap_or_default()
        )),
    }
}

/// A pushed policy as the hook validates it as a candidate at `at`: parsed with its files,
/// then the time-dependent checks ([`policy::parse_at`]).
fn candidate(tree: Option<&PolicyTree>, at: OffsetDateTime) -> PolicyCandidate {
    let Some(tree) = tree else {
        return PolicyCandidate::Missing;
    };
    match tree.parsed.as_ref() {
        Err(errors) => PolicyCandidate::Invalid {
            errors: errors.clone(),
        },
        Ok(policy) => {
            let errors: Vec<String> = policy::checks_at(policy, at)
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.render(crate::session::POLICY_FILE))
                .collect();
            if errors.is_empty() {
                PolicyCandidate::Valid
            } else {
                PolicyCandidate::Invalid { errors }
            }
        }
    }
}

/// The chain's commits as a graph: topological order, which descend from the trust root.
struct Graph<'f> {
    facts: &'f ChainFacts,
    index: HashMap<&'f ObjectId, usize>,
    /// Indexes into `facts.commits`, parents before children.
    topo: Vec<usize>,
    /// Position in `topo` of each commit.
    rank: Vec<usize>,
    /// Whether each commit descends from the trust root.
    descends: Vec<bool>,
}

impl<'f> Graph<'f> {
    fn new(facts: &'f ChainFacts) -> Graph<'f> {
        let index: HashMap<&ObjectId, usize> = facts
            .commits
            .iter()
            .enumerate()
            .map(|(i, c)| (&c.facts.id, i))
            .collect();
        let n = facts.commits.len();
        // Iterative depth-first post-order from every commit: parents first.
        let mut topo = Vec::with_capacity(n);
        let mut state = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
        for start in 0..n {
            if state[start] != 0 {
                continue;
            }
            let mut stack = vec![(start, 0usize)];
            state[start] = 1;
            while let Some((node, next)) = stack.pop() {
                let parents = &facts.commits[node].parents;
                if let Some(parent) = parents.get(next) {
                    stack.push((node, next + 1));
                    if let Some(&p) = index.get(parent)
                        && state[p] == 0
                    {
                        state[p] = 1;
                        stack.push((p, 0));
                    }
                } else {
                    state[node] = 2;
                    topo.push(node);
                }
            }
        }
        let mut rank = vec![0; n];
        for (r, &i) in topo.iter().enumerate() {
            rank[i] = r;
        }
        let mut descends = vec![false; n];
        for &i in &topo {
            descends[i] = facts.commits[i]
                .parents
                .iter()
                .any(|p| *p == facts.root || index.get(p).is_some_and(|&q| descends[q]));
        }
        Graph {
            facts,
            index,
            topo,
            rank,
            descends,
        }
    }

    fn commit(&self, id: &ObjectId) -> Option<&'f ChainCommit> {
        self.index.get(id).map(|&i| &self.facts.commits[i])
    }

    /// The positions a step may start or end at: the trust root, then the commits of the
    /// tip's first-parent line that descend from it, oldest first. `None` when the tip does
    /// not descend from the trust root.
    fn line(&self) -> Option<Vec<Option<usize>>> {
        let tip = *self.index.get(&self.facts.tip)?;
        if !self.descends[tip] {
            return None;
        }
        let mut line = vec![Some(tip)];
        let mut at = tip;
        // Down the first parents while they descend from the trust root; the trust root
        // itself, or a commit that does not descend from it, ends the line (then the line
        // reaches the trust root through another parent).
        while let Some(&p) = self.facts.commits[at]
            .parents
            .first()
            .and_then(|first| self.index.get(first))
            .filter(|&&p| self.descends[p])
        {
            line.push(Some(p));
            at = p;
        }
        line.push(None);
        line.reverse();
        Some(line)
    }
}

/// Why one step from a position fails.
#[derive(Debug, Clone)]
struct Failure {
    kind: BreakKind,
    /// The commit it is about.
    commit: ObjectId,
    reasons: Vec<Reason>,
    /// Whether the failure is about one of its commits (every longer step has it too).
    on_commit: bool,
}

/// The search for a cut of the chain into approved steps.
struct Search<'f> {
    facts: &'f ChainFacts,
    graph: &'f Graph<'f>,
    /// Commit index of each position (`None`: the trust root).
    line: Vec<Option<usize>>,
    /// The commits each position brings (reachable from it and not from the position
    /// before), newest first.
    brought: Vec<Vec<usize>>,
    /// For each commit, the last position it descends from (`None`: not even the trust
    /// root), so "descends from position i" is `deepest >= i`.
    deepest: Vec<Option<usize>>,
    /// The time each position's step is judged at.
    times: Vec<OffsetDateTime>,
    root_policy: &'f Policy,
}

impl<'f> Search<'f> {
    fn new(
        facts: &'f ChainFacts,
        graph: &'f Graph<'f>,
        line: Vec<Option<usize>>,
        root_policy: &'f Policy,
    ) -> Search<'f> {
        let n = facts.commits.len();
        let position: HashMap<usize, usize> = line
            .iter()
            .enumerate()
            .filter_map(|(k, c)| c.map(|c| (c, k)))
            .collect();
        // What each position brings: a walk from it over commits no earlier position took.
        let mut taken = vec![false; n];
        let mut brought = vec![Vec::new()];
        for start in line.iter().skip(1).flatten() {
            let mut mine = Vec::new();
            let mut todo = vec![*start];
            taken[*start] = true;
            while let Some(c) = todo.pop() {
                mine.push(c);
                for parent in &facts.commits[c].parents {
                    if let Some(&p) = graph.index.get(parent)
                        && !taken[p]
                    {
                        taken[p] = true;
                        todo.push(p);
                    }
                }
            }
            // Newest first, as a revision walk lists them.
            mine.sort_by_key(|&c| std::cmp::Reverse(graph.rank[c]));
            brought.push(mine);
        }
        let mut deepest: Vec<Option<usize>> = vec![None; n];
        for &c in &graph.topo {
            deepest[c] = facts.commits[c]
                .parents
                .iter()
                .filter_map(|p| {
                    if *p == facts.root {
                        return Some(0);
                    }
                    let &q = graph.index.get(p)?;
                    position.get(&q).copied().or(deepest[q])
                })
                .max();
        }
        let mut times = Vec::with_capacity(line.len());
        let mut latest = facts.root_time;
        for c in &line {
            if let Some(c) = c {
                latest = latest.max(facts.commits[*c].time);
            }
            let at =
                OffsetDateTime::from_unix_timestamp(latest).map_or(facts.now, |t| t.min(facts.now));
            times.push(at);
        }
        Search {
            facts,
            graph,
            line,
            brought,
            deepest,
            times,
            root_policy,
        }
    }

    fn id(&self, position: usize) -> &'f ObjectId {
        match self.line[position] {
            Some(c) => &self.facts.commits[c].facts.id,
            None => &self.facts.root,
        }
    }

    fn tree(&self, position: usize) -> Option<&'f PolicyTree> {
        match self.line[position] {
            Some(c) => self.facts.commits[c].policy.as_ref(),
            None => self.facts.root_policy.as_ref(),
        }
    }

    fn blobs(&self, position: usize) -> Option<&'f PolicyBlobs> {
        self.tree(position).map(|t| &t.blobs)
    }

    /// The policy in force after `position`, and the keyring its certificates make.
    fn policy(&self, position: usize) -> Result<(&'f Policy, KeyringId), String> {
        if self.line[position].is_none() {
            let keyring = self.blobs(position).map(PolicyBlobs::keyring);
            return Ok((self.root_policy, keyring.unwrap_or_default()));
        }
        match self.tree(position) {
            Some(tree) => in_force(tree).map(|policy| (policy, tree.blobs.keyring())),
            None => Err("no roles.toml at the root of its tree".into()),
        }
    }

    /// Judges the step from position `from` to position `to` as the hook would have judged
    /// that push.
    fn judge(&self, from: usize, to: usize) -> Result<Step, Failure> {
        let tip = self.id(to);
        let new: Vec<usize> = (from + 1..=to)
            .rev()
            .flat_map(|k| self.brought[k].iter().copied())
            .collect();
        if let Some(&c) = new.iter().find(|&&c| self.facts.commits[c].server_written) {
            return Err(Failure {
                kind: BreakKind::ServerWritten,
                commit: self.facts.commits[c].facts.id.clone(),
                reasons: Vec::new(),
                on_commit: true,
            });
        }
        let at = self.times[to];
        let (policy, keyring) = match self.policy(from) {
            Ok(found) => found,
            Err(why) => {
                return Err(Failure {
                    kind: BreakKind::NotApproved,
                    commit: self.id(from).clone(),
                    reasons: vec![Reason::on_ref(
                        engine::Code::PolicyInvalid,
                        format!("the policy at {} is unusable: {why}", self.id(from).short()),
                    )],
                    on_commit: true,
                });
            }
        };
        let pushed = self.blobs(to);
        let candidate = candidate(self.tree(to), at);
        let mut change = PolicyChange {
            candidate,
            approving: Vec::new(),
            stale: Vec::new(),
        };
        for &c in &new {
            let commit = &self.facts.commits[c];
            if pushed.is_none() || commit.policy.as_ref().map(|t| &t.blobs) != pushed {
                continue;
            }
            if self.deepest[c].is_some_and(|d| d >= from) {
                change.approving.push(commit.facts.id.clone());
            } else {
                change.stale.push(commit.facts.id.clone());
            }
        }
        let mut facts = UpdateFacts::new(
            RefUpdate {
                refname: self.facts.policy_ref.clone(),
                old: self.id(from).clone(),
                new: tip.clone(),
            },
            UpdateKind::FastForward,
        );
        facts.set_commits(
            CommitScope::PolicyBranch,
            new.iter()
                .map(|&c| self.facts.commits[c].facts_with(&keyring))
                .collect(),
        );
        facts.policy_change = Some(change);
        let ctx = PushContext {
            pusher: None,
            now: at,
            policy_ref: self.facts.policy_ref.clone(),
            repository: String::new(),
            pushed: Vec::new(),
        };
        let judged = engine::judge_policy_step(policy, &ctx, &facts);
        if judged.reasons.iter().any(Reason::denies) {
            let on_commit = judged.reasons.iter().find_map(|r| r.commit.clone());
            return Err(Failure {
                kind: BreakKind::NotApproved,
                commit: on_commit.clone().unwrap_or_else(|| tip.clone()),
                reasons: judged.reasons,
                on_commit: on_commit.is_some(),
            });
        }
        Ok(Step {
            from: self.id(from).clone(),
            to: tip.clone(),
            at,
            commits: new.len(),
            approvers: judged.approvers,
            changed: self.blobs(from) != pushed,
            roles_changed: self.blobs(from).map(|b| &b.roles) != pushed.map(|b| &b.roles),
        })
    }

    /// A depth-first search for a cut into approved steps, shortest steps first.
    fn run(self) -> Chain {
        let last = self.line.len() - 1;
        let mut dead = vec![false; self.line.len()];
        // The path so far: (position, next step end to try, the step that led here).
        let mut path: Vec<(usize, usize, Option<Step>)> = vec![(0, 1, None)];
        let mut furthest = 0;
        let mut furthest_steps: Vec<Step> = Vec::new();
        let mut failures: Vec<Failure> = Vec::new();
        while let Some(&(at, next, _)) = path.last() {
            if at == last {
                break;
            }
            if at > furthest {
                furthest = at;
                furthest_steps = path.iter().filter_map(|(_, _, s)| s.clone()).collect();
                failures.clear();
            }
            let mut advanced = None;
            let mut to = next;
            while to <= last {
                if dead[to] {
                    to += 1;
                    continue;
                }
                match self.judge(at, to) {
                    Ok(step) => {
                        advanced = Some((to, step));
                        break;
                    }
                    Err(failure) => {
                        let on_commit = failure.on_commit;
                        if at == furthest {
                            failures.push(failure);
                        }
                        if on_commit {
                            break;
                        }
                        to += 1;
                    }
                }
            }
            match advanced {
                Some((to, step)) => {
                    if let Some(top) = path.last_mut() {
                        top.1 = to + 1;
                    }
                    path.push((to, to + 1, Some(step)));
                }
                None => {
                    dead[at] = true;
                    path.pop();
                }
            }
        }
        let total = self.facts.commits.len();
        if path.last().is_some_and(|(at, _, _)| *at == last) {
            return Chain {
                steps: path.into_iter().filter_map(|(_, _, step)| step).collect(),
                authenticated: self.facts.tip.clone(),
                broken: None,
                commits: total,
                unverified: 0,
            };
        }
        // The chain breaks after the furthest position any cut reached: report the failure
        // of its first step that fails on a commit, else of its longest step.
        let failure = failures
            .iter()
            .find(|f| f.on_commit)
            .or(failures.last())
            .cloned();
        let steps = furthest_steps;
        let covered: usize = self.brought[..=furthest].iter().map(Vec::len).sum();
        let after = self.id(furthest).clone();
        let broken = match failure {
            Some(f) => {
                let summary = self
                    .graph
                    .commit(&f.commit)
                    .map(|c| c.facts.summary.clone())
                    .unwrap_or_default();
                Break {
                    kind: f.kind,
                    after: after.clone(),
                    commit: f.commit,
                    summary,
                    reasons: f.reasons,
                }
            }
            None => Break {
                kind: BreakKind::NotApproved,
                after: after.clone(),
                commit: self.facts.tip.clone(),
                summary: String::new(),
                reasons: Vec::new(),
            },
        };
        Chain {
            steps,
            authenticated: after,
            broken: Some(broken),
            commits: total,
            unverified: total - covered,
        }
    }
}

#[cfg(test)]
mod tests;
