//! OpenPGP signatures (spec §12) through real pushes, and the differential test against
//! `gpg` itself: real certificates made by `gpg --quick-gen-key` (ed25519, RSA-3072, signing
//! subkeys, an expired one, a revoked one, a revoked subkey), commits signed by `git commit
//! -S` through gpg, and crafted variants; refguard's verdict on each push must equal what
//! `gpg --verify` (as git runs it, with the policy's certificates imported and trusted)
//! says, except that refguard is stricter on the algorithms spec §12 refuses.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::scenario::{Client, Hook, Scenario, isolated, key, run_raw, short};

/// A GnuPG home directory, used through `isolated` processes with `GNUPGHOME` set.
struct Gpg {
    home: PathBuf,
    /// The scenario's home, where the processes run.
    root: PathBuf,
}

impl Gpg {
    fn new(root: &Path, name: &str) -> Gpg {
        let home = root.join(name);
        fs::create_dir_all(&home).expect("create GNUPGHOME");
        fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).expect("chmod GNUPGHOME");
        Gpg {
            home,
            root: root.to_path_buf(),
        }
    }

    fn raw(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut cmd = isolated("gpg", &self.root);
        cmd.env("GNUPGHOME", &self.home)
            .args(["--batch", "--no-tty", "--pinentry-mode", "loopback"])
            .args(["--passphrase", ""])
            .args(args);
        run_raw(cmd, stdin)
    }

    fn ok(&self, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
        let out = self.raw(args, stdin);
        assert!(
            out.status.success(),
            "gpg {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Generates a key for `uid` (`--quick-gen-key UID ALGO USAGE EXPIRE`), optionally at a
    /// faked time; returns its fingerprint.
    fn generate(
        &self,
        uid: &str,
        algo: &str,
        usage: &str,
        expire: &str,
        at: Option<&str>,
    ) -> String {
        let mut args = vec![];
        if let Some(at) = at {
            args.extend(["--faked-system-time", at]);
        }
        args.extend(["--quick-gen-key", uid, algo, usage, expire]);
        self.ok(&args, None);
        self.fingerprints(uid)[0].clone()
    }

    /// The fingerprints of `uid`'s certificate: the primary key's, then each subkey's.
    fn fingerprints(&self, uid: &str) -> Vec<String> {
        let out = self.ok(
            &["--with-colons", "--with-subkey-fingerprints", "-k", uid],
            None,
        );
        String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| l.starts_with("fpr:"))
            .filter_map(|l| l.split(':').nth(9).map(str::to_string))
            .collect()
    }

    /// The armored certificate of `fpr`.
    fn export(&self, fpr: &str) -> Vec<u8> {
        self.ok(&["--armor", "--export", fpr], None)
    }

    /// A `gpg.program` for git: gpg in this home, with `extra` options first.
    fn program(&self, name: &str, extra: &str) -> PathBuf {
        let path = self.root.join(name);
        let script = format!(
            "#!/bin/sh\nGNUPGHOME='{}' exec gpg --batch --no-tty {extra} \"$@\"\n",
            self.home.display()
        );
        fs::write(&path, script).expect("write gpg wrapper");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod wrapper");
        path
    }

    /// Revokes subkey number `n` (1-based) of `fpr` through `--edit-key` (reason 0).
    fn revoke_subkey(&self, fpr: &str, n: usize) {
        let script = format!("key {n}\nrevkey\ny\n0\n\ny\nsave\n");
        self.ok(
            &["--yes", "--command-fd", "0", "--edit-key", fpr],
            Some(script.as_bytes()),
        );
    }

    /// Revokes the whole certificate `fpr` with the revocation certificate gpg stored when it
    /// made the key (reason: no reason specified, a hard revocation).
    fn revoke(&self, fpr: &str) {
        let stored = self
            .home
            .join("openpgp-revocs.d")
            .join(format!("{fpr}.rev"));
        let text = fs::read_to_string(&stored).expect("read the stored revocation certificate");
        let armor = text.replace(
            ":-----BEGIN PGP PUBLIC KEY BLOCK-----",
            "-----BEGIN PGP PUBLIC KEY BLOCK-----",
        );
        self.ok(&["--import"], Some(armor.as_bytes()));
    }

    /// Ends the agent this home started.
    fn stop(&self) {
        let mut cmd = isolated("gpgconf", &self.root);
        cmd.env("GNUPGHOME", &self.home).args(["--kill", "all"]);
        run_raw(cmd, None);
    }
}

/// What gpg (as git runs it, `git verify-commit --raw`) says about a commit, reduced to
/// refguard's terms: `accept`, or the reason code refguard uses for the same finding.
///
/// From the status lines, as git 2.47 `gpg-interface.c` (`parse_gpg_output`) reads them:
/// exactly one of GOODSIG (→ accept), EXPKEYSIG (→ expired-key), REVKEYSIG (→ revoked-key),
/// BADSIG (→ bad-signature), EXPSIG (→ bad-signature), ERRSIG with NO_PUBKEY (→ unknown-key)
/// or other ERRSIG (→ bad-signature); none, or more than one (git: "multiple signatures"),
/// is bad-signature.
fn gpg_verdict(client: &Client, program: &Path, commit: &str) -> String {
    let config = format!("gpg.program={}", program.display());
    let out = client.git_raw(&["-c", &config, "verify-commit", "--raw", commit]);
    let status = String::from_utf8_lossy(&out.stderr);
    let exclusive: Vec<&str> = status
        .lines()
        .filter_map(|l| l.strip_prefix("[GNUPG:] "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| {
            matches!(
                *w,
                "GOODSIG" | "EXPKEYSIG" | "REVKEYSIG" | "BADSIG" | "EXPSIG" | "ERRSIG"
            )
        })
        .collect();
    let verdict = match exclusive.as_slice() {
        ["GOODSIG"] => "accept",
        ["EXPKEYSIG"] => "expired-key",
        ["REVKEYSIG"] => "revoked-key",
        ["ERRSIG"] if status.contains("[GNUPG:] NO_PUBKEY") => "unknown-key",
        _ => "bad-signature",
    };
    verdict.to_string()
}

/// refguard's verdict on pushing `commit` as a new branch: `accept` or the reason code.
fn refguard_verdict(client: &Client, case: &str, commit: &str) -> String {
    let push = client.push(&[&format!("{commit}:refs/heads/pgp/{case}")]);
    if push.success {
        push.assert_accepted();
        return "accept".to_string();
    }
    let lines = push.all_reason_lines();
    let line = lines
        .iter()
        .find(|l| l.contains(short(commit)))
        .unwrap_or_else(|| panic!("{case}: no reason names {commit}:\n{}", push.transcript()));
    let code = line
        .split('[')
        .nth(1)
        .and_then(|r| r.split(']').next())
        .unwrap_or_else(|| panic!("{case}: no code in {line:?}"));
    code.to_string()
}

/// The roles file of the OpenPGP scenarios: SSH and OpenPGP users side by side.
fn roles(extra_users: &str) -> String {
    format!(
        r#"version = 1

[users.alice]
keys = ["{alice_ssh}", {{ openpgp = "keys/alice.asc" }}]

[users.carol]
keys = [{{ openpgp = "keys/carol.asc" }}]

[users.dave]
keys = [{{ openpgp = "keys/dave.asc" }}]

[users.erin]
keys = [{{ openpgp = "keys/erin.asc" }}]

[users.frank]
keys = [{{ openpgp = "keys/frank.asc" }}]
{extra_users}
[policy]
admins = ["alice", "carol"]

[[rule]]
refs = ["refs/heads/**"]
signers = ["*"]

[[rule]]
refs = ["refs/tags/**"]
signers = ["*"]
"#,
        alice_ssh = key("alice").public
    )
}

/// The certificates and signing programs of the OpenPGP scenarios.
struct Keys {
    signer: Gpg,
    /// Imports exactly the policy's certificates, trusted: what gpg verifies with.
    verifier: Gpg,
    alice: String,
    carol: String,
    dave: Vec<String>,
    erin: String,
    frank: String,
    mallory: String,
    /// gpg.program: sign now.
    sign: PathBuf,
    /// gpg.program: sign at a time when erin's key was valid.
    sign_2020: PathBuf,
    /// gpg.program: sign with SHA-1.
    sign_sha1: PathBuf,
    /// gpg.program: a canonical-text signature (type 0x01).
    sign_text: PathBuf,
    /// gpg.program: verify with the policy's certificates.
    verify: PathBuf,
}

/// Makes the certificates: alice ed25519, carol RSA-3072, dave a certification-only primary
/// with two signing subkeys, erin an ed25519 key that expired in 2021 (made at a faked time),
/// frank and mallory ed25519 (mallory is in no policy). Revocations (frank's certificate,
/// dave's second subkey) come later, after the commits they sign are made.
fn make_keys(root: &Path) -> Keys {
    let signer = Gpg::new(root, "gnupg-signer");
    let verifier = Gpg::new(root, "gnupg-verifier");
    fs::write(verifier.home.join("gpg.conf"), "trust-model always\n").expect("gpg.conf");
    let alice = signer.generate(
        "Alice <alice@example.com>",
        "ed25519",
        "sign,cert",
        "never",
        None,
    );
    let carol = signer.generate(
        "Carol <carol@example.com>",
        "rsa3072",
        "sign,cert",
        "never",
        None,
    );
    let dave_primary = signer.generate("Dave <dave@example.com>", "ed25519", "cert", "never", None);
    for _ in 0..2 {
        signer.ok(
            &["--quick-add-key", &dave_primary, "ed25519", "sign", "never"],
            None,
        );
    }
    let dave = signer.fingerprints("dave@example.com");
    assert_eq!(dave.len(), 3, "dave: a primary and two subkeys");
    let at_2020 = "20200601T000000!";
    let erin = signer.generate(
        "Erin <erin@example.com>",
        "ed25519",
        "sign,cert",
        "1y",
        Some(at_2020),
    );
    let frank = signer.generate(
        "Frank <frank@example.com>",
        "ed25519",
        "sign,cert",
        "never",
        None,
    );
    let mallory = signer.generate(
        "Mallory <mallory@example.com>",
        "ed25519",
        "sign,cert",
        "never",
        None,
    );
    Keys {
        sign: signer.program("gpg-sign", ""),
        sign_2020: signer.program("gpg-sign-2020", &format!("--faked-system-time {at_2020}")),
        sign_sha1: signer.program("gpg-sign-sha1", "--digest-algo SHA1"),
        sign_text: signer.program("gpg-sign-text", "--textmode"),
        verify: verifier.program("gpg-verify", ""),
        signer,
        verifier,
        alice,
        carol,
        dave,
        erin,
        frank,
        mallory,
    }
}

/// Writes each listed certificate into `home/keys/` and imports it into the verifier.
fn publish(keys: &Keys, home: &Path) {
    fs::create_dir_all(home.join("keys")).expect("create keys/");
    for (name, fpr) in [
        ("alice", &keys.alice),
        ("carol", &keys.carol),
        ("dave", &keys.dave[0]),
        ("erin", &keys.erin),
        ("frank", &keys.frank),
    ] {
        let cert = keys.signer.export(fpr);
        fs::write(home.join(format!("keys/{name}.asc")), &cert).expect("write certificate");
        keys.verifier.ok(&["--import"], Some(&cert));
    }
}

/// Replaces the `gpgsig` header of a raw commit with `armor` (continuation lines indented).
fn with_signature(raw: &str, armor: &str) -> String {
    let (head, message) = raw.split_once("\n\n").expect("commit has a message");
    let mut out = String::new();
    let mut in_sig = false;
    for line in head.lines() {
        if line.starts_with("gpgsig ") {
            in_sig = true;
            let mut lines = armor.trim_end_matches('\n').lines();
            out.push_str(&format!("gpgsig {}\n", lines.next().unwrap_or_default()));
            for l in lines {
                out.push_str(&format!(" {l}\n"));
            }
            continue;
        }
        if in_sig && line.starts_with(' ') {
            continue;
        }
        in_sig = false;
        out.push_str(line);
        out.push('\n');
    }
    format!("{out}\n{message}")
}

/// The armored signature of a raw commit.
fn signature_of(raw: &str) -> String {
    let head = raw.split_once("\n\n").expect("commit has a message").0;
    let mut sig = String::new();
    let mut in_sig = false;
    for line in head.lines() {
        if let Some(first) = line.strip_prefix("gpgsig ") {
            in_sig = true;
            sig.push_str(first);
            sig.push('\n');
        } else if in_sig && let Some(more) = line.strip_prefix(' ') {
            sig.push_str(more);
            sig.push('\n');
        } else {
            in_sig = false;
        }
    }
    sig
}

#[test]
fn verdicts_agree_with_gpg_on_real_and_crafted_signatures() {
    let scenario = Scenario::builder(Hook::PreReceive).no_policy().build();
    let home = scenario.home().to_path_buf();
    let keys = make_keys(&home);
    let client = scenario.client("alice");
    let base = client.rev("HEAD");

    // Real commits, each on its own branch from the seeded main.
    let mut cases: Vec<(&str, String, bool)> = Vec::new(); // (case, commit, refused by spec)
    let mut commit = |name: &'static str, program: &Path, key: &str, refused: bool| {
        client.reset_hard(&base);
        let id = client.commit_openpgp(name, program, key);
        cases.push((name, id, refused));
    };
    commit("ed25519", &keys.sign, &keys.alice, false);
    commit("rsa3072", &keys.sign, &keys.carol, false);
    commit(
        "signing-subkey",
        &keys.sign,
        &format!("{}!", keys.dave[1]),
        false,
    );
    commit(
        "revoked-subkey",
        &keys.sign,
        &format!("{}!", keys.dave[2]),
        false,
    );
    commit("expired", &keys.sign_2020, &keys.erin, false);
    commit("revoked", &keys.sign, &keys.frank, false);
    commit("unknown-issuer", &keys.sign, &keys.mallory, false);
    commit("sha1", &keys.sign_sha1, &keys.alice, true);
    commit("text-mode", &keys.sign_text, &keys.alice, false);
    let two = keys
        .signer
        .program("gpg-sign-two", &format!("-u {}", keys.carol));
    commit("two-signatures", &two, &keys.alice, false);

    // Revocations come after the signatures (gpg will not sign with a revoked key).
    keys.signer.revoke(&keys.frank);
    keys.signer.revoke_subkey(&keys.dave[0], 2);

    // Crafted variants of alice's good commit.
    let good = cases[0].1.clone();
    let raw = client.raw_commit(&good);
    let armor = signature_of(&raw);
    let mut craft = |name: &'static str, raw: String| {
        let id = client.write_commit(&raw);
        cases.push((name, id, false));
    };
    craft(
        "tampered-payload",
        raw.replacen("ed25519", "ed25519 (edited)", 1),
    );
    let lines: Vec<&str> = armor.lines().collect();
    craft(
        "truncated",
        with_signature(&raw, &format!("{}\n", lines[..lines.len() / 2].join("\n"))),
    );
    craft(
        "garbage-armor",
        with_signature(
            &raw,
            "-----BEGIN PGP SIGNATURE-----\n\nbm90IGFuIE9wZW5QR1AgcGFja2V0IGF0IGFsbA==\n=AAAA\n-----END PGP SIGNATURE-----\n",
        ),
    );
    // A signed message instead of a detached signature (another kind of OpenPGP data).
    let message = keys.signer.ok(
        &["--armor", "-u", &keys.alice, "--sign"],
        Some(b"some other data\n"),
    );
    craft(
        "signed-message",
        with_signature(&raw, &String::from_utf8_lossy(&message)),
    );

    publish(&keys, &home);
    let policy = roles("");
    scenario
        .init_policy(&policy)
        .assert_success("refguard init with certificates");

    let mut table = Vec::new();
    for (case, id, refused) in &cases {
        let gpg = gpg_verdict(&client, &keys.verify, id);
        let ours = refguard_verdict(&client, case, id);
        table.push(format!("{case:<18} gpg: {gpg:<14} refguard: {ours}"));
        if *refused {
            assert_eq!(gpg, "accept", "{case}: gpg accepts what spec §12 refuses");
            assert_eq!(ours, "bad-signature", "{case}: refused algorithm");
        } else {
            assert_eq!(
                ours,
                gpg,
                "{case}: refguard and gpg disagree\n{}",
                table.join("\n")
            );
        }
    }
    eprintln!("{}", table.join("\n"));
    let expected = [
        ("ed25519", "accept"),
        ("rsa3072", "accept"),
        ("signing-subkey", "accept"),
        ("revoked-subkey", "revoked-key"),
        ("expired", "expired-key"),
        ("revoked", "revoked-key"),
        ("unknown-issuer", "unknown-key"),
        ("text-mode", "accept"),
        ("tampered-payload", "bad-signature"),
        ("garbage-armor", "bad-signature"),
    ];
    for (case, verdict) in expected {
        assert!(
            table
                .iter()
                .any(|row| row.starts_with(case) && row.ends_with(verdict)),
            "{case} should be {verdict}:\n{}",
            table.join("\n")
        );
    }
    keys.signer.stop();
    keys.verifier.stop();
}

/// The roles file of the every-check scenario: alice (SSH and OpenPGP) is the admin and the
/// release manager; bob signs with an OpenPGP signing subkey; production needs an approval.
fn every_check_roles(revoked: &str) -> String {
    format!(
        r#"version = 1

[users.alice]
keys = ["{alice_ssh}", {{ openpgp = "keys/alice.asc" }}]

[users.bob]
keys = [{{ openpgp = "keys/bob.asc" }}]

[roles]
release = ["alice"]

[policy]
admins = ["alice"]

[[rule]]
refs = ["refs/heads/production"]
signers = ["*"]
approvals = {{ by = ["release"], count = 1 }}

[[rule]]
refs = ["refs/heads/**"]
signers = ["*"]

[[rule]]
refs = ["refs/tags/**"]
signers = ["*"]
{revoked}"#,
        alice_ssh = key("alice").public
    )
}

crate::both_hooks!(
    fn openpgp_signs_commits_tags_approvals_and_policy_changes(hook) {
        let scenario = Scenario::builder(hook).no_policy().build();
        let home = scenario.home().to_path_buf();
        let signer = Gpg::new(&home, "gnupg-signer");
        let alice = signer.generate("Alice <alice@example.com>", "ed25519", "sign,cert", "never", None);
        let bob = signer.generate("Bob <bob@example.com>", "ed25519", "cert", "never", None);
        signer.ok(&["--quick-add-key", &bob, "ed25519", "sign", "never"], None);
        let bob_keys = signer.fingerprints("bob@example.com");
        assert_eq!(bob_keys.len(), 2, "bob: a primary and a signing subkey");
        let mallory = signer.generate("Mallory <mallory@example.com>", "ed25519", "sign,cert", "never", None);
        let sign = signer.program("gpg-sign", "");
        fs::create_dir_all(home.join("keys")).expect("create keys/");
        let alice_cert = signer.export(&alice);
        fs::write(home.join("keys/alice.asc"), &alice_cert).expect("write alice.asc");
        fs::write(home.join("keys/bob.asc"), signer.export(&bob)).expect("write bob.asc");

        // init reads the certificates beside the roles file and commits them beside it.
        scenario
            .init_policy(&every_check_roles(""))
            .assert_success("refguard init with certificates");
        assert_eq!(
            scenario.server_git(&["show", "refs/meta/policy:keys/alice.asc"]).as_bytes(),
            alice_cert.as_slice(),
            "the policy tree holds the certificate byte for byte"
        );

        // policy show: each certificate with its signing keys and their state.
        let show = scenario.refguard_repo(&["policy", "show"]);
        show.assert_success("policy show");
        assert!(show.stdout.contains(&format!("openpgp:{alice}")), "{}", show.stdout);
        assert!(
            show.stdout.contains(&format!("signs with subkey openpgp:{} (ed25519): active", bob_keys[1])),
            "{}",
            show.stdout
        );
        assert!(show.stdout.contains("certificate file keys/bob.asc"), "{}", show.stdout);

        // A commit signed with bob's signing subkey (gpg picks it for the primary's fingerprint).
        let b = scenario.client("bob");
        let commit = b.commit_openpgp("bob's change", &sign, &bob);
        b.push(&["HEAD:refs/heads/main"]).assert_accepted();

        // Tags: bob's OpenPGP-signed tag counts; mallory's (no certificate listed) does not.
        let tag = b.tag_openpgp("v1.0", "Release 1.0", &sign, &bob);
        b.push(&["refs/tags/v1.0"]).assert_accepted();
        assert_eq!(scenario.server_ref("refs/tags/v1.0"), Some(tag));
        b.tag_openpgp("v1.1", "Release 1.1", &sign, &mallory);
        let p = b.push(&["refs/tags/v1.1"]);
        p.assert_reason("unknown-key").assert_refs_unchanged();
        let line = p.reason_lines("unknown-key")[0];
        assert!(line.contains("no certificate in roles.toml holds"), "{line}");

        // Approvals: production needs alice's; she approves with an OpenPGP-signed tag.
        let p = b.push(&["HEAD:refs/heads/production"]);
        p.assert_reason("approvals-missing").assert_refs_unchanged();
        let a = scenario.client("alice");
        a.git(&["fetch", "-q", "origin", "refs/heads/main"]);
        a.approve_openpgp(&sign, &alice, &[&commit, "--ref", "refs/heads/production"])
            .assert_success("refguard approve with gpg");
        b.push(&["HEAD:refs/heads/production"]).assert_accepted();
        assert_eq!(scenario.server_ref("refs/heads/production"), Some(commit.clone()));

        // A policy change signed with alice's OpenPGP key: revoke bob's signing subkey.
        a.checkout_policy();
        let revoked = format!(
            "\n[[revoked]]\nkey = \"openpgp:{}\"\nreason = \"laptop lost\"\n",
            bob_keys[1].to_lowercase()
        );
        fs::write(a.dir().join("roles.toml"), every_check_roles(&revoked)).expect("edit roles.toml");
        a.git(&["add", "roles.toml"]);
        let config = format!("gpg.program={}", sign.display());
        let signing = format!("user.signingKey={alice}");
        a.git(&[
            "-c", "gpg.format=openpgp", "-c", &config, "-c", &signing,
            "commit", "-q", "-S", "-m", "Revoke bob's subkey",
        ]);
        a.push(&["HEAD:refs/meta/policy"]).assert_accepted();

        // From now on bob's subkey is revoked: his next commit is refused, with the reason.
        let later = b.commit_openpgp("after the revocation", &sign, &bob);
        let p = b.push(&["HEAD:refs/heads/main"]);
        p.assert_rejected("revoked-key", &later).assert_refs_unchanged();
        let line = p.reason_lines("revoked-key")[0];
        assert!(line.contains(&format!("openpgp:{}", bob_keys[1])), "{line}");
        assert!(line.contains("laptop lost"), "{line}");

        // keys export --openpgp: one keyring that gpg imports with both certificates.
        let export = scenario.refguard_repo(&["keys", "export", "--openpgp"]);
        export.assert_success("keys export --openpgp");
        assert!(export.stdout.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"), "{}", export.stdout);
        let fresh = Gpg::new(&home, "gnupg-fresh");
        fresh.ok(&["--import"], Some(export.stdout.as_bytes()));
        let listed = fresh.ok(&["--with-colons", "-k"], None);
        let listed = String::from_utf8_lossy(&listed);
        for fpr in [&alice, &bob] {
            assert!(listed.contains(fpr.as_str()), "{fpr} not imported:\n{listed}");
        }
        assert!(!listed.contains(mallory.as_str()), "mallory is in no policy");

        signer.stop();
        fresh.stop();
    }
);

// ---- verify --trust-root over a policy chain with certificates (spec §12, §13) ------------

/// Writes `files` into the client's work tree and commits them signed with OpenPGP through
/// `program` with `signing_key`; returns the commit id.
fn commit_files_openpgp(
    client: &Client,
    files: &[(&str, &[u8])],
    message: &str,
    program: &Path,
    signing_key: &str,
) -> String {
    for (path, bytes) in files {
        fs::write(client.dir().join(path), bytes).expect("write a policy file");
        client.git(&["add", path]);
    }
    let config = format!("gpg.program={}", program.display());
    let signing = format!("user.signingKey={signing_key}");
    client.git(&[
        "-c",
        "gpg.format=openpgp",
        "-c",
        &config,
        "-c",
        &signing,
        "commit",
        "-q",
        "-S",
        "-m",
        message,
    ]);
    client.rev("HEAD")
}

/// A server whose policy lists OpenPGP certificates (alice, the admin, and bob), changed
/// twice by alice signing with gpg through the hook: once in roles.toml, once only in bob's
/// certificate file (his new key); bob then pushes a commit signed with his new key.
struct GpgChain {
    scenario: Scenario,
    signer: Gpg,
    sign: PathBuf,
    mallory: String,
    /// The trust root: the policy `refguard init` wrote.
    root: String,
    /// alice's change to roles.toml.
    roles_change: String,
    /// alice's change of bob's certificate alone.
    cert_change: String,
    /// bob's commit on main, signed with his new key.
    bobs_commit: String,
}

fn gpg_chain() -> GpgChain {
    let scenario = Scenario::builder(Hook::PreReceive).no_policy().build();
    let home = scenario.home().to_path_buf();
    let signer = Gpg::new(&home, "gnupg-signer");
    let uid = |name: &str| format!("{name} <{}@example.com>", name.to_lowercase());
    let make = |name: &str| signer.generate(&uid(name), "ed25519", "sign,cert", "never", None);
    let alice = make("Alice");
    let bob_old = make("Bob");
    let bob_new = make("Bobby");
    let mallory = make("Mallory");
    let sign = signer.program("gpg-sign", "");
    fs::create_dir_all(home.join("keys")).expect("create keys/");
    fs::write(home.join("keys/alice.asc"), signer.export(&alice)).expect("write alice.asc");
    fs::write(home.join("keys/bob.asc"), signer.export(&bob_old)).expect("write bob.asc");
    scenario
        .init_policy(&every_check_roles(""))
        .assert_success("refguard init with certificates");
    let root = scenario.server_ref(POLICY).expect("the init commit");

    let a = scenario.client("alice");
    a.checkout_policy();
    let roles = every_check_roles("\n# reviewed by alice\n");
    let roles_change = commit_files_openpgp(
        &a,
        &[("roles.toml", roles.as_bytes())],
        "Note the review",
        &sign,
        &alice,
    );
    a.push(&["HEAD:refs/meta/policy"]).assert_accepted();
    let cert_change = commit_files_openpgp(
        &a,
        &[("keys/bob.asc", &signer.export(&bob_new))],
        "Bob's new key",
        &sign,
        &alice,
    );
    a.push(&["HEAD:refs/meta/policy"]).assert_accepted();

    let b = scenario.client("bob");
    let bobs_commit = b.commit_openpgp("bob's change", &sign, &bob_new);
    b.push(&["HEAD:refs/heads/main"]).assert_accepted();
    GpgChain {
        scenario,
        signer,
        sign,
        mallory,
        root,
        roles_change,
        cert_change,
        bobs_commit,
    }
}

const POLICY: &str = "refs/meta/policy";

#[test]
fn verify_authenticates_a_gpg_signed_chain_and_judges_gpg_signed_history() {
    let g = gpg_chain();
    let s = &g.scenario;
    let m = crate::client::mirror(s);
    let out = crate::client::verify(s, &m, &["--trust-root", &g.root]);
    out.assert_success("a chain signed with gpg, certificates beside roles.toml");
    let step = |from: &str, to: &str| format!("refguard:   step {}..{}", short(from), short(to));
    let lines: Vec<&str> = out.stdout.lines().collect();
    let first = step(&g.root, &g.roles_change);
    let second = step(&g.roles_change, &g.cert_change);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&first) && l.ends_with("approved by alice")),
        "{}",
        out.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&second)
                && l.ends_with("approved by alice  (certificates changed)")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "refguard: chain: unbroken, 2 steps verified; the policy at {} is authentic",
            short(&g.cert_change)
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("; 0 violations"), "{}", out.stdout);
    let (code, json) = crate::client::verify_json(s, &m, &["--trust-root", &g.root]);
    assert_eq!(code, Some(0), "{json}");
    let steps = &json["chain"]["steps"];
    assert_eq!(steps[1]["roles_changed"], false, "{json}");
    assert_eq!(steps[1]["policy_changed"], true, "{json}");
    assert_eq!(steps[1]["approvers"], serde_json::json!(["alice"]));
    assert!(
        json["history"]["judged"].as_u64().is_some_and(|n| n >= 1),
        "{json}"
    );

    // A commit signed by mallory, written into main past the hook: judged with the
    // authenticated policy's certificates, it is an unknown key, not an unsupported format.
    let b = s.client("bob");
    b.git(&["fetch", "-q", "origin", "main"]);
    b.reset_hard("origin/main");
    assert_eq!(b.rev("HEAD"), g.bobs_commit);
    let bad = b.commit_openpgp("signed by mallory", &g.sign, &g.mallory);
    let dir = b.dir().to_str().expect("UTF-8 path");
    s.server_git(&["fetch", "-q", dir, "HEAD:refs/heads/main"]);
    let m = crate::client::mirror(s);
    let out = crate::client::verify(s, &m, &["--trust-root", &g.root]);
    out.assert_code(1, "mallory's commit violates the policy");
    assert!(
        out.stdout.contains(&format!(
            "refguard:   refs/heads/main: [unknown-key] commit {} \"signed by mallory\"",
            short(&bad)
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("no certificate in roles.toml holds"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains(&short(&g.bobs_commit).to_string()),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("unsupported"), "{}", out.stdout);
    g.signer.stop();
}

#[test]
fn a_certificate_swapped_in_past_the_hook_breaks_the_chain() {
    let g = gpg_chain();
    let s = &g.scenario;
    // Someone who can write to the server replaces alice's certificate with mallory's and
    // signs with mallory's key: verified with the certificates it brings, the signature
    // would be alice's; verified with those of the policy before it, nobody's.
    let a = s.client("alice");
    a.checkout_policy();
    let swap = commit_files_openpgp(
        &a,
        &[("keys/alice.asc", &g.signer.export(&g.mallory))],
        "Refresh alice's certificate",
        &g.sign,
        &g.mallory,
    );
    let p = a.push(&["HEAD:refs/meta/policy"]);
    p.assert_reason("unknown-key").assert_refs_unchanged();
    let dir = a.dir().to_str().expect("UTF-8 path");
    s.server_git(&["fetch", "-q", dir, &format!("HEAD:{POLICY}")]);

    let m = crate::client::mirror(s);
    let out = crate::client::verify(s, &m, &["--trust-root", &g.root]);
    out.assert_code(1, "an unauthorised certificate swap");
    assert!(
        out.stdout.contains(&format!(
            "refguard: chain: BROKEN after {} (2 steps verified, 1 commit after it not verified)",
            short(&g.cert_change)
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "refguard:   [not-approved] no change from {} on is approved",
            short(&g.cert_change)
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "refguard:     [unknown-key] commit {} \"Refresh alice's certificate\": signed with \
             OpenPGP openpgp:{}",
            short(&swap),
            g.mallory
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("[approvals-missing]"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(
            "refguard: history against the last authenticated policy at {}: ",
            short(&g.cert_change)
        )),
        "{}",
        out.stdout
    );
    let (_, json) = crate::client::verify_json(s, &m, &["--trust-root", &g.root]);
    assert_eq!(json["chain"]["break"]["kind"], "not-approved");
    assert_eq!(json["chain"]["authenticated"], g.cert_change.as_str());
    g.signer.stop();
}
