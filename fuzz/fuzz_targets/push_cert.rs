//! Push certificates: `pushcert::parse` and `pushcert::assess` on any certificate blob.
//!
//! A certificate that parses splits back into the blob, and judged against exactly its own
//! commands with a good nonce it can have no problem but its `pushee`. One that does not
//! parse is one problem and no signature. Every problem is one line for the pusher.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refguard::engine::{PushCert, SignatureCheck};
use refguard::pushcert::{Coverage, NonceStatus, Presented, assess, parse};
use refguard_fuzz::assert_one_line;

fuzz_target!(|blob: &[u8]| {
    let parsed = parse(blob);
    let commands = parsed
        .as_ref()
        .map(|c| c.commands.clone())
        .unwrap_or_default();
    let presented = Presented {
        blob,
        nonce_status: &NonceStatus::Ok,
        updates: &commands,
        coverage: Coverage::Exact,
        repo_name: "project.git",
        keyring: &refguard::verify::Keyring::empty(),
    };
    let PushCert::Present {
        signature,
        problems,
    } = assess(&presented)
    else {
        panic!("assess always reports a present certificate");
    };
    for problem in &problems {
        assert_one_line("push certificate problem", problem);
    }

    match parsed {
        Err(e) => {
            assert_eq!(
                signature, None,
                "verified a certificate that does not parse"
            );
            assert_eq!(problems, [format!("the push certificate {e}")]);
        }
        Ok(cert) => {
            assert_eq!([&cert.payload[..], &cert.signature[..]].concat(), blob);
            assert!(
                problems.len() <= 1,
                "more than the pushee is wrong: {problems:?}"
            );
            // What the verdict must be is the sshsig targets' business; here: that there is
            // one, and it is safe to show.
            match signature {
                Some(SignatureCheck::Bad { detail }) => assert_one_line("signature", &detail),
                Some(_) => {}
                None => panic!("a certificate that parses is verified"),
            }

            // The update hook judges one of the certificate's commands at a time.
            if let Some(first) = cert.commands.first() {
                let one = [first.clone()];
                let update_hook = Presented {
                    updates: &one,
                    coverage: Coverage::Contains,
                    ..presented
                };
                let PushCert::Present { problems: p, .. } = assess(&update_hook) else {
                    panic!("assess always reports a present certificate");
                };
                assert_eq!(
                    p, problems,
                    "a signed command is missing from the certificate"
                );
            }
        }
    }
});
