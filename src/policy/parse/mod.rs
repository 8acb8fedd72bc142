//! roles.toml text → validated [`Policy`], collecting every problem with its location.
//!
//! The text is parsed once into a span-carrying TOML tree (`toml::de::DeTable`) (a syntax error is the only
//! thing that stops early); the checker then walks it section by section, records every error
//! (and, for lint, every warning) with its line and column, and builds the [`Policy`] only if
//! no error was found. Everything is linear in the size of the file: hash maps for ids, keys
//! and names, one line table for locations.

mod approvals;
mod grants;
mod paths;
mod roles;
mod rules;
mod sections;
mod users;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::ops::Range;
use std::sync::Arc;

use toml::de::DeTable;

use roles::{Def, Names};

use super::node::{Node, fields};
use super::span::LineIndex;
use super::warnings;
use super::{Diagnostic, Files, Location, Policy, PolicyFile, Severity};

/// The fields each table of roles.toml may hold (anything else is `unknown-field`).
pub(super) const TOP_FIELDS: &[&str] = &[
    "version", "users", "roles", "policy", "trust", "revoked", "rule", "path", "settings", "grant",
];
pub(super) const SETTINGS_FIELDS: &[&str] = &["require_signed_push", "max_grant"];
pub(super) const GRANT_FIELDS: &[&str] = &["user", "role", "from", "until", "reason"];
pub(super) const USER_FIELDS: &[&str] = &["keys", "names"];
pub(super) const KEY_FIELDS: &[&str] = &["key", "openpgp", "expires", "touch_required"];
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
    "approvals",
    "mode",
];
pub(super) const PATH_FIELDS: &[&str] = &["paths", "refs", "signers", "approvals", "mode"];
pub(super) const APPROVAL_FIELDS: &[&str] = &["by", "count", "on", "allow_self"];

/// Parses and validates a roles file. On failure, every error found (no warnings), sorted by
/// location.
///
/// Key expiry (`expires`) is either a UTC date `YYYY-MM-DD`, meaning the key is invalid from
/// 00:00:00 UTC on that day (the same as git's allowed_signers `valid-before="YYYYMMDD"`), or
/// an RFC 3339 date-time with an offset; both may be written as quoted strings or as TOML
/// date / offset date-time values. A TOML local date-time (no offset) is an error.
pub fn parse(text: &str) -> Result<Policy, Vec<Diagnostic>> {
    parse_with(text, &super::no_files)
}

/// [`parse`] with the files the roles file references (OpenPGP certificates) read through
/// `files`.
pub fn parse_with(text: &str, files: Files<'_>) -> Result<Policy, Vec<Diagnostic>> {
    parse_layer(text, files, Layer::Repo)
}

/// [`parse_with`] for a roles file at `layer` (spec §10). A repository's file under an
/// organisation comes back joined with (a copy of) the organisation's policy.
pub fn parse_layer(
    text: &str,
    files: Files<'_>,
    layer: Layer<'_>,
) -> Result<Policy, Vec<Diagnostic>> {
    match layer {
        Layer::UnderOrg(org) => parse_under(text, files, org.clone()),
        _ => parse_own(text, files, layer),
    }
}

/// A repository's roles file validated under the organisation policy `org` (spec §10) and
/// joined with it ([`Policy::join_org`]): what a push to that repository is judged by. Takes
/// the organisation's policy by value, so that joining moves its (possibly 10,000) users
/// instead of copying them.
pub fn parse_under(text: &str, files: Files<'_>, org: Policy) -> Result<Policy, Vec<Diagnostic>> {
    let own = parse_own(text, files, Layer::UnderOrg(&org))?;
    Ok(own.join_org(org))
}

/// The file's own policy (for [`Layer::UnderOrg`], validated against the organisation's but
/// not joined with it).
pub fn parse_own(
    text: &str,
    files: Files<'_>,
    layer: Layer<'_>,
) -> Result<Policy, Vec<Diagnostic>> {
    let (policy, diags) = check(text, files, Mode::Parse, layer);
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
    lint_with(text, &super::no_files)
}

/// [`lint`] with the files the roles file references read through `files`.
pub fn lint_with(text: &str, files: Files<'_>) -> Vec<Diagnostic> {
    lint_layer(text, files, Layer::Repo)
}

/// [`lint_with`] for a roles file at `layer` (spec §10): an organisation's file has its
/// locations in `org:roles.toml`; a repository's under an organisation is also checked
/// against the organisation's names and keys.
pub fn lint_layer(text: &str, files: Files<'_>, layer: Layer<'_>) -> Vec<Diagnostic> {
    sorted(check(text, files, Mode::Lint, layer).1)
}

/// Which roles file is read, and with what around it (spec §10).
#[derive(Debug, Clone, Copy)]
pub enum Layer<'a> {
    /// A repository's roles.toml, with no organisation policy.
    Repo,
    /// The organisation's roles.toml: its locations are `org:roles.toml:N`.
    Org,
    /// A repository's roles.toml under this organisation policy: it may use the
    /// organisation's users and roles, never redefine one, never list a key or a pusher
    /// name an organisation user holds.
    UnderOrg(&'a Policy),
}

impl Layer<'_> {
    /// The file its locations name.
    pub fn file(self) -> PolicyFile {
        match self {
            Layer::Org => PolicyFile::Org,
            _ => PolicyFile::Repo,
        }
    }

    /// The organisation policy around the file, if any.
    pub fn org(&self) -> Option<&Policy> {
        match self {
            Layer::UnderOrg(org) => Some(org),
            _ => None,
        }
    }
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

fn check<'t>(
    text: &'t str,
    files: Files<'t>,
    mode: Mode,
    layer: Layer<'t>,
) -> (Option<Policy>, Vec<Diagnostic>) {
    let lines = LineIndex::new(text, layer.file());
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let diag = Diagnostic {
                severity: Severity::Error,
                code: "toml-syntax",
                location: lines.start(e.span(), lines.top()),
                message: super::one_line(format!("invalid TOML: {}", e.message().trim_end())),
            };
            return (None, vec![diag]);
        }
    };
    let mut checker = Checker {
        lines,
        diags: Vec::new(),
        files,
        referenced: Vec::new(),
        org: layer.org(),
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

struct Checker<'t> {
    lines: LineIndex<'t>,
    diags: Vec<Diagnostic>,
    /// Reads the files the roles file references.
    files: Files<'t>,
    /// The files read so far (path, bytes), in order of first reference.
    referenced: Vec<(String, Vec<u8>)>,
    /// The organisation policy the file is read under (spec §10), if any.
    org: Option<&'t Policy>,
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
        let top = self.fields(root, &"the top level", TOP_FIELDS, self.lines.top());
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
        let settings = match top.get("settings") {
            Some(field) => self.settings(field),
            None => sections::Settings::default(),
        };
        let require_signed_push = settings.require_signed_push;
        let grants = match top.get("grant") {
            Some(field) => self.grants(field, &names, settings.max_grant, mode),
            None => Vec::new(),
        };
        let mut drafts = Vec::new();
        let paths = match top.get("path") {
            Some(field) => self.paths(field, &names),
            None => Vec::new(),
        };
        let rules = match top.get("rule") {
            Some(field) => self.rules(field, &names, &mut drafts),
            None => Vec::new(),
        };
        if mode == Mode::Lint {
            self.admin_grants(&grants, &admins, approvals);
        }
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
        for (role, expanded) in roles.iter().zip(names.expanded) {
            role_members.insert(role.name.to_string(), Arc::new(expanded.users));
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
            paths,
            // The parser's indexes served validation; the policy's are built when needed.
            indexes: Default::default(),
            require_signed_push,
            grants: grants.into(),
            max_grant: settings.max_grant,
            files: std::mem::take(&mut self.referenced),
        })
    }

    /// An optional `true`/`false` field (absent: false).
    /// `mode`: `"enforce"` (the default) or `"evaluate"` (spec §11); whether it evaluates.
    fn evaluate_mode(&mut self, field: Option<(Location, Node<'_>)>) -> bool {
        let Some((key_at, node)) = field else {
            return false;
        };
        match node.as_str() {
            Some("enforce") => false,
            Some("evaluate") => true,
            Some(other) => {
                let at = self.at(node.span(), key_at);
                self.error(
                    at,
                    "invalid-mode",
                    format!(
                        "`mode` is \"enforce\" (the default) or \"evaluate\", not {:?}",
                        other
                    ),
                );
                false
            }
            None => {
                let at = self.at(node.span(), key_at);
                self.wrong_type(at, &"`mode`", "\"enforce\" or \"evaluate\"", node);
                false
            }
        }
    }

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
}
