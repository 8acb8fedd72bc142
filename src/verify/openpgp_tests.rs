//! The OpenPGP verifier on certificates made by the real `gpg` and signatures made by gpg's
//! secret keys through rPGP, including what gpg will not make: refused digests, v3
//! signatures, other signature types, two signatures in one armor, and broken armor.

use std::sync::Arc;

use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{SignatureConfig, SignatureType};
use pgp::types::{KeyDetails, Timestamp};

use super::openpgp::{Prepared, identity};
use super::{Keyring, check, check_each};
use crate::openpgp::Certificate;
use crate::openpgp::testcerts::{TestCert, armor, certs, sign, sign_config};
use crate::signature::{KeyKind, SignatureCheck};

const PAYLOAD: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author A U Thor <author@example.com> 1112911993 +0000\n\
committer C O Mitter <committer@example.com> 1112912053 +0000\n\
\n\
OpenPGP\n";

/// 2026-01-01T00:00:00Z, a creation time for crafted signatures.
const CREATED: u32 = 1_767_225_600;

fn cert(test: &TestCert) -> Arc<Certificate> {
    Arc::new(Certificate::parse(&test.public).expect("gpg's certificate parses"))
}

fn keyring(tests: &[&TestCert]) -> Keyring {
    Keyring::new(tests.iter().map(|t| cert(t)))
}

fn detail(check: SignatureCheck) -> String {
    match check {
        SignatureCheck::Bad { detail } => detail,
        other => panic!("expected a bad signature, got {other:?}"),
    }
}

#[test]
fn primary_and_subkey_signatures_verify_and_name_the_certificate() {
    let alice = &certs().alice;
    let ring = keyring(&[alice, &certs().carol]);
    let primary = &alice.secret.primary_key;
    let sig = sign(
        primary,
        SignatureType::Binary,
        HashAlgorithm::Sha256,
        CREATED,
        PAYLOAD,
    );
    let got = check(&armor(&[sig]), PAYLOAD, &ring);
    let SignatureCheck::Valid(id) = got else {
        panic!("alice's primary key signature verifies: {got:?}");
    };
    let fpr = &alice.fingerprints[0];
    assert_eq!(id.kind, KeyKind::OpenPgp);
    assert_eq!(id.fingerprint, format!("openpgp:{fpr}"));
    assert_eq!(id.certificate.as_deref(), Some(id.fingerprint.as_str()));
    assert_eq!(id.algorithm, "ed25519");
    assert_eq!(crate::openpgp::hex_upper(&id.blob), *fpr);

    let subkey = &alice.secret.secret_subkeys[0].key;
    let sig = sign(
        subkey,
        SignatureType::Binary,
        HashAlgorithm::Sha512,
        CREATED,
        PAYLOAD,
    );
    let SignatureCheck::Valid(sub) = check(&armor(&[sig]), PAYLOAD, &ring) else {
        panic!("alice's signing subkey verifies");
    };
    assert_eq!(
        sub.fingerprint,
        format!("openpgp:{}", alice.fingerprints[1])
    );
    assert_eq!(
        sub.certificate, id.certificate,
        "a subkey finds its certificate"
    );
    assert_eq!(sub.blob, id.blob, "looked up by the primary fingerprint");
    assert_eq!(
        sub.names().collect::<Vec<_>>(),
        [sub.fingerprint.as_str(), id.fingerprint.as_str()],
        "[[revoked]] may name the subkey or its certificate"
    );

    let carol = &certs().carol.secret.primary_key;
    let sig = sign(
        carol,
        SignatureType::Text,
        HashAlgorithm::Sha256,
        CREATED,
        PAYLOAD,
    );
    let SignatureCheck::Valid(rsa) = check(&armor(&[sig]), PAYLOAD, &ring) else {
        panic!("carol's RSA text signature verifies");
    };
    assert_eq!(rsa.algorithm, "rsa3072");
}

#[test]
fn a_signature_over_other_bytes_is_bad() {
    let alice = &certs().alice;
    let ring = keyring(&[alice]);
    let sig = sign(
        &alice.secret.primary_key,
        SignatureType::Binary,
        HashAlgorithm::Sha256,
        CREATED,
        PAYLOAD,
    );
    let armored = armor(&[sig]);
    let mut tampered = PAYLOAD.to_vec();
    tampered.extend_from_slice(b"more\n");
    assert!(detail(check(&armored, &tampered, &ring)).contains("does not verify"));
}

#[test]
fn an_issuer_no_certificate_holds_is_unknown() {
    let alice = &certs().alice;
    let sig = sign(
        &alice.secret.primary_key,
        SignatureType::Binary,
        HashAlgorithm::Sha256,
        CREATED,
        PAYLOAD,
    );
    let armored = armor(&[sig]);
    assert_eq!(
        check(&armored, PAYLOAD, &keyring(&[&certs().carol])),
        SignatureCheck::NoCertificate {
            issuer: format!("openpgp:{}", alice.fingerprints[0])
        }
    );
    assert!(matches!(
        check(&armored, PAYLOAD, &Keyring::empty()),
        SignatureCheck::NoCertificate { .. }
    ));
}

#[test]
fn checking_with_many_keyrings_answers_as_checking_with_each() {
    let c = certs();
    let signed = |key: &pgp::packet::SecretKey| {
        armor(&[sign(
            key,
            SignatureType::Binary,
            HashAlgorithm::Sha256,
            CREATED,
            PAYLOAD,
        )])
    };
    let signatures = [
        signed(&c.alice.secret.primary_key),
        signed(&c.carol.secret.primary_key),
        signed(&c.erin.secret.primary_key),
        armor(&[sign(
            &c.alice.secret.secret_subkeys[0].key,
            SignatureType::Binary,
            HashAlgorithm::Sha512,
            CREATED,
            PAYLOAD,
        )]),
        // The refused DSA subkey, and garbage.
        armor(&[sign(
            &c.grace.secret.secret_subkeys[0].key,
            SignatureType::Binary,
            HashAlgorithm::Sha256,
            CREATED,
            PAYLOAD,
        )]),
        b"-----BEGIN PGP SIGNATURE-----\n\nnot base64\n-----END PGP SIGNATURE-----\n".to_vec(),
    ];
    // Separately parsed copies of one certificate, in several orders and mixes, as the
    // policies of a chain hold them.
    let rings = [
        Keyring::empty(),
        keyring(&[&c.alice]),
        keyring(&[&c.alice]),
        keyring(&[&c.carol]),
        keyring(&[&c.alice, &c.carol]),
        keyring(&[&c.carol, &c.alice, &c.grace]),
        keyring(&[&c.grace, &c.erin]),
        keyring(&[&c.erin, &c.alice]),
    ];
    let refs: Vec<&Keyring> = rings.iter().collect();
    let mut tampered = PAYLOAD.to_vec();
    tampered.push(b'!');
    for signature in &signatures {
        for payload in [PAYLOAD, tampered.as_slice()] {
            let each: Vec<SignatureCheck> =
                refs.iter().map(|r| check(signature, payload, r)).collect();
            assert_eq!(check_each(signature, payload, &refs), each);
            assert!(check_each(signature, payload, &[]).is_empty());
        }
    }
    // What groups keyrings: the same key material (a copy of a certificate is the same),
    // never just a key id or fingerprint of another certificate.
    let prepared = Prepared::new(&signatures[0]).expect("alice's signature reads");
    let identities = |ring: &Keyring| -> Vec<(Vec<u8>, Vec<u8>)> {
        prepared
            .candidates(ring)
            .map(|(cert, key)| identity(cert, key))
            .collect()
    };
    assert_eq!(identities(&rings[1]), identities(&rings[2]));
    assert_eq!(identities(&rings[1]), identities(&rings[4]));
    assert_eq!(identities(&rings[1]).len(), 1);
    assert!(identities(&rings[3]).is_empty());
    let subkey = Prepared::new(&signatures[3]).expect("alice's subkey signature reads");
    let subkey_id: Vec<(Vec<u8>, Vec<u8>)> = subkey
        .candidates(&rings[1])
        .map(|(cert, key)| identity(cert, key))
        .collect();
    assert_eq!(subkey_id.len(), 1);
    assert_ne!(
        subkey_id,
        identities(&rings[1]),
        "a subkey is not its primary key"
    );
}

#[test]
fn refused_digests_versions_and_types_are_bad_signatures() {
    let alice = &certs().alice;
    let ring = keyring(&[alice, &certs().carol]);
    let key = &alice.secret.primary_key;
    // rPGP will not even make an Ed25519 signature over a short digest: RSA for these.
    let rsa = &certs().carol.secret.primary_key;
    for hash in [
        HashAlgorithm::Sha1,
        HashAlgorithm::Md5,
        HashAlgorithm::Ripemd160,
    ] {
        let sig = sign(rsa, SignatureType::Binary, hash, CREATED, PAYLOAD);
        let why = detail(check(&armor(&[sig]), PAYLOAD, &ring));
        assert!(why.contains("refused"), "{hash:?}: {why}");
    }
    for typ in [
        SignatureType::Standalone,
        SignatureType::CertGeneric,
        SignatureType::CertPositive,
        SignatureType::Key,
        SignatureType::KeyRevocation,
    ] {
        let sig = sign(key, typ, HashAlgorithm::Sha256, CREATED, PAYLOAD);
        let why = detail(check(&armor(&[sig]), PAYLOAD, &ring));
        assert!(
            why.contains("not a signature over a document"),
            "{typ:?}: {why}"
        );
    }
    let v3 = SignatureConfig::v3(
        SignatureType::Binary,
        key.algorithm(),
        HashAlgorithm::Sha256,
        Timestamp::from_secs(CREATED),
        key.legacy_key_id(),
    );
    let sig = sign_config(key, v3, PAYLOAD);
    assert!(detail(check(&armor(&[sig]), PAYLOAD, &ring)).contains("v3"));
}

#[test]
fn two_signatures_in_one_armor_are_bad_as_git_says() {
    let ring = keyring(&[&certs().alice, &certs().carol]);
    let one = sign(
        &certs().alice.secret.primary_key,
        SignatureType::Binary,
        HashAlgorithm::Sha256,
        CREATED,
        PAYLOAD,
    );
    let two = sign(
        &certs().carol.secret.primary_key,
        SignatureType::Binary,
        HashAlgorithm::Sha256,
        CREATED,
        PAYLOAD,
    );
    assert!(detail(check(&armor(&[one, two]), PAYLOAD, &ring)).contains("2 packets"));
}

#[test]
fn broken_armor_is_bad_and_never_panics() {
    let alice = &certs().alice;
    let ring = keyring(&[alice]);
    let sig = sign(
        &alice.secret.primary_key,
        SignatureType::Binary,
        HashAlgorithm::Sha256,
        CREATED,
        PAYLOAD,
    );
    let good = armor(&[sig]);
    assert!(matches!(
        check(&good, PAYLOAD, &ring),
        SignatureCheck::Valid(_)
    ));
    let text = String::from_utf8(good.clone()).expect("armor is ASCII");

    // Every truncation is bad or (when only the footer's tail goes) still good; none panics.
    for cut in 0..good.len() {
        match check(&good[..cut], PAYLOAD, &ring) {
            SignatureCheck::Bad { .. } | SignatureCheck::Valid(_) => {}
            other => panic!("truncated at {cut}: {other:?}"),
        }
    }
    // Garbage instead of base64, and a corrupted checksum.
    let garbage =
        "-----BEGIN PGP SIGNATURE-----\n\n!!!! not base64 !!!!\n-----END PGP SIGNATURE-----\n";
    assert!(matches!(
        check(garbage.as_bytes(), PAYLOAD, &ring),
        SignatureCheck::Bad { .. }
    ));
    let crc_at = text.rfind("\n=").expect("armor has a checksum") + 2;
    let mut corrupted = text.clone().into_bytes();
    corrupted[crc_at] = if corrupted[crc_at] == b'A' {
        b'B'
    } else {
        b'A'
    };
    assert!(detail(check(&corrupted, PAYLOAD, &ring)).contains("checksum"));
    // A public key block where a signature belongs is not even recognized as OpenPGP (git
    // recognizes signatures by their first line); a `PGP MESSAGE` armor is, and refused.
    assert!(matches!(
        check(&alice.public, PAYLOAD, &ring),
        SignatureCheck::Bad { .. }
    ));
    let message = String::from_utf8_lossy(&alice.public).replace("PUBLIC KEY BLOCK", "MESSAGE");
    let why = detail(check(message.as_bytes(), PAYLOAD, &ring));
    assert!(why.contains("not a detached"), "{why}");
    // A flipped bit in the signature's body.
    let body_at = text.find("\n\n").expect("armor body") + 10;
    let mut flipped = text.into_bytes();
    flipped[body_at] = if flipped[body_at] == b'Q' { b'R' } else { b'Q' };
    assert!(matches!(
        check(&flipped, PAYLOAD, &ring),
        SignatureCheck::Bad { .. }
    ));
}
