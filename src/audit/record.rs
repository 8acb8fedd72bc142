//! The audit record (spec §6): one ref update's decision as one JSON object. Pure: no I/O.
//!
//! Fields are serialized in the spec's order, which is part of the format: the chain hashes
//! the bytes of each line, so a record is written once and never re-serialized.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::engine::{Code, ObjectId, Verdict};

/// The format version written in every record's `v`.
pub const VERSION: u32 = 1;

/// Which refguard entry point made the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hook {
    /// The `pre-receive` hook (all-or-nothing for the push).
    PreReceive,
    /// The `update` hook (one ref).
    Update,
    /// The administrator's policy reset command.
    Reset,
}

impl Hook {
    /// The name as written in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::PreReceive => "pre-receive",
            Hook::Update => "update",
            Hook::Reset => "reset",
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the ref update was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The update was allowed.
    Accept,
    /// The update was rejected.
    Reject,
}

impl Decision {
    /// The word as written in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Reject => "reject",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Decision {
    type Err = String;

    /// Parses `accept` or `reject` (for a CLI filter).
    fn from_str(s: &str) -> Result<Decision, String> {
        match s {
            "accept" => Ok(Decision::Accept),
            "reject" => Ok(Decision::Reject),
            other => Err(format!("`{other}` is not a decision (accept or reject)")),
        }
    }
}

/// One reason for a rejection, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordReason {
    /// The kebab-case reason code. Kept as text so that a log holding codes added by a later
    /// refguard still reads and verifies; [`RecordReason::code`] gives the typed code.
    pub code: String,
    /// The full id of the commit or tag object it is about, if any.
    #[serde(with = "oid_opt")]
    pub commit: Option<ObjectId>,
    /// What was wrong, in one line.
    pub detail: String,
}

impl RecordReason {
    /// The typed code, if this refguard knows it.
    pub fn code(&self) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == self.code)
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The format version, [`VERSION`].
    pub v: u32,
    /// When the decision was made: UTC, whole seconds (`2026-11-30T12:00:00Z`).
    #[serde(with = "utc_seconds")]
    pub time: OffsetDateTime,
    /// The path of the git directory.
    pub repo: String,
    /// Which entry point decided.
    pub hook: Hook,
    /// The pusher name given by the environment, if any.
    pub pusher: Option<String>,
    /// The policy user the pusher resolved to, if any.
    pub user: Option<String>,
    /// The full ref name.
    #[serde(rename = "ref")]
    pub refname: String,
    /// The ref's value before the update (zero: create).
    #[serde(with = "oid")]
    pub old: ObjectId,
    /// The ref's proposed value (zero: delete).
    #[serde(with = "oid")]
    pub new: ObjectId,
    /// Accept or reject.
    pub decision: Decision,
    /// Every reason to reject; empty when accepted.
    pub reasons: Vec<RecordReason>,
    /// The policy commit the decision was made under, if there was one.
    #[serde(with = "oid_opt")]
    pub policy: Option<ObjectId>,
    /// Hex SHA-256 of the previous line's bytes without its newline ([`super::GENESIS`] for
    /// the first line of a fresh chain). Filled in by [`super::append`].
    pub prev: String,
}

/// What a record needs besides the verdict; shared by all the records of one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordContext {
    /// Decision time; it is converted to UTC and truncated to whole seconds.
    pub time: OffsetDateTime,
    /// The path of the git directory, as text.
    pub repo: String,
    /// Which entry point decided.
    pub hook: Hook,
    /// The pusher name given by the environment, if any.
    pub pusher: Option<String>,
    /// The policy commit, if there was one.
    pub policy: Option<ObjectId>,
}

impl Record {
    /// The record of one verdict. `prev` is left empty: [`super::append`] fills it in.
    pub fn from_verdict(verdict: &Verdict, cx: &RecordContext) -> Record {
        let decision = if verdict.accepted() {
            Decision::Accept
        } else {
            Decision::Reject
        };
        Record {
            v: VERSION,
            time: utc_seconds::normalize(cx.time),
            repo: cx.repo.clone(),
            hook: cx.hook,
            pusher: cx.pusher.clone(),
            user: verdict.user.clone(),
            refname: verdict.update.refname.clone(),
            old: verdict.update.old.clone(),
            new: verdict.update.new.clone(),
            decision,
            reasons: verdict
                .reasons
                .iter()
                .map(|r| RecordReason {
                    code: r.code.as_str().to_owned(),
                    commit: r.commit.clone(),
                    detail: r.detail.clone(),
                })
                .collect(),
            policy: cx.policy.clone(),
            prev: String::new(),
        }
    }

    /// The record as one JSON line, without the newline.
    pub fn to_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// Parses one line (without its newline) as a version-1 record; the error says what is wrong
/// in one sentence, on one line: serde's messages quote the line's strings, so control
/// characters a tampered line decodes to are replaced.
///
/// Public only for the fuzz targets (`fuzz/`); not part of the library's API.
#[doc(hidden)]
pub fn parse_line(line: &[u8]) -> Result<Record, String> {
    parse_value(line).map_err(|e| super::printable(&e))
}

fn parse_value(line: &[u8]) -> Result<Record, String> {
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("not valid JSON: {e}"))?;
    match value.get("v") {
        Some(v) if v.as_u64() == Some(u64::from(VERSION)) => {}
        Some(v) => {
            return Err(format!(
                "unsupported record version {v} (expected {VERSION})"
            ));
        }
        None => return Err("not a record: no `v` field".into()),
    }
    Record::deserialize(value).map_err(|e| format!("not a valid record: {e}"))
}

/// `time` as RFC 3339 UTC with whole seconds and a `Z`.
pub(crate) mod utc_seconds {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    use time::{OffsetDateTime, UtcOffset};

    /// UTC, whole seconds.
    pub fn normalize(t: OffsetDateTime) -> OffsetDateTime {
        let t = t.to_offset(UtcOffset::UTC);
        t.replace_nanosecond(0).unwrap_or(t)
    }

    /// `2026-11-30T12:00:00Z`.
    pub fn format(t: OffsetDateTime) -> Result<String, time::error::Format> {
        normalize(t).format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
    }

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*t).map_err(S::Error::custom)?)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        OffsetDateTime::parse(&text, &Rfc3339)
            .map(|t| t.to_offset(UtcOffset::UTC))
            .map_err(|e| D::Error::custom(format!("`{text}` is not an RFC 3339 time: {e}")))
    }
}

/// An [`ObjectId`] as its hex string.
mod oid {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::engine::ObjectId;

    pub fn serialize<S: Serializer>(id: &ObjectId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(id.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectId, D::Error> {
        let text = String::deserialize(d)?;
        ObjectId::parse(&text)
            .ok_or_else(|| D::Error::custom(format!("`{text}` is not a full hex object id")))
    }
}

/// An optional [`ObjectId`] as its hex string or null.
mod oid_opt {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::engine::ObjectId;

    pub fn serialize<S: Serializer>(id: &Option<ObjectId>, s: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => s.serialize_str(id.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ObjectId>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => ObjectId::parse(&text)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("`{text}` is not a full hex object id"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Reason, RefUpdate};
    use time::macros::datetime;

    fn oid(c: char) -> ObjectId {
        ObjectId::parse(&c.to_string().repeat(40)).expect("valid hex")
    }

    fn context() -> RecordContext {
        RecordContext {
            time: datetime!(2026-11-30 13:04:05.678 +01:00),
            repo: "/srv/git/project.git".into(),
            hook: Hook::PreReceive,
            pusher: Some("alice@example.com".into()),
            policy: Some(oid('f')),
        }
    }

    #[test]
    fn rejected_verdict_serializes_in_spec_order() {
        let mut verdict = Verdict::reject(
            RefUpdate {
                refname: "refs/heads/main".into(),
                old: oid('a'),
                new: oid('b'),
            },
            Code::Unsigned,
            "not signed",
        );
        verdict.reasons[0].commit = Some(oid('b'));
        verdict.reasons[0].subject = Some("Fix typo".into());
        verdict.user = Some("alice".into());
        let record = Record::from_verdict(&verdict, &context());
        let line = record.to_line().expect("serializes");
        let expected = format!(
            "{{\"v\":1,\"time\":\"2026-11-30T12:04:05Z\",\"repo\":\"/srv/git/project.git\",\
             \"hook\":\"pre-receive\",\"pusher\":\"alice@example.com\",\"user\":\"alice\",\
             \"ref\":\"refs/heads/main\",\"old\":\"{a}\",\"new\":\"{b}\",\"decision\":\"reject\",\
             \"reasons\":[{{\"code\":\"unsigned\",\"commit\":\"{b}\",\"detail\":\"not signed\"}}],\
             \"policy\":\"{f}\",\"prev\":\"\"}}",
            a = "a".repeat(40),
            b = "b".repeat(40),
            f = "f".repeat(40),
        );
        assert_eq!(line, expected);
        let back: Record = serde_json::from_str(&line).expect("parses");
        assert_eq!(back, record);
        assert_eq!(back.reasons[0].code(), Some(Code::Unsigned));
    }

    #[test]
    fn accepted_verdict_has_no_reasons_and_nulls() {
        let verdict = Verdict {
            update: RefUpdate {
                refname: "refs/heads/dev".into(),
                old: ObjectId::zero(),
                new: oid('c'),
            },
            kind: None,
            user: None,
            rule: None,
            reasons: vec![Reason::on_ref(Code::NoPolicy, "x")],
        };
        let mut cx = context();
        cx.pusher = None;
        cx.policy = None;
        cx.hook = Hook::Update;
        let mut record = Record::from_verdict(&verdict, &cx);
        assert_eq!(record.decision, Decision::Reject);
        record.reasons.clear();
        let line = record.to_line().expect("serializes");
        assert!(line.contains("\"hook\":\"update\",\"pusher\":null,\"user\":null"));
        assert!(line.contains("\"reasons\":[],\"policy\":null"));
        let accepted = Verdict {
            reasons: vec![],
            ..verdict
        };
        assert_eq!(
            Record::from_verdict(&accepted, &cx).decision,
            Decision::Accept
        );
    }

    #[test]
    fn rejects_unknown_fields_and_bad_ids() {
        let verdict = Verdict::reject(
            RefUpdate {
                refname: "refs/heads/main".into(),
                old: oid('a'),
                new: oid('b'),
            },
            Code::InternalError,
            "boom",
        );
        let line = Record::from_verdict(&verdict, &context())
            .to_line()
            .expect("serializes");
        let extra = line.replacen("{\"v\":1,", "{\"v\":1,\"x\":2,", 1);
        assert!(serde_json::from_str::<Record>(&extra).is_err());
        let bad_id = line.replacen(&"a".repeat(40), "xyz", 1);
        assert!(serde_json::from_str::<Record>(&bad_id).is_err());
    }

    /// Found by probing `parse_line` beside `audit::tests::proptests`: serde quotes the
    /// unknown variant, which a tampered line can make span lines or hold terminal escapes.
    #[test]
    fn parse_errors_stay_on_one_line() {
        let err = parse_line(br#"{"v":1,"hook":"a\nb\u001b[2J"}"#).expect_err("bad hook");
        assert!(
            err.starts_with("not a valid record: unknown variant `a?b?[2J`"),
            "{err}"
        );
    }

    #[test]
    fn decision_parses() {
        assert_eq!("accept".parse::<Decision>(), Ok(Decision::Accept));
        assert_eq!("reject".parse::<Decision>(), Ok(Decision::Reject));
        assert!("maybe".parse::<Decision>().is_err());
    }
}
