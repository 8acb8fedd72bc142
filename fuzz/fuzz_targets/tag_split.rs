//! Tag signature splitting: `verify::split_tag` on any raw tag object.
//!
//! git's rule: the signature starts at the last line of the message that begins with an
//! armor header. So the payload and the signature concatenate back to the object, the
//! signature starts with an armor header at the start of a line in the message, and no
//! later line starts one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refguard::verify::split_tag;

const ARMOR: [&[u8]; 4] = [
    b"-----BEGIN PGP SIGNATURE-----",
    b"-----BEGIN PGP MESSAGE-----",
    b"-----BEGIN SIGNED MESSAGE-----",
    b"-----BEGIN SSH SIGNATURE-----",
];

fn is_armor(line: &[u8]) -> bool {
    ARMOR.iter().any(|h| line.starts_with(h))
}

fuzz_target!(|raw: &[u8]| {
    let (payload, signature) = split_tag(raw);
    let Some(signature) = signature else {
        assert_eq!(payload, raw, "an unsigned tag is its own payload");
        return;
    };

    assert_eq!([&payload[..], &signature[..]].concat(), raw);
    assert!(
        is_armor(&signature),
        "the signature starts with an armor header"
    );
    assert!(
        payload.is_empty() || payload.ends_with(b"\n"),
        "the signature starts at the start of a line"
    );
    // The headers (up to the first empty line) stay in the payload.
    let headers_end = raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    assert!(
        headers_end.is_some_and(|end| payload.len() >= end),
        "the split point is inside the headers"
    );
    // The last armor line: none after the first line of the signature.
    assert!(
        !signature
            .split_inclusive(|&b| b == b'\n')
            .skip(1)
            .any(is_armor),
        "a later armor line"
    );
});
