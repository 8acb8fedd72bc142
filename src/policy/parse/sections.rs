//! The small sections of roles.toml: `version`, `[settings]`, `[policy]`, `[trust]` and
//! `[[revoked]]`.

use std::collections::HashSet;

use time::Duration;

use super::{Checker, Def, Names, POLICY_FIELDS, REVOKED_FIELDS, SETTINGS_FIELDS, TRUST_FIELDS};
use crate::policy::keys;
use crate::policy::node::{Node, fields};
use crate::policy::{DEFAULT_MAX_GRANT, Location, Principals, Revoked, User};

/// `[settings]`, with its defaults.
pub(super) struct Settings {
    /// `require_signed_push` (default false).
    pub(super) require_signed_push: bool,
    /// `max_grant` (default [`DEFAULT_MAX_GRANT`]).
    pub(super) max_grant: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            require_signed_push: false,
            max_grant: DEFAULT_MAX_GRANT,
        }
    }
}

impl Checker<'_> {
    /// `[settings]`: `require_signed_push` (default false) and `max_grant` (a duration such
    /// as `"7d"`, see [`keys::parse_span`]; default [`DEFAULT_MAX_GRANT`]).
    pub(super) fn settings(&mut self, field: (Location, Node<'_>)) -> Settings {
        let mut settings = Settings::default();
        let Some((table, at)) = self.table(field, &"`settings`") else {
            return settings;
        };
        let found = self.fields(table, &"[settings]", SETTINGS_FIELDS, at);
        settings.require_signed_push =
            self.flag(found.get("require_signed_push"), "require_signed_push");
        if let Some((key_at, node)) = found.get("max_grant") {
            let at = self.at(node.span(), key_at);
            match node.as_str().map(keys::parse_span) {
                Some(Ok(span)) => settings.max_grant = span,
                Some(Err(message)) => self.error(at, "invalid-duration", message),
                None => self.wrong_type(
                    at,
                    &"`max_grant`",
                    "a duration string such as \"7d\" or \"12h\"",
                    node,
                ),
            }
        }
        settings
    }

    /// Lint: a rule's `signed_push` says nothing when `[settings] require_signed_push` is on.
    pub(super) fn ineffective_signed_push(&mut self, rules: Option<(Location, Node<'_>)>) {
        let Some(list) = rules.and_then(|(_, node)| node.as_list()) else {
            return;
        };
        for rule in list {
            let Some(table) = rule.as_table() else {
                continue;
            };
            for field in fields(table) {
                if field.name == "signed_push" {
                    let at = self.at(field.key_span.clone(), self.lines.top());
                    self.warning(
                        at,
                        "ineffective-signed-push",
                        "`signed_push` has no effect: [settings] require_signed_push already \
                         requires a signed push on every rule's refs",
                    );
                }
            }
        }
    }

    pub(super) fn version(&mut self, field: Option<(Location, Node<'_>)>) {
        let Some((key_at, node)) = field else {
            self.error(
                self.lines.top(),
                "missing-version",
                "missing `version = 1` (the roles.toml format version)",
            );
            return;
        };
        let at = self.at(node.span(), key_at);
        match node.as_integer() {
            Some(1) => {}
            Some(v) => self.error(
                at,
                "unsupported-version",
                format!("unsupported version {v}: this refguard reads version 1"),
            ),
            None => self.wrong_type(at, &"`version`", "the integer 1", node),
        }
    }

    /// `[policy]`: admins and approvals, and whether they could ever approve a change.
    pub(super) fn policy_section(
        &mut self,
        field: Option<(Location, Node<'_>)>,
        names: &Names<'_>,
        users: &[User],
        revoked: &[Revoked],
    ) -> (Principals, u32, Location) {
        let mut admins = Principals::default();
        let mut approvals = 1;
        let (mut admins_at, mut approvals_at) = (self.lines.top(), None);
        if let Some(field) = field
            && let Some((table, at)) = self.table(field, &"`policy`")
        {
            admins_at = at;
            let found = self.fields(table, &"[policy]", POLICY_FIELDS, at);
            if let Some((key_at, node)) = found.get("admins") {
                admins_at = self.at(node.span(), key_at);
                if let Some(p) = self.principals((key_at, node), &"`admins`", names) {
                    admins = p;
                }
            }
            if let Some((key_at, node)) = found.get("approvals") {
                let at = self.at(node.span(), key_at);
                match node.as_integer() {
                    Some(n) if n >= 1 => match u32::try_from(n) {
                        Ok(n) => {
                            approvals = n;
                            approvals_at = Some(at);
                        }
                        Err(_) => self.error(at, "invalid-approvals", "`approvals` is too large"),
                    },
                    Some(n) => self.error(
                        at,
                        "invalid-approvals",
                        format!("`approvals` must be at least 1, not {n}"),
                    ),
                    None => self.wrong_type(at, &"`approvals`", "an integer", node),
                }
            }
        }
        if admins.written.is_empty() {
            self.warning(
                admins_at,
                "no-admins",
                "no `[policy] admins`: no push can ever change the policy branch; only someone \
                 with filesystem access to the server can",
            );
            return (admins, approvals, approvals_at.unwrap_or(admins_at));
        }
        let at = approvals_at.unwrap_or(admins_at);
        let count = admins.users.len();
        // Only the admins' keys are looked at, so a file with many users stays linear.
        let revoked: HashSet<&str> = revoked.iter().map(|r| r.fingerprint.as_str()).collect();
        let signing: Vec<&str> = admins
            .users
            .iter()
            .map(String::as_str)
            .filter(|id| {
                let keys = match self.def(&names.defs, id) {
                    Some(Def::User(u)) => &users[u].keys,
                    Some(Def::OrgUser) => match self.org.and_then(|org| org.users.get(*id)) {
                        Some(user) => &user.keys,
                        None => return false,
                    },
                    _ => return false,
                };
                let org_revoked = |k: &str| self.org.is_some_and(|o| o.revocation(k).is_some());
                keys.iter().any(|k| {
                    !revoked.contains(k.fingerprint.as_str()) && !org_revoked(&k.fingerprint)
                })
            })
            .collect();
        let lockout = "the policy branch could never change again";
        if approvals as usize > count {
            self.error(
                at,
                "approvals-unreachable",
                format!(
                    "approvals = {approvals} but `admins` has only {count} distinct user{}: \
                     {lockout}",
                    if count == 1 { "" } else { "s" }
                ),
            );
        } else if approvals as usize > signing.len() {
            self.error(
                at,
                "approvals-unreachable",
                format!(
                    "approvals = {approvals} but only {} admin{} ({}) hold a key that is not \
                     revoked: {lockout}",
                    signing.len(),
                    if signing.len() == 1 { "" } else { "s" },
                    if signing.is_empty() {
                        "none".to_string()
                    } else {
                        signing.join(", ")
                    }
                ),
            );
        }
        (admins, approvals, at)
    }

    /// `[trust] baseline`, lowercased.
    pub(super) fn trust(&mut self, field: (Location, Node<'_>)) -> Vec<String> {
        let Some((table, at)) = self.table(field, &"`trust`") else {
            return Vec::new();
        };
        let found = self.fields(table, &"[trust]", TRUST_FIELDS, at);
        let Some(baseline) = found.get("baseline") else {
            return Vec::new();
        };
        let list = self
            .strings(baseline, &"`baseline`", "commit ids")
            .unwrap_or_default();
        let mut out = Vec::with_capacity(list.len());
        for (id, at) in list {
            if keys::valid_commit_id(id) {
                out.push(id.to_ascii_lowercase());
            } else {
                self.error(
                    at,
                    "invalid-commit-id",
                    format!("`{id}` is not a full commit id (40 or 64 hex digits)"),
                );
            }
        }
        out
    }

    /// `[[revoked]]` entries.
    pub(super) fn revoked(&mut self, field: (Location, Node<'_>)) -> Vec<Revoked> {
        let mut out = Vec::new();
        for (table, at) in self.tables(field, "revoked") {
            let found = self.fields(table, &"[[revoked]]", REVOKED_FIELDS, at);
            let reason = match found.get("reason") {
                Some((key_at, node)) => match node.as_str() {
                    Some(s) => Some(s.to_string()),
                    None => {
                        let r_at = self.at(node.span(), key_at);
                        self.wrong_type(r_at, &"`reason`", "a string", node);
                        None
                    }
                },
                None => None,
            };
            let Some((key_at, node)) = found.get("key") else {
                self.error(
                    at,
                    "missing-field",
                    "[[revoked]] has no `key`: write key = \"SHA256:...\" as `ssh-keygen -lf` \
                     prints it, or key = \"openpgp:FINGERPRINT\"",
                );
                continue;
            };
            let k_at = self.at(node.span(), key_at);
            let Some(fingerprint) = node.as_str() else {
                self.wrong_type(k_at, &"`key`", "a fingerprint string \"SHA256:...\"", node);
                continue;
            };
            let Some(fingerprint) = keys::fingerprint(fingerprint) else {
                self.error(
                    k_at,
                    "invalid-fingerprint",
                    format!(
                        "`{fingerprint}` is not a key fingerprint: expected `SHA256:` and 43 \
                         base64 characters, as `ssh-keygen -lf` prints it, or `openpgp:` and \
                         the 40 hex digits of an OpenPGP key (primary or subkey) as \
                         `gpg --with-subkey-fingerprints -k` prints them, without spaces"
                    ),
                );
                continue;
            };
            out.push(Revoked {
                fingerprint,
                reason,
                location: k_at,
            });
        }
        out
    }
}
