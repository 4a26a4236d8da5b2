//! A GNU `getopt_long` work-alike, so that commands written for sg3_utils
//! tools parse exactly as they did: clustered short options (`-nk`),
//! attached or separate arguments (`-K0x1`, `-K 0x1`), long options with
//! `=` or a separate argument, unambiguous abbreviations of long options,
//! `--` as the end of options, and operands anywhere (GNU permutation).

/// Whether an option takes an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HasArg {
    No,
    Required,
}

/// A long option and the short option it stands for.
#[derive(Debug, Clone, Copy)]
pub struct LongOpt {
    pub name: &'static str,
    pub has_arg: HasArg,
    pub val: char,
}

/// One parsed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An option (by its short letter) and its argument.
    Opt(char, Option<String>),
    /// An operand (a non-option argument).
    Operand(String),
    /// An error, with getopt's message (without the program-name prefix).
    Error(String),
}

/// Parses `args` (without argv[0]). `short` is getopt's option string
/// ("AcCd:..."; a letter followed by ':' takes an argument).
pub fn getopt_long(args: &[String], short: &str, long: &[LongOpt]) -> Vec<Item> {
    let takes_arg = |c: char| -> Option<bool> {
        let mut it = short.chars().peekable();
        while let Some(x) = it.next() {
            let has = it.peek() == Some(&':');
            if has {
                it.next();
            }
            if x == c {
                return Some(has);
            }
        }
        None
    };
    let mut out = Vec::new();
    let mut operands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            operands.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(body) = a.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let exact = long.iter().find(|o| o.name == name);
            let found = match exact {
                Some(o) => Ok(*o),
                None => {
                    let cands: Vec<&LongOpt> =
                        long.iter().filter(|o| o.name.starts_with(name)).collect();
                    // Abbreviations that all mean the same option are fine.
                    match cands.first() {
                        None => Err(format!("unrecognized option '--{name}'")),
                        Some(first)
                            if cands
                                .iter()
                                .all(|c| c.val == first.val && c.has_arg == first.has_arg) =>
                        {
                            Ok(**first)
                        }
                        Some(_) => Err(format!("option '--{name}' is ambiguous")),
                    }
                }
            };
            match found {
                Err(e) => out.push(Item::Error(e)),
                Ok(o) => match (o.has_arg, inline) {
                    (HasArg::No, Some(_)) => out.push(Item::Error(format!(
                        "option '--{}' doesn't allow an argument",
                        o.name
                    ))),
                    (HasArg::No, None) => out.push(Item::Opt(o.val, None)),
                    (HasArg::Required, Some(v)) => out.push(Item::Opt(o.val, Some(v))),
                    (HasArg::Required, None) => {
                        if i < args.len() {
                            out.push(Item::Opt(o.val, Some(args[i].clone())));
                            i += 1;
                        } else {
                            out.push(Item::Error(format!(
                                "option '--{}' requires an argument",
                                o.name
                            )));
                        }
                    }
                },
            }
            continue;
        }
        if a.len() > 1 && a.starts_with('-') {
            let chars: Vec<char> = a.chars().skip(1).collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                k += 1;
                match takes_arg(c) {
                    None => out.push(Item::Error(format!("invalid option -- '{c}'"))),
                    Some(false) => out.push(Item::Opt(c, None)),
                    Some(true) => {
                        if k < chars.len() {
                            out.push(Item::Opt(c, Some(chars[k..].iter().collect())));
                        } else if i < args.len() {
                            out.push(Item::Opt(c, Some(args[i].clone())));
                            i += 1;
                        } else {
                            out.push(Item::Error(format!("option requires an argument -- '{c}'")));
                        }
                        break;
                    }
                }
            }
            continue;
        }
        operands.push(a.clone());
    }
    out.extend(operands.into_iter().map(Item::Operand));
    out
}

/// C's `sscanf(s, "%x")` for a 64-bit value: leading white space, an
/// optional sign, an optional `0x`, then hex digits up to the first other
/// character. None when no digit is read.
pub fn scan_hex_u64(s: &str) -> Option<u64> {
    let s = s.trim_start();
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let body = match s.get(..2) {
        Some("0x") | Some("0X") if s[2..].starts_with(|c: char| c.is_ascii_hexdigit()) => &s[2..],
        _ => s,
    };
    let digits: String = body.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    if digits.is_empty() {
        return None;
    }
    // strtoull saturates on overflow.
    let v = u64::from_str_radix(&digits, 16).unwrap_or(u64::MAX);
    Some(if neg { v.wrapping_neg() } else { v })
}

/// C's `sscanf(s, "%x")` into an `unsigned int`, as sg_persist reads
/// `--alloc-length` and `--prout-type`: glibc converts to an unsigned long
/// and stores its low 32 bits.
// Truncates on purpose: that is the value the C program goes on with.
#[allow(clippy::cast_possible_truncation)]
pub fn scan_hex_u32(s: &str) -> Option<u32> {
    scan_hex_u64(s).map(|v| v as u32)
}

/// sg3_utils' `sg_get_num`: decimal with an optional multiplier suffix
/// (c, w, b/k/KiB, m/MiB, g/GiB, kB, MB, GB), or hex with a `0x` prefix or
/// an `h` suffix. None for anything else.
pub fn sg_get_num(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok();
    }
    if let Some(h) = s.strip_suffix('h').or_else(|| s.strip_suffix('H')) {
        return i64::from_str_radix(h, 16).ok();
    }
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: i64 = s[..end].parse().ok()?;
    let mult: i64 = match &s[end..] {
        "" => 1,
        "c" | "C" => 1,
        "w" | "W" => 2,
        "b" | "B" => 512,
        "k" | "K" | "KiB" => 1024,
        "kB" | "KB" => 1000,
        "m" | "M" | "MiB" => 1 << 20,
        "MB" => 1_000_000,
        "g" | "G" | "GiB" => 1 << 30,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: &[LongOpt] = &[
        LongOpt {
            name: "read-keys",
            has_arg: HasArg::No,
            val: 'k',
        },
        LongOpt {
            name: "read_keys",
            has_arg: HasArg::No,
            val: 'k',
        },
        LongOpt {
            name: "read-reservation",
            has_arg: HasArg::No,
            val: 'r',
        },
        LongOpt {
            name: "param-rk",
            has_arg: HasArg::Required,
            val: 'K',
        },
        LongOpt {
            name: "device",
            has_arg: HasArg::Required,
            val: 'd',
        },
    ];

    fn p(v: &[&str]) -> Vec<Item> {
        let args: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        getopt_long(&args, "d:kK:nr", LONG)
    }

    fn opt(c: char, a: Option<&str>) -> Item {
        Item::Opt(c, a.map(str::to_string))
    }

    #[test]
    fn clusters_attached_and_separate_arguments() {
        assert_eq!(
            p(&["-nk", "/dev/sdb"]),
            vec![
                opt('n', None),
                opt('k', None),
                Item::Operand("/dev/sdb".into())
            ]
        );
        assert_eq!(p(&["-K0x1"]), vec![opt('K', Some("0x1"))]);
        assert_eq!(p(&["-nK", "1"]), vec![opt('n', None), opt('K', Some("1"))]);
    }

    #[test]
    fn long_options_abbreviations_and_permutation() {
        assert_eq!(
            p(&["/dev/sdb", "--param-rk=abc"]),
            vec![opt('K', Some("abc")), Item::Operand("/dev/sdb".into())]
        );
        assert_eq!(
            p(&["--device", "/dev/sg1"]),
            vec![opt('d', Some("/dev/sg1"))]
        );
        // "read-k" is unique; "read" is ambiguous between k and r.
        assert_eq!(p(&["--read-k"]), vec![opt('k', None)]);
        assert!(matches!(&p(&["--read"])[0], Item::Error(e) if e.contains("ambiguous")));
        assert!(
            matches!(&p(&["--bogus"])[0], Item::Error(e) if e == "unrecognized option '--bogus'")
        );
        assert!(matches!(&p(&["-x"])[0], Item::Error(e) if e == "invalid option -- 'x'"));
        assert!(
            matches!(&p(&["-K"])[0], Item::Error(e) if e == "option requires an argument -- 'K'")
        );
        assert_eq!(p(&["--", "-k"]), vec![Item::Operand("-k".into())]);
    }

    #[test]
    fn scanf_hex_semantics() {
        assert_eq!(scan_hex_u64("0x123abc"), Some(0x123abc));
        assert_eq!(scan_hex_u64("123ABCzz"), Some(0x123abc));
        assert_eq!(scan_hex_u64("  ff"), Some(0xff));
        assert_eq!(scan_hex_u64("zz"), None);
        assert_eq!(scan_hex_u64(""), None);
        assert_eq!(scan_hex_u64("0"), Some(0));
        assert_eq!(scan_hex_u64("ffffffffffffffffff"), Some(u64::MAX));
        assert_eq!(scan_hex_u32("100000008"), Some(8));
        assert_eq!(scan_hex_u32("-1"), Some(u32::MAX));
        assert_eq!(scan_hex_u32("ffffffffffffffffff"), Some(u32::MAX));
    }

    #[test]
    fn sg_get_num_forms() {
        assert_eq!(sg_get_num("8192"), Some(8192));
        assert_eq!(sg_get_num("0x2000"), Some(8192));
        assert_eq!(sg_get_num("2000h"), Some(8192));
        assert_eq!(sg_get_num("8k"), Some(8192));
        assert_eq!(sg_get_num("x"), None);
    }
}
