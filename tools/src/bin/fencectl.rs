//! fencectl: cluster I/O fencing over SCSI-3 persistent reservations:
//! unfence (join), fence (evict), the coordinator-disk race, status, disk
//! verification, the watchdog check hook, and Pacemaker fence-agent mode.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use clap::{Args, Parser, Subcommand};
use fencekit::fence::agent;
use fencekit::fence::config::{self, ClusterConfig};
use fencekit::fence::key::{self, KeyInput, Scheme};
use fencekit::fence::ops::{self, FenceHow, PreemptMode, State};
use fencekit::fence::source::{self, Overrides, Source};
use fencekit::fence::{race, verify};
use fencekit::paths::Options;
use fencekit::paths::{self, SgOpener, Unit};
use fencekit::scsi::pr::Key;
use fencekit::scsi::transport::RetryPolicy;
use fencekit::topology::Roots;
use fencekit_tools::print_json;

// Exit statuses outside fence-agent mode: the family's table
// (fencekit_tools::exit, fencekit(7)); fencectl(8) says which command gives
// which.
use fencekit_tools::exit as code;

/// Cluster I/O fencing over SCSI-3 persistent reservations.
///
/// With no arguments and stdin not a terminal, or with `agent`, fencectl
/// is a Pacemaker fence agent reading name=value lines from stdin.
#[derive(Parser, Debug)]
#[command(
    name = "fencectl",
    version,
    about,
    long_about,
    max_term_width = 100,
    after_help = "Exit status (outside fence-agent mode): 0 done on every device, race won, \
key registered (check), disks can fence (verify); 1 usage error; 2 this node's key is gone \
(check), race lost, a disk cannot fence (verify), a path lacks this node's key (status \
--probe); 3 a device or I/O error, nothing done (no device could be read or changed, a \
device that does not exist); 4 refused for safety (fencing this node, a key held through \
another host's port, verify --pair on a LUN in use); 5 partial: done on some devices, \
failed on others; 6 bad configuration or input file (TOML, corosync text, a missing or bad \
state file). Fence-agent mode exits with the fence-agent statuses. See fencectl(8), and \
fencekit(7) for the family's table."
)]
struct Cli {
    #[command(flatten)]
    g: Global,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Debug, Clone)]
struct Global {
    /// Cluster configuration file (TOML).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Take the cluster name and nodes from `corosync-cmapctl`.
    #[arg(long, global = true)]
    corosync: bool,
    /// Take the cluster name and nodes from saved `corosync-cmapctl`
    /// output.
    #[arg(long, global = true, value_name = "FILE")]
    corosync_file: Option<PathBuf>,
    /// Cluster name (overrides the configuration).
    #[arg(long, global = true, value_name = "NAME")]
    cluster: Option<String>,
    /// Key scheme: id, hash or vxfen (overrides the configuration).
    #[arg(long, global = true, value_parser = parse_scheme)]
    scheme: Option<Scheme>,
    /// State file written by unfence and read by check and fence.
    #[arg(long, global = true, value_name = "FILE")]
    state_file: Option<PathBuf>,
    /// Per-command timeout in seconds.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 30.0)]
    timeout: f64,
    /// Re-send a command this many times on UNIT ATTENTION.
    #[arg(long, global = true, value_name = "N", default_value_t = 3)]
    retry_ua: u32,
    /// Treat a multipath map as one device instead of its paths.
    #[arg(long, global = true)]
    no_multipath: bool,
    /// Open devices read-only.
    #[arg(long, global = true)]
    readonly: bool,
    /// sysfs root.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "/sys",
        hide = true
    )]
    sysfs_root: PathBuf,
}

#[derive(Args, Debug, Clone, Default)]
struct Who {
    /// This node's name in the cluster configuration.
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
    /// This node's key, hex (instead of --node).
    #[arg(long, value_parser = parse_key_arg)]
    key: Option<Key>,
}

#[derive(Args, Debug, Clone)]
struct Devs {
    /// Devices (comma or space separated, repeatable): /dev/sdX,
    /// /dev/mapper/NAME, @GROUP from the configuration, or `auto` for
    /// the PVs of shared and clustered volume groups. Default: the
    /// configuration's `devices`.
    #[arg(long, short = 'd', value_name = "DEV", num_args = 1..)]
    devices: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Join: register this node's key on every path of every device and
    /// reserve (type 5) where no reservation exists.
    Unfence {
        #[command(flatten)]
        who: Who,
        #[command(flatten)]
        devs: Devs,
        /// Register with APTPL (persist through power loss). Without it the
        /// registrations carry the unit's current APTPL (PTPL_A).
        #[arg(long)]
        aptpl: bool,
        /// Do not write the state file.
        #[arg(long)]
        no_state: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fence a node: preempt (and abort) its key on every device.
    Fence {
        /// The node to fence.
        #[arg(long, value_name = "NAME", required_unless_present = "victim_key")]
        victim: Option<String>,
        /// The key to fence.
        #[arg(long, value_parser = parse_key_arg)]
        victim_key: Option<Key>,
        #[command(flatten)]
        who: Who,
        #[command(flatten)]
        devs: Devs,
        /// PREEMPT instead of PREEMPT AND ABORT.
        #[arg(long)]
        preempt_only: bool,
        /// Register this node's key first where it is missing (fence_scsi
        /// does this; by default a node without its key refuses).
        #[arg(long)]
        register: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Race for a majority of the coordinator disks.
    Race {
        /// Nodes of the other side (repeatable).
        #[arg(long, value_name = "NAME")]
        loser: Vec<String>,
        /// Keys of the other side (repeatable).
        #[arg(long, value_parser = parse_key_arg)]
        loser_key: Vec<Key>,
        #[command(flatten)]
        who: Who,
        /// Coordinator disks, in order. Default: the configuration's
        /// `coordinator`.
        #[arg(long, value_name = "DEV", num_args = 1..)]
        coordinator: Vec<String>,
        /// Work the disks in WWID order instead of the order given.
        #[arg(long)]
        sort_wwid: bool,
        /// PREEMPT instead of PREEMPT AND ABORT.
        #[arg(long)]
        preempt_only: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Which nodes are registered where, and who holds the reservation.
    Status {
        #[command(flatten)]
        who: Who,
        #[command(flatten)]
        devs: Devs,
        /// Find paths lacking this node's key by sending REGISTER with the
        /// key as old and new key on each path (advances the PR
        /// generation, changes nothing else).
        #[arg(long)]
        probe: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The configured nodes and their keys.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Prove that disks can carry fencing.
    Verify {
        #[command(flatten)]
        devs: Devs,
        /// Do not register and remove a test key.
        #[arg(long, conflicts_with = "write_test_in_use")]
        no_write: bool,
        /// Register and remove the test key even on a device that has
        /// registrations or a reservation (by default such a device is only
        /// read). Even then only an unregistered nexus gets the test key,
        /// and only the test key is removed.
        #[arg(long)]
        write_test_in_use: bool,
        /// Two nexuses to one LUN: run the whole sequence. DEV_B is on this
        /// host, or with --peer-cmd on the peer.
        #[arg(long, num_args = 2, value_names = ["DEV_A", "DEV_B"])]
        pair: Vec<PathBuf>,
        /// Reach DEV_B of --pair on another host through this command
        /// prefix (e.g. 'ssh node2'); every command there runs as
        /// `PREFIX sg_raw ...`, so the peer needs sg3-utils.
        #[arg(long, value_name = "PREFIX", requires = "pair")]
        peer_cmd: Option<String>,
        /// Run --pair even though the LUN has registrations.
        #[arg(long)]
        force: bool,
        /// PREEMPT instead of PREEMPT AND ABORT in --pair.
        #[arg(long)]
        preempt_only: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Watchdog hook: exit 0 if this node's key is on one of its devices,
    /// 2 if it is gone, 3 if no device could be read.
    Check {
        /// Read the devices this many more times before giving up.
        #[arg(long, default_value_t = 0)]
        retry: u32,
        /// Seconds between tries.
        #[arg(long, default_value_t = 1.0)]
        retry_sleep: f64,
        /// Reboot at once (reboot(2)) when the key is gone.
        #[arg(long)]
        hard_reboot: bool,
        /// With --hard-reboot, also reboot when no device could be read.
        #[arg(long, requires = "hard_reboot")]
        hard_reboot_unreadable: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fence-agent mode: name=value lines on stdin.
    Agent,
    /// Print a node's key.
    Key {
        /// Node id (id and vxfen schemes).
        #[arg(long, default_value_t = 0)]
        node_id: u32,
        /// Node name (hash scheme).
        #[arg(long, default_value = "")]
        node_name: String,
        /// Cluster id (vxfen scheme).
        #[arg(long, value_parser = parse_u16, default_value = "0")]
        cluster_id: u16,
    },
}

fn parse_scheme(s: &str) -> Result<Scheme, String> {
    s.parse().map_err(|e: key::KeyError| e.to_string())
}

fn parse_key_arg(s: &str) -> Result<Key, String> {
    key::parse_explicit(s).map_err(|e| e.to_string())
}

fn parse_u16(s: &str) -> Result<u16, String> {
    match s.strip_prefix("0x") {
        Some(h) => u16::from_str_radix(h, 16),
        None => s.parse(),
    }
    .map_err(|e| e.to_string())
}

/// An error with its exit status, which [`fencekit_tools::exit_status`]
/// computes from the library error.
struct Fail(u8, anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for Fail {
    fn from(e: E) -> Fail {
        let e = e.into();
        Fail(fencekit_tools::exit_status(&e), e)
    }
}

impl Fail {
    /// A library error reported by `msg` alone (whose text already says
    /// what the error's sources would), with the error's status.
    fn said(e: &(dyn std::error::Error + 'static), msg: impl std::fmt::Display) -> Fail {
        Fail(fencekit_tools::error_status(e), anyhow!("{msg}"))
    }
}

/// A command line that cannot be run.
fn usage(msg: impl std::fmt::Display) -> Fail {
    fencekit_tools::usage(msg.to_string()).into()
}

struct Ctx {
    g: Global,
    cfg: ClusterConfig,
}

impl Ctx {
    fn new(g: Global) -> Result<Ctx, Fail> {
        let src = match (&g.corosync_file, g.corosync, &g.config) {
            (Some(f), _, _) => Source::CorosyncFile(f.clone()),
            (None, true, _) => Source::Corosync(PathBuf::from("corosync-cmapctl")),
            (None, false, Some(p)) => Source::Toml(p.clone()),
            (None, false, None) => Source::Default(PathBuf::from(config::DEFAULT_CONFIG)),
        };
        let cfg = source::load(
            &src,
            &Overrides {
                cluster: g.cluster.clone(),
                scheme: g.scheme,
            },
        )?;
        Ok(Ctx { g, cfg })
    }

    fn state_path(&self) -> PathBuf {
        self.g
            .state_file
            .clone()
            .or_else(|| self.cfg.state_file.clone())
            .unwrap_or_else(|| PathBuf::from(ops::DEFAULT_STATE))
    }

    fn opener(&self) -> Result<SgOpener, Fail> {
        let t = self.g.timeout;
        if !(t.is_finite() && t > 0.0 && t <= 3600.0) {
            return Err(usage(anyhow!(
                "--timeout must be between 0 and 3600 seconds"
            )));
        }
        Ok(SgOpener {
            opts: Options {
                timeout: Duration::from_secs_f64(t),
                retry: RetryPolicy {
                    unit_attention_retries: self.g.retry_ua,
                },
                readonly: self.g.readonly,
                multipath: !self.g.no_multipath,
                roots: self.roots(),
            },
        })
    }

    fn roots(&self) -> Roots {
        Roots {
            sys: self.g.sysfs_root.clone(),
            dev: PathBuf::from("/dev"),
        }
    }

    /// A node's key under the key policy ([`source::node_key`]).
    fn key_of(&self, name: &str) -> Result<Key, Fail> {
        Ok(source::node_key(&self.cfg, name)?)
    }

    /// This node's key: --key, --node, or the state file.
    fn own_key(&self, who: &Who) -> Result<Key, Fail> {
        if let Some(k) = who.key {
            return Ok(k);
        }
        if let Some(n) = &who.node {
            return self.key_of(n);
        }
        let p = self.state_path();
        let st = State::load(&p)
            .map_err(|e| Fail::said(&e, format!("no --node or --key, and the state file: {e}")))?;
        st.key().map_err(|e| Fail::said(&e, &e))
    }

    /// Device names: the arguments, or the configuration's; `auto` runs
    /// vgs.
    fn device_names(&self, args: &[String], default: &[String]) -> Result<Vec<String>, Fail> {
        let args = if args.is_empty() { default } else { args };
        let names = self.cfg.expand_devices(args)?;
        let mut out = Vec::new();
        for n in names {
            if n == "auto" {
                for pv in fencekit::topology::lvm::discover_shared_pvs("vgs")
                    .map_err(anyhow::Error::new)?
                {
                    if !out.contains(&pv) {
                        out.push(pv);
                    }
                }
            } else if !out.contains(&n) {
                out.push(n);
            }
        }
        if out.is_empty() {
            return Err(usage(anyhow!(
                "no devices: give --devices, or `devices` in the configuration"
            )));
        }
        Ok(out)
    }

    fn resolve(&self, names: &[String]) -> Result<Vec<Unit>, Fail> {
        Ok(paths::resolve_units(
            names,
            !self.g.no_multipath,
            &self.roots(),
        )?)
    }

    fn devices(&self, d: &Devs) -> Result<Vec<Unit>, Fail> {
        let names = self.device_names(&d.devices, &self.cfg.devices)?;
        self.resolve(&names)
    }
}

fn mode(preempt_only: bool) -> PreemptMode {
    if preempt_only {
        PreemptMode::Preempt
    } else {
        PreemptMode::PreemptAndAbort
    }
}

fn print_steps(steps: &[ops::Step]) {
    for s in steps {
        match &s.error {
            None => println!("    {} {}: ok", s.action, s.path),
            Some(e) => println!("    {} {}: FAILED: {e}", s.action, s.path),
        }
    }
}

fn holder_text(h: &Option<ops::Holder>) -> String {
    match h {
        Some(h) => format!("reservation {} ({})", h.key, h.pr_type),
        None => "no reservation".into(),
    }
}

fn unfence(
    ctx: &Ctx,
    who: &Who,
    devs: &Devs,
    aptpl: bool,
    no_state: bool,
    json: bool,
) -> Result<u8, Fail> {
    let key = ctx.own_key(who)?;
    let names = ctx.device_names(&devs.devices, &ctx.cfg.devices)?;
    let set = ctx.resolve(&names)?;
    let reps = ops::unfence(&ctx.opener()?, &set, key, aptpl || ctx.cfg.aptpl);
    let complete = reps.iter().all(|r| r.complete);
    if !no_state && reps.iter().any(|r| r.registrations > 0) {
        let st = State {
            node: who.node.clone(),
            key: key.to_string(),
            devices: names.clone(),
        };
        st.save(&ctx.state_path()).map_err(|e| anyhow!(e))?;
    }
    if json {
        print_json(
            &serde_json::json!({"command": "unfence", "key": key, "complete": complete, "devices": reps}),
        )?;
    } else {
        for r in &reps {
            println!(
                "{}: {} key {} ({} registrations, {}{})",
                r.device,
                if r.complete {
                    "registered"
                } else {
                    "INCOMPLETE"
                },
                key,
                r.registrations,
                holder_text(&r.reservation),
                if r.was_registered {
                    ", re-registered after self-preempt"
                } else {
                    ""
                }
            );
            print_steps(&r.steps);
            if let Some(e) = &r.refused {
                println!("    refused: {e}");
            } else if let Some(e) = &r.error {
                println!("    error: {e}");
            }
            if let Some(n) = &r.port_check {
                println!("    note: {n}");
            }
        }
    }
    Ok(if reps.iter().any(|r| r.refused.is_some()) {
        code::REFUSED
    } else {
        code::of_devices(reps.iter().filter(|r| r.complete).count(), reps.len())
    })
}

#[allow(clippy::too_many_arguments)]
fn fence(
    ctx: &Ctx,
    victim: &Option<String>,
    victim_key: Option<Key>,
    who: &Who,
    devs: &Devs,
    preempt_only: bool,
    register: bool,
    json: bool,
) -> Result<u8, Fail> {
    let own = ctx.own_key(who)?;
    let vkey = match (victim_key, victim) {
        (Some(k), _) => k,
        (None, Some(n)) => ctx.key_of(n)?,
        (None, None) => return Err(usage(anyhow!("--victim or --victim-key is needed"))),
    };
    // With no --devices, the devices this node unfenced (state file),
    // then the configuration's.
    let default: Vec<String> = match State::load(&ctx.state_path()) {
        Ok(s) if ctx.cfg.devices.is_empty() => s.devices,
        _ => ctx.cfg.devices.clone(),
    };
    let names = ctx.device_names(&devs.devices, &default)?;
    let set = ctx.resolve(&names)?;
    let how = FenceHow {
        mode: mode(preempt_only),
        register,
    };
    let res = ops::fence(&ctx.opener()?, &set, own, vkey, how)?;
    if json {
        print_json(&serde_json::json!({"command": "fence", "result": res}))?;
    } else {
        for d in &res.devices {
            let what = if d.complete {
                if d.victim_was_registered {
                    "fenced"
                } else {
                    "not registered (nothing to do)"
                }
            } else {
                "FENCE INCOMPLETE"
            };
            println!(
                "{}: key {} {}; {}",
                d.device,
                vkey,
                what,
                holder_text(&d.reservation)
            );
            for p in &d.unusable_paths {
                println!("    path {p}: FAILED: not usable (sysfs device state is not running)");
            }
            print_steps(&d.steps);
            if let Some(e) = &d.error {
                println!("    error: {e}");
            }
        }
        println!(
            "fence of {} {} on {} device(s)",
            vkey,
            if res.complete {
                "complete"
            } else {
                "INCOMPLETE"
            },
            res.devices.len()
        );
    }
    let done = res.devices.iter().filter(|d| d.complete).count();
    Ok(code::of_devices(done, res.devices.len()))
}

#[allow(clippy::too_many_arguments)]
fn race_cmd(
    ctx: &Ctx,
    loser: &[String],
    loser_key: &[Key],
    who: &Who,
    coordinator: &[String],
    sort_wwid: bool,
    preempt_only: bool,
    json: bool,
) -> Result<u8, Fail> {
    let own = ctx.own_key(who)?;
    let mut losers = loser_key.to_vec();
    for n in loser {
        losers.push(ctx.key_of(n)?);
    }
    let names = ctx.device_names(coordinator, &ctx.cfg.coordinator)?;
    let mut set = ctx.resolve(&names)?;
    let opener = ctx.opener()?;
    if sort_wwid {
        set = race::sort_by_wwid(&opener, set)?;
    }
    let r = race::race(&opener, &set, own, &losers, mode(preempt_only))?;
    if json {
        print_json(&serde_json::json!({"command": "race", "won": r.won(), "result": r}))?;
    } else {
        for d in &r.disks {
            let o = match &d.outcome {
                race::DiskOutcome::Won => "won".to_string(),
                race::DiskOutcome::Lost(e) => format!("lost: {e}"),
                race::DiskOutcome::Failed(e) => format!("failed: {e}"),
            };
            println!("{}: {o}", d.device);
            if let Some(s) = d
                .steps
                .iter()
                .find(|s| s.action.starts_with("reclaim") && !s.ok)
            {
                println!(
                    "{}: reclaim failed: {}",
                    d.device,
                    s.error.as_deref().unwrap_or("")
                );
            } else if d.steps.iter().any(|s| s.action.starts_with("reclaim")) {
                println!("{}: reclaimed after the race was won", d.device);
            }
        }
        println!(
            "race {}: {} of {} disks needed",
            if r.won() { "WON" } else { "LOST" },
            r.majority,
            r.total
        );
    }
    Ok(if r.won() {
        code::OK
    } else {
        code::CONDITION_FALSE
    })
}

fn node_keys(ctx: &Ctx) -> Vec<(String, Key)> {
    ctx.cfg
        .nodes
        .iter()
        .filter_map(|n| ctx.cfg.key_of(n).ok().map(|k| (n.name.clone(), k)))
        .collect()
}

fn status(ctx: &Ctx, who: &Who, devs: &Devs, probe: bool, json: bool) -> Result<u8, Fail> {
    let set = ctx.devices(devs)?;
    let own = if probe { Some(ctx.own_key(who)?) } else { None };
    let st = ops::status(&ctx.opener()?, &set, own);
    let view = ops::cluster_view(&node_keys(ctx), &st);
    if json {
        print_json(&serde_json::json!({"command": "status", "devices": st, "cluster": view}))?;
    } else {
        for d in &st {
            if let Some(e) = &d.error {
                println!("{}: ERROR: {e}", d.device);
                continue;
            }
            let holder = view
                .holders
                .iter()
                .find(|h| h.device == d.device)
                .and_then(|h| h.node.clone());
            println!(
                "{}: generation 0x{:x}, {}{}",
                d.device,
                d.generation.unwrap_or(0),
                holder_text(&d.reservation),
                holder.map(|n| format!(" held by {n}")).unwrap_or_default()
            );
            for (k, c) in d.key_counts() {
                let name = ctx
                    .cfg
                    .node_of_key(k)
                    .map(|n| n.name.clone())
                    .unwrap_or_else(|| "UNKNOWN".into());
                println!(
                    "    {k} {name} ({c} nexus{})",
                    if c == 1 { "" } else { "es" }
                );
            }
            for (p, ok) in &d.probed {
                if !ok {
                    println!("    path {p} lacks this node's key");
                }
            }
        }
        for n in &view.nodes {
            if !n.short_paths.is_empty() {
                println!(
                    "node {} holds its key through fewer nexuses than there are paths on: {}",
                    n.name,
                    n.short_paths.join(", ")
                );
            }
        }
        for f in &view.duplicate_keys {
            println!("duplicate: {} holds {} {} times", f.device, f.key, f.count);
        }
    }
    let read = st.iter().filter(|d| d.error.is_none()).count();
    let lacking = st.iter().any(|d| d.probed.values().any(|ok| !ok));
    Ok(match code::of_devices(read, st.len()) {
        code::OK if lacking => code::CONDITION_FALSE,
        c => c,
    })
}

fn list(ctx: &Ctx, json: bool) -> Result<u8, Fail> {
    if json {
        let v: Vec<_> = ctx
            .cfg
            .nodes
            .iter()
            .map(|n| {
                let k = ctx.cfg.key_of(n);
                serde_json::json!({
                    "name": n.name,
                    "id": n.id,
                    "nodeid": n.nodeid,
                    "key": k.as_ref().ok().map(ToString::to_string),
                    "error": k.err().map(|e| e.to_string()),
                })
            })
            .collect();
        print_json(
            &serde_json::json!({"cluster": ctx.cfg.cluster, "scheme": ctx.cfg.scheme, "nodes": v}),
        )?;
    } else {
        for n in &ctx.cfg.nodes {
            match ctx.cfg.key_of(n) {
                Ok(k) => println!("{},{}", n.name, key::fence_scsi_text(k)),
                Err(e) => println!("{},ERROR: {e}", n.name),
            }
        }
    }
    Ok(code::OK)
}

#[allow(clippy::too_many_arguments)]
fn verify_cmd(
    ctx: &Ctx,
    devs: &Devs,
    write: verify::WriteTest,
    pair: &[PathBuf],
    peer_cmd: Option<&str>,
    force: bool,
    preempt_only: bool,
    json: bool,
) -> Result<u8, Fail> {
    let opener = ctx.opener()?;
    if let [a, b] = pair {
        let r = match peer_cmd {
            Some(prefix) => {
                let peer = verify::PeerOpener {
                    prefix: prefix.to_string(),
                    timeout: opener.opts.timeout,
                    retry: opener.opts.retry,
                };
                verify::pair(&opener, a, &peer, b, mode(preempt_only), force)
            }
            None => verify::pair(&opener, a, &opener, b, mode(preempt_only), force),
        };
        if json {
            print_json(&serde_json::json!({"command": "verify-pair", "result": r}))?;
            return Ok(fencekit_tools::pair_status(&r));
        }
        return Ok(fencekit_tools::print_pair(&r, ""));
    }
    let set = ctx.devices(devs)?;
    let mut all = true;
    let mut out = Vec::new();
    for d in &set {
        let f = verify::gather(&opener, d, &ctx.g.sysfs_root, write);
        let checks = verify::assess(&f);
        let ok = verify::passed(&checks);
        all &= ok;
        if !json {
            println!(
                "{}: {}",
                d.device_label(),
                if ok { "can fence" } else { "CANNOT FENCE" }
            );
            for c in &checks {
                let s = match c.state {
                    verify::State::Pass => "pass",
                    verify::State::Fail => "FAIL",
                    verify::State::Skip => "skip",
                };
                println!(
                    "    {s} {}{}",
                    c.name,
                    if c.detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", c.detail)
                    }
                );
            }
        }
        out.push(serde_json::json!({"device": d.name, "passed": ok, "checks": checks, "facts": f}));
    }
    if json {
        print_json(&serde_json::json!({"command": "verify", "passed": all, "devices": out}))?;
    }
    Ok(if all { code::OK } else { code::CONDITION_FALSE })
}

trait Label {
    fn device_label(&self) -> String;
}

impl Label for Unit {
    fn device_label(&self) -> String {
        if self.multipath {
            let p: Vec<String> = self.paths.iter().map(|p| p.display().to_string()).collect();
            format!("{} ({})", self.name, p.join(" "))
        } else {
            self.name.clone()
        }
    }
}

fn check(
    ctx: &Ctx,
    retry: u32,
    retry_sleep: f64,
    hard_reboot: bool,
    hard_reboot_unreadable: bool,
    json: bool,
) -> Result<u8, Fail> {
    let pause = ops::retry_sleep(retry_sleep).map_err(usage)?;
    let st = State::load(&ctx.state_path()).map_err(|e| Fail::said(&e, &e))?;
    let key = st.key().map_err(|e| Fail::said(&e, &e))?;
    let set = ctx.resolve(&st.devices)?;
    let opener = ctx.opener()?;
    let r = ops::watch(&opener, &set, key, retry, pause, &std::thread::sleep);
    let verdict = r.verdict();
    if json {
        print_json(&serde_json::json!({
            "command": "check",
            "registered": r.registered(),
            "verdict": verdict,
            "result": r,
        }))?;
    } else {
        for e in &r.errors {
            eprintln!("fencectl: {}: {}", e.device, e.error);
        }
        match verdict {
            ops::Verdict::Registered => {
                println!("key {key} registered on {}", r.registered_on.join(", "))
            }
            ops::Verdict::KeyGone => println!("key {key} registered on no device"),
            ops::Verdict::Unreadable => {
                println!("key {key}: no device could be read")
            }
        }
    }
    if hard_reboot && ops::reboot_on(verdict, hard_reboot_unreadable) {
        eprintln!("fencectl: key {key}: {verdict:?}: rebooting");
        let e = nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_AUTOBOOT);
        return Err(anyhow!("reboot(2): {e:?}").into());
    }
    Ok(match verdict {
        ops::Verdict::Registered => code::OK,
        ops::Verdict::KeyGone => code::CONDITION_FALSE,
        ops::Verdict::Unreadable => code::DEVICE_ERROR,
    })
}

fn key_cmd(ctx: &Ctx, node_id: u32, node_name: &str, cluster_id: u16) -> Result<u8, Fail> {
    let cluster_id = if cluster_id == 0 {
        ctx.cfg.cluster_id
    } else {
        cluster_id
    };
    if ctx.cfg.cluster.is_empty() && ctx.cfg.scheme != Scheme::Vxfen {
        return Err(usage(anyhow!("--cluster NAME is needed")));
    }
    let k = key::derive(
        ctx.cfg.scheme,
        &KeyInput {
            cluster: &ctx.cfg.cluster,
            cluster_id,
            node: node_name,
            node_id,
        },
    )?;
    if ctx.cfg.scheme == Scheme::Vxfen {
        println!("{} {}", k, k.to_ascii_lossy());
    } else {
        println!("{}", key::fence_scsi_text(k));
    }
    Ok(code::OK)
}

/// Fence-agent mode ([`agent::run`]) for the program called as `argv0`.
/// Returns the fence-agent exit code.
fn agent_mode(argv0: &str, input: &str) -> u8 {
    let open = |req: &agent::Request| SgOpener {
        opts: Options {
            timeout: Duration::from_secs(30),
            retry: RetryPolicy {
                unit_attention_retries: 3,
            },
            readonly: req.readonly,
            multipath: true,
            roots: Roots::default(),
        },
    };
    let sleep = |d: Duration| std::thread::sleep(d);
    let env = agent::Env {
        name: agent::agent_name(argv0),
        opener: &open,
        roots: Roots::default(),
        multipath: true,
        default_config: PathBuf::from(config::DEFAULT_CONFIG),
        default_state: PathBuf::from(ops::DEFAULT_STATE),
        vgs: "vgs".into(),
        sleep: &sleep,
    };
    let out = agent::run(input, &env);
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    out.code
}

fn run(cli: Cli) -> Result<u8, Fail> {
    if let Cmd::Agent = cli.cmd {
        let mut s = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut s) {
            eprintln!("Failed: reading stdin: {e}");
            return Ok(agent::exit::GENERIC);
        }
        return Ok(agent_mode("fencectl", &s));
    }
    let ctx = Ctx::new(cli.g)?;
    match &cli.cmd {
        Cmd::Unfence {
            who,
            devs,
            aptpl,
            no_state,
            json,
        } => unfence(&ctx, who, devs, *aptpl, *no_state, *json),
        Cmd::Fence {
            victim,
            victim_key,
            who,
            devs,
            preempt_only,
            register,
            json,
        } => fence(
            &ctx,
            victim,
            *victim_key,
            who,
            devs,
            *preempt_only,
            *register,
            *json,
        ),
        Cmd::Race {
            loser,
            loser_key,
            who,
            coordinator,
            sort_wwid,
            preempt_only,
            json,
        } => race_cmd(
            &ctx,
            loser,
            loser_key,
            who,
            coordinator,
            *sort_wwid,
            *preempt_only,
            *json,
        ),
        Cmd::Status {
            who,
            devs,
            probe,
            json,
        } => status(&ctx, who, devs, *probe, *json),
        Cmd::List { json } => list(&ctx, *json),
        Cmd::Verify {
            devs,
            no_write,
            write_test_in_use,
            pair,
            peer_cmd,
            force,
            preempt_only,
            json,
        } => verify_cmd(
            &ctx,
            devs,
            match (*no_write, *write_test_in_use) {
                (true, _) => verify::WriteTest::Never,
                (false, true) => verify::WriteTest::EvenInUse,
                (false, false) => verify::WriteTest::IfIdle,
            },
            pair,
            peer_cmd.as_deref(),
            *force,
            *preempt_only,
            *json,
        ),
        Cmd::Check {
            retry,
            retry_sleep,
            hard_reboot,
            hard_reboot_unreadable,
            json,
        } => check(
            &ctx,
            *retry,
            *retry_sleep,
            *hard_reboot,
            *hard_reboot_unreadable,
            *json,
        ),
        Cmd::Key {
            node_id,
            node_name,
            cluster_id,
        } => key_cmd(&ctx, *node_id, node_name, *cluster_id),
        Cmd::Agent => unreachable!("handled above"),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(c) = fencekit_tools::completion::requested::<Cli>() {
        return ExitCode::from(c);
    }
    let argv0 = args.first().map(String::as_str).unwrap_or("fencectl");
    // Called as fence_fencekit (or any fence_* name): a fence agent, with
    // fencing.py's command line (`-o metadata`), or without arguments the
    // name=value lines on stdin.
    if agent::called_as_agent(argv0) && args.len() > 1 {
        return ExitCode::from(match agent::args_to_text(&args[1..]) {
            Ok(text) => agent_mode(argv0, &text),
            Err(e) => {
                eprintln!("Failed: {e}");
                agent::exit::BAD_ARGS
            }
        });
    }
    if args.len() == 1 && (agent::called_as_agent(argv0) || !std::io::stdin().is_terminal()) {
        let mut s = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut s) {
            eprintln!("Failed: reading stdin: {e}");
            return ExitCode::from(agent::exit::GENERIC);
        }
        return ExitCode::from(agent_mode(argv0, &s));
    }
    let cli = match fencekit_tools::parse_args::<Cli>(&args) {
        Ok(c) => c,
        Err(c) => return ExitCode::from(c),
    };
    match run(cli) {
        Ok(c) => ExitCode::from(c),
        Err(Fail(c, e)) => {
            eprintln!("fencectl: {e:#}");
            ExitCode::from(c)
        }
    }
}
