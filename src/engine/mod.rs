//! The decision: policy + facts about a ref update + pusher → verdict. Pure: no I/O, no git2,
//! no environment, no clock (push time arrives in [`PushContext`]).
//!
//! Decisions where the spec is silent (keep the user docs in step):
//! - Reasons come in a stable order: the ref-level permission reason, then per commit (in the
//!   order the shell gives, newest first) its signature reason, then its merge reason.
//!   Every reason is returned; capping them for display is the renderer's job.
//! - A signing key is looked up as: revoked (even if no user holds it) → unknown → expired
//!   (`expires <= now`: the boundary instant is expired) → not in the list.
//! - A merge already rejected for its signature gets no `merge-denied` too; under `linear`,
//!   a merge gets `nonlinear` and no `merge-denied` (nothing could make it pass). With `merge`
//!   set and `signers` absent, any failure to be validly signed by a `merge` member (unsigned,
//!   revoked, unknown...) is `merge-denied`, with the cause in the detail.
//! - Deletes get no commit or tag checks; non-fast-forward updates that are allowed still do.
//! - Tags: a missing tag fact counts as lightweight. The reason is about `new`, subject the
//!   tag's own name (the ref's short name for a lightweight tag).
//! - The policy branch: delete → one `policy-denied` and nothing else; create or
//!   non-fast-forward → `policy-denied`, and the other checks still report. A missing
//!   candidate on a non-delete push is an `internal-error` (fail closed). `Verdict::rule` is
//!   `None` there (no `[[rule]]` governs it).
//! - Push certificates ([`PushCert`]): a certificate without problems whose key is a current
//!   key of a user makes that user the pusher, over any environment name. A refused
//!   certificate (problems, bad signature, unknown/revoked/expired key) gives one
//!   `push-cert-invalid` on every ref of the push, protected or not, and the pusher falls back
//!   to the environment name, so the other checks still report. `signed-push-required` comes
//!   only when there is no certificate at all. Both come before the permission reason.
//!   `[settings] require_signed_push` covers the policy branch and every ref a rule governs.
//! - Grants (spec §8): membership is judged at push time through `Policy::membership`; every
//!   grant that made the pusher or a signer a member of a judged list is in
//!   [`Verdict::grants`], whatever the outcome (a rejected push by a granted pusher still
//!   relied on the grant for its permission). Granted admins count as admins on the policy
//!   branch, as pusher, signer and approver: the quorum a policy needs to stay changeable is
//!   judged without grants when the policy is validated, so a grant can never be what keeps
//!   it changeable. A refusal of someone who would be a member through a grant that has
//!   ended (or not started) says so: `; bob's grant of maintainers ended at ... (roles.toml:40)`.

mod approvals;
mod certificate;
mod commits;
mod facts;
mod grants;
mod history;
mod judge;
mod paths;
mod permission;
mod policy_branch;
mod pusher;
mod signer;
mod tag;
mod verdict;

#[cfg(test)]
mod tests;

pub use facts::{
    ApprovalFact, CommitFacts, KeyId, ObjectId, PolicyCandidate, PolicyChange, PushCert,
    PushContext, RefUpdate, SignatureCheck, TagTarget, Touch, UpdateFacts, UpdateKind,
};
pub use history::{
    Judgement, PolicyStep, SignatureStatus, SignedBy, judge_commit, judge_policy_step, judge_tag,
    signed_by,
};
pub use judge::{evaluate, evaluate_signed, judge};
pub use verdict::{Approval, Code, Reason, Verdict};
