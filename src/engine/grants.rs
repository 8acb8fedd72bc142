//! Grants (spec §8) as the engine uses them: which ones a decision relied on (for the verdict
//! and the audit record's `grants`), and the one that tells a refused user why a grant did
//! not help (it has ended, or not started). Membership itself is judged only by
//! [`Policy::membership`]; this module records and explains. Pure.

use time::OffsetDateTime;

use crate::policy::{Grant, GrantStatus, Membership, Policy, Principals, utc};

/// The grants one decision relied on, each once, in the order first relied on.
#[derive(Debug, Default)]
pub(super) struct Relied<'p>(Vec<&'p Grant>);

impl<'p> Relied<'p> {
    /// Whether `membership` (from [`Policy::membership`]) makes someone a member; the grant
    /// it rests on, if any, is recorded.
    pub(super) fn member(&mut self, membership: Option<Membership<'p>>) -> bool {
        membership.map(|m| self.note(m)).is_some()
    }

    /// Records the grant a membership that was relied on rests on, if it rests on one.
    pub(super) fn note(&mut self, membership: Membership<'p>) {
        if let Some(grant) = membership.grant()
            && !self.0.iter().any(|g| std::ptr::eq(*g, grant))
        {
            self.0.push(grant);
        }
    }

    /// The grants relied on, for the verdict.
    pub(super) fn into_grants(self) -> Vec<Grant> {
        self.0.into_iter().cloned().collect()
    }
}

/// `; bob's grant of maintainers ended at 2026-12-01T18:00:00Z (roles.toml:40)` (or `starts
/// at`) when a grant would make `user`, who is not a member of `list` at `now`, a member at
/// another time; empty otherwise. Appended to a refusal, it tells a grantee that the window
/// has closed (or not opened yet) rather than leaving them to wonder.
pub(super) fn lapsed(
    policy: &Policy,
    list: &Principals,
    user: Option<&str>,
    now: OffsetDateTime,
) -> String {
    let Some(grant) = user.and_then(|u| policy.inactive_grant(list, u, now)) else {
        return String::new();
    };
    let when = match (grant.status_at(now), grant.from) {
        (GrantStatus::Pending, Some(from)) => format!("starts at {}", utc(from)),
        _ => format!("ended at {}", utc(grant.until)),
    };
    format!(
        "; {}'s grant of {} {when} ({})",
        grant.user, grant.role, grant.location
    )
}
