//! `[[grant]]` entries (spec §8): a user, a role, a window and a reason. What can be judged
//! without a clock is judged here; what depends on the time (a grant that has ended, the
//! window of a grant without `from`) is judged by [`crate::policy::grants`].

use time::{Duration, OffsetDateTime};

use super::{Checker, Def, GRANT_FIELDS, Mode, Names, did_you_mean};
use crate::policy::keys;
use crate::policy::node::Node;
use crate::policy::{Grant, Location, Principals};

impl Checker<'_> {
    /// `[[grant]]` entries, in file order. `max_grant` bounds a window whose `from` is
    /// written; lint also warns about a grant of a role the user already holds.
    pub(super) fn grants(
        &mut self,
        field: (Location, Node<'_>),
        names: &Names<'_>,
        max_grant: Duration,
        mode: Mode,
    ) -> Vec<Grant> {
        let mut grants = Vec::new();
        for (table, at) in self.tables(field, "grant") {
            let found = self.fields(table, &"[[grant]]", GRANT_FIELDS, at);
            let user = self.grant_name(found.get("user"), at, names, Want::User);
            let role = self.grant_name(found.get("role"), at, names, Want::Role);
            let from = found
                .get("from")
                .and_then(|field| self.grant_time(field, "from"));
            let until = match found.get("until") {
                Some(field) => self
                    .grant_time(field, "until")
                    .map(|t| (t, self.at(field.1.span(), field.0))),
                None => {
                    self.error(
                        at,
                        "missing-field",
                        "[[grant]] has no `until`: every grant ends by itself; write e.g. \
                         until = \"2026-12-01T18:00:00Z\"",
                    );
                    None
                }
            };
            let reason = self.grant_reason(found.get("reason"), at);
            let Some((until, until_at)) = until else {
                continue;
            };
            if let Some(from) = from
                && !self.grant_window(from, until, until_at, max_grant)
            {
                continue;
            }
            let (Some((user, _)), Some((role, role_index)), Some(reason)) = (user, role, reason)
            else {
                continue;
            };
            let holds = match role_index {
                Some(r) => names.expanded[r].users.contains(user),
                None => self
                    .org
                    .and_then(|org| org.role_members.get(role))
                    .is_some_and(|members| members.contains(user)),
            };
            if mode == Mode::Lint && holds {
                self.warning(
                    at,
                    "redundant-grant",
                    format!(
                        "{user} holds {role} without this grant (through [roles]): the grant \
                         changes nothing and ends nothing; remove it, or take {user} out of \
                         {role} if the access is meant to be temporary"
                    ),
                );
            }
            grants.push(Grant {
                user: user.to_string(),
                role: role.to_string(),
                from,
                until,
                reason,
                location: at,
                until_location: until_at,
            });
        }
        grants
    }

    /// Lint: a grant that makes its user a policy admin while `approvals = 1` lets them
    /// change the policy alone while it lasts, including extending their own grant or
    /// making themselves a permanent admin: the time box holds only if a second admin must
    /// sign.
    pub(super) fn admin_grants(&mut self, grants: &[Grant], admins: &Principals, approvals: u32) {
        if approvals > 1 {
            return;
        }
        for grant in grants.iter().filter(|g| g.opens(admins)) {
            self.warning(
                grant.location,
                "admin-grant",
                format!(
                    "this grant makes {} a policy admin until {}, and with approvals = 1 an \
                     admin changes the policy alone: {} could extend the grant or make it \
                     permanent; set [policy] approvals = 2 so that another admin must sign",
                    grant.user,
                    keys::utc(grant.until),
                    grant.user
                ),
            );
        }
    }

    /// `user` or `role` of a grant: a string naming a defined user (or role, as `want`
    /// says), with its index among this file's users (or roles); `None` for one the
    /// organisation policy defines.
    fn grant_name<'a>(
        &mut self,
        field: Option<(Location, Node<'a>)>,
        at: Location,
        names: &Names<'_>,
        want: Want,
    ) -> Option<(&'a str, Option<usize>)> {
        let (key, example, expected) = match want {
            Want::User => ("user", "\"bob\"", "one user id (a string)"),
            Want::Role => ("role", "\"deployers\"", "one role name (a string)"),
        };
        let Some((key_at, node)) = field else {
            self.error(
                at,
                "missing-field",
                format!("[[grant]] has no `{key}`: write {key} = {example}"),
            );
            return None;
        };
        let v_at = self.at(node.span(), key_at);
        let Some(name) = node.as_str() else {
            self.wrong_type(v_at, &format_args!("`{key}`"), expected, node);
            return None;
        };
        let def = self.def(&names.defs, name);
        match (want, def) {
            (Want::User, Some(Def::User(u))) | (Want::Role, Some(Def::Role(u))) => {
                return Some((name, Some(u)));
            }
            (Want::User, Some(Def::OrgUser)) | (Want::Role, Some(Def::OrgRole)) => {
                return Some((name, None));
            }
            _ => {}
        }
        let problem = match def {
            _ if name == "*" => format!("`*` is not a {key}: a grant gives one user one role"),
            Some(Def::Role(_) | Def::OrgRole) => format!(
                "`{name}` is a role, not a user: a grant gives one user a role (the role goes in \
                 `role`)"
            ),
            Some(Def::User(_) | Def::OrgUser) => {
                let roles = names.defs.iter().filter(|(_, d)| matches!(d, Def::Role(_)));
                let hint = did_you_mean(name, roles.map(|(n, _)| *n))
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                format!("`{name}` is a user, not a role of [roles]{hint}")
            }
            None => {
                self.unknown_principal(name, v_at, &names.defs);
                return None;
            }
        };
        self.error(v_at, "invalid-grant", problem);
        None
    }

    /// `from` or `until`: an instant as `expires` takes it (a UTC date or an RFC 3339
    /// date-time, as a string or a TOML date).
    fn grant_time(
        &mut self,
        (key_at, node): (Location, Node<'_>),
        key: &str,
    ) -> Option<OffsetDateTime> {
        let at = self.at(node.span(), key_at);
        let what = format!("`{key}`");
        let parsed = if let Some(s) = node.as_str() {
            keys::parse_time(s, &what)
        } else if let Some(d) = node.as_datetime() {
            keys::parse_toml_time(d, &what)
        } else {
            let expected = "a date \"YYYY-MM-DD\" or an RFC 3339 date-time";
            self.wrong_type(at, &what, expected, node);
            return None;
        };
        parsed
            .map_err(|message| self.error(at, "invalid-time", message))
            .ok()
    }

    /// `reason`: a string that says something.
    fn grant_reason(
        &mut self,
        field: Option<(Location, Node<'_>)>,
        at: Location,
    ) -> Option<String> {
        let missing = "[[grant]] has no `reason`: say why the access is needed, e.g. reason = \
                       \"INC-4711 hotfix\"";
        let Some((key_at, node)) = field else {
            self.error(at, "missing-field", missing);
            return None;
        };
        let r_at = self.at(node.span(), key_at);
        match node.as_str() {
            Some(reason) if !reason.trim().is_empty() => Some(reason.to_string()),
            Some(_) => {
                self.error(
                    r_at,
                    "missing-field",
                    missing.replace("has no", "has an empty"),
                );
                None
            }
            None => {
                self.wrong_type(r_at, &"`reason`", "a string", node);
                None
            }
        }
    }

    /// A window with both ends written: it must end after it starts, and last no longer than
    /// `max_grant`. Whether it holds.
    fn grant_window(
        &mut self,
        from: OffsetDateTime,
        until: OffsetDateTime,
        until_at: Location,
        max_grant: Duration,
    ) -> bool {
        if until <= from {
            self.error(
                until_at,
                "invalid-grant",
                format!(
                    "the grant ends (until = {}) before it starts (from = {}): `until` must be \
                     later than `from`",
                    keys::utc(until),
                    keys::utc(from)
                ),
            );
            return false;
        }
        if until - from > max_grant {
            self.error(
                until_at,
                "grant-too-long",
                format!(
                    "the grant lasts {} (from {} until {}), longer than [settings] max_grant = \
                     {}: shorten it, or renew it with another policy change when it ends",
                    keys::format_span(until - from),
                    keys::utc(from),
                    keys::utc(until),
                    keys::format_span(max_grant)
                ),
            );
            return false;
        }
        true
    }
}

/// Which name a grant field wants.
#[derive(Clone, Copy)]
enum Want {
    /// `user`: a user id.
    User,
    /// `role`: a role name.
    Role,
}
