//! Text and JSON views of quorum disks, as the `qdisk` program prints them.
//!
//! The text of `qdisk list` follows `mkqdisk -L` (`print_qdisk_info` in
//! `proc.c`) field for field; times are printed in the `ctime(3)` layout,
//! in UTC. The JSON views are plain serde structures whose field names are
//! the documented schema (qdisk(8)); add fields, never rename them.

use serde::Serialize;

use super::format::{NodeState, StatusBlock};
use super::scan::Found;
use super::Snapshot;

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `secs` since the epoch in the `ctime(3)` layout, UTC, without newline:
/// `Thu Jan  1 00:00:00 1970`.
pub fn ctime_utc(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX / 2);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::util::civil(days);
    // Fits: a `rem_euclid(7)` is in 0..7.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let weekday = days.rem_euclid(7) as usize;
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        DAYS[weekday],
        MONTHS[(m - 1) as usize],
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        y
    )
}

/// One quorum disk of `qdisk list --json`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ListEntry {
    pub device: String,
    pub kernel_name: String,
    pub multipath: bool,
    pub magic: String,
    pub label: String,
    pub created: u64,
    pub created_text: String,
    pub host: String,
    pub kernel_sector_size: u32,
    pub recorded_sector_size: Option<u32>,
    pub sector_size_matches: bool,
}

impl ListEntry {
    /// The entry for a scan result.
    pub fn from_found(f: &Found) -> ListEntry {
        ListEntry {
            device: f.device.display().to_string(),
            kernel_name: f.kernel_name.clone(),
            multipath: f.multipath,
            magic: format!("{:08x}", f.header.magic),
            label: f.header.label(),
            created: f.header.timestamp,
            created_text: ctime_utc(f.header.timestamp),
            host: f.header.host(),
            kernel_sector_size: f.kernel_sector_size,
            recorded_sector_size: f.header.is_v2().then_some(f.header.sector_size),
            sector_size_matches: f.sector_size_matches(),
        }
    }
}

/// The `mkqdisk -L` text for one quorum disk.
pub fn list_text(e: &ListEntry) -> String {
    let mut s = format!("{}:\n", e.device);
    s += &format!("\tMagic:                {}\n", e.magic);
    s += &format!("\tLabel:                {}\n", e.label);
    s += &format!("\tCreated:              {}\n", e.created_text);
    s += &format!("\tHost:                 {}\n", e.host);
    s += &format!("\tKernel Sector Size:   {}\n", e.kernel_sector_size);
    if let Some(r) = e.recorded_sector_size {
        s += &format!("\tRecorded Sector Size: {r}\n\n");
    }
    s
}

/// The quorum header in `qdisk dump --json`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HeaderView {
    pub magic: String,
    pub version: String,
    pub label: String,
    pub host: String,
    pub created: u64,
    pub created_text: String,
    pub recorded_sector_size: u32,
    pub block_timestamp: u64,
}

/// One status block in `qdisk dump --json`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NodeView {
    pub node: u32,
    pub offset: u64,
    /// Null when the block decoded; otherwise the reason it did not.
    pub error: Option<String>,
    pub state: Option<String>,
    pub state_value: Option<u8>,
    pub update_node: Option<u32>,
    pub timestamp: Option<u64>,
    pub timestamp_text: Option<String>,
    pub age_seconds: Option<i64>,
    pub flags: Option<u16>,
    pub score: Option<u16>,
    pub score_max: Option<u16>,
    pub average_cycle: Option<String>,
    pub last_cycle: Option<String>,
    pub incarnation: Option<String>,
    pub message: Option<String>,
    pub message_value: Option<u16>,
    pub seq: Option<u16>,
    pub arg: Option<u32>,
    pub online: Option<Vec<u32>>,
    pub master: Option<Vec<u32>>,
}

/// The state names of the JSON schema: "none", "evict", "init", "run",
/// "master", "illegal".
pub fn state_key(s: NodeState) -> &'static str {
    match s {
        NodeState::None => "none",
        NodeState::Evict => "evict",
        NodeState::Init => "init",
        NodeState::Run => "run",
        NodeState::Master => "master",
        NodeState::Other(_) => "illegal",
    }
}

fn age(now: u64, ts: u64) -> i64 {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let ts = i64::try_from(ts).unwrap_or(i64::MAX);
    now.saturating_sub(ts)
}

impl NodeView {
    fn from_block(node: u32, offset: u64, b: &StatusBlock, now: u64) -> NodeView {
        NodeView {
            node,
            offset,
            error: None,
            state: Some(state_key(b.state).to_string()),
            state_value: Some(b.state.to_u8()),
            update_node: Some(b.update_node),
            timestamp: Some(b.timestamp),
            timestamp_text: Some(ctime_utc(b.timestamp)),
            age_seconds: Some(age(now, b.timestamp)),
            flags: Some(b.flags),
            score: Some(b.score),
            score_max: Some(b.score_max),
            average_cycle: Some(format!("{}.{:06}", b.avg_cycle.0, b.avg_cycle.1)),
            last_cycle: Some(format!("{}.{:06}", b.last_cycle.0, b.last_cycle.1)),
            incarnation: Some(format!("{:016x}", b.incarnation)),
            message: Some(b.msg.name().to_string()),
            message_value: Some(b.msg.to_u16()),
            seq: Some(b.seq),
            arg: Some(b.arg),
            online: Some(b.online_mask.nodes()),
            master: Some(b.master_mask.nodes()),
        }
    }

    fn from_error(node: u32, offset: u64, e: String) -> NodeView {
        NodeView {
            node,
            offset,
            error: Some(e),
            state: None,
            state_value: None,
            update_node: None,
            timestamp: None,
            timestamp_text: None,
            age_seconds: None,
            flags: None,
            score: None,
            score_max: None,
            average_cycle: None,
            last_cycle: None,
            incarnation: None,
            message: None,
            message_value: None,
            seq: None,
            arg: None,
            online: None,
            master: None,
        }
    }
}

/// `qdisk dump --json`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DumpView {
    pub device: String,
    pub sector_size: u32,
    pub now: u64,
    pub header: HeaderView,
    pub nodes: Vec<NodeView>,
}

impl DumpView {
    /// The view of a snapshot taken at `now` (seconds since the epoch).
    pub fn new(s: &Snapshot, now: u64) -> DumpView {
        let (meta, qh) = &s.header;
        DumpView {
            device: s.device.display().to_string(),
            sector_size: s.sector_size,
            now,
            header: HeaderView {
                magic: format!("{:08x}", qh.magic),
                version: format!("{:08x}", qh.version),
                label: qh.label(),
                host: qh.host(),
                created: qh.timestamp,
                created_text: ctime_utc(qh.timestamp),
                recorded_sector_size: qh.sector_size,
                block_timestamp: meta.timestamp,
            },
            nodes: s
                .nodes
                .iter()
                .map(|slot| match &slot.block {
                    Ok((_, b)) => NodeView::from_block(slot.node, slot.offset, b, now),
                    Err(e) => NodeView::from_error(slot.node, slot.offset, e.to_string()),
                })
                .collect(),
        }
    }
}

fn list(nodes: &[u32]) -> String {
    if nodes.is_empty() {
        "-".into()
    } else {
        nodes
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The text of `qdisk dump`: the header, then every status block whose
/// state is not NONE (as `mkqdisk -d`), and every block that did not decode.
pub fn dump_text(v: &DumpView) -> String {
    let h = &v.header;
    let mut s = format!("{}:\n", v.device);
    s += &format!("\tMagic:                {}\n", h.magic);
    s += &format!("\tLabel:                {}\n", h.label);
    s += &format!("\tCreated:              {}\n", h.created_text);
    s += &format!("\tHost:                 {}\n", h.host);
    s += &format!("\tKernel Sector Size:   {}\n", v.sector_size);
    s += &format!("\tRecorded Sector Size: {}\n\n", h.recorded_sector_size);
    for n in &v.nodes {
        if let Some(e) = &n.error {
            s += &format!(
                "Status block for node {} (byte {}): unreadable: {e}\n",
                n.node, n.offset
            );
            continue;
        }
        if n.state.as_deref() == Some("none") {
            continue;
        }
        s += &format!("Status block for node {}\n", n.node);
        s += &format!("\tLast updated by node {}\n", n.update_node.unwrap_or(0));
        s += &format!(
            "\tLast updated on {} ({} s ago)\n",
            n.timestamp_text.as_deref().unwrap_or(""),
            n.age_seconds.unwrap_or(0)
        );
        let state = n.state_value.map(NodeState::from_u8).map(|s| s.name());
        s += &format!("\tState: {}\n", state.unwrap_or(""));
        s += &format!("\tFlags: {:04x}\n", n.flags.unwrap_or(0));
        s += &format!(
            "\tScore: {}/{}\n",
            n.score.unwrap_or(0),
            n.score_max.unwrap_or(0)
        );
        s += &format!(
            "\tAverage Cycle speed: {} seconds\n",
            n.average_cycle.as_deref().unwrap_or("")
        );
        s += &format!(
            "\tLast Cycle speed: {} seconds\n",
            n.last_cycle.as_deref().unwrap_or("")
        );
        s += &format!(
            "\tIncarnation: {}\n",
            n.incarnation.as_deref().unwrap_or("")
        );
        s += &format!(
            "\tMessage: {} seq {} arg {}\n",
            n.message.as_deref().unwrap_or(""),
            n.seq.unwrap_or(0),
            n.arg.unwrap_or(0)
        );
        s += &format!(
            "\tOnline mask: {}\n",
            list(n.online.as_deref().unwrap_or(&[]))
        );
        s += &format!(
            "\tMaster mask: {}\n",
            list(n.master.as_deref().unwrap_or(&[]))
        );
    }
    s
}

/// One row of the `qdisk watch` table.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WatchRow {
    pub node: u32,
    pub state: String,
    /// Running (RUN or MASTER) and written within the staleness limit.
    pub alive: bool,
    pub master: bool,
    pub evicted: bool,
    pub age_seconds: Option<i64>,
    pub score: Option<String>,
}

/// The rows of the `qdisk watch` table: every slot that is not NONE. A node
/// is alive when it is running and its block is at most `stale_after`
/// seconds old.
pub fn watch_rows(v: &DumpView, stale_after: u64) -> Vec<WatchRow> {
    let stale = i64::try_from(stale_after).unwrap_or(i64::MAX);
    v.nodes
        .iter()
        .filter(|n| n.state.as_deref() != Some("none"))
        .map(|n| {
            let st = n.state_value.map(NodeState::from_u8);
            WatchRow {
                node: n.node,
                state: match (&n.error, st) {
                    (Some(_), _) => "unreadable".into(),
                    (None, Some(s)) => s.name().into(),
                    (None, None) => String::new(),
                },
                alive: st.is_some_and(|s| s.is_running())
                    && n.age_seconds.is_some_and(|a| a <= stale),
                master: st == Some(NodeState::Master),
                evicted: st == Some(NodeState::Evict),
                age_seconds: n.age_seconds,
                score: n
                    .score
                    .map(|s| format!("{}/{}", s, n.score_max.unwrap_or(0))),
            }
        })
        .collect()
}

/// The `qdisk watch` table as text.
pub fn watch_text(v: &DumpView, stale_after: u64) -> String {
    let mut s = format!(
        "{}  label {}  at {}\n",
        v.device,
        v.header.label,
        ctime_utc(v.now)
    );
    s += "node  state         alive  master  evicted  age(s)  score\n";
    for r in watch_rows(v, stale_after) {
        s += &format!(
            "{:>4}  {:<12}  {:<5}  {:<6}  {:<7}  {:>6}  {}\n",
            r.node,
            r.state,
            if r.alive { "yes" } else { "no" },
            if r.master { "yes" } else { "no" },
            if r.evicted { "yes" } else { "no" },
            r.age_seconds.map_or("-".into(), |a| a.to_string()),
            r.score.unwrap_or_else(|| "-".into())
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qdisk::format::{BlockMeta, Message, NodeMask, QuorumHeader};
    use crate::qdisk::NodeSlot;
    use std::path::PathBuf;

    #[test]
    fn ctime_layout() {
        assert_eq!(ctime_utc(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(ctime_utc(1_700_000_000), "Tue Nov 14 22:13:20 2023");
        assert_eq!(ctime_utc(951_782_400), "Tue Feb 29 00:00:00 2000");
    }

    #[test]
    fn list_matches_mkqdisk() {
        let f = Found {
            device: "/dev/sdb".into(),
            opened: "/dev/sdb".into(),
            kernel_name: "sdb".into(),
            multipath: false,
            header: QuorumHeader::new("myqdisk", "node1", 0, 512),
            kernel_sector_size: 512,
        };
        assert_eq!(
            list_text(&ListEntry::from_found(&f)),
            "/dev/sdb:\n\tMagic:                eb7a62c2\n\tLabel:                myqdisk\n\tCreated:              Thu Jan  1 00:00:00 1970\n\tHost:                 node1\n\tKernel Sector Size:   512\n\tRecorded Sector Size: 512\n\n"
        );
    }

    fn snap() -> Snapshot {
        let mut nodes = Vec::new();
        for n in 1..=16 {
            let mut b = StatusBlock::initial(n, 100);
            match n {
                1 => {
                    b.state = NodeState::Master;
                    b.master_mask = NodeMask::from_nodes(&[1]);
                    b.online_mask = NodeMask::from_nodes(&[1, 2]);
                    b.timestamp = 995;
                }
                2 => {
                    b.state = NodeState::Run;
                    b.msg = Message::Ack;
                    b.arg = 1;
                    b.timestamp = 900;
                }
                3 => b.state = NodeState::Evict,
                _ => {}
            }
            nodes.push(NodeSlot {
                node: n,
                offset: 4096 * u64::from(n),
                block: Ok((BlockMeta::default(), b)),
            });
        }
        Snapshot {
            device: PathBuf::from("/dev/sdb"),
            sector_size: 512,
            header: (BlockMeta::default(), QuorumHeader::new("q", "h", 0, 512)),
            nodes,
        }
    }

    #[test]
    fn dump_and_watch() {
        let v = DumpView::new(&snap(), 1000);
        assert_eq!(v.nodes.len(), 16);
        assert_eq!(v.nodes[0].state.as_deref(), Some("master"));
        assert_eq!(v.nodes[0].online, Some(vec![1, 2]));
        assert_eq!(v.nodes[0].age_seconds, Some(5));
        let t = dump_text(&v);
        assert!(t.contains("Status block for node 1\n"));
        assert!(t.contains("Status block for node 3\n\tLast updated by node 0"));
        assert!(!t.contains("Status block for node 4\n"));
        assert!(t.contains("\tMessage: ack seq 0 arg 1\n"));
        assert!(t.contains("\tOnline mask: 1,2\n"));
        let rows = watch_rows(&v, 10);
        assert_eq!(rows.len(), 3);
        assert!(rows[0].alive && rows[0].master && !rows[0].evicted);
        assert!(!rows[1].alive, "node 2 is 100 s stale");
        assert!(rows[2].evicted && !rows[2].alive);
        assert!(watch_text(&v, 10).contains("   1  Master        yes    yes     no"));
    }
}
