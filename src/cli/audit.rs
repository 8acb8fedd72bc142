//! `refguard audit verify|log|rotate|history` (and `replay`, in `replay.rs`): the security team's commands over the audit
//! log (spec §6) and over the repository's history. Prints; the checks themselves live in
//! `audit` (the chain) and `engine` (the judgement of each commit).

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use super::admin::open_repo;
use super::hook::audit_log_path;
use super::{EXIT_OK, EXIT_REJECT};
use crate::audit::{self, AuditError, ChainStart, Decision, Filter, Record, printable};
use crate::history::{Outcome, Row};
use crate::session::{PolicyState, Session};

/// The `refguard audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain: prints the record count, time span, chain start and
    /// last hash; exit 1 names the first broken line as FILE:LINE: reason.
    ///
    /// Keep the printed last hash somewhere else (a ticket, syslog, another host): the chain
    /// alone cannot show that lines were cut off the end.
    Verify {
        /// The repository whose configured log to check (default: $GIT_DIR, else the
        /// repository around the current directory).
        #[arg(long, conflicts_with = "file")]
        repo: Option<PathBuf>,
        /// A log file to check instead (e.g. a rotated audit-<UTC>.jsonl).
        file: Option<PathBuf>,
    },
    /// Print the audit log's records, oldest first, optionally filtered.
    Log {
        /// The repository whose configured log to read.
        #[arg(long, conflicts_with = "file")]
        repo: Option<PathBuf>,
        /// A log file to read instead.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Only records at or after DATE: YYYY-MM-DD (midnight UTC) or RFC 3339.
        #[arg(long, value_name = "DATE", value_parser = parse_since)]
        since: Option<OffsetDateTime>,
        /// Only records for exactly this ref (full name, e.g. refs/heads/main).
        #[arg(long = "ref", value_name = "REF")]
        refname: Option<String>,
        /// Only accepted or only rejected updates.
        #[arg(long, value_parser = parse_decision)]
        decision: Option<Decision>,
        /// Only decisions that relied on a time-boxed grant ([[grant]] in roles.toml): the
        /// record's `grants` names them; the table's GRANTS column shows them as user:role.
        #[arg(long)]
        grants: bool,
        /// Only decisions that a rule or path entry in evaluate mode would have rejected
        /// (mode = "evaluate"): the record's `evaluate` lists the findings; the table's
        /// WOULD-REJECT column shows them as code@location.
        #[arg(long)]
        would_reject: bool,
        /// table: aligned columns; json: the records as JSON lines, printed as they are read.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Re-judge the logged updates of this repository against a candidate roles file and
    /// print which decisions would change (accepted → rejected, and the reverse), with the
    /// codes the candidate gives.
    ///
    /// Each update whose objects are still in the repository is judged by the hook's own
    /// engine as of its logged time (key expiry, grants), as its logged pusher, against the
    /// repository's refs as they are now. Policy-branch and approval updates are not
    /// replayed (their guard is not in the rules). Exit 0 when nothing would change, 1 when
    /// something would, 2 on errors.
    Replay {
        /// The repository.
        #[arg(long)]
        repo: Option<PathBuf>,
        /// The candidate roles file.
        #[arg(long = "policy", value_name = "CANDIDATE.toml")]
        policy: PathBuf,
        /// Only updates logged at or after TIME: YYYY-MM-DD (midnight UTC) or RFC 3339.
        #[arg(long, value_name = "TIME", value_parser = parse_since)]
        since: Option<OffsetDateTime>,
        /// table: one line per change with the candidate's reasons under it, then a
        /// summary; json: one object per change, then a final {"summary": ...} line.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Move the log aside to audit-<UTC>.jsonl and start a new log whose chain continues
    /// from it. Use this, never a bare `mv`, which would break the chain.
    Rotate {
        /// The repository whose configured log to rotate.
        #[arg(long)]
        repo: Option<PathBuf>,
    },
    /// Re-check the history of every protected ref against the current policy: who signed
    /// each commit, with which key, and what the policy says about it now.
    ///
    /// Protected refs are those matched by a rule with `signers`, `merge` or `linear`, and
    /// the policy branch. Each commit is listed once, under the first ref (in rule order,
    /// then by name; the policy branch last) that reaches it, and judged by that ref's rule.
    /// Commits reachable from a `[trust] baseline` id are listed as `baseline` and not
    /// judged. Tags under a rule with `signers` are judged by their own signature. Keys are
    /// judged as of now, so a key that expired since is reported as `expired-key`.
    ///
    /// Rows stream as they are judged, from one walk over all protected refs: children
    /// before parents, otherwise newest first (the commits of different refs interleave);
    /// tags last. When the rows go to a file or pipe, a terminal's stderr shows progress.
    /// Exit 1 when there is any violation.
    History {
        /// The repository.
        #[arg(long)]
        repo: Option<PathBuf>,
        /// Only this ref (full name), whatever its rule.
        #[arg(long = "ref", value_name = "REF")]
        refname: Option<String>,
        /// table: one row per commit, then a summary; json: one object per line, then a
        /// final {"summary": ...} line.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
}

/// Output format of the audit listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Plain aligned text.
    Table,
    /// One JSON object per line.
    Json,
}

/// Runs one `refguard audit` subcommand.
pub fn run(cmd: AuditCommand) -> Result<u8> {
    match cmd {
        AuditCommand::Verify { repo, file } => verify(repo, file),
        AuditCommand::Log {
            repo,
            file,
            since,
            refname,
            decision,
            grants,
            would_reject,
            format,
        } => log(
            repo,
            file,
            &Filter {
                since,
                refname,
                decision,
                grants,
                would_reject,
            },
            format,
        ),
        AuditCommand::Rotate { repo } => rotate(repo),
        AuditCommand::Replay {
            repo,
            policy,
            since,
            format,
        } => super::replay::replay(repo, &policy, since, format),
        AuditCommand::History {
            repo,
            refname,
            format,
        } => history(repo, refname, format),
    }
}

/// The log a command works on: FILE, or the configured log of the repository.
fn log_path(repo: Option<PathBuf>, file: Option<PathBuf>) -> Result<PathBuf> {
    match file {
        Some(file) => Ok(file),
        None => {
            let repo = open_repo(repo)?;
            audit_log_path(&repo).context("cannot locate the audit log")
        }
    }
}

/// `refguard audit verify [--repo DIR | FILE]`.
fn verify(repo: Option<PathBuf>, file: Option<PathBuf>) -> Result<u8> {
    let path = log_path(repo, file)?;
    let report = audit::verify(&path)
        .with_context(|| format!("cannot verify the audit log {}", path.display()))?;
    let name = path.display();
    let span = match (report.first_time, report.last_time) {
        (Some(first), Some(last)) => format!("{} .. {}", rfc3339(first), rfc3339(last)),
        _ => "-".to_owned(),
    };
    let start = match &report.start {
        ChainStart::Genesis => "genesis (64 zeros)".to_owned(),
        ChainStart::Link(hash) => format!(
            "rotation link {hash} (from {})",
            audit::log::link_path(&path).display()
        ),
    };
    let mut out = io::stdout().lock();
    match &report.first_bad {
        None => writeln!(out, "{name}: intact")?,
        Some(bad) => writeln!(out, "{name}:{}: {}", bad.line_no, bad.reason)?,
    }
    let intact = if report.is_intact() { "" } else { " (intact)" };
    writeln!(out, "  records{intact}: {}", report.records)?;
    writeln!(out, "  time span: {span}")?;
    writeln!(out, "  chain start: {start}")?;
    writeln!(out, "  last hash{intact}: {}", report.last_hash)?;
    Ok(if report.is_intact() {
        EXIT_OK
    } else {
        EXIT_REJECT
    })
}

/// `refguard audit log`: a table of every matching record, or JSON lines as they are read.
/// A line that is not a record is reported on stderr and makes the exit code 1.
fn log(
    repo: Option<PathBuf>,
    file: Option<PathBuf>,
    filter: &Filter,
    format: ListFormat,
) -> Result<u8> {
    let path = log_path(repo, file)?;
    let records = audit::read(&path, filter)
        .with_context(|| format!("cannot read the audit log {}", path.display()))?;
    let mut out = io::stdout().lock();
    let mut bad = 0u64;
    let mut table = Vec::new();
    for record in records {
        match record {
            Ok(record) => match format {
                ListFormat::Table => table.push(record),
                ListFormat::Json => {
                    if write_line(&mut out, &record_json(&record)?)?.is_break() {
                        return Ok(EXIT_OK);
                    }
                }
            },
            Err(e @ AuditError::BadRecord { .. }) => {
                bad += 1;
                eprintln!("refguard: {e}");
            }
            Err(e) => return Err(e.into()),
        }
    }
    if format == ListFormat::Table {
        for line in audit::table(&table) {
            if write_line(&mut out, &line)?.is_break() {
                return Ok(EXIT_OK);
            }
        }
    }
    Ok(if bad == 0 { EXIT_OK } else { EXIT_REJECT })
}

/// The record as the one JSON line it is in the log (field order is the format's).
fn record_json(record: &Record) -> Result<String> {
    record.to_line().context("cannot serialize a record")
}

/// `refguard audit rotate [--repo DIR]`.
fn rotate(repo: Option<PathBuf>) -> Result<u8> {
    let path = log_path(repo, None)?;
    match audit::rotate(&path, OffsetDateTime::now_utc()) {
        Ok(rotation) => {
            println!("refguard: rotated {}", path.display());
            println!("  archived: {}", rotation.archived.display());
            println!(
                "  link: {} (the next record's prev; also in {})",
                rotation.link,
                audit::log::link_path(&path).display()
            );
            Ok(EXIT_OK)
        }
        // Nothing logged since the last rotation (an empty log, or none yet beside the
        // rotation link): not a failure for a scheduled rotation.
        Err(AuditError::NothingToRotate { .. }) => {
            eprintln!("refguard: {} is empty; nothing to rotate", path.display());
            Ok(EXIT_OK)
        }
        Err(AuditError::Io { ref source, .. })
            if source.kind() == io::ErrorKind::NotFound
                && audit::log::link_path(&path).exists() =>
        {
            eprintln!("refguard: {} is empty; nothing to rotate", path.display());
            Ok(EXIT_OK)
        }
        Err(e) => Err(e).with_context(|| format!("cannot rotate {}", path.display())),
    }
}

/// Writes one line; a closed pipe (`| head`) is a quiet stop, not an error.
fn write_line(out: &mut impl Write, line: &str) -> Result<ControlFlow<()>> {
    match writeln!(out, "{line}") {
        Ok(()) => Ok(ControlFlow::Continue(())),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ControlFlow::Break(())),
        Err(e) => Err(e).context("cannot write to standard output"),
    }
}

/// `--since`: `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time.
fn parse_since(text: &str) -> std::result::Result<OffsetDateTime, String> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD) or an RFC 3339 time"))
}

fn parse_decision(text: &str) -> std::result::Result<Decision, String> {
    text.parse()
}

pub(super) fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

// ---- history -------------------------------------------------------------------------------

/// Counts for the summary.
#[derive(Debug, Default)]
struct Summary {
    commits: u64,
    tags: u64,
    baseline: u64,
    server: u64,
    judged: u64,
    allowed_signer: u64,
    violations: u64,
    by_code: BTreeMap<&'static str, u64>,
    signers: BTreeMap<String, u64>,
    signatures: BTreeMap<&'static str, u64>,
}

/// Streams rows to stdout and keeps the counts; shows progress on a terminal's stderr.
struct Printer<W: Write> {
    out: W,
    format: ListFormat,
    summary: Summary,
    /// When the audit started, if progress is shown.
    progress: Option<Instant>,
    closed: bool,
}

/// Rows between progress updates.
const PROGRESS_EVERY: u64 = 1000;
/// Width of the progress line (cleared with spaces: no terminal escapes).
const PROGRESS_WIDTH: usize = 60;

impl<W: Write> Printer<W> {
    fn row(&mut self, row: &Row<'_>) -> Result<ControlFlow<()>> {
        let allowed_signer = row.allowed_signer;
        let s = &mut self.summary;
        match row.kind {
            "tag" => s.tags += 1,
            _ => s.commits += 1,
        }
        match row.outcome {
            Outcome::Baseline => s.baseline += 1,
            Outcome::Server => s.server += 1,
            Outcome::Ok | Outcome::Violation => {
                s.judged += 1;
                s.allowed_signer += u64::from(allowed_signer);
                if row.outcome == Outcome::Violation {
                    s.violations += 1;
                }
                for reason in row.reasons {
                    *s.by_code.entry(reason.code.as_str()).or_default() += 1;
                }
            }
        }
        *s.signatures
            .entry(row.signed_by.status.as_str())
            .or_default() += 1;
        if let Some(user) = &row.signed_by.user {
            match s.signers.get_mut(user) {
                Some(n) => *n += 1,
                None => {
                    s.signers.insert(user.clone(), 1);
                }
            }
        }
        let seen = s.commits + s.tags;
        if let Some(started) = self.progress
            && seen.is_multiple_of(PROGRESS_EVERY)
        {
            let rate = seen as f64 / started.elapsed().as_secs_f64().max(0.001);
            let line = format!("refguard: {seen} checked ({rate:.0}/s)");
            eprint!("\r{line:PROGRESS_WIDTH$}");
        }
        if self.closed {
            return Ok(ControlFlow::Break(()));
        }
        let line = match self.format {
            ListFormat::Table => table_row(row),
            ListFormat::Json => row_json(row).to_string(),
        };
        let flow = write_line(&mut self.out, &line)?;
        self.closed = flow.is_break();
        Ok(flow)
    }

    /// Blanks the progress line, if one is shown.
    fn clear_progress(&self) {
        if self.progress.is_some() {
            eprint!("\r{:PROGRESS_WIDTH$}\r", "");
        }
    }

    fn finish(mut self) -> Result<Summary> {
        self.clear_progress();
        if !self.closed {
            let lines = match self.format {
                ListFormat::Table => summary_lines(&self.summary),
                ListFormat::Json => vec![summary_json(&self.summary).to_string()],
            };
            for line in lines {
                if write_line(&mut self.out, &line)?.is_break() {
                    break;
                }
            }
        }
        match self.out.flush() {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                Err(e).context("cannot write to standard output")?
            }
            _ => {}
        }
        Ok(self.summary)
    }
}

/// `refguard audit history [--repo DIR] [--ref REF] [--format table|json]`.
fn history(repo: Option<PathBuf>, only: Option<String>, format: ListFormat) -> Result<u8> {
    let repo = open_repo(repo)?;
    let session = Session::load(&repo)?;
    let policy = match session.state() {
        PolicyState::Loaded { policy, .. } => policy,
        PolicyState::Missing => bail!(
            "this repository has no policy branch {}; nothing to check against",
            session.policy_ref()
        ),
        PolicyState::Broken { detail, .. } => {
            bail!(
                "the policy at {} is unusable: {detail}",
                session.policy_ref()
            )
        }
        PolicyState::OrgUnusable { detail, .. } => bail!("{detail}"),
    };
    let ctx = session.context(None, OffsetDateTime::now_utc(), Vec::new());
    // Rows stream as they are judged. Into a pipe or file they go in blocks rather than a
    // write per line; a person watching the terminal sees each row, and when the rows go
    // elsewhere the terminal shows how far the audit is.
    let on_terminal = io::stdout().is_terminal();
    let out: Box<dyn Write> = if on_terminal {
        Box::new(io::stdout().lock())
    } else {
        Box::new(io::BufWriter::with_capacity(1 << 16, io::stdout().lock()))
    };
    let progress = (io::stderr().is_terminal() && !on_terminal).then(|| {
        let line = "refguard: walking the history of the protected refs...";
        eprint!("{line:PROGRESS_WIDTH$}");
        Instant::now()
    });
    let mut printer = Printer {
        out,
        format,
        summary: Summary::default(),
        progress,
        closed: false,
    };
    if format == ListFormat::Table {
        printer.closed = write_line(&mut printer.out, &table_header())?.is_break();
    }
    if !printer.closed {
        let mut failed = None;
        let walked =
            crate::history::audit(&repo, policy, &ctx, only.as_deref(), |row| {
                match printer.row(row) {
                    Ok(flow) => flow,
                    Err(e) => {
                        failed = Some(e);
                        ControlFlow::Break(())
                    }
                }
            });
        let error = match (failed, walked) {
            (Some(e), _) => Some(e),
            (None, Err(e)) => Some(e.into()),
            (None, Ok(())) => None,
        };
        if let Some(e) = error {
            // The error goes on a line of its own, not after the progress line.
            printer.clear_progress();
            return Err(e);
        }
    }
    let summary = printer.finish()?;
    Ok(if summary.violations == 0 {
        EXIT_OK
    } else {
        EXIT_REJECT
    })
}

/// The table's header, in the rows' widths (a `SHA256:` fingerprint is 50 characters; longer
/// refs and the last columns run free).
fn table_header() -> String {
    format!(
        "{:8} {:11} {:10} {:12} {:13} {:50}  {:24}  {}  {}",
        "COMMIT", "DATE", "VERDICT", "SIGNATURE", "USER", "KEY", "REF", "CODES", "SUBJECT"
    )
}

fn table_row(row: &Row<'_>) -> String {
    let date = row
        .time
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(format_description!("[year]-[month]-[day]")).ok())
        .unwrap_or_else(|| "-".to_owned());
    let codes: Vec<&str> = row.reasons.iter().map(|r| r.code.as_str()).collect();
    let line = format!(
        "{:8} {:11} {:10} {:12} {:13} {:50}  {:24}  {}  {}",
        row.id.short(),
        date,
        row.outcome.as_str(),
        row.signed_by.status.as_str(),
        printable(row.signed_by.user.as_deref().unwrap_or("-")),
        row.signed_by.fingerprint.as_deref().unwrap_or("-"),
        printable(row.refname),
        if codes.is_empty() {
            "-".to_owned()
        } else {
            codes.join(",")
        },
        printable(row.summary),
    );
    line.trim_end().to_owned()
}

fn row_json(row: &Row<'_>) -> serde_json::Value {
    json!({
        "type": row.kind,
        "id": row.id.as_str(),
        "ref": row.refname,
        "time": row.time
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .map(rfc3339),
        "committer": (!row.committer.is_empty()).then_some(row.committer),
        "summary": row.summary,
        "parents": row.parents,
        "signature": row.signed_by.status.as_str(),
        "user": row.signed_by.user,
        "fingerprint": row.signed_by.fingerprint,
        "verdict": row.outcome.as_str(),
        "reasons": row.reasons.iter().map(|r| json!({
            "code": r.code.as_str(),
            "detail": r.detail,
        })).collect::<Vec<_>>(),
    })
}

fn summary_json(s: &Summary) -> serde_json::Value {
    json!({ "summary": {
        "commits": s.commits,
        "tags": s.tags,
        "baseline": s.baseline,
        "server": s.server,
        "judged": s.judged,
        "signed_by_allowed": s.allowed_signer,
        "signed_by_allowed_share": share(s.allowed_signer, s.judged),
        "violations": s.violations,
        "violations_by_code": s.by_code,
        "signers": s.signers,
        "signatures": s.signatures,
    }})
}

fn summary_lines(s: &Summary) -> Vec<String> {
    fn counts<K: std::fmt::Display>(map: &BTreeMap<K, u64>) -> String {
        if map.is_empty() {
            return "none".to_owned();
        }
        let parts: Vec<String> = map.iter().map(|(k, n)| format!("{k} {n}")).collect();
        parts.join(", ")
    }
    let signers: BTreeMap<String, u64> = s
        .signers
        .iter()
        .map(|(user, n)| (printable(user), *n))
        .collect();
    vec![
        String::new(),
        format!(
            "refguard: {} commits, {} tags: {} judged, {} baseline, {} written by refguard on the server",
            s.commits, s.tags, s.judged, s.baseline, s.server
        ),
        format!(
            "  signed by allowed signers: {} of {} ({:.2}%)",
            s.allowed_signer,
            s.judged,
            share(s.allowed_signer, s.judged) * 100.0
        ),
        format!("  violations: {} ({})", s.violations, counts(&s.by_code)),
        format!("  signers: {}", counts(&signers)),
        format!("  signatures: {}", counts(&s.signatures)),
    ]
}

/// `part / whole` rounded to 4 decimals (1.0 for an empty whole: nothing fell short).
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 1.0;
    }
    (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_dates_and_rfc3339() {
        assert_eq!(
            parse_since("2026-11-30").map(rfc3339),
            Ok("2026-11-30T00:00:00Z".to_owned())
        );
        assert_eq!(
            parse_since("2026-11-30T13:00:00+01:00").map(rfc3339),
            Ok("2026-11-30T12:00:00Z".to_owned())
        );
        assert!(parse_since("30/11/2026").is_err());
        assert!(parse_since("2026-13-01").is_err());
    }

    #[test]
    fn share_is_rounded_and_total() {
        assert_eq!(share(0, 0), 1.0);
        assert_eq!(share(2, 3), 0.6667);
        assert_eq!(share(3, 3), 1.0);
    }
}
