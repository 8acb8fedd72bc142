//! The test harness: a bare server repository with refguard installed, users with real
//! `ssh-keygen` keys, client clones that make (signed) commits and push over `file://`, and
//! what the pusher saw.
//!
//! Every `git`, `ssh-keygen` and `refguard` process runs in an isolated environment
//! (`isolated`): the inherited environment is cleared, `HOME` is the scenario's temporary
//! directory, system and global git config are off, and author/committer names and dates are
//! fixed. A `file://` push hands the client's environment to the hook (GIT-FACTS.md), so this
//! isolation also reaches refguard running as the hook.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The all-zero object id: `old` of a create, `new` of a delete.
pub const ZERO: &str = "0000000000000000000000000000000000000000";

/// The fixed author and committer date of every commit and tag (2025-01-01T00:00:00Z).
///
/// Expiry is judged at push time (spec §3.3), not at this forgeable date.
const FIXED_DATE: &str = "1735689600 +0000";

/// The refguard binary under test.
pub fn refguard_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_refguard"))
}

/// `PATH` for child processes: the directory of the refguard binary first (hook files may
/// call `refguard` by name), then the system's.
fn child_path() -> String {
    let bin_dir = refguard_bin()
        .parent()
        .expect("the refguard binary has a parent directory");
    let system = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    format!("{}:{system}", bin_dir.display())
}

/// A command with the inherited environment cleared and the fixed test environment set.
pub fn isolated(program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", child_path())
        .env("HOME", home)
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Refguard Tester")
        .env("GIT_AUTHOR_EMAIL", "tester@example.com")
        .env("GIT_AUTHOR_DATE", FIXED_DATE)
        .env("GIT_COMMITTER_NAME", "Refguard Tester")
        .env("GIT_COMMITTER_EMAIL", "tester@example.com")
        .env("GIT_COMMITTER_DATE", FIXED_DATE)
        .stdin(Stdio::null());
    cmd
}

/// Runs `cmd`, feeding `stdin` if given, and returns its output whatever the exit status.
pub fn run_raw(mut cmd: Command, stdin: Option<&[u8]>) -> Output {
    let what = format!("{cmd:?}");
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("child stdin is piped")
            .write_all(input)
            .unwrap_or_else(|e| panic!("cannot write stdin of {what}: {e}"));
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("cannot wait for {what}: {e}"))
}

/// Runs `cmd` and returns its stdout; panics with the command, status and stderr on failure.
pub fn run_ok(cmd: Command, stdin: Option<&[u8]>) -> String {
    let what = format!("{cmd:?}");
    let out = run_raw(cmd, stdin);
    assert!(
        out.status.success(),
        "{what} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{what}: stdout is not UTF-8: {e}"))
}

/// The first 7 hex digits of an object id, as refguard's messages abbreviate it.
pub fn short(id: &str) -> &str {
    &id[..7]
}

// ---------------------------------------------------------------------------------------------
// Keys

/// One user's generated key pair.
#[derive(Debug)]
pub struct Key {
    /// The private key file (mode 0600), usable as `user.signingKey`.
    pub private: PathBuf,
    /// The OpenSSH public key line, e.g. `ssh-ed25519 AAAA... alice`.
    pub public: String,
    /// `SHA256:...` as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
}

/// Who gets which key type; names match fixtures/scenarios/standard.toml.
const KEY_SPECS: &[(&str, &[&str])] = &[
    ("alice", &["-t", "ed25519"]),
    ("bob", &["-t", "ed25519"]),
    ("bob-old", &["-t", "ed25519"]),
    ("carol", &["-t", "ed25519"]),
    ("dave", &["-t", "ed25519"]),
    ("erin", &["-t", "ecdsa", "-b", "256"]),
    ("frank", &["-t", "rsa", "-b", "3072"]),
    ("gina", &["-t", "ed25519"]),
    ("trent", &["-t", "ed25519"]),
    ("vic", &["-t", "ed25519"]),
    ("mallory", &["-t", "ed25519"]),
    ("admin", &["-t", "ed25519"]),
];

/// Bump when KEY_SPECS changes, so a stale cache is not reused.
const KEY_CACHE_VERSION: u32 = 2;

/// All users' keys, generated once per build directory and shared by every test.
///
/// They live under `CARGO_TARGET_TMPDIR` (inside `target/`, never committed). A new set is
/// generated into a private directory and renamed into place, so concurrent test processes
/// never see a half-written set.
pub fn keys() -> &'static BTreeMap<String, Key> {
    static KEYS: OnceLock<BTreeMap<String, Key>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let dir = base.join(format!("refguard-keys-v{KEY_CACHE_VERSION}"));
        if !dir.join("complete").exists() {
            let staging = base.join(format!("refguard-keys-staging-{}", std::process::id()));
            let _ = fs::remove_dir_all(&staging);
            fs::create_dir_all(&staging).expect("create key staging directory");
            for (name, args) in KEY_SPECS {
                let mut cmd = isolated("ssh-keygen", &staging);
                cmd.args(*args)
                    .args(["-q", "-N", "", "-C", name, "-f"])
                    .arg(staging.join(name));
                run_ok(cmd, None);
            }
            fs::write(staging.join("complete"), "").expect("mark key set complete");
            if fs::rename(&staging, &dir).is_err() {
                // Another process won the race; its set is just as good.
                let _ = fs::remove_dir_all(&staging);
            }
        }
        KEY_SPECS
            .iter()
            .map(|(name, _)| {
                let private = dir.join(name);
                let public_path = dir.join(format!("{name}.pub"));
                let public = fs::read_to_string(&public_path)
                    .unwrap_or_else(|e| panic!("read {}: {e}", public_path.display()))
                    .trim()
                    .to_string();
                let mut cmd = isolated("ssh-keygen", &dir);
                cmd.arg("-lf").arg(&public_path);
                let listing = run_ok(cmd, None);
                let fingerprint = listing
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_else(|| panic!("no fingerprint in ssh-keygen -lf output: {listing}"))
                    .to_string();
                (
                    name.to_string(),
                    Key {
                        private,
                        public,
                        fingerprint,
                    },
                )
            })
            .collect()
    })
}

/// The key of `name`; panics if the harness has no such user.
pub fn key(name: &str) -> &'static Key {
    keys()
        .get(name)
        .unwrap_or_else(|| panic!("no generated key for {name:?}"))
}

/// Fills `{{key:NAME}}` and `{{fingerprint:NAME}}` placeholders with generated keys.
///
/// Comment lines (starting with `#`) are copied as they are, so templates can document
/// their placeholders.
pub fn render_template(template: &str) -> String {
    template
        .split_inclusive('\n')
        .map(|line| {
            if line.trim_start().starts_with('#') {
                line.to_string()
            } else {
                render_line(line)
            }
        })
        .collect()
}

fn render_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 512);
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .unwrap_or_else(|| panic!("unclosed placeholder in template line {line:?}"))
            + start;
        let placeholder = &rest[start + 2..end];
        let value = match placeholder.split_once(':') {
            Some(("key", name)) => key(name).public.clone(),
            Some(("fingerprint", name)) => key(name).fingerprint.clone(),
            _ => panic!("unknown placeholder {{{{{placeholder}}}}} in {line:?}"),
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A roles template from `fixtures/scenarios/NAME.toml`, rendered with the generated keys.
pub fn fixture_policy(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/scenarios")
        .join(format!("{name}.toml"));
    let template =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    render_template(&template)
}

// ---------------------------------------------------------------------------------------------
// Scenario

/// Which hook(s) refguard is installed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// All-or-nothing for the whole push.
    PreReceive,
    /// Per ref: other refs of the push go on.
    Update,
    /// Both files installed.
    Both,
}

impl Hook {
    /// The `--hook` argument of `refguard install`.
    pub fn arg(self) -> &'static str {
        match self {
            Hook::PreReceive => "pre-receive",
            Hook::Update => "update",
            Hook::Both => "both",
        }
    }

    /// How `git push --porcelain` words a ref this hook declined.
    pub fn declined(self) -> &'static str {
        match self {
            Hook::PreReceive | Hook::Both => "pre-receive hook declined",
            Hook::Update => "hook declined",
        }
    }
}

/// What the scenario's server is set up with.
#[derive(Debug, Clone)]
pub struct Builder {
    policy: Option<String>,
    hook: Option<Hook>,
    seed: bool,
    /// Still the standard policy with seeded refs: the server can be copied from a template.
    standard: bool,
}

/// A server repository with its temporary directory; dropped at the end of the test.
pub struct Scenario {
    tmp: tempfile::TempDir,
    server: PathBuf,
    hook: Option<Hook>,
    /// The seeded `refs/heads/main` commit (also `release/1.0`), signed by alice.
    pub initial: String,
    /// The seeded annotated tag object `v0.9` (on `initial`), signed by alice.
    pub initial_tag: String,
    next_client: AtomicUsize,
}

impl Builder {
    /// The roles file text (already rendered).
    pub fn policy(mut self, text: impl Into<String>) -> Builder {
        self.policy = Some(text.into());
        self.standard = false;
        self
    }

    /// Do not run `refguard init`: the server has no policy branch.
    pub fn no_policy(mut self) -> Builder {
        self.policy = None;
        self.standard = false;
        self
    }

    /// Which hook `refguard install` installs; `None` installs nothing.
    pub fn hook(mut self, hook: Option<Hook>) -> Builder {
        self.hook = hook;
        self
    }

    /// Creates the server: `git init --bare`, the seed push (before any hook exists),
    /// `refguard init`, `refguard install`.
    ///
    /// The standard setup is made once per hook kind and process and copied: the seed is
    /// deterministic (fixed dates, ed25519 signatures), and copying a directory is much
    /// cheaper than the dozen git processes that make it.
    pub fn build(self) -> Scenario {
        let tmp = tempfile::Builder::new()
            .prefix("refguard-it-")
            .tempdir()
            .expect("create scenario temp dir");
        if self.standard {
            let template = template(self.hook);
            let server = tmp.path().join("server.git");
            copy_dir(&template.server, &server);
            return Scenario {
                server,
                tmp,
                hook: self.hook,
                initial: template.initial.clone(),
                initial_tag: template.initial_tag.clone(),
                next_client: AtomicUsize::new(0),
            };
        }
        self.build_in(tmp)
    }

    fn build_in(self, tmp: tempfile::TempDir) -> Scenario {
        let server = tmp.path().join("server.git");
        let mut scenario = Scenario {
            server: server.clone(),
            tmp,
            hook: self.hook,
            initial: String::new(),
            initial_tag: String::new(),
            next_client: AtomicUsize::new(0),
        };
        let mut cmd = scenario.git_cmd(scenario.tmp.path());
        cmd.args(["init", "-q", "--bare", "-b", "main"])
            .arg(&server);
        run_ok(cmd, None);

        if self.seed {
            let seed = scenario.client("alice");
            scenario.initial = seed.commit("Initial commit", Sign::Own);
            seed.git(&["branch", "release/1.0"]);
            seed.tag_signed("v0.9", "Release 0.9", "alice");
            scenario.initial_tag = seed.rev("refs/tags/v0.9");
            seed.git(&[
                "push",
                "-q",
                "origin",
                "refs/heads/main",
                "refs/heads/release/1.0",
                "refs/tags/v0.9",
            ]);
        }
        if let Some(policy) = self.policy {
            scenario
                .init_policy(&policy)
                .assert_success("refguard init");
        }
        if let Some(hook) = self.hook {
            scenario.install(hook).assert_success("refguard install");
        }
        scenario
    }
}

/// A ready standard server to copy, with its seeded ids.
struct Template {
    server: PathBuf,
    initial: String,
    initial_tag: String,
}

/// The standard server for `hook`, built on first use in this process.
fn template(hook: Option<Hook>) -> &'static Template {
    static TEMPLATES: [OnceLock<Template>; 4] = [const { OnceLock::new() }; 4];
    let slot = match hook {
        None => 0,
        Some(Hook::PreReceive) => 1,
        Some(Hook::Update) => 2,
        Some(Hook::Both) => 3,
    };
    TEMPLATES[slot].get_or_init(|| {
        let dir = template_root().join(format!("hook-{slot}"));
        fs::create_dir_all(&dir).expect("create template directory");
        let tmp = tempfile::Builder::new()
            .prefix("build-")
            .tempdir_in(&dir)
            .expect("create template build directory");
        let builder = Builder {
            standard: false,
            ..Scenario::builder(Hook::PreReceive).hook(hook)
        };
        let s = builder.build_in(tmp);
        let template = Template {
            server: s.server.clone(),
            initial: s.initial.clone(),
            initial_tag: s.initial_tag.clone(),
        };
        // The template outlives this scenario; `template_root` removes it in a later run.
        let _ = s.tmp.keep();
        template
    })
}

/// `CARGO_TARGET_TMPDIR/refguard-templates-<pid>`, after removing the directories of test
/// processes that are gone.
fn template_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        if let Ok(entries) = fs::read_dir(&base) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some(pid) = name.strip_prefix("refguard-templates-") else {
                    continue;
                };
                if !Path::new("/proc").join(pid).exists() {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        let root = base.join(format!("refguard-templates-{}", std::process::id()));
        fs::create_dir_all(&root).expect("create template root");
        root
    })
}

/// Copies a directory tree (files keep their permissions, so hooks stay executable).
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    let entries = fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
        let kind = entry.file_type().expect("file type of a template entry");
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

impl Scenario {
    /// A builder with the standard roles file, seeded refs and the given hook.
    pub fn builder(hook: Hook) -> Builder {
        Builder {
            policy: Some(fixture_policy("standard")),
            hook: Some(hook),
            seed: true,
            standard: true,
        }
    }

    /// A builder for an empty server: no seeded main, release/1.0 or v0.9, no policy branch,
    /// no hook.
    pub fn bare() -> Builder {
        Builder {
            policy: None,
            hook: None,
            seed: false,
            standard: false,
        }
    }

    /// The standard scenario with `hook` installed.
    pub fn new(hook: Hook) -> Scenario {
        Scenario::builder(hook).build()
    }

    /// The scenario's temporary directory (also `HOME` of every child process).
    pub fn home(&self) -> &Path {
        self.tmp.path()
    }

    /// The bare server repository.
    pub fn server(&self) -> &Path {
        &self.server
    }

    fn git_cmd(&self, dir: &Path) -> Command {
        let mut cmd = isolated("git", self.home());
        cmd.current_dir(dir);
        cmd
    }

    /// Runs git in the server repository and returns stdout.
    pub fn server_git(&self, args: &[&str]) -> String {
        let mut cmd = self.git_cmd(&self.server);
        cmd.args(args);
        run_ok(cmd, None)
    }

    /// Runs git in the server repository with `stdin`; returns stdout.
    pub fn server_git_stdin(&self, args: &[&str], stdin: &[u8]) -> String {
        let mut cmd = self.git_cmd(&self.server);
        cmd.args(args);
        run_ok(cmd, Some(stdin))
    }

    /// Every ref on the server with its value, to prove a rejected push changed nothing.
    pub fn server_refs(&self) -> BTreeMap<String, String> {
        self.server_git(&["for-each-ref", "--format=%(refname) %(objectname)"])
            .lines()
            .map(|line| {
                let (name, id) = line
                    .split_once(' ')
                    .unwrap_or_else(|| panic!("bad for-each-ref line {line:?}"));
                (name.to_string(), id.to_string())
            })
            .collect()
    }

    /// The value of `refname` on the server, if it exists.
    pub fn server_ref(&self, refname: &str) -> Option<String> {
        self.server_refs().get(refname).cloned()
    }

    /// Runs the refguard binary (isolated, cwd = temp dir) with `args`.
    pub fn refguard(&self, args: &[&std::ffi::OsStr]) -> CmdOutput {
        self.refguard_with(args, &[])
    }

    /// Runs the refguard binary with extra environment variables.
    pub fn refguard_with(&self, args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> CmdOutput {
        let mut cmd = isolated(refguard_bin(), self.home());
        cmd.current_dir(self.home()).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        CmdOutput::from_output(format!("refguard {args:?}"), run_raw(cmd, None))
    }

    /// Runs refguard with string arguments.
    pub fn refguard_str(&self, args: &[&str]) -> CmdOutput {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        self.refguard(&args)
    }

    /// Runs refguard with `args` followed by `--repo SERVER`.
    pub fn refguard_repo(&self, args: &[&str]) -> CmdOutput {
        self.refguard_repo_with(args, &[])
    }

    /// Runs refguard with `args` followed by `--repo SERVER`, and extra environment variables.
    pub fn refguard_repo_with(&self, args: &[&str], env: &[(&str, &str)]) -> CmdOutput {
        let mut full: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        full.extend(["--repo".as_ref(), self.server.as_os_str()]);
        self.refguard_with(&full, env)
    }

    /// `refguard init` with `policy` (already rendered) as the roles file.
    pub fn init_policy(&self, policy: &str) -> CmdOutput {
        let file = self.write_file("roles.toml", policy);
        let file = file.to_str().expect("UTF-8 temp path");
        self.refguard_repo(&["init", "--policy", file])
    }

    /// `refguard install --hook HOOK`; clients made before keep the hook they were made with.
    pub fn install(&self, hook: Hook) -> CmdOutput {
        self.refguard_repo(&["install", "--hook", hook.arg()])
    }

    /// Writes `text` to `name` in the scenario's temporary directory; returns its path.
    pub fn write_file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.home().join(name);
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// The server's audit log (its default place).
    pub fn audit_log(&self) -> PathBuf {
        self.server.join("refguard/audit.jsonl")
    }

    /// A fresh `file://` clone of the server working as `user`: pushes send
    /// `REFGUARD_USER=user`, `Sign::Own` signs with `user`'s key.
    pub fn client(&self, user: &str) -> Client {
        let n = self.next_client.fetch_add(1, Ordering::Relaxed);
        let dir = self.home().join(format!("client-{n}-{user}"));
        let url = format!("file://{}", self.server.display());
        let mut cmd = self.git_cmd(self.home());
        cmd.args(["clone", "-q", "-c"])
            .arg(format!("user.name={user}"))
            .arg("-c")
            .arg(format!("user.email={user}@example.com"))
            .arg(&url)
            .arg(&dir);
        run_ok(cmd, None);
        let client = Client {
            dir,
            home: self.home().to_path_buf(),
            user: user.to_string(),
            hook: self.hook,
            server: self.server.clone(),
            counter: AtomicUsize::new(0),
        };
        // A clone of an empty server may start on another unborn branch: commits go on main.
        let head = fs::read_to_string(client.dir.join(".git/HEAD")).expect("read client HEAD");
        if head.trim() != "ref: refs/heads/main" {
            client.git(&["symbolic-ref", "HEAD", "refs/heads/main"]);
        }
        client
    }

    /// Installs a shell script as a hook, for testing the harness itself.
    pub fn install_script_hook(&self, name: &str, script: &str) {
        let path = self.server.join("hooks").join(name);
        fs::write(&path, script).expect("write script hook");
        let mut cmd = isolated("chmod", self.home());
        cmd.arg("+x").arg(&path);
        run_ok(cmd, None);
    }
}

// ---------------------------------------------------------------------------------------------
// Client

/// Who signs a commit or tag.
#[derive(Debug, Clone, Copy)]
pub enum Sign<'a> {
    /// Not signed.
    Unsigned,
    /// Signed with the client user's own key.
    Own,
    /// Signed with another user's key.
    By(&'a str),
}

/// Who the hook is told the pusher is.
#[derive(Debug, Clone, Copy)]
pub enum Pusher<'a> {
    /// `REFGUARD_USER=name`.
    Name(&'a str),
    /// No pusher variable at all.
    Nobody,
    /// Arbitrary variables (e.g. `GL_USER`).
    Env(&'a [(&'a str, &'a str)]),
}

/// A client clone of the server, working as one user.
pub struct Client {
    dir: PathBuf,
    home: PathBuf,
    user: String,
    hook: Option<Hook>,
    server: PathBuf,
    counter: AtomicUsize,
}

impl Client {
    /// The working tree.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn cmd(&self, program: &str) -> Command {
        let mut cmd = isolated(program, &self.home);
        cmd.current_dir(&self.dir);
        cmd
    }

    /// Runs git in the clone and returns stdout; panics with stderr on failure.
    pub fn git(&self, args: &[&str]) -> String {
        let mut cmd = self.cmd("git");
        cmd.args(args);
        run_ok(cmd, None)
    }

    /// Runs git with `stdin` and returns stdout; panics with stderr on failure.
    pub fn git_stdin(&self, args: &[&str], stdin: &[u8]) -> String {
        let mut cmd = self.cmd("git");
        cmd.args(args);
        run_ok(cmd, Some(stdin))
    }

    /// Runs git and returns its raw output, whatever the status.
    pub fn git_raw(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd("git");
        cmd.args(args);
        run_raw(cmd, None)
    }

    /// `-c` options that make git sign with `signer`'s key.
    fn signing_config(signer: &str) -> Vec<String> {
        vec![
            "-c".into(),
            "gpg.format=ssh".into(),
            "-c".into(),
            format!("user.signingKey={}", key(signer).private.display()),
        ]
    }

    fn signer<'a>(&'a self, sign: Sign<'a>) -> Option<&'a str> {
        match sign {
            Sign::Unsigned => None,
            Sign::Own => Some(&self.user),
            Sign::By(name) => Some(name),
        }
    }

    /// Runs git with signing options for `signer` (if any) before `args`.
    fn git_signed(&self, signer: Option<&str>, args: &[&str]) -> String {
        let mut full: Vec<String> = signer.map(Client::signing_config).unwrap_or_default();
        full.extend(args.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        self.git(&refs)
    }

    /// The full id of `rev`.
    pub fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", "--verify", "-q", rev])
            .trim()
            .to_string()
    }

    /// Commits a change to a new file on the current branch; returns the commit id.
    pub fn commit(&self, message: &str, sign: Sign<'_>) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{n}.txt", self.user);
        self.commit_file(&name, &format!("{message}\n{n}\n"), message, sign)
    }

    /// Writes `path` (relative to the work tree) and commits it; returns the commit id.
    pub fn commit_file(&self, path: &str, content: &str, message: &str, sign: Sign<'_>) -> String {
        fs::write(self.dir.join(path), content)
            .unwrap_or_else(|e| panic!("write {path} in the client: {e}"));
        self.git(&["add", path]);
        let signer = self.signer(sign);
        let mut args = vec!["commit", "-q", "-m", message];
        if signer.is_some() {
            args.push("-S");
        }
        self.git_signed(signer, &args);
        self.rev("HEAD")
    }

    /// Fetches the server's policy branch and checks it out as local branch `policy`.
    pub fn checkout_policy(&self) -> String {
        self.git(&[
            "fetch",
            "-q",
            "origin",
            "+refs/meta/policy:refs/remotes/origin/policy",
        ]);
        self.branch("policy", "refs/remotes/origin/policy");
        self.rev("HEAD")
    }

    /// Commits `count` unsigned commits; returns their ids, oldest first.
    pub fn commits(&self, count: usize, prefix: &str, sign: Sign<'_>) -> Vec<String> {
        (0..count)
            .map(|i| self.commit(&format!("{prefix} {i}"), sign))
            .collect()
    }

    /// `git checkout -q -B branch start`.
    pub fn branch(&self, branch: &str, start: &str) {
        self.git(&["checkout", "-q", "-B", branch, start]);
    }

    /// `git checkout -q branch`.
    pub fn checkout(&self, branch: &str) {
        self.git(&["checkout", "-q", branch]);
    }

    /// `git merge --no-ff` of `other` into the current branch; returns the merge commit.
    pub fn merge(&self, other: &str, message: &str, sign: Sign<'_>) -> String {
        let signer = self.signer(sign);
        let mut args = vec!["merge", "-q", "--no-ff", "-m", message];
        if signer.is_some() {
            args.push("-S");
        }
        args.push(other);
        self.git_signed(signer, &args);
        self.rev("HEAD")
    }

    /// Commits a change to a new file signed with OpenPGP as a GnuPG user does: `git -c
    /// gpg.program=PROGRAM -c user.signingKey=KEY commit -S` (a key ending in `!` names that
    /// subkey exactly); returns the commit id.
    pub fn commit_openpgp(&self, message: &str, program: &Path, signing_key: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{n}.txt", self.user);
        fs::write(self.dir.join(&name), format!("{message}\n{n}\n"))
            .unwrap_or_else(|e| panic!("write {name} in the client: {e}"));
        self.git(&["add", &name]);
        let mut args = Client::openpgp_config(program, signing_key);
        args.extend(["commit", "-q", "-S", "-m", message].map(String::from));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.git(&refs);
        self.rev("HEAD")
    }

    /// An annotated tag on HEAD signed with OpenPGP (`git tag -s` through `program`, with
    /// `signing_key`); returns the tag object id.
    pub fn tag_openpgp(
        &self,
        name: &str,
        message: &str,
        program: &Path,
        signing_key: &str,
    ) -> String {
        let mut args = Client::openpgp_config(program, signing_key);
        args.extend(["tag", "-f", "-s", name, "-m", message].map(String::from));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.git(&refs);
        self.rev(&format!("refs/tags/{name}"))
    }

    /// `-c` options that make git sign with OpenPGP through `program` and `signing_key`.
    fn openpgp_config(program: &Path, signing_key: &str) -> Vec<String> {
        vec![
            "-c".into(),
            "gpg.format=openpgp".into(),
            "-c".into(),
            format!("gpg.program={}", program.display()),
            "-c".into(),
            format!("user.signingKey={signing_key}"),
        ]
    }

    /// A lightweight tag on HEAD.
    pub fn tag_lightweight(&self, name: &str) {
        self.git(&["tag", name]);
    }

    /// An annotated, unsigned tag on HEAD; returns the tag object id.
    pub fn tag_annotated(&self, name: &str, message: &str) -> String {
        self.git(&["tag", "-a", name, "-m", message]);
        self.rev(&format!("refs/tags/{name}"))
    }

    /// An annotated tag on HEAD signed with `signer`'s key (`git tag -s`); returns its id.
    pub fn tag_signed(&self, name: &str, message: &str, signer: &str) -> String {
        self.git_signed(Some(signer), &["tag", "-f", "-s", name, "-m", message]);
        self.rev(&format!("refs/tags/{name}"))
    }

    /// `git verify-commit`/`verify-tag` against an allowed_signers file of all harness keys.
    pub fn verify(&self, kind: &str, rev: &str) -> Output {
        let allowed = self.home.join("allowed_signers");
        if !allowed.exists() {
            let text: String = keys()
                .iter()
                .map(|(name, k)| format!("{name}@example.com namespaces=\"git\" {}\n", k.public))
                .collect();
            fs::write(&allowed, text).expect("write allowed_signers");
        }
        let config = format!("gpg.ssh.allowedSignersFile={}", allowed.display());
        self.git_raw(&["-c", &config, kind, rev])
    }

    /// `refguard approve ARGS` in the clone as this client's user: git's own signing settings
    /// (`gpg.format ssh`, `user.signingKey`) are written into the clone's config first, and
    /// the approval is pushed with `REFGUARD_USER` set to the user.
    pub fn approve(&self, args: &[&str]) -> CmdOutput {
        self.git(&["config", "gpg.format", "ssh"]);
        let key = key(&self.user).private.display().to_string();
        self.git(&["config", "user.signingKey", &key]);
        let mut cmd = self.cmd(refguard_bin().to_str().expect("UTF-8 binary path"));
        cmd.arg("approve")
            .args(args)
            .env("REFGUARD_USER", &self.user);
        CmdOutput::from_output(format!("refguard approve {args:?}"), run_raw(cmd, None))
    }

    /// `refguard approve ARGS` signing with OpenPGP: git's signing settings in the clone say
    /// `gpg.format openpgp`, `gpg.program PROGRAM` and `user.signingKey KEY`, as a GnuPG
    /// user's do; pushed with `REFGUARD_USER` set to the user.
    pub fn approve_openpgp(&self, program: &Path, signing_key: &str, args: &[&str]) -> CmdOutput {
        self.git(&["config", "gpg.format", "openpgp"]);
        self.git(&["config", "gpg.program", &program.display().to_string()]);
        self.git(&["config", "user.signingKey", signing_key]);
        let mut cmd = self.cmd(refguard_bin().to_str().expect("UTF-8 binary path"));
        cmd.arg("approve")
            .args(args)
            .env("REFGUARD_USER", &self.user);
        CmdOutput::from_output(format!("refguard approve {args:?}"), run_raw(cmd, None))
    }

    /// Pushes `refspecs` to origin as this client's user.
    pub fn push(&self, refspecs: &[&str]) -> Push {
        self.push_as(Pusher::Name(&self.user), refspecs)
    }

    /// Pushes `refspecs` to origin telling the hook the pusher is `pusher`.
    pub fn push_as(&self, pusher: Pusher<'_>, refspecs: &[&str]) -> Push {
        let before = refs_of(&self.server, &self.home);
        let mut cmd = self.cmd("git");
        cmd.args(["push", "--porcelain", "origin"]).args(refspecs);
        match pusher {
            Pusher::Name(name) => {
                cmd.env("REFGUARD_USER", name);
            }
            Pusher::Nobody => {}
            Pusher::Env(vars) => {
                for (k, v) in vars {
                    cmd.env(k, v);
                }
            }
        }
        let what = format!("git push {refspecs:?}");
        let out = run_raw(cmd, None);
        let after = refs_of(&self.server, &self.home);
        Push::new(what, out, self.hook, before, after)
    }

    /// Writes a raw commit object (`git hash-object -t commit -w --stdin`); returns its id.
    pub fn write_commit(&self, raw: &str) -> String {
        self.git_stdin(
            &["hash-object", "-t", "commit", "-w", "--stdin"],
            raw.as_bytes(),
        )
        .trim()
        .to_string()
    }

    /// The raw text of commit `rev` (`git cat-file commit`).
    pub fn raw_commit(&self, rev: &str) -> String {
        self.git(&["cat-file", "commit", rev])
    }

    /// Points the current branch at `id` (`git reset --hard`).
    pub fn reset_hard(&self, id: &str) {
        self.git(&["reset", "-q", "--hard", id]);
    }

    /// Signs `payload` with `ssh-keygen -Y sign -n namespace` using `signer`'s key and
    /// returns the armored signature.
    pub fn ssh_sign(&self, payload: &[u8], signer: &str, namespace: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let file = self.home.join(format!("payload-{}-{n}", self.user));
        fs::write(&file, payload).expect("write payload to sign");
        let mut cmd = self.cmd("ssh-keygen");
        cmd.args(["-q", "-Y", "sign", "-n", namespace, "-f"])
            .arg(&key(signer).private)
            .arg(&file);
        run_ok(cmd, None);
        let sig = file.with_file_name(format!("payload-{}-{n}.sig", self.user));
        fs::read_to_string(&sig).unwrap_or_else(|e| panic!("read {}: {e}", sig.display()))
    }
}

fn refs_of(repo: &Path, home: &Path) -> BTreeMap<String, String> {
    let mut cmd = isolated("git", home);
    cmd.current_dir(repo)
        .args(["for-each-ref", "--format=%(refname) %(objectname)"]);
    run_ok(cmd, None)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Outcomes

/// The output of a non-push command (refguard CLI).
#[derive(Debug)]
pub struct CmdOutput {
    /// What was run, for messages.
    pub what: String,
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CmdOutput {
    fn from_output(what: String, out: Output) -> CmdOutput {
        CmdOutput {
            what,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with both streams unless the command exited 0.
    pub fn assert_success(&self, context: &str) -> &Self {
        self.assert_code(0, context)
    }

    /// Panics with both streams unless the command exited with `code`.
    pub fn assert_code(&self, code: i32, context: &str) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "{context}: {} exited {:?}, expected {code}\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// What a pusher saw: git's exit status, per-ref statuses, and the hook's lines.
#[derive(Debug)]
pub struct Push {
    what: String,
    /// Whether `git push` exited 0.
    pub success: bool,
    /// `git push --porcelain` stdout.
    pub stdout: String,
    /// Raw stderr.
    pub stderr: String,
    /// Lines the server sent (the `remote: ` prefix and git's trailing padding removed).
    pub remote: Vec<String>,
    hook: Option<Hook>,
    /// Server refs before the push.
    pub before: BTreeMap<String, String>,
    /// Server refs after the push.
    pub after: BTreeMap<String, String>,
}

impl Push {
    fn new(
        what: String,
        out: Output,
        hook: Option<Hook>,
        before: BTreeMap<String, String>,
        after: BTreeMap<String, String>,
    ) -> Push {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let remote = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("remote: "))
            .map(|l| l.trim_end().to_string())
            .collect();
        Push {
            what,
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
            remote,
            hook,
            before,
            after,
        }
    }

    /// Everything the pusher saw, for assertion messages.
    pub fn transcript(&self) -> String {
        format!(
            "{} (success: {})\n--- stdout\n{}--- stderr\n{}---",
            self.what, self.success, self.stdout, self.stderr
        )
    }

    /// The push succeeded, every ref was updated, and the hook printed nothing but the
    /// warnings of rules in evaluate mode (spec §11).
    pub fn assert_accepted(&self) -> &Self {
        assert!(
            self.success,
            "push should be accepted\n{}",
            self.transcript()
        );
        let mut in_warning = false;
        for line in &self.remote {
            if line.starts_with("refguard: warning: ") && line.ends_with("(evaluate mode)") {
                in_warning = true;
                continue;
            }
            assert!(
                in_warning && line.starts_with("refguard:   "),
                "an accepted push prints nothing but evaluate-mode warnings (spec §4, §11)\n{}",
                self.transcript()
            );
        }
        self
    }

    /// The push failed and refguard's lines contain a `[code] commit <abbrev>` reason for
    /// `commit` (at least 7 hex digits of it), and a hint.
    pub fn assert_rejected(&self, code: &str, commit: &str) -> &Self {
        assert!(
            !self.success,
            "push should be rejected\n{}",
            self.transcript()
        );
        let needle = format!("[{code}] commit ");
        let found = self.reason_lines(code).iter().any(|line| {
            line.split_once(&needle)
                .map(|(_, rest)| {
                    let hex: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
                    hex.len() >= 7 && commit.starts_with(&hex)
                })
                .unwrap_or(false)
        });
        assert!(
            found,
            "expected a reason line `refguard:   [{code}] commit {}...`\n{}",
            short(commit),
            self.transcript()
        );
        self.assert_hint()
    }

    /// The push failed and refguard's lines contain a `[code]` reason (about a ref, a tag or
    /// a commit) and a hint.
    pub fn assert_reason(&self, code: &str) -> &Self {
        assert!(
            !self.success,
            "push should be rejected\n{}",
            self.transcript()
        );
        assert!(
            !self.reason_lines(code).is_empty(),
            "expected a reason line `refguard:   [{code}] ...`\n{}",
            self.transcript()
        );
        self.assert_hint()
    }

    /// No reason line with `[code]`.
    pub fn assert_no_reason(&self, code: &str) -> &Self {
        assert!(
            self.reason_lines(code).is_empty(),
            "expected no [{code}] reason\n{}",
            self.transcript()
        );
        self
    }

    fn assert_hint(&self) -> &Self {
        assert!(
            self.remote
                .iter()
                .any(|l| l.starts_with("refguard:   hint: ")),
            "expected a `refguard:   hint: ` line\n{}",
            self.transcript()
        );
        self
    }

    /// Reason lines (`refguard:   [code] ...`) with this code.
    pub fn reason_lines(&self, code: &str) -> Vec<&str> {
        let prefix = format!("refguard:   [{code}]");
        self.remote
            .iter()
            .filter(|l| l.starts_with(&prefix))
            .map(String::as_str)
            .collect()
    }

    /// Every reason line, whatever the code.
    pub fn all_reason_lines(&self) -> Vec<&str> {
        self.remote
            .iter()
            .filter(|l| l.starts_with("refguard:   ["))
            .map(String::as_str)
            .collect()
    }

    /// The header line `refguard: rejected REF (old7..new7)` is present.
    pub fn assert_header(&self, refname: &str, old: &str, new: &str) -> &Self {
        let header = format!(
            "refguard: rejected {refname} ({}..{})",
            short(old),
            short(new)
        );
        assert!(
            self.remote.contains(&header),
            "expected header line {header:?}\n{}",
            self.transcript()
        );
        self
    }

    /// No rejection header for `refname`.
    pub fn assert_no_header(&self, refname: &str) -> &Self {
        let prefix = format!("refguard: rejected {refname} (");
        assert!(
            !self.remote.iter().any(|l| l.starts_with(&prefix)),
            "expected no rejection of {refname}\n{}",
            self.transcript()
        );
        self
    }

    /// The porcelain status flag of `refname` (`!` rejected, `*` new, ` ` fast-forward,
    /// `+` forced, `-` deleted, `=` up to date) and its summary.
    pub fn ref_status(&self, refname: &str) -> Option<(char, String)> {
        self.stdout.lines().find_map(|line| {
            let mut fields = line.split('\t');
            let flag = fields.next()?.chars().next()?;
            let spec = fields.next()?;
            let summary = fields.next().unwrap_or("");
            let dst = spec.rsplit(':').next()?;
            (dst == refname).then(|| (flag, summary.to_string()))
        })
    }

    /// git reports `refname` as declined by the installed hook.
    pub fn assert_declined(&self, refname: &str) -> &Self {
        let hook = self.hook.expect("a scenario with a hook");
        let status = self.ref_status(refname);
        let expected = format!("[remote rejected] ({})", hook.declined());
        assert!(
            matches!(&status, Some(('!', s)) if *s == expected),
            "expected {refname} to be {expected:?}, got {status:?}\n{}",
            self.transcript()
        );
        self
    }

    /// git reports `refname` as updated (not rejected).
    pub fn assert_ref_ok(&self, refname: &str) -> &Self {
        let status = self.ref_status(refname);
        assert!(
            matches!(&status, Some((flag, _)) if "*+- ".contains(*flag)),
            "expected {refname} to be updated, got {status:?}\n{}",
            self.transcript()
        );
        self
    }

    /// Server refs after the push are exactly those before it.
    pub fn assert_refs_unchanged(&self) -> &Self {
        assert_eq!(
            self.before,
            self.after,
            "a rejected push must leave every server ref as it was\n{}",
            self.transcript()
        );
        self
    }

    /// `refname` on the server after the push (None: absent).
    pub fn ref_after(&self, refname: &str) -> Option<&str> {
        self.after.get(refname).map(String::as_str)
    }
}

/// Declares one test per hook: `both_hooks!(fn name(hook) { ... })` expands to a module
/// `name` with tests `pre_receive` and `update`.
#[macro_export]
macro_rules! both_hooks {
    ($(#[$meta:meta])* fn $name:ident($hook:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($hook: $crate::scenario::Hook) $body

            #[test]
            fn pre_receive() {
                run($crate::scenario::Hook::PreReceive)
            }

            #[test]
            fn update() {
                run($crate::scenario::Hook::Update)
            }
        }
    };
}
