//! `[[path]]` entries (spec §9): who must sign, or approve, changes to some paths, on the refs
//! the entry names, in addition to the governing rule.

use globset::{GlobBuilder, GlobSetBuilder};

use super::{Checker, Names, PATH_FIELDS};
use crate::policy::node::Node;
use crate::policy::{Location, PathEntry};

/// The refs a `[[path]]` entry applies to when it does not say: every branch ("whatever
/// branch they land on").
pub(crate) const DEFAULT_PATH_REFS: &str = "refs/heads/**";

impl Checker<'_> {
    /// `[[path]]` entries, in file order.
    pub(super) fn paths(
        &mut self,
        field: (Location, Node<'_>),
        names: &Names<'_>,
    ) -> Vec<PathEntry> {
        let mut out = Vec::new();
        for (table, at) in self.tables(field, "path") {
            let found = self.fields(table, &"[[path]]", PATH_FIELDS, at);
            let (paths, path_matcher) = self.path_globs(found.get("paths"), at);
            let (refs, ref_matcher) = match found.get("refs") {
                Some(field) => {
                    let (refs, matcher, _) = self.ref_patterns(Some(field), at, "path entry");
                    (refs, matcher)
                }
                None => {
                    let mut set = GlobSetBuilder::new();
                    if let Ok(glob) = GlobBuilder::new(DEFAULT_PATH_REFS)
                        .literal_separator(true)
                        .build()
                    {
                        set.add(glob);
                    }
                    let matcher = set.build().unwrap_or_else(|_| globset::GlobSet::empty());
                    (vec![DEFAULT_PATH_REFS.to_string()], matcher)
                }
            };
            let signers = found
                .get("signers")
                .and_then(|f| self.principals(f, &"`signers`", names));
            let approvals = found
                .get("approvals")
                .and_then(|field| self.approval_rule(field, names));
            if signers.is_none() && approvals.is_none() && found.get("signers").is_none() {
                self.warning(
                    at,
                    "ineffective-path",
                    "this [[path]] entry has neither `signers` nor `approvals`: it requires \
                     nothing",
                );
            }
            out.push(PathEntry {
                index: out.len(),
                location: at,
                paths,
                path_matcher,
                refs,
                ref_matcher,
                signers,
                approvals,
            });
        }
        out
    }

    /// `paths`: required, non-empty; each a glob on a path in the tree, relative to its root.
    fn path_globs(
        &mut self,
        field: Option<(Location, Node<'_>)>,
        at: Location,
    ) -> (Vec<String>, globset::GlobSet) {
        let mut written = Vec::new();
        let mut builder = GlobSetBuilder::new();
        let Some((key_at, node)) = field else {
            self.error(
                at,
                "missing-field",
                "[[path]] has no `paths`: write paths = [\"secrets/**\"]",
            );
            return (written, globset::GlobSet::empty());
        };
        let list = self
            .strings((key_at, node), &"`paths`", "path globs")
            .unwrap_or_default();
        if list.is_empty() && node.is_empty_list() {
            let p_at = self.at(node.span(), key_at);
            self.error(
                p_at,
                "empty-paths",
                "`paths` is empty: the entry would protect nothing",
            );
        }
        for (pattern, p_at) in list {
            written.push(pattern.to_string());
            let problem = if pattern.is_empty() {
                Some("an empty path pattern matches nothing".to_string())
            } else if pattern.starts_with('/') {
                Some(format!(
                    "path pattern `{pattern}` starts with `/`: paths are relative to the root of \
                     the tree; write `{}`",
                    pattern.trim_start_matches('/')
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                self.error(p_at, "invalid-path-pattern", problem);
                continue;
            }
            match GlobBuilder::new(pattern).literal_separator(true).build() {
                Ok(glob) => {
                    builder.add(glob);
                }
                Err(e) => self.error(
                    p_at,
                    "invalid-path-pattern",
                    format!("invalid path pattern `{pattern}`: {}", e.kind()),
                ),
            }
        }
        let matcher = builder.build().unwrap_or_else(|e| {
            self.error(
                at,
                "invalid-path-pattern",
                format!("invalid path patterns: {e}"),
            );
            globset::GlobSet::empty()
        });
        (written, matcher)
    }
}
