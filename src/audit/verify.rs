//! Verifying the hash chain of one log file, streaming it in constant memory (bounded by the
//! longest line).

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use time::OffsetDateTime;

use super::log::{line_hash, link_path, open_snapshot, read_link};
use super::record::parse_line;
use super::{AuditError, GENESIS};

/// Where a log's chain starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainStart {
    /// A fresh chain: the first `prev` is 64 zeros.
    Genesis,
    /// A rotated chain: the first `prev` is this hash of the previous file's last line, as
    /// recorded in the log's `.prev` file.
    Link(String),
}

impl ChainStart {
    /// The `prev` the first line must carry.
    pub fn prev(&self) -> &str {
        match self {
            ChainStart::Genesis => GENESIS,
            ChainStart::Link(hash) => hash,
        }
    }
}

/// The first line that breaks the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line_no: u64,
    /// What is wrong, in one sentence.
    pub reason: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Intact records before the first bad line (all of them when the chain holds).
    pub records: u64,
    /// `time` of the first intact record.
    pub first_time: Option<OffsetDateTime>,
    /// `time` of the last intact record.
    pub last_time: Option<OffsetDateTime>,
    /// Where the chain starts.
    pub start: ChainStart,
    /// The hash of the last intact line (the start's `prev` when there is none): the `prev`
    /// the next record will carry. Keep it somewhere else to anchor the chain.
    pub last_hash: String,
    /// The first broken line, if any; checking stops there.
    pub first_bad: Option<BadLine>,
}

impl VerifyReport {
    /// Whether the whole file verified.
    pub fn is_intact(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// Recomputes the chain of the log at `path`: every line must be a version-1 record whose
/// `prev` is the hash of the line before (of the chain start for line 1) and must end in a
/// newline. A log that does not exist is an error, unless its `.prev` file does (the state
/// right after a rotation: no records yet).
pub fn verify(path: &Path) -> Result<VerifyReport, AuditError> {
    let start_of = || {
        Ok(match read_link(path)? {
            Some(hash) => ChainStart::Link(hash),
            None => ChainStart::Genesis,
        })
    };
    let (file, len, start) = match open_snapshot(path, start_of) {
        Ok((file, len, start)) => (Some(file), len, start),
        Err(AuditError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            match start_of()? {
                // Just rotated: no records yet.
                ChainStart::Link(hash) => (None, 0, ChainStart::Link(hash)),
                ChainStart::Genesis => {
                    return Err(AuditError::io(path, "open the audit log")(source));
                }
            }
        }
        Err(e) => return Err(e),
    };
    let mut report = VerifyReport {
        records: 0,
        first_time: None,
        last_time: None,
        last_hash: start.prev().to_owned(),
        start,
        first_bad: None,
    };
    let Some(file) = file else {
        return Ok(report);
    };
    let mut reader = BufReader::new(file.take(len));
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(AuditError::io(path, "read the audit log"))?;
        if n == 0 {
            return Ok(report);
        }
        line_no += 1;
        let bad = |reason: String| Some(BadLine { line_no, reason });
        let Some(line) = buf.strip_suffix(b"\n") else {
            report.first_bad = bad(
                "no trailing newline: the last line is torn (an interrupted write) or was edited"
                    .into(),
            );
            return Ok(report);
        };
        let record = match parse_line(line) {
            Ok(record) => record,
            Err(reason) => {
                report.first_bad = bad(reason);
                return Ok(report);
            }
        };
        if record.prev != report.last_hash {
            report.first_bad = bad(if line_no == 1 {
                first_line_mismatch(path, &report.start)
            } else {
                format!(
                    "`prev` is not the hash of line {}: a line was edited, inserted, removed or \
                     reordered at this point (or line {} itself was edited)",
                    line_no - 1,
                    line_no - 1,
                )
            });
            return Ok(report);
        }
        report.records += 1;
        report.first_time.get_or_insert(record.time);
        report.last_time = Some(record.time);
        report.last_hash = line_hash(line);
    }
}

/// Why line 1 does not start the chain, with what the admin can check.
fn first_line_mismatch(path: &Path, start: &ChainStart) -> String {
    let link = link_path(path);
    match start {
        ChainStart::Genesis => format!(
            "`prev` is not 64 zeros, and there is no rotation link {}: earlier lines were \
             removed, or the log was renamed by hand instead of rotated by refguard",
            link.display()
        ),
        ChainStart::Link(_) => format!(
            "`prev` is not the rotation link in {}: earlier lines were removed, or a rotation \
             was interrupted before the log was renamed",
            link.display()
        ),
    }
}
