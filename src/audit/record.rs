//! The audit record (spec §6): one ref update's decision as one JSON object. Pure: no I/O.
//!
//! Fields are serialized in the spec's order, which is part of the format: the chain hashes
//! the bytes of each line, so a record is written once and never re-serialized.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::engine::{Code, ObjectId, Verdict};

/// The format version written in every new record's `v` (spec §6, v2). Records of version 1
/// (without the v2 fields) are still read and verified in the same chain.
pub const VERSION: u32 = 2;

/// The oldest record version this refguard reads.
pub const OLDEST_VERSION: u32 = 1;

/// The fields a version-2 record must carry besides the version-1 ones.
const V2_FIELDS: [&str; 4] = ["approvals", "grants", "evaluate", "org_policy"];

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

/// An approval that was counted for the update (spec §7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordApproval {
    /// The approving user.
    pub user: String,
    /// The approval tag object's id.
    #[serde(with = "oid")]
    pub tag: ObjectId,
}

/// A time-boxed grant the decision relied on (spec §8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordGrant {
    /// The granted user.
    pub user: String,
    /// The role granted.
    pub role: String,
    /// When the grant ends (UTC, whole seconds).
    #[serde(with = "utc_seconds")]
    pub until: OffsetDateTime,
}

/// A finding of a rule in evaluate mode (spec §11): what it would have rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordFinding {
    /// The kebab-case reason code.
    pub code: String,
    /// The commit or tag object it is about, if any.
    #[serde(with = "oid_opt")]
    pub commit: Option<ObjectId>,
    /// What would be wrong, in one line.
    pub detail: String,
    /// The shadow rule, e.g. `roles.toml:30`.
    pub rule: String,
}

/// One line of the audit log. Serialized by hand ([`Serialize`] below) so that a version-1
/// record read back prints as it was written, without the version-2 fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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
    /// (v2) The approvals counted for the update (§7).
    #[serde(default)]
    pub approvals: Vec<RecordApproval>,
    /// (v2) The grants the decision relied on (§8).
    #[serde(default)]
    pub grants: Vec<RecordGrant>,
    /// (v2) What rules in evaluate mode would have rejected (§11).
    #[serde(default)]
    pub evaluate: Vec<RecordFinding>,
    /// (v2) The organisation policy commit, when one is configured (§10).
    #[serde(default, with = "oid_opt")]
    pub org_policy: Option<ObjectId>,
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
    /// The organisation policy commit, when one is configured.
    pub org_policy: Option<ObjectId>,
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
                .denials()
                .map(|r| RecordReason {
                    code: r.code.as_str().to_owned(),
                    commit: r.commit.clone(),
                    detail: r.detail.clone(),
                })
                .collect(),
            policy: cx.policy.clone(),
            approvals: verdict
                .approvals
                .iter()
                .map(|a| RecordApproval {
                    user: a.user.clone(),
                    tag: a.tag.clone(),
                })
                .collect(),
            grants: verdict
                .grants
                .iter()
                .map(|g| RecordGrant {
                    user: g.user.clone(),
                    role: g.role.clone(),
                    until: utc_seconds::normalize(g.until),
                })
                .collect(),
            evaluate: verdict
                .warnings()
                .map(|r| RecordFinding {
                    code: r.code.as_str().to_owned(),
                    commit: r.commit.clone(),
                    detail: r.detail.clone(),
                    rule: r.origin.map(|o| o.to_string()).unwrap_or_default(),
                })
                .collect(),
            org_policy: cx.org_policy.clone(),
            prev: String::new(),
        }
    }

    /// The record as one JSON line, without the newline.
    pub fn to_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// Parses one line (without its newline) as a record of version 1 or 2; the error says what
/// is wrong in one sentence, on one line: serde's messages quote the line's strings, so
/// hidden characters a tampered line decodes to are escaped.
///
/// Public only for the fuzz targets (`fuzz/`); not part of the library's API.
#[doc(hidden)]
pub fn parse_line(line: &[u8]) -> Result<Record, String> {
    parse_value(line).map_err(|e| super::printable(&e))
}

fn parse_value(line: &[u8]) -> Result<Record, String> {
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let version = match value.get("v") {
        Some(v) => v
            .as_u64()
            .filter(|n| (u64::from(OLDEST_VERSION)..=u64::from(VERSION)).contains(n))
            .ok_or_else(|| {
                format!("unsupported record version {v} (expected {OLDEST_VERSION} to {VERSION})")
            })?,
        None => return Err("not a record: no `v` field".into()),
    };
    // A v1 line must not carry v2 fields (a later edit), and a v2 line must carry them all
    // (a v2 writer always writes them): either would be a line no refguard wrote.
    for field in V2_FIELDS {
        match (version, value.get(field).is_some()) {
            (1, true) => {
                return Err(format!(
                    "not a valid record: a version 1 record has no `{field}`"
                ));
            }
            (2, false) => return Err(format!("not a valid record: missing field `{field}`")),
            _ => {}
        }
    }
    Record::deserialize(value).map_err(|e| format!("not a valid record: {e}"))
}

impl Serialize for Record {
    /// The fields in the format's order (spec §6): the version-1 fields, then (version 2)
    /// `approvals`, `grants`, `evaluate`, `org_policy`, then `prev`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;

        /// A field serialized through one of the `with` modules below.
        struct With<'a, T>(
            &'a T,
            fn(&T, serde_json::value::Serializer) -> serde_json::Result<serde_json::Value>,
        );
        impl<T> Serialize for With<'_, T> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                (self.1)(self.0, serde_json::value::Serializer)
                    .map_err(serde::ser::Error::custom)?
                    .serialize(s)
            }
        }

        let v2 = self.v >= 2;
        let mut st = s.serialize_struct("Record", if v2 { 17 } else { 13 })?;
        st.serialize_field("v", &self.v)?;
        st.serialize_field("time", &With(&self.time, utc_seconds::serialize))?;
        st.serialize_field("repo", &self.repo)?;
        st.serialize_field("hook", &self.hook)?;
        st.serialize_field("pusher", &self.pusher)?;
        st.serialize_field("user", &self.user)?;
        st.serialize_field("ref", &self.refname)?;
        st.serialize_field("old", &With(&self.old, oid::serialize))?;
        st.serialize_field("new", &With(&self.new, oid::serialize))?;
        st.serialize_field("decision", &self.decision)?;
        st.serialize_field("reasons", &self.reasons)?;
        st.serialize_field("policy", &With(&self.policy, oid_opt::serialize))?;
        if v2 {
            st.serialize_field("approvals", &self.approvals)?;
            st.serialize_field("grants", &self.grants)?;
            st.serialize_field("evaluate", &self.evaluate)?;
            st.serialize_field("org_policy", &With(&self.org_policy, oid_opt::serialize))?;
        }
        st.serialize_field("prev", &self.prev)?;
        st.end()
    }
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
            org_policy: None,
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
            "{{\"v\":2,\"time\":\"2026-11-30T12:04:05Z\",\"repo\":\"/srv/git/project.git\",\
             \"hook\":\"pre-receive\",\"pusher\":\"alice@example.com\",\"user\":\"alice\",\
             \"ref\":\"refs/heads/main\",\"old\":\"{a}\",\"new\":\"{b}\",\"decision\":\"reject\",\
             \"reasons\":[{{\"code\":\"unsigned\",\"commit\":\"{b}\",\"detail\":\"not signed\"}}],\
             \"policy\":\"{f}\",\"approvals\":[],\"grants\":[],\"evaluate\":[],\
             \"org_policy\":null,\"prev\":\"\"}}",
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
            approvals: Vec::new(),
            grants: Vec::new(),
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
        let extra = line.replacen("{\"v\":2,", "{\"v\":2,\"x\":2,", 1);
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
            err.starts_with("not a valid record: unknown variant `a\\nb\\u{1b}[2J`"),
            "{err}"
        );
    }

    #[test]
    fn version_one_records_still_read_and_v2_fields_are_checked() {
        let v1 = format!(
            "{{\"v\":1,\"time\":\"2026-11-30T12:04:05Z\",\"repo\":\"/r.git\",\"hook\":\"update\",\
             \"pusher\":null,\"user\":null,\"ref\":\"refs/heads/main\",\"old\":\"{a}\",\
             \"new\":\"{b}\",\"decision\":\"accept\",\"reasons\":[],\"policy\":null,\"prev\":\"\"}}",
            a = "a".repeat(40),
            b = "b".repeat(40),
        );
        let record = parse_line(v1.as_bytes()).expect("v1 parses");
        assert_eq!(record.v, 1);
        assert!(record.approvals.is_empty() && record.org_policy.is_none());
        // Printed back (`audit log --format json`) exactly as it was written.
        assert_eq!(record.to_line().expect("serializes"), v1);
        let v1_with_v2_field = v1.replacen("\"prev\"", "\"grants\":[],\"prev\"", 1);
        let err = parse_line(v1_with_v2_field.as_bytes()).expect_err("v1 with a v2 field");
        assert!(err.contains("a version 1 record has no `grants`"), "{err}");
        let v2_missing = v1.replacen("\"v\":1", "\"v\":2", 1);
        let err = parse_line(v2_missing.as_bytes()).expect_err("v2 without its fields");
        assert!(err.contains("missing field `approvals`"), "{err}");
        let v3 = v1.replacen("\"v\":1", "\"v\":3", 1);
        assert!(parse_line(v3.as_bytes()).is_err());
    }

    #[test]
    fn decision_parses() {
        assert_eq!("accept".parse::<Decision>(), Ok(Decision::Accept));
        assert_eq!("reject".parse::<Decision>(), Ok(Decision::Reject));
        assert!("maybe".parse::<Decision>().is_err());
    }
}
