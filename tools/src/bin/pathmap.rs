//! pathmap: the map from logical unit to path, multipath map, partition
//! and volume group. See pathmap(8).
//!
//! Exit status (the family's table, fencekit(7)): 0 success (for `diff`:
//! no differences); 1 usage error; 2 not found (for
//! `resolve`/`show`/`lvm-filter`), differences (for `diff`) or findings
//! (for `vgs`); 3 the sysfs
//! tree cannot be read; 6 an input file cannot be read or parsed (JSON,
//! `multipath -ll`, `multipathd show paths` or `dmsetup` text, an LVM
//! report).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use fencekit::topology::{
    self, compare, lsscsi, lvm, mpath_ll, resolve, text, vgs, Input, Roots, Sources, Topology,
};
use fencekit_tools::print_json;

/// Exit status for "not found" and "differences".
const EXIT_NOT_FOUND: u8 = fencekit_tools::exit::CONDITION_FALSE;

#[derive(Parser, Debug)]
#[command(
    name = "pathmap",
    version,
    about = "Map SCSI logical units to paths, multipath maps, partitions and volume groups",
    after_help = "Exit status: 0 success (diff: no differences); 1 usage error; 2 a name not \
found (show, resolve, lvm-filter), differences (diff) or findings (vgs); 3 the sysfs tree \
cannot be read; 6 an input file cannot be read or parsed (JSON, multipath -ll, multipathd or \
dmsetup text, LVM report, VG policy). On this host's own /sys and /dev, pathmap also asks device-mapper, udev's \
database, pvs/lvs and (unless --no-check) the map paths themselves. See pathmap(8), and \
fencekit(7) for the family's table."
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
    /// Take the path states (dm, checker, device) and priorities from a
    /// captured `multipathd show paths [format FMT]` output ("-" for
    /// standard input).
    #[arg(long, value_name = "FILE", global = true)]
    from_multipathd_paths: Option<PathBuf>,
    /// With --from-multipathd-paths: the file is `multipathd show paths raw
    /// format FMT` output (no header), in this format.
    #[arg(
        long,
        value_name = "FMT",
        global = true,
        requires = "from_multipathd_paths"
    )]
    multipathd_raw_format: Option<String>,
    /// Ask devices with SG_IO INQUIRY when sysfs lacks their identity.
    #[arg(long, global = true)]
    query_devices: bool,
    /// Take the multipath maps' tables from a captured `dmsetup table`
    /// output instead of the running kernel ("-" for standard input).
    #[arg(long, value_name = "FILE", global = true)]
    dmsetup_table: Option<PathBuf>,
    /// With --dmsetup-table: the maps' states from a captured `dmsetup
    /// status` output.
    #[arg(long, value_name = "FILE", global = true, requires = "dmsetup_table")]
    dmsetup_status: Option<PathBuf>,
    /// Do not send TEST UNIT READY and REPORT TARGET PORT GROUPS to the
    /// paths of multipath maps: checker states and priorities then come
    /// from the kernel's device state alone, as in `multipath -l`.
    #[arg(long, global = true)]
    no_check: bool,
    /// Do not read udev's database: names come from the links under
    /// --dev-root or are derived from sysfs, as where udevd does not run.
    #[arg(long, global = true)]
    no_udev: bool,
    /// Take LVM physical volumes from a captured `pvs --reportformat json
    /// -o pv_name,vg_name,vg_attr,vg_systemid,vg_lock_type` instead of
    /// running pvs.
    #[arg(long, value_name = "FILE", global = true)]
    pvs_json: Option<PathBuf>,
    /// With --pvs-json: logical volumes from a captured `lvs
    /// --reportformat json -o vg_name,lv_name,lv_attr,lv_active`.
    #[arg(long, value_name = "FILE", global = true, requires = "pvs_json")]
    lvs_json: Option<PathBuf>,
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
    /// Print the canonical device for a name; exit 2 if nothing has it.
    Resolve { name: String },
    /// Compare two hosts' `pathmap --json` outputs; exit 2 on differences.
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
    /// Volume groups on the units: LUNs, system ID, lock type, where
    /// active; checked against an ownership policy. Exit 2 on findings.
    Vgs {
        /// VG ownership policy (TOML: [[vg]] name, and host, guest,
        /// shared or failover).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Hosts' `pathmap --json` outputs (default: this host).
        hosts: Vec<PathBuf>,
    },
}

/// An error and the exit status it maps to.
struct Failure(u8, anyhow::Error);

/// An error with the status [`fencekit_tools::exit_status`] gives it.
fn input<T>(r: Result<T>) -> Result<T, Failure> {
    r.map_err(|e| Failure(fencekit_tools::exit_status(&e), e))
}

/// An input file's text; one that cannot be read is a bad input.
fn read(p: &PathBuf) -> Result<String> {
    if p.as_os_str() == "-" {
        return std::io::read_to_string(std::io::stdin())
            .map_err(|e| fencekit_tools::bad_input(format!("standard input: {e}")));
    }
    std::fs::read_to_string(p)
        .map_err(|e| fencekit_tools::bad_input(format!("{}: {e}", p.display())))
}

/// What a view needs beyond sysfs.
#[derive(Clone, Copy)]
struct Needs {
    /// Checker states and priorities of map paths.
    check: bool,
    /// LVM's reports.
    lvm: bool,
}

/// The options' captured file, read, as a build input.
fn input_file(p: &Option<PathBuf>) -> Result<Option<Input>> {
    p.as_ref()
        .map(|p| Ok(Input::new(p.display().to_string(), read(p)?)))
        .transpose()
}

/// The model (through [`fencekit::topology::build`]), and the names of
/// the maps of a captured `multipath -ll` in the capture's order (empty
/// without one).
fn load(src: &Source, needs: Needs) -> Result<(Topology, Vec<String>)> {
    let sources = Sources {
        roots: Roots {
            sys: src.sysfs_root.clone(),
            dev: src.dev_root.clone(),
        },
        mountinfo: src.mountinfo.clone(),
        udev: !src.no_udev,
        query_devices: src.query_devices,
        check_paths: !src.no_check,
        lvm: needs.lvm,
        checker: needs.check,
        multipath_ll: input_file(&src.from_multipath_ll)?,
        multipathd_paths: input_file(&src.from_multipathd_paths)?
            .map(|i| (i, src.multipathd_raw_format.clone())),
        dmsetup: input_file(&src.dmsetup_table)?
            .map(|t| Ok::<_, anyhow::Error>((t, input_file(&src.dmsetup_status)?)))
            .transpose()?,
        lvm_reports: input_file(&src.pvs_json)?
            .map(|p| Ok::<_, anyhow::Error>((p, input_file(&src.lvs_json)?)))
            .transpose()?,
    };
    let live = sources.live();
    let mut built = topology::build(&sources)?;
    if let Some(e) = &built.scan_error {
        eprintln!("pathmap: {e}");
    }
    // This host's own tree carries its name, for vgs and diff across hosts.
    if live && built.topology.host.is_none() {
        built.topology.host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty());
    }
    Ok((built.topology, built.map_order))
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
    if let Some(Cmd::Vgs { policy, hosts }) = &cli.cmd {
        return vgs(&cli, policy.as_ref(), hosts);
    }
    // Path checks cost a command or three per path; only the views that
    // show path states make them.
    // The lsscsi listing reads only what it shows, not the whole model.
    if o.lsscsi && cli.cmd.is_none() {
        let opts = lsscsi::Options {
            generic: o.generic,
            scsi_id: o.wwid,
            kname: o.kname,
        };
        let rows = input(lsscsi::read_devices(&cli.src.sysfs_root).map_err(anyhow::Error::from))?;
        let roots = Roots {
            sys: cli.src.sysfs_root.clone(),
            dev: cli.src.dev_root.clone(),
        };
        print!(
            "{}",
            lsscsi::render_rows(rows.iter().map(|(p, t)| (p, *t)).collect(), &roots, &opts)
        );
        return Ok(0);
    }
    // pvs and lvs read every disk (which also makes a map's path group
    // active); only the views that show volumes run them.
    let check = !o.lsscsi && !matches!(cli.cmd, Some(Cmd::Resolve { .. } | Cmd::LvmFilter { .. }));
    let needs = Needs {
        check,
        lvm: (check && !o.multipath_ll) || matches!(cli.cmd, Some(Cmd::LvmFilter { .. })),
    };
    let (t, capture_order) = input(load(&cli.src, needs))?;
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
            // A capture keeps its order; otherwise maps go in the order
            // multipath lists them, device-mapper's (current kernels keep
            // maps in a tree by name).
            let mut maps: Vec<_> = t.luns.iter().filter_map(|l| l.multipath.clone()).collect();
            if capture_order.is_empty() {
                maps.sort_by(|a, b| a.name.cmp(&b.name));
            } else {
                maps.sort_by_key(|m| {
                    capture_order
                        .iter()
                        .position(|n| *n == m.name)
                        .unwrap_or(usize::MAX)
                });
            }
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
                    lvm::parse_vgs_json(&s).map_err(|e| e.in_input(&f.display().to_string()).into())
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
        Some(Cmd::Diff { .. } | Cmd::Vgs { .. }) => {}
    }
    Ok(0)
}

/// `pathmap vgs`: the VGs of the hosts' models (or this host's), and the
/// policy's findings.
fn vgs(cli: &Cli, policy: Option<&PathBuf>, files: &[PathBuf]) -> Result<u8, Failure> {
    let policy = match policy {
        Some(p) => Some(input(read(p).and_then(|t| {
            Ok(vgs::Policy::from_toml(&p.display().to_string(), &t)?)
        }))?),
        None => None,
    };
    let mut models = Vec::new();
    if files.is_empty() {
        let needs = Needs {
            check: false,
            lvm: true,
        };
        let (t, _) = input(load(&cli.src, needs))?;
        for w in &t.warnings {
            eprintln!("pathmap: warning: {w}");
        }
        let name = t.host.clone().unwrap_or_else(|| "this host".into());
        models.push((name, t));
    }
    for f in files {
        let t: Topology = input(
            read(f).and_then(|s| serde_json::from_str(&s).with_context(|| f.display().to_string())),
        )?;
        let stem = f.file_stem().map(|s| s.to_string_lossy().into_owned());
        let name = t
            .host
            .clone()
            .or(stem)
            .unwrap_or_else(|| f.display().to_string());
        models.push((name, t));
    }
    let refs: Vec<(String, &Topology)> = models.iter().map(|(n, t)| (n.clone(), t)).collect();
    let groups = vgs::collect(&refs);
    let findings = vgs::check(&groups, policy.as_ref());
    if cli.out.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            volume_groups: &'a [vgs::VolumeGroup],
            findings: &'a [vgs::Finding],
        }
        input(print_json(&Out {
            volume_groups: &groups,
            findings: &findings,
        }))?;
    } else {
        if groups.is_empty() {
            println!("no volume groups on the units");
        }
        for v in &groups {
            let o = |x: &Option<String>| x.clone().unwrap_or_else(|| "-".into());
            println!(
                "VG {}: LUNs {}; system ID {}; lock type {}",
                v.name,
                v.luns.join(" "),
                o(&v.system_id),
                o(&v.lock_type)
            );
            for h in &v.hosts {
                if h.active {
                    println!("  {}: active ({})", h.host, h.active_lvs.join(" "));
                } else {
                    println!("  {}: visible, not active", h.host);
                }
            }
        }
        for f in &findings {
            let sev = match f.severity {
                vgs::Severity::Error => "ERROR",
                vgs::Severity::Warning => "WARNING",
            };
            println!("{sev} {}: {}", f.kind, f.message);
        }
    }
    Ok(
        if findings.iter().any(|f| f.severity == vgs::Severity::Error) {
            EXIT_NOT_FOUND
        } else {
            0
        },
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let cli = match fencekit_tools::parse_args::<Cli>(&args) {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    match run(cli) {
        Ok(c) => ExitCode::from(c),
        Err(Failure(code, e)) => {
            eprintln!("pathmap: {e:#}");
            ExitCode::from(code)
        }
    }
}
