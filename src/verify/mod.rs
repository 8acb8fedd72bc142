//! Signature verification: split signed git objects into payload and signature, and verify
//! SSHSIG (namespace `git`) and OpenPGP signatures (spec §12, `openpgp.rs`, with a
//! [`Keyring`] of certificates the caller hands in) in-process. Knows nothing of the policy
//! and never panics on input.
//!
//! Which key signed is reported as a [`KeyId`]; whether that key may sign is the policy's job.
//!
//! FIDO keys (`sk-ssh-ed25519@openssh.com`, `sk-ecdsa-sha2-nistp256@openssh.com`): neither
//! ssh-key 0.6.7 nor `ssh-keygen -Y verify` looks at the user-presence flag, so a signature
//! made without touching the security key verifies. [`check`] therefore reports the flag in
//! [`KeyId::user_present`], and the engine rejects an untouched signature unless the policy
//! allows it for that key (`touch_required = false`, OpenSSH's `no-touch-required`). The
//! difference from `ssh-keygen -Y verify` is asserted in `sk_tests.rs`.
//!
//! SSHSIGs made with an SSH certificate do not parse in 0.6.7 and are reported as bad.
//!
//! The armor and the encodings inside it are read as `ssh-keygen -Y verify` reads them
//! (`sshsig.rs`): base64 at any line width, with blank lines, CRs after the header line and
//! text after the footer; ECDSA integers with needless leading zero bytes; RSA signatures
//! shorter than the modulus. Nothing OpenSSH refuses is accepted; `corpus_tests.rs` checks
//! that against `ssh-keygen` itself.
//!
//! ECDSA P-256/P-384 and RSA signatures are verified with `ring`, and `ssh-ed25519` ones with
//! ed25519-dalek and keys decompressed once per thread, where each agrees with ssh-key by
//! construction (`fast.rs`); ssh-key parses every signature and verifies the rest.

mod fast;
mod openpgp;
mod split;
mod sshsig;

pub use openpgp::Keyring;
pub use split::{ObjectFormat, split_commit, split_commit_for, split_tag};

use ssh_key::public::KeyData;
use ssh_key::{Algorithm, HashAlg, PublicKey, SshSig};

use crate::engine::{KeyId, SignatureCheck};

/// The SSHSIG namespace git signs commits, tags and push certificates in.
const NAMESPACE: &str = "git";

/// FIDO flag bit: the user touched the security key (user presence, PROTOCOL.u2f).
const USER_PRESENT: u8 = 0x01;

/// Length of the trailer a FIDO signature carries after its inner signature: `byte flags ||
/// uint32 counter`.
const SK_TRAILER: usize = 5;

/// Verifies an armored signature over `payload`: SSHSIG (namespace `git`), or OpenPGP with
/// the certificates of `keyring` (X.509 is reported as unsupported).
///
/// The format is recognized as git does (`get_format_by_sig`): by the armor header the
/// signature starts with. Anything else, including an empty signature, is
/// [`SignatureCheck::Bad`]. A valid signature is reported with the key that made it (for
/// SSH, the key embedded in it; for OpenPGP, the keyring's key its issuer names); the caller
/// decides whether that key is allowed. An OpenPGP signature whose issuer no certificate of
/// the keyring holds is [`SignatureCheck::NoCertificate`].
pub fn check(signature: &[u8], payload: &[u8], keyring: &Keyring) -> SignatureCheck {
    use split::{PGP_MESSAGE, PGP_SIGNATURE, SSH, X509};

    if signature.starts_with(PGP_SIGNATURE) || signature.starts_with(PGP_MESSAGE) {
        return openpgp::check(signature, payload, keyring);
    }
    if signature.starts_with(X509) {
        return unsupported("X.509");
    }
    if !signature.starts_with(SSH) {
        return bad("not an SSH, OpenPGP or X.509 signature".to_owned());
    }
    check_ssh(signature, payload, fast::verify)
}

/// [`check`] with each of `keyrings`, in order, the signature read once: an OpenPGP one
/// verified once per distinct set of keys its issuer names in them, any other (which needs
/// no keyring) once.
pub fn check_each(signature: &[u8], payload: &[u8], keyrings: &[&Keyring]) -> Vec<SignatureCheck> {
    use split::{PGP_MESSAGE, PGP_SIGNATURE};

    if signature.starts_with(PGP_SIGNATURE) || signature.starts_with(PGP_MESSAGE) {
        return openpgp::check_each(signature, payload, keyrings);
    }
    match keyrings.first() {
        Some(keyring) => vec![check(signature, payload, keyring); keyrings.len()],
        None => Vec::new(),
    }
}

/// How [`check_ssh`] verifies a parsed SSHSIG: [`fast::verify`], or in tests ssh-key alone
/// ([`fast::reference`]) to compare with.
type Verify = fn(&PublicKey, &str, &[u8], &SshSig) -> Result<(), ssh_key::Error>;

/// [`check`] with ssh-key's own verification instead of [`fast::verify`]: the reference the
/// faster backend is tested against.
///
/// Public only for the fuzz targets (`fuzz/`), which check that both agree on every input;
/// not part of the library's API.
#[doc(hidden)]
pub fn check_reference(signature: &[u8], payload: &[u8]) -> SignatureCheck {
    if signature.starts_with(split::SSH) {
        check_ssh(signature, payload, fast::reference)
    } else {
        check(signature, payload, &Keyring::empty())
    }
}

/// Verifies an SSHSIG armor over `payload`.
fn check_ssh(armor: &[u8], payload: &[u8], verify: Verify) -> SignatureCheck {
    let sig = match sshsig::parse(armor) {
        Ok(sig) => sig,
        // ssh-key's errors quote the signature's own bytes (`invalid label: '…'`): escape them.
        Err(e) => {
            return bad(format!(
                "malformed SSH signature ({})",
                printable(&e.to_string())
            ));
        }
    };
    if sig.namespace() != NAMESPACE {
        return bad(format!(
            "signature namespace is `{}`, expected `{NAMESPACE}`",
            printable(sig.namespace())
        ));
    }
    // Decoding already rejects other hashes; `HashAlg` is non-exhaustive, and a future
    // variant must be rejected here until someone decides it is acceptable.
    match sig.hash_alg() {
        HashAlg::Sha256 | HashAlg::Sha512 => {}
        other => return bad(format!("unsupported SSHSIG hash `{}`", other.as_str())),
    }

    let public_key = PublicKey::from(sig.public_key().clone());
    match verify(&public_key, NAMESPACE, payload, &sig) {
        Ok(()) => {}
        Err(ssh_key::Error::AlgorithmUnknown) => {
            return bad("unknown signature algorithm".to_owned());
        }
        Err(ssh_key::Error::AlgorithmUnsupported { algorithm }) => {
            return bad(format!(
                "unsupported signature algorithm `{}`",
                printable(algorithm.as_str())
            ));
        }
        Err(_) => return bad("signature does not verify over the commit".to_owned()),
    }

    let key_data = public_key.key_data();
    let user_present = match user_presence(key_data, &sig) {
        Ok(flag) => flag,
        Err(detail) => return bad(detail),
    };
    match KeyId::ssh(key_data, user_present) {
        Some(key) => SignatureCheck::Valid(key),
        None => bad("cannot encode the signing key".to_owned()),
    }
}

/// For a FIDO key, whether the (already verified) signature has the user-presence flag set;
/// `None` for any other key type.
///
/// A FIDO signature is `string algorithm || string signature || byte flags || uint32
/// counter`; ssh-key keeps `signature || flags || counter` as the signature bytes and
/// verifies with the last five of them as flags and counter, so the flags byte read here is
/// exactly the one the signature covers. Like OpenSSH (`sshkey_verify`), the signature's
/// algorithm must name the key's own type: ssh-key 0.6.7 does not check that, and would
/// otherwise accept a FIDO signature under another algorithm name whose flags sit somewhere
/// else. Never panics: a signature too short to hold the trailer is an error.
fn user_presence(key: &KeyData, sig: &SshSig) -> Result<Option<bool>, String> {
    let algorithm = key.algorithm();
    if !matches!(
        algorithm,
        Algorithm::SkEd25519 | Algorithm::SkEcdsaSha2NistP256
    ) {
        return Ok(None);
    }
    if sig.algorithm() != algorithm {
        return Err(format!(
            "signature algorithm `{}` does not match the `{}` key",
            printable(sig.algorithm().as_str()),
            algorithm.as_str()
        ));
    }
    let bytes = sig.signature_bytes();
    let flags = bytes
        .len()
        .checked_sub(SK_TRAILER)
        .and_then(|at| bytes.get(at))
        .ok_or_else(|| "FIDO signature has no flags and counter".to_owned())?;
    Ok(Some(flags & USER_PRESENT != 0))
}

/// A [`SignatureCheck::Unsupported`] for `format`.
fn unsupported(format: &str) -> SignatureCheck {
    SignatureCheck::Unsupported {
        format: format.to_owned(),
    }
}

/// A [`SignatureCheck::Bad`] with `detail`.
fn bad(detail: String) -> SignatureCheck {
    SignatureCheck::Bad { detail }
}

/// `s` made safe for a one-line message shown to the pusher: control characters escaped and
/// at most 64 characters (the namespace comes from attacker-controlled bytes).
fn printable(s: &str) -> String {
    let mut out: String = s.chars().take(64).flat_map(char::escape_default).collect();
    if s.chars().nth(64).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
pub(crate) mod testkeys;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod sk_tests;

#[cfg(test)]
mod fast_tests;

#[cfg(test)]
mod corpus_tests;

#[cfg(test)]
mod openpgp_tests;
