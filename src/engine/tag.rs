//! The check on a tag update under a rule with `signers` (spec §3.5): `new` must be an
//! annotated tag whose own signature is by a member of `signers`, pushed under the name it
//! was signed with. Pure.

use time::OffsetDateTime;

use super::facts::{SignatureCheck, TagTarget, UpdateFacts};
use super::signer::{self, Judged};
use super::verdict::{Code, Reason};
use crate::policy::{Policy, Principals};

/// The reason a (non-delete) tag update fails `signers`, if any.
pub(super) fn check(
    policy: &Policy,
    now: OffsetDateTime,
    signers: &Principals,
    facts: &UpdateFacts,
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
    let code = match signer::judge(policy, now, &signer, signers) {
        // The signature covers the tag's own name: a tag signed as `v1.0` and pushed as
        // `refs/tags/v2.0` would replay someone's signature under a name they never signed.
        Judged::Member(_) if name != short_name => {
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
        Judged::Member(_) => return None,
        Judged::Outsider => Code::SignerNotAllowed,
        Judged::Fault(code) => code,
    };
    Some(reason(
        name,
        code,
        format!("tag {}", signer::with_need(&signer, &need)),
    ))
}
