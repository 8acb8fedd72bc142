//! Raw commit objects for hostile tests: split a commit into headers, signature and message,
//! edit a part, and put it back together exactly as git lays it out.
//!
//! git signs a commit over the object with every `gpgsig*` header removed and adds the
//! signature as the last header, its continuation lines starting with one space
//! (GIT-FACTS.md, "Signatures in objects").

/// A commit object split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCommit {
    /// Header lines other than `gpgsig`, in order, without newlines.
    pub headers: Vec<String>,
    /// The `gpgsig` value (armor lines joined with `\n`, with a final newline), if any.
    pub signature: Option<String>,
    /// Everything after the blank line that ends the headers.
    pub message: String,
}

impl RawCommit {
    /// Splits `git cat-file commit` output.
    pub fn parse(raw: &str) -> RawCommit {
        let (head, message) = raw
            .split_once("\n\n")
            .unwrap_or_else(|| panic!("commit without a blank line after its headers: {raw:?}"));
        let mut headers = Vec::new();
        let mut signature: Option<String> = None;
        let mut in_sig = false;
        for line in head.lines() {
            if let Some(cont) = line.strip_prefix(' ') {
                if in_sig {
                    let sig = signature.as_mut().expect("continuation follows gpgsig");
                    sig.push_str(cont);
                    sig.push('\n');
                } else {
                    let last = headers.last_mut().expect("continuation follows a header");
                    *last = format!("{last}\n{line}");
                }
                continue;
            }
            in_sig = false;
            if let Some(first) = line.strip_prefix("gpgsig ") {
                assert!(signature.is_none(), "two gpgsig headers in {raw:?}");
                signature = Some(format!("{first}\n"));
                in_sig = true;
            } else {
                headers.push(line.to_string());
            }
        }
        RawCommit {
            headers,
            signature,
            message: message.to_string(),
        }
    }

    /// The bytes git signs: the object without its signature.
    pub fn payload(&self) -> String {
        RawCommit {
            signature: None,
            ..self.clone()
        }
        .to_raw()
    }

    /// The commit with `armor` as its `gpgsig` header.
    pub fn with_signature(&self, armor: &str) -> RawCommit {
        RawCommit {
            signature: Some(armor.to_string()),
            ..self.clone()
        }
    }

    /// The commit with another message.
    pub fn with_message(&self, message: &str) -> RawCommit {
        RawCommit {
            message: message.to_string(),
            ..self.clone()
        }
    }

    /// The object text, as `git hash-object -t commit` wants it.
    pub fn to_raw(&self) -> String {
        let mut out = String::new();
        for h in &self.headers {
            out.push_str(h);
            out.push('\n');
        }
        if let Some(sig) = &self.signature {
            let mut lines = sig.trim_end_matches('\n').split('\n');
            out.push_str("gpgsig ");
            out.push_str(lines.next().unwrap_or(""));
            out.push('\n');
            for l in lines {
                out.push(' ');
                out.push_str(l);
                out.push('\n');
            }
        }
        out.push('\n');
        out.push_str(&self.message);
        out
    }
}

/// An armored SSH signature with its last base64 line removed: parses as armor, but the
/// decoded blob is cut short.
pub fn truncate_armor(armor: &str) -> String {
    let lines: Vec<&str> = armor.trim_end().lines().collect();
    assert!(lines.len() >= 4, "armor too short to truncate: {armor:?}");
    let mut kept: Vec<&str> = lines[..lines.len() - 2].to_vec();
    kept.push(lines[lines.len() - 1]);
    format!("{}\n", kept.join("\n"))
}

/// SSH signature armor around bytes that are not an SSHSIG.
pub const GARBAGE_ARMOR: &str = "-----BEGIN SSH SIGNATURE-----\n\
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgbm90IGEga2V5IGF0IGFsbCwgbm90\n\
IGEgc2lnbmF0dXJlIGVpdGhlcg==\n\
-----END SSH SIGNATURE-----\n";

/// An OpenPGP armor block, as `gpg --detach-sign --armor` would put in `gpgsig`.
pub const PGP_ARMOR: &str = "-----BEGIN PGP SIGNATURE-----\n\
\n\
iHUEABYKAB0WIQRuZXZlciB2ZXJpZmllZCBieSBhbnlvbmUFAmd0AAAACgkQbm90\n\
IGEgcmVhbCBzaWduYXR1cmUgYnV0IGZpbmUgZm9yIHRoZSB0ZXN0AAA=\n\
=abcd\n\
-----END PGP SIGNATURE-----\n";

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &str = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author A <a@x> 1 +0000\n\
committer A <a@x> 1 +0000\n\
gpgsig -----BEGIN SSH SIGNATURE-----\n \
AAAA\n \
BBBB\n \
-----END SSH SIGNATURE-----\n\
\n\
Subject\n\nBody\n";

    #[test]
    fn parse_and_rebuild_round_trip() {
        let c = RawCommit::parse(SIGNED);
        assert_eq!(c.headers.len(), 3);
        assert_eq!(
            c.signature.as_deref(),
            Some("-----BEGIN SSH SIGNATURE-----\nAAAA\nBBBB\n-----END SSH SIGNATURE-----\n")
        );
        assert_eq!(c.message, "Subject\n\nBody\n");
        assert_eq!(c.to_raw(), SIGNED);
        assert!(!c.payload().contains("gpgsig"));
    }

    #[test]
    fn truncation_keeps_the_armor_lines() {
        let t = truncate_armor(
            "-----BEGIN SSH SIGNATURE-----\nAAAA\nBBBB\n-----END SSH SIGNATURE-----\n",
        );
        assert_eq!(
            t,
            "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n"
        );
    }
}
