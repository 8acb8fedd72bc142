//! Faster SSHSIG verification: `ring` for ECDSA P-256/P-384 and RSA instead of ssh-key's
//! pure-Rust `p256`/`p384`/`rsa` (measured per signature in `fast_tests.rs`: p256 ≈ 470 →
//! ≈ 100 µs, rsa-3072 ≈ 1.1 ms → ≈ 70 µs in release builds), and ed25519-dalek with
//! per-thread decompressed keys for `ssh-ed25519` (below).
//!
//! ssh-key still parses the SSHSIG (after `sshsig.rs` has read the armor and re-encoded the
//! signature's integers as OpenSSH reads them, so ring and ssh-key see the same [`SshSig`];
//! every structural check stays ssh-key's) and stays the reference: [`verify`] answers `Ok` from ring only when ring accepts the signature **and**
//! every precondition ssh-key 0.6.7 imposes on that key and signature holds; in every other
//! case (ring rejects, the key type is not one ring handles, or a precondition fails) it
//! returns ssh-key's own answer. So a signature that verifies here verifies with ssh-key, and
//! every rejection, with its error, is ssh-key's: [`super::check`] gives the same verdict and
//! the same details as before for every input. A bad signature costs ring's check plus
//! ssh-key's, which only a push that is rejected anyway pays.
//!
//! Plain `ssh-ed25519` is verified by ed25519-dalek, as in ssh-key, with the same call
//! (`VerifyingKey::verify`, cofactorless, the `R` encoding compared byte for byte, `S < L`
//! required) on the same bytes; what differs is that each thread keeps the keys it has
//! decompressed ([`ed25519_verdict`]), which saves a field square root per commit (most
//! commits of a push share a few keys). Batch verification (`ed25519_dalek::verify_batch`)
//! is not used: it accepts signatures whose `R` carries a small-order component that this
//! check refuses (the batch equation is a random linear combination, and a torsion term
//! vanishes from it with probability up to 1/2), and refusing those first costs a scalar
//! multiplication per signature, which is more than the batch saves (measured for issue
//! 20: verify ≈ 49 µs, batch ≈ 23–26 µs plus ≥ 35 µs for the torsion check of `R`).
//!
//! Kept on ssh-key: ECDSA P-521 (ring has no P-521), the FIDO
//! `sk-*` types, and RSA keys outside 2048..=4096 bits. ring refuses RSA moduli under 2048
//! bits, as ssh-key does (it wants at least 256 bytes of modulus, i.e. 2041 bits or more), and
//! ssh-key (the `rsa` crate) refuses moduli over 4096 bits, which ring would accept: such keys
//! therefore get ssh-key's verdict (a key of 2041..=2047 bits that ring refuses is verified by
//! ssh-key; a key over 4096 bits is rejected by it). SHA-1 `ssh-rsa` signatures never reach
//! ring: ssh-key rejects them when parsing. Compressed ECDSA points, which ring does not
//! take, never get here: `sshsig.rs` refuses them, as OpenSSH does.

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use ssh_key::public::{EcdsaPublicKey, KeyData, RsaPublicKey};
use ssh_key::{Algorithm, EcdsaCurve, HashAlg, Mpint, PublicKey, SshSig};

/// Verifies `sig` over `msg` in `namespace` with `key`, exactly as
/// `key.verify(namespace, msg, sig)` (ssh-key 0.6.7) answers, ring deciding when it can.
pub(super) fn verify(
    key: &PublicKey,
    namespace: &str,
    msg: &[u8],
    sig: &SshSig,
) -> Result<(), ssh_key::Error> {
    if ring_verdict(key, namespace, msg, sig) == Some(true)
        || ed25519_verdict(key, namespace, msg, sig) == Some(true)
    {
        return Ok(());
    }
    reference(key, namespace, msg, sig)
}

/// ssh-key's own verification: the reference [`verify`] must agree with.
pub(super) fn reference(
    key: &PublicKey,
    namespace: &str,
    msg: &[u8],
    sig: &SshSig,
) -> Result<(), ssh_key::Error> {
    key.verify(namespace, msg, sig)
}

/// ring's verdict on `sig`, or `None` when ring does not decide: a key type it does not
/// handle here, or an input on which ssh-key would fail before reaching the signature
/// arithmetic (those always get ssh-key's answer).
pub(super) fn ring_verdict(
    key: &PublicKey,
    namespace: &str,
    msg: &[u8],
    sig: &SshSig,
) -> Option<bool> {
    match (key.key_data(), sig.algorithm()) {
        (KeyData::Ecdsa(point), Algorithm::Ecdsa { curve }) if point.curve() == curve => {
            let signed = signed_data(key, namespace, msg, sig)?;
            ecdsa(point, sig.signature_bytes(), &signed)
        }
        (KeyData::Rsa(rsa), Algorithm::Rsa { hash: Some(hash) }) => {
            let signed = signed_data(key, namespace, msg, sig)?;
            rsa_pkcs1(rsa, hash, sig.signature_bytes(), &signed)
        }
        _ => None,
    }
}

/// The data `sig` signs, when a fast path may decide it: `PublicKey::verify`'s own checks
/// (key and namespace as in the SSHSIG), then `SshSig::verify`'s signed data. The public
/// `SshSig::signed_data` always encodes an empty `reserved` field, so a signature with a
/// non-empty one (none exist: OpenSSH writes it empty) is left to ssh-key.
fn signed_data(key: &PublicKey, namespace: &str, msg: &[u8], sig: &SshSig) -> Option<Vec<u8>> {
    if key.key_data() != sig.public_key()
        || namespace != sig.namespace()
        || !sig.reserved().is_empty()
    {
        return None;
    }
    SshSig::signed_data(sig.namespace(), sig.hash_alg(), msg).ok()
}

/// ed25519-dalek's verdict on a plain `ssh-ed25519` signature, with the thread's
/// decompressed keys; `None` when it does not decide (another key or signature type, or an
/// input on which ssh-key would fail before the arithmetic; those get ssh-key's answer).
///
/// The preconditions and the call are ssh-key 0.6.7's (`PublicKey::verify`,
/// `SshSig::verify`, `Verifier<Signature> for Ed25519PublicKey`): key and namespace as in the
/// SSHSIG, the signed data with an empty `reserved` field, a 64-byte signature, a key that
/// decompresses, then `VerifyingKey::verify` (not `verify_strict`: OpenSSH accepts
/// small-order keys and `R`s, and so does ssh-key). FIDO `sk-ssh-ed25519` signatures sign
/// other data (PROTOCOL.u2f) and stay on ssh-key.
pub(super) fn ed25519_verdict(
    key: &PublicKey,
    namespace: &str,
    msg: &[u8],
    sig: &SshSig,
) -> Option<bool> {
    use ed25519_dalek::Verifier as _;

    let (KeyData::Ed25519(public), Algorithm::Ed25519) = (key.key_data(), sig.algorithm()) else {
        return None;
    };
    let signed = signed_data(key, namespace, msg, sig)?;
    let signature = ed25519_dalek::Signature::from_slice(sig.signature_bytes()).ok()?;
    let verifying = verifying_key(public.as_ref())?;
    Some(verifying.verify(&signed, &signature).is_ok())
}

/// How many decompressed ed25519 keys each thread keeps.
const ED25519_KEYS_KEPT: usize = 16;

thread_local! {
    /// The ed25519 keys this thread has decompressed, most recent last.
    static ED25519_KEYS: std::cell::RefCell<Vec<ed25519_dalek::VerifyingKey>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The ed25519-dalek key for `bytes`, decompressed once per thread (`None` if the bytes are
/// not a point, as for ssh-key). A [`ed25519_dalek::VerifyingKey`] keeps the bytes it was
/// made from, so a hit is the same key `from_bytes` would make.
fn verifying_key(bytes: &[u8; 32]) -> Option<ed25519_dalek::VerifyingKey> {
    ED25519_KEYS.with(|cell| {
        let mut keys = cell.borrow_mut();
        if let Some(key) = keys.iter().rev().find(|key| key.as_bytes() == bytes) {
            return Some(*key);
        }
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes).ok()?;
        if keys.len() == ED25519_KEYS_KEPT {
            keys.remove(0);
        }
        keys.push(key);
        Some(key)
    })
}

/// ECDSA over P-256 (SHA-256) or P-384 (SHA-384), the hash fixed by the curve as in OpenSSH
/// and ssh-key. `blob` is the SSH signature blob `mpint r || mpint s`, which ssh-key has
/// already checked to be exactly two canonical positive mpints of at most the field size.
fn ecdsa(point: &EcdsaPublicKey, blob: &[u8], signed: &[u8]) -> Option<bool> {
    let (algorithm, width): (&signature::EcdsaVerificationAlgorithm, usize) = match point.curve() {
        EcdsaCurve::NistP256 => (&signature::ECDSA_P256_SHA256_FIXED, 32),
        EcdsaCurve::NistP384 => (&signature::ECDSA_P384_SHA384_FIXED, 48),
        EcdsaCurve::NistP521 => return None,
    };
    let sec1 = point.as_sec1_bytes();
    // ring takes uncompressed points only; ssh-key also accepts compressed ones.
    if sec1.first() != Some(&0x04) {
        return None;
    }
    let mut rest = blob;
    let r = read_mpint(&mut rest)?;
    let s = read_mpint(&mut rest)?;
    if !rest.is_empty() {
        return None;
    }
    // Fixed-width big-endian r || s: `zero_pad_field_bytes` in ssh-key.
    let mut fixed = vec![0u8; 2 * width];
    for (value, half) in [(r, 0), (s, width)] {
        let pad = width.checked_sub(value.len())?;
        fixed
            .get_mut(half + pad..half + width)?
            .copy_from_slice(value);
    }
    // ring checks, as `p256`/`p384` do, that r and s are in [1, n-1] and the point is on
    // the curve.
    Some(
        UnparsedPublicKey::new(algorithm, sec1)
            .verify(signed, &fixed)
            .is_ok(),
    )
}

/// RSASSA-PKCS1-v1_5 with SHA-256 or SHA-512 (`rsa-sha2-256`, `rsa-sha2-512`), on keys the
/// `rsa` crate behind ssh-key accepts (see the module documentation).
fn rsa_pkcs1(key: &RsaPublicKey, hash: HashAlg, sig: &[u8], signed: &[u8]) -> Option<bool> {
    let params = match hash {
        HashAlg::Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        HashAlg::Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        _ => return None,
    };
    let n = key.n.as_positive_bytes()?;
    let e = key.e.as_positive_bytes()?;
    if !rsa_key_accepted_by_ssh_key(n, e) {
        return None;
    }
    // `rsa::pkcs1v15::verify`: the signature is exactly the modulus' length and below it.
    if sig.len() != n.len() || sig >= n {
        return None;
    }
    Some(
        RsaPublicKeyComponents { n, e }
            .verify(params, signed, sig)
            .is_ok(),
    )
}

/// The checks ssh-key 0.6.7 (`TryFrom<&RsaPublicKey> for rsa::RsaPublicKey`) and `rsa` 0.9
/// (`RsaPublicKey::new`) make on a public key, for the big-endian magnitudes of a canonical
/// mpint pair: modulus of at most 4096 bits and at least 256 bytes, odd, above the
/// exponent; exponent odd, in 2..=2^33-1.
fn rsa_key_accepted_by_ssh_key(n: &[u8], e: &[u8]) -> bool {
    const MAX_BITS: usize = 4096;
    const MIN_BYTES: usize = 2048 / 8;
    const MIN_E: u64 = 2;
    const MAX_E: u64 = (1 << 33) - 1;

    let Some(&top) = n.first() else {
        return false;
    };
    // Canonical mpints: no leading zero byte in a positive magnitude.
    if top == 0 || e.first().is_none_or(|&b| b == 0) {
        return false;
    }
    let n_bits = (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize);
    if n_bits > MAX_BITS || n.len() < MIN_BYTES {
        return false;
    }
    if e.len() > 8 {
        return false;
    }
    let e_value = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let odd = |bytes: &[u8]| bytes.last().is_some_and(|&b| b & 1 == 1);
    // e < n: n has at least 256 bytes and e at most 8, so this always holds.
    odd(n) && odd(e) && (MIN_E..=MAX_E).contains(&e_value)
}

/// Reads an SSH `mpint` from the front of `input` and returns its positive magnitude with
/// ssh-key's rules ([`Mpint`]: canonical encoding; negative values refused).
fn read_mpint<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, rest) = input.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    let (bytes, rest) = rest.split_at_checked(len)?;
    *input = rest;
    let mpint = Mpint::try_from(bytes).ok()?;
    let positive = mpint.as_positive_bytes()?;
    // `positive` borrows `mpint`; return the same bytes from `bytes` instead.
    bytes.get(bytes.len() - positive.len()..)
}
