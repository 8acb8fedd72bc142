//! `refguard approve COMMIT --ref REF`: run in a clone by an approver (spec §7). Finds the
//! remote's tip of REF (the `Refguard-From` the approval binds), writes the approval as an
//! annotated tag signed with git's own signing settings (`git tag -s`: `gpg.format`,
//! `user.signingKey`), stores it under `refs/approvals/<commit>/<tag>` and pushes it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use time::OffsetDateTime;

use super::EXIT_OK;
use crate::approval::{self, Statement};
use crate::update::ObjectId;

/// What `refguard approve` was asked.
#[derive(Debug)]
pub struct Request {
    /// The clone (default: the current directory).
    pub repo: Option<PathBuf>,
    /// The commit to approve (anything `git rev-parse` takes).
    pub commit: String,
    /// The ref the commit is to land on (`main` means `refs/heads/main`).
    pub refname: String,
    /// The remote the server is.
    pub remote: String,
    /// When the approval stops counting.
    pub expires: Option<OffsetDateTime>,
    /// The repository's name on the server (default: `git config refguard.repository`, else
    /// the last component of the remote's URL without `.git`).
    pub repository: Option<String>,
    /// Store the approval locally but do not push it.
    pub no_push: bool,
}

/// Runs `git` in `dir` and returns its trimmed stdout; an error with git's stderr otherwise.
fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .with_context(|| format!("cannot run git {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `refguard approve`.
pub fn run(req: Request) -> Result<u8> {
    let dir = req.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let refname = if req.refname.starts_with("refs/") {
        req.refname.clone()
    } else {
        format!("refs/heads/{}", req.refname)
    };
    let commit_hex = git(
        &dir,
        &[
            "rev-parse",
            "--verify",
            &format!("{}^{{commit}}", req.commit),
        ],
    )
    .with_context(|| format!("{} is not a commit in this clone", req.commit))?;
    let commit = ObjectId::parse(&commit_hex).context("git rev-parse printed no object id")?;

    // The tip the approver sees on the server: the approval is for moving the ref from here.
    let listed = git(&dir, &["ls-remote", "--refs", &req.remote, &refname])?;
    let from = listed
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .find(|(_, name)| *name == refname)
        .map(|(id, _)| ObjectId::parse(id).context("git ls-remote printed a bad id"))
        .transpose()?
        .unwrap_or_else(ObjectId::zero);

    let repository = match &req.repository {
        Some(name) => name.clone(),
        None => match git(&dir, &["config", "refguard.repository"]) {
            Ok(name) if !name.is_empty() => name,
            _ => {
                let url = git(&dir, &["remote", "get-url", &req.remote])?;
                let trimmed = url.trim_end_matches('/');
                let last = trimmed.rsplit(['/', ':']).next().unwrap_or(trimmed);
                last.strip_suffix(".git").unwrap_or(last).to_string()
            }
        },
    };
    if let Some(expires) = req.expires.filter(|e| *e <= OffsetDateTime::now_utc()) {
        bail!(
            "--expires {} is in the past: such an approval would approve nothing",
            crate::policy::utc(expires)
        );
    }
    let statement = Statement {
        repository: repository.clone(),
        refname: refname.clone(),
        from: from.clone(),
        expires: req.expires,
    };

    // `git tag -s` signs with the clone's own settings; the temporary tag name is only the
    // tag object's `tag` header, and the ref is removed once the approval ref exists.
    let message = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
    std::fs::write(message.path(), statement.to_message())
        .context("cannot write the approval message")?;
    let stamp = OffsetDateTime::now_utc().unix_timestamp_nanos();
    let temp = format!("refguard-approval-{stamp}-{}", std::process::id());
    let message_path = message.path().to_string_lossy().into_owned();
    git(
        &dir,
        &["tag", "-s", "-F", &message_path, &temp, &commit_hex],
    )
    .context("cannot sign the approval (is git set up to sign? gpg.format, user.signingKey)")?;
    let tag_hex = git(
        &dir,
        &["rev-parse", "--verify", &format!("refs/tags/{temp}")],
    );
    let _ = git(&dir, &["tag", "-d", &temp]);
    let tag = ObjectId::parse(&tag_hex?).context("git rev-parse printed no object id")?;
    let approval_ref = approval::ref_name(&commit, &tag);
    git(&dir, &["update-ref", &approval_ref, tag.as_str()])?;

    let moving = if from.is_zero() {
        format!("creating {refname} at {}", commit.short())
    } else {
        format!(
            "moving {refname} from {} to {}",
            from.short(),
            commit.short()
        )
    };
    println!(
        "refguard: approval {} for {moving} in {repository}",
        tag.short()
    );
    if req.no_push {
        println!("refguard: stored as {approval_ref} (not pushed)");
        return Ok(EXIT_OK);
    }
    // The push's own output (the server's `remote:` lines) goes straight to the approver.
    let pushed = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args([
            "push",
            "-q",
            &req.remote,
            &format!("{approval_ref}:{approval_ref}"),
        ])
        .status()
        .context("cannot run git push")?;
    if !pushed.success() {
        eprintln!(
            "refguard: the approval is stored locally as {approval_ref} but the server refused \
             it (see above)"
        );
        return Ok(super::EXIT_REJECT);
    }
    println!("refguard: pushed {approval_ref} to {}", req.remote);
    Ok(EXIT_OK)
}
