//! What a policy's grants (spec §8) mean at a given time, for lint and for a pushed policy:
//! a grant that has already ended is a warning; a grant without `from` starts when the policy
//! lands, so its window, up to `until`, must fit `[settings] max_grant` from then. Pure: the
//! time is an argument.

use time::OffsetDateTime;

use super::{Diagnostic, GrantStatus, Policy, Severity, keys};

/// Errors and warnings about the grants of a parsed policy as a candidate at `now`:
/// `grant-too-long` (error) for a grant without `from` that would last longer than
/// `max_grant` from `now`, and `grant-ended` (warning) for a grant whose `until` has come.
pub fn check_at(policy: &Policy, now: OffsetDateTime) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for grant in &policy.grants {
        let who = format!("{}'s grant of {}", grant.user, grant.role);
        if grant.status_at(now) == GrantStatus::Ended {
            out.push(Diagnostic {
                severity: Severity::Warning,
                code: "grant-ended",
                location: grant.location,
                message: super::one_line(format!(
                    "{who} ended at {} ({} ago): it grants nothing any more; remove it",
                    keys::utc(grant.until),
                    keys::format_span(now - grant.until)
                )),
            });
        } else if grant.from.is_none() && grant.until - now > policy.max_grant {
            out.push(Diagnostic {
                severity: Severity::Error,
                code: "grant-too-long",
                location: grant.until_location,
                message: super::one_line(format!(
                    "{who} has no `from`, so it starts when the policy lands; until {} is {} \
                     from {}, longer than [settings] max_grant = {}: shorten it, or write `from`",
                    keys::utc(grant.until),
                    keys::format_span(grant.until - now),
                    keys::utc(now),
                    keys::format_span(policy.max_grant)
                )),
            });
        }
    }
    out
}
