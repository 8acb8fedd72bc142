//! Signature verification: split signed git objects into payload and signature, and verify
//! SSHSIG (namespace `git`) in-process. Knows nothing of the policy.

use crate::engine::SignatureCheck;

/// Verifies an armored signature over `payload` (SSHSIG namespace `git`; PGP/X.509 are
/// reported as unsupported).
pub fn check(signature: &[u8], payload: &[u8]) -> SignatureCheck {
    let _ = (signature, payload);
    unimplemented!("verify")
}
