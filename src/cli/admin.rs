//! The server admin's commands: `init`, `install`, `check` and `policy lint`.

use std::fs;
use std::io::IsTerminal;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::json;
use time::OffsetDateTime;

use super::{EXIT_ERROR, EXIT_OK, EXIT_REJECT, Format, HookChoice};
use crate::engine::Verdict;
use crate::git::Repo;
use crate::hook::parse_update_args;
use crate::policy::{self, Severity};
use crate::report::{self, Mode};
use crate::session::{DEFAULT_POLICY_REF, Session, pusher_from};

/// The marker line that identifies a hook file refguard wrote.
pub(super) const HOOK_MARKER: &str = "# refguard-hook:";
/// The binary path in the shipped hook files, replaced by the installing binary's path.
const HOOK_BIN_PLACEHOLDER: &str = "/usr/local/bin/refguard";

/// Opens `--repo`, or `$GIT_DIR`, or the repository around the current directory.
pub fn open_repo(repo: Option<PathBuf>) -> Result<Repo> {
    match repo {
        Some(path) => {
            Repo::open(&path).with_context(|| format!("cannot open repository {}", path.display()))
        }
        None => Repo::discover_default().context("cannot find a repository (use --repo DIR)"),
    }
}

/// `refguard policy lint [--org ORG.toml] FILE`.
pub fn lint(file: &Path, org: Option<&Path>) -> Result<u8> {
    let text = read_text(file)?;
    let org = match org {
        Some(org) => match super::org::read_org_file(org)? {
            Ok(org) => Some(org),
            Err(code) => return Ok(code),
        },
        None => None,
    };
    let layer = super::org::layer(org.as_ref());
    let diags = policy::lint_at_layer(&text, &files_beside(file), layer, OffsetDateTime::now_utc());
    let name = file.display().to_string();
    // The one-line form always; on a terminal, also the source line and a caret.
    let on_terminal = std::io::stdout().is_terminal();
    for d in &diags {
        if on_terminal {
            for line in d.render_with_source(&name, &text) {
                println!("{line}");
            }
        } else {
            println!("{}", d.render(&name));
        }
    }
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags.len() - errors;
    if errors > 0 {
        eprintln!("{name}: {errors} error(s), {warnings} warning(s): invalid");
        Ok(EXIT_REJECT)
    } else {
        eprintln!("{name}: valid ({warnings} warning(s))");
        Ok(EXIT_OK)
    }
}

/// `refguard init --repo DIR --policy FILE`.
pub fn init(repo: Option<PathBuf>, file: &Path) -> Result<u8> {
    let text = read_text(file)?;
    let repo = open_repo(repo)?;
    let now = OffsetDateTime::now_utc();
    let parsed = match candidate(&repo, file, &text, now, "the policy branch was not created")? {
        Ok(parsed) => parsed,
        Err(code) => return Ok(code),
    };
    let policy_ref = repo
        .config_string("refguard.policyRef")?
        .unwrap_or_else(|| DEFAULT_POLICY_REF.to_string());
    if let Some(tip) = repo.resolve_ref(&policy_ref)? {
        eprintln!(
            "refguard: {policy_ref} already exists (at {}); change the policy with a signed push \
             by the admins instead",
            tip.short()
        );
        return Ok(EXIT_ERROR);
    }
    // The referenced certificate files go into the tree beside roles.toml, byte for byte
    // as read.
    let id = repo.write_policy_tree(
        &policy_ref,
        text.as_bytes(),
        &parsed.files,
        "refguard init: roles.toml",
        None,
    )?;
    println!(
        "refguard: created {policy_ref} at {} in {}",
        id.short(),
        repo.git_dir().display()
    );
    Ok(EXIT_OK)
}

/// A roles file on disk validated as the candidate policy of `repo` at `now` (`init`,
/// `policy reset`): under its organisation policy when one is configured (spec §10). Every
/// diagnostic is printed; when it is invalid (or the organisation policy is unusable), says
/// that `outcome` and gives the exit code.
pub(super) fn candidate(
    repo: &Repo,
    file: &Path,
    text: &str,
    now: OffsetDateTime,
    outcome: &str,
) -> Result<std::result::Result<policy::Policy, u8>> {
    let name = file.display().to_string();
    let files = files_beside(file);
    let org = match super::org::configured(repo)? {
        Ok(org) => org,
        Err(code) => return Ok(Err(code)),
    };
    let layer = super::org::layer(org.as_ref());
    let diags = policy::lint_at_layer(text, &files, layer, now);
    for d in &diags {
        eprintln!("{}", d.render(&name));
    }
    // lint and parse agree; both are asked so that a disagreement can only refuse.
    let parsed = policy::parse_at_layer(text, &files, layer, now);
    match parsed {
        Ok(policy) if !diags.iter().any(|d| d.severity == Severity::Error) => Ok(Ok(policy)),
        parsed => {
            for d in parsed.err().unwrap_or_default() {
                if !diags.contains(&d) {
                    eprintln!("{}", d.render(&name));
                }
            }
            eprintln!("refguard: {name} is invalid; {outcome}");
            Ok(Err(EXIT_REJECT))
        }
    }
}

/// `refguard install --repo DIR [--hook ...] [--force]`.
pub fn install(repo: Option<PathBuf>, choice: HookChoice, force: bool) -> Result<u8> {
    let repo = open_repo(repo)?;
    let hooks_dir = hooks_dir(&repo)?;
    let hooks: &[(&str, &str)] = match choice {
        HookChoice::PreReceive => &[("pre-receive", include_str!("../../hooks/pre-receive"))],
        HookChoice::Update => &[("update", include_str!("../../hooks/update"))],
        HookChoice::Both => &[
            ("pre-receive", include_str!("../../hooks/pre-receive")),
            ("update", include_str!("../../hooks/update")),
        ],
    };
    write_hooks(&hooks_dir, hooks, force)?;
    // git on the server honours replace refs (`git log`, `git archive --remote`, web views):
    // the hook guards refs/replace/, and this keeps server-side git from following any that
    // exist (spec §14).
    repo.set_config_bool("core.useReplaceRefs", false)
        .context("cannot set core.useReplaceRefs")?;
    println!("refguard: set core.useReplaceRefs = false (git on the server ignores replace refs)");
    let policy_ref = repo
        .config_string("refguard.policyRef")?
        .unwrap_or_else(|| DEFAULT_POLICY_REF.to_string());
    if choice != HookChoice::PreReceive {
        warn_if_signed_pushes_required(&repo);
    }
    if repo.resolve_ref(&policy_ref)?.is_none() {
        println!(
            "refguard: note: {policy_ref} does not exist yet, so every push is rejected with \
             [no-policy] until you run: refguard init --repo {} --policy roles.toml",
            repo.git_dir().display()
        );
    }
    Ok(EXIT_OK)
}

/// The directory git runs the repository's hooks from: `core.hooksPath` (relative to where
/// hooks run: the work tree of a clone, the repository of a bare one; githooks(5)), else
/// `hooks/` in the git directory. Created if missing.
pub(super) fn hooks_dir(repo: &Repo) -> Result<PathBuf> {
    let dir = hooks_path(repo)?;
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Where git runs the repository's hooks from (see [`hooks_dir`]), without creating it.
pub(super) fn hooks_path(repo: &Repo) -> Result<PathBuf> {
    Ok(match repo.config_string("core.hooksPath")? {
        Some(p) => {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                repo.work_dir().unwrap_or(repo.git_dir()).join(p)
            }
        }
        None => repo.git_dir().join("hooks"),
    })
}

/// Writes hook files (name, template from `hooks/`) into `hooks_dir` with this binary's
/// path substituted; refuses to replace a hook refguard did not write unless `force`
/// (which keeps it as `NAME.before-refguard`). A refusal writes nothing.
pub(super) fn write_hooks(hooks_dir: &Path, hooks: &[(&str, &str)], force: bool) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find the refguard binary's path")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let quoted = shell_quote(&exe.display().to_string());
    // Check every target first so that a refusal installs nothing.
    for (name, _) in hooks {
        let path = hooks_dir.join(name);
        if is_foreign_hook(&path) && !force {
            bail!(
                "{} exists and was not written by refguard; merge it by hand or use --force \
                 (the old hook is then kept as {name}.before-refguard)",
                path.display()
            );
        }
    }
    for (name, template) in hooks {
        let path = hooks_dir.join(name);
        if is_foreign_hook(&path) {
            let backup = hooks_dir.join(format!("{name}.before-refguard"));
            fs::rename(&path, &backup)
                .with_context(|| format!("cannot back up {}", path.display()))?;
            println!("refguard: kept the old {name} hook as {}", backup.display());
        }
        let content = template.replace(HOOK_BIN_PLACEHOLDER, &quoted);
        let tmp = hooks_dir.join(format!(".{name}.refguard-tmp"));
        fs::write(&tmp, content).with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755))?;
        fs::rename(&tmp, &path).with_context(|| format!("cannot install {}", path.display()))?;
        println!("refguard: installed {}", path.display());
    }
    Ok(())
}

/// git gives push certificates to pre-receive only: an update hook would reject every ref
/// that needs a signed push. Say so when the current policy requires them.
fn warn_if_signed_pushes_required(repo: &Repo) {
    let Ok(session) = Session::load(repo) else {
        return;
    };
    if let crate::session::PolicyState::Loaded { policy, .. } = session.state()
        && (policy.require_signed_push || policy.rules.iter().any(|r| r.signed_push))
    {
        println!(
            "refguard: warning: the policy requires signed pushes for some refs, but git \
             gives push certificates only to pre-receive; the update hook will reject those \
             refs. Use --hook pre-receive."
        );
    }
}

/// `refguard check [--repo DIR] [--as NAME] [--format text|json] <ref> <old> <new>`.
pub fn check(
    repo: Option<PathBuf>,
    as_name: Option<String>,
    format: Format,
    args: [String; 3],
) -> Result<u8> {
    let update = parse_update_args(&args)?;
    let repo = open_repo(repo)?;
    let session = Session::load(&repo)?;
    let ctx = session.context(
        as_name.or_else(|| pusher_from(|k| std::env::var(k).ok())),
        OffsetDateTime::now_utc(),
        vec![update.clone()],
    );
    let verdict = session.decide(&update, &ctx);
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&verdict_json(
                &verdict,
                ctx.pusher.as_deref(),
                session.policy_commit().map(|c| c.as_str())
            ))?
        ),
        Format::Text => {
            if verdict.accepted() {
                println!(
                    "refguard: accepted {} ({}..{}) as {}",
                    crate::text::escape(&update.refname),
                    update.old.short(),
                    update.new.short(),
                    verdict
                        .user
                        .as_deref()
                        .map(|u| format!("user {u}"))
                        .unwrap_or_else(|| "unknown pusher".into())
                );
            }
            for g in &verdict.grants {
                println!(
                    "{}",
                    crate::text::escape_line(format!(
                        "refguard:   relies on {}'s grant of {} until {} ({})",
                        g.user,
                        g.role,
                        crate::policy::utc(g.until),
                        g.location
                    ))
                );
            }
            for line in report::render(std::slice::from_ref(&verdict), Mode::PerRef) {
                println!("{line}");
            }
        }
    }
    Ok(if verdict.accepted() {
        EXIT_OK
    } else {
        EXIT_REJECT
    })
}

/// The JSON form of a verdict (also the shape of `check --format json`).
pub fn verdict_json(v: &Verdict, pusher: Option<&str>, policy: Option<&str>) -> serde_json::Value {
    json!({
        "ref": v.update.refname,
        "old": v.update.old.as_str(),
        "new": v.update.new.as_str(),
        "kind": v.kind.map(|k| k.as_str()),
        "pusher": pusher,
        "user": v.user,
        "rule": v.rule,
        "policy": policy,
        "decision": if v.accepted() { "accept" } else { "reject" },
        "reasons": v.reasons.iter().map(|r| json!({
            "code": r.code.as_str(),
            "commit": r.commit.as_ref().map(|c| c.as_str()),
            "subject": r.subject,
            "detail": r.detail,
            "hint": r.code.hint(),
        })).collect::<Vec<_>>(),
        "grants": v.grants.iter().map(|g| json!({
            "user": g.user,
            "role": g.role,
            "until": crate::policy::utc(g.until),
            "location": g.location,
        })).collect::<Vec<_>>(),
    })
}

/// Whether `path` holds a hook that refguard did not write (a missing file is not foreign).
fn is_foreign_hook(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
        && !fs::read_to_string(path).is_ok_and(|t| t.contains(HOOK_MARKER))
}

fn read_text(file: &Path) -> Result<String> {
    fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// The files beside a roles file on disk, as [`policy::Files`] reads them: `path` relative
/// to the roles file's directory (the policy has already refused absolute paths and `..`).
/// A symbolic link that leads out of the directory is refused too, so that what is read here
/// is what the policy branch's tree will hold.
pub(super) fn files_beside(roles: &Path) -> impl Fn(&str) -> Result<Vec<u8>, String> {
    let dir = roles
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    move |path: &str| {
        let file = dir.join(path);
        let inside = match (file.canonicalize(), dir.canonicalize()) {
            (Ok(file), Ok(dir)) => file.starts_with(dir),
            (Err(e), _) | (_, Err(e)) => return Err(format!("{}: {e}", file.display())),
        };
        if !inside {
            return Err(format!(
                "{} leads out of the roles file's directory",
                file.display()
            ));
        }
        let len = fs::metadata(&file)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .len();
        if len > crate::openpgp::MAX_CERTIFICATE as u64 {
            return Err(format!("{} is larger than 1 MiB", file.display()));
        }
        fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))
    }
}

fn shell_quote(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
