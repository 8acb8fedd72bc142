//! Organisation policy (spec §10), end to end: one organisation repository guarded by
//! refguard, two project repositories under it, real signed pushes. A key revoked in the
//! organisation's file is refused everywhere; both files' first matching rules apply, each
//! named by its own location; a repository never redefines an organisation name; a missing
//! or broken organisation policy rejects every push; `org check` and `policy lint --org`.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::both_hooks;
use crate::scenario::{Hook, Scenario, Sign, render_template};

/// The organisation: alice (its admin), bob and dave; every one a developer, dave the
/// release manager; release branches of every repository pushed by release managers only.
const ORG: &str = "version = 1\n\
[users.alice]\nkeys = [\"{{key:alice}}\"]\n\
[users.bob]\nkeys = [\"{{key:bob}}\"]\n\
[users.dave]\nkeys = [\"{{key:dave}}\"]\n\
[roles]\ndevelopers = [\"alice\", \"bob\", \"dave\"]\nrelease-managers = [\"dave\"]\n\
[policy]\nadmins = [\"alice\"]\n\
[[rule]]\nrefs = [\"refs/heads/release/*\"]\npush = [\"release-managers\"]\n";

/// The line of the organisation's release rule.
const ORG_RULE_LINE: usize = 13;

/// Project A: carol of its own; main for the team (organisation developers and carol);
/// release branches open to push but signed by alice; everything else open.
const PROJECT_A: &str = "version = 1\n\
[users.carol]\nkeys = [\"{{key:carol}}\"]\n\
[roles]\nteam = [\"developers\", \"carol\"]\n\
[policy]\nadmins = [\"alice\"]\n\
[[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"team\"]\nsigners = [\"team\"]\n\
[[rule]]\nrefs = [\"refs/heads/release/*\"]\npush = [\"*\"]\nsigners = [\"alice\"]\n\
[[rule]]\nrefs = [\"refs/heads/**\"]\npush = [\"*\"]\n";

/// The line of project A's release rule.
const A_RELEASE_LINE: usize = 12;

/// Project B: organisation names only.
const PROJECT_B: &str = "version = 1\n\
[policy]\nadmins = [\"alice\"]\n\
[[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"developers\"]\nsigners = [\"developers\"]\n";

/// An organisation repository and two project repositories under it.
struct Org {
    org: Scenario,
    a: Scenario,
    b: Scenario,
}

impl Org {
    fn new(hook: Hook) -> Org {
        let org = Scenario::bare()
            .policy(render_template(ORG))
            .hook(Some(Hook::PreReceive))
            .build();
        let a = project(&org, hook, PROJECT_A);
        let b = project(&org, hook, PROJECT_B);
        Org { org, a, b }
    }

    /// Pushes a change to the organisation's roles.toml, signed by alice (its admin);
    /// returns the new organisation policy commit.
    fn change(&self, edit: impl Fn(&str) -> String) -> String {
        let alice = self.org.client("alice");
        alice.checkout_policy();
        let text = fs::read_to_string(alice.dir().join("roles.toml")).expect("roles.toml");
        let edited = edit(&text);
        assert_ne!(edited, text, "the edit changed nothing");
        let id = alice.commit_file("roles.toml", &edited, "Change the org policy", Sign::Own);
        alice.push(&["HEAD:refs/meta/policy"]).assert_accepted();
        id
    }
}

/// A project server under `org`: the organisation configured before `init` (which
/// validates the file under it), then the hook.
fn project(org: &Scenario, hook: Hook, roles: &str) -> Scenario {
    let s = Scenario::bare().hook(Some(hook)).build();
    set_org(&s, org.server());
    s.init_policy(&render_template(roles))
        .assert_success("init under the organisation policy");
    s
}

fn set_org(s: &Scenario, org: &Path) {
    let path = org.to_str().expect("UTF-8 path");
    s.server_git(&["config", "refguard.orgPolicy", path]);
}

/// The audit log's records for `refname`.
fn records(s: &Scenario, refname: &str) -> Vec<Value> {
    let out = s.refguard_repo(&["audit", "log", "--format", "json", "--ref", refname]);
    out.assert_success("audit log");
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

both_hooks! {
    fn a_key_revoked_by_the_organisation_is_refused_in_every_repository(hook) {
        let o = Org::new(hook);
        for project in [&o.a, &o.b] {
            let bob = project.client("bob");
            bob.commit("Before the leak", Sign::Own);
            bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
        }
        let bob_fp = crate::scenario::key("bob").fingerprint.clone();
        let revoked = o.change(|t| {
            format!("{t}[[revoked]]\nkey = \"{bob_fp}\"\nreason = \"laptop stolen\"\n")
        });
        for project in [&o.a, &o.b] {
            let bob = project.client("bob");
            let leaked = bob.commit("Signed with the leaked key", Sign::Own);
            bob.push(&["HEAD:refs/heads/main"])
                .assert_rejected("revoked-key", &leaked)
                .assert_refs_unchanged();
            // The audit record names the organisation policy it was judged under.
            let last = records(project, "refs/heads/main").pop().expect("a record");
            assert_eq!(last["decision"], "reject", "{last}");
            assert_eq!(last["org_policy"], Value::from(revoked.clone()), "{last}");
        }
    }
}

both_hooks! {
    fn an_update_must_pass_both_files_first_matching_rules(hook) {
        let o = Org::new(hook);
        let seed = o.a.client("alice");
        seed.commit("Initial", Sign::Own);
        seed.push(&["HEAD:refs/heads/main"]).assert_accepted();

        // The repository's rule lets carol push, the organisation's does not.
        let carol = o.a.client("carol");
        carol.commit("Release by carol", Sign::By("alice"));
        let push = carol.push(&["HEAD:refs/heads/release/1"]);
        push.assert_reason("create-denied").assert_refs_unchanged();
        let org_rule = format!("org:roles.toml:{ORG_RULE_LINE}");
        assert!(
            push.remote.iter().any(|l| l.contains(&format!("(rule {org_rule}; you are user carol)"))),
            "the rejection names the organisation's rule\n{}",
            push.transcript()
        );

        // The organisation's rule lets dave push; the repository's wants alice's signature.
        let dave = o.a.client("dave");
        let by_dave = dave.commit("Release by dave", Sign::Own);
        let push = dave.push(&["HEAD:refs/heads/release/1"]);
        push.assert_rejected("signer-not-allowed", &by_dave).assert_refs_unchanged();
        let repo_rule = format!("roles.toml:{A_RELEASE_LINE}");
        assert!(
            push.remote.iter().any(|l| l.contains(&format!("(rule {repo_rule}; you are user dave)"))),
            "the rejection names the repository's rule\n{}",
            push.transcript()
        );

        // Both satisfied: dave pushes a commit alice signed.
        let dave2 = o.a.client("dave");
        dave2.commit("Release signed by alice", Sign::By("alice"));
        dave2.push(&["HEAD:refs/heads/release/1"]).assert_accepted();

        // Project B has no rule for release branches: the organisation's alone governs.
        let dave_b = o.b.client("dave");
        dave_b.commit("B release", Sign::Unsigned);
        dave_b.push(&["HEAD:refs/heads/release/1"]).assert_accepted();
        let alice_b = o.b.client("alice");
        alice_b.commit("B release by alice", Sign::Unsigned);
        alice_b.push(&["HEAD:refs/heads/release/2"]).assert_reason("create-denied");
    }
}

#[test]
fn who_can_and_policy_show_name_both_files() {
    let o = Org::new(Hook::PreReceive);
    let out = o.a.refguard_repo(&[
        "who-can",
        "push",
        "refs/heads/release/1",
        "--format",
        "json",
    ]);
    out.assert_success("who-can");
    let answer: Value = serde_json::from_str(&out.stdout).expect("JSON");
    // The repository's rule lets anyone push, the organisation's only release managers.
    assert_eq!(answer["answer"], "dave", "{answer}");
    assert_eq!(
        answer["governed_by"]["location"],
        format!("roles.toml:{A_RELEASE_LINE}")
    );
    let notes = answer["notes"].to_string();
    assert!(
        notes.contains(&format!("org:roles.toml:{ORG_RULE_LINE}")),
        "{answer}"
    );

    let show = o.a.refguard_repo(&["policy", "show"]);
    show.assert_success("policy show");
    assert!(
        show.stdout
            .contains(&format!("org:roles.toml:{ORG_RULE_LINE}")),
        "{}",
        show.stdout
    );
}

#[test]
fn a_repository_never_redefines_an_organisation_name() {
    let o = Org::new(Hook::PreReceive);
    // init refuses a file that redefines an organisation user.
    let fresh = Scenario::bare().hook(Some(Hook::PreReceive)).build();
    set_org(&fresh, o.org.server());
    let clash = render_template(
        "version = 1\n[users.bob]\nkeys = [\"{{key:carol}}\"]\n[policy]\nadmins = [\"alice\"]\n",
    );
    let out = fresh.init_policy(&clash);
    out.assert_code(1, "init with a clash");
    assert!(
        out.stderr
            .contains("user `bob` is already a user of the organisation policy"),
        "{}",
        out.stderr
    );
    assert!(fresh.server_ref("refs/meta/policy").is_none());

    // A policy push listing an organisation user's key is refused.
    let alice = o.b.client("alice");
    alice.checkout_policy();
    let text = fs::read_to_string(alice.dir().join("roles.toml")).expect("roles.toml");
    let edited = render_template(&format!(
        "{text}[users.robert]\nkeys = [\"{{{{key:bob}}}}\"]\n"
    ));
    alice.commit_file("roles.toml", &edited, "Bob again", Sign::Own);
    let push = alice.push(&["HEAD:refs/meta/policy"]);
    push.assert_reason("policy-invalid").assert_refs_unchanged();
    assert!(
        push.remote
            .iter()
            .any(|l| l.contains("belongs to user `bob` of the organisation policy")),
        "{}",
        push.transcript()
    );

    // policy lint --org says the same, offline.
    let org_file = o.b.write_file("org.toml", &render_template(ORG));
    let repo_file = o.b.write_file("candidate.toml", &edited);
    let out = o.b.refguard_str(&[
        "policy",
        "lint",
        "--org",
        org_file.to_str().expect("UTF-8"),
        repo_file.to_str().expect("UTF-8"),
    ]);
    out.assert_code(1, "lint --org");
    assert!(
        out.stdout.contains("belongs to user `bob`"),
        "{}",
        out.stdout
    );
    // Without the organisation file, its names are unknown.
    let out =
        o.b.refguard_str(&["policy", "lint", repo_file.to_str().expect("UTF-8")]);
    out.assert_code(1, "lint alone");
    assert!(
        out.stdout.contains("unknown user or role `developers`"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("organisation"), "{}", out.stdout);
}

#[test]
fn a_missing_or_broken_organisation_policy_rejects_every_push() {
    let o = Org::new(Hook::PreReceive);
    let bob = o.b.client("bob");
    bob.commit("Fine", Sign::Own);
    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();

    // Configured, but the repository is not there.
    set_org(&o.b, &o.org.home().join("nowhere.git"));
    bob.commit("Rejected", Sign::Own);
    let push = bob.push(&["HEAD:refs/heads/main", "HEAD:refs/heads/free"]);
    push.assert_reason("internal-error").assert_refs_unchanged();
    assert!(
        push.remote
            .iter()
            .any(|l| l.contains("the organisation policy") && l.contains("nowhere.git")),
        "{}",
        push.transcript()
    );

    // A repository without a policy branch: no-policy.
    let empty = Scenario::bare().hook(None).build();
    set_org(&o.b, empty.server());
    bob.push(&["HEAD:refs/heads/main"])
        .assert_reason("no-policy")
        .assert_refs_unchanged();

    // An organisation roles.toml that does not validate (written behind refguard's back).
    let broken = Scenario::bare().hook(None).build();
    let blob = broken.server_git_stdin(&["hash-object", "-w", "--stdin"], b"version = 2\n");
    let tree = broken.server_git_stdin(
        &["mktree"],
        format!("100644 blob {}\troles.toml\n", blob.trim()).as_bytes(),
    );
    let commit = broken.server_git(&["commit-tree", tree.trim(), "-m", "broken"]);
    broken.server_git(&["update-ref", "refs/meta/policy", commit.trim()]);
    set_org(&o.b, broken.server());
    let push = bob.push(&["HEAD:refs/heads/main"]);
    push.assert_reason("internal-error").assert_refs_unchanged();
    assert!(
        push.remote.iter().any(|l| l.contains("org:roles.toml")),
        "{}",
        push.transcript()
    );

    // Back to the real one: accepted again.
    set_org(&o.b, o.org.server());
    bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
}

#[test]
fn org_check_lists_the_repositories_a_change_would_break() {
    let o = Org::new(Hook::PreReceive);
    // A root holding copies of the three servers (the check only reads them).
    let root = o.org.home().join("srv");
    fs::create_dir_all(&root).expect("mkdir");
    for (name, s) in [("org.git", &o.org), ("a.git", &o.a), ("b.git", &o.b)] {
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(s.server())
            .arg(root.join(name))
            .status()
            .expect("cp");
        assert!(status.success());
    }
    let root_arg = root.to_str().expect("UTF-8");
    let out = o.org.refguard_str(&["org", "check", "--root", root_arg]);
    out.assert_success("org check, current policy");
    assert!(
        out.stdout.contains("ok       ") && !out.stdout.contains("BREAKS"),
        "{}",
        out.stdout
    );

    // A proposal that defines carol (whom project A defines) breaks A only.
    let proposed = o.org.write_file(
        "proposed.toml",
        &render_template(&format!(
            "{ORG}[users.carol]\nkeys = [\"{{{{key:erin}}}}\"]\n"
        )),
    );
    let out = o.org.refguard_str(&[
        "org",
        "check",
        "--root",
        root_arg,
        "--org",
        proposed.to_str().expect("UTF-8"),
        "--format",
        "json",
    ]);
    out.assert_code(1, "org check, proposal");
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let status = |name: &str| {
        report["repositories"]
            .as_array()
            .expect("list")
            .iter()
            .find(|r| r["repository"].as_str().is_some_and(|p| p.ends_with(name)))
            .map(|r| r["status"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(status("a.git"), "breaks", "{report}");
    assert_eq!(status("b.git"), "ok", "{report}");
    assert_eq!(status("org.git"), "skipped", "{report}");
    assert_eq!(report["breaking"], 1, "{report}");
}
