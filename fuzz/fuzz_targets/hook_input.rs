//! Hook input: pre-receive's stdin lines and the update hook's three arguments.
//!
//! The whole input is parsed as pre-receive's standard input; it is also split at NUL bytes
//! (as argv is) and parsed as the update hook's arguments. The two parsers must agree: a
//! ref update accepted as arguments must be accepted as the same single stdin line, and
//! every accepted line must survive being written back and parsed again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refguard::engine::RefUpdate;
use refguard::hook::{parse_pre_receive, parse_update_args};
use refguard_fuzz::assert_one_line;

/// The stdin line git writes for `update`.
fn line(update: &RefUpdate) -> String {
    format!("{} {} {}\n", update.old, update.new, update.refname)
}

fn check_update(update: &RefUpdate) {
    assert!(update.refname.starts_with("refs/"), "{update:?}");
    assert!(
        !(update.old.is_zero() && update.new.is_zero()),
        "{update:?}"
    );
    assert_eq!(update.old.as_str().len(), update.new.as_str().len());
    assert_one_line("accepted ref name", &update.refname);
}

fuzz_target!(|data: &[u8]| {
    match parse_pre_receive(data) {
        Ok(updates) => {
            assert!(!updates.is_empty());
            let mut again = String::new();
            for update in &updates {
                check_update(update);
                again.push_str(&line(update));
            }
            let reparsed = parse_pre_receive(again.as_bytes()).expect("written back, parses");
            assert_eq!(reparsed, updates);
        }
        Err(e) => {
            // The message goes to the pusher as `remote:` lines; `{:?}` quoting keeps the
            // offending line on one line.
            assert_one_line("hook input error", &e.to_string());
        }
    }

    let args: Vec<String> = data
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    match parse_update_args(&args) {
        Ok(update) => {
            check_update(&update);
            let as_stdin = parse_pre_receive(line(&update).as_bytes())
                .expect("arguments the update hook accepts parse as a stdin line");
            assert_eq!(as_stdin, [update]);
        }
        Err(e) => assert_one_line("update argument error", &e.to_string()),
    }
});
