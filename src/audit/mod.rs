//! The tamper-evident audit log (spec §6): one JSON line per ref update, each line carrying
//! the SHA-256 of the line before it, so that an edited, inserted, removed or reordered line
//! breaks the chain.
//!
//! This module owns the record format ([`record`], pure), appending under an exclusive file
//! lock with fsync and rotation ([`log`]), verifying the chain ([`verify()`]), and reading and
//! rendering records back ([`read()`], [`table`]). It returns data and never prints: the CLI
//! and the hook decide what to show.
//!
//! What the chain does and does not prove: it detects changes made without recomputing the
//! hashes of every later line. Someone who can write the file can rewrite the whole tail
//! consistently, and the last line can be edited undetectably. Anchor the chain outside the
//! server (ship [`VerifyReport::last_hash`] to syslog or a ticket) when that matters.

mod error;
pub mod log;
mod read;
pub mod record;
pub mod syslog;
mod table;
mod verify;

#[cfg(test)]
mod tests;

pub use error::AuditError;
pub use log::{Rotation, append, append_lines, rotate};
pub use read::{Filter, Records, read};
pub use record::{Decision, Hook, Record, RecordContext, RecordGrant, RecordReason};
pub use table::{printable, table};
pub use verify::{BadLine, ChainStart, VerifyReport, verify};

/// The `prev` of the first line of a fresh chain: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
