//! The coordinator-disk race (Veritas I/O fencing): on a membership split,
//! each side preempts the other side's keys on an odd number of
//! coordinator disks, always in the same order, and only a side that wins
//! a majority of them may go on; the loser must stop writing (heartbeatd
//! fences itself).
//!
//! The decision is a pure function of the per-disk outcomes so far
//! ([`verdict`]); the I/O ([`race`]) only produces those outcomes. A disk
//! is won when, after this node's preempts, its own key is registered and
//! none of the losers' keys is. A disk whose own key is gone (the other
//! side preempted first), or which answers RESERVATION CONFLICT, is lost.
//! A disk that cannot be read counts against the racer.

use crate::scsi::wwid::Wwid;
use serde::Serialize;

use super::ops::{on_path, one_path, preempt_victim, unit_aptpl, PreemptMode, Step};
use crate::paths::{Opener, Unit};
use crate::scsi::pr::Key;

/// The outcome on one coordinator disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum DiskOutcome {
    /// This node's key remains and the losers' keys are gone.
    Won,
    /// This node's key is gone, or the device refused it.
    Lost(String),
    /// The disk could not be worked.
    Failed(String),
}

/// Where a race stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Neither a majority won nor one out of reach yet.
    Undecided,
    /// A majority of the disks is won.
    Won,
    /// A majority can no longer be won.
    Lost,
}

/// The majority of `total` disks.
pub fn majority(total: usize) -> usize {
    total / 2 + 1
}

/// The verdict after `outcomes` of `total` disks.
pub fn verdict(outcomes: &[DiskOutcome], total: usize) -> Verdict {
    let won = outcomes.iter().filter(|o| **o == DiskOutcome::Won).count();
    let not_won = outcomes.len() - won;
    if won >= majority(total) {
        Verdict::Won
    } else if total - not_won < majority(total) {
        Verdict::Lost
    } else {
        Verdict::Undecided
    }
}

/// Why a race cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaceError {
    /// Coordinator disks must be odd in number, so a split cannot tie.
    #[error("{0} coordinator disks: an odd number (1, 3, 5, ...) is needed")]
    EvenCount(usize),
    /// No losers named.
    #[error("no keys to preempt")]
    NoLosers,
    /// A loser key is this node's.
    #[error("this node's key {0} is among the keys to preempt")]
    SelfInLosers(Key),
    /// `--sort-wwid`, and a disk's WWID cannot be read.
    #[error("{0}: its WWID cannot be read, so the disks cannot be put in WWID order; not racing")]
    NoWwid(String),
}

/// Orders disks by WWID (disks without one keep their place after those
/// with one), so every node works them in the same order.
pub fn order_by_wwid(disks: &mut [(Unit, Option<Wwid>)]) {
    disks.sort_by(|a, b| match (&a.1, &b.1) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
}

/// Reads each coordinator disk's WWID (through one path) and orders the
/// disks by it, so every node works them in the same order. A disk whose
/// WWID cannot be read makes it refuse: the nodes would otherwise work the
/// disks in different orders.
pub fn sort_by_wwid<O: Opener>(opener: &O, disks: Vec<Unit>) -> Result<Vec<Unit>, RaceError> {
    let mut with = Vec::new();
    for d in disks {
        match one_path(opener, &d, |x| x.identity()).0 {
            Ok(i) if i.wwid.is_some() => with.push((d, i.wwid)),
            _ => return Err(RaceError::NoWwid(d.name)),
        }
    }
    order_by_wwid(&mut with);
    Ok(with.into_iter().map(|x| x.0).collect())
}

/// One disk's part of the race.
#[derive(Debug, Clone, Serialize)]
pub struct RaceDisk {
    /// The disk.
    pub device: String,
    /// Commands sent.
    pub steps: Vec<Step>,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: DiskOutcome,
}

/// The result of a race.
#[derive(Debug, Clone, Serialize)]
pub struct RaceResult {
    /// This node's key.
    pub own_key: Key,
    /// The keys preempted.
    pub losers: Vec<Key>,
    /// Disks in the order worked (disks not worked after a loss are
    /// absent).
    pub disks: Vec<RaceDisk>,
    /// How many disks there are.
    pub total: usize,
    /// How many are needed.
    pub majority: usize,
    /// Won or lost.
    pub verdict: Verdict,
}

impl RaceResult {
    /// True when this node won.
    pub fn won(&self) -> bool {
        self.verdict == Verdict::Won
    }
}

fn race_disk<O: Opener>(
    opener: &O,
    dev: &Unit,
    own: Key,
    losers: &[Key],
    mode: PreemptMode,
) -> RaceDisk {
    let mut d = RaceDisk {
        device: dev.name.clone(),
        steps: Vec::new(),
        outcome: DiskOutcome::Won,
    };
    let keys = match one_path(opener, dev, |x| x.read_keys()).0 {
        Ok(k) => k.keys,
        Err(e) => {
            d.outcome = DiskOutcome::Failed(e.to_string());
            return d;
        }
    };
    if !keys.contains(&own) {
        d.outcome = DiskOutcome::Lost(format!(
            "{}: this node's key {own} is not registered",
            dev.name
        ));
        return d;
    }
    for &l in losers.iter().filter(|l| keys.contains(l)) {
        // No repair of this node's registration here: a conflict in a race
        // means the other side got there first.
        let mut steps = Vec::new();
        let r = preempt_victim(opener, dev, own, l, mode, false, &mut steps);
        d.steps.extend(steps.into_iter().map(|mut s| {
            s.action = format!("{} {l}", s.action);
            s
        }));
        match r {
            Ok(()) => {}
            Err(e) if e.is_reservation_conflict() => {
                d.outcome = DiskOutcome::Lost(e.to_string());
                return d;
            }
            Err(e) => {
                d.outcome = DiskOutcome::Failed(e.to_string());
                return d;
            }
        }
    }
    d.outcome = match one_path(opener, dev, |x| x.read_keys()).0 {
        Ok(k) if !k.keys.contains(&own) => {
            DiskOutcome::Lost(format!("{}: this node's key {own} was preempted", dev.name))
        }
        Ok(k) if losers.iter().any(|l| k.keys.contains(l)) => {
            DiskOutcome::Failed(format!("{}: a loser's key is still registered", dev.name))
        }
        Ok(_) => DiskOutcome::Won,
        Err(e) => DiskOutcome::Failed(e.to_string()),
    };
    d
}

/// After a won race, takes back a disk lost on the way: the other side
/// preempted this node's key there before it lost the majority elsewhere.
/// Registers this node's key again on every path and preempts the losers'
/// keys, so the loser ends up removed from every coordinator disk. The
/// disk's race outcome is kept; the steps are named `reclaim ...`.
fn reclaim_disk<O: Opener>(
    opener: &O,
    dev: &Unit,
    own: Key,
    losers: &[Key],
    mode: PreemptMode,
    d: &mut RaceDisk,
) {
    // The registration carries the unit's APTPL, which it would otherwise
    // reset.
    let aptpl = one_path(opener, dev, unit_aptpl).0.unwrap_or(false);
    for p in &dev.paths {
        let r = on_path(opener, p, |x| x.register_and_ignore(own, aptpl));
        d.steps
            .push(Step::new(p, "reclaim register-and-ignore", &r));
    }
    let keys = match one_path(opener, dev, |x| x.read_keys()).0 {
        Ok(k) => k.keys,
        Err(_) => return,
    };
    for &l in losers.iter().filter(|l| keys.contains(l)) {
        let mut steps = Vec::new();
        let _ = preempt_victim(opener, dev, own, l, mode, false, &mut steps);
        d.steps.extend(steps.into_iter().map(|mut s| {
            s.action = format!("reclaim {} {l}", s.action);
            s
        }));
    }
}

/// Races for `disks` in the order given, preempting `losers` with `own`.
/// Stops as soon as a majority is out of reach; once it is won, goes on
/// preempting the remaining disks so the loser finds itself removed
/// everywhere.
pub fn race<O: Opener>(
    opener: &O,
    disks: &[Unit],
    own: Key,
    losers: &[Key],
    mode: PreemptMode,
) -> Result<RaceResult, RaceError> {
    if disks.len() & 1 == 0 {
        return Err(RaceError::EvenCount(disks.len()));
    }
    if losers.is_empty() {
        return Err(RaceError::NoLosers);
    }
    if losers.contains(&own) {
        return Err(RaceError::SelfInLosers(own));
    }
    let total = disks.len();
    let mut res = RaceResult {
        own_key: own,
        losers: losers.to_vec(),
        disks: Vec::new(),
        total,
        majority: majority(total),
        verdict: Verdict::Undecided,
    };
    for dev in disks {
        res.disks.push(race_disk(opener, dev, own, losers, mode));
        let outcomes: Vec<DiskOutcome> = res.disks.iter().map(|d| d.outcome.clone()).collect();
        res.verdict = verdict(&outcomes, total);
        if res.verdict == Verdict::Lost {
            break;
        }
    }
    if res.won() {
        for (dev, d) in disks.iter().zip(res.disks.iter_mut()) {
            if matches!(d.outcome, DiskOutcome::Lost(_)) {
                reclaim_disk(opener, dev, own, losers, mode, d);
            }
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fence::ops::unfence_device;
    use crate::fence::sim::{lu, SimOpener};

    const A: Key = Key(0xa);
    const B: Key = Key(0xb);

    fn lost() -> DiskOutcome {
        DiskOutcome::Lost(String::new())
    }

    #[test]
    fn majority_logic() {
        assert_eq!(majority(1), 1);
        assert_eq!(majority(3), 2);
        assert_eq!(majority(5), 3);
        use DiskOutcome::Won;
        assert_eq!(verdict(&[], 3), Verdict::Undecided);
        assert_eq!(verdict(&[Won], 3), Verdict::Undecided);
        assert_eq!(verdict(&[Won, Won], 3), Verdict::Won);
        assert_eq!(verdict(&[lost(), Won], 3), Verdict::Undecided);
        assert_eq!(verdict(&[lost(), lost()], 3), Verdict::Lost);
        assert_eq!(
            verdict(&[DiskOutcome::Failed("x".into()), lost()], 3),
            Verdict::Lost
        );
        assert_eq!(verdict(&[Won], 1), Verdict::Won);
        assert_eq!(verdict(&[lost()], 1), Verdict::Lost);
        assert_eq!(verdict(&[Won, lost(), lost(), Won], 5), Verdict::Undecided);
    }

    #[test]
    fn order_is_by_wwid() {
        let d = |n: &str| Unit::single(n);
        let mut v = vec![
            (d("c"), Some(Wwid::from("36001405c"))),
            (d("x"), None),
            (d("a"), Some(Wwid::from("36001405a"))),
        ];
        order_by_wwid(&mut v);
        let names: Vec<&str> = v.iter().map(|x| x.0.name.as_str()).collect();
        assert_eq!(names, vec!["a", "c", "x"]);
    }

    /// Three coordinator disks; A and B each have one path to each.
    type Lus = Vec<std::sync::Arc<std::sync::Mutex<crate::fence::sim::Lu>>>;

    fn three() -> (SimOpener, Vec<Unit>, Vec<Unit>, Lus) {
        let mut o = SimOpener::default();
        let mut da = Vec::new();
        let mut db = Vec::new();
        let mut lus = Vec::new();
        for i in 0..3 {
            let l = lu();
            o.add(&format!("/a/{i}"), &l, "a");
            o.add(&format!("/b/{i}"), &l, "b");
            da.push(Unit::single(&format!("/a/{i}")));
            db.push(Unit::single(&format!("/b/{i}")));
            lus.push(l);
        }
        for d in &da {
            unfence_device(&o, d, A, false);
        }
        for d in &db {
            unfence_device(&o, d, B, false);
        }
        (o, da, db, lus)
    }

    #[test]
    fn first_racer_wins_all_and_the_second_loses_at_once() {
        let (o, da, db, lus) = three();
        let r = race(&o, &da, A, &[B], PreemptMode::Preempt).unwrap();
        assert!(r.won(), "{r:?}");
        assert_eq!(r.disks.len(), 3);
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["verdict"], "won");
        assert_eq!(j["disks"][0]["outcome"], "won");
        for l in &lus {
            assert_eq!(l.lock().unwrap().keys(), vec![A]);
        }
        let r = race(&o, &db, B, &[A], PreemptMode::Preempt).unwrap();
        assert_eq!(r.verdict, Verdict::Lost);
        // Lost on the first two disks, the third is not touched.
        assert_eq!(r.disks.len(), 2);
        assert!(r.disks.iter().all(|d| d.steps.is_empty()));
    }

    #[test]
    fn split_race_is_decided_by_majority() {
        let (o, da, db, lus) = three();
        // B got to disk 0 first.
        let r0 = race(&o, &db[..1], B, &[A], PreemptMode::Preempt).unwrap();
        assert!(r0.won());
        let r = race(&o, &da, A, &[B], PreemptMode::PreemptAndAbort).unwrap();
        assert!(r.won(), "{r:?}");
        assert!(matches!(r.disks[0].outcome, DiskOutcome::Lost(_)));
        assert_eq!(r.disks[1].outcome, DiskOutcome::Won);
        // The winner took disk 0 back: B is gone from every disk.
        assert!(r.disks[0].steps.iter().all(|s| s.ok), "{r:?}");
        assert!(r.disks[0].steps[0].action.starts_with("reclaim"));
        for l in &lus {
            assert_eq!(l.lock().unwrap().keys(), vec![A]);
        }
        // A dead disk counts against the racer.
        let (o, da, _db, lus) = three();
        lus[0].lock().unwrap().dead.push("a".into());
        lus[1].lock().unwrap().dead.push("a".into());
        let r = race(&o, &da, A, &[B], PreemptMode::Preempt).unwrap();
        assert_eq!(r.verdict, Verdict::Lost);
        assert!(matches!(r.disks[0].outcome, DiskOutcome::Failed(_)));
    }

    #[test]
    fn bad_races_are_refused() {
        let d = vec![Unit::single("/x"), Unit::single("/y")];
        let o = SimOpener::default();
        assert_eq!(
            race(&o, &d, A, &[B], PreemptMode::Preempt).unwrap_err(),
            RaceError::EvenCount(2)
        );
        let d1 = &d[..1];
        assert_eq!(
            race(&o, d1, A, &[], PreemptMode::Preempt).unwrap_err(),
            RaceError::NoLosers
        );
        assert_eq!(
            race(&o, d1, A, &[A], PreemptMode::Preempt).unwrap_err(),
            RaceError::SelfInLosers(A)
        );
    }

    #[test]
    fn race_reclaim_keeps_the_units_aptpl() {
        let (o, da, db, lus) = three();
        for l in &lus {
            l.lock().unwrap().aptpl = true;
        }
        race(&o, &db[..1], B, &[A], PreemptMode::Preempt).unwrap();
        let r = race(&o, &da, A, &[B], PreemptMode::Preempt).unwrap();
        assert!(
            r.won() && r.disks[0].steps[0].action.starts_with("reclaim"),
            "{r:?}"
        );
        for l in &lus {
            assert!(l.lock().unwrap().aptpl, "race reset PTPL_A");
        }
    }

    #[test]
    fn sort_wwid_refuses_a_disk_without_a_wwid() {
        let (o, da, _db, lus) = three();
        // The simulated units have no VPD pages, so no WWID.
        let e = sort_by_wwid(&o, da.clone()).unwrap_err();
        assert_eq!(e, RaceError::NoWwid(da[0].name.clone()));
        // A unit that cannot be read at all is refused the same way.
        lus[1].lock().unwrap().dead.push("a".into());
        assert!(matches!(
            sort_by_wwid(&o, da.clone()),
            Err(RaceError::NoWwid(_))
        ));
        lus[1].lock().unwrap().dead.clear();
        // With WWIDs: ordered by them.
        for (i, l) in lus.iter().enumerate() {
            let mut p = crate::scsi::vpd::tests::lio_page83();
            // The last byte of the NAA designator (page header 4, then
            // the designator header 4 and 16 bytes).
            p[4 + 4 + 15] = [3, 1, 2][i];
            l.lock().unwrap().vpd83 = Some(p);
        }
        let sorted = sort_by_wwid(&o, da).unwrap();
        let names: Vec<&str> = sorted.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, vec!["/a/1", "/a/2", "/a/0"]);
    }

    #[test]
    fn race_preempt_timeout_reads_keys_back_instead_of_failing() {
        let (o, da, _db, lus) = three();
        // The preempt on disk 0 runs but its completion is lost.
        lus[0].lock().unwrap().lose_completion.push(("a".into(), 4));
        let r = race(&o, &da, A, &[B], PreemptMode::Preempt).unwrap();
        assert!(r.won(), "{r:#?}");
        assert_eq!(r.disks[0].outcome, DiskOutcome::Won, "{r:#?}");
        let sent = lus[0]
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|e| e.1 == 4)
            .count();
        assert_eq!(sent, 1, "the preempt was sent again");
        assert!(r.disks[0]
            .steps
            .iter()
            .any(|s| s.action.contains("took effect")));
    }
}
