//! refguard: a server-side git hook that enforces branch protection with cryptography.
//!
//! # One push, end to end
//!
//! ```text
//! stdin/argv ─► hook::parse_pre_receive_lines ─► RefUpdate (or BadInput, rejected + logged)
//! policy branch tip ─► policy::parse ─► Policy            (session::Session::load; under
//!   an organisation policy, spec §10: its file parsed as Layer::Org, the repository's
//!   validated under it (parse_under) and joined: Policy::join_org)
//!                                   │
//! RefUpdate + kind (git) ─► requirements::for_update ─► Requirements  (pure: what applies,
//!                                   │                     with origin file:line and level)
//!               Requirements::needs() ─► Needs ─► session::gather (git, verify) ─► UpdateFacts
//!                                   │
//!               engine::judge(&Policy, &Requirements, ctx, cert, &UpdateFacts) ─► Verdict
//!                                   │                                          (pure)
//!               audit::Record (log, fsync) ─► report::render ─► stderr ─► exit code
//! ```
//!
//! # Layers
//!
//! - **Vocabulary** (pure): `update` (object ids, ref updates, kinds), `code` (reason codes
//!   and hints), `text` (escaping what pushers and policy files wrote), `signature` (key
//!   identity — kind, lookup bytes, fingerprint — computed one way by the policy parser and
//!   the verifier, and the outcome of checking a signature), `approval` (the approval
//!   statement and ref names, spec §7).
//! - **Policy** (pure): `policy` parses and validates roles.toml with spans (one submodule
//!   per section under `policy/parse/`), owns the table of rule lists (`policy::LISTS`: field,
//!   what absence means, code, verb), the one membership function (`Policy::membership`,
//!   which takes a time: listed, or through a time-boxed `[[grant]]` active then; `member`
//!   and `memberships_at` are built on it) and key status (`Policy::key_status`). A file is
//!   read at a `Layer` (spec §10): a repository's alone, the organisation's (locations
//!   `org:roles.toml:N`), or a repository's under the organisation's, whose names it may use
//!   and never redefine; the joined policy keeps each rule's file, and
//!   `Policy::rules_for` gives each file's first match, both of which an update must pass.
//! - **Requirements** (pure): `requirements` turns policy + ref + kind of update into typed
//!   requirements (permission, commit checks, tag signature, approvals, `[[path]]` entries,
//!   policy-branch guard, replace guard, approval refs, signed push), each with its origin
//!   (rule, path entry, section; file:line) and level, and says what facts they need. The
//!   governing rule is the first enforced match; rules and path entries in evaluate mode
//!   (spec §11) add warn-level requirements with their own origin, so shadows need no code
//!   of their own anywhere else.
//! - **Engine** (pure): `engine` judges requirements against facts, one module per check
//!   (`permission`, `commits`, `tag`, `approvals`, `paths`, `policy_branch`, `certificate`);
//!   findings carry a level (an `internal-error` always denies), and a verdict rejects when
//!   any finding is deny-level. `engine::history` judges objects already in history with the
//!   same checks.
//! - **Views** (pure): `inspect` (`policy show`, `who-can`, allowed signers) and `report`
//!   (the `remote:` lines) render the same requirements and verdicts for people.
//! - **Client side** (spec §13): `refmap` (pure: how a clone names the server's refs, so the
//!   session can judge for a remote), `chain` (pure: authenticating the policy branch from a
//!   trust root, each step judged by the engine) and `client` (shell: the pre-push check and
//!   what `verify` gathers from a clone).
//! - **Shell**: `git` (all repository access, quarantine; `git::touched`, which paths a
//!   commit touches, from raw tree objects parsed once per process into a bounded cache on
//!   `Repo`; `git::limit` and `git::graph`, the new commits behind many hidden tips
//!   walked as `git rev-list` walks them, from the commit-graph file when there is one, else
//!   the tips read straight from the packs by `git::pack`; `git::refs`, prefix lookups in
//!   `packed-refs`; the graph and the packs are mapped read-only, the one `unsafe`). Objects
//!   already in the repository are read without libgit2 re-hashing them in two places, as
//!   git reads them: hidden tips through `git::pack`, trees compared by `git::touched` (with
//!   libgit2's process-wide switch off while it runs); commits being judged always are.
//!   `verify` (signature crypto; OpenPGP RSA through ring when it finds a signature valid,
//!   `openpgp::fast`), `pushcert`, `session` (loads the policy — the organisation
//!   policy too, spec §10 — through `policy_cache`, the parse-once cache keyed by policy
//!   tree, whose policies build their key and name indexes only when a push looks up
//!   many; gathers what requirements need; `decide_with` judges under a candidate policy for
//!   `audit replay`), `history` (the history audit's walk), `audit` (the hash-chained log)
//!   and `cli` (the only module that prints; `cli::org`: `policy lint --org`, `org check`).
//!
//! # Where a new check goes
//!
//! A new kind of check is: its policy section (a file under `policy/parse/` and a field of
//! `Policy`), a `requirements::Check` variant that `for_update` emits (with what it needs in
//! `Needs`), an engine module that judges it, and the fact the shell gathers for it in
//! `session::Session::gather`. `who-can`, `policy show` and the history audit read the same
//! requirements.
//!
//! # Dependency rule
//!
//! Checked by a grep in `.ci/run`: `update`, `code`, `text`, `signature`, `approval`,
//! `openpgp` (OpenPGP certificates: parsed and judged at a given time, spec §12), `policy`,
//! `requirements`, `engine`, `inspect`, `hook`, `pushcert`, `report`, `refmap` and `chain`
//! never touch
//! the filesystem, environment, processes, git2 or stdout, and never read the clock: time
//! (key expiry, grant windows) arrives as an argument. `git` and `verify` do I/O or crypto
//! and know
//! nothing of the policy. `session` and `history` compose them; `cli` is the only place that
//! prints. Modules form an acyclic graph: vocabulary ← policy ← requirements ← engine ←
//! views/shell.
//!
//! # Diagnostics
//!
//! `tracing` spans and events (spec §15) live in the shell: a `push` span in `cli::hook`, an
//! `update` span per ref update in `session` (ref, range, rule, user, decision) with
//! `load_policy`, `gather`, `walk`, `verify` (in `git`), `decide` and `log` under it. The
//! pure modules emit at most a `trace!` (the engine's one per requirement) and never set a
//! subscriber: only `cli::diag` does, and only when `REFGUARD_LOG` asks, so with it unset
//! every callsite is disabled and costs nothing measurable.

pub mod approval;
pub mod audit;
pub mod chain;
pub mod cli;
pub mod client;
pub mod code;
pub mod engine;
pub mod git;
pub mod history;
pub mod hook;
pub mod inspect;
pub mod openpgp;
pub mod policy;
pub mod policy_cache;
pub mod pushcert;
pub mod refmap;
pub mod report;
pub mod requirements;
pub mod session;
pub mod signature;
#[cfg(test)]
pub(crate) mod testutil;
pub mod text;
pub mod update;
pub mod verify;
