//! heartbeatd: the disk-heartbeat daemon. It writes this node's status
//! block on the quorum disk every interval, evicts a node that stops
//! writing, fences it through persistent reservations before it reports it
//! dead, and fences itself when it is the one evicted. See heartbeatd(8).
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use fencekit::heartbeat::daemon::{self, Flags, Setup};
use fencekit::heartbeat::machine::Action;
use fencekit::heartbeat::parts::reason;
use fencekit::heartbeat::run::{describe, CycleReport, Heuristics};
use fencekit::heartbeat::settings::{SelfFenceMethod, DEFAULT_PATH};
use fencekit::heartbeat::{Clock, MonotonicClock};
use fencekit::qdisk::{self, render, OpenOpts, QdiskDevice};
use fencekit_tools::{exit, print_json};
use nix::sys::signal::{SigSet, Signal};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "heartbeatd",
    version,
    about = "Disk heartbeat on a qdisk-format quorum disk, with fencing through persistent reservations",
    after_help = "Exit status: 0 stopped cleanly (state NONE written) or the configuration is \
good; 1 usage error; 2 this node fenced itself (self-fence method \"command\"); 3 a device or \
I/O error (the quorum disk, a data device, the watchdog); 6 a bad configuration file. See \
heartbeatd(8), and fencekit(7) for the family's table."
)]
struct Cli {
    /// The configuration file.
    #[arg(short, long, global = true, value_name = "FILE", default_value = DEFAULT_PATH)]
    config: PathBuf,
    /// Read and check the configuration and the cluster description, print
    /// the derived timing, and exit; no device is opened.
    #[arg(long)]
    check_config: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the daemon (the default).
    Run,
    /// Print the quorum disk's node table, as clustat shows a quorum disk.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Logs a line: with a syslog priority prefix when stderr is the journal.
fn log(priority: u8, msg: &str) {
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        eprintln!("<{priority}>{msg}");
    } else {
        eprintln!("heartbeatd: {msg}");
    }
}

const ERR: u8 = 3;
const WARNING: u8 = 4;
const NOTICE: u8 = 5;
const INFO: u8 = 6;

fn check_config(setup: &Setup) {
    let t = &setup.timing;
    println!(
        "node {} (qdisk slot {}), key {}",
        setup.settings.node, setup.config.node_id, setup.own_key
    );
    println!(
        "interval {:?}, tko {}, master_wait {}, upgrade_wait {}, min_score {} of {}",
        t.interval, t.tko, t.master_wait, t.upgrade_wait, t.min_score, t.max_score
    );
    println!(
        "a node is dead after {:?} without a change; a node fences itself after {:?} \
without a write; a takeover takes at most {:?}",
        t.dead_after, t.self_fence_after, t.takeover
    );
    println!("data devices: {}", setup.devices.join(" "));
}

#[derive(Serialize)]
struct StatusRow {
    node: u32,
    name: Option<String>,
    #[serde(flatten)]
    row: render::WatchRow,
}

fn status(setup: &Setup, json: bool) -> Result<u8> {
    let path = daemon::quorum_device(setup)?;
    let dev = QdiskDevice::open(
        &path,
        OpenOpts {
            deadline: setup.settings.io_timeout(),
            ..OpenOpts::default()
        },
    )?;
    let snap = qdisk::snapshot(&dev)?;
    let view = render::DumpView::new(&snap, qdisk::now_secs());
    let stale = setup.timing.dead_after.as_secs().max(1);
    let rows: Vec<StatusRow> = render::watch_rows(&view, stale)
        .into_iter()
        .map(|r| StatusRow {
            node: r.node,
            name: setup.settings.name_of(r.node).map(str::to_string),
            row: r,
        })
        .collect();
    if json {
        print_json(&serde_json::json!({
            "device": view.device,
            "label": view.header.label,
            "nodes": rows,
        }))?;
        return Ok(exit::OK);
    }
    println!(
        "Quorum disk {} (label {}), interval {:?}, tko {}",
        view.device, view.header.label, setup.timing.interval, setup.timing.tko
    );
    println!(" Node  Name              State         Alive  Master  Evicted  Age(s)  Score");
    for r in &rows {
        println!(
            "{:>5}  {:<16}  {:<12}  {:<5}  {:<6}  {:<7}  {:>6}  {}",
            r.node,
            r.name.as_deref().unwrap_or("-"),
            r.row.state,
            if r.row.alive { "yes" } else { "no" },
            if r.row.master { "yes" } else { "no" },
            if r.row.evicted { "yes" } else { "no" },
            r.row.age_seconds.map_or("-".into(), |a| a.to_string()),
            r.row.score.as_deref().unwrap_or("-")
        );
    }
    Ok(exit::OK)
}

/// Blocks SIGTERM, SIGINT and SIGHUP in every thread and turns them into
/// the loop's flags from one thread that waits for them.
fn signals(flags: &Arc<Flags>) -> Result<()> {
    let mut set = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        set.add(s);
    }
    set.thread_block().context("blocking signals")?;
    let f = Arc::clone(flags);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            match set.wait() {
                Ok(Signal::SIGHUP) => f.reload.store(true, Ordering::Relaxed),
                Ok(_) => f.stop.store(true, Ordering::Relaxed),
                Err(_) => {}
            }
        })
        .context("starting the signal thread")?;
    Ok(())
}

fn notify(state: &[sd_notify::NotifyState]) {
    let _ = sd_notify::notify(false, state);
}

fn report(rep: &CycleReport, ready: &mut bool, method: SelfFenceMethod) -> Option<u8> {
    for (node, r) in &rep.fences {
        match r {
            Ok(d) => log(NOTICE, &format!("node {node} fenced: {d}")),
            Err(e) => log(WARNING, &format!("fencing node {node} failed: {e}")),
        }
    }
    for a in &rep.actions {
        match a {
            Action::Event(e) => log(INFO, &describe(e)),
            Action::Fence { node } => log(NOTICE, &format!("fencing node {node}")),
            Action::Race { node } => log(NOTICE, &format!("racing node {node}")),
            Action::SelfFence(_) => {}
        }
    }
    for (node, r) in &rep.races {
        match r {
            Ok(true) => log(NOTICE, &format!("race against node {node} won")),
            Ok(false) => log(WARNING, &format!("race against node {node} lost")),
            Err(e) => log(
                WARNING,
                &format!("no race against node {node} ({e}): the lower node id survives"),
            ),
        }
    }
    if let Some(why) = rep.self_fenced {
        let first = rep
            .actions
            .iter()
            .any(|a| matches!(a, Action::SelfFence(_)));
        if first {
            log(ERR, &format!("fencing this node: {}", reason(&why)));
            notify(&[sd_notify::NotifyState::Status(&format!(
                "fenced itself: {}",
                reason(&why)
            ))]);
        }
        return match method {
            // The watchdog resets the machine; reboot(2) did not return.
            SelfFenceMethod::Watchdog => None,
            SelfFenceMethod::Reboot => Some(exit::DEVICE_ERROR),
            SelfFenceMethod::Command => Some(exit::CONDITION_FALSE),
        };
    }
    if rep.wrote {
        if !*ready {
            *ready = true;
            notify(&[sd_notify::NotifyState::Ready]);
            log(INFO, "joined the quorum disk");
        }
        notify(&[
            sd_notify::NotifyState::Watchdog,
            sd_notify::NotifyState::Status(&format!(
                "master {}, online {:?}, score {}",
                rep.master, rep.online, rep.score
            )),
        ]);
    } else {
        log(WARNING, "own block not written this cycle");
    }
    None
}

fn run(cli: &Cli, setup: &Setup) -> Result<u8> {
    let flags = Arc::new(Flags::default());
    signals(&flags)?;
    let clock = MonotonicClock::new();
    let incarnation = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(1)
        ^ u64::from(std::process::id());
    let (mut runner, mut heuristics) = daemon::start(setup, incarnation, clock.now_ms())?;
    log(
        INFO,
        &format!(
            "node {} (slot {}), incarnation {incarnation:x}, interval {:?}, tko {}",
            setup.settings.node, setup.config.node_id, setup.timing.interval, setup.timing.tko
        ),
    );
    let method = setup.settings.self_fence.method;
    let mut ready = false;
    let path = cli.config.clone();
    let reload = || -> Option<Heuristics> {
        match daemon::prepare(&path) {
            Ok(s) => {
                log(INFO, "configuration re-read: heuristics restarted");
                Some(Heuristics::start(&s.config.heuristics))
            }
            Err(e) => {
                log(
                    WARNING,
                    &format!("reload failed, keeping the heuristics: {e}"),
                );
                None
            }
        }
    };
    let code = daemon::run_loop(
        &mut runner,
        &mut heuristics,
        setup.timing.interval,
        &clock,
        &flags,
        reload,
        |rep| report(rep, &mut ready, method),
    );
    heuristics.stop();
    match code {
        Some(c) => Ok(c),
        None => {
            notify(&[sd_notify::NotifyState::Stopping]);
            log(INFO, "stopped; state NONE written");
            Ok(exit::OK)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let cli = match fencekit_tools::parse_args::<Cli>(&args) {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    let setup = match daemon::prepare(Path::new(&cli.config)) {
        Ok(s) => s,
        Err(e) => {
            log(ERR, &e.to_string());
            return ExitCode::from(fencekit_tools::error_status(&e));
        }
    };
    if cli.check_config {
        check_config(&setup);
        return ExitCode::from(exit::OK);
    }
    let r = match cli.cmd {
        Some(Cmd::Status { json }) => status(&setup, json),
        Some(Cmd::Run) | None => run(&cli, &setup),
    };
    match r {
        Ok(c) => ExitCode::from(c),
        Err(e) => {
            log(ERR, &format!("{e:#}"));
            ExitCode::from(fencekit_tools::exit_status(&e))
        }
    }
}
