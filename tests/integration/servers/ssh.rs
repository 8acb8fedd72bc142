//! refguard behind a real OpenSSH `sshd` with `git-shell`: each user's key is mapped to a
//! pusher name in `authorized_keys`, by a forced command (recommended) or by
//! `environment=` with `PermitUserEnvironment REFGUARD_USER`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::harness::{
    Daemon, Key, Pushed, World, free_port, is_root, key, login_name, program, require,
};

/// Programs an sshd test needs, with their Debian packages.
pub const SSHD: &[(&str, &str)] = &[("sshd", "openssh-server"), ("ssh", "openssh-client")];

/// A non-privileged `sshd -D` on 127.0.0.1 with its own host key and config, logging clients
/// in as the current user (the "git account").
pub struct Sshd {
    /// The port it listens on.
    pub port: u16,
    known_hosts: PathBuf,
    // Dropped last: stops sshd and every session it forked.
    daemon: Daemon,
}

impl Sshd {
    /// Starts sshd with `authorized_keys` and extra `sshd_config` lines, in `world/name/`.
    pub fn start(world: &World, name: &str, authorized_keys: &Path, extra: &str) -> Sshd {
        let dir = world.root.join(name);
        fs::create_dir_all(&dir).expect("mkdir sshd dir");
        let host_key = dir.join("ssh_host_ed25519_key");
        world.run_ok(
            world
                .cmd("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&host_key),
        );
        if is_root() {
            // sshd insists on its privilege separation directory when started as root.
            let _ = fs::create_dir_all("/run/sshd");
        }
        let port = free_port();
        let config = format!(
            "Port {port}\n\
             ListenAddress 127.0.0.1\n\
             HostKey {host_key}\n\
             PidFile {pid}\n\
             AuthorizedKeysFile {keys}\n\
             StrictModes no\n\
             UsePAM no\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\n\
             AllowUsers {user}\n\
             LogLevel VERBOSE\n\
             {extra}",
            host_key = host_key.display(),
            pid = dir.join("sshd.pid").display(),
            keys = authorized_keys.display(),
            user = login_name(),
        );
        let config_path = dir.join("sshd_config");
        fs::write(&config_path, config).expect("write sshd_config");
        let sshd = program("sshd");
        // -t first: a config error is then reported as such, not as "did not listen".
        world.run_ok(Command::new(&sshd).arg("-t").arg("-f").arg(&config_path));
        let mut cmd = Command::new(&sshd);
        cmd.args(["-D", "-e", "-f"]).arg(&config_path);
        let mut daemon = Daemon::spawn("sshd", cmd, &dir.join("sshd.log"));
        daemon.wait_for_port(port);
        let host_pub = fs::read_to_string(host_key.with_extension("pub")).expect("host key");
        let known_hosts = dir.join("known_hosts");
        fs::write(&known_hosts, format!("[127.0.0.1]:{port} {host_pub}")).expect("known_hosts");
        Sshd {
            port,
            known_hosts,
            daemon,
        }
    }

    /// `GIT_SSH_COMMAND` for a client using `key`: that key only, this server's host key only.
    pub fn ssh_command(&self, key: &Key) -> String {
        format!(
            "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o BatchMode=yes \
             -o StrictHostKeyChecking=yes -o UserKnownHostsFile={} -p {}",
            key.private.display(),
            self.known_hosts.display(),
            self.port
        )
    }

    /// The `ssh://` URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("ssh://{}@127.0.0.1:{}{path}", login_name(), self.port)
    }

    /// sshd's log, for failure messages.
    pub fn log(&self) -> String {
        self.daemon.log_text()
    }

    /// `git push` from `client` to `url` over this server as `key`.
    pub fn push(
        &self,
        world: &World,
        client: &Path,
        key: &Key,
        url: &str,
        args: &[&str],
    ) -> Pushed {
        let mut cmd = world.cmd("git");
        cmd.arg("-C")
            .arg(client)
            .env("GIT_SSH_COMMAND", self.ssh_command(key))
            .arg("push")
            .arg(url)
            .args(args);
        Pushed::run(world, &mut cmd)
    }
}

/// The forced command that maps a key to a pusher name: sshd runs it instead of what the
/// client asked for, which stays in `$SSH_ORIGINAL_COMMAND` and goes through `git-shell`
/// (only git's transport commands). The user cannot change either.
pub fn forced_command_line(user: &str, key: &Key) -> String {
    format!(
        "restrict,command=\"export REFGUARD_USER={user}; exec git-shell -c \\\"$SSH_ORIGINAL_COMMAND\\\"\" {}",
        key.public
    )
}

/// A policy: alice may push main, bob is a known user who may not; commits must be signed
/// by alice or bob. Other refs are unprotected.
pub fn roles(alice: &Key, bob: &Key) -> String {
    format!(
        "version = 1\n\
         [users.alice]\nkeys = [\"{}\"]\n\
         [users.bob]\nkeys = [\"{}\"]\n\
         [policy]\nadmins = [\"alice\"]\n\
         [[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"alice\"]\nsigners = [\"alice\", \"bob\"]\n",
        alice.public, bob.public
    )
}

#[test]
fn ssh_forced_command_maps_keys_to_pushers() {
    if !require("ssh_forced_command_maps_keys_to_pushers", SSHD) {
        return;
    }
    let w = World::new();
    let (alice, bob) = (key("alice"), key("bob"));
    let server = w.root.join("srv/project.git");
    w.server_repo(&server, &roles(alice, bob));
    let keys = w.write(
        "authorized_keys",
        &format!(
            "{}\n{}\n",
            forced_command_line("alice", alice),
            forced_command_line("bob", bob)
        ),
    );
    let sshd = Sshd::start(&w, "sshd", &keys, "");
    let url = sshd.url(&server.display().to_string());

    let a = w.client("alice", &server, alice);
    w.commit(&a, "Alice's change");
    let pushed = sshd.push(&w, &a, alice, &url, &["HEAD:refs/heads/main"]);
    assert!(pushed.ok, "{}\n--- sshd ---\n{}", pushed.stderr, sshd.log());
    pushed.assert_accepted();
    assert_eq!(w.last_audit(&server)["pusher"], "alice");

    let b = w.client("bob", &server, bob);
    w.commit(&b, "Bob's change");
    let pushed = sshd.push(&w, &b, bob, &url, &["HEAD:refs/heads/main"]);
    pushed.assert_rejected(&[
        "refguard: rejected refs/heads/main (",
        "refguard:   [push-denied] \"bob\" may not push to refs/heads/main (push: alice; rule roles.toml:8)",
        "refguard:   hint: ask an admin to add you to the rule's list",
    ]);
    assert!(
        pushed
            .stderr
            .contains("! [remote rejected] HEAD -> main (pre-receive hook declined)")
    );
    assert_eq!(w.last_audit(&server)["pusher"], "bob");
    assert_eq!(w.last_audit(&server)["decision"], "reject");

    // Unprotected refs take anyone the forced command lets in.
    let pushed = sshd.push(&w, &b, bob, &url, &["HEAD:refs/heads/topic"]);
    pushed.assert_accepted();

    // git-shell refuses anything but git's transport commands, whatever the client asks.
    let out =
        w.run(Command::new("sh").args(["-c", &format!("{} 127.0.0.1 id", sshd.ssh_command(bob))]));
    assert!(!out.status.success());
}

#[test]
fn ssh_environment_option_with_permit_user_environment() {
    if !require("ssh_environment_option_with_permit_user_environment", SSHD) {
        return;
    }
    let w = World::new();
    let (alice, bob) = (key("alice"), key("bob"));
    let server = w.root.join("srv/project.git");
    w.server_repo(&server, &roles(alice, bob));
    // In production the git account's login shell is git-shell; here the account is the
    // test's own user, whose shell runs `git-receive-pack '...'` as the client asks.
    let keys = w.write(
        "authorized_keys",
        &format!(
            "restrict,environment=\"REFGUARD_USER=alice\" {}\nrestrict,environment=\"REFGUARD_USER=bob\" {}\n",
            alice.public, bob.public
        ),
    );
    let sshd = Sshd::start(&w, "sshd", &keys, "PermitUserEnvironment REFGUARD_USER\n");
    let url = sshd.url(&server.display().to_string());

    let a = w.client("alice", &server, alice);
    w.commit(&a, "Alice's change");
    let pushed = sshd.push(&w, &a, alice, &url, &["HEAD:refs/heads/main"]);
    assert!(pushed.ok, "{}\n--- sshd ---\n{}", pushed.stderr, sshd.log());

    let b = w.client("bob", &server, bob);
    w.commit(&b, "Bob's change");
    sshd.push(&w, &b, bob, &url, &["HEAD:refs/heads/main"])
        .assert_rejected(&["refguard:   [push-denied] \"bob\" may not push to refs/heads/main"]);
}
