//! sg_persist's command line (sg3_utils 1.46, `src/sg_persist.c` `main()`),
//! parsed the same way: the same options and abbreviations, the same
//! checks in the same order, the same messages and exit statuses. The
//! result is either a [`SgPersistOpts`] to run or an [`Exit`] that says
//! what to print and which status to return.

use super::getopt::{getopt_long, scan_hex_u32, scan_hex_u64, sg_get_num, HasArg, Item, LongOpt};

/// PR IN allocation length limit and default (sg_persist's MX_ALLOC_LEN).
pub const MX_ALLOC_LEN: u32 = 8192;

const SHORT: &str = "AcCd:GHhiIkK:l:Lm:MnoPQ:rRsS:T:UvVX:yYzZ";

const fn lo(name: &'static str, has_arg: HasArg, val: char) -> LongOpt {
    LongOpt { name, has_arg, val }
}

use HasArg::{No, Required as Req};

/// sg_persist 1.46's long options, spellings with '-' and '_' both.
const LONG: &[LongOpt] = &[
    lo("alloc-length", Req, 'l'),
    lo("alloc_length", Req, 'l'),
    lo("clear", No, 'C'),
    lo("device", Req, 'd'),
    lo("help", No, 'h'),
    lo("hex", No, 'H'),
    lo("in", No, 'i'),
    lo("maxlen", Req, 'm'),
    lo("no-inquiry", No, 'n'),
    lo("no_inquiry", No, 'n'),
    lo("out", No, 'o'),
    lo("param-alltgpt", No, 'Y'),
    lo("param_alltgpt", No, 'Y'),
    lo("param-aptpl", No, 'Z'),
    lo("param_aptpl", No, 'Z'),
    lo("param-rk", Req, 'K'),
    lo("param_rk", Req, 'K'),
    lo("param-sark", Req, 'S'),
    lo("param_sark", Req, 'S'),
    lo("param-unreg", No, 'U'),
    lo("param_unreg", No, 'U'),
    lo("preempt", No, 'P'),
    lo("preempt-abort", No, 'A'),
    lo("preempt_abort", No, 'A'),
    lo("prout-type", Req, 'T'),
    lo("prout_type", Req, 'T'),
    lo("read-full-status", No, 's'),
    lo("read_full_status", No, 's'),
    lo("read-keys", No, 'k'),
    lo("read_keys", No, 'k'),
    lo("readonly", No, 'y'),
    lo("read-reservation", No, 'r'),
    lo("read_reservation", No, 'r'),
    lo("read-status", No, 's'),
    lo("read_status", No, 's'),
    lo("register", No, 'G'),
    lo("register-ignore", No, 'I'),
    lo("register_ignore", No, 'I'),
    lo("register-move", No, 'M'),
    lo("register_move", No, 'M'),
    lo("release", No, 'L'),
    lo("relative-target-port", Req, 'Q'),
    lo("relative_target_port", Req, 'Q'),
    lo("replace-lost", No, 'z'),
    lo("replace_lost", No, 'z'),
    lo("report-capabilities", No, 'c'),
    lo("report_capabilities", No, 'c'),
    lo("reserve", No, 'R'),
    lo("transport-id", Req, 'X'),
    lo("transport_id", Req, 'X'),
    lo("unreg", No, 'U'),
    lo("verbose", No, 'v'),
    lo("version", No, 'V'),
];

/// sg_persist's version string, printed by `-V` in drop-in mode.
pub const VERSION_STR: &str = "0.67 20190913";

/// Exit statuses used by the parser (sg_lib.h).
const SYNTAX_ERROR: u8 = 1;
const CONTRADICT: u8 = 31;

/// A parsed sg_persist command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SgPersistOpts {
    /// The device (from `-d` or the operand).
    pub device: String,
    /// PR IN (true) or PR OUT.
    pub pr_in: bool,
    /// PR IN service action (0..3).
    pub prin_sa: u8,
    /// PR OUT service action (0..8), meaningful when `!pr_in`.
    pub prout_sa: u8,
    /// `-K`.
    pub param_rk: u64,
    /// `-S`.
    pub param_sark: u64,
    /// `-T`.
    pub prout_type: u32,
    /// `-Z`.
    pub aptpl: bool,
    /// `-Y`.
    pub alltgpt: bool,
    /// `-U`.
    pub unreg: bool,
    /// `-Q`.
    pub rtp: u16,
    /// `-X` arguments, as given; decoded by the caller.
    pub transport_id_args: Vec<String>,
    /// `-H` count.
    pub hex: u32,
    /// INQUIRY header wanted (not `-n`).
    pub inquiry: bool,
    /// `-l`/`-m`.
    pub alloc_len: u32,
    /// `-y` once.
    pub readonly: bool,
    /// `-yy`: force read-write.
    pub readwrite_force: bool,
    /// `-v` count.
    pub verbose: u32,
    /// Lines sg_persist writes to stderr before it opens the device.
    pub stderr: String,
}

/// The parser decided the process should stop: print these and exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// Text for stderr.
    pub stderr: String,
    /// Print the usage text (after `stderr`).
    pub usage: bool,
    /// Exit status.
    pub code: u8,
}

/// What to do with an sg_persist command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Run the command.
    Run(SgPersistOpts),
    /// Stop now.
    Exit(Exit),
}

fn exit(stderr: impl Into<String>, usage: bool, code: u8) -> Invocation {
    Invocation::Exit(Exit {
        stderr: stderr.into(),
        usage,
        code,
    })
}

/// Parses sg_persist's arguments (without argv[0]). `prog` is the name
/// getopt puts before its own messages (argv[0]).
pub fn parse(prog: &str, args: &[String]) -> Invocation {
    let mut op = SgPersistOpts {
        pr_in: true,
        inquiry: true,
        alloc_len: MX_ALLOC_LEN,
        ..Default::default()
    };
    let (mut num_prout_sa, mut num_prin_sa) = (0u32, 0u32);
    let mut prin_sa: Option<u8> = None;
    let mut prout_sa: Option<u8> = None;
    let (mut want_in, mut want_out) = (false, false);
    let (mut help, mut version) = (0u32, false);
    let mut device: Option<String> = None;
    let mut operands = Vec::new();
    let mut stderr = String::new();

    for item in getopt_long(args, SHORT, LONG) {
        let (c, arg) = match item {
            Item::Opt(c, a) => (c, a.unwrap_or_default()),
            Item::Operand(o) => {
                operands.push(o);
                continue;
            }
            // getopt prints its message, sg_persist prints usage and
            // returns 0 (`case '?': usage(1); return 0;`).
            Item::Error(msg) => return exit(format!("{prog}: {msg}\n"), true, 0),
        };
        match c {
            'A' | 'C' | 'G' | 'I' | 'L' | 'M' | 'P' | 'R' | 'z' => {
                prout_sa = Some(match c {
                    'G' => 0,
                    'R' => 1,
                    'L' => 2,
                    'C' => 3,
                    'P' => 4,
                    'A' => 5,
                    'I' => 6,
                    'M' => 7,
                    _ => 8,
                });
                num_prout_sa += 1;
            }
            'k' | 'r' | 'c' | 's' => {
                prin_sa = Some(match c {
                    'k' => 0,
                    'r' => 1,
                    'c' => 2,
                    _ => 3,
                });
                num_prin_sa += 1;
            }
            'd' => device = Some(arg),
            'h' => help += 1,
            'H' => op.hex += 1,
            'i' => want_in = true,
            'o' => want_out = true,
            'n' => op.inquiry = false,
            'K' => match scan_hex_u64(&arg) {
                Some(v) => op.param_rk = v,
                None => return exit("bad argument to '--param-rk'\n", false, SYNTAX_ERROR),
            },
            'S' => match scan_hex_u64(&arg) {
                Some(v) => op.param_sark = v,
                None => return exit("bad argument to '--param-sark'\n", false, SYNTAX_ERROR),
            },
            'm' | 'l' => {
                let name = if c == 'm' { "maxlen" } else { "alloc-length" };
                let v = if c == 'm' {
                    sg_get_num(&arg).and_then(|v| u32::try_from(v).ok())
                } else {
                    scan_hex_u32(&arg)
                };
                match v {
                    None => {
                        return exit(format!("bad argument to '--{name}'\n"), false, SYNTAX_ERROR)
                    }
                    Some(v) if v > MX_ALLOC_LEN => {
                        return exit(
                            format!("'--{name}' argument exceeds maximum value ({MX_ALLOC_LEN})\n"),
                            false,
                            SYNTAX_ERROR,
                        )
                    }
                    Some(v) => op.alloc_len = v,
                }
            }
            'Q' => match scan_hex_u64(&arg).map(u16::try_from) {
                Some(Ok(v)) => op.rtp = v,
                Some(Err(_)) => {
                    return exit(
                        "argument to '--relative-target-port' 0 to ffff inclusive\n",
                        false,
                        SYNTAX_ERROR,
                    )
                }
                None => {
                    return exit(
                        "bad argument to '--relative-target-port'\n",
                        false,
                        SYNTAX_ERROR,
                    )
                }
            },
            'T' => match scan_hex_u32(&arg) {
                Some(v) => op.prout_type = v,
                None => return exit("bad argument to '--prout-type'\n", false, SYNTAX_ERROR),
            },
            'U' => op.unreg = true,
            'v' => op.verbose += 1,
            'V' => version = true,
            'X' => op.transport_id_args.push(arg),
            'y' => {
                if !op.readwrite_force {
                    if op.readonly {
                        op.readwrite_force = true;
                        op.readonly = false;
                    } else {
                        op.readonly = true;
                    }
                }
            }
            'Y' => op.alltgpt = true,
            'Z' => op.aptpl = true,
            _ => {
                return exit(
                    format!("unrecognised switch code 0x{:x} ??\n", c as u32),
                    true,
                    SYNTAX_ERROR,
                )
            }
        }
    }
    let mut operands = operands.into_iter();
    if device.is_none() {
        device = operands.next();
    }
    let extra: Vec<String> = operands.collect();
    if !extra.is_empty() {
        let msg: String = extra
            .iter()
            .map(|a| format!("Unexpected extra argument: {a}\n"))
            .collect();
        return exit(msg, true, SYNTAX_ERROR);
    }
    if help > 0 {
        return exit("", true, 0);
    }
    if op.verbose > 0 && version {
        stderr.push_str("Not in DEBUG mode, so '-vV' has no special action\n");
    }
    if version {
        return exit(format!("{stderr}version: {VERSION_STR}\n"), false, 0);
    }
    let Some(device) = device else {
        return exit(
            format!("{stderr}No device name given\n"),
            true,
            SYNTAX_ERROR,
        );
    };
    op.device = device;
    if want_out && want_in {
        return exit(
            format!("{stderr}choose '--in' _or_ '--out' (not both)\n"),
            true,
            CONTRADICT,
        );
    } else if want_out {
        op.pr_in = false;
        if num_prout_sa != 1 || num_prin_sa != 0 {
            return exit(
                format!(
                    "{stderr}>> For Persistent Reserve Out one and only one appropriate\n>> service action must be chosen (e.g. '--register')\n"
                ),
                false,
                CONTRADICT,
            );
        }
    } else {
        if num_prout_sa > 0 {
            return exit(
                format!("{stderr}>> When a service action for Persistent Reserve Out is chosen the\n>> '--out' option must be given (as a safeguard)\n"),
                false,
                CONTRADICT,
            );
        }
        if num_prin_sa == 0 {
            stderr.push_str(">> No service action given; assume Persistent Reserve In command\n>> with Read Keys service action\n");
            prin_sa = Some(0);
        } else if num_prin_sa > 1 {
            return exit(
                format!("{stderr}Too many service actions given; choose one only\n"),
                true,
                CONTRADICT,
            );
        }
    }
    op.prin_sa = prin_sa.unwrap_or(0);
    op.prout_sa = prout_sa.unwrap_or(0);
    let register_move = !op.pr_in && op.prout_sa == 7;
    if (op.unreg || op.rtp != 0) && !register_move {
        return exit(
            format!("{stderr}--unreg or --relative-target-port only useful with --register-move\n"),
            true,
            CONTRADICT,
        );
    }
    if register_move && op.transport_id_args.len() != 1 {
        return exit(
            format!(
                "{stderr}with --register-move one (and only one) --transport-id should be given\n"
            ),
            true,
            CONTRADICT,
        );
    }
    if !op.pr_in && matches!(op.prout_sa, 1 | 2 | 4 | 5) && op.prout_type == 0 {
        stderr.push_str("warning>>> --prout-type probably needs to be given\n");
    }
    op.stderr = stderr;
    Invocation::Run(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(v: &[&str]) -> Invocation {
        parse(
            "sg_persist",
            &v.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    fn opts(v: &[&str]) -> SgPersistOpts {
        match run(v) {
            Invocation::Run(o) => o,
            Invocation::Exit(e) => panic!("{v:?}: {e:?}"),
        }
    }

    #[test]
    fn fence_scsi_command_lines() {
        // sg_persist -n -o -I -S <key> -d dev
        let o = opts(&["-n", "-o", "-I", "-S", "36830001", "-d", "/dev/sdb"]);
        assert!(!o.pr_in && !o.inquiry);
        assert_eq!(
            (o.prout_sa, o.param_sark, o.device.as_str()),
            (6, 0x36830001, "/dev/sdb")
        );
        // sg_persist -n -o -A -T 5 -K <own> -S <victim> -d dev
        let o = opts(&[
            "-n", "-o", "-A", "-T", "5", "-K", "0x1", "-S", "0x2", "-d", "/dev/sdb",
        ]);
        assert_eq!(
            (o.prout_sa, o.prout_type, o.param_rk, o.param_sark),
            (5, 5, 1, 2)
        );
        assert_eq!(o.stderr, "");
        // sg_persist -n -i -k -d dev, and the long forms.
        let o = opts(&["--no-inquiry", "--in", "--read-keys", "--device=/dev/sg1"]);
        assert!(o.pr_in && o.prin_sa == 0 && !o.inquiry);
        let o = opts(&["-nr", "/dev/sdc"]);
        assert_eq!((o.prin_sa, o.device.as_str()), (1, "/dev/sdc"));
    }

    #[test]
    fn default_is_read_keys_with_a_note() {
        let o = opts(&["/dev/sdb"]);
        assert_eq!(o.prin_sa, 0);
        assert!(o.stderr.starts_with(">> No service action given"));
    }

    #[test]
    fn safeguards_and_contradictions() {
        let e = |v: &[&str]| match run(v) {
            Invocation::Exit(e) => e,
            Invocation::Run(o) => panic!("{v:?} ran: {o:?}"),
        };
        assert_eq!(e(&["-G", "/dev/sdb"]).code, 31);
        assert!(e(&["-G", "/dev/sdb"])
            .stderr
            .contains("'--out' option must be given"));
        assert_eq!(e(&["-o", "-k", "-G", "/dev/sdb"]).code, 31);
        assert_eq!(e(&["-i", "-o", "-G", "/dev/sdb"]).code, 31);
        assert_eq!(e(&["-k", "-r", "/dev/sdb"]).code, 31);
        assert_eq!(e(&["-k"]).code, 1);
        assert_eq!(e(&["-k"]).stderr, "No device name given\n");
        assert_eq!(
            e(&["-K", "zz", "/dev/sdb"]).stderr,
            "bad argument to '--param-rk'\n"
        );
        assert_eq!(e(&["-o", "-M", "/dev/sdb"]).code, 31);
        assert_eq!(
            e(&["-k", "/dev/a", "/dev/b"]).stderr,
            "Unexpected extra argument: /dev/b\n"
        );
        // An unknown option: getopt's message, usage, exit 0 (sg_persist 1.46).
        let x = e(&["-q", "/dev/sdb"]);
        assert_eq!(
            (x.code, x.usage, x.stderr.as_str()),
            (0, true, "sg_persist: invalid option -- 'q'\n")
        );
        assert_eq!(e(&["-V"]).stderr, "version: 0.67 20190913\n");
        assert_eq!(e(&["-m", "9000", "/dev/sdb"]).code, 1);
    }

    #[test]
    fn prout_type_warning_and_readonly_levels() {
        let o = opts(&["-o", "-R", "-K", "1", "/dev/sdb"]);
        assert_eq!(
            o.stderr,
            "warning>>> --prout-type probably needs to be given\n"
        );
        assert!(opts(&["-y", "/dev/sdb"]).readonly);
        let o = opts(&["-yy", "/dev/sdb"]);
        assert!(o.readwrite_force && !o.readonly);
    }
}
