//! The pre-push check (spec §13): before anything leaves the machine, fetch the remote's
//! policy, judge each pushed ref with the server's engine as this developer, and hand the
//! verdicts to the CLI. A convenience, not a control: whatever it cannot judge it says so
//! and lets go; the server decides.
//!
//! How a clone's view differs from the server's (the README says the same):
//! - The policy is the remote's policy branch as fetched just now.
//! - "Other refs" that hide commits (spec §3.2) are the remote-tracking refs of the remote
//!   (`remote.<name>.fetch`), under the server's names: the server's tips as last fetched.
//!   A local branch never hides anything (it may hold what the server has never seen). A
//!   stale remote-tracking ref can make the check stricter than the server, never laxer
//!   about commits the server has not seen.
//! - Approvals (§7) are the server's approvals of the pushed commits, fetched just now, plus
//!   those pushed along.
//! - Who pushes is `refguard.user`, else the holder of `user.signingKey`.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::fetch;
use super::identity::{self, Identity};
use crate::engine::{Code, ObjectId, RefUpdate, Verdict};
use crate::git::Repo;
use crate::refmap::{Mapping, RefMap};
use crate::session::{PolicyState, Session, View, policy_ref_setting};

/// What the pre-push check concluded.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing to judge (an empty push).
    Nothing,
    /// The check cannot judge the push at all, and why (one line).
    CannotJudge(String),
    /// The verdicts of the refs it could judge.
    Judged(Judged),
}

/// The pre-push check's verdicts.
#[derive(Debug)]
pub struct Judged {
    /// One verdict per ref it judged.
    pub verdicts: Vec<Verdict>,
    /// The refs it could not judge, and why.
    pub unjudged: Vec<(RefUpdate, String)>,
    /// The remote's policy commit it judged with.
    pub policy: ObjectId,
    /// The remote's policy branch.
    pub policy_ref: String,
    /// Who it judged as.
    pub identity: Identity,
    /// Anything else worth one line (the policy branch was rewritten since the last check).
    pub notes: Vec<String>,
}

impl Judged {
    /// Whether the server's policy would reject any ref of the push.
    pub fn rejected(&self) -> bool {
        self.verdicts.iter().any(|v| !v.accepted())
    }
}

/// What git tells a pre-push hook.
#[derive(Debug, Clone)]
pub struct Request {
    /// The remote's name (or its URL, for a push to a URL).
    pub remote: String,
    /// The URL pushed to.
    pub url: String,
    /// The ref updates on standard input.
    pub updates: Vec<RefUpdate>,
}

/// The name the remote gets under `refs/refguard/`: its own name when it is a configured
/// remote whose name is a valid ref path, else `url-` and 12 hex digits of the URL's SHA-256.
pub fn remote_dir(remote: &str, configured: bool) -> String {
    let valid = !remote.is_empty()
        && remote.split('/').all(|c| {
            !c.is_empty()
                && !c.starts_with('.')
                && !c.ends_with(".lock")
                && c.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "-_.+".contains(ch))
        })
        && !remote.contains("..");
    if configured && valid {
        return remote.to_owned();
    }
    let digest = Sha256::digest(remote.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("url-{hex}")
}

/// The server repository's name as approvals name it (spec §7), seen from a clone:
/// `git config refguard.repository`, else the URL's last path component without `.git`.
pub fn name_from_url(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let last = trimmed.rsplit(['/', ':']).next().unwrap_or(trimmed);
    last.strip_suffix(".git").unwrap_or(last).to_string()
}

/// Runs the pre-push check in `repo` at `now`.
pub fn check(repo: &Repo, request: &Request, now: OffsetDateTime) -> Outcome {
    if request.updates.is_empty() {
        return Outcome::Nothing;
    }
    match judge(repo, request, now) {
        Ok(outcome) => outcome,
        Err(why) => Outcome::CannotJudge(why),
    }
}

fn judge(repo: &Repo, request: &Request, now: OffsetDateTime) -> Result<Outcome, String> {
    let err = |e: crate::git::Error| e.to_string();
    let configured = repo
        .config_string(&format!("remote.{}.url", request.remote))
        .map_err(err)?
        .is_some();
    let base = format!("refs/refguard/{}/", remote_dir(&request.remote, configured));
    let policy_ref = policy_ref_setting(repo).map_err(err)?;
    let local_policy = format!("{base}policy");
    let before = repo.resolve_ref(&local_policy).map_err(err)?;

    let pushed: Vec<ObjectId> = request.updates.iter().map(|u| u.new.clone()).collect();
    let specs = fetch::refspecs(&policy_ref, &base, &pushed);
    fetch::fetch(repo.git_dir(), &request.url, &specs)
        .map_err(|why| format!("cannot fetch the policy from {}: {why}", request.remote))?;

    let mut mappings = vec![
        Mapping::exact(policy_ref.clone(), local_policy.clone()),
        Mapping::prefix(crate::approval::PREFIX, format!("{base}approvals/")),
    ];
    if configured {
        let specs = repo
            .config_strings(&format!("remote.{}.fetch", request.remote))
            .map_err(err)?;
        mappings.extend(specs.iter().filter_map(|s| Mapping::from_fetch_refspec(s)));
    }
    let repository = match repo.config_string("refguard.repository").map_err(err)? {
        Some(name) if !name.is_empty() => name,
        _ => name_from_url(&request.url),
    };
    let view = View {
        policy_ref: policy_ref.clone(),
        repository,
        refs: RefMap::new(mappings),
    };
    let session = Session::load_view(repo, view).map_err(err)?;
    let (policy, commit) = match session.state() {
        PolicyState::Missing => {
            return Ok(Outcome::CannotJudge(format!(
                "{} has no policy branch {policy_ref}",
                request.remote
            )));
        }
        PolicyState::Broken { commit, detail } => {
            return Ok(Outcome::CannotJudge(format!(
                "the policy of {} at {} is unusable: {detail}",
                request.remote,
                commit.short()
            )));
        }
        // Not read for a remote (the clone's view), but every state is answered.
        PolicyState::OrgUnusable { detail, .. } => {
            return Ok(Outcome::CannotJudge(detail.clone()));
        }
        PolicyState::Loaded { policy, commit } => (policy, commit),
    };
    let identity = identity::resolve(repo, policy)?;

    let mut notes = Vec::new();
    if let Some(before) = before.filter(|b| b != commit)
        && repo.contains(&before).unwrap_or(false)
        && !repo.descends_from(commit, &before).unwrap_or(false)
    {
        notes.push(format!(
            "{}'s policy branch {policy_ref} was rewritten since the last check ({}..{} is \
             not a fast-forward): ask its admins why, and run refguard verify",
            request.remote,
            before.short(),
            commit.short()
        ));
    }

    let ctx = session.context(
        Some(identity.pusher().to_owned()),
        now,
        request.updates.clone(),
    );
    let mut verdicts = Vec::new();
    let mut unjudged = Vec::new();
    for update in &request.updates {
        // Only a forced push reaches the hook with a remote tip this clone lacks (git
        // refuses the rest first); whether it rewrites anything cannot be told here.
        if !update.old.is_zero() && !repo.contains(&update.old).map_err(err)? {
            unjudged.push((
                update.clone(),
                format!(
                    "the remote's tip {} is not in this clone (git fetch {})",
                    update.old.short(),
                    request.remote
                ),
            ));
            continue;
        }
        let verdict = session.decide(update, &ctx);
        // An error reading this clone is not what the server would say.
        let internal: Vec<&str> = verdict
            .denials()
            .filter(|r| r.code == Code::InternalError)
            .map(|r| r.detail.as_str())
            .collect();
        if !internal.is_empty() && verdict.denials().count() == internal.len() {
            unjudged.push((update.clone(), internal.join("; ")));
            continue;
        }
        verdicts.push(verdict);
    }
    Ok(Outcome::Judged(Judged {
        verdicts,
        unjudged,
        policy: commit.clone(),
        policy_ref,
        identity,
        notes,
    }))
}

/// The pre-push hook's settings in a clone: `refguard.clientMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A rejection stops the push (exit 1).
    Block,
    /// A rejection is printed; the push goes on.
    Warn,
}

impl Mode {
    /// The config value.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Block => "block",
            Mode::Warn => "warn",
        }
    }

    /// The mode `git config refguard.clientMode` sets (default block), or the unknown value.
    pub fn from_config(value: Option<&str>) -> Result<Mode, String> {
        match value.map(str::trim) {
            None | Some("") | Some("block") => Ok(Mode::Block),
            Some("warn") => Ok(Mode::Warn),
            Some(other) => Err(other.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_get_a_directory_under_refs_refguard() {
        assert_eq!(remote_dir("origin", true), "origin");
        assert_eq!(remote_dir("team/upstream", true), "team/upstream");
        let url = remote_dir("git@example.com:project.git", false);
        assert!(url.starts_with("url-") && url.len() == 16, "{url}");
        assert_eq!(url, remote_dir("git@example.com:project.git", false));
        for bad in ["", ".hidden", "a..b", "x.lock", "with space", "a//b"] {
            assert!(remote_dir(bad, true).starts_with("url-"), "{bad:?}");
        }
    }

    #[test]
    fn repository_names_come_from_the_url() {
        assert_eq!(name_from_url("git@example.com:team/project.git"), "project");
        assert_eq!(name_from_url("https://example.com/project/"), "project");
        assert_eq!(name_from_url("file:///srv/git/server.git"), "server");
        assert_eq!(name_from_url("host:project"), "project");
    }

    #[test]
    fn modes_from_config() {
        assert_eq!(Mode::from_config(None), Ok(Mode::Block));
        assert_eq!(Mode::from_config(Some("warn")), Ok(Mode::Warn));
        assert_eq!(Mode::from_config(Some(" block ")), Ok(Mode::Block));
        assert_eq!(Mode::from_config(Some("loud")), Err("loud".into()));
    }
}
