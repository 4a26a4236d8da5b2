//! One node's heartbeat as a state machine over the qdisk status blocks.
//!
//! Every cycle the daemon reads the 16 status blocks and calls
//! [`Machine::step`] with them, the time, whether its last write of its own
//! block succeeded, and its heuristic score. The machine answers with the
//! block to write for this node, the eviction notices to write over other
//! nodes' blocks, and the [`Action`]s to take: fence a node through
//! persistent reservations, fence this node itself, or report an event.
//! The result of a fence comes back through [`Machine::fence_done`]. The
//! machine has no thread, no device and no clock of its own, so it runs in
//! virtual time in tests.
//!
//! The protocol is qdiskd's:
//! - A node's block changes every cycle (its timestamp only has to change).
//!   A node is online once its block has been seen to change; it is dead
//!   when its block has not changed for `tko` cycles in a row, counted
//!   only in cycles whose own I/O worked (a node whose disk hangs does not
//!   declare the others dead).
//! - With no master, the lowest online node id whose score is sufficient
//!   bids (message BID); the others acknowledge the lowest bidder (ACK with
//!   its id); once every online node has acknowledged and `master_wait`
//!   cycles have passed, the bidder is master. A master that sees a master
//!   with a lower id steps down.
//! - The master writes EVICT into a dead node's block and fences it; the
//!   node is reported dead only when the fence has succeeded
//!   ([`Event::Dead`]). Until then the master keeps it in its online mask
//!   and tries the fence again every cycle. An evicted node that writes
//!   again with the same incarnation ("undead") is evicted and fenced
//!   again; one with a new incarnation has restarted and joins anew.
//! - A node that finds EVICT in its own block with its own incarnation,
//!   written by another node, fences itself; so does a node that has not
//!   written its block for `interval * tko` (its disk hangs, or it was
//!   stopped), and one whose score falls below `min_score`. A fenced node
//!   writes nothing more.
//! - A clean exit writes state NONE with incarnation 0; a node in state
//!   NONE has left and is neither evicted nor fenced.
//!
//! Two nodes ([`Timing::two_node`]): a node is *unfit* when its score is
//! below `min_score` or when it can read its reservation key on none of
//! the data devices ([`Machine::set_data_lost`]); it sets
//! [`FL_UNFIT`] in its block's flags, so its peer sees it. An
//! unfit node whose peer is online waits `tko` cycles, so that its peer's
//! block shows the peer's own fitness (the two find out at different
//! times: each heuristic and key check runs on its own schedule), then:
//! - if the peer is fit (score at least `min_score`, writing), it fences
//!   itself: the peer takes over and evicts it as usual;
//! - if the peer is unfit too, both race for the coordinator disks
//!   ([`Action::Race`], `fence::race`): the winner preempts the loser's key
//!   and stays up as the *survivor* even though its score is low, the
//!   loser fences itself. Where no race can be run (no odd set of
//!   coordinator disks), the lower node id survives.
//! - if the peer is not writing, it waits: the peer is lost after `tko`
//!   cycles, and an unfit node with no peer online fences itself, unless
//!   it is the survivor of a race. A survivor fences itself as soon as a
//!   fit peer is online again.
//!
//! So a heuristic that fails on both nodes at once (the gateway they ping
//! is down) leaves one node up instead of none, and a node that lost its
//! data paths never outlives a healthy peer.

use std::time::Duration;

use super::config::Timing;
use crate::qdisk::format::{Message, NodeMask, NodeState, StatusBlock, FL_UNFIT, MAX_NODES};

/// Why a node fences itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfFence {
    /// Another node wrote EVICT into this node's block.
    Evicted {
        /// The node that wrote it (0: an administrator).
        by: u32,
    },
    /// This node has not written its block for `interval * tko`.
    DiskLost {
        /// Time since the last successful write.
        since: Duration,
    },
    /// This node's own reservation key is gone from the data devices: it
    /// has been fenced (decided by the daemon, not the machine).
    KeyGone,
    /// The heuristics' score is below `min_score`.
    LowScore {
        /// The score.
        score: u32,
        /// The minimum.
        min_score: u32,
    },
    /// This node's key could be read on none of the data devices.
    DataLost,
    /// Two nodes, both unfit: the peer won the race for the coordinator
    /// disks (or, with no race possible, has the lower id).
    RaceLost {
        /// The peer.
        peer: u32,
    },
}

/// Something that happened, for the log and for `sd_notify` STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A node's block started changing.
    Online(u32),
    /// This node's view of who is master changed (0: none).
    Master(u32),
    /// This node became master.
    ElectedMaster,
    /// This node stopped being master (a lower id is master, or its score
    /// is too low).
    SteppedDown,
    /// A node stopped writing (no change for `tko` cycles).
    Lost(u32),
    /// This node, as master, wrote EVICT into a node's block.
    Evicted(u32),
    /// An evicted node wrote again with the same incarnation.
    Undead(u32),
    /// A fence of a node failed; it is retried next cycle.
    FenceFailed(u32),
    /// A node was fenced: it is dead, and its writes are refused.
    Dead(u32),
    /// A node left on purpose (state NONE).
    Left(u32),
    /// Two nodes, both unfit: this node races its peer for the
    /// coordinator disks.
    Racing(u32),
    /// This node won the race against its peer (or has the lower id where
    /// no race can run): it stays up, unfit, as the survivor.
    RaceWon(u32),
}

/// What the daemon must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Fence `node` (preempt its key on every data device and path), then
    /// call [`Machine::fence_done`].
    Fence {
        /// The node.
        node: u32,
    },
    /// Fence this node (watchdog, reboot, or the configured command).
    SelfFence(SelfFence),
    /// Race `node` for the coordinator disks (two nodes, both unfit),
    /// then call [`Machine::race_done`].
    Race {
        /// The peer.
        node: u32,
    },
    /// Report an event.
    Event(Event),
}

/// What one [`Machine::step`] asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// This node's block to write, unless it has fenced itself.
    pub own: Option<StatusBlock>,
    /// Eviction notices to write into other nodes' blocks.
    pub evict: Vec<StatusBlock>,
    /// The actions, in order.
    pub actions: Vec<Action>,
}

/// What this node knows about another.
#[derive(Debug, Clone, Default)]
struct Peer {
    /// The block last read.
    last: Option<StatusBlock>,
    /// Consecutive cycles without a change.
    misses: u32,
    /// Its block has changed since it was last lost, evicted or left.
    online: bool,
    /// The incarnation it was evicted with, while the eviction stands.
    evicted: Option<u64>,
    /// A fence is owed (this node is master and evicted it).
    fence_pending: bool,
    /// A fence is running (asked, not yet answered).
    fence_running: bool,
    /// It was fenced and reported dead.
    dead: bool,
}

/// One node's heartbeat state.
#[derive(Debug, Clone)]
pub struct Machine {
    id: u32,
    timing: Timing,
    incarnation: u64,
    state: NodeState,
    /// Cycles stepped.
    cycles: u64,
    /// Cycles this node has been INIT.
    init_cycles: u32,
    /// The last timestamp written (strictly increasing).
    stamp: u64,
    /// Wall-clock seconds, for block timestamps (qdiskd writes
    /// `time(NULL)`); 0 when unknown.
    wall: u64,
    /// When the last write of the own block that succeeded was issued (ms).
    last_write_ok: u64,
    /// When the previous step ran (ms): its write is the one `wrote_ok`
    /// reports on.
    last_step: u64,
    /// The cycle this node's bid started, while bidding.
    bid_since: Option<u64>,
    msg: Message,
    seq: u16,
    arg: u32,
    /// The master this node sees (0: none).
    master: u32,
    peers: Vec<Peer>,
    /// Why this node fenced itself, once it has.
    fenced: Option<SelfFence>,
    /// Events from [`Machine::fence_done`], reported at the next step.
    pending_events: Vec<Event>,
    score: u32,
    /// No data device could be read (set by the daemon).
    data_lost: bool,
    /// Unfit this cycle (written as [`FL_UNFIT`]).
    unfit: bool,
    /// The cycle this node became unfit (two nodes), while it is.
    unfit_since: Option<u64>,
    /// The peer being raced, while the race runs.
    racing: Option<u32>,
    /// This node won a race and stays up while unfit.
    survivor: bool,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn idx(node: u32) -> usize {
    usize::try_from(node).unwrap_or(usize::MAX)
}

impl Machine {
    /// A node starting at `now_ms` with `incarnation` (a value that differs
    /// from every earlier start of this node; never 0).
    pub fn new(id: u32, timing: Timing, incarnation: u64, now_ms: u64) -> Machine {
        Machine {
            id,
            timing,
            incarnation: incarnation.max(1),
            state: NodeState::Init,
            cycles: 0,
            init_cycles: 0,
            stamp: 0,
            wall: 0,
            last_write_ok: now_ms,
            last_step: now_ms,
            bid_since: None,
            msg: Message::None,
            seq: 0,
            arg: 0,
            master: 0,
            peers: vec![Peer::default(); idx(MAX_NODES) + 1],
            fenced: None,
            pending_events: Vec::new(),
            score: 0,
            data_lost: false,
            unfit: false,
            unfit_since: None,
            racing: None,
            survivor: false,
        }
    }

    /// This node's id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The timing it runs with.
    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// Whether this node is master (and has not fenced itself).
    pub fn is_master(&self) -> bool {
        self.fenced.is_none() && self.state == NodeState::Master
    }

    /// Why this node fenced itself, if it has.
    pub fn self_fenced(&self) -> Option<SelfFence> {
        self.fenced
    }

    /// The master this node sees (0: none).
    pub fn master(&self) -> u32 {
        if self.is_master() {
            self.id
        } else {
            self.master
        }
    }

    /// The nodes this node sees online, itself included.
    pub fn online(&self) -> Vec<u32> {
        let mut v: Vec<u32> = (1..=MAX_NODES)
            .filter(|&n| n != self.id && self.peers[idx(n)].online)
            .collect();
        if self.fenced.is_none() {
            v.push(self.id);
            v.sort_unstable();
        }
        v
    }

    /// Nodes fenced and reported dead.
    pub fn dead(&self) -> Vec<u32> {
        (1..=MAX_NODES)
            .filter(|&n| self.peers[idx(n)].dead)
            .collect()
    }

    /// Sets the wall clock (seconds since the epoch) that block timestamps
    /// follow; each timestamp is still one more than the last at least.
    pub fn set_wall_secs(&mut self, secs: u64) {
        self.wall = secs;
    }

    /// The result of an [`Action::Fence`]: on success the node is dead;
    /// on failure the fence is asked for again next cycle.
    pub fn fence_done(&mut self, node: u32, ok: bool) {
        let Some(p) = self.peers.get_mut(idx(node)) else {
            return;
        };
        if !p.fence_running {
            return;
        }
        p.fence_running = false;
        if ok {
            p.fence_pending = false;
            p.dead = true;
            p.online = false;
            self.pending_events.push(Event::Dead(node));
        } else {
            self.pending_events.push(Event::FenceFailed(node));
        }
    }

    /// Whether the daemon can read this node's key on none of the data
    /// devices (for `tko` cycles): the node is unfit.
    pub fn set_data_lost(&mut self, lost: bool) {
        self.data_lost = lost;
    }

    /// Whether this node won a race and stays up while unfit.
    pub fn is_survivor(&self) -> bool {
        self.survivor
    }

    /// The result of an [`Action::Race`] against `node`: `Some(true)` won,
    /// `Some(false)` lost, `None` when no race could be run (then the
    /// lower node id survives).
    pub fn race_done(&mut self, node: u32, outcome: Option<bool>) {
        if self.racing != Some(node) || self.fenced.is_some() {
            return;
        }
        self.racing = None;
        let won = outcome.unwrap_or(self.id < node);
        if won {
            self.survivor = true;
            self.pending_events.push(Event::RaceWon(node));
        } else {
            self.fenced = Some(SelfFence::RaceLost { peer: node });
            self.state = NodeState::None;
        }
    }

    /// The block a clean shutdown writes: state NONE, incarnation 0, so
    /// that the others see the node left on purpose.
    pub fn shutdown(&mut self) -> Option<StatusBlock> {
        if self.fenced.is_some() {
            return None;
        }
        self.stamp = self.stamp.saturating_add(1).max(self.wall);
        let mut b = StatusBlock::initial(self.id, self.stamp);
        b.update_node = self.id;
        self.state = NodeState::None;
        self.fenced = None;
        Some(b)
    }

    fn fence_self(&mut self, why: SelfFence, out: &mut Output) {
        if self.fenced.is_none() {
            self.fenced = Some(why);
            self.state = NodeState::None;
        }
        out.own = None;
        out.evict.clear();
        out.actions.retain(|a| matches!(a, Action::Event(_)));
        out.actions
            .push(Action::SelfFence(self.fenced.unwrap_or(why)));
    }

    /// One cycle at `now_ms`. `blocks[n - 1]` is node n's block as read
    /// this cycle (None when it could not be read), for n = 1..=16;
    /// `wrote_ok` says whether the previous write of the own block
    /// succeeded; `score` is the heuristics' score now.
    pub fn step(
        &mut self,
        now_ms: u64,
        blocks: &[Option<StatusBlock>],
        wrote_ok: bool,
        score: u32,
    ) -> Output {
        let mut out = Output::default();
        for e in self.pending_events.drain(..) {
            out.actions.push(Action::Event(e));
        }
        if let Some(why) = self.fenced {
            out.actions.push(Action::SelfFence(why));
            return out;
        }
        self.cycles += 1;
        self.score = score;
        if wrote_ok {
            self.last_write_ok = self.last_write_ok.max(self.last_step);
        }
        self.last_step = now_ms;
        let since = now_ms.saturating_sub(self.last_write_ok);
        if since >= ms(self.timing.self_fence_after) {
            self.fence_self(
                SelfFence::DiskLost {
                    since: Duration::from_millis(since),
                },
                &mut out,
            );
            return out;
        }
        let own = blocks.get(idx(self.id) - 1).cloned().flatten();
        if let Some(b) = &own {
            if b.state == NodeState::Evict
                && b.update_node != self.id
                && b.incarnation == self.incarnation
            {
                self.fence_self(SelfFence::Evicted { by: b.update_node }, &mut out);
                return out;
            }
        }
        let unfit = score < self.timing.min_score || self.data_lost;
        self.unfit = unfit;
        if !unfit {
            self.unfit_since = None;
            self.survivor = false;
        } else if !self.unfit_may_stay(&mut out) {
            if self.state == NodeState::Master {
                out.actions.push(Action::Event(Event::SteppedDown));
            }
            let why = if self.data_lost {
                SelfFence::DataLost
            } else {
                SelfFence::LowScore {
                    score,
                    min_score: self.timing.min_score,
                }
            };
            self.fence_self(why, &mut out);
            return out;
        }
        // Our view of the others counts only when our own I/O works: the
        // own block read, and the last write went through.
        let view_ok = own.is_some() && wrote_ok;
        self.observe(blocks, view_ok, &mut out);
        self.elect(&mut out);
        if self.state == NodeState::Master {
            self.master_duties(&mut out);
        } else {
            self.learn_dead(&mut out);
        }
        if self.state == NodeState::Init {
            self.init_cycles += 1;
            if self.init_cycles > self.timing.upgrade_wait {
                self.state = NodeState::Run;
            }
        }
        out.own = Some(self.own_block());
        out
    }

    /// An unfit node: true while it may stay up (two nodes: waiting, or
    /// racing), false when it must fence itself now.
    fn unfit_may_stay(&mut self, out: &mut Output) -> bool {
        if !self.timing.two_node {
            return false;
        }
        if self.racing.is_some() {
            return true;
        }
        let peer = (1..=MAX_NODES).find(|&n| {
            let p = &self.peers[idx(n)];
            n != self.id && p.online && p.evicted.is_none() && !p.fence_pending
        });
        let Some(peer) = peer else {
            // Alone: a survivor stays, any other unfit node goes.
            return self.survivor;
        };
        let since = *self.unfit_since.get_or_insert(self.cycles);
        if self.cycles - since < u64::from(self.timing.tko) {
            return true;
        }
        let p = &self.peers[idx(peer)];
        if p.misses > 0 {
            // Not writing: lost after tko cycles, or writing again.
            return true;
        }
        let peer_fit = p.last.as_ref().is_some_and(|b| {
            u32::from(b.score) >= self.timing.min_score && b.flags & FL_UNFIT == 0
        });
        if peer_fit {
            // A fit peer takes over, also from a survivor.
            self.survivor = false;
            return false;
        }
        if self.survivor {
            return true;
        }
        self.racing = Some(peer);
        out.actions.push(Action::Event(Event::Racing(peer)));
        out.actions.push(Action::Race { node: peer });
        true
    }

    /// Reads the others' blocks: changes, losses, departures, undead.
    fn observe(&mut self, blocks: &[Option<StatusBlock>], view_ok: bool, out: &mut Output) {
        let tko = self.timing.tko;
        for n in 1..=MAX_NODES {
            if n == self.id {
                continue;
            }
            let b = blocks.get(idx(n) - 1).cloned().flatten();
            let p = &mut self.peers[idx(n)];
            let Some(b) = b else {
                if view_ok && p.online {
                    p.misses += 1;
                }
                Self::lost_check(n, p, tko, out);
                continue;
            };
            let changed = p.last.as_ref().is_none_or(|l| {
                l.timestamp != b.timestamp
                    || l.incarnation != b.incarnation
                    || l.state != b.state
                    || l.update_node != b.update_node
            });
            let first = p.last.is_none();
            p.last = Some(b.clone());
            match b.state {
                NodeState::None => {
                    if p.online && !p.fence_pending {
                        out.actions.push(Action::Event(Event::Left(n)));
                    }
                    if !p.fence_pending {
                        p.online = false;
                        p.evicted = None;
                    }
                    p.misses = 0;
                }
                NodeState::Evict => {
                    // Someone evicted it (a master, maybe one that died
                    // since, or an administrator): until it is known to be
                    // fenced, the master owes the fence.
                    if p.evicted.is_none() {
                        p.evicted = Some(b.incarnation);
                    }
                    if !p.dead {
                        p.fence_pending = true;
                    }
                    p.online = false;
                    p.misses = 0;
                }
                _ if b.update_node != n => {
                    // A block this node did not write (an administrator's
                    // tool): not a sign of life.
                    if view_ok && p.online {
                        p.misses += 1;
                    }
                    Self::lost_check(n, p, tko, out);
                }
                _ => {
                    if !changed {
                        if view_ok && p.online {
                            p.misses += 1;
                        }
                        Self::lost_check(n, p, tko, out);
                        continue;
                    }
                    p.misses = 0;
                    match p.evicted {
                        Some(inc) if inc == b.incarnation => {
                            // Writing again after its eviction, in the same
                            // life: evicted and fenced again.
                            out.actions.push(Action::Event(Event::Undead(n)));
                            p.evicted = None;
                            p.dead = false;
                            p.online = false;
                            p.fence_pending = true;
                        }
                        Some(_) => {
                            // Restarted: a new life.
                            p.evicted = None;
                            p.dead = false;
                            p.fence_pending = false;
                            if !first && !p.online {
                                p.online = true;
                                out.actions.push(Action::Event(Event::Online(n)));
                            }
                        }
                        None => {
                            if !first && !p.online {
                                // Alive again before anyone evicted it.
                                p.online = true;
                                p.dead = false;
                                p.fence_pending = false;
                                out.actions.push(Action::Event(Event::Online(n)));
                            }
                        }
                    }
                }
            }
        }
    }

    fn lost_check(n: u32, p: &mut Peer, tko: u32, out: &mut Output) {
        if p.online && p.misses >= tko {
            p.online = false;
            out.actions.push(Action::Event(Event::Lost(n)));
            // Owed an eviction: whoever is (or becomes) master does it.
            if p.evicted.is_none() {
                p.fence_pending = true;
            }
        }
    }

    /// The election: bid, acknowledge, become master, step down.
    fn elect(&mut self, out: &mut Output) {
        fn peer_block(m: &Machine, n: u32) -> Option<&StatusBlock> {
            let p = m.peers.get(idx(n))?;
            if p.online {
                p.last.as_ref()
            } else {
                None
            }
        }
        let online: Vec<u32> = (1..=MAX_NODES)
            .filter(|&n| n != self.id && self.peers[idx(n)].online)
            .collect();
        let masters: Vec<u32> = online
            .iter()
            .copied()
            .filter(|&n| peer_block(self, n).is_some_and(|b| b.state == NodeState::Master))
            .collect();
        let seen = masters.first().copied().unwrap_or(0);
        if self.state == NodeState::Master {
            if seen != 0 && seen < self.id {
                self.state = NodeState::Run;
                out.actions.push(Action::Event(Event::SteppedDown));
            } else {
                self.master = self.id;
                return;
            }
        }
        if seen != self.master {
            self.master = seen;
            out.actions.push(Action::Event(Event::Master(seen)));
        }
        if seen != 0 || self.state != NodeState::Run {
            self.clear_msg();
            return;
        }
        // No master: the lowest running node with a sufficient score bids.
        let candidates: Vec<u32> = online
            .iter()
            .copied()
            .filter(|&n| {
                peer_block(self, n).is_some_and(|b| {
                    b.state.is_running() && u32::from(b.score) >= self.timing.min_score
                })
            })
            .collect();
        let lowest = candidates.first().copied().unwrap_or(u32::MAX);
        if self.id < lowest {
            if self.bid_since.is_none() {
                self.bid_since = Some(self.cycles);
                self.seq = self.seq.wrapping_add(1);
            }
            self.msg = Message::Bid;
            self.arg = self.id;
            let acked = online.iter().all(|&n| {
                peer_block(self, n).is_some_and(|b| b.msg == Message::Ack && b.arg == self.id)
            });
            let waited = self
                .bid_since
                .is_some_and(|s| self.cycles - s >= u64::from(self.timing.master_wait));
            if acked && waited {
                self.state = NodeState::Master;
                self.master = self.id;
                self.clear_msg();
                out.actions.push(Action::Event(Event::ElectedMaster));
            }
        } else {
            self.bid_since = None;
            let bidding = peer_block(self, lowest).is_some_and(|b| b.msg == Message::Bid);
            if bidding {
                self.msg = Message::Ack;
                self.arg = lowest;
            } else {
                self.clear_msg();
            }
        }
    }

    fn clear_msg(&mut self) {
        self.bid_since = None;
        self.msg = Message::None;
        self.arg = 0;
    }

    /// The master's work: evict lost and undead nodes, fence what is owed.
    fn master_duties(&mut self, out: &mut Output) {
        for n in 1..=MAX_NODES {
            if n == self.id {
                continue;
            }
            let stamp = self.stamp.saturating_add(1);
            let p = &mut self.peers[idx(n)];
            // Undead: online again with the incarnation it was evicted
            // with is handled in observe (evicted cleared); a lost node
            // owes an eviction.
            if p.fence_pending && p.evicted.is_none() {
                if let Some(b) = &p.last {
                    let notice = b.evicted_by(self.id, stamp, None);
                    p.evicted = Some(notice.incarnation);
                    p.last = Some(notice.clone());
                    out.evict.push(notice);
                    out.actions.push(Action::Event(Event::Evicted(n)));
                }
            }
            if p.fence_pending && !p.fence_running {
                p.fence_running = true;
                out.actions.push(Action::Fence { node: n });
            }
        }
    }

    /// A node that is not master learns that an evicted node is dead from
    /// the master's block: the master keeps an evicted node in its online
    /// mask until its fence has succeeded.
    fn learn_dead(&mut self, out: &mut Output) {
        let Some(mask) = self
            .peers
            .get(idx(self.master))
            .filter(|p| p.online)
            .and_then(|p| p.last.as_ref())
            .filter(|b| b.state == NodeState::Master)
            .map(|b| b.online_mask)
        else {
            return;
        };
        for n in 1..=MAX_NODES {
            let p = &mut self.peers[idx(n)];
            if n != self.id && p.evicted.is_some() && !p.dead && !mask.contains(n) {
                p.dead = true;
                p.fence_pending = false;
                out.actions.push(Action::Event(Event::Dead(n)));
            }
        }
    }

    fn own_block(&mut self) -> StatusBlock {
        self.stamp = self.stamp.saturating_add(1).max(self.wall);
        let mut online = vec![self.id];
        online.extend((1..=MAX_NODES).filter(|&n| {
            n != self.id && {
                let p = &self.peers[idx(n)];
                p.online || (p.fence_pending && !p.dead)
            }
        }));
        let master = self.master();
        StatusBlock {
            update_node: self.id,
            timestamp: self.stamp,
            node_id: self.id,
            pad0: 0,
            state: self.state,
            pad1: 0,
            flags: if self.unfit { FL_UNFIT } else { 0 },
            score: u16::try_from(self.score).unwrap_or(u16::MAX),
            score_max: u16::try_from(self.timing.max_score).unwrap_or(u16::MAX),
            avg_cycle: (0, 0),
            last_cycle: (0, 0),
            incarnation: self.incarnation,
            msg: self.msg,
            seq: self.seq,
            arg: self.arg,
            online_mask: NodeMask::from_nodes(&online),
            master_mask: if master == 0 {
                NodeMask::default()
            } else {
                NodeMask::from_nodes(&[master])
            },
        }
    }
}
