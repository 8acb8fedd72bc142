//! An organisation policy and a repository's under it (spec §10): names shared, never
//! redefined; keys and pusher names held once; both files' governing rules; the join.

use time::macros::datetime;

use super::{
    Layer, ListKind, Policy, PolicyFile, lint_at_layer, lint_layer, no_files, parse_layer,
};
use crate::testutil::{ALICE, BOB, CAROL, DAVE, fingerprint, key_id};

const NOW: time::OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

/// The organisation: alice (admin) and bob, role `sre = [bob]`, a rule for release branches
/// and a revoked key, with a grant of `sre` to alice.
fn org_text() -> String {
    format!(
        "version = 1\n\
         [users.alice]\nkeys = [\"{ALICE}\"]\n\
         [users.bob]\nkeys = [\"{BOB}\"]\n\
         [roles]\nsre = [\"bob\"]\n\
         [policy]\nadmins = [\"alice\"]\n\
         [[revoked]]\nkey = \"{dave}\"\nreason = \"laptop stolen\"\n\
         [[rule]]\nrefs = [\"refs/heads/release/*\"]\npush = [\"sre\"]\n\
         [[grant]]\nuser = \"alice\"\nrole = \"sre\"\nuntil = \"2026-06-02T00:00:00Z\"\n\
         reason = \"incident 7\"\n",
        dave = fingerprint(DAVE)
    )
}

fn org() -> Policy {
    parse_layer(&org_text(), &no_files, Layer::Org).expect("the organisation file is valid")
}

/// A repository file under [`org`]: carol of its own, a role mixing both files' names, its
/// own admins from the organisation.
fn repo_text(rest: &str) -> String {
    format!(
        "version = 1\n\
         [users.carol]\nkeys = [\"{CAROL}\"]\n\
         [roles]\nteam = [\"carol\", \"sre\"]\n\
         [policy]\nadmins = [\"alice\"]\n\
         {rest}"
    )
}

fn codes(text: &str, org: &Policy) -> Vec<&'static str> {
    lint_layer(text, &no_files, Layer::UnderOrg(org))
        .into_iter()
        .filter(|d| d.severity == super::Severity::Error)
        .map(|d| d.code)
        .collect()
}

#[test]
fn organisation_locations_name_their_file() {
    let org = org();
    assert_eq!(org.rules[0].location.file, PolicyFile::Org);
    assert_eq!(org.rules[0].location.to_string(), "org:roles.toml:13");
    let diags = lint_layer("version = 1\n[users.x]\nkeys = 3\n", &no_files, Layer::Org);
    assert_eq!(diags[0].location.file, PolicyFile::Org);
}

#[test]
fn a_repository_uses_organisation_names() {
    let org = org();
    let text = repo_text(
        "[[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"team\", \"alice\"]\n\
         signers = [\"sre\"]\n",
    );
    let joined = parse_layer(&text, &no_files, Layer::UnderOrg(&org)).expect("valid under org");
    // The role mixing both files expands through the organisation's role.
    let team = &joined.role_members["team"];
    assert!(team.contains("carol") && team.contains("bob") && !team.contains("alice"));
    // Users, keys, revocations and grants of both files.
    for user in ["alice", "bob", "carol"] {
        assert!(joined.users.contains_key(user), "{user}");
    }
    assert!(joined.key_owner(&key_id(BOB)).is_some());
    assert!(joined.key_owner(&key_id(CAROL)).is_some());
    assert!(joined.revocation_of(&key_id(DAVE)).is_some());
    assert_eq!(joined.grants.len(), 1);
    let push = joined.rules[0].list(ListKind::Push).expect("push").clone();
    assert!(joined.member(&push, Some("bob"), NOW));
    // A grant of the organisation's role reaches a repository list naming that role.
    let signers = joined.rules[0]
        .list(ListKind::Signers)
        .expect("signers")
        .clone();
    assert!(joined.member(&signers, Some("alice"), NOW));
    assert!(!joined.member(&signers, Some("alice"), datetime!(2026-06-03 00:00 UTC)));
    // [policy] is the repository's own; the organisation's rules follow its own.
    assert_eq!(joined.admins.written, vec!["alice".to_string()]);
    assert_eq!(joined.rules.len(), 2);
    assert_eq!(joined.rules[0].location.file, PolicyFile::Repo);
    assert_eq!(joined.rules[1].location.file, PolicyFile::Org);
}

#[test]
fn the_same_text_without_the_organisation_does_not_validate() {
    let text = repo_text("");
    let diags = lint_layer(&text, &no_files, Layer::Repo);
    assert!(diags.iter().any(|d| d.code == "unknown-principal"));
}

#[test]
fn a_repository_never_redefines_an_organisation_name() {
    let org = org();
    let user = repo_text(&format!("[users.bob]\nkeys = [\"{DAVE}\"]\n"));
    assert_eq!(codes(&user, &org), vec!["org-name"]);
    let role = format!(
        "version = 1\n[users.carol]\nkeys = [\"{CAROL}\"]\n[roles]\nsre = [\"carol\"]\n\
         [policy]\nadmins = [\"alice\"]\n"
    );
    assert_eq!(codes(&role, &org), vec!["org-name"]);
    // A role of the repository named like an organisation user, and the other way round.
    let role_as_user = format!(
        "version = 1\n[users.carol]\nkeys = [\"{CAROL}\"]\n[roles]\nalice = [\"carol\"]\n\
         [policy]\nadmins = [\"carol\"]\n"
    );
    assert_eq!(codes(&role_as_user, &org), vec!["org-name"]);
    let user_as_role =
        format!("version = 1\n[users.sre]\nkeys = [\"{CAROL}\"]\n[policy]\nadmins = [\"sre\"]\n");
    assert_eq!(codes(&user_as_role, &org), vec!["org-name"]);
}

#[test]
fn a_repository_never_lists_an_organisation_key_or_pusher_name() {
    let org = org();
    let key = format!(
        "version = 1\n[users.carol]\nkeys = [\"{CAROL}\", \"{BOB}\"]\n[policy]\nadmins = [\"carol\"]\n"
    );
    let diags = lint_layer(&key, &no_files, Layer::UnderOrg(&org));
    let err = diags.iter().find(|d| d.code == "org-key").expect("org-key");
    assert!(err.message.contains("user `bob`"), "{}", err.message);
    assert_eq!(err.location.line, 3);
    let name = format!(
        "version = 1\n[users.carol]\nkeys = [\"{CAROL}\"]\nnames = [\"carol\", \"bob\"]\n\
         [policy]\nadmins = [\"carol\"]\n"
    );
    assert_eq!(codes(&name, &org), vec!["org-name"]);
}

#[test]
fn both_files_govern_a_ref_each_with_its_first_match() {
    let org = org();
    let text = repo_text(
        "[[rule]]\nrefs = [\"refs/heads/release/*\"]\npush = [\"carol\"]\n\
         [[rule]]\nrefs = [\"refs/heads/**\"]\npush = [\"*\"]\n",
    );
    let joined = parse_layer(&text, &no_files, Layer::UnderOrg(&org)).expect("valid");
    let governing = joined.rules_for("refs/heads/release/1.0");
    let at: Vec<String> = governing.iter().map(|r| r.location.to_string()).collect();
    assert_eq!(at, ["roles.toml:8", "org:roles.toml:13"]);
    // Only the repository's file has a rule for other branches.
    let at: Vec<String> = joined
        .rules_for("refs/heads/main")
        .iter()
        .map(|r| r.location.to_string())
        .collect();
    assert_eq!(at, ["roles.toml:11"]);
    assert_eq!(
        joined
            .rule_for("refs/heads/release/1.0")
            .map(|r| r.location.file),
        Some(PolicyFile::Repo)
    );
}

#[test]
fn the_admin_quorum_counts_organisation_users_keys() {
    let org = org();
    // Two admins needed, both from the organisation: reachable.
    let text = format!(
        "version = 1\n[users.carol]\nkeys = [\"{CAROL}\"]\n\
         [policy]\nadmins = [\"alice\", \"bob\"]\napprovals = 2\n"
    );
    let diags = lint_at_layer(&text, &no_files, Layer::UnderOrg(&org), NOW);
    assert!(
        !diags.iter().any(|d| d.severity == super::Severity::Error),
        "{diags:#?}"
    );
    // The organisation's grant is not the repository's to answer for: a repository whose
    // own max_grant is shorter than the organisation grant's window stays valid.
    let short = format!("{text}[settings]\nmax_grant = \"1h\"\n");
    let diags = lint_at_layer(&short, &no_files, Layer::UnderOrg(&org), NOW);
    assert!(
        !diags.iter().any(|d| d.severity == super::Severity::Error),
        "{diags:#?}"
    );
}
