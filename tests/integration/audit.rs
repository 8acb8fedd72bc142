//! `refguard audit ...` end to end: real `git push` into a bare repository with the refguard
//! hook installed, then the audit commands on what the hook logged, and `audit history` on a
//! history of signed, unsigned and baseline commits.
//!
//! Self-contained for now (its own small harness, driving the built binary with the real
//! `git` and `ssh-keygen` in an isolated environment); to move onto the shared `Scenario`
//! harness once that lands.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Paths and the isolated environment every process runs in.
#[derive(Clone)]
struct Env {
    root: PathBuf,
}

impl Env {
    fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    fn server(&self) -> PathBuf {
        self.root.join("server.git")
    }

    /// `program` with no inherited git or user configuration, fixed identities and dates.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "A U Thor")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_AUTHOR_DATE", "1700000000 +0000")
            .env("GIT_COMMITTER_NAME", "C O Mitter")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env("GIT_COMMITTER_DATE", "1700000000 +0000")
            .current_dir(cwd);
        cmd
    }

    /// Runs `git`, asserts success, returns trimmed stdout.
    fn git(&self, cwd: &Path, args: &[&str]) -> String {
        let out = run(self.command("git", cwd).args(args));
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    }
}

/// A temporary world: `HOME` and a bare server repository.
struct World {
    _dir: tempfile::TempDir,
    env: Env,
}

/// A user's key pair on disk.
struct Key {
    private: PathBuf,
    public: String,
    fingerprint: String,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = Env {
            root: dir.path().to_owned(),
        };
        fs::create_dir(env.home()).expect("mkdir home");
        env.git(&env.root, &["init", "-q", "--bare", "server.git"]);
        World { _dir: dir, env }
    }

    fn root(&self) -> &Path {
        &self.env.root
    }

    fn server(&self) -> String {
        self.env.server().to_str().expect("utf-8 path").to_owned()
    }

    fn log(&self) -> PathBuf {
        self.env.server().join("refguard").join("audit.jsonl")
    }

    fn server_git(&self, args: &[&str]) -> String {
        self.env.git(&self.env.server(), args)
    }

    /// Runs refguard in the world's root.
    fn refguard(&self, args: &[&str]) -> Output {
        run(self
            .env
            .command(env!("CARGO_BIN_EXE_refguard"), self.root())
            .args(args))
    }

    /// Runs refguard, asserts the exit code, returns stdout.
    fn refguard_code(&self, args: &[&str], code: i32) -> String {
        let out = self.refguard(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "refguard {args:?}\nstdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn key(&self, name: &str) -> Key {
        let private = self.env.home().join(name);
        let path = private.to_str().expect("utf-8 path").to_owned();
        let out = run(self
            .env
            .command("ssh-keygen", self.root())
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", &path]));
        assert!(out.status.success(), "ssh-keygen: {}", text(&out.stderr));
        let public = fs::read_to_string(format!("{path}.pub"))
            .expect("public key")
            .trim()
            .to_owned();
        let out = run(self
            .env
            .command("ssh-keygen", self.root())
            .args(["-lf", &format!("{path}.pub")]));
        let fingerprint = text(&out.stdout)
            .split_whitespace()
            .nth(1)
            .expect("fingerprint")
            .to_owned();
        Key {
            private,
            public,
            fingerprint,
        }
    }

    /// Creates the policy branch from `roles` and installs the pre-receive hook.
    fn protect(&self, roles: &str) {
        let file = self.root().join("roles.toml");
        fs::write(&file, roles).expect("write roles.toml");
        let file = file.to_str().expect("utf-8");
        let server = self.server();
        self.refguard_code(&["init", "--repo", &server, "--policy", file], 0);
        self.refguard_code(&["install", "--repo", &server], 0);
    }

    /// A client repository with one unsigned root commit.
    fn client(&self, name: &str) -> Client {
        self.env
            .git(self.root(), &["init", "-q", "-b", "main", name]);
        let client = Client {
            env: self.env.clone(),
            dir: self.root().join(name),
        };
        client.commit("root", None);
        client
    }

    /// `audit verify --repo`: exit code and stdout.
    fn verify(&self, extra: &[&str]) -> (Option<i32>, String) {
        let server = self.server();
        let mut args = vec!["audit", "verify"];
        if extra.is_empty() {
            args.extend(["--repo", &server]);
        }
        args.extend_from_slice(extra);
        let out = self.refguard(&args);
        (out.status.code(), text(&out.stdout))
    }

    /// The log's records as JSON values (through `audit log --format json`).
    fn records(&self, filters: &[&str]) -> Vec<Value> {
        let server = self.server();
        let mut args = vec!["audit", "log", "--repo", &server, "--format", "json"];
        args.extend_from_slice(filters);
        json_lines(&self.refguard_code(&args, 0))
    }
}

/// A client repository.
struct Client {
    env: Env,
    dir: PathBuf,
}

impl Client {
    fn git(&self, args: &[&str]) -> String {
        self.env.git(&self.dir, args)
    }

    /// An empty commit, SSH-signed with `key` if given; returns its id.
    fn commit(&self, message: &str, key: Option<&Key>) -> String {
        match key {
            None => self.git(&["commit", "-q", "--allow-empty", "-m", message]),
            Some(key) => {
                let signing = format!("user.signingKey={}", key.private.display());
                self.git(&[
                    "-c",
                    "gpg.format=ssh",
                    "-c",
                    &signing,
                    "commit",
                    "-q",
                    "-S",
                    "--allow-empty",
                    "-m",
                    message,
                ])
            }
        };
        self.git(&["rev-parse", "HEAD"])
    }

    /// A push as `user` (not yet run).
    fn push_command(&self, user: &str, refspec: &str) -> Command {
        let mut cmd = self.env.command("git", &self.dir);
        cmd.env("REFGUARD_USER", user)
            .args(["push", "--porcelain"])
            .arg(self.env.server())
            .arg(refspec);
        cmd
    }

    fn push(&self, user: &str, refspec: &str) -> Output {
        run(&mut self.push_command(user, refspec))
    }

    /// Pushes and asserts the outcome.
    fn push_ok(&self, user: &str, refspec: &str, accepted: bool) -> String {
        let out = self.push(user, refspec);
        assert_eq!(
            out.status.success(),
            accepted,
            "push {refspec} as {user}: {}",
            text(&out.stderr)
        );
        text(&out.stderr)
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("spawn")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// main must be signed by alice (devs); anyone may push anything else under refs/heads/.
fn roles(alice: &Key, bob: &Key, baseline: Option<&str>) -> String {
    let trust = baseline
        .map(|id| format!("[trust]\nbaseline = [\"{id}\"]\n\n"))
        .unwrap_or_default();
    format!(
        "version = 1\n\n[users.alice]\nkeys = [\"{}\"]\n\n[users.bob]\nkeys = [\"{}\"]\n\n\
         [roles]\ndevs = [\"alice\"]\n\n[policy]\nadmins = [\"alice\"]\n\n{trust}\
         [[rule]]\nrefs = [\"refs/heads/main\"]\nsigners = [\"devs\"]\n\n\
         [[rule]]\nrefs = [\"refs/heads/**\"]\n",
        alice.public, bob.public
    )
}

/// A protected world with `n` accepted pushes (`refs/heads/topic-<i>` as bob), then one
/// rejected unsigned push to main, then one accepted push to main signed by alice.
fn logged_world(n: usize) -> (World, Client, Key) {
    let world = World::new();
    let alice = world.key("alice");
    let bob = world.key("bob");
    world.protect(&roles(&alice, &bob, None));
    let client = world.client("client");
    for i in 0..n {
        client.push_ok("bob", &format!("HEAD:refs/heads/topic-{i}"), true);
    }
    let stderr = client.push_ok("bob", "HEAD:refs/heads/main", false);
    assert!(stderr.contains("[unsigned]"), "{stderr}");
    // A fresh history whose only commit alice signed.
    client.git(&["checkout", "-q", "--orphan", "signed"]);
    client.commit("signed", Some(&alice));
    client.push_ok("alice", "HEAD:refs/heads/main", true);
    (world, client, alice)
}

// ---- tests ---------------------------------------------------------------------------------

#[test]
fn parallel_pushes_all_land_in_one_intact_chain() {
    const PUSHES: usize = 16;
    let world = World::new();
    let alice = world.key("alice");
    let bob = world.key("bob");
    world.protect(&roles(&alice, &bob, None));
    let client = world.client("client");
    let children: Vec<_> = (0..PUSHES)
        .map(|i| {
            client
                .push_command("bob", &format!("HEAD:refs/heads/p{i}"))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn git push")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("git push");
        assert!(out.status.success(), "{}", text(&out.stderr));
    }

    let (code, stdout) = world.verify(&[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains(": intact"), "{stdout}");
    assert!(stdout.contains(&format!("records: {PUSHES}\n")), "{stdout}");
    assert!(stdout.contains("chain start: genesis"), "{stdout}");

    let records = world.records(&[]);
    assert_eq!(records.len(), PUSHES);
    let mut refs: Vec<&str> = records
        .iter()
        .map(|r| r["ref"].as_str().expect("ref"))
        .collect();
    refs.sort_unstable();
    refs.dedup();
    assert_eq!(refs.len(), PUSHES, "every push logged once: {refs:?}");
    assert!(
        records
            .iter()
            .all(|r| r["decision"] == "accept" && r["pusher"] == "bob")
    );
}

#[test]
fn verify_names_the_first_broken_line() {
    let (world, _client, _alice) = logged_world(3);
    let log = world.log();
    let log_arg = log.to_str().expect("utf-8");
    let (code, stdout) = world.verify(&[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("records: 5\n"), "{stdout}");
    let last_hash = stdout
        .lines()
        .find_map(|l| l.strip_prefix("  last hash: "))
        .expect("last hash")
        .to_owned();
    assert_eq!(last_hash.len(), 64);

    let original = fs::read_to_string(&log).expect("read log");
    let lines: Vec<&str> = original.lines().collect();

    // Editing line 2 breaks the link that line 3 carries.
    let mut edited = lines.clone();
    let forged = edited[1].replace("\"bob\"", "\"eve\"");
    assert_ne!(forged, edited[1]);
    edited[1] = &forged;
    fs::write(&log, edited.join("\n") + "\n").expect("write");
    let (code, stdout) = world.verify(&[log_arg]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.starts_with(&format!("{log_arg}:3: `prev` is not the hash of line 2")),
        "{stdout}"
    );
    assert!(stdout.contains("records (intact): 2\n"), "{stdout}");

    // Removing the first line: line 1 no longer starts the chain.
    fs::write(&log, lines[1..].join("\n") + "\n").expect("write");
    let (code, stdout) = world.verify(&[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains(":1: `prev` is not 64 zeros"), "{stdout}");

    // A line that is not JSON.
    let mut garbled = lines.clone();
    garbled[3] = "{not json";
    fs::write(&log, garbled.join("\n") + "\n").expect("write");
    let (code, stdout) = world.verify(&[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains(":4: not valid JSON"), "{stdout}");

    // A torn last line (no newline).
    fs::write(&log, original.trim_end()).expect("write");
    let (code, stdout) = world.verify(&[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains(":5: no trailing newline"), "{stdout}");

    // Restored: intact again, with the same last hash. A missing file is exit 2.
    fs::write(&log, &original).expect("write");
    let (code, stdout) = world.verify(&[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains(&last_hash));
    let missing = world.root().join("nope.jsonl");
    let (code, _) = world.verify(&[missing.to_str().expect("utf-8")]);
    assert_eq!(code, Some(2));
}

#[test]
fn log_filters_by_ref_decision_and_date() {
    let (world, _client, _alice) = logged_world(2);
    let all = world.records(&[]);
    assert_eq!(all.len(), 4);
    // JSON lines are the log's own lines, byte for byte.
    let raw = fs::read_to_string(world.log()).expect("read log");
    let server = world.server();
    let json = world.refguard_code(&["audit", "log", "--repo", &server, "--format", "json"], 0);
    assert_eq!(json, raw);

    let rejected = world.records(&["--decision", "reject"]);
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["ref"], "refs/heads/main");
    assert_eq!(rejected[0]["reasons"][0]["code"], "unsigned");

    let main = world.records(&["--ref", "refs/heads/main"]);
    assert_eq!(main.len(), 2);
    let accepted_main = world.records(&["--ref", "refs/heads/main", "--decision", "accept"]);
    assert_eq!(accepted_main.len(), 1);
    assert_eq!(accepted_main[0]["user"], "alice");

    assert_eq!(world.records(&["--since", "2000-01-01"]).len(), 4);
    assert!(world.records(&["--since", "2999-01-01"]).is_empty());
    assert!(
        world
            .records(&["--since", "2999-01-01T00:00:00Z"])
            .is_empty()
    );

    let table = world.refguard_code(
        &["audit", "log", "--repo", &server, "--decision", "reject"],
        0,
    );
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("TIME"), "{table}");
    assert!(
        lines[1].contains("reject") && lines[1].contains("unsigned"),
        "{table}"
    );

    let bad = world.refguard(&["audit", "log", "--repo", &server, "--since", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("YYYY-MM-DD"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn rotate_then_verify_both_files() {
    let (world, client, _alice) = logged_world(1);
    let server = world.server();
    let (_, before) = world.verify(&[]);
    let last_hash = before
        .lines()
        .find_map(|l| l.strip_prefix("  last hash: "))
        .expect("last hash")
        .to_owned();

    let out = world.refguard_code(&["audit", "rotate", "--repo", &server], 0);
    let archived = out
        .lines()
        .find_map(|l| l.strip_prefix("  archived: "))
        .expect("archived path")
        .to_owned();
    assert!(out.contains(&format!("  link: {last_hash}")), "{out}");
    assert!(!world.log().exists());

    // The archive verifies on its own; the new (empty) log starts at the link.
    let (code, stdout) = world.verify(&[&archived]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("records: 3\n"), "{stdout}");
    let (code, stdout) = world.verify(&[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("records: 0\n"), "{stdout}");
    assert!(
        stdout.contains(&format!("chain start: rotation link {last_hash}")),
        "{stdout}"
    );

    // New decisions continue the chain from the link.
    client.push_ok("bob", "HEAD:refs/heads/after-rotation", true);
    let (code, stdout) = world.verify(&[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("records: 1\n"), "{stdout}");
    let records = world.records(&[]);
    assert_eq!(records[0]["prev"], last_hash.as_str());

    // Rotating twice in a row: the second has nothing to do, which is fine for cron.
    world.refguard_code(&["audit", "rotate", "--repo", &server], 0);
    let again = world.refguard(&["audit", "rotate", "--repo", &server]);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stderr).contains("nothing to rotate"));
}

#[test]
fn push_is_rejected_when_the_audit_log_cannot_be_written() {
    let world = World::new();
    let alice = world.key("alice");
    let bob = world.key("bob");
    world.protect(&roles(&alice, &bob, None));
    // A regular file used as a directory: the log can never be created.
    let blocker = world.root().join("not-a-dir");
    fs::write(&blocker, "").expect("write");
    let target = blocker.join("audit.jsonl");
    world.server_git(&[
        "config",
        "refguard.auditLog",
        target.to_str().expect("utf-8"),
    ]);

    let client = world.client("client");
    let stderr = client.push_ok("bob", "HEAD:refs/heads/topic", false);
    assert!(stderr.contains("[internal-error]"), "{stderr}");
    assert!(stderr.contains("audit log"), "{stderr}");
    assert!(stderr.contains("cannot be written"), "{stderr}");
    assert_eq!(world.server_git(&["for-each-ref", "refs/heads/"]), "");
}

#[test]
fn history_judges_each_commit_once_under_the_current_policy() {
    let world = World::new();
    let alice = world.key("alice");
    let bob = world.key("bob");
    let client = world.client("client"); // root: unsigned
    let baseline = client.commit("old work", None);
    // History pushed before refguard protected the repository.
    let good = client.commit("by alice", Some(&alice));
    let unsigned = client.commit("unsigned", None);
    let by_bob = client.commit("by bob", Some(&bob));
    client.git(&["branch", "feature", &unsigned]);
    world.env.git(
        &client.dir,
        &[
            "push",
            "-q",
            server_path(&world).as_str(),
            "main",
            "feature",
        ],
    );
    // An unprotected branch's own commits are not walked.
    client.git(&["checkout", "-q", "-b", "scratch"]);
    client.commit("scratch work", None);
    world.env.git(
        &client.dir,
        &["push", "-q", server_path(&world).as_str(), "scratch"],
    );
    world.protect(&roles(&alice, &bob, Some(&baseline)));
    let policy_commit = world.server_git(&["rev-parse", "refs/meta/policy"]);

    let server = world.server();
    let out = world.refguard(&["audit", "history", "--repo", &server, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let rows = json_lines(&text(&out.stdout));
    let (summary, rows) = rows.split_last().expect("rows");
    let by_id = |id: &str| -> &Value {
        rows.iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no row for {id}: {rows:?}"))
    };
    // 3 judged on main + 2 baseline (root and "old work") + the policy commit.
    assert_eq!(rows.len(), 6, "{rows:#?}");
    let row = by_id(&good);
    assert_eq!(row["verdict"], "ok");
    assert_eq!(row["signature"], "valid");
    assert_eq!(row["user"], "alice");
    assert_eq!(row["fingerprint"], alice.fingerprint.as_str());
    assert_eq!(row["ref"], "refs/heads/main");
    let row = by_id(&unsigned);
    assert_eq!(row["verdict"], "violation");
    assert_eq!(row["reasons"][0]["code"], "unsigned");
    let row = by_id(&by_bob);
    assert_eq!(row["verdict"], "violation");
    assert_eq!(row["user"], "bob");
    assert_eq!(row["fingerprint"], bob.fingerprint.as_str());
    assert_eq!(row["reasons"][0]["code"], "signer-not-allowed");
    assert_eq!(by_id(&baseline)["verdict"], "baseline");
    let row = by_id(&policy_commit);
    assert_eq!(row["verdict"], "server");
    assert_eq!(row["reasons"].as_array().map(Vec::len), Some(0));
    assert_eq!(row["ref"], "refs/meta/policy");

    let s = &summary["summary"];
    assert_eq!(s["commits"], 6);
    assert_eq!(s["baseline"], 2);
    assert_eq!(s["server"], 1);
    assert_eq!(s["judged"], 3);
    assert_eq!(s["signed_by_allowed"], 1);
    assert_eq!(s["violations"], 2);
    assert_eq!(s["violations_by_code"]["unsigned"], 1);
    assert_eq!(s["violations_by_code"]["signer-not-allowed"], 1);
    assert_eq!(s["signers"]["alice"], 1);
    assert_eq!(s["signers"]["bob"], 1);

    // Table: a header, one row per commit, the summary at the end.
    let out = world.refguard(&["audit", "history", "--repo", &server]);
    assert_eq!(out.status.code(), Some(1));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("COMMIT"), "{table}");
    assert!(
        lines.iter().any(|l| l.starts_with(&by_bob[..7])
            && l.contains("violation")
            && l.contains(&bob.fingerprint)
            && l.contains("signer-not-allowed")),
        "{table}"
    );
    assert!(
        table.contains(
            "refguard: 6 commits, 0 tags: 3 judged, 2 baseline, 1 written by refguard on the server"
        ),
        "{table}"
    );
    assert!(
        table.contains("  signed by allowed signers: 1 of 3 (33.33%)"),
        "{table}"
    );
    assert!(
        table.contains("  violations: 2 (signer-not-allowed 1, unsigned 1)"),
        "{table}"
    );
    assert!(table.contains("  signers: alice 1, bob 1"), "{table}");

    // One ref only: the feature branch is unprotected, so nothing there is a violation.
    let out = world.refguard(&[
        "audit",
        "history",
        "--repo",
        &server,
        "--ref",
        "refs/heads/feature",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = json_lines(&text(&out.stdout));
    let s = &rows.last().expect("summary")["summary"];
    assert_eq!(s["judged"], 2, "{rows:#?}");
    assert_eq!(s["violations"], 0);
    let missing = world.refguard(&[
        "audit",
        "history",
        "--repo",
        &server,
        "--ref",
        "refs/heads/nope",
    ]);
    assert_eq!(missing.status.code(), Some(2));
}

fn server_path(world: &World) -> String {
    world.server()
}
