//! Who made a signature, in the terms the policy and the verifier share: a key identity
//! (kind, lookup bytes, fingerprint, algorithm) and the outcome of checking a signature.
//! Pure data; the policy parser and the verifier both compute identities with
//! [`KeyId::ssh`] and [`KeyId::openpgp`], so a signature's key and a listed key meet on the
//! same bytes.

use ssh_key::HashAlg;
use ssh_key::public::KeyData;

/// A kind of key, each with its own lookup namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    /// An OpenSSH public key (SSHSIG signatures).
    Ssh,
    /// An OpenPGP certificate (spec §12), looked up by its primary key's fingerprint: a
    /// signature by any of its keys finds the certificate.
    OpenPgp,
}

/// The identity of a public key that produced a cryptographically valid signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyId {
    /// What kind of key: the namespace `blob` is looked up in.
    pub kind: KeyKind,
    /// The lookup identity: for SSH, the wire encoding of the public key (what the base64 of
    /// an OpenSSH key line decodes to); for OpenPGP, the certificate's primary key
    /// fingerprint bytes.
    pub blob: Vec<u8>,
    /// The fingerprint people use: `SHA256:...` as `ssh-keygen -lf` prints it; for OpenPGP,
    /// `openpgp:` and the signing key's fingerprint (the primary key's or a subkey's).
    pub fingerprint: String,
    /// Key algorithm, e.g. `ssh-ed25519`, or for OpenPGP as GnuPG names it (`ed25519`,
    /// `rsa3072`).
    pub algorithm: String,
    /// For OpenPGP: the certificate, `openpgp:` and its primary key's fingerprint (equal to
    /// `fingerprint` when the primary key signed). `None` for SSH.
    pub certificate: Option<String>,
    /// For OpenPGP: when the signature itself stops counting (its signature expiration
    /// time), if it says so. Judged at push time by the engine. `None` for SSH.
    pub signature_expires: Option<time::OffsetDateTime>,
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
    /// A signature of a format refguard does not verify (X.509).
    Unsupported {
        /// The format's name, e.g. `OpenPGP`.
        format: String,
    },
    /// An OpenPGP signature whose issuer no certificate of the policy holds: it cannot be
    /// verified, and whoever made it is unknown to the policy.
    NoCertificate {
        /// The issuer as the signature names it: `openpgp:` and a fingerprint, or a 16-digit
        /// key id.
        issuer: String,
    },
    /// A signature that is malformed, uses a refused algorithm or version, has the wrong
    /// namespace or does not verify.
    Bad {
        /// What is wrong, for the message.
        detail: String,
    },
    /// A signature (SSH namespace `git`, or OpenPGP by a listed certificate) that verifies
    /// over the object with this key.
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
            certificate: None,
            signature_expires: None,
        })
    }

    /// The identity of an OpenPGP signing key `key` of certificate `cert`: looked up by the
    /// certificate's primary fingerprint, named by the signing key's fingerprint.
    pub fn openpgp(
        cert: &crate::openpgp::Certificate,
        key: &crate::openpgp::Key,
        signature_expires: Option<time::OffsetDateTime>,
    ) -> KeyId {
        KeyId {
            kind: KeyKind::OpenPgp,
            blob: cert.primary().fingerprint_bytes.clone(),
            fingerprint: key.name(),
            algorithm: key.algorithm.clone(),
            user_present: None,
            certificate: Some(cert.name()),
            signature_expires,
        }
    }

    /// The fingerprints that name this key in `[[revoked]]`: its own, and for an OpenPGP
    /// subkey also its certificate's.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.fingerprint.as_str()).chain(
            self.certificate
                .as_deref()
                .filter(|c| *c != self.fingerprint),
        )
    }
}
