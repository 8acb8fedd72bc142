//! Lint-only warnings about `[[rule]]`s: rules and patterns that can never take effect.
//! Pure: works on the patterns the validator collected.

use std::collections::HashMap;

use globset::{GlobBuilder, GlobSetBuilder};

use super::{Diagnostic, Location, Severity};

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
