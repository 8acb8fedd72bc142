//! A thin view of the span-carrying TOML tree (`toml::de::DeTable`) that the validator walks:
//! every key and value keeps its byte span, whether a table was written as `[x]`, `{ ... }`
//! or `[[x]]`. (toml's span-carrying parser is about 2.5x faster than toml_edit's, which also
//! keeps formatting we do not need.)

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One value in the document, with where it is written.
#[derive(Clone, Copy)]
pub(crate) struct Node<'a>(&'a Spanned<DeValue<'a>>);

/// A key/value pair of a table, with the key's span.
pub(crate) struct Field<'a> {
    /// The key as written (unquoted).
    pub(crate) name: &'a str,
    /// Where the key is written.
    pub(crate) key_span: Option<Range<usize>>,
    /// The value.
    pub(crate) node: Node<'a>,
}

impl<'a> Node<'a> {
    /// Where the node is written (for a `[table]` or `[[table]]` entry, its header).
    pub(crate) fn span(self) -> Option<Range<usize>> {
        Some(self.0.span())
    }

    /// What kind of value this is, for "must be X, not Y" messages.
    pub(crate) fn describe(self) -> &'static str {
        match self.0.get_ref() {
            DeValue::String(_) => "a string",
            DeValue::Integer(_) => "an integer",
            DeValue::Float(_) => "a float",
            DeValue::Boolean(_) => "a boolean",
            DeValue::Datetime(_) => "a date-time",
            DeValue::Array(_) => "a list",
            DeValue::Table(_) => "a table",
        }
    }

    /// The node as a table, if it is one (`[x]` or `{ ... }`).
    pub(crate) fn as_table(self) -> Option<&'a DeTable<'a>> {
        self.0.get_ref().as_table()
    }

    /// The node's elements, if it is a list (`[a, b]` or `[[x]]` tables).
    pub(crate) fn as_list(self) -> Option<impl ExactSizeIterator<Item = Node<'a>>> {
        self.0.get_ref().as_array().map(|a| a.iter().map(Node))
    }

    /// Whether the node is an empty list.
    pub(crate) fn is_empty_list(self) -> bool {
        self.0.get_ref().as_array().is_some_and(|a| a.is_empty())
    }

    /// The node as a string.
    pub(crate) fn as_str(self) -> Option<&'a str> {
        self.0.get_ref().as_str()
    }

    /// The node as an integer (`None` also when it does not fit an `i64`).
    pub(crate) fn as_integer(self) -> Option<i64> {
        let i = self.0.get_ref().as_integer()?;
        i64::from_str_radix(i.as_str(), i.radix()).ok()
    }

    /// The node as a boolean.
    pub(crate) fn as_bool(self) -> Option<bool> {
        self.0.get_ref().as_bool()
    }

    /// The node as a TOML date/date-time value.
    pub(crate) fn as_datetime(self) -> Option<&'a toml::value::Datetime> {
        self.0.get_ref().as_datetime()
    }
}

/// The fields of a table in document order, with key spans. (toml keeps a table's entries
/// sorted by key; diagnostics such as "already claimed by" must follow the file instead.)
pub(crate) fn fields<'a>(table: &'a DeTable<'a>) -> Vec<Field<'a>> {
    let mut out: Vec<Field<'a>> = table
        .iter()
        .map(|(key, value)| Field {
            name: key.get_ref().as_ref(),
            key_span: Some(key.span()),
            node: Node(value),
        })
        .collect();
    out.sort_by_key(|f| f.key_span.as_ref().map_or(0, |s| s.start));
    out
}
