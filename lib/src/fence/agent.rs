//! The fence-agent interface (ClusterLabs/fence-agents `lib/fencing.py`):
//! `name=value` lines on stdin, the actions Pacemaker calls, the messages
//! it parses and the exit codes it branches on, and the metadata XML.
//!
//! Input: one `name=value` per line; lines starting with `#` and blank
//! lines are skipped; a value in double quotes loses them; `-` and `_` are
//! the same in names; booleans are `1/yes/on/true` and `0/no/off/false`.
//! Unknown names are ignored with a warning, as fencing.py does.
//!
//! The metadata is built as a string with every attribute and text value
//! escaped ([`xml_escape`]); the shape follows fence_scsi's.

use std::collections::BTreeMap;

mod run;
pub use run::{run, Env, Output};

use serde::Serialize;

/// Fence-agent exit codes (fencing.py `EC_*`).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Generic failure.
    pub const GENERIC: u8 = 1;
    /// Bad arguments; also `status` when the node is OFF.
    pub const BAD_ARGS: u8 = 2;
    /// Timed out.
    pub const TIMED_OUT: u8 = 5;
    /// Waiting for ON failed.
    pub const WAITING_ON: u8 = 6;
    /// Waiting for OFF failed.
    pub const WAITING_OFF: u8 = 7;
    /// Status could not be determined.
    pub const STATUS: u8 = 8;
}

/// The actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Unfence this node (run on the node itself).
    On,
    /// Fence the plug.
    Off,
    /// fence_scsi does not advertise reboot; an `off` is done (fencing
    /// cannot turn a node back on from outside).
    Reboot,
    /// Is the plug's key registered?
    Status,
    /// Can the agent work (state file, devices)?
    Monitor,
    /// The configured nodes.
    List,
    /// The metadata XML.
    Metadata,
    /// Check the parameters.
    ValidateAll,
}

impl Action {
    /// Parses an action name (`meta-data` is `metadata`; `list-status` is
    /// `list`).
    pub fn parse(s: &str) -> Option<Action> {
        Some(
            match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "on" | "enable" => Action::On,
                "off" | "disable" => Action::Off,
                "reboot" => Action::Reboot,
                "status" => Action::Status,
                "monitor" => Action::Monitor,
                "list" | "list-status" => Action::List,
                "metadata" | "meta-data" => Action::Metadata,
                "validate-all" => Action::ValidateAll,
                _ => return None,
            },
        )
    }
}

/// A request read from stdin.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Request {
    /// The action (default `off`, as fencing.py).
    pub action: Option<Action>,
    /// The node acted on (`plug`, `port` or `nodename`).
    pub plug: Option<String>,
    /// An explicit key (hex).
    pub key: Option<String>,
    /// Devices, comma or space separated.
    pub devices: Vec<String>,
    /// `id` or `hash`.
    pub key_value: Option<String>,
    /// Register with APTPL.
    pub aptpl: bool,
    /// Use PREEMPT instead of PREEMPT AND ABORT.
    pub preempt_only: bool,
    /// Open devices read-only.
    pub readonly: bool,
    /// The fencekit cluster configuration file.
    pub config: Option<String>,
    /// The state file.
    pub state_file: Option<String>,
    /// `corosync-cmapctl` to take the cluster from.
    pub corosync_cmap_path: Option<String>,
    /// Delay before acting, seconds.
    pub delay: u64,
    /// Names that were not understood (warned about, ignored).
    pub unknown: Vec<String>,
}

/// A line that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No `=`.
    #[error("line {0}: {1:?} is not name=value")]
    NoEquals(usize, String),
    /// A boolean that is not one of the words.
    #[error("line {0}: {1}={2:?} is not a boolean (1/yes/on/true, 0/no/off/false)")]
    Bool(usize, String, String),
    /// An unknown action.
    #[error("line {0}: unknown action {1:?}")]
    Action(usize, String),
    /// A number that is not.
    #[error("line {0}: {1}={2:?} is not a number")]
    Number(usize, String, String),
    /// A command-line option the agent does not take.
    #[error("unknown option {0:?}")]
    UnknownOption(String),
    /// A command-line option without its value.
    #[error("option {0:?} needs a value")]
    MissingValue(String),
}

/// Parses a fence-agent boolean.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "on" | "true" | "" => Some(true),
        "0" | "no" | "off" | "false" => Some(false),
        _ => None,
    }
}

/// Splits a device list on commas and white space (fence_scsi's
/// `re.split(r"\s*,\s*|\s+", ...)`).
pub fn split_devices(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses the stdin text into raw `name -> value` pairs (names normalised
/// to `_`), then into a [`Request`].
pub fn parse(text: &str) -> Result<Request, ParseError> {
    let mut raw: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (name, value) = l
            .split_once('=')
            .ok_or_else(|| ParseError::NoEquals(n, l.to_string()))?;
        let name = name.trim().replace('-', "_").to_ascii_lowercase();
        let mut value = value.trim();
        if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            value = &value[1..value.len() - 1];
        }
        raw.insert(name, (n, value.to_string()));
    }
    let mut r = Request::default();
    for (name, (n, v)) in raw {
        let b = || parse_bool(&v).ok_or_else(|| ParseError::Bool(n, name.clone(), v.clone()));
        match name.as_str() {
            "action" | "option" => {
                r.action = Some(Action::parse(&v).ok_or_else(|| ParseError::Action(n, v.clone()))?)
            }
            "plug" | "port" | "nodename" => r.plug = Some(v),
            "key" => r.key = Some(v),
            "devices" => r.devices = split_devices(&v),
            "key_value" => r.key_value = Some(v),
            "aptpl" => r.aptpl = b()?,
            "preempt_only" => r.preempt_only = b()?,
            "readonly" => r.readonly = b()?,
            "config" => r.config = Some(v),
            "state_file" => r.state_file = Some(v),
            "corosync_cmap_path" => r.corosync_cmap_path = Some(v),
            "delay" => {
                r.delay = v
                    .parse()
                    .map_err(|_| ParseError::Number(n, name.clone(), v.clone()))?
            }
            // Accepted and ignored, as fence_scsi does for options it has
            // no use for.
            "nodeid" | "verbose" | "debug" | "logfile" | "suppress_errors" | "power_timeout"
            | "power_wait" | "shell_timeout" | "login_timeout" | "retry_on" | "fabric_fencing"
            | "on_target" | "sg_persist_path" | "sg_turs_path" | "vgs_path" | "force_on"
            | "separator" | "quiet" => {}
            _ => r.unknown.push(name),
        }
    }
    Ok(r)
}

/// Whether a program called as `argv0` is a fence agent by its name: any
/// `fence_*` name, such as the `fence_fencekit` link Pacemaker looks for.
/// Such a program takes fencing.py's command line ([`args_to_text`]), or
/// with no arguments the `name=value` lines on stdin.
pub fn called_as_agent(argv0: &str) -> bool {
    std::path::Path::new(argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("fence_"))
}

/// The agent's name for its metadata: the program's base name, as
/// fencing.py takes it (`fencectl`, `fence_fencekit`).
pub fn agent_name(argv0: &str) -> String {
    std::path::Path::new(argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .unwrap_or("fencectl")
        .to_string()
}

/// One command-line option of the metadata's `getopt` text
/// (`-o, --action=[action]`, `--preempt-only`): its short letter, long
/// name, whether it takes a value, and the parameter it sets.
struct Opt {
    short: Option<char>,
    long: String,
    value: bool,
    param: &'static str,
}

fn options() -> Vec<Opt> {
    let mut v: Vec<Opt> = PARAMS
        .iter()
        .map(|p| {
            let mut short = None;
            let mut long = String::new();
            for part in p.getopt.split(", ") {
                let name = part.split(['=', ' ']).next().unwrap_or(part);
                if let Some(l) = name.strip_prefix("--") {
                    long = l.to_string();
                } else if let Some(s) = name.strip_prefix('-') {
                    short = s.chars().next();
                }
            }
            Opt {
                short,
                long,
                value: p.getopt.contains('='),
                param: p.name,
            }
        })
        .collect();
    // fencing.py's other spellings of the node: --port, --nodename.
    for long in ["port", "nodename"] {
        v.push(Opt {
            short: None,
            long: long.to_string(),
            value: true,
            param: "plug",
        });
    }
    v
}

/// fencing.py's command line (`-o metadata`, `--action=off --plug=node2
/// -d /dev/sdb,/dev/sdc`, `-a`) as the `name=value` text [`parse`] reads:
/// the options are the metadata's `getopt` spellings, a value follows its
/// option as `--name=value`, `--name value`, `-x value` or `-xvalue`, and a
/// flag is `name=1`.
pub fn args_to_text(args: &[String]) -> Result<String, ParseError> {
    let opts = options();
    let mut text = String::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (opt, inline) = if let Some(l) = a.strip_prefix("--") {
            let (name, val) = match l.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (l, None),
            };
            let o = opts.iter().find(|o| o.long == name);
            (o, val)
        } else if let Some(s) = a.strip_prefix('-').filter(|s| !s.is_empty()) {
            let mut cs = s.chars();
            let c = cs.next();
            let rest: String = cs.collect();
            let o = opts.iter().find(|o| o.short.is_some() && o.short == c);
            (o, (!rest.is_empty()).then_some(rest))
        } else {
            (None, None)
        };
        let opt = opt.ok_or_else(|| ParseError::UnknownOption(a.clone()))?;
        let value = if opt.value {
            match inline {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| ParseError::MissingValue(a.clone()))?,
            }
        } else if inline.is_some() {
            return Err(ParseError::UnknownOption(a.clone()));
        } else {
            "1".to_string()
        };
        text.push_str(&format!("{}={}\n", opt.param, value));
    }
    Ok(text)
}

/// Escapes text for XML attribute values and character data.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

struct Param {
    name: &'static str,
    getopt: &'static str,
    kind: &'static str,
    default: Option<&'static str>,
    desc: &'static str,
}

const PARAMS: &[Param] = &[
    Param { name: "action", getopt: "-o, --action=[action]", kind: "string", default: Some("off"), desc: "Fencing action" },
    Param { name: "devices", getopt: "-d, --devices=[devices]", kind: "string", default: None, desc: "List of devices to use for current operation. Devices can be comma or space separated list of device names (e.g. /dev/sdc or /dev/mapper/mpatha). Each device must support SCSI-3 persistent reservations. Optional if the cluster configuration names devices or the cluster uses shared volume groups." },
    Param { name: "key", getopt: "-k, --key=[key]", kind: "string", default: None, desc: "Key to use for the current operation. For the \"on\" action, the key registers the local node; for \"off\", it is the key removed from the devices." },
    Param { name: "plug", getopt: "-n, --plug=[nodename]", kind: "string", default: None, desc: "Name of the node to be fenced. The node name is used to generate the key value used for the current operation." },
    Param { name: "key_value", getopt: "--key-value=<id|hash|vxfen>", kind: "string", default: Some("id"), desc: "Method used to generate the SCSI key: \"id\" (node position in the corosync nodelist), \"hash\" (part of the MD5 of the node name) or \"vxfen\" (Veritas style ASCII key)." },
    Param { name: "aptpl", getopt: "-a, --aptpl", kind: "boolean", default: None, desc: "Use the APTPL flag for registrations. This option is only used for the 'on' action." },
    Param { name: "preempt_only", getopt: "--preempt-only", kind: "boolean", default: None, desc: "Use PREEMPT instead of PREEMPT AND ABORT to remove the key." },
    Param { name: "readonly", getopt: "--readonly", kind: "boolean", default: None, desc: "Open DEVICE read-only." },
    Param { name: "config", getopt: "--config=[path]", kind: "string", default: Some("/etc/fencekit/cluster.toml"), desc: "fencekit cluster configuration file" },
    Param { name: "state_file", getopt: "--state-file=[path]", kind: "string", default: Some("/var/run/cluster/fencekit.state"), desc: "Where the local node records its key and devices" },
    Param { name: "corosync_cmap_path", getopt: "--corosync-cmap-path=[path]", kind: "string", default: None, desc: "Path to corosync-cmapctl; when set, the cluster name and nodes come from corosync" },
    Param { name: "delay", getopt: "--delay=[seconds]", kind: "second", default: Some("0"), desc: "Wait X seconds before fencing is started" },
];

/// The metadata XML, in fence_scsi's shape, under the agent name `name`.
pub fn metadata(name: &str) -> String {
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" ?>\n");
    x.push_str(&format!(
        "<resource-agent name=\"{}\" shortdesc=\"{}\" >\n",
        xml_escape(name),
        xml_escape("Fence agent for SCSI persistent reservations (fencekit)")
    ));
    x.push_str(&format!(
        "<longdesc>{}</longdesc>\n",
        xml_escape(
            "fencectl is an I/O fencing agent that uses SCSI-3 persistent reservations to control \
             access to shared storage devices. Each node registers its key on every path of every \
             device (on), and one node holds a \"write exclusive, registrants only\" reservation. \
             To fence a node (off), a survivor preempts and aborts its key on every device, so the \
             fenced node can no longer write. The devices must support SCSI-3 persistent \
             reservations (SPC-3 or later) and PREEMPT AND ABORT. A manual reboot is required."
        )
    ));
    x.push_str("<vendor-url></vendor-url>\n<parameters>\n");
    for p in PARAMS {
        let required = "0";
        x.push_str(&format!(
            "\t<parameter name=\"{}\" unique=\"0\" required=\"{}\">\n",
            xml_escape(p.name),
            required
        ));
        x.push_str(&format!(
            "\t\t<getopt mixed=\"{}\" />\n",
            xml_escape(p.getopt)
        ));
        match p.default {
            Some(d) => x.push_str(&format!(
                "\t\t<content type=\"{}\" default=\"{}\"  />\n",
                p.kind,
                xml_escape(d)
            )),
            None => x.push_str(&format!("\t\t<content type=\"{}\"  />\n", p.kind)),
        }
        x.push_str(&format!(
            "\t\t<shortdesc lang=\"en\">{}</shortdesc>\n\t</parameter>\n",
            xml_escape(p.desc)
        ));
    }
    x.push_str("</parameters>\n<actions>\n");
    x.push_str("\t<action name=\"on\" on_target=\"1\" automatic=\"1\"/>\n");
    for a in [
        "off",
        "status",
        "list",
        "monitor",
        "metadata",
        "validate-all",
    ] {
        x.push_str(&format!("\t<action name=\"{a}\" />\n"));
    }
    x.push_str("</actions>\n</resource-agent>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pacemaker_input() {
        let text = "# from stonithd\n\naction=off\nplug=\"node2\"\ndevices=/dev/sdb, /dev/sdc /dev/mapper/m\nkey-value=hash\npreempt_only=yes\naptpl=0\nport_as_ip=1\nnodeid=2\n";
        let r = parse(text).unwrap();
        assert_eq!(r.action, Some(Action::Off));
        assert_eq!(r.plug.as_deref(), Some("node2"));
        assert_eq!(r.devices, vec!["/dev/sdb", "/dev/sdc", "/dev/mapper/m"]);
        assert_eq!(r.key_value.as_deref(), Some("hash"));
        assert!(r.preempt_only && !r.aptpl);
        assert_eq!(r.unknown, vec!["port_as_ip"]);
    }

    #[test]
    fn actions_and_errors() {
        assert_eq!(Action::parse("meta-data"), Some(Action::Metadata));
        assert_eq!(Action::parse("metadata"), Some(Action::Metadata));
        assert_eq!(Action::parse("validate_all"), Some(Action::ValidateAll));
        assert_eq!(Action::parse("list-status"), Some(Action::List));
        assert_eq!(Action::parse("explode"), None);
        assert_eq!(
            parse("action=explode\n").unwrap_err(),
            ParseError::Action(1, "explode".into())
        );
        assert_eq!(
            parse("# c\nbogus line\n").unwrap_err(),
            ParseError::NoEquals(2, "bogus line".into())
        );
        assert!(matches!(
            parse("aptpl=maybe\n").unwrap_err(),
            ParseError::Bool(1, _, _)
        ));
        assert!(matches!(
            parse("delay=x\n").unwrap_err(),
            ParseError::Number(..)
        ));
        let r = parse("nodename=n1\naction=on\ndelay=3\n").unwrap();
        assert_eq!(
            (r.plug.as_deref(), r.action, r.delay),
            (Some("n1"), Some(Action::On), 3)
        );
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("Off"), Some(false));
    }

    #[test]
    fn metadata_is_escaped_and_has_the_anchor_shape() {
        let m = metadata("fence_<x>");
        assert!(m.contains("<resource-agent name=\"fence_&lt;x&gt;\""));
        assert!(m.contains("<action name=\"on\" on_target=\"1\" automatic=\"1\"/>"));
        assert!(m.contains("<parameter name=\"devices\" unique=\"0\" required=\"0\">"));
        assert!(m.contains("<getopt mixed=\"-d, --devices=[devices]\" />"));
        assert!(m.contains("&quot;write exclusive, registrants only&quot;"));
        assert_eq!(
            m.matches("<parameter ").count(),
            m.matches("</parameter>").count()
        );
        assert!(m.trim_end().ends_with("</resource-agent>"));
        assert_eq!(xml_escape("a&b'c"), "a&amp;b&apos;c");
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn fencing_py_command_line_becomes_stdin_text() {
        assert!(called_as_agent("/usr/sbin/fence_fencekit"));
        assert!(called_as_agent("fence_fencekit"));
        assert!(!called_as_agent("/usr/sbin/fencectl"));
        assert!(!called_as_agent("/opt/fence_x/fencectl"));
        assert_eq!(agent_name("/usr/sbin/fence_fencekit"), "fence_fencekit");
        assert_eq!(agent_name("fencectl"), "fencectl");
        assert_eq!(
            args_to_text(&args(&["-o", "metadata"])).unwrap(),
            "action=metadata\n"
        );
        let t = args_to_text(&args(&[
            "--action=off",
            "-n",
            "node2",
            "-d/dev/sdb,/dev/sdc",
            "--key-value",
            "hash",
            "-a",
            "--preempt-only",
            "--port=node3",
        ]))
        .unwrap();
        assert_eq!(
            t,
            "action=off\nplug=node2\ndevices=/dev/sdb,/dev/sdc\nkey_value=hash\naptpl=1\npreempt_only=1\nplug=node3\n"
        );
        let r = parse(&t).unwrap();
        assert_eq!(r.action, Some(Action::Off));
        assert_eq!(r.plug.as_deref(), Some("node3"));
        assert_eq!(r.devices, vec!["/dev/sdb", "/dev/sdc"]);
        assert!(r.aptpl && r.preempt_only);
        assert_eq!(
            args_to_text(&args(&["--bogus"])).unwrap_err(),
            ParseError::UnknownOption("--bogus".into())
        );
        assert_eq!(
            args_to_text(&args(&["node2"])).unwrap_err(),
            ParseError::UnknownOption("node2".into())
        );
        assert_eq!(
            args_to_text(&args(&["-o"])).unwrap_err(),
            ParseError::MissingValue("-o".into())
        );
        assert_eq!(
            args_to_text(&args(&["--aptpl=1"])).unwrap_err(),
            ParseError::UnknownOption("--aptpl=1".into())
        );
    }
}
