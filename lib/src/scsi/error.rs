//! Errors of the SCSI layer.
//!
//! Two kinds: [`DecodeError`] for bytes that do not parse (a device response,
//! a saved capture, a parameter given on the command line), and [`ScsiError`]
//! for a command that did not complete with GOOD status. A `ScsiError` keeps
//! the device and the command, so its message names both, and callers branch
//! on its variants: reservation conflict, unit attention, not ready, illegal
//! request and so on. [`ScsiError::category`] sorts every error into the
//! sg3_utils exit-status categories (`SG_LIB_CAT_*` in `sg_lib.h`).

use std::fmt;
use std::time::Duration;

use super::sense::Sense;

pub use super::category::Category;
pub use super::decode::DecodeError;

/// Why a device answered ILLEGAL REQUEST, from the ASC/ASCQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IllegalReason {
    /// 20/00 INVALID COMMAND OPERATION CODE: the device lacks the command.
    InvalidOpcode,
    /// 24/00 INVALID FIELD IN CDB (often: service action not supported).
    InvalidFieldInCdb,
    /// 26/xx INVALID FIELD IN PARAMETER LIST.
    InvalidFieldInParameterList,
    /// 1A/00 PARAMETER LIST LENGTH ERROR.
    ParameterListLength,
    /// Any other ASC/ASCQ.
    Other,
}

impl IllegalReason {
    /// Classifies an ILLEGAL REQUEST by its ASC/ASCQ.
    pub fn from_asc(asc: u8, ascq: u8) -> IllegalReason {
        match (asc, ascq) {
            (0x20, 0x00) => IllegalReason::InvalidOpcode,
            (0x24, 0x00) => IllegalReason::InvalidFieldInCdb,
            (0x26, _) => IllegalReason::InvalidFieldInParameterList,
            (0x1a, 0x00) => IllegalReason::ParameterListLength,
            _ => IllegalReason::Other,
        }
    }
}

/// A SCSI command, named for messages and errors: the operation and, for
/// commands with service actions, which one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandName(pub String);

impl fmt::Display for CommandName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for CommandName {
    fn from(s: &str) -> CommandName {
        CommandName(s.to_string())
    }
}

/// A command that did not complete with GOOD status, or could not be sent.
/// Every variant names the device and the command.
#[derive(Debug, thiserror::Error)]
pub enum ScsiError {
    /// The device could not be opened.
    #[error("{device}: cannot open: {source}")]
    Open {
        device: String,
        #[source]
        source: std::io::Error,
    },
    /// The ioctl itself failed (errno), so the command may not have reached
    /// the device.
    #[error("{device}: {command}: {source}")]
    Os {
        device: String,
        command: CommandName,
        #[source]
        source: std::io::Error,
    },
    /// RESERVATION CONFLICT: status 0x18, or host status DID_NEXUS_FAILURE.
    #[error("{device}: {command}: reservation conflict")]
    ReservationConflict {
        device: String,
        command: CommandName,
    },
    /// UNIT ATTENTION, with its ASC/ASCQ (2A/03 reservations preempted,
    /// 2A/05 registrations preempted, 29/00 power on or reset, ...).
    #[error("{device}: {command}: unit attention: {}", .sense.asc_text())]
    UnitAttention {
        device: String,
        command: CommandName,
        sense: Sense,
    },
    /// NOT READY.
    #[error("{device}: {command}: not ready: {}", .sense.asc_text())]
    NotReady {
        device: String,
        command: CommandName,
        sense: Sense,
    },
    /// ILLEGAL REQUEST, with the reason.
    #[error("{device}: {command}: illegal request: {}", .sense.asc_text())]
    IllegalRequest {
        device: String,
        command: CommandName,
        reason: IllegalReason,
        sense: Sense,
    },
    /// Any other CHECK CONDITION (medium, hardware, aborted, data protect...).
    #[error("{device}: {command}: {}: {}", .sense.key_text(), .sense.asc_text())]
    CheckCondition {
        device: String,
        command: CommandName,
        sense: Sense,
    },
    /// A SCSI status other than GOOD, CHECK CONDITION and RESERVATION
    /// CONFLICT (BUSY, TASK SET FULL, ...).
    #[error("{device}: {command}: SCSI status 0x{status:02x} ({})", status_name(*.status))]
    Status {
        device: String,
        command: CommandName,
        status: u8,
    },
    /// The command did not complete within its timeout.
    #[error("{device}: {command}: timed out after {} ms", .timeout.as_millis())]
    Timeout {
        device: String,
        command: CommandName,
        timeout: Duration,
    },
    /// The host adapter or driver reported an error (host_status/driver_status).
    #[error("{device}: {command}: transport error: host status 0x{host_status:02x} ({}), driver status 0x{driver_status:02x}", host_status_name(*.host_status))]
    Transport {
        device: String,
        command: CommandName,
        host_status: u16,
        driver_status: u16,
    },
    /// The device answered, but what it returned does not parse.
    #[error("{device}: {command}: malformed response: {source}")]
    Malformed {
        device: String,
        command: CommandName,
        #[source]
        source: DecodeError,
    },
}

impl ScsiError {
    /// The sg3_utils category of this error (`sg_err_category_*`).
    pub fn category(&self) -> Category {
        match self {
            ScsiError::Open { source, .. } | ScsiError::Os { source, .. } => {
                // sg3_utils: SG_LIB_OS_BASE_ERR + errno; callers that need the
                // exit status use `exit_code`.
                let _ = source;
                Category::Other
            }
            ScsiError::ReservationConflict { .. } => Category::ReservationConflict,
            ScsiError::UnitAttention { .. } => Category::UnitAttention,
            ScsiError::NotReady { .. } => Category::NotReady,
            ScsiError::IllegalRequest { reason, .. } => match reason {
                IllegalReason::InvalidOpcode => Category::InvalidOpcode,
                _ => Category::IllegalRequest,
            },
            ScsiError::CheckCondition { sense, .. } => sense.category(),
            ScsiError::Status { status, .. } => match *status {
                0x08 => Category::Busy,
                0x28 => Category::TaskSetFull,
                0x30 => Category::AcaActive,
                0x40 => Category::TaskAborted,
                0x04 => Category::ConditionMet,
                _ => Category::Other,
            },
            ScsiError::Timeout { .. } => Category::Timeout,
            // sg3_utils reports transport and driver errors as "other".
            ScsiError::Transport { .. } => Category::Other,
            ScsiError::Malformed { .. } => Category::Malformed,
        }
    }

    /// The exit status sg3_utils would give for this error: the category,
    /// or 50 + errno for an operating-system error (`SG_LIB_OS_BASE_ERR`).
    pub fn exit_code(&self) -> u8 {
        match self {
            ScsiError::Open { source, .. } | ScsiError::Os { source, .. } => {
                match source.raw_os_error().map(u8::try_from) {
                    Some(Ok(errno)) if (1..47).contains(&errno) => 50 + errno,
                    _ => Category::Other.exit_code(),
                }
            }
            other => other.category().exit_code(),
        }
    }

    /// The device this error is about.
    pub fn device(&self) -> &str {
        match self {
            ScsiError::Open { device, .. }
            | ScsiError::Os { device, .. }
            | ScsiError::ReservationConflict { device, .. }
            | ScsiError::UnitAttention { device, .. }
            | ScsiError::NotReady { device, .. }
            | ScsiError::IllegalRequest { device, .. }
            | ScsiError::CheckCondition { device, .. }
            | ScsiError::Status { device, .. }
            | ScsiError::Timeout { device, .. }
            | ScsiError::Transport { device, .. }
            | ScsiError::Malformed { device, .. } => device,
        }
    }

    /// The decoded sense data, when the device returned some.
    pub fn sense(&self) -> Option<&Sense> {
        match self {
            ScsiError::UnitAttention { sense, .. }
            | ScsiError::NotReady { sense, .. }
            | ScsiError::IllegalRequest { sense, .. }
            | ScsiError::CheckCondition { sense, .. } => Some(sense),
            _ => None,
        }
    }

    /// True for RESERVATION CONFLICT.
    pub fn is_reservation_conflict(&self) -> bool {
        matches!(self, ScsiError::ReservationConflict { .. })
    }

    /// True for UNIT ATTENTION.
    pub fn is_unit_attention(&self) -> bool {
        matches!(self, ScsiError::UnitAttention { .. })
    }
}

/// The name of a SCSI status byte (SAM-5).
pub fn status_name(status: u8) -> &'static str {
    match status {
        0x00 => "Good",
        0x02 => "Check Condition",
        0x04 => "Condition Met",
        0x08 => "Busy",
        0x10 => "Intermediate",
        0x14 => "Intermediate-Condition Met",
        0x18 => "Reservation Conflict",
        0x22 => "Command Terminated",
        0x28 => "Task Set Full",
        0x30 => "ACA Active",
        0x40 => "Task Aborted",
        _ => "Reserved",
    }
}

/// The name of a Linux SCSI host status (`DID_*`, `include/scsi/scsi_status.h`).
pub fn host_status_name(host: u16) -> &'static str {
    match host {
        0x00 => "DID_OK",
        0x01 => "DID_NO_CONNECT",
        0x02 => "DID_BUS_BUSY",
        0x03 => "DID_TIME_OUT",
        0x04 => "DID_BAD_TARGET",
        0x05 => "DID_ABORT",
        0x06 => "DID_PARITY",
        0x07 => "DID_ERROR",
        0x08 => "DID_RESET",
        0x09 => "DID_BAD_INTR",
        0x0a => "DID_PASSTHROUGH",
        0x0b => "DID_SOFT_ERROR",
        0x0c => "DID_IMM_RETRY",
        0x0d => "DID_REQUEUE",
        0x0e => "DID_TRANSPORT_DISRUPTED",
        0x0f => "DID_TRANSPORT_FAILFAST",
        0x10 => "DID_TARGET_FAILURE",
        0x11 => "DID_NEXUS_FAILURE",
        0x12 => "DID_ALLOC_FAILURE",
        0x13 => "DID_MEDIUM_ERROR",
        0x14 => "DID_TRANSPORT_MARGINAL",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn illegal_reason_follows_asc_ascq() {
        assert_eq!(
            IllegalReason::from_asc(0x20, 0),
            IllegalReason::InvalidOpcode
        );
        assert_eq!(
            IllegalReason::from_asc(0x24, 0),
            IllegalReason::InvalidFieldInCdb
        );
        assert_eq!(
            IllegalReason::from_asc(0x26, 0x02),
            IllegalReason::InvalidFieldInParameterList
        );
        assert_eq!(
            IllegalReason::from_asc(0x1a, 0),
            IllegalReason::ParameterListLength
        );
        assert_eq!(IllegalReason::from_asc(0x21, 0), IllegalReason::Other);
    }

    #[test]
    fn check_len_reports_what_was_short() {
        let e = DecodeError::check_len("READ KEYS", &[0; 4], 8).unwrap_err();
        assert_eq!(e.to_string(), "READ KEYS: 8 bytes needed, only 4 given");
        assert!(DecodeError::check_len("x", &[0; 8], 8).is_ok());
    }

    #[test]
    fn os_errors_map_to_50_plus_errno() {
        let e = ScsiError::Open {
            device: "/dev/sg9".into(),
            source: std::io::Error::from_raw_os_error(libc::ENOENT),
        };
        assert_eq!(e.exit_code(), 52);
        let c = ScsiError::ReservationConflict {
            device: "/dev/sdb".into(),
            command: "PERSISTENT RESERVE OUT(REGISTER)".into(),
        };
        assert_eq!(c.exit_code(), 24);
        assert_eq!(
            c.to_string(),
            "/dev/sdb: PERSISTENT RESERVE OUT(REGISTER): reservation conflict"
        );
    }
}
