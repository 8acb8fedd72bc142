//! Who signed an object, judged against the policy's keys: revocation, ownership, expiry,
//! FIDO user presence, and for OpenPGP the certificate's own revocations, expiry and key
//! flags at push time. Shared by the commit, tag, policy-branch, approval and
//! push-certificate checks; pure, no crypto (that happened in `verify`, which hands us a
//! [`SignatureCheck`]).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::facts::{KeyId, SignatureCheck};
use super::verdict::Code;
use crate::openpgp::{KeyState, Revocation};
use crate::policy::{KeyStatus, Membership, Policy, Principals, Revoked, User, UserKey};

/// A signature after the policy lookup chain: revoked → unknown → expired → untouched →
/// known signer. Membership in a rule's list is judged afterwards ([`judge`]), so every
/// fault of the key or signature is reported as such, whoever signed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Signer<'a> {
    /// No signature.
    Unsigned,
    /// A signature format refguard does not verify.
    Unsupported { format: &'a str },
    /// A signature that does not verify, or uses a refused algorithm or version.
    Bad { detail: &'a str },
    /// Verifies, but the key is under `[[revoked]]` (whether or not a user still lists it),
    /// or its OpenPGP certificate revokes it.
    Revoked {
        key: &'a KeyId,
        owner: Option<&'a User>,
        by: RevokedBy<'a>,
    },
    /// Verifies with a key no user holds.
    Unknown { key: &'a KeyId },
    /// An OpenPGP signature whose issuer no listed certificate holds (it cannot be verified).
    NoCertificate { issuer: &'a str },
    /// Verifies with a key of a user's OpenPGP certificate that may not sign at push time
    /// (no binding in force, not a signing key, not cross-certified), or the signature
    /// itself has expired. Reported as `[bad-signature]`.
    Unusable {
        key: &'a KeyId,
        owner: &'a User,
        why: Unusable,
    },
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

/// What revoked a key.
#[derive(Debug, Clone, Copy)]
pub(super) enum RevokedBy<'a> {
    /// A `[[revoked]]` entry of the policy.
    Policy(&'a Revoked),
    /// The OpenPGP certificate's own revocation signature (of the certificate, or of the
    /// subkey that signed).
    Certificate {
        revocation: &'a Revocation,
        primary: bool,
    },
}

/// Why a verified OpenPGP signature does not count although its key is a user's.
#[derive(Debug, Clone, Copy)]
pub(super) enum Unusable {
    /// The certificate says the key may not sign at push time.
    Key(&'static str),
    /// The signature's own expiration time has passed.
    SignatureExpired(OffsetDateTime),
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
        SignatureCheck::NoCertificate { issuer } => return Signer::NoCertificate { issuer },
        SignatureCheck::Valid(key) => key,
    };
    let owner = policy.key_owner(key);
    if let Some(revoked) = policy.revocation_of(key) {
        return Signer::Revoked {
            key,
            owner: owner.map(|(user, _)| user),
            by: RevokedBy::Policy(revoked),
        };
    }
    let Some((owner, user_key)) = owner else {
        return Signer::Unknown { key };
    };
    if let Some(signer) = openpgp_at(key, owner, user_key, now) {
        return signer;
    }
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
            Signer::Revoked { key, owner, by } => {
                let mut s = format!("signed with revoked key {}", key.fingerprint);
                if let Some(owner) = owner {
                    s.push_str(&format!(" of {}", owner.id));
                }
                match by {
                    RevokedBy::Policy(revoked) => {
                        if let Some(reason) = &revoked.reason {
                            s.push_str(&format!(" (revoked: {reason})"));
                        }
                    }
                    RevokedBy::Certificate {
                        revocation,
                        primary,
                    } => {
                        let whose =
                            if *primary && key.certificate.as_ref() != Some(&key.fingerprint) {
                                format!(
                                    "its certificate {}",
                                    key.certificate.as_deref().unwrap_or("")
                                )
                            } else {
                                "its certificate".to_string()
                            };
                        let how = if revocation.hard { "" } else { "soft-" };
                        s.push_str(&format!(
                            " ({whose} {how}revoked it at {}: {})",
                            rfc3339(revocation.created),
                            revocation.reason
                        ));
                    }
                }
                s
            }
            Signer::NoCertificate { issuer } => format!(
                "signed with OpenPGP {issuer}, which no certificate in roles.toml holds \
                 (list it as {{ openpgp = \"keys/NAME.asc\" }} under a user)"
            ),
            Signer::Unusable { key, owner, why } => match why {
                Unusable::Key(why) => format!(
                    "has a bad signature: key {} of {} may not sign: {why}",
                    key.fingerprint, owner.id
                ),
                Unusable::SignatureExpired(at) => format!(
                    "has a bad signature: the signature by key {} of {} expired at {}",
                    key.fingerprint,
                    owner.id,
                    rfc3339(*at)
                ),
            },
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
        Signer::Bad { .. } | Signer::Untouched { .. } | Signer::Unusable { .. } => {
            Code::BadSignature
        }
        Signer::Revoked { .. } => Code::RevokedKey,
        Signer::Unknown { .. } | Signer::NoCertificate { .. } => Code::UnknownKey,
        Signer::Expired { .. } => Code::ExpiredKey,
    };
    Judged::Fault(code)
}

/// For an OpenPGP key: the certificate's judgement of the signing key at `now` (spec §12:
/// revoked, expired, or not allowed to sign then), and the signature's own expiry. `None`
/// when nothing is wrong there (or for SSH).
fn openpgp_at<'a>(
    key: &'a KeyId,
    owner: &'a User,
    user_key: &'a UserKey,
    now: OffsetDateTime,
) -> Option<Signer<'a>> {
    let cert = user_key.certificate()?;
    let fingerprint = key.fingerprint.strip_prefix(crate::openpgp::PREFIX)?;
    let Some(signing) = cert.key(fingerprint) else {
        return Some(Signer::Unusable {
            key,
            owner,
            why: Unusable::Key("it is not a key of the listed certificate"),
        });
    };
    match cert.state_at(signing, now) {
        KeyState::Revoked {
            revocation,
            primary,
        } => Some(Signer::Revoked {
            key,
            owner: Some(owner),
            by: RevokedBy::Certificate {
                revocation,
                primary,
            },
        }),
        KeyState::Expired { at, .. } => Some(Signer::Expired {
            key,
            owner,
            expires: at,
        }),
        KeyState::Unusable { why } => Some(Signer::Unusable {
            key,
            owner,
            why: Unusable::Key(why),
        }),
        KeyState::Active { .. } => {
            key.signature_expires
                .filter(|e| *e <= now)
                .map(|at| Signer::Unusable {
                    key,
                    owner,
                    why: Unusable::SignatureExpired(at),
                })
        }
    }
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
