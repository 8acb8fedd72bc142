//! `policy show`, `who-can`, `keys allowed-signers` and `policy reset`, driven through the
//! built binary against a real bare repository, with real `git` and `ssh-keygen` in an
//! isolated environment (no user config, fixed names and dates, a temporary HOME).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const POLICY_REF: &str = "refs/meta/policy";
const FIXED_DATE: &str = "1735689600 +0000";

/// A temporary world: HOME, keys, a bare server repository with a policy, a client clone.
struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    server: PathBuf,
}

/// A generated key pair.
struct Key {
    private: PathBuf,
    public: String,
    fingerprint: String,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        let server = root.join("server.git");
        let w = World {
            _dir: dir,
            root,
            server,
        };
        w.run_ok(
            w.cmd("git")
                .args(["init", "-q", "--bare", "-b", "main"])
                .arg(&w.server),
        );
        w
    }

    /// A command with the inherited environment cleared and the test environment set.
    fn cmd(&self, program: &str) -> Command {
        let program = if program == "refguard" {
            env!("CARGO_BIN_EXE_refguard")
        } else {
            program
        };
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env(
                "PATH",
                std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
            )
            .env("HOME", &self.root)
            .env("USER", "root-on-server")
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "Tester")
            .env("GIT_AUTHOR_EMAIL", "tester@example.com")
            .env("GIT_AUTHOR_DATE", FIXED_DATE)
            .env("GIT_COMMITTER_NAME", "Tester")
            .env("GIT_COMMITTER_EMAIL", "tester@example.com")
            .env("GIT_COMMITTER_DATE", FIXED_DATE)
            .current_dir(&self.root)
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, cmd: &mut Command) -> Output {
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
    }

    fn run_ok(&self, cmd: &mut Command) -> String {
        let out = self.run(cmd);
        assert!(
            out.status.success(),
            "{cmd:?} failed: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs refguard with `--repo server.git` appended.
    fn refguard(&self, args: &[&str]) -> Output {
        self.run(
            self.cmd("refguard")
                .args(args)
                .arg("--repo")
                .arg(&self.server),
        )
    }

    fn key(&self, name: &str) -> Key {
        let private = self.root.join(format!("key-{name}"));
        self.run_ok(
            self.cmd("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C"])
                .arg(format!("{name}@test"))
                .arg("-f")
                .arg(&private),
        );
        let public = fs::read_to_string(private.with_file_name(format!("key-{name}.pub")))
            .expect("read .pub")
            .trim()
            .to_string();
        let listing = self.run_ok(
            self.cmd("ssh-keygen")
                .arg("-lf")
                .arg(private.with_file_name(format!("key-{name}.pub"))),
        );
        let fingerprint = listing
            .split_whitespace()
            .nth(1)
            .expect("fingerprint")
            .to_string();
        Key {
            private,
            public,
            fingerprint,
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.root.join(name);
        fs::write(&path, text).expect("write file");
        path
    }

    fn init(&self, policy: &str) {
        let file = self.write("init.toml", policy);
        let out = self.refguard(&["init", "--policy", file.to_str().expect("utf-8 path")]);
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn server_git(&self, args: &[&str]) -> String {
        self.run_ok(
            self.cmd("git")
                .arg("--git-dir")
                .arg(&self.server)
                .args(args),
        )
        .trim()
        .to_string()
    }

    fn policy_tip(&self) -> String {
        self.server_git(&["rev-parse", POLICY_REF])
    }

    /// A client clone of the server.
    fn client(&self, name: &str) -> PathBuf {
        let dir = self.root.join(format!("client-{name}"));
        self.run_ok(self.cmd("git").args(["init", "-q", "-b", "main"]).arg(&dir));
        self.git(
            &dir,
            &[
                "remote",
                "add",
                "origin",
                &format!("file://{}", self.server.display()),
            ],
        );
        dir
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        self.run_ok(self.cmd("git").current_dir(dir).args(args))
            .trim()
            .to_string()
    }

    /// An empty commit signed with `key` (unsigned when None); returns its id.
    fn commit(&self, dir: &Path, message: &str, key: Option<&Key>) -> String {
        let mut cmd = self.cmd("git");
        cmd.current_dir(dir);
        if let Some(key) = key {
            cmd.args(["-c", "gpg.format=ssh", "-c"])
                .arg(format!("user.signingKey={}", key.private.display()));
        }
        cmd.args(["commit", "-q", "--allow-empty", "-m", message]);
        if key.is_some() {
            cmd.arg("-S");
        }
        self.run_ok(&mut cmd);
        self.git(dir, &["rev-parse", "HEAD"])
    }

    /// Pushes `refspec` from `dir` as the pusher `user`.
    fn push_as(&self, dir: &Path, user: &str, refspec: &str) -> Output {
        self.run(
            self.cmd("git")
                .current_dir(dir)
                .env("REFGUARD_USER", user)
                .args(["push", "origin", refspec]),
        )
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// The 1-based line of the `n`th (0-based) line equal to `needle` in `text`.
fn line_of(text: &str, needle: &str, n: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == needle)
        .nth(n)
        .map(|(i, _)| i + 1)
        .expect("line present")
}

/// The keys of a realistic team and its policy: alice (maintainer, admin; key expires in
/// 2099), bob (developer; his old key is revoked but still listed), carol (developer; her
/// key expired), dave (admin).
struct Team {
    alice: Key,
    bob: Key,
    bob_old: Key,
    carol: Key,
    dave: Key,
    policy: String,
}

fn team(w: &World) -> Team {
    let alice = w.key("alice");
    let bob = w.key("bob");
    let bob_old = w.key("bob-old");
    let carol = w.key("carol");
    let dave = w.key("dave");
    let policy = format!(
        r#"version = 1

[users.alice]
keys = [{{ key = "{alice}", expires = "2099-12-31T00:00:00Z" }}]
names = ["alice", "alice@example.com"]

[users.bob]
keys = ["{bob}", "{bob_old}"]

[users.carol]
keys = [{{ key = "{carol}", expires = "2020-01-01T00:00:00Z" }}]

[users.dave]
keys = ["{dave}"]

[roles]
maintainers = ["alice"]
developers = ["bob", "carol", "maintainers"]
policy-admins = ["alice", "dave"]

[policy]
admins = ["policy-admins"]
approvals = 1

[[revoked]]
key = "{bob_old_fp}"
reason = "laptop stolen"

[[rule]]
refs = ["refs/heads/main", "refs/heads/release/*"]
push = ["maintainers"]
delete = []
signers = ["developers"]
merge = ["maintainers"]

[[rule]]
refs = ["refs/heads/feature/**"]

[[rule]]
refs = ["refs/heads/linear"]
linear = true
signers = ["developers"]
"#,
        alice = alice.public,
        bob = bob.public,
        bob_old = bob_old.public,
        carol = carol.public,
        dave = dave.public,
        bob_old_fp = bob_old.fingerprint,
    );
    Team {
        alice,
        bob,
        bob_old,
        carol,
        dave,
        policy,
    }
}

#[test]

fn policy_show_text_and_json() {
    let w = World::new();
    let t = team(&w);
    w.init(&t.policy);
    let tip = w.policy_tip();
    let rule1 = line_of(&t.policy, "[[rule]]", 0);
    let rule2 = line_of(&t.policy, "[[rule]]", 1);

    let out = w.refguard(&["policy", "show"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    for needle in [
        format!("policy refs/meta/policy at {tip}"),
        "  alice  names: alice, alice@example.com".to_string(),
        format!(
            "    active   ssh-ed25519 {} alice@test  expires 2099-12-31T00:00:00Z",
            t.alice.fingerprint
        ),
        format!(
            "    revoked  ssh-ed25519 {} bob-old@test",
            t.bob_old.fingerprint
        ),
        format!(
            "    expired  ssh-ed25519 {} carol@test",
            t.carol.fingerprint
        ),
        "  developers = [bob, carol, maintainers] → alice, bob, carol".to_string(),
        "  admins:    policy-admins → alice, dave".to_string(),
        "  approvals: 1".to_string(),
        format!(
            "  {}  reason: laptop stolen  still listed by bob",
            t.bob_old.fingerprint
        ),
        format!("  rule 1 (roles.toml:{rule1}): refs/heads/main, refs/heads/release/*"),
        "    push:       maintainers → alice".to_string(),
        "    delete:     [] → nobody".to_string(),
        "    force_push: absent: nobody".to_string(),
        format!("  rule 2 (roles.toml:{rule2}): refs/heads/feature/**"),
        "    push:       absent: anyone, including unknown pushers".to_string(),
        "    create:     absent: same as push → anyone, including unknown pushers".to_string(),
        "    signers:    absent: unsigned commits allowed".to_string(),
        "    merge:      absent: any allowed signer → unsigned commits allowed".to_string(),
    ] {
        assert!(text.contains(&needle), "{needle:?} not in:\n{text}");
    }

    let out = w.refguard(&["policy", "show", "--format", "json"]);
    assert_code(&out, 0);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(json["policy_commit"], tip.as_str());
    assert_eq!(json["users"][0]["id"], "alice");
    assert_eq!(json["users"][1]["keys"][1]["status"], "revoked");
    assert_eq!(json["users"][2]["keys"][0]["status"], "expired");
    assert_eq!(json["admins"]["approvals"], 1);
    assert_eq!(json["revoked"][0]["still_listed_by"], "bob");
    assert_eq!(json["rules"][0]["location"], format!("roles.toml:{rule1}"));
    assert_eq!(json["rules"][1]["push"]["written"], Value::Null);
    assert_eq!(json["rules"][1]["push"]["effect"], "anyone");
    assert_eq!(
        json["rules"][0]["signers"]["users"],
        serde_json::json!(["alice", "bob", "carol"])
    );
}

#[test]

fn who_can_answers_each_action() {
    let w = World::new();
    let t = team(&w);
    w.init(&t.policy);
    let rule1 = line_of(&t.policy, "[[rule]]", 0);
    let ask = |action: &str, refname: &str| {
        let out = w.refguard(&["who-can", action, refname]);
        assert_code(&out, 0);
        stdout(&out)
    };

    let push = ask("push", "refs/heads/release/2.0");
    assert!(
        push.starts_with(&format!(
            "refs/heads/release/2.0: rule 1 (roles.toml:{rule1}): refs/heads/main, refs/heads/release/*\n\
             push: maintainers → alice\n  alice\n"
        )),
        "{push}"
    );
    assert!(ask("create", "refs/heads/main").contains("create: absent: same as push → alice"));
    assert!(ask("delete", "refs/heads/main").contains("delete: [] → nobody\n  nobody"));
    assert!(ask("force-push", "refs/heads/main").contains("force-push: absent: nobody\n  nobody"));
    assert!(
        ask("push", "refs/heads/feature/x/y")
            .contains("push: absent: anyone, including unknown pushers")
    );
    assert!(
        ask("create", "refs/heads/feature/x")
            .contains("create: absent: same as push → anyone, including unknown pushers")
    );
    assert!(ask("sign", "refs/heads/feature/x").contains("sign: absent: unsigned commits allowed"));
    let unprotected = ask("push", "refs/heads/other");
    assert!(
        unprotected.starts_with("refs/heads/other: no rule: unprotected, anyone\n"),
        "{unprotected}"
    );

    // sign: only active keys count; carol (expired) and bob's revoked key are named apart.
    let sign = ask("sign", "refs/heads/main");
    assert!(
        sign.contains(&format!("  alice  {}", t.alice.fingerprint)),
        "{sign}"
    );
    assert!(
        sign.contains(&format!("  bob    {}", t.bob.fingerprint)),
        "{sign}"
    );
    assert!(
        sign.contains(&format!("  bob    {} revoked", t.bob_old.fingerprint)),
        "{sign}"
    );
    assert!(
        sign.contains(&format!("  carol  {} expired", t.carol.fingerprint)),
        "{sign}"
    );
    assert!(
        sign.contains("note: carol is listed but has no active key"),
        "{sign}"
    );

    assert!(ask("merge", "refs/heads/main").contains(&format!("  alice  {}", t.alice.fingerprint)));
    assert!(ask("merge", "refs/heads/linear").contains("merge: no merges: linear = true"));

    // The policy branch answers from [policy].
    let policy_push = ask("push", POLICY_REF);
    assert!(
        policy_push.starts_with(
            "refs/meta/policy: the policy branch, governed by [policy]\n\
             push: policy-admins → alice, dave\n  alice\n  dave\n"
        ),
        "{policy_push}"
    );
    assert!(ask("sign", POLICY_REF).contains(&format!("  dave   {}", t.dave.fingerprint)));
    assert!(ask("delete", POLICY_REF).contains("  nobody"));
    assert!(ask("force-push", POLICY_REF).contains("  nobody"));

    let out = w.refguard(&["who-can", "sign", "refs/heads/main", "--format", "json"]);
    assert_code(&out, 0);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(json["ref"], "refs/heads/main");
    assert_eq!(json["action"], "sign");
    assert_eq!(json["governed_by"]["kind"], "rule");
    assert_eq!(json["answer"], "alice, bob");
    assert_eq!(
        json["users"][1]["keys"],
        serde_json::json!([t.bob.fingerprint])
    );
    assert_eq!(json["excluded"][0]["status"], "revoked");
    assert_eq!(json["excluded"][1]["user"], "carol");

    let out = w.refguard(&[
        "who-can",
        "push",
        "refs/heads/feature/a",
        "--format",
        "json",
    ]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(json["effect"], "anyone");
    assert_eq!(json["answer"], "anyone, including unknown pushers");
}

#[test]

fn allowed_signers_output_is_accepted_by_git() {
    let w = World::new();
    let t = team(&w);
    w.init(&t.policy);
    let out = w.refguard(&["keys", "allowed-signers"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    let b64 = |k: &Key| k.public.split_whitespace().nth(1).expect("b64").to_string();
    assert_eq!(
        text,
        format!(
            "alice,alice@example.com namespaces=\"git\",valid-before=\"20991231000000Z\" ssh-ed25519 {}\n\
             bob namespaces=\"git\" ssh-ed25519 {}\n\
             dave namespaces=\"git\" ssh-ed25519 {}\n",
            b64(&t.alice),
            b64(&t.bob),
            b64(&t.dave)
        )
    );
    let file = w.write("allowed_signers", &text);

    let client = w.client("verify");
    let verify = |id: &str| {
        w.run(
            w.cmd("git")
                .current_dir(&client)
                .arg("-c")
                .arg(format!("gpg.ssh.allowedSignersFile={}", file.display()))
                .args(["verify-commit", id]),
        )
    };
    for (key, principal) in [(&t.alice, "alice"), (&t.bob, "bob"), (&t.dave, "dave")] {
        let id = w.commit(&client, &format!("by {principal}"), Some(key));
        let out = verify(&id);
        assert!(out.status.success(), "{principal}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("Good \"git\" signature for {principal}")),
            "{}",
            stderr(&out)
        );
    }
    for (key, who) in [
        (&t.bob_old, "bob's revoked key"),
        (&t.carol, "carol's expired key"),
    ] {
        let id = w.commit(&client, who, Some(key));
        assert!(!verify(&id).status.success(), "{who} must not verify");
    }
}

#[test]

fn reset_refuses_without_the_flag_and_with_an_invalid_file() {
    let w = World::new();
    let t = team(&w);
    w.init(&t.policy);
    let tip = w.policy_tip();
    let good = w.write("new.toml", &t.policy);

    let out = w.refguard(&["policy", "reset", "--policy", good.to_str().expect("utf-8")]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("--yes-i-hold-the-server"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("without any admin signature"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.policy_tip(), tip);

    let bad = w.write("bad.toml", "version = 2\n");
    let bad_name = bad.display().to_string();
    let out = w.refguard(&[
        "policy",
        "reset",
        "--policy",
        &bad_name,
        "--yes-i-hold-the-server",
    ]);
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains(&format!("{bad_name}:1:")),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("the policy was not reset"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.policy_tip(), tip);
}

#[test]

fn reset_replaces_the_policy_records_it_and_governs_later_pushes() {
    let w = World::new();
    let t = team(&w);
    w.init(&t.policy);
    let old_tip = w.policy_tip();
    let out = w.refguard(&["install"]);
    assert_code(&out, 0);

    // Under the old policy bob may not push to main (push = maintainers).
    let client = w.client("bob");
    let first = w.commit(&client, "first", Some(&t.bob));
    let out = w.push_as(&client, "bob", "HEAD:refs/heads/main");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("[create-denied]"), "{}", stderr(&out));

    // The admins lost their keys; the server admin resets to a policy where bob pushes
    // main and nobody else does.
    let new_policy = format!(
        "version = 1\n\n[users.bob]\nkeys = [\"{}\"]\n\n[users.erin]\nkeys = [\"{}\"]\n\n\
         [policy]\nadmins = [\"erin\"]\n\n[[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"bob\"]\n",
        t.bob.public, t.dave.public
    );
    let file = w.write("recovery.toml", &new_policy);
    let out = w.refguard(&[
        "policy",
        "reset",
        "--policy",
        file.to_str().expect("utf-8"),
        "--yes-i-hold-the-server",
    ]);
    assert_code(&out, 0);
    let new_tip = w.policy_tip();
    assert_ne!(new_tip, old_tip);
    assert!(
        stderr(&out).contains(&format!(
            "refguard: policy reset: refs/meta/policy {} -> {} by root-on-server",
            &old_tip[..7],
            &new_tip[..7]
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        w.server_git(&["rev-parse", &format!("{new_tip}^")]),
        old_tip
    );
    let subject = w.server_git(&["log", "-1", "--format=%s", POLICY_REF]);
    assert!(
        subject.starts_with("refguard policy reset by root-on-server at 20"),
        "{subject}"
    );
    assert_eq!(
        w.server_git(&["show", &format!("{POLICY_REF}:roles.toml")]),
        new_policy.trim_end()
    );

    // The audit log holds the reset.
    let log = fs::read_to_string(w.server.join("refguard/audit.jsonl")).expect("audit log");
    let last: Value =
        serde_json::from_str(log.lines().last().expect("a record")).expect("JSON record");
    assert_eq!(last["hook"], "reset");
    assert_eq!(last["decision"], "accept");
    assert_eq!(last["pusher"], "root-on-server");
    assert_eq!(last["ref"], POLICY_REF);
    assert_eq!(last["old"], old_tip.as_str());
    assert_eq!(last["new"], new_tip.as_str());

    // The new policy governs: bob's push is accepted, alice's is not.
    let out = w.push_as(&client, "bob", "HEAD:refs/heads/main");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.server_git(&["rev-parse", "refs/heads/main"]), first);
    w.commit(&client, "second", None);
    let out = w.push_as(&client, "alice", "HEAD:refs/heads/main");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("[push-denied]"), "{}", stderr(&out));
}

#[test]

fn reset_creates_a_missing_policy_branch() {
    let w = World::new();
    let t = team(&w);
    let file = w.write("roles.toml", &t.policy);
    let out = w.refguard(&[
        "policy",
        "reset",
        "--policy",
        file.to_str().expect("utf-8"),
        "--yes-i-hold-the-server",
    ]);
    assert_code(&out, 0);
    assert!(
        stderr(&out).contains("refs/meta/policy (none) -> "),
        "{}",
        stderr(&out)
    );
    let tip = w.policy_tip();
    assert_eq!(
        w.server_git(&["rev-list", "--count", &tip]),
        "1",
        "a root commit"
    );
    let log = fs::read_to_string(w.server.join("refguard/audit.jsonl")).expect("audit log");
    let last: Value = serde_json::from_str(log.trim_end()).expect("one record");
    assert_eq!(last["old"], "0000000000000000000000000000000000000000");
    assert_eq!(last["policy"], Value::Null);
}
