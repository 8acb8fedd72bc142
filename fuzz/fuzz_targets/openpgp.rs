//! OpenPGP (spec §12): a certificate file as `policy` reads it, and a signature checked
//! with the keyring built from it, as the hook does.
//!
//! Input: a 2-byte big-endian length, that many bytes of certificate (armored or binary,
//! may hold NULs), then the armored signature, a NUL byte, and the payload. Neither may
//! panic; a certificate that parses must judge every key at any time and serialize into a
//! keyring; a signature's verdict is `Valid` only with a key of that certificate, and every
//! detail shown to a pusher stays on one line.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use refguard::engine::SignatureCheck;
use refguard::openpgp::{Certificate, armored_keyring};
use refguard::verify::{self, Keyring};
use refguard_fuzz::{assert_one_line, split_nul};

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let len = usize::from(u16::from_be_bytes(*len)).min(rest.len());
    let (cert_bytes, rest) = rest.split_at(len);
    let (armor, payload) = split_nul(rest);

    let keyring = match Certificate::parse(cert_bytes) {
        Ok(cert) => {
            for at in [0, 1_600_000_000, 4_000_000_000i64] {
                let at = time::OffsetDateTime::from_unix_timestamp(at).expect("valid time");
                for key in &cert.keys {
                    let _ = cert.state_at(key, at);
                    let _ = cert.can_ever_sign(key);
                }
            }
            let ring = armored_keyring([&cert]);
            assert!(ring.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
            Keyring::new([Arc::new(cert)])
        }
        Err(why) => {
            assert_one_line("certificate error", &why);
            Keyring::empty()
        }
    };
    match verify::check(armor, payload, &keyring) {
        SignatureCheck::Valid(key) => {
            assert!(armor.starts_with(b"-----BEGIN PGP "), "{key:?}");
            assert!(key.fingerprint.starts_with("openpgp:"), "{key:?}");
        }
        SignatureCheck::Bad { detail } => assert_one_line("signature detail", &detail),
        SignatureCheck::NoCertificate { issuer } => assert_one_line("issuer", &issuer),
        SignatureCheck::Unsupported { format } => assert_one_line("format", &format),
        SignatureCheck::Unsigned => panic!("a signature was given, `Unsigned` is wrong"),
    }
});
