//! Whether a policy can still change (spec §2, v2): `[policy] admins` must reach `approvals`
//! distinct admins whose keys are usable **at a given time** — not revoked, not expired.
//! Grants never count. Pure: the time is an argument.

use time::{Duration, OffsetDateTime};

use super::{Diagnostic, Policy, Severity, UserKey};

/// How far ahead `policy lint` looks for admin keys about to expire.
pub const EXPIRY_WARNING: Duration = Duration::days(30);

/// Errors and warnings about the admin quorum of a parsed policy at `now`:
/// `approvals-unreachable` (error) when fewer than `approvals` admins hold a key that is
/// usable at `now` — such a policy could never change again without `policy reset`, so it is
/// invalid as a candidate — and `admin-key-expiring` (warning) for each usable admin key that
/// expires within [`EXPIRY_WARNING`], saying whether the quorum goes with it.
pub fn check_at(policy: &Policy, now: OffsetDateTime) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if policy.admins.written.is_empty() {
        // `no-admins` already says no push can change it; there is no quorum to judge.
        return out;
    }
    let required = policy.approvals as usize;
    let usable_at = |at: OffsetDateTime| -> Vec<&str> {
        admins(policy)
            .filter(|id| {
                policy
                    .users
                    .get(*id)
                    .is_some_and(|u| u.keys.iter().any(|k| usable(policy, k, at)))
            })
            .collect()
    };
    let now_usable = usable_at(now);
    if now_usable.len() < required {
        out.push(Diagnostic {
            severity: Severity::Error,
            code: "approvals-unreachable",
            location: policy.quorum_location,
            message: super::one_line(format!(
                "approvals = {required} but only {} admin{} ({}) hold{} a key that is usable at \
                 {} (not revoked, not expired): the policy branch could never change again",
                now_usable.len(),
                plural(now_usable.len()),
                names(&now_usable),
                if now_usable.len() == 1 { "s" } else { "" },
                super::keys::utc(now),
            )),
        });
        return out;
    }
    let horizon = now + EXPIRY_WARNING;
    let later = usable_at(horizon);
    for id in admins(policy) {
        let Some(user) = policy.users.get(id) else {
            continue;
        };
        for key in &user.keys {
            let Some(expires) = key.expires else {
                continue;
            };
            if !usable(policy, key, now) || expires > horizon {
                continue;
            }
            let consequence = if later.len() < required {
                format!(
                    "unless keys are renewed, only {} admin{} ({}) can sign by {} and approvals = \
                     {required} can no longer be reached",
                    later.len(),
                    plural(later.len()),
                    names(&later),
                    super::keys::utc(horizon)
                )
            } else {
                "the quorum holds without it".to_string()
            };
            out.push(Diagnostic {
                severity: Severity::Warning,
                code: "admin-key-expiring",
                location: key.location,
                message: super::one_line(format!(
                    "policy admin {id}'s key {} expires at {}, within {} days; {consequence}",
                    key.fingerprint,
                    super::keys::utc(expires),
                    EXPIRY_WARNING.whole_days()
                )),
            });
        }
    }
    out
}

/// The admin user ids (`"*"` is every user).
fn admins(policy: &Policy) -> impl Iterator<Item = &str> {
    let all = policy.admins.any_user;
    policy
        .users
        .keys()
        .filter(move |id| all || policy.admins.users.contains(*id))
        .map(String::as_str)
}

/// Whether `key` can sign at `at`: not revoked and not expired (`expires <= at` is expired,
/// as in the engine).
fn usable(policy: &Policy, key: &UserKey, at: OffsetDateTime) -> bool {
    policy.revocation(&key.fingerprint).is_none() && key.expires.is_none_or(|e| e > at)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn names(ids: &[&str]) -> String {
    if ids.is_empty() {
        "none".to_string()
    } else {
        ids.join(", ")
    }
}
