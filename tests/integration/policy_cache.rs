//! The parse-once policy cache (issue 20) under real pushes: a policy change is never judged
//! by the cached policy before it, and a garbage, foreign or unwritable cache neither breaks
//! nor opens a push.

use std::fs;
use std::path::{Path, PathBuf};

use crate::both_hooks;
use crate::scenario::{Client, Scenario, Sign};

/// Where the server keeps its cache entries.
fn cache_dir(s: &Scenario) -> PathBuf {
    s.server().join("refguard").join("policy-cache")
}

/// The cache entries, by file name.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|listing| {
            listing
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.ends_with(".policy") && !n.starts_with('.'))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Alice takes bob out of `developers` on the policy branch (signed, accepted).
fn remove_bob(alice: &Client) {
    alice.checkout_policy();
    let path = alice.dir().join("roles.toml");
    let text = fs::read_to_string(&path).expect("roles.toml on the policy branch");
    let edited = text.replace("developers = [\"bob\", ", "developers = [");
    assert_ne!(edited, text, "the standard roles file changed shape");
    alice.commit_file("roles.toml", &edited, "Bob moves on", Sign::Own);
    alice.push(&["HEAD:refs/meta/policy"]).assert_accepted();
}

both_hooks!(
    fn a_policy_change_is_never_judged_by_the_cached_policy(hook) {
        let s = Scenario::new(hook);
        let bob = s.client("bob");
        bob.commit("Bob's first", Sign::Own);
        bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
        let dir = cache_dir(&s);
        let before = entries(&dir);
        assert_eq!(before.len(), 1, "the policy in force is cached: {before:?}");

        remove_bob(&s.client("alice"));
        bob.commit("Bob's second", Sign::Own);
        bob.push(&["HEAD:refs/heads/main"])
            .assert_reason("push-denied")
            .assert_refs_unchanged();
        let after = entries(&dir);
        assert_eq!(after.len(), 2, "the new policy has its own entry: {after:?}");

        // Even the old policy's entry copied over the new one's is not used: it holds
        // another key.
        let new: Vec<&PathBuf> = after.iter().filter(|p| !before.contains(p)).collect();
        assert_eq!(new.len(), 1);
        fs::copy(&before[0], new[0]).expect("copy the old entry over the new");
        bob.push(&["HEAD:refs/heads/main"])
            .assert_reason("push-denied")
            .assert_refs_unchanged();
    }
);

both_hooks!(
    fn a_garbage_cache_neither_breaks_nor_opens_a_push(hook) {
        let s = Scenario::new(hook);
        // Carol is no developer: her push is refused, and the policy cached all the same.
        let carol = s.client("carol");
        carol.commit("Carol's", Sign::Own);
        carol
            .push(&["HEAD:refs/heads/main"])
            .assert_reason("push-denied")
            .assert_refs_unchanged();
        let dir = cache_dir(&s);
        let cached = entries(&dir);
        assert_eq!(cached.len(), 1);

        // Garbage in place of the entry: carol is still refused.
        fs::write(&cached[0], b"garbage\n".repeat(64)).expect("write garbage");
        carol
            .push(&["HEAD:refs/heads/main"])
            .assert_reason("push-denied")
            .assert_refs_unchanged();
        // That push parsed the policy and wrote a sound entry over the garbage.
        let rewritten = fs::read(&cached[0]).expect("entry");
        assert!(rewritten.starts_with(b"RGPOLCCH"), "the entry was rewritten");

        // A truncated entry: bob, a developer, is not refused.
        fs::write(&cached[0], &rewritten[..rewritten.len() / 2]).expect("truncate");
        let bob = s.client("bob");
        bob.commit("Bob's first", Sign::Own);
        bob.push(&["HEAD:refs/heads/main"]).assert_accepted();

        // A cache that cannot be written at all (a file where its directory should be).
        fs::remove_dir_all(&dir).expect("remove the cache");
        fs::write(&dir, "not a directory").expect("block the cache");
        bob.commit("Bob's second", Sign::Own);
        bob.push(&["HEAD:refs/heads/main"]).assert_accepted();
    }
);
