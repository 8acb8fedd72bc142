//! Tests for splitting and verification, against signatures made by the real `ssh-keygen`.
//!
//! The FIDO types (`sk-ssh-ed25519@openssh.com`, `sk-ecdsa-sha2-nistp256@openssh.com`) are
//! in `sk_tests.rs`: `ssh-keygen` cannot make them without a security key, so those tests craft
//! the signatures in-process and cross-check them with `ssh-keygen -Y verify`.

use super::testkeys::keys;
use super::*;

/// [`super::check`] without OpenPGP certificates: these tests verify SSH signatures.
fn check(signature: &[u8], payload: &[u8]) -> SignatureCheck {
    super::check(signature, payload, &super::Keyring::empty())
}

const PAYLOAD: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author A U Thor <author@example.com> 1112911993 +0000\n\
committer C O Mitter <committer@example.com> 1112912053 +0000\n\
\n\
Initial\n";

fn detail(check: SignatureCheck) -> String {
    match check {
        SignatureCheck::Bad { detail } => detail,
        other => panic!("expected Bad, got {other:?}"),
    }
}

// ---- check -------------------------------------------------------------------------------

#[test]
fn every_key_type_verifies_with_its_fingerprint() {
    for key in keys().all() {
        let sig = key.sign("git", PAYLOAD, &[]);
        match check(&sig, PAYLOAD) {
            SignatureCheck::Valid(id) => {
                assert_eq!(id.fingerprint, key.fingerprint, "{}", key.name);
                assert_eq!(id.algorithm, key.algorithm, "{}", key.name);
                assert_eq!(id.blob, key.blob(), "{}", key.name);
                // Only FIDO keys have a user-presence flag.
                assert_eq!(id.user_present, None, "{}", key.name);
            }
            other => panic!("{}: expected Valid, got {other:?}", key.name),
        }
    }
}

/// `ssh-keygen -Y sign` always signs with rsa-sha2-512 (sshsig.c); `-O hashalg` picks the
/// SSHSIG message hash. rsa-sha2-256 signatures cannot be made with it, so are not covered.
#[test]
fn rsa_signs_with_sha2_512_over_either_message_hash() {
    let rsa = &keys().rsa;
    for (extra, hash) in [
        (&[][..], HashAlg::Sha512),
        (&["-O", "hashalg=sha256"][..], HashAlg::Sha256),
    ] {
        let sig = rsa.sign("git", PAYLOAD, extra);
        let parsed = SshSig::from_pem(&sig).expect("parse");
        assert_eq!(parsed.algorithm().as_str(), "rsa-sha2-512");
        assert_eq!(parsed.hash_alg(), hash);
        assert!(matches!(check(&sig, PAYLOAD), SignatureCheck::Valid(_)));
    }
}

#[test]
fn ed25519_sha256_message_hash() {
    let key = &keys().ed25519;
    let sig = key.sign("git", PAYLOAD, &["-O", "hashalg=sha256"]);
    assert_eq!(
        SshSig::from_pem(&sig).expect("parse").hash_alg(),
        HashAlg::Sha256
    );
    assert!(matches!(check(&sig, PAYLOAD), SignatureCheck::Valid(_)));
}

#[test]
fn wrong_namespace_is_bad() {
    let sig = keys().ed25519.sign("file", PAYLOAD, &[]);
    assert_eq!(
        detail(check(&sig, PAYLOAD)),
        "signature namespace is `file`, expected `git`"
    );
}

#[test]
fn namespace_is_escaped_in_the_detail() {
    let sig = keys().ed25519.sign("a\u{1b}[31mb", PAYLOAD, &[]);
    assert_eq!(
        detail(check(&sig, PAYLOAD)),
        "signature namespace is `a\\u{1b}[31mb`, expected `git`"
    );
}

/// Found by the `sshsig` fuzz target: ssh-key's parse error quotes the algorithm label it read
/// from the signature, so a crafted label put a terminal escape into the pusher's `remote:`
/// lines.
#[test]
fn malformed_signature_detail_is_escaped() {
    use crate::testutil::{base64_decode, sshsig_armor};
    let sig = keys().ed25519.sign("git", PAYLOAD, &[]);
    let text = String::from_utf8(sig).expect("armor is ASCII");
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut blob = base64_decode(&body);
    let at = blob
        .windows(11)
        .position(|w| w == b"ssh-ed25519")
        .expect("the key's algorithm");
    blob[at..at + 11].copy_from_slice(b"ssh-\x1b[2J\n\x07a");
    let shown = detail(check(&sshsig_armor(&blob), PAYLOAD));
    assert!(!shown.contains(char::is_control), "{shown:?}");
    assert!(shown.contains(r"ssh-\u{1b}[2J\n\u{7}a"), "{shown:?}");

    // The fuzzer's own input: a NUL in a P-521 key's algorithm name (and a `%` in the
    // base64, which ssh-key's decoder skipped).
    let found = b"-----BEGIN SSH SIGNATURE-----\n\
U1NIU0lHAAAAAQAAAKwAAAATZWNkc2Etc2hhMi1uaXN0cDUyAMQAAAhuaXN0cDUyMQAAAI\n\
UEANI7IXFgAH95N218KTTUZs63gkfDMfeVU2N0CwbnaEEELD+7XphUlrQSwCLHCg8D3sP7\n\
m69JNKD6TxEgSuaaRodqAXOpWIlN/ciRFZHK9liuj8GF/d81blMB/oRDFYfEaClVpUllkI\n\
UmJZJ6wZTMo7IJtifZQ32tlyHQAsZ/mj3x%KQLAAAAA2dpdAAAAAAAAAAGc2hhMjU2AAAA\n\
pgAAABNlY2RzYS1zaGEyLW5pc3RwNTIxAAAAiwAAAEIAx3+iTOV+VwUbQWk0I6+fM89gUY\n\
tMd6iuK7NBTg5wt5BDmF9AUJJcuThRnP6PIe9nzeTl8japTYlAInG1tTSo/GoAAABBf00M\n\
Gqi1DJo9AqBhk+5jLE7Pkm/PuVnzvxx1x9PfIintbz+kVqXgc2HJqDa2jj6a1qzmUgTr4x\n\
WroMRGCydB0ZM=\n\
-----END SSH SIGNATURE-----\n";
    // Its `%` is not base64: OpenSSH's decoder (b64_pton), which refguard follows, refuses
    // the armor before any label is read.
    assert_eq!(
        detail(check(found, PAYLOAD)),
        "malformed SSH signature (invalid base64)"
    );
}

#[test]
fn tampered_payload_is_bad() {
    for key in keys().all() {
        let sig = key.sign("git", PAYLOAD, &[]);
        let mut tampered = PAYLOAD.to_vec();
        tampered[PAYLOAD.len() - 2] ^= 1;
        assert_eq!(
            detail(check(&sig, &tampered)),
            "signature does not verify over the commit",
            "{}",
            key.name
        );
    }
}

#[test]
fn empty_and_garbage_are_bad() {
    let cases: [&[u8]; 6] = [
        b"",
        b"\n",
        b"hello",
        b"-----BEGIN SSH SIGNATURE-----\n",
        b"-----BEGIN SSH SIGNATURE-----\n!!!not base64!!!\n-----END SSH SIGNATURE-----\n",
        b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
    ];
    for case in cases {
        let got = check(case, PAYLOAD);
        assert!(
            matches!(got, SignatureCheck::Bad { .. }),
            "{:?}: {got:?}",
            String::from_utf8_lossy(case)
        );
    }
}

#[test]
fn truncations_never_verify_or_panic() {
    for key in [&keys().ed25519, &keys().p256, &keys().rsa] {
        let sig = key.sign("git", PAYLOAD, &[]);
        for len in 0..sig.len() {
            let got = check(&sig[..len], PAYLOAD);
            // Dropping only the final newline (or trailing whitespace) may still verify.
            if sig[len..].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            assert!(
                matches!(got, SignatureCheck::Bad { .. }),
                "{} truncated to {len}: {got:?}",
                key.name
            );
        }
    }
}

/// A tiny deterministic PRNG (xorshift64*), so the fuzz-ish tests are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_corruptions_never_verify_or_panic() {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for key in keys().all() {
        let sig = key.sign("git", PAYLOAD, &[]);
        let body_start = b"-----BEGIN SSH SIGNATURE-----\n".len();
        let body_end = sig.len() - b"-----END SSH SIGNATURE-----\n".len();
        for _ in 0..60 {
            let mut bad = sig.clone();
            for _ in 0..=rng.below(3) {
                let at = body_start + rng.below(body_end - body_start);
                if bad[at] == b'\n' {
                    continue;
                }
                bad[at] = B64[rng.below(B64.len())];
            }
            if bad == sig {
                continue;
            }
            // Anything that still verifies must decode to the original signature.
            if let SignatureCheck::Valid(_) = check(&bad, PAYLOAD) {
                let original = sshsig::parse(&sig).expect("parse");
                assert_eq!(sshsig::parse(&bad).expect("parse"), original);
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    let header = b"-----BEGIN SSH SIGNATURE-----\n";
    for round in 0..2000 {
        let len = rng.below(400);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if round % 2 == 0 {
            bytes.splice(0..0, header.iter().copied());
        }
        assert!(!matches!(check(&bytes, PAYLOAD), SignatureCheck::Valid(_)));
    }
}

#[test]
fn pgp_is_verified_and_x509_is_unsupported() {
    let pgp = b"-----BEGIN PGP SIGNATURE-----\n\niQEz\n-----END PGP SIGNATURE-----\n";
    let pgp_msg = b"-----BEGIN PGP MESSAGE-----\n\nowE\n-----END PGP MESSAGE-----\n";
    let x509 = b"-----BEGIN SIGNED MESSAGE-----\nMIAG\n-----END SIGNED MESSAGE-----\n";
    // OpenPGP armor goes to the OpenPGP verifier (spec §12): these bodies are no signatures.
    assert!(matches!(check(pgp, PAYLOAD), SignatureCheck::Bad { .. }));
    assert!(matches!(
        check(pgp_msg, PAYLOAD),
        SignatureCheck::Bad { .. }
    ));
    assert_eq!(
        check(x509, PAYLOAD),
        SignatureCheck::Unsupported {
            format: "X.509".to_owned()
        }
    );
}

// ---- split_commit ------------------------------------------------------------------------

const TREE: &str = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";
const IDENT: &str = "author A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n";

#[test]
fn unsigned_commit_is_its_own_payload() {
    let raw = format!("{TREE}{IDENT}\nmessage\n");
    assert_eq!(split_commit(raw.as_bytes()), (raw.into_bytes(), None));
}

#[test]
fn gpgsig_header_and_continuations_are_removed() {
    let raw = format!(
        "{TREE}{IDENT}gpgsig -----BEGIN SSH SIGNATURE-----\n abc\n \n def\n -----END SSH SIGNATURE-----\nencoding UTF-8\n\nmsg\n"
    );
    let (payload, sig) = split_commit(raw.as_bytes());
    assert_eq!(
        payload,
        format!("{TREE}{IDENT}encoding UTF-8\n\nmsg\n").as_bytes()
    );
    assert_eq!(
        sig.as_deref(),
        Some(&b"-----BEGIN SSH SIGNATURE-----\nabc\n\ndef\n-----END SSH SIGNATURE-----\n"[..])
    );
}

#[test]
fn both_signature_headers_are_removed_and_the_repositorys_own_counts() {
    let raw = format!("{TREE}{IDENT}gpgsig-sha256 B\n b2\ngpgsig A\n a2\n\nmsg\n");
    let (payload, sig) = split_commit(raw.as_bytes());
    assert_eq!(payload, format!("{TREE}{IDENT}\nmsg\n").as_bytes());
    assert_eq!(sig.as_deref(), Some(&b"A\na2\n"[..]));
    let (payload, sig) = split_commit_for(raw.as_bytes(), ObjectFormat::Sha256);
    assert_eq!(payload, format!("{TREE}{IDENT}\nmsg\n").as_bytes());
    assert_eq!(sig.as_deref(), Some(&b"B\nb2\n"[..]));

    // git verify-commit in a SHA-1 repository: only `gpgsig` counts, so a commit signed only
    // in `gpgsig-sha256` is unsigned (spec §3.3, v2).
    let only_sha256 = format!("{TREE}{IDENT}gpgsig-sha256 B\n b2\n\nmsg\n");
    let (payload, sig) = split_commit(only_sha256.as_bytes());
    assert_eq!(payload, format!("{TREE}{IDENT}\nmsg\n").as_bytes());
    assert_eq!(sig, None);
    let (_, sig) = split_commit_for(only_sha256.as_bytes(), ObjectFormat::Sha256);
    assert_eq!(sig.as_deref(), Some(&b"B\nb2\n"[..]));
}

#[test]
fn signature_lookalikes_outside_the_headers_stay() {
    // In the message, after a mergetag continuation, and without the separating space.
    let raw = format!(
        "{TREE}{IDENT}mergetag object x\n gpgsig inside\ngpgsigx y\ngpgsig\n\ngpgsig in message\n gpgsig\n"
    );
    assert_eq!(
        split_commit(raw.as_bytes()),
        (raw.clone().into_bytes(), None)
    );
}

#[test]
fn headers_without_message_or_final_newline() {
    let raw = format!("{TREE}gpgsig A\n a2");
    let (payload, sig) = split_commit(raw.as_bytes());
    assert_eq!(payload, TREE.as_bytes());
    assert_eq!(sig.as_deref(), Some(&b"A\na2"[..]));
    assert_eq!(split_commit(b""), (Vec::new(), None));
}

#[test]
fn signed_split_commit_verifies() {
    let key = &keys().p384;
    let payload = format!("{TREE}{IDENT}\nsigned\n");
    let sig = String::from_utf8(key.sign("git", payload.as_bytes(), &[])).expect("utf-8");
    let header: String = sig
        .trim_end()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("gpgsig {l}\n")
            } else {
                format!(" {l}\n")
            }
        })
        .collect();
    let raw = format!("{TREE}{IDENT}{header}\nsigned\n");
    let (p, s) = split_commit(raw.as_bytes());
    assert_eq!(p, payload.as_bytes());
    assert!(matches!(
        check(&s.expect("signature"), &p),
        SignatureCheck::Valid(_)
    ));
}

// ---- split_tag ---------------------------------------------------------------------------

const TAG_HEAD: &str = "object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\ntagger A <a@x> 1 +0000\n";

#[test]
fn unsigned_tag() {
    let raw = format!("{TAG_HEAD}\nrelease\n");
    assert_eq!(split_tag(raw.as_bytes()), (raw.into_bytes(), None));
}

#[test]
fn signed_tag_splits_at_the_last_armor_line() {
    for armor in split::ARMOR_HEADERS {
        let armor = String::from_utf8(armor.to_vec()).expect("ascii");
        let body = format!("{TAG_HEAD}\nquoting\n-----BEGIN PGP SIGNATURE-----\nnot this\n");
        let sig = format!("{armor}\nsig\n-----END-----\n");
        let raw = format!("{body}{sig}");
        let (payload, got) = split_tag(raw.as_bytes());
        assert_eq!(payload, body.as_bytes());
        assert_eq!(got.as_deref(), Some(sig.as_bytes()));
    }
}

#[test]
fn armor_in_tag_headers_is_ignored() {
    let raw = "object x\n-----BEGIN SSH SIGNATURE-----\n\nmessage\n";
    assert_eq!(split_tag(raw.as_bytes()), (raw.as_bytes().to_vec(), None));
    // No message at all.
    assert_eq!(split_tag(b"object x\n"), (b"object x\n".to_vec(), None));
    // An armor line not at the start of a line does not count.
    let raw = format!("{TAG_HEAD}\nsee -----BEGIN SSH SIGNATURE-----\n");
    assert_eq!(split_tag(raw.as_bytes()).1, None);
}

/// Property tests over a commit and a tag signed by the real `git`: arbitrary and mutated
/// objects never panic, and a signature only verifies over the exact payload it was made for.
mod proptests {
    use std::path::Path;
    use std::process::Command;
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::super::testkeys::keys;
    use super::*;

    /// `split_commit` or `split_tag`.
    type Split = fn(&[u8]) -> (Vec<u8>, Option<Vec<u8>>);

    /// A commit and an annotated tag, both signed with the ed25519 test key by `git`, as raw
    /// object bytes.
    struct Signed {
        commit: Vec<u8>,
        tag: Vec<u8>,
    }

    fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
        let out = Command::new("git")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "A U Thor")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_AUTHOR_DATE", "1112911993 +0000")
            .env("GIT_COMMITTER_NAME", "C O Mitter")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env("GIT_COMMITTER_DATE", "1112912053 +0000")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The raw object and its splitter: the tag or the commit.
    fn object(tag: bool) -> (&'static [u8], Split) {
        if tag {
            (&signed().tag, split_tag)
        } else {
            (&signed().commit, split_commit)
        }
    }

    fn signed() -> &'static Signed {
        static SIGNED: OnceLock<Signed> = OnceLock::new();
        SIGNED.get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let key = keys().ed25519.write_to(dir.path());
            let key = key.to_str().expect("utf-8 path");
            let d = dir.path();
            git(d, &["init", "-q", "-b", "main"]);
            for (k, v) in [("gpg.format", "ssh"), ("user.signingKey", key)] {
                git(d, &["config", k, v]);
            }
            git(
                d,
                &[
                    "commit",
                    "-q",
                    "-S",
                    "--allow-empty",
                    "-m",
                    "signed\n\nbody",
                ],
            );
            git(d, &["tag", "-s", "v1", "-m", "release v1"]);
            Signed {
                commit: git(d, &["cat-file", "commit", "HEAD"]),
                tag: git(d, &["cat-file", "tag", "v1"]),
            }
        })
    }

    /// An edit of a byte string: overwrite, insert or delete at an index.
    #[derive(Debug, Clone)]
    enum Edit {
        Set(prop::sample::Index, u8),
        Insert(prop::sample::Index, u8),
        Delete(prop::sample::Index),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let byte = prop_oneof![any::<u8>(), prop::sample::select(b"\n \r\0=+/Aa-".to_vec()),];
        prop_oneof![
            (any::<prop::sample::Index>(), byte.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
            (any::<prop::sample::Index>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
            any::<prop::sample::Index>().prop_map(Edit::Delete),
        ]
    }

    fn apply(bytes: &[u8], edits: &[Edit]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for e in edits {
            match e {
                Edit::Set(i, b) if !out.is_empty() => {
                    let at = i.index(out.len());
                    out[at] = *b;
                }
                Edit::Insert(i, b) => out.insert(i.index(out.len() + 1), *b),
                Edit::Delete(i) if !out.is_empty() => {
                    out.remove(i.index(out.len()));
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn the_git_signed_objects_verify() {
        for (raw, split) in [object(false), object(true)] {
            let (payload, sig) = split(raw);
            let sig = sig.expect("signed");
            assert!(matches!(check(&sig, &payload), SignatureCheck::Valid(_)));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic_or_verify(
            bytes in prop::collection::vec(any::<u8>(), 0..400),
            armored in any::<bool>(),
        ) {
            let mut bytes = bytes;
            if armored {
                bytes.splice(0..0, b"-----BEGIN SSH SIGNATURE-----\n".iter().copied());
            }
            for split in [split_commit, split_tag] {
                let (payload, sig) = split(&bytes);
                prop_assert!(payload.len() <= bytes.len());
                if let Some(sig) = sig {
                    prop_assert!(!matches!(check(&sig, &payload), SignatureCheck::Valid(_)));
                } else {
                    // Nothing removed when there is no signature.
                    prop_assert_eq!(&payload, &bytes);
                }
            }
            prop_assert!(!matches!(check(&bytes, PAYLOAD), SignatureCheck::Valid(_)));
        }
    }

    proptest! {
        // Each case verifies a signature (about 10 ms unoptimized): keep the count low.
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn mutated_payload_never_verifies_with_the_original_signature(
            edits in prop::collection::vec(edit(), 1..4),
            tag in any::<bool>(),
        ) {
            let (raw, split) = object(tag);
            let (payload, sig) = split(raw);
            let sig = sig.expect("signed");
            let mutated = apply(&payload, &edits);
            let got = check(&sig, &mutated);
            prop_assert!(
                mutated == payload || !matches!(got, SignatureCheck::Valid(_)),
                "{:?} verified", String::from_utf8_lossy(&mutated)
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn mutated_objects_verify_only_over_the_original_payload(
            edits in prop::collection::vec(edit(), 1..4),
            tag in any::<bool>(),
        ) {
            let (raw, split) = object(tag);
            let (original, _) = split(raw);
            let mutated = apply(raw, &edits);
            let (payload, sig) = split(&mutated);
            if let Some(sig) = sig
                && let SignatureCheck::Valid(_) = check(&sig, &payload)
            {
                prop_assert_eq!(
                    &payload, &original,
                    "{:?} verified", String::from_utf8_lossy(&mutated)
                );
            }
        }
    }
}
