//! Helpers shared by the fuzz targets in `fuzz_targets/`: how a target splits its input, the
//! fixed payload the SSHSIG decoder target verifies over, and the assertions several
//! targets make about messages shown to a pusher.

use refguard::engine::SignatureCheck;
use refguard::verify;

/// The payload `sshsig_blob` verifies every fuzzed SSHSIG over. `seed.sh` signs this same file,
/// so the seeds are valid signatures and the fuzzer starts on the verifying path.
pub const PAYLOAD: &[u8] = include_bytes!("../payload.txt");

/// Splits `data` at its first NUL byte: the part before and the part after it (empty when
/// there is no NUL). Used where a target needs two inputs, e.g. an SSHSIG armor (never
/// holds a NUL) and the payload it signs.
pub fn split_nul(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}

/// `blob` in SSHSIG armor, as OpenSSH writes it: base64 wrapped at 70 columns between the
/// BEGIN and END lines.
pub fn armor(blob: &[u8]) -> Vec<u8> {
    use base64ct::Encoding as _;
    let body = base64ct::Base64::encode_string(blob);
    let mut out = b"-----BEGIN SSH SIGNATURE-----\n".to_vec();
    for line in body.as_bytes().chunks(70) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END SSH SIGNATURE-----\n");
    out
}

/// Panics unless `text` is safe to show on one line of a pusher's terminal: no newline, no
/// other control character (SPEC §14; messages quote attacker-controlled bytes).
#[track_caller]
pub fn assert_one_line(what: &str, text: &str) {
    assert!(
        !text.contains(char::is_control),
        "{what} holds a control character: {text:?}"
    );
}

/// Verifies `signature` over `payload` as refguard does, and panics if the answer is not
/// what it must be: the fast backend's verdict equal to ssh-key's (`verify::fast` promises
/// the same verdict and details for every input), a valid signature only for SSH armor,
/// and a detail that is safe to show the pusher.
pub fn check_signature(signature: &[u8], payload: &[u8]) -> SignatureCheck {
    let verdict = verify::check(signature, payload, &verify::Keyring::empty());
    assert_eq!(
        verdict,
        verify::check_reference(signature, payload),
        "ring and ssh-key disagree"
    );
    match &verdict {
        SignatureCheck::Valid(key) => {
            assert!(signature.starts_with(b"-----BEGIN SSH SIGNATURE-----"));
            assert!(key.fingerprint.starts_with("SHA256:"), "{key:?}");
            assert!(!key.blob.is_empty());
        }
        SignatureCheck::Bad { detail } => assert_one_line("signature detail", detail),
        SignatureCheck::Unsupported { format } => assert_one_line("format", format),
        SignatureCheck::NoCertificate { issuer } => {
            assert!(signature.starts_with(b"-----BEGIN PGP "), "{issuer}");
            assert_one_line("issuer", issuer);
        }
        SignatureCheck::Unsigned => panic!("a signature was given, `Unsigned` is wrong"),
    }
    verdict
}
