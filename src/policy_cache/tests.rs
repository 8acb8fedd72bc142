//! The policy cache: hits, misses, entries that must be ignored, writes that fail, eviction,
//! and a loaded policy judging exactly as the parsed one on the standard fixtures.

use std::cell::Cell;
use std::fs;
use std::path::Path;

use rand_chacha::rand_core::SeedableRng as _;
use time::{Duration, OffsetDateTime};

use super::stored::StoredPolicy;
use super::{FORMAT, KEEP, Key, decode, dir_for, encode, evict, key, load, path_of, store};
use crate::openpgp::testcerts::certs;
use crate::policy::{self, ListKind, Policy, Principals};
use crate::testutil::{self, ALICE, BOB, BOB_REVOKED, CAROL, DAVE, ERIN, GONE, STRANGER};
use crate::verify::testkeys::keys;

const GOOD_FULL: &str = include_str!("../../fixtures/roles/good-full.toml");
const STANDARD: &str = include_str!("../../fixtures/scenarios/standard.toml");

/// Everything the fixtures leave out: an OpenPGP certificate, grants, path entries (with
/// default and explicit refs), settings, approvals, evaluate mode, replace refs, an
/// organisation-free revocation by certificate.
const EVERYTHING: &str = r#"version = 1

[users.alice]
keys = ["{ALICE}", { openpgp = "keys/alice.asc" }]
names = ["alice", "alice@example.com"]

[users.bob]
keys = ["{BOB}", { key = "{BOB_REVOKED}", expires = "2020-01-01" }]

[users.carol]
keys = [{ key = "{CAROL}", expires = 2099-01-01T12:00:00+02:00 }]

[users.dave]
keys = ["{DAVE}"]

[users.pgp]
keys = [{ openpgp = "keys/carol.asc" }]

[roles]
maintainers = ["alice"]
developers = ["bob", "carol", "maintainers"]
owners = ["dave"]

[policy]
admins = ["maintainers", "dave"]
approvals = 1

[trust]
baseline = ["9fceb02d0ae598e95dc970b74767f19372d61af8"]

[settings]
require_signed_push = true
max_grant = "3d"

[[revoked]]
key = "{BOB_REVOKED_FP}"
reason = "laptop stolen"

[[grant]]
user = "carol"
role = "maintainers"
from = "{GRANT_FROM}"
until = "{GRANT_UNTIL}"
reason = "INC-4711"

[[grant]]
user = "dave"
role = "developers"
until = "{GRANT_ENDED}"
reason = "pairing"

[[path]]
paths = ["secrets/**", "**/*.key"]
signers = ["owners"]
approvals = { by = ["maintainers"], count = 1 }

[[path]]
paths = ["docs/*.md"]
refs = ["refs/heads/release/**"]
signers = ["developers"]
mode = "evaluate"

[[rule]]
refs = ["refs/replace/**"]
push = ["maintainers"]

[[rule]]
refs = ["refs/heads/main"]
push = ["developers"]
force_push = ["maintainers"]
signers = ["developers"]
merge = ["maintainers"]
linear = true
signed_push = true
approvals = { by = ["maintainers", "owners"], count = 2, on = ["push", "force_push"], allow_self = true }

[[rule]]
refs = ["refs/heads/main"]
push = ["maintainers"]
mode = "evaluate"

[[rule]]
refs = ["refs/heads/**", "refs/tags/v*"]
push = ["*"]
create = ["developers"]
delete = ["maintainers"]
"#;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Times relative to now at which membership and key status are compared.
fn times() -> Vec<OffsetDateTime> {
    let now = now();
    [-3650, -30, -1, 0, 1, 30, 3650]
        .into_iter()
        .map(|days| now + Duration::days(days))
        .collect()
}

fn rfc3339(t: OffsetDateTime) -> String {
    policy::utc(t)
}

fn everything_text() -> String {
    let now = now();
    EVERYTHING
        .replace("{ALICE}", ALICE)
        .replace("{BOB}", BOB)
        .replace("{BOB_REVOKED}", BOB_REVOKED)
        .replace("{BOB_REVOKED_FP}", &testutil::fingerprint(BOB_REVOKED))
        .replace("{CAROL}", CAROL)
        .replace("{DAVE}", DAVE)
        .replace("{GRANT_FROM}", &rfc3339(now - Duration::hours(1)))
        .replace("{GRANT_UNTIL}", &rfc3339(now + Duration::days(1)))
        .replace("{GRANT_ENDED}", &rfc3339(now - Duration::days(1)))
}

fn everything() -> Policy {
    let files = move |path: &str| match path {
        "keys/alice.asc" => Ok(certs().alice.public.clone()),
        "keys/carol.asc" => Ok(certs().carol.public.clone()),
        _ => Err("no such file".to_string()),
    };
    policy::parse_with(&everything_text(), &files).expect("EVERYTHING validates")
}

/// The standard scenario's roles file with its placeholders filled: ssh-keygen keys for the
/// ecdsa and rsa users, fixed ed25519 keys for the others.
fn standard() -> Policy {
    let k = keys();
    let cast: [(&str, &str); 9] = [
        ("alice", ALICE),
        ("bob", BOB),
        ("carol", CAROL),
        ("dave", DAVE),
        ("erin", k.p256.public.trim()),
        ("frank", k.rsa.public.trim()),
        ("gina", ERIN),
        ("trent", STRANGER),
        ("vic", GONE),
    ];
    let mut text = STANDARD.to_string();
    for (name, line) in cast {
        text = text.replace(&format!("{{{{key:{name}}}}}"), line).replace(
            &format!("{{{{fingerprint:{name}}}}}"),
            &testutil::fingerprint(line),
        );
    }
    policy::parse(&text).expect("the standard scenario validates")
}

fn good_full() -> Policy {
    policy::parse(GOOD_FULL).expect("good-full validates")
}

/// An organisation policy (with an OpenPGP certificate, a rule, a revocation and a grant)
/// and a repository's policy joined with it (spec §10): the join keeps only the repository's
/// files, so the organisation's certificate must be stored with its key.
fn under_org() -> (Policy, Policy) {
    let org_text = format!(
        "version = 1\n\
         [users.alice]\nkeys = [\"{ALICE}\", {{ openpgp = \"keys/alice.asc\" }}]\n\
         [users.bob]\nkeys = [\"{BOB}\"]\n\
         [roles]\nsre = [\"bob\"]\n\
         [policy]\nadmins = [\"alice\"]\n\
         [[revoked]]\nkey = \"{dave}\"\nreason = \"laptop stolen\"\n\
         [[rule]]\nrefs = [\"refs/heads/release/*\"]\npush = [\"sre\"]\n\
         [[grant]]\nuser = \"alice\"\nrole = \"sre\"\nuntil = \"{until}\"\n\
         reason = \"incident 7\"\n",
        dave = testutil::fingerprint(DAVE),
        until = rfc3339(now() + Duration::days(1)),
    );
    let files = |path: &str| match path {
        "keys/alice.asc" => Ok(certs().alice.public.clone()),
        _ => Err("no such file".to_string()),
    };
    let org = policy::parse_layer(&org_text, &files, policy::Layer::Org).expect("org validates");
    let repo_text = format!(
        "version = 1\n\
         [users.carol]\nkeys = [\"{CAROL}\"]\n\
         [roles]\nteam = [\"carol\", \"sre\"]\n\
         [policy]\nadmins = [\"alice\"]\n\
         [[rule]]\nrefs = [\"refs/heads/**\"]\npush = [\"team\"]\nsigners = [\"team\"]\n"
    );
    let joined = policy::parse_under(&repo_text, &policy::no_files, org.clone())
        .expect("the repository validates under the organisation");
    (org, joined)
}

fn fixtures() -> Vec<(&'static str, Policy)> {
    let (org, joined) = under_org();
    vec![
        ("good-full", good_full()),
        ("standard", standard()),
        ("everything", everything()),
        ("organisation", org),
        ("under the organisation", joined),
    ]
}

fn key_of(n: u8) -> Key {
    key(&[b"test", &[n]])
}

/// A policy through an entry: encoded, decoded, rebuilt.
fn round_trip(policy: &Policy) -> Policy {
    let k = key_of(0);
    decode(&encode(&k, policy).expect("encode"), &k).expect("decode")
}

/// Every list a policy judges membership of.
fn lists(p: &Policy) -> Vec<&Principals> {
    let mut out = vec![&p.admins];
    for rule in &p.rules {
        out.extend(rule.lists.iter().flatten());
        out.extend(rule.approvals.iter().map(|a| &a.by));
    }
    for entry in &p.paths {
        out.extend(entry.signers.iter());
        out.extend(entry.approvals.iter().map(|a| &a.by));
    }
    out
}

/// `loaded` judges exactly as `parsed`: the same data, the same rebuilt keys, certificates
/// and matchers, the same answers to every question the engine and the views ask.
fn assert_judges_alike(name: &str, parsed: &Policy, loaded: &Policy) {
    assert_eq!(
        StoredPolicy::from_policy(parsed),
        StoredPolicy::from_policy(loaded),
        "{name}: stored form"
    );
    assert_eq!(parsed.key_index(), loaded.key_index(), "{name}: key index");
    assert_eq!(
        parsed.name_index(),
        loaded.name_index(),
        "{name}: name index"
    );
    for (id, user) in &parsed.users {
        let other = &loaded.users[id];
        for (a, b) in user.keys.iter().zip(&other.keys) {
            assert_eq!(a.ssh(), b.ssh(), "{name}: {id}'s SSH key");
            assert_eq!(
                a.certificate().map(|c| c.to_bytes()),
                b.certificate().map(|c| c.to_bytes()),
                "{name}: {id}'s certificate"
            );
            assert_eq!(a.is_fido(), b.is_fido());
            for at in times() {
                assert_eq!(
                    parsed.key_status(a, at),
                    loaded.key_status(b, at),
                    "{name}: status of {id}'s key at {at}"
                );
            }
        }
    }
    assert_eq!(
        parsed.certificates().count(),
        loaded.certificates().count(),
        "{name}: keyring"
    );
    let refs = [
        "refs/heads/main",
        "refs/heads/feature/x",
        "refs/heads/release/1.0",
        "refs/tags/v1.0",
        "refs/tags/other",
        "refs/meta/policy",
        "refs/replace/0123",
        "refs/notes/commits",
    ];
    for refname in refs {
        assert_eq!(
            parsed.rule_for(refname).map(|r| r.index),
            loaded.rule_for(refname).map(|r| r.index),
            "{name}: rule for {refname}"
        );
        let governing = |p: &Policy| -> Vec<(usize, policy::Location)> {
            p.rules_for(refname)
                .iter()
                .map(|r| (r.index, r.location))
                .collect()
        };
        assert_eq!(governing(parsed), governing(loaded), "{name}: rules for");
        let shadows =
            |p: &Policy| -> Vec<usize> { p.shadows_for(refname).iter().map(|r| r.index).collect() };
        assert_eq!(shadows(parsed), shadows(loaded), "{name}: shadows");
        assert_eq!(
            parsed.signed_push_requirement(refname, "refs/meta/policy"),
            loaded.signed_push_requirement(refname, "refs/meta/policy"),
        );
        for (a, b) in parsed.paths.iter().zip(&loaded.paths) {
            assert_eq!(a.applies_to(refname), b.applies_to(refname));
        }
    }
    let paths = [
        "secrets/db.txt",
        "src/deploy.key",
        "deploy.key",
        "docs/a.md",
        "docs/sub/a.md",
        "src/main.rs",
    ];
    for (a, b) in parsed.paths.iter().zip(&loaded.paths) {
        for path in paths {
            assert_eq!(a.pattern_for(path), b.pattern_for(path), "{name}: {path}");
        }
    }
    let mut users: Vec<Option<&str>> = parsed.users.keys().map(|u| Some(u.as_str())).collect();
    users.extend([None, Some("mallory")]);
    for (a, b) in lists(parsed).into_iter().zip(lists(loaded)) {
        for at in times() {
            for user in &users {
                let why = |p: &Policy, list: &Principals| {
                    p.membership(list, *user, at)
                        .map(|m| m.grant().map(|g| g.location))
                };
                assert_eq!(why(parsed, a), why(loaded, b), "{name}: {user:?} at {at}");
                if let Some(user) = user {
                    assert_eq!(
                        parsed.inactive_grant(a, user, at).map(|g| g.location),
                        loaded.inactive_grant(b, user, at).map(|g| g.location)
                    );
                }
            }
        }
    }
    for kind in [ListKind::Push, ListKind::Create, ListKind::Signers] {
        for (a, b) in parsed.rules.iter().zip(&loaded.rules) {
            assert_eq!(
                format!("{:?}", a.effective(kind)),
                format!("{:?}", b.effective(kind))
            );
        }
    }
    let at = now();
    let view = |p: &Policy| {
        crate::inspect::policy_view(p, "refs/meta/policy", Some("0123abc"), at).to_lines()
    };
    assert_eq!(view(parsed), view(loaded), "{name}: policy show");
}

#[test]
fn a_loaded_policy_judges_as_the_parsed_one() {
    for (name, parsed) in fixtures() {
        let loaded = round_trip(&parsed);
        assert_judges_alike(name, &parsed, &loaded);
    }
    // The fixtures do exercise what is rebuilt rather than stored.
    let p = everything();
    assert_eq!(p.certificates().count(), 2);
    assert_eq!(p.grants.len(), 2);
    assert_eq!(p.paths.len(), 2);
    assert!(p.require_signed_push);
    assert_eq!(p.max_grant, Duration::days(3));
    assert!(
        standard().users["frank"].keys[0]
            .algorithm
            .starts_with("ssh-rsa")
    );
}

#[test]
fn the_same_policy_stores_the_same_bytes() {
    let p = standard();
    let k = key_of(1);
    assert_eq!(
        encode(&k, &p).expect("encode"),
        encode(&k, &round_trip(&p)).expect("encode")
    );
}

/// `load` with a parse that counts its calls.
fn load_counting(dir: &Path, k: &Key, policy: &Policy, calls: &Cell<u32>) -> Policy {
    load(dir, k, || {
        calls.set(calls.get() + 1);
        Ok::<_, String>(policy.clone())
    })
    .expect("a policy")
}

#[test]
fn a_second_load_is_a_hit_and_another_key_a_miss() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = dir_for(tmp.path());
    let p = everything();
    let calls = Cell::new(0);
    let first = load_counting(&dir, &key_of(1), &p, &calls);
    assert_eq!(calls.get(), 1, "a miss parses");
    assert!(path_of(&dir, &key_of(1)).is_file(), "and stores");
    let again = load_counting(&dir, &key_of(1), &p, &calls);
    assert_eq!(calls.get(), 1, "a hit does not parse");
    assert_judges_alike("hit", &first, &again);

    // Another key (a changed policy, format, version or binary) is never served this entry.
    let other = good_full();
    let loaded = load_counting(&dir, &key_of(2), &other, &calls);
    assert_eq!(calls.get(), 2);
    assert_judges_alike("changed key", &other, &loaded);
    assert_eq!(load_counting(&dir, &key_of(2), &p, &calls).users.len(), 5);
    assert_eq!(calls.get(), 2);
}

#[test]
fn keys_differ_with_every_input() {
    assert_ne!(key(&[b"a", b"b"]), key(&[b"ab"]));
    assert_ne!(
        key(&[b"roles.toml", b"1111"]),
        key(&[b"roles.toml", b"2222"])
    );
    assert_eq!(key(&[b"x"]), key(&[b"x"]));
}

#[test]
fn a_parse_error_is_returned_and_nothing_stored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = dir_for(tmp.path());
    let got = load(&dir, &key_of(3), || Err::<Policy, _>("bad roles.toml"));
    assert_eq!(got.err(), Some("bad roles.toml"));
    assert!(!path_of(&dir, &key_of(3)).exists());
}

#[test]
fn corrupt_truncated_or_foreign_entries_are_ignored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = dir_for(tmp.path());
    let good = standard();
    let k = key_of(4);
    let bytes = encode(&k, &good).expect("encode");
    let header = super::HEADER;
    // A second policy whose entry is renamed into the first's place.
    let foreign = encode(&key_of(5), &everything()).expect("encode");
    // A payload that passes the checksum but does not decode.
    let mut garbage = bytes[..header].to_vec();
    garbage.truncate(header - 4 - 8);
    let junk = vec![0xffu8; 100];
    garbage.extend_from_slice(&crc32fast::hash(&junk).to_le_bytes());
    garbage.extend_from_slice(&(junk.len() as u64).to_le_bytes());
    garbage.extend_from_slice(&junk);
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    // What a crash before the data reached the disk may leave: the right length, zeros.
    let mut zeroed = bytes.clone();
    let half = header + (bytes.len() - header) / 2;
    zeroed[half..].fill(0);
    let mut other_format = bytes.clone();
    other_format[8..12].copy_from_slice(&(FORMAT + 1).to_le_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("header only", bytes[..header].to_vec()),
        ("truncated", bytes[..bytes.len() - 7].to_vec()),
        ("extended", [bytes.as_slice(), b"x"].concat()),
        ("a flipped bit", flipped),
        ("a zeroed tail", zeroed),
        ("another format", other_format),
        ("another key", foreign),
        ("checksummed garbage", garbage),
        ("text", b"not a cache entry at all, just text\n".repeat(10)),
    ];
    fs::create_dir_all(&dir).expect("mkdir");
    for (what, content) in cases {
        assert!(decode(&content, &k).is_err(), "{what} decodes");
        fs::write(path_of(&dir, &k), &content).expect("write entry");
        let calls = Cell::new(0);
        let loaded = load_counting(&dir, &k, &good, &calls);
        assert_eq!(calls.get(), 1, "{what}: parsed again");
        assert_judges_alike(what, &good, &loaded);
        // And the sound entry written over it is used next time.
        load_counting(&dir, &k, &good, &calls);
        assert_eq!(calls.get(), 1, "{what}: replaced by a sound entry");
    }
    // An entry that cannot be read at all (a directory in its place).
    let k = key_of(6);
    fs::create_dir_all(path_of(&dir, &k)).expect("mkdir in place of an entry");
    let calls = Cell::new(0);
    load_counting(&dir, &k, &good, &calls);
    load_counting(&dir, &k, &good, &calls);
    assert_eq!(calls.get(), 2, "unreadable: parsed every time");
}

#[test]
fn a_failed_write_never_fails_the_load() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // The cache directory cannot be created: a file is where its parent should be.
    let blocker = tmp.path().join("refguard");
    fs::write(&blocker, "not a directory").expect("write");
    let dir = dir_for(tmp.path());
    let p = good_full();
    let calls = Cell::new(0);
    let loaded = load_counting(&dir, &key_of(7), &p, &calls);
    assert_judges_alike("unwritable", &p, &loaded);
    load_counting(&dir, &key_of(7), &p, &calls);
    assert_eq!(calls.get(), 2, "nothing stored: parsed each time");
    assert!(store(&dir, &key_of(7), &p).is_err());
}

#[test]
fn at_most_keep_entries_stay_and_the_newest_are_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = dir_for(tmp.path());
    let p = good_full();
    let base = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let count = KEEP as u8 + 3;
    for n in 0..count {
        store(&dir, &key_of(n), &p).expect("store");
        // Distinct ages, oldest first, whatever the file system's time resolution.
        let file = fs::File::options()
            .write(true)
            .open(path_of(&dir, &key_of(n)))
            .expect("open entry");
        file.set_modified(base + std::time::Duration::from_secs(u64::from(n)))
            .expect("set mtime");
    }
    // A temporary file left by a writer that died long ago, and one being written now.
    let stale = dir.join(".tmp-dead.policy");
    let fresh = dir.join(".tmp-live.policy");
    fs::write(&stale, "x").expect("write");
    fs::File::create(&stale)
        .and_then(|f| f.set_modified(base))
        .expect("age it");
    fs::write(&fresh, "x").expect("write");
    evict(&dir, KEEP);
    let kept: Vec<u8> = (0..count)
        .filter(|n| path_of(&dir, &key_of(*n)).exists())
        .collect();
    assert_eq!(kept, (count - KEEP as u8..count).collect::<Vec<_>>());
    assert!(!stale.exists(), "a stale temporary file is removed");
    assert!(fresh.exists(), "a fresh one may be another writer's");
}

#[test]
fn decoding_is_much_cheaper_than_parsing() {
    // 2,000 users, one key each, all in one role: parse and decode the same policy. Timed
    // loosely (debug build, shared machine): the benchmark measures the release build.
    let mut text = String::from("version = 1\n");
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let mut members = Vec::new();
    for u in 0..2000 {
        let key = ssh_key::PrivateKey::random(&mut rng, ssh_key::Algorithm::Ed25519).expect("key");
        let line = key.public_key().to_openssh().expect("line");
        text.push_str(&format!("[users.u{u}]\nkeys = [\"{line}\"]\n"));
        members.push(format!("\"u{u}\""));
    }
    text.push_str(&format!(
        "[roles]\ndevs = [{}]\n[policy]\nadmins = [\"u0\"]\n[[rule]]\nrefs = [\"refs/heads/**\"]\n\
         push = [\"devs\"]\nsigners = [\"devs\"]\n",
        members.join(", ")
    ));
    let started = std::time::Instant::now();
    let parsed = policy::parse(&text).expect("validates");
    let parse = started.elapsed();
    let k = key_of(9);
    let bytes = encode(&k, &parsed).expect("encode");
    let started = std::time::Instant::now();
    let loaded = decode(&bytes, &k).expect("decode");
    let decode = started.elapsed();
    assert_eq!(loaded.users.len(), 2000);
    assert_eq!(parsed.key_index(), loaded.key_index());
    assert!(
        decode * 2 < parse,
        "decoding took {decode:?}, parsing {parse:?}"
    );
}

/// A list that is exactly a role's members comes back as that role's set, shared (one set of
/// ids however many lists name the role); any other list comes back as written; either way
/// it judges as the parsed one.
#[test]
fn lists_that_are_a_role_share_its_members() {
    let mut text = String::from("version = 1\n");
    for (u, line) in [ALICE, BOB, CAROL, DAVE].into_iter().enumerate() {
        text.push_str(&format!("[users.u{u}]\nkeys = [\"{line}\"]\n"));
    }
    text.push_str(
        "[roles]\ndevs = [\"u0\", \"u1\", \"u2\"]\nleads = [\"u0\"]\n[policy]\nadmins = [\"leads\"]\n\
         [[rule]]\nrefs = [\"refs/heads/**\"]\npush = [\"devs\"]\nsigners = [\"u2\", \"devs\"]\n\
         merge = [\"u0\", \"u3\"]\n",
    );
    let parsed = policy::parse(&text).expect("validates");
    let loaded = round_trip(&parsed);
    assert_judges_alike("shared lists", &parsed, &loaded);
    let rule = &loaded.rules[0];
    let devs = &loaded.role_members["devs"];
    for kind in [ListKind::Push, ListKind::Signers] {
        let list = rule.list(kind).expect("written");
        assert!(std::sync::Arc::ptr_eq(&list.users, devs), "{kind:?}");
    }
    assert!(std::sync::Arc::ptr_eq(
        &loaded.admins.users,
        &loaded.role_members["leads"]
    ));
    let merge = rule.list(ListKind::Merge).expect("written");
    assert_eq!(merge.users.iter().collect::<Vec<_>>(), ["u0", "u3"]);
    assert!(
        !loaded
            .role_members
            .values()
            .any(|r| std::sync::Arc::ptr_eq(r, &merge.users))
    );
}
