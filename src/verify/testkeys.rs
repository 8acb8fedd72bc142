//! Test support: SSH keys made once per test binary with the real `ssh-keygen`, and signing
//! with it, in an isolated environment (no agent, no user config).
//!
//! FIDO (`sk-*`) keys are not generated: `ssh-keygen` needs a security key to make them.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::testutil::{base64_decode, run_with_stdin};
use std::sync::OnceLock;

/// One generated key pair, held in memory.
pub(crate) struct TestKey {
    /// Short name, used for file names.
    pub name: &'static str,
    /// The OpenSSH private key file's text.
    pub private: String,
    /// The `.pub` line.
    pub public: String,
    /// The `SHA256:` fingerprint as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
    /// The key algorithm name, e.g. `ssh-ed25519`.
    pub algorithm: &'static str,
}

impl TestKey {
    /// Writes the key pair to `dir/<name>` and `dir/<name>.pub`; returns the private key path.
    pub fn write_to(&self, dir: &Path) -> PathBuf {
        let private = dir.join(self.name);
        fs::write(&private, &self.private).expect("write private key");
        fs::set_permissions(&private, fs::Permissions::from_mode(0o600)).expect("chmod key");
        fs::write(dir.join(format!("{}.pub", self.name)), &self.public).expect("write pub");
        private
    }

    /// The public key's SSH wire encoding (what [`crate::engine::KeyId::blob`] must equal):
    /// the base64 field of the `.pub` line, decoded here independently of ssh-key.
    pub fn blob(&self) -> Vec<u8> {
        let field = self.public.split_whitespace().nth(1).expect("base64 field");
        base64_decode(field)
    }

    /// Signs `payload` with `ssh-keygen -Y sign -n <namespace>` plus `extra` arguments.
    pub fn sign(&self, namespace: &str, payload: &[u8], extra: &[&str]) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = self.write_to(dir.path());
        let out = run_with_stdin(
            ssh_keygen(dir.path())
                .args(["-Y", "sign", "-n", namespace, "-f"])
                .arg(&key)
                .args(extra),
            payload,
        );
        assert!(
            out.status.success(),
            "ssh-keygen -Y sign: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

/// The keys every test shares.
pub(crate) struct Keys {
    /// ssh-ed25519.
    pub ed25519: TestKey,
    /// ecdsa-sha2-nistp256.
    pub p256: TestKey,
    /// ecdsa-sha2-nistp384.
    pub p384: TestKey,
    /// ecdsa-sha2-nistp521.
    pub p521: TestKey,
    /// ssh-rsa, 3072 bits.
    pub rsa: TestKey,
    /// A second ed25519 key (another user).
    pub other: TestKey,
}

impl Keys {
    /// All keys, for table-driven tests.
    pub fn all(&self) -> [&TestKey; 6] {
        [
            &self.ed25519,
            &self.p256,
            &self.p384,
            &self.p521,
            &self.rsa,
            &self.other,
        ]
    }
}

/// `ssh-keygen` with a cleared environment and `HOME` set to `home`.
pub(crate) fn ssh_keygen(home: &Path) -> Command {
    let mut cmd = Command::new("ssh-keygen");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home);
    cmd
}

/// The shared keys, generated on first use (in parallel: RSA takes a moment).
pub(crate) fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(generate)
}

/// Generates the shared keys.
fn generate() -> Keys {
    let dir = tempfile::tempdir().expect("tempdir");
    let specs: [(&'static str, &[&str], &'static str); 6] = [
        ("ed25519", &["-t", "ed25519"], "ssh-ed25519"),
        ("p256", &["-t", "ecdsa", "-b", "256"], "ecdsa-sha2-nistp256"),
        ("p384", &["-t", "ecdsa", "-b", "384"], "ecdsa-sha2-nistp384"),
        ("p521", &["-t", "ecdsa", "-b", "521"], "ecdsa-sha2-nistp521"),
        ("rsa", &["-t", "rsa", "-b", "3072"], "ssh-rsa"),
        ("other", &["-t", "ed25519"], "ssh-ed25519"),
    ];
    let children: Vec<_> = specs
        .iter()
        .map(|(name, args, _)| {
            ssh_keygen(dir.path())
                .args(["-q", "-N", "", "-C", &format!("{name}@test")])
                .args(*args)
                .arg("-f")
                .arg(dir.path().join(name))
                .stdout(Stdio::null())
                .spawn()
                .expect("spawn ssh-keygen")
        })
        .collect();
    for mut child in children {
        assert!(
            child.wait().expect("ssh-keygen").success(),
            "ssh-keygen failed"
        );
    }

    let mut made = specs.map(|(name, _, algorithm)| {
        let private = dir.path().join(name);
        let public = dir.path().join(format!("{name}.pub"));
        let out = ssh_keygen(dir.path())
            .arg("-lf")
            .arg(&public)
            .output()
            .expect("ssh-keygen -lf");
        assert!(out.status.success(), "ssh-keygen -lf failed");
        let listing = String::from_utf8(out.stdout).expect("utf-8 listing");
        // "256 SHA256:... comment (ED25519)"
        let fingerprint = listing
            .split_whitespace()
            .nth(1)
            .expect("fingerprint field")
            .to_owned();
        Some(TestKey {
            name,
            private: fs::read_to_string(private).expect("read private key"),
            public: fs::read_to_string(public).expect("read public key"),
            fingerprint,
            algorithm,
        })
    });
    let mut take = |i: usize| made[i].take().expect("each key taken once");
    Keys {
        ed25519: take(0),
        p256: take(1),
        p384: take(2),
        p521: take(3),
        rsa: take(4),
        other: take(5),
    }
}
