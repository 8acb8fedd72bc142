//! The SSHSIG decoder behind the armor: fuzzed binary, base64-armored as OpenSSH writes it,
//! verified over a fixed payload (`payload.txt`, which the seeds sign).
//!
//! Armor that the fuzzer mutates is mostly invalid base64; armoring the bytes here lets every
//! input reach the SSHSIG parser, the key decoders and the signature arithmetic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refguard_fuzz::{PAYLOAD, armor, check_signature};

fuzz_target!(|blob: &[u8]| {
    check_signature(&armor(blob), PAYLOAD);
});
