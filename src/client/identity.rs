//! Who the pre-push check judges as (spec §13): `git config refguard.user` names the pusher
//! as the server knows them; else the user of the policy who holds the key in
//! `user.signingKey` (with `gpg.format = ssh`), read as git reads it for signing: a literal
//! `key::` key (or, as older git allowed, a bare `ssh-...` key line), else the path of a
//! public or private key file (`~/` expanded), whose `.pub` companion is tried last.

use std::path::{Path, PathBuf};

use ssh_key::{PrivateKey, PublicKey};

use crate::git::{self, Repo};
use crate::policy::Policy;
use crate::signature::KeyId;

/// The pusher name the check judges as, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// `git config refguard.user`.
    Configured(String),
    /// The policy user who holds the signing key: the name (the user's first pusher name)
    /// and the key's fingerprint.
    SigningKey {
        /// The pusher name that maps to the key's owner.
        name: String,
        /// The user id.
        user: String,
        /// `SHA256:...`.
        fingerprint: String,
    },
}

impl Identity {
    /// The pusher name to judge with.
    pub fn pusher(&self) -> &str {
        match self {
            Identity::Configured(name) => name,
            Identity::SigningKey { name, .. } => name,
        }
    }

    /// How the identity was found, for messages: `user bob (refguard.user)`.
    pub fn describe(&self) -> String {
        match self {
            Identity::Configured(name) => format!("\"{name}\" from refguard.user"),
            Identity::SigningKey {
                user, fingerprint, ..
            } => format!("user {user}, holder of user.signingKey {fingerprint}"),
        }
    }
}

/// Who to judge as under `policy`, or why that cannot be told (one line).
pub fn resolve(repo: &Repo, policy: &Policy) -> Result<Identity, String> {
    let config = |name: &str| -> Result<Option<String>, String> {
        repo.config_string(name)
            .map(|v| v.filter(|v| !v.trim().is_empty()))
            .map_err(|e: git::Error| e.to_string())
    };
    if let Some(name) = config("refguard.user")? {
        return Ok(Identity::Configured(name.trim().to_owned()));
    }
    const HOW: &str = "set git config refguard.user to your name on the server";
    let Some(value) = config("user.signingKey")? else {
        return Err(format!("who is pushing is unknown: {HOW}"));
    };
    let format = config("gpg.format")?.unwrap_or_else(|| "openpgp".into());
    if format != "ssh" {
        return Err(format!(
            "user.signingKey is a {format} key, and the policy lists SSH keys: {HOW}"
        ));
    }
    let base = repo.work_dir().unwrap_or(repo.git_dir()).to_path_buf();
    let key = signing_key(&value, &base, std::env::var_os("HOME").map(PathBuf::from))?;
    let Some(id) = KeyId::ssh(key.key_data(), None) else {
        return Err(format!("user.signingKey {value} cannot be encoded: {HOW}"));
    };
    let Some((user, _)) = policy.key_owner(&id) else {
        return Err(format!(
            "no user of the policy holds user.signingKey ({}): {HOW}",
            id.fingerprint
        ));
    };
    Ok(Identity::SigningKey {
        name: user
            .names
            .first()
            .cloned()
            .unwrap_or_else(|| user.id.clone()),
        user: user.id.clone(),
        fingerprint: id.fingerprint,
    })
}

/// The public key `user.signingKey` names (see the module docs); `base` resolves a relative
/// path (git runs the signer in the work tree), `home` expands `~/`.
pub fn signing_key(value: &str, base: &Path, home: Option<PathBuf>) -> Result<PublicKey, String> {
    let value = value.trim();
    if let Some(literal) = value.strip_prefix("key::") {
        return PublicKey::from_openssh(literal.trim())
            .map_err(|e| format!("user.signingKey key::... does not parse: {e}"));
    }
    // Older git took a bare key line too (`is_literal_ssh_key` in gpg-interface.c).
    if (value.starts_with("ssh-") || value.starts_with("ecdsa-") || value.starts_with("sk-"))
        && let Ok(key) = PublicKey::from_openssh(value)
    {
        return Ok(key);
    }
    let path = match value.strip_prefix("~/") {
        Some(rest) => match home {
            Some(home) => home.join(rest),
            None => return Err("user.signingKey starts with ~/ and HOME is not set".into()),
        },
        None => base.join(value),
    };
    let read = |path: &Path| std::fs::read_to_string(path);
    let text =
        read(&path).map_err(|e| format!("cannot read user.signingKey {}: {e}", path.display()))?;
    if let Ok(key) = PublicKey::from_openssh(text.trim()) {
        return Ok(key);
    }
    if let Ok(key) = PrivateKey::from_openssh(text.trim()) {
        return Ok(key.public_key().clone());
    }
    let mut public = path.clone().into_os_string();
    public.push(".pub");
    match read(Path::new(&public)) {
        Ok(text) => PublicKey::from_openssh(text.trim()).map_err(|e| {
            format!(
                "{} does not parse as a public key: {e}",
                Path::new(&public).display()
            )
        }),
        Err(_) => Err(format!(
            "user.signingKey {} is neither a public nor a private OpenSSH key",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ALICE, key_id};

    #[test]
    fn literal_keys_and_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let want = key_id(ALICE).fingerprint;
        let fp = |key: PublicKey| key.fingerprint(ssh_key::HashAlg::Sha256).to_string();
        let literal = signing_key(&format!("key::{ALICE}"), dir.path(), None).expect("literal");
        assert_eq!(fp(literal), want);
        let bare = signing_key(ALICE, dir.path(), None).expect("bare key line");
        assert_eq!(fp(bare), want);

        std::fs::write(dir.path().join("id.pub"), format!("{ALICE}\n")).expect("write");
        let relative = signing_key("id.pub", dir.path(), None).expect("relative path");
        assert_eq!(fp(relative), want);
        let home = signing_key("~/id.pub", Path::new("/nowhere"), Some(dir.path().into()))
            .expect("home path");
        assert_eq!(fp(home), want);

        // A private key file whose content is not readable here: its .pub is used.
        std::fs::write(dir.path().join("id"), "not a key").expect("write");
        let companion = signing_key("id", dir.path(), None).expect("companion .pub");
        assert_eq!(fp(companion), want);

        assert!(signing_key("missing", dir.path(), None).is_err());
        assert!(signing_key("~/id.pub", dir.path(), None).is_err());
        assert!(signing_key("key::ssh-ed25519 AAAA", dir.path(), None).is_err());
    }
}
