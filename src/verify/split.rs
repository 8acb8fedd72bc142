//! Splitting raw commit and tag objects into the payload git signed and the signature it
//! carries, byte for byte as git does. Pure: no I/O, never panics.

/// The armor header of an OpenPGP signature.
pub(super) const PGP_SIGNATURE: &[u8] = b"-----BEGIN PGP SIGNATURE-----";
/// The armor header of an OpenPGP message (also accepted by git as a signature).
pub(super) const PGP_MESSAGE: &[u8] = b"-----BEGIN PGP MESSAGE-----";
/// The armor header of an X.509 (gpgsm) signature.
pub(super) const X509: &[u8] = b"-----BEGIN SIGNED MESSAGE-----";
/// The armor header of an SSH signature (SSHSIG).
pub(super) const SSH: &[u8] = b"-----BEGIN SSH SIGNATURE-----";

/// The armor headers that start a signature appended to a tag (git's `gpg-interface.c`:
/// the OpenPGP, X.509 and SSH formats).
pub(crate) const ARMOR_HEADERS: [&[u8]; 4] = [PGP_SIGNATURE, PGP_MESSAGE, X509, SSH];

/// The header carrying a commit's signature over its SHA-1 form.
const GPGSIG: &[u8] = b"gpgsig";
/// The header carrying a commit's signature over its SHA-256 form.
const GPGSIG_SHA256: &[u8] = b"gpgsig-sha256";

/// Iterates over the lines of `buf`, each with its terminating `\n` if it has one.
fn lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    buf.split_inclusive(|&b| b == b'\n')
}

/// If `line` is the first line of header `name` (`name SP value`), its value (after the space).
fn header_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    line.strip_prefix(name)?.strip_prefix(b" ")
}

/// A repository's object format, which decides the header git reads a commit's signature
/// from (git's `commit.c`, `gpg_sig_headers[]` indexed by the repository's hash algorithm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ObjectFormat {
    /// SHA-1 (the only format this libgit2 build opens): the signature is in `gpgsig`.
    #[default]
    Sha1,
    /// SHA-256: the signature is in `gpgsig-sha256`.
    Sha256,
}

/// [`split_commit_for`] in a SHA-1 repository.
pub fn split_commit(raw: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    split_commit_for(raw, ObjectFormat::Sha1)
}

/// Splits a raw commit object (the bytes after git's `commit <len>\0` prefix) into the payload
/// git signed and the signature that counts in a repository of `format`, if any.
///
/// Like git's `parse_buffer_signed_by_header`, every `gpgsig` and `gpgsig-sha256` header is
/// removed from the header section (which ends at the first empty line), together with its
/// continuation lines (those starting with a space). Removing **both** matters: git signs a
/// dual-hash commit's payload without either header, while libgit2's `extract_signature`
/// strips only `gpgsig` and so would report a good signature as bad.
///
/// The signature is the value of the one header git checks for `format` (`gpgsig` for SHA-1,
/// `gpgsig-sha256` for SHA-256), each continuation line's leading space removed, lines joined
/// with `\n` as in the object. The other header is ignored: a commit whose only signature is
/// a `gpgsig-sha256` header is unsigned in a SHA-1 repository, as `git verify-commit` says.
/// Repeated headers of one name are concatenated, as git does (such a signature does not
/// parse, so it is reported as bad, never as good).
pub fn split_commit_for(raw: &[u8], format: ObjectFormat) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut payload = Vec::with_capacity(raw.len());
    let mut sha1: Option<Vec<u8>> = None;
    let mut sha256: Option<Vec<u8>> = None;
    // Which signature the previous line belonged to: `Some(true)` gpgsig, `Some(false)`
    // gpgsig-sha256, `None` neither.
    let mut in_sig: Option<bool> = None;
    let mut offset = 0;

    for line in lines(raw) {
        if line == b"\n" {
            // End of the headers: the message is copied verbatim, signature-looking or not.
            payload.extend_from_slice(&raw[offset..]);
            break;
        }
        offset += line.len();

        let (is_sha1, value) = match (in_sig, line.strip_prefix(b" ")) {
            (Some(is_sha1), Some(value)) => (is_sha1, value),
            _ => {
                if let Some(value) = header_value(line, GPGSIG) {
                    (true, value)
                } else if let Some(value) = header_value(line, GPGSIG_SHA256) {
                    (false, value)
                } else {
                    payload.extend_from_slice(line);
                    in_sig = None;
                    continue;
                }
            }
        };
        in_sig = Some(is_sha1);
        let slot = if is_sha1 { &mut sha1 } else { &mut sha256 };
        slot.get_or_insert_with(Vec::new).extend_from_slice(value);
    }

    let signature = match format {
        ObjectFormat::Sha1 => sha1,
        ObjectFormat::Sha256 => sha256,
    };
    (payload, signature)
}

/// Splits a raw tag object into the payload git signed and the signature, if any.
///
/// As in git's `parse_signed_buffer`, the signature starts at the **last** line that begins
/// with an armor header (SSH, OpenPGP signature or message, X.509); the payload is
/// everything before it. Only the message part (after the first empty line) is searched, so
/// a crafted header cannot move the split point into the headers.
pub fn split_tag(raw: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let message_start = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(raw.len(), |i| i + 2);

    let mut start = None;
    let mut offset = message_start;
    for line in lines(&raw[message_start..]) {
        if ARMOR_HEADERS.iter().any(|h| line.starts_with(h)) {
            start = Some(offset);
        }
        offset += line.len();
    }

    match start {
        Some(at) => (raw[..at].to_vec(), Some(raw[at..].to_vec())),
        None => (raw.to_vec(), None),
    }
}
