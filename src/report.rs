//! Rendering verdicts as the plain `refguard:` lines a pusher sees (git prefixes them with
//! `remote:`). Pure: verdicts in, lines out; the CLI prints them.

use std::collections::BTreeSet;

use crate::engine::{ObjectId, Reason, Verdict};
use crate::requirements::Origin;
use crate::text::escape_line as shown;

/// How many reasons are shown per ref before a count of the rest.
pub const MAX_REASONS: usize = 20;

/// Which hook is reporting; pre-receive is all-or-nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// All-or-nothing: accepted refs are mentioned when another ref is rejected.
    PreReceive,
    /// One ref at a time, or a dry run.
    PerRef,
}

/// The lines for a set of verdicts: nothing when all are accepted.
pub fn render(verdicts: &[Verdict], mode: Mode) -> Vec<String> {
    let rejected = verdicts.iter().any(|v| !v.accepted());
    let mut out = Vec::new();
    for v in verdicts {
        if v.accepted() {
            if rejected && mode == Mode::PreReceive {
                out.push(shown(format!(
                    "refguard: {} would be accepted, but the push is all-or-nothing",
                    v.update.refname
                )));
            }
        } else {
            out.extend(render_rejection(v));
        }
        out.extend(render_warnings(v));
    }
    out
}

/// The lines for what rules and path entries in evaluate mode (spec §11) would have
/// rejected, one block per shadow: `refguard: warning: REF would be rejected by rule
/// roles.toml:N (evaluate mode)`, then the usual reason and hint lines.
pub fn render_warnings(v: &Verdict) -> Vec<String> {
    let mut blocks: Vec<(Option<Origin>, Vec<&Reason>)> = Vec::new();
    for reason in v.warnings() {
        match blocks.iter_mut().find(|(o, _)| *o == reason.origin) {
            Some((_, reasons)) => reasons.push(reason),
            None => blocks.push((reason.origin, vec![reason])),
        }
    }
    let noun = noun_for(&v.update.refname);
    let mut out = Vec::new();
    for (origin, reasons) in blocks {
        let by = match origin {
            Some(Origin::Rule(rule)) => format!("rule {rule}"),
            Some(other) => other.to_string(),
            None => "a rule".to_string(),
        };
        out.push(shown(format!(
            "refguard: warning: {} would be rejected by {by} (evaluate mode)",
            v.update.refname
        )));
        out.extend(reason_block(&reasons, noun));
    }
    out
}

/// One line per reason with a hint after the first of each code, at most [`MAX_REASONS`]
/// reasons, then a count of the rest.
fn reason_block(reasons: &[&Reason], noun: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut hinted = BTreeSet::new();
    for reason in reasons.iter().take(MAX_REASONS) {
        out.push(shown(format!("refguard:   {}", reason_line(reason, noun))));
        if hinted.insert(reason.code) {
            out.push(format!("refguard:   hint: {}", reason.code.hint()));
        }
    }
    if reasons.len() > MAX_REASONS {
        out.push(format!(
            "refguard:   ... and {} more reasons not shown",
            reasons.len() - MAX_REASONS
        ));
    }
    out
}

fn noun_for(refname: &str) -> &'static str {
    if refname.starts_with("refs/tags/") {
        "tag"
    } else {
        "commit"
    }
}

/// The lines for one rejected verdict: header, reasons with hints, a count of the rest.
pub fn render_rejection(v: &Verdict) -> Vec<String> {
    let mut out = vec![shown(format!(
        "refguard: rejected {} ({}..{})",
        v.update.refname,
        abbrev(&v.update.old),
        abbrev(&v.update.new)
    ))];
    let denials: Vec<&Reason> = v.denials().collect();
    out.extend(reason_block(&denials, noun_for(&v.update.refname)));
    // Only a decision the engine made knows who the pusher was taken for; a rejection made
    // before it (no policy, an internal error) says nothing rather than "unknown pusher".
    if v.kind.is_some() {
        let pusher = match &v.user {
            Some(u) => format!("user {u}"),
            None => "unknown pusher".to_string(),
        };
        // The rules whose requirements rejected (under an organisation policy it may be
        // the organisation's, spec §10), else the governing rule.
        let mut rules: Vec<String> = Vec::new();
        for reason in &denials {
            if let Some(Origin::Rule(rule)) = reason.origin {
                let rule = rule.to_string();
                if !rules.contains(&rule) {
                    rules.push(rule);
                }
            }
        }
        if rules.is_empty() {
            rules.extend(v.rule.map(|r| r.to_string()));
        }
        match rules.as_slice() {
            [] => out.push(shown(format!("refguard:   (you are {pusher})"))),
            [rule] => out.push(shown(format!(
                "refguard:   (rule {rule}; you are {pusher})"
            ))),
            several => out.push(shown(format!(
                "refguard:   (rules {}; you are {pusher})",
                several.join(", ")
            ))),
        }
    }
    out
}

/// `[code] commit abc1234 "Subject": detail` (`tag` instead of `commit` for tag refs), or
/// `[code] detail` for ref-level reasons.
pub fn reason_line(reason: &Reason, noun: &str) -> String {
    match &reason.commit {
        Some(id) => {
            let subject = reason
                .subject
                .as_deref()
                .map(|s| format!(" {:?}", truncate(s, 60)))
                .unwrap_or_default();
            format!(
                "[{}] {noun} {}{subject}: {}",
                reason.code,
                id.short(),
                reason.detail
            )
        }
        None => format!("[{}] {}", reason.code, reason.detail),
    }
}

fn abbrev(id: &ObjectId) -> &str {
    id.short()
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Code, RefUpdate, UpdateKind};
    use crate::policy::{Location, PolicyFile};
    use crate::requirements::{RuleId, RuleRef};

    fn id(c: char) -> ObjectId {
        ObjectId::parse(&c.to_string().repeat(40)).expect("hex")
    }

    fn verdict(reasons: Vec<Reason>) -> Verdict {
        Verdict {
            update: RefUpdate {
                refname: "refs/heads/main".into(),
                old: id('3'),
                new: id('9'),
            },
            kind: Some(UpdateKind::FastForward),
            user: Some("bob".into()),
            rule: Some(RuleRef {
                id: RuleId {
                    file: PolicyFile::Repo,
                    index: 0,
                },
                location: Location::new(14, 1),
            }),
            reasons,
            approvals: Vec::new(),
            grants: Vec::new(),
        }
    }

    fn unsigned(c: char) -> Reason {
        Reason::on_object(
            Code::Unsigned,
            id(c),
            "Fix typo",
            "not signed; refs/heads/main needs a signature by developers",
        )
    }

    #[test]
    fn accepted_push_prints_nothing() {
        assert!(render(&[verdict(vec![])], Mode::PreReceive).is_empty());
    }

    #[test]
    fn rejection_has_header_reason_hint_and_rule() {
        let lines = render(&[verdict(vec![unsigned('9')])], Mode::PerRef);
        assert_eq!(
            lines[0],
            "refguard: rejected refs/heads/main (3333333..9999999)"
        );
        assert_eq!(
            lines[1],
            "refguard:   [unsigned] commit 9999999 \"Fix typo\": not signed; refs/heads/main needs a signature by developers"
        );
        assert!(lines[2].starts_with("refguard:   hint: git config gpg.format ssh"));
        assert_eq!(
            lines[3],
            "refguard:   (rule roles.toml:14; you are user bob)"
        );
    }

    #[test]
    fn a_rejection_names_the_rules_that_rejected_it() {
        use crate::requirements::Level;
        let rule = |file, line| {
            Origin::Rule(RuleRef {
                id: RuleId { file, index: 0 },
                location: Location { file, line, col: 1 },
            })
        };
        let by = |c, origin| unsigned(c).from_requirement(origin, Level::Deny);
        // Denied by the organisation's rule only (spec §10): it is the one named.
        let lines = render(
            &[verdict(vec![by('9', rule(PolicyFile::Org, 7))])],
            Mode::PerRef,
        );
        assert_eq!(
            lines.last().map(String::as_str),
            Some("refguard:   (rule org:roles.toml:7; you are user bob)")
        );
        // By both files' rules: both, each once, in the order found.
        let lines = render(
            &[verdict(vec![
                by('8', rule(PolicyFile::Repo, 14)),
                by('9', rule(PolicyFile::Org, 7)),
                by('a', rule(PolicyFile::Repo, 14)),
            ])],
            Mode::PerRef,
        );
        assert_eq!(
            lines.last().map(String::as_str),
            Some("refguard:   (rules roles.toml:14, org:roles.toml:7; you are user bob)")
        );
    }

    #[test]
    fn caps_reasons_and_hints_once_per_code() {
        let reasons = (0..25).map(|_| unsigned('a')).collect();
        let lines = render(&[verdict(reasons)], Mode::PerRef);
        assert_eq!(
            lines.iter().filter(|l| l.contains("[unsigned]")).count(),
            MAX_REASONS
        );
        assert_eq!(lines.iter().filter(|l| l.contains("hint:")).count(), 1);
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("... and 5 more reasons not shown"))
        );
    }

    #[test]
    fn pre_receive_mentions_accepted_refs_of_a_rejected_push() {
        let mut ok = verdict(vec![]);
        ok.update.refname = "refs/heads/topic".into();
        let lines = render(
            &[ok.clone(), verdict(vec![unsigned('9')])],
            Mode::PreReceive,
        );
        assert!(lines[0].contains("refs/heads/topic would be accepted"));
        assert!(render(&[ok, verdict(vec![unsigned('9')])], Mode::PerRef)[0].contains("rejected"));
    }

    #[test]
    fn warnings_of_shadows_follow_the_decision_one_block_per_shadow() {
        use crate::requirements::Level;
        let shadow = |line| {
            Origin::Rule(RuleRef {
                id: RuleId {
                    file: PolicyFile::Repo,
                    index: 1,
                },
                location: Location::new(line, 1),
            })
        };
        let warn = |c, line| unsigned(c).from_requirement(shadow(line), Level::Warn);
        // Accepted with warnings: only the warning blocks.
        let lines = render(
            &[verdict(vec![warn('8', 30), warn('9', 30)])],
            Mode::PreReceive,
        );
        assert_eq!(
            lines[0],
            "refguard: warning: refs/heads/main would be rejected by rule roles.toml:30 (evaluate mode)"
        );
        assert!(lines[1].starts_with("refguard:   [unsigned] commit 8888888"));
        assert!(lines[2].starts_with("refguard:   hint: "));
        assert!(lines[3].starts_with("refguard:   [unsigned] commit 9999999"));
        assert_eq!(lines.len(), 4, "{lines:?}");
        // Rejected too: the rejection first, then each shadow's block.
        let lines = render(
            &[verdict(vec![unsigned('7'), warn('8', 30), warn('9', 40)])],
            Mode::PerRef,
        );
        assert!(lines[0].starts_with("refguard: rejected refs/heads/main"));
        let headers: Vec<&String> = lines.iter().filter(|l| l.contains("warning:")).collect();
        assert_eq!(headers.len(), 2, "{lines:?}");
        assert!(headers[1].contains("rule roles.toml:40"));
        // The rejection lists denials only.
        let rejection = render_rejection(&verdict(vec![unsigned('7'), warn('8', 30)]));
        assert!(
            !rejection.iter().any(|l| l.contains("8888888")),
            "{rejection:?}"
        );
    }

    #[test]
    fn rejections_made_before_the_engine_do_not_guess_the_pusher() {
        let v = Verdict::reject(
            verdict(vec![]).update,
            Code::NoPolicy,
            "this repository has no policy branch",
        );
        let lines = render_rejection(&v);
        assert_eq!(
            lines[1],
            "refguard:   [no-policy] this repository has no policy branch"
        );
        assert!(!lines.iter().any(|l| l.contains("you are")), "{lines:?}");
    }

    #[test]
    fn ref_level_reason_and_long_subjects() {
        let r = Reason::on_ref(Code::PushDenied, "bob may not push to refs/heads/main");
        assert_eq!(
            reason_line(&r, "commit"),
            "[push-denied] bob may not push to refs/heads/main"
        );
        let mut long = unsigned('b');
        long.subject = Some("x".repeat(100));
        assert!(reason_line(&long, "commit").contains('…'));
    }
}
