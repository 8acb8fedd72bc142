//! roles.toml: parsing with spans, validation into a [`Policy`], lint diagnostics, ref
//! patterns. Pure: takes text (and the files it references through a [`Files`] function the
//! caller gives), never touches the filesystem, git or the environment.

mod certs;
mod codes;
mod grants;
mod keys;
mod lists;
mod model;
mod node;
mod parse;
mod quorum;
mod span;
mod warnings;

#[cfg(test)]
mod grants_tests;
#[cfg(test)]
mod org_tests;
#[cfg(test)]
mod tests;

pub use codes::CODES;
pub use keys::{format_span, parse_instant, utc};
pub use lists::{Absent, LIST_KINDS, LISTS, ListKind, ListSpec};
pub use model::{
    ApprovalRule, DEFAULT_MAX_GRANT, Effective, Grant, GrantStatus, Grants, Indexes, KeyIndex,
    KeyMaterial, KeyStatus, Location, Membership, NameIndex, PathEntry, Policy, PolicyFile,
    Principals, REPLACE_PREFIX, Revoked, Rule, User, UserKey, WALKS_BEFORE_INDEX, is_replace_ref,
    pattern_names_replace_refs,
};
pub use parse::{
    Layer, lint, lint_layer, lint_with, parse, parse_layer, parse_own, parse_under, parse_with,
};

/// Reads a file that a roles file references (an OpenPGP certificate), by its path relative
/// to the roles file, already checked to stay inside its directory (no absolute path, no
/// `..`): its bytes, or a short reason why it cannot be read. The shell supplies it: from the
/// policy commit's tree, or from the directory of a roles file on disk.
pub type Files<'a> = &'a dyn Fn(&str) -> Result<Vec<u8>, String>;

/// The [`Files`] of a roles file read on its own: there is nothing beside it.
pub fn no_files(_path: &str) -> Result<Vec<u8>, String> {
    Err("no file beside this roles file".to_string())
}
pub use quorum::{EXPIRY_WARNING, check_at};

/// Every error and warning for a roles file as a candidate at `now` (what `policy lint`,
/// `init` and `policy reset` report): [`lint_with`], then, if the file parses, the
/// time-dependent checks of [`checks_at`] (an admin quorum that cannot be reached at `now`, a
/// grant without `from` longer than `max_grant` from `now`: errors; a grant that has ended,
/// an OpenPGP certificate expired or revoked at `now`: warnings).
pub fn lint_at(text: &str, files: Files<'_>, now: time::OffsetDateTime) -> Vec<Diagnostic> {
    lint_at_layer(text, files, Layer::Repo, now)
}

/// [`lint_at`] for a roles file at `layer` (spec §10): under an organisation policy, the
/// admin quorum is judged with the organisation's users' keys too.
pub fn lint_at_layer(
    text: &str,
    files: Files<'_>,
    layer: Layer<'_>,
    now: time::OffsetDateTime,
) -> Vec<Diagnostic> {
    let mut diags = lint_layer(text, files, layer);
    if !diags.iter().any(|d| d.severity == Severity::Error)
        && let Ok(own) = parse_own(text, files, layer)
    {
        diags.extend(checks_at_layer(own, layer, now).1);
        diags.sort_by(|a, b| {
            (a.location, a.severity, &a.message).cmp(&(b.location, b.severity, &b.message))
        });
    }
    diags
}

/// A roles file validated as a candidate at `now`: [`parse_with`], then the errors of
/// [`checks_at`] (spec §2, v2: a policy whose admins cannot reach the quorum with keys usable
/// at the time of the push is invalid; spec §8: so is a grant longer than `max_grant`). The
/// policy in force is loaded with [`parse_with`] alone: it must keep governing pushes even
/// when its admins' keys have expired.
pub fn parse_at(
    text: &str,
    files: Files<'_>,
    now: time::OffsetDateTime,
) -> Result<Policy, Vec<Diagnostic>> {
    parse_at_layer(text, files, Layer::Repo, now)
}

/// [`parse_at`] for a roles file at `layer`; a repository's file under an organisation
/// comes back joined with it ([`Policy::join_org`]).
pub fn parse_at_layer(
    text: &str,
    files: Files<'_>,
    layer: Layer<'_>,
    now: time::OffsetDateTime,
) -> Result<Policy, Vec<Diagnostic>> {
    let own = parse_own(text, files, layer)?;
    let (policy, diags) = checks_at_layer(own, layer, now);
    let errors: Vec<Diagnostic> = diags
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if errors.is_empty() {
        Ok(policy)
    } else {
        Err(errors)
    }
}

/// The checks of a parsed policy that depend on the time: the admin quorum ([`check_at`];
/// grants never count toward it) and the grants' windows (`grants::check_at`).
pub fn checks_at(policy: &Policy, now: time::OffsetDateTime) -> Vec<Diagnostic> {
    let mut diags = check_at(policy, now);
    diags.extend(grants::check_at(policy, now));
    diags.extend(certs::certificates_at(policy, now));
    diags
}

/// [`checks_at`] for a file's own policy at `layer`, with the policy it stands for (joined
/// with the organisation's under one). A file answers for its own grants and certificates;
/// its admin quorum is judged on the joined policy, since its admins may be organisation
/// users.
fn checks_at_layer(
    own: Policy,
    layer: Layer<'_>,
    now: time::OffsetDateTime,
) -> (Policy, Vec<Diagnostic>) {
    let mut diags = grants::check_at(&own, now);
    diags.extend(certs::certificates_at(&own, now));
    let policy = match layer.org() {
        Some(org) => own.join_org(org.clone()),
        None => own,
    };
    diags.extend(check_at(&policy, now));
    (policy, diags)
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The file is invalid and will not be used.
    Error,
    /// The file is valid but probably not what was meant (e.g. a rule that can never match).
    Warning,
}

/// One problem found in a roles file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable kebab-case code naming the kind of problem; each is documented in [`CODES`].
    pub code: &'static str,
    /// Where (1-based line and column).
    pub location: Location,
    /// What is wrong, in one line.
    pub message: String,
}

/// `message` with its control characters and other hidden code points escaped (a newline
/// becomes `\n`, a bidi override `\u{202e}`), so that a diagnostic stays one line and shows
/// what the file holds: messages quote names and values from the roles file, and a TOML
/// string may hold any character (`"a\nb"`, `"\u001b[2J"`).
pub(crate) fn one_line(message: String) -> String {
    crate::text::escape_line(message)
}

impl Diagnostic {
    /// `FILE:LINE:COL: message` (warnings say `warning:` before the message).
    pub fn render(&self, file: &str) -> String {
        let prefix = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        format!(
            "{file}:{}:{}: {prefix}{}",
            self.location.line, self.location.col, self.message
        )
    }

    /// [`Diagnostic::render`] followed by the source line and a caret under the column, in
    /// the style of rustc, for a terminal. Hidden characters in the source line are shown
    /// escaped ([`crate::text::escape`]), and the caret moves with the escapes so it stays
    /// under the character the column names.
    pub fn render_with_source(&self, file: &str, text: &str) -> Vec<String> {
        let mut out = vec![self.render(file)];
        let Some(line) = text.lines().nth(self.location.line.saturating_sub(1)) else {
            return out;
        };
        let shown = crate::text::escape(line);
        let before: String = line
            .chars()
            .take(self.location.col.saturating_sub(1))
            .collect();
        let caret = " ".repeat(crate::text::escape(&before).chars().count());
        let number = self.location.line.to_string();
        let gutter = " ".repeat(number.len());
        out.push(format!(" {number} | {shown}"));
        out.push(format!(" {gutter} | {caret}^"));
        out
    }
}
