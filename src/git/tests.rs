//! Tests against repositories made by the real `git`, in an isolated environment (no user
//! or system config, temporary `HOME`, fixed names, dates advancing one minute per call).

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::testutil::run_with_stdin;
use crate::verify::testkeys::{TestKey, keys};

/// A temporary non-bare repository driven by `git`.
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

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn work(&self) -> &Path {
        self.dir.path()
    }

    fn repo(&self) -> Repo {
        Repo::open(&self.work().join(".git")).expect("open")
    }

    /// `git` with an isolated environment, in the work tree.
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
            .current_dir(self.work())
            .args(args);
        cmd
    }

    /// Runs `git`, asserts success, returns trimmed stdout.
    fn git(&self, args: &[&str]) -> String {
        self.git_stdin(args, b"")
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

    /// Writes `key` into the fixture; returns the private key path as a string.
    fn key(&self, key: &TestKey) -> String {
        key.write_to(&self.home())
            .to_str()
            .expect("utf-8")
            .to_owned()
    }

    /// An empty commit, signed with `key` if given; returns its id.
    fn commit(&self, message: &str, key: Option<&TestKey>) -> ObjectId {
        match key {
            None => self.git(&["commit", "-q", "--allow-empty", "-m", message]),
            Some(key) => {
                let signing_key = format!("user.signingKey={}", self.key(key));
                self.git(&[
                    "-c",
                    "gpg.format=ssh",
                    "-c",
                    &signing_key,
                    "commit",
                    "-q",
                    "-S",
                    "--allow-empty",
                    "-m",
                    message,
                ])
            }
        };
        self.rev("HEAD")
    }

    /// Writes an allowed_signers file for `keys`; returns the `-c` option that uses it.
    fn allowed_signers(&self, keys: &[&TestKey]) -> String {
        let path = self.home().join("allowed_signers");
        let lines: String = keys
            .iter()
            .map(|key| {
                let mut fields = key.public.split_whitespace();
                let kind = fields.next().expect("key type");
                let base64 = fields.next().expect("key data");
                format!("{}@test {kind} {base64}\n", key.name)
            })
            .collect();
        std::fs::write(&path, lines).expect("write allowed_signers");
        format!("gpg.ssh.allowedSignersFile={}", path.display())
    }

    fn rev(&self, rev: &str) -> ObjectId {
        id(&self.git(&["rev-parse", rev]))
    }
}

fn id(hex: &str) -> ObjectId {
    ObjectId::parse(hex).expect("object id")
}

fn update(refname: &str, old: &ObjectId, new: &ObjectId) -> RefUpdate {
    RefUpdate {
        refname: refname.to_owned(),
        old: old.clone(),
        new: new.clone(),
    }
}

fn fingerprint(check: &SignatureCheck) -> &str {
    match check {
        SignatureCheck::Valid(key) => &key.fingerprint,
        other => panic!("expected Valid, got {other:?}"),
    }
}

// ---- new_commits -------------------------------------------------------------------------

#[test]
fn new_commits_are_listed_newest_first_with_their_signatures() {
    let f = Fixture::new();
    let base = f.commit("base", None);
    let b = f.commit("signed by ed25519\n\nbody", Some(&keys().ed25519));
    let c = f.commit("unsigned", None);
    let d = f.commit("signed by rsa", Some(&keys().rsa));

    let commits = f
        .repo()
        .new_commits(&d, &[base], &Keyring::empty())
        .expect("walk");
    let ids: Vec<_> = commits.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids, [d, c, b]);
    assert_eq!(commits[0].summary, "signed by rsa");
    assert_eq!(fingerprint(&commits[0].signature), keys().rsa.fingerprint);
    assert_eq!(commits[1].signature, SignatureCheck::Unsigned);
    assert_eq!(commits[2].summary, "signed by ed25519");
    assert_eq!(
        fingerprint(&commits[2].signature),
        keys().ed25519.fingerprint
    );
    assert!(commits.iter().all(|c| c.parent_count == 1));
}

#[test]
fn every_key_type_agrees_with_git() {
    let f = Fixture::new();
    let allowed = f.allowed_signers(&keys().all());
    for key in keys().all() {
        let commit = f.commit(key.name, Some(key));
        let facts = f
            .repo()
            .new_commits(&commit, &[], &Keyring::empty())
            .expect("walk");
        assert_eq!(
            fingerprint(&facts[0].signature),
            key.fingerprint,
            "{}",
            key.name
        );
        f.git(&["-c", &allowed, "verify-commit", commit.as_str()]);
    }
}

#[test]
fn merges_count_parents_and_root_has_none() {
    let f = Fixture::new();
    let root = f.commit("root", None);
    f.git(&["checkout", "-q", "-b", "side"]);
    let side = f.commit("side", None);
    f.git(&["checkout", "-q", "main"]);
    let main = f.commit("main", None);
    f.git(&["merge", "-q", "--no-ff", "-m", "Merge side", "side"]);
    let merge = f.rev("HEAD");

    let commits = f
        .repo()
        .new_commits(&merge, &[], &Keyring::empty())
        .expect("walk");
    let by_id = |id: &ObjectId| {
        commits
            .iter()
            .find(|c| &c.id == id)
            .expect("listed")
            .parent_count
    };
    assert_eq!(commits.len(), 4);
    assert_eq!(commits[0].id, merge);
    assert_eq!(commits[0].summary, "Merge side");
    assert_eq!(by_id(&merge), 2);
    assert_eq!(by_id(&root), 0);
    assert_eq!(by_id(&side), 1);
    assert_eq!(commits.last().map(|c| &c.id), Some(&root));

    // Hiding the other branch's tip leaves the merge and main's own commit.
    let ids: Vec<_> = f
        .repo()
        .new_commits(&merge, &[side], &Keyring::empty())
        .expect("walk")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, [merge, main]);
}

#[test]
fn hide_list_ignores_missing_and_non_commit_ids_and_peels_tags() {
    let f = Fixture::new();
    let a = f.commit("a", None);
    let b = f.commit("b", None);
    let c = f.commit("c", None);
    f.git(&["tag", "-a", "-m", "at b", "tb", b.as_str()]);
    let tag = f.rev("tb");
    let blob = id(&f.git_stdin(&["hash-object", "-w", "--stdin"], b"blob\n"));
    let missing = id("1234567890123456789012345678901234567890");
    let sha256 = ObjectId::parse(&"ab".repeat(32)).expect("64 hex");

    let walk = |hide: &[ObjectId]| -> Vec<ObjectId> {
        let commits = f
            .repo()
            .new_commits(&c, hide, &Keyring::empty())
            .expect("walk");
        commits.into_iter().map(|c| c.id).collect()
    };
    assert_eq!(walk(&[tag]), std::slice::from_ref(&c));
    assert_eq!(
        walk(&[missing, blob, sha256, ObjectId::zero()]),
        [c.clone(), b, a.clone()]
    );
    assert_eq!(walk(std::slice::from_ref(&c)), Vec::<ObjectId>::new());
    assert_eq!(walk(&[a]).len(), 2);
}

#[test]
fn new_commits_fails_closed() {
    let f = Fixture::new();
    f.commit("a", None);
    let blob = id(&f.git_stdin(&["hash-object", "-w", "--stdin"], b"blob\n"));
    let missing = id("1234567890123456789012345678901234567890");
    assert!(matches!(
        f.repo().new_commits(&blob, &[], &Keyring::empty()),
        Err(Error::NotACommit { .. })
    ));
    assert!(matches!(
        f.repo().new_commits(&missing, &[], &Keyring::empty()),
        Err(Error::Object { .. })
    ));

    // A commit whose parent is missing: the walk fails rather than stopping short.
    let tree = f.git(&["write-tree"]);
    let raw = format!(
        "tree {tree}\nparent {missing}\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\norphan\n"
    );
    let orphan = id(&f.git_stdin(
        &["hash-object", "-t", "commit", "-w", "--stdin"],
        raw.as_bytes(),
    ));
    assert!(
        f.repo()
            .new_commits(&orphan, &[], &Keyring::empty())
            .is_err()
    );
}

/// A commit carrying both `gpgsig` and `gpgsig-sha256` verifies in git (which removes both
/// headers from the payload) and must verify here too; libgit2 alone would say it is bad.
#[test]
fn dual_header_commit_verifies_like_git() {
    let f = Fixture::new();
    let key = &keys().ed25519;
    let signed = f.commit("dual", Some(key));
    let raw = f.git(&["cat-file", "commit", signed.as_str()]) + "\n";
    // Add a gpgsig-sha256 header (any value) before the gpgsig header.
    let at = raw.find("gpgsig ").expect("signed");
    let write_literally = |raw: &str| {
        let args = [
            "hash-object",
            "-t",
            "commit",
            "-w",
            "--literally",
            "--stdin",
        ];
        id(&f.git_stdin(&args, raw.as_bytes()))
    };
    let dual = format!(
        "{}gpgsig-sha256 -----BEGIN SSH SIGNATURE-----\n AAAA\n -----END SSH SIGNATURE-----\n{}",
        &raw[..at],
        &raw[at..]
    );
    let dual_id = write_literally(&dual);
    assert_ne!(dual_id, signed);

    let facts = f
        .repo()
        .new_commits(&dual_id, &[], &Keyring::empty())
        .expect("walk");
    assert_eq!(fingerprint(&facts[0].signature), key.fingerprint);

    // git agrees.
    let allowed = f.allowed_signers(&[key]);
    f.git(&["-c", &allowed, "verify-commit", dual_id.as_str()]);

    // And a tampered copy verifies in neither.
    let tampered = dual.replace("\ndual", "\nduel");
    let tampered_id = write_literally(&tampered);
    let facts = f
        .repo()
        .new_commits(&tampered_id, &[], &Keyring::empty())
        .expect("walk");
    assert!(matches!(facts[0].signature, SignatureCheck::Bad { .. }));
}

// ---- kind --------------------------------------------------------------------------------

#[test]
fn kinds_of_updates() {
    let f = Fixture::new();
    let a = f.commit("a", None);
    let b = f.commit("b", None);
    f.git(&["checkout", "-q", "--detach", a.as_str()]);
    let c = f.commit("c", None);
    let tree = id(&f.git(&["rev-parse", "HEAD^{tree}"]));
    let zero = ObjectId::zero();
    let repo = f.repo();
    let kind = |refname: &str, old: &ObjectId, new: &ObjectId| {
        repo.kind(&update(refname, old, new)).expect("kind")
    };

    assert_eq!(kind("refs/heads/x", &zero, &a), UpdateKind::Create);
    assert_eq!(kind("refs/heads/x", &a, &zero), UpdateKind::Delete);
    assert_eq!(kind("refs/heads/x", &a, &b), UpdateKind::FastForward);
    assert_eq!(kind("refs/heads/x", &a, &a), UpdateKind::FastForward);
    assert_eq!(kind("refs/heads/x", &b, &a), UpdateKind::NonFastForward);
    assert_eq!(kind("refs/heads/x", &b, &c), UpdateKind::NonFastForward);
    assert_eq!(kind("refs/heads/x", &a, &tree), UpdateKind::NonFastForward);
    assert_eq!(kind("refs/tags/v1", &a, &b), UpdateKind::NonFastForward);
    assert_eq!(kind("refs/tags/v1", &zero, &a), UpdateKind::Create);
    assert_eq!(kind("refs/tags/v1", &a, &zero), UpdateKind::Delete);
}

#[test]
fn kind_fails_closed_on_missing_objects() {
    let f = Fixture::new();
    let a = f.commit("a", None);
    let missing = id("1234567890123456789012345678901234567890");
    let repo = f.repo();
    for (old, new) in [(&a, &missing), (&missing, &a), (&missing, &missing)] {
        assert!(matches!(
            repo.kind(&update("refs/heads/x", old, new)),
            Err(Error::Object { .. })
        ));
    }
    let zero = ObjectId::zero();
    assert!(matches!(
        repo.kind(&update("refs/heads/x", &zero, &zero)),
        Err(Error::BothZero { .. })
    ));
    let sha256 = ObjectId::parse(&"ab".repeat(32)).expect("64 hex");
    assert!(matches!(
        repo.kind(&update("refs/heads/x", &a, &sha256)),
        Err(Error::UnsupportedId { .. })
    ));
}

// ---- tag_target --------------------------------------------------------------------------

#[test]
fn tag_targets() {
    let f = Fixture::new();
    let key = &keys().p256;
    let commit = f.commit("a", None);
    f.git(&["tag", "-a", "-m", "plain", "v1-plain"]);
    let signing_key = format!("user.signingKey={}", f.key(key));
    f.git(&[
        "-c",
        "gpg.format=ssh",
        "-c",
        &signing_key,
        "tag",
        "-s",
        "-m",
        "signed release",
        "v1",
    ]);
    let repo = f.repo();

    assert_eq!(
        repo.tag_target(&commit, &Keyring::empty()).expect("tag"),
        TagTarget::Lightweight
    );
    assert_eq!(
        repo.tag_target(&f.rev("v1-plain"), &Keyring::empty())
            .expect("tag"),
        TagTarget::Annotated {
            name: "v1-plain".to_owned(),
            signature: SignatureCheck::Unsigned,
        }
    );
    match repo
        .tag_target(&f.rev("v1"), &Keyring::empty())
        .expect("tag")
    {
        TagTarget::Annotated { name, signature } => {
            assert_eq!(name, "v1");
            assert_eq!(fingerprint(&signature), key.fingerprint);
        }
        other => panic!("expected annotated, got {other:?}"),
    }
    let missing = id("1234567890123456789012345678901234567890");
    assert!(matches!(
        repo.tag_target(&missing, &Keyring::empty()),
        Err(Error::Object { .. })
    ));
}

// ---- refs, config, blobs, policy commits -------------------------------------------------

#[test]
fn refs_config_and_resolve() {
    let f = Fixture::new();
    let a = f.commit("a", None);
    f.git(&["tag", "-a", "-m", "t", "v1"]);
    f.git(&["branch", "side"]);
    f.git(&["config", "refguard.policyRef", "refs/meta/other"]);
    let tag = f.rev("v1");
    let repo = f.repo();

    assert_eq!(
        repo.refs().expect("refs"),
        [
            ("refs/heads/main".to_owned(), a.clone()),
            ("refs/heads/side".to_owned(), a.clone()),
            ("refs/tags/v1".to_owned(), tag),
        ]
    );
    assert_eq!(
        repo.resolve_ref("refs/heads/main").expect("ref"),
        Some(a.clone())
    );
    assert_eq!(repo.resolve_ref("HEAD").expect("ref"), Some(a));
    assert_eq!(repo.resolve_ref("refs/meta/policy").expect("ref"), None);
    assert_eq!(
        repo.config_string("refguard.policyRef").expect("config"),
        Some("refs/meta/other".to_owned())
    );
    assert_eq!(
        repo.config_string("refguard.auditLog").expect("config"),
        None
    );
    assert_eq!(
        repo.git_dir(),
        f.work().join(".git").canonicalize().expect("path")
    );
}

#[test]
fn policy_commit_round_trip() {
    let f = Fixture::new();
    let repo = f.repo();
    let policy = "refs/meta/policy";
    let first = repo
        .write_policy_commit(policy, b"version = 1\n", "refguard init", None)
        .expect("init");
    assert_eq!(repo.resolve_ref(policy).expect("ref"), Some(first.clone()));
    assert_eq!(
        repo.blob_at(&first, "roles.toml").expect("blob"),
        Some(b"version = 1\n".to_vec())
    );
    assert_eq!(repo.blob_at(&first, "missing.toml").expect("blob"), None);
    assert_eq!(
        f.git(&["log", "-1", "--format=%an <%ae>|%s", policy]),
        "refguard <refguard@localhost>|refguard init"
    );
    assert_eq!(f.git(&["ls-tree", "--name-only", policy]), "roles.toml");

    // init refuses to overwrite.
    assert!(matches!(
        repo.write_policy_commit(policy, b"x", "again", None),
        Err(Error::RefExists { .. })
    ));
    assert_eq!(repo.resolve_ref(policy).expect("ref"), Some(first.clone()));

    // An update on top of the current tip.
    let second = repo
        .write_policy_commit(policy, b"version = 1\n# v2\n", "reset", Some(&first))
        .expect("reset");
    assert_eq!(f.rev(&format!("{policy}^")), first);
    assert_eq!(
        repo.blob_at(&second, "roles.toml").expect("blob"),
        Some(b"version = 1\n# v2\n".to_vec())
    );

    // A stale parent is refused and leaves the ref alone.
    assert!(matches!(
        repo.write_policy_commit(policy, b"x", "stale", Some(&first)),
        Err(Error::RefMoved { .. })
    ));
    assert!(matches!(
        repo.write_policy_commit("refs/meta/none", b"x", "stale", Some(&first)),
        Err(Error::RefMoved { .. })
    ));
    assert_eq!(repo.resolve_ref(policy).expect("ref"), Some(second));

    // blob_at on something that is no commit fails closed; a directory is not a blob.
    let blob = id(&f.git_stdin(&["hash-object", "-w", "--stdin"], b"x"));
    assert!(repo.blob_at(&blob, "roles.toml").is_err());
    f.commit("a", None);
    std::fs::create_dir(f.work().join("roles.toml")).expect("mkdir");
    std::fs::write(f.work().join("roles.toml/x"), "x").expect("write");
    f.git(&["add", "."]);
    let with_dir = f.commit("dir", None);
    assert_eq!(repo.blob_at(&with_dir, "roles.toml").expect("blob"), None);
}

/// In pre-receive, pushed objects live in a quarantine directory that `Repository::open`
/// does not see; `GIT_QUARANTINE_PATH` must be added as an alternate.
#[test]
fn quarantined_objects_are_visible_only_with_the_quarantine() {
    let f = Fixture::new();
    let base = f.commit("base", None);
    let quarantine = f.work().join(".git/objects/incoming-test");
    std::fs::create_dir_all(&quarantine).expect("mkdir");
    let tree = f.git(&["write-tree"]);
    let raw = format!(
        "tree {tree}\nparent {base}\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\npushed\n"
    );
    let pushed = write_quarantined(&f, &quarantine, &raw);

    let git_dir = f.work().join(".git");
    let plain = Repo::open_with_quarantine(&git_dir, None).expect("open");
    assert!(plain.new_commits(&pushed, &[], &Keyring::empty()).is_err());

    let with = Repo::open_with_quarantine(&git_dir, Some(&quarantine)).expect("open");
    let commits = with
        .new_commits(&pushed, &[base], &Keyring::empty())
        .expect("walk");
    assert_eq!(commits.len(), 1);
    assert_eq!(commits[0].summary, "pushed");
}

// ---- walk, merge_bases ---------------------------------------------------------------------

#[test]
fn walk_streams_each_commit_once_across_tips() {
    let f = Fixture::new();
    let base = f.commit("base", None);
    let a = f.commit("on main", Some(&keys().ed25519));
    f.git(&["checkout", "-q", "-b", "topic", base.as_str()]);
    let t = f.commit("on topic", None);
    f.git(&["checkout", "-q", "main"]);
    f.git(&["merge", "-q", "--no-ff", "-m", "merge topic", "topic"]);
    let m = f.rev("HEAD");
    let repo = f.repo();

    let mut seen = Vec::new();
    let n = repo
        .walk(
            &[m.clone(), t.clone(), a.clone()],
            &[],
            &Keyring::empty(),
            |c| {
                seen.push(c);
                ControlFlow::Continue(())
            },
        )
        .expect("walk");
    assert_eq!(n, 4);
    let ids: Vec<_> = seen.iter().map(|c| c.facts.id.clone()).collect();
    // Newest first by commit time; every commit once although reachable from several tips.
    assert_eq!(ids, [m.clone(), t.clone(), a.clone(), base.clone()]);
    assert_eq!(seen[0].facts.parent_count, 2);
    assert_eq!(seen[0].committer, "C O Mitter <committer@example.com>");
    assert!(seen[0].time > seen[1].time && seen[1].time > 1_700_000_000);
    assert_eq!(
        fingerprint(&seen[2].facts.signature),
        keys().ed25519.fingerprint
    );

    // Hidden history is skipped; a break stops the walk.
    let mut ids = Vec::new();
    repo.walk(
        std::slice::from_ref(&m),
        std::slice::from_ref(&a),
        &Keyring::empty(),
        |c| {
            ids.push(c.facts.id);
            ControlFlow::Continue(())
        },
    )
    .expect("walk");
    assert_eq!(ids, [m.clone(), t.clone()]);
    let n = repo
        .walk(std::slice::from_ref(&m), &[], &Keyring::empty(), |_| {
            ControlFlow::Break(())
        })
        .expect("walk");
    assert_eq!(n, 1);
    assert_eq!(
        repo.walk(&[], &[], &Keyring::empty(), |_| ControlFlow::Continue(()))
            .expect("walk"),
        0
    );

    // A tip that is no commit fails closed.
    let tree = id(&f.git(&["rev-parse", "HEAD^{tree}"]));
    assert!(matches!(
        repo.walk(&[tree], &[], &Keyring::empty(), |_| ControlFlow::Continue(
            ()
        )),
        Err(Error::NotACommit { .. })
    ));

    // Merge bases: the commits reachable from both sides.
    assert_eq!(repo.merge_bases(&a, &t).expect("bases"), vec![base.clone()]);
    assert_eq!(repo.merge_bases(&m, &a).expect("bases"), vec![a.clone()]);
    f.git(&["checkout", "-q", "--orphan", "other"]);
    let lone = f.commit("unrelated root", None);
    assert!(repo.merge_bases(&lone, &m).expect("bases").is_empty());
}

#[test]
fn walk_labelled_gives_each_commit_the_lowest_label_reaching_it() {
    // base ← a ← m (merge of a and t) on main; base ← t on topic; base ← old on side.
    let f = Fixture::new();
    let base = f.commit("base", None);
    let a = f.commit("on main", Some(&keys().ed25519));
    f.git(&["checkout", "-q", "-b", "topic", base.as_str()]);
    let t = f.commit("on topic", None);
    f.git(&["checkout", "-q", "-b", "side", base.as_str()]);
    let old = f.commit("marked, on no tip", None);
    f.git(&["checkout", "-q", "main"]);
    f.git(&["merge", "-q", "--no-ff", "-m", "merge topic", "topic"]);
    let m = f.rev("HEAD");
    let repo = f.repo();

    let walk = |tips: &[(ObjectId, u32)], marks: &[ObjectId]| {
        let mut seen = Vec::new();
        let n = repo
            .walk_labelled(tips, marks, &Keyring::empty(), |c| {
                seen.push((c.commit.facts.id, c.label, c.marked));
                ControlFlow::Continue(())
            })
            .expect("walk");
        assert_eq!(n as usize, seen.len());
        seen
    };
    // topic's tip has label 0, main's 1: the commits both reach take 0. `old` is walked for
    // its mark but visited by no tip; the mark reaches base through it. Children come before
    // parents, otherwise newest first.
    let seen = walk(
        &[(m.clone(), 1), (t.clone(), 0)],
        std::slice::from_ref(&old),
    );
    assert_eq!(
        seen,
        [
            (m.clone(), 1, false),
            (t.clone(), 0, false),
            (a.clone(), 1, false),
            (base.clone(), 0, true),
        ]
    );
    // The same tip under two labels takes the lower; a mark that is a tip marks itself.
    let seen = walk(&[(a.clone(), 5), (a.clone(), 3)], std::slice::from_ref(&a));
    assert_eq!(seen, [(a.clone(), 3, true), (base.clone(), 3, true)]);
    // Signatures are verified on the way.
    let mut signed = None;
    repo.walk_labelled(&[(a.clone(), 0)], &[], &Keyring::empty(), |c| {
        signed.get_or_insert(c.commit.facts.signature);
        ControlFlow::Break(())
    })
    .expect("walk");
    let signed = signed.expect("visited");
    assert_eq!(fingerprint(&signed), keys().ed25519.fingerprint);

    // A break stops the walk; no tips, nothing; a mark that is missing or no commit is
    // ignored; a tip that is no commit fails closed.
    let n = repo
        .walk_labelled(&[(m.clone(), 0)], &[], &Keyring::empty(), |_| {
            ControlFlow::Break(())
        })
        .expect("walk");
    assert_eq!(n, 1);
    assert_eq!(
        repo.walk_labelled(&[], std::slice::from_ref(&old), &Keyring::empty(), |_| {
            ControlFlow::Continue(())
        })
        .expect("walk"),
        0
    );
    let tree = id(&f.git(&["rev-parse", "HEAD^{tree}"]));
    let missing = id("0123456789abcdef0123456789abcdef01234567");
    assert_eq!(walk(&[(t.clone(), 0)], &[tree.clone(), missing]).len(), 2);
    assert!(matches!(
        repo.walk_labelled(&[(tree, 0)], &[], &Keyring::empty(), |_| {
            ControlFlow::Continue(())
        }),
        Err(Error::NotACommit { .. })
    ));
}

#[test]
fn committer_header_is_parsed_leniently() {
    assert_eq!(
        committer(b"tree x\ncommitter A B <a@b> 1700000000 +0100\n\nmsg\n"),
        ("A B <a@b>".to_owned(), 1_700_000_000)
    );
    assert_eq!(
        committer(b"tree x\ncommitter broken\n\nmsg\n"),
        ("broken".to_owned(), 0)
    );
    assert_eq!(committer(b"tree x\n\nmsg\n"), (String::new(), 0));
}

/// Walk throughput without signatures (signature cost is per key type, see GIT-FACTS.md).
/// Run with `cargo test --release --lib walk_throughput -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark"]
fn walk_throughput() {
    let f = Fixture::new();
    let n = 10_000;
    let mut script = String::new();
    for i in 0..n {
        let msg = format!("commit {i}\n");
        script += &format!(
            "commit refs/heads/main\ncommitter C <c@x> {} +0000\ndata {}\n{msg}\n",
            1_700_000_000 + i,
            msg.len()
        );
    }
    f.git_stdin(&["fast-import", "--quiet"], script.as_bytes());
    let tip = f.rev("main");
    let repo = f.repo();
    let start = std::time::Instant::now();
    let commits = repo
        .new_commits(&tip, &[], &Keyring::empty())
        .expect("walk");
    let elapsed = start.elapsed();
    assert_eq!(commits.len(), n as usize);
    eprintln!("{n} commits in {elapsed:?}");
}

/// Writes a raw commit into the quarantine directory, as receive-pack would; returns its id.
fn write_quarantined(f: &Fixture, quarantine: &Path, raw: &str) -> ObjectId {
    let mut cmd = f.command(&["hash-object", "-t", "commit", "-w", "--stdin"]);
    cmd.env("GIT_OBJECT_DIRECTORY", quarantine).env(
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        f.work().join(".git/objects"),
    );
    let out = run_with_stdin(&mut cmd, raw.as_bytes());
    assert!(out.status.success());
    id(String::from_utf8(out.stdout).expect("utf-8").trim())
}

/// The pre-push store shortcut gives exactly the full walk's answer: pre-push hides that the
/// pushed range never meets are skipped, a hidden id pushed just now (a baseline arriving with
/// the push) still hides, and a range that reaches old commits falls back to the full walk.
#[test]
fn quarantine_shortcut_agrees_with_the_full_walk() {
    let f = Fixture::new();
    let base = f.commit("base", None);
    let a = f.commit("a", None);
    f.git(&["checkout", "-q", "-b", "other", &base.to_string()]);
    let b = f.commit("b", None);
    let c = f.commit("c", None);
    let tree = f.git(&["write-tree"]);
    let quarantine = f.work().join(".git/objects/incoming-shortcut");
    std::fs::create_dir_all(&quarantine).expect("mkdir");
    let raw = |parents: &[&ObjectId], msg: &str| {
        let parents: String = parents.iter().map(|p| format!("parent {p}\n")).collect();
        format!(
            "tree {tree}\n{parents}author A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\n{msg}\n"
        )
    };
    let q1 = write_quarantined(&f, &quarantine, &raw(&[&a], "q1"));
    let fresh_baseline = write_quarantined(&f, &quarantine, &raw(&[&a], "fresh baseline"));
    let q2 = write_quarantined(&f, &quarantine, &raw(&[&q1, &fresh_baseline], "q2"));
    let q3 = write_quarantined(&f, &quarantine, &raw(&[&q2, &b], "q3 merges an old commit"));

    let git_dir = f.work().join(".git");
    let fast = Repo::open_with_quarantine(&git_dir, Some(&quarantine)).expect("open");
    assert!(fast.pre_push.is_some());
    let full = Repo {
        pre_push: None,
        ..Repo::open_with_quarantine(&git_dir, Some(&quarantine)).expect("open")
    };
    let ids = |commits: Vec<CommitFacts>| -> Vec<ObjectId> {
        commits.into_iter().map(|c| c.id).collect()
    };
    let cases: [(&ObjectId, Vec<ObjectId>); 5] = [
        (&q2, vec![a.clone(), c.clone()]),
        (&q2, vec![a.clone(), c.clone(), fresh_baseline.clone()]),
        // b is old and hidden only through c: the shortcut must not apply.
        (&q3, vec![a.clone(), c.clone()]),
        (&q3, vec![a.clone(), c.clone(), fresh_baseline.clone()]),
        // Creating a ref at an existing tip: nothing to walk.
        (&q2, vec![q2.clone()]),
    ];
    for (tip, hide) in &cases {
        let got = ids(fast
            .new_commits(tip, hide, &Keyring::empty())
            .expect("walk"));
        let want = ids(full
            .new_commits(tip, hide, &Keyring::empty())
            .expect("walk"));
        assert_eq!(got, want, "tip {tip}, hide {hide:?}");
    }
    assert_eq!(
        ids(fast
            .new_commits(&q2, &cases[1].1, &Keyring::empty())
            .expect("walk")),
        vec![q2.clone(), q1.clone()]
    );
    // b is an ancestor of the hidden c, so it is not new either.
    let mut got = ids(fast
        .new_commits(&q3, &cases[2].1, &Keyring::empty())
        .expect("walk"));
    got.sort();
    let mut want = vec![q3.clone(), q2.clone(), fresh_baseline.clone(), q1.clone()];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn prefix_lookups_agree_with_git_for_each_ref() {
    let f = Fixture::new();
    let tip = f.commit("one", None);
    f.git(&["tag", "-a", "-m", "t", "v1"]);
    let mut input = String::new();
    for i in 0..300 {
        input.push_str(&format!(
            "create refs/approvals/{:040x}/{tip} {tip}\n",
            i * 13
        ));
    }
    input.push_str(&format!(
        "create refs/heads/production {tip}\ncreate refs/heads/prod {tip}\n"
    ));
    f.git_stdin(&["update-ref", "--stdin"], input.as_bytes());
    f.git(&["pack-refs", "--all"]);
    // Loose refs after packing: a new one, and one that overrides its packed value.
    let two = f.commit("two", None);
    f.git(&[
        "update-ref",
        &format!("refs/approvals/{:040x}/{two}", 13 * 7),
        &two.to_string(),
    ]);
    f.git(&["update-ref", "refs/heads/prod", &two.to_string()]);
    f.git(&["symbolic-ref", "refs/heads/alias", "refs/heads/main"]);
    let repo = f.repo();
    for prefix in [
        "refs/approvals/",
        &format!("refs/approvals/{:040x}/", 13 * 7),
        &format!("refs/approvals/{:040x}/", 13 * 299),
        "refs/approvals/ffff",
        "refs/heads/prod",
        "refs/heads/",
        "refs/tags/",
        "refs/nothing/",
        "refs/",
    ] {
        let listed = f.git(&["for-each-ref", "--format=%(refname) %(objectname)", prefix]);
        let want: Vec<(String, ObjectId)> = listed
            .lines()
            .filter_map(|l| l.split_once(' '))
            // for-each-ref matches whole components; a partial prefix keeps its own filter.
            .filter(|(n, _)| n.starts_with(prefix) && *n != "refs/heads/alias")
            .map(|(n, id)| (n.to_string(), ObjectId::parse(id).expect("hex")))
            .collect();
        let got = repo.refs_with_prefix(prefix).expect("lookup");
        if prefix.ends_with('/') {
            assert_eq!(got, want, "{prefix}");
        } else {
            let all = repo.refs_with_prefix(&prefix[..prefix.rfind('/').expect("/") + 1]);
            let want: Vec<_> = all
                .expect("lookup")
                .into_iter()
                .filter(|(n, _)| n.starts_with(prefix))
                .collect();
            assert_eq!(got, want, "{prefix}");
        }
    }
    assert_eq!(
        repo.resolve_ref("refs/heads/prod").expect("resolve"),
        Some(two.clone())
    );
    // A symbolic ref resolves through libgit2 to where main is now.
    assert_eq!(
        repo.resolve_ref("refs/heads/alias").expect("resolve"),
        Some(two)
    );
    assert_eq!(repo.resolve_ref("refs/heads/none").expect("resolve"), None);
}

/// What git says `commit` touches: `git diff-tree -r --root -c --no-renames --name-only`
/// lists, for a root commit, its whole tree; for one parent, every path that differs; for a
/// merge (`-c`, combined), the paths that differ from every parent.
fn git_touched(f: &Fixture, commit: &ObjectId) -> Vec<String> {
    let listed = f.git(&[
        "-c",
        "core.quotePath=false",
        "diff-tree",
        "-r",
        "--root",
        "-c",
        "--no-renames",
        "--name-only",
        "--no-commit-id",
        &commit.to_string(),
    ]);
    let mut paths: Vec<String> = listed.lines().map(str::to_string).collect();
    paths.sort();
    paths.dedup();
    paths
}

#[test]
fn touched_paths_agree_with_git_diff_tree() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    let w = f.work();
    let write = |path: &str, text: &str| {
        let path = w.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    let commit = |message: &str| {
        f.git(&["add", "-A"]);
        f.git(&["commit", "-q", "--allow-empty", "-m", message]);
        f.rev("HEAD")
    };
    let mut commits = Vec::new();
    for (i, dir) in ["a", "b/c", "secrets", "secrets/deep/er", "z"]
        .iter()
        .enumerate()
    {
        for j in 0..4 {
            write(&format!("{dir}/f{j}.txt"), &format!("{i}{j}\n"));
        }
    }
    write("top.txt", "top\n");
    commits.push(commit("root"));
    write("secrets/deep/er/f1.txt", "changed\n");
    commits.push(commit("modify deep"));
    write("secrets/new.key", "new\n");
    std::fs::remove_file(w.join("a/f0.txt")).expect("rm");
    commits.push(commit("add and delete"));
    f.git(&["mv", "secrets/f1.txt", "z/moved.txt"]);
    commits.push(commit("rename across directories"));
    std::fs::set_permissions(w.join("b/c/f2.txt"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    commits.push(commit("mode"));
    std::os::unix::fs::symlink("../top.txt", w.join("secrets/link")).expect("symlink");
    commits.push(commit("symlink"));
    let head = f.rev("HEAD");
    f.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{head},secrets/sub"),
    ]);
    f.git(&["commit", "-q", "-m", "submodule"]);
    commits.push(f.rev("HEAD"));
    // A file becomes a directory and a directory a file.
    std::fs::remove_file(w.join("top.txt")).expect("rm");
    write("top.txt/inner", "now a dir\n");
    std::fs::remove_dir_all(w.join("z")).expect("rm -r");
    write("z", "now a file\n");
    commits.push(commit("type changes"));
    commits.push(commit("empty"));
    // Merges: a clean one (each side's change equals one parent) and an evil one.
    let base = f.rev("HEAD");
    f.git(&["checkout", "-q", "-b", "side"]);
    write("secrets/f2.txt", "side\n");
    commit("side change");
    f.git(&["checkout", "-q", "main"]);
    write("a/f1.txt", "main change\n");
    commit("main change");
    f.git(&["merge", "-q", "--no-ff", "-m", "clean merge", "side"]);
    commits.push(f.rev("HEAD"));
    f.git(&["reset", "-q", "--hard", &base.to_string()]);
    write("a/f1.txt", "main change again\n");
    commit("main change again");
    f.git(&["merge", "-q", "--no-ff", "--no-commit", "side"]);
    write("secrets/f3.txt", "evil\n");
    write("b/c/f3.txt", "also evil\n");
    commits.push(commit("evil merge"));

    let repo = f.repo();
    for c in &commits {
        let want = git_touched(&f, c);
        assert_eq!(repo.touched_paths(c, &[]).expect("touched"), want, "{c}");
        // With prefixes: exactly git's answer filtered by them.
        let prefixes = [
            "secrets/".to_string(),
            "b/c/f".to_string(),
            "top".to_string(),
        ];
        let filtered: Vec<String> = want
            .iter()
            .filter(|p| prefixes.iter().any(|x| p.starts_with(x.as_str())))
            .cloned()
            .collect();
        assert_eq!(
            repo.touched_paths(c, &prefixes).expect("touched"),
            filtered,
            "{c}"
        );
    }
    // The clean merge is blamed for nothing, the evil one for exactly what it added.
    assert!(
        repo.touched_paths(&commits[9], &[])
            .expect("touched")
            .is_empty()
    );
    assert_eq!(
        repo.touched_paths(&commits[10], &[]).expect("touched"),
        ["b/c/f3.txt", "secrets/f3.txt"]
    );
}

#[test]
fn touched_paths_fail_closed_on_a_missing_tree() {
    let f = Fixture::new();
    std::fs::write(f.work().join("x"), "x\n").expect("write");
    f.git(&["add", "x"]);
    f.git(&["commit", "-q", "-m", "one"]);
    std::fs::write(f.work().join("x"), "y\n").expect("write");
    f.git(&["commit", "-q", "-am", "two"]);
    let two = f.rev("HEAD");
    let blob = f.git(&["rev-parse", "HEAD:x"]);
    let path = f
        .work()
        .join(".git/objects")
        .join(&blob[..2])
        .join(&blob[2..]);
    std::fs::remove_file(path).expect("remove the blob");
    // Blobs are never read: a missing blob does not matter...
    assert_eq!(f.repo().touched_paths(&two, &[]).expect("touched"), ["x"]);
    // ... but a missing tree does.
    let tree = f.git(&["rev-parse", "HEAD^{tree}"]);
    let path = f
        .work()
        .join(".git/objects")
        .join(&tree[..2])
        .join(&tree[2..]);
    std::fs::remove_file(path).expect("remove the tree");
    assert!(f.repo().touched_paths(&two, &[]).is_err());
}

// ---- many hidden tips (limit.rs, graph.rs) ------------------------------------------------

/// A small deterministic generator (an LCG; the tests need repeatable shapes, not quality).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % bound.max(1)
    }
}

/// Writes a random history of `n` commits with fast-import: each commit has one parent among
/// the previous 30 (every 40th or so is a root), one in five merges one or two more, and
/// one in four has its committer date set back by up to `skew` seconds (clock skew: dates
/// then go backwards along parent links). Returns the ids in the order written.
fn random_history(f: &Fixture, seed: u64, n: usize, skew: usize) -> Vec<ObjectId> {
    let mut rng = Lcg(seed);
    let mut script = String::new();
    for i in 0..n {
        let mut date = 1_700_000_000 + 60 * i + 86_400 * 400;
        if skew > 0 && rng.below(4) == 0 {
            date -= rng.below(skew);
        }
        let root = i == 0 || rng.below(40) == 0;
        if root {
            script += &format!("reset refs/heads/gen{seed}\n");
        }
        let msg = format!("history {seed} commit {i}\n");
        script += &format!(
            "commit refs/heads/gen{seed}\nmark :{}\ncommitter C <c@x> {date} +0000\ndata {}\n{msg}",
            i + 1,
            msg.len()
        );
        if !root {
            let first = i - 1 - rng.below(i.min(30));
            script += &format!("from :{}\n", first + 1);
            let mut parents = vec![first];
            if rng.below(5) == 0 {
                for _ in 0..1 + rng.below(2) {
                    let other = rng.below(i);
                    if !parents.contains(&other) {
                        parents.push(other);
                        script += &format!("merge :{}\n", other + 1);
                    }
                }
            }
        }
        script += "\n";
    }
    let marks = f.dir.path().join(format!("marks-{seed}"));
    let export = format!("--export-marks={}", marks.display());
    f.git_stdin(&["fast-import", "--quiet", &export], script.as_bytes());
    let text = std::fs::read_to_string(&marks).expect("marks");
    let mut ids = vec![None; n];
    for line in text.lines() {
        let (mark, hex) = line.split_once(' ').expect("mark line");
        let at: usize = mark[1..].parse().expect("mark number");
        ids[at - 1] = Some(id(hex));
    }
    ids.into_iter().map(|i| i.expect("every mark")).collect()
}

/// `git rev-list tip --not hide...`, as a set.
fn git_rev_list(f: &Fixture, tip: &ObjectId, hide: &[ObjectId]) -> HashSet<ObjectId> {
    let mut args = vec!["rev-list", tip.as_str(), "--not"];
    args.extend(hide.iter().map(ObjectId::as_str));
    f.git(&args).lines().map(id).collect()
}

/// Asserts that each of `commits` comes before its parents among them.
fn assert_children_first(repo: &Repo, commits: &[CommitFacts]) {
    let odb = repo.repo.odb().expect("odb");
    let at: HashMap<Oid, usize> = commits
        .iter()
        .enumerate()
        .map(|(i, c)| (to_oid(&c.id).expect("oid"), i))
        .collect();
    for (i, commit) in commits.iter().enumerate() {
        let object = read_commit(&odb, to_oid(&commit.id).expect("oid")).expect("read");
        for parent in parents(object.data()) {
            if let Some(&p) = at.get(&parent) {
                assert!(p > i, "{parent} listed before its child {}", commit.id);
            }
        }
    }
}

/// With many hidden tips the new commits are found by `limit.rs`, which must give git's own
/// answer on every shape: merges, several roots, dates skewed a little, a lot (beyond what
/// git's five-commit slop absorbs, where git's answer is what counts), with and without a
/// commit-graph (one file, or a split chain covering part of the history).
#[test]
fn many_hidden_tips_agree_with_git_rev_list() {
    let f = Fixture::new();
    let tree = f.git(&["hash-object", "-t", "tree", "-w", "/dev/null"]);
    let histories: Vec<Vec<ObjectId>> = [(1, 0), (2, 900), (3, 86_400 * 30), (4, 86_400 * 400)]
        .into_iter()
        .map(|(seed, skew)| random_history(&f, seed, 400, skew))
        .collect();
    let all: Vec<&ObjectId> = histories.iter().flatten().collect();
    let graph_dir = f.work().join(".git/objects/info");
    let write_graph = |ids: &[&ObjectId], extra: &[&str]| {
        let mut args = vec!["commit-graph", "write", "--stdin-commits"];
        args.extend(extra);
        let input: String = ids.iter().map(|i| format!("{i}\n")).collect();
        f.git_stdin(&args, input.as_bytes());
    };
    let missing = id("1234567890123456789012345678901234567890");
    let mut rng = Lcg(99);
    for graph in ["none", "single", "split"] {
        match graph {
            "single" => write_graph(&all, &[]),
            "split" => {
                let _ = std::fs::remove_file(graph_dir.join("commit-graph"));
                // Two layers, the top one holding only the second half of each history:
                // commits outside both are read from the object database.
                let half: Vec<&ObjectId> =
                    histories.iter().flat_map(|h| &h[..h.len() / 2]).collect();
                write_graph(&half[..half.len() / 2], &["--split"]);
                write_graph(&half, &["--split", "--size-multiple=1000"]);
                assert!(graph_dir.join("commit-graphs/commit-graph-chain").exists());
            }
            _ => {}
        }
        let repo = f.repo();
        let odb = repo.repo.odb().expect("odb");
        let loaded = graph::Graph::open(&f.work().join(".git/objects"));
        assert_eq!(loaded.is_some(), graph != "none", "{graph}");
        for history in &histories {
            for trial in 0..12 {
                let tip = &history[history.len() / 2 + rng.below(history.len() / 2)];
                let count = [1, 20, 60, 200][trial % 4];
                let hide: Vec<ObjectId> = (0..count)
                    .map(|_| history[rng.below(history.len())].clone())
                    .collect();
                let want = git_rev_list(&f, tip, &hide);

                let oids: Vec<Oid> = hide.iter().map(|h| to_oid(h).expect("oid")).collect();
                let limited = limit::limit(
                    &odb,
                    loaded.as_ref(),
                    None,
                    to_oid(tip).expect("oid"),
                    &oids,
                )
                .expect("limit");
                let got: HashSet<ObjectId> = limited.iter().map(|o| to_id(*o)).collect();
                assert_eq!(got, want, "{graph}: tip {tip}, {count} hidden");

                // The whole path, with ids that hide nothing mixed in.
                let mut lenient = hide.clone();
                lenient.extend([missing.clone(), id(&tree)]);
                let commits = repo
                    .new_commits(tip, &lenient, &Keyring::empty())
                    .expect("new commits");
                let got: HashSet<ObjectId> = commits.iter().map(|c| c.id.clone()).collect();
                assert_eq!(got.len(), commits.len(), "each commit once");
                assert_eq!(got, want, "{graph}: new_commits, tip {tip}, {count} hidden");
                assert_children_first(&repo, &commits);
            }
        }
    }
}

/// The walk through many hidden tips fails closed like the plain one: a new commit whose
/// parent is missing is an error, never a shorter list.
#[test]
fn many_hidden_tips_fail_closed() {
    let f = Fixture::new();
    let history = random_history(&f, 7, 60, 0);
    let tree = f.git(&["hash-object", "-t", "tree", "-w", "/dev/null"]);
    let raw = format!(
        "tree {tree}\nparent {}\nparent 1234567890123456789012345678901234567890\n\
         author A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\norphan\n",
        history[59]
    );
    let orphan = id(&f.git_stdin(
        &["hash-object", "-t", "commit", "-w", "--stdin"],
        raw.as_bytes(),
    ));
    let hide: Vec<ObjectId> = history[..40].to_vec();
    assert!(hide.len() > MANY_HIDES);
    assert!(
        f.repo()
            .new_commits(&orphan, &hide, &Keyring::empty())
            .is_err()
    );
    // A malformed parent line is an error too.
    let bad = raw.replace("parent 1234567890", "parent zz34567890");
    let bad = id(&f.git_stdin(
        &[
            "hash-object",
            "-t",
            "commit",
            "-w",
            "--literally",
            "--stdin",
        ],
        bad.as_bytes(),
    ));
    assert!(
        f.repo()
            .new_commits(&bad, &hide, &Keyring::empty())
            .is_err()
    );
}

/// `pack.rs` gives libgit2's type and contents for every object a pack holds whole (all
/// four types), nothing for an id no pack holds, and nothing for a damaged entry: a flipped
/// byte in the stream or in its Adler-32, a size header that disagrees, a delta, or an index
/// that is cut short.
#[test]
fn pack_reads_agree_with_libgit2_and_fail_closed() {
    let f = Fixture::new();
    let history = random_history(&f, 5, 50, 0);
    f.git(&["tag", "-a", "-m", "a tag", "v1", history[10].as_str()]);
    let blob = f.git_stdin(&["hash-object", "-w", "--stdin"], b"some content\n");
    f.git(&["tag", "blob", &blob]);
    // No deltas (the reader leaves those to libgit2): every object is held whole.
    f.git(&["repack", "-adfq", "--window=0"]);
    let objects = f.work().join(".git/objects");
    let mut packs = pack::Packs::open(&objects).expect("a pack");
    let repo = f.repo();
    let odb = repo.repo.odb().expect("odb");
    let all = f.git(&[
        "cat-file",
        "--batch-all-objects",
        "--batch-check=%(objectname)",
    ]);
    let commits = f.git(&["rev-list", "--all"]).lines().count();
    let mut whole = HashMap::new();
    let mut out = Vec::new();
    for hex in all.lines() {
        let raw = limit::from_hex(hex.as_bytes()).expect("hex");
        if let Some(kind) = packs.read(&raw, &mut out) {
            let object = odb.read(Oid::from_str(hex).expect("oid")).expect("read");
            assert_eq!(
                (kind, out.as_slice()),
                (object.kind(), object.data()),
                "{hex}"
            );
            *whole.entry(kind.str()).or_insert(0) += 1;
        }
    }
    assert_eq!(whole["commit"], commits, "{whole:?}");
    for kind in ["tag", "tree", "blob"] {
        assert!(whole.contains_key(kind), "{kind} in {whole:?}");
    }
    let missing = [0x12; 20];
    assert_eq!(packs.read(&missing, &mut out), None);

    // Where the newest commit's entry is, from git's own listing of the pack.
    let pack_dir = objects.join("pack");
    let idx = std::fs::read_dir(&pack_dir)
        .expect("pack dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .expect("an index");
    let listing = f.git(&["verify-pack", "-v", idx.to_str().expect("utf-8")]);
    let tip = history.last().expect("a commit").as_str();
    let fields: Vec<&str> = listing
        .lines()
        .find(|l| l.starts_with(tip))
        .expect("listed")
        .split_whitespace()
        .collect();
    assert_eq!(fields[1], "commit");
    let (in_pack, offset): (usize, usize) = (
        fields[3].parse().expect("size"),
        fields[4].parse().expect("offset"),
    );
    let raw_tip = limit::from_hex(tip.as_bytes()).expect("hex");
    let pack_bytes = std::fs::read(idx.with_extension("pack")).expect("pack");
    let idx_bytes = std::fs::read(&idx).expect("idx");
    let damaged = |name: &str, pack: &[u8], index: &[u8]| -> Option<ObjectType> {
        let dir = f.dir.path().join(format!("damaged-{name}"));
        std::fs::create_dir_all(dir.join("pack")).expect("mkdir");
        std::fs::write(dir.join("pack/pack-x.pack"), pack).expect("write");
        std::fs::write(dir.join("pack/pack-x.idx"), index).expect("write");
        let mut packs = pack::Packs::open(&dir)?;
        packs.read(&raw_tip, &mut Vec::new())
    };
    assert_eq!(
        damaged("none", &pack_bytes, &idx_bytes),
        Some(ObjectType::Commit)
    );
    let flip = |at: usize, bits: u8| {
        let mut copy = pack_bytes.clone();
        copy[at] ^= bits;
        copy
    };
    // The last byte of the entry is the stream's Adler-32; one in the middle is data.
    assert_eq!(
        damaged("adler", &flip(offset + in_pack - 1, 1), &idx_bytes),
        None
    );
    assert_eq!(
        damaged("data", &flip(offset + in_pack / 2, 0x10), &idx_bytes),
        None
    );
    // The low bits of the first header byte are the size's; bits 4-6 the type (6: a delta).
    assert_eq!(damaged("size", &flip(offset, 1), &idx_bytes), None);
    let mut delta = pack_bytes.clone();
    delta[offset] = (delta[offset] & 0x8f) | (6 << 4);
    assert_eq!(damaged("delta", &delta, &idx_bytes), None);
    assert_eq!(
        damaged("short", &pack_bytes, &idx_bytes[..idx_bytes.len() - 41]),
        None
    );
}
