//! Path ownership (spec §9): `[[path]]` entries protect secrets, deployment config and CI
//! whatever branch a change lands on. Real commits of every shape of change, pushed through
//! both hooks.
//!
//! The cast (fixtures/scenarios/standard.toml plus roles): alice is in `security`; bob is a
//! developer who may push feature branches but whose commits may not touch `secrets/`; dave
//! is in `deployers`, the only ones who may sign changes to `deploy/*.yml`.

use std::fs;

use crate::both_hooks;
use crate::scenario::{Client, Hook, Scenario, fixture_policy};

/// The standard policy with `security` and `deployers` roles and `entries` appended.
fn policy(entries: &str) -> String {
    fixture_policy("standard").replacen(
        "policy-admins = [\"alice\"]",
        "policy-admins = [\"alice\"]\nsecurity = [\"alice\"]\ndeployers = [\"dave\"]",
        1,
    ) + "\n"
        + entries
}

const SECRETS: &str = "[[path]]\npaths = [\"secrets/**\"]\nsigners = [\"security\"]\n";

/// A server whose main has secrets/db.key, secrets/run.sh, deploy/prod.yml and docs/a.md
/// (a layout commit by alice, put in place on the server directly: it predates the path
/// entries), and bob's clone of it.
fn setup(hook: Hook, entries: &str) -> (Scenario, Client) {
    let s = Scenario::builder(hook).policy(policy(entries)).build();
    let alice = s.client("alice");
    for dir in ["secrets", "deploy", "docs"] {
        fs::create_dir_all(alice.dir().join(dir)).expect("mkdir");
    }
    fs::write(alice.dir().join("secrets/db.key"), "hunter2\n").expect("write");
    fs::write(alice.dir().join("secrets/run.sh"), "#!/bin/sh\n").expect("write");
    fs::write(alice.dir().join("deploy/prod.yml"), "replicas: 2\n").expect("write");
    fs::write(alice.dir().join("docs/a.md"), "# A\n").expect("write");
    alice.git(&["add", "-A"]);
    alice.git(&[
        "-c",
        "gpg.format=ssh",
        "-c",
        &signing_key("alice"),
        "commit",
        "-q",
        "-S",
        "-m",
        "Layout",
    ]);
    let layout = alice.rev("HEAD");
    let dir = alice.dir().display().to_string();
    s.server_git(&["fetch", "-q", &dir, "HEAD"]);
    s.server_git(&["update-ref", "refs/heads/main", &layout]);
    let bob = s.client("bob");
    (s, bob)
}

fn signing_key(user: &str) -> String {
    format!(
        "user.signingKey={}",
        crate::scenario::key(user).private.display()
    )
}

/// Commits whatever is staged, signed by the client's user.
fn commit_staged(c: &Client, message: &str, signer: &str) -> String {
    c.git(&[
        "-c",
        "gpg.format=ssh",
        "-c",
        &signing_key(signer),
        "commit",
        "-q",
        "-S",
        "--allow-empty",
        "-m",
        message,
    ]);
    c.rev("HEAD")
}

/// One shape of change, made in `c` on top of main and committed by bob.
fn change(c: &Client, case: &str) -> String {
    let dir = c.dir();
    c.git(&[
        "checkout",
        "-q",
        "-B",
        &format!("case-{case}"),
        "origin/main",
    ]);
    match case {
        "add" => fs::write(dir.join("secrets/new.key"), "new\n").expect("write"),
        "modify" => fs::write(dir.join("secrets/db.key"), "correct horse\n").expect("write"),
        "delete" => fs::remove_file(dir.join("secrets/db.key")).expect("rm"),
        "rename-out" => {
            c.git(&["mv", "secrets/db.key", "docs/db.key"]);
        }
        "rename-in" => {
            c.git(&["mv", "docs/a.md", "secrets/a.md"]);
        }
        "mode" => {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(
                dir.join("secrets/run.sh"),
                fs::Permissions::from_mode(0o755),
            )
            .expect("chmod");
        }
        "symlink" => {
            std::os::unix::fs::symlink("../docs/a.md", dir.join("secrets/link")).expect("symlink")
        }
        "submodule" => {
            let main = c.rev("HEAD");
            c.git(&[
                "update-index",
                "--add",
                "--cacheinfo",
                &format!("160000,{main},secrets/sub"),
            ]);
        }
        "outside" => fs::write(dir.join("docs/a.md"), "# A, edited\n").expect("write"),
        other => panic!("unknown case {other}"),
    }
    // `add -A` would drop the gitlink, which has no checkout in the work tree.
    if case != "submodule" {
        c.git(&["add", "-A"]);
    }
    commit_staged(c, &format!("Change: {case}"), "bob")
}

both_hooks!(
    fn every_shape_of_change_to_a_protected_path_is_caught(hook) {
        let (s, bob) = setup(hook, SECRETS);
        for (case, touched) in [
            ("add", Some("secrets/new.key")),
            ("modify", Some("secrets/db.key")),
            ("delete", Some("secrets/db.key")),
            ("rename-out", Some("secrets/db.key")),
            ("rename-in", Some("secrets/a.md")),
            ("mode", Some("secrets/run.sh")),
            ("symlink", Some("secrets/link")),
            ("submodule", Some("secrets/sub")),
            ("outside", None),
        ] {
            let id = change(&bob, case);
            let refname = format!("refs/heads/feature/{case}");
            let p = bob.push(&[&format!("HEAD:{refname}")]);
            match touched {
                Some(path) => {
                    p.assert_rejected("path-denied", &id).assert_refs_unchanged();
                    let line = p.reason_lines("path-denied")[0];
                    assert!(
                        line.contains(&format!("touches {path} (secrets/**), which needs a signature by security (path roles.toml:"))
                            && line.contains("signed by bob"),
                        "{case}\n{}",
                        p.transcript()
                    );
                }
                None => {
                    p.assert_accepted();
                }
            }
        }
        let _ = s;
    }
);

both_hooks!(
    fn a_root_commit_touches_every_path_in_its_tree(hook) {
        let (_s, bob) = setup(hook, SECRETS);
        bob.git(&["checkout", "-q", "--orphan", "fresh"]);
        let id = commit_staged(&bob, "Fresh start", "bob");
        let p = bob.push(&["HEAD:refs/heads/feature/fresh"]);
        p.assert_rejected("path-denied", &id);
        assert!(p.reason_lines("path-denied")[0].contains("touches secrets/db.key"), "{}", p.transcript());
    }
);

both_hooks!(
    fn merges_are_blamed_only_for_what_they_introduce(hook) {
        let (s, bob) = setup(hook, SECRETS);
        // alice changes a secret on her branch, as she may.
        let alice = s.client("alice");
        fs::write(alice.dir().join("secrets/db.key"), "rotated\n").expect("write");
        alice.git(&["add", "-A"]);
        commit_staged(&alice, "Rotate the key", "alice");
        alice.push(&["HEAD:refs/heads/feature/rotate"]).assert_accepted();

        // A clean merge of her branch by bob takes her change: the merge itself introduces
        // nothing in secrets/ (it equals one parent there), so it is not blamed.
        bob.git(&["fetch", "-q", "origin"]);
        change(&bob, "outside");
        bob.git(&["-c", "gpg.format=ssh", "-c", &signing_key("bob"), "merge", "-q", "--no-ff", "-S", "-m", "Merge rotate", "origin/feature/rotate"]);
        bob.push(&["HEAD:refs/heads/feature/clean-merge"]).assert_accepted();

        // An evil merge: bob's merge changes a secret that neither parent has that way.
        bob.git(&["checkout", "-q", "-B", "evil", "origin/main"]);
        change(&bob, "outside");
        bob.git(&["merge", "-q", "--no-ff", "--no-commit", "origin/feature/rotate"]);
        fs::write(bob.dir().join("secrets/db.key"), "backdoor\n").expect("write");
        bob.git(&["add", "-A"]);
        let evil = commit_staged(&bob, "Merge rotate (evil)", "bob");
        let p = bob.push(&["HEAD:refs/heads/feature/evil-merge"]);
        p.assert_rejected("path-denied", &evil).assert_refs_unchanged();
        assert!(p.reason_lines("path-denied")[0].contains("touches secrets/db.key"), "{}", p.transcript());
    }
);

both_hooks!(
    fn work_parked_elsewhere_is_checked_where_the_entry_applies(hook) {
        // Only main is covered; release/* shares main's rule, so for the rule that history is
        // known, but the path entry measures new commits against main alone.
        let (s, bob) = setup(
            hook,
            "[[path]]\npaths = [\"secrets/**\"]\nrefs = [\"refs/heads/main\"]\nsigners = [\"security\"]\n",
        );
        let id = change(&bob, "modify");
        // Parked on an uncovered branch...
        bob.push(&["HEAD:refs/heads/wip/parked"]).assert_accepted();
        // ... and on a branch of main's own rule (bob is a developer; alice creates it).
        let alice = s.client("alice");
        alice.git(&["fetch", "-q", "origin", "refs/heads/wip/parked"]);
        alice.push(&[&format!("{id}:refs/heads/release/2.0")]).assert_accepted();
        // ... and behind a signed tag.
        alice.git(&["tag", "-f", "-m", "parked", "parked-tag", &id]);
        alice.push(&["refs/tags/parked-tag"]).assert_accepted();
        // Reaching main, it is checked all the same.
        let p = bob.push(&["HEAD:refs/heads/main"]);
        p.assert_rejected("path-denied", &id).assert_refs_unchanged();
    }
);

both_hooks!(
    fn several_entries_apply_at_once_and_one_can_need_approvals(hook) {
        let (s, bob) = setup(
            hook,
            &format!(
                "{SECRETS}\n[[path]]\npaths = [\"deploy/*.yml\"]\nsigners = [\"deployers\"]\n\
                 approvals = {{ by = [\"security\"] }}\n"
            ),
        );
        bob.git(&["checkout", "-q", "-B", "both", "origin/main"]);
        fs::write(bob.dir().join("secrets/db.key"), "x\n").expect("write");
        fs::write(bob.dir().join("deploy/prod.yml"), "replicas: 3\n").expect("write");
        bob.git(&["add", "-A"]);
        let id = commit_staged(&bob, "Scale up and rotate", "bob");
        let p = bob.push(&["HEAD:refs/heads/feature/both"]);
        p.assert_refs_unchanged();
        let lines = p.reason_lines("path-denied").join("\n");
        assert!(
            lines.contains("touches secrets/db.key (secrets/**), which needs a signature by security")
                && lines.contains("touches deploy/prod.yml (deploy/*.yml), which needs a signature by deployers"),
            "{}",
            p.transcript()
        );
        let approvals = p.reason_lines("approvals-missing").join("\n");
        assert!(
            approvals.contains("0 of 1 approval by security")
                && approvals.contains(&format!("needed because commit {} touches deploy/prod.yml", &id[..7])),
            "{}",
            p.transcript()
        );

        // dave signs a deploy-only change for team/scale (a rule that asks nothing of
        // signers): the path entry still wants security's approval. alice gives it; accepted.
        let dave = s.client("dave");
        fs::write(dave.dir().join("deploy/prod.yml"), "replicas: 4\n").expect("write");
        dave.git(&["add", "-A"]);
        let deploy = commit_staged(&dave, "Scale to 4", "dave");
        let p = dave.push(&["HEAD:refs/heads/team/scale"]);
        p.assert_reason("approvals-missing").assert_refs_unchanged();
        assert!(
            p.reason_lines("approvals-missing")[0]
                .contains(&format!("needed because commit {} touches deploy/prod.yml", &deploy[..7])),
            "{}",
            p.transcript()
        );
        assert!(p.reason_lines("path-denied").is_empty(), "dave is a deployer\n{}", p.transcript());
        let alice = s.client("alice");
        let dave_dir = dave.dir().display().to_string();
        alice.git(&["fetch", "-q", &dave_dir, "HEAD"]);
        alice
            .approve(&[&deploy, "--ref", "refs/heads/team/scale"])
            .assert_success("alice approves the deploy change");
        dave.push(&["HEAD:refs/heads/team/scale"]).assert_accepted();
    }
);

#[test]
fn who_can_sign_a_path_and_policy_show_lists_entries() {
    let (s, _bob) = setup(Hook::PreReceive, SECRETS);
    let who = s.refguard_repo(&[
        "who-can",
        "sign",
        "refs/heads/main",
        "--path",
        "secrets/db.key",
    ]);
    who.assert_success("who-can sign --path");
    assert!(
        who.stdout.contains("alice") && !who.stdout.contains("  bob "),
        "only alice is both a developer and in security\n{}",
        who.stdout
    );
    assert!(who.stdout.contains("path roles.toml:"), "{}", who.stdout);
    let other = s.refguard_repo(&["who-can", "sign", "refs/heads/main", "--path", "docs/a.md"]);
    assert!(other.stdout.contains("bob"), "{}", other.stdout);
    let show = s.refguard_repo(&["policy", "show"]);
    assert!(
        show.stdout.contains("path entries (1;")
            && show.stdout.contains("secrets/**")
            && show.stdout.contains("signers:    security → alice"),
        "{}",
        show.stdout
    );
}

#[test]
fn the_history_audit_applies_path_entries() {
    let (s, bob) = setup(Hook::PreReceive, SECRETS);
    // bob's change to a secret and a docs change on top, put on the server directly (as
    // though they predated the entry).
    let secret = change(&bob, "modify");
    fs::write(bob.dir().join("docs/a.md"), "# A, edited\n").expect("write");
    bob.git(&["add", "-A"]);
    let docs = commit_staged(&bob, "Edit the docs", "bob");
    let dir = bob.dir().display().to_string();
    s.server_git(&["fetch", "-q", &dir, "HEAD"]);
    s.server_git(&["update-ref", "refs/heads/main", &docs]);

    let out = s.refguard_repo(&["audit", "history", "--format", "json"]);
    out.assert_code(1, "audit history");
    let rows: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let row = |id: &str| {
        rows.iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no row for {id}: {rows:?}"))
    };
    let denied = row(&secret);
    assert_eq!(denied["verdict"], "violation", "{denied}");
    assert_eq!(denied["reasons"][0]["code"], "path-denied", "{denied}");
    let detail = denied["reasons"][0]["detail"].as_str().expect("detail");
    assert!(
        detail.contains("touches secrets/db.key (secrets/**), which needs a signature by security"),
        "{detail}"
    );
    // The docs change on top, and alice's layout commit that added the secrets, pass.
    assert_eq!(row(&docs)["verdict"], "ok");
    let layout = s.server_git(&["rev-parse", "refs/heads/main~2"]);
    assert_eq!(row(layout.trim())["verdict"], "ok");
}
