//! Small helpers shared by the library's modules: checked byte-order
//! reads ([`be`]), the bounded thread fan-out ([`fanout`]), the deadline
//! on blocking device calls ([`with_deadline`]) and the civil date of a
//! day count ([`civil`]).

pub mod be;
pub mod fanout;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Why [`with_deadline`] has no result.
#[derive(Debug, thiserror::Error)]
pub enum DeadlineError {
    /// The work did not finish within the deadline; it goes on alone.
    #[error("no result within {} ms", .0.as_millis())]
    Elapsed(Duration),
    /// No worker thread could be started.
    #[error("cannot start a worker thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The worker ended without a result (it panicked).
    #[error("the worker thread ended without a result")]
    Lost,
}

/// Runs `f` on a detached worker thread named `name` and waits at most
/// `deadline` for its result. On timeout the worker is left to finish, or
/// to hang in the kernel, alone: a blocked read or SG_IO cannot be
/// cancelled, but the caller need not wait for it (as sbd's libaio timeout
/// does, without `io_cancel`).
pub fn with_deadline<T, F>(name: &str, deadline: Duration, f: F) -> Result<T, DeadlineError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            // The receiver is gone when the caller has timed out: nothing to do.
            let _ = tx.send(f());
        })
        .map_err(DeadlineError::Spawn)?;
    match rx.recv_timeout(deadline) {
        Ok(v) => Ok(v),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(DeadlineError::Elapsed(deadline)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(DeadlineError::Lost),
    }
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
// Month and day fit: `doe` is a `rem_euclid`, so `mp` is in 0..=11, the
// month in 1..=12 and the day in 1..=31.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_within_the_deadline() {
        assert_eq!(with_deadline("t", Duration::from_secs(5), || 7).unwrap(), 7);
    }

    #[test]
    fn elapsed_while_the_worker_is_stuck() {
        let t0 = std::time::Instant::now();
        let r = with_deadline("t", Duration::from_millis(50), || {
            thread::sleep(Duration::from_secs(5));
        });
        assert!(matches!(r, Err(DeadlineError::Elapsed(_))), "{r:?}");
        assert!(t0.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_panicking_worker_is_lost_not_a_panic() {
        let r: Result<(), _> = with_deadline("t", Duration::from_secs(5), || panic!("boom"));
        assert!(matches!(r, Err(DeadlineError::Lost)), "{r:?}");
    }
}
