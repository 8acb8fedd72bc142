//! The one table of a rule's lists (spec §2): field name, what an absent list means, the
//! reason code and verb of a refusal, and the `who-can` word. The parser reads rules with
//! it, the requirements and the engine judge with it, and the views for people spell absent
//! lists out from it, so that none of them can disagree about a list.

use crate::code::Code;

/// A list of a `[[rule]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListKind {
    /// `push`: who may fast-forward the ref.
    Push,
    /// `create`: who may create it.
    Create,
    /// `delete`: who may delete it.
    Delete,
    /// `force_push`: who may make a non-fast-forward update.
    ForcePush,
    /// `signers`: whose signatures new commits (or a tag) need.
    Signers,
    /// `merge`: whose signatures new merge commits need.
    Merge,
}

/// How many list kinds there are (the size of [`LISTS`] and of a rule's list array).
pub const LIST_KINDS: usize = 6;

/// What an absent list means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absent {
    /// Anyone, including a pusher no user of the file is (absent `push`).
    Anyone,
    /// The same as another list (absent `create`: as `push`).
    SameAs(ListKind),
    /// Nobody (absent `delete`, `force_push`).
    Nobody,
    /// No signature is required (absent `signers`).
    Unsigned,
    /// Any signer the rule accepts (absent `merge`: whoever `signers` allows).
    AnySigner,
}

impl Absent {
    /// What absence means, in words for people.
    pub fn describe(self) -> &'static str {
        match self {
            Absent::Anyone => "anyone, including unknown pushers",
            Absent::SameAs(ListKind::Push) => "same as push",
            Absent::SameAs(_) => "same as another list",
            Absent::Nobody => "nobody",
            Absent::Unsigned => "unsigned commits allowed",
            Absent::AnySigner => "any allowed signer",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListSpec {
    /// Which list.
    pub kind: ListKind,
    /// The field name in `[[rule]]`.
    pub field: &'static str,
    /// What an absent list means.
    pub absent: Absent,
    /// The code of a refusal by this list.
    pub code: Code,
    /// The verb of a refusal: "bob may not {verb} refs/heads/main".
    pub verb: &'static str,
    /// The action word of `refguard who-can`.
    pub action: &'static str,
}

/// Every list of a rule, in the order of the roles file and of `policy show`.
pub const LISTS: [ListSpec; LIST_KINDS] = [
    ListSpec {
        kind: ListKind::Push,
        field: "push",
        absent: Absent::Anyone,
        code: Code::PushDenied,
        verb: "push to",
        action: "push",
    },
    ListSpec {
        kind: ListKind::Create,
        field: "create",
        absent: Absent::SameAs(ListKind::Push),
        code: Code::CreateDenied,
        verb: "create",
        action: "create",
    },
    ListSpec {
        kind: ListKind::Delete,
        field: "delete",
        absent: Absent::Nobody,
        code: Code::DeleteDenied,
        verb: "delete",
        action: "delete",
    },
    ListSpec {
        kind: ListKind::ForcePush,
        field: "force_push",
        absent: Absent::Nobody,
        code: Code::ForcePushDenied,
        verb: "force-push",
        action: "force-push",
    },
    ListSpec {
        kind: ListKind::Signers,
        field: "signers",
        absent: Absent::Unsigned,
        code: Code::SignerNotAllowed,
        verb: "sign for",
        action: "sign",
    },
    ListSpec {
        kind: ListKind::Merge,
        field: "merge",
        absent: Absent::AnySigner,
        code: Code::MergeDenied,
        verb: "merge into",
        action: "merge",
    },
];

impl ListKind {
    /// The four lists that decide who may update a ref, by kind of update.
    pub const PERMISSIONS: [ListKind; 4] = [
        ListKind::Push,
        ListKind::Create,
        ListKind::Delete,
        ListKind::ForcePush,
    ];

    /// This list's row of [`LISTS`].
    pub fn spec(self) -> &'static ListSpec {
        &LISTS[self as usize]
    }

    /// The field name in `[[rule]]`.
    pub fn field(self) -> &'static str {
        self.spec().field
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_indexed_by_kind() {
        for (i, spec) in LISTS.iter().enumerate() {
            assert_eq!(spec.kind as usize, i, "{spec:?}");
            assert_eq!(spec.kind.spec(), spec);
        }
    }
}
