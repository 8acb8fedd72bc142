//! The client side's commands (spec §13): `install --client`, the `pre-push` hook, and
//! `verify --trust-root`. Prints; the checks live in `client` and `chain`.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Read, Write};
use std::ops::ControlFlow;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use serde_json::json;
use time::OffsetDateTime;

use super::admin::{hooks_dir, open_repo, write_hooks};
use super::{EXIT_ERROR, EXIT_OK, EXIT_REJECT, Format};
use crate::chain::{self, BreakKind, Chain};
use crate::client::prepush::{self, Judged, Mode, Outcome};
use crate::client::verify;
use crate::engine::{ObjectId, Reason};
use crate::git::Repo;
use crate::history::{Outcome as RowOutcome, Row};
use crate::report;
use crate::session::{policy_ref_setting, read_policy};
use crate::text;

/// What the pre-push hook does when the remote's policy would reject a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientMode {
    /// Stop the push: nothing leaves the machine (exit 1).
    Block,
    /// Print the rejection and push anyway.
    Warn,
}

impl ClientMode {
    fn mode(self) -> Mode {
        match self {
            ClientMode::Block => Mode::Block,
            ClientMode::Warn => Mode::Warn,
        }
    }
}

/// `refguard install --client [--repo CLONE] [--mode block|warn] [--force]`.
pub fn install(repo: Option<PathBuf>, mode: ClientMode, force: bool) -> Result<u8> {
    let repo = open_repo(repo)?;
    let dir = hooks_dir(&repo)?;
    write_hooks(
        &dir,
        &[("pre-push", include_str!("../../hooks/pre-push"))],
        force,
    )?;
    let mode = mode.mode();
    repo.set_config_string("refguard.clientMode", mode.as_str())
        .context("cannot set refguard.clientMode")?;
    println!(
        "refguard: set refguard.clientMode = {} ({})",
        mode.as_str(),
        match mode {
            Mode::Block => "a push the remote's policy rejects is stopped before it leaves",
            Mode::Warn => "a push the remote's policy rejects is reported and goes ahead",
        }
    );
    let user = repo.config_string("refguard.user")?;
    let key = repo.config_string("user.signingKey")?;
    match (user, key) {
        (Some(user), _) => println!(
            "refguard: pushes are judged as \"{}\" (refguard.user)",
            text::escape(&user)
        ),
        (None, Some(_)) => println!(
            "refguard: pushes are judged as the policy user who holds user.signingKey \
             (git config refguard.user NAME names you explicitly)"
        ),
        (None, None) => println!(
            "refguard: note: set git config refguard.user to your name on the server (or \
             user.signingKey to your SSH key): until then the check cannot tell who pushes"
        ),
    }
    Ok(EXIT_OK)
}

/// `refguard hook pre-push <remote> <url>` with the ref updates on stdin. Never fails the
/// push for its own trouble: whatever it cannot judge it says in one line and lets go.
pub fn pre_push(remote: OsString, url: OsString) -> u8 {
    let remote = remote.to_string_lossy().into_owned();
    let url = url.to_string_lossy().into_owned();
    let shown = |s: &str| text::escape(s).into_owned();
    let cannot = |why: &str| {
        eprintln!(
            "refguard: cannot check this push against {}'s policy: {}; pushing anyway (the \
             server decides)",
            shown(&remote),
            shown(why)
        );
        EXIT_OK
    };
    let mut input = Vec::new();
    if let Err(e) = io::stdin().lock().read_to_end(&mut input) {
        return cannot(&format!("cannot read standard input: {e}"));
    }
    let updates = match crate::hook::parse_pre_push(&input) {
        Ok(updates) => updates,
        Err(e) => return cannot(&e.to_string()),
    };
    let request = prepush::Request {
        remote: remote.clone(),
        url,
        updates,
    };
    // A panic is the check's trouble, not the push's.
    panic::set_hook(Box::new(|_| {}));
    let checked = panic::catch_unwind(AssertUnwindSafe(|| {
        let repo = Repo::discover_default().map_err(|e| e.to_string())?;
        let mode = repo
            .config_string("refguard.clientMode")
            .map_err(|e| e.to_string())?;
        let mode = Mode::from_config(mode.as_deref())
            .map_err(|value| format!("refguard.clientMode is \"{value}\", not block or warn"))?;
        Ok::<_, String>((
            mode,
            prepush::check(&repo, &request, OffsetDateTime::now_utc()),
        ))
    }));
    let _ = panic::take_hook();
    let (mode, outcome) = match checked {
        Ok(Ok(checked)) => checked,
        Ok(Err(why)) => return cannot(&why),
        Err(_) => return cannot("refguard crashed"),
    };
    match outcome {
        Outcome::Nothing => EXIT_OK,
        Outcome::CannotJudge(why) => cannot(&why),
        Outcome::Judged(judged) => report_push(&remote, mode, &judged),
    }
}

/// Prints the pre-push verdicts: the server's own rejection lines, framed by what the check
/// did about them.
fn report_push(remote: &str, mode: Mode, judged: &Judged) -> u8 {
    let remote = text::escape(remote);
    for note in &judged.notes {
        eprintln!("refguard: warning: {}", text::escape(note));
    }
    for (update, why) in &judged.unjudged {
        eprintln!(
            "refguard: cannot judge {} here: {}; the server decides",
            text::escape(&update.refname),
            text::escape(why)
        );
    }
    if !judged.rejected() {
        // Accepted: only what rules in evaluate mode would have rejected (spec §11), the
        // same warning blocks the server prints.
        for line in report::render(&judged.verdicts, report::Mode::PerRef) {
            eprintln!("{line}");
        }
        return EXIT_OK;
    }
    match mode {
        Mode::Block => eprintln!("refguard: {remote} would reject this push; nothing was sent"),
        Mode::Warn => eprintln!(
            "refguard: warning: {remote} would reject this push; pushing anyway \
             (refguard.clientMode = warn)"
        ),
    }
    for line in report::render(&judged.verdicts, report::Mode::PerRef) {
        eprintln!("{line}");
    }
    eprintln!(
        "refguard: (checked before sending, against {remote}'s {} at {}, as {})",
        text::escape(&judged.policy_ref),
        judged.policy.short(),
        text::escape(&judged.identity.describe())
    );
    match mode {
        Mode::Block => {
            eprintln!(
                "refguard: fix the above and push again, or skip this check with git push \
                 --no-verify (the server decides either way)"
            );
            EXIT_REJECT
        }
        Mode::Warn => EXIT_OK,
    }
}

// ---- verify --------------------------------------------------------------------------------

/// What `refguard verify` was asked.
#[derive(Debug)]
pub struct VerifyRequest {
    /// The pinned policy commit, as given.
    pub trust_root: String,
    /// The clone (default: $GIT_DIR, else the repository around the cwd).
    pub repo: Option<PathBuf>,
    /// The policy branch in the clone (default: refguard.policyRef, else refs/meta/policy).
    pub policy_ref: Option<String>,
    /// Only these refs' history (default: every protected ref).
    pub refs: Vec<String>,
    /// Output format.
    pub format: Format,
}

/// Commits (or tags) between progress updates on a terminal.
const PROGRESS_EVERY: u64 = 100;

/// Counts of the history judged.
#[derive(Debug, Default)]
struct History {
    commits: u64,
    tags: u64,
    judged: u64,
    baseline: u64,
    violations: Vec<serde_json::Value>,
    by_code: std::collections::BTreeMap<&'static str, u64>,
    lines: Vec<String>,
}

impl History {
    fn row(&mut self, row: &Row<'_>) {
        match row.kind {
            "tag" => self.tags += 1,
            _ => self.commits += 1,
        }
        match row.outcome {
            RowOutcome::Baseline => self.baseline += 1,
            RowOutcome::Server => {}
            RowOutcome::Ok => self.judged += 1,
            RowOutcome::Violation => {
                self.judged += 1;
                for reason in row.reasons {
                    *self.by_code.entry(reason.code.as_str()).or_default() += 1;
                    self.lines.push(text::escape_line(format!(
                        "refguard:   {}: {}",
                        row.refname,
                        report::reason_line(reason, row.kind)
                    )));
                }
                self.violations.push(json!({
                    "type": row.kind,
                    "id": row.id.as_str(),
                    "ref": row.refname,
                    "summary": row.summary,
                    "reasons": reasons_json(row.reasons),
                }));
            }
        }
    }
}

/// `refguard verify --trust-root COMMIT [--repo DIR] [--policy-ref REF] [--ref REF...]`.
pub fn verify(req: VerifyRequest) -> Result<u8> {
    let Some(root) = ObjectId::parse(req.trust_root.trim()) else {
        eprintln!(
            "refguard: --trust-root takes a full commit id ({} is not 40 or 64 hex digits): \
             pin the exact policy commit you trust, since a name or an abbreviation could \
             name another one tomorrow",
            text::escape(&req.trust_root)
        );
        return Ok(EXIT_ERROR);
    };
    let repo = open_repo(req.repo)?;
    let policy_ref = match req.policy_ref {
        Some(name) => name,
        None => policy_ref_setting(&repo)?,
    };
    let now = OffsetDateTime::now_utc();
    let progress = io::stderr().is_terminal();
    let tip = verify::policy_tip(&repo, &policy_ref)?;
    let facts = verify::gather_chain(&repo, &policy_ref, &root, &tip, now, |n| {
        if progress && n.is_multiple_of(PROGRESS_EVERY) {
            eprint!("\rrefguard: reading the policy chain: {n} commits");
        }
    });
    if progress {
        eprint!("\r{:60}\r", "");
    }
    let facts = facts?;
    let chain = chain::authenticate(&facts)?;
    let policy = match read_policy(&repo, &chain.authenticated)? {
        Ok(policy) => policy,
        Err(detail) => bail!(
            "the authenticated policy at {} is unusable: {detail}",
            chain.authenticated.short()
        ),
    };

    for refname in &req.refs {
        let reqs = crate::requirements::for_update(
            &policy,
            &policy_ref,
            refname,
            crate::update::UpdateKind::Create,
        );
        if !reqs.items.iter().any(|r| {
            matches!(
                r.check,
                crate::requirements::Check::Commits { .. }
                    | crate::requirements::Check::Tag { .. }
                    | crate::requirements::Check::PolicyBranch { .. }
            )
        }) {
            eprintln!(
                "refguard: warning: no rule of the policy protects {}: its history is listed \
                 but nothing in it is judged (in an ordinary clone the server's branches are \
                 refs/remotes/...; verify a mirror clone to see them under their own names)",
                text::escape(refname)
            );
        }
    }

    let mut history = History::default();
    let mut seen = 0u64;
    let audited = verify::history(&repo, &policy, &policy_ref, &req.refs, now, |row| {
        history.row(row);
        seen += 1;
        if progress && seen.is_multiple_of(PROGRESS_EVERY) {
            eprint!("\rrefguard: history: {seen} checked");
        }
        ControlFlow::Continue(())
    });
    if progress {
        eprint!("\r{:60}\r", "");
    }
    audited.context("cannot judge the history")?;

    let ok = chain.broken.is_none() && history.violations.is_empty();
    match req.format {
        Format::Json => {
            let value = json!({
                "verified": ok,
                "policy_ref": policy_ref,
                "trust_root": root.as_str(),
                "tip": tip.as_str(),
                "chain": chain_json(&chain),
                "history": {
                    "policy": chain.authenticated.as_str(),
                    "refs": req.refs,
                    "commits": history.commits,
                    "tags": history.tags,
                    "judged": history.judged,
                    "baseline": history.baseline,
                    "violations": history.violations.len(),
                    "violations_by_code": history.by_code,
                    "findings": history.violations,
                },
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        Format::Text => print_verification(&policy_ref, &root, &tip, &chain, &history)?,
    }
    Ok(if ok { EXIT_OK } else { EXIT_REJECT })
}

fn reasons_json(reasons: &[Reason]) -> Vec<serde_json::Value> {
    reasons
        .iter()
        .map(|r| {
            json!({
                "code": r.code.as_str(),
                "commit": r.commit.as_ref().map(ObjectId::as_str),
                "detail": r.detail,
            })
        })
        .collect()
}

fn chain_json(chain: &Chain) -> serde_json::Value {
    json!({
        "unbroken": chain.broken.is_none(),
        "authenticated": chain.authenticated.as_str(),
        "commits": chain.commits,
        "unverified": chain.unverified,
        "steps": chain.steps.iter().map(|s| json!({
            "from": s.from.as_str(),
            "to": s.to.as_str(),
            "judged_at": crate::policy::utc(s.at),
            "commits": s.commits,
            "approvers": s.approvers,
            "roles_changed": s.roles_changed,
            "policy_changed": s.changed,
        })).collect::<Vec<_>>(),
        "break": chain.broken.as_ref().map(|b| json!({
            "kind": b.kind.as_str(),
            "after": b.after.as_str(),
            "commit": b.commit.as_str(),
            "summary": b.summary,
            "reasons": reasons_json(&b.reasons),
        })),
    })
}

fn print_verification(
    policy_ref: &str,
    root: &ObjectId,
    tip: &ObjectId,
    chain: &Chain,
    history: &History,
) -> Result<()> {
    let mut out = io::stdout().lock();
    let plural = |n: usize, one: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    writeln!(
        out,
        "refguard: policy chain {}: trust root {} .. tip {}, {}",
        text::escape(policy_ref),
        root.short(),
        tip.short(),
        plural(chain.commits, "commit")
    )?;
    for step in &chain.steps {
        let approvers = if step.approvers.is_empty() {
            "-".to_owned()
        } else {
            step.approvers.join(", ")
        };
        writeln!(
            out,
            "{}",
            text::escape_line(format!(
                "refguard:   step {}..{}  {}  {:10}  approved by {approvers}{}",
                step.from.short(),
                step.to.short(),
                crate::policy::utc(step.at),
                plural(step.commits, "commit"),
                match (step.changed, step.roles_changed) {
                    (false, _) => "  (policy unchanged)",
                    (true, false) => "  (certificates changed)",
                    (true, true) => "",
                }
            ))
        )?;
    }
    match &chain.broken {
        None => writeln!(
            out,
            "refguard: chain: unbroken, {} verified; the policy at {} is authentic",
            plural(chain.steps.len(), "step"),
            chain.authenticated.short()
        )?,
        Some(b) => {
            writeln!(
                out,
                "refguard: chain: BROKEN after {} ({} verified, {} after it not verified)",
                b.after.short(),
                plural(chain.steps.len(), "step"),
                plural(chain.unverified, "commit")
            )?;
            let subject = if b.summary.is_empty() {
                String::new()
            } else {
                format!(" {:?}", b.summary)
            };
            match b.kind {
                BreakKind::NotDescendant => writeln!(
                    out,
                    "refguard:   [not-descendant] the tip {} does not descend from the trust root \
                     {}: the policy branch was rewritten, or the trust root is not from this \
                     branch",
                    tip.short(),
                    root.short()
                )?,
                BreakKind::ServerWritten => {
                    writeln!(
                        out,
                        "{}",
                        text::escape_line(format!(
                            "refguard:   [server-written] commit {}{subject}: written on the \
                             server by refguard init or refguard policy reset, not approved by \
                             the policy before it",
                            b.commit.short()
                        ))
                    )?;
                    writeln!(
                        out,
                        "refguard:   if the server's administrators confirm it out of band, \
                         verify from there: refguard verify --trust-root {}",
                        b.commit
                    )?;
                }
                BreakKind::NotApproved => {
                    writeln!(
                        out,
                        "refguard:   [not-approved] no change from {} on is approved by the \
                         policy before it:",
                        b.after.short()
                    )?;
                    for reason in &b.reasons {
                        writeln!(
                            out,
                            "{}",
                            text::escape_line(format!(
                                "refguard:     {}",
                                report::reason_line(reason, "commit")
                            ))
                        )?;
                    }
                }
            }
        }
    }
    let judged_by = if chain.broken.is_some() {
        "the last authenticated policy"
    } else {
        "the authenticated policy"
    };
    let codes: Vec<String> = history
        .by_code
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect();
    writeln!(
        out,
        "refguard: history against {judged_by} at {}: {}, {}: {} judged, {} baseline; {}{}",
        chain.authenticated.short(),
        plural(history.commits as usize, "commit"),
        plural(history.tags as usize, "tag"),
        history.judged,
        history.baseline,
        plural(history.violations.len(), "violation"),
        if codes.is_empty() {
            String::new()
        } else {
            format!(" ({})", codes.join(", "))
        }
    )?;
    for line in &history.lines {
        writeln!(out, "{line}")?;
    }
    if chain.broken.is_none() && history.violations.is_empty() {
        writeln!(out, "refguard: verified")?;
    } else {
        writeln!(out, "refguard: NOT verified")?;
    }
    Ok(())
}
