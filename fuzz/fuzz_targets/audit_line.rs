//! Audit log lines: `audit::record::parse_line` on any line, as `audit verify` and
//! `audit log` read a log that may have been tampered with.
//!
//! A record that parses writes back as a line that parses to the same record, and writing
//! is then stable; an error is one line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refguard::audit::record::parse_line;
use refguard_fuzz::assert_one_line;

fuzz_target!(|line: &[u8]| {
    match parse_line(line) {
        Err(e) => assert_one_line("audit line error", &e),
        Ok(record) => {
            let written = record.to_line().expect("a parsed record serializes");
            assert!(!written.contains('\n'), "a record is one line");
            let again = parse_line(written.as_bytes()).expect("a written record parses");
            // `time` is written in whole seconds; everything else round-trips exactly.
            assert_eq!(again.to_line().expect("serializes"), written);
            assert_eq!(
                again.time.unix_timestamp(),
                record.time.unix_timestamp(),
                "time"
            );
            let mut again = again;
            again.time = record.time;
            assert_eq!(again, record);
        }
    }
});
