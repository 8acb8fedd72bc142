//! All repository access through git2: opening from the hook environment (quarantine),
//! reading refs, blobs and raw objects, classifying updates, walking new commits.
//! Knows nothing of the policy; never spawns processes and never prints.
//!
//! Everything here fails closed: an object that cannot be read is an [`Error`], never
//! "no commits" or "unsigned". The one deliberate exception is the `hide` list of
//! [`Repo::new_commits`], where skipping an unreadable id can only make the check wider.

mod blob;
mod clone;
mod error;
mod graph;
mod limit;
mod pack;
mod refs;
mod touched;

pub use error::{Error, Result};

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use git2::{ErrorCode, ObjectType, Odb, Oid, Repository, Sort};

use crate::approval;
use crate::engine::{
    ApprovalFact, CommitFacts, ObjectId, RefUpdate, SignatureCheck, TagTarget, UpdateKind,
};
use crate::verify::{self, Keyring};

/// The identity refguard writes policy commits as (author and committer name).
pub const IDENT_NAME: &str = "refguard";
/// The e-mail of [`IDENT_NAME`].
pub const IDENT_EMAIL: &str = "refguard@localhost";

/// An open repository: the only handle refguard reads and writes git data through.
pub struct Repo {
    /// The git2 handle, opened once and reused for every object.
    repo: Repository,
    /// In a pre-receive hook: the object store as it was before the push (without the
    /// quarantine). See [`Repo::new_commits`] for why it makes walks cheap.
    pre_push: Option<Odb<'static>>,
    /// The repository's commit-graph, read on first use (see [`limit::limit`]).
    graph: std::cell::OnceCell<Option<graph::Graph>>,
    /// The trees [`Repo::touched_paths`] has parsed, shared by the commits that follow.
    trees: std::cell::RefCell<touched::Trees>,
}

/// Commits verified on one thread before handing work to more: below this, starting threads
/// costs more than it saves.
const PARALLEL_MIN: usize = 64;
/// Commits read from the object database per batch; bounds the raw bytes held at once.
const BATCH: usize = 2048;
/// Hidden ids above which the new commits are found by [`limit::limit`] rather than libgit2's
/// revwalk, which queues commits in a linked list sorted by insertion: time quadratic in the
/// ids hidden (seconds for 10,000 branch tips).
const MANY_HIDES: usize = 16;

/// Ids whose ancestors a walk hides ([`Repo::new_commits_beyond`]), held raw: thousands of
/// ref tips without an allocation or a hex parse each.
#[derive(Debug, Default)]
pub struct Hides(Vec<Oid>);

impl Hides {
    /// Adds `id`. An id this build cannot read (SHA-256) is skipped: hiding less can only make
    /// the check wider (see [`Repo::new_commits`]).
    pub fn push(&mut self, id: &ObjectId) {
        if let Ok(oid) = to_oid(id) {
            self.0.push(oid);
        }
    }
}

impl Repo {
    /// Opens the repository the way a hook must: from `GIT_DIR`, `GIT_OBJECT_DIRECTORY` and
    /// `GIT_ALTERNATE_OBJECT_DIRECTORIES`, so that objects still in the push quarantine are
    /// visible to pre-receive (githooks(5), "pre-receive"; `git help git`, environment).
    pub fn open_from_env() -> Result<Repo> {
        let repo = Repository::open_from_env().map_err(|cause| Error::OpenFromEnv { cause })?;
        // receive-pack names the real store(s) in GIT_ALTERNATE_OBJECT_DIRECTORIES while the
        // quarantine is the primary object directory (GIT-FACTS.md, "Hooks and quarantine").
        let pre_push = std::env::var_os("GIT_QUARANTINE_PATH").and_then(|_| {
            let dirs = std::env::var("GIT_ALTERNATE_OBJECT_DIRECTORIES").ok()?;
            store_of(dirs.split(':').filter(|d| !d.is_empty()).map(Path::new))
        });
        Ok(Repo {
            repo,
            pre_push,
            graph: Default::default(),
            trees: Default::default(),
        })
    }

    /// Opens the repository at `path` (a `--repo` argument). If `GIT_QUARANTINE_PATH` is set
    /// (the command runs inside a pre-receive hook) that object directory is added as an
    /// alternate, because `open` itself ignores the hook environment.
    pub fn open(path: &Path) -> Result<Repo> {
        let quarantine = std::env::var_os("GIT_QUARANTINE_PATH").map(PathBuf::from);
        Repo::open_with_quarantine(path, quarantine.as_deref())
    }

    /// Opens the repository at `path` as it is, whatever the environment: another
    /// repository than the one a hook runs for (the organisation policy, spec §10), which
    /// the push's quarantine must never reach.
    pub fn open_plain(path: &Path) -> Result<Repo> {
        Repo::open_with_quarantine(path, None)
    }

    /// [`Repo::open`] with the quarantine directory given explicitly.
    fn open_with_quarantine(path: &Path, quarantine: Option<&Path>) -> Result<Repo> {
        let repo = Repository::open(path).map_err(|cause| Error::Open {
            path: path.to_owned(),
            cause,
        })?;
        let mut pre_push = None;
        if let Some(dir) = quarantine {
            pre_push = store_of([repo.path().join("objects").as_path()].into_iter());
            let add = || -> std::result::Result<(), git2::Error> {
                let utf8 = dir
                    .to_str()
                    .ok_or_else(|| git2::Error::from_str("path is not valid UTF-8"))?;
                repo.odb()?.add_disk_alternate(utf8)
            };
            add().map_err(|cause| Error::Quarantine {
                path: dir.to_owned(),
                cause,
            })?;
        }
        Ok(Repo {
            repo,
            pre_push,
            graph: Default::default(),
            trees: Default::default(),
        })
    }

    /// Opens the default repository of a command without `--repo`: `$GIT_DIR` if set
    /// (through [`Repo::open`], so a quarantine is honoured), else the repository around the
    /// current directory.
    pub fn discover_default() -> Result<Repo> {
        if let Some(dir) = std::env::var_os("GIT_DIR") {
            return Repo::open(Path::new(&dir));
        }
        let repo = Repository::discover(".").map_err(|cause| Error::Open {
            path: PathBuf::from("."),
            cause,
        })?;
        Ok(Repo {
            repo,
            pre_push: None,
            graph: Default::default(),
            trees: Default::default(),
        })
    }

    /// The repository's git directory (for a bare repository, the repository itself).
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The repository's common git directory: for a linked worktree the main repository's,
    /// otherwise the git directory itself. Never the quarantine object directory.
    pub fn common_dir(&self) -> &Path {
        self.repo.commondir()
    }

    /// The id of the tree of `commit` (peeled from a tag if need be): it commits to every
    /// file under it, so it identifies everything a policy is built from.
    pub fn tree_id(&self, commit: &ObjectId) -> Result<ObjectId> {
        self.repo
            .find_object(to_oid(commit)?, None)
            .and_then(|o| o.peel_to_commit())
            .map(|c| to_id(c.tree_id()))
            .map_err(|cause| Error::Object {
                id: commit.clone(),
                cause,
            })
    }

    /// The value of a config variable (repository, then global and system config, as git
    /// reads it), or `None` if it is not set.
    pub fn config_string(&self, name: &str) -> Result<Option<String>> {
        let config_error = |cause| Error::Config {
            name: name.to_owned(),
            cause,
        };
        let config = self.repo.config().map_err(config_error)?;
        match config.get_string(name) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(cause) => Err(config_error(cause)),
        }
    }

    /// The value of a boolean config variable as git reads it (`true`, `yes`, `on`, `1`...),
    /// or `None` if it is not set; a value that is not a boolean is an error.
    pub fn config_bool(&self, name: &str) -> Result<Option<bool>> {
        let config_error = |cause| Error::Config {
            name: name.to_owned(),
            cause,
        };
        let config = self.repo.config().map_err(config_error)?;
        match config.get_bool(name) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(cause) => Err(config_error(cause)),
        }
    }

    /// Sets a boolean in the repository's own config file (`git config NAME true|false`).
    pub fn set_config_bool(&self, name: &str, value: bool) -> Result<()> {
        self.set_local_config(name, |local| local.set_bool(name, value))
    }

    /// Sets `name` in the repository's own config file with `set`.
    pub(super) fn set_local_config(
        &self,
        name: &str,
        set: impl FnOnce(&mut git2::Config) -> std::result::Result<(), git2::Error>,
    ) -> Result<()> {
        let config_error = |cause| Error::Config {
            name: name.to_owned(),
            cause,
        };
        let config = self.repo.config().map_err(config_error)?;
        let mut local = config
            .open_level(git2::ConfigLevel::Local)
            .map_err(config_error)?;
        set(&mut local).map_err(config_error)
    }

    /// The object id a ref points at (following symbolic refs), or `None` if the ref does
    /// not exist.
    pub fn resolve_ref(&self, name: &str) -> Result<Option<ObjectId>> {
        // A direct ref is found without libgit2 parsing every packed ref; a symbolic, missing
        // or unreadable one goes through libgit2.
        if let Ok(found) = refs::with_prefix(self.repo.path(), name)
            && let Some((_, id)) = found.into_iter().find(|(n, _)| n == name)
        {
            return Ok(Some(id));
        }
        let ref_error = |cause| Error::Ref {
            name: name.to_owned(),
            cause,
        };
        let resolved = self.repo.find_reference(name).and_then(|r| r.resolve());
        match resolved {
            Ok(r) => Ok(r.target().map(to_id)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(cause) => Err(ref_error(cause)),
        }
    }

    /// Every direct ref with the id it points at, sorted by name. Symbolic refs such as
    /// `HEAD` are skipped: their targets are listed under their own names. A name that is
    /// not UTF-8 is listed lossily converted.
    pub fn refs(&self) -> Result<Vec<(String, ObjectId)>> {
        let refs_error = |cause| Error::Ref {
            name: "*".to_owned(),
            cause,
        };
        let mut out = Vec::new();
        for reference in self.repo.references().map_err(refs_error)? {
            let reference = reference.map_err(refs_error)?;
            if let Some(target) = reference.target() {
                let name = String::from_utf8_lossy(reference.name_bytes()).into_owned();
                out.push((name, to_id(target)));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The paths commit `id` touches (spec §9, `touched::touched`) that start with one of
    /// `prefixes` (none: every path), sorted. Unchanged subtrees, and those no prefix
    /// reaches, are never read; a tree read for one commit is parsed once and kept (bounded)
    /// for the next, whose parent's tree it usually is.
    pub fn touched_paths(&self, id: &ObjectId, prefixes: &[String]) -> Result<Vec<String>> {
        let object_error = |cause| Error::Object {
            id: id.clone(),
            cause,
        };
        let odb = self.repo.odb().map_err(object_error)?;
        // Tree ids only, from the raw commits (which the walk has just read): the trees
        // themselves are read raw, level by level, as needed.
        let oid = to_oid(id)?;
        let header = |oid| {
            touched::commit_header(read_commit(&odb, oid)?.data(), oid.as_bytes().len())
                .map_err(object_error)
        };
        let (tree, parents) = header(oid)?;
        let parents: Vec<git2::Oid> = parents
            .into_iter()
            .map(|p| Ok(header(p)?.0))
            .collect::<Result<_>>()?;
        let scope = touched::Scope::new(prefixes);
        let mut trees = self.trees.borrow_mut();
        touched::touched(&odb, &mut trees, tree, &parents, &scope).map_err(object_error)
    }

    /// The direct refs whose names start with `prefix`, with their ids, sorted by name. A
    /// prefix lookup whose cost is the size of the answer, not the number of refs: loose refs
    /// from the directory the prefix names, packed refs by binary search (see `refs.rs`);
    /// libgit2 (which parses every packed ref) only when that cannot be done.
    pub fn refs_with_prefix(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>> {
        if let Ok(found) = refs::with_prefix(self.repo.path(), prefix) {
            return Ok(found);
        }
        self.refs_with_prefix_libgit2(prefix)
    }

    /// [`Repo::refs_with_prefix`] through libgit2's glob iterator.
    fn refs_with_prefix_libgit2(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>> {
        let refs_error = |cause| Error::Ref {
            name: format!("{prefix}*"),
            cause,
        };
        let mut out = Vec::new();
        let glob = format!("{prefix}*");
        for reference in self.repo.references_glob(&glob).map_err(refs_error)? {
            let reference = reference.map_err(refs_error)?;
            let name = String::from_utf8_lossy(reference.name_bytes()).into_owned();
            if let (Some(target), true) = (reference.target(), name.starts_with(prefix)) {
                out.push((name, to_id(target)));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Adds to `hides` the ids of the direct refs whose names start with `prefix` and that
    /// `wanted` accepts (given each name, in name order): what [`Repo::refs_with_prefix`]
    /// lists, without a string per ref. Ids this build cannot read (SHA-256) are skipped, as
    /// [`Hides::push`] skips them.
    pub fn hide_refs_with_prefix(
        &self,
        prefix: &str,
        hides: &mut Hides,
        mut wanted: impl FnMut(&str) -> bool,
    ) -> Result<()> {
        let mut add = |name: &str, id: &[u8]| {
            if wanted(name)
                && let Ok(oid) = Oid::from_bytes(id)
            {
                hides.0.push(oid);
            }
        };
        if refs::visit_with_prefix(self.repo.path(), prefix, &mut add).is_ok() {
            return Ok(());
        }
        for (name, id) in self.refs_with_prefix_libgit2(prefix)? {
            if let Ok(oid) = to_oid(&id) {
                add(&name, oid.as_bytes());
            }
        }
        Ok(())
    }

    /// What the approval ref `refname` points at (`id`): an annotated tag with its target,
    /// statement and signature verified with `keyring` for OpenPGP, or something else (spec
    /// §7). Reads only; whether it counts is the engine's decision.
    pub fn approval(
        &self,
        refname: &str,
        id: &ObjectId,
        keyring: &Keyring,
    ) -> Result<ApprovalFact> {
        let oid = to_oid(id)?;
        let object_error = |cause| Error::Object {
            id: id.clone(),
            cause,
        };
        let odb = self.repo.odb().map_err(object_error)?;
        let (_, kind) = odb.read_header(oid).map_err(object_error)?;
        if kind != ObjectType::Tag {
            return Ok(ApprovalFact {
                refname: refname.to_owned(),
                tag: id.clone(),
                annotated: false,
                target: None,
                target_kind: kind.str().to_owned(),
                statement: Err("not an annotated tag".to_owned()),
                signature: SignatureCheck::Unsigned,
            });
        }
        let object = odb.read(oid).map_err(object_error)?;
        let (payload, signature) = verify::split_tag(object.data());
        let tag = approval::TagObject::parse(&payload);
        Ok(ApprovalFact {
            refname: refname.to_owned(),
            tag: id.clone(),
            annotated: true,
            target: tag.object,
            target_kind: tag.kind,
            statement: approval::Statement::parse(&tag.message),
            signature: signature_check(signature.as_deref(), &payload, keyring),
        })
    }

    /// The contents of the blob at `path` in the tree of `commit` (peeled from a tag if
    /// need be), or `None` if there is no such path or it is not a blob.
    pub fn blob_at(&self, commit: &ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
        let Some(id) = self.blob_id_at(commit, path)? else {
            return Ok(None);
        };
        let blob = self
            .repo
            .find_blob(to_oid(&id)?)
            .map_err(|cause| Error::Object { id, cause })?;
        Ok(Some(blob.content().to_vec()))
    }

    /// The id of the blob at `path` in the tree of `commit` (peeled from a tag if need be),
    /// or `None` if there is no such path or it is not a blob.
    pub fn blob_id_at(&self, commit: &ObjectId, path: &str) -> Result<Option<ObjectId>> {
        let oid = to_oid(commit)?;
        let object_error = |cause| Error::Object {
            id: commit.clone(),
            cause,
        };
        let tree = self
            .repo
            .find_object(oid, None)
            .and_then(|o| o.peel_to_commit())
            .and_then(|c| c.tree())
            .map_err(object_error)?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(entry) => entry,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(cause) => return Err(object_error(cause)),
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return Ok(None);
        }
        Ok(Some(to_id(entry.id())))
    }

    /// Classifies a ref update (spec §3.1): zero old is a create, zero new a delete, moving
    /// an existing tag is always non-fast-forward, and otherwise it is a fast-forward iff
    /// `old` is an ancestor of `new` (or equal to it).
    ///
    /// For a branch update both objects must exist (fail closed). As in git's receive-pack,
    /// ids that do not peel to commits (a tree or blob pushed to a branch) cannot be a
    /// fast-forward. Creates, deletes and tag moves are classified from the ids alone; what
    /// they point at is read by [`Repo::new_commits`] and [`Repo::tag_target`].
    pub fn kind(&self, update: &RefUpdate) -> Result<UpdateKind> {
        let (old, new) = (&update.old, &update.new);
        match (old.is_zero(), new.is_zero()) {
            (true, true) => Err(Error::BothZero {
                refname: update.refname.clone(),
            }),
            (true, false) => Ok(UpdateKind::Create),
            (false, true) => Ok(UpdateKind::Delete),
            (false, false) if update.refname.starts_with("refs/tags/") => {
                Ok(UpdateKind::NonFastForward)
            }
            (false, false) => {
                let old_commit = self.peel_to_commit(old)?;
                let new_commit = self.peel_to_commit(new)?;
                if old == new {
                    return Ok(UpdateKind::FastForward);
                }
                let (Some(old_commit), Some(new_commit)) = (old_commit, new_commit) else {
                    return Ok(UpdateKind::NonFastForward);
                };
                let descends = old_commit == new_commit
                    || self
                        .repo
                        .graph_descendant_of(new_commit, old_commit)
                        .map_err(|cause| Error::Walk {
                            id: new.clone(),
                            cause,
                        })?;
                Ok(if descends {
                    UpdateKind::FastForward
                } else {
                    UpdateKind::NonFastForward
                })
            }
        }
    }

    /// The commits reachable from `new` and from none of `hide`, newest first (topological,
    /// then commit time), each with its summary, parent count and signature verified (OpenPGP
    /// with the certificates of `keyring`).
    ///
    /// `new` must be (or peel to) a commit. Ids in `hide` that do not exist or do not peel to
    /// a commit are ignored: hiding less can only make the check wider, never narrower, and
    /// a baseline commit or another ref's tip may legitimately be absent.
    ///
    /// Each commit's raw object is read once from the object database and split and verified
    /// in-process (on several threads for long ranges); any read error fails the whole call.
    ///
    /// The walk is kept short without changing its result:
    /// - if `new` is itself one of `hide` (a branch created at an existing tip), there is
    ///   nothing to walk;
    /// - in a pre-receive hook, commits that are absent from the pre-push object store were
    ///   pushed just now, and no pre-push ref or baseline commit in that store can reach them
    ///   (a store holds every ancestor of what it holds: git's connectivity guarantee). So
    ///   when every commit reachable from `new` without passing a hidden id is new in this
    ///   sense, only the hidden ids the walk ran into, and any hidden ids that are themselves
    ///   new, can hide anything: the other thousands of ref tips need not be walked.
    pub fn new_commits(
        &self,
        new: &ObjectId,
        hide: &[ObjectId],
        keyring: &Keyring,
    ) -> Result<Vec<CommitFacts>> {
        let mut hides = Hides::default();
        for id in hide {
            hides.push(id);
        }
        self.new_commits_hidden(new, hides.0, keyring)
    }

    /// [`Repo::new_commits`] with the hidden ids already converted.
    fn new_commits_hidden(
        &self,
        new: &ObjectId,
        hide: Vec<Oid>,
        keyring: &Keyring,
    ) -> Result<Vec<CommitFacts>> {
        let tip = self
            .peel_to_commit(new)?
            .ok_or_else(|| Error::NotACommit { id: new.clone() })?;
        let raw_new = to_oid(new).ok();
        if hide
            .iter()
            .any(|h| h.as_bytes() == tip.as_bytes() || Some(h) == raw_new.as_ref())
        {
            return Ok(Vec::new());
        }
        if self.pre_push.is_none() {
            // No quarantine to prove any hidden id irrelevant: all of them, as given (the
            // walk reads each once, duplicates included).
            return self.walk_new(new, tip, hide, keyring);
        }
        let hidden: HashSet<Oid> = hide.into_iter().collect();
        let relevant = match self.pushed_range_hides(tip, &hidden)? {
            Some(relevant) => relevant,
            None => hidden.into_iter().collect(),
        };
        self.walk_new(new, tip, relevant, keyring)
    }

    /// [`Repo::new_commits`] hidden by `known` and, only if they can matter, by those `others`
    /// adds: in a pre-receive hook, when every commit reachable from `new` without passing
    /// one of `known` was pushed just now, no other pre-push ref can reach into the range (see
    /// [`Repo::new_commits`]), so `others` (e.g. thousands of other refs' tips) is never
    /// called. The pushed range is read once for that proof and once for the walk.
    pub fn new_commits_beyond(
        &self,
        new: &ObjectId,
        known: &[ObjectId],
        others: impl FnOnce(&mut Hides) -> Result<()>,
        keyring: &Keyring,
    ) -> Result<Vec<CommitFacts>> {
        let tip = self
            .peel_to_commit(new)?
            .ok_or_else(|| Error::NotACommit { id: new.clone() })?;
        let hidden: HashSet<Oid> = known.iter().filter_map(|id| to_oid(id).ok()).collect();
        if hidden.contains(&tip) {
            return Ok(Vec::new());
        }
        match self.pushed_range_hides(tip, &hidden)? {
            Some(_) if to_oid(new).is_ok_and(|raw| hidden.contains(&raw)) => Ok(Vec::new()),
            Some(relevant) => self.walk_new(new, tip, relevant, keyring),
            None => {
                let mut hides = Hides::default();
                for id in known {
                    hides.push(id);
                }
                {
                    let _span = tracing::debug_span!("list_hides").entered();
                    others(&mut hides)?;
                }
                self.new_commits_hidden(new, hides.0, keyring)
            }
        }
    }

    /// Walks from `tip` (the commit `new` peels to), hiding `hide`, and splits and verifies
    /// every commit met (see [`Repo::new_commits`]).
    fn walk_new(
        &self,
        new: &ObjectId,
        tip: Oid,
        hide: Vec<Oid>,
        keyring: &Keyring,
    ) -> Result<Vec<CommitFacts>> {
        let walk_error = |cause| Error::Walk {
            id: new.clone(),
            cause,
        };
        let odb = self.repo.odb().map_err(walk_error)?;
        // With many hidden ids, the new commits are found (and ordered) as git finds them;
        // libgit2's revwalk would take time quadratic in the ids hidden.
        let order: Box<dyn Iterator<Item = Result<Oid>>> = if hide.len() > MANY_HIDES {
            let graph = {
                let _span = tracing::debug_span!("commit_graph").entered();
                self.commit_graph()
            };
            let _span = tracing::debug_span!("limit", hidden = hide.len()).entered();
            let objects = self.repo.path().join("objects");
            let found = limit::limit(&odb, graph, Some(&objects), tip, &hide)?;
            Box::new(found.into_iter().map(Ok))
        } else {
            let mut walk = self.repo.revwalk().map_err(walk_error)?;
            walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)
                .map_err(walk_error)?;
            walk.push(tip).map_err(walk_error)?;
            for id in hide {
                if let Ok(Some(commit)) = self.peel_to_commit(&to_id(id)) {
                    walk.hide(commit).map_err(walk_error)?;
                }
            }
            Box::new(walk.map(move |oid| oid.map_err(walk_error)))
        };

        let mut out = Vec::new();
        let mut batch: Vec<(Oid, Vec<u8>)> = Vec::with_capacity(BATCH);
        for oid in order {
            let oid = oid?;
            let object = read_commit(&odb, oid)?;
            batch.push((oid, object.data().to_vec()));
            if batch.len() == BATCH {
                verify_batch(&mut batch, &mut out, keyring);
            }
        }
        verify_batch(&mut batch, &mut out, keyring);
        Ok(out)
    }

    /// The repository's commit-graph, unless it has none or `core.commitGraph` is false (as
    /// git reads it: `commit-graph.c`, `prepare_commit_graph`).
    fn commit_graph(&self) -> Option<&graph::Graph> {
        self.graph
            .get_or_init(|| {
                if matches!(self.config_bool("core.commitGraph"), Ok(Some(false))) {
                    return None;
                }
                graph::Graph::open(&self.repo.path().join("objects"))
            })
            .as_ref()
    }

    /// The hidden ids that can matter for a walk from `tip`, when the pre-push object store
    /// proves the others cannot (see [`Repo::new_commits`]); `None` when it proves nothing
    /// (no quarantine, or the range reaches commits that were there before the push).
    fn pushed_range_hides(&self, tip: Oid, hidden: &HashSet<Oid>) -> Result<Option<Vec<Oid>>> {
        let Some(store) = &self.pre_push else {
            return Ok(None);
        };
        let odb = self.repo.odb().map_err(|cause| Error::Walk {
            id: to_id(tip),
            cause,
        })?;
        let mut relevant: Vec<Oid> = Vec::new();
        let mut seen: HashSet<Oid> = HashSet::from([tip]);
        let mut todo = vec![tip];
        while let Some(oid) = todo.pop() {
            if store.exists(oid) {
                return Ok(None);
            }
            let object = read_commit(&odb, oid)?;
            for parent in parents(object.data()) {
                if hidden.contains(&parent) {
                    relevant.push(parent);
                } else if seen.insert(parent) {
                    todo.push(parent);
                }
            }
        }
        // Hidden ids pushed just now (a baseline commit arriving with this push) can reach
        // the range; everything else in `hidden` lives in the pre-push store.
        relevant.extend(hidden.iter().filter(|id| !store.exists(**id)));
        Ok(Some(relevant))
    }

    /// Streams every commit reachable from any of `tips` and from none of `hide` to `visit`,
    /// each exactly once, newest first by commit time, without collecting them (for
    /// `refguard audit history` over long histories). Returns how many were visited;
    /// `visit` may stop the walk early with [`ControlFlow::Break`].
    ///
    /// Every tip must be (or peel to) a commit; `hide` is lenient as in
    /// [`Repo::new_commits`]. Memory is libgit2's per-walk bookkeeping (one small node per
    /// commit met, which is also what makes each commit come out once), plus one commit.
    pub fn walk(
        &self,
        tips: &[ObjectId],
        hide: &[ObjectId],
        keyring: &Keyring,
        mut visit: impl FnMut(WalkedCommit) -> ControlFlow<()>,
    ) -> Result<u64> {
        let Some(first) = tips.first() else {
            return Ok(0);
        };
        let walk_error = |cause| Error::Walk {
            id: first.clone(),
            cause,
        };
        let mut walk = self.repo.revwalk().map_err(walk_error)?;
        walk.set_sorting(Sort::TIME).map_err(walk_error)?;
        for tip in tips {
            let commit = self
                .peel_to_commit(tip)?
                .ok_or_else(|| Error::NotACommit { id: tip.clone() })?;
            walk.push(commit).map_err(walk_error)?;
        }
        for id in hide {
            if let Ok(Some(commit)) = self.peel_to_commit(id) {
                walk.hide(commit).map_err(walk_error)?;
            }
        }
        let odb = self.repo.odb().map_err(walk_error)?;
        let mut visited = 0;
        for oid in walk {
            let oid = oid.map_err(walk_error)?;
            let object = read_commit(&odb, oid)?;
            let raw = object.data();
            let (committer, time) = committer(raw);
            visited += 1;
            let walked = WalkedCommit {
                facts: commit_facts(to_id(oid), raw, keyring),
                committer,
                time,
            };
            if visit(walked).is_break() {
                break;
            }
        }
        Ok(visited)
    }

    /// The signature check of commit `id` with the certificates of each of `keyrings`, in
    /// order, as [`Repo::walk`] reports it: for judging a commit again under other policies'
    /// certificates (`refguard verify`, spec §13). The commit is read once and its signature
    /// verified once per distinct set of keys its issuer names ([`verify::check_each`]).
    pub fn commit_signature_each(
        &self,
        id: &ObjectId,
        keyrings: &[&Keyring],
    ) -> Result<Vec<SignatureCheck>> {
        let odb = self.repo.odb().map_err(|cause| Error::Object {
            id: id.clone(),
            cause,
        })?;
        let object = read_commit(&odb, to_oid(id)?)?;
        let (payload, signature) = verify::split_commit(object.data());
        Ok(match signature {
            None => vec![SignatureCheck::Unsigned; keyrings.len()],
            Some(signature) => verify::check_each(&signature, &payload, keyrings),
        })
    }

    /// Streams every commit reachable from any of `tips` to `visit`, each exactly once,
    /// children before parents and otherwise newest first by commit time (`git log
    /// --date-order`), each with the lowest label of the tips that reach it and whether it is
    /// one of `marks` or an ancestor of one. Commits reachable only from `marks` are walked
    /// (to carry the mark to their ancestors) but not visited. Returns how many were visited;
    /// `visit` may stop the walk early with [`ControlFlow::Break`].
    ///
    /// One walk however many tips: this is how `refguard audit history` attributes each
    /// commit of thousands of refs to one of them without walking history once per ref.
    /// Labels flow from children to parents, which is sound only because a topological walk
    /// emits a commit after all its children; a commit met after one of its parents (a walk
    /// out of order) or without a labelled child fails the walk ([`Error::WalkOrder`]) rather
    /// than guess.
    ///
    /// Every tip must be (or peel to) a commit; `marks` is lenient like `hide` in
    /// [`Repo::new_commits`]. Commits are read in batches and their signatures verified (OpenPGP
    /// with the certificates of `keyring`) on several threads, as [`Repo::new_commits`] does. Memory: libgit2's per-walk node for
    /// each commit, one small entry (id, label, flags) per commit here, and one batch of raw
    /// commits.
    pub fn walk_labelled(
        &self,
        tips: &[(ObjectId, u32)],
        marks: &[ObjectId],
        keyring: &Keyring,
        mut visit: impl FnMut(LabelledCommit) -> ControlFlow<()>,
    ) -> Result<u64> {
        let Some((first, _)) = tips.first() else {
            return Ok(0);
        };
        let walk_error = |cause| Error::Walk {
            id: first.clone(),
            cause,
        };
        let mut walk = self.repo.revwalk().map_err(walk_error)?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)
            .map_err(walk_error)?;
        let mut nodes: HashMap<Oid, Node> = HashMap::new();
        let mut starts: Vec<Oid> = Vec::new();
        for (tip, label) in tips {
            let commit = self
                .peel_to_commit(tip)?
                .ok_or_else(|| Error::NotACommit { id: tip.clone() })?;
            let node = nodes.entry(commit).or_insert_with(|| {
                starts.push(commit);
                Node::UNREACHED
            });
            node.label = node.label.min(*label);
        }
        for id in marks {
            if let Ok(Some(commit)) = self.peel_to_commit(id) {
                nodes
                    .entry(commit)
                    .or_insert_with(|| {
                        starts.push(commit);
                        Node::UNREACHED
                    })
                    .marked = true;
            }
        }
        for commit in starts {
            walk.push(commit).map_err(walk_error)?;
        }

        let odb = self.repo.odb().map_err(walk_error)?;
        let mut batch = Batch::default();
        for oid in walk {
            let oid = oid.map_err(walk_error)?;
            let object = read_commit(&odb, oid)?;
            let raw = object.data();
            let node = match nodes.get_mut(&oid) {
                Some(node) if !node.done => {
                    node.done = true;
                    *node
                }
                _ => return Err(Error::WalkOrder { id: to_id(oid) }),
            };
            for parent in parents(raw) {
                let entry = nodes.entry(parent).or_insert(Node::UNREACHED);
                if entry.done {
                    return Err(Error::WalkOrder { id: to_id(parent) });
                }
                entry.label = entry.label.min(node.label);
                entry.marked |= node.marked;
            }
            if node.label == UNLABELLED {
                continue;
            }
            let (committer, time) = committer(raw);
            batch.raw.push((oid, raw.to_vec()));
            batch.about.push((node.label, node.marked, committer, time));
            if batch.raw.len() == BATCH && batch.deliver(keyring, &mut visit).is_break() {
                return Ok(batch.visited);
            }
        }
        let _ = batch.deliver(keyring, &mut visit);
        Ok(batch.visited)
    }

    /// Whether commit `commit` has `ancestor` in its history (a commit is not its own
    /// descendant). Both must be (or peel to) commits.
    pub fn descends_from(&self, commit: &ObjectId, ancestor: &ObjectId) -> Result<bool> {
        let peel = |id: &ObjectId| {
            self.peel_to_commit(id)?
                .ok_or_else(|| Error::NotACommit { id: id.clone() })
        };
        let (one, two) = (peel(commit)?, peel(ancestor)?);
        self.repo
            .graph_descendant_of(one, two)
            .map_err(|cause| Error::Walk {
                id: commit.clone(),
                cause,
            })
    }

    /// Every best common ancestor of `a` and `b` (none if they share no history), so that
    /// the commits reachable from both are exactly those reachable from one of these.
    /// Both must be (or peel to) commits.
    pub fn merge_bases(&self, a: &ObjectId, b: &ObjectId) -> Result<Vec<ObjectId>> {
        let peel = |id: &ObjectId| {
            self.peel_to_commit(id)?
                .ok_or_else(|| Error::NotACommit { id: id.clone() })
        };
        let (one, two) = (peel(a)?, peel(b)?);
        match self.repo.merge_bases(one, two) {
            Ok(bases) => Ok(bases.iter().copied().map(to_id).collect()),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(Vec::new()),
            Err(cause) => Err(Error::Walk {
                id: a.clone(),
                cause,
            }),
        }
    }

    /// What a tag ref's new value points at: an annotated tag object (with its name and
    /// signature, verified with `keyring` for OpenPGP) or anything else (a lightweight tag).
    pub fn tag_target(&self, id: &ObjectId, keyring: &Keyring) -> Result<TagTarget> {
        let oid = to_oid(id)?;
        let object_error = |cause| Error::Object {
            id: id.clone(),
            cause,
        };
        let odb = self.repo.odb().map_err(object_error)?;
        let (_, kind) = odb.read_header(oid).map_err(object_error)?;
        if kind != ObjectType::Tag {
            return Ok(TagTarget::Lightweight);
        }
        let object = odb.read(oid).map_err(object_error)?;
        let raw = object.data();
        let name = header(raw, b"tag")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        let (payload, signature) = verify::split_tag(raw);
        Ok(TagTarget::Annotated {
            name,
            signature: signature_check(signature.as_deref(), &payload, keyring),
        })
    }

    /// Writes a commit whose tree holds only `roles.toml` and points `policy_ref` at it
    /// ([`Repo::write_policy_tree`] without other files).
    pub fn write_policy_commit(
        &self,
        policy_ref: &str,
        roles_toml: &[u8],
        message: &str,
        parent: Option<&ObjectId>,
    ) -> Result<ObjectId> {
        self.write_policy_tree(policy_ref, roles_toml, &[], message, parent)
    }

    /// Writes a commit whose tree holds `roles.toml` and the `files` it references (paths
    /// relative to the tree's root, e.g. `keys/alice.asc`, with their bytes), and points
    /// `policy_ref` at it.
    ///
    /// With no `parent` the ref must not exist yet ([`Error::RefExists`]); with a parent the
    /// ref must still point at it ([`Error::RefMoved`]), so a concurrent change is never
    /// overwritten. Author and committer are `refguard <refguard@localhost>`, now.
    pub fn write_policy_tree(
        &self,
        policy_ref: &str,
        roles_toml: &[u8],
        files: &[(String, Vec<u8>)],
        message: &str,
        parent: Option<&ObjectId>,
    ) -> Result<ObjectId> {
        let write_error = |cause| Error::Write {
            refname: policy_ref.to_owned(),
            cause,
        };
        let parent_commit = match parent {
            Some(id) => {
                Some(
                    self.repo
                        .find_commit(to_oid(id)?)
                        .map_err(|cause| Error::Object {
                            id: id.clone(),
                            cause,
                        })?,
                )
            }
            None => None,
        };
        // An in-memory index builds the nested trees (`keys/alice.asc`) as git would.
        let mut index = git2::Index::new().map_err(write_error)?;
        let entries = std::iter::once(("roles.toml", roles_toml)).chain(
            files
                .iter()
                .map(|(path, bytes)| (path.as_str(), bytes.as_slice())),
        );
        for (path, bytes) in entries {
            let id = self.repo.blob(bytes).map_err(write_error)?;
            index
                .add(&index_entry(path, id, bytes.len()))
                .map_err(write_error)?;
        }
        let tree_id = index.write_tree_to(&self.repo).map_err(write_error)?;
        let tree = self.repo.find_tree(tree_id).map_err(write_error)?;
        let ident = git2::Signature::now(IDENT_NAME, IDENT_EMAIL).map_err(write_error)?;
        let parents: Vec<&git2::Commit<'_>> = parent_commit.iter().collect();
        let commit = self
            .repo
            .commit(None, &ident, &ident, message, &tree, &parents)
            .map_err(write_error)?;

        let log_message = format!("refguard: {}", message.lines().next().unwrap_or_default());
        let updated = match &parent_commit {
            None => self.repo.reference(policy_ref, commit, false, &log_message),
            Some(p) => self
                .repo
                .reference_matching(policy_ref, commit, true, p.id(), &log_message),
        };
        match updated {
            Ok(_) => Ok(to_id(commit)),
            Err(e) if parent.is_none() && e.code() == ErrorCode::Exists => Err(Error::RefExists {
                refname: policy_ref.to_owned(),
            }),
            Err(e)
                if parent.is_some()
                    && matches!(e.code(), ErrorCode::Modified | ErrorCode::NotFound) =>
            {
                Err(Error::RefMoved {
                    refname: policy_ref.to_owned(),
                    expected: parent.cloned().unwrap_or_else(ObjectId::zero),
                })
            }
            Err(cause) => Err(write_error(cause)),
        }
    }

    /// The commit `id` is or peels to; `None` if it exists but is no commit-ish (a tree, a
    /// blob, a tag of one); an error if it (or what a tag points at) is missing.
    fn peel_to_commit(&self, id: &ObjectId) -> Result<Option<Oid>> {
        let oid = to_oid(id)?;
        let object_error = |cause| Error::Object {
            id: id.clone(),
            cause,
        };
        let object = self.repo.find_object(oid, None).map_err(object_error)?;
        match object.peel(ObjectType::Commit) {
            Ok(commit) => Ok(Some(commit.id())),
            Err(e) if e.code() == ErrorCode::NotFound => Err(object_error(e)),
            Err(_) => Ok(None),
        }
    }
}

/// An index entry for a regular file `path` with blob `id` of `len` bytes.
fn index_entry(path: &str, id: Oid, len: usize) -> git2::IndexEntry {
    git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: 0o100_644,
        uid: 0,
        gid: 0,
        file_size: u32::try_from(len).unwrap_or(u32::MAX),
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// `refguard.auditLog` as set for the repository whose git directory is `git_dir`, read
/// without opening the repository: from its own `config` file, then the global and system
/// config. For a hook whose repository cannot be opened, so its rejection can still be
/// logged where the admin wants it. `None` when unset or unreadable.
pub fn audit_log_setting(git_dir: &Path) -> Option<String> {
    setting_without_repo(git_dir, "refguard.auditLog")
}

/// A config variable read from the repository's own config file (and the global and system
/// ones) without opening the repository, for a hook whose repository cannot be opened.
pub fn setting_without_repo(git_dir: &Path, name: &str) -> Option<String> {
    config_without_repo(git_dir)?.get_string(name).ok()
}

/// A boolean config variable read as [`setting_without_repo`] reads strings; `None` when
/// unset, unreadable or not a boolean.
pub fn bool_setting_without_repo(git_dir: &Path, name: &str) -> Option<bool> {
    config_without_repo(git_dir)?.get_bool(name).ok()
}

fn config_without_repo(git_dir: &Path) -> Option<git2::Config> {
    let mut config = git2::Config::open_default()
        .or_else(|_| git2::Config::new())
        .ok()?;
    let local = git_dir.join("config");
    if local.is_file() {
        config
            .add_file(&local, git2::ConfigLevel::Local, false)
            .ok()?;
    }
    Some(config)
}

/// The pre-push object store: the given object directories (and their own alternates);
/// `None` if any cannot be opened, which only forgoes the shortcut it enables.
fn store_of<'p>(dirs: impl Iterator<Item = &'p Path>) -> Option<Odb<'static>> {
    let odb = Odb::new().ok()?;
    let mut any = false;
    for dir in dirs {
        odb.add_disk_alternate(dir.to_str()?).ok()?;
        any = true;
    }
    any.then_some(odb)
}

/// The parent ids named in a raw commit's headers (malformed ones skipped: the revwalk that
/// follows reads the same object through libgit2 and fails closed on it).
fn parents(raw: &[u8]) -> impl Iterator<Item = Oid> + '_ {
    split_headers(raw)
        .0
        .split(|&b| b == b'\n')
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.strip_prefix(b"parent "))
        .filter_map(|hex| Oid::from_str(std::str::from_utf8(hex).ok()?).ok())
}

/// Splits and verifies a batch of raw commits into `out`, in order, on as many threads as
/// the machine has when the batch is long enough to pay for them; empties the batch.
fn verify_batch(batch: &mut Vec<(Oid, Vec<u8>)>, out: &mut Vec<CommitFacts>, keyring: &Keyring) {
    if batch.is_empty() {
        return;
    }
    let _span = tracing::debug_span!("verify", commits = batch.len()).entered();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || batch.len() < PARALLEL_MIN {
        out.extend(
            batch
                .drain(..)
                .map(|(oid, raw)| commit_facts(to_id(oid), &raw, keyring)),
        );
        return;
    }
    let chunk = batch.len().div_ceil(threads);
    let results: Vec<Vec<CommitFacts>> = std::thread::scope(|scope| {
        let workers: Vec<_> = batch
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(oid, raw)| commit_facts(to_id(*oid), raw, keyring))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                // A panic in verification is re-raised here; the hook turns it into a
                // rejection (fail closed).
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    out.extend(results.into_iter().flatten());
    batch.clear();
}

/// A label no tip gave: the commit is reachable only from marks.
const UNLABELLED: u32 = u32::MAX;

/// What [`Repo::walk_labelled`] knows about one commit while walking.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// The lowest label of the tips that reach it so far.
    label: u32,
    /// Whether a mark reaches it.
    marked: bool,
    /// Whether the walk has emitted it (its label is final).
    done: bool,
}

impl Node {
    const UNREACHED: Node = Node {
        label: UNLABELLED,
        marked: false,
        done: false,
    };
}

/// Commits of [`Repo::walk_labelled`] read but not yet verified and visited.
#[derive(Default)]
struct Batch {
    /// Id and raw object of each.
    raw: Vec<(Oid, Vec<u8>)>,
    /// Label, mark, committer and time of each, in the same order.
    about: Vec<(u32, bool, String, i64)>,
    /// Verified facts, reused between batches.
    facts: Vec<CommitFacts>,
    /// How many were handed to the visitor.
    visited: u64,
}

impl Batch {
    /// Verifies the batch (in parallel when long enough) and hands it to `visit` in walk
    /// order; empties it.
    fn deliver(
        &mut self,
        keyring: &Keyring,
        visit: &mut impl FnMut(LabelledCommit) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        verify_batch(&mut self.raw, &mut self.facts, keyring);
        for (facts, (label, marked, committer, time)) in
            self.facts.drain(..).zip(self.about.drain(..))
        {
            self.visited += 1;
            let commit = WalkedCommit {
                facts,
                committer,
                time,
            };
            visit(LabelledCommit {
                commit,
                label,
                marked,
            })?;
        }
        ControlFlow::Continue(())
    }
}

/// One commit met by [`Repo::walk_labelled`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledCommit {
    /// The commit, verified.
    pub commit: WalkedCommit,
    /// The lowest label of the tips it is reachable from.
    pub label: u32,
    /// Whether it is one of the marks or an ancestor of one.
    pub marked: bool,
}

/// One commit met by [`Repo::walk`]: the facts the engine judges, and when and by whom it
/// was committed (for display; both are claims of the commit, not verified facts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkedCommit {
    /// Id, summary, parents and verified signature.
    pub facts: CommitFacts,
    /// The committer as written, `Name <email>` (lossily UTF-8).
    pub committer: String,
    /// The committer time in seconds since the Unix epoch (0 if unreadable).
    pub time: i64,
}

/// The committer identity and time of a raw commit: the `committer` header is
/// `Name <email> <seconds> <tz>`.
fn committer(raw: &[u8]) -> (String, i64) {
    let Some(value) = header(raw, b"committer") else {
        return (String::new(), 0);
    };
    let ident_end = value
        .iter()
        .rposition(|&b| b == b'>')
        .map_or(value.len(), |i| i + 1);
    let ident = String::from_utf8_lossy(&value[..ident_end]).into_owned();
    let time = std::str::from_utf8(&value[ident_end..])
        .ok()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|secs| secs.parse().ok())
        .unwrap_or(0);
    (ident, time)
}

/// Facts about one commit from its raw object bytes. The summary is the message's first
/// non-blank line (lossily UTF-8, trailing whitespace removed).
fn commit_facts(id: ObjectId, raw: &[u8], keyring: &Keyring) -> CommitFacts {
    let (payload, signature) = verify::split_commit(raw);
    let (headers, message) = split_headers(raw);
    let parent_count = headers
        .split(|&b| b == b'\n')
        .filter(|line| line.starts_with(b"parent "))
        .count();
    let summary = message
        .split(|&b| b == b'\n')
        .map(|line| line.trim_ascii_end())
        .find(|line| !line.is_empty())
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .unwrap_or_default();
    CommitFacts {
        id,
        summary,
        parent_count,
        signature: signature_check(signature.as_deref(), &payload, keyring),
    }
}

/// The signature check of an object: unsigned without a signature, else [`verify::check`].
fn signature_check(signature: Option<&[u8]>, payload: &[u8], keyring: &Keyring) -> SignatureCheck {
    match signature {
        None => SignatureCheck::Unsigned,
        Some(signature) => verify::check(signature, payload, keyring),
    }
}

/// Splits a raw commit or tag into its header section (with the final newline) and message.
fn split_headers(raw: &[u8]) -> (&[u8], &[u8]) {
    match raw.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&raw[..=at], &raw[at + 2..]),
        None => (raw, &[]),
    }
}

/// The value of the first header `name` of a raw commit or tag.
fn header<'a>(raw: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    split_headers(raw)
        .0
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(b" "))
}

/// The git2 id for `id`; SHA-256 ids cannot be read by this libgit2 build.
fn to_oid(id: &ObjectId) -> Result<Oid> {
    Oid::from_str(id.as_str()).map_err(|_| Error::UnsupportedId { id: id.clone() })
}

/// Reads a commit's raw object, failing closed when it is missing or not a commit.
fn read_commit<'o>(odb: &'o Odb<'_>, oid: Oid) -> Result<git2::OdbObject<'o>> {
    let object = odb.read(oid).map_err(|cause| Error::Object {
        id: to_id(oid),
        cause,
    })?;
    if object.kind() != ObjectType::Commit {
        return Err(Error::NotACommit { id: to_id(oid) });
    }
    Ok(object)
}

/// The refguard id for a git2 id.
fn to_id(oid: Oid) -> ObjectId {
    ObjectId::parse(&oid.to_string()).expect("git2 formats ids as 40 lowercase hex digits")
}

#[cfg(test)]
mod tests;
