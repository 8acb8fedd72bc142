//! Certificates: reading what gpg writes, refusing what is not one certificate, and judging
//! keys at a time (expiry, hard and soft revocation, key flags, back-signatures).

use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{RevocationCode, SignatureConfig, SignatureType, Subpacket, SubpacketData};
use pgp::types::{KeyDetails, Password, Timestamp};
use time::OffsetDateTime;
use time::macros::datetime;

use super::testcerts::certs;
use super::{Certificate, KeyState, armored_keyring};

/// A moment after the test certificates were made: gpg makes them at the real time of the
/// first run (a fixed date here turned into a time bomb the day it passed).
fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::minutes(1)
}

#[test]
fn reads_gpg_certificates_armored_and_binary() {
    let alice = &certs().alice;
    let cert = Certificate::parse(&alice.public).expect("armored");
    assert_eq!(cert.primary().fingerprint, alice.fingerprints[0]);
    assert_eq!(cert.name(), format!("openpgp:{}", alice.fingerprints[0]));
    assert_eq!(cert.user_id(), "alice@example.com");
    // Primary, signing subkey, encryption subkey: all bound.
    let fprs: Vec<&str> = cert.keys.iter().map(|k| k.fingerprint.as_str()).collect();
    assert_eq!(
        fprs,
        alice
            .fingerprints
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    assert_eq!(cert.keys[2].algorithm, "ecdh");
    assert!(cert.can_ever_sign(&cert.keys[0]));
    assert!(cert.can_ever_sign(&cert.keys[1]));
    assert!(
        !cert.can_ever_sign(&cert.keys[2]),
        "an encryption subkey never signs"
    );
    assert!(matches!(
        cert.state_at(&cert.keys[2], now()),
        KeyState::Unusable { .. }
    ));
    assert_eq!(
        cert.state_at(&cert.keys[1], now()),
        KeyState::Active { expires: None }
    );

    let binary = Certificate::parse(&cert.to_bytes()).expect("binary");
    assert_eq!(binary.primary().fingerprint, cert.primary().fingerprint);
    assert_eq!(binary.keys.len(), 3);

    let carol = Certificate::parse(&certs().carol.public).expect("rsa");
    assert_eq!(carol.primary().algorithm, "rsa3072");
    assert_eq!(carol.primary().refused, None);
}

#[test]
fn refuses_what_is_not_exactly_one_public_certificate() {
    let alice = &certs().alice;
    let carol = &certs().carol;
    let why = |bytes: &[u8]| Certificate::parse(bytes).expect_err("refused");
    assert!(why(b"ssh-ed25519 AAAA").contains("not an OpenPGP certificate"));
    assert!(why(b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n").contains("secret key"));
    let mut two = alice.public.clone();
    two.extend_from_slice(&carol.public);
    // Two armored blocks: rPGP reads the first block only, the keyring below has both.
    let keyring = armored_keyring([
        &Certificate::parse(&alice.public).expect("alice"),
        &Certificate::parse(&carol.public).expect("carol"),
    ]);
    assert!(why(keyring.as_bytes()).contains("2 certificates"));
    assert!(
        why(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n")
            .contains("not a valid")
    );
    assert!(why(&[0x99, 0x00]).contains("valid") || why(&[0x99, 0x00]).contains("no OpenPGP"));
    // Truncations of a real certificate never panic.
    let bytes = Certificate::parse(&alice.public).expect("alice").to_bytes();
    for cut in 0..bytes.len() {
        let _ = Certificate::parse(&bytes[..cut]);
    }
}

#[test]
fn expiry_is_judged_at_the_time_asked() {
    let erin = Certificate::parse(&certs().erin.public).expect("erin");
    let made = datetime!(2020-06-01 00:00:00 UTC);
    let primary = erin.primary();
    match erin.state_at(primary, made + time::Duration::days(30)) {
        KeyState::Active { expires: Some(at) } => {
            assert!(at > made && at < made + time::Duration::days(367), "{at}");
        }
        other => panic!("erin's key was valid in 2020: {other:?}"),
    }
    assert!(matches!(
        erin.state_at(primary, now()),
        KeyState::Expired { primary: true, .. }
    ));
}

/// alice's certificate with extra revocation signatures: of the primary key (`primary`) or of
/// the signing subkey, made at `created` with `code`.
fn revoked(code: RevocationCode, created: u32, primary: bool) -> Certificate {
    let alice = &certs().alice;
    let mut tpk = alice.tpk();
    let secret = &alice.secret.primary_key;
    let typ = if primary {
        SignatureType::KeyRevocation
    } else {
        SignatureType::SubkeyRevocation
    };
    let mut config = SignatureConfig::v4(typ, secret.algorithm(), HashAlgorithm::Sha256);
    config.hashed_subpackets = vec![
        Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
            created,
        )))
        .expect("subpacket"),
        Subpacket::regular(SubpacketData::IssuerFingerprint(secret.fingerprint())).expect("fp"),
        Subpacket::regular(SubpacketData::RevocationReason(code, "test".into())).expect("reason"),
    ];
    if primary {
        let sig = config
            .sign_key(secret, &Password::empty(), secret.public_key())
            .expect("revoke primary");
        tpk.details.revocation_signatures.push(sig);
    } else {
        let sub = &tpk.public_subkeys[0].key.clone();
        let sig = config
            .sign_subkey_binding(secret, secret.public_key(), &Password::empty(), sub)
            .expect("revoke subkey");
        tpk.public_subkeys[0].signatures.push(sig);
    }
    Certificate::from_tpk(tpk).expect("still a certificate")
}

#[test]
fn hard_revocations_count_always_soft_ones_from_their_time() {
    // The test certificates are made now: judge after their self-signatures.
    let made = Certificate::parse(&certs().alice.public)
        .expect("alice")
        .primary()
        .created;
    let at = made + time::Duration::days(10);
    let secs = u32::try_from(at.unix_timestamp()).expect("fits");
    let before = at - time::Duration::days(1);
    let after = at + time::Duration::days(1);

    let hard = revoked(RevocationCode::KeyCompromised, secs, true);
    for t in [before, after] {
        match hard.state_at(&hard.keys[1], t) {
            KeyState::Revoked {
                revocation,
                primary,
            } => {
                assert!(revocation.hard && primary, "{revocation:?}");
                assert!(revocation.reason.contains("key compromised: test"));
            }
            other => panic!("hard revocation at {t}: {other:?}"),
        }
    }
    let soft = revoked(RevocationCode::KeySuperseded, secs, true);
    assert!(matches!(
        soft.state_at(&soft.keys[0], before),
        KeyState::Active { .. }
    ));
    assert!(matches!(
        soft.state_at(&soft.keys[0], after),
        KeyState::Revoked { revocation, .. } if !revocation.hard
    ));

    let sub = revoked(RevocationCode::NoReason, secs, false);
    assert!(matches!(
        sub.state_at(&sub.keys[0], after),
        KeyState::Active { .. }
    ));
    assert!(matches!(
        sub.state_at(&sub.keys[1], before),
        KeyState::Revoked { primary: false, .. }
    ));
}

#[test]
fn a_revocation_by_another_key_is_ignored() {
    let mut tpk = certs().alice.tpk();
    let carol = &certs().carol.secret.primary_key;
    let alice_key = tpk.primary_key.clone();
    let mut config = SignatureConfig::v4(
        SignatureType::KeyRevocation,
        carol.algorithm(),
        HashAlgorithm::Sha256,
    );
    config.hashed_subpackets = vec![
        Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
            1,
        )))
        .expect("subpacket"),
    ];
    let sig = config
        .sign_key(carol, &Password::empty(), &alice_key)
        .expect("third-party revocation");
    tpk.details.revocation_signatures.push(sig);
    let cert = Certificate::from_tpk(tpk).expect("certificate");
    assert!(matches!(
        cert.state_at(&cert.keys[0], now()),
        KeyState::Active { .. }
    ));
}

#[test]
fn a_signing_subkey_without_back_signature_may_not_sign() {
    // alice's signing subkey, bound again without the embedded back-signature.
    let mut tpk = certs().alice.tpk();
    let alice = &certs().alice;
    let secret = &alice.secret.primary_key;
    let made = Certificate::parse(&alice.public)
        .expect("alice")
        .primary()
        .created;
    let bound = u32::try_from((made + time::Duration::days(2)).unix_timestamp()).expect("fits");
    let mut config = SignatureConfig::v4(
        SignatureType::SubkeyBinding,
        secret.algorithm(),
        HashAlgorithm::Sha256,
    );
    let mut flags = pgp::packet::KeyFlags::default();
    flags.set_sign(true);
    config.hashed_subpackets = vec![
        Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
            bound,
        )))
        .expect("subpacket"),
        Subpacket::regular(SubpacketData::KeyFlags(flags)).expect("flags"),
    ];
    let sub = tpk.public_subkeys[0].key.clone();
    let binding = config
        .sign_subkey_binding(secret, secret.public_key(), &Password::empty(), &sub)
        .expect("binding without back-signature");
    tpk.public_subkeys[0].signatures = vec![binding];
    let cert = Certificate::from_tpk(tpk).expect("certificate");
    assert!(!cert.can_ever_sign(&cert.keys[1]));
    assert!(matches!(
        cert.state_at(&cert.keys[1], made + time::Duration::days(3)),
        KeyState::Unusable { why } if why.contains("back-signature")
    ));
    // Before the binding was made, the subkey had no binding in force at all.
    assert!(matches!(
        cert.state_at(&cert.keys[1], made + time::Duration::days(1)),
        KeyState::Unusable { why } if why.contains("not in force")
    ));
}

#[test]
fn a_keyring_holds_every_certificate_for_gpg_import() {
    let alice = Certificate::parse(&certs().alice.public).expect("alice");
    let carol = Certificate::parse(&certs().carol.public).expect("carol");
    let ring = armored_keyring([&alice, &carol]);
    assert!(ring.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    assert!(
        ring.trim_end()
            .ends_with("-----END PGP PUBLIC KEY BLOCK-----")
    );
    let (many, _) =
        <pgp::composed::SignedPublicKey as pgp::composed::Deserializable>::from_armor_many(
            ring.as_bytes(),
        )
        .expect("armor");
    assert_eq!(many.count(), 2);
}
