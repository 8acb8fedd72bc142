//! The stable codes of roles.toml diagnostics, each with what triggers it.

/// Every diagnostic code [`crate::policy::lint`] can emit, with a one-line explanation.
/// Codes are stable kebab-case names; messages may improve over time.
pub const CODES: &[(&str, &str)] = &[
    // Errors.
    ("toml-syntax", "the file is not valid TOML"),
    ("missing-version", "`version = 1` is missing"),
    ("unsupported-version", "`version` is not 1"),
    (
        "unknown-field",
        "a key refguard does not know, at any level (with a suggestion)",
    ),
    (
        "wrong-type",
        "a value of the wrong type, e.g. a string where a list is expected",
    ),
    (
        "missing-field",
        "a required field is absent or empty (`refs` in a rule, `key` in a key table or [[revoked]], `user`, `role`, `until` or `reason` in a [[grant]])",
    ),
    (
        "invalid-id",
        "a user or role id that is empty, contains whitespace or is `*`",
    ),
    (
        "duplicate-id",
        "a role with the same id as a user (they share one namespace)",
    ),
    ("invalid-key", "a public key line that does not parse"),
    (
        "unsupported-key-type",
        "a key type refguard cannot verify (DSA, certificates...)",
    ),
    (
        "duplicate-key",
        "the same public key listed twice, under one user or two",
    ),
    (
        "invalid-expiry",
        "an expiry that is not a UTC date or an RFC 3339 date-time",
    ),
    ("invalid-name", "an empty pusher name in `names`"),
    ("duplicate-name", "a pusher name that two users claim"),
    (
        "org-name",
        "under an organisation policy (spec §10): a user or role id the organisation already defines, or a pusher name an organisation user holds",
    ),
    (
        "org-key",
        "under an organisation policy: a key an organisation user holds, listed again by the repository",
    ),
    (
        "unknown-principal",
        "a user or role name that is not defined (in a list, or a grant's `user` or `role`)",
    ),
    ("role-cycle", "roles that include each other"),
    (
        "invalid-approvals",
        "`[policy] approvals` or a rule's `approvals.count` below 1",
    ),
    (
        "approvals-unreachable",
        "`approvals` larger than the number of admins who could sign: admins with a key that is not revoked, and (for `policy lint`, `init` and a pushed policy) not expired now",
    ),
    (
        "invalid-approval-kind",
        "an `approvals.on` entry that is not \"create\", \"push\" or \"force_push\"",
    ),
    (
        "invalid-commit-id",
        "a `[trust] baseline` entry that is not 40 or 64 hex digits",
    ),
    (
        "invalid-fingerprint",
        "a `[[revoked]] key` that is neither `SHA256:` + 43 base64 characters nor `openpgp:` + 40 hex digits",
    ),
    (
        "invalid-path",
        "an `openpgp` certificate path that is absolute or leaves the policy tree (`..`, `.`, empty components, backslashes)",
    ),
    (
        "missing-file",
        "an `openpgp` certificate file that cannot be read (relative to roles.toml, or in the policy branch's tree)",
    ),
    (
        "invalid-certificate",
        "an `openpgp` file that is not exactly one OpenPGP public certificate (v4) with a valid self-signature and a key that can sign with an accepted algorithm",
    ),
    ("empty-refs", "a rule or `[[path]]` entry with `refs = []`"),
    ("empty-paths", "a `[[path]]` entry with `paths = []`"),
    (
        "invalid-mode",
        "a rule's or path entry's `mode` that is not \"enforce\" or \"evaluate\"",
    ),
    (
        "invalid-path-pattern",
        "a `[[path]]` glob that is empty, starts with `/`, or is not a valid glob",
    ),
    (
        "invalid-time",
        "a grant's `from` or `until` that is not a UTC date or an RFC 3339 date-time",
    ),
    (
        "invalid-grant",
        "a grant whose `until` is not later than its `from`, whose `user` names a role or whose `role` names a user",
    ),
    (
        "grant-too-long",
        "a grant window longer than `[settings] max_grant` (default 7d); without `from`, measured from when the policy is linted or pushed",
    ),
    (
        "invalid-duration",
        "`[settings] max_grant` that is not a duration such as \"7d\", \"12h\", \"90m\"",
    ),
    (
        "invalid-pattern",
        "a ref pattern that does not start with `refs/` or is not a valid glob",
    ),
    // Warnings.
    (
        "no-admins",
        "`[policy] admins` is empty: no push can change the policy branch; only someone with filesystem access to the server can",
    ),
    (
        "repeated-name",
        "a pusher name listed twice for the same user",
    ),
    (
        "unreachable-rule",
        "a rule that can never match because earlier rules match all its patterns first",
    ),
    (
        "shadowed-pattern",
        "a pattern that never takes effect because an earlier rule matches it first",
    ),
    (
        "ineffective-signed-push",
        "a rule's `signed_push` while `[settings] require_signed_push = true` already covers every rule",
    ),
    (
        "ineffective-touch-required",
        "`touch_required` on a key that is not a FIDO (`sk-...@openssh.com`) key",
    ),
    (
        "admin-key-expiring",
        "a policy admin's key expires within 30 days (the message says whether the quorum goes with it)",
    ),
    (
        "unreachable-approvals",
        "a rule's `approvals.count` larger than the number of users in `approvals.by`",
    ),
    (
        "ineffective-approvals",
        "a rule's `approvals.on = []`: no update needs the approvals",
    ),
    (
        "ineffective-path",
        "a `[[path]]` entry with neither `signers` nor `approvals`",
    ),
    (
        "writable-replace-refs",
        "a rule that names refs/replace/ explicitly and lets someone write replace refs",
    ),
    (
        "delete-recreate",
        "a rule that lets someone delete and re-create refs but not force-push them",
    ),
    (
        "rule-matches-policy-ref",
        "a pattern matching refs/meta/policy, which only [policy] guards",
    ),
    (
        "grant-ended",
        "a grant whose `until` has passed (judged when linted): it grants nothing any more",
    ),
    (
        "admin-grant",
        "a grant that makes its user a policy admin while `approvals = 1`: they could change the policy alone, their own grant included",
    ),
    (
        "refused-openpgp-key",
        "a listed OpenPGP certificate carries a signing key whose algorithm refguard refuses (DSA, RSA under 2048 bits...): its signatures are bad signatures",
    ),
    (
        "expired-certificate",
        "a listed OpenPGP certificate none of whose signing keys is usable now because of expiry (judged when linted)",
    ),
    (
        "revoked-certificate",
        "a listed OpenPGP certificate that is revoked now, by its own revocation signature or `[[revoked]]` (judged when linted)",
    ),
    (
        "redundant-grant",
        "a grant of a role the user already holds through [roles]: it neither adds nor ends anything",
    ),
];
