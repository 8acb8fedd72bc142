//! The decision: a ref update's requirements and facts + pusher → verdict. Resolves the
//! pusher (a valid push certificate wins over the environment), then judges each
//! requirement with its module, in the order the requirements give. Pure: no I/O, no clock.

use super::commits::{self, CommitRules};
use super::facts::{PushCert, PushContext, UpdateFacts};
use super::grants::Relied;
use super::policy_branch::{self, Guard};
use super::pusher::Pusher;
use super::verdict::{Code, Reason, Verdict};
use super::{approvals, certificate, paths, permission, tag};
use crate::policy::Policy;
use crate::requirements::{self, Check, Origin, Requirement, Requirements};

/// Judges one ref update under `policy`: every reason to reject, or none. Push certificates
/// are not judged ([`PushCert::NotChecked`]): the hook uses [`evaluate_signed`].
pub fn evaluate(policy: &Policy, ctx: &PushContext, facts: &UpdateFacts) -> Verdict {
    evaluate_signed(policy, ctx, &PushCert::NotChecked, facts)
}

/// Judges one ref update of a push that carries (or lacks) a push certificate, with the
/// requirements of the update under `policy` (see [`judge`]).
pub fn evaluate_signed(
    policy: &Policy,
    ctx: &PushContext,
    cert: &PushCert,
    facts: &UpdateFacts,
) -> Verdict {
    let reqs = requirements::for_update(policy, &ctx.policy_ref, &facts.update.refname, facts.kind);
    judge(policy, &reqs, ctx, cert, facts)
}

/// Judges one ref update against `reqs` (computed for it under `policy`): a valid
/// certificate's signer is the pusher, whatever the environment says; a refused certificate
/// rejects every ref of the push, protected or not; then each requirement in turn. The
/// grants the checks relied on (spec §8) end up in [`Verdict::grants`].
pub fn judge(
    policy: &Policy,
    reqs: &Requirements<'_>,
    ctx: &PushContext,
    cert: &PushCert,
    facts: &UpdateFacts,
) -> Verdict {
    let certified = certificate::judge(policy, ctx.now, cert);
    let pusher = match certified.signer {
        Some(user) => Pusher::certified(user),
        None => Pusher::resolve(policy, ctx),
    };
    let mut verdict = Verdict {
        update: facts.update.clone(),
        kind: Some(facts.kind),
        user: pusher.user.map(|u| u.id.clone()),
        rule: reqs.rule,
        reasons: Vec::new(),
        approvals: Vec::new(),
        grants: Vec::new(),
    };
    verdict.reasons.extend(certified.reason);
    let update = Update {
        policy,
        ctx,
        cert,
        pusher,
        reqs,
        facts,
    };
    let mut relied = Relied::default();
    for req in &reqs.items {
        let found = match &req.check {
            Check::Approvals { rule } => {
                let counted = approvals::check(policy, ctx, rule, &pusher, facts, &mut relied);
                verdict.approvals.extend(counted.approvals);
                counted.reasons
            }
            Check::Path { entry, scope } => {
                let found = paths::check(policy, ctx, entry, *scope, &pusher, facts, &mut relied);
                for approval in found.approvals {
                    if !verdict.approvals.contains(&approval) {
                        verdict.approvals.push(approval);
                    }
                }
                found.reasons
            }
            _ => update.check(req, &mut relied),
        };
        // The one diagnostic of the engine (`REFGUARD_LOG=refguard::engine=trace`): no I/O,
        // a disabled callsite unless a subscriber asks for it.
        tracing::trace!(origin = %req.origin, check = ?req.check, findings = found.len());
        verdict.reasons.extend(
            found
                .into_iter()
                .map(|reason| reason.from_requirement(req.origin, req.level)),
        );
    }
    verdict.grants = relied.into_grants();
    verdict
}

/// One ref update being judged: what every requirement is judged with.
struct Update<'a> {
    policy: &'a Policy,
    ctx: &'a PushContext,
    cert: &'a PushCert,
    pusher: Pusher<'a>,
    reqs: &'a Requirements<'a>,
    facts: &'a UpdateFacts,
}

impl<'a> Update<'a> {
    /// The reasons one requirement finds; the grants it relied on go to `relied`.
    fn check(&self, req: &Requirement<'_>, relied: &mut Relied<'a>) -> Vec<Reason> {
        let Update {
            policy,
            ctx,
            cert,
            pusher,
            reqs,
            facts,
        } = self;
        let refname = &facts.update.refname;
        match &req.check {
            Check::SignedPush => {
                let why = match req.origin {
                    Origin::Rule(rule) => format!("signed_push = true, rule {rule}"),
                    _ => "[settings] require_signed_push".to_string(),
                };
                certificate::required(cert, refname, &why)
                    .into_iter()
                    .collect()
            }
            Check::PolicyBranch { admins, approvals } => policy_branch::check(
                policy,
                ctx.now,
                Guard {
                    admins,
                    approvals: *approvals,
                },
                pusher,
                facts,
                relied,
            ),
            Check::Permission { list, effective } => permission::check(
                policy,
                ctx.now,
                reqs.rule,
                (*list, *effective),
                pusher,
                facts,
                relied,
            )
            .into_iter()
            .collect(),
            Check::ReplaceRef => vec![permission::replace_ref(pusher, facts)],
            Check::ApprovalRef => approvals::check_ref(policy, ctx, facts)
                .into_iter()
                .collect(),
            // Counted in `judge`, which also records the approvals that counted.
            Check::Approvals { .. } | Check::Path { .. } => Vec::new(),
            Check::Commits {
                scope,
                signers,
                merge,
                linear,
            } => match facts.commits_in(*scope) {
                Some(commits) => {
                    let rules = CommitRules {
                        signers: *signers,
                        merge: *merge,
                        linear: *linear,
                    };
                    commits::check(policy, ctx.now, rules, (refname, commits), relied)
                }
                // Fail closed: the shell must gather what a requirement asks for.
                None => vec![Reason::on_ref(
                    Code::InternalError,
                    format!("the new commits of {refname} were not examined"),
                )],
            },
            Check::Tag { signers } => tag::check(policy, ctx.now, signers, facts, relied)
                .into_iter()
                .collect(),
        }
    }
}
