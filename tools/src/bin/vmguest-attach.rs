//! vmguest-attach: give KVM guests their shared LUNs as SCSI pass-through
//! disks through libvirt, and refuse the known ways to get it wrong. See
//! vmguest-attach(8).
//!
//! The only program that links libvirt (through `fencekit-libvirt`).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};
use fencekit::topology::{self, Topology};
use std::time::Duration;

use fencekit::fence::ops::PreemptMode;
use fencekit::fence::verify;
use fencekit::paths::{Options, SgOpener};
use fencekit::scsi::transport::RetryPolicy;
use fencekit::vm::apply::{self, Applied};
use fencekit::vm::check;
use fencekit::vm::guest;
use fencekit::vm::hypervisor::{Fake, Hypervisor, HypervisorError};
use fencekit::vm::inventory::{self, DomainLuns, HostList};
use fencekit::vm::metadata::{Mode, Record};
use fencekit::vm::plan::{self, Context, LunNameError, LunRef, Plan};
use fencekit::vm::probe;
use fencekit::vm::rules::{Cluster, Hygiene};
use fencekit::vm::xml::{Domain, XmlError};
use fencekit::vm::{hide, hygiene};
use fencekit_libvirt::Libvirt;
use fencekit_tools::{exit, print_json};

#[derive(Parser, Debug)]
#[command(
    name = "vmguest-attach",
    version,
    about = "Give KVM guests shared LUNs as SCSI pass-through disks through libvirt",
    after_help = "Exit status: 0 success; 1 usage error; 2 a domain or LUN not found, or check found \
problems (findings other than warnings); 3 libvirt \
or the host's storage cannot be read, or a change failed; 4 refused: a rule the plan breaks \
(plan reports it, attach changes nothing); 5 partial: attach or detach changed some disks and \
failed on others; 6 an input file cannot be read or parsed (domain XML, topology JSON, cluster \
TOML). See vmguest-attach(8), and fencekit(7) for the family's table."
)]
struct Cli {
    #[command(flatten)]
    src: Sources,
    /// Print JSON (schema in vmguest-attach(8)).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Debug)]
struct Sources {
    /// libvirt connection URI (default: libvirt's, from LIBVIRT_DEFAULT_URI
    /// or its configuration).
    #[arg(short = 'c', long, value_name = "URI", global = true)]
    connect: Option<String>,
    /// Read domains from these definition files instead of libvirt (plan,
    /// list and check only; the domains count as not running).
    #[arg(long, value_name = "FILE", global = true)]
    domain_xml: Vec<PathBuf>,
    /// Take the host's storage model from a `pathmap --json` output instead
    /// of reading this host.
    #[arg(long, value_name = "FILE", global = true)]
    topology: Option<PathBuf>,
    /// The cluster the domains belong to (TOML: name, guests, managed).
    #[arg(long, value_name = "FILE", global = true)]
    cluster: Option<PathBuf>,
    /// The host's multipath configuration, for the blacklist.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/multipath.conf",
        global = true
    )]
    multipath_conf: PathBuf,
    /// The host's LVM configuration, for the filter.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/lvm/lvm.conf",
        global = true
    )]
    lvm_conf: PathBuf,
}

#[derive(Args, Debug)]
struct How {
    /// How to give each LUN: the host's multipath map as one disk, every
    /// path as its own disk (multipath in the guest), or a single-path or
    /// iSCSI LUN (default: map when the host maps it, paths when it has
    /// several paths, lun otherwise).
    #[arg(long, value_name = "MODE", value_parser = ["map", "paths", "lun"])]
    mode: Option<String>,
    /// The guest's own iSCSI initiator name, for iscsi:// LUNs.
    #[arg(long, value_name = "IQN")]
    initiator: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Print the disks that attach would add, and every check; change nothing.
    Plan {
        /// The domain.
        domain: String,
        /// LUNs: any name pathmap knows (WWID, by-id, by-path, map alias,
        /// sdX) or iscsi://HOST[:PORT]/IQN/LUN.
        #[arg(required = true)]
        luns: Vec<String>,
        #[command(flatten)]
        how: How,
    },
    /// Attach LUNs to a domain: persistently, and live when it runs.
    Attach {
        /// The domain.
        domain: String,
        /// LUNs, named as for plan.
        #[arg(required = true)]
        luns: Vec<String>,
        #[command(flatten)]
        how: How,
        /// Attach despite the findings that may be overridden.
        #[arg(long)]
        force: bool,
    },
    /// Detach LUNs from a domain: persistently, and live when it runs.
    Detach {
        /// The domain.
        domain: String,
        /// LUNs, named as for plan, or disk target names (sdb).
        #[arg(required = true)]
        luns: Vec<String>,
    },
    /// List the shared LUNs of every domain (or of DOMAIN), with findings.
    List {
        /// Only this domain.
        domain: Option<String>,
    },
    /// Audit the shared LUNs of this host's domains, or, given the `list
    /// --json` output of several hosts, the cluster across them.
    ///
    /// On this host: every rule of plan against every shared disk, the
    /// blacklist and LVM filter of LUNs given path by path, lvmetad, and
    /// no host volume group active on a guest's LUN. Across hosts: no host
    /// runs more than half of the cluster's guests (--cluster), each LUN
    /// has the same by-path names and disk definition on every host, and
    /// which guests cannot be live-migrated and why. Exit status 2 when a
    /// finding is refused (or refused unless forced); warnings alone exit 0.
    Check {
        /// `vmguest-attach list --json` outputs of the cluster's hosts
        /// (none: audit this host).
        #[arg(value_name = "HOST.json")]
        hosts: Vec<PathBuf>,
    },
    /// Inside the guest: check that each disk is a pass-through LUN that
    /// accepts PR IN and, with --expect or --expect-wwid, the LUN the host
    /// attached. Read-only unless --pr-test.
    Verify(VerifyArgs),
    /// Keep the host's multipath and LVM off LUNs given to guests:
    /// print (or, with --apply, write) the blacklist and global_filter
    /// entries.
    Hide(HideArgs),
    /// Remove the entries hide wrote for these LUNs.
    Unhide(HideArgs),
}

#[derive(Args, Debug)]
struct VerifyArgs {
    /// The disks to check (default: every sd and vd disk of the guest).
    devices: Vec<String>,
    /// The host's `vmguest-attach list --json`: every LUN it attached to
    /// this guest must be among the disks, with as many paths as attached.
    #[arg(long, value_name = "FILE")]
    expect: Option<PathBuf>,
    /// The domain in the --expect file (needed when it lists several with
    /// disks).
    #[arg(long, value_name = "NAME", requires = "expect")]
    domain: Option<String>,
    /// A WWID that must be among the disks (may be repeated).
    #[arg(long, value_name = "WWID")]
    expect_wwid: Vec<String>,
    /// Run the two-node fencing test on the one disk given: register both
    /// nodes, reserve (type 5), the peer writes, preempt the peer, the
    /// peer's write is refused, remove the test keys. Refuses a disk that
    /// carries keys.
    #[arg(long, requires_all = ["peer_cmd", "peer_dev"])]
    pr_test: bool,
    /// Command prefix that runs a command on the peer node (`ssh node2`):
    /// the peer's SCSI commands are `PREFIX sg_raw ...`.
    #[arg(long, value_name = "PREFIX")]
    peer_cmd: Option<String>,
    /// The LUN's device on the peer node.
    #[arg(long, value_name = "DEV")]
    peer_dev: Option<PathBuf>,
    /// Run --pr-test on a disk that carries registrations (the test keys
    /// are removed at the end; other keys are left, but a reservation held
    /// by someone else makes the test fail).
    #[arg(long, requires = "pr_test")]
    force: bool,
    /// The sysfs root (tests).
    #[arg(long, value_name = "DIR", default_value = "/sys", hide = true)]
    sysfs_root: PathBuf,
}

#[derive(Args, Debug)]
struct HideArgs {
    /// LUNs, named as for plan (unhide also takes a WWID the host no
    /// longer sees).
    #[arg(required = true)]
    luns: Vec<String>,
    /// Write the files (each backed up first as FILE.fencekit-STAMP).
    #[arg(long)]
    apply: bool,
    /// With --apply: run multipathd reconfigure, multipath -f MAP and
    /// pvscan --cache afterwards.
    #[arg(long, requires = "apply")]
    reload: bool,
}

/// An error and the exit status it maps to.
struct Failure(u8, anyhow::Error);

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure(fencekit_tools::exit_status(&e), e)
    }
}

impl From<HypervisorError> for Failure {
    fn from(e: HypervisorError) -> Failure {
        anyhow::Error::from(e).into()
    }
}

impl From<XmlError> for Failure {
    fn from(e: XmlError) -> Failure {
        anyhow::Error::from(e).into()
    }
}

fn not_found(what: String) -> Failure {
    Failure(exit::CONDITION_FALSE, anyhow::anyhow!(what))
}

fn read(p: &PathBuf) -> Result<String> {
    std::fs::read_to_string(p)
        .map_err(|e| fencekit_tools::bad_input(format!("{}: {e}", p.display())))
}

/// Where domains come from: libvirt, or files in a fake.
enum Source {
    Libvirt(Libvirt),
    Files(Fake),
}

impl Source {
    fn hv(&self) -> &dyn Hypervisor {
        match self {
            Source::Libvirt(l) => l,
            Source::Files(f) => f,
        }
    }
}

fn open(src: &Sources) -> Result<Source> {
    if src.domain_xml.is_empty() {
        return Ok(Source::Libvirt(Libvirt::open(src.connect.as_deref())?));
    }
    let fake = Fake::new();
    for f in &src.domain_xml {
        fake.define(&read(f)?, false)
            .with_context(|| f.display().to_string())?;
    }
    Ok(Source::Files(fake))
}

/// The host's model: a `pathmap --json` file, or this host.
fn load_topology(src: &Sources) -> Result<Topology> {
    if let Some(p) = &src.topology {
        return serde_json::from_str(&read(p)?).with_context(|| p.display().to_string());
    }
    let built = topology::build(&topology::Sources {
        check_paths: false,
        checker: false,
        ..topology::Sources::default()
    });
    let mut t = match built {
        Ok(b) => b.topology,
        // A host without a SCSI subsystem has no LUNs of its own; it can
        // still give guests iSCSI LUNs by URL.
        Err(_) if !std::path::Path::new("/sys/bus/scsi").exists() => Topology::default(),
        Err(e) => return Err(e.into()),
    };
    if t.host.is_none() {
        t.host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string());
    }
    Ok(t)
}

fn load_cluster(src: &Sources) -> Result<Cluster> {
    match &src.cluster {
        Some(p) => Ok(Cluster::from_toml(&p.display().to_string(), &read(p)?)?),
        None => Ok(Cluster::default()),
    }
}

fn load_hygiene(src: &Sources, t: &Topology) -> Hygiene {
    // A missing file is a host that has done nothing.
    let mp = std::fs::read_to_string(&src.multipath_conf).ok();
    let lvm = std::fs::read_to_string(&src.lvm_conf).ok();
    hygiene::read(t, mp.as_deref(), lvm.as_deref())
}

/// A domain as the hypervisor has it now: live when it runs, else the
/// definition.
fn domain(hv: &dyn Hypervisor, name: &str) -> Result<Domain> {
    let running = hv.is_running(name)?;
    Ok(Domain::parse(&hv.domain_xml(name, !running)?)?)
}

fn record(hv: &dyn Hypervisor, name: &str) -> Result<Record> {
    let running = hv.is_running(name)?;
    Ok(match hv.metadata(name, !running)? {
        Some(x) => Record::parse(&x)?,
        None => Record::default(),
    })
}

fn others(hv: &dyn Hypervisor, name: &str) -> Result<Vec<Domain>> {
    hv.domains()?
        .iter()
        .filter(|n| n.as_str() != name)
        .map(|n| domain(hv, n))
        .collect()
}

fn mode(how: &How) -> Option<Mode> {
    how.mode.as_deref().and_then(|m| m.parse().ok())
}

/// The plans for `luns` on `dom`, each after the disks of the ones before.
fn plans(
    cli: &Cli,
    hv: &dyn Hypervisor,
    dom: &Domain,
    luns: &[String],
    how: &How,
) -> Result<Vec<Plan>, Failure> {
    let topo = load_topology(&cli.src)?;
    let ctx = Context {
        topology: Some(&topo),
        others: &others(hv, &dom.name)?,
        cluster: load_cluster(&cli.src)?,
        hygiene: load_hygiene(&cli.src, &topo),
        host: topo.host.clone(),
        initiator: how.initiator.clone(),
    };
    let mut refs = Vec::with_capacity(luns.len());
    for name in luns {
        refs.push(plan::lun_ref(&topo, name).map_err(|e| {
            let code = match &e {
                LunNameError::NotFound(_) => exit::CONDITION_FALSE,
                LunNameError::BadUrl(_) => exit::USAGE,
                LunNameError::NotALun(_) => exit::REFUSED,
            };
            Failure(code, e.into())
        })?);
    }
    let mut ps = plan::plan_all(dom, &refs, mode(how), &ctx);
    // Paths mode: what hide would change on this host.
    let mp = std::fs::read_to_string(&cli.src.multipath_conf).ok();
    let lvm = std::fs::read_to_string(&cli.src.lvm_conf).ok();
    for (p, r) in ps.iter_mut().zip(&refs) {
        if let (LunRef::Host(l), Mode::Paths) = (r, p.mode) {
            let d = hide::preview(
                l,
                (&cli.src.multipath_conf.display().to_string(), mp.as_deref()),
                (&cli.src.lvm_conf.display().to_string(), lvm.as_deref()),
            )
            .map_err(anyhow::Error::from)?;
            p.hygiene = Some(d).filter(|d| !d.is_empty());
        }
    }
    // The host has no device for an iSCSI URL: ask the target who the LUN
    // is, so that the guest can check it is the one meant.
    if cli.src.domain_xml.is_empty() {
        for (p, r) in ps.iter_mut().zip(&refs) {
            if let LunRef::Iscsi(u) = r {
                match probe::probe(u) {
                    Ok(id) => id.fill(&mut p.record),
                    Err(e) => eprintln!(
                        "vmguest-attach: warning: the LUN's identity is not recorded: {e}"
                    ),
                }
            }
        }
    }
    Ok(ps)
}

fn print_plan(p: &Plan) -> Result<()> {
    let id = &p.record;
    println!(
        "domain {}: {} mode, {} disk(s) for {}",
        p.domain,
        p.mode,
        p.disks.len(),
        id.wwid
            .clone()
            .or_else(|| id.disks.first().map(|d| d.source.clone()))
            .unwrap_or_else(|| "?".into())
    );
    if let (Some(v), Some(m)) = (&id.vendor, &id.product) {
        let size = id
            .size_bytes
            .map(|s| format!(", {s} bytes"))
            .unwrap_or_default();
        println!("  LUN: {v} {m}{size}");
    }
    if let Some(c) = &p.controller {
        println!("  controller to add:");
        print!("{}", indent(&c.to_xml()?));
    }
    for d in &p.disks {
        println!("  disk {}:", d.target_dev().unwrap_or("?"));
        print!("{}", indent(&d.to_xml()?));
    }
    if let Some(h) = &p.hygiene {
        println!("  hygiene (vmguest-attach hide --apply would write):");
        print!("{}", indent(h));
    }
    println!("  checks:");
    for r in &p.checked {
        let hits: Vec<_> = p.findings.iter().filter(|f| f.rule == *r).collect();
        if hits.is_empty() {
            println!("    ok       {}", r.check());
        }
        for f in hits {
            println!("    {:<8} {f}", severity(f));
        }
    }
    Ok(())
}

fn severity(f: &fencekit::vm::rules::Finding) -> &'static str {
    use fencekit::vm::rules::Severity::*;
    match f.severity {
        Warning => "WARNING",
        Forcible => "REFUSED*",
        Refused => "REFUSED",
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}

fn print_list(l: &DomainLuns) {
    println!("{}:", l.domain);
    if l.disks.is_empty() {
        println!("  no shared LUNs");
    }
    for d in &l.disks {
        let id = d.lun.as_ref();
        // An iSCSI LUN the host has no device for is known by its serial.
        let serial = id
            .filter(|i| i.wwid.is_none())
            .and_then(|i| i.serial.as_deref())
            .map(|s| format!(" serial={s}"))
            .unwrap_or_default();
        println!(
            "  {} {} {} {} wwid={}{serial} mode={}",
            d.target.as_deref().unwrap_or("?"),
            d.device,
            d.bus.as_deref().unwrap_or("?"),
            d.source.as_deref().unwrap_or("?"),
            id.and_then(|i| i.wwid.as_deref()).unwrap_or("?"),
            d.mode.map_or_else(|| "?".to_string(), |m| m.to_string()),
        );
        for f in &d.findings {
            println!("    {:<8} {f}", severity(f));
        }
    }
    for f in &l.findings {
        println!("  {:<8} {f}", severity(f));
    }
}

fn run(cli: &Cli) -> Result<u8, Failure> {
    match &cli.cmd {
        Cmd::Verify(v) => return verify_cmd(v, cli.json),
        Cmd::Hide(a) => return hide_cmd(cli, a, true),
        Cmd::Unhide(a) => return hide_cmd(cli, a, false),
        // The cluster's audit reads the hosts' lists, not this host's libvirt.
        Cmd::Check { hosts } if !hosts.is_empty() => return run_check(cli, None, hosts),
        _ => {}
    }
    let src = open(&cli.src)?;
    let hv = src.hv();
    let exists = |name: &str| -> Result<(), Failure> {
        if hv.domains()?.iter().any(|d| d == name) {
            Ok(())
        } else {
            Err(not_found(format!("{name}: no such domain")))
        }
    };
    match &cli.cmd {
        Cmd::Plan {
            domain: name,
            luns,
            how,
        } => {
            exists(name)?;
            let dom = domain(hv, name)?;
            let ps = plans(cli, hv, &dom, luns, how)?;
            if cli.json {
                print_json(&ps)?;
            } else {
                for p in &ps {
                    print_plan(p)?;
                }
            }
            Ok(if ps.iter().any(|p| p.refused(false)) {
                exit::REFUSED
            } else {
                exit::OK
            })
        }
        Cmd::List { domain: only } => {
            let names = match only {
                Some(n) => {
                    exists(n)?;
                    vec![n.clone()]
                }
                None => hv.domains()?,
            };
            let topo = load_topology(&cli.src)?;
            let all = lists(hv, &names, &topo, &load_cluster(&cli.src)?)?;
            if cli.json {
                print_json(&HostList::new(&topo, all, running(&src, &names)?))?;
            } else {
                all.iter().for_each(print_list);
            }
            Ok(exit::OK)
        }
        Cmd::Check { hosts } => run_check(cli, Some(&src), hosts),
        Cmd::Attach {
            domain: name,
            luns,
            how,
            force,
        } => {
            if matches!(src, Source::Files(_)) {
                return Err(Failure(
                    exit::USAGE,
                    anyhow::anyhow!("attach changes libvirt's domains: not with --domain-xml"),
                ));
            }
            exists(name)?;
            let dom = domain(hv, name)?;
            let ps = plans(cli, hv, &dom, luns, how)?;
            if ps.iter().any(|p| p.refused(*force)) {
                for p in &ps {
                    for f in p.findings.iter().filter(|f| f.blocks(*force)) {
                        eprintln!("vmguest-attach: {}: {f}", p.domain);
                    }
                }
                eprintln!("vmguest-attach: nothing attached");
                return Ok(exit::REFUSED);
            }
            report(&apply::attach(hv, name, &ps)?, cli.json)
        }
        // Handled above, without libvirt.
        Cmd::Hide(_) | Cmd::Unhide(_) => Ok(exit::OK),
        Cmd::Detach { domain: name, luns } => {
            if matches!(src, Source::Files(_)) {
                return Err(Failure(
                    exit::USAGE,
                    anyhow::anyhow!("detach changes libvirt's domains: not with --domain-xml"),
                ));
            }
            exists(name)?;
            let t = targets(cli, hv, name, luns)?;
            report(&apply::detach(hv, name, &t)?, cli.json)
        }
        Cmd::Verify(v) => verify_cmd(v, cli.json),
    }
}

fn opener() -> SgOpener {
    SgOpener {
        opts: Options {
            timeout: Duration::from_secs(30),
            // A preempted nexus reports the preempt first.
            retry: RetryPolicy {
                unit_attention_retries: 3,
            },
            multipath: false,
            ..Options::default()
        },
    }
}

fn mark(s: verify::State) -> &'static str {
    match s {
        verify::State::Pass => "pass",
        verify::State::Fail => "FAIL",
        verify::State::Skip => "skip",
    }
}

fn print_verify_check(c: &verify::Check) {
    let sep = if c.detail.is_empty() { "" } else { ": " };
    println!("    {:<4} {}{sep}{}", mark(c.state), c.name, c.detail);
}

/// `verify`, in the guest.
fn verify_cmd(v: &VerifyArgs, json: bool) -> Result<u8, Failure> {
    let op = opener();
    let devs = if v.devices.is_empty() {
        guest::disks(&v.sysfs_root)
    } else {
        v.devices.clone()
    };
    if v.pr_test {
        let [dev] = devs.as_slice() else {
            return Err(Failure(
                exit::USAGE,
                anyhow::anyhow!("--pr-test runs on one disk: name it"),
            ));
        };
        let (Some(prefix), Some(peer_dev)) = (&v.peer_cmd, &v.peer_dev) else {
            return Err(Failure(
                exit::USAGE,
                anyhow::anyhow!("--pr-test needs --peer-cmd and --peer-dev"),
            ));
        };
        let peer = verify::PeerOpener {
            prefix: prefix.clone(),
            timeout: op.opts.timeout,
            retry: op.opts.retry,
        };
        let r = verify::pair(
            &op,
            std::path::Path::new(dev),
            &peer,
            peer_dev,
            PreemptMode::PreemptAndAbort,
            v.force,
        );
        if json {
            print_json(&serde_json::json!({"command": "pr-test", "result": r}))?;
            return Ok(fencekit_tools::pair_status(&r));
        }
        return Ok(fencekit_tools::print_pair(&r, "    "));
    }
    let mut expected = Vec::new();
    if let Some(p) = &v.expect {
        expected = guest::expected_from_list(&read(p)?, v.domain.as_deref())
            .map_err(|e| Failure(exit::BAD_INPUT, anyhow::anyhow!("{}: {e}", p.display())))?;
    }
    for w in &v.expect_wwid {
        expected.push(guest::Expected {
            wwid: Some(w.clone()),
            ..guest::Expected::default()
        });
    }
    let disks: Vec<guest::GuestDisk> = devs
        .iter()
        .map(|d| guest::inspect(&op, d, &v.sysfs_root))
        .collect();
    let mut all = !disks.is_empty();
    let mut out = Vec::new();
    for d in &disks {
        let checks = guest::assess(d);
        let ok = verify::passed(&checks);
        all &= ok;
        if !json {
            println!(
                "{}: {}, {} {}, wwid {}: {}",
                d.device,
                d.attachment,
                d.facts.vendor.as_deref().unwrap_or("?"),
                d.facts.product.as_deref().unwrap_or("?"),
                d.wwid().unwrap_or("?"),
                if ok { "can fence" } else { "CANNOT FENCE" }
            );
            checks.iter().for_each(print_verify_check);
        }
        out.push(
            serde_json::json!({"device": d.device, "passed": ok, "checks": checks, "disk": d}),
        );
    }
    let mut matched = Vec::new();
    for e in &expected {
        let c = guest::match_expected(&disks, e);
        all &= c.state == verify::State::Pass;
        if !json {
            if matched.is_empty() {
                println!("expected:");
            }
            print_verify_check(&c);
        }
        matched.push(c);
    }
    if json {
        print_json(&serde_json::json!({
            "command": "verify", "passed": all, "devices": out, "expected": matched,
        }))?;
    } else if disks.is_empty() {
        println!("no disks found");
    }
    Ok(if all { exit::OK } else { exit::CONDITION_FALSE })
}

/// The shared disks of the domains `names`, as `list` shows them.
fn lists(
    hv: &dyn Hypervisor,
    names: &[String],
    topo: &Topology,
    cluster: &Cluster,
) -> Result<Vec<DomainLuns>> {
    let mut all = Vec::new();
    for n in names {
        all.push(inventory::shared_disks_in_cluster(
            &domain(hv, n)?,
            &record(hv, n)?,
            topo,
            &others(hv, n)?,
            cluster,
        ));
    }
    Ok(all)
}

/// The domains of `names` that run, when libvirt says (none for files).
fn running(src: &Source, names: &[String]) -> Result<Option<Vec<String>>> {
    if matches!(src, Source::Files(_)) {
        return Ok(None);
    }
    let mut out = Vec::new();
    for n in names {
        if src.hv().is_running(n)? {
            out.push(n.clone());
        }
    }
    Ok(Some(out))
}

/// `check`: this host's audit (`src`), or the cluster's from HOST.json
/// files.
fn run_check(cli: &Cli, src: Option<&Source>, files: &[PathBuf]) -> Result<u8, Failure> {
    let cluster = load_cluster(&cli.src)?;
    let report = if let (true, Some(src)) = (files.is_empty(), src) {
        audit_this_host(cli, src, &cluster)?
    } else {
        let mut lists = Vec::new();
        for f in files {
            let name = f.display().to_string();
            lists.push(
                check::read_host_list(&name, &read(f)?)
                    .map_err(|e| fencekit_tools::bad_input(e.to_string()))?,
            );
        }
        check::audit_cluster(lists, &cluster)
    };
    if cli.json {
        print_json(&report)?;
    } else {
        print_check(&report);
    }
    Ok(if report.problems() {
        exit::CONDITION_FALSE
    } else {
        exit::OK
    })
}

fn audit_this_host(cli: &Cli, src: &Source, cluster: &Cluster) -> Result<check::Report> {
    let hv = src.hv();
    let names = hv.domains()?;
    let topo = load_topology(&cli.src)?;
    let all = lists(hv, &names, &topo, cluster)?;
    // A missing lvm.conf is LVM's defaults: no lvmetad.
    let lvm_conf = std::fs::read_to_string(&cli.src.lvm_conf).ok();
    Ok(check::audit_host(
        HostList::new(&topo, all, running(src, &names)?),
        &load_hygiene(&cli.src, &topo),
        lvm_conf.as_deref(),
        cluster,
    ))
}

fn print_check(r: &check::Report) {
    for h in &r.hosts {
        println!("host {}:", h.host.as_deref().unwrap_or("?"));
        h.domains
            .iter()
            .filter(|l| !l.disks.is_empty())
            .for_each(print_list);
    }
    for f in &r.findings {
        println!("{:<8} {f}", severity(f));
    }
    for m in r.migration.iter().filter(|m| !m.migratable) {
        println!(
            "{}: cannot be live-migrated from {}:",
            m.domain,
            m.host.as_deref().unwrap_or("?")
        );
        for why in &m.reasons {
            println!("  {why}");
        }
    }
    let s = &r.summary;
    println!(
        "{} host(s), {} domain(s) with {} shared disk(s): {} refused, {} refused unless forced, {} warning(s)",
        s.hosts, s.domains, s.disks, s.refused, s.forcible, s.warnings
    );
}

/// Says what was changed, and the status: every disk, some, none.
fn report(a: &Applied, json: bool) -> Result<u8, Failure> {
    if json {
        print_json(a)?;
    } else {
        let how = if a.live {
            "live and persistent"
        } else {
            "persistent"
        };
        for c in &a.changes {
            match (&c.source, &c.error) {
                (_, Some(e)) => eprintln!("vmguest-attach: {}: {}: {e}", a.domain, c.what),
                (Some(s), None) => println!("{}: {} {} ({how})", a.domain, c.what, s),
                (None, None) => println!("{}: {} ({how})", a.domain, c.what),
            }
        }
    }
    let (done, total) = a.counts();
    Ok(exit::of_devices(done, total))
}

/// The target names of the disks that carry each LUN (or that have the
/// name).
fn targets(
    cli: &Cli,
    hv: &dyn Hypervisor,
    name: &str,
    luns: &[String],
) -> Result<Vec<String>, Failure> {
    let dom = domain(hv, name)?;
    let rec = record(hv, name)?;
    let topo = if luns.iter().all(|l| dom.disk_by_target(l).is_some()) {
        Topology::default()
    } else {
        load_topology(&cli.src)?
    };
    let mut out = Vec::new();
    for l in luns {
        let t = apply::targets_of(&dom, &rec, &topo, l);
        if t.is_empty() {
            return Err(not_found(format!("{l}: not attached to {name}")));
        }
        out.extend(t);
    }
    Ok(out)
}

/// hide and unhide: the two files' new texts, shown or written.
fn hide_cmd(cli: &Cli, a: &HideArgs, hiding: bool) -> Result<u8, Failure> {
    let topo = load_topology(&cli.src)?;
    let files = [&cli.src.multipath_conf, &cli.src.lvm_conf];
    let olds: Vec<Option<String>> = files
        .iter()
        .map(|p| match std::fs::read_to_string(p) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Failure(
                exit::BAD_INPUT,
                anyhow::anyhow!("{}: {e}", p.display()),
            )),
        })
        .collect::<Result<_, _>>()?;
    let confs: Vec<Option<&str>> = olds.iter().map(Option::as_deref).collect();
    let l = hide::luns(&topo, &a.luns, hiding, &confs).map_err(|e| {
        let code = match e {
            hide::LunError::NotFound(_) => exit::CONDITION_FALSE,
            hide::LunError::NoWwid { .. } => exit::REFUSED,
        };
        Failure(code, e.into())
    })?;
    let active = hide::active_vgs(&l.units);
    if hiding && !active.is_empty() {
        for v in &active {
            eprintln!(
                "vmguest-attach: VG {} on {} is active on this host: deactivate it first (vgchange -an {})",
                v.vg, v.lun, v.vg
            );
        }
        eprintln!("vmguest-attach: nothing hidden");
        return Ok(exit::REFUSED);
    }
    let name = |i: usize| files[i].display().to_string();
    let news = hide::edit(hiding, &l, (&name(0), confs[0]), (&name(1), confs[1]))
        .map_err(anyhow::Error::from)?;
    let stamp = hide::stamp(std::time::SystemTime::now());
    let mut report = Vec::new();
    for (i, new) in news.iter().enumerate() {
        let (file, old) = (files[i], olds[i].as_deref());
        let changed = old != new.as_deref();
        let written = if changed && a.apply {
            Some(hide::apply(file, old, new.as_deref(), &stamp).map_err(anyhow::Error::from)?)
        } else {
            None
        };
        let diff = hide::diff(&file.display().to_string(), old, new.as_deref());
        if !cli.json {
            if !changed {
                println!(
                    "{}: unchanged ({})",
                    file.display(),
                    if hiding {
                        "already hides them"
                    } else {
                        "has no entries of hide for them"
                    }
                );
            } else if let Some(w) = &written {
                if let Some(b) = &w.backup {
                    println!("{}: backed up as {}", file.display(), b.display());
                }
                println!(
                    "{}: {}",
                    file.display(),
                    if w.removed {
                        "removed (hide had created it)"
                    } else {
                        "written"
                    }
                );
            } else {
                print!("{diff}");
            }
        }
        report.push(serde_json::json!({
            "file": file, "changed": changed, "diff": diff, "written": written,
        }));
    }
    let maps: Vec<String> = l.targets.iter().filter_map(|t| t.map.clone()).collect();
    let commands = hide::reload_commands(hiding, &maps);
    let mut status = exit::OK;
    let changed_any = report.iter().any(|r| r["changed"] == true);
    if a.reload && changed_any {
        for (c, r) in hide::reload(hiding, &maps) {
            match r {
                Ok(()) => println!("ok: {c}"),
                Err(e) => {
                    eprintln!("vmguest-attach: {e}");
                    status = exit::DEVICE_ERROR;
                }
            }
        }
    } else if !cli.json && changed_any {
        println!(
            "{}, run: {}",
            if a.apply {
                "to make multipathd and LVM read the files"
            } else {
                "nothing written (--apply writes the files); after that"
            },
            commands
                .iter()
                .map(|c| c.join(" "))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if cli.json {
        print_json(&serde_json::json!({
            "action": if hiding { "hide" } else { "unhide" },
            "applied": a.apply, "wwids": l.wwids, "files": report, "commands": commands,
        }))?;
    }
    Ok(status)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let cli = match fencekit_tools::parse_args::<Cli>(&args) {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    match run(&cli) {
        Ok(c) => ExitCode::from(c),
        Err(Failure(code, e)) => {
            eprintln!("vmguest-attach: {e:#}");
            ExitCode::from(code)
        }
    }
}
