//! The Linux watchdog device (`/dev/watchdog`, `<linux/watchdog.h>`,
//! Documentation/watchdog/watchdog-api.rst).
//!
//! Opening the device arms the timer; [`Watchdog::keepalive`] resets it;
//! when it runs out the machine reboots. [`Watchdog::disarm`] writes the
//! magic character `V` before closing, which stops the timer on drivers
//! that allow it (not with `nowayout`). Dropping a [`Watchdog`] closes the
//! device without the magic character, so the timer keeps running: a
//! daemon that dies leaves the machine to be reset, which is the point.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

// `_IOR('W', 5, int)`, `_IOWR('W', 6, int)`, `_IOR('W', 7, int)`.
nix::ioctl_read!(wdioc_keepalive, b'W', 5, libc::c_int);
nix::ioctl_readwrite!(wdioc_settimeout, b'W', 6, libc::c_int);
nix::ioctl_read!(wdioc_gettimeout, b'W', 7, libc::c_int);

/// An open, armed watchdog device.
#[derive(Debug)]
pub struct Watchdog {
    file: File,
}

impl Watchdog {
    /// Opens (and so arms) the watchdog device at `path`.
    pub fn open(path: &Path) -> io::Result<Watchdog> {
        let file = OpenOptions::new().write(true).open(path)?;
        Ok(Watchdog { file })
    }

    /// Sets the timeout in seconds (`WDIOC_SETTIMEOUT`); returns the timeout
    /// the driver actually took, which may differ.
    pub fn set_timeout(&self, secs: u32) -> io::Result<u32> {
        let mut t = libc::c_int::try_from(secs)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "timeout too large"))?;
        // SAFETY: WDIOC_SETTIMEOUT reads and writes one c_int through the
        // pointer; `t` is a live, aligned c_int that outlives the call, and
        // `self.file` keeps the descriptor open for its duration.
        unsafe { wdioc_settimeout(self.file.as_raw_fd(), &mut t) }.map_err(io::Error::from)?;
        u32::try_from(t).map_err(|_| io::Error::other(format!("WDIOC_SETTIMEOUT returned {t}")))
    }

    /// The current timeout in seconds (`WDIOC_GETTIMEOUT`).
    pub fn timeout(&self) -> io::Result<u32> {
        let mut t: libc::c_int = 0;
        // SAFETY: WDIOC_GETTIMEOUT writes one c_int through the pointer; `t`
        // is a live, aligned c_int, and the descriptor is open.
        unsafe { wdioc_gettimeout(self.file.as_raw_fd(), &mut t) }.map_err(io::Error::from)?;
        u32::try_from(t).map_err(|_| io::Error::other(format!("WDIOC_GETTIMEOUT returned {t}")))
    }

    /// Resets the timer (`WDIOC_KEEPALIVE`).
    pub fn keepalive(&self) -> io::Result<()> {
        let mut dummy: libc::c_int = 0;
        // SAFETY: WDIOC_KEEPALIVE is declared `_IOR(.., int)`; drivers ignore
        // the argument, but it points at a live, aligned c_int all the same,
        // and the descriptor is open.
        unsafe { wdioc_keepalive(self.file.as_raw_fd(), &mut dummy) }.map_err(io::Error::from)?;
        Ok(())
    }

    /// Stops the timer where the driver allows it: writes the magic
    /// character `V` and closes the device.
    pub fn disarm(mut self) -> io::Result<()> {
        self.file.write_all(b"V")?;
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_match_linux_watchdog_h() {
        // Computed by hand from <linux/watchdog.h> on x86_64:
        // _IOR('W', 5, int) = 0x80045705, _IOWR('W', 6, int) = 0xc0045706.
        assert_eq!(
            nix::request_code_read!(b'W', 5, std::mem::size_of::<libc::c_int>()),
            0x8004_5705
        );
        assert_eq!(
            nix::request_code_readwrite!(b'W', 6, std::mem::size_of::<libc::c_int>()),
            0xc004_5706
        );
    }

    #[test]
    fn a_file_that_is_not_a_watchdog_gives_errors_not_panics() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let w = Watchdog::open(f.path()).unwrap();
        assert!(w.set_timeout(10).is_err());
        assert!(w.timeout().is_err());
        assert!(w.keepalive().is_err());
        w.disarm().unwrap();
        assert_eq!(std::fs::read(f.path()).unwrap(), b"V");
        assert!(Watchdog::open(Path::new("/nonexistent/watchdog")).is_err());
    }
}
