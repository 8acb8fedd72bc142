//! Who made a signature, in the terms the policy and the verifier share: a key identity
//! (kind, lookup bytes, fingerprint, algorithm) and the outcome of checking a signature.
//! Pure data; the policy parser and the verifier both compute identities with
//! [`KeyId::ssh`], so a signature's key and a listed key meet on the same bytes.

use ssh_key::HashAlg;
use ssh_key::public::KeyData;

/// A kind of key, each with its own lookup namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    /// An OpenSSH public key (SSHSIG signatures).
    Ssh,
}

/// The identity of a public key that produced a cryptographically valid signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyId {
    /// What kind of key: the namespace `blob` is looked up in.
    pub kind: KeyKind,
    /// The lookup identity: for SSH, the wire encoding of the public key (what the base64 of
    /// an OpenSSH key line decodes to).
    pub blob: Vec<u8>,
    /// The fingerprint people use: `SHA256:...` as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
    /// Key algorithm, e.g. `ssh-ed25519`.
    pub algorithm: String,
    /// For a FIDO key (`sk-ssh-ed25519@openssh.com`, `sk-ecdsa-sha2-nistp256@openssh.com`):
    /// whether the signature's flags byte has the user-presence bit (`0x01`) set, i.e. the
    /// security key was touched. The flags are covered by the signature. `None` for every
    /// other key type. The policy decides whether an untouched signature counts
    /// (`touch_required`).
    pub user_present: Option<bool>,
}

/// What signature an object carries, and whether it verifies (before any policy lookup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// No signature at all.
    Unsigned,
    /// A signature of a format refguard does not verify (OpenPGP, X.509).
    Unsupported {
        /// The format's name, e.g. `OpenPGP`.
        format: String,
    },
    /// An SSH signature that is malformed, has the wrong namespace or does not verify.
    Bad {
        /// What is wrong, for the message.
        detail: String,
    },
    /// An SSH signature (namespace `git`) that verifies over the object with this key.
    Valid(KeyId),
}

impl KeyId {
    /// The identity of an SSH public key: the wire encoding of its key data (the bytes the
    /// base64 field of an OpenSSH public key line decodes to), its `SHA256:` fingerprint and
    /// algorithm name; `user_present` as a FIDO signature's flags say (`None` otherwise).
    /// `None` when the key cannot be encoded (a malformed key matches nothing: fail closed).
    pub fn ssh(key: &KeyData, user_present: Option<bool>) -> Option<KeyId> {
        // ssh-key 0.6 has no `encode_vec`; `PublicKey::to_bytes` is the same encoding.
        let blob = ssh_key::PublicKey::from(key.clone()).to_bytes().ok()?;
        Some(KeyId {
            kind: KeyKind::Ssh,
            blob,
            fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
            algorithm: key.algorithm().as_str().to_owned(),
            user_present,
        })
    }
}
