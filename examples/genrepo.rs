//! Fixture generator for refguard's benchmark: a bare repository with N commits signed
//! in-process, written as one pack through libgit2's indexer (no process per commit, no
//! loose objects), plus a matching roles.toml, policy branch, allowed_signers file and the
//! pre-receive inputs the benchmark replays.
//!
//! ```text
//! cargo run --release --example genrepo -- --out /tmp/bench --commits 100000 --users 1000 --refs 10000
//! ```
//!
//! Output in `--out`:
//! - `repo.git`: the bare repository. History is one chain on `refs/heads/main` (unless
//!   `--detached`: then no branch points at it, as in a push quarantine), with a merge of a side
//!   commit every `--merge-every` commits; `--refs` extra branches `refs/heads/feature/NNNNN` at
//!   commits spread over the history (in `packed-refs`, as a server that ran `git gc` has them);
//!   `refs/meta/policy` holding `roles.toml` (and `keys/` with OpenPGP signers, see below).
//! - `roles.toml`: `--users` users (user00000…), each with one key; one rule
//!   `refs/heads/**` requiring signatures by `developers` (everyone).
//! - `allowed_signers`: the same keys for `git log --show-signature`.
//! - `tips`: `main=<id>` (the history's tip) and `push=<id>` (the tip of `--push` further signed
//!   commits on top of it).
//! - `quarantine/`: those pushed commits as loose objects, an object directory laid out like
//!   receive-pack's quarantine; run the hook with `GIT_QUARANTINE_PATH` and
//!   `GIT_OBJECT_DIRECTORY` set to it and `GIT_ALTERNATE_OBJECT_DIRECTORIES` to
//!   `repo.git/objects`, as receive-pack does.
//!
//! Signers may hold OpenPGP keys instead (`--key-types openpgp-ed25519,openpgp-rsa`): a v4
//! certificate made with rPGP (one primary key that certifies and signs: legacy EdDSA ed25519
//! as gpg makes it, or RSA-3072), its commits signed as `git commit -S` with gpg signs them (a
//! detached, armored, binary-mode signature over the commit without its `gpgsig` header,
//! SHA-256), its public certificate written to `keys/userNNNNN.asc` beside roles.toml and into
//! the policy branch's tree, and listed in roles.toml as `{ openpgp = "keys/userNNNNN.asc" }`.
//! Such users are left out of `allowed_signers` (git needs gpg and a keyring for them).
//!
//! Everything is deterministic for a given `--seed` (keys come from a seeded ChaCha stream,
//! dates from a fixed epoch) except OpenPGP fixtures: rPGP stamps self-signatures and
//! signatures with the current time, so their certificates and commits differ from run to run
//! (the key material itself comes from the seeded stream).

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, ValueEnum};
use flate2::Compression;
use flate2::{Compress, FlushCompress, Status};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use sha1::{Digest, Sha1};
use ssh_key::private::{Ed25519Keypair, KeypairData, RsaKeypair};
use ssh_key::{Algorithm, EcdsaCurve, HashAlg, LineEnding, PrivateKey, SshSig};

use pgp::composed::{
    ArmorOptions, DetachedSignature, SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{Password, Timestamp};

/// Command-line options.
#[derive(Parser, Debug, Clone)]
#[command(
    about = "Generate a benchmark repository with in-process signed commits (SSH or OpenPGP)"
)]
struct Options {
    /// Output directory (created; must not hold a repo.git yet).
    #[arg(long)]
    out: PathBuf,
    /// Commits in the history (merge and side commits included).
    #[arg(long, default_value_t = 1000)]
    commits: usize,
    /// Users in roles.toml (and allowed_signers).
    #[arg(long, default_value_t = 10)]
    users: usize,
    /// How many of the users sign commits, round robin (at most --users).
    #[arg(long, default_value_t = 4)]
    signers: usize,
    /// Key types of the signing users, cycled (the other users get ed25519 keys).
    #[arg(long, value_delimiter = ',', default_value = "ed25519")]
    key_types: Vec<KeyType>,
    /// A merge of a side commit every this many commits (0: no merges).
    #[arg(long, default_value_t = 0)]
    merge_every: usize,
    /// Percentage of history commits left unsigned.
    #[arg(long, default_value_t = 0.0)]
    unsigned: f64,
    /// Percentage of history commits whose signature does not verify.
    #[arg(long, default_value_t = 0.0)]
    bad: f64,
    /// Percentage of history commits signed by a key no user holds.
    #[arg(long, default_value_t = 0.0)]
    foreign: f64,
    /// Extra branches under refs/heads/feature/, spread over the history.
    #[arg(long, default_value_t = 0)]
    refs: usize,
    /// Signed commits written on top of the tip but referenced by nothing (a pending push).
    #[arg(long, default_value_t = 10)]
    push: usize,
    /// Do not point refs/heads/main at the history (an import: only the objects exist).
    #[arg(long)]
    detached: bool,
    /// Seed of the key and share generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// A key type of the signing users.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum KeyType {
    /// ssh-ed25519.
    Ed25519,
    /// ecdsa-sha2-nistp256.
    EcdsaP256,
    /// ecdsa-sha2-nistp384.
    EcdsaP384,
    /// ssh-rsa (3072 bits, signed rsa-sha2-512). Key generation takes about a second.
    Rsa,
    /// OpenPGP v4, ed25519 (legacy EdDSA, as `gpg --quick-gen-key ... ed25519` makes it).
    OpenpgpEd25519,
    /// OpenPGP v4, RSA-3072. Key generation takes seconds.
    OpenpgpRsa,
}

/// A user's signing key.
enum Key {
    /// An OpenSSH key: commits carry SSHSIGs.
    Ssh(Box<PrivateKey>),
    /// An OpenPGP certificate with its secret key: commits carry OpenPGP signatures.
    Pgp(Box<SignedSecretKey>),
}

/// What happens to one commit's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    /// Signed by this user's key.
    User(usize),
    /// Not signed.
    Unsigned,
    /// Signed over other bytes: does not verify.
    Bad(usize),
    /// Signed by a key no user holds.
    Foreign,
}

/// A pack file being written: objects appended, count and checksum fixed at the end.
struct PackWriter {
    file: BufWriter<File>,
    path: PathBuf,
    count: u32,
    z: Compress,
    zbuf: Vec<u8>,
}

impl PackWriter {
    fn create(path: &Path) -> std::io::Result<PackWriter> {
        let mut file = BufWriter::with_capacity(
            1 << 20,
            File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)?,
        );
        // Signature, version 2, object count (patched in `finish`).
        file.write_all(b"PACK\0\0\0\x02\0\0\0\0")?;
        Ok(PackWriter {
            file,
            path: path.to_owned(),
            count: 0,
            z: Compress::new(Compression::fast(), true),
            zbuf: Vec::new(),
        })
    }

    /// Appends an object (type 1 commit, 2 tree, 3 blob) and returns its id.
    fn add(&mut self, kind: u8, data: &[u8]) -> std::io::Result<[u8; 20]> {
        let name = match kind {
            1 => "commit",
            2 => "tree",
            _ => "blob",
        };
        let mut hasher = Sha1::new();
        hasher.update(format!("{name} {}\0", data.len()).as_bytes());
        hasher.update(data);
        let id: [u8; 20] = hasher.finalize().into();

        let mut size = data.len();
        let mut header = vec![(kind << 4) | (size & 0x0f) as u8];
        size >>= 4;
        while size > 0 {
            *header.last_mut().expect("header has a first byte") |= 0x80;
            header.push((size & 0x7f) as u8);
            size >>= 7;
        }
        self.file.write_all(&header)?;
        // One compressor reused: a fresh one per object costs an mmap of its window.
        self.zbuf.clear();
        self.zbuf.reserve(data.len() + data.len() / 8 + 64);
        self.z.reset();
        let status = self
            .z
            .compress_vec(data, &mut self.zbuf, FlushCompress::Finish)
            .map_err(std::io::Error::other)?;
        assert_eq!(
            status,
            Status::StreamEnd,
            "the buffer holds the whole stream"
        );
        self.file.write_all(&self.zbuf)?;
        self.count += 1;
        Ok(id)
    }

    /// Patches the object count, appends the trailing SHA-1 and returns the path.
    fn finish(self) -> std::io::Result<PathBuf> {
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(8))?;
        file.write_all(&self.count.to_be_bytes())?;
        file.seek(SeekFrom::Start(0))?;
        let mut hasher = Sha1::new();
        let mut reader = BufReader::with_capacity(1 << 20, &mut file);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        drop(reader);
        file.seek(SeekFrom::End(0))?;
        file.write_all(&hasher.finalize())?;
        file.sync_all()?;
        Ok(self.path)
    }
}

fn hex(id: &[u8; 20]) -> String {
    id.iter().fold(String::with_capacity(40), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A deterministic key of `kind` from the generator's stream.
fn make_key(rng: &mut ChaCha20Rng, kind: KeyType, comment: &str) -> PrivateKey {
    let data = match kind {
        KeyType::Ed25519 => {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            KeypairData::from(Ed25519Keypair::from_seed(&seed))
        }
        KeyType::EcdsaP256 | KeyType::EcdsaP384 => {
            let curve = if kind == KeyType::EcdsaP256 {
                EcdsaCurve::NistP256
            } else {
                EcdsaCurve::NistP384
            };
            let mut key =
                PrivateKey::random(rng, Algorithm::Ecdsa { curve }).expect("ecdsa key generation");
            key.set_comment(comment);
            return key;
        }
        KeyType::Rsa => KeypairData::from(RsaKeypair::random(rng, 3072).expect("rsa keygen")),
        KeyType::OpenpgpEd25519 | KeyType::OpenpgpRsa => {
            panic!("{kind:?} is an OpenPGP key type (make_pgp_key)")
        }
    };
    PrivateKey::new(data, comment).expect("a generated key is valid")
}

/// A v4 OpenPGP certificate of `kind` (one primary key that certifies and signs, as
/// `gpg --quick-gen-key UID ALGO sign,cert` makes), its key material from the generator's
/// stream.
fn make_pgp_key(rng: &mut ChaCha20Rng, kind: KeyType, uid: &str) -> SignedSecretKey {
    let key_type = match kind {
        KeyType::OpenpgpEd25519 => pgp::composed::KeyType::Ed25519Legacy,
        KeyType::OpenpgpRsa => pgp::composed::KeyType::Rsa(3072),
        _ => panic!("{kind:?} is not an OpenPGP key type"),
    };
    let mut params = SecretKeyParamsBuilder::default();
    params
        .key_type(key_type)
        .can_certify(true)
        .can_sign(true)
        .created_at(Timestamp::from_secs(1_600_000_000))
        .primary_user_id(uid.to_owned());
    params
        .build()
        .expect("OpenPGP key parameters")
        .generate(&mut *rng)
        .expect("OpenPGP key generation")
}

/// The armored public certificate of `key`, as `gpg --armor --export` writes it.
fn pgp_public(key: &SignedSecretKey) -> String {
    SignedPublicKey::from(key.clone())
        .to_armored_string(ArmorOptions::default())
        .expect("armor certificate")
}

/// Signs `payload` as `git commit -S` with gpg does (a detached binary-mode v4 signature,
/// SHA-256, issuer fingerprint and creation time hashed, key id unhashed) and returns the
/// armor.
fn pgpsig(key: &SignedSecretKey, rng: &mut ChaCha20Rng, payload: &[u8]) -> String {
    DetachedSignature::sign_binary_data(
        rng,
        &key.primary_key,
        &Password::empty(),
        HashAlgorithm::Sha256,
        payload,
    )
    .expect("OpenPGP signing")
    .to_armored_string(ArmorOptions::default())
    .expect("armor signature")
}

/// Signs `payload` with `key` as git does and returns the armor for the `gpgsig` header.
fn signature(key: &Key, rng: &mut ChaCha20Rng, payload: &[u8]) -> String {
    match key {
        Key::Ssh(key) => sshsig(key, payload),
        Key::Pgp(key) => pgpsig(key, rng, payload),
    }
}

/// Signs `payload` as git does (SSHSIG, namespace git, SHA-512) and returns the armor.
fn sshsig(key: &PrivateKey, payload: &[u8]) -> String {
    let sig = match key.key_data().rsa() {
        Some(rsa) => rsa_sshsig(key, rsa, payload),
        None => key.sign("git", HashAlg::Sha512, payload).expect("signing"),
    };
    sig.to_pem(LineEnding::LF).expect("armor")
}

/// An rsa-sha2-512 SSHSIG made with the `rsa` crate directly: ssh-key 0.6.7's own RSA signing
/// fails (its conversion to `rsa::RsaPrivateKey` passes the prime p twice).
fn rsa_sshsig(key: &PrivateKey, rsa: &RsaKeypair, payload: &[u8]) -> SshSig {
    use rsa::signature::{SignatureEncoding as _, Signer as _};
    let big =
        |m: &ssh_key::Mpint| rsa::BigUint::from_bytes_be(m.as_positive_bytes().expect("positive"));
    let private = rsa::RsaPrivateKey::from_components(
        big(&rsa.public.n),
        big(&rsa.public.e),
        big(&rsa.private.d),
        vec![big(&rsa.private.p), big(&rsa.private.q)],
    )
    .expect("rsa key");
    let signed = SshSig::signed_data("git", HashAlg::Sha512, payload).expect("signed data");
    let bytes = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha512>::new(private)
        .sign(&signed)
        .to_vec();
    let algorithm = Algorithm::Rsa {
        hash: Some(HashAlg::Sha512),
    };
    let signature = ssh_key::Signature::new(algorithm, bytes).expect("signature");
    SshSig::new(
        key.public_key().key_data().clone(),
        "git",
        HashAlg::Sha512,
        signature,
    )
    .expect("sshsig")
}

/// Inserts the signature as a `gpgsig` header after the last header line, continuation lines
/// indented by one space (git's `add_header_signature`).
fn with_signature(payload: &[u8], armor: &str) -> Vec<u8> {
    let split = payload
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("a commit has a blank line after its headers")
        + 1;
    let mut out = Vec::with_capacity(payload.len() + armor.len() + 16);
    out.extend_from_slice(&payload[..split]);
    out.extend_from_slice(b"gpgsig");
    for line in armor.trim_end_matches('\n').split('\n') {
        out.push(b' ');
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(&payload[split..]);
    out
}

/// The generator's state while writing history.
struct Generator {
    opts: Options,
    keys: Vec<Key>,
    foreign: Key,
    rng: ChaCha20Rng,
    pack: PackWriter,
    tree: String,
    written: usize,
    /// Where commits go as loose objects instead of the pack (the pending push's quarantine).
    loose: Option<PathBuf>,
}

/// Writes a commit as a loose object under `dir` (a quarantine object directory) and
/// returns its id.
fn write_loose(dir: &Path, raw: &[u8]) -> String {
    let mut object = format!("commit {}\0", raw.len()).into_bytes();
    object.extend_from_slice(raw);
    let id = hex(&Sha1::digest(&object).into());
    let mut z = Compress::new(Compression::fast(), true);
    let mut out = Vec::with_capacity(object.len() + object.len() / 8 + 64);
    z.compress_vec(&object, &mut out, FlushCompress::Finish)
        .expect("compress");
    let sub = dir.join(&id[..2]);
    fs::create_dir_all(&sub).expect("mkdir quarantine");
    fs::write(sub.join(&id[2..]), out).expect("write loose object");
    id
}

impl Generator {
    /// Writes one commit and returns its id.
    fn commit(&mut self, parents: &[String], sign: Sign, message: &str) -> String {
        let n = self.written;
        self.written += 1;
        let who = match sign {
            Sign::User(u) | Sign::Bad(u) => u,
            Sign::Unsigned | Sign::Foreign => 0,
        };
        let date = 1_700_000_000 + n as u64;
        let mut payload = format!("tree {}\n", self.tree);
        for p in parents {
            let _ = writeln!(payload, "parent {p}");
        }
        let _ = write!(
            payload,
            "author User {who:05} <user{who:05}@example.com> {date} +0000\n\
             committer User {who:05} <user{who:05}@example.com> {date} +0000\n\n{message}\n"
        );
        let raw = match sign {
            Sign::Unsigned => payload.into_bytes(),
            Sign::User(u) => {
                let armor = signature(&self.keys[u], &mut self.rng, payload.as_bytes());
                with_signature(payload.as_bytes(), &armor)
            }
            Sign::Bad(u) => {
                let mut other = payload.clone().into_bytes();
                other.extend_from_slice(b"tampered\n");
                let armor = signature(&self.keys[u], &mut self.rng, &other);
                with_signature(payload.as_bytes(), &armor)
            }
            Sign::Foreign => {
                let armor = signature(&self.foreign, &mut self.rng, payload.as_bytes());
                with_signature(payload.as_bytes(), &armor)
            }
        };
        match &self.loose {
            None => hex(&self.pack.add(1, &raw).expect("write pack")),
            Some(dir) => write_loose(dir, &raw),
        }
    }

    /// The signature of history commit `n`, by the configured shares.
    fn pick(&mut self, n: usize) -> Sign {
        let roll = (self.rng.next_u32() as f64 / u32::MAX as f64) * 100.0;
        let signer = n % self.opts.signers;
        let o = &self.opts;
        if roll < o.unsigned {
            Sign::Unsigned
        } else if roll < o.unsigned + o.bad {
            Sign::Bad(signer)
        } else if roll < o.unsigned + o.bad + o.foreign {
            Sign::Foreign
        } else {
            Sign::User(signer)
        }
    }
}

fn main() {
    generate(Options::parse());
}

/// Generates the fixture described by `opts`.
fn generate(mut opts: Options) {
    opts.signers = opts.signers.clamp(1, opts.users.max(1));
    opts.users = opts.users.max(opts.signers);
    let started = Instant::now();
    let repo_dir = opts.out.join("repo.git");
    assert!(!repo_dir.exists(), "{} exists already", repo_dir.display());
    fs::create_dir_all(&opts.out).expect("create --out");
    let repo = git2::Repository::init_bare(&repo_dir).expect("git init --bare");

    // Keys: the signers cycle through --key-types; everyone else is ed25519.
    let mut rng = ChaCha20Rng::seed_from_u64(opts.seed);
    let keys: Vec<Key> =
        (0..opts.users)
            .map(|u| {
                let kind = if u < opts.signers {
                    opts.key_types[u % opts.key_types.len()]
                } else {
                    KeyType::Ed25519
                };
                let email = format!("user{u:05}@example.com");
                match kind {
                    KeyType::OpenpgpEd25519 | KeyType::OpenpgpRsa => Key::Pgp(Box::new(
                        make_pgp_key(&mut rng, kind, &format!("User {u:05} <{email}>")),
                    )),
                    _ => Key::Ssh(Box::new(make_key(&mut rng, kind, &email))),
                }
            })
            .collect();
    let foreign = Key::Ssh(Box::new(make_key(
        &mut rng,
        KeyType::Ed25519,
        "stranger@example.com",
    )));
    let keys_done = started.elapsed();

    // roles.toml, allowed_signers and the OpenPGP certificates (keys/userNNNNN.asc).
    let mut roles = String::from("version = 1\n\n");
    let mut allowed = String::new();
    let mut certs: Vec<(String, String)> = Vec::new();
    for (u, key) in keys.iter().enumerate() {
        let key = match key {
            Key::Ssh(key) => key,
            Key::Pgp(key) => {
                let name = format!("user{u:05}.asc");
                let _ = writeln!(
                    roles,
                    "[users.user{u:05}]\nkeys = [{{ openpgp = \"keys/{name}\" }}]\n"
                );
                certs.push((name, pgp_public(key)));
                continue;
            }
        };
        let line = key.public_key().to_openssh().expect("public key line");
        let _ = writeln!(roles, "[users.user{u:05}]\nkeys = [\"{line}\"]\n");
        let _ = writeln!(
            allowed,
            "user{u:05}@example.com namespaces=\"git\" {}",
            line.rsplit_once(' ').map_or(line.as_str(), |(k, _)| k)
        );
    }
    let everyone: Vec<String> = (0..opts.users).map(|u| format!("\"user{u:05}\"")).collect();
    let _ = write!(
        roles,
        "[roles]\ndevelopers = [{}]\nmaintainers = [\"user00000\"]\n\n\
         [policy]\nadmins = [\"maintainers\"]\n\n\
         [[rule]]\nrefs = [\"refs/heads/**\"]\npush = [\"developers\"]\n\
         force_push = [\"maintainers\"]\nsigners = [\"developers\"]\n",
        everyone.join(", ")
    );
    fs::write(opts.out.join("roles.toml"), &roles).expect("write roles.toml");
    fs::write(opts.out.join("allowed_signers"), &allowed).expect("write allowed_signers");
    if !certs.is_empty() {
        fs::create_dir_all(opts.out.join("keys")).expect("mkdir keys");
    }
    for (name, cert) in &certs {
        fs::write(opts.out.join("keys").join(name), cert).expect("write certificate");
    }

    // Objects go into one pack, indexed by libgit2 at the end.
    let pack_path = opts.out.join("generated.pack");
    let mut pack = PackWriter::create(&pack_path).expect("create pack");
    let blob = pack
        .add(3, b"refguard benchmark fixture\n")
        .expect("write blob");
    let mut tree = b"100644 README\0".to_vec();
    tree.extend_from_slice(&blob);
    let tree = hex(&pack.add(2, &tree).expect("write tree"));
    let policy_blob = pack.add(3, roles.as_bytes()).expect("write roles blob");
    // The policy tree: `keys/` (when there are certificates) sorts before `roles.toml`.
    let mut policy_tree = Vec::new();
    if !certs.is_empty() {
        let mut keys_tree = Vec::new();
        for (name, cert) in &certs {
            let blob = pack
                .add(3, cert.as_bytes())
                .expect("write certificate blob");
            keys_tree.extend_from_slice(format!("100644 {name}\0").as_bytes());
            keys_tree.extend_from_slice(&blob);
        }
        let keys_tree = pack.add(2, &keys_tree).expect("write keys tree");
        policy_tree.extend_from_slice(b"40000 keys\0");
        policy_tree.extend_from_slice(&keys_tree);
    }
    policy_tree.extend_from_slice(b"100644 roles.toml\0");
    policy_tree.extend_from_slice(&policy_blob);
    let policy_tree = hex(&pack.add(2, &policy_tree).expect("write policy tree"));
    let policy_commit = hex(&pack
        .add(
            1,
            format!(
                "tree {policy_tree}\nauthor refguard <refguard@localhost> 1700000000 +0000\n\
                 committer refguard <refguard@localhost> 1700000000 +0000\n\nroles.toml\n"
            )
            .as_bytes(),
        )
        .expect("write policy commit"));

    let mut g = Generator {
        opts: opts.clone(),
        keys,
        foreign,
        rng,
        pack,
        tree,
        written: 0,
        loose: None,
    };
    let mut tips: Vec<String> = Vec::with_capacity(opts.commits);
    while g.written < opts.commits {
        let n = g.written;
        let sign = g.pick(n);
        let parents: Vec<String> = tips.last().cloned().into_iter().collect();
        let merge_now = opts.merge_every > 0
            && n > 0
            && n.is_multiple_of(opts.merge_every)
            && g.written + 2 <= opts.commits;
        if merge_now {
            // A side commit off the tip, then a merge of it into the chain.
            let base = parents.clone();
            let side_sign = g.pick(n);
            let side = g.commit(&base, side_sign, &format!("side commit {n}"));
            let mut both = parents;
            both.push(side);
            let merge_sign = g.pick(n + 1);
            tips.push(g.commit(&both, merge_sign, &format!("Merge commit {}", n + 1)));
        } else {
            tips.push(g.commit(&parents, sign, &format!("Commit {n}")));
        }
    }
    let main_tip = tips.last().cloned();
    // The pending push, always signed by the first signer, goes into `quarantine/` as loose
    // objects, where receive-pack keeps a push's objects while pre-receive runs.
    g.loose = Some(opts.out.join("quarantine"));
    let mut push_tip = main_tip.clone();
    for i in 0..opts.push {
        let parents: Vec<String> = push_tip.iter().cloned().collect();
        push_tip = Some(g.commit(&parents, Sign::User(0), &format!("Pushed commit {i}")));
    }
    let history_done = started.elapsed();

    let pack_path = g.pack.finish().expect("finish pack");
    {
        let odb = repo.odb().expect("odb");
        let mut writer = odb.packwriter().expect("packwriter");
        let mut file = BufReader::with_capacity(1 << 20, File::open(&pack_path).expect("open"));
        std::io::copy(&mut file, &mut writer).expect("index pack");
        writer.commit().expect("commit pack");
    }
    fs::remove_file(&pack_path).expect("remove pack");
    let index_done = started.elapsed();

    // Refs, packed and sorted as `git pack-refs` writes them.
    let mut refs: Vec<(String, String)> = vec![("refs/meta/policy".into(), policy_commit)];
    if let (Some(tip), false) = (&main_tip, opts.detached) {
        refs.push(("refs/heads/main".into(), tip.clone()));
        for r in 0..opts.refs {
            let at = &tips[(r * tips.len()) / opts.refs.max(1)];
            refs.push((format!("refs/heads/feature/{r:05}"), at.clone()));
        }
    }
    refs.sort();
    let mut packed = String::from("# pack-refs with: peeled fully-peeled sorted \n");
    for (name, id) in &refs {
        let _ = writeln!(packed, "{id} {name}");
    }
    fs::write(repo_dir.join("packed-refs"), packed).expect("write packed-refs");
    let mut config = repo.config().expect("config");
    config.set_str("user.name", "bench").expect("config");
    config
        .set_str("user.email", "bench@localhost")
        .expect("config");

    let tip_or_zero = |t: &Option<String>| t.clone().unwrap_or_else(|| "0".repeat(40));
    fs::write(
        opts.out.join("tips"),
        format!(
            "main={}\npush={}\n",
            tip_or_zero(&main_tip),
            tip_or_zero(&push_tip)
        ),
    )
    .expect("write tips");
    eprintln!(
        "genrepo: {} commits (+{} pending), {} users, {} refs in {:.2}s \
         (keys {:.2}s, history {:.2}s, index {:.2}s)",
        opts.commits,
        opts.push,
        opts.users,
        refs.len(),
        index_done.as_secs_f64(),
        keys_done.as_secs_f64(),
        (history_done - keys_done).as_secs_f64(),
        (index_done - history_done).as_secs_f64(),
    );
}

#[cfg(test)]
mod tests {
    //! The generator writes what git itself accepts: `git verify-commit` with the generated
    //! allowed_signers file passes on signed commits and fails on the bad and foreign ones.
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, home: &Path, args: &[&str]) -> std::process::Output {
        git_with(dir, home, args, &[])
    }

    /// `git verify-commit` of the fixture's pending push tip (its objects in the fixture's
    /// quarantine, given to git as an alternate), with `config` before the command.
    fn verify_pending_push(
        out: &Path,
        repo: &Path,
        home: &Path,
        config: &[&str],
        env: &[(&str, &Path)],
    ) -> std::process::Output {
        let tips = fs::read_to_string(out.join("tips")).expect("tips");
        let push = tips
            .lines()
            .find_map(|l| l.strip_prefix("push="))
            .expect("push tip");
        let quarantine = out.join("quarantine");
        let mut args = config.to_vec();
        args.extend(["verify-commit", push]);
        let mut env = env.to_vec();
        env.push(("GIT_ALTERNATE_OBJECT_DIRECTORIES", &quarantine));
        git_with(repo, home, &args, &env)
    }

    fn git_with(
        dir: &Path,
        home: &Path,
        args: &[&str],
        env: &[(&str, &Path)],
    ) -> std::process::Output {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .envs(env.iter().copied())
            .output()
            .expect("run git")
    }

    #[test]
    fn git_verifies_generated_commits() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("fx");
        let opts = Options::parse_from([
            "genrepo",
            "--out",
            out.to_str().expect("utf-8 temp path"),
            "--commits",
            "40",
            "--users",
            "5",
            "--signers",
            "3",
            "--key-types",
            "ed25519,ecdsa-p256,ecdsa-p384",
            "--merge-every",
            "7",
            "--bad",
            "15",
            "--foreign",
            "15",
            "--unsigned",
            "10",
            "--refs",
            "5",
            "--push",
            "3",
        ]);
        generate(opts);
        let repo = out.join("repo.git");
        let signers = out.join("allowed_signers");
        let config = format!("gpg.ssh.allowedSignersFile={}", signers.display());
        let listed = git(
            &repo,
            tmp.path(),
            &["rev-list", "--format=%H %G?", "--no-commit-header", "main"],
        );
        assert!(listed.status.success());
        let listed = String::from_utf8(listed.stdout).expect("utf-8");
        let (mut good, mut failed) = (0, 0);
        for line in listed.lines() {
            let (id, _) = line.split_once(' ').expect("id and status");
            let raw = git(&repo, tmp.path(), &["cat-file", "commit", id]).stdout;
            let signed = raw.windows(7).any(|w| w == b"\ngpgsig");
            let verified = git(&repo, tmp.path(), &["-c", &config, "verify-commit", id]);
            let subject = String::from_utf8_lossy(&raw);
            if verified.status.success() {
                good += 1;
                assert!(signed, "{subject}");
            } else {
                failed += 1;
            }
        }
        assert!(good > 10 && failed > 3, "good {good}, failed {failed}");
        let lint = fs::read_to_string(out.join("roles.toml")).expect("roles.toml");
        assert!(
            refguard::policy::parse(&lint).is_ok(),
            "roles.toml validates"
        );
        let verified = verify_pending_push(&out, &repo, tmp.path(), &["-c", &config], &[]);
        assert!(verified.status.success(), "pending push is signed");
    }

    /// OpenPGP signers: gpg, given the exported certificate, verifies their commits as git
    /// runs it for `git verify-commit` (bad ones fail), and the certificate is in the policy
    /// branch where roles.toml points. (RSA keys are left to the benchmark: generating them
    /// in a debug build takes minutes.)
    #[test]
    fn gpg_verifies_generated_openpgp_commits() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("fx");
        generate(Options::parse_from([
            "genrepo",
            "--out",
            out.to_str().expect("utf-8 temp path"),
            "--commits",
            "24",
            "--users",
            "3",
            "--signers",
            "2",
            "--key-types",
            "openpgp-ed25519,ed25519",
            "--bad",
            "20",
            "--push",
            "2",
        ]));
        let repo = out.join("repo.git");
        let cert = fs::read(out.join("keys/user00000.asc")).expect("user00000's certificate");
        assert!(cert.starts_with(b"-----BEGIN PGP PUBLIC KEY BLOCK-----"));
        assert!(
            !out.join("keys/user00001.asc").exists(),
            "ssh users get none"
        );
        let roles = fs::read_to_string(out.join("roles.toml")).expect("roles.toml");
        assert!(
            roles.contains("[users.user00000]\nkeys = [{ openpgp = \"keys/user00000.asc\" }]"),
            "{roles}"
        );
        let in_policy = git(
            &repo,
            tmp.path(),
            &["cat-file", "blob", "refs/meta/policy:keys/user00000.asc"],
        );
        assert_eq!(
            in_policy.stdout, cert,
            "the policy branch holds the certificate"
        );

        let gnupg = tmp.path().join("gnupg");
        fs::create_dir(&gnupg).expect("GNUPGHOME");
        let imported = Command::new("gpg")
            .env("GNUPGHOME", &gnupg)
            .args(["--batch", "--import"])
            .arg(out.join("keys/user00000.asc"))
            .output()
            .expect("run gpg (install gnupg)");
        assert!(
            imported.status.success(),
            "{}",
            String::from_utf8_lossy(&imported.stderr)
        );
        let env = [("GNUPGHOME", gnupg.as_path())];
        let listed = git(
            &repo,
            tmp.path(),
            &["rev-list", "--format=%H %an", "--no-commit-header", "main"],
        );
        let listed = String::from_utf8(listed.stdout).expect("utf-8");
        let (mut good, mut failed) = (0, 0);
        for line in listed.lines().filter(|l| l.ends_with("User 00000")) {
            let (id, _) = line.split_once(' ').expect("id and author");
            let verified = git_with(&repo, tmp.path(), &["verify-commit", id], &env);
            if verified.status.success() {
                good += 1;
            } else {
                failed += 1;
            }
        }
        assert!(good >= 5 && failed >= 1, "good {good}, failed {failed}");
        let verified = verify_pending_push(
            &out,
            &repo,
            tmp.path(),
            &[],
            &[("GNUPGHOME", gnupg.as_path())],
        );
        assert!(
            verified.status.success(),
            "pending push is signed: {}",
            String::from_utf8_lossy(&verified.stderr)
        );
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &gnupg)
            .args(["--kill", "all"])
            .status();
    }
}
