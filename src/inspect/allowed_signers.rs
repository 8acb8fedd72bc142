//! `keys allowed-signers`: the policy's active keys in the allowed_signers format of
//! ssh-keygen(1) ("ALLOWED SIGNERS"), for `gpg.ssh.allowedSignersFile` on clients.

use time::OffsetDateTime;
use time::macros::format_description;

use super::{KeyStatus, key_status};
use crate::policy::{KeyMaterial, Policy};

/// One line per active key: `PRINCIPALS namespaces="git"[,valid-before="…Z"] TYPE BASE64`.
///
/// Principals are the user id and its `names`, comma-separated; a name that allowed_signers
/// would read as a pattern or could not hold unquoted (whitespace, `,`, `"`, `*`, `?`, `!`)
/// is left out. Revoked keys and keys expired at `now` are left out; a key that expires
/// later gets `valid-before` in UTC (`YYYYMMDDHHMMSSZ`; the `Z` makes OpenSSH read it as UTC, not local time).
/// Note that git checks `valid-before` against the commit's own (forgeable) date, while
/// refguard judges expiry at push time.
///
/// `touch_required` is not written: allowed_signers has no option for it (ssh-keygen(1)
/// knows only `cert-authority`, `namespaces`, `valid-after` and `valid-before`, and refuses
/// a line carrying OpenSSH's authorized_keys option `no-touch-required` as an "unknown key
/// option", so the key would verify nothing for git). `ssh-keygen -Y verify` ignores the
/// FIDO user-presence flag anyway, so git accepts a signature made without a touch that
/// refguard rejects unless the key has `touch_required = false`.
pub fn allowed_signers(policy: &Policy, now: OffsetDateTime) -> Vec<String> {
    let mut out = Vec::new();
    for user in policy.users.values() {
        let mut principals: Vec<&str> = Vec::new();
        for name in std::iter::once(&user.id).chain(&user.names) {
            if plain_principal(name) && !principals.contains(&name.as_str()) {
                principals.push(name);
            }
        }
        if principals.is_empty() {
            continue;
        }
        let principals = principals.join(",");
        for key in &user.keys {
            // allowed_signers lists SSH keys; OpenPGP certificates go to `keys export
            // --openpgp`.
            let KeyMaterial::Ssh(ssh) = &key.material else {
                continue;
            };
            if key_status(policy, key, now) != KeyStatus::Active {
                continue;
            }
            let mut options = String::from("namespaces=\"git\"");
            // An instant that cannot be formatted (a year past 9999) is as good as never.
            if let Some(Ok(stamp)) = key.expires.map(|e| {
                e.to_offset(time::UtcOffset::UTC)
                    .format(format_description!(
                        "[year][month][day][hour][minute][second]Z"
                    ))
            }) {
                options.push_str(&format!(",valid-before=\"{stamp}\""));
            }
            let mut bare = ssh.clone();
            bare.set_comment("");
            let Ok(openssh) = bare.to_openssh() else {
                continue;
            };
            out.push(format!("{principals} {options} {}", openssh.trim_end()));
        }
    }
    out
}

/// Whether `name` can be written as an allowed_signers principal without quoting and
/// without being read as a pattern.
pub(super) fn plain_principal(name: &str) -> bool {
    !name.is_empty()
        && !name.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, ',' | '"' | '*' | '?' | '!' | '#')
        })
}
