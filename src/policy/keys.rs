//! OpenSSH public key lines, OpenPGP certificate files, instants (key expiry, grant
//! windows), durations and revocation fingerprints as written in roles.toml. Pure: text or
//! bytes in, parsed value or a one-line message out.

use std::sync::Arc;

use crate::openpgp::{self, Certificate};
use crate::policy::KeyMaterial;
use crate::signature::KeyId;
use ssh_key::{Algorithm, PublicKey};
use time::{
    Date, Duration, OffsetDateTime, Time, UtcOffset, format_description::well_known::Rfc3339,
};

/// Key type names refguard accepts (spec §3.3), as they start an OpenSSH public key line.
pub(crate) const SUPPORTED_KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// A public key line or certificate file, parsed and checked.
pub(crate) struct ParsedKey {
    pub(crate) material: KeyMaterial,
    /// Its identity, computed as the verifier computes a signing key's ([`KeyId::ssh`]).
    pub(crate) id: KeyId,
}

/// Why a key line was refused.
pub(crate) struct KeyError {
    /// `invalid-key` or `unsupported-key-type`.
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

fn key_error(code: &'static str, message: String) -> KeyError {
    KeyError { code, message }
}

fn supported(algorithm: &Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::Ed25519
            | Algorithm::Ecdsa { .. }
            | Algorithm::Rsa { .. }
            | Algorithm::SkEd25519
            | Algorithm::SkEcdsaSha2NistP256
    )
}

fn unsupported_type(name: &str) -> KeyError {
    let what = if name.ends_with("-cert-v01@openssh.com") {
        format!("SSH certificates (`{name}`) are not supported; list the plain public key")
    } else if name == "ssh-dss" {
        "DSA keys (`ssh-dss`) are not supported".to_string()
    } else {
        format!("unsupported key type `{name}`")
    };
    key_error(
        "unsupported-key-type",
        format!("{what}: use {}", SUPPORTED_KEY_TYPES.join(", ")),
    )
}

/// Parses one OpenSSH public key line (`TYPE BASE64 [COMMENT]`).
pub(crate) fn parse_key(line: &str) -> Result<ParsedKey, KeyError> {
    let line = line.trim();
    let mut tokens = line.split_whitespace();
    let Some(first) = tokens.next() else {
        return Err(key_error("invalid-key", "empty public key".to_string()));
    };
    if line.starts_with("-----BEGIN") {
        return Err(key_error(
            "invalid-key",
            "this is not an OpenSSH public key line; list the contents of the `.pub` file \
             (never a private key)"
                .to_string(),
        ));
    }
    if !SUPPORTED_KEY_TYPES.contains(&first) {
        if tokens.any(|t| SUPPORTED_KEY_TYPES.contains(&t)) {
            return Err(key_error(
                "invalid-key",
                format!(
                    "`{first}` before the key type: authorized_keys options are not allowed \
                     here; start the line with the key type"
                ),
            ));
        }
        return Err(unsupported_type(first));
    }
    let key = PublicKey::from_openssh(line)
        .map_err(|e| key_error("invalid-key", format!("invalid `{first}` public key: {e}")))?;
    let algorithm = key.algorithm();
    if !supported(&algorithm) {
        return Err(unsupported_type(algorithm.as_str()));
    }
    let id = KeyId::ssh(key.key_data(), None).ok_or_else(|| {
        key_error(
            "invalid-key",
            format!("invalid `{first}` public key: it does not encode"),
        )
    })?;
    Ok(ParsedKey {
        id,
        material: KeyMaterial::Ssh(key),
    })
}

/// Checks a path to a file beside roles.toml (`keys/alice.asc`): relative, `/`-separated,
/// and inside the policy tree (no empty, `.` or `..` component, no backslash or NUL), so
/// that the same path names the same file in the policy branch's tree and next to the roles
/// file on disk.
pub(crate) fn valid_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("empty path");
    }
    if path.starts_with('/') {
        return Err("an absolute path; write it relative to roles.toml, e.g. `keys/alice.asc`");
    }
    if path.contains(['\\', '\0']) {
        return Err("a path with a backslash or NUL; separate directories with `/`");
    }
    if path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err("a path must stay inside the policy tree: no `..`, `.` or empty components");
    }
    Ok(())
}

/// Parses an OpenPGP certificate file (armored or binary) into a key that the policy can
/// list: at least one of its keys must be able to sign with an algorithm refguard accepts.
pub(crate) fn parse_certificate(bytes: &[u8]) -> Result<ParsedKey, String> {
    let cert = Certificate::parse(bytes)?;
    if !cert
        .keys
        .iter()
        .any(|k| k.refused.is_none() && cert.can_ever_sign(k))
    {
        let refused: Vec<String> = cert.keys.iter().filter_map(|k| k.refused.clone()).collect();
        let why = if refused.is_empty() {
            String::new()
        } else {
            format!(" ({})", refused.join("; "))
        };
        return Err(format!(
            "has no key that can sign with an algorithm refguard accepts{why}; add a signing \
             subkey (gpg --quick-add-key FINGERPRINT ed25519 sign)"
        ));
    }
    let primary = cert.primary();
    let id = KeyId::openpgp(&cert, primary, None);
    Ok(ParsedKey {
        id,
        material: KeyMaterial::OpenPgp(Arc::new(cert)),
    })
}

/// A lint warning about a certificate refguard accepts: signing keys it carries whose
/// algorithm refguard refuses (their signatures are bad signatures).
pub(crate) fn certificate_warning(parsed: &ParsedKey) -> Option<String> {
    let KeyMaterial::OpenPgp(cert) = &parsed.material else {
        return None;
    };
    let refused: Vec<String> = cert
        .keys
        .iter()
        .filter(|k| cert.can_ever_sign(k))
        .filter_map(|k| Some(format!("{} ({})", k.name(), k.refused.as_deref()?)))
        .collect();
    (!refused.is_empty()).then(|| {
        format!(
            "signatures by these signing keys will be refused: {}",
            refused.join(", ")
        )
    })
}

/// Parses an expiry written as a string ([`parse_time`]).
pub(crate) fn parse_expiry(text: &str) -> Result<OffsetDateTime, String> {
    parse_time(text, "expiry")
}

/// Parses an instant on a command line or in an approval (`Refguard-Expires`): a UTC date or
/// an RFC 3339 time with an offset (`parse_time`).
pub fn parse_instant(text: &str) -> Result<OffsetDateTime, String> {
    parse_time(text, "time")
}

/// Parses an instant written as a string; `what` names it in the error (`expiry`,
/// `` `until` ``).
///
/// `YYYY-MM-DD` is a UTC date: 00:00:00 UTC on that day (for an expiry, the key is invalid
/// from then on: the same meaning as git's allowed_signers `valid-before="YYYYMMDD"`).
/// Anything longer must be an RFC 3339 date-time with an offset (`2027-06-30T12:00:00Z`,
/// `...+02:00`).
pub(crate) fn parse_time(text: &str, what: &str) -> Result<OffsetDateTime, String> {
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    let parsed = if text.len() == 10 {
        Date::parse(text, &date_format).map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
    } else {
        OffsetDateTime::parse(text, &Rfc3339).map(|t| t.to_offset(UtcOffset::UTC))
    };
    parsed.map_err(|e| {
        format!(
            "invalid {what} `{text}` ({e}): write a UTC date `YYYY-MM-DD` or an RFC 3339 \
             date-time such as `2027-06-30T12:00:00Z`"
        )
    })
}

/// Parses an expiry written as a native TOML date or date-time (see [`parse_expiry`]).
pub(crate) fn parse_toml_expiry(value: &toml::value::Datetime) -> Result<OffsetDateTime, String> {
    parse_toml_time(value, "expiry")
}

/// Parses an instant written as a native TOML date or offset date-time (see
/// [`parse_time`]); a local date-time (no offset) is refused.
pub(crate) fn parse_toml_time(
    value: &toml::value::Datetime,
    what: &str,
) -> Result<OffsetDateTime, String> {
    match (value.date, value.time, value.offset) {
        (Some(_), None, None) | (Some(_), Some(_), Some(_)) => parse_time(&value.to_string(), what),
        (Some(_), Some(_), None) => Err(format!(
            "{what} `{value}` has no time zone: add `Z` for UTC or an offset such as `+02:00`"
        )),
        _ => Err(format!(
            "invalid {what} `{value}`: write a UTC date `YYYY-MM-DD` or an RFC 3339 date-time"
        )),
    }
}

/// The units of a duration in roles.toml, largest first, with their length.
const SPAN_UNITS: [(char, Duration); 4] = [
    ('w', Duration::WEEK),
    ('d', Duration::DAY),
    ('h', Duration::HOUR),
    ('m', Duration::MINUTE),
];

/// Parses a duration such as `"7d"`, `"12h"`, `"90m"` or `"1d12h"`: one or more groups of
/// a whole number and a unit, `w` (weeks), `d` (days), `h` (hours) or `m` (minutes),
/// without spaces; the total must be positive. (The unit letters are those of
/// systemd.time(7) and Go's `time.ParseDuration`; seconds, fractions and months are left
/// out on purpose: a grant window is planned in minutes at the finest.)
pub(crate) fn parse_span(text: &str) -> Result<Duration, String> {
    let bad = |why: &str| {
        format!(
            "invalid duration `{text}`: {why}; write a whole number and a unit, e.g. \"7d\", \
             \"12h\", \"90m\" or \"1d12h\" (units: w, d, h, m)"
        )
    };
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad("it is empty"));
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(bad("expected a number"));
        }
        let (number, after) = rest.split_at(digits);
        let mut chars = after.chars();
        let unit = chars.next().ok_or_else(|| bad("a number without a unit"))?;
        if unit.is_whitespace() {
            return Err(bad("no spaces between a number and its unit"));
        }
        let Some(&(_, length)) = SPAN_UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(bad(&format!("unknown unit `{unit}`")));
        };
        let part = number
            .parse::<i32>()
            .ok()
            .and_then(|n| length.checked_mul(n))
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| bad("too large"))?;
        total = part;
        rest = chars.as_str();
    }
    if total <= Duration::ZERO {
        return Err(bad("it must be longer than zero"));
    }
    Ok(total)
}

/// A duration for people, in the units of `parse_span` (days at most), at most two of
/// them (the rest dropped), to the nearest minute and without zero units: `7d`, `1d 12h`,
/// `5h 12m`, `45m`; `0m` below half a minute. Negative durations are shown by their size.
pub fn format_span(span: Duration) -> String {
    // To the nearest minute: a window computed from a clock a few milliseconds after its
    // start is still "10d", not "9d 23h".
    let mut minutes = (span.abs().whole_seconds() + 30) / 60;
    let mut parts = Vec::new();
    for (unit, length) in &SPAN_UNITS[1..] {
        let size = length.whole_minutes();
        let n = minutes / size;
        minutes %= size;
        if n > 0 || (parts.is_empty() && *unit == 'm') {
            parts.push(format!("{n}{unit}"));
        }
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}

/// `2027-06-30T00:00:00Z`: an instant in UTC, whole seconds, for messages and views.
pub fn utc(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    at.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_else(|_| at.to_string())
}

/// Checks a `[[revoked]] key` fingerprint and returns it as keys are named: `SHA256:` and 43
/// unpadded base64 characters, as `ssh-keygen -lf` prints it; or `openpgp:` and an OpenPGP
/// fingerprint of 40 hex digits (a v4 key, primary or subkey), any case, returned in
/// uppercase as GnuPG prints it.
pub(crate) fn fingerprint(text: &str) -> Option<String> {
    if let Some(b64) = text.strip_prefix("SHA256:") {
        let valid = b64.len() == 43
            && b64
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
        return valid.then(|| text.to_string());
    }
    let hex = text.strip_prefix(openpgp::PREFIX)?;
    (hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("{}{}", openpgp::PREFIX, hex.to_ascii_uppercase()))
}

/// Checks a `[trust] baseline` commit id: 40 (SHA-1) or 64 (SHA-256) hex digits.
pub(crate) fn valid_commit_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}
