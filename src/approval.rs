//! Approvals (spec §7): the statement an approver signs, as the message of an annotated tag
//! stored under `refs/approvals/<new-commit-id>/<tag-object-id>`. Writing and reading the
//! statement, the ref name and the tag object's headers. Pure: bytes in, values out.
//!
//! ```text
//! refguard approval
//!
//! Refguard-Repository: project
//! Refguard-Ref: refs/heads/production
//! Refguard-From: 3f1c2aa…          (40 zeros to approve a create)
//! Refguard-Expires: 2026-12-01T18:00:00Z   (optional)
//! ```
//!
//! Reading is strict: the first line, a blank line, then exactly these fields in this order
//! (Expires optional), nothing else but trailing blank lines. A statement someone could
//! read two ways is refused rather than guessed at.

use time::OffsetDateTime;

use crate::update::ObjectId;

/// Where approvals are stored.
pub const PREFIX: &str = "refs/approvals/";

/// The first line of every approval message.
const TITLE: &str = "refguard approval";

/// What an approver approves: moving `refname` of `repository` from `from` to the commit the
/// tag points at, until `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The repository's name (`Refguard-Repository`).
    pub repository: String,
    /// The full ref name (`Refguard-Ref`).
    pub refname: String,
    /// The ref's tip the approver saw (`Refguard-From`; zero for a create).
    pub from: ObjectId,
    /// When the approval stops counting (`Refguard-Expires`), if ever.
    pub expires: Option<OffsetDateTime>,
}

impl Statement {
    /// The tag message for this statement (without a signature).
    pub fn to_message(&self) -> String {
        let mut out = format!(
            "{TITLE}\n\nRefguard-Repository: {}\nRefguard-Ref: {}\nRefguard-From: {}\n",
            self.repository, self.refname, self.from
        );
        if let Some(expires) = self.expires {
            out.push_str(&format!(
                "Refguard-Expires: {}\n",
                crate::policy::utc(expires)
            ));
        }
        out
    }

    /// Parses an approval message (the tag's message without its signature).
    pub fn parse(message: &str) -> Result<Statement, String> {
        let mut lines = message.lines();
        if lines.next() != Some(TITLE) {
            return Err(format!("the message does not start with `{TITLE}`"));
        }
        if lines.next() != Some("") {
            return Err(format!("no blank line after `{TITLE}`"));
        }
        let mut field = |name: &str| -> Result<String, String> {
            let line = lines
                .next()
                .ok_or_else(|| format!("no `Refguard-{name}:` line"))?;
            line.strip_prefix(&format!("Refguard-{name}: "))
                .map(str::to_string)
                .ok_or_else(|| format!("expected `Refguard-{name}: …`, found `{line}`"))
        };
        let repository = field("Repository")?;
        let refname = field("Ref")?;
        let from_text = field("From")?;
        let from = ObjectId::parse(&from_text)
            .ok_or_else(|| format!("`Refguard-From: {from_text}` is not a full object id"))?;
        let rest: Vec<&str> = lines.collect();
        let mut rest = rest.as_slice();
        while let [head @ .., ""] = rest {
            rest = head;
        }
        let expires = match rest {
            [] => None,
            [line] => {
                let text = line
                    .strip_prefix("Refguard-Expires: ")
                    .ok_or_else(|| format!("unexpected line `{line}`"))?;
                Some(crate::policy::parse_instant(text)?)
            }
            [_, extra, ..] => return Err(format!("unexpected line `{extra}`")),
        };
        if repository.is_empty() || !refname.starts_with("refs/") {
            return Err("the repository is empty or the ref is not a full ref name".to_string());
        }
        Ok(Statement {
            repository,
            refname,
            from,
            expires,
        })
    }
}

/// The ref name an approval of `commit` by the tag `tag` is stored under.
pub fn ref_name(commit: &ObjectId, tag: &ObjectId) -> String {
    format!("{PREFIX}{commit}/{tag}")
}

/// The prefix under which every approval of `commit` is stored.
pub fn prefix_for(commit: &ObjectId) -> String {
    format!("{PREFIX}{commit}/")
}

/// Whether `refname` is under `refs/approvals/`.
pub fn is_approval_ref(refname: &str) -> bool {
    refname.starts_with(PREFIX)
}

/// The commit and tag ids an approval ref name carries: `refs/approvals/<commit>/<tag>`,
/// both full lowercase ids; `None` for any other shape.
pub fn parse_ref_name(refname: &str) -> Option<(ObjectId, ObjectId)> {
    let rest = refname.strip_prefix(PREFIX)?;
    let (commit, tag) = rest.split_once('/')?;
    let lower = |s: &str| s.bytes().all(|b| !b.is_ascii_uppercase());
    if !lower(commit) || !lower(tag) {
        return None;
    }
    Some((ObjectId::parse(commit)?, ObjectId::parse(tag)?))
}

/// Whether an approval's `Refguard-Repository` names the repository `repo_name`: compared as
/// a push certificate's `pushee` is — the last path component, without a trailing `/` or
/// `.git`, equals the name without `.git`.
pub fn names_repository(named: &str, repo_name: &str) -> bool {
    let strip = |s: &str| s.strip_suffix(".git").unwrap_or(s).to_string();
    let trimmed = named.trim_end_matches('/');
    let last = trimmed.rsplit(['/', ':']).next().unwrap_or(trimmed);
    let wanted = strip(repo_name);
    !wanted.is_empty() && strip(last) == wanted
}

/// The parts of an annotated tag object an approval needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagObject {
    /// The `object` header: what the tag points at.
    pub object: Option<ObjectId>,
    /// The `type` header (`commit`, `tree`, …).
    pub kind: String,
    /// The message, without the signature.
    pub message: String,
}

impl TagObject {
    /// Reads the headers and message of a tag's signed payload (the raw tag object with its
    /// signature removed, as [`crate::verify::split_tag`] returns it).
    pub fn parse(payload: &[u8]) -> TagObject {
        let text = String::from_utf8_lossy(payload);
        let (headers, message) = text.split_once("\n\n").unwrap_or((&text, ""));
        let header = |name: &str| {
            headers
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
                .map(str::to_string)
        };
        TagObject {
            object: header("object").and_then(|id| ObjectId::parse(&id)),
            kind: header("type").unwrap_or_default(),
            message: message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: char) -> ObjectId {
        ObjectId::parse(&c.to_string().repeat(40)).expect("hex")
    }

    fn statement() -> Statement {
        Statement {
            repository: "project".into(),
            refname: "refs/heads/production".into(),
            from: id('3'),
            expires: None,
        }
    }

    #[test]
    fn statements_round_trip() {
        let plain = statement();
        assert_eq!(Statement::parse(&plain.to_message()), Ok(plain.clone()));
        let expiring = Statement {
            expires: Some(time::macros::datetime!(2026-12-01 18:00:00 UTC)),
            ..plain
        };
        let text = expiring.to_message();
        assert!(
            text.ends_with("Refguard-Expires: 2026-12-01T18:00:00Z\n"),
            "{text}"
        );
        assert_eq!(Statement::parse(&text), Ok(expiring.clone()));
        // git may leave trailing blank lines; nothing else may follow.
        assert_eq!(Statement::parse(&format!("{text}\n\n")), Ok(expiring));
        let create = Statement {
            from: ObjectId::zero(),
            ..statement()
        };
        assert_eq!(Statement::parse(&create.to_message()), Ok(create));
    }

    #[test]
    fn statements_are_read_strictly() {
        let good = statement().to_message();
        let cases = [
            ("", "does not start"),
            (
                "refguard approval\nRefguard-Repository: p\n",
                "no blank line",
            ),
            (
                &good.replace("Refguard-Ref:", "Refguard-Refs:"),
                "expected `Refguard-Ref",
            ),
            (
                &good.replace(&"3".repeat(40), "3f1c2aa"),
                "not a full object id",
            ),
            (&format!("{good}Note: also this\n"), "unexpected line"),
            (&format!("{good}Refguard-Expires: tomorrow\n"), "tomorrow"),
            (
                &format!("{good}Refguard-Expires: 2026-12-01\nx\n"),
                "unexpected line `x`",
            ),
            (
                &good.replace("refs/heads/production", "production"),
                "full ref name",
            ),
        ];
        for (text, want) in cases {
            let err = Statement::parse(text).expect_err(text);
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn ref_names() {
        let (c, t) = (id('a'), id('b'));
        let name = ref_name(&c, &t);
        assert_eq!(name, format!("refs/approvals/{c}/{t}"));
        assert_eq!(parse_ref_name(&name), Some((c.clone(), t)));
        assert!(name.starts_with(&prefix_for(&c)) && is_approval_ref(&name));
        for bad in [
            "refs/approvals/x",
            &format!("refs/approvals/{c}"),
            &format!("refs/approvals/{c}/{}/x", id('b')),
            &format!("refs/approvals/{}/{}", "A".repeat(40), id('b')),
            &format!("refs/heads/{c}/{}", id('b')),
        ] {
            assert_eq!(parse_ref_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn repository_names_compare_as_pushees() {
        assert!(names_repository("project", "project.git"));
        assert!(names_repository("project.git", "project"));
        assert!(names_repository(
            "ssh://git.example.com/srv/git/project.git/",
            "project"
        ));
        assert!(names_repository("git.example.com:project", "project"));
        assert!(!names_repository("other", "project"));
        assert!(!names_repository("", ""));
    }

    #[test]
    fn tag_payloads() {
        let payload = format!(
            "object {}\ntype commit\ntag refguard-approval\ntagger A <a@x> 1 +0000\n\n{}",
            id('c'),
            statement().to_message()
        );
        let tag = TagObject::parse(payload.as_bytes());
        assert_eq!(tag.object, Some(id('c')));
        assert_eq!(tag.kind, "commit");
        assert_eq!(Statement::parse(&tag.message), Ok(statement()));
    }
}
