//! Bounded fan-out over threads: many devices (and the paths of each) are
//! worked at once, so a slow or hung one holds up one worker, not the
//! others, while the number of threads stays bounded however many
//! hundreds of LUNs are named.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// At most this many threads work for [`par_map`] at any time, over all
/// calls together, nested ones included (devices in parallel, and the
/// paths of each device): a few hundred LUNs with 4 paths each must not
/// start thousands of threads.
pub const PAR_LIMIT: usize = 32;

/// Threads [`par_map`] has running now.
static PAR_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Up to `want` of the free thread permits; returns how many were taken.
fn take_permits(want: usize) -> usize {
    let mut cur = PAR_THREADS.load(Ordering::Acquire);
    loop {
        let n = want.min(PAR_LIMIT.saturating_sub(cur));
        if n == 0 {
            return 0;
        }
        match PAR_THREADS.compare_exchange(cur, cur + n, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return n,
            Err(now) => cur = now,
        }
    }
}

/// Gives permits back when dropped, on a panic too.
struct Permits(usize);

impl Drop for Permits {
    fn drop(&mut self) {
        PAR_THREADS.fetch_sub(self.0, Ordering::AcqRel);
    }
}

/// Runs `f` on every item and returns the results in the order of `items`.
/// Used to work many devices at once: the calling thread and up to
/// [`PAR_LIMIT`] helper threads (fewer when other calls hold them; none
/// for a call nested inside a busy one, which then runs on its caller's
/// thread) take the items in turn, so a slow or hung device holds up one
/// worker, not the others (each command still has its timeout).
pub fn par_map<I, T, F>(items: &[I], f: F) -> Vec<T>
where
    I: Sync,
    T: Send,
    F: Fn(&I) -> T + Sync,
{
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    let permits = Permits(take_permits(items.len() - 1));
    if permits.0 == 0 {
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<T>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(item) = items.get(i) else {
            break;
        };
        let r = f(item);
        if let Ok(mut slot) = slots[i].lock() {
            *slot = Some(r);
        }
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..permits.0).map(|_| s.spawn(work)).collect();
        work();
        for h in handles {
            if let Err(p) = h.join() {
                std::panic::resume_unwind(p);
            }
        }
    });
    drop(permits);
    // Every index below items.len() was taken by one worker and its slot
    // filled before the scope ended (a worker's panic was resumed above, so
    // no lock is poisoned either).
    #[allow(clippy::expect_used)]
    let results = slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .ok()
                .flatten()
                .expect("every item was worked")
        })
        .collect();
    results
}

/// Runs `f` on chunks of `items` in parallel with [`par_map`], one chunk per
/// available CPU but none smaller than `min_chunk` items (a small tree is
/// read on one thread), and returns the chunks' results in order.
pub fn par_chunks<I, T, F>(items: &[I], min_chunk: usize, f: F) -> Vec<T>
where
    I: Sync,
    T: Send,
    F: Fn(&[I]) -> T + Sync,
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks: Vec<&[I]> = items
        .chunks(items.len().div_ceil(threads).max(min_chunk).max(1))
        .collect();
    par_map(&chunks, |c| f(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_map_is_bounded_for_hundreds_of_luns_with_four_paths() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let live = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let threads = std::sync::Mutex::new(std::collections::HashSet::new());
        let luns: Vec<u32> = (0..300).collect();
        let paths: Vec<u32> = (0..4).collect();
        let out = par_map(&luns, |l| {
            par_map(&paths, |p| {
                threads.lock().unwrap().insert(std::thread::current().id());
                let n = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(1));
                live.fetch_sub(1, Ordering::SeqCst);
                l * 4 + p
            })
        });
        assert_eq!(out.concat(), (0..1200).collect::<Vec<_>>());
        let t = threads.lock().unwrap().len();
        assert!(t <= PAR_LIMIT + 1, "{t} threads for 300 LUNs x 4 paths");
        assert!(peak.load(Ordering::SeqCst) <= PAR_LIMIT + 1);
    }

    #[test]
    fn par_map_keeps_order() {
        let v: Vec<u32> = (0..50).collect();
        let out = par_map(&v, |x| {
            std::thread::sleep(std::time::Duration::from_millis(u64::from(50 - x) % 7));
            x * 2
        });
        assert_eq!(out, (0..50).map(|x| x * 2).collect::<Vec<_>>());
    }

    #[test]
    fn par_chunks_covers_every_item_once_in_order() {
        let v: Vec<u32> = (0..1000).collect();
        let out: Vec<u32> = par_chunks(&v, 7, |c| c.to_vec()).concat();
        assert_eq!(out, v);
        assert!(par_chunks(&[] as &[u32], 7, |c| c.len()).is_empty());
        // Fewer items than one chunk: one call.
        assert_eq!(par_chunks(&v[..5], 256, |c| c.len()), vec![5]);
    }
}
