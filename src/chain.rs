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

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use crate::engine::{
    self, CommitFacts, ObjectId, PolicyCandidate, PolicyChange, PushContext, Reason, RefUpdate,
    UpdateFacts, UpdateKind,
};
use crate::policy::{self, Policy};
use crate::requirements::CommitScope;

/// One commit of the policy branch between the trust root and the tip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCommit {
    /// Id, summary, parent count and verified signature.
    pub facts: CommitFacts,
    /// Its parents, first parent first.
    pub parents: Vec<ObjectId>,
    /// The committer time, seconds since the epoch (the committer's claim).
    pub time: i64,
    /// Whether `refguard init` or `policy reset` wrote it on the server.
    pub server_written: bool,
    /// The blob id of `roles.toml` at the root of its tree, if there is one.
    pub roles: Option<ObjectId>,
}

/// Everything the chain's authentication looks at, gathered by the shell.
#[derive(Debug, Clone)]
pub struct ChainFacts {
    /// The policy branch's name (for the updates the steps are judged as).
    pub policy_ref: String,
    /// The trust root: a policy commit the verifier pins.
    pub root: ObjectId,
    /// The trust root's committer time.
    pub root_time: i64,
    /// The blob id of the trust root's `roles.toml`.
    pub root_roles: Option<ObjectId>,
    /// The tip of the policy branch.
    pub tip: ObjectId,
    /// Every commit reachable from the tip and not from the trust root.
    pub commits: Vec<ChainCommit>,
    /// The text of every `roles.toml` blob named above, or why it is unreadable.
    pub texts: HashMap<ObjectId, Result<String, String>>,
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
    /// Whether `roles.toml` differs from the step before.
    pub changed: bool,
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
    let root_policy = match facts.root_roles.as_ref().map(|id| facts.parsed(id)) {
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

impl ChainFacts {
    /// The policy a `roles.toml` blob holds, parsed as the hook parses the policy it judges
    /// with, or why it cannot be.
    fn parsed(&self, blob: &ObjectId) -> Result<Policy, String> {
        let text = self.text(blob)?;
        policy::parse(text).map_err(|diags| {
            let first = diags
                .first()
                .map(|d| d.render(crate::session::POLICY_FILE))
                .unwrap_or_default();
            format!("roles.toml does not validate: {first}")
        })
    }

    fn text(&self, blob: &ObjectId) -> Result<&str, String> {
        match self.texts.get(blob) {
            Some(Ok(text)) => Ok(text),
            Some(Err(why)) => Err(why.clone()),
            None => Err(format!("the roles.toml blob {blob} was not read")),
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
    /// The policy at each position's roles.toml blob, parsed once.
    policies: HashMap<ObjectId, Result<Policy, String>>,
    root_policy: Policy,
}

impl<'f> Search<'f> {
    fn new(
        facts: &'f ChainFacts,
        graph: &'f Graph<'f>,
        line: Vec<Option<usize>>,
        root_policy: Policy,
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
        let policies = line
            .iter()
            .flatten()
            .filter_map(|&c| facts.commits[c].roles.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .map(|blob| {
                let parsed = facts.parsed(&blob);
                (blob, parsed)
            })
            .collect();
        Search {
            facts,
            graph,
            line,
            brought,
            deepest,
            times,
            policies,
            root_policy,
        }
    }

    fn id(&self, position: usize) -> &'f ObjectId {
        match self.line[position] {
            Some(c) => &self.facts.commits[c].facts.id,
            None => &self.facts.root,
        }
    }

    fn roles(&self, position: usize) -> Option<&'f ObjectId> {
        match self.line[position] {
            Some(c) => self.facts.commits[c].roles.as_ref(),
            None => self.facts.root_roles.as_ref(),
        }
    }

    /// The policy in force after `position`.
    fn policy(&self, position: usize) -> Result<&Policy, String> {
        if self.line[position].is_none() {
            return Ok(&self.root_policy);
        }
        match self
            .roles(position)
            .and_then(|blob| self.policies.get(blob))
        {
            Some(Ok(policy)) => Ok(policy),
            Some(Err(why)) => Err(why.clone()),
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
        let policy = match self.policy(from) {
            Ok(policy) => policy,
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
        let pushed = self.roles(to);
        let candidate = match pushed {
            None => PolicyCandidate::Missing,
            Some(blob) => match self.facts.text(blob) {
                Err(why) => PolicyCandidate::Invalid { errors: vec![why] },
                Ok(text) => match policy::parse_at(text, &policy::no_files, at) {
                    Ok(_) => PolicyCandidate::Valid,
                    Err(diags) => PolicyCandidate::Invalid {
                        errors: diags
                            .iter()
                            .map(|d| d.render(crate::session::POLICY_FILE))
                            .collect(),
                    },
                },
            },
        };
        let mut change = PolicyChange {
            candidate,
            approving: Vec::new(),
            stale: Vec::new(),
        };
        for &c in &new {
            let commit = &self.facts.commits[c];
            if pushed.is_none() || commit.roles.as_ref() != pushed {
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
                .map(|&c| self.facts.commits[c].facts.clone())
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
            changed: self.roles(from) != pushed,
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
