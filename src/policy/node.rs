//! A uniform view of toml_edit's items, values and tables, so the validator can walk a
//! document with spans whether a table was written as `[x]`, `{ ... }` or `[[x]]`.

use std::ops::Range;

use toml_edit::{ArrayOfTables, Item, Table, TableLike, Value};

/// One value in the document, whatever syntax it was written in.
#[derive(Clone, Copy)]
pub(crate) enum Node<'a> {
    /// A plain or inline value (string, number, array, inline table...).
    Value(&'a Value),
    /// A `[table]` (or an implicit one created by a dotted header).
    Table(&'a Table),
    /// A `[[table]]` array.
    Tables(&'a ArrayOfTables),
}

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
    /// The node for an item (`None` for toml_edit's placeholder `Item::None`).
    pub(crate) fn of(item: &'a Item) -> Option<Self> {
        match item {
            Item::None => None,
            Item::Value(v) => Some(Node::Value(v)),
            Item::Table(t) => Some(Node::Table(t)),
            Item::ArrayOfTables(a) => Some(Node::Tables(a)),
        }
    }

    /// Where the node is written (for a `[table]`, its header).
    pub(crate) fn span(self) -> Option<Range<usize>> {
        match self {
            Node::Value(v) => v.span(),
            Node::Table(t) => t.span(),
            Node::Tables(a) => a.span(),
        }
    }

    /// What kind of value this is, for "must be X, not Y" messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Node::Value(Value::String(_)) => "a string",
            Node::Value(Value::Integer(_)) => "an integer",
            Node::Value(Value::Float(_)) => "a float",
            Node::Value(Value::Boolean(_)) => "a boolean",
            Node::Value(Value::Datetime(_)) => "a date-time",
            Node::Value(Value::Array(_)) => "a list",
            Node::Value(Value::InlineTable(_)) | Node::Table(_) => "a table",
            Node::Tables(_) => "a list of tables",
        }
    }

    /// The node as a table, if it is one (`[x]` or `{ ... }`).
    pub(crate) fn as_table(self) -> Option<&'a dyn TableLike> {
        match self {
            Node::Value(Value::InlineTable(t)) => Some(t),
            Node::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The node's elements, if it is a list (`[a, b]` or `[[x]]` tables).
    pub(crate) fn as_list(self) -> Option<Vec<Node<'a>>> {
        match self {
            Node::Value(Value::Array(a)) => Some(a.iter().map(Node::Value).collect()),
            Node::Tables(a) => Some(a.iter().map(Node::Table).collect()),
            _ => None,
        }
    }

    /// The node as a string.
    pub(crate) fn as_str(self) -> Option<&'a str> {
        match self {
            Node::Value(v) => v.as_str(),
            _ => None,
        }
    }

    /// The node as an integer.
    pub(crate) fn as_integer(self) -> Option<i64> {
        match self {
            Node::Value(v) => v.as_integer(),
            _ => None,
        }
    }

    /// The node as a boolean.
    pub(crate) fn as_bool(self) -> Option<bool> {
        match self {
            Node::Value(v) => v.as_bool(),
            _ => None,
        }
    }

    /// The node as a TOML date/date-time value.
    pub(crate) fn as_datetime(self) -> Option<&'a toml_edit::Datetime> {
        match self {
            Node::Value(v) => v.as_datetime(),
            _ => None,
        }
    }
}

/// The fields of a table in document order, with key spans.
pub(crate) fn fields(table: &dyn TableLike) -> Vec<Field<'_>> {
    table
        .iter()
        .filter_map(|(name, item)| {
            let node = Node::of(item)?;
            let key_span = table.get_key_value(name).and_then(|(k, _)| k.span());
            Some(Field {
                name,
                key_span,
                node,
            })
        })
        .collect()
}
