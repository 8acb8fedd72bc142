//! The one-walk history audit against the algorithm it replaced (each protected branch walked
//! in turn, hiding the tips walked before it and the baseline), on repositories made by the
//! real `git` in an isolated environment: a hand-built one with signed commits, merges, tags,
//! a baseline and a policy branch sharing history with the branches, and random ones with
//! skewed commit dates. The two must list the same rows: each commit under the same ref (or
//! as baseline), with the same verdict, reasons and signer.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::process::Command;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use time::OffsetDateTime;

use super::*;
use crate::testutil::run_with_stdin;
use crate::verify::testkeys::{TestKey, keys};

const POLICY_REF: &str = "refs/meta/policy";

/// One row of the audit, owned, with everything a reader sees.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    kind: &'static str,
    id: String,
    refname: String,
    outcome: Outcome,
    reasons: Vec<engine::Reason>,
    signed_by: SignedBy,
    allowed_signer: bool,
    summary: String,
    time: Option<i64>,
    parents: Option<usize>,
}

impl Seen {
    fn of(row: &Row<'_>) -> Seen {
        Seen {
            kind: row.kind,
            id: row.id.as_str().to_owned(),
            refname: row.refname.to_owned(),
            outcome: row.outcome,
            reasons: row.reasons.to_vec(),
            signed_by: row.signed_by.clone(),
            allowed_signer: row.allowed_signer,
            summary: row.summary.to_owned(),
            time: row.time,
            parents: row.parents,
        }
    }

    /// The parts a test names: kind, id, ref, verdict and reason codes.
    fn brief(
        &self,
    ) -> (
        &'static str,
        String,
        String,
        &'static str,
        Vec<&'static str>,
    ) {
        (
            self.kind,
            self.id.clone(),
            self.refname.clone(),
            self.outcome.as_str(),
            self.reasons.iter().map(|r| r.code.as_str()).collect(),
        )
    }
}

/// The history audit as it was before the one walk: each branch walked in turn, hiding the
/// tips walked before it and (except the policy branch) the baseline, then the commits that
/// a branch other than the policy branch shares with the baseline, walked from their merge
/// bases, then the tags. Kept here only to check the one walk against.
impl<V: FnMut(&Row<'_>) -> ControlFlow<()>> Audit<'_, V> {
    fn run_per_ref(&mut self, targets: &Targets) -> Result<(), Error> {
        let mut walked: Vec<ObjectId> = Vec::new();
        for (refname, tip) in &targets.branches {
            let mut hide = walked.clone();
            if *refname != self.ctx.policy_ref {
                hide.extend(targets.baseline.iter().cloned());
            }
            self.repo
                .walk(std::slice::from_ref(tip), &hide, self.keyring, |c| {
                    self.commit(refname, &c)
                })
                .map_err(|cause| Error::Walk {
                    refname: refname.clone(),
                    cause,
                })?;
            if self.stopped {
                return Ok(());
            }
            walked.push(tip.clone());
        }
        self.baseline_per_ref(targets)?;
        if self.stopped {
            return Ok(());
        }
        self.tags(targets)
    }

    fn baseline_per_ref(&mut self, targets: &Targets) -> Result<(), Error> {
        if targets.baseline.is_empty() {
            return Ok(());
        }
        let mut starts: Vec<ObjectId> = Vec::new();
        for (refname, tip) in &targets.branches {
            if *refname == self.ctx.policy_ref {
                continue;
            }
            for base in &targets.baseline {
                let Ok(bases) = self.repo.merge_bases(base, tip) else {
                    continue;
                };
                for id in bases {
                    if !starts.contains(&id) {
                        starts.push(id);
                    }
                }
            }
        }
        self.repo
            .walk(&starts, &[], self.keyring, |c| {
                let signed_by = engine::signed_by(self.policy, self.ctx, &c.facts.signature);
                let row = commit_row(&c, "-", &signed_by, Outcome::Baseline, &[], false);
                self.row(&row)
            })
            .map_err(|cause| Error::Walk {
                refname: "the baseline".to_owned(),
                cause,
            })?;
        Ok(())
    }
}

fn context() -> PushContext {
    PushContext {
        pusher: None,
        now: OffsetDateTime::now_utc(),
        policy_ref: POLICY_REF.to_owned(),
        repository: "history".to_owned(),
        pushed: Vec::new(),
    }
}

/// The rows of the one-walk audit, in the order they came.
fn audit_rows(repo: &Repo, policy: &Policy, only: Option<&str>) -> Vec<Seen> {
    let mut rows = Vec::new();
    audit(repo, policy, &context(), only, |row| {
        rows.push(Seen::of(row));
        ControlFlow::Continue(())
    })
    .expect("audit");
    rows
}

/// The rows of the per-ref algorithm.
fn reference_rows(repo: &Repo, policy: &Policy, only: Option<&str>) -> Vec<Seen> {
    let ctx = context();
    let targets = targets(repo, policy, &ctx.policy_ref, only).expect("targets");
    let mut rows = Vec::new();
    let keyring = Keyring::new(policy.certificates().cloned());
    Audit {
        repo,
        policy,
        keyring: &keyring,
        ctx: &ctx,
        visit: |row: &Row<'_>| {
            rows.push(Seen::of(row));
            ControlFlow::Continue(())
        },
        stopped: false,
        prefixes: requirements::path_prefixes(policy),
    }
    .run_per_ref(&targets)
    .expect("reference audit");
    rows
}

/// Asserts that both algorithms list the same rows (in any order), each object once, with
/// the commits before the tags; returns the one walk's rows.
fn assert_same(repo: &Repo, policy: &Policy, only: Option<&str>) -> Vec<Seen> {
    let rows = audit_rows(repo, policy, only);
    let expected = reference_rows(repo, policy, only);
    let key = |s: &Seen| (s.kind, s.id.clone());
    let mut got = rows.clone();
    let mut want = expected.clone();
    got.sort_by_key(key);
    want.sort_by_key(key);
    for pair in got.windows(2) {
        assert_ne!(key(&pair[0]), key(&pair[1]), "listed twice ({only:?})");
    }
    assert_eq!(got.len(), want.len(), "row count ({only:?})");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "({only:?})");
    }
    let first_tag = rows.iter().position(|r| r.kind == "tag");
    assert!(
        first_tag.is_none_or(|at| rows[at..].iter().all(|r| r.kind == "tag")),
        "tags come after the commits"
    );
    rows
}

// ---- a repository made by git --------------------------------------------------------------

/// A temporary non-bare repository driven by `git` in an isolated environment, dates
/// advancing one minute per call unless set.
struct Fixture {
    dir: tempfile::TempDir,
    clock: Cell<u64>,
}

impl Fixture {
    fn new() -> Fixture {
        let fixture = Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
            clock: Cell::new(1_700_000_000),
        };
        std::fs::create_dir(fixture.home()).expect("mkdir home");
        fixture.git(&["init", "-q", "-b", "main"]);
        fixture
    }

    fn home(&self) -> std::path::PathBuf {
        self.dir.path().join("home")
    }

    fn repo(&self) -> Repo {
        Repo::open(&self.dir.path().join(".git")).expect("open")
    }

    fn command(&self, args: &[&str]) -> Command {
        let now = self.clock.get() + 60;
        self.clock.set(now);
        let date = format!("{now} +0000");
        let mut cmd = Command::new("git");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "A U Thor")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_NAME", "C O Mitter")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env("GIT_COMMITTER_DATE", &date)
            .current_dir(self.dir.path())
            .args(args);
        cmd
    }

    fn git_stdin(&self, args: &[&str], stdin: &[u8]) -> String {
        let out = run_with_stdin(&mut self.command(args), stdin);
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    fn git(&self, args: &[&str]) -> String {
        self.git_stdin(args, b"")
    }

    /// `git -c gpg.format=ssh -c user.signingKey=KEY ARGS`, signing with `key`.
    fn git_signed(&self, key: &TestKey, args: &[&str]) -> String {
        let path = key.write_to(&self.home());
        let signing_key = format!("user.signingKey={}", path.display());
        let mut all = vec!["-c", "gpg.format=ssh", "-c", &signing_key];
        all.extend_from_slice(args);
        self.git(&all)
    }

    /// An empty commit on the current branch, signed with `key` if given; returns its id.
    fn commit(&self, message: &str, key: Option<&TestKey>) -> String {
        let args = ["commit", "-q", "--allow-empty", "-m", message];
        match key {
            None => self.git(&args),
            Some(key) => self.git_signed(key, &[&args[..], &["-S"]].concat()),
        };
        self.git(&["rev-parse", "HEAD"])
    }

    /// A `--no-ff` merge of `other` into the current branch; returns its id.
    fn merge(&self, other: &str, message: &str, key: Option<&TestKey>) -> String {
        let args = ["merge", "-q", "--no-ff", "-m", message, other];
        match key {
            None => self.git(&args),
            Some(key) => self.git_signed(key, &[&args[..], &["-S"]].concat()),
        };
        self.git(&["rev-parse", "HEAD"])
    }
}

/// A policy with alice (the ed25519 test key) and bob (the other one), rules of every kind
/// that makes a branch protected, an unprotected catch-all, and a tag rule.
fn roles(baseline: &[&str]) -> String {
    let k = keys();
    let baseline: Vec<String> = baseline.iter().map(|id| format!("\"{id}\"")).collect();
    format!(
        "version = 1\n\n\
         [users.alice]\nkeys = [\"{alice}\"]\n\n\
         [users.bob]\nkeys = [\"{bob}\"]\n\n\
         [roles]\ndevs = [\"alice\", \"bob\"]\n\n\
         [policy]\nadmins = [\"alice\"]\n\n\
         [trust]\nbaseline = [{baseline}]\n\n\
         [[rule]]\nrefs = [\"refs/heads/main\", \"refs/heads/release/*\"]\nsigners = [\"alice\"]\n\n\
         [[rule]]\nrefs = [\"refs/heads/linear/*\"]\nlinear = true\n\n\
         [[rule]]\nrefs = [\"refs/heads/dev/**\"]\nsigners = [\"devs\"]\nmerge = [\"alice\"]\n\n\
         [[rule]]\nrefs = [\"refs/heads/**\"]\n\n\
         [[rule]]\nrefs = [\"refs/tags/v*\"]\nsigners = [\"alice\"]\n",
        alice = k.ed25519.public.trim(),
        bob = k.other.public.trim(),
        baseline = baseline.join(", "),
    )
}

fn policy(baseline: &[&str]) -> Policy {
    crate::policy::parse(&roles(baseline)).expect("the test policy is valid")
}

#[test]
fn one_walk_lists_what_walking_each_ref_listed() {
    let (alice, bob) = (&keys().ed25519, &keys().other);
    let f = Fixture::new();
    let root = f.commit("root", None);
    let old = f.commit("old work", None);
    let m1 = f.commit("m1 by alice", Some(alice));
    let m2 = f.commit("m2 unsigned", None);
    // release/1.0 and release/1.1 share their tip: listed under the first by name.
    f.git(&["checkout", "-q", "-b", "release/1.0", &m1]);
    let rel = f.commit("release fix by bob", Some(bob));
    f.git(&["branch", "release/1.1"]);
    // dev/x from the baseline, merging main; then linear/a merges dev/x, which takes dev/x's
    // commits (rule order: linear before dev) except the one made after.
    f.git(&["checkout", "-q", "-b", "dev/x", &old]);
    let d1 = f.commit("d1 by bob", Some(bob));
    let d2 = f.commit("d2 by alice", Some(alice));
    let dm = f.merge("main", "merge main into dev by bob", Some(bob));
    f.git(&["checkout", "-q", "-b", "linear/a", &m2]);
    let l1 = f.commit("l1 unsigned", None);
    let lm = f.merge("dev/x", "merge dev into linear", None);
    f.git(&["checkout", "-q", "dev/x"]);
    let d3 = f.commit("d3 by alice", Some(alice));
    f.git(&["checkout", "-q", "main"]);
    let m3 = f.merge("release/1.0", "merge release by alice", Some(alice));
    // Unprotected branches: never walked for themselves.
    f.git(&["checkout", "-q", "-b", "feature/z"]);
    f.commit("scratch", None);
    f.git(&["checkout", "-q", "-b", "side", &root]);
    let s1 = f.commit("side 1", None);
    let s2 = f.commit("side 2 (baseline)", None);
    f.git(&["checkout", "-q", "main"]);
    // Tags: a signed one, a lightweight one, an unsigned annotated one, one no rule matches.
    f.git_signed(alice, &["tag", "-s", "-m", "v1", "v1", &m1]);
    f.git(&["tag", "v2", &m2]);
    f.git(&["tag", "-a", "-m", "v3", "v3", &m3]);
    f.git(&["tag", "other", &m1]);

    // The policy branch: written on the server, then a merge of s1 (reachable otherwise only
    // from the baseline) signed by bob, then a merge of m1 (main's) signed by alice.
    let missing = "0123456789abcdef0123456789abcdef01234567";
    let tree = f.git(&["rev-parse", "HEAD^{tree}"]);
    let baseline = [old.as_str(), s2.as_str(), missing, tree.as_str()];
    let repo = f.repo();
    let p0 = repo
        .write_policy_commit(POLICY_REF, roles(&baseline).as_bytes(), "init", None)
        .expect("policy commit");
    let p0_tree = format!("{p0}^{{tree}}");
    let p0_tree = f.git(&["rev-parse", &p0_tree]);
    let p1 = f.git_signed(
        bob,
        &[
            "commit-tree",
            "-S",
            "-p",
            p0.as_str(),
            "-p",
            &s1,
            "-m",
            "p1",
            &p0_tree,
        ],
    );
    let p2 = f.git_signed(
        alice,
        &[
            "commit-tree",
            "-S",
            "-p",
            &p1,
            "-p",
            &m1,
            "-m",
            "p2",
            &p0_tree,
        ],
    );
    f.git(&["update-ref", POLICY_REF, &p2]);

    let repo = f.repo();
    let policy = policy(&baseline);
    let rows = assert_same(&repo, &policy, None);
    // Commits only: the lightweight tag v2 has m2's id.
    let by_id: BTreeMap<String, Seen> = rows
        .iter()
        .filter(|r| r.kind == "commit")
        .map(|r| (r.id.clone(), r.clone()))
        .collect();
    let brief = |id: &str| by_id.get(id).map(Seen::brief).map(|b| (b.2, b.3, b.4));
    let main = "refs/heads/main".to_owned();
    let linear = "refs/heads/linear/a".to_owned();
    let dev = "refs/heads/dev/x".to_owned();
    let policy_ref = POLICY_REF.to_owned();
    let base = "-".to_owned();
    assert_eq!(brief(&root), Some((base.clone(), "baseline", vec![])));
    assert_eq!(brief(&old), Some((base, "baseline", vec![])));
    assert_eq!(brief(&m1), Some((main.clone(), "ok", vec![])));
    assert_eq!(
        brief(&m2),
        Some((main.clone(), "violation", vec!["unsigned"]))
    );
    assert_eq!(brief(&m3), Some((main.clone(), "ok", vec![])));
    assert_eq!(
        brief(&rel),
        Some((main, "violation", vec!["signer-not-allowed"]))
    );
    assert_eq!(brief(&l1), Some((linear.clone(), "ok", vec![])));
    assert_eq!(
        brief(&lm),
        Some((linear.clone(), "violation", vec!["nonlinear"]))
    );
    assert_eq!(brief(&d1), Some((linear.clone(), "ok", vec![])));
    assert_eq!(brief(&d2), Some((linear.clone(), "ok", vec![])));
    assert_eq!(brief(&dm), Some((linear, "violation", vec!["nonlinear"])));
    assert_eq!(brief(&d3), Some((dev, "ok", vec![])));
    assert_eq!(
        brief(p0.as_str()),
        Some((policy_ref.clone(), "server", vec![]))
    );
    assert_eq!(
        brief(&p1),
        Some((policy_ref.clone(), "violation", vec!["policy-denied"]))
    );
    assert_eq!(brief(&p2), Some((policy_ref.clone(), "ok", vec![])));
    // Reachable from the baseline, but the policy branch ignores the baseline.
    assert_eq!(
        brief(&s1),
        Some((policy_ref, "violation", vec!["unsigned"]))
    );
    assert_eq!(brief(&s2), None, "only an unprotected branch reaches it");
    let tags: Vec<(String, &str)> = rows
        .iter()
        .filter(|r| r.kind == "tag")
        .map(|r| (r.refname.clone(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        tags,
        [
            ("refs/tags/v1".to_owned(), "ok"),
            ("refs/tags/v2".to_owned(), "violation"),
            ("refs/tags/v3".to_owned(), "violation"),
        ]
    );
    assert_eq!(rows.len(), 16 + 3);

    // One ref at a time, whatever its rule, also agrees.
    for only in [
        "refs/heads/main",
        "refs/heads/release/1.1",
        "refs/heads/dev/x",
        "refs/heads/feature/z",
        POLICY_REF,
        "refs/tags/v1",
        "refs/tags/other",
    ] {
        assert_same(&repo, &policy, Some(only));
    }
    // A visitor that stops gets no more rows.
    let mut seen = 0;
    audit(&repo, &policy, &context(), None, |_| {
        seen += 1;
        ControlFlow::Break(())
    })
    .expect("audit");
    assert_eq!(seen, 1);
}

#[test]
fn a_branch_at_no_commit_names_the_ref() {
    let f = Fixture::new();
    f.commit("root", None);
    let blob = f.git_stdin(&["hash-object", "-w", "--stdin"], b"not a commit\n");
    // git refuses to point a branch at a blob; a ref file written by hand does not.
    let dir = f.dir.path().join(".git/refs/heads/release");
    std::fs::create_dir_all(&dir).expect("mkdir refs");
    std::fs::write(dir.join("blob"), format!("{blob}\n")).expect("write ref");
    let err = audit(&f.repo(), &policy(&[]), &context(), None, |_| {
        ControlFlow::Continue(())
    })
    .expect_err("a tip that is no commit fails");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot walk the history of refs/heads/release/blob: object {blob} is not a commit"
        )
    );
}

// ---- random histories ----------------------------------------------------------------------

/// Branch names under each rule of [`roles`] (and none), so random refs land under
/// different rules and ranks.
const NAMES: &[&str] = &[
    "refs/heads/main",
    "refs/heads/release/1",
    "refs/heads/release/2",
    "refs/heads/linear/a",
    "refs/heads/linear/b",
    "refs/heads/dev/a",
    "refs/heads/dev/b/c",
    "refs/heads/scratch",
    POLICY_REF,
    "refs/tags/v1",
];

/// Writes a random history of `n` unsigned commits with `git fast-import`: roots, chains,
/// merges of two or three parents, committer dates that do not follow the graph, some
/// commits by refguard's own identity; returns the commit ids in creation order.
fn random_history(f: &Fixture, rng: &mut ChaCha20Rng, n: usize) -> Vec<String> {
    let mut below = |bound: usize| (rng.next_u32() as usize) % bound.max(1);
    let mut stream = String::new();
    for i in 0..n {
        let mut parents: Vec<usize> = Vec::new();
        if i > 0 && below(10) != 0 {
            // Mostly a recent commit, sometimes any earlier one.
            let first = if below(3) == 0 {
                below(i)
            } else {
                i - 1 - below(i.min(4))
            };
            parents.push(first);
            for _ in 0..[0, 0, 0, 1, 2][below(5)] {
                let other = below(i);
                if !parents.contains(&other) {
                    parents.push(other);
                }
            }
        }
        let ident = if below(12) == 0 {
            format!("{} <{}>", git::IDENT_NAME, git::IDENT_EMAIL)
        } else {
            "C O Mitter <committer@example.com>".to_owned()
        };
        // Dates wander: a child may be older than its parents.
        let date = 1_700_000_000 + i as u64 * 60 + below(6000) as u64;
        let message = format!("commit {i}\n");
        stream.push_str(&format!(
            "reset refs/heads/tmp\ncommit refs/heads/tmp\nmark :{}\ncommitter {ident} {date} +0000\n\
             data {}\n{message}",
            i + 1,
            message.len()
        ));
        for (k, p) in parents.iter().enumerate() {
            let verb = if k == 0 { "from" } else { "merge" };
            stream.push_str(&format!("{verb} :{}\n", p + 1));
        }
        stream.push('\n');
    }
    let marks = f.dir.path().join("marks");
    let export = format!("--export-marks={}", marks.display());
    f.git_stdin(&["fast-import", "--quiet", &export], stream.as_bytes());
    f.git(&["update-ref", "-d", "refs/heads/tmp"]);
    let marks = std::fs::read_to_string(&marks).expect("marks");
    let mut ids = vec![String::new(); n];
    for line in marks.lines() {
        let (mark, id) = line.split_once(' ').expect("mark and id");
        let mark: usize = mark.trim_start_matches(':').parse().expect("mark number");
        ids[mark - 1] = id.to_owned();
    }
    ids
}

#[test]
fn one_walk_agrees_on_random_histories() {
    let mut rng = ChaCha20Rng::seed_from_u64(18);
    let mut listed = 0;
    for _ in 0..12 {
        let f = Fixture::new();
        let n = 20 + (rng.next_u32() as usize) % 60;
        let ids = random_history(&f, &mut rng, n);
        let mut refs = Vec::new();
        for name in NAMES {
            if rng.next_u32() % 4 != 0 {
                let at = &ids[(rng.next_u32() as usize) % n];
                f.git(&["update-ref", name, at]);
                refs.push(*name);
            }
        }
        let baseline: Vec<&str> = (0..(rng.next_u32() % 3))
            .map(|_| ids[(rng.next_u32() as usize) % n].as_str())
            .collect();
        let repo = f.repo();
        let policy = policy(&baseline);
        listed += assert_same(&repo, &policy, None).len();
        for only in refs {
            assert_same(&repo, &policy, Some(only));
        }
    }
    assert!(
        listed > 200,
        "the random histories list something: {listed}"
    );
}
