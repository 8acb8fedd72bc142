//! `policy show`: the whole effective policy as data ([`PolicyView`]) and as text lines.

use serde::Serialize;
use time::OffsetDateTime;

use super::{GrantStatus, KeyStatus, ListView, key_status, rule_lists, users_or_nobody, utc};
use crate::openpgp::KeyState;
use crate::policy::{ApprovalRule, Grant, KeyMaterial, ListKind, UserKey, format_span};
use crate::policy::{Policy, REPLACE_PREFIX};

/// The effective policy at one policy commit, judged at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyView {
    /// The policy branch's ref name.
    pub policy_ref: String,
    /// The policy commit id (full hex), if known.
    pub policy_commit: Option<String>,
    /// The instant key and grant status was judged at (UTC).
    pub now: String,
    /// Users by id, sorted.
    pub users: Vec<UserView>,
    /// Roles by name, sorted.
    pub roles: Vec<RoleView>,
    /// `[[grant]]`s in file order, each active, pending or ended at [`PolicyView::now`].
    pub grants: Vec<GrantView>,
    /// `[settings] max_grant`, e.g. `7d`.
    pub max_grant: String,
    /// `[policy]`: who may change the policy branch.
    pub admins: AdminsView,
    /// `[trust] baseline` commit ids.
    pub baseline: Vec<String>,
    /// `[[revoked]]` entries in file order.
    pub revoked: Vec<RevokedView>,
    /// `[[rule]]`s in file order (the first match governs a ref).
    pub rules: Vec<RuleView>,
    /// `[[path]]` entries in file order (every one whose refs match applies, spec §9).
    pub paths: Vec<PathView>,
    /// `[settings] require_signed_push`: every protected ref and the policy branch need a
    /// push certificate.
    pub require_signed_push: bool,
    /// The rules (1-based numbers) that name replace refs explicitly and so govern them;
    /// empty: nobody may create, move or delete a replace ref.
    pub replace_rules: Vec<usize>,
}

/// One user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    /// The user id.
    pub id: String,
    /// Pusher names that mean this user.
    pub names: Vec<String>,
    /// The user's keys in file order.
    pub keys: Vec<KeyView>,
}

/// One key of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyView {
    /// Algorithm name, e.g. `ssh-ed25519`.
    pub algorithm: String,
    /// `SHA256:...` fingerprint.
    pub fingerprint: String,
    /// The key line's comment (empty when none).
    pub comment: String,
    /// When it expires (UTC, RFC 3339), if ever.
    pub expires: Option<String>,
    /// Active, expired or revoked at [`PolicyView::now`].
    pub status: KeyStatus,
    /// The revocation reason, when revoked with one.
    pub revoked_reason: Option<String>,
    /// `roles.toml:LINE` where the key is written.
    pub location: String,
    /// For an OpenPGP certificate: its file and its signing keys at [`PolicyView::now`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openpgp: Option<CertificateView>,
}

/// An OpenPGP certificate a user lists (spec §12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateView {
    /// The certificate file, relative to roles.toml.
    pub file: String,
    /// Its User IDs.
    pub user_ids: Vec<String>,
    /// Its keys that can sign under some binding (primary first), each judged at
    /// [`PolicyView::now`].
    pub signing_keys: Vec<SigningKeyView>,
}

/// One signing key (primary or subkey) of an OpenPGP certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SigningKeyView {
    /// `openpgp:` and its fingerprint.
    pub fingerprint: String,
    /// `primary` or `subkey`.
    pub role: &'static str,
    /// Algorithm as GnuPG names it.
    pub algorithm: String,
    /// `active`, `expired`, `revoked` or `unusable` at [`PolicyView::now`].
    pub status: &'static str,
    /// When it expires (its own or its certificate's expiry), if it does.
    pub expires: Option<String>,
    /// Why it is revoked, unusable or refused, for people.
    pub detail: Option<String>,
}

/// One role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleView {
    /// The role name.
    pub name: String,
    /// Members as written (users and roles).
    pub written: Vec<String>,
    /// Members expanded transitively into user ids.
    pub users: Vec<String>,
}

/// One `[[grant]]` (spec §8), judged at [`PolicyView::now`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantView {
    /// The granted user.
    pub user: String,
    /// The role granted.
    pub role: String,
    /// When it starts (UTC); `None`: since the policy carrying it is in force.
    pub from: Option<String>,
    /// When it ends (UTC).
    pub until: String,
    /// Why it was granted.
    pub reason: String,
    /// Pending, active or ended.
    pub status: GrantStatus,
    /// Seconds until it ends (negative once it has ended).
    pub seconds_left: i64,
    /// Where it stands, for people: `ends in 5h 12m`, `starts in 20h, lasts 9h`,
    /// `ended 3d 2h ago`.
    pub when: String,
    /// `roles.toml:LINE` of the `[[grant]]` header.
    pub location: String,
}

impl GrantView {
    /// The view of `grant` at `now`.
    fn of(grant: &Grant, now: OffsetDateTime) -> GrantView {
        let status = grant.status_at(now);
        let when = match (status, grant.from) {
            (GrantStatus::Pending, Some(from)) => format!(
                "starts in {}, lasts {}",
                format_span(from - now),
                format_span(grant.until - from)
            ),
            (GrantStatus::Ended, _) => format!("ended {} ago", format_span(now - grant.until)),
            _ => format!("ends in {}", format_span(grant.until - now)),
        };
        GrantView {
            user: grant.user.clone(),
            role: grant.role.clone(),
            from: grant.from.map(utc),
            until: utc(grant.until),
            reason: grant.reason.clone(),
            status,
            seconds_left: (grant.until - now).whole_seconds(),
            when,
            location: grant.location.to_string(),
        }
    }
}

/// `[policy]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdminsView {
    /// The admins as written and expanded.
    pub admins: ListView,
    /// How many distinct admins must sign new policy commits.
    pub approvals: u32,
}

/// One `[[revoked]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevokedView {
    /// `SHA256:...` fingerprint.
    pub fingerprint: String,
    /// Why, if given.
    pub reason: Option<String>,
    /// The user who still lists the key, if any.
    pub still_listed_by: Option<String>,
    /// `roles.toml:LINE` where the entry is written.
    pub location: String,
}

/// One `[[rule]]`, every list as written and as it works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleView {
    /// 1-based position in the file.
    pub number: usize,
    /// `roles.toml:LINE` of the `[[rule]]` header.
    pub location: String,
    /// The `refs` patterns.
    pub refs: Vec<String>,
    /// Who may fast-forward.
    pub push: ListView,
    /// Who may create.
    pub create: ListView,
    /// Who may delete.
    pub delete: ListView,
    /// Who may make a non-fast-forward update.
    pub force_push: ListView,
    /// Whose signatures new commits need.
    pub signers: ListView,
    /// Whose signatures new merge commits need.
    pub merge: ListView,
    /// `linear = true`: no merge commits.
    pub linear: bool,
    /// Updates need a push certificate (`signed_push = true`, or `[settings]
    /// require_signed_push`).
    pub signed_push: bool,
    /// `approvals`: what updates need approvals, by whom (spec §7).
    pub approvals: Option<ApprovalsView>,
    /// `mode = "evaluate"`: a shadow, judged in addition and only warning (spec §11).
    pub evaluate: bool,
}

/// One `[[path]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathView {
    /// 1-based position among the entries.
    pub number: usize,
    /// `roles.toml:LINE` of the `[[path]]` header.
    pub location: String,
    /// The path globs.
    pub paths: Vec<String>,
    /// The refs it applies to.
    pub refs: Vec<String>,
    /// Whose signatures new commits touching the paths need (absent: any the rule allows).
    pub signers: Option<ListView>,
    /// What updates carrying such commits need approvals, by whom.
    pub approvals: Option<ApprovalsView>,
    /// `mode = "evaluate"`: its findings only warn (spec §11).
    pub evaluate: bool,
}

/// A rule's `approvals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalsView {
    /// Who may approve, as written and as it works.
    pub by: ListView,
    /// How many distinct approvers an update needs.
    pub count: u32,
    /// Which kinds of update need them (`create`, `push`, `force_push`).
    pub on: Vec<String>,
    /// Whether the pusher's own approval counts.
    pub allow_self: bool,
    /// Where `approvals` is written.
    pub location: String,
    /// The rule in one sentence.
    pub summary: String,
}

/// The certificate of an OpenPGP key at `now`, each signing key judged as the engine judges
/// a signature by it (`[[revoked]]` naming it counts); `None` for an SSH key.
fn certificate_view(
    policy: &Policy,
    key: &UserKey,
    now: OffsetDateTime,
) -> Option<CertificateView> {
    let cert = key.certificate()?;
    let signing_keys = cert
        .keys
        .iter()
        .filter(|k| cert.can_ever_sign(k))
        .map(|k| {
            let listed = policy
                .revocation(&k.name())
                .or_else(|| policy.revocation(&cert.name()));
            let (status, expires, detail) = match (listed, cert.state_at(k, now)) {
                (Some(r), _) => (
                    "revoked",
                    None,
                    Some(format!(
                        "[[revoked]] {}",
                        r.reason.as_deref().unwrap_or("(no reason given)")
                    )),
                ),
                (
                    None,
                    KeyState::Revoked {
                        revocation,
                        primary,
                    },
                ) => (
                    "revoked",
                    None,
                    Some(format!(
                        "{} {}revoked at {}: {}",
                        if primary { "certificate" } else { "subkey" },
                        if revocation.hard { "" } else { "soft-" },
                        utc(revocation.created),
                        revocation.reason
                    )),
                ),
                (None, KeyState::Expired { at, .. }) => ("expired", Some(utc(at)), None),
                (None, KeyState::Unusable { why }) => ("unusable", None, Some(why.to_string())),
                (None, KeyState::Active { expires }) => ("active", expires.map(utc), None),
            };
            let detail = match (&k.refused, detail) {
                (Some(refused), None) => Some(refused.clone()),
                (_, detail) => detail,
            };
            SigningKeyView {
                fingerprint: k.name(),
                role: if k.is_primary() { "primary" } else { "subkey" },
                algorithm: k.algorithm.clone(),
                status: if k.refused.is_some() && status == "active" {
                    "unusable"
                } else {
                    status
                },
                expires,
                detail,
            }
        })
        .collect();
    Some(CertificateView {
        file: key.file.clone().unwrap_or_default(),
        user_ids: cert.user_ids.clone(),
        signing_keys,
    })
}

/// The effective policy, with key status judged at `now`.
pub fn policy_view(
    policy: &Policy,
    policy_ref: &str,
    policy_commit: Option<&str>,
    now: OffsetDateTime,
) -> PolicyView {
    let users = policy
        .users
        .values()
        .map(|u| UserView {
            id: u.id.clone(),
            names: u.names.clone(),
            keys: u
                .keys
                .iter()
                .map(|k| KeyView {
                    algorithm: k.algorithm.clone(),
                    fingerprint: k.fingerprint.clone(),
                    comment: match &k.material {
                        KeyMaterial::Ssh(key) => key.comment().to_string(),
                        KeyMaterial::OpenPgp(cert) => cert.user_id().to_string(),
                    },
                    expires: k.expires.map(utc),
                    status: key_status(policy, k, now),
                    revoked_reason: policy
                        .revocation(&k.fingerprint)
                        .and_then(|r| r.reason.clone()),
                    location: k.location.to_string(),
                    openpgp: certificate_view(policy, k, now),
                })
                .collect(),
        })
        .collect();
    let roles = policy
        .roles
        .iter()
        .map(|(name, written)| RoleView {
            name: name.clone(),
            written: written.clone(),
            users: policy
                .role_members
                .get(name)
                .map(|m| m.iter().cloned().collect())
                .unwrap_or_default(),
        })
        .collect();
    let revoked = policy
        .revoked
        .iter()
        .map(|r| RevokedView {
            fingerprint: r.fingerprint.clone(),
            reason: r.reason.clone(),
            still_listed_by: policy
                .users
                .values()
                .find(|u| u.keys.iter().any(|k| k.fingerprint == r.fingerprint))
                .map(|u| u.id.clone()),
            location: r.location.to_string(),
        })
        .collect();
    let rules = policy
        .rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let lists = rule_lists(policy, rule, now);
            let list = |kind: ListKind| lists[kind as usize].clone();
            RuleView {
                number: i + 1,
                location: rule.location.to_string(),
                refs: rule.refs.clone(),
                push: list(ListKind::Push),
                create: list(ListKind::Create),
                delete: list(ListKind::Delete),
                force_push: list(ListKind::ForcePush),
                signers: list(ListKind::Signers),
                merge: list(ListKind::Merge),
                linear: rule.linear,
                signed_push: rule.signed_push || policy.require_signed_push,
                approvals: rule
                    .approvals
                    .as_ref()
                    .map(|a| ApprovalsView::of(policy, a, now)),
                evaluate: rule.evaluate,
            }
        })
        .collect();
    let paths = policy
        .paths
        .iter()
        .map(|entry| PathView {
            number: entry.index + 1,
            location: entry.location.to_string(),
            paths: entry.paths.clone(),
            refs: entry.refs.clone(),
            signers: entry
                .signers
                .as_ref()
                .map(|s| ListView::present(policy, s, now)),
            approvals: entry
                .approvals
                .as_ref()
                .map(|a| ApprovalsView::of(policy, a, now)),
            evaluate: entry.evaluate,
        })
        .collect();
    PolicyView {
        replace_rules: policy
            .rules
            .iter()
            .filter(|r| r.names_replace_refs)
            .map(|r| r.index + 1)
            .collect(),
        policy_ref: policy_ref.to_string(),
        policy_commit: policy_commit.map(str::to_string),
        require_signed_push: policy.require_signed_push,
        now: utc(now),
        users,
        roles,
        grants: policy
            .grants
            .iter()
            .map(|g| GrantView::of(g, now))
            .collect(),
        max_grant: format_span(policy.max_grant),
        admins: AdminsView {
            admins: ListView::present(policy, &policy.admins, now),
            approvals: policy.approvals,
        },
        baseline: policy.baseline.clone(),
        revoked,
        rules,
        paths,
    }
}

impl ApprovalsView {
    /// The view of `approvals`, members judged at `now`.
    fn of(policy: &Policy, a: &ApprovalRule, now: OffsetDateTime) -> ApprovalsView {
        ApprovalsView {
            by: ListView::present(policy, &a.by, now),
            count: a.count,
            on: a.on.iter().map(|k| k.field().to_string()).collect(),
            allow_self: a.allow_self,
            location: a.location.to_string(),
            summary: super::who_can::approvals_note(a),
        }
    }

    /// The two lines `policy show` prints under a rule or path entry.
    fn lines(&self) -> [String; 2] {
        [
            format!(
                "    {:<11} {} by {} ({})",
                "approvals:", self.count, self.by.summary, self.location
            ),
            format!("    {:<11} {}", "", self.summary),
        ]
    }
}

impl PolicyView {
    /// The view as text lines for a terminal (plain, no colour).
    pub fn to_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.push(format!(
            "policy {} at {}",
            self.policy_ref,
            self.policy_commit.as_deref().unwrap_or("(unknown commit)")
        ));
        out.push(format!("key and grant status as of {}", self.now));

        out.push(String::new());
        out.push(format!("users ({}):", self.users.len()));
        for u in &self.users {
            out.push(format!("  {}  names: {}", u.id, u.names.join(", ")));
            if u.keys.is_empty() {
                out.push("    (no keys)".to_string());
            }
            for k in &u.keys {
                let mut line = format!(
                    "    {:<8} {} {}",
                    k.status.as_str(),
                    k.algorithm,
                    k.fingerprint
                );
                if !k.comment.is_empty() {
                    line.push_str(&format!(" {}", k.comment));
                }
                if let Some(e) = &k.expires {
                    line.push_str(&format!("  expires {e}"));
                }
                if let Some(r) = &k.revoked_reason {
                    line.push_str(&format!("  revoked: {r}"));
                }
                line.push_str(&format!("  ({})", k.location));
                out.push(line);
                if let Some(cert) = &k.openpgp {
                    out.push(format!("      certificate file {}", cert.file));
                    for sk in &cert.signing_keys {
                        let mut line = format!(
                            "      signs with {} {} ({}): {}",
                            sk.role, sk.fingerprint, sk.algorithm, sk.status
                        );
                        if let Some(e) = &sk.expires {
                            let verb = if sk.status == "expired" {
                                "expired"
                            } else {
                                "expires"
                            };
                            line.push_str(&format!(", {verb} {e}"));
                        }
                        if let Some(d) = &sk.detail {
                            line.push_str(&format!(", {d}"));
                        }
                        out.push(line);
                    }
                }
            }
        }

        out.push(String::new());
        out.push(format!("roles ({}):", self.roles.len()));
        for r in &self.roles {
            out.push(format!(
                "  {} = [{}] → {}",
                r.name,
                r.written.join(", "),
                users_or_nobody(&r.users)
            ));
        }

        out.push(String::new());
        if self.grants.is_empty() {
            out.push(format!("grants: none (max_grant {})", self.max_grant));
        } else {
            out.push(format!(
                "grants ({}; time-boxed role membership, max_grant {}):",
                self.grants.len(),
                self.max_grant
            ));
        }
        for g in &self.grants {
            let window = match &g.from {
                Some(from) => format!("{from} .. {}", g.until),
                None => format!("until {}", g.until),
            };
            out.push(format!(
                "  {:<7} {} → {}  {window}  {}  reason: {}  ({})",
                g.status.as_str(),
                g.user,
                g.role,
                g.when,
                g.reason,
                g.location
            ));
        }

        out.push(String::new());
        out.push(format!("policy branch {}:", self.policy_ref));
        out.push(format!("  admins:    {}", self.admins.admins.summary));
        out.push(format!("  approvals: {}", self.admins.approvals));
        if self.require_signed_push {
            out.push("  signed push: required ([settings] require_signed_push)".to_string());
        }
        out.push("  delete, force-push: nobody (never allowed)".to_string());

        out.push(String::new());
        if self.baseline.is_empty() {
            out.push("trust baseline: none".to_string());
        } else {
            out.push(
                "trust baseline (these commits and their ancestors pass unchecked):".to_string(),
            );
            out.extend(self.baseline.iter().map(|b| format!("  {b}")));
        }

        out.push(String::new());
        out.push(format!("revoked keys ({}):", self.revoked.len()));
        for r in &self.revoked {
            let mut line = format!("  {}", r.fingerprint);
            match &r.reason {
                Some(reason) => line.push_str(&format!("  reason: {reason}")),
                None => line.push_str("  (no reason given)"),
            }
            if let Some(u) = &r.still_listed_by {
                line.push_str(&format!("  still listed by {u}"));
            }
            line.push_str(&format!("  ({})", r.location));
            out.push(line);
        }

        out.push(String::new());
        out.push(format!(
            "rules ({}; the first rule whose refs match governs a ref; other refs are unprotected):",
            self.rules.len()
        ));
        for r in &self.rules {
            out.push(format!(
                "  rule {} ({}): {}{}",
                r.number,
                r.location,
                r.refs.join(", "),
                if r.evaluate {
                    "  [evaluate mode: governs nothing; judged in addition, findings are warnings]"
                } else {
                    ""
                }
            ));
            for (field, list) in [
                ("push", &r.push),
                ("create", &r.create),
                ("delete", &r.delete),
                ("force_push", &r.force_push),
                ("signers", &r.signers),
                ("merge", &r.merge),
            ] {
                out.push(format!("    {:<11} {}", format!("{field}:"), list.summary));
            }
            out.push(format!(
                "    {:<11} {}",
                "linear:",
                if r.linear {
                    "true (merge commits are rejected)"
                } else {
                    "false"
                }
            ));
            if let Some(a) = &r.approvals {
                out.extend(a.lines());
            }
            if r.signed_push {
                out.push(format!(
                    "    {:<11} required (git push --signed; pre-receive only)",
                    "signed_push:"
                ));
            }
        }
        out.push(match self.replace_rules.as_slice() {
            [] => format!(
                "  {REPLACE_PREFIX}**: nobody may create, move or delete (no rule names \
                 {REPLACE_PREFIX} explicitly)"
            ),
            rules => format!(
                "  {REPLACE_PREFIX}**: only rules that name {REPLACE_PREFIX} explicitly govern \
                 them (rule {})",
                rules
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });

        out.push(String::new());
        if self.paths.is_empty() {
            out.push("path entries: none".to_string());
        } else {
            out.push(format!(
                "path entries ({}; every entry whose refs match applies, in addition to the rule):",
                self.paths.len()
            ));
        }
        for p in &self.paths {
            out.push(format!(
                "  path {} ({}): {}{}",
                p.number,
                p.location,
                p.paths.join(", "),
                if p.evaluate {
                    "  [evaluate mode: findings are warnings]"
                } else {
                    ""
                }
            ));
            out.push(format!("    {:<11} {}", "refs:", p.refs.join(", ")));
            out.push(format!(
                "    {:<11} {}",
                "signers:",
                p.signers
                    .as_ref()
                    .map_or("absent: the rule's signers decide alone", |s| s
                        .summary
                        .as_str())
            ));
            if let Some(a) = &p.approvals {
                out.extend(a.lines());
            }
        }
        // Names, comments and patterns come from the roles file (spec §14).
        out.into_iter().map(crate::text::escape_line).collect()
    }
}
