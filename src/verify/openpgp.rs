//! OpenPGP signatures over git objects (spec §12): reading the armored detached signature
//! git stores, strictly, and verifying it with the key its issuer names in a [`Keyring`]
//! built from the policy's certificates. Crypto only: whether the key is revoked, expired or
//! allowed to sign at push time is judged by the engine from the certificate
//! ([`crate::openpgp::Certificate::state_at`]).
//!
//! What is refused here is a bad signature: anything but exactly one signature packet in
//! `-----BEGIN PGP SIGNATURE-----` armor (with a CRC-24 that matches, if present), a version
//! other than 4 (v3 is refused by the spec; v5/v6 are not supported), a signature type other
//! than binary or text document, a digest other than SHA-2 or SHA-3 (MD5, SHA-1 and
//! RIPEMD-160 are refused), no creation time, no issuer, and a key algorithm refguard
//! refuses. Two signatures in one armor are refused as git refuses them (git 2.47
//! `gpg-interface.c`, `parse_gpg_output`: several exclusive status lines are an error),
//! though gpg itself reports each.

use std::collections::HashMap;
use std::io::Read as _;

use pgp::armor::{BlockType, Dearmor, DearmorOptions};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Packet, PacketParser, Signature, SignatureType, SignatureVersion};

use crate::openpgp::{self, Certificate, SharedCertificate, hex_upper};
use crate::signature::{KeyId, SignatureCheck};

/// The most bytes an armored signature may have before it is refused unread (a real one is
/// under 2 KiB, even for RSA-4096).
const MAX_ARMOR: usize = 64 * 1024;

/// The certificates signatures are verified with, indexed by key id: built once per push
/// from the policy's certificates (the shell does that), so the verifier knows nothing of
/// the policy.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    certs: Vec<SharedCertificate>,
    /// Key id → (certificate, key) for every key of every certificate.
    by_key_id: HashMap<[u8; 8], Vec<(usize, usize)>>,
}

impl Keyring {
    /// A keyring of these certificates.
    pub fn new(certs: impl IntoIterator<Item = SharedCertificate>) -> Keyring {
        let certs: Vec<SharedCertificate> = certs.into_iter().collect();
        let mut by_key_id: HashMap<[u8; 8], Vec<(usize, usize)>> = HashMap::new();
        for (c, cert) in certs.iter().enumerate() {
            for (k, key) in cert.keys.iter().enumerate() {
                by_key_id.entry(key.key_id).or_default().push((c, k));
            }
        }
        Keyring { certs, by_key_id }
    }

    /// An empty keyring: every OpenPGP signature is by an unknown key.
    pub fn empty() -> Keyring {
        Keyring::default()
    }

    /// The keys an issuer's key id names.
    fn candidates(&self, key_id: &[u8]) -> impl Iterator<Item = (&Certificate, usize)> {
        <[u8; 8]>::try_from(key_id)
            .ok()
            .and_then(|id| self.by_key_id.get(&id))
            .into_iter()
            .flatten()
            .filter_map(|&(c, k)| Some((self.certs.get(c)?.as_ref(), k)))
    }
}

/// Verifies an armored OpenPGP signature over `payload` with the keyring.
pub(super) fn check(armor: &[u8], payload: &[u8], keyring: &Keyring) -> SignatureCheck {
    match Prepared::new(armor) {
        Ok(prepared) => prepared.verify(payload, keyring),
        Err(bad) => bad,
    }
}

/// [`check`] with each of `keyrings`, in order, reading the signature once and verifying
/// it once per distinct set of candidate keys: keyrings whose keys the issuer names are the
/// same (the same primary and key packets, byte for byte, in the same order) give the same
/// answer, so a chain of many policies that share most certificates costs one verification
/// per commit, not one per policy.
pub(super) fn check_each(
    armor: &[u8],
    payload: &[u8],
    keyrings: &[&Keyring],
) -> Vec<SignatureCheck> {
    let prepared = match Prepared::new(armor) {
        Ok(prepared) => prepared,
        Err(bad) => return vec![bad; keyrings.len()],
    };
    let mut answered: Vec<(Vec<Identity>, SignatureCheck)> = Vec::new();
    keyrings
        .iter()
        .map(|keyring| {
            let identities: Vec<Identity> = prepared
                .candidates(keyring)
                .map(|(cert, key)| identity(cert, key))
                .collect();
            if let Some((_, check)) = answered.iter().find(|(seen, _)| *seen == identities) {
                return check.clone();
            }
            let check = prepared.verify(payload, keyring);
            answered.push((identities, check.clone()));
            check
        })
        .collect()
}

/// What a key is, byte for byte: its certificate's primary key packet and its own, serialized
/// (verification depends on the key's material, and the answer names the certificate).
type Identity = (Vec<u8>, Vec<u8>);

/// The [`Identity`] of `key` of `cert`.
pub(super) fn identity(cert: &Certificate, key: &openpgp::Key) -> Identity {
    (cert.key_packet(cert.primary()), cert.key_packet(key))
}

/// A signature read and found acceptable, with the key ids its issuers name.
pub(super) struct Prepared {
    sig: Signature,
    /// The issuer's name for a message: its fingerprint, else its key id.
    issuer: String,
    /// Key ids of the issuers, sorted, without repeats.
    ids: Vec<Vec<u8>>,
}

impl Prepared {
    /// Reads the armor; Err: the [`SignatureCheck::Bad`] it is.
    pub(super) fn new(armor: &[u8]) -> Result<Prepared, SignatureCheck> {
        let sig = parse(armor).map_err(|detail| SignatureCheck::Bad { detail })?;
        acceptable(&sig).map_err(|detail| SignatureCheck::Bad { detail })?;
        // Issuers: fingerprints (v4: their last 8 bytes are the key id) and key ids, hashed
        // or not; a forged hint only makes the cryptography fail.
        let mut ids: Vec<Vec<u8>> = Vec::new();
        let mut named = None;
        for fp in sig.issuer_fingerprint() {
            let bytes = fp.as_bytes();
            named.get_or_insert_with(|| format!("{}{}", openpgp::PREFIX, hex_upper(bytes)));
            if bytes.len() == 20 {
                ids.push(bytes[12..].to_vec());
            }
        }
        for id in sig.issuer_key_id() {
            named.get_or_insert_with(|| format!("key id {}", hex_upper(id.as_ref())));
            ids.push(id.as_ref().to_vec());
        }
        let Some(issuer) = named else {
            return Err(bad("the OpenPGP signature names no issuer key"));
        };
        ids.sort();
        ids.dedup();
        Ok(Prepared { sig, issuer, ids })
    }

    /// The keys of `keyring` the signature's issuers name, in the order they are tried: by
    /// key id, and where the signature names a fingerprint, only the key with that
    /// fingerprint (not just its key id).
    pub(super) fn candidates<'k>(
        &'k self,
        keyring: &'k Keyring,
    ) -> impl Iterator<Item = (&'k Certificate, &'k openpgp::Key)> {
        let fingerprints = self.sig.issuer_fingerprint();
        self.ids.iter().flat_map(move |id| {
            let fingerprints = fingerprints.clone();
            keyring
                .candidates(id)
                .filter_map(|(cert, k)| Some((cert, cert.keys.get(k)?)))
                .filter(move |(_, key)| {
                    fingerprints.is_empty()
                        || fingerprints
                            .iter()
                            .any(|fp| fp.as_bytes() == key.fingerprint_bytes.as_slice())
                })
        })
    }

    /// Verifies the signature over `payload` with the keys of `keyring` its issuers name.
    fn verify(&self, payload: &[u8], keyring: &Keyring) -> SignatureCheck {
        let mut tried = false;
        for (cert, key) in self.candidates(keyring) {
            tried = true;
            if cert.public_key(key).verify(&self.sig, payload).is_err() {
                continue;
            }
            if let Some(why) = &key.refused {
                return bad(&format!("signed with key {}: {why}", key.name()));
            }
            let expires = signature_expiry(&self.sig);
            return SignatureCheck::Valid(KeyId::openpgp(cert, key, expires));
        }
        if tried {
            bad("the OpenPGP signature does not verify over the object")
        } else {
            SignatureCheck::NoCertificate {
                issuer: self.issuer.clone(),
            }
        }
    }
}

/// Reads the armor and its one signature packet; Err: why it is not one well-formed
/// OpenPGP signature.
fn parse(armor: &[u8]) -> Result<Signature, String> {
    if armor.len() > MAX_ARMOR {
        return Err(format!(
            "the OpenPGP signature is larger than {} KiB",
            MAX_ARMOR / 1024
        ));
    }
    let mut dearmor = Dearmor::with_options(armor, DearmorOptions::new().set_limit(MAX_ARMOR));
    let mut bytes = Vec::new();
    dearmor
        .read_to_end(&mut bytes)
        .map_err(|e| format!("malformed OpenPGP armor ({})", openpgp::brief(&e)))?;
    match dearmor.typ {
        Some(BlockType::Signature) => {}
        Some(other) => {
            return Err(format!(
                "the armor holds a {other}, not a detached OpenPGP signature"
            ));
        }
        None => return Err("malformed OpenPGP armor".to_owned()),
    }
    // GnuPG refuses an armor whose checksum does not match ("CRC error"); so does refguard.
    // (Checked here: rPGP's own optional check misreads checksums of valid armor.)
    if let Some(footer) = dearmor.checksum
        && footer != u64::from(crc24(&bytes))
    {
        return Err("the OpenPGP armor's checksum does not match (corrupted)".to_owned());
    }
    let mut packets = PacketParser::new(bytes.as_slice());
    let first = match packets.next() {
        Some(Ok(packet)) => packet,
        Some(Err(e)) => {
            return Err(format!(
                "malformed OpenPGP signature packet ({})",
                openpgp::brief(&e)
            ));
        }
        None => return Err("the OpenPGP armor is empty".to_owned()),
    };
    let rest = packets.count();
    let Packet::Signature(sig) = first else {
        return Err(format!(
            "the armor holds a {:?} packet, not a signature",
            first_tag(&first)
        ));
    };
    if rest > 0 {
        return Err(format!(
            "the armor holds {} packets; git accepts exactly one signature",
            rest + 1
        ));
    }
    Ok(sig)
}

/// The packet's tag, for a message.
fn first_tag(packet: &Packet) -> pgp::types::Tag {
    use pgp::packet::PacketTrait as _;
    packet.tag()
}

/// Spec §12's refusals that the signature alone shows: version, type, digest, creation time.
fn acceptable(sig: &Signature) -> Result<(), String> {
    match sig.version() {
        SignatureVersion::V4 => {}
        SignatureVersion::V2 | SignatureVersion::V3 => {
            return Err("v3 OpenPGP signatures are refused; sign with a current GnuPG".to_owned());
        }
        other => {
            return Err(format!(
                "version {} OpenPGP signatures are not supported (refguard verifies version 4)",
                u8::from(other)
            ));
        }
    }
    match sig.typ() {
        Some(SignatureType::Binary | SignatureType::Text) => {}
        Some(other) => {
            return Err(format!(
                "the OpenPGP signature is of type {:#04x} ({other:?}), not a signature over a \
                 document",
                u8::from(other)
            ));
        }
        None => return Err("the OpenPGP signature has no type".to_owned()),
    }
    match sig.hash_alg() {
        Some(
            HashAlgorithm::Sha224
            | HashAlgorithm::Sha256
            | HashAlgorithm::Sha384
            | HashAlgorithm::Sha512
            | HashAlgorithm::Sha3_256
            | HashAlgorithm::Sha3_512,
        ) => {}
        Some(refused @ (HashAlgorithm::Md5 | HashAlgorithm::Sha1 | HashAlgorithm::Ripemd160)) => {
            return Err(format!(
                "the OpenPGP signature uses {refused}, which is refused; sign with SHA-256 or \
                 better (gpg --personal-digest-preferences SHA512)"
            ));
        }
        other => {
            return Err(format!(
                "the OpenPGP signature uses an unsupported digest ({})",
                other.map_or("none".to_owned(), |h| h.to_string())
            ));
        }
    }
    if sig.created().is_none() {
        return Err("the OpenPGP signature has no creation time".to_owned());
    }
    Ok(())
}

/// When the signature stops counting, if it has a signature expiration time.
fn signature_expiry(sig: &Signature) -> Option<time::OffsetDateTime> {
    let created = i64::from(sig.created()?.as_secs());
    let after = sig.signature_expiration_time()?.as_secs();
    (after > 0)
        .then(|| time::OffsetDateTime::from_unix_timestamp(created + i64::from(after)).ok())
        .flatten()
}

/// The armor checksum (RFC 9580 §6.1.1, `crc_octets`).
fn crc24(data: &[u8]) -> u32 {
    const INIT: u32 = 0x00B7_04CE;
    const POLY: u32 = 0x0186_4CFB;
    let mut crc = INIT;
    for &byte in data {
        crc ^= u32::from(byte) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= POLY;
            }
        }
    }
    crc & 0x00FF_FFFF
}

/// A [`SignatureCheck::Bad`] with `detail`.
fn bad(detail: &str) -> SignatureCheck {
    SignatureCheck::Bad {
        detail: detail.to_owned(),
    }
}
