//! The ring backend (`fast.rs`) against ssh-key's own verification and `ssh-keygen -Y verify`,
//! on real `ssh-keygen` signatures and on mutations of them; and the ed25519 path with its
//! per-thread keys (`fast::ed25519_verdict`) against ssh-key on in-process signatures.
//!
//! Three answers are compared for every input: [`check`] (ring where it decides),
//! [`check_reference`] (ssh-key alone, what `check` was before ring) and, for the hand-made
//! cases, OpenSSH. `check` and `check_reference` must be equal, details included; and
//! wherever ring decides on its own ([`fast::ring_verdict`] is `Some`), its verdict must be
//! ssh-key's, so that the agreement is not only the fallback's doing.

use std::fs;
use std::process::Stdio;
use std::sync::OnceLock;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};
use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

use super::testkeys::{TestKey, keys, ssh_keygen};
use super::{check, check_reference, fast};
use crate::engine::SignatureCheck;
use crate::testutil::{base64_decode, run_with_stdin, sshsig_armor};

const PAYLOAD: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author A U Thor <author@example.com> 1112911993 +0000\n\
committer C O Mitter <committer@example.com> 1112912053 +0000\n\
\n\
Fast\n";

/// Group orders, big-endian.
const P256_N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
const P384_N: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf\
                      581a0db248b0a77aecec196accc52973";

// ---- keys --------------------------------------------------------------------------------

/// Second keys of the ring-verified types (the "wrong key"), and a 2048-bit RSA key (the
/// smallest size both backends accept).
struct Extra {
    p256: TestKey,
    p384: TestKey,
    rsa2048: TestKey,
}

fn extra() -> &'static Extra {
    static EXTRA: OnceLock<Extra> = OnceLock::new();
    EXTRA.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let specs: [(&'static str, &[&str], &'static str); 3] = [
            (
                "p256b",
                &["-t", "ecdsa", "-b", "256"],
                "ecdsa-sha2-nistp256",
            ),
            (
                "p384b",
                &["-t", "ecdsa", "-b", "384"],
                "ecdsa-sha2-nistp384",
            ),
            ("rsa2048", &["-t", "rsa", "-b", "2048"], "ssh-rsa"),
        ];
        let [p256, p384, rsa2048] = specs.map(|(name, args, algorithm)| {
            let path = dir.path().join(name);
            let status = ssh_keygen(dir.path())
                .args(["-q", "-N", "", "-C", name])
                .args(args)
                .arg("-f")
                .arg(&path)
                .stdout(Stdio::null())
                .status()
                .expect("ssh-keygen");
            assert!(status.success(), "ssh-keygen {name}");
            TestKey {
                name,
                private: fs::read_to_string(&path).expect("private key"),
                public: fs::read_to_string(path.with_extension("pub")).expect("public key"),
                fingerprint: String::new(),
                algorithm,
            }
        });
        Extra {
            p256,
            p384,
            rsa2048,
        }
    })
}

/// Every key the tests sign with or swap in.
fn all_keys() -> Vec<&'static TestKey> {
    let e = extra();
    let mut all = keys().all().to_vec();
    all.extend([&e.p256, &e.p384, &e.rsa2048]);
    all
}

// ---- SSHSIG blobs ------------------------------------------------------------------------

/// An SSHSIG blob's fields, to rebuild with some of them changed.
#[derive(Clone, Debug)]
struct Blob {
    key: Vec<u8>,
    namespace: Vec<u8>,
    reserved: Vec<u8>,
    hash: Vec<u8>,
    sig_alg: Vec<u8>,
    sig: Vec<u8>,
}

impl Blob {
    fn parse(armor: &[u8]) -> Blob {
        let text = std::str::from_utf8(armor).expect("ascii armor");
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let raw = base64_decode(&body);
        let mut rest = raw.strip_prefix(b"SSHSIG").expect("magic");
        assert_eq!(take(&mut rest, 4), [0, 0, 0, 1], "version");
        let key = string(&mut rest);
        let namespace = string(&mut rest);
        let reserved = string(&mut rest);
        let hash = string(&mut rest);
        let mut inner: &[u8] = &string(&mut rest);
        assert!(rest.is_empty(), "trailing bytes");
        let sig_alg = string(&mut inner);
        let sig = string(&mut inner);
        assert!(inner.is_empty(), "trailing signature bytes");
        Blob {
            key,
            namespace,
            reserved,
            hash,
            sig_alg,
            sig,
        }
    }

    fn raw(&self) -> Vec<u8> {
        let mut out = b"SSHSIG".to_vec();
        out.extend(1u32.to_be_bytes());
        for field in [&self.key, &self.namespace, &self.reserved, &self.hash] {
            put_string(&mut out, field);
        }
        let mut inner = Vec::new();
        put_string(&mut inner, &self.sig_alg);
        put_string(&mut inner, &self.sig);
        put_string(&mut out, &inner);
        out
    }

    fn armor(&self) -> Vec<u8> {
        sshsig_armor(&self.raw())
    }

    /// The ECDSA `mpint r || mpint s` as raw mpint contents.
    fn r_s(&self) -> (Vec<u8>, Vec<u8>) {
        let mut rest = self.sig.as_slice();
        let r = string(&mut rest);
        let s = string(&mut rest);
        (r, s)
    }

    fn with_r_s(&self, r: &[u8], s: &[u8]) -> Blob {
        let mut sig = Vec::new();
        put_string(&mut sig, r);
        put_string(&mut sig, s);
        Blob {
            sig,
            ..self.clone()
        }
    }
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    head
}

fn string(rest: &mut &[u8]) -> Vec<u8> {
    let len = u32::from_be_bytes(take(rest, 4).try_into().expect("4 bytes"));
    take(rest, len as usize).to_vec()
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend(u32::try_from(bytes.len()).expect("short").to_be_bytes());
    out.extend(bytes);
}

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).expect("hex"), 16).expect("hex"))
        .collect()
}

/// `a - b` for big-endian magnitudes with `a >= b`, as wide as `a`.
fn sub(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = a.to_vec();
    let mut borrow = 0i16;
    for i in 0..out.len() {
        let ai = out.len() - 1 - i;
        let bv = b.len().checked_sub(1 + i).map_or(0, |bi| i16::from(b[bi]));
        let mut v = i16::from(out[ai]) - bv - borrow;
        borrow = i16::from(v < 0);
        if v < 0 {
            v += 256;
        }
        out[ai] = v as u8;
    }
    assert_eq!(borrow, 0, "a >= b");
    out
}

/// A positive big-endian magnitude as canonical mpint contents.
fn mpint(be: &[u8]) -> Vec<u8> {
    let digits: Vec<u8> = be.iter().copied().skip_while(|&b| b == 0).collect();
    let mut out = Vec::new();
    if digits.first().is_some_and(|&b| b & 0x80 != 0) {
        out.push(0);
    }
    out.extend(digits);
    out
}

fn magnitude(mpint: &[u8]) -> &[u8] {
    mpint.strip_prefix(&[0]).unwrap_or(mpint)
}

// ---- the three verdicts ------------------------------------------------------------------

/// `ssh-keygen -Y verify` with every test key allowed for principal `signer`.
fn openssh_accepts(armor: &[u8], payload: &[u8]) -> bool {
    let dir = tempfile::tempdir().expect("tempdir");
    let allowed = dir.path().join("allowed_signers");
    let lines: String = all_keys()
        .iter()
        .map(|k| {
            let mut fields = k.public.split_whitespace();
            let (kind, b64) = (fields.next().expect("type"), fields.next().expect("base64"));
            format!("signer namespaces=\"git\" {kind} {b64}\n")
        })
        .collect();
    fs::write(&allowed, lines).expect("allowed_signers");
    let sig = dir.path().join("payload.sig");
    fs::write(&sig, armor).expect("signature");
    let out = run_with_stdin(
        ssh_keygen(dir.path())
            .args(["-Y", "verify", "-I", "signer", "-n", "git", "-f"])
            .arg(&allowed)
            .arg("-s")
            .arg(&sig),
        payload,
    );
    out.status.success()
}

/// ring's own verdict, when the armor parses (as `check` parses it) and ring decides.
fn ring_alone(armor: &[u8], payload: &[u8]) -> Option<bool> {
    let sig = super::sshsig::parse(armor).ok()?;
    let key = PublicKey::from(sig.public_key().clone());
    fast::ring_verdict(&key, "git", payload, &sig)
}

/// Asserts `check` == `check_reference`, and that ring alone, when it decides, agrees;
/// returns the verdict and whether ring decided.
fn agree(armor: &[u8], payload: &[u8], what: &str) -> (SignatureCheck, Option<bool>) {
    let fast = check(armor, payload, &super::Keyring::empty());
    let reference = check_reference(armor, payload);
    assert_eq!(fast, reference, "{what}: check differs from ssh-key alone");
    let ring = ring_alone(armor, payload);
    if let Some(ring) = ring {
        assert_eq!(
            ring,
            matches!(reference, SignatureCheck::Valid(_)),
            "{what}: ring alone says {ring}, ssh-key says {reference:?}"
        );
    }
    (fast, ring)
}

/// [`agree`], OpenSSH included, expecting `valid`.
fn all_three(armor: &[u8], payload: &[u8], valid: bool, what: &str) {
    let (verdict, _) = agree(armor, payload, what);
    assert_eq!(
        matches!(verdict, SignatureCheck::Valid(_)),
        valid,
        "{what}: {verdict:?}"
    );
    assert_eq!(openssh_accepts(armor, payload), valid, "{what}: ssh-keygen");
}

// ---- signatures --------------------------------------------------------------------------

/// An rsa-sha2-256 SSHSIG (`ssh-keygen -Y sign` only makes rsa-sha2-512), signed in-process.
fn sign_rsa_sha256(key: &TestKey, hash: HashAlg, payload: &[u8]) -> Vec<u8> {
    use rsa::signature::{SignatureEncoding as _, Signer as _};
    let private = PrivateKey::from_openssh(&key.private).expect("private key");
    let keypair = private.key_data().rsa().expect("rsa key");
    let big =
        |m: &ssh_key::Mpint| rsa::BigUint::from_bytes_be(m.as_positive_bytes().expect("positive"));
    let rsa_key = rsa::RsaPrivateKey::from_components(
        big(&keypair.public.n),
        big(&keypair.public.e),
        big(&keypair.private.d),
        vec![big(&keypair.private.p), big(&keypair.private.q)],
    )
    .expect("rsa private key");
    let signer = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(rsa_key);
    let signed = SshSig::signed_data("git", hash, payload).expect("signed data");
    let bytes = signer.sign(&signed).to_vec();
    let signature = ssh_key::Signature::new(
        ssh_key::Algorithm::Rsa {
            hash: Some(HashAlg::Sha256),
        },
        bytes,
    )
    .expect("signature");
    let sig = SshSig::new(
        private.public_key().key_data().clone(),
        "git",
        hash,
        signature,
    )
    .expect("sshsig");
    sig.to_pem(LineEnding::LF).expect("pem").into_bytes()
}

/// Valid signatures of every key type, SSHSIG hash and (for RSA) signature hash.
fn valid_signatures() -> Vec<(String, &'static TestKey, Vec<u8>)> {
    let k = keys();
    let e = extra();
    let mut out = Vec::new();
    for key in [
        &k.ed25519, &k.p256, &k.p384, &k.p521, &k.rsa, &e.p256, &e.p384, &e.rsa2048,
    ] {
        for hash in ["sha512", "sha256"] {
            let sig = key.sign("git", PAYLOAD, &["-O", &format!("hashalg={hash}")]);
            out.push((format!("{} {hash}", key.name), key, sig));
        }
    }
    for key in [&k.rsa, &e.rsa2048] {
        for hash in [HashAlg::Sha512, HashAlg::Sha256] {
            let sig = sign_rsa_sha256(key, hash, PAYLOAD);
            out.push((format!("{} rsa-sha2-256 {hash:?}", key.name), key, sig));
        }
    }
    out
}

fn valid_cache() -> &'static [(String, &'static TestKey, Vec<u8>)] {
    static VALID: OnceLock<Vec<(String, &'static TestKey, Vec<u8>)>> = OnceLock::new();
    VALID.get_or_init(valid_signatures)
}

fn is_ring_type(key: &TestKey) -> bool {
    matches!(
        key.algorithm,
        "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ssh-rsa"
    )
}

// ---- tests -------------------------------------------------------------------------------

#[test]
fn every_type_and_hash_is_valid_for_all_three() {
    for (what, key, sig) in valid_cache() {
        all_three(sig, PAYLOAD, true, what);
        let expected = if is_ring_type(key) { Some(true) } else { None };
        assert_eq!(ring_alone(sig, PAYLOAD), expected, "{what}: ring decides");
        let ed25519 = (key.algorithm == "ssh-ed25519").then_some(true);
        assert_eq!(ed25519_alone(sig, PAYLOAD), ed25519, "{what}: ed25519 path");
    }
}

#[test]
fn rsa_sha2_256_signature_is_what_it_claims() {
    let k = keys();
    let sig = sign_rsa_sha256(&k.rsa, HashAlg::Sha512, PAYLOAD);
    assert_eq!(Blob::parse(&sig).sig_alg, b"rsa-sha2-256");
}

#[test]
fn tampered_payload_is_bad_for_all_three() {
    let tampered = [PAYLOAD, b"x"].concat();
    for (what, key, sig) in valid_cache() {
        if is_ring_type(key) {
            all_three(sig, &tampered, false, what);
            assert_eq!(ring_alone(sig, &tampered), Some(false), "{what}");
        }
    }
}

#[test]
fn wrong_key_is_bad_for_all_three() {
    let (k, e) = (keys(), extra());
    let swaps = [
        (&k.p256, &e.p256),
        (&k.p384, &e.p384),
        (&k.rsa, &e.rsa2048),
        (&e.rsa2048, &k.rsa),
        (&k.p256, &k.p384),
        (&k.p384, &k.p521),
        (&k.rsa, &k.ed25519),
    ];
    for (signer, other) in swaps {
        let sig = signer.sign("git", PAYLOAD, &[]);
        let blob = Blob {
            key: other.blob(),
            ..Blob::parse(&sig)
        };
        let what = format!("{} signed, {} embedded", signer.name, other.name);
        all_three(&blob.armor(), PAYLOAD, false, &what);
    }
}

#[test]
fn wrong_algorithm_name_is_bad_for_all_three() {
    let k = keys();
    let cases: [(&TestKey, &[u8]); 7] = [
        (&k.p256, b"ecdsa-sha2-nistp384"),
        (&k.p384, b"ecdsa-sha2-nistp256"),
        (&k.p384, b"ecdsa-sha2-nistp521"),
        (&k.rsa, b"rsa-sha2-256"),
        (&k.rsa, b"ssh-rsa"),
        (&k.rsa, b"ssh-ed25519"),
        (&k.p256, b"rsa-sha2-512"),
    ];
    for (key, name) in cases {
        let sig = key.sign("git", PAYLOAD, &[]);
        let blob = Blob {
            sig_alg: name.to_vec(),
            ..Blob::parse(&sig)
        };
        let what = format!("{} as {}", key.name, String::from_utf8_lossy(name));
        all_three(&blob.armor(), PAYLOAD, false, &what);
    }
    // rsa-sha2-512 claimed by an rsa-sha2-256 signature.
    let sig = sign_rsa_sha256(&k.rsa, HashAlg::Sha512, PAYLOAD);
    let blob = Blob {
        sig_alg: b"rsa-sha2-512".to_vec(),
        ..Blob::parse(&sig)
    };
    all_three(
        &blob.armor(),
        PAYLOAD,
        false,
        "rsa-sha2-256 as rsa-sha2-512",
    );
}

#[test]
fn truncated_and_garbage_signatures_are_bad_for_all_three() {
    for (what, key, sig) in valid_cache() {
        if !is_ring_type(key) || !what.ends_with("sha512") {
            continue;
        }
        let blob = Blob::parse(sig);
        let len = blob.sig.len();
        let variants: [(&str, Vec<u8>); 6] = [
            ("empty", Vec::new()),
            ("truncated by one", blob.sig[..len - 1].to_vec()),
            ("half", blob.sig[..len / 2].to_vec()),
            ("extended", [&blob.sig[..], &[0]].concat()),
            ("zeros", vec![0; len]),
            ("garbage", (0..len).map(|i| (i * 37 + 11) as u8).collect()),
        ];
        for (name, bytes) in variants {
            let changed = Blob {
                sig: bytes,
                ..blob.clone()
            };
            all_three(&changed.armor(), PAYLOAD, false, &format!("{what}: {name}"));
        }
    }
}

/// r and s encoded or valued out of the rules: non-canonical leading zeros, negative, wider
/// than the field, zero, the group order or above. And s replaced by n - s, which every
/// implementation accepts (ECDSA signatures are malleable; OpenSSH does not enforce low s).
///
/// A needless leading zero byte is accepted, as OpenSSH's parser skips it
/// (`sshbuf_get_bignum2_bytes_direct`; `sshsig.rs` normalizes before ssh-key and ring see
/// the signature). A Secure Enclave agent writes fixed-length integers that have one.
/// (case, r, s, refguard's verdict, OpenSSH's verdict).
type RsCase = (&'static str, Vec<u8>, Vec<u8>, bool, bool);

#[test]
fn ecdsa_r_s_edge_cases_agree_with_openssh() {
    let (k, e) = (keys(), extra());
    for (key, n_hex) in [
        (&k.p256, P256_N),
        (&k.p384, P384_N),
        (&e.p256, P256_N),
        (&e.p384, P384_N),
    ] {
        let n = hex(n_hex);
        let width = n.len();
        let blob = Blob::parse(&key.sign("git", PAYLOAD, &[]));
        let (r, s) = blob.r_s();
        let (rm, sm) = (magnitude(&r).to_vec(), magnitude(&s).to_vec());
        let padded = |m: &[u8]| [vec![0; width - m.len()], m.to_vec()].concat();
        let cases: Vec<RsCase> = vec![
            (
                "r with a needless 00",
                [&[0][..], &r].concat(),
                s.clone(),
                true,
                true,
            ),
            (
                "s with a needless 00",
                r.clone(),
                [&[0][..], &s].concat(),
                true,
                true,
            ),
            (
                "r negative",
                rm.iter().map(|b| b | 0x80).collect(),
                s.clone(),
                false,
                false,
            ),
            (
                "r wider than the field",
                [&[1][..], &padded(&rm)].concat(),
                s.clone(),
                false,
                false,
            ),
            ("r = 0", Vec::new(), s.clone(), false, false),
            ("s = 0", r.clone(), Vec::new(), false, false),
            ("r = n", mpint(&n), s.clone(), false, false),
            ("s = n", r.clone(), mpint(&n), false, false),
            (
                "r = 2^w - 1",
                mpint(&vec![0xff; width]),
                s.clone(),
                false,
                false,
            ),
            ("r + n", mpint(&add(&rm, &n)), s.clone(), false, false),
            ("s = n - s", r.clone(), mpint(&sub(&n, &sm)), true, true),
            ("r = 1, s = 1", vec![1], vec![1], false, false),
        ];
        for (name, r2, s2, valid, openssh) in cases {
            let armor = blob.with_r_s(&r2, &s2).armor();
            let what = format!("{}: {name}", key.name);
            let (verdict, _) = agree(&armor, PAYLOAD, &what);
            assert_eq!(matches!(verdict, SignatureCheck::Valid(_)), valid, "{what}");
            assert_eq!(
                openssh_accepts(&armor, PAYLOAD),
                openssh,
                "{what}: ssh-keygen"
            );
        }
    }
}

/// `a + b` for big-endian magnitudes, one byte wider than the wider.
fn add(a: &[u8], b: &[u8]) -> Vec<u8> {
    let width = a.len().max(b.len()) + 1;
    let mut out = vec![0u8; width];
    let mut carry = 0u16;
    for i in 0..width {
        let av = a.len().checked_sub(1 + i).map_or(0, |j| u16::from(a[j]));
        let bv = b.len().checked_sub(1 + i).map_or(0, |j| u16::from(b[j]));
        let v = av + bv + carry;
        out[width - 1 - i] = v as u8;
        carry = v >> 8;
    }
    out
}

#[test]
fn rsa_signature_value_edge_cases_agree_with_openssh() {
    let (k, e) = (keys(), extra());
    for key in [&k.rsa, &e.rsa2048] {
        let blob = Blob::parse(&key.sign("git", PAYLOAD, &[]));
        let key_blob = key.blob();
        let mut rest = key_blob.as_slice();
        let _kind = string(&mut rest);
        let _e = string(&mut rest);
        let n = magnitude(&string(&mut rest)).to_vec();
        let one = [vec![0; n.len() - 1], vec![1]].concat();
        let cases: [(&str, Vec<u8>); 5] = [
            ("sig = n", n.clone()),
            ("sig = n - 1", sub(&n, &[1])),
            ("sig = 1", one),
            ("sig + n (one byte longer)", add(&blob.sig, &n)),
            ("leading 00 added", [&[0][..], &blob.sig].concat()),
        ];
        for (name, sig) in cases {
            let changed = Blob {
                sig,
                ..blob.clone()
            };
            all_three(
                &changed.armor(),
                PAYLOAD,
                false,
                &format!("{}: {name}", key.name),
            );
        }
    }
}

/// The differential property: for many random mutations of valid signatures of every type,
/// `check` == `check_reference` (details included) and ring alone, where it decides, agrees
/// with ssh-key. `REFGUARD_DIFF_CASES` sets the number of cases per signature.
#[test]
fn random_mutations_get_ssh_keys_verdict() {
    let per_sig: usize = std::env::var("REFGUARD_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let others = all_keys();
    let algs: [&[u8]; 7] = [
        b"ecdsa-sha2-nistp256",
        b"ecdsa-sha2-nistp384",
        b"ecdsa-sha2-nistp521",
        b"rsa-sha2-256",
        b"rsa-sha2-512",
        b"ssh-rsa",
        b"ssh-ed25519",
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_f457);
    let (mut ring_rejected, mut ring_accepted, mut total) = (0, 0, 0);
    for (what, _key, sig) in valid_cache() {
        let blob = Blob::parse(sig);
        for case in 0..per_sig {
            let mut b = blob.clone();
            let mut payload = PAYLOAD.to_vec();
            let pick = |rng: &mut ChaCha8Rng, len: usize| rng.next_u32() as usize % len.max(1);
            let kind = rng.next_u32() % 10;
            match kind {
                // One bit of the signature.
                0..=2 if !b.sig.is_empty() => {
                    let i = pick(&mut rng, b.sig.len());
                    b.sig[i] ^= 1 << (rng.next_u32() % 8);
                }
                // One byte of the signature, or a run of them.
                3 if !b.sig.is_empty() => {
                    let i = pick(&mut rng, b.sig.len());
                    let run = 1 + pick(&mut rng, 8).min(b.sig.len() - i - 1);
                    for byte in &mut b.sig[i..i + run] {
                        *byte = rng.next_u32() as u8;
                    }
                }
                4 => b.sig.truncate(pick(&mut rng, b.sig.len())),
                5 => {
                    let extra = 1 + pick(&mut rng, 4);
                    b.sig.extend((0..extra).map(|_| rng.next_u32() as u8));
                }
                6 => {
                    let i = pick(&mut rng, payload.len());
                    payload[i] ^= 1 << (rng.next_u32() % 8);
                }
                7 => b.sig_alg = algs[pick(&mut rng, algs.len())].to_vec(),
                8 => b.key = others[pick(&mut rng, others.len())].blob(),
                // Anywhere in the whole blob, keys and lengths included.
                _ => {
                    let mut raw = b.raw();
                    let i = pick(&mut rng, raw.len());
                    raw[i] ^= 1 << (rng.next_u32() % 8);
                    let armor = sshsig_armor(&raw);
                    let (_, ring) = agree(&armor, &payload, &format!("{what} #{case} raw"));
                    total += 1;
                    match ring {
                        Some(true) => ring_accepted += 1,
                        Some(false) => ring_rejected += 1,
                        None => {}
                    }
                    continue;
                }
            }
            let (_, ring) = agree(&b.armor(), &payload, &format!("{what} #{case} {kind}"));
            total += 1;
            match ring {
                Some(true) => ring_accepted += 1,
                Some(false) => ring_rejected += 1,
                None => {}
            }
        }
    }
    eprintln!("{total} mutations: ring accepted {ring_accepted}, rejected {ring_rejected}");
    // ring itself decided a fair share of the cases (not only the fallback).
    assert!(ring_rejected * 4 > total, "{ring_rejected} of {total}");
}

// ---- timing ------------------------------------------------------------------------------

/// Per-signature verification time, ring against ssh-key. Run in release:
/// `cargo test --release --lib fast_tests::timing -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release by hand"]
fn timing() {
    let (k, e) = (keys(), extra());
    for key in [&k.ed25519, &k.p256, &k.p384, &k.p521, &k.rsa, &e.rsa2048] {
        let armor = key.sign("git", PAYLOAD, &[]);
        let sig = SshSig::from_pem(&armor).expect("parse");
        let public = PublicKey::from(sig.public_key().clone());
        let time = |f: fn(&PublicKey, &str, &[u8], &SshSig) -> Result<(), ssh_key::Error>| {
            let rounds = 300;
            let start = std::time::Instant::now();
            for _ in 0..rounds {
                f(&public, "git", PAYLOAD, &sig).expect("verifies");
            }
            start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
        };
        let (reference, fast) = (time(fast::reference), time(fast::verify));
        eprintln!(
            "{:<8} ssh-key {reference:>8.1} µs   refguard {fast:>8.1} µs   {:>5.1}x",
            key.name,
            reference / fast
        );
    }
}

// ---- ed25519 with the thread's keys ---------------------------------------------------------

/// The ed25519 path's own verdict, when the armor parses and the path decides.
fn ed25519_alone(armor: &[u8], payload: &[u8]) -> Option<bool> {
    let sig = super::sshsig::parse(armor).ok()?;
    let key = PublicKey::from(sig.public_key().clone());
    fast::ed25519_verdict(&key, "git", payload, &sig)
}

/// [`agree`] for the ed25519 path: `check` == `check_reference`, and the path, when it
/// decides, says what ssh-key says. Returns whether `check` found the signature valid.
fn ed25519_agree(armor: &[u8], payload: &[u8], what: &str) -> bool {
    let (verdict, _) = agree(armor, payload, what);
    let valid = matches!(verdict, SignatureCheck::Valid(_));
    if let Some(alone) = ed25519_alone(armor, payload) {
        assert_eq!(
            alone, valid,
            "{what}: ed25519 path says {alone}, ssh-key {verdict:?}"
        );
    }
    valid
}

/// An in-process ed25519 signer: seed byte `n`.
fn dalek_key(n: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[n; 32])
}

/// The SSHSIG key blob of an ed25519 public key.
fn ed25519_key_blob(public: &[u8; 32]) -> Vec<u8> {
    let mut key = Vec::new();
    put_string(&mut key, b"ssh-ed25519");
    put_string(&mut key, public);
    key
}

/// An `ssh-ed25519` SSHSIG over `payload` by `key`, signed in-process.
fn ed25519_sshsig(key: &ed25519_dalek::SigningKey, hash: HashAlg, payload: &[u8]) -> Blob {
    use ed25519_dalek::Signer as _;
    let signed = SshSig::signed_data("git", hash, payload).expect("signed data");
    Blob {
        key: ed25519_key_blob(key.verifying_key().as_bytes()),
        namespace: b"git".to_vec(),
        reserved: Vec::new(),
        hash: hash.as_str().as_bytes().to_vec(),
        sig_alg: b"ssh-ed25519".to_vec(),
        sig: key.sign(&signed).to_bytes().to_vec(),
    }
}

#[test]
fn ed25519_path_agrees_with_ssh_key_on_mutations() {
    let key = dalek_key(1);
    for hash in [HashAlg::Sha512, HashAlg::Sha256] {
        let good = ed25519_sshsig(&key, hash, PAYLOAD);
        assert!(ed25519_agree(&good.armor(), PAYLOAD, "valid"));
        assert_eq!(ed25519_alone(&good.armor(), PAYLOAD), Some(true));
        let tampered = [PAYLOAD, b"x"].concat();
        assert!(!ed25519_agree(&good.armor(), &tampered, "payload changed"));
        assert_eq!(ed25519_alone(&good.armor(), &tampered), Some(false));
        // One bit of R, one of S, the top bits of S (S >= L), a short and a long signature.
        let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
        for (what, at, bit) in [("R bit", 3, 0x10), ("S bit", 40, 0x01), ("S top", 63, 0xe0)] {
            let mut sig = good.sig.clone();
            sig[at] ^= bit;
            cases.push((what, sig));
        }
        cases.push(("63 bytes", good.sig[..63].to_vec()));
        cases.push(("65 bytes", [good.sig.as_slice(), &[0]].concat()));
        for (what, sig) in cases {
            let blob = Blob {
                sig,
                ..good.clone()
            };
            assert!(!ed25519_agree(&blob.armor(), PAYLOAD, what), "{what}");
        }
        // Signed by one key, another embedded; the namespace or hash name changed.
        let other = Blob {
            key: ed25519_key_blob(dalek_key(2).verifying_key().as_bytes()),
            ..good.clone()
        };
        assert!(!ed25519_agree(&other.armor(), PAYLOAD, "wrong key"));
        let reserved = Blob {
            reserved: b"x".to_vec(),
            ..good.clone()
        };
        assert!(!ed25519_agree(&reserved.armor(), PAYLOAD, "reserved field"));
        assert_eq!(ed25519_alone(&reserved.armor(), PAYLOAD), None);
        let sk_name = Blob {
            sig_alg: b"sk-ssh-ed25519@openssh.com".to_vec(),
            ..good.clone()
        };
        assert!(!ed25519_agree(
            &sk_name.armor(),
            PAYLOAD,
            "sk algorithm name"
        ));
        assert_eq!(ed25519_alone(&sk_name.armor(), PAYLOAD), None);
    }
}

/// S + L: the same scalar unreduced. ed25519-dalek (so ssh-key, so refguard) refuses it
/// (`corpus_tests.rs` records that OpenSSH, which checks only S's top three bits, accepts it).
#[test]
fn ed25519_unreduced_s_is_refused_by_both() {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    // Find a signature whose S + L still fits under 2^253 (S below 2^252 + small).
    for n in 0..64u8 {
        let payload = [PAYLOAD, &[n]].concat();
        let good = ed25519_sshsig(&dalek_key(3), HashAlg::Sha512, &payload);
        let (mut sum, mut carry) = (good.sig.clone(), 0u16);
        for (byte, l) in sum[32..].iter_mut().zip(L) {
            let total = u16::from(*byte) + u16::from(l) + carry;
            *byte = total as u8;
            carry = total >> 8;
        }
        if carry != 0 || sum[63] & 0xe0 != 0 {
            continue;
        }
        let blob = Blob { sig: sum, ..good };
        assert!(!ed25519_agree(&blob.armor(), &payload, "S + L"));
        assert_eq!(ed25519_alone(&blob.armor(), &payload), Some(false));
        return;
    }
    panic!("no signature with S + L below 2^253");
}

/// A small-order key is accepted by ssh-key's `verify` (not `verify_strict`), as by OpenSSH:
/// the identity key with R = identity and S = 0 verifies any payload. The ed25519 path must
/// say the same (the policy decides whether such a key may sign; no real key is one).
/// Key bytes that are not a point are refused by both.
#[test]
fn ed25519_small_order_and_invalid_keys_get_ssh_keys_verdict() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let blob = Blob {
        key: ed25519_key_blob(&identity),
        namespace: b"git".to_vec(),
        reserved: Vec::new(),
        hash: b"sha512".to_vec(),
        sig_alg: b"ssh-ed25519".to_vec(),
        sig: [identity.as_slice(), &[0; 32]].concat(),
    };
    assert!(ed25519_agree(&blob.armor(), PAYLOAD, "identity key"));
    assert_eq!(ed25519_alone(&blob.armor(), PAYLOAD), Some(true));

    // R = the point of order 2 (y = -1) instead: R - [S]B + [k]A is that point, not zero, so
    // the signature is refused. A batch equation would multiply it by a random z and accept
    // whenever z is even (why `fast.rs` does not batch).
    let mut order_two = [0xff; 32];
    order_two[0] = 0xec;
    order_two[31] = 0x7f;
    let torsion = Blob {
        sig: [order_two.as_slice(), &[0; 32]].concat(),
        ..blob.clone()
    };
    assert!(!ed25519_agree(&torsion.armor(), PAYLOAD, "R of order 2"));
    assert_eq!(ed25519_alone(&torsion.armor(), PAYLOAD), Some(false));

    let not_a_point = (2..=255u8)
        .map(|y| [y; 32])
        .find(|bytes| ed25519_dalek::VerifyingKey::from_bytes(bytes).is_err())
        .expect("some y is not on the curve");
    let blob = Blob {
        key: ed25519_key_blob(&not_a_point),
        ..blob
    };
    assert!(!ed25519_agree(&blob.armor(), PAYLOAD, "not a point"));
    assert_eq!(ed25519_alone(&blob.armor(), PAYLOAD), None);
}

/// More keys than a thread keeps, interleaved, each used several times, with bad signatures
/// among good ones (a wrong key in the middle, a signature by one key under another's name):
/// every verdict is ssh-key's, whatever the thread has kept from the signatures before it.
#[test]
fn ed25519_kept_keys_never_confuse_signers() {
    let signers: Vec<_> = (0..20u8).map(|n| dalek_key(100 + n)).collect();
    let mut expected_valid = 0;
    for round in 0..3 {
        for (i, signer) in signers.iter().enumerate() {
            let payload = [PAYLOAD, format!("{round} {i}").as_bytes()].concat();
            let good = ed25519_sshsig(signer, HashAlg::Sha512, &payload);
            let bad_in_middle = round == 1 && i == signers.len() / 2;
            let blob = if bad_in_middle {
                let next = &signers[(i + 1) % signers.len()];
                Blob {
                    key: ed25519_key_blob(next.verifying_key().as_bytes()),
                    ..good
                }
            } else {
                good
            };
            let what = format!("round {round}, signer {i}");
            let valid = ed25519_agree(&blob.armor(), &payload, &what);
            assert_eq!(valid, !bad_in_middle, "{what}");
            expected_valid += usize::from(valid);
        }
    }
    assert_eq!(expected_valid, 3 * 20 - 1);
}
