//! Reading records back, filtered and streamed, for `refguard audit log`. Does not check the
//! chain (that is [`super::verify()`]).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Take};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::log::open_snapshot;
use super::record::parse_line;
use super::{AuditError, Decision, Record};

/// Which records to return; every `None` (and `grants: false`) matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only records at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only records for exactly this ref.
    pub refname: Option<String>,
    /// Only accepted, or only rejected, updates.
    pub decision: Option<Decision>,
    /// Only decisions that relied on a time-boxed grant (a non-empty `grants`, spec §8).
    pub grants: bool,
    /// Only decisions with findings of rules in evaluate mode (a non-empty `evaluate`,
    /// spec §11).
    pub would_reject: bool,
}

impl Filter {
    /// Whether `record` passes the filter.
    pub fn matches(&self, record: &Record) -> bool {
        self.since.is_none_or(|since| record.time >= since)
            && self
                .refname
                .as_ref()
                .is_none_or(|name| *name == record.refname)
            && self.decision.is_none_or(|d| d == record.decision)
            && (!self.grants || !record.grants.is_empty())
            && (!self.would_reject || !record.evaluate.is_empty())
    }
}

/// A stream of the records of one log that pass a [`Filter`], oldest first. A line that is
/// not a valid record yields an [`AuditError::BadRecord`] and the stream goes on; a read
/// error ends it.
#[derive(Debug)]
pub struct Records {
    path: PathBuf,
    reader: BufReader<Take<File>>,
    filter: Filter,
    line_no: u64,
    buf: Vec<u8>,
    done: bool,
}

/// Opens the log at `path` for reading records that pass `filter`. Only the records present
/// when it is opened are read.
pub fn read(path: &Path, filter: &Filter) -> Result<Records, AuditError> {
    let (file, len, ()) = open_snapshot(path, || Ok(()))?;
    Ok(Records {
        path: path.to_owned(),
        reader: BufReader::new(file.take(len)),
        filter: filter.clone(),
        line_no: 0,
        buf: Vec::new(),
        done: false,
    })
}

impl Iterator for Records {
    type Item = Result<Record, AuditError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.line_no += 1;
                    let parsed = match self.buf.strip_suffix(b"\n") {
                        Some(line) => parse_line(line),
                        None => Err("no trailing newline: a torn write or an edit".into()),
                    };
                    match parsed {
                        Ok(record) if self.filter.matches(&record) => return Some(Ok(record)),
                        Ok(_) => {}
                        Err(reason) => {
                            return Some(Err(AuditError::BadRecord {
                                path: self.path.clone(),
                                line: self.line_no,
                                reason,
                            }));
                        }
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(AuditError::io(&self.path, "read the audit log")(e)));
                }
            }
        }
        None
    }
}
