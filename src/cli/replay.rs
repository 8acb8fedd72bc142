//! `refguard audit replay`: re-judge the logged updates of this repository against a
//! candidate roles file and print which decisions would change (spec §11). The judging is
//! the hook's own ([`Session::decide_with`]), as of each update's logged time.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::json;
use time::OffsetDateTime;

use super::admin::open_repo;
use super::audit::{ListFormat, rfc3339};
use super::hook::audit_log_path;
use super::{EXIT_OK, EXIT_REJECT};
use crate::approval;
use crate::audit::{self, Decision, Filter, Record};
use crate::engine::{ObjectId, RefUpdate};
use crate::policy::{self, Severity};
use crate::session::Session;

/// What replaying the log found.
#[derive(Debug, Default)]
struct Tally {
    replayed: u64,
    to_reject: u64,
    to_accept: u64,
    /// Updates whose objects are no longer in the repository.
    gone: u64,
    /// Policy-branch and approval updates: guarded by `[policy]` and refguard itself, which
    /// a candidate's rules do not change.
    guarded: u64,
    /// Lines of the log that are not records.
    bad: u64,
}

/// `refguard audit replay --policy FILE [--since TIME] [--repo DIR] [--format table|json]`.
/// Exit 0 when no decision would change, 1 when some would; errors (an unreadable or
/// invalid candidate, no audit log) exit 2.
pub fn replay(
    repo: Option<PathBuf>,
    candidate: &Path,
    since: Option<OffsetDateTime>,
    format: ListFormat,
) -> Result<u8> {
    let text = fs::read_to_string(candidate)
        .with_context(|| format!("cannot read {}", candidate.display()))?;
    let name = candidate.display().to_string();
    let repo = open_repo(repo)?;
    // The candidate is the repository's file: under an organisation policy (spec §10) it is
    // read under it and judged joined with it, as the hook would.
    let org = match super::org::configured(&repo)? {
        Ok(org) => org,
        Err(code) => return Ok(code),
    };
    let layer = super::org::layer(org.as_ref());
    let files = super::admin::files_beside(candidate);
    let diags = policy::lint_layer(&text, &files, layer);
    for d in diags.iter().filter(|d| d.severity == Severity::Error) {
        eprintln!("{}", d.render(&name));
    }
    let Ok(candidate_policy) = policy::parse_layer(&text, &files, layer) else {
        bail!("{name} is invalid: nothing was replayed (refguard policy lint {name})");
    };
    let session = Session::load(&repo)?;
    let path = audit_log_path(&repo).context("cannot locate the audit log")?;
    let filter = Filter {
        since,
        ..Filter::default()
    };
    let records = audit::read(&path, &filter)
        .with_context(|| format!("cannot read the audit log {}", path.display()))?;
    let mut out = io::stdout().lock();
    if format == ListFormat::Table {
        writeln!(
            out,
            "{:<20} {:<20}  {:<8} {:<28} {:<16}  {:<24} LOGGED",
            "CHANGE", "TIME", "PUSHER", "REF", "OLD..NEW", "CANDIDATE"
        )?;
    }
    let mut tally = Tally::default();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                eprintln!("refguard: {e}");
                tally.bad += 1;
                continue;
            }
        };
        if record.refname == session.policy_ref() || approval::is_approval_ref(&record.refname) {
            tally.guarded += 1;
            continue;
        }
        if !present(&repo, &record.old)? || !present(&repo, &record.new)? {
            tally.gone += 1;
            continue;
        }
        tally.replayed += 1;
        let update = RefUpdate {
            refname: record.refname.clone(),
            old: record.old.clone(),
            new: record.new.clone(),
        };
        let ctx = session.context(record.pusher.clone(), record.time, vec![update.clone()]);
        let verdict = session.decide_with(&candidate_policy, &update, &ctx);
        let was_accepted = record.decision == Decision::Accept;
        if verdict.accepted() == was_accepted {
            continue;
        }
        if was_accepted {
            tally.to_reject += 1;
        } else {
            tally.to_accept += 1;
        }
        let codes: Vec<&str> = verdict.denials().map(|r| r.code.as_str()).collect();
        let logged: Vec<&str> = record.reasons.iter().map(|r| r.code.as_str()).collect();
        let change = if was_accepted {
            "accepted → rejected"
        } else {
            "rejected → accepted"
        };
        match format {
            ListFormat::Table => writeln!(
                out,
                "{:<20} {:<20}  {:<8} {:<28} {:<16}  {:<24} {}",
                change,
                rfc3339(record.time),
                crate::text::escape(record.pusher.as_deref().unwrap_or("-")),
                crate::text::escape(&record.refname),
                format!("{}..{}", record.old.short(), record.new.short()),
                dash(&codes),
                dash(&logged),
            )?,
            ListFormat::Json => writeln!(out, "{}", change_json(&record, was_accepted, &codes))?,
        }
        if format == ListFormat::Table {
            for reason in verdict.denials() {
                writeln!(
                    out,
                    "{}",
                    crate::text::escape_line(format!(
                        "    {}",
                        crate::report::reason_line(reason, "commit")
                    ))
                )?;
            }
        }
    }
    let summary = format!(
        "refguard: {} logged updates replayed against {name}: {} would change ({} accepted → \
         rejected, {} rejected → accepted); not replayed: {} whose objects are gone, {} \
         policy-branch or approval updates (their guard is not in the rules){}",
        tally.replayed,
        tally.to_reject + tally.to_accept,
        tally.to_reject,
        tally.to_accept,
        tally.gone,
        tally.guarded,
        if tally.bad > 0 {
            format!("; {} unreadable lines", tally.bad)
        } else {
            String::new()
        }
    );
    match format {
        ListFormat::Table => writeln!(out, "{summary}")?,
        ListFormat::Json => writeln!(
            out,
            "{}",
            json!({"summary": {
                "replayed": tally.replayed,
                "accepted_to_rejected": tally.to_reject,
                "rejected_to_accepted": tally.to_accept,
                "objects_gone": tally.gone,
                "guarded": tally.guarded,
                "unreadable": tally.bad,
            }})
        )?,
    }
    Ok(if tally.to_reject + tally.to_accept == 0 {
        EXIT_OK
    } else {
        EXIT_REJECT
    })
}

/// Whether `id` (the zero id: nothing) is in the repository.
fn present(repo: &crate::git::Repo, id: &ObjectId) -> Result<bool> {
    if id.is_zero() {
        return Ok(true);
    }
    Ok(repo.contains(id)?)
}

fn dash(codes: &[&str]) -> String {
    if codes.is_empty() {
        "-".to_owned()
    } else {
        codes.join(",")
    }
}

fn change_json(record: &Record, was_accepted: bool, codes: &[&str]) -> serde_json::Value {
    json!({
        "time": rfc3339(record.time),
        "pusher": record.pusher,
        "ref": record.refname,
        "old": record.old.as_str(),
        "new": record.new.as_str(),
        "logged": if was_accepted { "accept" } else { "reject" },
        "candidate": if was_accepted { "reject" } else { "accept" },
        "codes": codes,
        "logged_codes": record.reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
    })
}
