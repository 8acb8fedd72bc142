//! `[users.ID]`: keys (with expiry and `touch_required`) and pusher names; fills the id
//! namespace, the key index and the name index.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::{Checker, Def, KEY_FIELDS, USER_FIELDS};
use crate::policy::keys;
use crate::policy::node::{Node, fields};
use crate::policy::{Location, User, UserKey};
use crate::signature::KeyKind;

/// What a `keys` entry names: an OpenSSH public key line, or an OpenPGP certificate file.
#[derive(Clone, Copy)]
enum Source<'a> {
    Ssh(&'a str),
    OpenPgp(&'a str),
}

impl Checker<'_> {
    /// `[users.ID]` sections. Fills the id namespace, the key index (blob → user, key) and
    /// the name index (pusher name → user, where claimed).
    pub(super) fn users<'a>(
        &mut self,
        field: (Location, Node<'a>),
        defs: &mut HashMap<&'a str, Def>,
        key_index: &mut HashMap<(KeyKind, Vec<u8>), (String, usize)>,
        name_index: &mut HashMap<String, String>,
    ) -> (Vec<User>, Vec<Location>) {
        let Some((table, at)) = self.table(field, &"`users`") else {
            return Default::default();
        };
        let entries = fields(table);
        let mut users = Vec::with_capacity(entries.len());
        let mut locations = Vec::with_capacity(entries.len());
        // Sized up front: growing a map rehashes every key, and there may be 10,000 users.
        defs.reserve(entries.len());
        key_index.reserve(entries.len());
        name_index.reserve(entries.len());
        for entry in entries {
            let id = entry.name;
            let id_at = self.at(entry.key_span, at);
            self.check_id(id, id_at, "user");
            // Its pusher names then clash too: one error says it.
            let clashed = self.org_clash(id, id_at, "user");
            let index = users.len();
            // TOML itself rejects a user defined twice, so the insert never replaces.
            defs.insert(id, Def::User(index));
            let mut user = User {
                id: id.to_string(),
                keys: Vec::new(),
                names: Vec::new(),
            };
            let Some((t, t_at)) = self.table((id_at, entry.node), &format_args!("user `{id}`"))
            else {
                users.push(user);
                locations.push(id_at);
                continue;
            };
            let found = self.fields(t, &format_args!("[users.{id}]"), USER_FIELDS, t_at);
            if let Some(keys) = found.get("keys") {
                self.keys(keys, &mut user, key_index, (&users, &locations, defs));
            }
            let names = match found.get("names") {
                Some(names) => self.strings(names, &"`names`", "pusher names"),
                None => Some(vec![(id, id_at)]),
            };
            for (name, name_at) in names.unwrap_or_default() {
                if name.is_empty() {
                    self.error(name_at, "invalid-name", "empty pusher name");
                    continue;
                }
                if let Some(other) = self
                    .org
                    .and_then(|org| org.user_for_name(name))
                    .map(|u| &u.id)
                {
                    if clashed {
                        continue;
                    }
                    self.error(
                        name_at,
                        "org-name",
                        format!(
                            "pusher name `{name}` already means user `{other}` of the \
                             organisation policy (org:roles.toml); a name can mean only one \
                             user: use `{other}` here, or give this user another name"
                        ),
                    );
                    continue;
                }
                match name_index.entry(name.to_string()) {
                    Entry::Occupied(o) if *o.get() == id => {
                        self.warning(
                            name_at,
                            "repeated-name",
                            format!("pusher name `{name}` is listed twice for user `{id}`"),
                        );
                    }
                    Entry::Occupied(o) => {
                        let other = o.get();
                        let line = match defs.get(other.as_str()) {
                            Some(&Def::User(u)) => locations[u].line,
                            _ => id_at.line,
                        };
                        self.error(
                            name_at,
                            "duplicate-name",
                            format!(
                                "pusher name `{name}` already means user `{other}` (defined \
                                 at line {line}); a name can mean only one user"
                            ),
                        );
                    }
                    Entry::Vacant(v) => {
                        v.insert(id.to_string());
                        user.names.push(name.to_string());
                    }
                }
            }
            users.push(user);
            locations.push(id_at);
        }
        (users, locations)
    }

    /// One user's `keys` list.
    pub(super) fn keys(
        &mut self,
        (key_at, node): (Location, Node<'_>),
        user: &mut User,
        key_index: &mut HashMap<(KeyKind, Vec<u8>), (String, usize)>,
        (users, locations, defs): (&[User], &[Location], &HashMap<&str, Def>),
    ) {
        let at = self.at(node.span(), key_at);
        let Some(elements) = node.as_list() else {
            self.wrong_type(at, &"`keys`", "a list of public keys", node);
            return;
        };
        for e in elements {
            let e_at = self.at(e.span(), at);
            // `touch_required`, if written, and where its key is (for the lint warning).
            let mut touch: Option<(bool, Location)> = None;
            let (source, line_at, expires) = if let Some(line) = e.as_str() {
                (Source::Ssh(line), e_at, None)
            } else if let Some(t) = e.as_table() {
                let found = self.fields(t, &"a key table", KEY_FIELDS, e_at);
                let expires = found.get("expires").and_then(|f| self.expires(f));
                touch = found.get("touch_required").map(|field| {
                    let at = field.0;
                    (self.flag(Some(field), "touch_required"), at)
                });
                let written = |name| {
                    found.get(name).map(|(k_at, k)| {
                        let at = self.at(k.span(), k_at);
                        (k, at, k.as_str())
                    })
                };
                match (written("key"), written("openpgp")) {
                    (Some((_, at, Some(line))), None) => (Source::Ssh(line), at, expires),
                    (None, Some((_, at, Some(path)))) => (Source::OpenPgp(path), at, expires),
                    (Some((k, at, None)), None) => {
                        self.wrong_type(at, &"`key`", "a public key line (a string)", k);
                        continue;
                    }
                    (None, Some((k, at, None))) => {
                        let expected = "a path to a certificate file (a string)";
                        self.wrong_type(at, &"`openpgp`", expected, k);
                        continue;
                    }
                    (Some(_), Some((_, at, _))) => {
                        self.error(
                            at,
                            "unknown-field",
                            "a key table has either `key` (an OpenSSH public key) or `openpgp` \
                             (an OpenPGP certificate file), not both",
                        );
                        continue;
                    }
                    (None, None) => {
                        self.error(
                            e_at,
                            "missing-field",
                            "key table has no `key`: write { key = \"ssh-ed25519 AAAA...\", \
                             expires = ... } or { openpgp = \"keys/alice.asc\" }",
                        );
                        continue;
                    }
                }
            } else {
                self.wrong_type(
                    e_at,
                    &"each entry of `keys`",
                    "a public key line or a table { key = \"...\", expires = ... }",
                    e,
                );
                continue;
            };
            let parsed = match source {
                Source::Ssh(line) => keys::parse_key(line),
                Source::OpenPgp(path) => self.certificate(path, line_at),
            };
            let parsed = match parsed {
                Ok(parsed) => parsed,
                Err(e) => {
                    self.error(line_at, e.code, e.message);
                    continue;
                }
            };
            let k = user.keys.len();
            let lookup = (parsed.id.kind, parsed.id.blob.clone());
            if let Some(owner) = self
                .org
                .and_then(|org| org.key_holder(lookup.0, &lookup.1))
                .map(|(u, _)| &u.id)
            {
                self.error(
                    line_at,
                    "org-key",
                    format!(
                        "key {} belongs to user `{owner}` of the organisation policy \
                         (org:roles.toml); a key belongs to one user, and the organisation's \
                         are revoked in one place: use `{owner}` here instead of listing the \
                         key again",
                        parsed.id.fingerprint
                    ),
                );
                continue;
            }
            match key_index.entry(lookup) {
                Entry::Occupied(o) => {
                    let (owner, k) = o.get();
                    let message = if *owner == user.id {
                        let line = user.keys.get(*k).map_or(line_at.line, |f| f.location.line);
                        format!(
                            "key {} is listed twice for user `{owner}` (first at line {line})",
                            parsed.id.fingerprint
                        )
                    } else {
                        let line = match defs.get(owner.as_str()) {
                            Some(&Def::User(u)) => users[u]
                                .keys
                                .get(*k)
                                .map_or(locations[u].line, |f| f.location.line),
                            _ => line_at.line,
                        };
                        format!(
                            "key {} is already listed for user `{owner}` (line {line}); a key \
                             belongs to one user",
                            parsed.id.fingerprint
                        )
                    };
                    self.error(line_at, "duplicate-key", message);
                    continue;
                }
                Entry::Vacant(v) => {
                    v.insert((user.id.clone(), k));
                }
            }
            let key = UserKey {
                material: parsed.material,
                kind: parsed.id.kind,
                blob: parsed.id.blob,
                fingerprint: parsed.id.fingerprint,
                algorithm: parsed.id.algorithm,
                expires,
                // Secure by default, as sshd: a FIDO signature needs a touch.
                touch_required: touch.is_none_or(|(required, _)| required),
                location: line_at,
                file: match source {
                    Source::OpenPgp(path) => Some(path.to_string()),
                    Source::Ssh(_) => None,
                },
            };
            if let Some((_, touch_at)) = touch.filter(|_| !key.is_fido()) {
                self.warning(
                    touch_at,
                    "ineffective-touch-required",
                    format!(
                        "`touch_required` has no effect on a `{}` key: only FIDO keys \
                         (sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com) \
                         have a touch flag",
                        key.algorithm
                    ),
                );
            }
            user.keys.push(key);
        }
    }

    /// Reads the OpenPGP certificate file `path` (relative to the roles file) through the
    /// file source, once per path, and parses it.
    fn certificate(&mut self, path: &str, at: Location) -> Result<keys::ParsedKey, keys::KeyError> {
        if let Err(why) = keys::valid_path(path) {
            return Err(keys::KeyError {
                code: "invalid-path",
                message: format!("`{path}`: {why}"),
            });
        }
        let bytes = match (self.files)(path) {
            Ok(bytes) => bytes,
            Err(why) => {
                return Err(keys::KeyError {
                    code: "missing-file",
                    message: format!(
                        "cannot read OpenPGP certificate `{path}` ({why}); the path is relative \
                         to roles.toml"
                    ),
                });
            }
        };
        let parsed = keys::parse_certificate(&bytes).map_err(|why| keys::KeyError {
            code: "invalid-certificate",
            message: format!("OpenPGP certificate `{path}` {why}"),
        })?;
        if let Some(warning) = keys::certificate_warning(&parsed) {
            self.warning(at, "refused-openpgp-key", format!("`{path}`: {warning}"));
        }
        if !self.referenced.iter().any(|(p, _)| p == path) {
            self.referenced.push((path.to_string(), bytes));
        }
        Ok(parsed)
    }

    pub(super) fn expires(
        &mut self,
        (key_at, node): (Location, Node<'_>),
    ) -> Option<time::OffsetDateTime> {
        let at = self.at(node.span(), key_at);
        let parsed = if let Some(s) = node.as_str() {
            keys::parse_expiry(s)
        } else if let Some(d) = node.as_datetime() {
            keys::parse_toml_expiry(d)
        } else {
            let expected = "a date \"YYYY-MM-DD\" or an RFC 3339 date-time";
            self.wrong_type(at, &"`expires`", expected, node);
            return None;
        };
        match parsed {
            Ok(t) => Some(t),
            Err(message) => {
                self.error(at, "invalid-expiry", message);
                None
            }
        }
    }
}
