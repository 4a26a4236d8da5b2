//! Device-mapper multipath targets: the table and status strings of the
//! kernel's `multipath` target (nom parsers), read live through the
//! `devicemapper` crate or from the text `dmsetup table` and `dmsetup
//! status` print (support bundles), and applied to the model's maps: path
//! groups in table order with their selector, the table's features and
//! hardware handler, each group's state, each path's dm state and failure
//! count.
//!
//! The formats are `drivers/md/dm-mpath.c`'s constructor arguments and
//! `multipath_status()`:
//!
//! ```text
//! table:  <#feat> <feat>... <#hw> <hw>... <#groups> <first group>
//!         { <selector> <#sel args> <arg>... <#paths> <#path args>
//!           { <major:minor> <path arg>... }... }...
//! status: <#feat> <feat>... <#hw> <hw>... <#groups> <next group>
//!         { A|E|D <#sel status> <status>... <#paths> <#sel info>
//!           { <major:minor> A|F <fail count> <info>... }... }...
//! ```
//!
//! Everything here reads untrusted text: counts are checked against the
//! words actually present, errors name the map and the word where parsing
//! stopped, and nothing panics on any input.

use std::collections::HashMap;
use std::path::Path;

use nom::bytes::complete::take_till1;
use nom::character::complete::multispace0;
use nom::combinator::{map, map_res, verify};
use nom::multi::count;
use nom::sequence::preceded;
use nom::IResult;
use serde::{Deserialize, Serialize};

use super::mpath_ll::{MpPath, PathGroup};
use super::{sysfs, Topology};

/// A multipath target's table (its constructor arguments).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MpTable {
    /// Feature words (`queue_if_no_path`, `queue_mode`, `mq`...).
    pub features: Vec<String>,
    /// Hardware handler words (`alua`), empty for none.
    pub hwhandler: Vec<String>,
    /// The group the kernel starts with (1-based; 0 for none).
    pub initial_group: u32,
    /// Path groups in priority order.
    pub groups: Vec<TableGroup>,
}

/// One path group of a table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableGroup {
    /// Path selector (`service-time`, `round-robin`, `queue-length`).
    pub selector: String,
    /// The selector's arguments.
    pub selector_args: Vec<String>,
    /// The group's paths in table order.
    pub paths: Vec<TablePath>,
}

/// One path of a table group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TablePath {
    /// The path device as the kernel prints it, `major:minor`.
    pub devt: String,
    /// Per-path selector arguments (repeat count, relative throughput).
    pub args: Vec<String>,
}

/// A multipath target's status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MpStatus {
    /// Status features: I/O queued (0/1) and the number of path group
    /// initialisations, as `2 <queue_io> <pg_init_count>` shows them.
    pub features: Vec<String>,
    /// Hardware handler status words.
    pub hwhandler: Vec<String>,
    /// The group the next I/O goes to (1-based; 0 for none).
    pub next_group: u32,
    /// Groups in table order.
    pub groups: Vec<StatusGroup>,
}

/// One group's status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusGroup {
    /// `A` active (current), `E` enabled, `D` disabled (bypassed).
    pub state: char,
    /// The selector's group status words.
    pub selector_status: Vec<String>,
    /// The group's paths.
    pub paths: Vec<StatusPath>,
}

/// One path's status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusPath {
    /// `major:minor`.
    pub devt: String,
    /// `A` (true) or `F` failed (false).
    pub active: bool,
    /// How often the kernel failed the path.
    pub fail_count: u32,
    /// The selector's per-path info words.
    pub selector_info: Vec<String>,
}

/// A multipath table or status string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{map}: multipath {what}: {reason} at word {word} of '{text}'")]
pub struct DmParseError {
    /// The map's name.
    pub map: String,
    /// `table` or `status`.
    pub what: &'static str,
    /// 1-based number of the word where parsing stopped.
    pub word: usize,
    /// What was wrong.
    pub reason: String,
    /// The whole string.
    pub text: String,
}

type R<'a, T> = IResult<&'a str, T>;

fn word(i: &str) -> R<'_, &str> {
    preceded(multispace0, take_till1(char::is_whitespace))(i)
}

fn owned(i: &str) -> R<'_, String> {
    map(word, str::to_string)(i)
}

fn number<T: std::str::FromStr>(i: &str) -> R<'_, T> {
    map_res(word, str::parse::<T>)(i)
}

/// `<n> w1 ... wn`.
fn counted(i: &str) -> R<'_, Vec<String>> {
    let (i, n) = number::<usize>(i)?;
    count(owned, n)(i)
}

fn devt(i: &str) -> R<'_, String> {
    map(
        verify(word, |w: &str| {
            w.split_once(':').is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && a.bytes().all(|c| c.is_ascii_digit())
                    && b.bytes().all(|c| c.is_ascii_digit())
            })
        }),
        str::to_string,
    )(i)
}

fn table_group(i: &str) -> R<'_, TableGroup> {
    let (i, selector) = owned(i)?;
    let (i, selector_args) = counted(i)?;
    let (i, npaths) = number::<usize>(i)?;
    let (i, nargs) = number::<usize>(i)?;
    let (i, paths) = count(
        |i| {
            let (i, d) = devt(i)?;
            let (i, args) = count(owned, nargs)(i)?;
            Ok((i, TablePath { devt: d, args }))
        },
        npaths,
    )(i)?;
    Ok((
        i,
        TableGroup {
            selector,
            selector_args,
            paths,
        },
    ))
}

fn table(i: &str) -> R<'_, MpTable> {
    let (i, features) = counted(i)?;
    let (i, hwhandler) = counted(i)?;
    let (i, ngroups) = number::<usize>(i)?;
    let (i, initial_group) = number::<u32>(i)?;
    let (i, groups) = count(table_group, ngroups)(i)?;
    Ok((
        i,
        MpTable {
            features,
            hwhandler,
            initial_group,
            groups,
        },
    ))
}

fn letter<'a>(allowed: &'static str) -> impl FnMut(&'a str) -> R<'a, char> {
    map(
        verify(word, move |w: &str| {
            w.len() == 1 && allowed.contains(w.chars().next().unwrap_or(' '))
        }),
        |w: &str| w.chars().next().unwrap_or(' '),
    )
}

fn status_group(i: &str) -> R<'_, StatusGroup> {
    let (i, state) = letter("AED")(i)?;
    let (i, selector_status) = counted(i)?;
    let (i, npaths) = number::<usize>(i)?;
    let (i, ninfo) = number::<usize>(i)?;
    let (i, paths) = count(
        |i| {
            let (i, d) = devt(i)?;
            let (i, st) = letter("AF")(i)?;
            let (i, fail_count) = number::<u32>(i)?;
            let (i, selector_info) = count(owned, ninfo)(i)?;
            Ok((
                i,
                StatusPath {
                    devt: d,
                    active: st == 'A',
                    fail_count,
                    selector_info,
                },
            ))
        },
        npaths,
    )(i)?;
    Ok((
        i,
        StatusGroup {
            state,
            selector_status,
            paths,
        },
    ))
}

fn status(i: &str) -> R<'_, MpStatus> {
    let (i, features) = counted(i)?;
    let (i, hwhandler) = counted(i)?;
    let (i, ngroups) = number::<usize>(i)?;
    let (i, next_group) = number::<u32>(i)?;
    let (i, groups) = count(status_group, ngroups)(i)?;
    Ok((
        i,
        MpStatus {
            features,
            hwhandler,
            next_group,
            groups,
        },
    ))
}

fn run<'a, T>(
    map_name: &str,
    what: &'static str,
    text: &'a str,
    mut p: impl FnMut(&'a str) -> R<'a, T>,
) -> Result<T, DmParseError> {
    let at = |rest: &str| text[..text.len() - rest.len()].split_whitespace().count() + 1;
    let err = |rest: &str, reason: &str| DmParseError {
        map: map_name.to_string(),
        what,
        word: at(rest),
        reason: reason.to_string(),
        text: text.to_string(),
    };
    match p(text) {
        Ok((rest, v)) if rest.trim().is_empty() => Ok(v),
        Ok((rest, _)) => Err(err(rest, "unexpected words after the last group")),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(err(
            e.input,
            if e.input.trim().is_empty() {
                "ends early"
            } else {
                "unexpected word"
            },
        )),
        Err(nom::Err::Incomplete(_)) => Err(err("", "ends early")),
    }
}

/// Parses a multipath target's table parameters (what follows
/// `0 <length> multipath` in `dmsetup table`).
pub fn parse_table(map_name: &str, params: &str) -> Result<MpTable, DmParseError> {
    run(map_name, "table", params, table)
}

/// Parses a multipath target's status parameters (what follows
/// `0 <length> multipath` in `dmsetup status`).
pub fn parse_status(map_name: &str, params: &str) -> Result<MpStatus, DmParseError> {
    run(map_name, "status", params, status)
}

/// A counted word list as multipath prints it: `1 queue_if_no_path`, `0`.
pub fn counted_string(words: &[String]) -> String {
    let mut s = words.len().to_string();
    for w in words {
        s.push(' ');
        s.push_str(w);
    }
    s
}

impl TableGroup {
    /// The selector as `multipath -ll` prints it: name and its counted
    /// arguments (`service-time 0`).
    pub fn policy(&self) -> String {
        format!("{} {}", self.selector, counted_string(&self.selector_args))
    }
}

/// One device-mapper device with a multipath target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DmMap {
    /// Map name.
    pub name: String,
    /// Map uuid (`mpath-<wwid>`), when known.
    pub uuid: Option<String>,
    /// The table; `None` when it could not be read or parsed.
    pub table: Option<MpTable>,
    /// The status; `None` when it could not be read or parsed.
    pub status: Option<MpStatus>,
}

/// A table or status line that names no map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: not a 'NAME: START LENGTH TARGET ARGS' line: '{text}'")]
pub struct DmsetupLineError {
    /// 1-based line number.
    pub line: usize,
    /// The line.
    pub text: String,
}

/// `name -> params` of the multipath targets in `dmsetup table` or `dmsetup
/// status` text. Maps of other targets are skipped, and so are the
/// further lines of a map with several targets (they start with a number)
/// and dmsetup's "No devices found".
pub fn parse_dmsetup(text: &str) -> Result<Vec<(String, String)>, DmsetupLineError> {
    let mut v = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l == "No devices found" {
            continue;
        }
        let bad = || DmsetupLineError {
            line: n + 1,
            text: line.to_string(),
        };
        let Some((name, rest)) = l.split_once(": ") else {
            if l.split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<u64>().is_ok())
            {
                continue;
            }
            return Err(bad());
        };
        let mut f = rest.trim_start().splitn(4, char::is_whitespace);
        let (start, len, target) = (f.next(), f.next(), f.next());
        if start.and_then(|s| s.parse::<u64>().ok()).is_none()
            || len.and_then(|s| s.parse::<u64>().ok()).is_none()
        {
            return Err(bad());
        }
        if target == Some("multipath") {
            v.push((name.to_string(), f.next().unwrap_or("").to_string()));
        }
    }
    Ok(v)
}

/// Maps from `dmsetup table` and (optionally) `dmsetup status` text.
/// Strings that do not parse are returned as warnings; the map is kept
/// with what did parse.
pub fn from_dmsetup(
    table_text: &str,
    status_text: Option<&str>,
) -> Result<(Vec<DmMap>, Vec<String>), DmsetupLineError> {
    let tables = parse_dmsetup(table_text)?;
    let statuses: HashMap<String, String> = match status_text {
        Some(t) => parse_dmsetup(t)?.into_iter().collect(),
        None => HashMap::new(),
    };
    let mut warnings = Vec::new();
    let maps = tables
        .into_iter()
        .map(|(name, t)| {
            let table = parse_table(&name, &t)
                .map_err(|e| warnings.push(e.to_string()))
                .ok();
            let status = statuses.get(&name).and_then(|s| {
                parse_status(&name, s)
                    .map_err(|e| warnings.push(e.to_string()))
                    .ok()
            });
            DmMap {
                name,
                uuid: None,
                table,
                status,
            }
        })
        .collect();
    Ok((maps, warnings))
}

/// Why the running kernel's device-mapper could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum DmLiveError {
    /// `/dev/mapper/control` could not be opened (no device-mapper, or not
    /// root).
    #[error("/dev/mapper/control: {0}")]
    Control(#[source] devicemapper::DmError),
    /// The list of devices could not be read.
    #[error("device-mapper: cannot list devices: {0}")]
    List(#[source] devicemapper::DmError),
}

/// The multipath maps of the running kernel, through `/dev/mapper/control`
/// (the `devicemapper` crate; needs root). Returns the maps and warnings
/// for tables or statuses that could not be read or parsed.
pub fn live() -> Result<(Vec<DmMap>, Vec<String>), DmLiveError> {
    use devicemapper::{DevId, DmFlags, DmOptions, DM};
    let dm = DM::new().map_err(DmLiveError::Control)?;
    let devices = dm.list_devices().map_err(DmLiveError::List)?;
    let mut maps = Vec::new();
    let mut warnings = Vec::new();
    for (name_buf, _, _) in devices {
        let id = DevId::Name(name_buf.as_ref());
        let name = id.to_string();
        let one = |opts: DmOptions| -> Result<Option<String>, String> {
            let (_, lines) = dm
                .table_status(&id, opts)
                .map_err(|e| format!("{name}: {e}"))?;
            Ok(match lines.as_slice() {
                [(_, _, t, params)] if t == "multipath" => Some(params.clone()),
                _ => None,
            })
        };
        let table = match one(DmOptions::default().set_flags(DmFlags::DM_STATUS_TABLE)) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(e) => {
                warnings.push(e);
                continue;
            }
        };
        let status = one(DmOptions::default()).unwrap_or_else(|e| {
            warnings.push(e);
            None
        });
        let uuid = dm
            .device_info(&id)
            .ok()
            .and_then(|i| i.uuid().map(|u| u.to_string()));
        let table = parse_table(&name, &table)
            .map_err(|e| warnings.push(e.to_string()))
            .ok();
        let status = status.and_then(|s| {
            parse_status(&name, &s)
                .map_err(|e| warnings.push(e.to_string()))
                .ok()
        });
        maps.push(DmMap {
            name,
            uuid,
            table,
            status,
        });
    }
    Ok((maps, warnings))
}

fn group_state(c: char) -> &'static str {
    match c {
        'A' => "active",
        'E' => "enabled",
        _ => "disabled",
    }
}

/// Puts what device-mapper knows into the model's maps: the table's path
/// groups (in table order, with their selector), features and hardware
/// handler, and from the status each group's state and each path's dm
/// state and failure count. A map is matched by name, or by uuid
/// `mpath-<wwid>`. Returns warnings for dm maps the model does not have.
pub fn apply(topo: &mut Topology, maps: &[DmMap], sys: &Path) -> Vec<String> {
    let mut warnings = Vec::new();
    for dm in maps {
        let lun = topo.luns.iter_mut().find(|l| {
            l.multipath.as_ref().is_some_and(|m| {
                m.name == dm.name || dm.uuid.as_deref() == Some(&format!("mpath-{}", m.wwid))
            })
        });
        let Some(lun) = lun else {
            warnings.push(format!(
                "device-mapper map {} has no multipath map in sysfs",
                dm.name
            ));
            continue;
        };
        let Some(t) = &dm.table else { continue };
        let paths = &lun.paths;
        let Some(m) = lun.multipath.as_mut() else {
            continue;
        };
        m.features = Some(counted_string(&t.features));
        m.hwhandler = Some(counted_string(&t.hwhandler));
        m.groups = t
            .groups
            .iter()
            .enumerate()
            .map(|(gi, g)| {
                let sg = dm.status.as_ref().and_then(|s| s.groups.get(gi));
                PathGroup {
                    policy: Some(g.policy()),
                    prio: None,
                    status: sg.map(|s| group_state(s.state).to_string()),
                    paths: g
                        .paths
                        .iter()
                        .map(|tp| {
                            let sp = sg.and_then(|s| s.paths.iter().find(|p| p.devt == tp.devt));
                            let scsi = paths
                                .iter()
                                .find(|p| p.sd_devt.as_deref() == Some(tp.devt.as_str()));
                            let dev = scsi
                                .and_then(|p| p.sd.clone())
                                .or_else(|| sysfs::devt_name(sys, &tp.devt))
                                .unwrap_or_else(|| tp.devt.clone());
                            MpPath {
                                hctl: scsi.map(|p| p.hctl),
                                dev,
                                devt: Some(tp.devt.clone()),
                                dm_state: sp.map(|p| {
                                    if p.active { "active" } else { "failed" }.to_string()
                                }),
                                fail_count: sp.map(|p| p.fail_count),
                                checker_state: None,
                                dev_state: scsi.and_then(|p| p.state.clone()),
                                prio: None,
                            }
                        })
                        .collect(),
                }
            })
            .collect();
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `dmsetup table` and `dmsetup status` in the test bed: two LIO LUNs,
    /// two tcm_loop paths each, one path of mpathb taken offline.
    const TABLE: &str = "mpatha: 0 131072 multipath 1 queue_if_no_path 1 alua 1 1 service-time 0 2 2 8:0 1 1 8:32 1 1 \n\
mpathb: 0 131072 multipath 1 queue_if_no_path 1 alua 1 1 service-time 0 2 2 8:16 1 1 8:48 1 1 \n";
    const STATUS: &str =
        "mpatha: 0 131072 multipath 2 1 0 0 1 1 E 0 2 2 8:0 A 0 0 1 8:32 A 0 0 1 \n\
mpathb: 0 131072 multipath 2 1 0 0 1 1 E 0 2 2 8:16 F 1 0 1 8:48 A 0 0 1 \n";

    #[test]
    fn table_of_the_test_bed() {
        let t = parse_table(
            "mpatha",
            "1 queue_if_no_path 1 alua 1 1 service-time 0 2 2 8:0 1 1 8:32 1 1 ",
        )
        .unwrap();
        assert_eq!(t.features, vec!["queue_if_no_path"]);
        assert_eq!(counted_string(&t.hwhandler), "1 alua");
        assert_eq!(t.initial_group, 1);
        assert_eq!(t.groups.len(), 1);
        assert_eq!(t.groups[0].policy(), "service-time 0");
        assert_eq!(t.groups[0].paths[1].devt, "8:32");
        assert_eq!(t.groups[0].paths[1].args, vec!["1", "1"]);
    }

    #[test]
    fn status_with_a_failed_path() {
        let s = parse_status("mpathb", "2 1 0 0 1 1 E 0 2 2 8:16 F 1 0 1 8:48 A 0 0 1 ").unwrap();
        assert_eq!(s.features, vec!["1", "0"]);
        assert!(s.hwhandler.is_empty());
        assert_eq!(s.next_group, 1);
        let g = &s.groups[0];
        assert_eq!(g.state, 'E');
        assert_eq!((g.paths[0].active, g.paths[0].fail_count), (false, 1));
        assert_eq!(g.paths[1].selector_info, vec!["0", "1"]);
    }

    #[test]
    fn two_groups_round_robin_and_no_features() {
        let t = parse_table(
            "m",
            "0 0 2 1 round-robin 0 1 1 8:16 1000 round-robin 0 2 1 8:32 1000 8:48 1000",
        )
        .unwrap();
        assert!(t.features.is_empty() && t.hwhandler.is_empty());
        assert_eq!(counted_string(&t.features), "0");
        assert_eq!(t.groups[1].paths.len(), 2);
        let s = parse_status(
            "m",
            "2 0 0 0 2 1 A 0 1 0 8:16 A 0 D 0 2 0 8:32 A 0 8:48 F 3",
        )
        .unwrap();
        assert_eq!(s.groups[0].state, 'A');
        assert_eq!(s.groups[1].state, 'D');
        assert_eq!(s.groups[1].paths[1].fail_count, 3);
    }

    #[test]
    fn malformed_strings_name_the_word() {
        let e = parse_table("m", "1 queue_if_no_path 0 1 1 service-time 0 2 1 8:0 1").unwrap_err();
        assert_eq!(e.map, "m");
        assert_eq!(e.reason, "ends early");
        let e = parse_table("m", "0 0 1 1 rr 0 1 0 sdb").unwrap_err();
        assert_eq!(e.word, 9, "{e}");
        assert!(e.to_string().contains("unexpected word"), "{e}");
        let e = parse_status("m", "0 0 1 1 X 0 0 0").unwrap_err();
        assert_eq!(e.word, 5);
        let e = parse_table("m", "0 0 0 0 extra").unwrap_err();
        assert!(e.reason.contains("after the last group"));
        // A count far larger than the words present.
        assert!(parse_table("m", "4294967295 a").is_err());
        assert!(parse_status("m", "").is_err());
    }

    #[test]
    fn dmsetup_text() {
        let (maps, w) = from_dmsetup(TABLE, Some(STATUS)).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(maps.len(), 2);
        assert_eq!(maps[1].name, "mpathb");
        let s = maps[1].status.as_ref().unwrap();
        assert!(!s.groups[0].paths[0].active);
        let v = parse_dmsetup(
            "vg-lv: 0 2048 linear 8:1 2048\nstriped: 0 10 linear 8:2 0\n10 10 linear 8:3 0\nNo devices found\n",
        )
        .unwrap();
        assert!(v.is_empty());
        let e = parse_dmsetup("mpatha: 0 x multipath 0 0 0 0\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(parse_dmsetup("garbage\n").is_err());
        // A table that does not parse is a warning, not a lost map.
        let (maps, w) = from_dmsetup("m: 0 8 multipath 0 0 1 1 rr\n", None).unwrap();
        assert_eq!(maps.len(), 1);
        assert!(maps[0].table.is_none());
        assert_eq!(w.len(), 1);
    }

    proptest::proptest! {
        #[test]
        fn table_never_panics(s in "\\PC{0,200}") {
            let _ = parse_table("m", &s);
            let _ = parse_status("m", &s);
            let _ = from_dmsetup(&s, Some(&s));
        }

        #[test]
        fn status_never_panics_on_mutated_sample(pos in 0usize..60, ins in "[ AEDF0-9:a-z-]{0,5}") {
            let base = "2 1 0 0 1 1 E 0 2 2 8:16 F 1 0 1 8:48 A 0 0 1 ";
            let p = pos.min(base.len());
            let s = format!("{}{}{}", &base[..p], ins, &base[p..]);
            let _ = parse_status("m", &s);
            let t = "1 queue_if_no_path 1 alua 1 1 service-time 0 2 2 8:0 1 1 8:32 1 1 ";
            let p = pos.min(t.len());
            let _ = parse_table("m", &format!("{}{}{}", &t[..p], ins, &t[p..]));
        }
    }
}
