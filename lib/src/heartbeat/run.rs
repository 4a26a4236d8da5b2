//! The heartbeat's cycle against real parts: the quorum disk through the
//! qdisk module's deadline I/O, fences through persistent reservations on
//! worker threads, the heuristics on threads of their own, and the
//! self-fence method. `heartbeatd` loops [`Runner::cycle`]; tests drive it
//! with an image file and scripted fencers.
//!
//! Nothing here blocks a cycle for longer than the disk deadline: a hung
//! quorum disk is a missed cycle, a fence that takes long runs beside the
//! heartbeat, a heuristic that hangs counts as failed after its interval.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::Heuristic;
use super::machine::{Action, Event, Machine, SelfFence};
use crate::qdisk::format::{BlockMeta, StatusBlock, MAX_NODES};
use crate::qdisk::io::QdiskDevice;

/// The 16 status blocks, read and written.
pub trait Disk {
    /// Node n's block at index n - 1; None for a block that could not be
    /// read; all None when the disk does not answer.
    fn read_all(&self) -> Vec<Option<StatusBlock>>;
    /// Writes a node's block; false when it did not reach the disk.
    fn write_node(&self, block: &StatusBlock) -> bool;
}

impl Disk for QdiskDevice {
    fn read_all(&self) -> Vec<Option<StatusBlock>> {
        match self.read_all_status() {
            Ok(blocks) => blocks.into_iter().map(|b| b.ok().map(|(_, b)| b)).collect(),
            // A timeout or an I/O error: nothing was read this cycle.
            Err(_) => vec![None; idx16()],
        }
    }

    fn write_node(&self, block: &StatusBlock) -> bool {
        let meta = BlockMeta {
            view: 0,
            timestamp: crate::qdisk::now_secs(),
        };
        self.write_status(block.node_id, meta, block).is_ok()
    }
}

fn idx16() -> usize {
    usize::try_from(MAX_NODES).unwrap_or(16)
}

/// Fences a node: removes its key from every data device and path.
pub trait Fencer: Send + Sync + 'static {
    /// Fences node `node` (a qdisk slot); Ok with what was done once the
    /// target confirms, Err with why not.
    fn fence(&self, node: u32) -> Result<String, String>;
    /// Races `node` for the coordinator disks (two nodes, both unfit):
    /// Ok(true) won, Ok(false) lost (a disk that cannot be worked counts
    /// against this node), Err when no race can be run here.
    fn race(&self, node: u32) -> Result<bool, String> {
        let _ = node;
        Err("no coordinator disks".into())
    }
    /// Whether this node's own key is still registered: Some(false) when
    /// at least one data device was read and none lists it.
    fn own_key_present(&self) -> Option<bool> {
        None
    }
}

/// How this node stops itself.
pub trait SelfFencer {
    /// The node is healthy this cycle (feed the watchdog).
    fn keepalive(&mut self);
    /// Stop this node now, for `why`.
    fn fence_self(&mut self, why: SelfFence);
}

/// The heuristics, each on its own thread: the score is the sum of those
/// that have not failed `tko` times in a row.
#[derive(Debug)]
pub struct Heuristics {
    /// (score, tko, consecutive failures) per heuristic.
    state: Vec<(u32, u32, Arc<AtomicU32>)>,
    stop: Arc<AtomicBool>,
}

impl Heuristics {
    /// Starts the heuristics. Each counts as passing until it fails.
    pub fn start(list: &[Heuristic]) -> Heuristics {
        let stop = Arc::new(AtomicBool::new(false));
        let state = list
            .iter()
            .map(|h| {
                let failures = Arc::new(AtomicU32::new(0));
                let (f, s, h2) = (Arc::clone(&failures), Arc::clone(&stop), h.clone());
                let _ = std::thread::Builder::new()
                    .name("heuristic".into())
                    .spawn(move || {
                        while !s.load(Ordering::Relaxed) {
                            let started = Instant::now();
                            if run_with_timeout(&h2.program, h2.interval) {
                                f.store(0, Ordering::Relaxed);
                            } else {
                                f.fetch_add(1, Ordering::Relaxed);
                            }
                            std::thread::sleep(h2.interval.saturating_sub(started.elapsed()));
                        }
                    });
                (h.score, h.tko, failures)
            })
            .collect();
        Heuristics { state, stop }
    }

    /// The score now.
    pub fn score(&self) -> u32 {
        self.state
            .iter()
            .filter(|(_, tko, failures)| failures.load(Ordering::Relaxed) < *tko)
            .map(|(score, _, _)| *score)
            .sum()
    }

    /// Stops the threads (after their current run).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for Heuristics {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `sh -c program`, killing it after `timeout`; true for exit 0.
pub fn run_with_timeout(program: &str, timeout: Duration) -> bool {
    let Ok(mut child) = Command::new("/bin/sh")
        .args(["-c", program])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return st.success(),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

/// What one cycle did, for the log, `sd_notify` and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleReport {
    /// The machine's actions, in order, with the daemon's own self-fence
    /// (a lost key) added.
    pub actions: Vec<Action>,
    /// Fences that finished since the last cycle: (node, Ok detail or Err).
    pub fences: Vec<(u32, Result<String, String>)>,
    /// Races that finished since the last cycle: (peer, won, or Err when
    /// none could run and the lower id survives).
    pub races: Vec<(u32, Result<bool, String>)>,
    /// The own block reached the disk.
    pub wrote: bool,
    /// This node has fenced itself.
    pub self_fenced: Option<SelfFence>,
    /// The master this node sees (0: none).
    pub master: u32,
    /// The nodes this node sees online.
    pub online: Vec<u32>,
    /// The heuristics' score.
    pub score: u32,
}

/// One node's heartbeat against its disk, fencer and self-fencer.
pub struct Runner<D: Disk, F: Fencer, S: SelfFencer> {
    machine: Machine,
    disk: D,
    fencer: Arc<F>,
    self_fencer: S,
    wrote_ok: bool,
    results: mpsc::Receiver<(u32, Result<String, String>)>,
    sender: mpsc::Sender<(u32, Result<String, String>)>,
    running: BTreeSet<u32>,
    key_check: Arc<AtomicU32>,
    key_check_running: Arc<AtomicBool>,
    /// Cycles since the own key was last checked.
    since_key_check: u32,
    /// Why this node fenced itself, once it has.
    fenced_self: Option<SelfFence>,
    /// Key checks in a row that read no data device.
    unreadable_checks: u32,
    /// Whether reading no data device makes the node unfit.
    unfit_without_data: bool,
    /// Races that finished: (peer, won, or Err when none could run).
    race_results: mpsc::Receiver<(u32, Result<bool, String>)>,
    race_sender: mpsc::Sender<(u32, Result<bool, String>)>,
}

/// [`Runner::key_check`] values: no answer since the last look, no data
/// device readable, present, gone.
const KEY_PENDING: u32 = 3;
const KEY_UNKNOWN: u32 = 0;
const KEY_PRESENT: u32 = 1;
const KEY_GONE: u32 = 2;

impl<D: Disk, F: Fencer, S: SelfFencer> Runner<D, F, S> {
    /// A runner for `machine` over the parts.
    pub fn new(machine: Machine, disk: D, fencer: F, self_fencer: S) -> Self {
        let (sender, results) = mpsc::channel();
        let (race_sender, race_results) = mpsc::channel();
        Runner {
            machine,
            disk,
            fencer: Arc::new(fencer),
            self_fencer,
            wrote_ok: true,
            results,
            sender,
            running: BTreeSet::new(),
            key_check: Arc::new(AtomicU32::new(KEY_PENDING)),
            key_check_running: Arc::new(AtomicBool::new(false)),
            since_key_check: u32::MAX,
            fenced_self: None,
            unreadable_checks: 0,
            unfit_without_data: true,
            race_results,
            race_sender,
        }
    }

    /// Whether a node that reads its key on no data device for two key
    /// checks in a row (about `tko` cycles) is unfit (default true).
    pub fn unfit_without_data(mut self, on: bool) -> Self {
        self.unfit_without_data = on;
        self
    }

    /// The state machine.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// The disk.
    pub fn disk(&self) -> &D {
        &self.disk
    }

    /// One cycle at `now_ms` with the heuristics' `score`.
    pub fn cycle(&mut self, now_ms: u64, score: u32) -> CycleReport {
        let mut rep = CycleReport {
            score,
            ..CycleReport::default()
        };
        while let Ok((node, r)) = self.results.try_recv() {
            self.running.remove(&node);
            self.machine.fence_done(node, r.is_ok());
            rep.fences.push((node, r));
        }
        while let Ok((node, r)) = self.race_results.try_recv() {
            self.machine.race_done(node, r.as_ref().ok().copied());
            rep.races.push((node, r));
        }
        self.machine.set_wall_secs(crate::qdisk::now_secs());
        let blocks = self.disk.read_all();
        let out = self.machine.step(now_ms, &blocks, self.wrote_ok, score);
        for e in &out.evict {
            self.disk.write_node(e);
        }
        self.wrote_ok = out.own.as_ref().is_some_and(|b| self.disk.write_node(b));
        rep.wrote = self.wrote_ok;
        for a in &out.actions {
            match *a {
                Action::Fence { node } if !self.running.contains(&node) => {
                    self.running.insert(node);
                    let tx = self.sender.clone();
                    if !on_worker(&self.fencer, "fence", move |f| {
                        let _ = tx.send((node, f.fence(node)));
                    }) {
                        self.running.remove(&node);
                        self.machine.fence_done(node, false);
                    }
                }
                Action::Race { node } => {
                    let tx = self.race_sender.clone();
                    if !on_worker(&self.fencer, "race", move |f| {
                        let _ = tx.send((node, f.race(node)));
                    }) {
                        self.machine.race_done(node, Some(false));
                    }
                }
                Action::SelfFence(why) => self.fence_self(why),
                _ => {}
            }
        }
        rep.actions = out.actions;
        // The own key, checked beside the cycle every tko / 2 cycles (a
        // fenced node's writes are refused by the targets meanwhile): gone
        // means fenced.
        if self.fenced_self.is_none() {
            let every = (self.machine.timing().tko / 2).max(1);
            self.since_key_check = self.since_key_check.saturating_add(1);
            if self.since_key_check >= every {
                self.since_key_check = 0;
                self.start_key_check();
            }
            match self.key_check.swap(KEY_PENDING, Ordering::Relaxed) {
                KEY_GONE => {
                    self.fence_self(SelfFence::KeyGone);
                    rep.actions.push(Action::SelfFence(SelfFence::KeyGone));
                }
                KEY_UNKNOWN => self.unreadable_checks = self.unreadable_checks.saturating_add(1),
                KEY_PRESENT => self.unreadable_checks = 0,
                _ => {}
            }
            // Two checks in a row (about tko cycles) that reached no data
            // device: the node has lost its data paths.
            self.machine
                .set_data_lost(self.unfit_without_data && self.unreadable_checks >= 2);
        }
        rep.self_fenced = self.fenced_self;
        if rep.self_fenced.is_none() && self.wrote_ok {
            self.self_fencer.keepalive();
        }
        rep.master = self.machine.master();
        rep.online = self.machine.online();
        rep
    }

    fn fence_self(&mut self, why: SelfFence) {
        if self.fenced_self.is_none() {
            self.fenced_self = Some(why);
            self.self_fencer.fence_self(why);
        }
    }

    fn start_key_check(&self) {
        if self.key_check_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let (state, running) = (
            Arc::clone(&self.key_check),
            Arc::clone(&self.key_check_running),
        );
        if !on_worker(&self.fencer, "key-check", move |f| {
            let v = match f.own_key_present() {
                Some(true) => KEY_PRESENT,
                Some(false) => KEY_GONE,
                None => KEY_UNKNOWN,
            };
            state.store(v, Ordering::Relaxed);
            running.store(false, Ordering::Release);
        }) {
            self.key_check_running.store(false, Ordering::Release);
        }
    }

    /// A clean shutdown: writes state NONE so the others do not fence a
    /// node that left on purpose. False when the block did not reach the
    /// disk (or the node had fenced itself).
    pub fn shutdown(&mut self) -> bool {
        if self.fenced_self.is_some() {
            return false;
        }
        match self.machine.shutdown() {
            Some(b) => self.disk.write_node(&b),
            None => false,
        }
    }
}

/// Runs `work` with the fencer on a thread named `name`; false when no
/// thread could be started.
fn on_worker<F: Fencer>(
    fencer: &Arc<F>,
    name: &str,
    work: impl FnOnce(&F) + Send + 'static,
) -> bool {
    let f = Arc::clone(fencer);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || work(&f))
        .is_ok()
}

/// A one-line summary of an event, for the log.
pub fn describe(e: &Event) -> String {
    match *e {
        Event::Online(n) => format!("node {n} is online"),
        Event::Master(0) => "no master".into(),
        Event::Master(n) => format!("node {n} is master"),
        Event::ElectedMaster => "this node is master".into(),
        Event::SteppedDown => "this node is no longer master".into(),
        Event::Lost(n) => format!("node {n} stopped writing its block"),
        Event::Evicted(n) => format!("node {n} evicted; fencing it"),
        Event::Undead(n) => format!("node {n} wrote again after its eviction; evicting it again"),
        Event::FenceFailed(n) => format!("fencing node {n} failed; trying again"),
        Event::Dead(n) => format!("node {n} fenced: it is dead"),
        Event::Left(n) => format!("node {n} left"),
        Event::Racing(n) => {
            format!("this node and node {n} are both unfit; racing for the coordinator disks")
        }
        Event::RaceWon(n) => format!("won the race against node {n}: staying up as the survivor"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heartbeat::config::Config;
    use crate::qdisk::format::NodeState;
    use crate::qdisk::io::OpenOpts;
    use crate::qdisk::{create, open_for_create, CreateRequest};
    use std::path::Path;
    use std::sync::Mutex;

    /// A fencer that records its calls and answers as told.
    #[derive(Default)]
    struct Script {
        calls: Mutex<Vec<u32>>,
        fail: AtomicBool,
        key_gone: AtomicBool,
        /// No data device answers a key check.
        unreadable: AtomicBool,
    }

    impl Fencer for Arc<Script> {
        fn fence(&self, node: u32) -> Result<String, String> {
            self.calls.lock().unwrap().push(node);
            if self.fail.load(Ordering::Relaxed) {
                Err("no path answered".into())
            } else {
                Ok("preempted".into())
            }
        }
        fn own_key_present(&self) -> Option<bool> {
            if self.unreadable.load(Ordering::Relaxed) {
                None
            } else {
                Some(!self.key_gone.load(Ordering::Relaxed))
            }
        }
    }

    #[derive(Default, Clone)]
    struct Record(Arc<Mutex<(u32, Vec<SelfFence>)>>);

    impl SelfFencer for Record {
        fn keepalive(&mut self) {
            self.0.lock().unwrap().0 += 1;
        }
        fn fence_self(&mut self, why: SelfFence) {
            self.0.lock().unwrap().1.push(why);
        }
    }

    /// A disk that stops answering when told.
    struct Hangable {
        dev: QdiskDevice,
        hung: Arc<AtomicBool>,
    }

    impl Disk for Hangable {
        fn read_all(&self) -> Vec<Option<StatusBlock>> {
            if self.hung.load(Ordering::Relaxed) {
                vec![None; 16]
            } else {
                self.dev.read_all()
            }
        }
        fn write_node(&self, b: &StatusBlock) -> bool {
            !self.hung.load(Ordering::Relaxed) && self.dev.write_node(b)
        }
    }

    fn qdisk_image() -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(1 << 20).unwrap();
        let d = open_for_create(f.path(), OpenOpts::default()).unwrap();
        let req = CreateRequest {
            label: "hb",
            host: "test",
            now: 1,
            force: false,
        };
        create(&d, Path::new("/"), &req, &mut |_, _| true).unwrap();
        f
    }

    type Node = Runner<Hangable, Arc<Script>, Record>;

    fn node(img: &Path, id: u32, script: &Arc<Script>) -> (Node, Record, Arc<AtomicBool>) {
        node_of(img, id, script, false)
    }

    fn node_of(
        img: &Path,
        id: u32,
        script: &Arc<Script>,
        two_node: bool,
    ) -> (Node, Record, Arc<AtomicBool>) {
        let mut c = Config::new(id);
        c.two_node = two_node;
        c.interval = Duration::from_millis(100);
        c.tko = 4;
        let t = c.validate().unwrap();
        let dev = QdiskDevice::open(
            img,
            OpenOpts {
                write: true,
                deadline: Duration::from_secs(2),
                ..OpenOpts::default()
            },
        )
        .unwrap();
        let hung = Arc::new(AtomicBool::new(false));
        let rec = Record::default();
        let r = Runner::new(
            Machine::new(id, t, 1000 + u64::from(id), 0),
            Hangable {
                dev,
                hung: Arc::clone(&hung),
            },
            Arc::clone(script),
            rec.clone(),
        );
        (r, rec, hung)
    }

    /// Cycles the nodes not in `stopped` from `from` to `to` ms, 100 ms
    /// apart, pausing so that fence threads report back.
    fn cycles(nodes: &mut [Node], stopped: &[u32], from: u64, to: u64) -> Vec<(u32, CycleReport)> {
        let mut reps = Vec::new();
        let mut t = from;
        while t < to {
            for n in nodes.iter_mut() {
                let id = n.machine().id();
                if !stopped.contains(&id) {
                    reps.push((id, n.cycle(t, 0)));
                }
            }
            std::thread::sleep(Duration::from_millis(10));
            t += 100;
        }
        reps
    }

    #[test]
    fn three_nodes_on_an_image_evict_and_fence_a_stopped_one() {
        let img = qdisk_image();
        let script = Arc::new(Script::default());
        let mut nodes: Vec<Node> = (1..=3).map(|i| node(img.path(), i, &script).0).collect();
        cycles(&mut nodes, &[], 100, 2000);
        assert_eq!(nodes[0].machine().master(), 1);
        assert_eq!(nodes[2].machine().online(), vec![1, 2, 3]);
        let reps = cycles(&mut nodes, &[3], 2000, 3500);
        assert_eq!(*script.calls.lock().unwrap(), vec![3]);
        // Node 3's block on the image says EVICT, written by node 1.
        let (_, b) = nodes[1].disk().dev.read_status(3).unwrap();
        assert_eq!((b.state, b.update_node), (NodeState::Evict, 1));
        let dead = reps
            .iter()
            .position(|(id, r)| *id == 1 && r.actions.contains(&Action::Event(Event::Dead(3))));
        let fenced = reps
            .iter()
            .position(|(id, r)| *id == 1 && r.fences.iter().any(|f| f.0 == 3 && f.1.is_ok()));
        // Reported dead in the cycle that collected the fence's success, or later.
        assert!(fenced.is_some() && dead >= fenced, "{dead:?} {fenced:?}");
        // Node 3 comes back: it fences itself and writes nothing.
        let before = nodes[1].disk().dev.read_status(3).unwrap().1;
        let r = nodes[2].cycle(3600, 0);
        assert!(r.self_fenced.is_some() && !r.wrote, "{r:?}");
        assert_eq!(nodes[1].disk().dev.read_status(3).unwrap().1, before);
    }

    #[test]
    fn a_failing_fence_is_retried_and_the_node_is_never_reported_dead() {
        let img = qdisk_image();
        let script = Arc::new(Script::default());
        script.fail.store(true, Ordering::Relaxed);
        let mut nodes: Vec<Node> = (1..=2).map(|i| node(img.path(), i, &script).0).collect();
        cycles(&mut nodes, &[], 100, 2000);
        let reps = cycles(&mut nodes, &[2], 2000, 4000);
        assert!(script.calls.lock().unwrap().len() >= 3);
        assert!(reps
            .iter()
            .all(|(_, r)| !r.actions.contains(&Action::Event(Event::Dead(2)))));
    }

    #[test]
    fn a_hung_disk_stops_the_watchdog_feed_and_fences_the_node() {
        let img = qdisk_image();
        let script = Arc::new(Script::default());
        let (mut a, _, _) = node(img.path(), 1, &script);
        let (mut b, rec, hung) = node(img.path(), 2, &script);
        let mut t = 100;
        while t < 2000 {
            a.cycle(t, 0);
            b.cycle(t, 0);
            t += 100;
        }
        let fed = rec.0.lock().unwrap().0;
        assert!(fed > 10, "fed {fed} times");
        hung.store(true, Ordering::Relaxed);
        while t < 3000 {
            a.cycle(t, 0);
            b.cycle(t, 0);
            t += 100;
            std::thread::sleep(Duration::from_millis(2));
        }
        let (fed_after, why) = rec.0.lock().unwrap().clone();
        assert_eq!(fed_after, fed, "the watchdog was fed on a hung disk");
        assert!(matches!(why[..], [SelfFence::DiskLost { .. }]), "{why:?}");
        assert!(script.calls.lock().unwrap().contains(&2));
    }

    #[test]
    fn a_node_whose_key_is_gone_fences_itself() {
        let img = qdisk_image();
        let script = Arc::new(Script::default());
        let (mut a, rec, _) = node(img.path(), 1, &script);
        a.cycle(100, 0);
        script.key_gone.store(true, Ordering::Relaxed);
        let mut gone = None;
        for k in 2..300u64 {
            std::thread::sleep(Duration::from_millis(10));
            let r = a.cycle(k * 100, 0);
            if r.self_fenced.is_some() {
                gone = Some(r);
                break;
            }
        }
        let r = gone.expect("no self-fence");
        assert_eq!(r.self_fenced, Some(SelfFence::KeyGone));
        assert_eq!(rec.0.lock().unwrap().1, vec![SelfFence::KeyGone]);
    }

    /// Cycles `nodes` until one has fenced itself or `to` ms; pauses so
    /// that key checks and races report back.
    fn until_fenced(nodes: &mut [Node], from: u64, to: u64) -> Vec<(u32, CycleReport)> {
        let mut reps = Vec::new();
        let mut t = from;
        while t < to
            && reps
                .iter()
                .all(|(_, r): &(u32, CycleReport)| r.self_fenced.is_none())
        {
            for n in nodes.iter_mut() {
                reps.push((n.machine().id(), n.cycle(t, 0)));
            }
            std::thread::sleep(Duration::from_millis(10));
            t += 100;
        }
        reps
    }

    #[test]
    fn a_node_that_reads_no_data_device_fences_itself_unless_told_not_to() {
        let img = qdisk_image();
        let script = Arc::new(Script::default());
        script.unreadable.store(true, Ordering::Relaxed);
        let (a, rec, _) = node(img.path(), 1, &script);
        let mut nodes = vec![a];
        let reps = until_fenced(&mut nodes, 100, 30_000);
        let last = &reps.last().unwrap().1;
        assert_eq!(last.self_fenced, Some(SelfFence::DataLost), "{last:?}");
        assert_eq!(rec.0.lock().unwrap().1, vec![SelfFence::DataLost]);
        // The same with `unfit_without_data = false`: it keeps running.
        let img = qdisk_image();
        let (a, rec, _) = node(img.path(), 1, &script);
        let mut nodes = vec![a.unfit_without_data(false)];
        let reps = until_fenced(&mut nodes, 100, 3_000);
        assert!(reps.iter().all(|(_, r)| r.self_fenced.is_none()));
        assert!(rec.0.lock().unwrap().1.is_empty());
    }

    #[test]
    fn two_nodes_without_data_paths_race_and_with_no_race_the_lower_id_stays() {
        let img = qdisk_image();
        let script = Arc::new(Script::default());
        let mut nodes: Vec<Node> = (1..=2)
            .map(|i| node_of(img.path(), i, &script, true).0)
            .collect();
        cycles(&mut nodes, &[], 100, 1500);
        assert_eq!(nodes[0].machine().online(), vec![1, 2]);
        script.unreadable.store(true, Ordering::Relaxed);
        let reps = until_fenced(&mut nodes, 1500, 30_000);
        // The Script has no coordinator disks: Err, so node 1 stays.
        let raced: Vec<u32> = reps
            .iter()
            .filter(|(_, r)| r.races.iter().any(|x| x.1.is_err()))
            .map(|(id, _)| *id)
            .collect();
        assert!(raced.contains(&2), "{raced:?}");
        let fenced: Vec<(u32, SelfFence)> = reps
            .iter()
            .filter_map(|(id, r)| r.self_fenced.map(|w| (*id, w)))
            .collect();
        assert_eq!(fenced, vec![(2, SelfFence::RaceLost { peer: 1 })]);
        assert!(nodes[0].machine().is_survivor());
    }

    #[test]
    fn a_clean_shutdown_writes_state_none() {
        let img = qdisk_image();
        let script = Arc::new(Script::default());
        let (mut a, _, _) = node(img.path(), 1, &script);
        a.cycle(100, 0);
        assert!(a.shutdown());
        let (_, b) = a.disk().dev.read_status(1).unwrap();
        assert_eq!((b.state, b.incarnation), (NodeState::None, 0));
    }

    #[test]
    fn heuristics_score_and_time_out() {
        let list = vec![
            Heuristic {
                program: "true".into(),
                score: 2,
                interval: Duration::from_millis(50),
                tko: 1,
            },
            Heuristic {
                program: "sleep 5".into(),
                score: 3,
                interval: Duration::from_millis(50),
                tko: 1,
            },
        ];
        let h = Heuristics::start(&list);
        assert_eq!(h.score(), 5, "both count until they fail");
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(h.score(), 2, "the hanging one was killed and failed");
        assert!(run_with_timeout("exit 0", Duration::from_secs(1)));
        assert!(!run_with_timeout("exit 3", Duration::from_secs(1)));
    }
}
