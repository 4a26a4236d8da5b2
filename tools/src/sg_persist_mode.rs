//! prkeys as a drop-in sg_persist: chosen when the program is called as
//! `sg_persist` (a symlink), or when its first argument is an option other
//! than prkeys' own `--help`/`--version` given alone.

use std::io::Write;
use std::path::Path;

use fencekit::compat::sg_persist_args::{parse, Invocation};
use fencekit::compat::sg_persist_run::{run, Opener, RealTidInput};
use fencekit::scsi::device::Device;
use fencekit::scsi::error::ScsiError;
use fencekit::scsi::sgio::{OpenMode, SgIo};

/// sg_persist's own timeout for PR commands (sg_cmds_extra.c: 60 s).
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The usage text printed for `-h` and after syntax errors.
const USAGE: &str = "\
Usage: sg_persist [OPTIONS] [DEVICE]
  (fencekit prkeys in sg_persist mode; see prkeys(8), COMPATIBILITY)
  PR In:  --in|-i with --read-keys|-k (default), --read-reservation|-r,
          --report-capabilities|-c, --read-full-status|-s
  PR Out: --out|-o with one of --register|-G, --register-ignore|-I,
          --reserve|-R, --release|-L, --clear|-C, --preempt|-P,
          --preempt-abort|-A, --register-move|-M, --replace-lost|-z
  Parameters: --param-rk=RK|-K RK, --param-sark=SARK|-S SARK,
          --prout-type=TYPE|-T TYPE, --param-aptpl|-Z, --param-alltgpt|-Y,
          --transport-id=TIDS|-X TIDS, --relative-target-port=RTPI|-Q RTPI,
          --unreg|-U
  Other:  --device=DEVICE|-d DEVICE, --no-inquiry|-n, --readonly|-y,
          --hex|-H, --alloc-length=LEN|-l LEN, --maxlen=LEN|-m LEN,
          --verbose|-v, --version|-V, --help|-h
";

/// True when `args` (argv, program name first) ask for sg_persist mode.
pub fn wanted(args: &[String]) -> bool {
    let called_as = args
        .first()
        .map(|a| Path::new(a).file_name().is_some_and(|n| n == "sg_persist"))
        .unwrap_or(false);
    if called_as {
        return true;
    }
    match args.get(1) {
        Some(a) if a.starts_with('-') && a.len() > 1 => {
            let own = matches!(a.as_str(), "-h" | "--help" | "-V" | "--version") && args.len() == 2;
            !own
        }
        _ => false,
    }
}

struct SgOpener;

impl Opener for SgOpener {
    type T = SgIo;
    fn open(&self, device: &str, readonly: bool) -> Result<Device<SgIo>, ScsiError> {
        let mode = if readonly {
            OpenMode::ReadOnly
        } else {
            OpenMode::ReadWrite
        };
        let mut d = Device::new(SgIo::open(device, mode)?);
        d.timeout = TIMEOUT;
        Ok(d)
    }
}

/// Runs sg_persist mode and returns the exit status.
pub fn main(args: &[String]) -> u8 {
    let prog = args.first().map(|a| a.as_str()).unwrap_or("sg_persist");
    let prog = Path::new(prog)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rest = args.get(1..).unwrap_or(&[]);
    let (stdout, stderr, code) = match parse(&prog, rest) {
        Invocation::Exit(e) => {
            let mut err = e.stderr;
            if e.usage {
                err.push_str(USAGE);
            }
            (String::new(), err, e.code)
        }
        Invocation::Run(op) => {
            let env = std::env::var_os("SG_PERSIST_IN_RDONLY").is_some();
            let o = run(&op, env, &SgOpener, &RealTidInput);
            (o.stdout, o.stderr, o.code)
        }
    };
    let _ = std::io::stdout().write_all(stdout.as_bytes());
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(stderr.as_bytes());
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn mode_selection() {
        assert!(wanted(&a(&["prkeys", "-k", "/dev/sdb"])));
        assert!(wanted(&a(&["/usr/local/bin/sg_persist", "/dev/sdb"])));
        assert!(wanted(&a(&["sg_persist"])));
        assert!(!wanted(&a(&["prkeys", "keys", "/dev/sdb"])));
        assert!(!wanted(&a(&["prkeys", "--help"])));
        assert!(!wanted(&a(&["prkeys", "-V"])));
        assert!(wanted(&a(&["prkeys", "-h", "/dev/sdb"])));
        assert!(!wanted(&a(&["prkeys"])));
    }
}
