//! `[[rule]]` entries: patterns, the lists of the table in [`crate::policy::LISTS`],
//! `linear`, `signed_push`.

use globset::{GlobBuilder, GlobSetBuilder};

use super::{Checker, Names, RULE_FIELDS};
use crate::policy::model;
use crate::policy::node::Node;
use crate::policy::warnings::RuleDraft;
use crate::policy::{LIST_KINDS, LISTS, Location, Principals, Rule};

impl Checker<'_> {
    /// `[[rule]]` entries, in file order; `drafts` receives their valid patterns for lint.
    pub(super) fn rules(
        &mut self,
        field: (Location, Node<'_>),
        names: &Names<'_>,
        drafts: &mut Vec<RuleDraft>,
    ) -> Vec<Rule> {
        let mut rules = Vec::new();
        for (table, at) in self.tables(field, "rule") {
            let found = self.fields(table, &"[[rule]]", RULE_FIELDS, at);
            let (refs, matcher, patterns) = self.ref_patterns(found.get("refs"), at, "rule");
            let mut lists: [Option<Principals>; LIST_KINDS] = Default::default();
            for spec in &LISTS {
                if let Some(field) = found.get(spec.field) {
                    let what = format_args!("`{}`", spec.field);
                    lists[spec.kind as usize] = self.principals(field, &what, names);
                }
            }
            let linear = self.flag(found.get("linear"), "linear");
            let signed_push = self.flag(found.get("signed_push"), "signed_push");
            let approvals = found
                .get("approvals")
                .and_then(|field| self.approval_rule(field, names));
            drafts.push(RuleDraft {
                location: at,
                patterns,
            });
            let names_replace_refs = refs.iter().any(|p| model::pattern_names_replace_refs(p));
            rules.push(Rule {
                names_replace_refs,
                index: rules.len(),
                location: at,
                refs,
                matcher,
                lists,
                linear,
                signed_push,
                approvals,
            });
        }
        rules
    }

    /// A `refs` field (of a `[[rule]]` or `[[path]]`, named `what`): the patterns as written,
    /// their compiled matcher (git-style: `*` within a component, `**` across), and the
    /// valid ones with where each is written (for lint). A missing or empty `refs` and a
    /// pattern that is not under `refs/` or not a valid glob are errors.
    pub(super) fn ref_patterns(
        &mut self,
        field: Option<(Location, Node<'_>)>,
        at: Location,
        what: &str,
    ) -> (Vec<String>, globset::GlobSet, Vec<(String, Location)>) {
        let mut refs = Vec::new();
        let mut patterns = Vec::new();
        let mut builder = GlobSetBuilder::new();
        match field {
            None => self.error(
                at,
                "missing-field",
                format!("{what} has no `refs`: write refs = [\"refs/heads/main\"]"),
            ),
            Some((key_at, node)) => {
                let list = self
                    .strings((key_at, node), &"`refs`", "ref patterns")
                    .unwrap_or_default();
                if list.is_empty() && node.is_empty_list() {
                    let r_at = self.at(node.span(), key_at);
                    self.error(
                        r_at,
                        "empty-refs",
                        format!("`refs` is empty: the {what} would match nothing"),
                    );
                }
                for (pattern, p_at) in list {
                    refs.push(pattern.to_string());
                    if !pattern.starts_with("refs/") {
                        self.error(
                            p_at,
                            "invalid-pattern",
                            format!("pattern `{pattern}` must start with `refs/`"),
                        );
                        continue;
                    }
                    match GlobBuilder::new(pattern).literal_separator(true).build() {
                        Ok(glob) => {
                            builder.add(glob);
                            patterns.push((pattern.to_string(), p_at));
                        }
                        Err(e) => self.error(
                            p_at,
                            "invalid-pattern",
                            format!("invalid pattern `{pattern}`: {}", e.kind()),
                        ),
                    }
                }
            }
        }
        let matcher = builder.build().unwrap_or_else(|e| {
            self.error(at, "invalid-pattern", format!("invalid patterns: {e}"));
            globset::GlobSet::empty()
        });
        (refs, matcher, patterns)
    }
}
