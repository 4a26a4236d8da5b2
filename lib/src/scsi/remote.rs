//! A transport for a device on another host: each command runs there as
//! `PREFIX sg_raw ... DEVICE CDB`, where PREFIX reaches the host (`ssh
//! node2`, `virsh console`-style wrappers, or nothing for a local test).
//! Data-in comes back on sg_raw's standard output (`-b`), data-out goes to
//! its standard input. sg_raw reports the outcome only as its exit status
//! (sg3_utils categories), so the completion is rebuilt from it: GOOD,
//! RESERVATION CONFLICT, or CHECK CONDITION with sense that carries the
//! sense key (and, for an invalid operation code, its ASC) — enough for
//! every decision fencekit takes, not a full sense report.
//!
//! The command runs without a shell: the prefix is split on white space
//! into words, and each argument is passed as it is (no quoting, no
//! expansion here; a prefix such as `ssh` hands them to the remote shell
//! as it does). It has a deadline (the command's timeout plus a grace
//! period), after which it is killed and the command counts as timed out;
//! its standard output and error are read concurrently, so neither can
//! fill up and block it.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::error::Category;
use super::transport::{status, Completion, Data, Request, Transport};

/// Runs commands on a device through `PREFIX sg_raw`.
#[derive(Debug, Clone)]
pub struct CommandTransport {
    prefix: String,
    /// The device on the remote host.
    remote_device: String,
    /// The name in messages: the device and how it is reached.
    shown: String,
    /// How long past the command's own timeout the process may run.
    pub grace: Duration,
}

/// The default of [`CommandTransport::grace`]: room for the prefix (an
/// ssh connection) on top of sg_raw's own timeout.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// Quotes `s` for a POSIX shell (for messages only).
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-:,=+@".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl CommandTransport {
    /// A transport to `device` on the host that `prefix` reaches.
    pub fn new(prefix: &str, device: &str) -> CommandTransport {
        CommandTransport {
            prefix: prefix.to_string(),
            remote_device: device.to_string(),
            shown: if prefix.trim().is_empty() {
                device.to_string()
            } else {
                format!("{device} (via {prefix})")
            },
            grace: DEFAULT_GRACE,
        }
    }

    /// The argument vector for one request: the prefix's words, then
    /// `sg_raw -b -t SECS [-r N | -s N] DEVICE CDB...`.
    pub fn argv(&self, r: &Request<'_>) -> Vec<String> {
        let mut v: Vec<String> = self.prefix.split_whitespace().map(str::to_string).collect();
        v.extend(["sg_raw".into(), "-b".into(), "-t".into()]);
        v.push(r.timeout.as_secs().max(1).to_string());
        match &r.data {
            Data::In(b) => v.extend(["-r".into(), b.len().to_string()]),
            Data::Out(b) => v.extend(["-s".into(), b.len().to_string()]),
            Data::None => {}
        }
        v.push(self.remote_device.clone());
        v.extend(r.cdb.iter().map(|b| format!("{b:02x}")));
        v
    }

    /// The command for one request, as a shell would show it (messages).
    pub fn command_line(&self, r: &Request<'_>) -> String {
        self.argv(r)
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The completion sg_raw's exit status stands for; None for statuses that
/// say the command was not carried out (syntax, open or OS errors).
pub fn completion_from_exit(code: i32) -> Option<Completion> {
    let check = |key: u8, asc: u8| Completion {
        status: status::CHECK_CONDITION,
        sense: vec![0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, 0, 0, 0, 0, 0],
        ..Default::default()
    };
    let cat = |c: Category| i32::from(c.exit_code());
    Some(match code {
        0 => Completion::default(),
        c if c == cat(Category::ReservationConflict) => Completion {
            status: status::RESERVATION_CONFLICT,
            ..Default::default()
        },
        c if c == cat(Category::UnitAttention) => check(6, 0),
        c if c == cat(Category::NotReady) => check(2, 0),
        c if c == cat(Category::MediumHard) => check(3, 0),
        c if c == cat(Category::IllegalRequest) => check(5, 0x24),
        c if c == cat(Category::InvalidOpcode) => check(5, 0x20),
        c if c == cat(Category::DataProtect) => check(7, 0),
        c if c == cat(Category::AbortedCommand) => check(0xb, 0),
        c if c == cat(Category::Busy) => Completion {
            status: status::BUSY,
            ..Default::default()
        },
        c if c == cat(Category::Timeout) => Completion {
            timed_out: true,
            ..Default::default()
        },
        _ => return None,
    })
}

impl Transport for CommandTransport {
    fn device(&self) -> &str {
        &self.shown
    }

    fn execute(&self, r: Request<'_>) -> std::io::Result<Completion> {
        let argv = self.argv(&r);
        let line = self.command_line(&r);
        let (prog, args) = argv
            .split_first()
            .ok_or_else(|| std::io::Error::other("empty command"))?;
        let started = Instant::now();
        let deadline = started + r.timeout + self.grace;
        let mut child = Command::new(prog)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let input: Vec<u8> = match &r.data {
            Data::Out(b) => b.to_vec(),
            _ => Vec::new(),
        };
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (status, out, err) = std::thread::scope(|s| {
            // Feed stdin and drain both outputs at the same time.
            s.spawn(move || {
                if let Some(mut w) = stdin {
                    let _ = w.write_all(&input);
                }
            });
            let out = s.spawn(move || {
                let mut v = Vec::new();
                if let Some(mut o) = stdout {
                    let _ = o.read_to_end(&mut v);
                }
                v
            });
            let err = s.spawn(move || {
                let mut v = Vec::new();
                if let Some(mut e) = stderr {
                    let _ = e.read_to_end(&mut v);
                }
                v
            });
            let status = loop {
                match child.try_wait() {
                    Ok(Some(st)) => break Ok(Some(st)),
                    Ok(None) if Instant::now() >= deadline => {
                        // Killing the child closes its pipes (unless it
                        // left children of its own holding them; those are
                        // its process group's to clean up).
                        let _ = child.kill();
                        let _ = child.wait();
                        break Ok(None);
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                    Err(e) => break Err(e),
                }
            };
            (
                status,
                out.join().unwrap_or_default(),
                err.join().unwrap_or_default(),
            )
        });
        let Some(st) = status? else {
            return Ok(Completion {
                timed_out: true,
                duration_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
                ..Default::default()
            });
        };
        let code = st.code().unwrap_or(-1);
        let err = String::from_utf8_lossy(&err);
        let mut c = completion_from_exit(code).ok_or_else(|| {
            std::io::Error::other(format!("`{line}` exited {code}: {}", err.trim()))
        })?;
        if let Data::In(buf) = r.data {
            let n = out.len().min(buf.len());
            buf[..n].copy_from_slice(&out[..n]);
            c.resid = i32::try_from(buf.len() - n).unwrap_or(i32::MAX);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scsi::cdb;
    use std::time::Duration;

    #[test]
    fn command_lines_quote_the_device_and_carry_lengths() {
        let t = CommandTransport::new("ssh node2", "/dev/disk/by-id/it's");
        let mut buf = [0u8; 8];
        let cdb = cdb::persistent_reserve_in(0, 8);
        let r = Request {
            cdb: &cdb,
            data: Data::In(&mut buf),
            timeout: Duration::from_secs(30),
        };
        assert_eq!(
            t.command_line(&r),
            r"ssh node2 sg_raw -b -t 30 -r 8 '/dev/disk/by-id/it'\''s' 5e 00 00 00 00 00 00 00 08 00"
        );
        assert_eq!(t.device(), "/dev/disk/by-id/it's (via ssh node2)");
    }

    #[test]
    fn exit_statuses_become_completions() {
        let dev = "d";
        let name = "X".into();
        assert!(completion_from_exit(0).unwrap().check(dev, &name).is_ok());
        assert!(completion_from_exit(24)
            .unwrap()
            .check(dev, &name)
            .unwrap_err()
            .is_reservation_conflict());
        assert!(completion_from_exit(6)
            .unwrap()
            .check(dev, &name)
            .unwrap_err()
            .is_unit_attention());
        assert_eq!(
            completion_from_exit(9)
                .unwrap()
                .check(dev, &name)
                .unwrap_err()
                .exit_code(),
            9
        );
        assert_eq!(
            completion_from_exit(5)
                .unwrap()
                .check(dev, &name)
                .unwrap_err()
                .exit_code(),
            5
        );
        assert!(completion_from_exit(1).is_none());
        assert!(completion_from_exit(52).is_none());
    }

    #[test]
    fn a_prefix_that_fails_is_an_os_error() {
        // `false` swallows the command and exits 1: nothing was sent.
        let t = CommandTransport::new("false", "/dev/sg0");
        let cdb = cdb::test_unit_ready();
        let r = t.execute(Request {
            cdb: &cdb,
            data: Data::None,
            timeout: Duration::from_secs(1),
        });
        assert!(r.is_err());
    }

    /// A script that records its arguments, one a line, then runs `tail`.
    fn recorder(dir: &std::path::Path, tail: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("peer");
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > {}\n{tail}\n",
                dir.join("argv").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.display().to_string()
    }

    #[test]
    fn peer_cmd_runs_without_a_shell() {
        let t = tempfile::tempdir().unwrap();
        let peer = recorder(t.path(), "exit 0");
        // Shell syntax in the prefix or the device is passed on as it is.
        let tr = CommandTransport::new(&format!("{peer} a|b;c"), "/dev/$(id)");
        let cdb = cdb::test_unit_ready();
        tr.execute(Request {
            cdb: &cdb,
            data: Data::None,
            timeout: Duration::from_secs(5),
        })
        .unwrap();
        let argv = std::fs::read_to_string(t.path().join("argv")).unwrap();
        assert_eq!(
            argv,
            "a|b;c\nsg_raw\n-b\n-t\n5\n/dev/$(id)\n00\n00\n00\n00\n00\n00\n"
        );
    }

    #[test]
    fn peer_cmd_has_a_deadline() {
        let t = tempfile::tempdir().unwrap();
        let peer = recorder(t.path(), "exec sleep 30");
        let mut tr = CommandTransport::new(&peer, "/dev/sg0");
        tr.grace = Duration::from_millis(200);
        let cdb = cdb::test_unit_ready();
        let start = std::time::Instant::now();
        let c = tr
            .execute(Request {
                cdb: &cdb,
                data: Data::None,
                timeout: Duration::from_secs(1),
            })
            .unwrap();
        assert!(c.timed_out, "{c:?}");
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn peer_cmd_reads_stdout_and_stderr_together() {
        // 200 KB on stderr before anything on stdout: reading stdout to the
        // end first would wait for ever on a child blocked on a full pipe.
        let t = tempfile::tempdir().unwrap();
        let peer = recorder(
            t.path(),
            "head -c 200000 /dev/zero | tr '\\0' e >&2; printf 'abcd'",
        );
        let tr = CommandTransport::new(&peer, "/dev/sg0");
        let cdb = cdb::inquiry(None, 4);
        let mut buf = [0u8; 4];
        let c = tr
            .execute(Request {
                cdb: &cdb,
                data: Data::In(&mut buf),
                timeout: Duration::from_secs(20),
            })
            .unwrap();
        assert!(!c.timed_out);
        assert_eq!(&buf, b"abcd");
    }
}
