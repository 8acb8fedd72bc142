//! `refguard hook pre-receive|update`: read git's input, judge every ref update, log every
//! decision, print the rejections, exit 1 on any. Fails closed: malformed input, repository
//! errors, a log that cannot be written and panics all reject — and every one of those
//! rejections is logged too (spec §6, v2), as far as a log can be found at all.

use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use time::OffsetDateTime;

use super::{EXIT_OK, EXIT_REJECT, HookCommand, diag};
use crate::audit::{self, Decision, Hook, Record, RecordContext};
use crate::engine::{Code, RefUpdate, Verdict};
use crate::git::{self, Repo};
use crate::hook::{BadInput, parse_pre_receive_lines, parse_update_raw};
use crate::pushcert::Coverage;
use crate::report::{self, Mode};
use crate::session::{Session, push_cert, pusher_from};
use crate::text;

/// The message of the last panic on any thread, kept by the panic hook so that the
/// rejection and its audit record can say what broke (instead of git showing a raw panic).
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Runs a hook; a panic anywhere inside is a rejection, never an accept, and is logged.
pub fn run(cmd: HookCommand) -> u8 {
    panic::set_hook(Box::new(|info| {
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(info.to_string());
        }
    }));
    let (hook, mode) = match cmd {
        HookCommand::PreReceive => (Hook::PreReceive, Mode::PreReceive),
        HookCommand::Update { .. } => (Hook::Update, Mode::PerRef),
        // The client's hook: nothing of the server's fail-closed machinery applies.
        HookCommand::PrePush { remote, url } => return super::client::pre_push(remote, url),
    };
    let input = read_input(cmd);
    let now = OffsetDateTime::now_utc();
    let pusher = pusher_from(|k| std::env::var(k).ok());

    // The log is located before anything is judged, so that whatever happens next (an
    // error, a panic) can still be recorded.
    let located = guarded(locate_log).unwrap_or_else(|crash| Located {
        repo: None,
        log: fallback_log_path(),
        repo_name: fallback_repo_name(),
        problem: Some(format!(
            "refguard crashed while opening the repository: {crash}"
        )),
    });
    // Diagnostics (spec §15) start once the repository says where they go; without
    // REFGUARD_LOG nothing is installed and every span below is a no-op.
    if let Some(settings) = diag::Settings::from_env() {
        diag::init_hook(&settings, &log_sink(&located));
    }
    let push_span = tracing::info_span!(
        "push",
        hook = hook.as_str(),
        pid = std::process::id(),
        repo = %located.repo_name,
        updates = input.len(),
    );
    let _push = push_span.enter();
    if let Some(problem) = &located.problem {
        tracing::warn!("{problem}");
    }

    let judged = match &located.repo {
        Some(repo) => guarded(|| judge(repo, &input, mode, now, pusher.clone())),
        None => Ok(Judged::failed(
            &input,
            located
                .problem
                .as_deref()
                .unwrap_or("cannot open the repository"),
        )),
    };
    let mut judged = judged.unwrap_or_else(|crash| {
        Judged::failed(
            &input,
            &format!("refguard crashed; the push was refused to stay safe: {crash}"),
        )
    });

    let cx = RecordContext {
        time: now,
        repo: located.repo_name.clone(),
        hook,
        pusher,
        policy: judged.policy.clone(),
        org_policy: judged.org_policy.clone(),
    };
    let all_or_nothing_rejected =
        mode == Mode::PreReceive && judged.verdicts.iter().any(|v| !v.accepted());
    let records: Vec<Record> = judged
        .verdicts
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
    let logged = tracing::debug_span!("log", records = records.len()).in_scope(|| {
        let logged =
            guarded(|| audit::append_lines(&located.log, &records).map_err(|e| e.to_string()));
        match logged {
            Ok(Ok(lines)) => {
                // The local log has decided; syslog only gets a copy, and cannot fail the
                // push.
                if let Err(crash) = guarded(|| ship_to_syslog(&located, &records, &lines)) {
                    tracing::warn!("audit records not shipped to syslog: {crash}");
                }
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(crash) => Err(format!("refguard crashed: {crash}")),
        }
    });
    if let Err(problem) = logged {
        tracing::error!("{problem}");
        let what = format!(
            "the audit log {} cannot be written, so nothing is accepted: {problem}",
            located.log.display()
        );
        judged.verdicts = judged
            .verdicts
            .iter()
            .map(|v| Verdict::reject(v.update.clone(), Code::InternalError, what.clone()))
            .collect();
    }

    for line in report::render(&judged.verdicts, mode) {
        eprintln!("{line}");
    }
    if judged.verdicts.iter().all(Verdict::accepted) {
        // The one diagnostic the pusher may see, at `info` (REFGUARD_LOG=1 or info): the
        // subscriber writes its message to stderr as it is (see `diag`).
        for v in &judged.verdicts {
            tracing::info!(
                target: diag::ACCEPTED,
                "refguard: accepted {} ({}..{}) {} user={} rule={}",
                text::escape(&v.update.refname),
                v.update.old.short(),
                v.update.new.short(),
                v.kind.map(|k| k.as_str()).unwrap_or("-"),
                v.user.as_deref().map_or_else(|| "-".into(), text::escape),
                v.rule.map_or_else(|| "none".to_string(), |r| r.to_string())
            );
        }
        EXIT_OK
    } else {
        EXIT_REJECT
    }
}

/// Where the hook's detailed diagnostics go: `git config refguard.logFile` (read without
/// the repository when it could not be opened).
fn log_sink(located: &Located) -> diag::HookSink {
    let (value, git_dir) = match &located.repo {
        Some(repo) => (
            repo.config_string("refguard.logFile").ok().flatten(),
            repo.git_dir().to_path_buf(),
        ),
        None => {
            let dir = hook_git_dir();
            (git::setting_without_repo(&dir, "refguard.logFile"), dir)
        }
    };
    diag::HookSink::from_setting(value.as_deref(), &git_dir)
}

/// Sends the records just logged to syslog when `git config refguard.auditSyslog` is true
/// (to `refguard.auditSyslogSocket`, default `/dev/log`). Never blocks and never fails the
/// push: a problem is a diagnostic (`warn`), for the admin's log only.
fn ship_to_syslog(located: &Located, records: &[Record], lines: &[String]) {
    // Read from the repository, or from its config file when it could not be opened (its
    // rejection is logged, and shipped, all the same).
    let dir = hook_git_dir();
    let enabled = match &located.repo {
        Some(repo) => repo.config_bool("refguard.auditSyslog"),
        None => Ok(git::bool_setting_without_repo(&dir, "refguard.auditSyslog")),
    };
    match enabled {
        Ok(Some(true)) => {}
        Ok(_) => return,
        Err(e) => {
            tracing::warn!("audit records not shipped to syslog: {e}");
            return;
        }
    }
    let socket = match &located.repo {
        Some(repo) => repo.config_string("refguard.auditSyslogSocket"),
        None => Ok(git::setting_without_repo(
            &dir,
            "refguard.auditSyslogSocket",
        )),
    };
    let socket = match socket {
        Ok(path) => PathBuf::from(path.unwrap_or_else(|| audit::syslog::DEFAULT_SOCKET.into())),
        Err(e) => {
            tracing::warn!("audit records not shipped to syslog: {e}");
            return;
        }
    };
    let _span = tracing::debug_span!("syslog", socket = %socket.display()).entered();
    let host = audit::syslog::hostname();
    let pid = std::process::id();
    let now = OffsetDateTime::now_utc();
    let messages: Vec<String> = records
        .iter()
        .zip(lines)
        .map(|(record, line)| audit::syslog::frame(line, record.decision, now, &host, pid))
        .collect();
    match audit::syslog::send(&socket, &messages) {
        Ok(sent) => tracing::debug!(sent, "audit records shipped to syslog"),
        Err(e) => tracing::warn!(
            "audit records not shipped to syslog at {}: {e}",
            socket.display()
        ),
    }
}

/// Runs `f`, turning a panic (on this thread, or re-raised from a worker) into an `Err` with
/// its message.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let recorded = LAST_PANIC.lock().ok().and_then(|mut last| last.take());
        recorded
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string())
    })
}

/// The hook's input: one entry per ref update git announced, each well-formed or not.
type Input = Vec<Result<RefUpdate, BadInput>>;

/// Reads pre-receive's stdin or the update hook's arguments, line by line: a malformed line
/// does not hide the well-formed ones (they are judged and logged with their own reasons).
fn read_input(cmd: HookCommand) -> Input {
    match cmd {
        HookCommand::PreReceive => {
            let mut input = Vec::new();
            match std::io::stdin().lock().read_to_end(&mut input) {
                Ok(_) => parse_pre_receive_lines(&input),
                Err(e) => vec![Err(BadInput {
                    refname: String::new(),
                    old: crate::engine::ObjectId::zero(),
                    new: crate::engine::ObjectId::zero(),
                    problem: format!("cannot read standard input: {e}"),
                })],
            }
        }
        HookCommand::Update { refname, old, new } => {
            let args: [&[u8]; 3] = [refname.as_bytes(), old.as_bytes(), new.as_bytes()];
            vec![parse_update_raw(&args)]
        }
        // Handed to the client by `run` before any input is read.
        HookCommand::PrePush { .. } => Vec::new(),
    }
}

/// The repository and where its decisions are logged.
struct Located {
    /// The repository, when it could be opened.
    repo: Option<Repo>,
    /// The audit log: the configured one, else `<GIT_DIR>/refguard/audit.jsonl`.
    log: PathBuf,
    /// The `repo` field of the records.
    repo_name: String,
    /// Why the repository could not be used, if it could not.
    problem: Option<String>,
}

fn locate_log() -> Located {
    let repo = match Repo::open_from_env() {
        Ok(repo) => repo,
        Err(e) => {
            return Located {
                repo: None,
                log: fallback_log_path(),
                repo_name: fallback_repo_name(),
                problem: Some(format!("cannot open the repository: {e}")),
            };
        }
    };
    match audit_log_path(&repo) {
        Ok(log) => Located {
            repo_name: repo_name(&repo),
            log,
            repo: Some(repo),
            problem: None,
        },
        Err(e) => Located {
            repo_name: repo_name(&repo),
            log: fallback_log_path(),
            repo: None,
            problem: Some(format!("cannot locate the audit log: {e}")),
        },
    }
}

/// `$GIT_DIR` as git hands it to a hook (the hook's working directory when unset).
fn hook_git_dir() -> PathBuf {
    std::env::var_os("GIT_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// Where a decision is logged when the repository cannot be opened: the log that
/// `refguard.auditLog` names in the repository's own config file (or the global and system
/// ones), else the default `<GIT_DIR>/refguard/audit.jsonl`.
fn fallback_log_path() -> PathBuf {
    let dir = hook_git_dir();
    match git::audit_log_setting(&dir) {
        Some(p) => resolve(&dir, PathBuf::from(p)),
        None => dir.join("refguard").join("audit.jsonl"),
    }
}

fn fallback_repo_name() -> String {
    let dir = hook_git_dir();
    dir.canonicalize().unwrap_or(dir).display().to_string()
}

fn resolve(git_dir: &Path, p: PathBuf) -> PathBuf {
    if p.is_absolute() { p } else { git_dir.join(p) }
}

/// What the engine decided for the push, and under which policy.
struct Judged {
    verdicts: Vec<Verdict>,
    policy: Option<crate::engine::ObjectId>,
    /// The organisation policy commit judged under (spec §10).
    org_policy: Option<crate::engine::ObjectId>,
}

impl Judged {
    /// Every update rejected for one reason that has nothing to do with it (the repository
    /// cannot be opened, refguard crashed): malformed input keeps its own problem.
    fn failed(input: &Input, what: &str) -> Judged {
        let verdicts = input
            .iter()
            .map(|line| match line {
                Ok(update) => Verdict::reject(update.clone(), Code::InternalError, what),
                Err(bad) => bad_input_verdict(bad),
            })
            .collect();
        Judged {
            verdicts,
            policy: None,
            org_policy: None,
        }
    }
}

/// The rejection of a malformed input line.
fn bad_input_verdict(bad: &BadInput) -> Verdict {
    Verdict::reject(
        RefUpdate {
            refname: bad.refname.clone(),
            old: bad.old.clone(),
            new: bad.new.clone(),
        },
        Code::InternalError,
        format!("malformed hook input: {}", bad.problem),
    )
}

/// Judges every update against the policy before the push, with the repository opened from
/// the hook environment (so quarantined objects are visible). Operational errors reject
/// every update.
fn judge(
    repo: &Repo,
    input: &Input,
    mode: Mode,
    now: OffsetDateTime,
    pusher: Option<String>,
) -> Judged {
    // The fail-closed path for a crash, exercised for real by the integration tests. Debug
    // builds only: the release binary has no such switch.
    #[cfg(debug_assertions)]
    if std::env::var_os("REFGUARD_TEST_PANIC").is_some() {
        panic!("REFGUARD_TEST_PANIC is set");
    }
    let session = match Session::load(repo) {
        Ok(s) => s,
        Err(e) => return Judged::failed(input, &format!("cannot read the policy: {e}")),
    };
    let updates: Vec<RefUpdate> = input
        .iter()
        .filter_map(|l| l.as_ref().ok().cloned())
        .collect();
    let ctx = session.context(pusher, now, updates.clone());
    // pre-receive sees the whole push, which the certificate must sign exactly; the update
    // hook sees one ref (and git gives it no GIT_PUSH_CERT, so a signed push needs pre-receive).
    let coverage = match mode {
        Mode::PreReceive => Coverage::Exact,
        Mode::PerRef => Coverage::Contains,
    };
    let lookup = |k: &str| std::env::var(k).ok();
    let cert = match push_cert(&session, lookup, &updates, coverage) {
        Ok(cert) => cert,
        Err(e) => {
            let mut judged =
                Judged::failed(input, &format!("cannot read the push certificate: {e}"));
            judged.policy = session.policy_commit().cloned();
            judged.org_policy = session.org().and_then(|o| o.commit.clone());
            return judged;
        }
    };
    let verdicts = input
        .iter()
        .map(|line| match line {
            Ok(update) => session.decide_signed(update, &ctx, &cert),
            Err(bad) => bad_input_verdict(bad),
        })
        .collect();
    Judged {
        verdicts,
        policy: session.policy_commit().cloned(),
        org_policy: session.org().and_then(|o| o.commit.clone()),
    }
}

/// `git config refguard.auditLog`, else `<GIT_DIR>/refguard/audit.jsonl` (spec §6).
pub fn audit_log_path(repo: &Repo) -> Result<PathBuf, crate::git::Error> {
    Ok(match repo.config_string("refguard.auditLog")? {
        Some(p) => resolve(repo.git_dir(), PathBuf::from(p)),
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
