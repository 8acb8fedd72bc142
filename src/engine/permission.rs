//! The permission check (spec §3.1): is the pusher in the list this kind of update needs?
//! And the replace-ref guard (spec §14). Pure.

use time::OffsetDateTime;

use super::facts::UpdateFacts;
use super::grants::{self, Relied};
use super::pusher::Pusher;
use super::verdict::Reason;
use crate::policy::{Absent, Effective, ListKind, Policy, REPLACE_PREFIX};
use crate::requirements::RuleRef;
use crate::update::UpdateKind;

/// The reason the pusher may not make this update under `list`, if any; the grant that
/// made the pusher a member goes to `relied`.
pub(super) fn check<'p>(
    policy: &'p Policy,
    now: OffsetDateTime,
    rule: Option<RuleRef>,
    (list, effective): (ListKind, Effective<'_>),
    pusher: &Pusher<'_>,
    facts: &UpdateFacts,
    relied: &mut Relied<'p>,
) -> Option<Reason> {
    let allowed = match effective {
        Effective::Listed { list, .. } => relied.member(policy.membership(list, pusher.id(), now)),
        Effective::Absent(absent) => absent == Absent::Anyone,
    };
    if allowed {
        return None;
    }
    let spec = list.spec();
    let (field, names) = match effective {
        // `create` falls back to `push` when absent: say which list was applied.
        Effective::Listed { list: names, via } if via != list => (
            format!("{}, as {}", spec.field, via.field()),
            names.describe(),
        ),
        Effective::Listed { list: names, .. } => (spec.field.to_string(), names.describe()),
        Effective::Absent(absent) => (spec.field.to_string(), absent.describe().to_string()),
    };
    let rule = rule.map(|r| format!("; rule {r}")).unwrap_or_default();
    let note = match effective {
        Effective::Listed { list, .. } => grants::lapsed(policy, list, pusher.id(), now),
        Effective::Absent(_) => String::new(),
    };
    Some(Reason::on_ref(
        spec.code,
        format!(
            "{} may not {} {} ({field}: {names}{rule}){note}",
            pusher.describe(),
            spec.verb,
            facts.update.refname,
        ),
    ))
}

/// A replace ref that no rule names explicitly: nobody may create, move or delete it.
pub(super) fn replace_ref(pusher: &Pusher<'_>, facts: &UpdateFacts) -> Reason {
    Reason::on_ref(
        ListKind::Push.spec().code,
        format!(
            "{} may not {} {}: replace refs make git on the server show another tree under a \
             commit id, and no rule names {REPLACE_PREFIX} explicitly, so nobody may create, \
             move or delete them",
            pusher.describe(),
            match facts.kind {
                UpdateKind::Create => "create",
                UpdateKind::Delete => "delete",
                UpdateKind::FastForward | UpdateKind::NonFastForward => "move",
            },
            facts.update.refname
        ),
    )
}
