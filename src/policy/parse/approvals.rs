//! `approvals = { by, count, on, allow_self }` (spec §7), on a `[[rule]]` (and, later, on a
//! `[[path]]` entry).

use super::{APPROVAL_FIELDS, Checker, Names};
use crate::policy::node::Node;
use crate::policy::{ApprovalRule, ListKind, Location};

impl Checker<'_> {
    /// An `approvals` table; `None` (after reporting) when it is not usable.
    pub(super) fn approval_rule(
        &mut self,
        field: (Location, Node<'_>),
        names: &Names<'_>,
    ) -> Option<ApprovalRule> {
        let (table, at) = self.table(field, &"`approvals`")?;
        let found = self.fields(table, &"`approvals`", APPROVAL_FIELDS, at);
        let Some(by_field) = found.get("by") else {
            self.error(
                at,
                "missing-field",
                "`approvals` has no `by`: write approvals = { by = [\"release-managers\"], \
                 count = 1 }",
            );
            return None;
        };
        let by = self.principals(by_field, &"`approvals.by`", names)?;
        let count = match found.get("count") {
            None => 1,
            Some((key_at, node)) => {
                let c_at = self.at(node.span(), key_at);
                match node.as_integer() {
                    Some(n) if n >= 1 => u32::try_from(n).unwrap_or_else(|_| {
                        self.error(c_at, "invalid-approvals", "`approvals.count` is too large");
                        1
                    }),
                    Some(n) => {
                        self.error(
                            c_at,
                            "invalid-approvals",
                            format!("`approvals.count` must be at least 1, not {n}"),
                        );
                        1
                    }
                    None => {
                        self.wrong_type(c_at, &"`approvals.count`", "an integer", node);
                        1
                    }
                }
            }
        };
        let on = match found.get("on") {
            None => ApprovalRule::KINDS.to_vec(),
            Some(field) => {
                let mut on = Vec::new();
                for (word, w_at) in self
                    .strings(field, &"`approvals.on`", "update kinds")
                    .unwrap_or_default()
                {
                    match ApprovalRule::KINDS.iter().find(|k| k.field() == word) {
                        Some(kind) if !on.contains(kind) => on.push(*kind),
                        Some(_) => {}
                        None => self.error(
                            w_at,
                            "invalid-approval-kind",
                            format!(
                                "`{word}` is not a kind of update approvals can be needed on: \
                                 write some of \"create\", \"push\", \"force_push\"{}",
                                super::did_you_mean(
                                    word,
                                    ApprovalRule::KINDS.iter().map(|k: &ListKind| k.field())
                                )
                                .map(|c| format!("; did you mean `{c}`?"))
                                .unwrap_or_default()
                            ),
                        ),
                    }
                }
                on
            }
        };
        let allow_self = self.flag(found.get("allow_self"), "allow_self");
        Some(ApprovalRule {
            by,
            count,
            on,
            allow_self,
            location: at,
        })
    }
}
