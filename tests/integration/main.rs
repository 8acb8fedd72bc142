//! refguard's integration tests: one test binary driving the real `git`, `ssh-keygen` and
//! the built `refguard` against bare server repositories (see `scenario`).

mod scenario;

mod objects;

mod approvals;
mod attacks;
mod audit;
mod cli;
mod client;
mod diagnostics;
mod evaluate;
mod grants;
mod hardening;
mod harness;
mod hooks;
mod hostile;
mod inspect;
mod lifecycle;
mod merges;
mod openpgp;
mod org;
mod packaging;
mod paths;
mod policy_branch;
mod push;
mod servers;
mod sshsig_variants;
mod tags;
