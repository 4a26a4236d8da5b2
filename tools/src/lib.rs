//! Shared code of the fencekit programs: common flags, rendering helpers
//! and the exit-code table. No domain logic: that lives in the `fencekit`
//! library.
#![forbid(unsafe_code)]

use std::io::Write;

pub mod render;
pub mod sg_persist_mode;

use fencekit::paths::ResolveError;
use fencekit::scsi::error::ScsiError;
use fencekit::scsi::pr::{Key, PrType};

/// Exit statuses shared by the tools (sg3_utils' table, `sg_lib.h`).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Command-line syntax error.
    pub const SYNTAX: u8 = 1;
    /// A change reached some paths of a multipath map but not all of them
    /// (sg3_utils leaves 4 unused; prkeys' own commands only).
    pub const PARTIAL: u8 = 4;
    /// A device or other file could not be used.
    pub const FILE_ERROR: u8 = 15;
    /// Anything else.
    pub const OTHER: u8 = 99;
}

/// A command line that cannot be run (a bad value that clap's parsers let
/// through): exit status [`exit::SYNTAX`].
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A usage error as an `anyhow::Error`.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// The exit status for an error: a usage error's [`exit::SYNTAX`], a SCSI
/// error's sg3_utils category, 50 +
/// errno for an OS error, [`exit::FILE_ERROR`] for a device name that
/// does not resolve, [`exit::OTHER`] otherwise.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.downcast_ref::<UsageError>().is_some() {
            return exit::SYNTAX;
        }
        if let Some(e) = cause.downcast_ref::<ScsiError>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<ResolveError>() {
            return devset_exit_code(e);
        }
    }
    exit::OTHER
}

/// The exit status for a device name that did not resolve.
pub fn devset_exit_code(e: &ResolveError) -> u8 {
    match e {
        ResolveError::Missing { source, .. } => match source.raw_os_error().map(u8::try_from) {
            Some(Ok(errno)) if (1..47).contains(&errno) => 50 + errno,
            _ => exit::FILE_ERROR,
        },
        ResolveError::NoPaths { .. } => exit::FILE_ERROR,
    }
}

/// Parses a reservation key for clap: hex with or without `0x`.
pub fn parse_key(s: &str) -> Result<Key, String> {
    s.parse::<Key>().map_err(|e| e.to_string())
}

/// Parses 8 ASCII characters as a key (`VFDEED00`), for clap.
pub fn parse_key_ascii(s: &str) -> Result<Key, String> {
    Key::from_ascii(s).map_err(|e| e.to_string())
}

/// Parses a reservation type by short name (`wero`), full name or number.
pub fn parse_type(s: &str) -> Result<PrType, String> {
    s.parse::<PrType>().map_err(|e| e.to_string())
}

/// Writes `value` as pretty JSON and a newline to stdout, through a
/// buffer (a big host's map is tens of MB).
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_library_error() {
        let e = anyhow::Error::new(ScsiError::ReservationConflict {
            device: "/dev/sdb".into(),
            command: "X".into(),
        })
        .context("registering");
        assert_eq!(exit_code(&e), 24);
        let e = anyhow::Error::new(ResolveError::Missing {
            device: "/dev/nope".into(),
            source: std::io::Error::from_raw_os_error(2),
        });
        assert_eq!(exit_code(&e), 52);
        assert_eq!(exit_code(&anyhow::anyhow!("other")), 99);
    }

    #[test]
    fn key_and_type_parsers() {
        assert_eq!(parse_key("0x1a").unwrap(), Key(0x1a));
        assert_eq!(parse_key("1A").unwrap(), Key(0x1a));
        assert!(parse_key("xyz").is_err());
        assert_eq!(
            parse_key_ascii("VFDEED00").unwrap().to_ascii_lossy(),
            "VFDEED00"
        );
        assert_eq!(parse_type("wero").unwrap().code(), 5);
        assert_eq!(parse_type("5").unwrap().code(), 5);
    }
}
