//! Organisation policy commands (spec §10): reading an organisation roles file,
//! `policy lint --org`, and `org check`, which lints every refguard repository under a
//! directory against the current or a proposed organisation policy.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use time::OffsetDateTime;

use super::admin::{HOOK_MARKER, files_beside, hooks_path};
use super::{EXIT_OK, EXIT_REJECT, Format};
use crate::git::Repo;
use crate::policy::{self, Layer, Policy, Severity};
use crate::session::{POLICY_FILE, org_location, org_policy, policy_ref_setting, tree_files};

/// An organisation roles file on disk, validated as one (its locations are
/// `org:roles.toml:N`); its errors are printed, then `Err(exit code)`.
pub fn read_org_file(file: &Path) -> Result<std::result::Result<Policy, u8>> {
    let text =
        fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let files = files_beside(file);
    match policy::parse_layer(&text, &files, Layer::Org) {
        Ok(org) => Ok(Ok(org)),
        Err(diags) => {
            let name = file.display().to_string();
            for d in &diags {
                eprintln!("{}", d.render(&name));
            }
            eprintln!("refguard: the organisation policy {name} is invalid");
            Ok(Err(EXIT_REJECT))
        }
    }
}

/// The organisation policy a repository's roles file must validate under (`init`, `policy
/// reset`): `Ok(None)` when none is configured; its problem printed, then `Err(exit code)`,
/// when it is configured but unusable (nothing is installed under a broken organisation
/// policy: every push would be rejected anyway).
pub fn configured(repo: &Repo) -> Result<std::result::Result<Option<Policy>, u8>> {
    match org_policy(repo)? {
        None => Ok(Ok(None)),
        Some(Ok(org)) => Ok(Ok(Some(org))),
        Some(Err(detail)) => {
            eprintln!("refguard: {detail}");
            Ok(Err(EXIT_REJECT))
        }
    }
}

/// The layer for a repository's file under `org`, if any.
pub fn layer(org: Option<&Policy>) -> Layer<'_> {
    org.map_or(Layer::Repo, Layer::UnderOrg)
}

/// What `org check` found for one repository.
#[derive(Debug, Serialize)]
struct Checked {
    /// The repository's git directory.
    repository: PathBuf,
    /// `ok`, `breaks` or `skipped`.
    status: Status,
    /// Why it breaks (`roles.toml:L:C: message`), or why it was skipped.
    problems: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Breaks,
    Skipped,
}

/// `refguard org check --root DIR [--org FILE] [--format text|json]`: every repository under
/// DIR with refguard installed and an organisation policy configured, its roles.toml (at the
/// tip of its policy branch) linted under the current organisation policy or, with `--org`,
/// under FILE instead. Exit 1 when any would break, 0 when none would.
pub fn check(root: &Path, proposed: Option<&Path>, format: Format) -> Result<u8> {
    let proposal = match proposed {
        Some(file) => match read_org_file(file)? {
            Ok(org) => Some(org),
            Err(code) => return Ok(code),
        },
        None => None,
    };
    let now = OffsetDateTime::now_utc();
    let mut repositories = Vec::new();
    find_repositories(root, &mut repositories)?;
    repositories.sort();
    let mut results = Vec::new();
    for dir in repositories {
        results.push(check_one(&dir, proposal.as_ref(), now));
    }
    let breaking = results
        .iter()
        .filter(|c| c.status == Status::Breaks)
        .count();
    let checked = results
        .iter()
        .filter(|c| c.status != Status::Skipped)
        .count();
    match format {
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "root": root,
                "proposed": proposed,
                "repositories": results,
                "checked": checked,
                "breaking": breaking,
            })
        ),
        Format::Text => {
            for c in &results {
                let path = c.repository.display().to_string();
                let shown = crate::text::escape(&path);
                match c.status {
                    Status::Ok => println!("ok       {shown}"),
                    Status::Breaks => {
                        println!("BREAKS   {shown}");
                        for p in &c.problems {
                            println!("           {p}");
                        }
                    }
                    Status::Skipped => {
                        println!("skipped  {shown}: {}", c.problems.join("; "))
                    }
                }
            }
            let against = match proposed {
                Some(file) => format!("the proposed {}", file.display()),
                None => "the current organisation policy".to_string(),
            };
            eprintln!("refguard: {breaking} of {checked} repositories would break under {against}");
        }
    }
    Ok(if breaking > 0 { EXIT_REJECT } else { EXIT_OK })
}

/// One repository: skipped, ok, or what breaks.
fn check_one(dir: &Path, proposal: Option<&Policy>, now: OffsetDateTime) -> Checked {
    let checked = |status, problems| Checked {
        repository: dir.to_path_buf(),
        status,
        problems,
    };
    let breaks = |problem: String| checked(Status::Breaks, vec![problem]);
    let repo = match Repo::open_plain(dir) {
        Ok(repo) => repo,
        Err(e) => return breaks(format!("cannot open: {e}")),
    };
    let outcome = (|| -> Result<Checked> {
        if !has_refguard_hook(&repo)? {
            return Ok(checked(
                Status::Skipped,
                vec!["refguard is not installed".into()],
            ));
        }
        if org_location(&repo)?.is_none() {
            return Ok(checked(
                Status::Skipped,
                vec!["not under an organisation policy (refguard.orgPolicy)".into()],
            ));
        }
        let current;
        let org = match proposal {
            Some(org) => org,
            None => match org_policy(&repo)? {
                Some(Ok(org)) => {
                    current = org;
                    &current
                }
                Some(Err(detail)) => return Ok(breaks(detail)),
                None => {
                    return Ok(checked(
                        Status::Skipped,
                        vec!["not under an organisation policy (refguard.orgPolicy)".into()],
                    ));
                }
            },
        };
        let policy_ref = policy_ref_setting(&repo)?;
        let Some(commit) = repo.resolve_ref(&policy_ref)? else {
            return Ok(checked(
                Status::Skipped,
                vec![format!(
                    "no policy branch {policy_ref} (every push is rejected already)"
                )],
            ));
        };
        let Some(bytes) = repo.blob_at(&commit, POLICY_FILE)? else {
            return Ok(breaks(format!("no {POLICY_FILE} at {}", commit.short())));
        };
        let Ok(text) = String::from_utf8(bytes) else {
            return Ok(breaks(format!("{POLICY_FILE} is not UTF-8")));
        };
        let files = tree_files(&repo, &commit);
        let problems: Vec<String> = policy::lint_at_layer(&text, &files, Layer::UnderOrg(org), now)
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.render(POLICY_FILE))
            .collect();
        Ok(if problems.is_empty() {
            checked(Status::Ok, Vec::new())
        } else {
            checked(Status::Breaks, problems)
        })
    })();
    outcome.unwrap_or_else(|e| breaks(format!("{e:#}")))
}

/// Whether refguard is installed as a server hook of `repo` (a hook file it wrote).
fn has_refguard_hook(repo: &Repo) -> Result<bool> {
    let dir = hooks_path(repo)?;
    Ok(["pre-receive", "update"].iter().any(|name| {
        fs::read_to_string(dir.join(name)).is_ok_and(|text| text.contains(HOOK_MARKER))
    }))
}

/// The git directories under `dir`: bare repositories (`HEAD`, `objects/`, `refs/`) and the
/// `.git` of work trees. A repository's own directories are not searched further; symbolic
/// links are not followed.
fn find_repositories(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let is_git_dir = |d: &Path| {
        d.join("HEAD").is_file() && d.join("objects").is_dir() && d.join("refs").is_dir()
    };
    if is_git_dir(dir) {
        found.push(dir.to_path_buf());
        return Ok(());
    }
    if is_git_dir(&dir.join(".git")) {
        found.push(dir.join(".git"));
        return Ok(());
    }
    let entries = fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            find_repositories(&entry.path(), found)?;
        }
    }
    Ok(())
}
