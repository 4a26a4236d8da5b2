//! A transport for a device on another host: each command runs there as
//! `PREFIX sg_raw ... DEVICE CDB`, where PREFIX reaches the host (`ssh
//! node2`, `virsh console`-style wrappers, or nothing for a local test).
//! Data-in comes back on sg_raw's standard output (`-b`), data-out goes to
//! its standard input. sg_raw reports the outcome only as its exit status
//! (sg3_utils categories), so the completion is rebuilt from it: GOOD,
//! RESERVATION CONFLICT, or CHECK CONDITION with sense that carries the
//! sense key (and, for an invalid operation code, its ASC) — enough for
//! every decision fencekit takes, not a full sense report.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

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
}

/// Quotes `s` for a POSIX shell.
fn shell_quote(s: &str) -> String {
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
        }
    }

    /// The shell command line for one request.
    pub fn command_line(&self, r: &Request<'_>) -> String {
        let mut c = format!(
            "{} sg_raw -b -t {}",
            self.prefix,
            r.timeout.as_secs().max(1)
        );
        match &r.data {
            Data::In(b) => c.push_str(&format!(" -r {}", b.len())),
            Data::Out(b) => c.push_str(&format!(" -s {}", b.len())),
            Data::None => {}
        }
        c.push(' ');
        c.push_str(&shell_quote(&self.remote_device));
        for b in r.cdb {
            c.push_str(&format!(" {b:02x}"));
        }
        c.trim_start().to_string()
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
        let line = self.command_line(&r);
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&line)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut stdin = child.stdin.take();
        if let (Data::Out(b), Some(w)) = (&r.data, stdin.as_mut()) {
            w.write_all(b)?;
        }
        drop(stdin);
        let mut out = Vec::new();
        if let Some(mut o) = child.stdout.take() {
            o.read_to_end(&mut out)?;
        }
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let st = child.wait()?;
        let code = st.code().unwrap_or(-1);
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
}
