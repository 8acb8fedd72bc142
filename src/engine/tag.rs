//! The check on a tag update under a rule with `signers` (spec §3.5): `new` must be an
//! annotated tag whose own signature is by a member of `signers`, pushed under the name it
//! was signed with. Pure.

use time::OffsetDateTime;

use super::facts::{SignatureCheck, TagTarget, UpdateFacts};
use super::grants::{self, Relied};
use super::signer::{self, Judged};
use super::verdict::{Code, Reason};
use crate::policy::{Policy, Principals};

/// The reason a (non-delete) tag update fails `signers`, if any; the grant that made the
/// tag's signer a member goes to `relied`.
pub(super) fn check<'p>(
    policy: &'p Policy,
    now: OffsetDateTime,
    signers: &Principals,
    facts: &'p UpdateFacts,
    relied: &mut Relied<'p>,
) -> Option<Reason> {
    let need = format!("needs an annotated tag signed by {}", signers.describe());
    let short_name = facts
        .update
        .refname
        .strip_prefix("refs/tags/")
        .unwrap_or(&facts.update.refname);
    let reason = |subject: &str, code: Code, detail: String| {
        Reason::on_object(code, facts.update.new.clone(), subject, detail)
    };
    // The shell leaves `tag` unset only if it could not tell: treat it as lightweight.
    let (name, signature) = match &facts.tag {
        None | Some(TagTarget::Lightweight) => {
            return Some(reason(
                short_name,
                Code::UnsignedTag,
                format!("lightweight tag; {need}"),
            ));
        }
        Some(TagTarget::Annotated { name, signature }) => (name.as_str(), signature),
    };
    if *signature == SignatureCheck::Unsigned {
        return Some(reason(
            name,
            Code::UnsignedTag,
            format!("tag not signed; {need}"),
        ));
    }
    let signer = signer::identify(policy, now, signature);
    let (code, note) = match signer::judge(policy, now, &signer, signers) {
        Judged::Member(_, membership) => {
            relied.note(membership);
            if name == short_name {
                return None;
            }
            // The signature covers the tag's own name: a tag signed as `v1.0` and pushed as
            // `refs/tags/v2.0` would replay someone's signature under a name they never
            // signed.
            return Some(reason(
                name,
                Code::BadSignature,
                format!(
                    "the signed tag object is named {name:?} but is pushed as {}; a tag's \
                     signature covers its own name",
                    facts.update.refname
                ),
            ));
        }
        Judged::Outsider(owner) => (
            Code::SignerNotAllowed,
            grants::lapsed(policy, signers, Some(&owner.id), now),
        ),
        Judged::Fault(code) => (code, String::new()),
    };
    Some(reason(
        name,
        code,
        format!("tag {}{note}", signer::with_need(&signer, &need)),
    ))
}
