//! pathmap: the map from logical unit to path, multipath map, partition
//! and volume group. See pathmap(8).
//!
//! Exit status: 0 success (for `diff`: no differences); 1 not found (for
//! `resolve`/`show`/`lvm-filter`) or differences (for `diff`); 2 usage
//! error; 3 an input could not be read or parsed (sysfs tree, JSON,
//! `multipath -ll` text, `vgs` report).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use fencekit::topology::{
    compare, lsscsi, lvm, mpath_ll, resolve, scan, text, Roots, ScanOptions, SgIoQuery, Topology,
};

/// Exit status for "not found" and "differences".
const EXIT_NOT_FOUND: u8 = 1;
/// Exit status for unreadable or unparsable input.
const EXIT_INPUT: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "pathmap",
    version,
    about = "Map SCSI logical units to paths, multipath maps, partitions and volume groups"
)]
struct Cli {
    #[command(flatten)]
    src: Source,
    #[command(flatten)]
    out: Output,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Args, Debug)]
struct Source {
    /// Read sysfs from DIR instead of /sys.
    #[arg(long, value_name = "DIR", default_value = "/sys", global = true)]
    sysfs_root: PathBuf,
    /// Read device nodes and /dev/disk links from DIR instead of /dev.
    #[arg(long, value_name = "DIR", default_value = "/dev", global = true)]
    dev_root: PathBuf,
    /// Read mount points from FILE.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/proc/self/mountinfo",
        global = true
    )]
    mountinfo: PathBuf,
    /// Take multipath maps (path groups, dm and checker states) from a
    /// captured `multipath -ll` output ("-" for standard input).
    #[arg(long, value_name = "FILE", global = true)]
    from_multipath_ll: Option<PathBuf>,
    /// Ask devices with SG_IO INQUIRY when sysfs lacks their identity.
    #[arg(long, global = true)]
    query_devices: bool,
}

#[derive(Args, Debug)]
struct Output {
    /// Print JSON (schema in pathmap(8)).
    #[arg(long, global = true)]
    json: bool,
    /// Print lsscsi's default format, byte for byte.
    #[arg(long, conflicts_with_all = ["multipath_ll", "json"])]
    lsscsi: bool,
    /// With --lsscsi: add the sg node (lsscsi -g).
    #[arg(short = 'g', long, requires = "lsscsi")]
    generic: bool,
    /// With --lsscsi: add the scsi_id / WWID (lsscsi -i).
    #[arg(short = 'i', long = "wwid", alias = "scsi-id", requires = "lsscsi")]
    wwid: bool,
    /// With --lsscsi: kernel names instead of a /dev lookup (lsscsi -k).
    #[arg(short = 'k', long, requires = "lsscsi")]
    kname: bool,
    /// Print the maps in `multipath -ll` format.
    #[arg(long, conflicts_with = "json")]
    multipath_ll: bool,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Show one unit, named by device, by-path/by-id name, WWID, serial or map.
    Show { name: String },
    /// Print the canonical device for a name; exit 1 if nothing has it.
    Resolve { name: String },
    /// Compare two hosts' `pathmap --json` outputs; exit 1 on differences.
    Diff { a: PathBuf, b: PathBuf },
    /// lvm.conf global_filter lines rejecting these units, and the VGs on them.
    LvmFilter {
        /// Units, named as for `show`.
        #[arg(required = true)]
        luns: Vec<String>,
        /// `vgs -o vg_name,pv_name,lv_active --reportformat json` output.
        #[arg(long, value_name = "FILE")]
        vgs_json: Option<PathBuf>,
    },
}

/// An error and the exit status it maps to.
struct Failure(u8, anyhow::Error);

fn input<T>(r: Result<T>) -> Result<T, Failure> {
    r.map_err(|e| Failure(EXIT_INPUT, e))
}

fn read(p: &PathBuf) -> Result<String> {
    if p.as_os_str() == "-" {
        return std::io::read_to_string(std::io::stdin()).context("standard input");
    }
    std::fs::read_to_string(p).with_context(|| p.display().to_string())
}

fn load(src: &Source) -> Result<Topology> {
    let roots = Roots {
        sys: src.sysfs_root.clone(),
        dev: src.dev_root.clone(),
    };
    let opts = ScanOptions {
        mountinfo: Some(src.mountinfo.clone()),
    };
    let maps = match &src.from_multipath_ll {
        Some(f) => Some(mpath_ll::parse(&read(f)?).with_context(|| f.display().to_string())?),
        None => None,
    };
    let ident: &dyn scan::IdentitySource = if src.query_devices {
        &SgIoQuery
    } else {
        &scan::NoDeviceQuery
    };
    let mut t = match scan::scan_with(&roots, &opts, ident) {
        Ok(t) => t,
        // With a captured map and no SCSI in sysfs, the capture is the model.
        Err(e) if maps.is_some() => {
            eprintln!("pathmap: {e}");
            Topology::default()
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(m) = maps {
        scan::merge_multipath(&mut t, m);
    }
    Ok(t)
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn not_found(name: &str) -> u8 {
    eprintln!("pathmap: {name}: no such device, name, WWID or serial");
    EXIT_NOT_FOUND
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let o = &cli.out;
    if let Some(Cmd::Diff { a, b }) = &cli.cmd {
        let parse = |p: &PathBuf| -> Result<Topology> {
            serde_json::from_str(&read(p)?).with_context(|| p.display().to_string())
        };
        let (a, b) = (input(parse(a))?, input(parse(b))?);
        let d = compare::compare(&a, &b);
        if o.json {
            input(print_json(&d))?;
        } else {
            for x in &d {
                println!("{x}");
            }
        }
        return Ok(if d.is_empty() { 0 } else { EXIT_NOT_FOUND });
    }
    let t = input(load(&cli.src))?;
    for w in &t.warnings {
        eprintln!("pathmap: warning: {w}");
    }
    let roots = Roots {
        sys: cli.src.sysfs_root.clone(),
        dev: cli.src.dev_root.clone(),
    };
    match &cli.cmd {
        None if o.lsscsi => {
            let opts = lsscsi::Options {
                generic: o.generic,
                scsi_id: o.wwid,
                kname: o.kname,
            };
            print!("{}", lsscsi::render(&t, &roots, &opts));
        }
        None if o.multipath_ll => {
            let maps: Vec<_> = t.luns.iter().filter_map(|l| l.multipath.clone()).collect();
            print!("{}", mpath_ll::render(&maps));
        }
        None if o.json => input(print_json(&t))?,
        None => print!("{}", text::tree(&t)),
        Some(Cmd::Resolve { name }) => {
            let Some(r) = resolve::resolve(&t, name) else {
                return Ok(not_found(name));
            };
            if o.json {
                input(print_json(&r))?;
            } else {
                println!("{}", r.device);
            }
        }
        Some(Cmd::Show { name }) => {
            let Some(r) = resolve::resolve(&t, name) else {
                return Ok(not_found(name));
            };
            let l = &t.luns[r.lun];
            if o.json {
                input(print_json(l))?;
            } else {
                print!("{}", text::lun(l));
            }
        }
        Some(Cmd::LvmFilter { luns, vgs_json }) => {
            let mut found = Vec::new();
            let mut status = 0;
            for n in luns {
                match resolve::resolve(&t, n) {
                    Some(r) => found.push(&t.luns[r.lun]),
                    None => status = not_found(n),
                }
            }
            let rows = match vgs_json {
                Some(f) => input(read(f).and_then(|s| {
                    lvm::parse_vgs_json(&s).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))
                }))?,
                None => Vec::new(),
            };
            let vgs = lvm::vgs_on(&found, &rows);
            if o.json {
                #[derive(serde::Serialize)]
                struct Out<'a> {
                    global_filter: String,
                    patterns: Vec<String>,
                    volume_groups: &'a [lvm::VgOnLun],
                }
                input(print_json(&Out {
                    global_filter: lvm::global_filter(&found),
                    patterns: found.iter().flat_map(|l| lvm::reject_patterns(l)).collect(),
                    volume_groups: &vgs,
                }))?;
            } else {
                print!("{}", lvm::global_filter(&found));
                for v in &vgs {
                    let state = if v.active {
                        "ACTIVE on this host"
                    } else {
                        "not active on this host"
                    };
                    println!("# VG {} on {}: {state}", v.vg, v.lun);
                }
            }
            return Ok(status);
        }
        Some(Cmd::Diff { .. }) => {}
    }
    Ok(0)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(c) => ExitCode::from(c),
        Err(Failure(code, e)) => {
            eprintln!("pathmap: {e:#}");
            ExitCode::from(code)
        }
    }
}
