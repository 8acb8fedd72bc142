//! `refguard demo`: a self-contained tour in a temporary directory. It drives the real `git`
//! and `ssh-keygen`: a bare server repository with refguard installed, two users with SSH
//! keys, and pushes that are accepted and rejected, with what the pusher sees.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

use super::EXIT_OK;

/// Runs the tour; keeps the directory when asked.
pub fn run(keep: bool) -> Result<u8> {
    let dir = tempfile::Builder::new()
        .prefix("refguard-demo-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let tour = Tour::new(dir.path().to_path_buf())?;
    tour.run()?;
    if keep {
        let path = dir.keep();
        println!("\nThe demo's files are kept in {}", path.display());
    }
    Ok(EXIT_OK)
}

struct Tour {
    root: PathBuf,
    exe: PathBuf,
}

impl Tour {
    fn new(root: PathBuf) -> Result<Tour> {
        for tool in ["git", "ssh-keygen"] {
            let found = Command::new(tool).arg("--version").output().is_ok()
                || Command::new(tool).arg("-?").output().is_ok();
            if !found {
                bail!("the demo needs `{tool}` on PATH");
            }
        }
        let exe = std::env::current_exe().context("cannot find the refguard binary")?;
        Ok(Tour { root, exe })
    }

    fn run(&self) -> Result<()> {
        let r = &self.root;
        say(&format!("refguard demo in {}", r.display()));
        step("Two developers make SSH keys: alice (maintainer) and bob (developer).");
        let alice = self.keygen("alice")?;
        let bob = self.keygen("bob")?;
        let roles = ROLES.replace("@ALICE@", &alice).replace("@BOB@", &bob);
        fs::write(r.join("roles.toml"), &roles)?;
        println!("{}", indent(&roles));

        step("The server admin creates a bare repository, the policy branch and the hook.");
        self.git(
            r,
            &["init", "-q", "--bare", "-b", "main", "server.git"],
            None,
        )?;
        self.show(
            r,
            &self.exe,
            &["init", "--repo", "server.git", "--policy", "roles.toml"],
            None,
        )?;
        self.show(r, &self.exe, &["install", "--repo", "server.git"], None)?;

        for user in ["alice", "bob"] {
            self.git(r, &["clone", "-q", "server.git", user], None)?;
            let dir = r.join(user);
            self.git(&dir, &["config", "gpg.format", "ssh"], None)?;
            let key = r.join(format!("keys/{user}"));
            self.git(
                &dir,
                &["config", "user.signingKey", &key.display().to_string()],
                None,
            )?;
            self.git(&dir, &["config", "user.name", user], None)?;
            self.git(
                &dir,
                &["config", "user.email", &format!("{user}@example.com")],
                None,
            )?;
        }
        let a = r.join("alice");
        let b = r.join("bob");

        step("alice pushes a signed first commit to main: accepted.");
        self.commit(&a, "README", "hello", "Initial commit", true)?;
        self.push(&a, "alice", &["origin", "main"])?;

        step("bob pushes an unsigned commit to main: he may not push there, and it is unsigned.");
        self.git(&b, &["pull", "-q", "origin", "main"], None)?;
        self.commit(&b, "notes.txt", "unsigned", "Quick fix", false)?;
        self.push(&b, "bob", &["origin", "HEAD:main"])?;

        step("bob pushes the same work to a feature branch: feature branches are open to all.");
        self.push(&b, "bob", &["origin", "HEAD:refs/heads/feature/notes"])?;

        step("bob signs his commit; alice merges it to main with a signed merge: accepted.");
        self.git(&b, &["commit", "-q", "--amend", "-S", "--no-edit"], None)?;
        self.push(
            &b,
            "bob",
            &["-f", "origin", "HEAD:refs/heads/feature/notes"],
        )?;
        self.git(&a, &["fetch", "-q", "origin"], None)?;
        self.commit(&a, "CHANGES", "v1", "Changelog", true)?;
        self.git(
            &a,
            &[
                "merge",
                "-q",
                "-S",
                "--no-ff",
                "-m",
                "Merge feature/notes",
                "origin/feature/notes",
            ],
            None,
        )?;
        self.push(&a, "alice", &["origin", "main"])?;

        step("alice rewrites main and force-pushes: nobody may force-push main.");
        self.git(&a, &["reset", "-q", "--hard", "HEAD~1"], None)?;
        self.commit(&a, "CHANGES", "v1 again", "Rewritten history", true)?;
        self.push(&a, "alice", &["-f", "origin", "main"])?;

        step("alice tags a release without signing it: release tags must be signed.");
        self.git(&a, &["reset", "-q", "--hard", "origin/main"], None)?;
        self.git(&a, &["tag", "v1.0"], None)?;
        self.push(&a, "alice", &["origin", "v1.0"])?;

        step("alice makes a signed, annotated tag instead: accepted.");
        self.git(&a, &["tag", "-d", "v1.0"], None)?;
        self.git(&a, &["tag", "-s", "v1.0", "-m", "Release 1.0"], None)?;
        self.push(&a, "alice", &["origin", "v1.0"])?;

        step("A dry run: would mallory (unknown to the policy) be allowed to delete main?");
        let main = self.git(
            &r.join("server.git"),
            &["rev-parse", "refs/heads/main"],
            None,
        )?;
        let main = String::from_utf8_lossy(&main.stdout).trim().to_string();
        self.show(
            r,
            &self.exe,
            &[
                "check",
                "--repo",
                "server.git",
                "--as",
                "mallory",
                "refs/heads/main",
                &main,
                &"0".repeat(40),
            ],
            None,
        )?;
        say("\nThat is refguard. Next: the README's \"Install into a real server repository\".");
        Ok(())
    }

    fn keygen(&self, user: &str) -> Result<String> {
        let keys = self.root.join("keys");
        fs::create_dir_all(&keys)?;
        let path = keys.join(user);
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C"])
            .arg(format!("{user}@demo"))
            .arg("-f")
            .arg(&path)
            .output()
            .context("cannot run ssh-keygen")?;
        if !out.status.success() {
            bail!(
                "ssh-keygen failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(fs::read_to_string(path.with_extension("pub"))?
            .trim()
            .to_string())
    }

    fn commit(&self, dir: &Path, file: &str, content: &str, msg: &str, sign: bool) -> Result<()> {
        fs::write(dir.join(file), content)?;
        self.git(dir, &["add", file], None)?;
        let sign_flag = if sign { "-S" } else { "--no-gpg-sign" };
        self.git(dir, &["commit", "-q", sign_flag, "-m", msg], None)?;
        Ok(())
    }

    fn push(&self, dir: &Path, user: &str, args: &[&str]) -> Result<()> {
        let mut full = vec!["push", "-q"];
        full.extend_from_slice(args);
        println!("  $ REFGUARD_USER={user} git {}", full.join(" "));
        let out = self.git_output(dir, &full, Some(user))?;
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            println!("    {}", line.trim_end());
        }
        println!(
            "  => {}",
            if out.status.success() {
                "accepted"
            } else {
                "rejected"
            }
        );
        Ok(())
    }

    fn show(&self, dir: &Path, program: &Path, args: &[&str], user: Option<&str>) -> Result<()> {
        println!("  $ refguard {}", args.join(" "));
        let out = self.command(dir, program, args, user).output()?;
        for line in String::from_utf8_lossy(&out.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&out.stderr).lines())
        {
            println!("    {line}");
        }
        Ok(())
    }

    fn git(&self, dir: &Path, args: &[&str], user: Option<&str>) -> Result<Output> {
        let out = self.git_output(dir, args, user)?;
        if !out.status.success() {
            bail!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(out)
    }

    fn git_output(&self, dir: &Path, args: &[&str], user: Option<&str>) -> Result<Output> {
        self.command(dir, Path::new("git"), args, user)
            .output()
            .context("cannot run git")
    }

    /// A command isolated from the user's own git configuration and identity.
    fn command(&self, dir: &Path, program: &Path, args: &[&str], user: Option<&str>) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(dir);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().to_string();
            if k.starts_with("GIT_") || crate::session::PUSHER_VARS.contains(&k.as_str()) {
                cmd.env_remove(k);
            }
        }
        cmd.env("HOME", &self.root)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", user.unwrap_or("demo"))
            .env("GIT_AUTHOR_EMAIL", "demo@example.com")
            .env("GIT_COMMITTER_NAME", user.unwrap_or("demo"))
            .env("GIT_COMMITTER_EMAIL", "demo@example.com");
        if let Some(user) = user {
            cmd.env("REFGUARD_USER", user);
        }
        cmd
    }
}

fn say(text: &str) {
    println!("{text}");
}

fn step(text: &str) {
    println!("\n== {text}");
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

const ROLES: &str = r#"version = 1

[users.alice]
keys = ["@ALICE@"]

[users.bob]
keys = ["@BOB@"]

[roles]
maintainers      = ["alice"]
developers       = ["bob", "maintainers"]
release-managers = ["alice"]

[policy]
admins = ["alice"]

[[rule]]
refs       = ["refs/heads/main"]
push       = ["maintainers"]
signers    = ["developers"]
merge      = ["maintainers"]

[[rule]]
refs    = ["refs/tags/v*"]
create  = ["release-managers"]
signers = ["release-managers"]

[[rule]]
refs       = ["refs/heads/feature/**"]
push       = ["*"]
force_push = ["*"]
delete     = ["*"]
"#;
