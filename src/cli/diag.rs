//! Diagnostics (spec §15): which `tracing` subscriber this process runs, if any, and where
//! its output goes. Commands run by a person log to stderr. A hook's stderr is the pusher's
//! screen: it shows at most the one `info` line per accepted ref, and everything else goes
//! to `refguard.logFile` (a file, or journald). Verdicts are not diagnostics and never pass
//! through here.
//!
//! With `REFGUARD_LOG` unset no subscriber is installed at all, so every span and event in
//! the code is a disabled callsite (one relaxed atomic load) and costs nothing measurable.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::Registry;
use tracing_subscriber::util::SubscriberInitExt;

/// The target of the one diagnostic a pusher may see: `refguard: accepted REF (..) ...`.
pub const ACCEPTED: &str = "refguard::accepted";

/// The value of `refguard.logFile` that sends a hook's diagnostics to journald.
pub const JOURNALD: &str = "journald";

/// How diagnostics are written (`REFGUARD_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// What `REFGUARD_LOG` and `REFGUARD_LOG_FORMAT` ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// An `EnvFilter` directive string, e.g. `info` or `refguard::engine=trace`.
    pub directives: String,
    /// The output format.
    pub format: LogFormat,
    /// Why the given filter was not usable (then `directives` is `warn`, so that this
    /// very problem is reported where diagnostics go).
    pub problem: Option<String>,
}

impl Settings {
    /// The settings from the process environment; `None` when diagnostics are off.
    pub fn from_env() -> Option<Settings> {
        Settings::from_values(
            std::env::var_os("REFGUARD_LOG").as_deref(),
            std::env::var_os("REFGUARD_LOG_FORMAT").as_deref(),
        )
    }

    /// The settings for these values of `REFGUARD_LOG` and `REFGUARD_LOG_FORMAT`. Unset,
    /// empty, `0` and `off` mean off; `1` (and `true`, `yes`, `on`) mean `info`, which is
    /// what `REFGUARD_LOG=1` meant before filters existed.
    pub fn from_values(log: Option<&OsStr>, format: Option<&OsStr>) -> Option<Settings> {
        let raw = log?.to_string_lossy();
        let raw = raw.trim();
        let directives = match raw.to_ascii_lowercase().as_str() {
            "" | "0" | "off" | "false" | "no" => return None,
            "1" | "true" | "yes" | "on" => "info".to_string(),
            _ => raw.to_string(),
        };
        let format = match format.map(|f| f.to_string_lossy().trim().to_ascii_lowercase()) {
            Some(f) if f == "json" => LogFormat::Json,
            _ => LogFormat::Text,
        };
        Some(match EnvFilter::builder().parse(&directives) {
            Ok(_) => Settings {
                directives,
                format,
                problem: None,
            },
            Err(e) => Settings {
                directives: "warn".to_string(),
                format,
                problem: Some(format!(
                    "REFGUARD_LOG={} is not a valid filter ({e}); logging warnings only",
                    crate::text::escape(raw)
                )),
            },
        })
    }

    fn filter(&self) -> EnvFilter {
        EnvFilter::builder()
            .parse(&self.directives)
            .unwrap_or_else(|_| EnvFilter::new("warn"))
    }

    /// Reports, through the installed subscriber, why the filter was not usable.
    fn report_problem(&self) {
        if let Some(problem) = &self.problem {
            tracing::warn!("{problem}");
        }
    }
}

/// Where a hook writes the diagnostics a pusher must not see (`refguard.logFile`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookSink {
    /// Not configured: only the pusher line (at `info`) is written.
    Nowhere,
    /// A file, appended to.
    File(PathBuf),
    /// The systemd journal (`refguard.logFile = journald`).
    Journald,
}

impl HookSink {
    /// The sink a `refguard.logFile` value names; a relative path is relative to the
    /// repository's git directory, like `refguard.auditLog`.
    pub fn from_setting(value: Option<&str>, git_dir: &Path) -> HookSink {
        match value.map(str::trim) {
            None | Some("") => HookSink::Nowhere,
            Some(JOURNALD) => HookSink::Journald,
            Some(path) => {
                let path = PathBuf::from(path);
                HookSink::File(if path.is_absolute() {
                    path
                } else {
                    git_dir.join(path)
                })
            }
        }
    }
}

/// Installs the subscriber of a command run by a person: everything the filter enables goes
/// to stderr. Does nothing when diagnostics are off.
pub fn init_person(settings: Option<&Settings>) {
    let Some(settings) = settings else {
        return;
    };
    let layer = formatted(settings.format, std::io::stderr).with_filter(settings.filter());
    // A subscriber can be set once per process; a second attempt changes nothing.
    let _ = Registry::default().with(layer).try_init();
    settings.report_problem();
}

/// Installs the subscriber of a hook: the `info` line per accepted ref goes to stderr (the
/// pusher's screen) when the filter enables it, and everything the filter enables goes to
/// `sink`, never to the pusher. A sink that cannot be opened is skipped: diagnostics never
/// change a decision, and saying so on stderr would show the pusher a server path.
pub fn init_hook(settings: &Settings, sink: &HookSink) {
    let pusher = PusherLine
        .with_filter(settings.filter().and(filter_fn(|m| {
            m.target() == ACCEPTED && *m.level() == Level::INFO
        })))
        .boxed();
    let detail: Option<Box<dyn Layer<Registry> + Send + Sync>> = match sink {
        HookSink::Nowhere => None,
        HookSink::File(path) => OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .ok()
            .map(|file| {
                formatted(settings.format, Mutex::new(file))
                    .with_filter(settings.filter())
                    .boxed()
            }),
        HookSink::Journald => tracing_journald::layer().ok().map(|journal| {
            journal
                .with_syslog_identifier("refguard".to_string())
                .with_filter(settings.filter())
                .boxed()
        }),
    };
    let layers: Vec<_> = std::iter::once(pusher).chain(detail).collect();
    let _ = Registry::default().with(layers).try_init();
    settings.report_problem();
}

/// A `fmt` layer writing to `writer` in `format`, with one event per closed span carrying
/// its busy and idle time (the timings of a push's phases).
fn formatted<W>(format: LogFormat, writer: W) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_span_events(FmtSpan::CLOSE);
    match format {
        LogFormat::Text => layer.boxed(),
        LogFormat::Json => layer
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    }
}

/// Writes the message of each event it is given to stderr, as it is: the pusher line, which
/// keeps the exact form it had before diagnostics used `tracing`.
struct PusherLine;

impl<S: Subscriber> Layer<S> for PusherLine {
    fn on_event(&self, event: &Event<'_>, _cx: Context<'_, S>) {
        let mut message = Message(None);
        event.record(&mut message);
        if let Some(line) = message.0 {
            eprintln!("{line}");
        }
    }
}

/// The `message` field of an event.
struct Message(Option<String>);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(log: Option<&str>, format: Option<&str>) -> Option<Settings> {
        Settings::from_values(log.map(OsStr::new), format.map(OsStr::new))
    }

    #[test]
    fn refguard_log_values() {
        for off in [None, Some(""), Some("0"), Some("off"), Some(" OFF ")] {
            assert_eq!(settings(off, None), None, "{off:?}");
        }
        for info in ["1", "true", "yes", "on", "info"] {
            let s = settings(Some(info), None).expect("on");
            assert_eq!(s.directives, "info", "{info}");
            assert_eq!(s.format, LogFormat::Text);
            assert_eq!(s.problem, None);
        }
        let s = settings(Some("refguard::engine=trace,info"), Some("json")).expect("on");
        assert_eq!(s.directives, "refguard::engine=trace,info");
        assert_eq!(s.format, LogFormat::Json);
        assert_eq!(
            settings(Some("debug"), Some("yaml")).expect("on").format,
            LogFormat::Text
        );
    }

    #[test]
    fn an_invalid_filter_logs_warnings_and_says_why() {
        let s = settings(Some("refguard=loud"), None).expect("on");
        assert_eq!(s.directives, "warn");
        let problem = s.problem.expect("a problem");
        assert!(problem.contains("REFGUARD_LOG=refguard=loud"), "{problem}");
    }

    #[test]
    fn log_file_setting() {
        let git_dir = Path::new("/srv/git/p.git");
        assert_eq!(HookSink::from_setting(None, git_dir), HookSink::Nowhere);
        assert_eq!(
            HookSink::from_setting(Some(" "), git_dir),
            HookSink::Nowhere
        );
        assert_eq!(
            HookSink::from_setting(Some("journald"), git_dir),
            HookSink::Journald
        );
        assert_eq!(
            HookSink::from_setting(Some("/var/log/refguard.log"), git_dir),
            HookSink::File("/var/log/refguard.log".into())
        );
        assert_eq!(
            HookSink::from_setting(Some("refguard/diag.log"), git_dir),
            HookSink::File("/srv/git/p.git/refguard/diag.log".into())
        );
    }
}
