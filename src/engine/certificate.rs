//! The push certificate check: who signed the push (that user becomes the pusher), whether
//! the certificate is usable, and whether a ref needs one. Pure: the signature was verified
//! and the certificate checked against the push by the shell (`pushcert`); here its key is
//! looked up in the policy (revoked → unknown → expired → known, as for commits).

use time::OffsetDateTime;

use super::facts::PushCert;
use super::signer::{self, Signer};
use super::verdict::{Code, Reason};
use crate::policy::{Policy, User};

/// What the certificate means for one push.
#[derive(Debug, Clone)]
pub(super) struct Certified<'a> {
    /// The user whose current key signed a certificate with no problems: the pusher.
    pub(super) signer: Option<&'a User>,
    /// Why the certificate is refused, if it is.
    pub(super) reason: Option<Reason>,
}

/// Judges the certificate against the policy's keys at push time `now`.
pub(super) fn judge<'a>(
    policy: &'a Policy,
    now: OffsetDateTime,
    cert: &'a PushCert,
) -> Certified<'a> {
    let (signature, problems) = match cert {
        PushCert::NotChecked | PushCert::Absent => {
            return Certified {
                signer: None,
                reason: None,
            };
        }
        PushCert::Present {
            signature,
            problems,
        } => (signature, problems),
    };
    let mut details: Vec<String> = problems.clone();
    // No signature was checked when the certificate does not parse: the problem says so.
    let signer = match signature.as_ref().map(|s| signer::identify(policy, now, s)) {
        None => None,
        Some(Signer::Known { owner }) => Some(owner),
        Some(other) => {
            details.push(format!("push certificate {}", other.predicate()));
            None
        }
    };
    if details.is_empty() {
        return Certified {
            signer,
            reason: None,
        };
    }
    Certified {
        signer: None,
        reason: Some(Reason::on_ref(Code::PushCertInvalid, details.join("; "))),
    }
}

/// `[signed-push-required]` when the push carries no certificate (a refused certificate is
/// reported by [`judge`] alone); `why` names what asks for one.
pub(super) fn required(cert: &PushCert, refname: &str, why: &str) -> Option<Reason> {
    if *cert != PushCert::Absent {
        return None;
    }
    Some(Reason::on_ref(
        Code::SignedPushRequired,
        format!("{refname} needs a signed push (git push --signed) ({why})"),
    ))
}
