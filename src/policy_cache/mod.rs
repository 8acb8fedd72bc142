//! The parse-once cache of the policy in force (issue 20): a validated [`Policy`] stored
//! under the repository's refguard directory, keyed by a hash of everything it was built
//! from, so that a push under a 10,000-user roles.toml does not parse and validate every key
//! again. Shell (files); knows nothing of git.
//!
//! Never trusted across changes, never an accept that parsing would not give:
//!
//! - The caller's key ([`key`]) hashes the inputs (the policy tree, which commits to
//!   roles.toml and every file it references), this cache's [`FORMAT`], refguard's version
//!   and the running executable's size and modification time: any change of policy, layout
//!   or binary is another key, so another file.
//! - An entry is one file, written whole to a temporary file in the same directory and
//!   renamed over its name (atomic on POSIX), holding its own key, its payload's length and
//!   a CRC-32 of its payload: a torn, truncated, renamed or corrupt file fails a check and is
//!   ignored (the policy is parsed again), as is one that does not decode or rebuild. The
//!   checksum guards against accidents (a crash before the unsynced data reached the disk
//!   leaves zeros or stale blocks; a flipped bit), which CRC-32 detects as surely as a
//!   cryptographic hash would (every burst of up to 32 bits, anything else but once in
//!   2^32) at a tenth of the cost of SHA-256 over a 1.7 MB entry. It is no defence against
//!   a forger and need not be: whoever can write an entry (the repository's owner, in its
//!   `refguard/` directory, mode 0700) can as well rewrite the hook or the policy branch.
//! - Failing to write (a read-only directory, a full disk) never fails the push: the parsed
//!   policy is used and the failure only traced.
//! - At most [`KEEP`] entries are kept: after a write the oldest others are removed.
//!
//! The format (version [`FORMAT`]): the 8 bytes `RGPOLCCH`, the format as a little-endian
//! u32, the 32-byte key, the CRC-32 (ISO-HDLC, as zlib's `crc32` and [`crc32fast`] compute
//! it) of the payload as a little-endian u32, the payload length as a little-endian u64,
//! then the payload: `stored::StoredPolicy` in postcard
//! (<https://postcard.jamesmunns.com/wire-format>).

mod stored;
#[cfg(test)]
mod tests;

use std::fs;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::policy::Policy;
use stored::StoredPolicy;

/// The layout of an entry and of `stored::StoredPolicy`: bump it whenever either changes
/// (it is part of every key, so old entries are never read).
pub const FORMAT: u32 = 3;

/// How many entries a repository keeps (the policy in force, the organisation's, and a few
/// recent ones a rollback could return to).
pub const KEEP: usize = 8;

const MAGIC: &[u8; 8] = b"RGPOLCCH";
const HEADER: usize = 8 + 4 + 32 + 4 + 8;
const SUFFIX: &str = ".policy";

/// A cache key: SHA-256 over everything the policy was built from ([`key`]).
pub type Key = [u8; 32];

/// The cache directory of a repository whose common git directory is `common_dir` (where
/// the audit log's directory is, never a quarantine object directory).
pub fn dir_for(common_dir: &Path) -> PathBuf {
    common_dir.join("refguard").join("policy-cache")
}

/// The key of a policy built from `inputs` (each an identifier of something it was parsed
/// from, such as a tree id): SHA-256 over a domain tag, [`FORMAT`], refguard's version, the
/// running executable's identity and each input, length-prefixed (no two lists of inputs
/// hash alike).
pub fn key(inputs: &[&[u8]]) -> Key {
    let mut hash = Sha256::new();
    let mut part = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    part(b"refguard policy cache");
    part(&FORMAT.to_le_bytes());
    part(env!("CARGO_PKG_VERSION").as_bytes());
    part(&executable_identity());
    for input in inputs {
        part(input);
    }
    hash.finalize().into()
}

/// The running executable's size and modification time: a rebuilt or upgraded binary (whose
/// policy layout may differ under the same version) never reads its predecessor's entries.
/// Empty when it cannot be read (the version and [`FORMAT`] still apply).
fn executable_identity() -> Vec<u8> {
    let Some(meta) = std::env::current_exe()
        .ok()
        .and_then(|p| fs::metadata(p).ok())
    else {
        return Vec::new();
    };
    let mut out = meta.len().to_le_bytes().to_vec();
    if let Some(since) = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
    {
        out.extend_from_slice(&since.as_nanos().to_le_bytes());
    }
    out
}

/// The policy stored under `key` in `dir`, else `parse()`'s, stored for next time when it
/// is `Ok`. A missing, unreadable, corrupt or foreign entry is a miss; a failure to store is
/// ignored (traced at debug level).
pub fn load<E>(
    dir: &Path,
    key: &Key,
    parse: impl FnOnce() -> Result<Policy, E>,
) -> Result<Policy, E> {
    if let Some(policy) = read(dir, key) {
        tracing::debug!(key = %hex(key), "policy cache hit");
        return Ok(policy);
    }
    let policy = parse()?;
    match store(dir, key, &policy) {
        Ok(()) => tracing::debug!(key = %hex(key), "policy cache stored"),
        Err(e) => tracing::debug!(key = %hex(key), error = %e, "policy cache not written"),
    }
    Ok(policy)
}

/// The entry's file.
fn path_of(dir: &Path, key: &Key) -> PathBuf {
    dir.join(format!("{}{SUFFIX}", hex(key)))
}

fn hex(key: &Key) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// The policy of the entry for `key`, if there is a sound one.
fn read(dir: &Path, key: &Key) -> Option<Policy> {
    let bytes = fs::read(path_of(dir, key)).ok()?;
    let stored = decode_stored(&bytes, key);
    // The entry's bytes are not needed once decoded: freed before the policy is built.
    drop(bytes);
    match stored.and_then(rebuild) {
        Ok(policy) => Some(policy),
        Err(why) => {
            tracing::debug!(key = %hex(key), why, "policy cache entry ignored");
            None
        }
    }
}

/// The bytes of an entry for `key` holding `policy`.
fn encode(key: &Key, policy: &Policy) -> Result<Vec<u8>, postcard::Error> {
    let payload = postcard::to_allocvec(&StoredPolicy::from_policy(policy))?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// The policy an entry holds, checked against `key` and its checksum; Err says why not.
#[cfg(test)]
fn decode(bytes: &[u8], key: &Key) -> Result<Policy, String> {
    decode_stored(bytes, key).and_then(rebuild)
}

/// The policy a decoded entry holds; Err says why it does not rebuild.
fn rebuild(stored: StoredPolicy) -> Result<Policy, String> {
    stored
        .into_policy()
        .map_err(|e| format!("does not rebuild: {e}"))
}

/// The stored policy an entry holds, checked against `key` and its checksum; Err says why
/// not.
fn decode_stored(bytes: &[u8], key: &Key) -> Result<StoredPolicy, String> {
    let (header, payload) = bytes
        .split_at_checked(HEADER)
        .ok_or("shorter than its header")?;
    let (magic, rest) = header.split_at(8);
    let (format, rest) = rest.split_at(4);
    let (stored_key, rest) = rest.split_at(32);
    let (checksum, len) = rest.split_at(4);
    if magic != MAGIC {
        return Err("not a policy cache entry".into());
    }
    if format != FORMAT.to_le_bytes() {
        return Err("another format".into());
    }
    if stored_key != key {
        return Err("another key".into());
    }
    if len != (payload.len() as u64).to_le_bytes() {
        return Err("truncated or extended".into());
    }
    if crc32fast::hash(payload).to_le_bytes() != checksum {
        return Err("checksum mismatch".into());
    }
    postcard::from_bytes(payload).map_err(|e| format!("does not decode: {e}"))
}

/// Errors of writing an entry (never shown to a pusher: only traced).
#[derive(Debug, thiserror::Error)]
enum StoreError {
    #[error("encode: {0}")]
    Encode(#[from] postcard::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Persist(#[from] tempfile::PersistError),
}

/// Writes the entry for `key` atomically (a temporary file in `dir` renamed over
/// its name), then removes the oldest entries beyond [`KEEP`].
fn store(dir: &Path, key: &Key, policy: &Policy) -> Result<(), StoreError> {
    let bytes = encode(key, policy)?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(SUFFIX)
        .tempfile_in(dir)?;
    // Not synced: after a crash a torn entry fails its checksum and is parsed again, so the
    // cold push need not pay for an fsync.
    tmp.write_all(&bytes)?;
    tmp.persist(path_of(dir, key))?;
    evict(dir, KEEP);
    Ok(())
}

/// Removes the oldest entries (by modification time) beyond `keep`, and stale temporary
/// files. Best effort: what cannot be listed or removed stays.
fn evict(dir: &Path, keep: usize) {
    let Ok(listing) = fs::read_dir(dir) else {
        return;
    };
    let mut entries = Vec::new();
    for entry in listing.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.ends_with(SUFFIX) {
            continue;
        }
        let modified = entry.metadata().and_then(|m| m.modified()).ok();
        if name.starts_with(".tmp-") {
            // A writer that died before its rename; another may be writing right now, so
            // only remove those older than a minute.
            let stale = modified
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 60);
            if stale {
                let _ = fs::remove_file(entry.path());
            }
            continue;
        }
        entries.push((modified, entry.path()));
    }
    if entries.len() <= keep {
        return;
    }
    // Newest first; an entry whose time cannot be read counts as the oldest.
    entries.sort_by(|a, b| b.cmp(a));
    for (_, path) in entries.into_iter().skip(keep) {
        let _ = fs::remove_file(path);
    }
}
