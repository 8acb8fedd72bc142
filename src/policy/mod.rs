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

    /// [`Diagnostic::render`] followed by the source line and a caret under the column, in
    /// the style of rustc, for a terminal. Control characters in the source line are shown
    /// as spaces so the caret stays aligned and the terminal stays clean.
    pub fn render_with_source(&self, file: &str, text: &str) -> Vec<String> {
        let mut out = vec![self.render(file)];
        let Some(line) = text.lines().nth(self.location.line.saturating_sub(1)) else {
            return out;
        };
        let shown: String = line
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let number = self.location.line.to_string();
        let gutter = " ".repeat(number.len());
        let caret = " ".repeat(self.location.col.saturating_sub(1));
        out.push(format!(" {number} | {shown}"));
        out.push(format!(" {gutter} | {caret}^"));
        out
    }
}
