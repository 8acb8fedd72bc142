//! The imperative shell of one push: load the policy from the repository, gather the facts of
//! each ref update with git, and hand them to the pure engine. Errors never escape as an
//! accept: every failure becomes an `[internal-error]` verdict (fail closed).

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use crate::approval;
use crate::engine::{
    self, ApprovalFact, Code, CommitFacts, ObjectId, PolicyCandidate, PolicyChange, PushCert,
    PushContext, RefUpdate, Touch, UpdateFacts, Verdict,
};
use crate::git::{self, Repo};
use crate::policy::{self, Policy, PolicyFile};
use crate::pushcert::{self, Coverage, NonceStatus, Presented};
use crate::refmap::{Lookup, RefMap};
use crate::requirements::{self, CommitScope, PathId, Requirements};
use crate::verify::Keyring;

/// The git config variable naming the organisation policy repository (spec §10). Read from
/// the system, global or repository config (as git reads them): none of them is something a
/// pusher controls.
pub const ORG_POLICY_KEY: &str = "refguard.orgPolicy";

/// The policy branch when `refguard.policyRef` is not set.
pub const DEFAULT_POLICY_REF: &str = "refs/meta/policy";
/// The roles file at the root of the policy branch's tree.
pub const POLICY_FILE: &str = "roles.toml";
/// Environment variables that name the pusher, first non-empty wins (spec §3.6).
pub const PUSHER_VARS: [&str; 5] = [
    "REFGUARD_USER",
    "GL_USER",
    "GITEA_PUSHER_NAME",
    "GL_USERNAME",
    "REMOTE_USER",
];

/// The pusher name from the environment, through a lookup function (so tests need no env).
pub fn pusher_from(lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    PUSHER_VARS
        .iter()
        .filter_map(|var| lookup(var))
        .find(|v| !v.trim().is_empty())
}

/// The push certificate of a push, read as git hands it to pre-receive: `GIT_PUSH_CERT` (the
/// id of the certificate blob, in the quarantine) and `GIT_PUSH_CERT_NONCE_STATUS`, through a
/// lookup function. `GIT_PUSH_CERT_STATUS` and `GIT_PUSH_CERT_SIGNER` are ignored on purpose:
/// git says `G` even for a key in no allowed-signers file, so the signature is verified here.
/// An unreadable blob is an error (the hook fails closed).
pub fn push_cert(
    session: &Session<'_>,
    lookup: impl Fn(&str) -> Option<String>,
    updates: &[RefUpdate],
    coverage: Coverage,
) -> Result<PushCert, git::Error> {
    let repo = session.repo;
    let Some(blob_id) = lookup("GIT_PUSH_CERT").filter(|v| !v.is_empty()) else {
        return Ok(PushCert::Absent);
    };
    let Some(id) = ObjectId::parse(&blob_id) else {
        return Ok(PushCert::Present {
            signature: None,
            problems: vec![format!(
                "GIT_PUSH_CERT is not an object id: {}",
                blob_id.escape_default()
            )],
        });
    };
    let blob = repo.blob(&id)?;
    let status = NonceStatus::from_env_value(lookup("GIT_PUSH_CERT_NONCE_STATUS").as_deref());
    Ok(pushcert::assess(&Presented {
        blob: &blob,
        nonce_status: &status,
        updates,
        coverage,
        repo_name: session.repository(),
        keyring: session.keyring(),
    }))
}

/// The repository's name as approvals and push certificates name it (spec §7):
/// `git config refguard.name`, else the directory's name without `.git` (for a non-bare
/// repository's `.git`, the work tree's name).
pub fn repository_name(repo: &Repo) -> Result<String, git::Error> {
    if let Some(name) = repo
        .config_string("refguard.name")?
        .filter(|n| !n.is_empty())
    {
        return Ok(name);
    }
    let dir = repo_dir_name(repo.git_dir());
    Ok(dir.strip_suffix(".git").unwrap_or(&dir).to_string())
}

/// The repository's directory name (`project.git`; for a non-bare repository's `.git`, the
/// work tree's name).
fn repo_dir_name(git_dir: &std::path::Path) -> String {
    let dir = git_dir
        .canonicalize()
        .unwrap_or_else(|_| git_dir.to_path_buf());
    let name = |p: &std::path::Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    match name(&dir).as_str() {
        ".git" => dir.parent().map(name).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// What the policy branch holds before the push.
#[derive(Debug)]
pub enum PolicyState {
    /// No policy branch: every push is rejected with `[no-policy]`.
    Missing,
    /// The branch exists but its roles.toml is missing or invalid (only possible if someone
    /// bypassed refguard): every push is rejected with `[internal-error]`.
    Broken {
        /// The policy commit.
        commit: ObjectId,
        /// What is wrong.
        detail: String,
    },
    /// `refguard.orgPolicy` names an organisation policy that is missing, unreadable or
    /// invalid (spec §10): every push is rejected with `code` (`no-policy` when it has no
    /// policy branch, else `internal-error`), never judged by the repository's file alone.
    OrgUnusable {
        /// `no-policy` or `internal-error`.
        code: Code,
        /// What is wrong, naming the organisation repository.
        detail: String,
    },
    /// A valid policy (under an organisation policy: joined with it, spec §10).
    Loaded {
        /// The policy commit.
        commit: ObjectId,
        /// The validated policy.
        policy: Box<Policy>,
    },
}

/// Which server a session judges for, and where its refs are: the repository itself (on
/// the server), or a clone's copies of them (the pre-push check, spec §13).
#[derive(Debug, Clone)]
pub struct View {
    /// The server's policy branch (`refguard.policyRef`, default `refs/meta/policy`).
    pub policy_ref: String,
    /// The server repository's name, as approvals and push certificates must name it.
    pub repository: String,
    /// Where the server's refs (the policy branch, other refs' tips, approvals) are found.
    pub refs: RefMap,
}

impl View {
    /// The server's own view: the policy ref from `refguard.policyRef`, every ref under its
    /// own name.
    pub fn server(repo: &Repo) -> Result<View, git::Error> {
        Ok(View {
            policy_ref: policy_ref_setting(repo)?,
            repository: repository_name(repo)?,
            refs: RefMap::identity(),
        })
    }
}

/// `git config refguard.policyRef`, else [`DEFAULT_POLICY_REF`].
pub fn policy_ref_setting(repo: &Repo) -> Result<String, git::Error> {
    Ok(repo
        .config_string("refguard.policyRef")?
        .unwrap_or_else(|| DEFAULT_POLICY_REF.to_string()))
}

/// One push's view of the repository and its policy.
pub struct Session<'r> {
    repo: &'r Repo,
    policy_ref: String,
    repository: String,
    refs: RefMap,
    state: PolicyState,
    /// The organisation policy the repository is judged under (spec §10), if configured.
    org: Option<OrgSource>,
    /// The policy's OpenPGP certificates, built once: every signature of the push is
    /// verified with it (empty without a loaded policy).
    keyring: Keyring,
    /// The paths each commit touches, once compared ([`Session::touched_paths`]).
    touched: RefCell<HashMap<ObjectId, Touched>>,
}

/// The paths a commit touches ([`Repo::touched_paths`]) and the prefixes they were bound by.
type Touched = (Vec<String>, Rc<[String]>);

impl<'r> Session<'r> {
    /// Reads the policy ref name from config and the policy at its current tip.
    pub fn load(repo: &'r Repo) -> Result<Session<'r>, git::Error> {
        Session::load_view(repo, View::server(repo)?)
    }

    /// The policy at the tip of the server's policy branch as `view` finds it, for judging
    /// pushes to that server (the same engine whatever the view).
    pub fn load_view(repo: &'r Repo, view: View) -> Result<Session<'r>, git::Error> {
        let _span = tracing::debug_span!("load_policy").entered();
        let View {
            policy_ref,
            repository,
            refs,
        } = view;
        let tip = match refs.local_name(&policy_ref) {
            Some(local) => repo.resolve_ref(&local)?,
            None => None,
        };
        // Only the server's own view reads the server's config; a clone judging for a
        // remote (spec §13) does not know the remote's organisation policy.
        let org = if refs.is_identity() {
            load_org(repo)?
        } else {
            OrgLoad::None
        };
        let (source, found) = match org {
            OrgLoad::None => (None, None),
            OrgLoad::Found { source, org } => (Some(source), Some(org)),
            OrgLoad::Unusable {
                source,
                code,
                detail,
            } => {
                let state = PolicyState::OrgUnusable { code, detail };
                return Ok(Session::new(
                    repo,
                    policy_ref,
                    repository,
                    refs,
                    state,
                    Some(source),
                ));
            }
        };
        let state = match tip {
            None => PolicyState::Missing,
            Some(commit) => match read_policy_cached(repo, &commit, found.as_ref())? {
                Loaded::Policy(policy) => PolicyState::Loaded { commit, policy },
                Loaded::Broken(detail) => PolicyState::Broken { commit, detail },
                Loaded::OrgUnusable(code, detail) => {
                    let detail = match &source {
                        Some(source) => org_unusable_detail(&source.configured, &detail),
                        None => detail,
                    };
                    PolicyState::OrgUnusable { code, detail }
                }
            },
        };
        Ok(Session::new(
            repo, policy_ref, repository, refs, state, source,
        ))
    }

    fn new(
        repo: &'r Repo,
        policy_ref: String,
        repository: String,
        refs: RefMap,
        state: PolicyState,
        org: Option<OrgSource>,
    ) -> Session<'r> {
        let keyring = match &state {
            PolicyState::Loaded { policy, .. } => keyring_of(policy),
            _ => Keyring::empty(),
        };
        Session {
            repository,
            repo,
            policy_ref,
            refs,
            state,
            org,
            keyring,
            touched: RefCell::default(),
        }
    }

    /// The organisation policy this repository is judged under (spec §10), if configured:
    /// where it is and its policy commit (the audit log's `org_policy`).
    pub fn org(&self) -> Option<&OrgSource> {
        self.org.as_ref()
    }

    /// The keyring of the policy in force: its OpenPGP certificates.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The context of a push (or dry run, or audit) judged in this session: who pushes (a
    /// name, if any), when, and the push's ref updates. Every entry point builds its context
    /// here.
    pub fn context(
        &self,
        pusher: Option<String>,
        now: time::OffsetDateTime,
        pushed: Vec<RefUpdate>,
    ) -> PushContext {
        PushContext {
            pusher,
            now,
            policy_ref: self.policy_ref.clone(),
            repository: self.repository.clone(),
            pushed,
        }
    }

    /// This repository's name, as approvals and push certificates must name it.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The policy branch's ref name.
    pub fn policy_ref(&self) -> &str {
        &self.policy_ref
    }

    /// The policy before the push.
    pub fn state(&self) -> &PolicyState {
        &self.state
    }

    /// The policy commit id, when there is one.
    pub fn policy_commit(&self) -> Option<&ObjectId> {
        match &self.state {
            PolicyState::Missing | PolicyState::OrgUnusable { .. } => None,
            PolicyState::Broken { commit, .. } | PolicyState::Loaded { commit, .. } => Some(commit),
        }
    }

    /// Judges one ref update, push certificates not checked (a dry run). Never fails:
    /// errors become `[internal-error]` rejections.
    pub fn decide(&self, update: &RefUpdate, ctx: &PushContext) -> Verdict {
        self.decide_signed(update, ctx, &PushCert::NotChecked)
    }

    /// Judges one ref update of a push with (or without) a push certificate. Never fails:
    /// errors become `[internal-error]` rejections.
    pub fn decide_signed(&self, update: &RefUpdate, ctx: &PushContext, cert: &PushCert) -> Verdict {
        // One span per ref update (spec §15): what was judged, under which rule, for whom,
        // and (when it closes) how long it took; its children time the phases.
        let span = tracing::info_span!(
            "update",
            refname = %crate::text::escape(&update.refname),
            range = %format_args!("{}..{}", update.old.short(), update.new.short()),
            pusher = ctx
                .pusher
                .as_deref()
                .map(|p| tracing::field::display(crate::text::escape(p))),
            kind = tracing::field::Empty,
            rule = tracing::field::Empty,
            user = tracing::field::Empty,
            decision = tracing::field::Empty,
            codes = tracing::field::Empty,
        );
        let _entered = span.enter();
        let verdict = self.decide_in_span(update, ctx, cert);
        if !span.is_disabled() {
            if let Some(kind) = verdict.kind {
                span.record("kind", kind.as_str());
            }
            if let Some(rule) = verdict.rule {
                span.record("rule", tracing::field::display(rule));
            }
            if let Some(user) = &verdict.user {
                span.record("user", tracing::field::display(crate::text::escape(user)));
            }
            let decision = if verdict.accepted() {
                "accept"
            } else {
                "reject"
            };
            span.record("decision", decision);
            let codes: Vec<&str> = verdict.reasons.iter().map(|r| r.code.as_str()).collect();
            span.record("codes", tracing::field::display(codes.join(",")));
        }
        verdict
    }

    fn decide_in_span(&self, update: &RefUpdate, ctx: &PushContext, cert: &PushCert) -> Verdict {
        match &self.state {
            PolicyState::Missing => Verdict::reject(
                update.clone(),
                Code::NoPolicy,
                format!(
                    "this repository has no policy branch {}; every push is rejected until it exists",
                    self.policy_ref
                ),
            ),
            PolicyState::Broken { commit, detail } => Verdict::reject(
                update.clone(),
                Code::InternalError,
                format!(
                    "the policy at {} ({}) is unusable: {detail}",
                    self.policy_ref,
                    commit.short()
                ),
            ),
            PolicyState::OrgUnusable { code, detail } => {
                Verdict::reject(update.clone(), *code, detail.clone())
            }
            PolicyState::Loaded { policy, .. } => self.judge_with(policy, update, ctx, cert),
        }
    }

    /// Judges one ref update under `policy` instead of the policy branch's (a candidate, for
    /// `audit replay`), push certificates not checked. Never fails: errors become
    /// `[internal-error]` rejections.
    pub fn decide_with(&self, policy: &Policy, update: &RefUpdate, ctx: &PushContext) -> Verdict {
        self.judge_with(policy, update, ctx, &PushCert::NotChecked)
    }

    fn judge_with(
        &self,
        policy: &Policy,
        update: &RefUpdate,
        ctx: &PushContext,
        cert: &PushCert,
    ) -> Verdict {
        let inspected = self.repo.kind(update).and_then(|kind| {
            let reqs = requirements::for_update(policy, &self.policy_ref, &update.refname, kind);
            let facts = {
                let _gather = tracing::debug_span!("gather").entered();
                self.gather(policy, &reqs, update, ctx)?
            };
            let _decide = tracing::debug_span!("decide").entered();
            Ok(engine::judge(policy, &reqs, ctx, cert, &facts))
        });
        inspected.unwrap_or_else(|err| {
            Verdict::reject(
                update.clone(),
                Code::InternalError,
                format!("cannot inspect {}: {err}", update.refname),
            )
        })
    }

    /// Gathers what the requirements of `update` need (their [`requirements::Needs`]), and
    /// nothing else: history is walked only for the commit scopes asked for (spec §3.2).
    fn gather(
        &self,
        policy: &Policy,
        reqs: &Requirements<'_>,
        update: &RefUpdate,
        ctx: &PushContext,
    ) -> Result<UpdateFacts, git::Error> {
        let mut facts = UpdateFacts::new(update.clone(), reqs.kind);
        let needs = reqs.needs();
        for scope in &needs.commits {
            let walk =
                tracing::debug_span!("walk", scope = ?scope, commits = tracing::field::Empty);
            let _walk = walk.enter();
            let commits = self.new_commits(policy, *scope, update)?;
            walk.record("commits", commits.len());
            facts.set_commits(*scope, commits);
        }
        if needs.tag {
            facts.tag = Some(self.repo.tag_target(&update.new, &self.keyring)?);
        }
        for id in &needs.touched {
            let touched = self.touched(policy, *id, &facts)?;
            facts.touched.push((*id, touched));
        }
        if needs.approvals {
            facts.approvals = Some(self.approvals(update, ctx)?);
        }
        if needs.approval {
            facts.approval = Some(self.repo.approval(
                &update.refname,
                &update.new,
                &self.keyring,
            )?);
        }
        if needs.policy_change {
            let commits = facts
                .commits_in(CommitScope::PolicyBranch)
                .unwrap_or_default();
            facts.policy_change = Some(self.policy_change(update, commits, ctx.now)?);
        }
        Ok(facts)
    }

    /// The new commits of `scope` for `update`: reachable from `new`, not from `old`, nor
    /// from what the scope says hides them (other refs' tips, the baseline).
    fn new_commits(
        &self,
        policy: &Policy,
        scope: CommitScope,
        update: &RefUpdate,
    ) -> Result<Vec<CommitFacts>, git::Error> {
        let mut known: Vec<ObjectId> = non_zero(&update.old).into_iter().collect();
        if scope.uses_baseline() {
            known.extend(
                policy
                    .baseline
                    .iter()
                    .filter_map(|hex| ObjectId::parse(hex)),
            );
        }
        // In pre-receive, when the pushed range meets no older commit except through the
        // known hides, no other ref can reach into it, so the (possibly thousands of) other
        // refs need not even be listed.
        let others = |hides: &mut git::Hides| {
            // Only refs under the scope's prefixes can hide anything: list those, not every
            // ref (10,000 approval refs must not slow a deployment down).
            let mut prefixes = scope.ref_prefixes(policy);
            prefixes.sort();
            // Sorted, a prefix follows any shorter one it extends: list each ref once.
            let mut listed: Vec<&String> = Vec::new();
            let hidden_by =
                |name: &str| scope.hidden_by(policy, &self.policy_ref, &update.refname, name);
            for prefix in &prefixes {
                if listed.iter().any(|l| prefix.starts_with(l.as_str())) {
                    continue;
                }
                listed.push(prefix);
                if self.refs.is_identity() {
                    // The repository's own refs: read without a string per ref.
                    self.repo.hide_refs_with_prefix(prefix, hides, hidden_by)?;
                    continue;
                }
                for (name, id) in self.server_refs(prefix)? {
                    if hidden_by(&name) {
                        hides.push(&id);
                    }
                }
            }
            Ok(())
        };
        self.repo
            .new_commits_beyond(&update.new, &known, others, &self.keyring)
    }

    /// The server's refs whose names start with `prefix`, under the server's names, sorted:
    /// the repository's own refs on the server, their copies in a clone.
    fn server_refs(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>, git::Error> {
        if self.refs.is_identity() {
            return self.repo.refs_with_prefix(prefix);
        }
        let mut found = std::collections::BTreeMap::new();
        for lookup in self.refs.lookups(prefix) {
            let listed = match &lookup {
                Lookup::Exact { local, .. } => self
                    .repo
                    .resolve_ref(local)?
                    .map(|id| (local.clone(), id))
                    .into_iter()
                    .collect(),
                Lookup::Prefix { list, .. } => self.repo.refs_with_prefix(list)?,
            };
            for (local, id) in listed {
                if let Some(name) = lookup.server_name(&local).filter(|n| n.starts_with(prefix)) {
                    found.entry(name).or_insert(id);
                }
            }
        }
        Ok(found.into_iter().collect())
    }

    /// The new commits of the `[[path]]` entry `id`'s scope that touch its paths, with the
    /// paths (spec §9). The diff is limited to the directories the entry's globs can match in.
    fn touched(
        &self,
        policy: &Policy,
        id: PathId,
        facts: &UpdateFacts,
    ) -> Result<Vec<Touch>, git::Error> {
        let Some(entry) = policy.paths.iter().find(|p| PathId::of(p) == id) else {
            return Ok(Vec::new());
        };
        let commits = facts.commits_in(CommitScope::Path(id)).unwrap_or_default();
        // Once per entry, not per commit: where any entry's globs can match.
        let prefixes = requirements::path_prefixes(policy);
        let mut out = Vec::new();
        for commit in commits {
            let paths = entry.matching(&self.touched_paths(&prefixes, &commit.id)?);
            if !paths.is_empty() {
                out.push(Touch {
                    commit: commit.id.clone(),
                    paths,
                });
            }
        }
        Ok(out)
    }

    /// The paths `id` touches under any path entry's prefix: compared once per commit for
    /// the whole push, whatever the number of entries and refs that bring it.
    fn touched_paths(
        &self,
        prefixes: &[String],
        id: &ObjectId,
    ) -> Result<Rc<[String]>, git::Error> {
        // Keyed by the prefixes too: a session may judge under another policy (a candidate).
        if let Some((bound, paths)) = self.touched.borrow().get(id)
            && *bound == prefixes
        {
            return Ok(Rc::clone(paths));
        }
        let paths: Rc<[String]> = self.repo.touched_paths(id, prefixes)?.into();
        self.touched
            .borrow_mut()
            .insert(id.clone(), (prefixes.to_vec(), Rc::clone(&paths)));
        Ok(paths)
    }

    /// The approvals of `update.new`: stored under `refs/approvals/<new>/` (a prefix lookup,
    /// whatever the number of approvals in the repository), or created by this push (in
    /// pre-receive their tags are in the quarantine, their refs not written yet).
    fn approvals(
        &self,
        update: &RefUpdate,
        ctx: &PushContext,
    ) -> Result<Vec<ApprovalFact>, git::Error> {
        let prefix = approval::prefix_for(&update.new);
        let mut refs = self.server_refs(&prefix)?;
        for pushed in &ctx.pushed {
            if pushed.refname.starts_with(&prefix)
                && pushed.old.is_zero()
                && !refs.iter().any(|(name, _)| *name == pushed.refname)
            {
                refs.push((pushed.refname.clone(), pushed.new.clone()));
            }
        }
        refs.iter()
            .map(|(name, id)| self.repo.approval(name, id, &self.keyring))
            .collect()
    }

    /// The pushed policy: its roles.toml (and the files it references) validated as a
    /// candidate at push time (an admin quorum that cannot be reached with keys usable now
    /// makes it invalid, spec §2), and which new commits approve it.
    fn policy_change(
        &self,
        update: &RefUpdate,
        commits: &[CommitFacts],
        now: time::OffsetDateTime,
    ) -> Result<PolicyChange, git::Error> {
        let (candidate, referenced) = self.candidate(&update.new, now)?;
        let mut change = PolicyChange {
            candidate,
            approving: Vec::new(),
            stale: Vec::new(),
        };
        // An approval is an admin's signature on a new commit that carries the pushed
        // policy, roles.toml and every file it references, byte for byte, and descends from
        // the current tip (spec §2, v2): a proposal signed before the policy last moved was
        // given to another policy.
        let paths: Vec<&str> = std::iter::once(POLICY_FILE)
            .chain(referenced.iter().map(String::as_str))
            .collect();
        let Some(pushed) = self.blob_ids(&update.new, &paths)? else {
            return Ok(change);
        };
        for commit in commits {
            if self.blob_ids(&commit.id, &paths)?.as_ref() != Some(&pushed) {
                continue;
            }
            if update.old.is_zero() || self.repo.descends_from(&commit.id, &update.old)? {
                change.approving.push(commit.id.clone());
            } else {
                change.stale.push(commit.id.clone());
            }
        }
        Ok(change)
    }

    /// The blob ids of `paths` in the tree of `commit`; `None` if roles.toml (the first) is
    /// missing. A missing referenced file is `None` in its place, so it matches only where
    /// it is missing too.
    fn blob_ids(
        &self,
        commit: &ObjectId,
        paths: &[&str],
    ) -> Result<Option<Vec<Option<ObjectId>>>, git::Error> {
        let ids = paths
            .iter()
            .map(|path| self.repo.blob_id_at(commit, path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids.first().is_some_and(Option::is_some).then_some(ids))
    }

    /// The pushed roles.toml, validated as a candidate at `now` with the files it references
    /// read from the same tree; with the paths of those files (none when it is invalid).
    fn candidate(
        &self,
        commit: &ObjectId,
        now: time::OffsetDateTime,
    ) -> Result<(PolicyCandidate, Vec<String>), git::Error> {
        let Some(bytes) = self.repo.blob_at(commit, POLICY_FILE)? else {
            return Ok((PolicyCandidate::Missing, Vec::new()));
        };
        let Ok(text) = String::from_utf8(bytes) else {
            let errors = vec![format!("{POLICY_FILE}: not UTF-8 text")];
            return Ok((PolicyCandidate::Invalid { errors }, Vec::new()));
        };
        // Under an organisation policy the pushed file must validate under it: it may not
        // redefine an organisation name or list an organisation user's key. Read again
        // here (the session's copy is joined with the repository's): policy pushes are rare.
        let org = match self.org {
            Some(_) => match org_policy(self.repo)? {
                Some(Ok(policy)) => Some(policy),
                None => None,
                Some(Err(detail)) => {
                    return Ok((
                        PolicyCandidate::Invalid {
                            errors: vec![detail],
                        },
                        Vec::new(),
                    ));
                }
            },
            None => None,
        };
        let layer = match &org {
            Some(org) => policy::Layer::UnderOrg(org),
            None => policy::Layer::Repo,
        };
        Ok(
            match policy::parse_at_layer(&text, &tree_files(self.repo, commit), layer, now) {
                Ok(policy) => (
                    PolicyCandidate::Valid,
                    policy.files.into_iter().map(|(path, _)| path).collect(),
                ),
                Err(diags) => (
                    PolicyCandidate::Invalid {
                        errors: diags.iter().map(|d| d.render(POLICY_FILE)).collect(),
                    },
                    Vec::new(),
                ),
            },
        )
    }
}

/// The keyring of a policy's OpenPGP certificates.
pub fn keyring_of(policy: &Policy) -> Keyring {
    Keyring::new(policy.certificates().cloned())
}

/// The files beside roles.toml in the tree of a policy commit, as [`policy::Files`] reads
/// them. An object that cannot be read is an error message, so the policy fails to validate
/// (fail closed).
pub fn tree_files<'a>(
    repo: &'a Repo,
    commit: &'a ObjectId,
) -> impl Fn(&str) -> Result<Vec<u8>, String> + 'a {
    move |path| match repo.blob_at(commit, path) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(format!(
            "no such file in the policy commit {}",
            commit.short()
        )),
        Err(e) => Err(format!("unreadable: {e}")),
    }
}

/// Reads and validates roles.toml at a policy commit; Err(detail) when unusable.
pub fn read_policy(repo: &Repo, commit: &ObjectId) -> Result<Result<Policy, String>, git::Error> {
    read_policy_under(repo, commit, None)
}

/// [`read_policy`], under the organisation policy `org` when there is one (spec §10): the
/// repository's file validated under it and joined with it.
fn read_policy_under(
    repo: &Repo,
    commit: &ObjectId,
    org: Option<Policy>,
) -> Result<Result<Policy, String>, git::Error> {
    let under = org.is_some();
    let layer = |text: &str| match org {
        Some(org) => policy::parse_under(text, &tree_files(repo, commit), org),
        None => policy::parse_with(text, &tree_files(repo, commit)),
    };
    Ok(
        read_roles(repo, commit, PolicyFile::Repo, layer)?.map_err(|detail| {
            if under {
                format!("{detail} (under the organisation policy)")
            } else {
                detail
            }
        }),
    )
}

/// roles.toml at `commit`, parsed by `parse`; Err(detail) when it is missing, not UTF-8 or
/// does not validate (the first error, located in `file`).
fn read_roles(
    repo: &Repo,
    commit: &ObjectId,
    file: PolicyFile,
    parse: impl FnOnce(&str) -> Result<Policy, Vec<policy::Diagnostic>>,
) -> Result<Result<Policy, String>, git::Error> {
    let name = file.name();
    let Some(bytes) = repo.blob_at(commit, POLICY_FILE)? else {
        return Ok(Err(format!("no {POLICY_FILE} at the root of its tree")));
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(Err(format!("{name} is not UTF-8")));
    };
    Ok(parse(&text).map_err(|diags| {
        let first = diags.first().map(|d| d.render(name)).unwrap_or_default();
        format!("{name} does not validate: {first}")
    }))
}

/// The organisation policy `refguard.orgPolicy` names for `repo` (spec §10): `None` when
/// none is configured (or `repo` is the organisation's own repository), `Some(Err(why))`
/// when it is configured but missing, unreadable or invalid. For the commands that validate
/// a repository's roles file under it (`init`, `policy reset`, `org check`).
pub fn org_policy(repo: &Repo) -> Result<Option<Result<Policy, String>>, git::Error> {
    Ok(match load_org(repo)? {
        OrgLoad::None => None,
        OrgLoad::Found { source, org } => Some(
            read_org(&org, repo)?
                .map_err(|(_, detail)| org_unusable_detail(&source.configured, &detail)),
        ),
        OrgLoad::Unusable { detail, .. } => Some(Err(detail)),
    })
}

/// The organisation policy at the tip of an organisation repository's own policy branch, or
/// why there is none (`no-policy`: no branch; `internal-error`: a roles.toml that does not
/// validate).
type OrgRead = Result<Policy, (Code, String)>;

fn read_org(found: &FoundOrg, cache: &Repo) -> Result<OrgRead, git::Error> {
    let FoundOrg { repo: org, commit } = found;
    let parse =
        |text: &str| policy::parse_layer(text, &tree_files(org, commit), policy::Layer::Org);
    // Parsed once per organisation policy tree, cached beside this repository's own policy
    // (the organisation repository's directory may not be the hook's to write).
    let read = || read_roles(org, commit, PolicyFile::Org, parse);
    let read = match org.tree_id(commit) {
        Ok(tree) => {
            let key = crate::policy_cache::key(&[
                PolicyFile::Org.name().as_bytes(),
                tree.as_str().as_bytes(),
            ]);
            cached(cache, &key, read)?
        }
        Err(_) => read()?,
    };
    Ok(match read {
        Ok(policy) => Ok(policy),
        Err(detail) => Err((
            Code::InternalError,
            format!("{detail} ({})", commit.short()),
        )),
    })
}

/// Where `refguard.orgPolicy` says the organisation policy repository is: the value as
/// written and the path (a relative one taken from `repo`'s git directory). `None` when it is
/// not set, or names `repo` itself (the organisation's own repository is governed by its own
/// file alone).
pub fn org_location(repo: &Repo) -> Result<Option<(String, PathBuf)>, git::Error> {
    let Some(configured) = repo
        .config_string(ORG_POLICY_KEY)?
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    let path = repo.git_dir().join(&configured);
    if let (Ok(here), Ok(there)) = (repo.git_dir().canonicalize(), path.canonicalize())
        && here == there
    {
        return Ok(None);
    }
    Ok(Some((configured, path)))
}

/// Where the organisation policy of a repository is (spec §10).
#[derive(Debug, Clone)]
pub struct OrgSource {
    /// The organisation policy repository, as `refguard.orgPolicy` names it.
    pub path: PathBuf,
    /// `refguard.orgPolicy` as written (for messages).
    configured: String,
    /// Its policy commit, when it has one.
    pub commit: Option<ObjectId>,
}

/// An organisation policy repository and the tip of its policy branch: its roles.toml is
/// read only when the joined policy is not in the cache ([`read_org`]).
struct FoundOrg {
    repo: Repo,
    commit: ObjectId,
}

/// What `refguard.orgPolicy` leads to.
enum OrgLoad {
    /// Not configured (or this repository is the organisation's: it is governed by its own
    /// file).
    None,
    /// An organisation policy branch, not read yet.
    Found { source: OrgSource, org: FoundOrg },
    /// Configured but missing, unreadable or invalid: fail closed.
    Unusable {
        source: OrgSource,
        code: Code,
        detail: String,
    },
}

/// Loads the organisation policy `refguard.orgPolicy` names (spec §10): the roles.toml (and
/// the files it references) at the tip of that repository's own policy branch. A relative
/// path is taken from this repository's git directory. Never an error for a bad
/// organisation policy: that is [`OrgLoad::Unusable`], which rejects every push.
fn load_org(repo: &Repo) -> Result<OrgLoad, git::Error> {
    let Some((configured, path)) = org_location(repo)? else {
        return Ok(OrgLoad::None);
    };
    let mut source = OrgSource {
        path: PathBuf::from(&configured),
        configured: configured.clone(),
        commit: None,
    };
    let unusable = |source: OrgSource, code, detail: String| OrgLoad::Unusable {
        detail: org_unusable_detail(&configured, &detail),
        source,
        code,
    };
    let org = match Repo::open_plain(&path) {
        Ok(org) => org,
        Err(e) => return Ok(unusable(source, Code::InternalError, e.to_string())),
    };
    let tip = policy_ref_setting(&org).and_then(|policy_ref| {
        Ok(org
            .resolve_ref(&policy_ref)?
            .ok_or(format!("it has no policy branch {policy_ref}")))
    });
    Ok(match tip {
        Ok(Ok(commit)) => {
            source.commit = Some(commit.clone());
            OrgLoad::Found {
                source,
                org: FoundOrg { repo: org, commit },
            }
        }
        Ok(Err(detail)) => unusable(source, Code::NoPolicy, detail),
        Err(e) => unusable(source, Code::InternalError, e.to_string()),
    })
}

/// The message of an unusable organisation policy, naming it as configured.
fn org_unusable_detail(configured: &str, detail: &str) -> String {
    format!(
        "the organisation policy {} ({ORG_POLICY_KEY}) is unusable: {detail}; every push is \
         rejected until it is fixed",
        crate::text::escape(configured)
    )
}

/// The policy in force, as [`read_policy_cached`] finds it.
enum Loaded {
    Policy(Box<Policy>),
    /// The repository's roles.toml is missing or does not validate (under the organisation
    /// policy, if any).
    Broken(String),
    /// The organisation's roles.toml does not validate: its code and what is wrong.
    OrgUnusable(Code, String),
}

/// [`read_policy_under`] through the parse-once cache ([`crate::policy_cache`]): the policy
/// in force is parsed once per policy tree (which commits to roles.toml and every file it
/// references) and organisation policy commit, and read back on later pushes. Only a valid
/// policy is stored; without a key (an unreadable commit) it is parsed as always.
fn read_policy_cached(
    repo: &Repo,
    commit: &ObjectId,
    org: Option<&FoundOrg>,
) -> Result<Loaded, git::Error> {
    // On a miss: the organisation's file first (itself cached by its tree), then the
    // repository's under it.
    let parse = || -> Result<Policy, ParseFailed> {
        let org_policy = match org {
            Some(found) => match read_org(found, repo)? {
                Ok(policy) => Some(policy),
                Err((code, detail)) => return Err(ParseFailed::Org(code, detail)),
            },
            None => None,
        };
        read_policy_under(repo, commit, org_policy)?.map_err(ParseFailed::Repo)
    };
    let parsed = match repo.tree_id(commit) {
        Ok(tree) => {
            let org_commit = org.map_or("", |o| o.commit.as_str());
            let key = crate::policy_cache::key(&[
                POLICY_FILE.as_bytes(),
                tree.as_str().as_bytes(),
                b"under the organisation policy at",
                org_commit.as_bytes(),
            ]);
            let dir = crate::policy_cache::dir_for(repo.common_dir());
            crate::policy_cache::load(&dir, &key, parse)
        }
        Err(_) => parse(),
    };
    Ok(match parsed {
        Ok(policy) => Loaded::Policy(Box::new(policy)),
        Err(ParseFailed::Repo(detail)) => Loaded::Broken(detail),
        Err(ParseFailed::Org(code, detail)) => Loaded::OrgUnusable(code, detail),
        Err(ParseFailed::Git(e)) => return Err(e),
    })
}

/// Why a policy was not built: whose file, or git.
enum ParseFailed {
    Repo(String),
    Org(Code, String),
    Git(git::Error),
}

impl From<git::Error> for ParseFailed {
    fn from(e: git::Error) -> ParseFailed {
        ParseFailed::Git(e)
    }
}

/// `parse()` through the policy cache of `repo` under `key`: a valid policy is stored, an
/// invalid one (or an error) is returned as it is.
fn cached(
    repo: &Repo,
    key: &crate::policy_cache::Key,
    parse: impl FnOnce() -> Result<Result<Policy, String>, git::Error>,
) -> Result<Result<Policy, String>, git::Error> {
    let dir = crate::policy_cache::dir_for(repo.common_dir());
    let parsed = crate::policy_cache::load(&dir, key, || match parse() {
        Ok(Ok(policy)) => Ok(policy),
        Ok(Err(detail)) => Err(Ok(detail)),
        Err(e) => Err(Err(e)),
    });
    match parsed {
        Ok(policy) => Ok(Ok(policy)),
        Err(Ok(detail)) => Ok(Err(detail)),
        Err(Err(e)) => Err(e),
    }
}

fn non_zero(id: &ObjectId) -> Option<ObjectId> {
    (!id.is_zero()).then(|| id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pusher_is_the_first_non_empty_variable() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(pusher_from(env(&[])), None);
        assert_eq!(
            pusher_from(env(&[("REMOTE_USER", "web"), ("GL_USER", "gl")])),
            Some("gl".into())
        );
        assert_eq!(
            pusher_from(env(&[("REFGUARD_USER", " "), ("GITEA_PUSHER_NAME", "tea")])),
            Some("tea".into())
        );
        assert_eq!(
            pusher_from(env(&[("REFGUARD_USER", "alice"), ("GL_USER", "gl")])),
            Some("alice".into())
        );
    }
}
