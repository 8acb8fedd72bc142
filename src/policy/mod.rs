//! roles.toml: parsing with spans, validation into a [`Policy`], lint diagnostics, ref
//! patterns. Pure: takes text, never touches the filesystem, git or the environment.

mod codes;
mod keys;
mod model;
mod node;
mod parse;
mod span;
mod warnings;

#[cfg(test)]
mod tests;

pub use codes::CODES;
pub use keys::key_blob;
pub use model::{Action, Location, Policy, Principals, Revoked, Rule, User, UserKey};
pub use parse::{lint, parse};

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

/// `message` with its control characters escaped (a newline becomes `\n`), so that a
/// diagnostic stays one line: messages quote names and values from the roles file, and a
/// TOML string may hold any character (`"a\nb"`, `"\u001b[2J"`).
pub(crate) fn one_line(message: String) -> String {
    if !message.contains(char::is_control) {
        return message;
    }
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
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
}
