//! Table-driven tests for roles.toml parsing and lint: one case per diagnostic, plus
//! expansion, defaults, glob semantics, dates, key types and the fixture files.

use std::collections::BTreeSet;

use time::macros::datetime;

use super::{
    CODES, Diagnostic, Effective, ListKind, Policy, Rule, Severity, lint, lint_at, parse, parse_at,
};

// Public keys generated with `ssh-keygen -t ... -N ''` for these tests (private halves discarded).
const ALICE: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPJCzm3a4SPSbwM1+3y9hjaM1aKuEucKP1XkwfH+NEge alice@laptop";
const ALICE_FP: &str = "SHA256:ty68mBm4EwEX4VYjkBkdZPFrD+BeIilXQzVAiX939Mw";
const BOB: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH+zZFUZR3HRek23y3Pr8hLXcTuQ8UKW5CmRNI5Dau28";
const CAROL: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICm7dhmDrf/6PtORI1LnvjMeHtRXgDjuAk1TUgeHqL6A";
const P256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBF0RwhtXldNnbqKpaXVqZnVGrSGFXelDbEb1KMzkr639QLpq4FB1m/il9MjR4xbOkuAIe8xRGcyEHNUj/P7F7F0=";
const P384: &str = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBDAT4AuluBvdbEKWWbPZqcWvMZr23rsWgXwtbiBD2GKgdfN/IPLhIQOUedfDFsHrxO06Qd2JIfBcDKNH3m1nAKxJ7+mn0Px8/eM6yrmEa/w4tgNv7tLtUgOpD0lC2so/tQ==";
const P521: &str = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAGD091mHtqIe3PZOV98qCAbehyw+4a+O4Vd5qee7ecl8ttYI2sao11S82AT5+U8s7kXrGuFY30xh0j0twarT9DDfwHJDiFWz/D8R6J2S0nHckGdYM5mYyhHB22xa3uD4qyoEx0BoJaSTI/nv9ljwYjXNmH/sXjX4Ho6DI8iDf7O32xsEQ==";
const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQC/+n4vqPYtdxwLhHMNUWXLXp6n6dPRZSD366UeZ9HBktft7rozpYkykXpJM4q5c866hGyhajlaQQrvWbgHrwebU4IXmXgaWIObHJwH35ta147A8KhhEYZPgpm7LENZ3QMLFwRo8zoK4HoK9AJuNJZ/XmgrrjhCZItErgVJGywMemg7EYqfLkM8L7GxtoVogHzkN8SlzDIcbnSXIVTztexxIyzfVAWLr33boMr7ZkE8/n3vddS8LDyStRwQT5QY9F6kZY4pdpkT9E3XXd8n2rbi72cOQDEmsHrl6b3k93OiS8Vp9BsIuu8PejHjqAFsCsAvVNDB9WQEMUHr73pJFXXtGrciDc2/nFAGecjZvjy0DdoerjDtkM3dNXDbraa8em0+WCajuGwD4xnVoUAu66ux62CGJdWx/sy/fxhMKDsYZ3yV2lcpRr61K2MI1gI+ZODm3p/B4P0H06OgZAaz8oOb5mEcOsJ73nDqHJEX25+jbT96n0PA9XUFuDjcNTK4qLE=";
const DSA: &str = "ssh-dss AAAAB3NzaC1kc3MAAACBAPGtK0fL3L6WcthW6nlC1YKtG/33fURVxaqb+Lpx0TcBDX3Y5oo2BWcvR96OUwLbeLSippnOeesuAoIKjxwHoWnkMxSe/0jej5g2GBwpzQUaT8r9eAxlsJfCV5N4IAuHPvO3mzJr3a1ZziHHWHTYfcwUehV3TovYJkpklHDgC57xAAAAFQCq41yoBy0XiCdrA8ezVQVm+SJ+XQAAAIBjo4ECB0NfYKx/qeH4/FXH+OVL/Dp9+pd1siTkTB2MATaN5uBA3fYeRwwagpjf15u0qJmv5IqnJSuainAu9GvQjd6ovr8DekRnRWyAzl9bTV700NlLwLfCRVKUKIH7A1W9aUk4iEs7GHeDWFkon+ZEAG3Fq5fGW9XG4cG1An5ScgAAAIEAsSxjmHuOH7btJadKbJDjlnhYcK82esGNPavlsmOYmeFgD06+rXlaehxWhJxlA+vNgnSi+gn0RXDz5JdaGkZFumFaWMaVWRobmVHQFWUClQw02lt+iJAoiLm/Vu1jkk8BZ3b4L9nfKVGmwbe/yTBBI1qWVrOYeD0Fc6CyVdPsfGg=";
// Hand-built FIDO keys (no token needed to build a public key); `ssh-keygen -lf` accepts both.
const SK_ED25519: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAICm7dhmDrf/6PtORI1LnvjMeHtRXgDjuAk1TUgeHqL6AAAAABHNzaDo=";
const SK_ECDSA: &str = "sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBF0RwhtXldNnbqKpaXVqZnVGrSGFXelDbEb1KMzkr639QLpq4FB1m/il9MjR4xbOkuAIe8xRGcyEHNUj/P7F7F0AAAAEc3NoOg==";

/// Expands `{A}`, `{B}`, `{C}` to the test keys, so cases stay readable.
fn doc(text: &str) -> String {
    text.replace("{A}", ALICE)
        .replace("{B}", BOB)
        .replace("{C}", CAROL)
        .replace("{FP}", ALICE_FP)
        .replace("{SK}", SK_ED25519)
}

/// A valid policy with users alice, bob, carol, roles devs = [bob, carol] and one admin.
fn base(rest: &str) -> String {
    doc(&format!(
        "version = 1\n\
         [users.alice]\nkeys = [\"{{A}}\"]\n\
         [users.bob]\nkeys = [\"{{B}}\"]\n\
         [users.carol]\nkeys = [\"{{C}}\"]\n\
         [roles]\ndevs = [\"bob\", \"carol\"]\n\
         [policy]\nadmins = [\"alice\"]\n\
         {rest}"
    ))
}
/// The first line of `rest` in a [`base`] document.
const BASE_LINES: usize = 12;

fn ok(text: &str) -> Policy {
    match parse(text) {
        Ok(p) => p,
        Err(e) => panic!("expected a valid policy, got {e:#?}"),
    }
}

/// Whether `user` may do `kind` under `rule` (absent lists as the table says), judged now.
fn allows(p: &Policy, rule: &Rule, kind: ListKind, user: Option<&str>) -> bool {
    match rule.effective(kind) {
        Effective::Listed { list, .. } => p.member(list, user, LINT_NOW),
        Effective::Absent(absent) => absent == super::Absent::Anyone,
    }
}

fn render(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| format!("{} [{}]", d.render("roles.toml"), d.code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One expected diagnostic: where, which code, and a substring of the message.
struct Case {
    text: String,
    line: usize,
    col: usize,
    code: &'static str,
    message: &'static str,
    /// Files beside roles.toml (OpenPGP certificates), by path.
    files: Vec<(&'static str, Vec<u8>)>,
}

impl Case {
    /// The case with `path` beside roles.toml holding `bytes`.
    fn with_file(mut self, path: &'static str, bytes: &[u8]) -> Case {
        self.files.push((path, bytes.to_vec()));
        self
    }

    /// The case's files, as [`super::Files`] reads them.
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        self.files
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, bytes)| bytes.clone())
            .ok_or_else(|| "no such file".to_string())
    }
}

fn case(text: &str, line: usize, col: usize, code: &'static str, message: &'static str) -> Case {
    Case {
        text: doc(text),
        line,
        col,
        code,
        message,
        files: Vec::new(),
    }
}

fn base_case(rest: &str, line: usize, col: usize, code: &'static str, msg: &'static str) -> Case {
    Case {
        text: base(rest),
        line: BASE_LINES + line - 1,
        col,
        code,
        message: msg,
        files: Vec::new(),
    }
}

/// A certificate made by gpg for these tests (see `openpgp::testcerts`).
fn pgp(
    which: fn(&crate::openpgp::testcerts::Certs) -> &crate::openpgp::testcerts::TestCert,
) -> Vec<u8> {
    which(crate::openpgp::testcerts::certs()).public.clone()
}

fn error_cases() -> Vec<Case> {
    vec![
        case(
            "version = 1\nversion = 1\n",
            2,
            1,
            "toml-syntax",
            "invalid TOML: duplicate key",
        ),
        case(
            "version = 1\nx = [1,\n",
            2,
            8,
            "toml-syntax",
            "invalid TOML",
        ),
        case(
            "[policy]\nadmins = []\n",
            1,
            1,
            "missing-version",
            "missing `version = 1`",
        ),
        case(
            "version = 2\n",
            1,
            11,
            "unsupported-version",
            "unsupported version 2",
        ),
        case(
            "version = \"1\"\n",
            1,
            11,
            "wrong-type",
            "`version` must be the integer 1, not a string",
        ),
        case(
            "version = 1\nrules = []\n",
            2,
            1,
            "unknown-field",
            "unknown field `rules` in the top level; did you mean `rule`?",
        ),
        case(
            "version = 1\nzzz = 1\n",
            2,
            1,
            "unknown-field",
            "expected one of: version, users",
        ),
        case(
            "version = 1\n[users.a]\nkey = []\n",
            3,
            1,
            "unknown-field",
            "unknown field `key` in [users.a]; did you mean `keys`?",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ key = \"{A}\", expire = 2030-01-01 }]\n",
            3,
            114,
            "unknown-field",
            "unknown field `expire` in a key table; did you mean `expires`?",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ key = \"{SK}\", touch = false }]\n",
            3,
            148,
            "unknown-field",
            "unknown field `touch` in a key table; did you mean `touch_required`?",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ key = \"{SK}\", touch_required = \"no\" }]\n",
            3,
            165,
            "wrong-type",
            "`touch_required` must be true or false, not a string",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\nforce-push = []\n",
            3,
            1,
            "unknown-field",
            "unknown field `force-push` in [[rule]]; did you mean `force_push`?",
        ),
        base_case(
            "[trust]\nbaselines = []\n",
            2,
            1,
            "unknown-field",
            "did you mean `baseline`?",
        ),
        base_case(
            "[[revoked]]\nkey = \"{FP}\"\nreasons = \"x\"\n",
            3,
            1,
            "unknown-field",
            "did you mean `reason`?",
        ),
        case(
            "version = 1\n[users.\"a b\"]\n",
            2,
            8,
            "invalid-id",
            "user id `a b`: must not contain whitespace",
        ),
        case(
            "version = 1\n[users.\"*\"]\n",
            2,
            8,
            "invalid-id",
            "`*` is reserved",
        ),
        case(
            "version = 1\n[roles]\n\"\" = []\n",
            3,
            1,
            "invalid-id",
            "role id ``: must not be empty",
        ),
        case(
            "version = 1\n[users.a]\n[roles]\na = []\n",
            4,
            1,
            "duplicate-id",
            "role `a` has the same id as user `a` (line 2)",
        ),
        case(
            "version = 1\nusers = 3\n",
            2,
            9,
            "wrong-type",
            "`users` must be a table, not an integer",
        ),
        case(
            "version = 1\n[users]\na = \"x\"\n",
            3,
            5,
            "wrong-type",
            "user `a` must be a table, not a string",
        ),
        case(
            "version = 1\n[users.a]\nkeys = \"{A}\"\n",
            3,
            8,
            "wrong-type",
            "`keys` must be a list of public keys, not a string; write [\"",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [1]\n",
            3,
            9,
            "wrong-type",
            "each entry of `keys` must be a public key line or a table",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [\"ssh-ed25519 AAAAC3Nz!!\"]\n",
            3,
            9,
            "invalid-key",
            "invalid `ssh-ed25519` public key",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [\"\"]\n",
            3,
            9,
            "invalid-key",
            "empty public key",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [\"-----BEGIN OPENSSH PRIVATE KEY-----\"]\n",
            3,
            9,
            "invalid-key",
            "never a private key",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [\"restrict {A}\"]\n",
            3,
            9,
            "invalid-key",
            "authorized_keys options are not allowed",
        ),
        case(
            &format!("version = 1\n[users.a]\nkeys = [\"{DSA}\"]\n"),
            3,
            9,
            "unsupported-key-type",
            "DSA keys (`ssh-dss`) are not supported: use ssh-ed25519",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [\"ssh-ed25519-cert-v01@openssh.com AAAA\"]\n",
            3,
            9,
            "unsupported-key-type",
            "SSH certificates",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [\"ssh-foo AAAA\"]\n",
            3,
            9,
            "unsupported-key-type",
            "unsupported key type `ssh-foo`",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [\"{A}\", \"{A}\"]\n",
            3,
            106,
            "duplicate-key",
            "is listed twice for user `a` (first at line 3)",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [\"{A}\"]\n[users.b]\nkeys = [{ key = \"{A}\" }]\n",
            5,
            17,
            "duplicate-key",
            "already listed for user `a` (line 3); a key belongs to one user",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ key = \"{B}\", expires = \"2027-13-01\" }]\n",
            3,
            111,
            "invalid-expiry",
            "invalid expiry `2027-13-01`",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ key = \"{B}\", expires = \"2027-06-30 12:00\" }]\n",
            3,
            111,
            "invalid-expiry",
            "RFC 3339",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ key = \"{B}\", expires = 2027-06-30T12:00:00 }]\n",
            3,
            111,
            "invalid-expiry",
            "has no time zone",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ key = \"{B}\", expires = 12:00:00 }]\n",
            3,
            111,
            "invalid-expiry",
            "invalid expiry `12:00:00`",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ key = \"{B}\", expires = 2027 }]\n",
            3,
            111,
            "wrong-type",
            "`expires` must be a date",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ expires = \"2027-01-01\" }]\n",
            3,
            9,
            "missing-field",
            "key table has no `key`",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ key = 5 }]\n",
            3,
            17,
            "wrong-type",
            "`key` must be a public key line",
        ),
        case(
            "version = 1\n[users.a]\nnames = [\"\"]\n",
            3,
            10,
            "invalid-name",
            "empty pusher name",
        ),
        case(
            "version = 1\n[users.a]\nnames = \"a\"\n",
            3,
            9,
            "wrong-type",
            "`names` must be a list of pusher names, not a string; write [\"a\"]",
        ),
        case(
            "version = 1\n[users.alice]\n[users.bob]\nnames = [\"bob\", \"alice\"]\n",
            4,
            17,
            "duplicate-name",
            "pusher name `alice` already means user `alice` (defined at line 2)",
        ),
        case(
            "version = 1\n[users.bob]\nnames = [\"alice\"]\n[users.alice]\n",
            4,
            8,
            "duplicate-name",
            "pusher name `alice` already means user `bob` (defined at line 2)",
        ),
        case(
            "version = 1\n[users.alice]\n[roles]\nr = [\"alcie\"]\n",
            4,
            6,
            "unknown-principal",
            "unknown user or role `alcie`; did you mean `alice`?",
        ),
        case(
            "version = 1\n[roles]\nr = \"x\"\n",
            3,
            5,
            "wrong-type",
            "role `r` must be a list of user or role names, not a string",
        ),
        case(
            "version = 1\n[roles]\na = [\"b\"]\nb = [\"a\"]\n",
            4,
            6,
            "role-cycle",
            "role cycle: a -> b -> a",
        ),
        case(
            "version = 1\n[roles]\na = [\"a\"]\n",
            3,
            6,
            "role-cycle",
            "role cycle: a -> a",
        ),
        case(
            "version = 1\n[roles]\na = [\"b\"]\nb = [\"c\"]\nc = [\"b\"]\n",
            5,
            6,
            "role-cycle",
            "role cycle: b -> c -> b",
        ),
        base_case(
            "approvals = 0\n",
            1,
            13,
            "invalid-approvals",
            "`approvals` must be at least 1, not 0",
        ),
        base_case(
            "approvals = \"2\"\n",
            1,
            13,
            "wrong-type",
            "`approvals` must be an integer, not a string",
        ),
        base_case(
            "approvals = 2\n",
            1,
            13,
            "approvals-unreachable",
            "approvals = 2 but `admins` has only 1 distinct user: the policy branch could never change again",
        ),
        case(
            "version = 1\n[users.a]\n[policy]\nadmins = [\"a\"]\n",
            4,
            10,
            "approvals-unreachable",
            "approvals = 1 but only 0 admins (none) hold a key that is not revoked",
        ),
        case(
            &format!(
                "version = 1\n[users.a]\nkeys = [\"{ALICE}\"]\n[[revoked]]\nkey = \"{ALICE_FP}\"\n[policy]\nadmins = [\"a\"]\n"
            ),
            7,
            10,
            "approvals-unreachable",
            "hold a key that is not revoked",
        ),
        case(
            "version = 1\n[users.alice]\n[roles]\ndevs = []\n[policy]\nadmins = [\"alice\", \"devz\"]\n",
            6,
            20,
            "unknown-principal",
            "unknown user or role `devz`; did you mean `devs`?",
        ),
        base_case(
            "[trust]\nbaseline = [\"9fceb02\", \"9FCEB02D0AE598E95DC970B74767F19372D61AF8\"]\n",
            2,
            13,
            "invalid-commit-id",
            "`9fceb02` is not a full commit id (40 or 64 hex digits)",
        ),
        base_case(
            "[trust]\nbaseline = \"x\"\n",
            2,
            12,
            "wrong-type",
            "`baseline` must be a list of commit ids",
        ),
        base_case(
            "[[revoked]]\nkey = \"SHA256:abc\"\n",
            2,
            7,
            "invalid-fingerprint",
            "`SHA256:abc` is not a key fingerprint",
        ),
        base_case(
            "[[revoked]]\nkey = \"MD5:aa:bb\"\n",
            2,
            7,
            "invalid-fingerprint",
            "expected `SHA256:` and 43 base64 characters",
        ),
        base_case(
            "[[revoked]]\nreason = \"lost\"\n",
            1,
            1,
            "missing-field",
            "[[revoked]] has no `key`",
        ),
        base_case(
            "[[revoked]]\nkey = \"openpgp:ABCD\"\n",
            2,
            7,
            "invalid-fingerprint",
            "or `openpgp:` and the 40 hex digits of an OpenPGP key",
        ),
        base_case(
            "[users.pgp]\nkeys = [{ openpgp = \"../keys/p.asc\" }]\n",
            2,
            21,
            "invalid-path",
            "`../keys/p.asc`: a path must stay inside the policy tree",
        ),
        base_case(
            "[users.pgp]\nkeys = [{ openpgp = \"/etc/p.asc\" }]\n",
            2,
            21,
            "invalid-path",
            "an absolute path",
        ),
        base_case(
            "[users.pgp]\nkeys = [{ openpgp = \"keys/p.asc\" }]\n",
            2,
            21,
            "missing-file",
            "cannot read OpenPGP certificate `keys/p.asc` (no such file)",
        ),
        base_case(
            "[users.pgp]\nkeys = [{ openpgp = \"keys/p.asc\" }]\n",
            2,
            21,
            "invalid-certificate",
            "OpenPGP certificate `keys/p.asc` is not an OpenPGP certificate",
        )
        .with_file("keys/p.asc", b"ssh-ed25519 AAAA not a certificate"),
        base_case(
            "[users.pgp]\nkeys = [{ openpgp = \"keys/p.asc\", key = \"{A}\" }]\n",
            2,
            21,
            "unknown-field",
            "either `key` (an OpenSSH public key) or `openpgp`",
        ),
        base_case(
            "[revoked]\nkey = \"x\"\n",
            1,
            1,
            "wrong-type",
            "`revoked` must be a list of tables (write `[[revoked]]`), not a table",
        ),
        base_case(
            "[[rule]]\npush = []\n",
            1,
            1,
            "missing-field",
            "rule has no `refs`",
        ),
        base_case(
            "\n[[rule]]\nrefs = []\n",
            3,
            8,
            "empty-refs",
            "`refs` is empty",
        ),
        base_case(
            "[[rule]]\nrefs = \"refs/heads/main\"\n",
            2,
            8,
            "wrong-type",
            "`refs` must be a list of ref patterns, not a string; write [\"refs/heads/main\"]",
        ),
        base_case(
            "[[rule]]\nrefs = [\"heads/main\"]\n",
            2,
            9,
            "invalid-pattern",
            "pattern `heads/main` must start with `refs/`",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/[a\"]\n",
            2,
            9,
            "invalid-pattern",
            "invalid pattern `refs/heads/[a`: unclosed character class",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"bobb\"]\n",
            3,
            9,
            "unknown-principal",
            "unknown user or role `bobb`; did you mean `bob`?",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\nsigners = \"devs\"\n",
            3,
            11,
            "wrong-type",
            "`signers` must be a list of user or role names, not a string; write [\"devs\"]",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\nmerge = [1]\n",
            3,
            10,
            "wrong-type",
            "each entry of `merge` must be a string, not an integer",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\nlinear = \"yes\"\n",
            3,
            10,
            "wrong-type",
            "`linear` must be true or false, not a string",
        ),
        base_case(
            "[rule]\nrefs = [\"refs/heads/main\"]\n",
            1,
            1,
            "wrong-type",
            "write `[[rule]]`",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\nsigned_push = 1\n",
            3,
            15,
            "wrong-type",
            "`signed_push` must be true or false, not an integer",
        ),
        base_case(
            "[settings]\nrequire_signed_push = \"yes\"\n",
            2,
            23,
            "wrong-type",
            "`require_signed_push` must be true or false, not a string",
        ),
        base_case(
            "[settings]\nrequire_signed_pushes = true\n",
            2,
            1,
            "unknown-field",
            "unknown field `require_signed_pushes` in [settings]; did you mean `require_signed_push`?",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\napprovals = { count = 2 }\n",
            3,
            13,
            "missing-field",
            "`approvals` has no `by`",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\napprovals = { by = [\"devs\"], count = 0 }\n",
            3,
            38,
            "invalid-approvals",
            "`approvals.count` must be at least 1, not 0",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\napprovals = { by = [\"devs\"], on = [\"pushes\"] }\n",
            3,
            36,
            "invalid-approval-kind",
            "`pushes` is not a kind of update approvals can be needed on",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\napprovals = { by = [\"devz\"] }\n",
            3,
            21,
            "unknown-principal",
            "unknown user or role `devz`; did you mean `devs`?",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\napprovals = { by = [\"devs\"], self = true }\n",
            3,
            30,
            "unknown-field",
            "unknown field `self` in `approvals`",
        ),
        base_case(
            "[[path]]\nsigners = [\"devs\"]\n",
            1,
            1,
            "missing-field",
            "[[path]] has no `paths`",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\nmode = \"shadow\"\n",
            3,
            8,
            "invalid-mode",
            "`mode` is \"enforce\" (the default) or \"evaluate\", not \"shadow\"",
        ),
        base_case(
            "[[path]]\npaths = []\nsigners = [\"devs\"]\n",
            2,
            9,
            "empty-paths",
            "`paths` is empty",
        ),
        base_case(
            "[[path]]\npaths = [\"/secrets/**\"]\nsigners = [\"devs\"]\n",
            2,
            10,
            "invalid-path-pattern",
            "starts with `/`: paths are relative to the root of the tree; write `secrets/**`",
        ),
        base_case(
            "[[path]]\npaths = [\"secrets/[\"]\nsigners = [\"devs\"]\n",
            2,
            10,
            "invalid-path-pattern",
            "invalid path pattern `secrets/[`",
        ),
        base_case(
            "[[path]]\npaths = [\"x\"]\nrefs = [\"heads/*\"]\nsigners = [\"devs\"]\n",
            3,
            9,
            "invalid-pattern",
            "pattern `heads/*` must start with `refs/`",
        ),
        base_case(
            "[[path]]\npaths = [\"x\"]\nsigner = [\"devs\"]\n",
            3,
            1,
            "unknown-field",
            "unknown field `signer` in [[path]]; did you mean `signers`?",
        ),
        case(
            "version = 1\nsettings = true\n",
            2,
            12,
            "wrong-type",
            "`settings` must be a table, not a boolean",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ key = \"{A}\", expires = \"2025-12-01\" }]\n\
             [users.b]\nkeys = [\"{C}\"]\n[policy]\nadmins = [\"a\", \"b\"]\napprovals = 2\n",
            8,
            13,
            "approvals-unreachable",
            "approvals = 2 but only 1 admin (b) holds a key that is usable at 2026-01-01T00:00:00Z",
        ),
        // [[grant]] (spec §8); LINT_NOW is 2026-01-01T00:00:00Z.
        base_case(
            "[[grant]]\nrole = \"devs\"\nuntil = \"2026-01-02\"\nreason = \"INC-1\"\n",
            1,
            1,
            "missing-field",
            "[[grant]] has no `user`: write user = \"bob\"",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nuntil = \"2026-01-02\"\nreason = \"INC-1\"\n",
            1,
            1,
            "missing-field",
            "[[grant]] has no `role`",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nrole = \"devs\"\nreason = \"INC-1\"\n",
            1,
            1,
            "missing-field",
            "[[grant]] has no `until`: every grant ends by itself",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nrole = \"devs\"\nuntil = \"2026-01-02\"\n",
            1,
            1,
            "missing-field",
            "[[grant]] has no `reason`: say why the access is needed",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nrole = \"devs\"\nuntil = \"2026-01-02\"\nreason = \" \"\n",
            5,
            10,
            "missing-field",
            "[[grant]] has an empty `reason`",
        ),
        base_case(
            "[[grant]]\nuser = \"bobb\"\nrole = \"devs\"\nuntil = \"2026-01-02\"\nreason = \"INC-1\"\n",
            2,
            8,
            "unknown-principal",
            "unknown user or role `bobb`; did you mean `bob`?",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nrole = \"dev\"\nuntil = \"2026-01-02\"\nreason = \"INC-1\"\n",
            3,
            8,
            "unknown-principal",
            "unknown user or role `dev`; did you mean `devs`?",
        ),
        base_case(
            "[[grant]]\nuser = \"devs\"\nrole = \"devs\"\nuntil = \"2026-01-02\"\nreason = \"INC-1\"\n",
            2,
            8,
            "invalid-grant",
            "`devs` is a role, not a user",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nrole = \"carol\"\nuntil = \"2026-01-02\"\nreason = \"INC-1\"\n",
            3,
            8,
            "invalid-grant",
            "`carol` is a user, not a role of [roles]",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nrole = \"*\"\nuntil = \"2026-01-02\"\nreason = \"INC-1\"\n",
            3,
            8,
            "invalid-grant",
            "`*` is not a role",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nrole = \"devs\"\nfrom = \"2026-01-05\"\n\
             until = 2026-01-05T00:00:00Z\nreason = \"INC-1\"\n",
            5,
            9,
            "invalid-grant",
            "the grant ends (until = 2026-01-05T00:00:00Z) before it starts (from = 2026-01-05T00:00:00Z)",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nrole = \"devs\"\nfrom = \"2026-01-01\"\n\
             until = \"2026-01-08T00:01:00Z\"\nreason = \"INC-1\"\n",
            5,
            9,
            "grant-too-long",
            "the grant lasts 7d 1m (from 2026-01-01T00:00:00Z until 2026-01-08T00:01:00Z), longer than [settings] max_grant = 7d",
        ),
        base_case(
            "[settings]\nmax_grant = \"12h\"\n[[grant]]\nuser = \"alice\"\nrole = \"devs\"\n\
             from = 2026-03-01T08:00:00+01:00\nuntil = \"2026-03-01T21:00:00+01:00\"\nreason = \"INC-1\"\n",
            7,
            9,
            "grant-too-long",
            "lasts 13h (from 2026-03-01T07:00:00Z until 2026-03-01T20:00:00Z), longer than [settings] max_grant = 12h",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nrole = \"devs\"\nuntil = \"2026-01-09\"\nreason = \"INC-1\"\n",
            4,
            9,
            "grant-too-long",
            "alice's grant of devs has no `from`, so it starts when the policy lands; until 2026-01-09T00:00:00Z is 8d from 2026-01-01T00:00:00Z, longer than [settings] max_grant = 7d",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nrole = \"devs\"\nfrom = \"tomorrow\"\n\
             until = \"2026-01-02\"\nreason = \"INC-1\"\n",
            4,
            8,
            "invalid-time",
            "invalid `from` `tomorrow`",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nrole = \"devs\"\nuntil = 2026-01-02T00:00:00\nreason = \"INC-1\"\n",
            4,
            9,
            "invalid-time",
            "`until` `2026-01-02T00:00:00` has no time zone",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nrole = \"devs\"\nuntil = 5\nreason = \"INC-1\"\n",
            4,
            9,
            "wrong-type",
            "`until` must be a date \"YYYY-MM-DD\" or an RFC 3339 date-time, not an integer",
        ),
        base_case(
            "[[grant]]\nuser = [\"alice\"]\nrole = \"devs\"\nuntil = \"2026-01-02\"\nreason = \"INC-1\"\n",
            2,
            8,
            "wrong-type",
            "`user` must be one user id (a string), not a list",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nroles = \"devs\"\nuntil = \"2026-01-02\"\nreason = \"INC-1\"\n",
            3,
            1,
            "unknown-field",
            "unknown field `roles` in [[grant]]; did you mean `role`?",
        ),
        base_case(
            "[grant]\nuser = \"alice\"\n",
            1,
            1,
            "wrong-type",
            "`grant` must be a list of tables (write `[[grant]]`), not a table",
        ),
        base_case(
            "[settings]\nmax_grant = \"7 days\"\n",
            2,
            13,
            "invalid-duration",
            "invalid duration `7 days`: no spaces between a number and its unit",
        ),
        base_case(
            "[settings]\nmax_grant = \"0h\"\n",
            2,
            13,
            "invalid-duration",
            "invalid duration `0h`: it must be longer than zero",
        ),
        base_case(
            "[settings]\nmax_grant = 7\n",
            2,
            13,
            "wrong-type",
            "`max_grant` must be a duration string such as \"7d\" or \"12h\", not an integer",
        ),
        // Grants never count toward the admin quorum (spec §2, §8): bob's active grant of
        // `admins` does not make approvals = 2 reachable.
        case(
            "version = 1\n[users.alice]\nkeys = [\"{A}\"]\n[users.bob]\nkeys = [\"{B}\"]\n\
             [roles]\nadmins = [\"alice\"]\n[policy]\nadmins = [\"admins\"]\napprovals = 2\n\
             [[grant]]\nuser = \"bob\"\nrole = \"admins\"\nuntil = \"2026-01-02\"\nreason = \"INC-1\"\n",
            10,
            13,
            "approvals-unreachable",
            "approvals = 2 but `admins` has only 1 distinct user",
        ),
        // ... nor at the time of the push: bob's key has expired, carol's grant is active.
        case(
            "version = 1\n[users.alice]\nkeys = [\"{A}\"]\n\
             [users.bob]\nkeys = [{ key = \"{B}\", expires = \"2025-06-01\" }]\n\
             [users.carol]\nkeys = [\"{C}\"]\n[roles]\nadmins = [\"alice\", \"bob\"]\n\
             [policy]\nadmins = [\"admins\"]\napprovals = 2\n\
             [[grant]]\nuser = \"carol\"\nrole = \"admins\"\nuntil = \"2026-01-02\"\nreason = \"INC-1\"\n",
            12,
            13,
            "approvals-unreachable",
            "approvals = 2 but only 1 admin (alice) holds a key that is usable at 2026-01-01T00:00:00Z",
        ),
    ]
}

fn warning_cases() -> Vec<Case> {
    let alice_fpr = crate::openpgp::testcerts::certs().alice.fingerprints[0].clone();
    let revoked = format!(
        "[users.pgp]\nkeys = [{{ openpgp = \"keys/alice.asc\" }}]\n[[revoked]]\nkey = \"openpgp:{}\"\n",
        alice_fpr.to_lowercase()
    );
    vec![
        base_case(
            "[users.pgp]\nkeys = [{ openpgp = \"keys/grace.asc\" }]\n",
            2,
            21,
            "refused-openpgp-key",
            "signatures by these signing keys will be refused",
        )
        .with_file("keys/grace.asc", &pgp(|c| &c.grace)),
        base_case(
            "[users.pgp]\nkeys = [{ openpgp = \"keys/erin.asc\" }]\n",
            2,
            21,
            "expired-certificate",
            "user pgp's OpenPGP certificate openpgp:",
        )
        .with_file("keys/erin.asc", &pgp(|c| &c.erin)),
        base_case(
            &revoked,
            2,
            21,
            "revoked-certificate",
            "is revoked (no key of it can sign",
        )
        .with_file("keys/alice.asc", &pgp(|c| &c.alice)),
        base_case(
            "[settings]\nrequire_signed_push = true\n[[rule]]\nrefs = [\"refs/heads/main\"]\nsigned_push = false\n",
            5,
            1,
            "ineffective-signed-push",
            "`signed_push` has no effect: [settings] require_signed_push already requires",
        ),
        case(
            "version = 1\n",
            1,
            1,
            "no-admins",
            "no `[policy] admins`: no push can ever change the policy branch",
        ),
        case(
            "version = 1\n[policy]\nadmins = []\n",
            3,
            10,
            "no-admins",
            "no `[policy] admins`",
        ),
        case(
            "version = 1\n[users.a]\nnames = [\"x\", \"x\"]\n",
            3,
            15,
            "repeated-name",
            "pusher name `x` is listed twice for user `a`",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\n[[rule]]\nrefs = [\"refs/heads/main\"]\n",
            3,
            1,
            "unreachable-rule",
            "this rule can never match: the rule at line 12 matches every ref",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/*\"]\n[[rule]]\nrefs = [\"refs/heads/main\"]\n",
            3,
            1,
            "unreachable-rule",
            "the rule at line 12",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/**\"]\n[[rule]]\nrefs = [\"refs/tags/v*\", \"refs/heads/**\"]\n",
            3,
            1,
            "unreachable-rule",
            "the rule at line 12",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/**\"]\n[[rule]]\nrefs = [\"refs/heads/release/*\"]\n",
            3,
            1,
            "unreachable-rule",
            "the rule at line 12",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/a\"]\n[[rule]]\nrefs = [\"refs/heads/b\"]\n[[rule]]\nrefs = [\"refs/heads/a\", \"refs/heads/b\"]\n",
            5,
            1,
            "unreachable-rule",
            "the rules at lines 12, 14 match every ref",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\n[[rule]]\nrefs = [\"refs/heads/*\", \"refs/heads/main\"]\n",
            4,
            25,
            "shadowed-pattern",
            "pattern `refs/heads/main` never takes effect here: the rule at line 12 matches it first",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ key = \"{A}\", touch_required = false }]\n",
            3,
            114,
            "ineffective-touch-required",
            "`touch_required` has no effect on a `ssh-ed25519` key: only FIDO keys",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/meta/*\"]\n",
            2,
            9,
            "rule-matches-policy-ref",
            "pattern `refs/meta/*` matches the policy branch refs/meta/policy",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\napprovals = { by = [\"devs\"], count = 3 }\n",
            3,
            13,
            "unreachable-approvals",
            "approvals need 3 distinct approvers but `by` has only 2 users",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/main\"]\napprovals = { by = [\"devs\"], on = [] }\n",
            3,
            13,
            "ineffective-approvals",
            "`approvals.on` is empty",
        ),
        base_case(
            "[[path]]\npaths = [\"secrets/**\"]\n",
            1,
            1,
            "ineffective-path",
            "neither `signers` nor `approvals`: it requires nothing",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/replace/*\"]\npush = [\"alice\"]\n",
            1,
            1,
            "writable-replace-refs",
            "this rule lets people write replace refs (push, create): git on the server shows",
        ),
        base_case(
            "[[rule]]\nrefs = [\"refs/heads/*\"]\ndelete = [\"devs\"]\n",
            1,
            1,
            "delete-recreate",
            "this rule lets bob, carol delete and re-create its refs but not force-push them",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ key = \"{A}\", expires = \"2026-01-15\" }, \"{B}\"]\n\
             [users.b]\nkeys = [\"{C}\"]\n[policy]\nadmins = [\"a\", \"b\"]\napprovals = 2\n",
            3,
            17,
            "admin-key-expiring",
            "expires at 2026-01-15T00:00:00Z, within 30 days; the quorum holds without it",
        ),
        case(
            "version = 1\n[users.a]\nkeys = [{ key = \"{A}\", expires = \"2026-01-15\" }]\n\
             [users.b]\nkeys = [\"{C}\"]\n[policy]\nadmins = [\"a\", \"b\"]\napprovals = 2\n",
            3,
            17,
            "admin-key-expiring",
            "only 1 admin (b) can sign by 2026-01-31T00:00:00Z and approvals = 2 can no longer",
        ),
        base_case(
            "[[grant]]\nuser = \"alice\"\nrole = \"devs\"\nfrom = \"2025-12-31\"\n\
             until = \"2025-12-31T18:00:00Z\"\nreason = \"INC-1\"\n",
            1,
            1,
            "grant-ended",
            "alice's grant of devs ended at 2025-12-31T18:00:00Z (6h ago): it grants nothing any more",
        ),
        case(
            "version = 1\n[users.alice]\nkeys = [\"{A}\"]\n[users.bob]\nkeys = [\"{B}\"]\n\
             [roles]\nadmins = [\"alice\"]\n[policy]\nadmins = [\"admins\"]\n\
             [[grant]]\nuser = \"bob\"\nrole = \"admins\"\nuntil = \"2026-01-02\"\nreason = \"INC-1\"\n",
            10,
            1,
            "admin-grant",
            "this grant makes bob a policy admin until 2026-01-02T00:00:00Z, and with approvals = 1",
        ),
        base_case(
            "[[grant]]\nuser = \"bob\"\nrole = \"devs\"\nuntil = \"2026-01-02\"\nreason = \"INC-1\"\n",
            1,
            1,
            "redundant-grant",
            "bob holds devs without this grant (through [roles]): the grant changes nothing",
        ),
    ]
}

/// The time the cases are linted at (what `policy lint` reads from the clock).
const LINT_NOW: time::OffsetDateTime = time::macros::datetime!(2026-01-01 00:00:00 UTC);

fn check_case(c: &Case, severity: Severity) -> Result<(), String> {
    let diags = lint_at(&c.text, &|p| c.read(p), LINT_NOW);
    let found = diags.iter().any(|d| {
        d.severity == severity
            && d.code == c.code
            && (d.location.line, d.location.col) == (c.line, c.col)
            && d.message.contains(c.message)
    });
    if !found {
        return Err(format!(
            "expected {}:{} [{}] {:?} in\n{}\n--- text ---\n{}",
            c.line,
            c.col,
            c.code,
            c.message,
            render(&diags),
            c.text
        ));
    }
    let parsed = parse_at(&c.text, &|p| c.read(p), LINT_NOW);
    match severity {
        Severity::Error => {
            let errors = parsed.expect_err("an invalid file must not parse");
            assert!(errors.iter().all(|d| d.severity == Severity::Error));
            assert!(
                errors.iter().any(|d| d.code == c.code),
                "{}",
                render(&errors)
            );
        }
        Severity::Warning => {
            if let Err(e) = parsed {
                return Err(format!("a warning must not fail parse: {}", render(&e)));
            }
        }
    }
    Ok(())
}

fn check_all(cases: &[Case], severity: Severity) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check_case(c, severity).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_error_kind_is_reported_with_location() {
    check_all(&error_cases(), Severity::Error);
}

#[test]
fn every_warning_kind_is_reported_by_lint_only() {
    check_all(&warning_cases(), Severity::Warning);
}

#[test]
fn a_rule_in_evaluate_mode_takes_no_part_in_first_match() {
    let text = base(
        "[[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"devs\"]\nmode = \"evaluate\"\n\
         [[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"devs\"]\n\
         [[path]]\npaths = [\"x/**\"]\nsigners = [\"devs\"]\nmode = \"evaluate\"\n",
    );
    // Not "this rule can never match" for the enforced rule below the shadow.
    assert!(lint(&text).is_empty(), "{}", render(&lint(&text)));
    let p = ok(&text);
    assert!(p.rules[0].evaluate && !p.rules[1].evaluate && p.paths[0].evaluate);
    let governing = p.rule_for("refs/heads/main").expect("a rule");
    assert_eq!(governing.index, 1);
    assert_eq!(p.shadows_for("refs/heads/main").len(), 1);
    assert!(p.shadows_for("refs/heads/other").is_empty());
}

#[test]
fn every_code_is_documented_and_tested() {
    let documented: BTreeSet<&str> = CODES.iter().map(|(c, _)| *c).collect();
    assert_eq!(documented.len(), CODES.len(), "codes must be unique");
    let mut tested: BTreeSet<&str> = error_cases()
        .iter()
        .chain(warning_cases().iter())
        .map(|c| c.code)
        .collect();
    // Only a file read under an organisation policy can have these: see `org_tests`.
    tested.extend(["org-name", "org-key"]);
    assert_eq!(documented, tested);
}

#[test]
fn collects_every_problem_not_just_the_first() {
    let text =
        "version = 2\nextra = 1\n[users.a]\nkeys = [\"ssh-foo x\"]\n[roles]\nr = [\"nobody\"]\n";
    let errors = parse(text).expect_err("invalid");
    let codes: Vec<&str> = errors.iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        [
            "unsupported-version",
            "unknown-field",
            "unsupported-key-type",
            "unknown-principal"
        ]
    );
    // Sorted by location.
    let locations: Vec<_> = errors.iter().map(|d| d.location).collect();
    let mut sorted = locations.clone();
    sorted.sort();
    assert_eq!(locations, sorted);
}

#[test]
fn fixture_good_full_parses_with_spec_semantics() {
    let text = include_str!("../../fixtures/roles/good-full.toml");
    let diags = lint(text);
    assert!(diags.is_empty(), "{}", render(&diags));
    let p = ok(text);

    assert_eq!(p.users.len(), 5);
    let alice = &p.users["alice"];
    assert_eq!(alice.names, ["alice", "alice@example.com"]);
    assert_eq!(alice.keys.len(), 2);
    assert_eq!(alice.keys[0].fingerprint, ALICE_FP);
    assert_eq!(alice.keys[0].algorithm, "ssh-ed25519");
    assert_eq!(alice.keys[0].expires, None);
    assert_eq!(alice.keys[0].location.line, 6);
    assert_eq!(alice.keys[1].expires, Some(datetime!(2027-06-30 0:00 UTC)));
    assert_eq!(
        p.users["carol"].keys[0].expires,
        Some(datetime!(2027-01-01 12:00 UTC))
    );
    assert_eq!(p.users["bob"].names, ["bob"], "names default to the id");

    assert_eq!(
        p.user_for_name("alice@example.com").map(|u| &*u.id),
        Some("alice")
    );
    assert_eq!(
        p.user_for_name("erin@example.com").map(|u| &*u.id),
        Some("erin")
    );
    assert!(p.user_for_name("carol@example.com").is_none());
    assert_eq!(p.name_index().len(), 7);

    assert_eq!(p.key_index().len(), 7);
    let id =
        crate::signature::KeyId::ssh(alice.keys[0].ssh().expect("an SSH key").key_data(), None)
            .expect("encodes");
    assert_eq!(id.blob, alice.keys[0].blob);
    let (owner, key) = p.key_owner(&id).expect("alice's key is indexed");
    assert_eq!(
        (owner.id.as_str(), key.fingerprint.as_str()),
        ("alice", ALICE_FP)
    );

    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        *p.role_members["developers"],
        set(&["alice", "bob", "carol"])
    );
    assert_eq!(p.roles["developers"], ["bob", "carol", "maintainers"]);
    assert_eq!(*p.admins.users, set(&["alice", "dave"]));
    assert_eq!(p.admins.written, ["policy-admins"]);
    assert_eq!(p.approvals, 2);
    assert_eq!(p.baseline, ["9fceb02d0ae598e95dc970b74767f19372d61af8"]);
    assert_eq!(p.revoked.len(), 1);
    assert_eq!(p.revoked[0].reason.as_deref(), Some("laptop stolen"));
    let bob_old = &p.users["bob"].keys[1].fingerprint;
    assert!(p.revocation(bob_old).is_some());

    assert_eq!(p.rules.len(), 2);
    let main = &p.rules[0];
    assert_eq!(
        (main.index, main.location.line, main.location.col),
        (0, 44, 1)
    );
    assert_eq!(main.location.to_string(), "roles.toml:44");
    assert!(allows(&p, main, ListKind::Push, Some("alice")));
    assert!(!allows(&p, main, ListKind::Push, Some("bob")));
    assert!(!allows(&p, main, ListKind::Delete, Some("alice")));
    assert_eq!(
        main.list(ListKind::Delete).map(|d| d.describe()),
        Some("nobody".into())
    );
    assert_eq!(main.list(ListKind::Signers).map(|s| s.users.len()), Some(3));
    assert!(!main.linear);
    let tags = &p.rules[1];
    assert!(tags.list(ListKind::Push).is_none());
    assert!(
        allows(&p, tags, ListKind::Push, None),
        "absent push: anyone"
    );
    assert!(allows(&p, tags, ListKind::Create, Some("erin")));
    assert!(!allows(&p, tags, ListKind::Create, Some("alice")));
    assert!(
        !allows(&p, tags, ListKind::ForcePush, Some("erin")),
        "absent force_push: nobody"
    );
    assert_eq!(p.rule_for("refs/tags/v1.0").map(|r| r.index), Some(1));
    assert_eq!(p.rule_for("refs/heads/release/2").map(|r| r.index), Some(0));
    assert!(p.rule_for("refs/heads/topic").is_none());
}

#[test]
fn create_defaults_to_push() {
    let p = ok(&base(
        "[[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"devs\"]\n\
         [[rule]]\nrefs = [\"refs/heads/x\"]\npush = [\"devs\"]\ncreate = [\"alice\"]\n",
    ));
    let r = &p.rules[0];
    assert!(r.list(ListKind::Create).is_none());
    assert_eq!(
        r.effective(ListKind::Create),
        Effective::Listed {
            list: r.list(ListKind::Push).expect("push"),
            via: ListKind::Push
        }
    );
    assert!(allows(&p, r, ListKind::Create, Some("bob")));
    assert!(!allows(&p, r, ListKind::Create, Some("alice")));
    assert!(!allows(&p, r, ListKind::Create, None));
    let r = &p.rules[1];
    assert!(allows(&p, r, ListKind::Create, Some("alice")));
    assert!(!allows(&p, r, ListKind::Create, Some("bob")));
}

#[test]
fn roles_expand_transitively_and_star_means_every_user() {
    let p = ok(&base(
        "[[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"top\"]\nsigners = [\"*\"]\n\
         merge = [\"everyone\", \"alice\"]\n",
    )
    .replace(
        "devs = [\"bob\", \"carol\"]",
        "devs = [\"bob\", \"carol\"]\nmid = [\"devs\"]\ntop = [\"mid\", \"alice\", \"devs\"]\n\
         everyone = [\"*\"]",
    ));
    let all: BTreeSet<String> = ["alice", "bob", "carol"].map(String::from).into();
    assert_eq!(*p.role_members["top"], all);
    assert_eq!(p.role_members["mid"].len(), 2);
    assert_eq!(*p.role_members["everyone"], all);
    let r = &p.rules[0];
    let push = r.list(ListKind::Push).expect("push");
    assert!(!push.any_user);
    assert_eq!(*push.users, all);
    assert_eq!(push.written, ["top"]);
    let signers = r.list(ListKind::Signers).expect("signers");
    assert!(signers.any_user && *signers.users == all);
    assert!(signers.contains(Some("bob")) && !signers.contains(None));
    let merge = r.list(ListKind::Merge).expect("merge");
    assert!(merge.any_user, "`*` through a role is still any user");
}

#[test]
fn long_role_chains_do_not_overflow() {
    let mut text = String::from("version = 1\n[users.u]\n[roles]\nr0 = [\"u\"]\n");
    for i in 1..5000 {
        text.push_str(&format!("r{i} = [\"r{}\"]\n", i - 1));
    }
    let p = ok(&text);
    assert_eq!(p.role_members["r4999"].len(), 1);
}

#[test]
fn globs_keep_star_within_one_component() {
    let p = ok(&base(
        "[[rule]]\nrefs = [\"refs/heads/*\"]\n[[rule]]\nrefs = [\"refs/tags/**\"]\n\
         [[rule]]\nrefs = [\"refs/notes/v?.[0-9]\"]\n",
    ));
    let [one, deep, class] = [&p.rules[0], &p.rules[1], &p.rules[2]];
    assert!(one.matches("refs/heads/a"));
    assert!(!one.matches("refs/heads/a/b"));
    assert!(!one.matches("refs/heads"));
    assert!(deep.matches("refs/tags/a"));
    assert!(deep.matches("refs/tags/a/b"));
    assert!(!deep.matches("refs/heads/a"));
    assert!(class.matches("refs/notes/v1.2"));
    assert!(!class.matches("refs/notes/v1.x"));
    // `refs/heads/**` matches both levels too.
    let p = ok(&base("[[rule]]\nrefs = [\"refs/heads/**\"]\n"));
    assert!(p.rules[0].matches("refs/heads/a"));
    assert!(p.rules[0].matches("refs/heads/a/b"));
}

#[test]
fn expiry_dates_and_date_times() {
    let cases = [
        ("\"2027-06-30\"", datetime!(2027-06-30 0:00 UTC)),
        ("2027-06-30", datetime!(2027-06-30 0:00 UTC)),
        ("\"2027-06-30T12:30:00Z\"", datetime!(2027-06-30 12:30 UTC)),
        (
            "\"2027-06-30T12:30:00+02:00\"",
            datetime!(2027-06-30 10:30 UTC),
        ),
        ("2027-06-30T12:30:00-01:00", datetime!(2027-06-30 13:30 UTC)),
        (
            "2027-06-30 12:30:00.5Z",
            datetime!(2027-06-30 12:30:00.5 UTC),
        ),
    ];
    for (written, expected) in cases {
        let text = doc(&format!(
            "version = 1\n[users.a]\nkeys = [{{ key = \"{{A}}\", expires = {written} }}]\n"
        ));
        let p = ok(&text);
        assert_eq!(p.users["a"].keys[0].expires, Some(expected), "{written}");
    }
}

#[test]
fn every_supported_key_type_parses() {
    let cases = [
        (ALICE, "ssh-ed25519"),
        (P256, "ecdsa-sha2-nistp256"),
        (P384, "ecdsa-sha2-nistp384"),
        (P521, "ecdsa-sha2-nistp521"),
        (RSA, "ssh-rsa"),
        (SK_ED25519, "sk-ssh-ed25519@openssh.com"),
        (SK_ECDSA, "sk-ecdsa-sha2-nistp256@openssh.com"),
    ];
    let list: Vec<String> = cases.iter().map(|(k, _)| format!("\"{k}\"")).collect();
    let text = format!("version = 1\n[users.a]\nkeys = [{}]\n", list.join(",\n  "));
    let p = ok(&text);
    let keys = &p.users["a"].keys;
    for ((_, algorithm), key) in cases.iter().zip(keys) {
        assert_eq!(&key.algorithm, algorithm);
        let id = crate::signature::KeyId::ssh(key.ssh().expect("an SSH key").key_data(), None)
            .expect("encodes");
        assert_eq!(key.blob, id.blob);
        assert_eq!(p.key_index()[&(key.kind, key.blob.clone())].0, "a");
    }
    // Fingerprints agree with `ssh-keygen -lf`.
    assert_eq!(
        keys[4].fingerprint,
        "SHA256:PpJIqT+UocCuXQ1Zv9NqoRSM13g+kb9yKXwHLMmBvQ4"
    );
    assert_eq!(
        keys[5].fingerprint,
        "SHA256:OX5/y+E/d87ChEIQL8vuv2bXY8cyVkMg3eLLtIU1n8w"
    );
}

/// `touch_required` defaults to true (as sshd without `no-touch-required`); only a key
/// table can turn it off, and it only matters for FIDO keys.
#[test]
fn touch_required_defaults_to_true_for_fido_keys() {
    let text = format!(
        "version = 1\n[users.a]\nkeys = [\n  \"{SK_ED25519}\",\n  \
         {{ key = \"{SK_ECDSA}\", touch_required = false }},\n  \
         {{ key = \"{ALICE}\", expires = 2030-01-01 }},\n  \
         {{ key = \"{BOB}\", touch_required = false }},\n  \
         {{ key = \"{CAROL}\", touch_required = true }},\n]\n"
    );
    let p = ok(&text);
    let got: Vec<(bool, bool, bool)> = p.users["a"]
        .keys
        .iter()
        .map(|k| (k.is_fido(), k.touch_required, k.requires_touch()))
        .collect();
    assert_eq!(
        got,
        [
            (true, true, true),
            (true, false, false),
            (false, true, false),
            (false, false, false),
            (false, true, false),
        ]
    );
    // On a FIDO key the option is meaningful either way: no warning.
    let fido_only = format!(
        "version = 1\n[users.a]\nkeys = [{{ key = \"{SK_ECDSA}\", touch_required = true }}]\n\
         [policy]\nadmins = [\"a\"]\n"
    );
    let diags = lint(&fido_only);
    assert!(diags.is_empty(), "{}", render(&diags));
    // On other keys each use is flagged, where it is written.
    let warned: Vec<(usize, Severity)> = lint(&text)
        .iter()
        .filter(|d| d.code == "ineffective-touch-required")
        .map(|d| (d.location.line, d.severity))
        .collect();
    assert_eq!(warned, [(7, Severity::Warning), (8, Severity::Warning)]);
}

#[test]
fn baseline_is_lowercased() {
    let p = ok(&base(
        "[trust]\nbaseline = [\"9FCEB02D0AE598E95DC970B74767F19372D61AF8\"]\n",
    ));
    assert_eq!(p.baseline, ["9fceb02d0ae598e95dc970b74767f19372d61af8"]);
}

#[test]
fn columns_count_characters() {
    let errors = parse("version = 1 # é\n[users.a]\nnames = [\"é\", \"\"]\n").expect_err("invalid");
    assert_eq!((errors[0].location.line, errors[0].location.col), (3, 15));
}

/// Each `fixtures/roles/bad-CODE.toml` starts with `# expect: LINE:COL: MESSAGE`; lint must
/// report exactly that, with that code; every error code has one.
#[test]
fn bad_fixtures_report_what_they_expect() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/roles");
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures/roles exists") {
        let path = entry.expect("readable dir").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        let Some(code) = name
            .strip_prefix("bad-")
            .and_then(|n| n.strip_suffix(".toml"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("readable fixture");
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{name}: first line must be `# expect: LINE:COL: message`"));
        let mut parts = expect.splitn(3, ':');
        let mut number = || -> usize {
            parts
                .next()
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("{name}: bad expect line"))
        };
        let (line, col) = (number(), number());
        let message = parts.next().expect("message").trim();
        // Files a fixture references are read beside it, as `policy lint` reads them.
        let dir = path.parent().expect("fixture directory").to_path_buf();
        let files = move |p: &str| std::fs::read(dir.join(p)).map_err(|e| e.to_string());
        let diags = super::lint_with(&text, &files);
        assert!(
            diags.iter().any(|d| d.severity == Severity::Error
                && d.code == code
                && (d.location.line, d.location.col) == (line, col)
                && d.message.contains(message)),
            "{name}: expected {line}:{col}: [{code}] {message}\ngot:\n{}",
            render(&diags)
        );
        assert!(
            super::parse_with(&text, &files).is_err(),
            "{name} must not parse"
        );
        seen.insert(code.to_string());
    }
    let error_codes: BTreeSet<String> = error_cases().iter().map(|c| c.code.to_string()).collect();
    assert_eq!(seen, error_codes, "one bad-CODE.toml per error code");
}

/// 10,000 users with one ed25519 key each (1.1 MB) must parse and validate in under 50 ms.
/// Measured on the shared 2-core build machine (load average ~6), best of 15 runs: 35 ms
/// in total, of which 8-9 ms is the TOML parse itself. Run with
/// `cargo test --release --lib policy::tests::ten_thousand_users -- --ignored`.
#[test]
#[ignore = "timing; run in release"]
fn ten_thousand_users_parse_quickly() {
    let mut text = String::from("version = 1\n");
    for i in 0..10_000u32 {
        // Distinct, valid ed25519 public keys without a RNG: any 32 bytes are a key blob.
        let mut raw = [0u8; 32];
        raw[..4].copy_from_slice(&i.to_be_bytes());
        let key = ssh_key::PublicKey::from(ssh_key::public::Ed25519PublicKey(raw));
        let line = key.to_openssh().expect("encodes");
        text.push_str(&format!(
            "[users.user{i}]\nkeys = [\"{line} user{i}@host\"]\n"
        ));
    }
    text.push_str("[roles]\neveryone = [\"*\"]\n[policy]\nadmins = [\"user1\"]\n");
    text.push_str("[[rule]]\nrefs = [\"refs/heads/main\"]\nsigners = [\"everyone\"]\n");
    // The best of a few runs: the machine is shared, and the first run warms the allocator.
    let time = |f: &dyn Fn()| {
        (0..15)
            .map(|_| {
                let start = std::time::Instant::now();
                f();
                start.elapsed()
            })
            .min()
            .expect("runs")
    };
    let toml_time = time(&|| drop(toml::de::DeTable::parse(text.as_str())));
    let elapsed = time(&|| drop(ok(&text)));
    let p = ok(&text);
    assert_eq!(p.key_index().len(), 10_000);
    assert!(
        elapsed.as_millis() < 50,
        "took {elapsed:?} (TOML parse alone: {toml_time:?})"
    );
}

#[test]
fn signed_push_settings_reach_the_model() {
    let p = ok(&base(""));
    assert!(!p.require_signed_push);
    assert!(p.rules.is_empty());
    let p = ok(&base(
        "[[rule]]\nrefs = [\"refs/heads/main\"]\nsigned_push = true\n[[rule]]\nrefs = [\"refs/heads/*\"]\n",
    ));
    assert!(!p.require_signed_push);
    assert!(p.rules[0].signed_push);
    assert!(!p.rules[1].signed_push);
    let policy_ref = "refs/meta/policy";
    assert_eq!(
        p.signed_push_requirement("refs/heads/main", policy_ref),
        Some("signed_push = true, rule roles.toml:12".to_string())
    );
    assert_eq!(
        p.signed_push_requirement("refs/heads/dev", policy_ref),
        None
    );
    assert_eq!(p.signed_push_requirement(policy_ref, policy_ref), None);

    let p = ok(&base(
        "[settings]\nrequire_signed_push = true\n[[rule]]\nrefs = [\"refs/heads/main\"]\n",
    ));
    assert!(p.require_signed_push);
    let all = Some("[settings] require_signed_push".to_string());
    assert_eq!(
        p.signed_push_requirement("refs/heads/main", policy_ref),
        all
    );
    assert_eq!(p.signed_push_requirement(policy_ref, policy_ref), all);
    assert_eq!(
        p.signed_push_requirement("refs/heads/free", policy_ref),
        None
    );
}

/// Property tests: hostile roles files never panic, every diagnostic points inside the text,
/// and parse and lint agree on whether the file is valid.
mod proptests {
    use proptest::prelude::*;

    use super::super::Severity;
    use super::{ALICE, ALICE_FP, BOB, CAROL, SK_ED25519, lint, parse};

    const GOOD: &str = include_str!("../../fixtures/roles/good-full.toml");

    /// Parses and lints `text`, checking the invariants every input must satisfy.
    fn check_invariants(text: &str) -> Result<(), TestCaseError> {
        let parsed = parse(text);
        let diags = lint(text);
        let lines: Vec<&str> = text.split('\n').collect();
        let all = diags
            .iter()
            .chain(parsed.as_ref().err().into_iter().flatten());
        for d in all {
            let (line, col) = (d.location.line, d.location.col);
            prop_assert!(line >= 1 && col >= 1, "{d:?}");
            prop_assert!(line <= lines.len(), "{d:?} past the last line");
            let width = lines[line - 1].chars().count();
            prop_assert!(
                col <= width + 1,
                "{d:?} past the end of line {line} ({width})"
            );
            prop_assert!(!d.message.is_empty() && !d.message.contains('\n'), "{d:?}");
        }
        let lint_errors = diags.iter().any(|d| d.severity == Severity::Error);
        match &parsed {
            Ok(_) => prop_assert!(!lint_errors, "parse Ok but lint says {diags:#?}"),
            Err(errors) => {
                prop_assert!(!errors.is_empty(), "parse failed without a diagnostic");
                prop_assert!(lint_errors, "parse says {errors:#?} but lint has no error");
            }
        }
        Ok(())
    }

    /// A structural edit of a file's lines.
    #[derive(Debug, Clone)]
    enum LineEdit {
        Delete(prop::sample::Index),
        Duplicate(prop::sample::Index),
        Swap(prop::sample::Index, prop::sample::Index),
        Replace(prop::sample::Index, String),
        Insert(prop::sample::Index, String),
    }

    /// Text a hostile or careless admin might put on a line.
    fn hostile_line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("[[rule]]".to_string()),
            Just("[users.x]".to_string()),
            Just("version = 2".to_string()),
            Just("refs = []".to_string()),
            Just("approvals = -1".to_string()),
            Just("approvals = 18446744073709551616".to_string()),
            "[a-z_]{1,10} = \"[^\"\\\\\n]{0,20}\"",
            "[a-z]{300,600} = 1",
            "\\PC{0,40}",
            any::<String>(),
        ]
    }

    fn line_edit() -> impl Strategy<Value = LineEdit> {
        prop_oneof![
            any::<prop::sample::Index>().prop_map(LineEdit::Delete),
            any::<prop::sample::Index>().prop_map(LineEdit::Duplicate),
            (any::<prop::sample::Index>(), any::<prop::sample::Index>())
                .prop_map(|(a, b)| LineEdit::Swap(a, b)),
            (any::<prop::sample::Index>(), hostile_line())
                .prop_map(|(a, s)| LineEdit::Replace(a, s)),
            (any::<prop::sample::Index>(), hostile_line())
                .prop_map(|(a, s)| LineEdit::Insert(a, s)),
        ]
    }

    fn edit_lines(text: &str, edits: &[LineEdit]) -> String {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for edit in edits {
            if lines.is_empty() {
                lines.push(String::new());
            }
            let n = lines.len();
            match edit {
                LineEdit::Delete(i) => {
                    lines.remove(i.index(n));
                }
                LineEdit::Duplicate(i) => {
                    let l = lines[i.index(n)].clone();
                    lines.insert(i.index(n), l);
                }
                LineEdit::Swap(a, b) => lines.swap(a.index(n), b.index(n)),
                LineEdit::Replace(i, s) => lines[i.index(n)] = s.clone(),
                LineEdit::Insert(i, s) => lines.insert(i.index(n + 1), s.clone()),
            }
        }
        lines.join("\n")
    }

    /// A `field = value` line from the schema's vocabulary, right or wrong.
    fn field_line() -> impl Strategy<Value = String> {
        use crate::policy::parse::{
            GRANT_FIELDS, KEY_FIELDS, POLICY_FIELDS, REVOKED_FIELDS, RULE_FIELDS, SETTINGS_FIELDS,
            TRUST_FIELDS, USER_FIELDS,
        };
        // Every field the schema knows (from the parser's own lists), and near misses.
        let mut fields: Vec<&'static str> = vec!["version"];
        for list in [
            USER_FIELDS,
            KEY_FIELDS,
            POLICY_FIELDS,
            TRUST_FIELDS,
            REVOKED_FIELDS,
            RULE_FIELDS,
            SETTINGS_FIELDS,
            GRANT_FIELDS,
        ] {
            for &f in list {
                if !fields.contains(&f) {
                    fields.push(f);
                }
            }
        }
        fields.extend([
            "devs", "admins2", "alice", "Refs", "sigers", "\"\"", "\"é\"",
        ]);
        let field = prop::sample::select(fields);
        let value = prop::sample::select(vec![
            "[]".to_string(),
            "[\"alice\"]".to_string(),
            "[\"bob\", \"devs\"]".to_string(),
            "[\"devs\", \"admins2\"]".to_string(),
            "[\"*\"]".to_string(),
            "[\"nobody\"]".to_string(),
            "\"refs/heads/*\"".to_string(),
            "[\"refs/heads/main\", \"refs/tags/v*\"]".to_string(),
            "[\"refs/heads/[a\"]".to_string(),
            "[\"refs/heads/**/x\", \"\"]".to_string(),
            "0".to_string(),
            "1".to_string(),
            "-1".to_string(),
            "99999999999".to_string(),
            "1.5".to_string(),
            "true".to_string(),
            "\"2027-01-01\"".to_string(),
            "2027-01-01T00:00:00Z".to_string(),
            "\"yesterday\"".to_string(),
            "\"alice\"".to_string(),
            "\"devs\"".to_string(),
            "\"7d\"".to_string(),
            "\"90m\"".to_string(),
            "\"1d12x\"".to_string(),
            format!("[\"{ALICE}\"]"),
            format!("[\"{BOB}\", \"{BOB}\"]"),
            format!("[{{ key = \"{SK_ED25519}\", touch_required = false }}]"),
            format!("[{{ key = \"{CAROL}\", expires = \"bad\" }}]"),
            format!("\"{ALICE_FP}\""),
            "\"SHA256:short\"".to_string(),
            format!("\"{}\"", "ab".repeat(20)),
            "[\"9fceb02d0ae598e95dc970b74767f19372d61af8\"]".to_string(),
            "{}".to_string(),
            "{ a = 1 }".to_string(),
        ]);
        (field, value).prop_map(|(f, v)| format!("{f} = {v}"))
    }

    /// A roles file assembled from the schema's sections and fields, so most inputs get
    /// past TOML syntax into validation.
    fn schema_soup() -> impl Strategy<Value = String> {
        let header = prop::sample::select(vec![
            "[users.alice]",
            "[users.bob]",
            "[users.\"é\"]",
            "[users.devs]",
            "[roles]",
            "[policy]",
            "[trust]",
            "[[revoked]]",
            "[[rule]]",
            "[[rule]]",
            "[settings]",
            "[[grant]]",
            "[[grant]]",
            "[roles.x]",
            "[[users]]",
            "[rule]",
        ]);
        let section = (header, prop::collection::vec(field_line(), 0..5))
            .prop_map(|(h, lines)| format!("{h}\n{}\n", lines.join("\n")));
        (
            prop::sample::select(vec!["version = 1\n", "version = 1\n", "", "version = 2\n"]),
            prop::collection::vec(section, 0..10),
        )
            .prop_map(|(v, sections)| format!("{v}{}", sections.concat()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}|[\\[\\]{}=\",.a-z0-9 \n\r\t#'\\\\]{0,200}") {
            check_invariants(&text)?;
        }

        #[test]
        fn schema_soup_never_panics(text in schema_soup()) {
            check_invariants(&text)?;
        }

        #[test]
        fn line_edits_of_the_good_fixture(edits in prop::collection::vec(line_edit(), 1..5),
                                          crlf in any::<bool>()) {
            let mut text = edit_lines(GOOD, &edits);
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            check_invariants(&text)?;
        }

        #[test]
        fn byte_edits_of_the_good_fixture(
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)
        ) {
            let mut bytes = GOOD.as_bytes().to_vec();
            for (i, b) in &edits {
                let at = i.index(bytes.len());
                bytes[at] = *b;
            }
            // The policy arrives as text; a non-UTF-8 file is refused before parsing.
            check_invariants(&String::from_utf8_lossy(&bytes))?;
        }

        #[test]
        fn char_insertions_into_the_good_fixture(
            inserts in prop::collection::vec((any::<prop::sample::Index>(), any::<char>()), 1..6)
        ) {
            let mut chars: Vec<char> = GOOD.chars().collect();
            for (i, c) in &inserts {
                chars.insert(i.index(chars.len() + 1), *c);
            }
            check_invariants(&chars.into_iter().collect::<String>())?;
        }
    }

    /// Inputs too big to generate at random: deep nesting, huge arrays, long keys.
    #[test]
    fn pathological_shapes_never_panic() {
        let mut cases = vec![
            "version = 1\n".to_string() + &"[[rule]]\n".repeat(1000),
            "version = 1\n".to_string() + &"[[rule]]\nrefs = [\"refs/heads/*\"]\n".repeat(1000),
            format!(
                "version = 1\nx = {}1{}\n",
                "[".repeat(2000),
                "]".repeat(2000)
            ),
            format!(
                "version = 1\nx = {}1{}\n",
                "{a = ".repeat(2000),
                "}".repeat(2000)
            ),
            format!("version = 1\n[{}]\n", vec!["a"; 2000].join(".")),
            format!("version = 1\n{} = 1\n", "k".repeat(20_000)),
            format!("version = 1\n[users.{}]\nkeys = []\n", "é".repeat(10_000)),
            format!(
                "version = 1\n[roles]\nr = [{}]\n",
                vec!["\"r\""; 10_000].join(",")
            ),
            format!(
                "version = 1\n[policy]\nadmins = [{}]\n",
                "\"\",".repeat(10_000)
            ),
            "\u{feff}version = 1\n".to_string(),
            "version = 1\r\n[users.a]\r\nkeys = [\"x\"]\r".to_string(),
            "version = 1\n\0".to_string(),
        ];
        cases.push(GOOD.replace('\n', "\r\n"));
        cases.push(GOOD.replace('\n', "\r"));
        for text in &cases {
            if let Err(e) = check_invariants(text) {
                panic!("{e} for {:?}", &text[..text.len().min(80)]);
            }
        }
    }
}

/// Found by `proptests::byte_edits_of_the_good_fixture`: a `\` typed into a role name made
/// `"ma\ntainers"`, and the diagnostic quoting it spanned two lines. Control characters in
/// quoted names are escaped, so lint output stays one line per problem (and a roles file
/// cannot paint the pusher's terminal).
#[test]
fn diagnostics_quoting_control_characters_stay_on_one_line() {
    let text =
        base("[[rule]]\nrefs = [\"refs/heads/*\"]\npush = [\"ma\\ntainers\", \"\\u001b[2J\"]\n");
    let errors = parse(&text).expect_err("unknown principals");
    let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "unknown user or role `ma\\ntainers`",
            "unknown user or role `\\u{1b}[2J`",
        ]
    );
}

#[test]
fn render_with_source_points_a_caret_at_the_column() {
    let text = "version = 1\n\n[[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"maintainer\"]\n";
    let diags = lint(text);
    let d = diags
        .iter()
        .find(|d| d.message.contains("maintainer"))
        .expect("an unknown-principal error");
    let lines = d.render_with_source("roles.toml", text);
    assert_eq!(lines[0], d.render("roles.toml"));
    assert_eq!(lines[1], " 5 | push = [\"maintainer\"]");
    assert_eq!(
        lines[2],
        format!("   | {}^", " ".repeat(d.location.col - 1))
    );
    // The caret sits under the first character of the unknown name.
    assert_eq!(&lines[1][6..][d.location.col - 1..d.location.col], "m");
    // A location past the end of the text shows only the one-line form.
    let mut far = d.clone();
    far.location.line = 99;
    assert_eq!(far.render_with_source("roles.toml", text).len(), 1);
}

/// The lookups a policy answers by walking its users before it builds an index
/// ([`crate::policy::Indexes`]) give the answers of the built index, for every key and pusher
/// name it lists and for ones it does not; and after [`crate::policy::WALKS_BEFORE_INDEX`]
/// walks the index is built and answers the same.
#[test]
fn walked_lookups_answer_as_the_built_indexes() {
    let p = ok(include_str!("../../fixtures/roles/good-full.toml"));
    let index = p.key_index().clone();
    let names = p.name_index().clone();
    assert!(!index.is_empty() && !names.is_empty());
    let indexed_key = |kind, blob: &[u8]| {
        index
            .get(&(kind, blob.to_vec()))
            .map(|(id, k)| (id.clone(), *k))
    };
    let walked_key = |q: &Policy, kind, blob: &[u8]| {
        q.key_holder(kind, blob).map(|(user, key)| {
            let k = user.keys.iter().position(|x| std::ptr::eq(x, key));
            (user.id.clone(), k.expect("a key of its user"))
        })
    };
    let mut queries: Vec<(crate::signature::KeyKind, Vec<u8>)> = index.keys().cloned().collect();
    queries.push((crate::signature::KeyKind::Ssh, b"no such key".to_vec()));
    let (kind, blob) = &queries[0];
    queries.push((
        match kind {
            crate::signature::KeyKind::Ssh => crate::signature::KeyKind::OpenPgp,
            crate::signature::KeyKind::OpenPgp => crate::signature::KeyKind::Ssh,
        },
        blob.clone(),
    ));
    let mut pushers: Vec<String> = names.keys().cloned().collect();
    pushers.extend(["nobody".to_string(), String::new()]);
    // A clone has nothing built: its first lookups walk.
    for (kind, blob) in &queries {
        let fresh = p.clone();
        assert_eq!(walked_key(&fresh, *kind, blob), indexed_key(*kind, blob));
    }
    for name in &pushers {
        let fresh = p.clone();
        assert_eq!(
            fresh.user_for_name(name).map(|u| u.id.clone()),
            names.get(name).cloned(),
            "{name}"
        );
    }
    // One policy asked again and again: walks, then the index it builds.
    let q = p.clone();
    let rounds = crate::policy::WALKS_BEFORE_INDEX as usize + 3;
    for (kind, blob) in queries.iter().cycle().take(rounds * queries.len()) {
        assert_eq!(walked_key(&q, *kind, blob), indexed_key(*kind, blob));
    }
    for name in pushers.iter().cycle().take(rounds * pushers.len()) {
        assert_eq!(
            q.user_for_name(name).map(|u| u.id.clone()),
            names.get(name).cloned()
        );
    }
    assert_eq!(q.key_index(), &index);
    assert_eq!(q.name_index(), &names);
}
