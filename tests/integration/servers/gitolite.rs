//! refguard behind gitolite (Debian's gitolite3), reached through the test's sshd with the
//! `authorized_keys` gitolite generates. refguard is a repo-specific pre-receive hook, as
//! gitolite's documentation recommends for hooks other than `update` (which gitolite keeps
//! for itself): `LOCAL_CODE` in the rc file, `repo-specific-hooks` enabled, and
//! `option hook.pre-receive = refguard` on the repository. refguard reads `GL_USER`.

use std::fs;

use super::harness::{Key, World, key, require};
use super::ssh::{SSHD, Sshd};

/// The repo-specific hook gitolite links into the repository (as `pre-receive.h00-refguard`,
/// run by its multi-hook driver with the push's commands on stdin).
const HOOK: &str = "#!/bin/sh\nexec {refguard} hook pre-receive\n";

/// gitolite's access rules: alice and bob may write, carol may only read.
const CONF: &str = "\
repo gitolite-admin
    RW+     =   admin

repo project
    RW+     =   alice
    RW      =   bob
    R       =   carol
    option hook.pre-receive = refguard
";

/// Sets up gitolite in `world/gitolite` (its HOME) with the admin key and users alice, bob,
/// carol; returns that home.
fn setup(w: &World, admin: &Key, users: &[(&str, &Key)]) -> std::path::PathBuf {
    let home = w.root.join("gitolite");
    fs::create_dir_all(&home).expect("mkdir gitolite home");
    let gitolite = |args: &[&str]| {
        w.run_ok(
            w.cmd("gitolite")
                .env("HOME", &home)
                .args(args)
                .current_dir(&home),
        );
    };
    let admin_pub = home.join("admin.pub");
    fs::write(&admin_pub, &admin.public).expect("admin.pub");
    gitolite(&["setup", "-pk", admin_pub.to_str().expect("utf-8 path")]);

    // The rc file: LOCAL_CODE (commented out by default) and the repo-specific-hooks trigger.
    let rc_path = home.join(".gitolite.rc");
    let rc = fs::read_to_string(&rc_path).expect("read .gitolite.rc");
    let rc = rc
        .replace(
            "# LOCAL_CODE                =>  \"$ENV{HOME}/local\",",
            "LOCAL_CODE                =>  \"$ENV{HOME}/local\",",
        )
        .replace("# 'repo-specific-hooks',", "'repo-specific-hooks',");
    assert!(
        rc.contains("\n        LOCAL_CODE "),
        "LOCAL_CODE not enabled:\n{rc}"
    );
    assert!(
        rc.contains("\n            'repo-specific-hooks',"),
        "trigger not enabled"
    );
    fs::write(&rc_path, rc).expect("write .gitolite.rc");

    let hooks = home.join("local/hooks/repo-specific");
    fs::create_dir_all(&hooks).expect("mkdir repo-specific");
    let hook = hooks.join("refguard");
    let refguard = env!("CARGO_BIN_EXE_refguard");
    fs::write(&hook, HOOK.replace("{refguard}", refguard)).expect("write hook");
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).expect("chmod hook");

    // Server-side administration: keys and conf edited in place, then `gitolite setup`
    // compiles them and runs the triggers (authorized_keys, repo-specific hooks). Pushing the
    // gitolite-admin repository does the same.
    for (name, key) in users {
        fs::write(
            home.join(format!(".gitolite/keydir/{name}.pub")),
            &key.public,
        )
        .expect("write user key");
    }
    fs::write(home.join(".gitolite/conf/gitolite.conf"), CONF).expect("write conf");
    gitolite(&["setup"]);
    home
}

#[test]
fn gitolite_and_refguard_must_both_allow_a_push() {
    let mut needs = SSHD.to_vec();
    needs.push(("gitolite", "gitolite3"));
    if !require("gitolite_and_refguard_must_both_allow_a_push", &needs) {
        return;
    }
    let w = World::new();
    let (admin, alice, bob, carol) = (key("admin"), key("alice"), key("bob"), key("carol"));
    let home = setup(
        &w,
        admin,
        &[("alice", alice), ("bob", bob), ("carol", carol)],
    );
    let repo = home.join("repositories/project.git");
    assert!(
        fs::symlink_metadata(repo.join("hooks/pre-receive.h00-refguard")).is_ok(),
        "gitolite linked the repo-specific hook"
    );
    // refguard's policy: main is alice's; carol is a refguard user who may push anywhere else.
    let roles = format!(
        "version = 1\n\
         [users.alice]\nkeys = [\"{}\"]\n\
         [users.bob]\nkeys = [\"{}\"]\n\
         [users.carol]\nkeys = [\"{}\"]\n\
         [policy]\nadmins = [\"alice\"]\n\
         [[rule]]\nrefs = [\"refs/heads/main\"]\npush = [\"alice\"]\n",
        alice.public, bob.public, carol.public
    );
    w.seed(&repo, &roles);

    // gitolite's sshd entry point: its own authorized_keys (command="gitolite-shell USER"),
    // and HOME pointing at the gitolite home (in production: the gitolite account's home).
    let keys = home.join(".ssh/authorized_keys");
    assert!(fs::read_to_string(&keys).is_ok_and(|k| k.contains("gitolite-shell alice")));
    let sshd = Sshd::start(
        &w,
        "sshd",
        &keys,
        &format!("SetEnv HOME={}\n", home.display()),
    );
    let url = sshd.url("/project");

    // Both allow: alice on main.
    let a = w.client("alice", &repo, alice);
    w.commit(&a, "Alice's change");
    let pushed = sshd.push(&w, &a, alice, &url, &["HEAD:refs/heads/main"]);
    assert!(pushed.ok, "{}\n--- sshd ---\n{}", pushed.stderr, sshd.log());
    pushed.assert_accepted();
    let audit = w.last_audit(&repo);
    assert_eq!(audit["pusher"], "alice", "refguard read GL_USER");

    // gitolite allows (bob has RW), refguard denies.
    let b = w.client("bob", &repo, bob);
    w.commit(&b, "Bob's change");
    let pushed = sshd.push(&w, &b, bob, &url, &["HEAD:refs/heads/main"]);
    pushed.assert_rejected(&[
        "refguard: rejected refs/heads/main (",
        "refguard:   [push-denied] \"bob\" may not push to refs/heads/main",
    ]);
    // ... and an unprotected branch passes both.
    sshd.push(&w, &b, bob, &url, &["HEAD:refs/heads/topic"])
        .assert_accepted();

    // refguard would allow carol on an unprotected branch; gitolite denies (R only), before
    // any hook runs.
    let c = w.client("carol", &repo, carol);
    w.commit(&c, "Carol's change");
    let pushed = sshd.push(&w, &c, carol, &url, &["HEAD:refs/heads/topic2"]);
    assert!(!pushed.ok);
    assert!(
        pushed
            .stderr
            .contains("FATAL: W any project carol DENIED by fallthru"),
        "{}",
        pushed.stderr
    );
    assert!(!pushed.stderr.contains("refguard:"), "{}", pushed.stderr);
    assert_ne!(w.last_audit(&repo)["pusher"], "carol", "refguard never ran");
}
