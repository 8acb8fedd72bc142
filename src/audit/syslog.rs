//! Audit shipping: each record, as written to the hash-chained log, also sent to the local
//! syslog daemon (or journald, which listens on the same socket) as one RFC 5424 message over
//! a Unix datagram socket, so that a SIEM receives every decision. It is a second sink and
//! never a judge: the local log decides, a send never waits (the socket is non-blocking: a
//! full or missing receiver is an error at once, never a pause in the push), and a failure
//! is only reported to the caller, which logs it as a diagnostic.
//!
//! The framing follows RFC 5424 §6 and matches what util-linux `logger --rfc5424 -u SOCKET`
//! writes (the reference implementation used to check it, see the tests):
//! `<PRI>1 TIMESTAMP HOSTNAME refguard PROCID MSGID - MSG`, where PRI is facility `authpriv`
//! (10, access-control decisions, as sshd and sudo log them) with severity `notice` for an
//! accept and `warning` for a reject, MSGID is the decision, there is no structured data,
//! and MSG is the record's JSON line exactly as logged (with its `prev`, so the receiver can
//! check the chain too), UTF-8 without a BOM as `logger` sends it.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

use time::OffsetDateTime;
use time::macros::format_description;

use super::Decision;

/// The local syslog socket when `refguard.auditSyslogSocket` is not set.
pub const DEFAULT_SOCKET: &str = "/dev/log";

/// The syslog facility `authpriv` (RFC 5424 §6.2.1, code 10).
const FACILITY_AUTHPRIV: u8 = 10;
/// Severity of an accepted update: notice.
const SEVERITY_NOTICE: u8 = 5;
/// Severity of a rejected update: warning.
const SEVERITY_WARNING: u8 = 4;

/// One audit line framed as an RFC 5424 message. `hostname` is used as given when it is a
/// valid HOSTNAME field (printable US-ASCII without spaces, 1–255 characters), else `-`.
pub fn frame(
    line: &str,
    decision: Decision,
    time: OffsetDateTime,
    hostname: &str,
    pid: u32,
) -> String {
    let severity = match decision {
        Decision::Accept => SEVERITY_NOTICE,
        Decision::Reject => SEVERITY_WARNING,
    };
    let pri = FACILITY_AUTHPRIV * 8 + severity;
    let timestamp = time
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .unwrap_or_else(|_| "-".to_string());
    let valid_host =
        (1..=255).contains(&hostname.len()) && hostname.bytes().all(|b| (33..=126).contains(&b));
    let host = if valid_host { hostname } else { "-" };
    format!("<{pri}>1 {timestamp} {host} refguard {pid} {decision} - {line}")
}

/// This machine's host name as the kernel knows it, or `-` (RFC 5424's NILVALUE).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "-".to_string())
}

/// Sends each message as one datagram to the socket at `socket`, without ever blocking.
/// Stops at the first failure (a missing socket, no listener, a full receive queue) and
/// returns it; `Ok` counts the messages sent.
pub fn send(socket: &Path, messages: &[String]) -> io::Result<usize> {
    let sock = UnixDatagram::unbound()?;
    sock.set_nonblocking(true)?;
    sock.connect(socket)?;
    for (sent, message) in messages.iter().enumerate() {
        if let Err(e) = sock.send(message.as_bytes()) {
            return Err(io::Error::new(
                e.kind(),
                format!("sent {sent} of {}: {e}", messages.len()),
            ));
        }
    }
    Ok(messages.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use time::macros::datetime;

    #[test]
    fn frame_is_rfc5424_with_the_line_as_message() {
        let line = r#"{"v":2,"ref":"refs/heads/main","decision":"accept","prev":"00"}"#;
        let t = datetime!(2026-11-30 12:00:00.123456789 UTC);
        assert_eq!(
            frame(line, Decision::Accept, t, "git1", 42),
            format!("<85>1 2026-11-30T12:00:00.123456Z git1 refguard 42 accept - {line}")
        );
        assert_eq!(
            frame(line, Decision::Reject, t, "bad host", 7),
            format!("<84>1 2026-11-30T12:00:00.123456Z - refguard 7 reject - {line}")
        );
        assert!(frame("x", Decision::Accept, t, "", 1).contains(" - refguard 1 "));
    }

    /// The framing agrees with util-linux `logger --rfc5424`, field by field, except the
    /// structured data `logger` adds about its clock (`timeQuality`), which refguard omits.
    #[test]
    fn frame_agrees_with_logger() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log.sock");
        let receiver = UnixDatagram::bind(&path).expect("bind");
        let line = r#"{"v":2,"user":"é"}"#;
        let status = Command::new("logger")
            .args(["--rfc5424", "-p", "authpriv.warning", "-t", "refguard"])
            .args(["--id=4242", "--msgid", "reject", "-u"])
            .arg(&path)
            .arg(line)
            .status();
        let Ok(status) = status else {
            eprintln!("logger is not installed; skipping the comparison");
            return;
        };
        assert!(status.success());
        let mut buf = vec![0u8; 4096];
        let n = receiver.recv(&mut buf).expect("logger's message");
        let theirs = String::from_utf8(buf[..n].to_vec()).expect("UTF-8");
        let ours = frame(line, Decision::Reject, OffsetDateTime::now_utc(), "h", 4242);
        let fields = |m: &str| -> Vec<String> {
            let f: Vec<&str> = m.splitn(7, ' ').collect();
            // PRI+VERSION, APP-NAME, PROCID, MSGID, and the message after the SD.
            let msg = m.rsplit_once("] ").map_or(f[6], |(_, msg)| msg);
            let msg = msg.strip_prefix("- ").unwrap_or(msg);
            vec![
                f[0].into(),
                f[3].into(),
                f[4].into(),
                f[5].into(),
                msg.into(),
            ]
        };
        assert_eq!(
            fields(&ours),
            fields(&theirs),
            "ours {ours:?}\ntheirs {theirs:?}"
        );
    }

    #[test]
    fn send_delivers_each_message_as_one_datagram() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log.sock");
        let receiver = UnixDatagram::bind(&path).expect("bind");
        let messages = vec!["<85>1 a".to_string(), "<84>1 b".to_string()];
        assert_eq!(send(&path, &messages).expect("sent"), 2);
        let mut buf = [0u8; 64];
        for want in &messages {
            let n = receiver.recv(&mut buf).expect("recv");
            assert_eq!(&buf[..n], want.as_bytes());
        }
    }

    #[test]
    fn send_fails_at_once_without_a_listener_or_with_a_full_queue() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing.sock");
        assert!(send(&missing, &["x".to_string()]).is_err());

        let path = dir.path().join("full.sock");
        let _receiver = UnixDatagram::bind(&path).expect("bind");
        // Fill the receiver's queue; nobody reads it.
        let filler = UnixDatagram::unbound().expect("socket");
        filler.set_nonblocking(true).expect("non-blocking");
        let chunk = vec![b'x'; 4096];
        while filler.send_to(&chunk, &path).is_ok() {}
        let started = std::time::Instant::now();
        let err = send(&path, &["y".to_string()]).expect_err("the queue is full");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
