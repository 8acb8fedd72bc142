//! Test certificates made by the real `gpg`, once per test process, and signing helpers that
//! craft what gpg will not make (refused digests, v3 and other signature types) with rPGP and
//! the exported secret keys.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use pgp::composed::{Deserializable as _, SignedPublicKey, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Signature, SignatureConfig, SignatureType, Subpacket, SubpacketData};
use pgp::types::{Password, SigningKey, Timestamp};

/// One certificate: its armored public part (as `gpg --export --armor` writes it), its
/// secret keys, and its fingerprints (primary first).
pub(crate) struct TestCert {
    pub(crate) public: Vec<u8>,
    pub(crate) secret: SignedSecretKey,
    pub(crate) fingerprints: Vec<String>,
}

/// The certificates of the unit tests.
pub(crate) struct Certs {
    /// ed25519 primary (sign, certify), an ed25519 signing subkey, a cv25519 encryption
    /// subkey.
    pub(crate) alice: TestCert,
    /// RSA-3072 primary (sign, certify).
    pub(crate) carol: TestCert,
    /// ed25519 made at 2020-06-01 with a one-year expiry.
    pub(crate) erin: TestCert,
    /// ed25519 primary (sign, certify) with a DSA-2048 signing subkey, which refguard refuses.
    pub(crate) grace: TestCert,
}

/// The test certificates, made on first use.
pub(crate) fn certs() -> &'static Certs {
    static CERTS: OnceLock<Certs> = OnceLock::new();
    CERTS.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("rg-gpg-")
            .tempdir()
            .expect("GNUPGHOME");
        let home = dir.path();
        let alice = generate(
            home,
            "alice@example.com",
            "ed25519",
            "sign,cert",
            "never",
            None,
        );
        gpg(
            home,
            &["--quick-add-key", &alice, "ed25519", "sign", "never"],
        );
        gpg(
            home,
            &["--quick-add-key", &alice, "cv25519", "encr", "never"],
        );
        generate(
            home,
            "carol@example.com",
            "rsa3072",
            "sign,cert",
            "never",
            None,
        );
        generate(
            home,
            "erin@example.com",
            "ed25519",
            "sign,cert",
            "1y",
            Some("20200601T000000!"),
        );
        let grace = generate(
            home,
            "grace@example.com",
            "ed25519",
            "sign,cert",
            "never",
            None,
        );
        gpg(
            home,
            &["--quick-add-key", &grace, "dsa2048", "sign", "never"],
        );
        let certs = Certs {
            alice: export(home, "alice@example.com"),
            carol: export(home, "carol@example.com"),
            erin: export(home, "erin@example.com"),
            grace: export(home, "grace@example.com"),
        };
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", home)
            .args(["--kill", "all"])
            .status();
        certs
    })
}

/// Runs gpg in `home` (batch, no passphrase) and returns stdout; panics on failure.
fn gpg(home: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args([
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args(args)
        .output()
        .expect("run gpg (install gnupg)");
    assert!(
        out.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn generate(
    home: &Path,
    uid: &str,
    algo: &str,
    usage: &str,
    expire: &str,
    at: Option<&str>,
) -> String {
    let mut args = Vec::new();
    if let Some(at) = at {
        args.extend(["--faked-system-time", at]);
    }
    args.extend(["--quick-gen-key", uid, algo, usage, expire]);
    gpg(home, &args);
    fingerprints(home, uid)[0].clone()
}

fn fingerprints(home: &Path, uid: &str) -> Vec<String> {
    let out = gpg(
        home,
        &["--with-colons", "--with-subkey-fingerprints", "-k", uid],
    );
    String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| l.starts_with("fpr:"))
        .filter_map(|l| l.split(':').nth(9).map(str::to_string))
        .collect()
}

fn export(home: &Path, uid: &str) -> TestCert {
    let public = gpg(home, &["--armor", "--export", uid]);
    let secret = gpg(home, &["--export-secret-keys", uid]);
    let secret =
        SignedSecretKey::from_bytes(secret.as_slice()).expect("rPGP reads gpg's secret key");
    TestCert {
        public,
        secret,
        fingerprints: fingerprints(home, uid),
    }
}

impl TestCert {
    /// The public certificate as rPGP reads it.
    pub(crate) fn tpk(&self) -> SignedPublicKey {
        SignedPublicKey::from_armor_single(self.public.as_slice())
            .expect("rPGP reads gpg's certificate")
            .0
    }
}

/// Signs `payload` with `key` as a v4 signature of type `typ` and digest `hash`, with a
/// creation time and the issuer's fingerprint, bypassing rPGP's own refusals (it signs only
/// binary and text documents): the hash, trailer and signature are computed as RFC 9580
/// §5.2.4 says, so the result verifies cryptographically whatever its type.
pub(crate) fn sign(
    key: &impl SigningKey,
    typ: SignatureType,
    hash: HashAlgorithm,
    created: u32,
    payload: &[u8],
) -> Signature {
    let mut config = SignatureConfig::v4(typ, key.algorithm(), hash);
    config.hashed_subpackets = vec![
        Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
            created,
        )))
        .expect("subpacket"),
        Subpacket::regular(SubpacketData::IssuerFingerprint(key.fingerprint())).expect("subpacket"),
    ];
    sign_config(key, config, payload)
}

/// Signs `payload` under `config` (any version or type), computing the digest by hand.
pub(crate) fn sign_config(
    key: &impl SigningKey,
    config: SignatureConfig,
    payload: &[u8],
) -> Signature {
    let mut hasher = config.hash_alg.new_hasher().expect("hasher");
    if config.typ == SignatureType::Text {
        // A text signature covers the payload with CRLF line ends (RFC 9580 §5.2.1.2).
        let text = String::from_utf8_lossy(payload)
            .replace("\r\n", "\n")
            .replace('\n', "\r\n");
        hasher.update(text.as_bytes());
    } else {
        hasher.update(payload);
    }
    let len = config.hash_signature_data(&mut hasher).expect("hash");
    hasher.update(&config.trailer(len).expect("trailer"));
    let digest = hasher.finalize();
    let bytes = key
        .sign(&Password::empty(), config.hash_alg, &digest)
        .expect("sign");
    Signature::from_config(config, [digest[0], digest[1]], bytes).expect("signature")
}

/// `sigs` as one armored `PGP SIGNATURE` block.
pub(crate) fn armor(sigs: &[Signature]) -> Vec<u8> {
    use pgp::packet::PacketTrait as _;
    struct All<'a>(&'a [Signature]);
    impl pgp::ser::Serialize for All<'_> {
        fn to_writer<W: std::io::Write>(&self, w: &mut W) -> pgp::errors::Result<()> {
            self.0.iter().try_for_each(|s| s.to_writer_with_header(w))
        }
        fn write_len(&self) -> usize {
            self.0.iter().map(|s| s.write_len_with_header()).sum()
        }
    }
    let mut out = Vec::new();
    pgp::armor::write(
        &All(sigs),
        pgp::armor::BlockType::Signature,
        &mut out,
        None,
        true,
    )
    .expect("armor");
    out
}
