//! `refguard hook pre-receive|update`: read git's input, judge every ref update, print the
//! rejections, exit 1 on any. Fails closed: malformed input, repository errors and panics
//! all reject.

use std::io::Read;
use std::panic::{self, AssertUnwindSafe};

use time::OffsetDateTime;

use super::{EXIT_OK, EXIT_REJECT, HookCommand};
use crate::audit::{self, Decision, Hook, Record, RecordContext};
use crate::engine::{Code, PushContext, RefUpdate, Verdict};
use crate::git::Repo;
use crate::hook::{parse_pre_receive, parse_update_args};
use crate::report::{self, Mode};
use crate::session::{Session, pusher_from};

/// Runs a hook; a panic anywhere inside is a rejection, never an accept.
pub fn run(cmd: HookCommand) -> u8 {
    panic::set_hook(Box::new(|info| {
        eprintln!("refguard: internal error: {info}");
    }));
    match panic::catch_unwind(AssertUnwindSafe(|| judge(cmd))) {
        Ok(code) => code,
        Err(_) => {
            eprintln!(
                "refguard: rejected the push: [{}] refguard crashed; the push was refused to stay safe",
                Code::InternalError
            );
            eprintln!("refguard:   hint: {}", Code::InternalError.hint());
            EXIT_REJECT
        }
    }
}

fn judge(cmd: HookCommand) -> u8 {
    let hook = match cmd {
        HookCommand::PreReceive => Hook::PreReceive,
        HookCommand::Update { .. } => Hook::Update,
    };
    let (mode, parsed) = match cmd {
        HookCommand::PreReceive => {
            let mut input = Vec::new();
            let parsed = match std::io::stdin().lock().read_to_end(&mut input) {
                Ok(_) => parse_pre_receive(&input).map_err(|e| e.to_string()),
                Err(e) => Err(format!("cannot read standard input: {e}")),
            };
            (Mode::PreReceive, parsed)
        }
        HookCommand::Update { refname, old, new } => (
            Mode::PerRef,
            parse_update_args(&[refname, old, new])
                .map(|u| vec![u])
                .map_err(|e| e.to_string()),
        ),
    };
    let updates = match parsed {
        Ok(updates) => updates,
        Err(problem) => {
            eprintln!(
                "refguard: rejected the push: [{}] {problem}",
                Code::InternalError
            );
            eprintln!("refguard:   hint: {}", Code::InternalError.hint());
            return EXIT_REJECT;
        }
    };
    let verdicts = decide_all(&updates, hook, mode);
    for line in report::render(&verdicts, mode) {
        eprintln!("{line}");
    }
    if verdicts.iter().all(Verdict::accepted) {
        if std::env::var_os("REFGUARD_LOG").is_some_and(|v| !v.is_empty()) {
            for v in &verdicts {
                eprintln!(
                    "refguard: accepted {} ({}..{}) {} user={} rule={}",
                    v.update.refname,
                    v.update.old.short(),
                    v.update.new.short(),
                    v.kind.map(|k| k.as_str()).unwrap_or("-"),
                    v.user.as_deref().unwrap_or("-"),
                    v.rule.as_deref().unwrap_or("none")
                );
            }
        }
        EXIT_OK
    } else {
        EXIT_REJECT
    }
}

/// Opens the repository from the hook environment (so quarantined objects are visible),
/// judges every update and records the decisions in the audit log. Operational errors,
/// including an audit log that cannot be written, reject every update.
fn decide_all(updates: &[RefUpdate], hook: Hook, mode: Mode) -> Vec<Verdict> {
    let fail = |what: String| -> Vec<Verdict> {
        updates
            .iter()
            .map(|u| Verdict::reject(u.clone(), Code::InternalError, what.clone()))
            .collect()
    };
    let repo = match Repo::open_from_env() {
        Ok(repo) => repo,
        Err(e) => return fail(format!("cannot open the repository: {e}")),
    };
    let session = match Session::load(&repo) {
        Ok(s) => s,
        Err(e) => return fail(format!("cannot read the policy: {e}")),
    };
    let ctx = PushContext {
        pusher: pusher_from(|k| std::env::var(k).ok()),
        now: OffsetDateTime::now_utc(),
        policy_ref: session.policy_ref().to_string(),
    };
    let verdicts: Vec<Verdict> = updates.iter().map(|u| session.decide(u, &ctx)).collect();
    let log = match audit_log_path(&repo) {
        Ok(path) => path,
        Err(e) => return fail(format!("cannot locate the audit log: {e}")),
    };
    let cx = RecordContext {
        time: ctx.now,
        repo: repo_name(&repo),
        hook,
        pusher: ctx.pusher.clone(),
        policy: session.policy_commit().cloned(),
    };
    let all_or_nothing_rejected =
        mode == Mode::PreReceive && verdicts.iter().any(|v| !v.accepted());
    let records: Vec<Record> = verdicts
        .iter()
        .map(|v| {
            let mut record = Record::from_verdict(v, &cx);
            // pre-receive is all-or-nothing: a ref that was fine on its own is refused with
            // the rest (its `reasons` stay empty; the rejected refs carry the why).
            if all_or_nothing_rejected {
                record.decision = Decision::Reject;
            }
            record
        })
        .collect();
    if let Err(e) = audit::append(&log, &records) {
        return fail(format!(
            "the audit log {} cannot be written, so nothing is accepted: {e}",
            log.display()
        ));
    }
    verdicts
}

/// `git config refguard.auditLog`, else `<GIT_DIR>/refguard/audit.jsonl` (spec §6).
pub fn audit_log_path(repo: &Repo) -> Result<std::path::PathBuf, crate::git::Error> {
    Ok(match repo.config_string("refguard.auditLog")? {
        Some(p) => {
            let p = std::path::PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                repo.git_dir().join(p)
            }
        }
        None => repo.git_dir().join("refguard").join("audit.jsonl"),
    })
}

/// The repository's git dir as an absolute path, for the `repo` field.
pub fn repo_name(repo: &Repo) -> String {
    let dir = repo.git_dir();
    dir.canonicalize()
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}
