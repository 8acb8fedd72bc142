//! SSH signature verification: `verify::check(armor, payload)` on fuzzed armor.
//!
//! Input: the armored signature, a NUL byte, then the payload (armor never holds a NUL).
//! The fast backend (ring) must give exactly the verdict and details of ssh-key's own
//! verification, and a detail shown to the pusher stays on one line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refguard_fuzz::{check_signature, split_nul};

fuzz_target!(|data: &[u8]| {
    let (armor, payload) = split_nul(data);
    check_signature(armor, payload);
});
