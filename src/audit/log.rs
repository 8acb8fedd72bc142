//! Appending records to the log under an exclusive lock, and rotating the log without
//! breaking the chain. This is the only code that writes audit files.
//!
//! # Locking
//!
//! Every writer opens the log itself and takes an exclusive `flock` (std [`File::lock`]) for
//! the whole read-last-line + write + fsync. `flock` belongs to the open file description, so
//! two opens in one process contend just like two hook processes do. Readers ([`super::read()`],
//! [`super::verify()`]) take a shared lock only long enough to learn the file's length, so
//! they see whole batches and never hold up a push.
//!
//! # Rotation
//!
//! The administrator rotates with [`rotate`] (never with a bare `mv`, which would lose the
//! link between the files). Under the log's lock it:
//!
//! 1. hashes the last line of `audit.jsonl`: this is the link `L`;
//! 2. copies the log's own start link, if it has one, to `audit-<UTC>.jsonl.prev`;
//! 3. writes `L` to `audit.jsonl.prev` (temporary file, fsync, rename);
//! 4. renames `audit.jsonl` to `audit-<UTC>.jsonl` (e.g. `audit-20261130T120000Z.jsonl`)
//!    and fsyncs the directory.
//!
//! The next [`append`] finds no log, creates it, and starts the chain at the `prev` held in
//! `audit.jsonl.prev` (64 zeros when there is no such file). `verify` checks the first line
//! of a log against its `.prev` file, so every file of a rotated series verifies on its own
//! and removing the first line of any of them is detected. An appender that was waiting for
//! the lock of the file just renamed notices (the path no longer names the file it locked)
//! and starts over on the new file.
//!
//! A crash between steps 3 and 4 leaves `audit.jsonl` in place with a `.prev` that does not
//! match its first line: `verify` reports line 1 as broken (loud, never silent); delete
//! `audit.jsonl.prev` to restore the previous state, or rename the log by hand to finish.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use super::{AuditError, GENESIS, Record};

/// Bytes read at a time when looking for the last line.
const CHUNK: usize = 8 * 1024;

/// Where the rotation link of a log is kept: the log's path with `.prev` appended.
pub fn link_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".prev");
    PathBuf::from(name)
}

/// Hex SHA-256 of one line's bytes (without its newline): the next line's `prev`.
pub fn line_hash(line: &[u8]) -> String {
    format!("{:x}", Sha256::digest(line))
}

/// Appends `records` to the log at `path`, one JSON line each, chaining `prev` from the last
/// line already in the file (or from the rotation link, or 64 zeros, for an empty log).
///
/// Creates the parent directory (mode 0700) and the file (mode 0600) if missing; both modes
/// are further restricted by the process umask. The whole batch goes out in one write and is
/// fsynced before the lock is released. If the write or the fsync fails, the file is cut back
/// to its old length, so the log never claims decisions for a push that was then rejected.
///
/// Fails closed: a last line without its newline (a torn write, or an edit) is an error, not
/// something to chain onto.
pub fn append(path: &Path, records: &[Record]) -> Result<(), AuditError> {
    append_lines(path, records).map(drop)
}

/// [`append`], returning the lines written (without their newlines), e.g. to ship them to
/// syslog exactly as the chain holds them.
pub fn append_lines(path: &Path, records: &[Record]) -> Result<Vec<String>, AuditError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(AuditError::io(dir, "create the audit log directory"))?;
    }
    let file = open_locked(path, Open::CreateIfMissing)?;
    let len = file
        .metadata()
        .map_err(AuditError::io(path, "stat the audit log"))?
        .len();
    let mut prev = match last_line_hash(&file, len, path)? {
        Some(hash) => hash,
        None => chain_start(path)?,
    };

    let mut batch = Vec::new();
    let mut lines = Vec::with_capacity(records.len());
    for record in records {
        let record = Record {
            prev: std::mem::take(&mut prev),
            ..record.clone()
        };
        let line = record.to_line().map_err(|source| AuditError::Serialize {
            path: path.to_owned(),
            source,
        })?;
        prev = line_hash(line.as_bytes());
        batch.extend_from_slice(line.as_bytes());
        batch.push(b'\n');
        lines.push(line);
    }

    // O_APPEND puts the batch at the end, which is `len`: every writer holds the lock.
    if let Err(source) = (&file).write_all(&batch).and_then(|()| file.sync_all()) {
        // Best effort: if even this fails, the torn tail makes the next append refuse.
        let _ = file.set_len(len).and_then(|()| file.sync_all());
        return Err(AuditError::Io {
            path: path.to_owned(),
            op: "write the audit log",
            source,
        });
    }
    if len == 0 {
        // The file may be new: its directory entry must survive a crash too.
        sync_parent(path)?;
    }
    // The records are written and synced: the decision stands. A failed unlock must not
    // turn it into an error (the hook would then reject a push the log already records);
    // closing the file on drop releases the lock anyway.
    let _ = file.unlock();
    Ok(lines)
}

/// What [`rotate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Where the old log now is, e.g. `.../audit-20261130T120000Z.jsonl`.
    pub archived: PathBuf,
    /// The hash of the archived log's last line: the new chain's first `prev`.
    pub link: String,
}

/// Moves the log at `path` aside to `<stem>-<now as YYYYMMDDTHHMMSSZ>.<ext>` in the same
/// directory and records the link so that the next [`append`] continues the chain (see the
/// module documentation for the steps and their crash behaviour).
///
/// Refuses an empty log ([`AuditError::NothingToRotate`]) and a log whose last line is torn.
pub fn rotate(path: &Path, now: OffsetDateTime) -> Result<Rotation, AuditError> {
    let file = open_locked(path, Open::Existing)?;
    let len = file
        .metadata()
        .map_err(AuditError::io(path, "stat the audit log"))?
        .len();
    let link = last_line_hash(&file, len, path)?.ok_or_else(|| AuditError::NothingToRotate {
        path: path.to_owned(),
    })?;
    let archived = archive_path(path, now)?;
    if let Some(own_start) = read_link(path)? {
        write_link(&link_path(&archived), &own_start)?;
    }
    write_link(&link_path(path), &link)?;
    fs::rename(path, &archived).map_err(AuditError::io(path, "rename the audit log"))?;
    sync_parent(path)?;
    file.unlock()
        .map_err(AuditError::io(path, "unlock the audit log"))?;
    Ok(Rotation { archived, link })
}

/// Fsyncs the directory holding `path`, making a create or rename in it durable.
fn sync_parent(path: &Path) -> Result<(), AuditError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(AuditError::io(dir, "sync the audit log directory"))
}

/// Whether [`open_locked`] may create the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    CreateIfMissing,
    Existing,
}

/// Opens the log for read + append and takes its exclusive lock, making sure the lock is on
/// the file the path names *now* (a rotation may have renamed it while we waited).
fn open_locked(path: &Path, open: Open) -> Result<File, AuditError> {
    loop {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(open == Open::CreateIfMissing)
            .mode(0o600)
            .open(path)
            .map_err(AuditError::io(path, "open the audit log"))?;
        file.lock()
            .map_err(AuditError::io(path, "lock the audit log"))?;
        // Renamed by a rotation (and maybe already replaced) while we waited: start over.
        if still_named(&file, path)? {
            return Ok(file);
        }
    }
}

/// The hash of the last line of a file of length `len`, reading backwards in chunks and then
/// hashing that line forwards, so that memory stays bounded however large the log or the
/// line. `None` for an empty file.
pub(crate) fn last_line_hash(
    file: &File,
    len: u64,
    path: &Path,
) -> Result<Option<String>, AuditError> {
    if len == 0 {
        return Ok(None);
    }
    let read_err = AuditError::io(path, "read the audit log");
    let mut chunk = vec![0u8; CHUNK];
    file.read_exact_at(&mut chunk[..1], len - 1)
        .map_err(read_err)?;
    if chunk[0] != b'\n' {
        return Err(AuditError::TornLastLine {
            path: path.to_owned(),
        });
    }
    let end = len - 1;
    let mut start = 0;
    let mut pos = end;
    while pos > 0 {
        let n = usize::try_from(pos).map_or(CHUNK, |p| p.min(CHUNK));
        let from = pos - n as u64;
        file.read_exact_at(&mut chunk[..n], from)
            .map_err(AuditError::io(path, "read the audit log"))?;
        if let Some(i) = chunk[..n].iter().rposition(|&b| b == b'\n') {
            start = from + i as u64 + 1;
            break;
        }
        pos = from;
    }
    let mut hasher = Sha256::new();
    let mut at = start;
    while at < end {
        let n = usize::try_from(end - at).map_or(CHUNK, |r| r.min(CHUNK));
        file.read_exact_at(&mut chunk[..n], at)
            .map_err(AuditError::io(path, "read the audit log"))?;
        hasher.update(&chunk[..n]);
        at += n as u64;
    }
    Ok(Some(format!("{:x}", hasher.finalize())))
}

/// The `prev` of the first record of the log at `path`: its rotation link, or 64 zeros.
pub(crate) fn chain_start(path: &Path) -> Result<String, AuditError> {
    Ok(read_link(path)?.unwrap_or_else(|| GENESIS.to_owned()))
}

/// The rotation link of the log at `path`, if it has one.
pub(crate) fn read_link(log: &Path) -> Result<Option<String>, AuditError> {
    let path = link_path(log);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuditError::io(&path, "read the rotation link")(e)),
    };
    let hash = text.strip_suffix('\n').unwrap_or(&text);
    let is_hash = hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if is_hash {
        Ok(Some(hash.to_owned()))
    } else {
        Err(AuditError::BadLink { path })
    }
}

/// Writes a link file atomically: temporary file, fsync, rename.
fn write_link(path: &Path, hash: &str) -> Result<(), AuditError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(AuditError::io(&tmp, "create the rotation link"))?;
    file.write_all(format!("{hash}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(AuditError::io(&tmp, "write the rotation link"))?;
    fs::rename(&tmp, path).map_err(AuditError::io(path, "rename the rotation link"))
}

/// A free archive name beside the log: `audit-20261130T120000Z.jsonl`, then `-2`, `-3`...
fn archive_path(log: &Path, now: OffsetDateTime) -> Result<PathBuf, AuditError> {
    let stamp = now
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .map_err(|e| AuditError::Io {
            path: log.to_owned(),
            op: "name the rotated audit log",
            source: io::Error::other(e),
        })?;
    let stem = log
        .file_stem()
        .map_or_else(|| "audit".into(), |s| s.to_string_lossy());
    let ext = log
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    for n in 1u32.. {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let candidate = log.with_file_name(format!("{stem}-{stamp}{suffix}{ext}"));
        let taken = fs::symlink_metadata(&candidate).is_ok()
            || fs::symlink_metadata(link_path(&candidate)).is_ok();
        if !taken {
            return Ok(candidate);
        }
    }
    Err(AuditError::Io {
        path: log.to_owned(),
        op: "find a free name for the rotated audit log",
        source: io::ErrorKind::AlreadyExists.into(),
    })
}

/// Opens the log read-only and learns its length under a shared lock, so that a reader sees
/// whole batches: writers append under the exclusive lock. `also` runs under the same lock
/// (no rotation can be half-done then), e.g. to read the rotation link. The lock is released
/// at once; read no further than the returned length.
pub(crate) fn open_snapshot<T>(
    path: &Path,
    also: impl Fn() -> Result<T, AuditError>,
) -> Result<(File, u64, T), AuditError> {
    loop {
        let file = File::open(path).map_err(AuditError::io(path, "open the audit log"))?;
        file.lock_shared()
            .map_err(AuditError::io(path, "lock the audit log"))?;
        if !still_named(&file, path)? {
            continue;
        }
        let len = file
            .metadata()
            .map_err(AuditError::io(path, "stat the audit log"))?
            .len();
        let extra = also()?;
        file.unlock()
            .map_err(AuditError::io(path, "unlock the audit log"))?;
        return Ok((file, len, extra));
    }
}

/// Whether `path` still names the (locked) `file`: a rotation may have renamed it meanwhile.
fn still_named(file: &File, path: &Path) -> Result<bool, AuditError> {
    let locked = file
        .metadata()
        .map_err(AuditError::io(path, "stat the audit log"))?;
    match fs::metadata(path) {
        Ok(named) => Ok(named.dev() == locked.dev() && named.ino() == locked.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(AuditError::io(path, "stat the audit log")(e)),
    }
}
