//! refguard: a server-side git hook that enforces branch protection with SSH signatures.
//!
//! The shape is *gather, then decide*:
//!
//! ```text
//! stdin/argv ─► hook::parse ─► policy::parse (roles.toml text ─► validated Policy)
//!                                   │
//! repository (git::Repo, from env) ─► session::gather: kind, new commits, signatures, pusher
//!                                   │
//!                       engine::evaluate(&Policy, &PushContext, &UpdateFacts) -> Verdict   (pure)
//!                                   │
//!                         report::render ─► stderr ─► exit code
//! ```
//!
//! `inspect` turns a validated policy into views for people (`policy show`, `who-can`,
//! `keys allowed-signers`).
//!
//! Dependency rule (checked by a grep in `.ci/run`): `engine`, `policy`, `inspect`, `hook`,
//! `pushcert` and `report` never touch the filesystem, environment, processes, git2 or
//! stdout. `git` and `verify` do I/O or crypto and know nothing of the policy. `session`
//! composes them; `cli` is the only place that prints.

pub mod audit;
pub mod cli;
pub mod engine;
pub mod git;
pub mod hook;
pub mod inspect;
pub mod policy;
pub mod pushcert;
pub mod report;
pub mod session;
#[cfg(test)]
pub(crate) mod testutil;
pub mod text;
pub mod verify;
