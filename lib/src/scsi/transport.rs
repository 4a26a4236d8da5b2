//! The path from a CDB to a device and back.
//!
//! [`Transport`] is what every command in this crate is sent through. The
//! real implementation is [`super::sgio::SgIo`] (the Linux SG_IO ioctl);
//! unit tests drive control flow with scripted transports. A transport
//! returns a [`Completion`] for every command that reached the kernel; the
//! caller turns it into a result with [`Completion::check`], which sorts it
//! the way sg3_utils' pass-through layer does: good, SCSI status, sense,
//! transport error, timeout.

use std::time::Duration;

use serde::Serialize;

use super::error::{CommandName, IllegalReason, ScsiError};
use super::sense::{key, Sense};

/// Default command timeout: sg_persist's 60 s would hold a fencing operation
/// far too long on a dead path; 30 s is what the kernel's sd driver uses.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// SCSI status codes (SAM-5).
pub mod status {
    pub const GOOD: u8 = 0x00;
    pub const CHECK_CONDITION: u8 = 0x02;
    pub const CONDITION_MET: u8 = 0x04;
    pub const BUSY: u8 = 0x08;
    pub const RESERVATION_CONFLICT: u8 = 0x18;
    pub const TASK_SET_FULL: u8 = 0x28;
}

/// Linux host status DID_TIME_OUT.
pub const DID_TIME_OUT: u16 = 0x03;
/// Linux host status DID_NEXUS_FAILURE: a reservation conflict reported by
/// the host (`lib/sg_pt_linux.c`).
pub const DID_NEXUS_FAILURE: u16 = 0x11;
/// Linux driver status DRIVER_SENSE: sense data is valid.
pub const DRIVER_SENSE: u16 = 0x08;
/// Linux driver status DRIVER_TIMEOUT.
pub const DRIVER_TIMEOUT: u16 = 0x06;

/// The data phase of a command.
#[derive(Debug)]
pub enum Data<'a> {
    /// No data transfer.
    None,
    /// Data from the device into the buffer (data-in).
    In(&'a mut [u8]),
    /// Data from the buffer to the device (data-out).
    Out(&'a [u8]),
}

/// One command to send.
#[derive(Debug)]
pub struct Request<'a> {
    /// The CDB.
    pub cdb: &'a [u8],
    /// The data phase.
    pub data: Data<'a>,
    /// How long the device may take.
    pub timeout: Duration,
}

/// What came back from one command that reached the kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Completion {
    /// SCSI status byte.
    pub status: u8,
    /// Linux host (adapter) status, `DID_*`.
    pub host_status: u16,
    /// Linux driver status, `DRIVER_*`.
    pub driver_status: u16,
    /// Bytes requested but not transferred.
    pub resid: i32,
    /// How long the command took, as the kernel measured it.
    pub duration_ms: u32,
    /// Raw sense bytes, as many as the device returned.
    pub sense: Vec<u8>,
    /// True when the transport timed the command out.
    pub timed_out: bool,
}

impl Completion {
    /// Number of data-in bytes actually received out of `requested`.
    pub fn received(&self, requested: usize) -> usize {
        let resid = usize::try_from(self.resid.max(0)).unwrap_or(0);
        requested.saturating_sub(resid)
    }

    /// Sorts the outcome into success or a typed error naming `device` and
    /// `command`. Order as in sg3_utils: timeouts and transport errors first,
    /// then reservation conflict, then sense.
    pub fn check(&self, device: &str, command: &CommandName) -> Result<(), ScsiError> {
        let dev = || device.to_string();
        let cmd = || command.clone();
        if self.timed_out
            || self.host_status == DID_TIME_OUT
            || self.driver_status & 0x0f == DRIVER_TIMEOUT
        {
            return Err(ScsiError::Timeout {
                device: dev(),
                command: cmd(),
                timeout: Duration::from_millis(u64::from(self.duration_ms)),
            });
        }
        if self.status == status::RESERVATION_CONFLICT || self.host_status == DID_NEXUS_FAILURE {
            return Err(ScsiError::ReservationConflict {
                device: dev(),
                command: cmd(),
            });
        }
        if self.host_status != 0 {
            return Err(ScsiError::Transport {
                device: dev(),
                command: cmd(),
                host_status: self.host_status,
                driver_status: self.driver_status,
            });
        }
        match self.status {
            status::GOOD | status::CONDITION_MET => {}
            status::CHECK_CONDITION => return Err(self.sense_error(device, command)),
            other => {
                // Some HBAs return sense with a status other than CHECK
                // CONDITION; the status decides.
                return Err(ScsiError::Status {
                    device: dev(),
                    command: cmd(),
                    status: other,
                });
            }
        }
        // GOOD status with sense (driver_status DRIVER_SENSE) only matters
        // when it reports a deferred error or anything but RECOVERED/NO SENSE.
        if !self.sense.is_empty() && self.driver_status & 0x0f == DRIVER_SENSE {
            if let Ok(s) = Sense::decode(&self.sense) {
                if s.key != key::NO_SENSE && s.key != key::RECOVERED_ERROR {
                    return Err(self.sense_error(device, command));
                }
            }
        }
        if self.driver_status & 0x0f != 0 && self.driver_status & 0x0f != DRIVER_SENSE {
            return Err(ScsiError::Transport {
                device: dev(),
                command: cmd(),
                host_status: self.host_status,
                driver_status: self.driver_status,
            });
        }
        Ok(())
    }

    fn sense_error(&self, device: &str, command: &CommandName) -> ScsiError {
        let device = device.to_string();
        let command = command.clone();
        let sense = match Sense::decode(&self.sense) {
            Ok(s) => s,
            Err(e) => {
                return ScsiError::Malformed {
                    device,
                    command,
                    source: e,
                }
            }
        };
        match sense.key {
            key::UNIT_ATTENTION => ScsiError::UnitAttention {
                device,
                command,
                sense,
            },
            key::NOT_READY => ScsiError::NotReady {
                device,
                command,
                sense,
            },
            key::ILLEGAL_REQUEST => ScsiError::IllegalRequest {
                device,
                command,
                reason: IllegalReason::from_asc(sense.asc, sense.ascq),
                sense,
            },
            _ => ScsiError::CheckCondition {
                device,
                command,
                sense,
            },
        }
    }
}

/// Something that executes SCSI commands on one device (one I_T_L nexus).
pub trait Transport: Send + Sync {
    /// The device this transport talks to, as given by the user; it names the
    /// device in every error.
    fn device(&self) -> &str;

    /// Sends one command. `Err` only when the command could not be issued at
    /// all (the ioctl failed); every SCSI outcome, good or bad, is a
    /// [`Completion`].
    fn execute(&self, request: Request<'_>) -> std::io::Result<Completion>;
}

/// What to do when a command returns UNIT ATTENTION. A unit attention
/// reports an event (a reset, a preempt) and the retried command usually
/// succeeds; how often to retry is the caller's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a command that returned UNIT ATTENTION is re-sent.
    pub unit_attention_retries: u32,
}

impl RetryPolicy {
    /// Report the first unit attention as an error (sg_persist's behaviour).
    pub const NONE: RetryPolicy = RetryPolicy {
        unit_attention_retries: 0,
    };
    /// Absorb a few unit attentions, as fence_scsi does with TEST UNIT READY.
    pub const ABSORB: RetryPolicy = RetryPolicy {
        unit_attention_retries: 3,
    };
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::NONE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> CommandName {
        "TEST UNIT READY".into()
    }

    #[test]
    fn good_is_ok() {
        assert!(Completion::default().check("/dev/sg0", &cmd()).is_ok());
    }

    #[test]
    fn conflict_by_status_or_host() {
        let c = Completion {
            status: 0x18,
            ..Default::default()
        };
        assert!(c
            .check("/dev/sg0", &cmd())
            .unwrap_err()
            .is_reservation_conflict());
        let c = Completion {
            host_status: DID_NEXUS_FAILURE,
            ..Default::default()
        };
        assert!(c
            .check("/dev/sg0", &cmd())
            .unwrap_err()
            .is_reservation_conflict());
    }

    #[test]
    fn unit_attention_keeps_asc() {
        let c = Completion {
            status: 0x02,
            driver_status: DRIVER_SENSE,
            sense: vec![
                0x70, 0, 6, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x2a, 0x03, 0, 0, 0, 0,
            ],
            ..Default::default()
        };
        let e = c.check("/dev/sdb", &cmd()).unwrap_err();
        let s = e.sense().unwrap();
        assert_eq!((s.asc, s.ascq), (0x2a, 0x03));
        assert_eq!(e.exit_code(), 6);
        assert_eq!(
            e.to_string(),
            "/dev/sdb: TEST UNIT READY: unit attention: Reservations preempted"
        );
    }

    #[test]
    fn illegal_request_reasons_and_codes() {
        let mut sense = vec![
            0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0x00, 0, 0, 0, 0,
        ];
        let c = Completion {
            status: 2,
            sense: sense.clone(),
            ..Default::default()
        };
        let e = c.check("d", &cmd()).unwrap_err();
        assert!(matches!(
            e,
            ScsiError::IllegalRequest {
                reason: IllegalReason::InvalidOpcode,
                ..
            }
        ));
        assert_eq!(e.exit_code(), 9);
        sense[12] = 0x26;
        let c = Completion {
            status: 2,
            sense,
            ..Default::default()
        };
        let e = c.check("d", &cmd()).unwrap_err();
        assert!(matches!(
            e,
            ScsiError::IllegalRequest {
                reason: IllegalReason::InvalidFieldInParameterList,
                ..
            }
        ));
        assert_eq!(e.exit_code(), 5);
    }

    #[test]
    fn timeout_transport_and_busy() {
        let c = Completion {
            timed_out: true,
            duration_ms: 500,
            ..Default::default()
        };
        assert_eq!(c.check("d", &cmd()).unwrap_err().exit_code(), 33);
        let c = Completion {
            host_status: 0x01,
            ..Default::default()
        };
        let e = c.check("d", &cmd()).unwrap_err();
        assert!(e.to_string().contains("DID_NO_CONNECT"), "{e}");
        assert_eq!(e.exit_code(), 99);
        let c = Completion {
            status: 0x08,
            ..Default::default()
        };
        assert_eq!(c.check("d", &cmd()).unwrap_err().exit_code(), 26);
    }

    #[test]
    fn check_condition_with_garbage_sense_is_malformed() {
        let c = Completion {
            status: 2,
            sense: vec![0x01, 0x02],
            ..Default::default()
        };
        assert_eq!(c.check("d", &cmd()).unwrap_err().exit_code(), 97);
    }

    #[test]
    fn received_counts_resid() {
        let c = Completion {
            resid: 100,
            ..Default::default()
        };
        assert_eq!(c.received(8192), 8092);
        let c = Completion {
            resid: -5,
            ..Default::default()
        };
        assert_eq!(c.received(10), 10);
        let c = Completion {
            resid: 50,
            ..Default::default()
        };
        assert_eq!(c.received(10), 0);
    }
}
