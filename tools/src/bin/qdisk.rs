//! qdisk: create, find, list, dump, watch and evict on quorum disks in the
//! RHEL cluster qdisk on-disk format. See qdisk(8) and qdisk(5).
#![forbid(unsafe_code)]

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use fencekit::qdisk::{
    self, format::MAX_NODES, render, scan, Finding, OpenOpts, QdiskDevice, QdiskError,
};

// Exit statuses: the family's table (fencekit_tools::exit, fencekit(7));
// qdisk(8) says which command gives which.
use fencekit_tools::exit;

#[derive(Parser)]
#[command(
    name = "qdisk",
    version,
    about = "Quorum disks in the RHEL cluster qdisk format",
    after_help = "Exit status: 0 success; 1 usage error (also a node outside 1 to 16, a label \
that cannot be stored); 2 not found: find found no quorum disk with the label, or the \
device holds no valid quorum disk (a block failed its magic, length or CRC check); 3 a \
device or I/O error: an open, read or write failed or did not finish within --timeout, or \
the device cannot hold a quorum disk; 4 refused: create found data or a user of the device, \
or was not confirmed. See qdisk(8), and fencekit(7) for the family's table."
)]
struct Cli {
    /// Deadline of every read and write, in milliseconds.
    #[arg(long, global = true, default_value_t = 3000, value_name = "MS")]
    timeout: u64,
    /// Sector size to assume for image files (block devices report theirs).
    #[arg(long, global = true, value_name = "BYTES", value_parser = ["512", "4096"])]
    sector_size: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a new quorum disk (like mkqdisk -c DEVICE -l LABEL).
    Create {
        /// Label of the new quorum disk (1 to 118 bytes).
        #[arg(short, long)]
        label: String,
        /// Block device or image file.
        device: PathBuf,
        /// Overwrite recognised data (never a device in use).
        #[arg(long)]
        force: bool,
        /// Do not ask for confirmation.
        #[arg(short, long)]
        yes: bool,
    },
    /// List the quorum disks on this machine (like mkqdisk -L).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Directory holding proc/, sys/ and dev/ (for tests).
        #[arg(long, default_value = "/", hide = true)]
        root: PathBuf,
    },
    /// Print the device holding the quorum disk LABEL (like mkqdisk -f).
    Find {
        /// The label.
        label: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Directory holding proc/, sys/ and dev/ (for tests).
        #[arg(long, default_value = "/", hide = true)]
        root: PathBuf,
    },
    /// Print the header and the status blocks (like mkqdisk -d).
    Dump {
        /// Block device or image file.
        device: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Redraw the node table every interval.
    Watch {
        /// Block device or image file.
        device: PathBuf,
        /// Seconds between redraws.
        #[arg(long, default_value_t = 1.0, value_name = "S")]
        interval: f64,
        /// Stop after N redraws.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// A running node whose block is older than this many seconds is not alive.
        #[arg(long, default_value_t = 10, value_name = "S")]
        stale: u64,
        /// Print one JSON line per redraw.
        #[arg(long)]
        json: bool,
    },
    /// Write an eviction notice into a node's status block, as a qdiskd master does.
    Evict {
        /// The node to evict (1 to 16).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_NODES)))]
        node: u32,
        /// Block device or image file.
        device: PathBuf,
        /// Node id recorded as the writer (0: an administrator).
        #[arg(long, default_value_t = 0)]
        writer: u32,
        /// Incarnation to record, in hex (default: keep the node's own).
        #[arg(long, value_name = "HEX")]
        incarnation: Option<String>,
    },
}

/// A failure: the message to print and the exit status.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl Failure {
    /// A library error reported by `message`, with the status
    /// [`fencekit_tools::error_status`] gives it.
    fn of(e: &(dyn std::error::Error + 'static), message: impl Into<String>) -> Failure {
        Failure::new(fencekit_tools::error_status(e), message)
    }
}

impl From<QdiskError> for Failure {
    fn from(e: QdiskError) -> Failure {
        Failure::of(&e, e.to_string())
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Failure {
        Failure::of(&e, format!("cannot write JSON: {e}"))
    }
}

fn opts(cli: &Cli, write: bool) -> OpenOpts {
    OpenOpts {
        write,
        deadline: Duration::from_millis(cli.timeout),
        file_sector_size: cli.sector_size.as_deref().and_then(|s| s.parse().ok()),
        exclusive: false,
    }
}

fn open(cli: &Cli, device: &Path, write: bool) -> Result<QdiskDevice, Failure> {
    Ok(QdiskDevice::open(device, opts(cli, write))?)
}

fn create(cli: &Cli, label: &str, device: &Path, force: bool, yes: bool) -> Result<(), Failure> {
    qdisk::check_label(label)?;
    // One descriptor, held exclusively from the checks to the last write.
    let dev = qdisk::open_for_create(device, opts(cli, true))?;
    let host = qdisk::host_name();
    let req = qdisk::CreateRequest {
        label,
        host: &host,
        now: qdisk::now_secs(),
        force,
    };
    let mut why_not = None;
    let mut confirm = |findings: &[Finding], g: qdisk::geometry::Geometry| {
        for f in findings {
            eprintln!(
                "qdisk: warning: {}: {}; overwriting (--force)",
                device.display(),
                f.describe()
            );
        }
        if yes {
            return true;
        }
        if !std::io::stdin().is_terminal() {
            why_not = Some(format!(
                "{}: not asking for confirmation without a terminal; give --yes to write",
                device.display()
            ));
            return false;
        }
        print!(
            "Writing new quorum disk label '{label}' to {}.\nWARNING: About to destroy all data in bytes 0-{} of {}; proceed [N/y] ? ",
            device.display(),
            g.region_end() - 1,
            device.display()
        );
        std::io::stdout().flush().ok();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok();
        line.trim() == "y"
    };
    let created = match qdisk::create(&dev, Path::new("/"), &req, &mut confirm) {
        Ok(c) => c,
        Err(e @ QdiskError::Refused { .. }) => {
            let mut msg = format!("{}: refusing to create a quorum disk:", device.display());
            if let QdiskError::Refused { findings, .. } = &e {
                for f in findings {
                    msg += &format!("\n  {}", f.describe());
                }
                if findings.iter().all(|f| f.forceable()) {
                    msg += "\n  (use --force to overwrite)";
                }
            }
            return Err(Failure::of(&e, msg));
        }
        Err(e @ QdiskError::NotConfirmed { .. }) => {
            return Err(Failure::of(
                &e,
                why_not.unwrap_or_else(|| "nothing written".into()),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let written = created.written;
    let g = dev.geometry();
    println!(
        "{}: sector size {}, block spacing {}, qdisk region bytes 0-{}",
        device.display(),
        g.sector_size(),
        g.block_space(),
        g.region_end() - 1
    );
    for w in &written {
        println!(
            "wrote {}: bytes {}-{} ({} bytes)",
            w.what,
            w.offset,
            w.offset + u64::from(w.len) - 1,
            w.len
        );
    }
    println!(
        "created quorum disk '{label}' on {}: {} blocks, {} bytes written",
        device.display(),
        written.len(),
        written.iter().map(|w| u64::from(w.len)).sum::<u64>()
    );
    Ok(())
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Failure> {
    fencekit_tools::print_json(v).map_err(|e| {
        Failure::new(
            fencekit_tools::exit_status(&e),
            format!("cannot write JSON: {e}"),
        )
    })
}

fn list(cli: &Cli, root: &Path, label: Option<&str>) -> Result<Vec<render::ListEntry>, Failure> {
    let res = scan::scan(root, label, opts(cli, false))?;
    for s in &res.skipped {
        eprintln!("qdisk: skipped {}: {}", s.device.display(), s.error);
    }
    Ok(res
        .found
        .iter()
        .map(render::ListEntry::from_found)
        .collect())
}

fn dump_view(cli: &Cli, device: &Path) -> Result<render::DumpView, Failure> {
    let dev = open(cli, device, false)?;
    let snap = qdisk::snapshot(&dev)?;
    Ok(render::DumpView::new(&snap, qdisk::now_secs()))
}

fn parse_hex(s: &str) -> Result<u64, Failure> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16)
        .map_err(|e| Failure::new(exit::USAGE, format!("--incarnation {s}: {e}")))
}

fn run(cli: &Cli) -> Result<(), Failure> {
    match &cli.cmd {
        Cmd::Create {
            label,
            device,
            force,
            yes,
        } => create(cli, label, device, *force, *yes),
        Cmd::List { json, root } => {
            let entries = list(cli, root, None)?;
            if *json {
                print_json(&entries)
            } else {
                for e in &entries {
                    print!("{}", render::list_text(e));
                }
                Ok(())
            }
        }
        Cmd::Find { label, json, root } => {
            let entries = list(cli, root, Some(label))?;
            let Some(first) = entries.first() else {
                return Err(Failure::new(
                    exit::CONDITION_FALSE,
                    format!("no quorum disk labelled '{label}'"),
                ));
            };
            if entries.len() > 1 {
                eprintln!(
                    "qdisk: warning: {} devices carry the label '{label}'; printing the first",
                    entries.len()
                );
            }
            if *json {
                print_json(first)
            } else {
                println!("{}", first.device);
                Ok(())
            }
        }
        Cmd::Dump { device, json } => {
            let v = dump_view(cli, device)?;
            if *json {
                print_json(&v)
            } else {
                print!("{}", render::dump_text(&v));
                Ok(())
            }
        }
        Cmd::Watch {
            device,
            interval,
            count,
            stale,
            json,
        } => {
            if !interval.is_finite() || *interval < 0.0 {
                return Err(Failure::new(exit::USAGE, "--interval must be >= 0"));
            }
            let redraw = std::io::stdout().is_terminal() && !json;
            let mut n = 0u64;
            loop {
                let v = dump_view(cli, device)?;
                if *json {
                    println!(
                        "{}",
                        serde_json::to_string(&serde_json::json!({
                            "now": v.now,
                            "device": v.device,
                            "nodes": render::watch_rows(&v, *stale),
                        }))?
                    );
                } else {
                    if redraw {
                        print!("\x1b[H\x1b[2J");
                    }
                    print!("{}", render::watch_text(&v, *stale));
                }
                std::io::stdout().flush().ok();
                n += 1;
                if count.is_some_and(|c| n >= c) {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_secs_f64(*interval));
            }
        }
        Cmd::Evict {
            node,
            device,
            writer,
            incarnation,
        } => {
            let inc = incarnation.as_deref().map(parse_hex).transpose()?;
            let dev = open(cli, device, true)?;
            dev.read_header()?;
            let e = qdisk::evict(&dev, *node, *writer, inc, qdisk::now_secs())?;
            println!(
                "{}: node {}: state {} -> {}; wrote status block at bytes {}-{} (writer {}, timestamp {})",
                device.display(),
                e.node,
                e.before.state,
                e.after.state,
                e.offset,
                e.offset + u64::from(dev.geometry().sector_size()) - 1,
                e.after.update_node,
                e.after.timestamp
            );
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let cli = match fencekit_tools::parse_args::<Cli>(&args) {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    match run(&cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(f) => {
            eprintln!("qdisk: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
