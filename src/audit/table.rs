//! Rendering records as a plain fixed-width text table for `refguard audit log`. Pure: it
//! returns lines and the CLI prints them.

use super::Record;
use super::record::utc_seconds;

/// The column headers.
const HEADERS: [&str; 8] = [
    "TIME",
    "DECISION",
    "PUSHER",
    "REF",
    "OLD..NEW",
    "CODES",
    "GRANTS",
    "WOULD-REJECT",
];

/// The records as table lines (a header, then one line per record), columns
/// `time  decision  pusher  ref  old..new  codes  grants  would-reject` separated by two
/// spaces and padded to the widest cell; no trailing spaces. Control characters and other
/// hidden code points (which a pusher name or a ref name might carry) are shown escaped.
/// GRANTS lists the grants the decision relied on as `user:role` (spec §8); WOULD-REJECT
/// the findings of rules in evaluate mode as `code@location` (spec §11).
pub fn table(records: &[Record]) -> Vec<String> {
    let rows: Vec<[String; 8]> = records.iter().map(row).collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    std::iter::once(HEADERS.map(str::to_owned))
        .chain(rows)
        .map(|cells| {
            let mut line = String::new();
            for (cell, width) in cells.iter().zip(widths) {
                line.push_str(cell);
                let pad = width - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
            line.truncate(line.trim_end().len());
            line
        })
        .collect()
}

/// One record's cells.
fn row(record: &Record) -> [String; 8] {
    let codes: Vec<&str> = record.reasons.iter().map(|r| r.code.as_str()).collect();
    let grants: Vec<String> = record
        .grants
        .iter()
        .map(|g| format!("{}:{}", g.user, g.role))
        .collect();
    let mut would_reject: Vec<String> = Vec::new();
    for finding in &record.evaluate {
        let cell = format!("{}@{}", finding.code, finding.rule);
        if !would_reject.contains(&cell) {
            would_reject.push(cell);
        }
    }
    [
        utc_seconds::format(record.time).unwrap_or_else(|_| record.time.to_string()),
        record.decision.to_string(),
        record
            .pusher
            .as_deref()
            .map_or_else(|| "-".to_owned(), printable),
        printable(&record.refname),
        format!("{}..{}", record.old.short(), record.new.short()),
        if codes.is_empty() {
            "-".to_owned()
        } else {
            printable(&codes.join(","))
        },
        list(&grants),
        list(&would_reject),
    ]
}

/// The cells of a list column: `-` when empty, else comma-separated.
fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        printable(&items.join(","))
    }
}

/// `text` with control characters and other hidden code points escaped
/// ([`crate::text::escape`]), so a cell stays on one line and shows what it holds.
pub fn printable(text: &str) -> String {
    crate::text::escape(text).into_owned()
}
