//! Push certificates (`git push --signed`): parse the certificate blob, verify its SSH
//! signature and check it against the push, producing a [`PushCert`] fact for the engine.
//! Pure: no I/O, no environment, no git2; the shell hands in the blob and git's nonce status.
//!
//! What git gives a pre-receive hook (githooks(5), git-receive-pack(1)): `GIT_PUSH_CERT`, the
//! id of a blob holding the certificate, and `GIT_PUSH_CERT_NONCE_STATUS`, which receive-pack
//! computes from the server's `receive.certNonceSeed` and is trustworthy.
//! `GIT_PUSH_CERT_STATUS` is not: it is `G` for a key in no allowed-signers file at all, so
//! refguard verifies the signature itself and looks the key up in roles.toml (the engine's job).
//!
//! Decisions (keep the README's "Signed pushes" in step):
//! - Only nonce status `OK` is accepted. `SLOP` (a nonce from another receive-pack process,
//!   older than `receive.certNonceSlop` allows, as happens over stateless HTTP) is rejected:
//!   an admin who wants a window sets `receive.certNonceSlop`, and git itself then reports a
//!   nonce inside the window as `OK`.
//! - The certificate's commands must equal the push's commands as a set (pre-receive sees
//!   the whole push); the update hook sees one ref, which must be one of the certificate's.
//! - `pushee` must name this repository: its last path component, without a trailing `/` or
//!   `.git`, must equal the repository directory's name without `.git`. git already binds the
//!   nonce to the repository path (the HMAC covers it), so this is defence in depth against a
//!   certificate made for another repository; it cannot tell apart two repositories with the
//!   same name on one server, and does not try to.
//! - A certificate without `pushee` (git omits it when pushing to a path it cannot name) is
//!   rejected: refguard cannot tell which repository it was made for.

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use crate::engine::{ObjectId, PushCert, RefUpdate};
use crate::verify;

/// The only certificate version git writes.
const VERSION_LINE: &[u8] = b"certificate version 0.1";

/// A parsed push certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The `pusher` line's value: the signer's identity, a timestamp and a time zone.
    pub pusher: String,
    /// The `pushee` line's value: the URL pushed to, credentials removed by git.
    pub pushee: Option<String>,
    /// The `nonce` line's value: what the server asked the client to sign.
    pub nonce: Option<String>,
    /// The `push-option` lines' values, in order.
    pub push_options: Vec<String>,
    /// The `<old> <new> <ref>` commands the pusher signed.
    pub commands: Vec<RefUpdate>,
    /// The bytes the signature covers (everything before the armor).
    pub payload: Vec<u8>,
    /// The armored signature appended to the certificate.
    pub signature: Vec<u8>,
}

/// Why a certificate blob could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The blob does not start with `certificate version 0.1`.
    #[error("does not start with `certificate version 0.1`")]
    Version,
    /// A header line that is not `pusher`, `pushee`, `nonce` or `push-option`, or a
    /// repeated one.
    #[error("unexpected header line `{0}`")]
    Header(String),
    /// No `pusher` header.
    #[error("has no `pusher` line")]
    NoPusher,
    /// No blank line between the headers and the commands.
    #[error("has no blank line after its headers")]
    NoBody,
    /// A command line that is not `<old> <new> <ref>`.
    #[error("malformed command line `{0}`")]
    Command(String),
    /// No signature appended.
    #[error("carries no signature")]
    Unsigned,
    /// Not UTF-8 where text is required.
    #[error("is not UTF-8 text")]
    Encoding,
}

/// `GIT_PUSH_CERT_NONCE_STATUS`, as receive-pack reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NonceStatus {
    /// The nonce is the one this server issued (or inside `receive.certNonceSlop`).
    Ok,
    /// A nonce this server issued, but older than `receive.certNonceSlop` allows.
    Slop,
    /// A nonce this server did not issue.
    Bad,
    /// The server asked for a nonce and the certificate has none.
    Missing,
    /// The certificate has a nonce the server did not ask for.
    Unsolicited,
    /// The variable is unset or has a value git does not document.
    Other(String),
}

impl NonceStatus {
    /// Reads the variable's value (`None`: unset).
    pub fn from_env_value(value: Option<&str>) -> NonceStatus {
        match value {
            Some("OK") => NonceStatus::Ok,
            Some("SLOP") => NonceStatus::Slop,
            Some("BAD") => NonceStatus::Bad,
            Some("MISSING") => NonceStatus::Missing,
            Some("UNSOLICITED") => NonceStatus::Unsolicited,
            Some(other) => NonceStatus::Other(other.to_string()),
            None => NonceStatus::Other(String::new()),
        }
    }

    /// Why a status other than `OK` is refused, or `None` for `OK`.
    fn problem(&self) -> Option<String> {
        let why = match self {
            NonceStatus::Ok => return None,
            NonceStatus::Slop => {
                "nonce status SLOP: the nonce is older than receive.certNonceSlop allows; push again"
                    .to_string()
            }
            NonceStatus::Bad => "nonce status BAD: this server did not issue the nonce".to_string(),
            NonceStatus::Missing => "nonce status MISSING: the certificate has no nonce".to_string(),
            NonceStatus::Unsolicited => {
                "nonce status UNSOLICITED: the server did not ask for a nonce (receive.certNonceSeed unset?)"
                    .to_string()
            }
            NonceStatus::Other(v) if v.is_empty() => {
                "no nonce status from git (GIT_PUSH_CERT_NONCE_STATUS unset)".to_string()
            }
            NonceStatus::Other(v) => format!("unknown nonce status `{}`", printable(v)),
        };
        Some(why)
    }
}

/// How the certificate's commands must relate to the commands the hook judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// pre-receive: the same set of commands.
    Exact,
    /// update: each judged command is one of the certificate's.
    Contains,
}

/// What the shell knows about a signed push, for [`assess`].
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    /// The certificate blob's bytes.
    pub blob: &'a [u8],
    /// `GIT_PUSH_CERT_NONCE_STATUS`.
    pub nonce_status: &'a NonceStatus,
    /// The commands the hook judges.
    pub updates: &'a [RefUpdate],
    /// How they must match the certificate's.
    pub coverage: Coverage,
    /// The repository directory's name, e.g. `project.git`.
    pub repo_name: &'a str,
    /// The policy's OpenPGP certificates, for a certificate signed with `gpg`.
    pub keyring: &'a crate::verify::Keyring,
}

/// Parses, verifies and checks a presented certificate: the fact the engine decides on.
///
/// Every structural problem is listed (nonce, repository, commands); the signature is
/// verified independently of them, so the engine can name the key as well.
pub fn assess(p: &Presented<'_>) -> PushCert {
    let cert = match parse(p.blob) {
        Ok(cert) => cert,
        Err(e) => {
            return PushCert::Present {
                signature: None,
                problems: vec![format!("the push certificate {e}")],
            };
        }
    };
    let mut problems = Vec::new();
    problems.extend(p.nonce_status.problem());
    problems.extend(pushee_problem(cert.pushee.as_deref(), p.repo_name));
    problems.extend(commands_problem(&cert.commands, p.updates, p.coverage));
    PushCert::Present {
        signature: Some(verify::check(&cert.signature, &cert.payload, p.keyring)),
        problems,
    }
}

/// Parses a certificate blob (git's `send-pack.c`, `generate_push_cert`).
pub fn parse(blob: &[u8]) -> Result<Certificate, ParseError> {
    let (payload, signature) = verify::split_tag(blob);
    let signature = signature.ok_or(ParseError::Unsigned)?;
    let text = std::str::from_utf8(&payload).map_err(|_| ParseError::Encoding)?;
    let (head, body) = text.split_once("\n\n").ok_or(ParseError::NoBody)?;
    let mut lines = head.split('\n');
    if lines.next().map(str::as_bytes) != Some(VERSION_LINE) {
        return Err(ParseError::Version);
    }
    let mut cert = Certificate {
        pusher: String::new(),
        pushee: None,
        nonce: None,
        push_options: Vec::new(),
        commands: Vec::new(),
        payload: payload.clone(),
        signature,
    };
    let mut pusher = None;
    for line in lines {
        let header = || ParseError::Header(printable(line));
        let (name, value) = line.split_once(' ').ok_or_else(header)?;
        let slot = match name {
            "pusher" => &mut pusher,
            "pushee" => &mut cert.pushee,
            "nonce" => &mut cert.nonce,
            "push-option" => {
                cert.push_options.push(value.to_string());
                continue;
            }
            _ => return Err(header()),
        };
        if slot.replace(value.to_string()).is_some() {
            return Err(header());
        }
    }
    cert.pusher = pusher.ok_or(ParseError::NoPusher)?;
    for line in body.lines() {
        cert.commands.push(command(line)?);
    }
    Ok(cert)
}

/// One `<old> <new> <ref>` line.
fn command(line: &str) -> Result<RefUpdate, ParseError> {
    let bad = || ParseError::Command(printable(line));
    let mut parts = line.splitn(3, ' ');
    let (Some(old), Some(new), Some(refname)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let (Some(old), Some(new)) = (ObjectId::parse(old), ObjectId::parse(new)) else {
        return Err(bad());
    };
    if refname.is_empty() {
        return Err(bad());
    }
    Ok(RefUpdate {
        refname: refname.to_string(),
        old,
        new,
    })
}

/// Whether `pushee` names the repository `repo_name` (see the module's decisions).
fn pushee_problem(pushee: Option<&str>, repo_name: &str) -> Option<String> {
    let Some(pushee) = pushee else {
        return Some("the push certificate names no repository (no `pushee` line)".to_string());
    };
    let wanted = strip_git(repo_name);
    let named = strip_git(last_component(pushee));
    if !wanted.is_empty() && named == wanted {
        return None;
    }
    Some(format!(
        "the push certificate is for {}, not this repository ({repo_name})",
        printable(pushee)
    ))
}

/// The last path component of a URL or scp-like address (`host:path`).
fn last_component(url: &str) -> &str {
    let url = url.trim_end_matches('/');
    url.rsplit(['/', ':']).next().unwrap_or(url)
}

/// `name` without one trailing `.git`.
fn strip_git(name: &str) -> &str {
    name.strip_suffix(".git").unwrap_or(name)
}

/// Whether the certificate's commands cover the judged ones (see [`Coverage`]).
fn commands_problem(
    signed: &[RefUpdate],
    judged: &[RefUpdate],
    coverage: Coverage,
) -> Option<String> {
    let key = |u: &RefUpdate| (u.refname.clone(), u.old.clone(), u.new.clone());
    let signed_set: BTreeSet<_> = signed.iter().map(key).collect();
    let judged_set: BTreeSet<_> = judged.iter().map(key).collect();
    let describe = |(r, o, n): &(String, ObjectId, ObjectId)| {
        format!("{} {}..{}", printable(r), o.short(), n.short())
    };
    if let Some(missing) = judged_set.difference(&signed_set).next() {
        return Some(format!(
            "the push certificate does not sign the command {} of this push",
            describe(missing)
        ));
    }
    if coverage == Coverage::Exact
        && let Some(extra) = signed_set.difference(&judged_set).next()
    {
        return Some(format!(
            "the push certificate signs the command {}, which is not part of this push",
            describe(extra)
        ));
    }
    None
}

/// `s` made safe for a one-line message: control characters escaped, at most 100 characters.
fn printable(s: &str) -> String {
    let mut out: String = s.chars().take(100).flat_map(char::escape_default).collect();
    if s.chars().nth(100).is_some() {
        out.push('…');
    }
    out
}
