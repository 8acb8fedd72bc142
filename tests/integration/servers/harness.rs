//! The servers' test world: `scenario`'s isolated environment and keys, rooted in a
//! temporary directory; bare server repositories with a policy and the hook; clients with
//! signed commits; and [`Daemon`], the guard that stops a server's whole process group.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use crate::scenario::{Key, key};
use crate::scenario::{isolated, refguard_bin};

/// Whether the programs a test needs are installed. Outside CI a missing one skips the test
/// with a loud message on stderr (the caller returns early); with `CI=true` it fails.
#[must_use]
pub fn require(test: &str, programs: &[(&str, &str)]) -> bool {
    let missing: Vec<String> = programs
        .iter()
        .filter(|(program, _)| find_program(program).is_none())
        .map(|(program, package)| format!("{program} (Debian package {package})"))
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{test}: needs {}; .ci/run installs it with apt-get",
        missing.join(", ")
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}");
    }
    eprintln!("\n!!!!!!!! SKIPPED {message} !!!!!!!!\n");
    false
}

/// An executable by absolute path, or by name on `PATH` (plus the sbin directories, where
/// Debian puts sshd, nginx and fcgiwrap).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = Path::new(program);
    if path.is_absolute() {
        return is_executable(path).then(|| path.to_path_buf());
    }
    let dirs = std::env::var("PATH").unwrap_or_default();
    dirs.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"])
        .map(|dir| Path::new(dir).join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The program's absolute path; panics if it is missing (call [`require`] first).
pub fn program(name: &str) -> PathBuf {
    find_program(name).unwrap_or_else(|| panic!("{name} is not installed"))
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective user).
pub fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The current user's login name: the account the servers log clients in as.
pub fn login_name() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A free TCP port on 127.0.0.1 (the listener is closed again; servers bind it right after).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// A server process started by a test; dropping it kills its whole process group (sshd's
/// per-connection children, nginx's workers) even when the test panicked.
pub struct Daemon {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts `cmd` in a new process group, its output going to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Daemon {
        let out = fs::File::create(log).expect("create daemon log");
        let err = out.try_clone().expect("clone log handle");
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        Daemon {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        }
    }

    /// Waits until something accepts connections on 127.0.0.1:`port` (at most 20 s); panics
    /// with the server's log if it exits or never listens.
    pub fn wait_for_port(&mut self, port: u16) {
        self.wait_until(|| TcpStream::connect(("127.0.0.1", port)).is_ok());
    }

    /// Waits until `path` exists (a unix socket), as [`Daemon::wait_for_port`].
    pub fn wait_for_path(&mut self, path: &Path) {
        self.wait_until(|| path.exists());
    }

    /// Polls `ready` every 20 ms: servers give no other signal that they are listening.
    fn wait_until(&mut self, ready: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if ready() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited with {status} before it was ready:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} did not become ready:\n{}", self.name, self.log_text());
    }

    /// The server's output so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` to the whole process group (the shell's `kill` builtin takes `-PGID`).
    fn signal_group(&self, signal: &str) {
        let _ = Command::new("sh")
            .args(["-c", "kill -s \"$0\" -- \"-$1\" 2>/dev/null", signal])
            .arg(self.child.id().to_string())
            .status();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.signal_group("TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // The leader is gone; make sure no straggler of the group survives.
                self.signal_group("KILL");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.signal_group("KILL");
        let _ = self.child.wait();
    }
}

/// A temporary world: HOME, keys, server repositories and clients.
pub struct World {
    _dir: tempfile::TempDir,
    /// The temporary directory (also `HOME` for everything the test runs).
    pub root: PathBuf,
}

impl World {
    /// A fresh world in a new temporary directory.
    pub fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        // Canonical, so paths in URLs and certificates equal what git reports.
        let root = dir.path().canonicalize().expect("canonical tempdir");
        World { _dir: dir, root }
    }

    /// A command in the shared isolated environment (`scenario::isolated`), `HOME` and the
    /// working directory being the world's root; `refguard` is the binary under test.
    pub fn cmd(&self, program: &str) -> Command {
        let mut cmd = if program == "refguard" {
            isolated(refguard_bin(), &self.root)
        } else {
            isolated(program, &self.root)
        };
        cmd.current_dir(&self.root);
        cmd
    }

    /// Runs a command to completion.
    pub fn run(&self, cmd: &mut Command) -> Output {
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
    }

    /// Runs a command that must succeed; its stdout.
    pub fn run_ok(&self, cmd: &mut Command) -> String {
        let out = self.run(cmd);
        assert!(
            out.status.success(),
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `git -C dir args...`, which must succeed.
    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        self.run_ok(self.cmd("git").arg("-C").arg(dir).args(args))
    }

    /// Writes `text` to `name` under the world's root.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.root.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(&path, text).expect("write file");
        path
    }

    /// A bare repository at `path` whose `main` has one commit, with `roles` as its policy
    /// and refguard's pre-receive hook installed.
    pub fn server_repo(&self, path: &Path, roles: &str) {
        self.run_ok(
            self.cmd("git")
                .args(["init", "-q", "--bare", "-b", "main"])
                .arg(path),
        );
        self.seed(path, roles);
        self.run_ok(self.cmd("refguard").args(["install", "--repo"]).arg(path));
    }

    /// Gives the existing repository `path` a first commit on `main` (by a fetch, so no hook
    /// judges it) and `roles` as its policy (`refguard init`).
    pub fn seed(&self, path: &Path, roles: &str) {
        let seed = self.root.join("seed");
        if !seed.exists() {
            self.run_ok(
                self.cmd("git")
                    .args(["init", "-q", "-b", "main"])
                    .arg(&seed),
            );
            self.git(
                &seed,
                &["commit", "-q", "--allow-empty", "-m", "Initial commit"],
            );
        }
        let src = seed.display().to_string();
        self.run_ok(self.cmd("git").arg("--git-dir").arg(path).args([
            "fetch",
            "-q",
            &src,
            "main:refs/heads/main",
        ]));
        // gitolite creates repositories with its own default branch: clients clone `main`.
        self.run_ok(self.cmd("git").arg("--git-dir").arg(path).args([
            "symbolic-ref",
            "HEAD",
            "refs/heads/main",
        ]));
        let policy = self.write("roles.toml", roles);
        self.run_ok(
            self.cmd("refguard")
                .args(["init", "--repo"])
                .arg(path)
                .arg("--policy")
                .arg(&policy),
        );
    }

    /// A client clone of `server` (over the file system) that signs its commits with `key`.
    pub fn client(&self, name: &str, server: &Path, key: &Key) -> PathBuf {
        let dir = self.root.join("clients").join(name);
        self.run_ok(self.cmd("git").args(["clone", "-q"]).arg(server).arg(&dir));
        let signing_key = key.private.display().to_string();
        for (k, v) in [
            ("gpg.format", "ssh"),
            ("user.signingKey", signing_key.as_str()),
            ("commit.gpgSign", "true"),
        ] {
            self.git(&dir, &["config", k, v]);
        }
        dir
    }

    /// A new signed commit on the client's current branch.
    pub fn commit(&self, client: &Path, message: &str) {
        self.git(client, &["commit", "-q", "--allow-empty", "-m", message]);
    }

    /// The last record of the repository's audit log.
    pub fn last_audit(&self, server: &Path) -> Value {
        let text = fs::read_to_string(server.join("refguard/audit.jsonl")).expect("read audit log");
        let line = text.lines().last().expect("an audit record");
        serde_json::from_str(line).expect("audit record is JSON")
    }
}

/// What a push printed, and whether it succeeded.
pub struct Pushed {
    /// Exit status was 0.
    pub ok: bool,
    /// Standard error: git's report with the `remote:` lines.
    pub stderr: String,
}

impl Pushed {
    /// Runs a push command.
    pub fn run(world: &World, cmd: &mut Command) -> Pushed {
        let out = world.run(cmd);
        Pushed {
            ok: out.status.success(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts the push was accepted.
    #[track_caller]
    pub fn assert_accepted(&self) {
        assert!(self.ok, "push should be accepted:\n{}", self.stderr);
        assert!(
            !self.stderr.contains("refguard:"),
            "an accepted push prints nothing:\n{}",
            self.stderr
        );
    }

    /// Asserts the push was rejected and the client saw each of `lines` as a whole
    /// `remote:` line (git pads them with spaces, which are trimmed).
    #[track_caller]
    pub fn assert_rejected(&self, lines: &[&str]) {
        assert!(!self.ok, "push should be rejected:\n{}", self.stderr);
        let remote: Vec<&str> = self
            .stderr
            .lines()
            .filter_map(|l| l.strip_prefix("remote: "))
            .map(str::trim_end)
            .collect();
        for want in lines {
            assert!(
                remote.iter().any(|l| l.starts_with(want)),
                "no `remote: {want}...` line in:\n{}",
                self.stderr
            );
        }
    }
}
