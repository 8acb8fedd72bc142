//! Reading an armored SSHSIG exactly as OpenSSH reads it, then handing it to ssh-key: the
//! armor and its base64 (`sshsig_dearmor`, `b64_pton`), the SSHSIG fields, and the integer
//! encodings inside the signature (`sshbuf_get_bignum2_bytes_direct`, RSA left-padding).
//! Pure, never panics; knows nothing of keys' owners or the policy.
//!
//! ssh-key's own `SshSig::from_pem` is stricter than `ssh-keygen -Y verify`, and git hands
//! the signature to ssh-keygen byte for byte (git 2.47 `gpg-interface.c`,
//! `verify_ssh_signed_buffer`, `write_in_full`), so refguard called good signatures bad:
//! base64 wrapped at other widths than 70, blank lines, and ECDSA integers with a leading
//! zero byte the encoding does not need. This module accepts exactly the encodings OpenSSH
//! accepts and nothing else; the references (OpenSSH 9.2p1, the `ssh-keygen` on Debian 12,
//! and openssh-portable master as of 2026-08) are cited where each rule is mirrored.
//!
//! One rule differs between OpenSSH versions: the header line's end. 9.2 requires
//! `-----BEGIN SSH SIGNATURE-----\n` (sshsig.c 1.32, `BEGIN_SIGNATURE` includes the `\n`);
//! since 9.5 (sshsig.c 1.33, "handle cr+lf") `\r\n` is accepted as well. refguard takes the
//! rule every supported version agrees on, `\n` only: an armor whose first line ends in CRLF
//! is `%G? = B` for git on 9.2 and refused here. A CR anywhere else is base64 whitespace
//! to every version, and accepted.
//!
//! What ssh-key then parses is the SSHSIG with its signature integers re-encoded
//! canonically, so the ring fast path (`fast.rs`) and ssh-key's reference path see the same
//! [`SshSig`], and `fast.rs`'s guarantee (ring says `Ok` only where ssh-key would) holds.
//!
//! Stricter than OpenSSH, on purpose (each asserted in `corpus_tests.rs`): past the armor
//! and the signature integers, ssh-key's own rules stand where OpenSSH is laxer and no
//! signer is known to need the difference: a non-empty `reserved` field (OpenSSH ignores it,
//! ssh-key signs over it), a NUL at the end of the namespace, hash or algorithm name
//! (`sshbuf_get_cstring` drops it), an ed25519 `S` not reduced below the group order, and
//! key integers with needless leading zeros. And one OpenSSH rule ssh-key lacks is added:
//! ECDSA keys must be uncompressed points.

use std::borrow::Cow;

use ssh_encoding::{Decode as _, Encode as _};
use ssh_key::SshSig;
use ssh_key::public::KeyData;

/// The armor's first line, without its end of line.
const BEGIN: &[u8] = b"-----BEGIN SSH SIGNATURE-----";
/// What ends the base64: a newline, then the footer (`"\n" END_SIGNATURE` in sshsig.c).
const NEWLINE_END: &[u8] = b"\n-----END SSH SIGNATURE-----";
/// The SSHSIG magic preamble (PROTOCOL.sshsig).
const MAGIC: &[u8] = b"SSHSIG";

/// The SEC1 tag of an uncompressed elliptic-curve point (`POINT_CONVERSION_UNCOMPRESSED`).
const UNCOMPRESSED: u8 = 0x04;

/// `SSHBUF_MAX_BIGNUM` (sshbuf.h): the most bytes a bignum's magnitude may have.
const MAX_BIGNUM: usize = 16384 / 8;

/// The signature algorithms whose signature blob is `mpint r || mpint s`, read by OpenSSH
/// with `sshbuf_get_bignum2` (ssh-ecdsa.c `ssh_ecdsa_verify`, ssh-ecdsa-sk.c
/// `ssh_ecdsa_sk_verify`).
const ECDSA_ALGORITHMS: [&[u8]; 4] = [
    b"ecdsa-sha2-nistp256",
    b"ecdsa-sha2-nistp384",
    b"ecdsa-sha2-nistp521",
    b"sk-ecdsa-sha2-nistp256@openssh.com",
];

/// The RSA signature algorithms `ssh-keygen -Y verify` accepts (sshsig.c `RSA_SIGN_ALLOWED`).
const RSA_ALGORITHMS: [&[u8]; 2] = [b"rsa-sha2-256", b"rsa-sha2-512"];

/// Why an armored SSHSIG does not decode. Every variant is a refusal OpenSSH makes too (or,
/// for [`Error::Parse`], one ssh-key makes); the messages carry no input bytes.
#[derive(Debug, thiserror::Error)]
pub(super) enum Error {
    /// The armor does not start with the header line.
    #[error("missing `-----BEGIN SSH SIGNATURE-----` header")]
    MissingHeader,
    /// The header is not followed by `\n` (see the module documentation on CRLF).
    #[error("the header line does not end in a newline")]
    HeaderEol,
    /// No newline followed by the footer line.
    #[error("missing `-----END SSH SIGNATURE-----` footer")]
    MissingFooter,
    /// A NUL byte before the last position of the base64 text.
    #[error("NUL byte inside the armor")]
    Nul,
    /// The text between header and footer is not base64 as `b64_pton` reads it.
    #[error("invalid base64")]
    Base64,
    /// A length or field runs past the end of its enclosing data.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// Bytes left over after the last field of a structure.
    #[error("trailing data after the {0}")]
    Trailing(&'static str),
    /// An integer in the signature has its sign bit set.
    #[error("negative integer in the signature")]
    Negative,
    /// An integer in the signature is longer than any bignum OpenSSH reads.
    #[error("integer in the signature is too large")]
    TooLarge,
    /// The signing key is an ECDSA key whose point is not in uncompressed form.
    #[error("ECDSA key with a compressed point")]
    CompressedPoint,
    /// ssh-key refused a field.
    #[error("{0}")]
    Parse(#[from] ssh_key::Error),
}

/// Decodes an armored SSHSIG as `ssh-keygen -Y verify` does, with the signature's integers
/// in their canonical encoding (see the module documentation).
pub(super) fn parse(armor: &[u8]) -> Result<SshSig, Error> {
    let blob = dearmor(armor)?;
    decode(&blob)
}

/// The SSHSIG blob inside `armor`, mirroring OpenSSH's `sshsig_dearmor` (sshsig.c, 9.2p1
/// lines 89-150; master lines 87-161):
///
/// - the armor must start with the header (`sshbuf_cmp` at offset 0: nothing before it),
///   followed by `\n` (see the module documentation for `\r\n`);
/// - the base64 ends at the **first** `\n-----END SSH SIGNATURE-----` (`sshbuf_find`), and
///   everything after that, rest of the footer line included, is ignored
///   (`sshbuf_consume_end`);
/// - a NUL byte is allowed only as the last byte of the base64 text and is dropped
///   (`sshbuf_dup_string`, sshbuf-misc.c 9.2p1 lines 223-228);
/// - the text is decoded by [`b64_pton`] (`sshbuf_b64tod`, sshbuf-misc.c 9.2p1 line 149).
pub(super) fn dearmor(armor: &[u8]) -> Result<Vec<u8>, Error> {
    let rest = armor.strip_prefix(BEGIN).ok_or(Error::MissingHeader)?;
    let rest = rest.strip_prefix(b"\n").ok_or(Error::HeaderEol)?;
    let end = rest
        .windows(NEWLINE_END.len())
        .position(|w| w == NEWLINE_END)
        .ok_or(Error::MissingFooter)?;
    let mut text = rest.get(..end).ok_or(Error::MissingFooter)?;
    if let Some(nul) = text.iter().position(|&b| b == 0) {
        if nul + 1 != text.len() {
            return Err(Error::Nul);
        }
        text = &text[..nul];
    }
    b64_pton(text)
}

/// `isspace` in the C locale (and, for these bytes, in every glibc locale): space, `\t`,
/// `\n`, `\v`, `\f`, `\r`. Not `u8::is_ascii_whitespace`, which leaves out `\v`.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The value of a base64 digit (`strchr(Base64, ch)`), `None` for anything else.
fn b64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Base64 decoding exactly as `b64_pton` (openbsd-compat/base64.c lines 196-311, also
/// glibc's `__b64_pton`, which Debian's OpenSSH uses; the same ISC code):
///
/// - whitespace ([`is_c_space`]) is skipped anywhere before the padding (line 206), so any
///   line width, blank lines, CRs and indentation are accepted;
/// - any other byte that is not a base64 digit is an error (line 213);
/// - without padding, the digits must end on a 4-digit boundary (line 306);
/// - `=` may come only after 2 digits of a quantum (then a second `=` must follow, with
///   only whitespace between them, lines 271-279) or after 3 (line 283); after the padding
///   only whitespace (lines 288-290); and the bits the padding leaves over must be zero
///   (line 298), so each byte string has one padded spelling.
fn b64_pton(src: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3 + 3);
    // `state` counts the digits of the current quantum; `partial` is `target[tarindex]`,
    // the byte the next digit completes.
    let (mut state, mut partial) = (0u8, 0u8);
    let mut rest = src.iter().copied();
    let mut padded = false;
    for ch in rest.by_ref() {
        if is_c_space(ch) {
            continue;
        }
        if ch == b'=' {
            padded = true;
            break;
        }
        let v = b64_value(ch).ok_or(Error::Base64)?;
        match state {
            0 => {
                partial = v << 2;
                state = 1;
            }
            1 => {
                out.push(partial | v >> 4);
                partial = (v & 0x0f) << 4;
                state = 2;
            }
            2 => {
                out.push(partial | v >> 2);
                partial = (v & 0x03) << 6;
                state = 3;
            }
            _ => {
                out.push(partial | v);
                partial = 0;
                state = 0;
            }
        }
    }
    if !padded {
        return if state == 0 {
            Ok(out)
        } else {
            Err(Error::Base64)
        };
    }
    match state {
        2 => {
            // One byte of information: a second `=` must follow, whitespace allowed between.
            let mut after = rest.by_ref().skip_while(|&b| is_c_space(b));
            if after.next() != Some(b'=') {
                return Err(Error::Base64);
            }
        }
        3 => {}
        _ => return Err(Error::Base64),
    }
    if rest.any(|b| !is_c_space(b)) || partial != 0 {
        return Err(Error::Base64);
    }
    Ok(out)
}

/// A reader over SSH wire data with OpenSSH's `sshbuf` rules.
struct Buf<'a>(&'a [u8]);

impl<'a> Buf<'a> {
    /// `n` bytes, or `Truncated(what)`.
    fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let (head, tail) = self.0.split_at_checked(n).ok_or(Error::Truncated(what))?;
        self.0 = tail;
        Ok(head)
    }

    /// A `string` (`uint32 length || bytes`, `sshbuf_get_string_direct`).
    fn string(&mut self, what: &'static str) -> Result<&'a [u8], Error> {
        let len: [u8; 4] = self
            .bytes(4, what)?
            .try_into()
            .map_err(|_| Error::Truncated(what))?;
        let len = usize::try_from(u32::from_be_bytes(len)).map_err(|_| Error::Truncated(what))?;
        self.bytes(len, what)
    }

    /// An `mpint` read as `sshbuf_get_bignum2_bytes_direct` reads it (sshbuf-getput-basic.c
    /// 9.2p1 lines 600-633, master 598-631): refused if its sign bit is set (lines 610-612)
    /// or if longer than `SSHBUF_MAX_BIGNUM` bytes plus one leading zero (lines 613-616);
    /// then **every** leading zero byte is dropped (lines 617-621), needed or not. Returns
    /// the magnitude, empty for zero.
    fn bignum2(&mut self, what: &'static str) -> Result<&'a [u8], Error> {
        let raw = self.string(what)?;
        match raw.first() {
            Some(&top) if top & 0x80 != 0 => return Err(Error::Negative),
            Some(&top)
                if raw.len() > MAX_BIGNUM + 1 || (raw.len() == MAX_BIGNUM + 1 && top != 0) =>
            {
                return Err(Error::TooLarge);
            }
            _ => {}
        }
        let zeros = raw.iter().take_while(|&&b| b == 0).count();
        Ok(&raw[zeros..])
    }

    /// Everything not read yet.
    fn rest(&self) -> &'a [u8] {
        self.0
    }
}

/// Appends `bytes` as an SSH `string`.
fn put_string(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), Error> {
    let len = u32::try_from(bytes.len()).map_err(|_| Error::TooLarge)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// Appends a positive magnitude (no leading zeros) as a canonical `mpint`: a zero byte in
/// front only when the top bit is set (`sshbuf_put_bignum2_bytes`), nothing for zero.
fn put_mpint(out: &mut Vec<u8>, magnitude: &[u8]) -> Result<(), Error> {
    let pad = magnitude.first().is_some_and(|&b| b & 0x80 != 0);
    let len = magnitude.len() + usize::from(pad);
    let len = u32::try_from(len).map_err(|_| Error::TooLarge)?;
    out.extend_from_slice(&len.to_be_bytes());
    if pad {
        out.push(0);
    }
    out.extend_from_slice(magnitude);
    Ok(())
}

/// Decodes an SSHSIG blob with OpenSSH's structure (sshsig.c `sshsig_wrap_verify`, 9.2p1
/// lines 321-337): preamble and version, then `string publickey`, `string namespace`,
/// `string reserved`, `string hash_algorithm`, `string signature`, and nothing after
/// ("Signature contains trailing data"). The key and the signature must each be read to
/// their end as well, as OpenSSH requires (sshkey.c 9.2p1 `sshkey_from_blob_internal` line
/// 1939; the per-type `*_verify` functions' `SSH_ERR_UNEXPECTED_TRAILING_DATA`); ssh-key
/// checks neither inside a length-prefixed field, so that is done here.
///
/// The signature field is normalized first ([`normalize_signature`]); every other field is
/// passed to ssh-key byte for byte, and ssh-key's rules for them (version at most 1,
/// namespace non-empty UTF-8, hash `sha256` or `sha512`, known key types) stand, with one
/// of OpenSSH's added: ECDSA keys must be uncompressed points.
fn decode(blob: &[u8]) -> Result<SshSig, Error> {
    let mut buf = Buf(blob);
    let magic = buf.bytes(MAGIC.len(), "SSHSIG preamble")?;
    if magic != MAGIC {
        return Err(ssh_key::Error::FormatEncoding.into());
    }
    buf.bytes(4, "SSHSIG version")?;
    let key = buf.string("public key")?;
    buf.string("namespace")?;
    buf.string("reserved field")?;
    buf.string("hash algorithm")?;
    let head_len = blob.len() - buf.rest().len();
    let signature = buf.string("signature")?;
    if !buf.rest().is_empty() {
        return Err(Error::Trailing("SSHSIG"));
    }

    // The blob as it is when the signature needs no re-encoding (the common case).
    let signature = normalize_signature(key, signature)?;
    let normalized = match &signature {
        Cow::Borrowed(_) => Cow::Borrowed(blob),
        Cow::Owned(field) => {
            let mut out = Vec::with_capacity(head_len + 4 + field.len());
            out.extend_from_slice(&blob[..head_len]);
            put_string(&mut out, field)?;
            Cow::Owned(out)
        }
    };
    let mut reader = &normalized[..];
    let sig = SshSig::decode(&mut reader)?;
    // ssh-key reads a length-prefixed field without checking that it reached the field's
    // end (ssh-encoding 0.2 `Reader::read_prefixed`). It re-encodes a key or signature to
    // exactly the bytes it read, so comparing lengths shows whether it read all of them.
    if sig.public_key().encoded_len().ok() != Some(key.len()) {
        return Err(Error::Trailing("public key"));
    }
    if sig.signature().encoded_len().ok() != Some(signature.len()) {
        return Err(Error::Trailing("signature"));
    }
    if !reader.is_empty() {
        return Err(Error::Trailing("SSHSIG"));
    }
    // OpenSSH reads ECDSA and sk-ECDSA keys with `sshbuf_get_eckey`, which takes
    // uncompressed points only (sshbuf-getput-crypto.c 9.2p1 `get_ec` lines 65-67); ssh-key
    // takes compressed ones too, and would verify a signature ssh-keygen refuses.
    let point = match sig.public_key() {
        KeyData::Ecdsa(key) => Some(key.as_sec1_bytes()),
        KeyData::SkEcdsaSha2NistP256(key) => Some(key.ec_point().as_bytes()),
        _ => None,
    };
    if point.is_some_and(|p| p.first() != Some(&UNCOMPRESSED)) {
        return Err(Error::CompressedPoint);
    }
    Ok(sig)
}

/// The signature field (`string algorithm || string blob || trailer`) with its integers
/// re-encoded the way OpenSSH reads them, so that ssh-key's canonical-only parser and ring
/// see the values OpenSSH verifies:
///
/// - ECDSA and sk-ECDSA: `r` and `s` are read with [`Buf::bignum2`] (negative and oversized
///   refused, needless leading zeros dropped) and written back as canonical mpints; nothing
///   may follow `s` (ssh-ecdsa.c `ssh_ecdsa_verify` 9.2p1 lines 334-352, ssh-ecdsa-sk.c
///   `ssh_ecdsa_sk_verify` lines 301-309). Values out of range stay refused by the
///   verification (`r`, `s` in `[1, n-1]`).
/// - RSA (`rsa-sha2-256`/`-512` under an `ssh-rsa` key): a signature shorter than the
///   modulus is left-padded with zeros to its length, longer ones are left to be refused
///   (ssh-rsa.c `ssh_rsa_verify` 9.2p1 lines 527-543, master 544-560). A signer that drops
///   the leading zero bytes of the RSA value (1 in 256 signatures) is thereby accepted.
/// - Ed25519 and sk-Ed25519: unchanged. OpenSSH takes at most 64 bytes (ssh-ed25519.c
///   9.2p1 line 238, ssh-ed25519-sk.c line 180) and a shorter one can never verify
///   (`crypto_sign_ed25519_open` takes 64 bytes of signature, so the message length check
///   on ssh-ed25519.c line 258 fails), which is ssh-key's rule of exactly 64.
///
/// Anything else (canonical input, unknown algorithms, a malformed field) is returned as it
/// is, for ssh-key to judge.
fn normalize_signature<'a>(key: &[u8], field: &'a [u8]) -> Result<Cow<'a, [u8]>, Error> {
    let mut buf = Buf(field);
    let (Ok(algorithm), Ok(blob)) = (buf.string("signature"), buf.string("signature")) else {
        return Ok(Cow::Borrowed(field));
    };
    let trailer = buf.rest();

    let blob = if ECDSA_ALGORITHMS.contains(&algorithm) {
        let mut ints = Buf(blob);
        let r = ints.bignum2("ECDSA r")?;
        let s = ints.bignum2("ECDSA s")?;
        if !ints.rest().is_empty() {
            return Err(Error::Trailing("ECDSA signature"));
        }
        let mut canonical = Vec::with_capacity(blob.len());
        put_mpint(&mut canonical, r)?;
        put_mpint(&mut canonical, s)?;
        if canonical == blob {
            return Ok(Cow::Borrowed(field));
        }
        canonical
    } else if RSA_ALGORITHMS.contains(&algorithm)
        && let Some(modulus_len) = rsa_modulus_len(key)
        && blob.len() < modulus_len
    {
        let mut padded = vec![0u8; modulus_len - blob.len()];
        padded.extend_from_slice(blob);
        padded
    } else {
        return Ok(Cow::Borrowed(field));
    };

    let mut out = Vec::with_capacity(field.len() + 2);
    put_string(&mut out, algorithm)?;
    put_string(&mut out, &blob)?;
    out.extend_from_slice(trailer);
    Ok(Cow::Owned(out))
}

/// For an `ssh-rsa` key blob (`string "ssh-rsa" || mpint e || mpint n`), the modulus length
/// in bytes as OpenSSH counts it (`RSA_size`: the magnitude of `n`, as
/// `ssh_rsa_deserialize_public` reads it with `sshbuf_get_bignum2`). `None` for any other
/// key or a malformed one (ssh-key refuses those).
fn rsa_modulus_len(key: &[u8]) -> Option<usize> {
    let mut buf = Buf(key);
    if buf.string("key type").ok()? != b"ssh-rsa" {
        return None;
    }
    buf.bignum2("RSA e").ok()?;
    Some(buf.bignum2("RSA n").ok()?.len())
}

#[cfg(test)]
#[path = "sshsig_tests.rs"]
mod tests;
