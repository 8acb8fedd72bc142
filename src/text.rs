//! Making text from pushers and policy files safe to show to people (spec §14). Pure.
//!
//! Ref names, commit subjects, pusher names, key comments and patterns come from people who
//! may want to mislead the reader: a bidi override (`U+202E`) reverses what follows, a
//! zero-width space makes `refs/heads/main\u{200b}` look like `refs/heads/main`, an escape
//! sequence can rewrite a reviewer's terminal. [`escape`] is the one function everything
//! printed goes through.

use std::borrow::Cow;

use unicode_general_category::{GeneralCategory, get_general_category};

/// Whether `c` is shown escaped: control characters (Cc), format characters (Cf: bidi
/// controls, zero-width characters, soft hyphen, tag characters...), line and paragraph
/// separators, spaces other than the ASCII space (they pass for one), private-use and
/// unassigned code points, and the default-ignorable code points of other categories
/// (Unicode's `Default_Ignorable_Code_Point`: variation selectors, Hangul fillers, the
/// combining grapheme joiner, Mongolian and Khmer invisible marks).
pub fn is_hidden(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    match get_general_category(c) {
        GeneralCategory::Control
        | GeneralCategory::Format
        | GeneralCategory::LineSeparator
        | GeneralCategory::ParagraphSeparator
        | GeneralCategory::SpaceSeparator
        | GeneralCategory::PrivateUse
        | GeneralCategory::Surrogate
        | GeneralCategory::Unassigned => true,
        _ => matches!(
            c,
            '\u{034f}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{ffa0}'
                | '\u{e0100}'..='\u{e01ef}'
        ),
    }
}

/// `text` with every hidden character ([`is_hidden`]) written as a Rust-style escape:
/// `\n`, `\t`, `\u{202e}`. Borrowed when nothing needs escaping (the common case).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// [`escape`] for an owned line: returns it unchanged (no copy) when nothing is hidden.
pub fn escape_line(line: String) -> String {
    match escape(&line) {
        Cow::Borrowed(_) => line,
        Cow::Owned(escaped) => escaped,
    }
}

/// [`escape`] of at most `max` characters of `text`, with `…` when it was cut (for values
/// that may be very long, such as a namespace from a hostile signature).
pub fn escape_truncated(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        push_escaped(&mut out, c);
    }
    out
}

/// Bytes that should be UTF-8 (a ref name, a line of hook input), for a message: valid
/// UTF-8 is [`escape`]d, and each byte of an invalid sequence is written as `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&escape(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    if !is_hidden(c) {
        out.push(c);
        return;
    }
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        _ => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_is_borrowed_unchanged() {
        for text in [
            "refs/heads/main",
            "José's fix → done…",
            "日本語のコミット",
            "emoji 🎉 ok",
            "",
        ] {
            assert!(
                matches!(escape(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn hidden_characters_are_escaped() {
        let cases = [
            ("refs/heads/main\u{202e}", "refs/heads/main\\u{202e}"),
            ("main\u{200b}", "main\\u{200b}"),
            ("a\u{2066}b\u{2069}", "a\\u{2066}b\\u{2069}"),
            ("\u{1b}[2Jclear", "\\u{1b}[2Jclear"),
            ("line\nbreak\ttab\r", "line\\nbreak\\ttab\\r"),
            ("nb\u{a0}sp", "nb\\u{a0}sp"),
            ("soft\u{ad}hyphen", "soft\\u{ad}hyphen"),
            ("bom\u{feff}", "bom\\u{feff}"),
            ("vs\u{fe0f}", "vs\\u{fe0f}"),
            ("filler\u{3164}", "filler\\u{3164}"),
            ("tag\u{e0041}", "tag\\u{e0041}"),
            ("private\u{e000}", "private\\u{e000}"),
            ("sep\u{2028}", "sep\\u{2028}"),
            ("del\u{7f}", "del\\u{7f}"),
            ("c1\u{85}", "c1\\u{85}"),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want, "{input:?}");
        }
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(escape_truncated("abcdef", 3), "abc…");
        assert_eq!(escape_truncated("ab", 3), "ab");
        assert_eq!(escape_truncated("a\u{202e}bcd", 2), "a\\u{202e}…");
    }

    #[test]
    fn invalid_utf8_bytes_are_hex() {
        assert_eq!(escape_bytes(b"refs/heads/\xffx"), "refs/heads/\\xffx");
        assert_eq!(escape_bytes("refs/\u{202e}".as_bytes()), "refs/\\u{202e}");
    }
}
