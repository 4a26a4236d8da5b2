//! Harness for fencekit's end-to-end tests, which live in
//! `tools/tests/` (a dev-dependency of `fencekit-tools`) and find the
//! programs they run through `env!("CARGO_BIN_EXE_<name>")`.
//!
//! Guest tests run shell scripts in the guest test bed (`scripts/testbed/`,
//! see its README.md): [`Guest`] boots one guest with LIO LUNs exported
//! through several tcm_loop nexuses (one per cluster node), [`TwoGuests`]
//! boots two guests that share one tgtd iSCSI LUN and drives them from a
//! host-side script.
//!
//! Guest tests start with [`require_or_skip`], which skips them (with a
//! `SKIP` line) when the test bed is not built, unless
//! `FENCEKIT_TESTBED=require` is set (as `make test` does), in which case a
//! missing test bed fails the test. Name guest tests `guest_*` and two-guest
//! tests `twoguest_*`, so that one filter selects them, and run them with
//! `--test-threads=1`: every guest is a QEMU process emulating a CPU.
//!
//! [`golden`] compares JSON output with golden files.

// A test harness: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::env;
use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub mod golden;

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// `scripts/testbed` in the workspace.
pub fn testbed_dir() -> PathBuf {
    workspace_root().join("scripts").join("testbed")
}

/// The test bed's cache: `$FK_TESTBED_CACHE`, or `.cache/testbed` in the
/// workspace.
pub fn testbed_cache() -> PathBuf {
    match env::var_os("FK_TESTBED_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join(".cache").join("testbed"),
    }
}

/// A guest script shipped with the tests: `tests/guest/NAME`.
pub fn guest_script(name: &str) -> PathBuf {
    harness_file("guest").join(name)
}

/// A file shipped with the harness: `tests/PATH`, e.g. `qdisk/independent_reader.py`.
pub fn harness_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Whether guest tests can run here: QEMU is installed and the guest kernel
/// and initramfs have been built (`make testbed`).
pub fn testbed_available() -> bool {
    let guest = testbed_cache().join("guest");
    find_in_path("qemu-system-x86_64").is_some()
        && guest.join("vmlinuz").is_file()
        && guest.join("initrd.img").is_file()
        && testbed_dir().join("run-in-guest").is_file()
}

/// Call first in every guest test: `if !require_or_skip("guest_x") { return; }`.
///
/// Returns true when the test bed is available. Otherwise prints
/// `SKIP <name>: guest test bed not built (run make testbed)` and returns
/// false, or panics when `FENCEKIT_TESTBED=require` is set.
pub fn require_or_skip(name: &str) -> bool {
    if testbed_available() {
        return true;
    }
    let why = if find_in_path("qemu-system-x86_64").is_none() {
        "qemu-system-x86_64 not found (run scripts/setup-deps.sh)"
    } else {
        "guest test bed not built (run make testbed)"
    };
    if env::var("FENCEKIT_TESTBED").as_deref() == Ok("require") {
        panic!("{name}: {why}; FENCEKIT_TESTBED=require does not allow skipping");
    }
    // Straight to the process's stderr, past the test harness's capture, so
    // that the skip shows in the cargo test output.
    let _ = writeln!(std::io::stderr(), "SKIP {name}: {why}");
    false
}

/// What a guest script did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestOutput {
    /// The script's exit status; 124 when the guest timed out, 125 when the
    /// test bed failed, 128+N when the runner was killed by signal N.
    pub status: i32,
    /// The script's standard output.
    pub stdout: String,
    /// The script's standard error, and the test bed's own messages.
    pub stderr: String,
    /// Where this run's logs are (console.log: the guest's kernel console).
    pub log_dir: PathBuf,
}

impl GuestOutput {
    /// Whether the script exited with status 0.
    pub fn success(&self) -> bool {
        self.status == 0
    }

    /// Panics, showing the output and the log directory, unless the script
    /// exited with status 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_status(0)
    }

    /// Panics, showing the output and the log directory, unless the script
    /// exited with `status`.
    #[track_caller]
    pub fn assert_status(&self, status: i32) -> &Self {
        if self.status != status {
            panic!("expected exit status {status}\n{self}");
        }
        self
    }

    /// Panics unless stdout contains `needle`.
    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        if !self.stdout.contains(needle) {
            panic!("stdout does not contain {needle:?}\n{self}");
        }
        self
    }
}

impl fmt::Display for GuestOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "guest script exit status: {}", self.status)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        writeln!(f, "--- stderr ---\n{}", self.stderr)?;
        write!(
            f,
            "--- logs: {} (console.log is the guest's console)",
            self.log_dir.display()
        )
    }
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

fn log_dir_for(kind: &str) -> PathBuf {
    let n = RUNS.fetch_add(1, Ordering::SeqCst);
    let thread = std::thread::current();
    let test = thread
        .name()
        .unwrap_or("main")
        .rsplit("::")
        .next()
        .unwrap_or("main")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect::<String>();
    testbed_cache()
        .join("logs")
        .join(format!("{kind}-{test}-{}-{n}", std::process::id()))
}

/// How to call one of the test bed's entry points: `PROGRAM ARGS... SCRIPT FILES...`.
struct Invocation {
    program: &'static str,
    kind: &'static str,
    args: Vec<OsString>,
    files: Vec<PathBuf>,
    /// Environment for the runner (and the host-side script).
    env: Vec<(String, OsString)>,
}

fn run_testbed(inv: Invocation, script: &str) -> GuestOutput {
    let mut file = tempfile::Builder::new()
        .prefix("fk-guest-")
        .suffix(".sh")
        .tempfile()
        .expect("create a temporary file for the guest script");
    file.write_all(script.as_bytes())
        .and_then(|()| file.flush())
        .expect("write the guest script");
    run_testbed_file(inv, file.path())
}

fn run_testbed_file(inv: Invocation, script: &Path) -> GuestOutput {
    let log_dir = log_dir_for(inv.kind);
    let runner = testbed_dir().join(inv.program);
    let out = Command::new(&runner)
        .args(&inv.args)
        .arg(script)
        .args(&inv.files)
        .envs(inv.env.iter().map(|(k, v)| (k, v)))
        .env("FK_LOG_DIR", &log_dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", runner.display()));
    let status = out
        .status
        .code()
        .or_else(|| out.status.signal().map(|s| 128 + s))
        .unwrap_or(-1);
    GuestOutput {
        status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        log_dir,
    }
}

/// A test bed run: the settings every kind of run has, and those of one
/// kind `K` ([`GuestSetup`] or [`TwoGuestsSetup`]). Use it through
/// [`Guest`] and [`TwoGuests`]; the setters every kind shares are written
/// once, here.
#[derive(Debug, Clone, Default)]
pub struct TestBed<K> {
    kind: K,
    lun_size_mb: Option<u32>,
    files: Vec<PathBuf>,
    timeout: Option<Duration>,
}

impl<K> TestBed<K> {
    /// Size of each LUN in MiB.
    pub fn lun_size_mb(mut self, mb: u32) -> Self {
        self.lun_size_mb = Some(mb);
        self
    }

    /// Copy a file (with its shared libraries) to `/fk/bin` in the guest(s),
    /// e.g. a program's `env!("CARGO_BIN_EXE_<name>")` or a [`guest_script`].
    pub fn file(mut self, path: impl AsRef<Path>) -> Self {
        self.files.push(path.as_ref().to_path_buf());
        self
    }

    /// Bound for the whole run (default: `$FK_GUEST_TIMEOUT` or 300 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn common_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        if let Some(mb) = self.lun_size_mb {
            a.extend(["--lun-size".into(), mb.to_string().into()]);
        }
        a
    }

    fn timeout_args(&self) -> Vec<OsString> {
        match self.timeout {
            Some(t) => vec!["--timeout".into(), t.as_secs().max(1).to_string().into()],
            None => Vec::new(),
        }
    }
}

/// One guest with LIO LUNs, each exported through several tcm_loop nexuses
/// (or iSCSI sessions, [`Fabric::Iscsi`]).
///
/// ```no_run
/// use fencekit_tests::Guest;
/// let out = Guest::new()
///     .nodes(2)
///     .luns(1)
///     .multipath(true)
///     .file("target/debug/prkeys")
///     .run_script("prkeys keys $FK_LUN0_NODE0_SD");
/// out.assert_success();
/// ```
pub type Guest = TestBed<GuestSetup>;

/// The settings only a [`Guest`] has.
#[derive(Debug, Clone)]
pub struct GuestSetup {
    fabric: Fabric,
    paths_per_node: u32,
    nodes: u32,
    luns: u32,
    multipath: bool,
    pacemaker: bool,
    scsi_debug: Option<String>,
}

impl Default for GuestSetup {
    fn default() -> Self {
        GuestSetup {
            fabric: Fabric::Loop,
            paths_per_node: 1,
            nodes: 2,
            luns: 1,
            multipath: false,
            pacemaker: false,
            scsi_debug: None,
        }
    }
}

impl TestBed<GuestSetup> {
    /// Two nodes, one LUN of 64 MiB, no multipath, no scsi_debug.
    pub fn new() -> Self {
        Self::default()
    }

    /// How the LUNs reach the nodes: tcm_loop (default) or iSCSI.
    pub fn fabric(mut self, fabric: Fabric) -> Self {
        self.kind.fabric = fabric;
        self
    }

    /// iSCSI fabric: sessions (paths) per node and LUN
    /// (`FK_LUN<i>_NODE<j>_PATH<p>_*`).
    pub fn paths_per_node(mut self, p: u32) -> Self {
        self.kind.paths_per_node = p;
        self
    }

    /// Nexuses (initiator ports, i.e. cluster nodes) per LUN.
    pub fn nodes(mut self, n: u32) -> Self {
        self.kind.nodes = n;
        self
    }

    /// Number of LIO fileio LUNs.
    pub fn luns(mut self, m: u32) -> Self {
        self.kind.luns = m;
        self
    }

    /// Join the paths of each LUN into a dm-multipath map (`FK_LUN<i>_MPATH`).
    pub fn multipath(mut self, on: bool) -> Self {
        self.kind.multipath = on;
        self
    }

    /// Also unpack the corosync and Pacemaker layer (`fk-pacemaker` starts
    /// a one-node cluster in the guest).
    pub fn pacemaker(mut self, on: bool) -> Self {
        self.kind.pacemaker = on;
        self
    }

    /// Also load scsi_debug with these module arguments (may be empty).
    pub fn scsi_debug(mut self, args: &str) -> Self {
        self.kind.scsi_debug = Some(args.to_string());
        self
    }

    fn args(&self) -> Vec<OsString> {
        let k = &self.kind;
        let mut a: Vec<OsString> = Vec::new();
        if k.fabric != Fabric::Loop {
            a.extend(["--fabric".into(), k.fabric.as_arg().into()]);
        }
        if k.paths_per_node != 1 {
            a.extend([
                "--paths-per-node".into(),
                k.paths_per_node.to_string().into(),
            ]);
        }
        a.extend([
            "--nodes".into(),
            k.nodes.to_string().into(),
            "--luns".into(),
            k.luns.to_string().into(),
        ]);
        a.extend(self.common_args());
        if k.multipath {
            a.push("--multipath".into());
        }
        if k.pacemaker {
            a.push("--pacemaker".into());
        }
        if let Some(args) = &k.scsi_debug {
            a.extend(["--scsi-debug".into(), args.into()]);
        }
        a.extend(self.timeout_args());
        a
    }

    fn invocation(&self) -> Invocation {
        Invocation {
            program: "run-in-guest",
            kind: "run",
            args: self.args(),
            files: self.files.clone(),
            env: Vec::new(),
        }
    }

    /// Run a `/bin/sh` script in the guest (`scripts/testbed/run-in-guest`).
    pub fn run_script(&self, script: &str) -> GuestOutput {
        run_testbed(self.invocation(), script)
    }

    /// Run a script file in the guest, e.g. [`guest_script`]`("smoke_pr.sh")`.
    pub fn run_script_file(&self, script: impl AsRef<Path>) -> GuestOutput {
        run_testbed_file(self.invocation(), script.as_ref())
    }
}

/// How the LUNs of a [`Guest`] reach its nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fabric {
    /// LIO tcm_loop: one SCSI host per node; PREEMPT AND ABORT deadlocks.
    #[default]
    Loop,
    /// LIO's iSCSI target on 127.0.0.1 and one open-iscsi initiator per
    /// node: real sessions, udev's by-path names, PREEMPT AND ABORT works,
    /// and `fk-fault` can re-login, lose paths and hang LUNs.
    Iscsi,
}

impl Fabric {
    fn as_arg(self) -> &'static str {
        match self {
            Fabric::Loop => "loop",
            Fabric::Iscsi => "iscsi",
        }
    }
}

/// How the second guest of [`TwoGuests`] sees the shared LUN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiskB {
    /// SCSI pass-through (virtio-scsi `scsi-block`): PR commands reach tgtd.
    #[default]
    ScsiBlock,
    /// QEMU's emulated SCSI disk: PR commands fail with ILLEGAL REQUEST.
    ScsiHd,
    /// A virtio block disk: no SCSI at all (`FK_SG` is empty).
    VirtioBlk,
}

impl DiskB {
    fn as_arg(self) -> &'static str {
        match self {
            DiskB::ScsiBlock => "scsi-block",
            DiskB::ScsiHd => "scsi-hd",
            DiskB::VirtioBlk => "virtio-blk",
        }
    }
}

/// Two guests sharing one tgtd iSCSI LUN, driven by a host-side bash script
/// that runs commands in them with `on a 'cmd'` and `on b 'cmd'`
/// (`scripts/testbed/two-guests`; see its README.md). Files go to both
/// guests.
pub type TwoGuests = TestBed<TwoGuestsSetup>;

/// The settings only [`TwoGuests`] have.
#[derive(Debug, Clone, Default)]
pub struct TwoGuestsSetup {
    disk_b: DiskB,
}

impl TestBed<TwoGuestsSetup> {
    /// Both guests with scsi-block pass-through, a 64 MiB LUN.
    pub fn new() -> Self {
        Self::default()
    }

    /// How guest b sees the LUN.
    pub fn disk_b(mut self, disk: DiskB) -> Self {
        self.kind.disk_b = disk;
        self
    }

    fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec!["--disk-b".into(), self.kind.disk_b.as_arg().into()];
        a.extend(self.common_args());
        for f in &self.files {
            a.extend(["--file".into(), f.clone().into_os_string()]);
        }
        a.extend(self.timeout_args());
        a
    }

    fn invocation(&self) -> Invocation {
        Invocation {
            program: "two-guests",
            kind: "two",
            args: self.args(),
            files: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Run a host-side bash script that drives the guests with `on`.
    pub fn run_script(&self, script: &str) -> GuestOutput {
        run_testbed(self.invocation(), script)
    }

    /// The same with a script file, e.g. [`guest_script`]`("twoguest_smoke_pr.sh")`.
    pub fn run_script_file(&self, script: impl AsRef<Path>) -> GuestOutput {
        run_testbed_file(self.invocation(), script.as_ref())
    }
}

/// Guests as real libvirt domains (TCG) sharing one tgtd iSCSI LUN, driven
/// by a host-side bash script with `on G 'cmd'` and `virsh`
/// (`scripts/testbed/libvirt-guests`, which starts libvirtd when it is not
/// running). Files go to every guest.
pub type LibvirtGuests = TestBed<LibvirtSetup>;

/// The settings only [`LibvirtGuests`] have.
#[derive(Debug, Clone, Default)]
pub struct LibvirtSetup {
    guests: Vec<char>,
    disks: Vec<(char, DiskB)>,
    env: Vec<(String, OsString)>,
}

impl TestBed<LibvirtSetup> {
    /// Guests a and b, no disks at boot.
    pub fn new() -> Self {
        Self::default()
    }

    /// The guests, one letter each (default a and b).
    pub fn guests(mut self, g: &str) -> Self {
        self.kind.guests = g.chars().filter(char::is_ascii_lowercase).collect();
        self
    }

    /// Boot guest `g` with the LUN already defined as an emulated disk
    /// (scsi-hd or virtio-blk).
    pub fn disk(mut self, g: char, disk: DiskB) -> Self {
        self.kind.disks.push((g, disk));
        self
    }

    /// An environment variable for the host-side script.
    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Self {
        self.kind.env.push((key.to_string(), value.into()));
        self
    }

    fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        if !self.kind.guests.is_empty() {
            let g: Vec<String> = self.kind.guests.iter().map(char::to_string).collect();
            a.extend(["--guests".into(), g.join(" ").into()]);
        }
        for (g, d) in &self.kind.disks {
            a.extend(["--disk".into(), format!("{g}={}", d.as_arg()).into()]);
        }
        a.extend(self.common_args());
        for f in &self.files {
            a.extend(["--file".into(), f.clone().into_os_string()]);
        }
        a.extend(self.timeout_args());
        a
    }

    /// Run a host-side bash script file that drives the domains.
    pub fn run_script_file(&self, script: impl AsRef<Path>) -> GuestOutput {
        let inv = Invocation {
            program: "libvirt-guests",
            kind: "virt",
            args: self.args(),
            files: Vec::new(),
            env: self.kind.env.clone(),
        };
        run_testbed_file(inv, script.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(testbed_dir().join("run-in-guest").is_file());
        assert!(guest_script("smoke_pr.sh").is_file());
    }

    #[test]
    fn runner_arguments() {
        let g = Guest::new()
            .nodes(3)
            .luns(2)
            .lun_size_mb(16)
            .multipath(true)
            .scsi_debug("num_tgts=2")
            .file("/bin/true");
        let args: Vec<String> = g
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--nodes",
                "3",
                "--luns",
                "2",
                "--lun-size",
                "16",
                "--multipath",
                "--scsi-debug",
                "num_tgts=2",
            ]
        );
        assert_eq!(g.invocation().files, [PathBuf::from("/bin/true")]);
        let i = Guest::new()
            .fabric(Fabric::Iscsi)
            .paths_per_node(2)
            .nodes(2)
            .pacemaker(true);
        let args: Vec<String> = i
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--fabric",
                "iscsi",
                "--paths-per-node",
                "2",
                "--nodes",
                "2",
                "--luns",
                "1",
                "--pacemaker"
            ]
        );
    }

    #[test]
    fn two_guests_arguments() {
        let t = TwoGuests::new()
            .disk_b(DiskB::VirtioBlk)
            .lun_size_mb(16)
            .file("/bin/true")
            .timeout(Duration::from_secs(90));
        let args: Vec<String> = t
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--disk-b",
                "virtio-blk",
                "--lun-size",
                "16",
                "--file",
                "/bin/true",
                "--timeout",
                "90"
            ]
        );
        assert!(t.invocation().files.is_empty());
    }
}
