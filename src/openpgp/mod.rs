//! OpenPGP certificates (spec §12): reading a transferable public key, verifying its
//! self-signatures, and judging each of its keys (binding, key flags, expiry, revocation) at
//! a given time. Pure: bytes and a time in, facts out; no I/O and no clock.
//!
//! rPGP (`pgp`) parses the packets and checks each self-signature's cryptography; it judges
//! nothing else (its `verify` is crypto only). What makes a key usable is decided here, after
//! RFC 9580 and as GnuPG 2.2 decides it (`getkey.c`, `merge_selfsigs_main` and
//! `merge_selfsigs_subkey`), which the differential test in `tests/integration/openpgp.rs`
//! checks against `gpg` itself:
//!
//! - A self-signature counts when it verifies with the primary key, its signature type fits
//!   what it binds, it has a creation time, and it has not itself expired. The binding **in
//!   force** at a time is the newest such signature created at or before that time.
//! - The primary key's properties (expiry, key flags) come from the newest self-signature of
//!   its User IDs that are not revoked (one marked primary wins), falling back to a direct-key
//!   signature for what the User ID's signature leaves out.
//! - A subkey is part of the certificate when a subkey binding signature verifies; it may
//!   sign when that binding's key flags say so (or, with no key flags, when its algorithm can
//!   sign, as GnuPG infers) **and** the binding carries a valid back-signature (primary key
//!   binding, type 0x19), which GnuPG requires by default (`require-cross-certification`).
//! - Expiry: the key expiration time of the binding in force, counted from the key's creation.
//!   A subkey expires with its primary key.
//! - Revocation: a key revocation (0x20, primary) or subkey revocation (0x28) that verifies.
//!   A **hard** revocation (key compromised, no reason, or an unknown reason) counts at any
//!   time; a **soft** one (superseded, retired) from its creation time on.
//! - Refused (spec §12): v3 and v6 keys, and key algorithms outside RSA of 2048 bits or more,
//!   Ed25519 (legacy EdDSA and RFC 9580 Ed25519) and ECDSA on NIST P-256/P-384/P-521:
//!   signatures by such keys are bad signatures. MD5 self-signatures are ignored; SHA-1 ones
//!   count (most certificates made before 2014 were bound with SHA-1, and a certificate is
//!   vetted by the policy admins who list it), while signatures over commits must not use it
//!   (`verify`).

use std::sync::Arc;

use pgp::composed::{Deserializable as _, SignedPublicKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::packet::{RevocationCode, Signature, SignatureType, SignatureVersion};
use pgp::ser::Serialize as _;
use pgp::types::{
    EcdsaPublicParams, EddsaLegacyPublicParams, KeyDetails, KeyVersion, PublicParams, Tag,
    Timestamp,
};
use time::OffsetDateTime;

/// A certificate's identity as people write it: `openpgp:` and the fingerprint in uppercase
/// hex (`[[revoked]] key = "openpgp:..."`, messages, `policy show`).
pub const PREFIX: &str = "openpgp:";

/// The most bytes a certificate file may have: a certificate with many third-party
/// certifications is still far smaller; anything larger is refused before parsing.
pub const MAX_CERTIFICATE: usize = 1 << 20;

/// An OpenPGP certificate (transferable public key) with its self-signatures verified.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// The parsed certificate, for verification and export.
    tpk: SignedPublicKey,
    /// Its User IDs (lossily UTF-8), in file order, for display.
    pub user_ids: Vec<String>,
    /// The primary key (index 0), then each subkey that a binding signature binds, in file
    /// order.
    pub keys: Vec<Key>,
    /// The newest valid self-signature of each User ID, and the User ID's revocations.
    user_bindings: Vec<UserBinding>,
    /// Valid direct-key signatures (0x1F) on the primary key.
    direct: Vec<Binding>,
}

/// One key of a certificate: the primary key or a bound subkey.
#[derive(Debug, Clone)]
pub struct Key {
    /// Fingerprint in uppercase hex (40 digits for a v4 key).
    pub fingerprint: String,
    /// The fingerprint's bytes.
    pub fingerprint_bytes: Vec<u8>,
    /// The legacy 8-byte key id (the fingerprint's last 8 bytes for v4).
    pub key_id: [u8; 8],
    /// Algorithm as GnuPG names it: `ed25519`, `rsa3072`, `nistp256`, `dsa2048`...
    pub algorithm: String,
    /// When the key was created.
    pub created: OffsetDateTime,
    /// Why signatures by this key are refused (its algorithm or size), if they are.
    pub refused: Option<String>,
    /// Index into the certificate's subkeys; `None` for the primary key.
    subkey: Option<usize>,
    /// For a subkey: its valid binding signatures (the primary key's are the certificate's).
    bindings: Vec<Binding>,
    /// Its valid revocation signatures.
    pub revocations: Vec<Revocation>,
}

/// A valid self-signature that states a key's properties.
#[derive(Debug, Clone, Copy)]
struct Binding {
    /// Creation time (Unix seconds).
    created: i64,
    /// When the signature itself stops counting (Unix seconds), if it expires.
    sig_expires: Option<i64>,
    /// Key expiration time: seconds after the key's creation (`None`: never; 0 is never).
    key_expires: Option<u32>,
    /// The key flags' "sign" bit, or `None` without a key flags subpacket.
    sign_flag: Option<bool>,
    /// For a subkey binding: whether its back-signature (0x19) verifies.
    backsig: bool,
    /// For a User ID self-signature: the Primary User ID flag.
    primary_uid: bool,
}

/// The valid self-signatures and revocations of one User ID.
#[derive(Debug, Clone, Default)]
struct UserBinding {
    bindings: Vec<Binding>,
    /// Creation times of valid certification revocations (0x30).
    revocations: Vec<i64>,
}

/// A valid revocation signature of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// When it was made.
    pub created: OffsetDateTime,
    /// Hard (compromised, no or unknown reason: counts at any time) or soft (superseded,
    /// retired: counts from `created` on).
    pub hard: bool,
    /// The reason as written in the signature (code and text), for messages.
    pub reason: String,
}

/// Where one key of a certificate stands at a given time, judged as a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState<'c> {
    /// It may sign; it expires then (or never).
    Active {
        /// When it stops being usable, if ever (its own or its primary key's expiry).
        expires: Option<OffsetDateTime>,
    },
    /// Revoked by a revocation signature of its own or of its primary key.
    Revoked {
        /// The revocation that applies.
        revocation: &'c Revocation,
        /// Whether it is the primary key's (the whole certificate's) revocation.
        primary: bool,
    },
    /// Expired at `at` (the key's own expiry or its primary key's).
    Expired {
        /// When it expired.
        at: OffsetDateTime,
        /// Whether it is the primary key's (the whole certificate's) expiry.
        primary: bool,
    },
    /// No binding in force, or the binding in force does not let it sign.
    Unusable {
        /// Why, for the message.
        why: &'static str,
    },
}

impl Certificate {
    /// Reads one certificate, armored (`-----BEGIN PGP PUBLIC KEY BLOCK-----`) or binary,
    /// and verifies its self-signatures. Err: a one-line reason (not a certificate, several
    /// certificates, a secret key, an unsupported key version, no valid self-signature).
    pub fn parse(bytes: &[u8]) -> Result<Certificate, String> {
        if bytes.len() > MAX_CERTIFICATE {
            return Err(format!(
                "is larger than {} KiB; export the certificate alone with `gpg --export --armor \
                 FINGERPRINT`",
                MAX_CERTIFICATE / 1024
            ));
        }
        let text_start = bytes.trim_ascii_start();
        if text_start.starts_with(b"-----BEGIN PGP PRIVATE KEY BLOCK-----") {
            return Err(
                "holds a secret key: list the public certificate (`gpg --export --armor \
                 FINGERPRINT`), never a secret key"
                    .to_owned(),
            );
        }
        let armored = text_start.starts_with(b"-----BEGIN PGP PUBLIC KEY BLOCK-----");
        let first = bytes.first().copied().unwrap_or(0);
        if !armored && first & 0x80 == 0 {
            return Err(
                "is not an OpenPGP certificate (neither `-----BEGIN PGP PUBLIC KEY \
                 BLOCK-----` armor nor binary OpenPGP packets)"
                    .to_owned(),
            );
        }
        let parsed: Vec<_> = if armored {
            let (many, _) = SignedPublicKey::from_armor_many(text_start)
                .map_err(|e| format!("is not a valid OpenPGP certificate ({})", brief(&e)))?;
            many.collect()
        } else {
            SignedPublicKey::from_bytes_many(bytes)
                .map_err(|e| format!("is not a valid OpenPGP certificate ({})", brief(&e)))?
                .collect()
        };
        let mut certs = Vec::with_capacity(1);
        for one in parsed {
            certs.push(
                one.map_err(|e| format!("is not a valid OpenPGP certificate ({})", brief(&e)))?,
            );
        }
        let tpk = match certs.len() {
            0 => return Err("holds no OpenPGP certificate".to_owned()),
            1 => certs.remove(0),
            n => {
                return Err(format!(
                    "holds {n} certificates; list each in a file of its own"
                ));
            }
        };
        Certificate::from_tpk(tpk)
    }

    /// Verifies the self-signatures of a parsed certificate.
    fn from_tpk(tpk: SignedPublicKey) -> Result<Certificate, String> {
        let primary = &tpk.primary_key;
        if primary.version() != KeyVersion::V4 {
            return Err(format!(
                "has a version {} primary key; refguard reads version 4 OpenPGP keys (what \
                 GnuPG makes)",
                u8::from(primary.version())
            ));
        }
        let mut primary_key = describe(primary, None)?;
        primary_key.revocations = tpk
            .details
            .revocation_signatures
            .iter()
            .filter(|s| s.typ() == Some(SignatureType::KeyRevocation) && acceptable_self(s))
            .filter(|s| s.verify_key(primary).is_ok())
            .filter_map(revocation)
            .collect();
        let direct = tpk
            .details
            .direct_signatures
            .iter()
            .filter(|s| s.typ() == Some(SignatureType::Key) && acceptable_self(s))
            .filter(|s| s.verify_key(primary).is_ok())
            .filter_map(|s| binding(s, false))
            .collect();
        let mut user_ids = Vec::with_capacity(tpk.details.users.len());
        let mut user_bindings = Vec::with_capacity(tpk.details.users.len());
        for user in &tpk.details.users {
            user_ids.push(String::from_utf8_lossy(user.id.id()).into_owned());
            let mut ub = UserBinding::default();
            for sig in user.signatures.iter().filter(|s| acceptable_self(s)) {
                if sig
                    .verify_certification(primary, Tag::UserId, &user.id)
                    .is_err()
                {
                    // Third-party certifications, and anything that does not verify.
                    continue;
                }
                match sig.typ() {
                    Some(SignatureType::CertRevocation) => {
                        ub.revocations.extend(sig.created().map(secs));
                    }
                    Some(_) => ub.bindings.extend(binding(sig, false)),
                    None => {}
                }
            }
            user_bindings.push(ub);
        }
        let mut keys = vec![];
        for (index, sub) in tpk.public_subkeys.iter().enumerate() {
            let mut bindings = Vec::new();
            let mut revocations = Vec::new();
            for sig in sub.signatures.iter().filter(|s| acceptable_self(s)) {
                if sig.verify_subkey_binding(primary, &sub.key).is_err() {
                    continue;
                }
                match sig.typ() {
                    Some(SignatureType::SubkeyBinding) => {
                        let backsig = sig.embedded_signature().is_some_and(|back| {
                            acceptable_self(back)
                                && back.verify_primary_key_binding(&sub.key, primary).is_ok()
                        });
                        bindings.extend(binding(sig, backsig));
                    }
                    Some(SignatureType::SubkeyRevocation) => {
                        revocations.extend(revocation(sig));
                    }
                    _ => {}
                }
            }
            if bindings.is_empty() || sub.key.version() != KeyVersion::V4 {
                // Not part of the certificate: no binding signature verifies (GnuPG drops
                // such subkeys too), or a key version a v4 certificate cannot bind.
                continue;
            }
            let mut key = describe(&sub.key, Some(index))?;
            key.bindings = bindings;
            key.revocations = revocations;
            keys.push(key);
        }
        keys.insert(0, primary_key);
        let cert = Certificate {
            tpk,
            user_ids,
            keys,
            user_bindings,
            direct,
        };
        if cert.user_bindings.iter().all(|u| u.bindings.is_empty()) && cert.direct.is_empty() {
            return Err(
                "has no valid self-signature on its primary key (no User ID signed by \
                 it, no direct-key signature)"
                    .to_owned(),
            );
        }
        Ok(cert)
    }

    /// The primary key.
    pub fn primary(&self) -> &Key {
        &self.keys[0]
    }

    /// The certificate's identity, `openpgp:` and the primary key's fingerprint.
    pub fn name(&self) -> String {
        format!("{PREFIX}{}", self.primary().fingerprint)
    }

    /// The key with this fingerprint (uppercase hex), primary or subkey.
    pub fn key(&self, fingerprint: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.fingerprint == fingerprint)
    }

    /// The certificate's first User ID, for display (empty if it has none).
    pub fn user_id(&self) -> &str {
        self.user_ids.first().map_or("", String::as_str)
    }

    /// The certificate in binary (the transferable public key's packets), for a keyring.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.tpk
            .to_bytes()
            .expect("serializing a parsed certificate into memory cannot fail")
    }

    /// Where `key` (one of [`Certificate::keys`]) stands at `at` as a signing key: revoked
    /// (its own or the primary key's revocation) wins over no binding, which wins over expired,
    /// which wins over not being allowed to sign.
    pub fn state_at<'c>(&'c self, key: &'c Key, at: OffsetDateTime) -> KeyState<'c> {
        let at_secs = at.unix_timestamp();
        let primary = self.primary();
        if let Some(revocation) = primary.revocation_at(at_secs) {
            return KeyState::Revoked {
                revocation,
                primary: true,
            };
        }
        if key.subkey.is_some()
            && let Some(revocation) = key.revocation_at(at_secs)
        {
            return KeyState::Revoked {
                revocation,
                primary: false,
            };
        }
        let Some(primary_binding) = self.primary_binding(at_secs) else {
            return KeyState::Unusable {
                why: "its certificate has no self-signature in force at push time",
            };
        };
        let binding = if key.subkey.is_some() {
            match in_force(&key.bindings, at_secs) {
                Some(b) => b,
                None => {
                    return KeyState::Unusable {
                        why: "its subkey binding signature is not in force at push time",
                    };
                }
            }
        } else {
            primary_binding
        };
        let primary_expires = expiry(primary, &primary_binding);
        if let Some(expired) = primary_expires.filter(|e| *e <= at) {
            return KeyState::Expired {
                at: expired,
                primary: true,
            };
        }
        let own_expires = if key.subkey.is_some() {
            expiry(key, &binding)
        } else {
            None
        };
        if let Some(expired) = own_expires.filter(|e| *e <= at) {
            return KeyState::Expired {
                at: expired,
                primary: false,
            };
        }
        let may_sign = binding
            .sign_flag
            .unwrap_or_else(|| can_sign(&key.algorithm));
        if !may_sign {
            return KeyState::Unusable {
                why: "it is not a signing key (its key flags do not allow signing)",
            };
        }
        if key.subkey.is_some() && !binding.backsig {
            return KeyState::Unusable {
                why: "its binding has no valid back-signature (the subkey is not cross-certified)",
            };
        }
        let expires = match (primary_expires, own_expires) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        KeyState::Active { expires }
    }

    /// Whether `key` can sign under some binding it has, whatever the time: its key flags
    /// (or, without them, its algorithm) allow signing, and for a subkey the binding carries
    /// a valid back-signature. A certificate none of whose keys can is useless to a policy.
    pub fn can_ever_sign(&self, key: &Key) -> bool {
        let may = |b: &Binding| b.sign_flag.unwrap_or_else(|| can_sign(&key.algorithm));
        if key.is_primary() {
            self.direct
                .iter()
                .chain(self.user_bindings.iter().flat_map(|u| u.bindings.iter()))
                .any(may)
        } else {
            key.bindings.iter().any(|b| may(b) && b.backsig)
        }
    }

    /// The binding signature that states the primary key's properties at `at` (Unix
    /// seconds): the newest self-signature in force of a User ID that is not revoked then
    /// (one marked primary first), with what it leaves out taken from the direct-key
    /// signature in force; else that direct-key signature.
    fn primary_binding(&self, at: i64) -> Option<Binding> {
        let direct = in_force(&self.direct, at);
        let user = self
            .user_bindings
            .iter()
            .filter_map(|u| {
                let b = in_force(&u.bindings, at)?;
                let revoked = u.revocations.iter().any(|&r| r <= at && r >= b.created);
                (!revoked).then_some(b)
            })
            .max_by_key(|b| (b.primary_uid, b.created));
        match (user, direct) {
            (Some(mut b), Some(d)) => {
                b.key_expires = b.key_expires.or(d.key_expires);
                b.sign_flag = b.sign_flag.or(d.sign_flag);
                Some(b)
            }
            (Some(b), None) => Some(b),
            (None, d) => d,
        }
    }

    /// The public key packet of `key` (one of [`Certificate::keys`]), serialized: what
    /// identifies its key material byte for byte.
    pub(crate) fn key_packet(&self, key: &Key) -> Vec<u8> {
        let bytes = match self.public_key(key) {
            KeyRef::Primary(k) => k.to_bytes(),
            KeyRef::Subkey(k) => k.to_bytes(),
        };
        bytes.expect("serializing a parsed key into memory cannot fail")
    }

    /// Index of `key` among the subkeys of the parsed certificate (for verification).
    pub(crate) fn public_key(&self, key: &Key) -> KeyRef<'_> {
        match key.subkey.and_then(|i| self.tpk.public_subkeys.get(i)) {
            Some(sub) => KeyRef::Subkey(&sub.key),
            None => KeyRef::Primary(&self.tpk.primary_key),
        }
    }
}

/// The public key material of one key of a certificate, for verifying a signature with it.
pub(crate) enum KeyRef<'c> {
    /// The primary key.
    Primary(&'c pgp::packet::PublicKey),
    /// A subkey.
    Subkey(&'c pgp::packet::PublicSubkey),
}

impl KeyRef<'_> {
    /// Verifies a data signature over `payload` with this key (cryptography and issuer match
    /// only): RSA through ring when ring finds it valid ([`fast`]), everything else by rPGP.
    pub(crate) fn verify(&self, sig: &Signature, payload: &[u8]) -> Result<(), String> {
        // RSA through ring when it finds the signature valid; rPGP decides everything else.
        let fast = match self {
            KeyRef::Primary(k) => fast::rsa_valid(*k, sig, payload),
            KeyRef::Subkey(k) => fast::rsa_valid(*k, sig, payload),
        };
        if fast {
            return Ok(());
        }
        let result = match self {
            KeyRef::Primary(k) => sig.verify(*k, payload),
            KeyRef::Subkey(k) => sig.verify(*k, payload),
        };
        result.map_err(|e| brief(&e))
    }
}

impl Key {
    /// The revocation that applies at `at` (Unix seconds): a hard one at any time, a soft
    /// one from its creation on. The hard one first.
    fn revocation_at(&self, at: i64) -> Option<&Revocation> {
        self.revocations.iter().find(|r| r.hard).or_else(|| {
            self.revocations
                .iter()
                .find(|r| r.created.unix_timestamp() <= at)
        })
    }

    /// `openpgp:` and this key's fingerprint.
    pub fn name(&self) -> String {
        format!("{PREFIX}{}", self.fingerprint)
    }

    /// Whether this is the certificate's primary key.
    pub fn is_primary(&self) -> bool {
        self.subkey.is_none()
    }
}

/// A certificate shared between the policy that lists it and the keyring built from it.
pub type SharedCertificate = Arc<Certificate>;

/// Several certificates as one armored keyring (`refguard keys export --openpgp`), for
/// `gpg --import`: their packets one after the other in one `PGP PUBLIC KEY BLOCK`.
pub fn armored_keyring<'c>(certs: impl IntoIterator<Item = &'c Certificate>) -> String {
    let ring = Ring(certs.into_iter().map(|c| &c.tpk).collect());
    let mut out = Vec::new();
    pgp::armor::write(
        &ring,
        pgp::armor::BlockType::PublicKey,
        &mut out,
        None,
        true,
    )
    .expect("armoring parsed certificates into memory cannot fail");
    String::from_utf8(out).expect("armor is ASCII")
}

/// Certificates serialized one after the other (a keyring), for rPGP's armor writer.
struct Ring<'c>(Vec<&'c SignedPublicKey>);

impl pgp::ser::Serialize for Ring<'_> {
    fn to_writer<W: std::io::Write>(&self, w: &mut W) -> pgp::errors::Result<()> {
        self.0.iter().try_for_each(|k| k.to_writer(w))
    }

    fn write_len(&self) -> usize {
        self.0.iter().map(|k| k.write_len()).sum()
    }
}

/// The binding in force at `at` (Unix seconds): the newest created at or before `at` that has
/// not expired by then.
fn in_force(bindings: &[Binding], at: i64) -> Option<Binding> {
    bindings
        .iter()
        .filter(|b| b.created <= at && b.sig_expires.is_none_or(|e| e > at))
        .max_by_key(|b| b.created)
        .copied()
}

/// When `key` expires under `binding` (its key expiration time after its creation).
fn expiry(key: &Key, binding: &Binding) -> Option<OffsetDateTime> {
    binding
        .key_expires
        .filter(|&secs| secs > 0)
        .map(|secs| key.created + time::Duration::seconds(i64::from(secs)))
}

/// Whether a self-signature may count at all: v4, with a hash that is not MD5 (nor unknown).
fn acceptable_self(sig: &Signature) -> bool {
    sig.version() == SignatureVersion::V4
        && matches!(
            sig.hash_alg(),
            Some(
                HashAlgorithm::Sha1
                    | HashAlgorithm::Sha224
                    | HashAlgorithm::Sha256
                    | HashAlgorithm::Sha384
                    | HashAlgorithm::Sha512
                    | HashAlgorithm::Sha3_256
                    | HashAlgorithm::Sha3_512
            )
        )
}

/// The binding facts of a verified self-signature; `None` without a creation time.
fn binding(sig: &Signature, backsig: bool) -> Option<Binding> {
    let created = secs(sig.created()?);
    let sig_expires = sig
        .signature_expiration_time()
        .map(|d| d.as_secs())
        .filter(|&d| d > 0)
        .map(|d| created + i64::from(d));
    let config = sig.config()?;
    let has_flags = config
        .hashed_subpackets()
        .any(|p| matches!(p.data, pgp::packet::SubpacketData::KeyFlags(_)));
    Some(Binding {
        created,
        sig_expires,
        key_expires: sig.key_expiration_time().map(|d| d.as_secs()),
        sign_flag: has_flags.then(|| sig.key_flags().sign()),
        backsig,
        primary_uid: sig.is_primary(),
    })
}

/// The facts of a verified revocation signature; `None` without a creation time.
fn revocation(sig: &Signature) -> Option<Revocation> {
    let created = time_of(sig.created()?);
    let code = sig.revocation_reason_code().copied();
    let hard = !matches!(
        code,
        Some(RevocationCode::KeySuperseded | RevocationCode::KeyRetired)
    );
    let word = match code {
        None => "no reason given".to_owned(),
        Some(RevocationCode::NoReason) => "no reason specified".to_owned(),
        Some(RevocationCode::KeySuperseded) => "key superseded".to_owned(),
        Some(RevocationCode::KeyCompromised) => "key compromised".to_owned(),
        Some(RevocationCode::KeyRetired) => "key retired".to_owned(),
        Some(other) => format!("reason code {}", u8::from(other)),
    };
    let text = sig
        .revocation_reason_string()
        .map(|b| String::from_utf8_lossy(b).trim().to_owned())
        .filter(|t| !t.is_empty());
    let reason = match text {
        Some(text) => format!("{word}: {text}"),
        None => word,
    };
    Some(Revocation {
        created,
        hard,
        reason,
    })
}

/// The facts of one key: fingerprint, key id, algorithm, creation, refusal.
fn describe(key: &impl KeyDetails, subkey: Option<usize>) -> Result<Key, String> {
    let fp = key.fingerprint();
    let key_id: [u8; 8] = key
        .legacy_key_id()
        .as_ref()
        .try_into()
        .map_err(|_| "has a key id that is not 8 bytes".to_owned())?;
    let (algorithm, refused) = algorithm(key.algorithm(), key.public_params());
    Ok(Key {
        fingerprint: hex_upper(fp.as_bytes()),
        fingerprint_bytes: fp.as_bytes().to_vec(),
        key_id,
        algorithm,
        created: time_of(key.created_at()),
        refused,
        subkey,
        bindings: Vec::new(),
        revocations: Vec::new(),
    })
}

/// The algorithm's name as GnuPG prints it, and why refguard refuses signatures by it (spec
/// §12: RSA of 2048 bits or more, Ed25519, ECDSA on the NIST curves; nothing else).
fn algorithm(alg: PublicKeyAlgorithm, params: &PublicParams) -> (String, Option<String>) {
    let refuse = |name: String, why: &str| {
        let because = format!("{name} keys are refused: {why}");
        (name, Some(because))
    };
    match params {
        PublicParams::RSA(p) => {
            let bits = p
                .to_bytes()
                .ok()
                .and_then(|b| Some(u16::from_be_bytes([*b.first()?, *b.get(1)?])))
                .unwrap_or(0);
            let name = format!("rsa{bits}");
            if matches!(alg, PublicKeyAlgorithm::RSAEncrypt) {
                refuse(name, "the key is marked encrypt-only")
            } else if bits < 2048 {
                refuse(name, "RSA keys need at least 2048 bits")
            } else {
                (name, None)
            }
        }
        PublicParams::EdDSALegacy(EddsaLegacyPublicParams::Ed25519 { .. })
        | PublicParams::Ed25519(_) => ("ed25519".to_owned(), None),
        PublicParams::ECDSA(EcdsaPublicParams::P256 { .. }) => ("nistp256".to_owned(), None),
        PublicParams::ECDSA(EcdsaPublicParams::P384 { .. }) => ("nistp384".to_owned(), None),
        PublicParams::ECDSA(EcdsaPublicParams::P521 { .. }) => ("nistp521".to_owned(), None),
        PublicParams::DSA(_) => refuse(
            "dsa".to_owned(),
            "DSA is deprecated (RFC 9580 §9.1); use ed25519 or rsa3072",
        ),
        PublicParams::ECDH(_) | PublicParams::X25519(_) | PublicParams::X448(_) => refuse(
            format!("{alg:?}").to_lowercase(),
            "an encryption-only algorithm",
        ),
        _ => refuse(
            format!("{alg:?}").to_lowercase(),
            "refguard verifies RSA, Ed25519 and ECDSA (NIST P-256/384/521) only",
        ),
    }
}

/// Whether an algorithm can sign at all (for a binding without key flags, as GnuPG infers
/// usage from the algorithm).
fn can_sign(algorithm: &str) -> bool {
    algorithm.starts_with("rsa")
        || algorithm.starts_with("nistp")
        || algorithm == "ed25519"
        || algorithm == "dsa"
}

/// Unix seconds of an OpenPGP timestamp.
fn secs(t: Timestamp) -> i64 {
    i64::from(t.as_secs())
}

/// An OpenPGP timestamp as an instant (always representable: 32-bit Unix seconds).
fn time_of(t: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs(t)).expect("a u32 of Unix seconds is a valid time")
}

/// Uppercase hex, as GnuPG prints fingerprints.
pub fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

/// An rPGP error as one short line (its messages may quote input: escaped, at most 120
/// characters).
pub(crate) fn brief(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    let mut out: String = s
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(120)
        .flat_map(char::escape_default)
        .collect();
    if s.chars().nth(120).is_some() {
        out.push('…');
    }
    out
}

mod fast;

#[cfg(test)]
pub(crate) mod testcerts;

#[cfg(test)]
mod tests;
