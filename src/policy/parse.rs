//! roles.toml text → validated [`Policy`], collecting every problem with its location.

use super::{Diagnostic, Policy};

/// Parses and validates a roles file. On failure, every error found (no warnings).
pub fn parse(text: &str) -> Result<Policy, Vec<Diagnostic>> {
    let _ = text;
    unimplemented!("policy parser")
}

/// Every error and warning for a roles file, sorted by location.
pub fn lint(text: &str) -> Vec<Diagnostic> {
    let _ = text;
    unimplemented!("policy lint")
}
