//! Clusters of [`Machine`]s on one simulated quorum disk, in virtual time,
//! with faults on a schedule: scenario tests with exact bounds, and
//! property tests over random schedules that check the invariants after
//! every step.

use std::collections::BTreeSet;
use std::time::Duration;

use proptest::prelude::*;

use super::config::{Config, Timing};
use super::machine::{Action, Event, Machine, SelfFence};
use crate::qdisk::format::{NodeState, StatusBlock};

const INTERVAL: u64 = 1000;

/// interval 1 s, `tko`, and one heuristic of score 1 (so min_score 1).
fn timing(tko: u32) -> Timing {
    let mut c = Config::new(1);
    c.interval = Duration::from_millis(INTERVAL);
    c.tko = tko;
    c.heuristics = vec![super::config::Heuristic {
        program: "true".into(),
        score: 1,
        interval: Duration::from_millis(INTERVAL),
        tko: 2,
    }];
    c.validate().unwrap()
}

/// One simulated node.
struct Node {
    m: Machine,
    /// Its first step, in ms.
    start: u64,
    running: bool,
    stopped: bool,
    disk_hung: bool,
    /// Reads fail (every block None) while writes go through.
    reads_fail: bool,
    score: u32,
    wrote_ok: bool,
    /// Its block on disk was EVICT with its incarnation when it resumed.
    resumed_evicted: bool,
    self_fenced_at: Option<u64>,
    /// Ever stopped, hung or below its score: not a healthy node.
    faulty: bool,
    /// Reads no data device.
    data_lost: bool,
}

/// The cluster, the disk, and what happened.
struct Cluster {
    tko: u32,
    now: u64,
    disk: Vec<Option<StatusBlock>>,
    nodes: Vec<Node>,
    /// Nodes whose key has been preempted.
    fenced: BTreeSet<u32>,
    /// Fences still to fail, per node.
    fail_fences: Vec<u32>,
    /// (time, writer, victim) of every eviction notice written.
    evictions: Vec<(u64, u32, u32)>,
    /// (time, reporter, event).
    events: Vec<(u64, u32, Event)>,
    fences_asked: Vec<(u64, u32, u32)>,
    /// (time, racer, peer) of every race.
    races: Vec<(u64, u32, u32)>,
    /// Races can run (an odd set of coordinator disks).
    race_possible: bool,
}

impl Cluster {
    /// `n` nodes; two of them make a two-node cluster, as in the daemon.
    fn new(n: usize, tko: u32, starts: &[u64]) -> Cluster {
        let mut t = timing(tko);
        t.two_node = n == 2;
        let nodes = (0..n)
            .map(|i| {
                let id = u32::try_from(i + 1).unwrap();
                let start = starts.get(i).copied().unwrap_or(0);
                Node {
                    m: Machine::new(id, t, 100 + u64::from(id), start),
                    start,
                    running: false,
                    stopped: false,
                    disk_hung: false,
                    reads_fail: false,
                    score: 1,
                    wrote_ok: true,
                    resumed_evicted: false,
                    self_fenced_at: None,
                    faulty: false,
                    data_lost: false,
                }
            })
            .collect();
        Cluster {
            tko,
            now: 0,
            disk: (1..=16).map(|n| Some(StatusBlock::initial(n, 1))).collect(),
            nodes,
            fenced: BTreeSet::new(),
            fail_fences: vec![0; 17],
            evictions: Vec::new(),
            events: Vec::new(),
            fences_asked: Vec::new(),
            races: Vec::new(),
            race_possible: true,
        }
    }

    fn node(&mut self, id: u32) -> &mut Node {
        &mut self.nodes[usize::try_from(id - 1).unwrap()]
    }

    /// Runs until `until` ms, stepping each node on its own phase.
    fn run_until(&mut self, until: u64) {
        while self.now < until {
            self.now += 10;
            for i in 0..self.nodes.len() {
                let n = &self.nodes[i];
                if self.now < n.start || !(self.now - n.start).is_multiple_of(INTERVAL) {
                    continue;
                }
                if n.stopped {
                    continue;
                }
                self.nodes[i].running = true;
                self.step(i);
                self.check_invariants();
            }
        }
    }

    fn step(&mut self, i: usize) {
        let now = self.now;
        let node = &mut self.nodes[i];
        let id = node.m.id();
        let blocks: Vec<Option<StatusBlock>> = if node.disk_hung || node.reads_fail {
            vec![None; 16]
        } else {
            self.disk.clone()
        };
        node.m.set_data_lost(node.data_lost);
        let out = node.m.step(now, &blocks, node.wrote_ok, node.score);
        if node.resumed_evicted {
            assert!(
                out.own.is_none() && out.evict.is_empty(),
                "node {id} resumed after its eviction and still writes: {out:?}"
            );
            assert!(
                out.actions
                    .iter()
                    .all(|a| matches!(a, Action::SelfFence(_) | Action::Event(_))),
                "node {id} resumed after its eviction and acts: {:?}",
                out.actions
            );
        }
        let mut fence_results = Vec::new();
        let mut race_results = Vec::new();
        for a in &out.actions {
            match *a {
                Action::Fence { node: v } => {
                    self.fences_asked.push((now, id, v));
                    let fail = &mut self.fail_fences[usize::try_from(v).unwrap()];
                    if *fail > 0 {
                        *fail -= 1;
                        fence_results.push((v, false));
                    } else {
                        self.fenced.insert(v);
                        fence_results.push((v, true));
                    }
                }
                Action::Race { node: v } => {
                    // The first to preempt wins; a node without data
                    // paths reaches no coordinator disk and loses.
                    self.races.push((now, id, v));
                    let won = !self.fenced.contains(&id) && !self.nodes[i].data_lost;
                    if won {
                        self.fenced.insert(v);
                    }
                    race_results.push((v, self.race_possible.then_some(won)));
                }
                Action::SelfFence(_) => {
                    let n = &mut self.nodes[i];
                    n.self_fenced_at.get_or_insert(now);
                }
                Action::Event(e) => {
                    if let Event::Dead(v) = e {
                        assert!(
                            self.fenced.contains(&v),
                            "node {id} reports node {v} dead at {now} ms before it was fenced"
                        );
                    }
                    self.events.push((now, id, e));
                }
            }
        }
        let node = &mut self.nodes[i];
        for (v, ok) in fence_results {
            node.m.fence_done(v, ok);
        }
        for (v, won) in race_results {
            node.m.race_done(v, won);
        }
        if node.disk_hung {
            node.wrote_ok = false;
            return;
        }
        for e in &out.evict {
            self.evictions.push((now, id, e.node_id));
            self.disk[usize::try_from(e.node_id - 1).unwrap()] = Some(e.clone());
        }
        if let Some(b) = out.own {
            self.disk[usize::try_from(id - 1).unwrap()] = Some(b);
        }
        node.wrote_ok = true;
    }

    fn check_invariants(&self) {
        let masters: Vec<u32> = self
            .nodes
            .iter()
            .filter(|n| n.running && !n.stopped && n.m.is_master())
            .map(|n| n.m.id())
            .collect();
        assert!(
            masters.len() <= 1,
            "two masters at {} ms: {masters:?}",
            self.now
        );
        for &(t, writer, victim) in &self.evictions {
            let v = &self.nodes[usize::try_from(victim - 1).unwrap()];
            assert!(
                v.faulty,
                "healthy node {victim} evicted by {writer} at {t} ms"
            );
        }
    }

    fn stop(&mut self, id: u32) {
        let n = self.node(id);
        n.stopped = true;
        n.faulty = true;
    }

    fn resume(&mut self, id: u32) {
        let evicted = self.disk[usize::try_from(id - 1).unwrap()]
            .as_ref()
            .is_some_and(|b| b.state == NodeState::Evict);
        let n = self.node(id);
        n.stopped = false;
        n.resumed_evicted = n.resumed_evicted || evicted;
    }

    fn hang(&mut self, id: u32, hung: bool) {
        let n = self.node(id);
        n.disk_hung = hung;
        n.faulty = true;
    }

    fn masters(&self) -> Vec<u32> {
        self.nodes
            .iter()
            .filter(|n| !n.stopped && n.m.is_master())
            .map(|n| n.m.id())
            .collect()
    }

    fn first(&self, pred: impl Fn(u32, &Event) -> bool) -> Option<u64> {
        self.events
            .iter()
            .find(|(_, who, e)| pred(*who, e))
            .map(|(t, _, _)| *t)
    }

    fn evicted_at(&self, victim: u32) -> Option<u64> {
        self.evictions
            .iter()
            .find(|(_, _, v)| *v == victim)
            .map(|(t, _, _)| *t)
    }
}

#[test]
fn three_nodes_start_together_and_elect_the_lowest() {
    let mut c = Cluster::new(3, 4, &[0, 300, 600]);
    c.run_until(10_000);
    assert_eq!(c.masters(), vec![1]);
    for n in &c.nodes {
        assert_eq!(n.m.online(), vec![1, 2, 3], "node {}", n.m.id());
        assert_eq!(n.m.master(), 1);
    }
    assert!(c.evictions.is_empty() && c.fences_asked.is_empty());
}

#[test]
fn a_stopped_node_is_evicted_within_tko_plus_one_intervals_and_fenced() {
    let mut c = Cluster::new(3, 4, &[0, 300, 600]);
    c.run_until(10_000);
    let stop = c.now;
    c.stop(3);
    c.run_until(20_000);
    let evicted = c.evicted_at(3).expect("node 3 evicted");
    assert!(
        evicted - stop <= INTERVAL * u64::from(c.tko + 1),
        "evicted {} ms after the stop",
        evicted - stop
    );
    assert!(c.fenced.contains(&3));
    let dead = c
        .first(|who, e| who == 1 && *e == Event::Dead(3))
        .expect("master reports node 3 dead");
    assert!(
        dead - evicted <= INTERVAL,
        "dead {} ms after eviction",
        dead - evicted
    );
    // The other node learns it from the master's block.
    assert!(c.first(|who, e| who == 2 && *e == Event::Dead(3)).is_some());
    // Resumed, node 3 fences itself on its first step and writes nothing.
    c.resume(3);
    let before = c.disk[2].clone();
    c.run_until(22_000);
    let n3 = &c.nodes[2];
    assert!(
        matches!(
            n3.m.self_fenced(),
            Some(SelfFence::DiskLost { .. } | SelfFence::Evicted { .. })
        ),
        "{:?}",
        n3.m.self_fenced()
    );
    assert!(n3.self_fenced_at.unwrap() - 20_000 <= INTERVAL);
    assert_eq!(c.disk[2], before, "node 3 wrote after its eviction");
}

#[test]
fn the_master_stopped_gives_a_new_master_and_is_fenced() {
    let mut c = Cluster::new(3, 4, &[0, 300, 600]);
    c.run_until(10_000);
    let stop = c.now;
    c.stop(1);
    c.run_until(25_000);
    assert_eq!(c.masters(), vec![2]);
    let evicted = c.evicted_at(1).expect("node 1 evicted");
    let t = timing(4);
    let bound = INTERVAL * u64::from(t.tko + t.master_wait + t.upgrade_wait + 1);
    assert!(evicted - stop <= bound, "{} ms", evicted - stop);
    assert!(c.fenced.contains(&1));
}

#[test]
fn a_node_whose_disk_hangs_fences_itself_and_is_evicted() {
    let mut c = Cluster::new(3, 4, &[0, 300, 600]);
    c.run_until(10_000);
    let hang = c.now;
    c.hang(2, true);
    c.run_until(20_000);
    let n2 = &c.nodes[1];
    assert!(matches!(
        n2.m.self_fenced(),
        Some(SelfFence::DiskLost { .. })
    ));
    let t = n2.self_fenced_at.unwrap() - hang;
    assert!(t <= INTERVAL * u64::from(c.tko + 1), "{t} ms");
    assert!(c.evicted_at(2).is_some() && c.fenced.contains(&2));
    // Its hung disk made it see nobody change: it declared no one dead.
    assert!(c
        .events
        .iter()
        .all(|(_, who, e)| !(*who == 2 && matches!(e, Event::Lost(_)))));
}

#[test]
fn a_failing_heuristic_takes_a_node_down() {
    let mut c = Cluster::new(3, 4, &[0, 300, 600]);
    c.run_until(10_000);
    assert_eq!(c.masters(), vec![1]);
    let n3 = c.node(3);
    n3.score = 0;
    n3.faulty = true;
    c.run_until(20_000);
    assert!(matches!(
        c.nodes[2].m.self_fenced(),
        Some(SelfFence::LowScore {
            score: 0,
            min_score: 1
        })
    ));
    assert!(c.evicted_at(3).is_some() && c.fenced.contains(&3));
}

/// Two nodes, after 10 s: who fenced itself why, and who is left.
fn two_node_fault(set: impl Fn(&mut Cluster)) -> Cluster {
    let mut c = Cluster::new(2, 4, &[0, 300]);
    c.run_until(10_000);
    assert_eq!(c.masters(), vec![1]);
    set(&mut c);
    c.run_until(30_000);
    c
}

#[test]
fn two_nodes_a_failing_heuristic_takes_down_only_that_node() {
    for victim in [1u32, 2] {
        let c = two_node_fault(|c| {
            let n = c.node(victim);
            n.score = 0;
            n.faulty = true;
        });
        let other = 3 - victim;
        let v = &c.nodes[usize::try_from(victim - 1).unwrap()];
        assert!(
            matches!(
                v.m.self_fenced(),
                Some(SelfFence::LowScore { score: 0, .. })
            ),
            "node {victim}: {:?}",
            v.m.self_fenced()
        );
        // It waited tko cycles for its peer's block, no longer.
        let waited = v.self_fenced_at.unwrap() - 10_000;
        assert!(waited <= INTERVAL * u64::from(c.tko + 1), "{waited} ms");
        assert!(c.races.is_empty(), "{:?}", c.races);
        assert_eq!(c.masters(), vec![other], "victim {victim}");
        assert!(c.fenced.contains(&victim) && !c.fenced.contains(&other));
    }
}

#[test]
fn two_nodes_without_data_paths_a_node_yields_to_its_peer() {
    let mut c = Cluster::new(2, 4, &[0, 300]);
    c.run_until(10_000);
    let n = c.node(1);
    n.data_lost = true;
    n.faulty = true;
    c.run_until(12_000);
    // While it waits, its block is flagged unfit (its score is intact).
    let b = c.disk[0].clone().unwrap();
    assert!(b.flags & crate::qdisk::format::FL_UNFIT != 0 && b.score == 1);
    c.run_until(30_000);
    assert_eq!(c.nodes[0].m.self_fenced(), Some(SelfFence::DataLost));
    assert!(c.nodes[1].m.self_fenced().is_none());
    assert!(c.races.is_empty());
    assert_eq!(c.masters(), vec![2]);
    assert!(c.fenced.contains(&1) && !c.fenced.contains(&2));
}

#[test]
fn two_nodes_both_unfit_race_and_exactly_one_survives() {
    for first in [1u32, 2] {
        let mut c = Cluster::new(2, 4, &[0, 300]);
        c.run_until(10_000);
        // Both heuristics fail in the same cycle (the gateway they ping
        // is down); `first` steps first after that.
        for id in [1, 2] {
            let n = c.node(id);
            n.score = 0;
            n.faulty = true;
        }
        if first == 2 {
            c.node(1).start += 500;
        }
        c.run_until(40_000);
        let fenced_self: Vec<u32> = c
            .nodes
            .iter()
            .filter(|n| n.m.self_fenced().is_some())
            .map(|n| n.m.id())
            .collect();
        assert_eq!(fenced_self.len(), 1, "first {first}: {fenced_self:?}");
        let loser = fenced_self[0];
        let winner = 3 - loser;
        let l = &c.nodes[usize::try_from(loser - 1).unwrap()];
        assert_eq!(
            l.m.self_fenced(),
            Some(SelfFence::RaceLost { peer: winner }),
            "first {first}"
        );
        let w = &c.nodes[usize::try_from(winner - 1).unwrap()];
        assert!(w.m.is_survivor());
        assert!(c
            .first(|who, e| who == winner && *e == Event::RaceWon(loser))
            .is_some());
        // The survivor, unfit, is master and has fenced the loser.
        assert_eq!(c.masters(), vec![winner], "first {first}");
        assert!(c.fenced.contains(&loser) && !c.fenced.contains(&winner));
        assert!(c
            .first(|who, e| who == winner && *e == Event::Dead(loser))
            .is_some());
    }
}

#[test]
fn two_nodes_both_unfit_the_node_with_data_paths_wins() {
    let c = two_node_fault(|c| {
        let n = c.node(1);
        n.data_lost = true;
        n.faulty = true;
        let n = c.node(2);
        n.score = 0;
        n.faulty = true;
    });
    assert_eq!(
        c.nodes[0].m.self_fenced(),
        Some(SelfFence::RaceLost { peer: 2 })
    );
    assert!(c.nodes[1].m.self_fenced().is_none());
    assert!(c.nodes[1].m.is_survivor());
    assert_eq!(c.masters(), vec![2]);
}

#[test]
fn two_nodes_both_unfit_with_no_race_possible_the_lower_id_survives() {
    let mut c = Cluster::new(2, 4, &[0, 300]);
    c.race_possible = false;
    c.run_until(10_000);
    for id in [1, 2] {
        let n = c.node(id);
        n.score = 0;
        n.faulty = true;
    }
    c.run_until(30_000);
    assert!(c.nodes[0].m.self_fenced().is_none());
    assert_eq!(
        c.nodes[1].m.self_fenced(),
        Some(SelfFence::RaceLost { peer: 1 })
    );
    assert_eq!(c.masters(), vec![1]);
    assert!(c.fenced.contains(&2));
}

#[test]
fn three_nodes_a_node_without_data_paths_fences_itself_at_once() {
    let mut c = Cluster::new(3, 4, &[0, 300, 600]);
    c.run_until(10_000);
    let n = c.node(2);
    n.data_lost = true;
    n.faulty = true;
    c.run_until(20_000);
    assert_eq!(c.nodes[1].m.self_fenced(), Some(SelfFence::DataLost));
    assert!(c.nodes[1].self_fenced_at.unwrap() - 10_000 <= INTERVAL);
    assert!(c.races.is_empty());
    assert!(c.fenced.contains(&2));
}

#[test]
fn a_clean_exit_is_not_evicted() {
    let mut c = Cluster::new(3, 4, &[0, 300, 600]);
    c.run_until(10_000);
    let b = c.nodes[2].m.shutdown().unwrap();
    assert_eq!((b.state, b.incarnation), (NodeState::None, 0));
    c.disk[2] = Some(b);
    c.stop(3);
    c.run_until(20_000);
    assert!(c.evictions.is_empty() && c.fenced.is_empty());
    assert!(c.first(|who, e| who == 1 && *e == Event::Left(3)).is_some());
}

#[test]
fn an_undead_node_is_evicted_and_fenced_again() {
    let mut c = Cluster::new(3, 4, &[0, 300, 600]);
    c.run_until(10_000);
    let last = c.disk[2].clone().unwrap();
    c.stop(3);
    c.run_until(18_000);
    assert!(c.evicted_at(3).is_some());
    let asked = c.fences_asked.len();
    // Node 3's write in flight lands over the notice: same incarnation.
    let mut undead = last.clone();
    undead.timestamp += 50;
    c.disk[2] = Some(undead);
    c.run_until(20_000);
    assert!(c
        .first(|who, e| who == 1 && *e == Event::Undead(3))
        .is_some());
    assert_eq!(c.evictions.iter().filter(|e| e.2 == 3).count(), 2);
    assert!(c.fences_asked.len() > asked, "no second fence");
}

#[test]
fn a_failing_fence_is_retried_and_the_node_is_dead_only_after_it_succeeds() {
    let mut c = Cluster::new(2, 4, &[0, 500]);
    c.run_until(10_000);
    c.fail_fences[2] = 3;
    c.stop(2);
    c.run_until(25_000);
    let failed = c
        .events
        .iter()
        .filter(|(_, _, e)| *e == Event::FenceFailed(2))
        .count();
    assert_eq!(failed, 3);
    assert_eq!(c.fences_asked.iter().filter(|f| f.2 == 2).count(), 4);
    assert!(c.fenced.contains(&2));
    assert!(c.first(|_, e| *e == Event::Dead(2)).is_some());
}

#[test]
fn two_nodes_starting_at_once_elect_one_master() {
    let mut c = Cluster::new(2, 4, &[0, 0]);
    c.run_until(15_000);
    assert_eq!(c.masters(), vec![1]);
}

#[test]
fn a_late_starter_joins_without_disturbing_the_master() {
    let mut c = Cluster::new(3, 4, &[0, 300, 12_000]);
    c.run_until(11_000);
    assert_eq!(c.masters(), vec![1]);
    c.run_until(25_000);
    assert_eq!(c.masters(), vec![1]);
    assert_eq!(c.nodes[0].m.online(), vec![1, 2, 3]);
    assert!(c.evictions.is_empty());
}

#[test]
fn a_stale_eviction_from_an_earlier_life_is_ignored() {
    let mut c = Cluster::new(2, 4, &[0, 300]);
    // Node 2's block says EVICT, from a life with another incarnation.
    let mut b = StatusBlock::initial(2, 5).evicted_by(1, 6, None);
    b.incarnation = 7;
    c.disk[1] = Some(b);
    c.run_until(10_000);
    assert!(c.nodes[1].m.self_fenced().is_none());
    assert_eq!(c.nodes[0].m.online(), vec![1, 2]);
}

#[test]
fn a_new_master_finishes_the_fence_its_dead_predecessor_began() {
    let mut c = Cluster::new(3, 4, &[0, 300, 600]);
    c.run_until(10_000);
    // Node 3 stops; master 1 evicts it but its fences fail; then 1 stops.
    c.fail_fences[3] = 1000;
    c.stop(3);
    c.run_until(17_000);
    assert_eq!(c.evicted_at(3).map(|_| c.evictions[0].1), Some(1));
    assert!(!c.fenced.contains(&3));
    c.stop(1);
    c.fail_fences[3] = 0;
    c.run_until(35_000);
    assert_eq!(c.masters(), vec![2]);
    assert!(c.fenced.contains(&3), "node 3 never fenced");
    assert!(c.fences_asked.iter().any(|f| f.1 == 2 && f.2 == 3));
    assert!(c.first(|who, e| who == 2 && *e == Event::Dead(3)).is_some());
}

#[test]
fn a_node_that_cannot_read_declares_nobody_dead() {
    let mut c = Cluster::new(3, 4, &[0, 300, 600]);
    c.run_until(10_000);
    c.node(2).reads_fail = true;
    c.node(2).faulty = true;
    c.run_until(30_000);
    assert!(
        c.events
            .iter()
            .all(|(_, who, e)| !(*who == 2 && matches!(e, Event::Lost(_)))),
        "{:?}",
        c.events
    );
    // Its writes go through: it is alive for the others.
    assert!(c.evictions.is_empty());
    assert_eq!(c.nodes[0].m.online(), vec![1, 2, 3]);
}

/// A block as node `id` writes it, for hand-made disks.
fn block(id: u32, stamp: u64, state: NodeState) -> StatusBlock {
    let mut b = StatusBlock::initial(id, stamp);
    b.update_node = id;
    b.state = state;
    b.incarnation = 100 + u64::from(id);
    b.score = 1;
    b
}

#[test]
fn a_bid_waits_for_every_online_node_to_acknowledge() {
    // Node 2 is running but never acknowledges node 1's bid.
    let t = timing(4);
    let mut m = Machine::new(1, t, 101, 0);
    let mut disk: Vec<Option<StatusBlock>> =
        (1..=16).map(|n| Some(StatusBlock::initial(n, 1))).collect();
    for k in 1..30u64 {
        disk[1] = Some(block(2, k, NodeState::Run));
        let out = m.step(k * INTERVAL, &disk, true, 1);
        disk[0] = out.own;
    }
    assert!(!m.is_master(), "master without node 2's ACK");
    assert_eq!(
        disk[0].as_ref().unwrap().msg,
        crate::qdisk::format::Message::Bid
    );
    // Once node 2 acknowledges, node 1 becomes master within master_wait.
    for k in 30..40u64 {
        let mut b = block(2, k, NodeState::Run);
        b.msg = crate::qdisk::format::Message::Ack;
        b.arg = 1;
        disk[1] = Some(b);
        let out = m.step(k * INTERVAL, &disk, true, 1);
        disk[0] = out.own;
    }
    assert!(m.is_master());
}

#[test]
fn a_master_that_sees_a_lower_master_steps_down() {
    let t = timing(4);
    let mut m = Machine::new(2, t, 102, 0);
    let mut disk: Vec<Option<StatusBlock>> =
        (1..=16).map(|n| Some(StatusBlock::initial(n, 1))).collect();
    // Alone, node 2 becomes master.
    for k in 1..10u64 {
        let out = m.step(k * INTERVAL, &disk, true, 1);
        disk[1] = out.own;
    }
    assert!(m.is_master());
    // Node 1 shows up as master (say, two masters after a disk split).
    let mut stepped = false;
    for k in 10..15u64 {
        disk[0] = Some(block(1, k, NodeState::Master));
        let out = m.step(k * INTERVAL, &disk, true, 1);
        stepped |= out.actions.contains(&Action::Event(Event::SteppedDown));
        disk[1] = out.own;
    }
    assert!(stepped && !m.is_master());
    assert_eq!(m.master(), 1);
    assert_eq!(disk[1].as_ref().unwrap().state, NodeState::Run);
}

/// A fault in a random schedule: at cycle `at`, `what` happens to node
/// `node` (0-based, modulo the node count).
#[derive(Debug, Clone)]
enum Fault {
    Stop,
    Resume,
    Hang,
    Unhang,
    LowScore,
    DataLost,
}

fn fault() -> impl Strategy<Value = (u64, usize, Fault)> {
    (
        1u64..40,
        0usize..4,
        prop_oneof![
            Just(Fault::Stop),
            Just(Fault::Resume),
            Just(Fault::Hang),
            Just(Fault::Unhang),
            Just(Fault::LowScore),
            Just(Fault::DataLost),
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Over random schedules of 2 to 4 nodes: never two masters, nobody
    /// reported dead before being fenced, a node resumed after its
    /// eviction only fences itself, a healthy node is never evicted (all
    /// checked after every step by `Cluster`); and every node that stopped
    /// for good is fenced in the end when a healthy node remains.
    #[test]
    fn invariants_hold_over_random_schedules(
        n in 2usize..=4,
        tko in 3u32..6,
        starts in proptest::collection::vec(0u64..100, 4),
        faults in proptest::collection::vec(fault(), 0..6),
    ) {
        let starts: Vec<u64> = starts.iter().map(|s| s * 10).collect();
        let mut c = Cluster::new(n, tko, &starts);
        let mut faults = faults;
        faults.sort_by_key(|f| f.0);
        // Node 1 stays healthy so someone is left to take over.
        for (at, who, f) in faults {
            c.run_until(at * INTERVAL);
            let id = u32::try_from(who % n).unwrap() + 1;
            if id == 1 {
                continue;
            }
            match f {
                Fault::Stop => c.stop(id),
                Fault::Resume => c.resume(id),
                Fault::Hang => c.hang(id, true),
                Fault::Unhang => c.hang(id, false),
                Fault::LowScore => {
                    let n = c.node(id);
                    n.faulty = true;
                    n.score = 0;
                }
                Fault::DataLost => {
                    let n = c.node(id);
                    n.faulty = true;
                    n.data_lost = true;
                }
            }
        }
        c.run_until(40 * INTERVAL + 30 * INTERVAL);
        for node in &c.nodes {
            let id = node.m.id();
            if node.stopped && c.nodes[0].m.online().contains(&id) {
                prop_assert!(false, "node {} stopped but still online for node 1", id);
            }
            let was_online = c.first(|who, e| who == 1 && *e == Event::Online(id)).is_some();
            if node.stopped && node.m.self_fenced().is_none() && was_online {
                prop_assert!(c.fenced.contains(&id), "stopped node {} never fenced", id);
            }
        }
    }
}
