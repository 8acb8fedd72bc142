//! Byte offsets in roles.toml → 1-based line and column (in characters). Pure.

use std::ops::Range;

use super::{Location, PolicyFile};

/// One table of line starts, built once per file; each lookup is a binary search.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    /// Which roles file the text is: every location names it.
    file: PolicyFile,
    /// Byte offset of the first character of each line.
    starts: Vec<usize>,
    /// Whether each line is pure ASCII (column = byte distance, no character count). A long
    /// line, such as a role listing 10,000 users, is located many times; counting characters
    /// from its start every time would be quadratic.
    ascii: Vec<bool>,
}

impl<'a> LineIndex<'a> {
    /// Indexes `text`, the roles file `file`.
    pub(crate) fn new(text: &'a str, file: PolicyFile) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let ascii = starts
            .iter()
            .zip(starts.iter().skip(1).chain([&text.len()]))
            .map(|(&a, &b)| text.as_bytes()[a..b].is_ascii())
            .collect();
        LineIndex {
            text,
            file,
            starts,
            ascii,
        }
    }

    /// The location of a byte offset (clamped to the text).
    pub(crate) fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        // `starts[0] == 0 <= offset`, so the partition point is at least 1.
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        if self.ascii[line - 1] {
            return Location {
                file: self.file,
                line,
                col: offset - start + 1,
            };
        }
        // Spans from the parser fall on character boundaries; count bytes if one does not.
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Location {
            file: self.file,
            line,
            col: col + 1,
        }
    }

    /// The top of the file (line 1, column 1), where file-wide problems are reported.
    pub(crate) fn top(&self) -> Location {
        Location {
            file: self.file,
            line: 1,
            col: 1,
        }
    }

    /// The location where a span starts, or `fallback` when the parser gave none.
    pub(crate) fn start(&self, span: Option<Range<usize>>, fallback: Location) -> Location {
        span.map_or(fallback, |s| self.location(s.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_character_columns() {
        let idx = LineIndex::new("ab\nçé x\n\nz", PolicyFile::Repo);
        let at = |o| {
            let l = idx.location(o);
            (l.line, l.col)
        };
        assert_eq!(at(0), (1, 1));
        assert_eq!(at(2), (1, 3));
        assert_eq!(at(3), (2, 1));
        // "çé " is 5 bytes but 3 characters.
        assert_eq!(at(8), (2, 4));
        assert_eq!(at(10), (3, 1));
        assert_eq!(at(11), (4, 1));
        assert_eq!(at(99), (4, 2));
    }
}
