//! Fetching what the pre-push check needs from the server it pushes to, with the `git`
//! binary (it knows the transports, credentials and config that libgit2 here does not):
//! the policy branch into `refs/refguard/<remote>/policy` and the approvals of the pushed
//! commits into `refs/refguard/<remote>/approvals/`. Reads from the server; never writes to
//! it.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::update::ObjectId;

/// What one fetch brings into a clone: the refspecs for the server's `policy_ref` and the
/// approvals of `pushed`, stored under `local_base` (`refs/refguard/origin/`).
///
/// The policy refspec is a glob (`refs/meta/policy*`) so that a server without a policy
/// branch is an empty answer, not a failed fetch (then no `.../policy` ref is left, thanks
/// to `--prune`); every refspec is forced, because the check follows what the server says
/// now (whether the policy branch was rewritten is `refguard verify`'s business).
pub fn refspecs(policy_ref: &str, local_base: &str, pushed: &[ObjectId]) -> Vec<String> {
    let mut specs = vec![format!("+{policy_ref}*:{local_base}policy*")];
    let mut seen = Vec::new();
    for new in pushed.iter().filter(|id| !id.is_zero()) {
        if seen.contains(&new) {
            continue;
        }
        seen.push(new);
        let prefix = crate::approval::prefix_for(new);
        specs.push(format!(
            "+{prefix}*:{local_base}approvals/{new}/*",
            prefix = prefix
        ));
    }
    specs
}

/// Runs `git fetch` in the repository at `git_dir` from `url` with `specs`; on failure, git's
/// first line of complaint.
pub fn fetch(git_dir: &Path, url: &str, specs: &[String]) -> Result<(), String> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args([
            "fetch",
            "--quiet",
            "--prune",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            url,
        ])
        .args(specs)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git fetch: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let why = stderr
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
        .or_else(|| stderr.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or("no message");
    Err(format!("git fetch failed ({}): {why}", out.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_refspec_for_the_policy_and_one_per_pushed_commit() {
        let a = ObjectId::parse(&"a".repeat(40)).expect("id");
        let specs = refspecs(
            "refs/meta/policy",
            "refs/refguard/origin/",
            &[a.clone(), ObjectId::zero(), a.clone()],
        );
        assert_eq!(
            specs,
            vec![
                "+refs/meta/policy*:refs/refguard/origin/policy*".to_string(),
                format!("+refs/approvals/{a}/*:refs/refguard/origin/approvals/{a}/*"),
            ]
        );
    }
}
