//! The command line: clap definitions and dispatch. The only place that prints; everything
//! else returns data. Exit codes: 0 allowed/valid, 1 rejected/invalid, 2 usage or
//! environment error.

mod admin;
mod approve;
mod audit;
mod client;
mod demo;
mod diag;
mod generate;
mod hook;
mod inspect;
mod org;
mod replay;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit code for "allowed" / "valid".
pub const EXIT_OK: u8 = 0;
/// Exit code for "rejected" / "invalid".
pub const EXIT_REJECT: u8 = 1;
/// Exit code for usage or environment errors.
pub const EXIT_ERROR: u8 = 2;

const HOOK_HELP: &str = concat!(
    "The hook files that `refguard install` puts in place (from the project's hooks/ directory,\n",
    "with the path of this binary substituted):\n\n",
    "hooks/pre-receive:\n",
    include_str!("../../hooks/pre-receive"),
    "\nhooks/update:\n",
    include_str!("../../hooks/update"),
    "\nhooks/pre-push (in a clone, by `refguard install --client`):\n",
    include_str!("../../hooks/pre-push"),
    "\nInvoked under the name `pre-receive`, `update` or `pre-push` (a symlink or copy in hooks/),\n",
    "refguard behaves as `refguard hook pre-receive|update|pre-push`."
);

const ENVIRONMENT_HELP: &str = "\
Environment:
  REFGUARD_USER, GL_USER, GITEA_PUSHER_NAME, GL_USERNAME, REMOTE_USER
                       the pusher's name: the first one set and non-empty
  REFGUARD_LOG         diagnostics filter: info (or 1), debug, refguard::engine=trace, ...
  REFGUARD_LOG_FORMAT  text (the default) or json (one object per line)

Server-side git config (`git config NAME VALUE` in the repository):
  refguard.policyRef          the policy branch (default refs/meta/policy)
  refguard.orgPolicy          the organisation policy repository (spec §10; system,
                              global or repository config)
  refguard.auditLog           the audit log (default GIT_DIR/refguard/audit.jsonl)
  refguard.logFile            where a hook's diagnostics go: a file, or journald
  refguard.auditSyslog        true: also send each audit record to syslog (RFC 5424)
  refguard.auditSyslogSocket  the syslog socket (default /dev/log)";

/// refguard: branch protection with SSH signatures for self-hosted git servers.
#[derive(Debug, Parser)]
#[command(name = "refguard", version, about, long_about = None, disable_help_subcommand = true)]
#[command(after_long_help = ENVIRONMENT_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the policy branch with FILE as roles.toml (refuses if it exists or FILE is invalid).
    Init {
        /// The server repository (default: $GIT_DIR, else the repository around the cwd).
        #[arg(long)]
        repo: Option<PathBuf>,
        /// The roles file to install.
        #[arg(long)]
        policy: PathBuf,
    },
    /// Install the hook(s) into a repository; refuses to overwrite a foreign hook without --force.
    Install {
        /// The server repository (with --client: the clone).
        #[arg(long)]
        repo: Option<PathBuf>,
        /// Which hook(s) to install. pre-receive (the default) is all-or-nothing and sees the
        /// push in git's quarantine; update judges each ref on its own.
        #[arg(long, value_enum, default_value_t = HookChoice::PreReceive)]
        hook: HookChoice,
        /// Replace a hook that refguard did not write (the old one is kept as NAME.before-refguard).
        #[arg(long)]
        force: bool,
        /// Install the client-side pre-push hook in a clone instead: each push is judged
        /// against the remote's policy before anything leaves the machine (spec §13).
        #[arg(long, conflicts_with = "hook")]
        client: bool,
        /// With --client: block stops a push the remote's policy rejects; warn reports it and
        /// pushes anyway (stored as git config refguard.clientMode).
        #[arg(long, value_enum, requires = "client", default_value_t = client::ClientMode::Block)]
        mode: client::ClientMode,
    },
    /// Run as a git hook (what the installed hook files call).
    #[command(after_help = HOOK_HELP)]
    Hook {
        #[command(subcommand)]
        hook: HookCommand,
    },
    /// The same decision as the hook, as a dry run, without pushing.
    Check {
        /// The repository.
        #[arg(long)]
        repo: Option<PathBuf>,
        /// The pusher name to judge as (default: from the environment, as the hook does).
        #[arg(long = "as")]
        as_name: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The full ref name, e.g. refs/heads/main.
        refname: String,
        /// The old id (40 zeros: create).
        old: String,
        /// The new id (40 zeros: delete).
        new: String,
    },
    /// Approve moving a ref to a commit (run in a clone by an approver): writes a signed
    /// approval tag bound to the remote's current tip of the ref and pushes it under
    /// refs/approvals/ (spec §7).
    Approve {
        /// The commit the ref is to point at.
        commit: String,
        /// The ref, e.g. refs/heads/production (a bare name means refs/heads/NAME).
        #[arg(long = "ref", value_name = "REF")]
        refname: String,
        /// The remote that is the server.
        #[arg(long, default_value = "origin")]
        remote: String,
        /// When the approval stops counting: YYYY-MM-DD (UTC midnight) or RFC 3339.
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        expires: Option<time::OffsetDateTime>,
        /// The repository's name on the server (default: git config refguard.repository,
        /// else the remote URL's last component without .git).
        #[arg(long)]
        repository: Option<String>,
        /// The clone (default: the current directory).
        #[arg(long)]
        repo: Option<PathBuf>,
        /// Store the approval under refs/approvals/ locally but do not push it.
        #[arg(long)]
        no_push: bool,
    },
    /// Verify a clone offline, trusting only a pinned policy commit: authenticate the policy
    /// branch's chain from it to the tip (every change approved by the policy before it),
    /// then judge the protected refs' history against the authenticated policy.
    ///
    /// Exit 0 only when the chain is unbroken and no protected commit violates the policy;
    /// 1 when it breaks (a change not approved, a commit written on the server by refguard
    /// init or policy reset, a tip that does not descend from the trust root) or history
    /// violates it; 2 when nothing could be verified (no such trust root or policy branch).
    /// Changes are judged at their committer time (never later than now, never earlier than
    /// the change before); history is judged at now.
    Verify {
        /// The policy commit you trust, as a full id (e.g. the one refguard init created,
        /// recorded out of band).
        #[arg(long, value_name = "POLICY-COMMIT")]
        trust_root: String,
        /// The clone (default: $GIT_DIR, else the repository around the current directory).
        #[arg(long)]
        repo: Option<PathBuf>,
        /// The policy branch in the clone (default: git config refguard.policyRef, else
        /// refs/meta/policy; the pre-push hook keeps refs/refguard/<remote>/policy).
        #[arg(long, value_name = "REF")]
        policy_ref: Option<String>,
        /// Judge only these refs' history (full names; repeatable). Default: every protected
        /// ref of the repository, by its name here.
        #[arg(long = "ref", value_name = "REF")]
        refs: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Work with roles files.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The organisation policy shared by many repositories (spec §10).
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// The audit log and the audit of history (for security teams).
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Who may push, create, delete, force-push, sign or merge on one ref, and under which rule.
    WhoCan {
        /// What to ask about.
        #[arg(value_enum)]
        action: inspect::WhoCanArg,
        /// The full ref name, e.g. refs/heads/main.
        refname: String,
        /// For a change that touches this path (relative to the tree root): apply the
        /// [[path]] entries that cover it too.
        #[arg(long)]
        path: Option<String>,
        /// The repository.
        #[arg(long)]
        repo: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Work with the policy's keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// A self-contained tour in a temporary directory: a server repo, two users, accepted and
    /// rejected pushes.
    Demo {
        /// Keep the temporary directory and print its path.
        #[arg(long)]
        keep: bool,
    },
    /// Man pages and shell completions from these definitions (for install.sh and packagers).
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: generate::GenerateCommand,
    },
}

#[derive(Debug, Subcommand)]
enum HookCommand {
    /// Read `<old> <new> <ref>` lines on stdin and judge the whole push (all-or-nothing).
    PreReceive,
    /// Judge one ref update; the push's other refs go on.
    Update {
        /// The ref being updated (as git passes it: not necessarily UTF-8).
        refname: std::ffi::OsString,
        /// Its old id.
        old: std::ffi::OsString,
        /// Its new id.
        new: std::ffi::OsString,
    },
    /// In a clone: read `<local-ref> <local-oid> <remote-ref> <remote-oid>` lines on stdin and
    /// judge each pushed ref against the remote's policy before anything is sent.
    PrePush {
        /// The remote's name (or URL).
        remote: std::ffi::OsString,
        /// The URL pushed to.
        url: std::ffi::OsString,
    },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Lint every repository under DIR that has refguard installed and an organisation
    /// policy configured against the current organisation policy (or FILE, a proposed
    /// one): lists those that would break. Exit 1 when any would, 0 when none would.
    Check {
        /// Where the repositories are (searched recursively).
        #[arg(long, value_name = "DIR")]
        root: PathBuf,
        /// A proposed organisation roles.toml to check instead of the current one.
        #[arg(long, value_name = "FILE")]
        org: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate a roles file; problems print as FILE:LINE:COL: message.
    Lint {
        /// The roles file.
        file: PathBuf,
        /// Lint FILE as a repository's roles file under this organisation roles file
        /// (spec §10): it may use the organisation's names, never redefine one or list an
        /// organisation user's key or pusher name.
        #[arg(long, value_name = "ORG.toml")]
        org: Option<PathBuf>,
    },
    /// The effective policy at the policy branch tip: users, keys, expanded roles, rules.
    Show {
        /// The repository.
        #[arg(long)]
        repo: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Lock-out recovery on the server: replace the policy with FILE without admin signatures.
    Reset {
        /// The server repository.
        #[arg(long)]
        repo: Option<PathBuf>,
        /// The roles file to install (validated first).
        #[arg(long)]
        policy: PathBuf,
        /// Confirms you are the server's administrator and mean to bypass [policy].
        #[arg(long)]
        yes_i_hold_the_server: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Print the active keys in git's allowed_signers format (for gpg.ssh.allowedSignersFile).
    AllowedSigners {
        /// The repository.
        #[arg(long)]
        repo: Option<PathBuf>,
    },
    /// Print the policy's OpenPGP certificates as one armored keyring (for `gpg --import`).
    Export {
        /// Export the OpenPGP certificates (the only format; required).
        #[arg(long, required = true)]
        openpgp: bool,
        /// The repository.
        #[arg(long)]
        repo: Option<PathBuf>,
    },
}

/// Which hooks `install` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookChoice {
    /// Only pre-receive (recommended).
    PreReceive,
    /// Only update.
    Update,
    /// Both.
    Both,
}

/// Output format of reporting commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Plain text.
    Text,
    /// JSON.
    Json,
}

/// A time on the command line: `YYYY-MM-DD` (midnight UTC) or RFC 3339.
fn parse_time(text: &str) -> Result<time::OffsetDateTime, String> {
    crate::policy::parse_instant(text)
}

/// Runs refguard with process arguments; under the name `pre-receive` or `update` it acts as
/// that hook.
pub fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let program = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    if program == "pre-receive" || program == "update" || program == "pre-push" {
        args.splice(0..1, ["refguard".into(), "hook".into(), program.into()]);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_OK
            });
        }
    };
    ExitCode::from(run(cli))
}

fn run(cli: Cli) -> u8 {
    // A hook sets up its own diagnostics: its stderr is the pusher's screen (spec §15).
    if !matches!(cli.command, Command::Hook { .. }) {
        diag::init_person(diag::Settings::from_env().as_ref());
    }
    let result = match cli.command {
        Command::Hook { hook } => return hook::run(hook),
        Command::Init { repo, policy } => admin::init(repo, &policy),
        Command::Install {
            repo,
            force,
            client: true,
            mode,
            ..
        } => client::install(repo, mode, force),
        Command::Install {
            repo, hook, force, ..
        } => admin::install(repo, hook, force),
        Command::Verify {
            trust_root,
            repo,
            policy_ref,
            refs,
            format,
        } => client::verify(client::VerifyRequest {
            trust_root,
            repo,
            policy_ref,
            refs,
            format,
        }),
        Command::Check {
            repo,
            as_name,
            format,
            refname,
            old,
            new,
        } => admin::check(repo, as_name, format, [refname, old, new]),
        Command::Policy {
            command: PolicyCommand::Lint { file, org },
        } => admin::lint(&file, org.as_deref()),
        Command::Org {
            command: OrgCommand::Check { root, org, format },
        } => org::check(&root, org.as_deref(), format),
        Command::Audit { command } => audit::run(command),
        Command::Policy {
            command: PolicyCommand::Show { repo, format },
        } => inspect::show(repo, format),
        Command::Policy {
            command:
                PolicyCommand::Reset {
                    repo,
                    policy,
                    yes_i_hold_the_server,
                },
        } => inspect::reset(repo, &policy, yes_i_hold_the_server),
        Command::WhoCan {
            action,
            refname,
            path,
            repo,
            format,
        } => inspect::who_can(repo, action, &refname, path.as_deref(), format),
        Command::Keys {
            command: KeysCommand::AllowedSigners { repo },
        } => inspect::allowed_signers(repo),
        Command::Keys {
            command: KeysCommand::Export { openpgp: _, repo },
        } => inspect::export_openpgp(repo),
        Command::Demo { keep } => demo::run(keep),
        Command::Approve {
            commit,
            refname,
            remote,
            expires,
            repository,
            repo,
            no_push,
        } => approve::run(approve::Request {
            repo,
            commit,
            refname,
            remote,
            expires,
            repository,
            no_push,
        }),
        Command::Generate { what } => generate::run(what),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // Errors may quote a ref name or a path given by someone else (spec §14).
            eprintln!(
                "refguard: error: {}",
                crate::text::escape(&format!("{err:#}"))
            );
            EXIT_ERROR
        }
    }
}
