//! roles.toml: `policy::parse` and `policy::lint` on any UTF-8 text.
//!
//! They must agree: parse succeeds exactly when lint reports no error, and when parse fails
//! it reports the same errors as lint. Every diagnostic stays on one line and points inside
//! the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refguard::policy::{self, Severity};
use refguard_fuzz::assert_one_line;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = policy::parse(text);
    let linted = policy::lint(text);
    let lint_errors: Vec<_> = linted
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .cloned()
        .collect();
    match &parsed {
        Ok(_) => assert!(
            lint_errors.is_empty(),
            "parse accepts what lint rejects: {lint_errors:?}"
        ),
        Err(errors) => {
            assert!(!errors.is_empty(), "parse failed without saying why");
            assert_eq!(
                errors, &lint_errors,
                "parse and lint disagree on the errors"
            );
        }
    }

    // A location is on one of the text's lines, or just after a final newline.
    let lines = text.matches('\n').count() + 1;
    for d in &linted {
        assert!(d.location.line >= 1 && d.location.col >= 1, "{d:?}");
        assert!(
            d.location.line <= lines,
            "{d:?} is past the end ({lines} lines)"
        );
        assert!(!d.code.is_empty());
        assert_one_line("lint diagnostic", &d.render("roles.toml"));
        for shown in d.render_with_source("roles.toml", text) {
            assert_one_line("lint source view", &shown);
        }
    }
});
