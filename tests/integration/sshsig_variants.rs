//! Issue 18 end to end: commits whose `gpgsig` carries a real signature in one of the
//! encodings signers write (other base64 widths, a trailing blank line as Jujutsu wrote,
//! CRs, ECDSA integers with needless zero bytes as a Secure Enclave agent writes them, RSA
//! values shorter than the modulus) or one no verifier may accept, pushed through the real
//! hook. refguard accepts a commit exactly when `git verify-commit` (ssh-keygen underneath)
//! calls it good, and rejects it with `[bad-signature]` otherwise.
//!
//! The one exception is version-dependent in OpenSSH: an armor whose header line ends in
//! CRLF is refused by ssh-keygen 9.2 and accepted since 9.5; refguard refuses it with every
//! version (src/verify/sshsig.rs), and this test expects of git what the installed
//! OpenSSH does.

use std::fs;
use std::process::Command;

use base64ct::Encoding as _;

use crate::objects::{GARBAGE_ARMOR, RawCommit, truncate_armor};
use crate::scenario::{Client, Hook, Push, Scenario, Sign, isolated, key, run_ok, short};

const HEADER: &str = "-----BEGIN SSH SIGNATURE-----";
const FOOTER: &str = "-----END SSH SIGNATURE-----";

/// How a variant is signed: from a commit (without signature), the commit to write (its
/// message may be changed to find a suitable signature) and the `gpgsig` value.
type Make = fn(&Client, &RawCommit) -> (RawCommit, String);

/// One way of signing a commit, and what git says of it.
struct Variant {
    name: &'static str,
    make: Make,
    /// `git verify-commit` calls it good (with every OpenSSH version).
    good: bool,
    /// Good only with OpenSSH 9.5 or later (CRLF after the header line).
    crlf_header: bool,
}

const fn variant(name: &'static str, make: Make, good: bool) -> Variant {
    Variant {
        name,
        make,
        good,
        crlf_header: false,
    }
}

/// Every variant: bob signs with ed25519, erin with ECDSA P-256, frank with RSA-3072.
fn variants() -> Vec<Variant> {
    vec![
        variant(
            "ed25519 as signed",
            |c, raw| signed(c, raw, "bob", |a| a),
            true,
        ),
        variant(
            "ed25519 64 columns",
            |c, raw| signed(c, raw, "bob", |a| rewrap(&a, 64)),
            true,
        ),
        variant(
            "ed25519 76 columns",
            |c, raw| signed(c, raw, "bob", |a| rewrap(&a, 76)),
            true,
        ),
        variant(
            "ed25519 trailing blank line (Jujutsu)",
            |c, raw| signed(c, raw, "bob", |a| format!("{a}\n")),
            true,
        ),
        variant(
            "ed25519 blank line before the footer",
            |c, raw| {
                signed(c, raw, "bob", |a| {
                    a.replace(&format!("\n{FOOTER}"), &format!("\n\n{FOOTER}"))
                })
            },
            true,
        ),
        variant(
            "ed25519 CR on every line but the header",
            |c, raw| {
                signed(c, raw, "bob", |a| {
                    let (head, rest) = a.split_once('\n').expect("header line");
                    format!("{head}\n{}", rest.replace('\n', "\r\n"))
                })
            },
            true,
        ),
        Variant {
            crlf_header: true,
            ..variant(
                "ed25519 CRLF on every line",
                |c, raw| signed(c, raw, "bob", |a| a.replace('\n', "\r\n")),
                false,
            )
        },
        variant(
            "ed25519 text after the footer",
            |c, raw| signed(c, raw, "bob", |a| format!("{a}Signed-off-by: nobody\n")),
            true,
        ),
        variant(
            "ed25519 last base64 line removed",
            |c, raw| signed(c, raw, "bob", |a| truncate_armor(&a)),
            false,
        ),
        variant(
            "ed25519 non-base64 character",
            |c, raw| {
                signed(c, raw, "bob", |a| {
                    a.replacen(&format!("{HEADER}\n"), &format!("{HEADER}\n*"), 1)
                })
            },
            false,
        ),
        variant(
            "ed25519 garbage inside the armor",
            |_, raw| (raw.clone(), GARBAGE_ARMOR.to_string()),
            false,
        ),
        variant(
            "ed25519 namespace `file`",
            |c, raw| {
                (
                    raw.clone(),
                    c.ssh_sign(raw.payload().as_bytes(), "bob", "file"),
                )
            },
            false,
        ),
        variant(
            "ed25519 signature over other data",
            |c, raw| {
                let other = raw.with_message("Some other commit\n").payload();
                (raw.clone(), c.ssh_sign(other.as_bytes(), "bob", "git"))
            },
            false,
        ),
        variant(
            "p256 as signed",
            |c, raw| signed(c, raw, "erin", |a| a),
            true,
        ),
        variant(
            "p256 76 columns",
            |c, raw| signed(c, raw, "erin", |a| rewrap(&a, 76)),
            true,
        ),
        variant(
            "p256 r with a needless 00",
            |c, raw| {
                signed(c, raw, "erin", |a| {
                    edit_ecdsa(&a, |r, s| ([&[0][..], r].concat(), s.to_vec()))
                })
            },
            true,
        ),
        variant(
            "p256 r and s at fixed width (Secure Enclave agent)",
            |_, raw| {
                // About 1 signature in 256 changes when written at fixed width.
                let (raw, armor) = sign_until(raw, "erin", |blob| {
                    let (r, s) = r_s(&blob);
                    fixed_width(&r) != r || fixed_width(&s) != s
                });
                (
                    raw,
                    edit_ecdsa(&armor, |r, s| (fixed_width(r), fixed_width(s))),
                )
            },
            true,
        ),
        variant(
            "p256 r with its sign bit set",
            |c, raw| {
                signed(c, raw, "erin", |a| {
                    edit_ecdsa(&a, |r, s| {
                        let mut r = magnitude(r).to_vec();
                        r[0] |= 0x80;
                        (r, s.to_vec())
                    })
                })
            },
            false,
        ),
        variant(
            "p256 key point compressed",
            |c, raw| signed(c, raw, "erin", |a| compress_key(&a)),
            false,
        ),
        variant(
            "rsa as signed",
            |c, raw| signed(c, raw, "frank", |a| a),
            true,
        ),
        variant(
            "rsa leading zero byte dropped (shorter than the modulus)",
            |_, raw| {
                // About 1 RSA signature in 256 has a leading zero byte.
                let (raw, armor) = sign_until(raw, "frank", |blob| sig_bytes(&blob)[0] == 0);
                (raw, edit_sig(&armor, |sig| sig[1..].to_vec()))
            },
            true,
        ),
        variant(
            "rsa 00 prepended (longer than the modulus)",
            |c, raw| {
                signed(c, raw, "frank", |a| {
                    edit_sig(&a, |sig| [&[0][..], sig].concat())
                })
            },
            false,
        ),
    ]
}

// ---- signing and editing -----------------------------------------------------------------

/// `raw` signed by `signer` with `ssh-keygen -Y sign -n git`, the armor passed through `edit`.
fn signed(
    c: &Client,
    raw: &RawCommit,
    signer: &str,
    edit: fn(String) -> String,
) -> (RawCommit, String) {
    let armor = c.ssh_sign(raw.payload().as_bytes(), signer, "git");
    (raw.clone(), edit(armor))
}

/// Signs `raw` with its message numbered 0, 1, ... (512 at a time, one ssh-keygen run) until
/// `pick` likes the SSHSIG blob; the commit and its armor.
fn sign_until(raw: &RawCommit, signer: &str, pick: fn(Vec<u8>) -> bool) -> (RawCommit, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    for round in 0..16 {
        let commits: Vec<RawCommit> = (0..512)
            .map(|i| raw.with_message(&format!("{}#{round}.{i}\n", raw.message)))
            .collect();
        let files: Vec<_> = commits
            .iter()
            .enumerate()
            .map(|(i, commit)| {
                let path = dir.path().join(format!("payload-{round}-{i}"));
                fs::write(&path, commit.payload()).expect("write payload");
                path
            })
            .collect();
        let mut cmd = isolated("ssh-keygen", dir.path());
        cmd.args(["-q", "-Y", "sign", "-n", "git", "-f"])
            .arg(&key(signer).private)
            .args(&files);
        run_ok(cmd, None);
        for (commit, file) in commits.into_iter().zip(&files) {
            let armor = fs::read_to_string(file.with_extension("sig")).expect("read signature");
            if pick(blob(&armor)) {
                return (commit, armor);
            }
        }
    }
    panic!("no suitable signature by {signer} in 16 batches");
}

/// The SSHSIG blob of an armor.
fn blob(armor: &str) -> Vec<u8> {
    let body: String = armor.lines().filter(|l| !l.starts_with("-----")).collect();
    base64ct::Base64::decode_vec(&body).expect("base64")
}

/// A blob in OpenSSH's armor (70 columns).
fn armor(blob: &[u8]) -> String {
    rewrap(
        &format!(
            "{HEADER}\n{}\n{FOOTER}\n",
            base64ct::Base64::encode_string(blob)
        ),
        70,
    )
}

/// `armor` with its base64 wrapped at `width` columns.
fn rewrap(armor: &str, width: usize) -> String {
    let body: String = armor.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut out = format!("{HEADER}\n");
    for line in body.as_bytes().chunks(width) {
        out.push_str(std::str::from_utf8(line).expect("base64"));
        out.push('\n');
    }
    out.push_str(FOOTER);
    out.push('\n');
    out
}

fn read_string<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
    let (len, tail) = rest.split_at(4);
    let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
    let (value, tail) = tail.split_at(len);
    *rest = tail;
    value
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend(u32::try_from(bytes.len()).expect("short").to_be_bytes());
    out.extend(bytes);
}

/// Splits a blob into everything before the signature field, the signature algorithm and
/// the signature bytes.
fn split_blob(blob: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut rest = &blob[10..];
    for _ in 0..4 {
        read_string(&mut rest);
    }
    let head = blob[..blob.len() - rest.len()].to_vec();
    let mut field = read_string(&mut rest);
    let algorithm = read_string(&mut field).to_vec();
    let sig = read_string(&mut field).to_vec();
    (head, algorithm, sig)
}

/// The signature bytes of a blob (for ECDSA: `mpint r || mpint s`).
fn sig_bytes(blob: &[u8]) -> Vec<u8> {
    split_blob(blob).2
}

/// `armor` with its signature bytes replaced by `edit(signature bytes)`.
fn edit_sig(armor: &str, edit: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let (mut out, algorithm, sig) = split_blob(&blob(armor));
    let mut field = Vec::new();
    put_string(&mut field, &algorithm);
    put_string(&mut field, &edit(&sig));
    put_string(&mut out, &field);
    self::armor(&out)
}

/// The mpint contents of an ECDSA signature's r and s.
fn r_s(blob: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let sig = sig_bytes(blob);
    let mut rest = sig.as_slice();
    let r = read_string(&mut rest).to_vec();
    let s = read_string(&mut rest).to_vec();
    (r, s)
}

/// An edit of ECDSA r and s (mpint contents).
type RsEdit = fn(&[u8], &[u8]) -> (Vec<u8>, Vec<u8>);

/// `armor` with its ECDSA r and s (mpint contents) replaced by `edit(r, s)`.
fn edit_ecdsa(armor: &str, edit: RsEdit) -> String {
    edit_sig(armor, |sig| {
        let mut rest = sig;
        let r = read_string(&mut rest);
        let s = read_string(&mut rest);
        let (r, s) = edit(r, s);
        let mut out = Vec::new();
        put_string(&mut out, &r);
        put_string(&mut out, &s);
        out
    })
}

/// `armor` with its ECDSA key's point in compressed form (`02`/`03` || x).
fn compress_key(armor: &str) -> String {
    let blob = blob(armor);
    let mut rest = &blob[10..];
    let key = read_string(&mut rest);
    let mut k = key;
    let kind = read_string(&mut k);
    let curve = read_string(&mut k);
    let point = read_string(&mut k);
    let x = &point[1..=(point.len() - 1) / 2];
    let mut key_blob = Vec::new();
    put_string(&mut key_blob, kind);
    put_string(&mut key_blob, curve);
    put_string(
        &mut key_blob,
        &[&[0x02 | (point[point.len() - 1] & 1)][..], x].concat(),
    );
    let mut out = blob[..10].to_vec();
    put_string(&mut out, &key_blob);
    out.extend(rest);
    self::armor(&out)
}

fn magnitude(mpint: &[u8]) -> &[u8] {
    let zeros = mpint.iter().take_while(|&&b| b == 0).count();
    &mpint[zeros..]
}

/// A P-256 integer as a Secure Enclave agent writes it: 32 bytes, plus a sign byte when the
/// top bit is set.
fn fixed_width(mpint: &[u8]) -> Vec<u8> {
    let m = magnitude(mpint);
    let mut out = vec![0; 32 - m.len()];
    out.extend(m);
    if out[0] & 0x80 != 0 {
        out.insert(0, 0);
    }
    out
}

// ---- commits -----------------------------------------------------------------------------

/// `raw` with `gpgsig` set to `sig` byte for byte, as git lays it out: the first line after
/// `gpgsig `, every further line after one space, blank lines and CRs kept.
fn with_gpgsig(raw: &RawCommit, sig: &str) -> String {
    let mut out = String::new();
    for h in &raw.headers {
        out.push_str(h);
        out.push('\n');
    }
    let body = sig.strip_suffix('\n').unwrap_or(sig);
    for (i, line) in body.split('\n').enumerate() {
        out.push_str(if i == 0 { "gpgsig " } else { " " });
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&raw.message);
    out
}

/// `raw` with its parent replaced by `parent`.
fn with_parent(raw: &RawCommit, parent: &str) -> RawCommit {
    let headers = raw
        .headers
        .iter()
        .map(|h| {
            if h.starts_with("parent ") {
                format!("parent {parent}")
            } else {
                h.clone()
            }
        })
        .collect();
    RawCommit {
        headers,
        ..raw.clone()
    }
}

/// An unsigned commit by `c` on main's tip, parsed; main is left where it was.
fn unsigned_commit(c: &Client, message: &str) -> RawCommit {
    let id = c.commit(message, Sign::Unsigned);
    let raw = RawCommit::parse(&c.raw_commit(&id));
    c.reset_hard("HEAD~1");
    raw
}

/// The installed OpenSSH's (major, minor) version, from `ssh -V`.
fn openssh_version() -> Option<(u32, u32)> {
    let out = Command::new("ssh").arg("-V").output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let rest = text.trim().strip_prefix("OpenSSH_")?;
    let (major, rest) = rest.split_once('.')?;
    let minor: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// A variant's commit written into `c`'s repository with `parent`: its id, and whether
/// `git verify-commit` calls it good.
fn write_variant(c: &Client, base: &RawCommit, parent: &str, v: &Variant) -> (String, bool) {
    let raw = with_parent(&base.with_message(&format!("{}\n", v.name)), parent);
    let (raw, sig) = (v.make)(c, &raw);
    let id = c.write_commit(&with_gpgsig(&raw, &sig));
    let good = c.verify("verify-commit", &id).status.success();
    (id, good)
}

/// What git must say of `v` with the installed OpenSSH.
fn git_expected(v: &Variant) -> Option<bool> {
    if v.crlf_header {
        openssh_version().map(|version| version >= (9, 5))
    } else {
        Some(v.good)
    }
}

/// Asserts what the pusher saw for one commit on one ref: accepted exactly when `good`.
fn assert_outcome(p: &Push, refname: &str, id: &str, good: bool, what: &str) {
    if good {
        p.assert_ref_ok(refname).assert_no_header(refname);
    } else {
        p.assert_declined(refname)
            .assert_rejected("bad-signature", id);
        assert!(
            p.reason_lines("bad-signature")
                .iter()
                .any(|l| l.contains(&format!("commit {}", short(id)))),
            "{what}\n{}",
            p.transcript()
        );
    }
}

// ---- tests -------------------------------------------------------------------------------

/// Every variant on its own branch, one push through the update hook (each ref judged on
/// its own): refguard accepts exactly what `git verify-commit` calls good.
#[test]
fn each_variant_gets_git_verify_commits_verdict() {
    let s = Scenario::new(Hook::Update);
    let bob = s.client("bob");
    let base = unsigned_commit(&bob, "Variant");
    let mut pushed = Vec::new();
    let all = variants();
    for (n, v) in all.iter().enumerate() {
        let (id, git_good) = write_variant(&bob, &base, &s.initial, v);
        if let Some(expected) = git_expected(v) {
            assert_eq!(git_good, expected, "{}: git verify-commit", v.name);
        }
        let refname = format!("refs/heads/feature/variant-{n:02}");
        pushed.push((v, id, git_good, refname));
    }
    let specs: Vec<String> = pushed
        .iter()
        .map(|(_, id, _, refname)| format!("{id}:{refname}"))
        .collect();
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    let p = bob.push(&specs);
    for (v, id, git_good, refname) in &pushed {
        // refguard's verdict is git's, except where OpenSSH versions differ (CRLF after the
        // header line), where refguard refuses.
        let refguard_good = *git_good && !v.crlf_header;
        assert_eq!(refguard_good, v.good, "{}", v.name);
        assert_outcome(&p, refname, id, refguard_good, v.name);
        let after = p.ref_after(refname);
        assert_eq!(after, refguard_good.then_some(id.as_str()), "{}", v.name);
    }
}

/// Through pre-receive (all or nothing): a chain of every good variant is accepted as one
/// push; the same chain with one refused variant on top is rejected naming that commit.
#[test]
fn good_variants_pass_pre_receive_together() {
    let s = Scenario::new(Hook::PreReceive);
    let bob = s.client("bob");
    let base = unsigned_commit(&bob, "Chained variant");
    let mut tip = s.initial.clone();
    for v in variants().iter().filter(|v| v.good) {
        let (id, git_good) = write_variant(&bob, &base, &tip, v);
        assert!(git_good, "{}: git verify-commit", v.name);
        tip = id;
    }
    bob.reset_hard(&tip);
    let p = bob.push(&["HEAD:refs/heads/main"]);
    p.assert_accepted();
    assert_eq!(p.ref_after("refs/heads/main"), Some(tip.as_str()));

    let all = variants();
    let bad = all
        .iter()
        .find(|v| v.name == "p256 r with its sign bit set")
        .expect("variant");
    let (id, git_good) = write_variant(&bob, &base, &tip, bad);
    assert!(!git_good);
    bob.reset_hard(&id);
    let p = bob.push(&["HEAD:refs/heads/main"]);
    p.assert_rejected("bad-signature", &id)
        .assert_header("refs/heads/main", &tip, &id)
        .assert_refs_unchanged();
    assert_eq!(p.all_reason_lines().len(), 1, "{}", p.transcript());
}
