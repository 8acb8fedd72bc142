//! Lint-only warnings about `[[rule]]`s: rules and patterns that can never take effect.
//! Pure: works on the patterns the validator collected.

use std::collections::HashMap;

use globset::{GlobBuilder, GlobSetBuilder};

use std::collections::BTreeSet;

use super::{Absent, Diagnostic, Effective, ListKind, Location, Principals, Rule, Severity};

/// The default policy branch (spec §1); rules never guard it.
pub(crate) const POLICY_REF: &str = "refs/meta/policy";

/// A rule's valid patterns, as the validator saw them.
pub(crate) struct RuleDraft {
    /// Where the `[[rule]]` header is.
    pub(crate) location: Location,
    /// Patterns that start with `refs/` and compile, with where each is written.
    pub(crate) patterns: Vec<(String, Location)>,
}

const GLOB_META: &[char] = &['*', '?', '[', ']', '{', '}', '\\'];

fn warning(location: Location, code: &'static str, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Warning,
        code,
        location,
        message: super::one_line(message),
    }
}

fn lines(rules: &[RuleDraft], indices: &[usize]) -> String {
    let mut lines: Vec<usize> = indices.iter().map(|&i| rules[i].location.line).collect();
    lines.sort_unstable();
    lines.dedup();
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    match text.len() {
        1 => format!("the rule at line {} matches", text[0]),
        _ => format!("the rules at lines {} match", text.join(", ")),
    }
}

/// Warnings for rules shadowed by earlier ones (first match wins) and for patterns that
/// match the policy branch.
///
/// A pattern is shadowed when an earlier rule has the identical pattern, when it has no glob
/// metacharacters and an earlier rule's patterns match it as a ref name, or when an earlier
/// rule has `PREFIX/**` and the pattern's literal part starts with `PREFIX/`. Linear in the
/// number of patterns (one combined glob set, hash maps for the rest).
pub(crate) fn rule_warnings(rules: &[RuleDraft]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut builder = GlobSetBuilder::new();
    let mut owner = Vec::new();
    let mut exact: HashMap<&str, usize> = HashMap::new();
    let mut subtree: HashMap<&str, usize> = HashMap::new();
    for (i, rule) in rules.iter().enumerate() {
        for (k, (pattern, _)) in rule.patterns.iter().enumerate() {
            if let Ok(glob) = GlobBuilder::new(pattern).literal_separator(true).build() {
                builder.add(glob);
                owner.push((i, k));
            }
            exact.entry(pattern.as_str()).or_insert(i);
            if let Some(prefix) = pattern.strip_suffix("/**")
                && !prefix.contains(GLOB_META)
            {
                subtree.entry(prefix).or_insert(i);
            }
        }
    }
    // The validator compiled each pattern already; a failure here only loses warnings.
    let Ok(set) = builder.build() else {
        return out;
    };

    for (j, rule) in rules.iter().enumerate() {
        let mut shadowed = Vec::new();
        for (pattern, location) in &rule.patterns {
            let mut by = Vec::new();
            if let Some(&i) = exact.get(pattern.as_str()) {
                by.push(i);
            }
            let head_end = pattern.find(GLOB_META).unwrap_or(pattern.len());
            if head_end == pattern.len() {
                by.extend(set.matches(pattern).into_iter().map(|g| owner[g].0));
            }
            by.extend(
                pattern[..head_end]
                    .match_indices('/')
                    .filter_map(|(k, _)| subtree.get(&pattern[..k]).copied()),
            );
            by.retain(|&i| i < j);
            if let Some(&first) = by.iter().min() {
                shadowed.push((pattern, *location, first));
            }
        }
        if rule.patterns.is_empty() {
            continue;
        }
        if shadowed.len() == rule.patterns.len() {
            let by: Vec<usize> = shadowed.iter().map(|s| s.2).collect();
            out.push(warning(
                rule.location,
                "unreachable-rule",
                format!(
                    "this rule can never match: {} every ref it would (the first \
                     matching rule wins)",
                    lines(rules, &by)
                ),
            ));
        } else {
            for (pattern, location, first) in shadowed {
                out.push(warning(
                    location,
                    "shadowed-pattern",
                    format!(
                        "pattern `{pattern}` never takes effect here: {} it first",
                        lines(rules, &[first])
                    ),
                ));
            }
        }
    }

    for g in set.matches(POLICY_REF) {
        let (rule, k) = owner[g];
        let (pattern, location) = &rules[rule].patterns[k];
        out.push(warning(
            *location,
            "rule-matches-policy-ref",
            format!(
                "pattern `{pattern}` matches the policy branch {POLICY_REF}, which is guarded \
                 by [policy], never by rules"
            ),
        ));
    }
    out
}

/// Warnings about what a rule's lists allow: replace refs made writable (spec §14), and
/// delete plus create without force-push, which rewrites history in two pushes (spec §14).
/// `all_users` is every user id of the file (what an absent `push` or `"*"` lets through).
pub(crate) fn permission_warnings(rules: &[Rule], all_users: &BTreeSet<String>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in rules {
        // Who may, and whether anyone at all may (an absent `push`: even unknown pushers).
        let who = |kind: ListKind| -> (BTreeSet<&str>, bool) {
            match rule.effective(kind) {
                Effective::Listed { list, .. } => (members(list, all_users), false),
                Effective::Absent(Absent::Anyone) => {
                    (all_users.iter().map(String::as_str).collect(), true)
                }
                Effective::Absent(_) => (BTreeSet::new(), false),
            }
        };
        if rule.names_replace_refs {
            let writers: Vec<&str> = ListKind::PERMISSIONS
                .into_iter()
                .filter(|&kind| {
                    let (users, anyone) = who(kind);
                    anyone || !users.is_empty()
                })
                .map(ListKind::field)
                .collect();
            if !writers.is_empty() {
                out.push(warning(
                    rule.location,
                    "writable-replace-refs",
                    format!(
                        "this rule lets people write replace refs ({}): git on the server shows \
                         a replace ref's tree under the original commit id (git log, git show, \
                         git archive --remote, mirrors, web views); refguard install turns \
                         core.useReplaceRefs off in the repository, but clones and mirrors that \
                         fetch refs/replace/* still honour them",
                        writers.join(", ")
                    ),
                ));
            }
        }
        if let Some(approvals) = &rule.approvals {
            let approvers = members(&approvals.by, all_users);
            if approvals.on.is_empty() {
                out.push(warning(
                    approvals.location,
                    "ineffective-approvals",
                    "`approvals.on` is empty: no update of this rule needs approvals".to_string(),
                ));
            } else if (approvers.len() as u64) < u64::from(approvals.count) {
                out.push(warning(
                    approvals.location,
                    "unreachable-approvals",
                    format!(
                        "approvals need {} distinct approvers but `by` has only {} user{}: no \
                         update of this rule can get them (unless a grant adds members)",
                        approvals.count,
                        approvers.len(),
                        if approvers.len() == 1 { "" } else { "s" }
                    ),
                ));
            }
        }
        let (delete, create, force) = (
            who(ListKind::Delete).0,
            who(ListKind::Create).0,
            who(ListKind::ForcePush).0,
        );
        let rewriters: Vec<&str> = delete
            .intersection(&create)
            .filter(|u| !force.contains(*u))
            .copied()
            .collect();
        if !rewriters.is_empty() {
            out.push(warning(
                rule.location,
                "delete-recreate",
                format!(
                    "this rule lets {} delete and re-create its refs but not force-push them: \
                     deleting and re-creating rewrites history in two pushes; add them to \
                     force_push if that is meant, or take delete away",
                    some(&rewriters)
                ),
            ));
        }
    }
    out
}

/// The user ids a list lets through (`"*"`: every user of the file).
fn members<'a>(p: &'a Principals, all_users: &'a BTreeSet<String>) -> BTreeSet<&'a str> {
    if p.any_user {
        all_users.iter().map(String::as_str).collect()
    } else {
        p.users.iter().map(String::as_str).collect()
    }
}

/// `alice, bob and 3 others`: up to three names.
fn some(names: &[&str]) -> String {
    match names.len() {
        0..=3 => names.join(", "),
        n => format!("{} and {} others", names[..3].join(", "), n - 3),
    }
}
