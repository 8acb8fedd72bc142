//! RSA signatures over git objects through ring: the same PKCS #1 v1.5 check rPGP makes with
//! the pure-Rust `rsa` crate, about 18 times faster (an RSA-3072 verification: ~40 µs in ring,
//! ~700 µs in `rsa`).
//!
//! ring only ever answers "valid": when it says so the signature is valid, and when it does
//! not (a bad signature, or a key or signature outside what this path takes) rPGP's own
//! `Signature::verify` decides, so every refusal keeps rPGP's words and every edge case its
//! verdict. The data hashed is rebuilt as rPGP 0.21 hashes it (`Signature::verify`,
//! `SignatureConfig::hash_data_to_sign` / `hash_signature_data` / `trailer`, after RFC 9580
//! §5.2.4): the document, then the signature's version, type, algorithms and hashed
//! subpackets, then the v4 trailer. Like rPGP (and GnuPG's `check_signature_end_simple`), a
//! signature whose first two digest octets do not match is refused. Taken here: v4 binary
//! signatures with SHA-256/384/512 by v4 RSA keys of 2048 to 4096 bits.

use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::packet::{Signature, SignatureType, SignatureVersion};
use pgp::types::{KeyDetails, KeyVersion, PublicParams, SignatureBytes};
use ring::signature::{self, RsaPublicKeyComponents};
use rsa::traits::PublicKeyParts as _;
use sha2::Digest as _;
use sha2::digest::{DynDigest, InvalidBufferSize};

/// Whether ring finds `sig` over `payload` a valid signature by `key`; `false` when it does
/// not, or when the signature or key is not one this path takes.
pub(crate) fn rsa_valid(key: &impl KeyDetails, sig: &Signature, payload: &[u8]) -> bool {
    rsa_verdict(key, sig, payload) == Some(true)
}

fn rsa_verdict(key: &impl KeyDetails, sig: &Signature, payload: &[u8]) -> Option<bool> {
    let config = sig.config()?;
    if sig.version() != SignatureVersion::V4
        || sig.typ() != Some(SignatureType::Binary)
        || key.version() != KeyVersion::V4
        || !matches!(
            config.pub_alg,
            PublicKeyAlgorithm::RSA | PublicKeyAlgorithm::RSASign
        )
        || !issuer_names(sig, key)
    {
        return None;
    }
    let PublicParams::RSA(params) = key.public_params() else {
        return None;
    };
    if !(2048..=4096).contains(&params.key.n().bits()) {
        return None;
    }
    let (n, e) = (params.key.n().to_bytes_be(), params.key.e().to_bytes_be());
    let Some(SignatureBytes::Mpis(mpis)) = sig.signature() else {
        return None;
    };
    let [mpi] = mpis.as_slice() else {
        return None;
    };
    // An MPI has no leading zero octets; ring wants the signature as long as the modulus.
    let s = mpi.as_ref();
    let mut padded = vec![0u8; n.len().checked_sub(s.len())?];
    padded.extend_from_slice(s);

    // What rPGP hashes: the document, the signature's hashed part, the trailer.
    let mut hashed: Box<dyn DynDigest + Send> = Box::new(Collect(Vec::new()));
    let len = config.hash_signature_data(&mut hashed).ok()?;
    let mut message = Vec::with_capacity(payload.len() + len + 6);
    message.extend_from_slice(payload);
    message.extend_from_slice(&hashed.finalize());
    message.extend_from_slice(&config.trailer(len).ok()?);

    let (algorithm, digest): (&signature::RsaParameters, Vec<u8>) = match config.hash_alg {
        HashAlgorithm::Sha256 => (
            &signature::RSA_PKCS1_2048_8192_SHA256,
            sha2::Sha256::digest(&message).to_vec(),
        ),
        HashAlgorithm::Sha384 => (
            &signature::RSA_PKCS1_2048_8192_SHA384,
            sha2::Sha384::digest(&message).to_vec(),
        ),
        HashAlgorithm::Sha512 => (
            &signature::RSA_PKCS1_2048_8192_SHA512,
            sha2::Sha512::digest(&message).to_vec(),
        ),
        _ => return None,
    };
    if sig.signed_hash_value()? != digest[..2] {
        return Some(false);
    }
    let public = RsaPublicKeyComponents { n: &n, e: &e };
    Some(public.verify(algorithm, &message, &padded).is_ok())
}

/// Whether the signature's issuer subpackets name `key`, or name nobody (rPGP's
/// `Signature::match_identity`, which its `verify` requires).
fn issuer_names(sig: &Signature, key: &impl KeyDetails) -> bool {
    let (ids, fingerprints) = (sig.issuer_key_id(), sig.issuer_fingerprint());
    (ids.is_empty() && fingerprints.is_empty())
        || ids.iter().any(|id| **id == key.legacy_key_id())
        || fingerprints.iter().any(|fp| **fp == key.fingerprint())
}

/// A "digest" that keeps what it is given: how the bytes rPGP hashes for a signature are
/// collected, through the interface rPGP writes them to.
#[derive(Clone, Default)]
struct Collect(Vec<u8>);

impl DynDigest for Collect {
    fn update(&mut self, data: &[u8]) {
        self.0.extend_from_slice(data);
    }

    fn finalize_into(self, buf: &mut [u8]) -> Result<(), InvalidBufferSize> {
        if buf.len() != self.0.len() {
            return Err(InvalidBufferSize);
        }
        buf.copy_from_slice(&self.0);
        Ok(())
    }

    fn finalize_into_reset(&mut self, buf: &mut [u8]) -> Result<(), InvalidBufferSize> {
        let taken = Collect(std::mem::take(&mut self.0));
        taken.finalize_into(buf)
    }

    fn reset(&mut self) {
        self.0.clear();
    }

    fn output_size(&self) -> usize {
        self.0.len()
    }

    fn box_clone(&self) -> Box<dyn DynDigest> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use pgp::crypto::hash::HashAlgorithm;
    use pgp::packet::{Signature, SignatureConfig, SignatureType};

    use super::rsa_verdict;
    use crate::openpgp::testcerts::{certs, sign};

    const PAYLOAD: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author A U Thor <author@example.com> 1112911993 +0000\n\
committer C O Mitter <committer@example.com> 1112912053 +0000\n\
\n\
RSA through ring\n";

    const CREATED: u32 = 1_767_225_600;

    /// ring's verdict and rPGP's on the same signature and key.
    fn both(sig: &Signature, payload: &[u8]) -> (Option<bool>, bool) {
        let key = &certs().carol.secret.primary_key;
        let public = key.public_key();
        (
            rsa_verdict(&public, sig, payload),
            sig.verify(&public, payload).is_ok(),
        )
    }

    #[test]
    fn ring_agrees_with_rpgp_on_rsa_signatures() {
        let key = &certs().carol.secret.primary_key;
        let mut tampered = PAYLOAD.to_vec();
        tampered[7] ^= 1;
        for hash in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            let sig = sign(key, SignatureType::Binary, hash, CREATED, PAYLOAD);
            assert_eq!(both(&sig, PAYLOAD), (Some(true), true), "{hash:?}");
            assert_eq!(both(&sig, &tampered), (Some(false), false), "{hash:?}");
            assert_eq!(both(&sig, b""), (Some(false), false), "{hash:?}");
        }
    }

    #[test]
    fn what_ring_does_not_take_is_left_to_rpgp() {
        let c = certs();
        let key = &c.carol.secret.primary_key;
        // A text signature, a digest ring has no PKCS #1 parameters for here.
        let text = sign(
            key,
            SignatureType::Text,
            HashAlgorithm::Sha256,
            CREATED,
            PAYLOAD,
        );
        assert_eq!(both(&text, PAYLOAD), (None, true));
        let sha224 = sign(
            key,
            SignatureType::Binary,
            HashAlgorithm::Sha224,
            CREATED,
            PAYLOAD,
        );
        assert_eq!(both(&sha224, PAYLOAD), (None, true));
        // Another key's signature: the issuer does not name carol's key.
        let alice = sign(
            &c.alice.secret.primary_key,
            SignatureType::Binary,
            HashAlgorithm::Sha256,
            CREATED,
            PAYLOAD,
        );
        assert_eq!(both(&alice, PAYLOAD), (None, false));
        // An ed25519 key is not RSA.
        let alice_public = c.alice.secret.primary_key.public_key();
        assert_eq!(rsa_verdict(&alice_public, &alice, PAYLOAD), None);
    }

    #[test]
    fn wrong_digest_octets_are_refused_as_rpgp_and_gnupg_refuse_them() {
        let key = &certs().carol.secret.primary_key;
        let good = sign(
            key,
            SignatureType::Binary,
            HashAlgorithm::Sha256,
            CREATED,
            PAYLOAD,
        );
        let config: SignatureConfig = good.config().expect("a v4 config").clone();
        let bytes = good.signature().expect("signature bytes").clone();
        let left = good.signed_hash_value().expect("digest octets");
        let wrong =
            Signature::from_config(config, [left[0] ^ 0xFF, left[1]], bytes).expect("signature");
        assert_eq!(both(&wrong, PAYLOAD), (Some(false), false));
        // The same signature with the right octets is valid: only they differ.
        let config = good.config().expect("a v4 config").clone();
        let bytes = good.signature().expect("signature bytes").clone();
        let right = Signature::from_config(config, left, bytes).expect("signature");
        assert_eq!(both(&right, PAYLOAD), (Some(true), true));
    }
}
