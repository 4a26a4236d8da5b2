//! The identity of an iSCSI LUN that the host reaches only through a URL
//! (`vmguest-attach attach DOMAIN iscsi://...`): the host has no SCSI
//! device for it, so libiscsi's tools ask the target directly, logging in
//! with an initiator name of their own ([`PROBE_INITIATOR`]) so that no
//! guest's session is disturbed. What they print is parsed here:
//! `iscsi-inq` (standard INQUIRY: `Vendor:`, `Product:`), `iscsi-inq -e 1
//! -c 128` (VPD page 0x80: `Unit Serial Number:[...]`) and
//! `iscsi-readcapacity16` (`Total size:`). The WWID is not taken from
//! `iscsi-inq -c 131`, which prints binary designators as raw bytes.
//!
//! The record lets the guest-side check (`verify --expect`) find the LUN
//! by serial, or by vendor, product and size.

use std::process::Command;
use std::time::Duration;

use super::metadata::LunRecord;
use super::plan::IscsiUrl;

/// The initiator name the probe logs in with.
pub const PROBE_INITIATOR: &str = "iqn.2024-01.org.fencekit:vmguest-attach.probe";

/// What the probe learnt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// T10 vendor.
    pub vendor: Option<String>,
    /// Product.
    pub product: Option<String>,
    /// Unit serial number.
    pub serial: Option<String>,
    /// Capacity in bytes.
    pub size_bytes: Option<u64>,
}

impl Identity {
    /// Puts what is known into a record, keeping what it already has.
    pub fn fill(&self, r: &mut LunRecord) {
        r.vendor = r.vendor.take().or_else(|| self.vendor.clone());
        r.product = r.product.take().or_else(|| self.product.clone());
        r.serial = r.serial.take().or_else(|| self.serial.clone());
        r.size_bytes = r.size_bytes.or(self.size_bytes);
    }
}

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(key))
}

fn clean(s: &str) -> Option<String> {
    let t = s
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim();
    (!t.is_empty() && t.chars().all(|c| (' '..='~').contains(&c))).then(|| t.to_string())
}

/// Parses the three outputs; a field that is missing or not printable
/// ASCII is None.
pub fn parse(inquiry: &str, serial_page: &str, capacity: &str) -> Identity {
    Identity {
        vendor: field(inquiry, "Vendor:").and_then(clean),
        product: field(inquiry, "Product:").and_then(clean),
        serial: field(serial_page, "Unit Serial Number:").and_then(clean),
        size_bytes: field(capacity, "Total size:").and_then(|s| s.trim().parse().ok()),
    }
}

/// Why the probe failed.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {tool}: {message}")]
pub struct ProbeError {
    /// The LUN.
    pub url: String,
    /// The tool.
    pub tool: String,
    /// What went wrong.
    pub message: String,
}

fn run(url: &str, tool: &str, args: &[&str], limit: Duration) -> Result<String, ProbeError> {
    let err = |message: String| ProbeError {
        url: url.to_string(),
        tool: tool.to_string(),
        message,
    };
    let out = Command::new("timeout")
        .arg(limit.as_secs().max(1).to_string())
        .arg(tool)
        .args(["-i", PROBE_INITIATOR])
        .args(args)
        .arg(url)
        .output()
        .map_err(|e| err(e.to_string()))?;
    if !out.status.success() {
        let e = String::from_utf8_lossy(&out.stderr);
        return Err(err(match out.status.code() {
            Some(127) => "not installed (libiscsi-bin)".into(),
            Some(124) => format!("no answer in {} s", limit.as_secs()),
            _ => e.lines().next().unwrap_or("failed").to_string(),
        }));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Asks the target of `url` for the LUN's identity.
pub fn probe(url: &IscsiUrl) -> Result<Identity, ProbeError> {
    let u = url.to_string();
    let limit = Duration::from_secs(15);
    let inq = run(&u, "iscsi-inq", &[], limit)?;
    let sn = run(&u, "iscsi-inq", &["-e", "1", "-c", "128"], limit).unwrap_or_default();
    let cap = run(&u, "iscsi-readcapacity16", &[], limit).unwrap_or_default();
    Ok(parse(&inq, &sn, &cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INQ: &str = "Peripheral Qualifier:CONNECTED\nVendor:FENCEKIT\nProduct:TGT-LUN         \nRevision:0001\n";
    const SN: &str = "Unit Serial Number:[                            fk04e361]\n";
    const CAP: &str = "RETURNED LOGICAL BLOCK ADDRESS:32767\nLOGICAL BLOCK LENGTH IN BYTES:512\nTotal size:16777216\n";

    #[test]
    fn libiscsi_tools_output_is_read() {
        let i = parse(INQ, SN, CAP);
        assert_eq!(i.vendor.as_deref(), Some("FENCEKIT"));
        assert_eq!(i.product.as_deref(), Some("TGT-LUN"));
        assert_eq!(i.serial.as_deref(), Some("fk04e361"));
        assert_eq!(i.size_bytes, Some(16_777_216));
    }

    #[test]
    fn missing_or_binary_fields_are_none() {
        let i = parse(
            "Vendor:\nProduct:[\u{1}\u{2}]\n",
            "nothing",
            "Total size:lots",
        );
        assert_eq!(i, Identity::default());
    }

    #[test]
    fn a_record_keeps_what_it_has() {
        let mut r = LunRecord {
            serial: Some("kept".into()),
            ..LunRecord::default()
        };
        parse(INQ, SN, CAP).fill(&mut r);
        assert_eq!(r.serial.as_deref(), Some("kept"));
        assert_eq!(r.vendor.as_deref(), Some("FENCEKIT"));
        assert_eq!(r.size_bytes, Some(16_777_216));
    }

    proptest::proptest! {
        #[test]
        fn the_parser_never_panics(a in "\\PC{0,200}", b in "(Unit Serial Number:)?\\PC{0,80}", c in "(Total size:)?\\PC{0,40}") {
            let _ = parse(&a, &b, &c);
        }
    }
}
