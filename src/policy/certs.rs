//! Warnings about listed OpenPGP certificates at a given time (spec §12: a policy may list
//! expired or revoked certificates, so that history signed with them stays auditable, and
//! `policy lint` warns). Pure: the time is an argument.

use time::OffsetDateTime;

use super::{Diagnostic, KeyStatus, Policy, Severity};

/// `expired-certificate` and `revoked-certificate` warnings for each OpenPGP certificate
/// that no key of can sign at `now` ([`Policy::key_status`]).
pub(crate) fn certificates_at(policy: &Policy, now: OffsetDateTime) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for user in policy.users.values() {
        for key in &user.keys {
            let Some(cert) = key.certificate() else {
                continue;
            };
            let (code, what) = match policy.key_status(key, now) {
                KeyStatus::Active => continue,
                KeyStatus::Expired => ("expired-certificate", "has expired"),
                KeyStatus::Revoked => ("revoked-certificate", "is revoked"),
            };
            out.push(Diagnostic {
                severity: Severity::Warning,
                code,
                location: key.location,
                message: super::one_line(format!(
                    "user {}'s OpenPGP certificate {} {what} (no key of it can sign at {}): its \
                     signatures are rejected; history it signed stays auditable",
                    user.id,
                    cert.name(),
                    super::keys::utc(now)
                )),
            });
        }
    }
    out
}
