//! Who signed an object, judged against the policy's keys: revocation, ownership, expiry,
//! FIDO user presence. Shared by the commit, tag, policy-branch and push-certificate checks;
//! pure, no crypto (that happened in `verify`, which hands us a [`SignatureCheck`]).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::facts::{KeyId, SignatureCheck};
use super::verdict::Code;
use crate::policy::{KeyStatus, Membership, Policy, Principals, Revoked, User};

/// A signature after the policy lookup chain: revoked → unknown → expired → untouched →
/// known signer. Membership in a rule's list is judged afterwards ([`judge`]), so every
/// fault of the key or signature is reported as such, whoever signed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Signer<'a> {
    /// No signature.
    Unsigned,
    /// A signature format refguard does not verify.
    Unsupported { format: &'a str },
    /// An SSH signature that does not verify.
    Bad { detail: &'a str },
    /// Verifies, but the key is under `[[revoked]]` (whether or not a user still lists it).
    Revoked {
        key: &'a KeyId,
        owner: Option<&'a User>,
        revoked: &'a Revoked,
    },
    /// Verifies with a key no user holds.
    Unknown { key: &'a KeyId },
    /// Verifies with a user's key whose `expires` is at or before push time.
    Expired {
        key: &'a KeyId,
        owner: &'a User,
        expires: OffsetDateTime,
    },
    /// Verifies with a current FIDO key of this user, but the security key was not touched
    /// (the user-presence flag is not set) and the key does not have `touch_required =
    /// false`. Reported as `[bad-signature]`: like sshd without `no-touch-required`, an
    /// untouched signature proves only that the token was plugged in, e.g. to malware.
    Untouched { key: &'a KeyId, owner: &'a User },
    /// Verifies with a current key of this user.
    Known { owner: &'a User },
}

/// Runs the lookup chain for one signature. Revocation is checked first so that a revoked
/// key is reported as revoked even when no user (or a user who still lists it) holds it.
/// User presence comes after expiry (an expired key needs replacing, not a touch) and before
/// membership (a touch is needed whoever signs). A FIDO key whose fact carries no flag
/// (`user_present: None`, which `verify` never reports for one) fails closed as untouched.
pub(super) fn identify<'a>(
    policy: &'a Policy,
    now: OffsetDateTime,
    signature: &'a SignatureCheck,
) -> Signer<'a> {
    let key = match signature {
        SignatureCheck::Unsigned => return Signer::Unsigned,
        SignatureCheck::Unsupported { format } => return Signer::Unsupported { format },
        SignatureCheck::Bad { detail } => return Signer::Bad { detail },
        SignatureCheck::Valid(key) => key,
    };
    let owner = policy.key_owner(key);
    if let Some(revoked) = policy.revocation(&key.fingerprint) {
        return Signer::Revoked {
            key,
            owner: owner.map(|(user, _)| user),
            revoked,
        };
    }
    let Some((owner, user_key)) = owner else {
        return Signer::Unknown { key };
    };
    match (policy.key_status(user_key, now), user_key.expires) {
        // Expiry is judged at push time (spec §3.3); the boundary instant is already expired.
        (KeyStatus::Expired, Some(expires)) => Signer::Expired {
            key,
            owner,
            expires,
        },
        _ if user_key.requires_touch() && key.user_present != Some(true) => {
            Signer::Untouched { key, owner }
        }
        _ => Signer::Known { owner },
    }
}

impl<'a> Signer<'a> {
    /// What the signature is, as a predicate of the signed object ("not signed",
    /// "signed by bob", "signed with revoked key SHA256:...: laptop stolen").
    pub(super) fn predicate(&self) -> String {
        match self {
            Signer::Unsigned => "not signed".to_string(),
            Signer::Unsupported { format } => {
                format!("has an {format} signature, which refguard does not verify")
            }
            Signer::Bad { detail } => format!("has a bad signature: {detail}"),
            Signer::Revoked {
                key,
                owner,
                revoked,
            } => {
                let mut s = format!("signed with revoked key {}", key.fingerprint);
                if let Some(owner) = owner {
                    s.push_str(&format!(" of {}", owner.id));
                }
                if let Some(reason) = &revoked.reason {
                    s.push_str(&format!(" (revoked: {reason})"));
                }
                s
            }
            Signer::Unknown { key } => format!(
                "signed with unknown key {} ({}): no user in roles.toml holds it",
                key.fingerprint, key.algorithm
            ),
            Signer::Expired {
                key,
                owner,
                expires,
            } => format!(
                "signed with key {} of {}, which expired at {}",
                key.fingerprint,
                owner.id,
                rfc3339(*expires)
            ),
            Signer::Untouched { key, owner } => format!(
                "has a bad signature: signed with key {} of {} without touching the security \
                 key (user presence flag not set); roles.toml can allow it per key with \
                 touch_required = false",
                key.fingerprint, owner.id
            ),
            Signer::Known { owner } => format!("signed by {}", owner.id),
        }
    }

    /// Whether this predicate should be followed by what the rule needs: only where the
    /// fix is "get the right person to sign", not where the key itself is the problem.
    pub(super) fn wants_requirement(&self) -> bool {
        matches!(
            self,
            Signer::Unsigned | Signer::Unsupported { .. } | Signer::Known { .. }
        )
    }
}

/// The outcome of requiring a signature by a member of `allowed`.
pub(super) enum Judged<'a> {
    /// Signed by this member, who is one as the membership says (listed, or through a
    /// grant active at push time).
    Member(&'a User, Membership<'a>),
    /// Signed by this known user, who is not a member.
    Outsider(&'a User),
    /// The signature or key failed the chain; the code says how.
    Fault(Code),
}

/// Requires `signer` to be a known user who is a member of `allowed` at `now`
/// ([`Policy::membership`]).
pub(super) fn judge<'a>(
    policy: &'a Policy,
    now: OffsetDateTime,
    signer: &Signer<'a>,
    allowed: &Principals,
) -> Judged<'a> {
    let code = match signer {
        Signer::Known { owner } => {
            return match policy.membership(allowed, Some(&owner.id), now) {
                Some(membership) => Judged::Member(owner, membership),
                None => Judged::Outsider(owner),
            };
        }
        Signer::Unsigned => Code::Unsigned,
        Signer::Unsupported { .. } => Code::UnsupportedSignature,
        Signer::Bad { .. } | Signer::Untouched { .. } => Code::BadSignature,
        Signer::Revoked { .. } => Code::RevokedKey,
        Signer::Unknown { .. } => Code::UnknownKey,
        Signer::Expired { .. } => Code::ExpiredKey,
    };
    Judged::Fault(code)
}

/// `predicate` followed, where useful, by `; {need}`.
pub(super) fn with_need(signer: &Signer<'_>, need: &str) -> String {
    if signer.wants_requirement() {
        format!("{}; {need}", signer.predicate())
    } else {
        signer.predicate()
    }
}

/// A UTC RFC 3339 timestamp for messages (falls back to `time`'s own form for the few
/// instants RFC 3339 cannot express).
fn rfc3339(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(&Rfc3339).unwrap_or_else(|_| utc.to_string())
}
