//! Unit tests of `sshsig.rs`: every encoding leniency OpenSSH has and every refusal it
//! makes, on the base64, the armor and the signature integers, then on real `ssh-keygen`
//! signatures through [`check`](super::super::check). The differential corpus against
//! `ssh-keygen -Y verify` itself is `corpus_tests.rs`.

use super::super::testkeys::keys;
use super::super::{Keyring, check_reference};
use super::*;
use crate::engine::SignatureCheck;
use crate::testutil::{base64, base64_decode, sshsig_armor};

/// [`super::check`] without OpenPGP certificates: these tests verify SSH signatures.
fn check(signature: &[u8], payload: &[u8]) -> SignatureCheck {
    super::super::check(signature, payload, &Keyring::empty())
}

const PAYLOAD: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author A U Thor <author@example.com> 1112911993 +0000\n\
committer C O Mitter <committer@example.com> 1112912053 +0000\n\
\n\
Armor\n";

// ---- b64_pton ----------------------------------------------------------------------------

#[test]
fn b64_pton_accepts_what_openssh_accepts() {
    let cases: [(&[u8], &[u8]); 14] = [
        (b"", b""),
        (b"QUJD", b"ABC"),
        (b"QUI=", b"AB"),
        (b"QQ==", b"A"),
        (b"QUJDRA==", b"ABCD"),
        // Whitespace anywhere before the padding: any width, blank lines, CR, indentation.
        (b"QU\nJD", b"ABC"),
        (b" Q U J D ", b"ABC"),
        (b"QUJD\r\n\r\n", b"ABC"),
        (b"\tQUJD", b"ABC"),
        // `\v` and `\f` are C `isspace` too.
        (b"QU\x0b\x0cJD", b"ABC"),
        // Whitespace between and after the two padding characters.
        (b"QQ= =", b"A"),
        (b"QQ=\n=\n", b"A"),
        (b"QUI= \r\n", b"AB"),
        (b"QQ==\n\n", b"A"),
    ];
    for (text, bytes) in cases {
        let got = b64_pton(text);
        assert_eq!(
            got.as_deref().ok(),
            Some(bytes),
            "{:?}: {got:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn b64_pton_refuses_what_openssh_refuses() {
    let cases: [&[u8]; 17] = [
        // Digits not ending on a quantum, without padding.
        b"Q",
        b"QQ",
        b"QUI",
        b"QUJDR",
        // Padding in the wrong place or of the wrong length.
        b"=",
        b"Q=",
        b"QUJD=",
        b"QQ=",
        b"QUI==",
        b"QUJD====",
        // Anything but whitespace after the padding.
        b"QQ==QQ==",
        b"QQ=A=",
        b"QUI=A",
        // Nonzero bits under the padding (a second spelling of the same bytes).
        b"QR==",
        b"QUJ=",
        // Not base64 digits: punctuation, URL-safe alphabet, non-ASCII (NBSP in UTF-8).
        b"QU!D",
        b"QU\xc2\xa0JD",
    ];
    for text in cases {
        assert!(
            matches!(b64_pton(text), Err(Error::Base64)),
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
    assert!(b64_pton(b"QU-_").is_err(), "URL-safe alphabet");
}

// ---- dearmor -----------------------------------------------------------------------------

const BEGIN_LF: &str = "-----BEGIN SSH SIGNATURE-----\n";
const END_LF: &str = "-----END SSH SIGNATURE-----\n";
/// base64 of `hello world!`.
const HELLO: &str = "aGVsbG8gd29ybGQh";

fn dearmored(armor: &str) -> Result<Vec<u8>, Error> {
    dearmor(armor.as_bytes())
}

#[test]
fn dearmor_accepts_what_sshsig_dearmor_accepts() {
    let cases = [
        format!("{BEGIN_LF}{HELLO}\n{END_LF}"),
        // No newline after the footer, or text after it: ignored (`sshbuf_consume_end`).
        format!("{BEGIN_LF}{HELLO}\n-----END SSH SIGNATURE-----"),
        format!("{BEGIN_LF}{HELLO}\n{END_LF}\n"),
        format!("{BEGIN_LF}{HELLO}\n{END_LF}anything at all\n"),
        format!("{BEGIN_LF}{HELLO}\n-----END SSH SIGNATURE-----trailing"),
        // The first footer ends the base64; a second one is after the end.
        format!("{BEGIN_LF}{HELLO}\n{END_LF}!!\n{END_LF}"),
        // Blank lines and CRs are base64 whitespace, before the footer too.
        format!("{BEGIN_LF}\n{HELLO}\n\n{END_LF}"),
        format!("{BEGIN_LF}aGVsbG8g\r\nd29ybGQh\r\n{END_LF}"),
        // A NUL only as the last byte before the footer (`sshbuf_dup_string`).
        format!("{BEGIN_LF}{HELLO}\0\n{END_LF}"),
    ];
    for armor in cases {
        assert_eq!(
            dearmored(&armor).ok().as_deref(),
            Some(&b"hello world!"[..]),
            "{armor:?}"
        );
    }
    // Nothing at all between header and footer is an empty blob (refused later).
    assert_eq!(
        dearmored(&format!("{BEGIN_LF}\n{END_LF}")).ok(),
        Some(Vec::new())
    );
}

#[test]
fn dearmor_refuses_what_sshsig_dearmor_refuses() {
    use Error::{Base64, HeaderEol, MissingFooter, MissingHeader, Nul};
    let cases = [
        (format!(" {BEGIN_LF}{HELLO}\n{END_LF}"), MissingHeader),
        (
            format!("-----BEGIN SSH SIGNATURE----\n{HELLO}\n{END_LF}"),
            MissingHeader,
        ),
        // The header line must end in `\n` right after the dashes (CRLF: see the module
        // documentation; OpenSSH 9.2 refuses it, 9.5 and later accept it).
        (
            format!("-----BEGIN SSH SIGNATURE-----\r\n{HELLO}\r\n-----END SSH SIGNATURE-----\r\n"),
            HeaderEol,
        ),
        (
            format!("-----BEGIN SSH SIGNATURE----- \n{HELLO}\n{END_LF}"),
            HeaderEol,
        ),
        (
            format!("-----BEGIN SSH SIGNATURE-----{HELLO}\n{END_LF}"),
            HeaderEol,
        ),
        // The footer must follow a newline at the start of its line.
        (format!("{BEGIN_LF}{HELLO}\n"), MissingFooter),
        (format!("{BEGIN_LF}{HELLO}\n {END_LF}"), MissingFooter),
        (format!("{BEGIN_LF}{HELLO}{END_LF}"), MissingFooter),
        (format!("{BEGIN_LF}{END_LF}"), MissingFooter),
        (format!("{BEGIN_LF}aGVs\0bG8gd29ybGQh\n{END_LF}"), Nul),
        (format!("{BEGIN_LF}{HELLO}!\n{END_LF}"), Base64),
    ];
    for (armor, expected) in cases {
        match dearmored(&armor) {
            Err(e) if std::mem::discriminant(&e) == std::mem::discriminant(&expected) => {}
            other => panic!("{armor:?}: expected {expected:?}, got {other:?}"),
        }
    }
}

// ---- signature integers ------------------------------------------------------------------

fn string(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_string(&mut out, bytes).expect("short");
    out
}

fn ecdsa_field(algorithm: &[u8], r: &[u8], s: &[u8], trailer: &[u8]) -> Vec<u8> {
    let inner = [string(r), string(s)].concat();
    [string(algorithm), string(&inner), trailer.to_vec()].concat()
}

#[test]
fn bignum2_trims_every_leading_zero_and_refuses_negative_and_oversized() {
    let read = |raw: &[u8]| {
        let field = string(raw);
        let mut buf = Buf(&field);
        buf.bignum2("test").map(<[u8]>::to_vec)
    };
    assert_eq!(read(b"\x01\x02").ok(), Some(vec![1, 2]));
    assert_eq!(read(b"\x00\x81").ok(), Some(vec![0x81]));
    assert_eq!(read(b"\x00\x01\x02").ok(), Some(vec![1, 2]));
    assert_eq!(read(b"\x00\x00\x00\x7f").ok(), Some(vec![0x7f]));
    assert_eq!(read(b"").ok(), Some(vec![]));
    assert_eq!(read(b"\x00").ok(), Some(vec![]));
    assert!(matches!(read(b"\x80"), Err(Error::Negative)));
    assert!(matches!(read(b"\xff\x01"), Err(Error::Negative)));
    // SSHBUF_MAX_BIGNUM bytes, plus one leading zero at most.
    let mut max = vec![0u8; MAX_BIGNUM + 1];
    max[MAX_BIGNUM] = 1;
    assert_eq!(read(&max).ok(), Some(vec![1]));
    let mut over = max.clone();
    over[0] = 1;
    assert!(matches!(read(&over), Err(Error::TooLarge)));
    let longer = [&[0u8][..], &max].concat();
    assert!(matches!(read(&longer), Err(Error::TooLarge)));
    // A length past the end.
    let mut buf = Buf(b"\x00\x00\x00\x05abc");
    assert!(matches!(buf.bignum2("test"), Err(Error::Truncated("test"))));
}

/// [`normalize_signature`]'s result as bytes; `None` on error.
fn normalized(key: &[u8], field: &[u8]) -> Option<Vec<u8>> {
    normalize_signature(key, field).ok().map(Cow::into_owned)
}

/// Whether [`normalize_signature`] returns `field` itself (no copy).
fn unchanged(key: &[u8], field: &[u8]) -> bool {
    matches!(normalize_signature(key, field), Ok(Cow::Borrowed(f)) if f == field)
}

#[test]
fn ecdsa_integers_are_rewritten_canonically() {
    for algorithm in ECDSA_ALGORITHMS {
        let trailer: &[u8] = if algorithm.starts_with(b"sk-") {
            b"\x01\x00\x00\x00\x07"
        } else {
            b""
        };
        // Needless zeros (one, several, a fixed width) are dropped; a needed one is kept.
        let field = ecdsa_field(algorithm, b"\x00\x00\x12\x34", b"\x00\x00\x00\x99", trailer);
        let want = ecdsa_field(algorithm, b"\x12\x34", b"\x00\x99", trailer);
        assert_eq!(normalized(b"", &field), Some(want.clone()));
        // Canonical input is returned as it is.
        assert!(unchanged(b"", &want));
        // Refusals: negative, and data after s inside the blob.
        let negative = ecdsa_field(algorithm, b"\x92\x34", b"\x01", trailer);
        assert!(matches!(
            normalize_signature(b"", &negative),
            Err(Error::Negative)
        ));
        let inner = [string(b"\x01"), string(b"\x01"), vec![0]].concat();
        let extra = [string(algorithm), string(&inner), trailer.to_vec()].concat();
        assert!(matches!(
            normalize_signature(b"", &extra),
            Err(Error::Trailing(_))
        ));
    }
}

/// An `ssh-rsa` key blob with a modulus of `bytes` bytes (top bit set).
fn rsa_key(bytes: usize) -> Vec<u8> {
    let mut n = vec![0xc5u8; bytes];
    n[bytes - 1] = 0x01;
    let mut key = string(b"ssh-rsa");
    put_mpint(&mut key, &[1, 0, 1]).expect("e");
    put_mpint(&mut key, &n).expect("n");
    key
}

#[test]
fn short_rsa_signatures_are_left_padded_to_the_modulus() {
    let key = rsa_key(256);
    for algorithm in RSA_ALGORITHMS {
        let field = |sig: &[u8]| [string(algorithm), string(sig)].concat();
        let short = vec![0x42u8; 254];
        let padded = [vec![0, 0], short.clone()].concat();
        assert_eq!(normalized(&key, &field(&short)), Some(field(&padded)));
        // Exactly the modulus length, or longer: unchanged (a longer one is refused later).
        for len in [256, 257] {
            let sig = vec![0x42u8; len];
            assert!(unchanged(&key, &field(&sig)));
        }
    }
    // `ssh-rsa` (SHA-1) is not padded (ssh-keygen refuses it anyway), nor is an RSA
    // algorithm under another key type.
    let sha1 = [string(b"ssh-rsa"), string(&[0x42; 200])].concat();
    assert!(unchanged(&key, &sha1));
    let ed_key = [string(b"ssh-ed25519"), string(&[7; 32])].concat();
    let under_ed = [string(b"rsa-sha2-512"), string(&[0x42; 200])].concat();
    assert!(unchanged(&ed_key, &under_ed));
}

#[test]
fn other_signatures_are_left_alone() {
    let ed = [string(b"ssh-ed25519"), string(&[9; 64])].concat();
    assert!(unchanged(b"", &ed));
    let unknown = [string(b"x@example.com"), string(&[0x80; 10])].concat();
    assert!(unchanged(b"", &unknown));
    let truncated = b"\x00\x00\x00\x13ecdsa".to_vec();
    assert!(unchanged(b"", &truncated));
}

// ---- real signatures through check --------------------------------------------------------

/// `armor`'s base64 re-wrapped at `width` columns with `eol` line ends (header excepted).
fn rewrap(armor: &[u8], width: usize, eol: &str) -> Vec<u8> {
    let text = std::str::from_utf8(armor).expect("ascii armor");
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut out = String::from(BEGIN_LF);
    for line in body.as_bytes().chunks(width) {
        out.push_str(std::str::from_utf8(line).expect("ascii"));
        out.push_str(eol);
    }
    out.push_str("-----END SSH SIGNATURE-----");
    out.push_str(eol);
    out.into_bytes()
}

fn valid(check: SignatureCheck) -> crate::engine::KeyId {
    match check {
        SignatureCheck::Valid(id) => id,
        other => panic!("expected Valid, got {other:?}"),
    }
}

#[test]
fn rewrapped_and_blank_lined_armor_verifies_as_the_original() {
    for key in keys().all() {
        let sig = key.sign("git", PAYLOAD, &[]);
        let id = valid(check(&sig, PAYLOAD));
        let variants = [
            ("64 columns", rewrap(&sig, 64, "\n")),
            ("76 columns", rewrap(&sig, 76, "\n")),
            ("one line", rewrap(&sig, usize::MAX, "\n")),
            ("CR before every body newline", rewrap(&sig, 70, "\r\n")),
            ("trailing blank line", [&sig[..], b"\n"].concat()),
            (
                "blank line before the footer",
                String::from_utf8_lossy(&sig)
                    .replace("\n-----END", "\n\n-----END")
                    .into_bytes(),
            ),
        ];
        for (what, armor) in variants {
            assert_eq!(valid(check(&armor, PAYLOAD)), id, "{} {what}", key.name);
            assert_eq!(
                check(&armor, PAYLOAD),
                check_reference(&armor, PAYLOAD),
                "{} {what}",
                key.name
            );
        }
    }
}

/// The SSHSIG blob of `armor` with its signature field replaced by `f(field)`.
fn with_signature_field(armor: &[u8], f: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let text = std::str::from_utf8(armor).expect("ascii armor");
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let blob = base64_decode(&body);
    let mut buf = Buf(&blob);
    buf.bytes(10, "head").expect("preamble and version");
    for _ in 0..4 {
        buf.string("field").expect("field");
    }
    let head = blob.len() - buf.rest().len();
    let field = buf.string("signature").expect("signature");
    let mut out = blob[..head].to_vec();
    put_string(&mut out, &f(field)).expect("short");
    sshsig_armor(&out)
}

/// The ECDSA signature field with `edit` applied to the raw mpint contents of r and s.
fn edit_r_s(field: &[u8], edit: impl Fn(&[u8], &[u8]) -> (Vec<u8>, Vec<u8>)) -> Vec<u8> {
    let mut buf = Buf(field);
    let algorithm = buf.string("alg").expect("alg");
    let inner = buf.string("blob").expect("blob");
    let trailer = buf.rest();
    let mut ints = Buf(inner);
    let r = ints.string("r").expect("r");
    let s = ints.string("s").expect("s");
    let (r, s) = edit(r, s);
    ecdsa_field(algorithm, &r, &s, trailer)
}

/// An edit of ECDSA r and s (raw mpint contents).
type RsEdit = fn(&[u8], &[u8]) -> (Vec<u8>, Vec<u8>);

#[test]
fn ecdsa_with_needless_leading_zeros_verifies_on_both_paths() {
    let k = keys();
    for key in [&k.p256, &k.p384, &k.p521] {
        let sig = key.sign("git", PAYLOAD, &[]);
        let id = valid(check(&sig, PAYLOAD));
        let edits: [(&str, RsEdit); 3] = [
            ("r", |r, s| ([&[0][..], r].concat(), s.to_vec())),
            ("s", |r, s| (r.to_vec(), [&[0, 0][..], s].concat())),
            ("both, fixed 80 bytes", |r, s| {
                let fixed = |m: &[u8]| [vec![0; 80 - m.len()], m.to_vec()].concat();
                (fixed(r), fixed(s))
            }),
        ];
        for (what, edit) in edits {
            let armor = with_signature_field(&sig, |f| edit_r_s(f, edit));
            assert_ne!(armor, sig);
            assert_eq!(valid(check(&armor, PAYLOAD)), id, "{} {what}", key.name);
            assert_eq!(
                check(&armor, PAYLOAD),
                check_reference(&armor, PAYLOAD),
                "{} {what}",
                key.name
            );
            // The fast path decides on the normalized signature itself (P-256, P-384).
            let parsed = parse(&armor).expect("parses");
            let public = ssh_key::PublicKey::from(parsed.public_key().clone());
            let ring = super::super::fast::ring_verdict(&public, "git", PAYLOAD, &parsed);
            let expected = (key.name != "p521").then_some(true);
            assert_eq!(ring, expected, "{} {what}", key.name);
        }
        // A negative r (its sign byte dropped) and data after s stay refused.
        let negative = with_signature_field(&sig, |f| {
            edit_r_s(f, |r, s| {
                let mut r = r.strip_prefix(&[0]).unwrap_or(r).to_vec();
                r[0] |= 0x80;
                (r, s.to_vec())
            })
        });
        assert!(
            matches!(check(&negative, PAYLOAD), SignatureCheck::Bad { .. }),
            "{}",
            key.name
        );
    }
}

/// OpenSSH takes ECDSA keys as uncompressed points only (`get_ec`); ssh-key alone would
/// verify a signature whose embedded key is compressed.
#[test]
fn ecdsa_key_with_a_compressed_point_is_refused() {
    for key in [&keys().p256, &keys().p384] {
        let sig = key.sign("git", PAYLOAD, &[]);
        let blob = base64_decode(
            &std::str::from_utf8(&sig)
                .expect("ascii armor")
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        );
        let mut buf = Buf(&blob);
        buf.bytes(10, "head").expect("preamble and version");
        let key_field = buf.string("key").expect("key");
        let rest = buf.rest();
        let mut k = Buf(key_field);
        let kind = k.string("kind").expect("kind");
        let curve = k.string("curve").expect("curve");
        let point = k.string("point").expect("point");
        let x = &point[1..=(point.len() - 1) / 2];
        let compressed = [&[0x02 | (point[point.len() - 1] & 1)][..], x].concat();
        let key_blob = [string(kind), string(curve), string(&compressed)].concat();
        let forged = [&blob[..10], &string(&key_blob), rest].concat();
        // ssh-key by itself accepts it.
        let parsed = SshSig::from_pem(sshsig_armor(&forged)).expect("ssh-key parses it");
        let public = ssh_key::PublicKey::from(parsed.public_key().clone());
        assert!(
            public.verify("git", PAYLOAD, &parsed).is_ok(),
            "{}",
            key.name
        );
        match check(&sshsig_armor(&forged), PAYLOAD) {
            SignatureCheck::Bad { detail } => assert_eq!(
                detail,
                "malformed SSH signature (ECDSA key with a compressed point)"
            ),
            other => panic!("{}: {other:?}", key.name),
        }
    }
}

#[test]
fn trailing_data_is_refused_at_every_level() {
    let sig = keys().ed25519.sign("git", PAYLOAD, &[]);
    let text = std::str::from_utf8(&sig).expect("ascii armor");
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let blob = base64_decode(&body);
    let after_blob = sshsig_armor(&[&blob[..], &[0]].concat());
    let after_signature = with_signature_field(&sig, |f| [f, &[0]].concat());
    for (what, armor, detail) in [
        ("blob", after_blob, "trailing data after the SSHSIG"),
        (
            "signature",
            after_signature,
            "trailing data after the signature",
        ),
    ] {
        match check(&armor, PAYLOAD) {
            SignatureCheck::Bad { detail: got } => {
                assert_eq!(got, format!("malformed SSH signature ({detail})"), "{what}");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    // A canonical armor round-trips through the test helpers.
    assert_eq!(sshsig_armor(&base64_decode(&base64(&blob))), sig);
}

/// Parsing cost per signature, ssh-key's `from_pem` (what `check` used before) against
/// [`parse`], and `check` as a whole. Run in release:
/// `cargo test --release --lib sshsig::tests::timing -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release by hand"]
fn timing() {
    let k = keys();
    for key in [&k.ed25519, &k.p256, &k.p384, &k.p521, &k.rsa] {
        let armor = key.sign("git", PAYLOAD, &[]);
        let time = |f: &dyn Fn()| {
            let rounds = 2000;
            let start = std::time::Instant::now();
            for _ in 0..rounds {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
        };
        let from_pem = time(&|| {
            ssh_key::SshSig::from_pem(&armor).expect("parses");
        });
        let ours = time(&|| {
            parse(&armor).expect("parses");
        });
        let whole = time(&|| {
            assert!(matches!(check(&armor, PAYLOAD), SignatureCheck::Valid(_)));
        });
        eprintln!(
            "{:<8} from_pem {from_pem:>6.2} µs   parse {ours:>6.2} µs   check {whole:>8.1} µs",
            key.name
        );
    }
}
