//! Commit signature splitting: `verify::split_commit` on any raw commit object.
//!
//! What git signs is the commit with its `gpgsig`/`gpgsig-sha256` headers removed, so the
//! payload must be the object with some whole header lines taken out and nothing else
//! changed: the message verbatim, no line altered, and the payload itself carrying no
//! signature (splitting it again changes nothing). In a SHA-1 repository only `gpgsig` is the
//! signature: a commit whose only signature header is `gpgsig-sha256` loses it from the
//! payload but is unsigned (spec §3.3, v2).
#![no_main]

use libfuzzer_sys::fuzz_target;
use refguard::verify::split_commit;

/// Whether `line` can belong to a signature header: its first line or a continuation.
fn signature_line(line: &[u8]) -> bool {
    line.starts_with(b"gpgsig ") || line.starts_with(b"gpgsig-sha256 ") || line.starts_with(b" ")
}

fuzz_target!(|raw: &[u8]| {
    let (payload, signature) = split_commit(raw);

    // The removed lines: the raw lines that are not, in order, the payload's lines.
    let mut kept = payload.split_inclusive(|&b| b == b'\n').peekable();
    let mut removed = 0;
    let mut headers = 0;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if kept.peek() == Some(&line) {
            kept.next();
            continue;
        }
        assert!(
            signature_line(line),
            "removed a line that is no signature header: {:?}",
            String::from_utf8_lossy(line)
        );
        headers += usize::from(!line.starts_with(b" "));
        removed += line.len();
    }
    assert_eq!(
        kept.next(),
        None,
        "the payload has lines the commit does not"
    );
    assert_eq!(payload.len() + removed, raw.len());
    match &signature {
        Some(signature) => {
            assert!(headers >= 1, "a signature without a header");
            // Each header line gives up at least `gpgsig ` and each continuation its space.
            assert!(signature.len() + headers * b"gpgsig ".len() <= removed);
        }
        // Unsigned: at most `gpgsig-sha256` headers went, never a `gpgsig` one.
        None => assert!(
            raw.split_inclusive(|&b| b == b'\n')
                .take_while(|l| *l != b"\n")
                .all(|l| !l.starts_with(b"gpgsig ")),
            "a commit with a gpgsig header came out unsigned"
        ),
    }

    // Only header lines go: the message (after the first empty line) is untouched.
    let message = |buf: &[u8]| {
        buf.split_inclusive(|&b| b == b'\n')
            .scan(0, |at, l| {
                let start = *at;
                *at += l.len();
                Some((start, l))
            })
            .find(|(_, l)| *l == b"\n")
            .map(|(start, _)| buf[start..].to_vec())
    };
    assert_eq!(message(&payload), message(raw));

    assert_eq!(split_commit(&payload), (payload.clone(), None));
});
