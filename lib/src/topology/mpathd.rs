//! `multipathd show paths` text: a parser (nom), and a merge of its path
//! states into a [`Topology`].
//!
//! The format is `libmultipath/print.c`'s path printout (`snprint_path`,
//! `snprint_path_header`) as multipathd's `show paths` handler calls it:
//!
//! ```text
//! hcil    dev dev_t pri dm_st  chk_st      dev_st  next_check
//! 0:0:0:0 sda 8:0   1   undef  undef       unknown orphan
//! 3:0:0:0 sdf 8:80  50  active ready       running XXX....... 7/20
//! 4:0:0:0 sdg 8:96  50  active i/o pending running .......... 0/5
//! ```
//!
//! A format string holds path wildcards (`%i`, `%d`, ...; see
//! [`PATH_WILDCARDS`]) and literal text. `show paths` uses
//! [`DEFAULT_FORMAT`]; `show paths format FMT` uses FMT. Both print a header
//! row of the wildcards' column names, and pad every column, header
//! included, with spaces to the width of its widest value or of its name,
//! whichever is wider; the last column is padded too, so lines may end in
//! spaces. Values may hold spaces (`i/o pending`, `XXX....... 7/20`,
//! a product name), so [`parse`] reads the column names and their byte
//! offsets from the header, then slices every row at those offsets. Column
//! names may hold spaces as well (`host WWNN`); the known ones are matched
//! whole.
//!
//! `show paths raw format FMT` prints the same values without a header and
//! without padding. [`parse_raw`] takes FMT from the caller and splits each
//! row at the literal text between the wildcards; where a value could hold
//! that text, the split that gives every known column a value of its shape
//! wins.
//!
//! print.c prints placeholders where it knows nothing, and they map to
//! `None`: `#:#:#:#` (H:C:T:L), `-` (device), `#:#` (dev_t), `undef` (dm and
//! checker state), `unknown` (device state of a path in no map), `orphan`
//! (next check of such a path), `[orphan]`, `[offline]`, `[unknown]` (map
//! name), `##` (a missing vendor, product or revision) and priority -1
//! (`PRIO_UNDEF`). Releases before 0.4.9 printed states in brackets
//! (`[active]`, `[ready]`); those are read too. Lines that fit none of this
//! are errors naming the line; nothing here panics on any input.

use crate::scsi::wwid::Wwid;
use std::collections::{BTreeMap, HashSet};

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_till1, take_while};
use nom::character::complete::{anychar, char, digit1, space0, space1};
use nom::combinator::{eof, opt, peek, recognize};
use nom::sequence::{preceded, terminated, tuple};
use nom::IResult;
use serde::{Deserialize, Serialize};

use super::{Hctl, Topology};

/// multipathd's format for `show paths` (`PRINT_PATH_CHECKER`).
pub const DEFAULT_FORMAT: &str = "%i %d %D %p %t %T %o %C";

/// The path wildcards of print.c's `pd[]` table and the column name each
/// prints in a header row, in the table's order.
pub const PATH_WILDCARDS: [(char, &str); 28] = [
    ('w', "uuid"),
    ('i', "hcil"),
    ('d', "dev"),
    ('D', "dev_t"),
    ('t', "dm_st"),
    ('o', "dev_st"),
    ('T', "chk_st"),
    ('s', "vend/prod/rev"),
    ('c', "checker"),
    ('C', "next_check"),
    ('p', "pri"),
    ('S', "size"),
    ('z', "serial"),
    ('M', "marginal_st"),
    ('m', "multipath"),
    ('N', "host WWNN"),
    ('n', "target WWNN"),
    ('R', "host WWPN"),
    ('r', "target WWPN"),
    ('a', "host adapter"),
    ('G', "foreign"),
    ('g', "vpd page data"),
    ('0', "failures"),
    ('P', "protocol"),
    ('I', "init_st"),
    ('L', "LUN hex"),
    ('A', "TPG"),
    ('k', "max_sectors_kb"),
];

/// The column name of a path wildcard (`'T'` gives `chk_st`), or `None`
/// for a character print.c does not know (it prints nothing for those).
pub fn header_name(wildcard: char) -> Option<&'static str> {
    PATH_WILDCARDS
        .iter()
        .find(|(w, _)| *w == wildcard)
        .map(|(_, h)| *h)
}

/// One row of `multipathd show paths`: the known columns typed, the others
/// by column name. A column the format did not print is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathRow {
    /// 1-based line number of the row in the text it was read from.
    pub line: usize,
    /// `hcil`: SCSI address.
    pub hctl: Option<Hctl>,
    /// `dev`: kernel device name (`sdb`).
    pub dev: Option<String>,
    /// `dev_t`: device number (`8:16`).
    pub devt: Option<String>,
    /// `pri`: path priority.
    pub prio: Option<i32>,
    /// `dm_st`: device-mapper state, `active` or `failed`.
    pub dm_state: Option<String>,
    /// `chk_st`: path checker state (`ready`, `faulty`, `shaky`, `ghost`,
    /// `i/o pending`, `i/o timeout`, `delayed`, `disconnected`).
    pub checker_state: Option<String>,
    /// `dev_st`: `running` or `offline`.
    pub dev_state: Option<String>,
    /// `uuid`: the path's WWID.
    pub wwid: Option<Wwid>,
    /// `multipath`: alias (name) of the map holding the path.
    pub multipath: Option<String>,
    /// Vendor, from `vend/prod/rev`.
    pub vendor: Option<String>,
    /// Product, from `vend/prod/rev`.
    pub product: Option<String>,
    /// Revision, from `vend/prod/rev`.
    pub rev: Option<String>,
    /// `next_check`: the checker's progress bar and `tick/interval`.
    pub next_check: Option<String>,
    /// Every other column, by its header name (`checker`, `host WWNN`,
    /// `serial`, ...), with the value as printed, padding removed.
    #[serde(default)]
    pub other: BTreeMap<String, String>,
}

/// A line that does not parse (line 0: the format string is at fault).
pub use super::LineError as ParseError;

type R<'a, T> = IResult<&'a str, T>;

/// Column names that hold a space; a header row is read with these first.
const SPACED_NAMES: [&str; 7] = [
    "vpd page data",
    "host adapter",
    "target WWNN",
    "target WWPN",
    "host WWNN",
    "host WWPN",
    "LUN hex",
];

fn spaced_name(i: &str) -> R<'_, &str> {
    let names = (
        tag(SPACED_NAMES[0]),
        tag(SPACED_NAMES[1]),
        tag(SPACED_NAMES[2]),
        tag(SPACED_NAMES[3]),
        tag(SPACED_NAMES[4]),
        tag(SPACED_NAMES[5]),
        tag(SPACED_NAMES[6]),
    );
    terminated(alt(names), peek(alt((space1, eof))))(i)
}

fn column_name(i: &str) -> R<'_, &str> {
    alt((spaced_name, take_till1(|c: char| c.is_whitespace())))(i)
}

/// The header row: each column's name and byte offset.
fn header(line: &str) -> Option<Vec<(usize, &str)>> {
    let mut cols = Vec::new();
    let mut rest = line;
    loop {
        let r: R<'_, &str> = space0(rest);
        let (r, _) = r.ok()?;
        if r.is_empty() {
            break;
        }
        let (r, name) = column_name(r).ok()?;
        cols.push((line.len() - r.len() - name.len(), name));
        rest = r;
    }
    cols.iter()
        .any(|(_, n)| header_name_known(n))
        .then_some(cols)
}

fn header_name_known(name: &str) -> bool {
    PATH_WILDCARDS.iter().any(|(_, h)| *h == name)
}

/// `[x]` as releases before 0.4.9 printed states: `x`.
fn unbracket(v: &str) -> &str {
    v.strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(v)
}

fn some_unless(v: &str, none: &[&str]) -> Option<String> {
    (!v.is_empty() && !none.contains(&v)).then(|| v.to_string())
}

fn is_devt(v: &str) -> bool {
    let r: R<'_, _> = tuple((digit1, char(':'), digit1, eof))(v);
    r.is_ok()
}

/// `XXX....... 7/20`: snprint_progress's bar, a space, tick/interval.
fn is_progress(v: &str) -> bool {
    let r: R<'_, _> = recognize(tuple((
        take_while(|c| c == 'X' || c == '.'),
        char(' '),
        digit1,
        char('/'),
        digit1,
        eof,
    )))(v);
    r.is_ok()
}

const DM_STATES: [&str; 3] = ["active", "failed", "undef"];
const CHECKER_STATES: [&str; 9] = [
    "ready",
    "faulty",
    "shaky",
    "ghost",
    "i/o pending",
    "i/o timeout",
    "delayed",
    "disconnected",
    "undef",
];
const DEV_STATES: [&str; 3] = ["running", "offline", "unknown"];

/// Whether `v` has the shape print.c gives the column `name`; used to
/// choose among the ways a raw row can be split.
fn plausible(name: &str, v: &str) -> bool {
    let no_space = !v.contains(char::is_whitespace);
    match name {
        "hcil" => v == "#:#:#:#" || v.parse::<Hctl>().is_ok(),
        "dev" => !v.is_empty() && no_space,
        "dev_t" => v == "#:#" || is_devt(v),
        "pri" => v.parse::<i32>().is_ok(),
        "dm_st" => DM_STATES.contains(&unbracket(v)),
        "chk_st" => CHECKER_STATES.contains(&unbracket(v)),
        "dev_st" => DEV_STATES.contains(&v),
        "next_check" => matches!(unbracket(v), "orphan") || is_progress(v),
        "vend/prod/rev" => v.contains(','),
        "vpd page data" => true,
        _ if header_name_known(name) => no_space,
        _ => true,
    }
}

/// Stores the value of column `name` in `row`.
fn set(row: &mut PathRow, name: &str, v: &str) -> Result<(), String> {
    match name {
        "hcil" => {
            row.hctl =
                match v {
                    "#:#:#:#" | "" => None,
                    _ => Some(v.parse::<Hctl>().map_err(|_| {
                        format!("'{v}' in column hcil is neither H:C:T:L nor #:#:#:#")
                    })?),
                }
        }
        "dev" => row.dev = some_unless(v, &["-"]),
        "dev_t" => {
            if !(v.is_empty() || v == "#:#" || is_devt(v)) {
                return Err(format!(
                    "'{v}' in column dev_t is neither major:minor nor #:#"
                ));
            }
            row.devt = some_unless(v, &["#:#"]);
        }
        "pri" => {
            row.prio = if v.is_empty() {
                None
            } else {
                match v.parse::<i32>() {
                    Ok(-1) => None,
                    Ok(p) => Some(p),
                    Err(_) => return Err(format!("'{v}' in column pri is not a number")),
                }
            }
        }
        "dm_st" => row.dm_state = some_unless(unbracket(v), &["undef"]),
        "chk_st" => row.checker_state = some_unless(unbracket(v), &["undef"]),
        "dev_st" => row.dev_state = some_unless(unbracket(v), &["unknown"]),
        "uuid" => row.wwid = some_unless(v, &[]).map(Wwid::from),
        "multipath" => {
            // [orphan], [offline], [unknown]: no map, or one without alias.
            let placeholder = v.starts_with('[') && v.ends_with(']');
            row.multipath = some_unless(v, &[]).filter(|_| !placeholder);
        }
        "next_check" => row.next_check = some_unless(unbracket(v), &["orphan"]),
        "vend/prod/rev" => {
            let (vendor, rest) = v
                .split_once(',')
                .ok_or_else(|| format!("'{v}' in column vend/prod/rev has no comma"))?;
            let (product, rev) = match rest.rsplit_once(',') {
                Some((p, r)) => (p, Some(r)),
                // Releases before the revision was added: vendor,product.
                None => (rest, None),
            };
            row.vendor = some_unless(vendor, &["##"]);
            row.product = some_unless(product, &["##"]);
            row.rev = rev.and_then(|r| some_unless(r, &["##"]));
        }
        _ => {
            row.other.insert(name.to_string(), v.to_string());
        }
    }
    Ok(())
}

/// Cuts a padded row at the header's column offsets.
fn slice_row<'a>(
    cols: &[(usize, &'a str)],
    line: &'a str,
) -> Result<Vec<(&'a str, &'a str)>, String> {
    let mut out = Vec::with_capacity(cols.len());
    for (k, &(start, name)) in cols.iter().enumerate() {
        let end = cols.get(k + 1).map_or(line.len(), |c| c.0).min(line.len());
        if start > line.len() {
            return Err(format!("the row ends before column '{name}'"));
        }
        if k > 0 && line.as_bytes().get(start - 1) != Some(&b' ') {
            return Err(format!(
                "the row does not line up with the header at column '{name}'"
            ));
        }
        let v = line.get(start..end).ok_or_else(|| {
            format!("the row does not line up with the header at column '{name}'")
        })?;
        out.push((name, v.trim()));
    }
    Ok(out)
}

/// Parses the output of `multipathd show paths` or `multipathd show paths
/// format FMT`: a header row, then one row per path. Blank lines are
/// skipped; empty text (multipathd prints nothing when it has no paths)
/// gives no rows.
pub fn parse(text: &str) -> Result<Vec<PathRow>, ParseError> {
    let mut cols: Option<Vec<(usize, &str)>> = None;
    let mut rows = Vec::new();
    for (n, line) in super::numbered_lines(text) {
        let err = |reason: String| ParseError::at(n, line, reason);
        let Some(cols) = &cols else {
            cols = Some(header(line).ok_or_else(|| {
                err("expected the header row of multipathd show paths \
                     (column names such as hcil, dev, dev_t, dm_st, chk_st)"
                    .into())
            })?);
            continue;
        };
        let mut row = PathRow {
            line: n,
            ..PathRow::default()
        };
        for (name, v) in slice_row(cols, line).map_err(&err)? {
            set(&mut row, name, v).map_err(&err)?;
        }
        rows.push(row);
    }
    Ok(rows)
}

/// A format string cut as print.c prints it: the literal texts around the
/// known wildcards (one more than the columns) and the columns' names.
/// Every `%` takes the character after it; an unknown one (`%%` included)
/// prints nothing.
fn format_pieces(fmt: &str) -> (Vec<String>, Vec<&'static str>) {
    let mut lits = vec![String::new()];
    let mut cols = Vec::new();
    let mut rest = fmt;
    loop {
        let r: R<'_, &str> = take_till(|c| c == '%')(rest);
        let Ok((r, lit)) = r else { break };
        if let Some(l) = lits.last_mut() {
            l.push_str(lit);
        }
        let r: R<'_, Option<char>> = preceded(char('%'), opt(anychar))(r);
        let Ok((r, wc)) = r else { break };
        if let Some(name) = wc.and_then(header_name) {
            cols.push(name);
            lits.push(String::new());
        }
        rest = r;
    }
    (lits, cols)
}

/// Splits the text between the first and last literal of a raw row into
/// the columns' values, trying the separators' occurrences left to right.
/// Bytes examined are counted against a budget, so that a long row with
/// many possible splits (empty separators, say) ends instead of taking
/// cubic time.
struct RawSplit<'a> {
    seps: &'a [String],
    cols: &'a [&'static str],
    strict: bool,
    failed: HashSet<(usize, usize)>,
    budget: usize,
}

/// Columns [`parse_raw`] accepts in a format (print.c's table has 28
/// wildcards; a format may repeat them).
const MAX_RAW_COLUMNS: usize = 256;

/// Bytes [`RawSplit`] may examine per row and pass.
const SPLIT_BUDGET: usize = 1 << 24;

impl<'a> RawSplit<'a> {
    fn ok(&mut self, k: usize, v: &str) -> bool {
        self.budget = self.budget.saturating_sub(v.len() + 1);
        !self.strict || plausible(self.cols[k], v)
    }

    fn go<'s>(&mut self, s: &'s str, pos: usize, k: usize, out: &mut Vec<&'s str>) -> bool {
        if self.budget == 0 || self.failed.contains(&(k, pos)) {
            return false;
        }
        let rest = &s[pos..];
        if k + 1 == self.cols.len() {
            if self.ok(k, rest) {
                out.push(rest);
                return true;
            }
            self.failed.insert((k, pos));
            return false;
        }
        let sep = self.seps[k].as_str();
        for (e, _) in rest
            .char_indices()
            .chain(std::iter::once((rest.len(), ' ')))
        {
            if !rest[e..].starts_with(sep) {
                continue;
            }
            if self.budget == 0 {
                break;
            }
            let v = &rest[..e];
            if !self.ok(k, v) {
                continue;
            }
            out.push(v);
            if self.go(s, pos + e + sep.len(), k + 1, out) {
                return true;
            }
            out.pop();
        }
        self.failed.insert((k, pos));
        false
    }
}

/// Parses the output of `multipathd show paths raw format FMT`, given FMT
/// (as multipathd received it, without the shell's quotes): no header, no
/// padding, one row per path. Blank lines are skipped. A format without a
/// known wildcard, or with more than 256, is an error on line 0.
pub fn parse_raw(fmt: &str, text: &str) -> Result<Vec<PathRow>, ParseError> {
    let (lits, cols) = format_pieces(fmt);
    if cols.is_empty() {
        return Err(ParseError::at(0, fmt, "the format has no path wildcard"));
    }
    if cols.len() > MAX_RAW_COLUMNS {
        return Err(ParseError::at(
            0,
            fmt,
            format!("the format has more than {MAX_RAW_COLUMNS} path wildcards"),
        ));
    }
    let (first, last) = (&lits[0], &lits[lits.len() - 1]);
    let seps = &lits[1..lits.len() - 1];
    let mut rows = Vec::new();
    for (n, line) in super::numbered_lines(text) {
        let err = |reason: String| ParseError::at(n, line, reason);
        let body = line
            .strip_prefix(first.as_str())
            .and_then(|b| b.strip_suffix(last.as_str()))
            .ok_or_else(|| err(format!("the row does not fit the format '{fmt}'")))?;
        let mut values = Vec::new();
        let found = [true, false].into_iter().any(|strict| {
            values.clear();
            RawSplit {
                seps,
                cols: &cols,
                strict,
                failed: HashSet::new(),
                budget: SPLIT_BUDGET,
            }
            .go(body, 0, 0, &mut values)
        });
        if !found {
            return Err(err(format!(
                "expected the {} fields of the format '{fmt}'",
                cols.len()
            )));
        }
        let mut row = PathRow {
            line: n,
            ..PathRow::default()
        };
        for (name, v) in cols.iter().zip(&values) {
            set(&mut row, name, v).map_err(&err)?;
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Whether a row names the device `dev` / `devt`: by name when both have
/// one, otherwise by device number.
fn same_device(row: &PathRow, dev: Option<&str>, devt: Option<&str>) -> bool {
    match (row.dev.as_deref(), dev) {
        (Some(a), Some(b)) => a == b,
        _ => matches!((row.devt.as_deref(), devt), (Some(a), Some(b)) if a == b),
    }
}

fn row_label(row: &PathRow) -> String {
    let dev = row.dev.as_deref().unwrap_or("-");
    match &row.devt {
        Some(t) => format!("line {}: path {dev} ({t})", row.line),
        None => format!("line {}: path {dev}", row.line),
    }
}

/// Fills multipathd's view of each path into a topology (one read from
/// sysfs, say, which knows no checker states): for every path of every
/// LUN's multipath map with the device name of a row (or, for a row
/// without one, its device number), the row's dm state and checker state,
/// and its device state where the model has none; for plain SCSI paths,
/// the device state where the model has none. Values the row lacks are
/// left as they are.
///
/// Returns warnings, one per row that matches no path, and one per row
/// whose map name or WWID differs from the model's.
pub fn merge_into(topo: &mut Topology, rows: &[PathRow]) -> Vec<String> {
    let mut warnings = Vec::new();
    for row in rows {
        let mut matched = false;
        for lun in &mut topo.luns {
            let mut hit = false;
            if let Some(m) = &mut lun.multipath {
                for p in m.groups.iter_mut().flat_map(|g| g.paths.iter_mut()) {
                    if same_device(row, Some(p.dev.as_str()), p.devt.as_deref()) {
                        hit = true;
                        if row.dm_state.is_some() {
                            p.dm_state.clone_from(&row.dm_state);
                        }
                        if row.checker_state.is_some() {
                            p.checker_state.clone_from(&row.checker_state);
                        }
                        if p.dev_state.is_none() {
                            p.dev_state.clone_from(&row.dev_state);
                        }
                        if let Some(v) = row.prio {
                            p.prio = Some(i64::from(v));
                        }
                    }
                }
            }
            for p in &mut lun.paths {
                if same_device(row, p.sd.as_deref(), p.sd_devt.as_deref()) {
                    hit = true;
                    if p.state.is_none() {
                        p.state.clone_from(&row.dev_state);
                    }
                }
            }
            if !hit {
                continue;
            }
            matched = true;
            let map = lun.multipath.as_ref().map(|m| m.name.as_str());
            match (row.multipath.as_deref(), map) {
                (Some(r), Some(m)) if r != m => warnings.push(format!(
                    "{}: multipathd has it in map {r}, the topology in map {m}",
                    row_label(row)
                )),
                (Some(r), None) => warnings.push(format!(
                    "{}: multipathd has it in map {r}, the topology in no map",
                    row_label(row)
                )),
                _ => {}
            }
            if let (Some(r), Some(w)) = (row.wwid.as_deref(), lun.wwid.as_deref()) {
                if r != w {
                    warnings.push(format!(
                        "{}: multipathd gives the WWID {r}, the topology {w}",
                        row_label(row)
                    ));
                }
            }
        }
        if !matched {
            warnings.push(format!(
                "{}: matches no path of the topology",
                row_label(row)
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Lun, MpPath, MultipathMap, PathGroup};

    /// `show paths` (DEFAULT_FORMAT) laid out by print.c's rules: an orphan
    /// path, a path whose checker is pending, a failed one.
    const SAMPLE: &str = "\
hcil    dev dev_t pri dm_st  chk_st      dev_st  next_check     
0:0:0:0 sda 8:0   1   undef  undef       unknown orphan         
3:0:0:0 sdf 8:80  50  active ready       running XXX....... 7/20
4:0:0:0 sdg 8:96  50  active i/o pending running .......... 0/5 
5:0:0:0 sdh 8:112 50  failed faulty      offline XXXXXXXX.. 4/5 
";

    #[test]
    fn default_format_rows_and_placeholders() {
        let rows = parse(SAMPLE).unwrap();
        assert_eq!(rows.len(), 4);
        let orphan = &rows[0];
        assert_eq!(orphan.line, 2);
        assert_eq!(orphan.hctl.unwrap().to_string(), "0:0:0:0");
        assert_eq!(orphan.dev.as_deref(), Some("sda"));
        assert_eq!(orphan.prio, Some(1));
        assert_eq!(orphan.dm_state, None);
        assert_eq!(orphan.checker_state, None);
        assert_eq!(orphan.dev_state, None);
        assert_eq!(orphan.next_check, None);
        let pending = &rows[2];
        assert_eq!(pending.checker_state.as_deref(), Some("i/o pending"));
        assert_eq!(pending.next_check.as_deref(), Some(".......... 0/5"));
        assert_eq!(pending.devt.as_deref(), Some("8:96"));
        assert_eq!(rows[3].dm_state.as_deref(), Some("failed"));
        assert_eq!(rows[3].dev_state.as_deref(), Some("offline"));
        assert_eq!(rows[3].devt.as_deref(), Some("8:112"));
        assert!(rows.iter().all(|r| r.other.is_empty()));
    }

    #[test]
    fn unknown_placeholders_and_trimmed_lines() {
        // A path without a device: print.c's #:#:#:#, - and #:#; pri -1 is
        // PRIO_UNDEF. Trailing padding removed (as by a mail client).
        let text = "hcil    dev dev_t pri dm_st  chk_st\n\
                    #:#:#:# -   #:#   -1  [failed] [ghost]\n";
        // The old bracketed states are one wider than the header here.
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, 2);
        let text = "hcil    dev dev_t pri dm_st    chk_st\n\
                    #:#:#:# -   #:#   -1  [failed] [ghost]\n";
        let r = &parse(text).unwrap()[0];
        assert_eq!(
            (r.hctl, r.dev.as_deref(), r.devt.as_deref()),
            (None, None, None)
        );
        assert_eq!(r.prio, None);
        assert_eq!(r.dm_state.as_deref(), Some("failed"));
        assert_eq!(r.checker_state.as_deref(), Some("ghost"));
        // Trailing padding removed, as a mail client or an editor may do.
        let trimmed: String = SAMPLE
            .lines()
            .map(|l| l.trim_end().to_string() + "\n")
            .collect();
        assert_eq!(parse(&trimmed).unwrap(), parse(SAMPLE).unwrap());
        assert_eq!(parse("").unwrap(), []);
        assert_eq!(parse("\n").unwrap(), []);
        assert_eq!(parse("hcil dev\n").unwrap(), []);
    }

    #[test]
    fn spaced_column_names_and_other_columns() {
        let text = "\
dev host WWNN          target WWPN        host adapter vend/prod/rev         checker
sdb 0x20000090fa1b2c01 0x500507680b21a4c9 0000:05:00.0 IBM,2145,0000         tur    
sdz [undef]            [undef]            [undef]      ##,Universal Xport,## tur    
";
        let rows = parse(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].other["host WWNN"], "0x20000090fa1b2c01");
        assert_eq!(rows[0].other["target WWPN"], "0x500507680b21a4c9");
        assert_eq!(rows[0].other["host adapter"], "0000:05:00.0");
        assert_eq!(rows[0].other["checker"], "tur");
        assert_eq!(rows[0].vendor.as_deref(), Some("IBM"));
        assert_eq!(rows[0].rev.as_deref(), Some("0000"));
        assert_eq!(rows[1].vendor, None);
        assert_eq!(rows[1].product.as_deref(), Some("Universal Xport"));
        assert_eq!(rows[1].rev, None);
        assert_eq!(rows[1].other["host adapter"], "[undef]");
    }

    #[test]
    fn format_pieces_follow_print_c() {
        let (l, c) = format_pieces(DEFAULT_FORMAT);
        assert_eq!(
            c,
            [
                "hcil",
                "dev",
                "dev_t",
                "pri",
                "dm_st",
                "chk_st",
                "dev_st",
                "next_check"
            ]
        );
        assert_eq!(l, ["", " ", " ", " ", " ", " ", " ", " ", ""]);
        // %% and unknown wildcards print nothing; a trailing % too.
        let (l, c) = format_pieces("<%d%%|%Y%t>%");
        assert_eq!(c, ["dev", "dm_st"]);
        assert_eq!(l, ["<", "|", ">"]);
        assert_eq!(header_name('T'), Some("chk_st"));
        assert_eq!(header_name('Y'), None);
    }

    #[test]
    fn raw_rows_split_by_shape() {
        let fmt = "%d %T %C %s %m";
        let text = "sdg i/o pending .......... 0/5 LIO-ORG,disk0,4.0 mpathb\n\
                    \n\
                    sda undef orphan ATA,Samsung SSD 870,1B6Q [orphan]\n";
        let rows = parse_raw(fmt, text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].checker_state.as_deref(), Some("i/o pending"));
        assert_eq!(rows[0].next_check.as_deref(), Some(".......... 0/5"));
        assert_eq!(rows[0].multipath.as_deref(), Some("mpathb"));
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[1].product.as_deref(), Some("Samsung SSD 870"));
        assert_eq!(rows[1].multipath, None);
        // Other separators, and a state no release prints (lenient split).
        let rows = parse_raw("[%d|%t|%T]", "[sdb|active|weird state]\n").unwrap();
        assert_eq!(rows[0].checker_state.as_deref(), Some("weird state"));
        let e = parse_raw("[%d|%t|%T]", "[sdb|active]\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_raw("%d %i", "sdb 1:0:0:1\nsdc 1:0\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("sdc 1:0"), "{e}");
        assert!(parse_raw("%% %Y", "x\n").is_err());
        assert_eq!(parse_raw("%% %Y", "x\n").unwrap_err().line, 0);
        assert!(parse_raw(&"%d".repeat(MAX_RAW_COLUMNS + 1), "sdb\n").is_err());
    }

    #[test]
    fn raw_rows_with_many_splits_end() {
        // Empty separators and a last column that never fits: each split is
        // tried, within the budget.
        let line = "a".repeat(4000) + "\n";
        let e = parse_raw("%w%w%w%w%w%w%w%i", &line).unwrap_err();
        assert_eq!(e.line, 1);
        let rows = parse_raw("%w%w%d", &line).unwrap();
        assert_eq!(rows[0].dev.as_deref(), Some(&line[..4000]));
    }

    #[test]
    fn malformed_lines_are_named() {
        let e = parse("fail\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse(&SAMPLE.replace("3:0:0:0 sdf", "3:0:0   sdf")).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.reason.contains("hcil"), "{e}");
        let e = parse(&SAMPLE.replace("8:96  50", "8:96 50 ")).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.reason.contains("line up"), "{e}");
        let e = parse(&SAMPLE.replace("8:80  50 ", "8:80  5x ")).unwrap_err();
        assert!(e.reason.contains("pri"), "{e}");
        let e = parse("hcil    dev\n1:0:0:1\n").unwrap_err();
        assert_eq!(e.line, 2);
        // A multi-byte character where a column starts.
        let e = parse("hcil dev\n#:#:é sdb\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    /// One LUN with a map over sdf and sdg.
    fn small_topology() -> Topology {
        let path = |dev: &str, devt: &str| MpPath {
            dev: dev.into(),
            devt: Some(devt.into()),
            ..MpPath::default()
        };
        Topology {
            luns: vec![Lun {
                wwid: Some("36001405e6a3b4c5d6e7f8091a2b3c4d5".into()),
                multipath: Some(MultipathMap {
                    name: "mpathb".into(),
                    groups: vec![PathGroup {
                        paths: vec![path("sdf", "8:80"), path("sdg", "8:96")],
                        ..PathGroup::default()
                    }],
                    ..MultipathMap::default()
                }),
                ..Lun::default()
            }],
            ..Topology::default()
        }
    }

    #[test]
    fn merge_matches_by_name_then_by_device_number() {
        let mut topo = small_topology();
        let mut rows = parse(SAMPLE).unwrap();
        // A row without a device name is matched by its dev_t.
        rows[2].dev = None;
        let warnings = merge_into(&mut topo, &rows);
        assert_eq!(
            warnings,
            [
                "line 2: path sda (8:0): matches no path of the topology",
                "line 5: path sdh (8:112): matches no path of the topology",
            ]
        );
        let m = topo.luns[0].multipath.as_ref().unwrap();
        let p: Vec<_> = m.paths().collect();
        assert_eq!(p[0].checker_state.as_deref(), Some("ready"));
        assert_eq!(p[1].checker_state.as_deref(), Some("i/o pending"));
        assert_eq!(p[1].dm_state.as_deref(), Some("active"));
        assert_eq!(p[1].dev_state.as_deref(), Some("running"));
        // Unknown values in a row do not erase known ones.
        let mut blank = rows[1].clone();
        blank.checker_state = None;
        assert!(merge_into(&mut topo, &[blank]).is_empty());
        let m = topo.luns[0].multipath.as_ref().unwrap();
        assert_eq!(
            m.paths().next().unwrap().checker_state.as_deref(),
            Some("ready")
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,400}") {
            let _ = parse(&s);
            let _ = parse_raw(DEFAULT_FORMAT, &s);
        }

        #[test]
        fn raw_never_panics_on_any_format(f in "\\PC{0,40}", s in "\\PC{0,200}") {
            let _ = parse_raw(&f, &s);
        }

        #[test]
        fn never_panics_on_mutated_sample(pos in 0usize..400, ins in "[ #:,.X/a-z0-9é\\[\\]-]{0,6}") {
            let mut t = SAMPLE.to_string();
            let mut p = pos.min(t.len());
            while !t.is_char_boundary(p) { p -= 1; }
            t.insert_str(p, &ins);
            if let Ok(rows) = parse(&t) {
                let mut topo = small_topology();
                let _ = merge_into(&mut topo, &rows);
            }
            let raw: String = t.lines().skip(1).map(|l| {
                l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n"
            }).collect();
            let _ = parse_raw(DEFAULT_FORMAT, &raw);
        }
    }
}
