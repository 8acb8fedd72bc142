//! roles.toml text → validated [`Policy`], collecting every problem with its location.
//!
//! The text is parsed once into a span-carrying TOML tree (`toml::de::DeTable`) (a syntax error is the only
//! thing that stops early); the checker then walks it section by section, records every error
//! (and, for lint, every warning) with its line and column, and builds the [`Policy`] only if
//! no error was found. Everything is linear in the size of the file: hash maps for ids, keys
//! and names, one line table for locations.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Display;
use std::ops::Range;

use globset::{GlobBuilder, GlobSetBuilder};
use toml::de::DeTable;

use super::keys;
use super::model;
use super::node::{Node, fields};
use super::span::LineIndex;
use super::warnings::{self, RuleDraft};
use super::{Diagnostic, Location, Policy, Principals, Revoked, Rule, Severity, User, UserKey};

/// The fields each table of roles.toml may hold (anything else is `unknown-field`).
pub(super) const TOP_FIELDS: &[&str] = &[
    "version", "users", "roles", "policy", "trust", "revoked", "rule", "settings",
];
pub(super) const SETTINGS_FIELDS: &[&str] = &["require_signed_push"];
pub(super) const USER_FIELDS: &[&str] = &["keys", "names"];
pub(super) const KEY_FIELDS: &[&str] = &["key", "expires", "touch_required"];
pub(super) const POLICY_FIELDS: &[&str] = &["admins", "approvals"];
pub(super) const TRUST_FIELDS: &[&str] = &["baseline"];
pub(super) const REVOKED_FIELDS: &[&str] = &["key", "reason"];
pub(super) const RULE_FIELDS: &[&str] = &[
    "refs",
    "push",
    "create",
    "delete",
    "force_push",
    "signers",
    "merge",
    "linear",
    "signed_push",
];

const TOP: Location = Location { line: 1, col: 1 };

/// Parses and validates a roles file. On failure, every error found (no warnings), sorted by
/// location.
///
/// Key expiry (`expires`) is either a UTC date `YYYY-MM-DD`, meaning the key is invalid from
/// 00:00:00 UTC on that day (the same as git's allowed_signers `valid-before="YYYYMMDD"`), or
/// an RFC 3339 date-time with an offset; both may be written as quoted strings or as TOML
/// date / offset date-time values. A TOML local date-time (no offset) is an error.
pub fn parse(text: &str) -> Result<Policy, Vec<Diagnostic>> {
    let (policy, diags) = check(text, Mode::Parse);
    let errors: Vec<Diagnostic> = diags
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    match policy {
        Some(policy) if errors.is_empty() => Ok(policy),
        _ => Err(sorted(errors)),
    }
}

/// Every error and warning for a roles file, sorted by location.
pub fn lint(text: &str) -> Vec<Diagnostic> {
    sorted(check(text, Mode::Lint).1)
}

fn sorted(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diags.sort_by(|a, b| {
        (a.location, a.severity, &a.message).cmp(&(b.location, b.severity, &b.message))
    });
    diags
}

/// Whether to compute lint-only warnings (parse skips the work).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Parse,
    Lint,
}

fn check(text: &str, mode: Mode) -> (Option<Policy>, Vec<Diagnostic>) {
    let lines = LineIndex::new(text);
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let diag = Diagnostic {
                severity: Severity::Error,
                code: "toml-syntax",
                location: lines.start(e.span(), TOP),
                message: super::one_line(format!("invalid TOML: {}", e.message().trim_end())),
            };
            return (None, vec![diag]);
        }
    };
    let mut checker = Checker {
        lines,
        diags: Vec::new(),
    };
    let policy = checker.document(doc.get_ref(), mode);
    (policy, checker.diags)
}

/// The closest candidate to an unknown name, if one is close enough to be a likely typo.
fn did_you_mean<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .filter_map(|c| {
            let d = strsim::damerau_levenshtein(&lower, &c.to_lowercase());
            let close = d <= 2.max(c.len() / 3) && d < c.len().max(name.len());
            let prefix = name.len() >= 3 && (c.starts_with(name) || name.starts_with(c));
            (close || prefix).then_some((d, !prefix, c))
        })
        .min()
        .map(|(_, _, c)| c)
}

fn hint(name: &str, candidates: &[&'static str]) -> String {
    match did_you_mean(name, candidates.iter().copied()) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => format!("; expected one of: {}", candidates.join(", ")),
    }
}

/// Where a user or role id is defined.
#[derive(Clone, Copy)]
enum Def {
    User(usize),
    Role(usize),
}

/// A role as written, before expansion.
struct RoleDraft<'a> {
    name: &'a str,
    members: Vec<(&'a str, Location)>,
}

/// Users and roles, resolved: what a list of principals is checked against.
struct Names<'a> {
    defs: HashMap<&'a str, Def>,
    all_users: BTreeSet<String>,
    /// Per role (index as in `Def::Role`): expanded user ids and whether `*` was included.
    expanded: Vec<(BTreeSet<String>, bool)>,
}

struct Checker<'t> {
    lines: LineIndex<'t>,
    diags: Vec<Diagnostic>,
}

/// The known fields found in a table: name, where its key is, and its value. A short list
/// searched linearly: tables have at most eight fields, and there are thousands of them.
struct Found<'a>(Vec<(&'a str, Location, Node<'a>)>);

impl<'a> Found<'a> {
    fn get(&self, name: &str) -> Option<(Location, Node<'a>)> {
        self.0
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|&(_, at, node)| (at, node))
    }
}

impl Checker<'_> {
    fn at(&self, span: Option<Range<usize>>, fallback: Location) -> Location {
        self.lines.start(span, fallback)
    }

    fn error(&mut self, location: Location, code: &'static str, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            severity: Severity::Error,
            code,
            location,
            message: super::one_line(message.into()),
        });
    }

    fn warning(&mut self, location: Location, code: &'static str, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            severity: Severity::Warning,
            code,
            location,
            message: super::one_line(message.into()),
        });
    }

    fn has_errors(&self) -> bool {
        self.diags.iter().any(|d| d.severity == Severity::Error)
    }

    fn wrong_type(
        &mut self,
        location: Location,
        what: &dyn Display,
        expected: &str,
        node: Node<'_>,
    ) {
        let mut message = format!("{what} must be {expected}, not {}", node.describe());
        if let (Some(s), true) = (node.as_str(), expected.starts_with("a list")) {
            message.push_str(&format!("; write [\"{s}\"]"));
        }
        self.error(location, "wrong-type", message);
    }

    /// The fields of a table by name; unknown ones are reported.
    fn fields<'a>(
        &mut self,
        table: &'a DeTable<'a>,
        section: &dyn Display,
        allowed: &[&'static str],
        fallback: Location,
    ) -> Found<'a> {
        let mut found = Vec::new();
        for field in fields(table) {
            let at = self.at(field.key_span, fallback);
            if allowed.contains(&field.name) {
                found.push((field.name, at, field.node));
            } else {
                let hint = hint(field.name, allowed);
                self.error(
                    at,
                    "unknown-field",
                    format!("unknown field `{}` in {section}{hint}", field.name),
                );
            }
        }
        Found(found)
    }

    /// A field that must be a table; `None` (after reporting) if it is something else.
    fn table<'a>(
        &mut self,
        (key_at, node): (Location, Node<'a>),
        what: &dyn Display,
    ) -> Option<(&'a DeTable<'a>, Location)> {
        let at = self.at(node.span(), key_at);
        match node.as_table() {
            Some(t) => Some((t, at)),
            None => {
                self.wrong_type(at, what, "a table", node);
                None
            }
        }
    }

    /// A field that must be a list of strings; wrong elements are reported and skipped.
    fn strings<'a>(
        &mut self,
        (key_at, node): (Location, Node<'a>),
        what: &dyn Display,
        of: &str,
    ) -> Option<Vec<(&'a str, Location)>> {
        let at = self.at(node.span(), key_at);
        let Some(elements) = node.as_list() else {
            self.wrong_type(at, what, &format!("a list of {of}"), node);
            return None;
        };
        let mut out = Vec::with_capacity(elements.len());
        for e in elements {
            let e_at = self.at(e.span(), at);
            match e.as_str() {
                Some(s) => out.push((s, e_at)),
                None => {
                    let what = format_args!("each entry of {what}");
                    self.wrong_type(e_at, &what, "a string", e);
                }
            }
        }
        Some(out)
    }

    /// A field that must be a list of tables (`[[x]]`, or a list of inline tables).
    fn tables<'a>(
        &mut self,
        (key_at, node): (Location, Node<'a>),
        name: &str,
    ) -> Vec<(&'a DeTable<'a>, Location)> {
        let at = self.at(node.span(), key_at);
        let Some(elements) = node.as_list() else {
            let message = format!("`{name}` must be a list of tables (write `[[{name}]]`)");
            self.error(
                at,
                "wrong-type",
                format!("{message}, not {}", node.describe()),
            );
            return Vec::new();
        };
        let mut out = Vec::with_capacity(elements.len());
        for e in elements {
            let e_at = self.at(e.span(), at);
            match e.as_table() {
                Some(t) => out.push((t, e_at)),
                None => {
                    let what = format_args!("each `{name}` entry");
                    self.wrong_type(e_at, &what, "a table", e);
                }
            }
        }
        out
    }

    /// Reports an id that is empty, has whitespace or is the reserved `*`.
    fn check_id(&mut self, id: &str, at: Location, kind: &str) {
        let problem = if id.is_empty() {
            "must not be empty"
        } else if id == "*" {
            "`*` is reserved (it means any user)"
        } else if id.chars().any(char::is_whitespace) {
            "must not contain whitespace"
        } else {
            return;
        };
        self.error(at, "invalid-id", format!("{kind} id `{id}`: {problem}"));
    }

    fn document<'a>(&mut self, root: &'a DeTable<'a>, mode: Mode) -> Option<Policy> {
        let top = self.fields(root, &"the top level", TOP_FIELDS, TOP);
        self.version(top.get("version"));

        let mut defs: HashMap<&'a str, Def> = HashMap::new();
        let mut key_index = HashMap::new();
        let mut name_index = HashMap::new();
        let (users, user_locations) = match top.get("users") {
            Some(field) => self.users(field, &mut defs, &mut key_index, &mut name_index),
            None => Default::default(),
        };
        let roles = match top.get("roles") {
            Some(field) => self.roles(field, &mut defs, &user_locations),
            None => Vec::new(),
        };
        let names = self.expand_roles(&roles, defs, &users);

        let revoked = match top.get("revoked") {
            Some(field) => self.revoked(field),
            None => Vec::new(),
        };
        let (admins, approvals, quorum_location) =
            self.policy_section(top.get("policy"), &names, &users, &revoked);
        let baseline = match top.get("trust") {
            Some(field) => self.trust(field),
            None => Vec::new(),
        };
        let require_signed_push = match top.get("settings") {
            Some(field) => self.settings(field),
            None => false,
        };
        let mut drafts = Vec::new();
        let rules = match top.get("rule") {
            Some(field) => self.rules(field, &names, &mut drafts),
            None => Vec::new(),
        };
        if mode == Mode::Lint && require_signed_push {
            self.ineffective_signed_push(top.get("rule"));
        }
        if mode == Mode::Lint {
            self.diags.extend(warnings::rule_warnings(&drafts));
            self.diags
                .extend(warnings::permission_warnings(&rules, &names.all_users));
        }
        if self.has_errors() {
            return None;
        }

        let mut role_members = BTreeMap::new();
        let mut written = BTreeMap::new();
        for (role, (members, _)) in roles.iter().zip(names.expanded) {
            role_members.insert(role.name.to_string(), members);
            let list = role.members.iter().map(|(m, _)| m.to_string()).collect();
            written.insert(role.name.to_string(), list);
        }
        Some(Policy {
            users: users.into_iter().map(|u| (u.id.clone(), u)).collect(),
            roles: written,
            role_members,
            admins,
            approvals,
            quorum_location,
            baseline,
            revoked,
            rules,
            key_index,
            name_index,
            require_signed_push,
        })
    }

    /// `[settings]`: `require_signed_push` (default false).
    fn settings(&mut self, field: (Location, Node<'_>)) -> bool {
        let Some((table, at)) = self.table(field, &"`settings`") else {
            return false;
        };
        let found = self.fields(table, &"[settings]", SETTINGS_FIELDS, at);
        self.flag(found.get("require_signed_push"), "require_signed_push")
    }

    /// An optional `true`/`false` field (absent: false).
    fn flag(&mut self, field: Option<(Location, Node<'_>)>, name: &str) -> bool {
        let Some((key_at, node)) = field else {
            return false;
        };
        node.as_bool().unwrap_or_else(|| {
            let at = self.at(node.span(), key_at);
            self.wrong_type(at, &format_args!("`{name}`"), "true or false", node);
            false
        })
    }

    /// Lint: a rule's `signed_push` says nothing when `[settings] require_signed_push` is on.
    fn ineffective_signed_push(&mut self, rules: Option<(Location, Node<'_>)>) {
        let Some(list) = rules.and_then(|(_, node)| node.as_list()) else {
            return;
        };
        for rule in list {
            let Some(table) = rule.as_table() else {
                continue;
            };
            for field in fields(table) {
                if field.name == "signed_push" {
                    let at = self.at(field.key_span.clone(), TOP);
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

    fn version(&mut self, field: Option<(Location, Node<'_>)>) {
        let Some((key_at, node)) = field else {
            self.error(
                TOP,
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

    /// `[users.ID]` sections. Fills the id namespace, the key index (blob → user, key) and
    /// the name index (pusher name → user, where claimed).
    fn users<'a>(
        &mut self,
        field: (Location, Node<'a>),
        defs: &mut HashMap<&'a str, Def>,
        key_index: &mut HashMap<Vec<u8>, (String, usize)>,
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
    fn keys(
        &mut self,
        (key_at, node): (Location, Node<'_>),
        user: &mut User,
        key_index: &mut HashMap<Vec<u8>, (String, usize)>,
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
            let (line, line_at, expires) = if let Some(line) = e.as_str() {
                (line, e_at, None)
            } else if let Some(t) = e.as_table() {
                let found = self.fields(t, &"a key table", KEY_FIELDS, e_at);
                let expires = found.get("expires").and_then(|f| self.expires(f));
                touch = found.get("touch_required").map(|field| {
                    let at = field.0;
                    (self.flag(Some(field), "touch_required"), at)
                });
                match found.get("key") {
                    Some((k_at, k)) => match k.as_str() {
                        Some(line) => (line, self.at(k.span(), k_at), expires),
                        None => {
                            let at = self.at(k.span(), k_at);
                            self.wrong_type(at, &"`key`", "a public key line (a string)", k);
                            continue;
                        }
                    },
                    None => {
                        self.error(
                            e_at,
                            "missing-field",
                            "key table has no `key`: write { key = \"ssh-ed25519 AAAA...\", \
                             expires = ... }",
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
            let parsed = match keys::parse_key(line) {
                Ok(parsed) => parsed,
                Err(e) => {
                    self.error(line_at, e.code, e.message);
                    continue;
                }
            };
            let k = user.keys.len();
            match key_index.entry(parsed.blob.clone()) {
                Entry::Occupied(o) => {
                    let (owner, k) = o.get();
                    let message = if *owner == user.id {
                        let line = user.keys.get(*k).map_or(line_at.line, |f| f.location.line);
                        format!(
                            "key {} is listed twice for user `{owner}` (first at line {line})",
                            parsed.fingerprint
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
                            parsed.fingerprint
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
                key: parsed.key,
                blob: parsed.blob,
                fingerprint: parsed.fingerprint,
                algorithm: parsed.algorithm,
                expires,
                // Secure by default, as sshd: a FIDO signature needs a touch.
                touch_required: touch.is_none_or(|(required, _)| required),
                location: line_at,
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

    fn expires(&mut self, (key_at, node): (Location, Node<'_>)) -> Option<time::OffsetDateTime> {
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

    /// `[roles]`: role → members as written. Ids join the shared namespace.
    fn roles<'a>(
        &mut self,
        field: (Location, Node<'a>),
        defs: &mut HashMap<&'a str, Def>,
        user_locations: &[Location],
    ) -> Vec<RoleDraft<'a>> {
        let Some((table, at)) = self.table(field, &"`roles`") else {
            return Vec::new();
        };
        let mut roles = Vec::new();
        for entry in fields(table) {
            let name = entry.name;
            let name_at = self.at(entry.key_span, at);
            self.check_id(name, name_at, "role");
            match defs.entry(name) {
                Entry::Occupied(o) => {
                    // TOML rejects a role defined twice, so the clash is with a user.
                    let line = match *o.get() {
                        Def::User(u) => user_locations[u].line,
                        Def::Role(_) => name_at.line,
                    };
                    self.error(
                        name_at,
                        "duplicate-id",
                        format!(
                            "role `{name}` has the same id as user `{name}` (line {line}); \
                             users and roles share one namespace"
                        ),
                    );
                    continue;
                }
                Entry::Vacant(v) => {
                    v.insert(Def::Role(roles.len()));
                }
            }
            let what = format_args!("role `{name}`");
            let members = self
                .strings((name_at, entry.node), &what, "user or role names")
                .unwrap_or_default();
            roles.push(RoleDraft { name, members });
        }
        roles
    }

    /// Checks role members, reports cycles and expands every role into user ids (iterative
    /// depth-first search, so a long chain of roles cannot overflow the stack).
    fn expand_roles<'a>(
        &mut self,
        roles: &[RoleDraft<'a>],
        defs: HashMap<&'a str, Def>,
        users: &[User],
    ) -> Names<'a> {
        let all_users: BTreeSet<String> = users.iter().map(|u| u.id.clone()).collect();

        // Direct members: users, `*`, and edges to other roles (with where they are written).
        let mut direct: Vec<(BTreeSet<String>, bool)> = Vec::with_capacity(roles.len());
        let mut edges: Vec<Vec<(usize, Location)>> = Vec::with_capacity(roles.len());
        for role in roles {
            let mut set = BTreeSet::new();
            let mut star = false;
            let mut out = Vec::new();
            for &(member, at) in &role.members {
                match defs.get(member) {
                    _ if member == "*" => star = true,
                    Some(Def::User(u)) => {
                        set.insert(users[*u].id.clone());
                    }
                    Some(Def::Role(r)) => out.push((*r, at)),
                    None => self.unknown_principal(member, at, &defs),
                }
            }
            direct.push((set, star));
            edges.push(out);
        }

        const WHITE: u8 = 0;
        const GREY: u8 = 1;
        const BLACK: u8 = 2;
        let mut state = vec![WHITE; roles.len()];
        let mut expanded: Vec<(BTreeSet<String>, bool)> = vec![Default::default(); roles.len()];
        for root in 0..roles.len() {
            if state[root] != WHITE {
                continue;
            }
            state[root] = GREY;
            let mut stack = vec![(root, 0usize)];
            while let Some(top) = stack.last_mut() {
                let (r, next) = *top;
                if let Some(&(child, at)) = edges[r].get(next) {
                    top.1 += 1;
                    match state[child] {
                        WHITE => {
                            state[child] = GREY;
                            stack.push((child, 0));
                        }
                        GREY => {
                            let from = stack.iter().position(|&(s, _)| s == child).unwrap_or(0);
                            let mut path: Vec<&str> =
                                stack[from..].iter().map(|&(s, _)| roles[s].name).collect();
                            path.push(roles[child].name);
                            self.error(
                                at,
                                "role-cycle",
                                format!("role cycle: {}", path.join(" -> ")),
                            );
                        }
                        _ => {}
                    }
                } else {
                    stack.pop();
                    let (mut set, mut star) = std::mem::take(&mut direct[r]);
                    for &(child, _) in &edges[r] {
                        // A grey child is part of a cycle (already reported): skip it.
                        if state[child] == BLACK {
                            set.extend(expanded[child].0.iter().cloned());
                            star |= expanded[child].1;
                        }
                    }
                    if star {
                        set = all_users.clone();
                    }
                    expanded[r] = (set, star);
                    state[r] = BLACK;
                }
            }
        }
        Names {
            defs,
            all_users,
            expanded,
        }
    }

    fn unknown_principal(&mut self, name: &str, at: Location, defs: &HashMap<&str, Def>) {
        let suggestion = did_you_mean(name, defs.keys().copied())
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        self.error(
            at,
            "unknown-principal",
            format!("unknown user or role `{name}`{suggestion}"),
        );
    }

    /// A list of principals (users, roles, `*`), expanded to user ids.
    fn principals(
        &mut self,
        field: (Location, Node<'_>),
        what: &dyn Display,
        names: &Names<'_>,
    ) -> Option<Principals> {
        let list = self.strings(field, what, "user or role names")?;
        let mut p = Principals::default();
        for (name, at) in list {
            p.written.push(name.to_string());
            match names.defs.get(name) {
                _ if name == "*" => p.any_user = true,
                Some(Def::User(_)) => {
                    p.users.insert(name.to_string());
                }
                Some(Def::Role(r)) => {
                    let (set, star) = &names.expanded[*r];
                    p.users.extend(set.iter().cloned());
                    p.any_user |= *star;
                }
                None => self.unknown_principal(name, at, &names.defs),
            }
        }
        if p.any_user {
            p.users = names.all_users.clone();
        }
        Some(p)
    }

    /// `[policy]`: admins and approvals, and whether they could ever approve a change.
    fn policy_section(
        &mut self,
        field: Option<(Location, Node<'_>)>,
        names: &Names<'_>,
        users: &[User],
        revoked: &[Revoked],
    ) -> (Principals, u32, Location) {
        let mut admins = Principals::default();
        let mut approvals = 1;
        let (mut admins_at, mut approvals_at) = (TOP, None);
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
            .filter(|id| match names.defs.get(id) {
                Some(&Def::User(u)) => users[u]
                    .keys
                    .iter()
                    .any(|k| !revoked.contains(k.fingerprint.as_str())),
                _ => false,
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
    fn trust(&mut self, field: (Location, Node<'_>)) -> Vec<String> {
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
    fn revoked(&mut self, field: (Location, Node<'_>)) -> Vec<Revoked> {
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
                     prints it",
                );
                continue;
            };
            let k_at = self.at(node.span(), key_at);
            let Some(fingerprint) = node.as_str() else {
                self.wrong_type(k_at, &"`key`", "a fingerprint string \"SHA256:...\"", node);
                continue;
            };
            if !keys::valid_fingerprint(fingerprint) {
                self.error(
                    k_at,
                    "invalid-fingerprint",
                    format!(
                        "`{fingerprint}` is not a key fingerprint: expected `SHA256:` and 43 \
                         base64 characters, as `ssh-keygen -lf` prints it"
                    ),
                );
                continue;
            }
            out.push(Revoked {
                fingerprint: fingerprint.to_string(),
                reason,
                location: k_at,
            });
        }
        out
    }

    /// `[[rule]]` entries, in file order; `drafts` receives their valid patterns for lint.
    fn rules(
        &mut self,
        field: (Location, Node<'_>),
        names: &Names<'_>,
        drafts: &mut Vec<RuleDraft>,
    ) -> Vec<Rule> {
        let mut rules = Vec::new();
        for (table, at) in self.tables(field, "rule") {
            let found = self.fields(table, &"[[rule]]", RULE_FIELDS, at);
            let mut refs = Vec::new();
            let mut patterns = Vec::new();
            let mut builder = GlobSetBuilder::new();
            match found.get("refs") {
                None => self.error(
                    at,
                    "missing-field",
                    "rule has no `refs`: write refs = [\"refs/heads/main\"]",
                ),
                Some((key_at, node)) => {
                    let list = self
                        .strings((key_at, node), &"`refs`", "ref patterns")
                        .unwrap_or_default();
                    if list.is_empty() && node.is_empty_list() {
                        let r_at = self.at(node.span(), key_at);
                        self.error(
                            r_at,
                            "empty-refs",
                            "`refs` is empty: the rule would match nothing",
                        );
                    }
                    for (pattern, p_at) in list {
                        refs.push(pattern.to_string());
                        if !pattern.starts_with("refs/") {
                            self.error(
                                p_at,
                                "invalid-pattern",
                                format!("pattern `{pattern}` must start with `refs/`"),
                            );
                            continue;
                        }
                        match GlobBuilder::new(pattern).literal_separator(true).build() {
                            Ok(glob) => {
                                builder.add(glob);
                                patterns.push((pattern.to_string(), p_at));
                            }
                            Err(e) => self.error(
                                p_at,
                                "invalid-pattern",
                                format!("invalid pattern `{pattern}`: {}", e.kind()),
                            ),
                        }
                    }
                }
            }
            let matcher = builder.build().unwrap_or_else(|e| {
                self.error(at, "invalid-pattern", format!("invalid patterns: {e}"));
                globset::GlobSet::empty()
            });
            let mut list = |name: &str| {
                let field = found.get(name)?;
                self.principals(field, &format_args!("`{name}`"), names)
            };
            let push = list("push");
            let create = list("create");
            let delete = list("delete");
            let force_push = list("force_push");
            let signers = list("signers");
            let merge = list("merge");
            let linear = match found.get("linear") {
                Some((key_at, node)) => node.as_bool().unwrap_or_else(|| {
                    let l_at = self.at(node.span(), key_at);
                    self.wrong_type(l_at, &"`linear`", "true or false", node);
                    false
                }),
                None => false,
            };
            let signed_push = self.flag(found.get("signed_push"), "signed_push");
            drafts.push(RuleDraft {
                location: at,
                patterns,
            });
            let names_replace_refs = refs.iter().any(|p| model::pattern_names_replace_refs(p));
            rules.push(Rule {
                names_replace_refs,
                index: rules.len(),
                location: at,
                refs,
                matcher,
                push,
                create,
                delete,
                force_push,
                signers,
                merge,
                linear,
                signed_push,
            });
        }
        rules
    }
}
