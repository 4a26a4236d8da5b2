//! Text for people: how prkeys shows each result. JSON output is the
//! library types serialized; this module is only the human form.

use std::fmt::Write as _;

use fencekit::linux::sglib;
use fencekit::paths::DeviceOutcome;
use fencekit::paths::Target;
use fencekit::scsi::device::Identity;
use fencekit::scsi::pr::{Capabilities, FullStatus, PrType, ReadKeys, ReadReservation};
use fencekit::scsi::vpd;

/// The first line of a device's result: its name, and for a multipath map
/// the map and the path that answered.
pub fn heading<T>(o: &DeviceOutcome<T>) -> String {
    let via = o
        .paths
        .iter()
        .find(|p| p.result.is_ok())
        .map(|p| p.path.display().to_string());
    match (&o.target, via) {
        (Ok(Target::Multipath { dm_name, paths, .. }), Some(via)) => {
            format!(
                "{} (multipath map {dm_name}, {} paths, via {via})",
                o.device,
                paths.len()
            )
        }
        _ => o.device.clone(),
    }
}

/// `prkeys keys`.
pub fn keys(head: &str, k: &ReadKeys) -> String {
    let mut s = format!("{head}: PR generation 0x{:x}, ", k.generation);
    match k.keys.len() {
        0 => s.push_str("no registered keys\n"),
        1 => s.push_str("1 registered key\n"),
        n => {
            let _ = writeln!(s, "{n} registered keys");
        }
    }
    for key in &k.keys {
        let ascii = key.to_ascii_lossy();
        if ascii.chars().all(|c| c.is_ascii_alphanumeric()) {
            let _ = writeln!(s, "    {key}  ({ascii})");
        } else {
            let _ = writeln!(s, "    {key}");
        }
    }
    if k.truncated() {
        s.push_str("    (the device holds more keys than were read)\n");
    }
    s
}

fn type_text(t: PrType) -> String {
    match t.short_name() {
        Some(short) => format!("{} ({short})", t.name()),
        None => t.name(),
    }
}

/// `prkeys reservation`.
pub fn reservation(head: &str, r: &ReadReservation) -> String {
    match &r.reservation {
        None => format!(
            "{head}: PR generation 0x{:x}, no reservation\n",
            r.generation
        ),
        Some(res) => format!(
            "{head}: PR generation 0x{:x}, reserved by key {}, type {}, {}\n",
            r.generation,
            res.key,
            type_text(res.pr_type),
            if res.scope == 0 {
                "LU scope".to_string()
            } else {
                format!("scope {}", res.scope)
            }
        ),
    }
}

/// `prkeys status`.
pub fn full_status(head: &str, f: &FullStatus) -> String {
    let mut s = format!(
        "{head}: PR generation 0x{:x}, {} registrations\n",
        f.generation,
        f.descriptors.len()
    );
    for d in &f.descriptors {
        let port = if d.all_tg_pt {
            "all target ports".to_string()
        } else {
            format!("target port {}", d.relative_target_port)
        };
        let holder = if d.r_holder {
            format!(", holds the reservation, type {}", type_text(d.pr_type))
        } else {
            String::new()
        };
        let initiator = match d.transport_id() {
            Ok(t) => t.to_string(),
            Err(_) => format!("TransportID {}", vpd::hex(&d.transport_id)),
        };
        let _ = writeln!(
            s,
            "    key {}  {port}  initiator {initiator}{holder}",
            d.key
        );
    }
    if f.truncated() {
        s.push_str("    (the device holds more registrations than were read)\n");
    }
    s
}

/// `prkeys caps`.
pub fn capabilities(head: &str, c: &Capabilities) -> String {
    let yn = |b: bool| if b { "yes" } else { "no" };
    let mut s = format!("{head}:\n");
    let _ = writeln!(s, "    replace lost reservation (RLR_C):   {}", yn(c.rlr_c));
    let _ = writeln!(s, "    compatible reservations (CRH):      {}", yn(c.crh));
    let _ = writeln!(s, "    specify initiator ports (SIP_C):    {}", yn(c.sip_c));
    let _ = writeln!(s, "    all target ports (ATP_C):           {}", yn(c.atp_c));
    let _ = writeln!(
        s,
        "    persist through power loss (PTPL_C): {}, active (PTPL_A): {}",
        yn(c.ptpl_c),
        yn(c.ptpl_a)
    );
    let _ = writeln!(
        s,
        "    allow commands:                     {}",
        c.allow_commands
    );
    if c.tmv {
        let types: Vec<String> = PrType::ALL
            .iter()
            .filter(|t| c.supports(**t))
            .map(|t| type_text(*t))
            .collect();
        let _ = writeln!(s, "    types: {}", types.join("; "));
    } else {
        s.push_str("    types: not reported (TMV=0)\n");
    }
    s
}

/// `prkeys inquiry`.
pub fn inquiry(head: &str, id: &Identity) -> String {
    let i = &id.inquiry;
    let mut s = format!("{head}:\n");
    let _ = writeln!(
        s,
        "    vendor {}  product {}  revision {}",
        i.vendor_str(),
        i.product_str(),
        i.revision_str()
    );
    let _ = writeln!(
        s,
        "    type: {} (0x{:x}), SPC version 0x{:x}",
        sglib::pdt_str(i.peripheral_device_type),
        i.peripheral_device_type,
        i.version
    );
    if let Some(serial) = &id.serial {
        let _ = writeln!(s, "    serial: {serial}");
    }
    if let Some(w) = &id.wwid {
        let _ = writeln!(s, "    wwid: {w}");
    }
    for d in &id.designators {
        let assoc = sglib::desig_assoc_str(d.association).unwrap_or_default();
        let typ = sglib::desig_type_str(d.designator_type).unwrap_or_default();
        let _ = writeln!(s, "    designator: {typ}, {assoc}: {}", d.value_string());
    }
    s
}

/// The line for a change: what was done, and for a multipath map on how
/// many paths (registration) or through which path (everything else).
pub fn changed<T>(o: &DeviceOutcome<T>, what: &str) -> String {
    let ok = o.paths.iter().filter(|p| p.result.is_ok()).count();
    match &o.target {
        Ok(Target::Multipath { dm_name, paths, .. })
            if o.paths.len() == paths.len() && paths.len() > 1 =>
        {
            let mut s = format!(
                "{}: {what} (multipath map {dm_name}, {ok} of {} paths)\n",
                o.device,
                o.paths.len()
            );
            for p in &o.paths {
                let _ = writeln!(
                    s,
                    "    {}: {}",
                    p.path.display(),
                    if p.result.is_ok() { "ok" } else { "FAILED" }
                );
            }
            s
        }
        Ok(Target::Multipath { dm_name, .. }) => {
            let via = o
                .paths
                .iter()
                .find(|p| p.result.is_ok())
                .map(|p| p.path.display().to_string())
                .unwrap_or_default();
            format!(
                "{}: {what} (multipath map {dm_name}, via {via})\n",
                o.device
            )
        }
        _ => format!("{}: {what}\n", o.device),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fencekit::scsi::pr::{Key, Reservation};

    #[test]
    fn keys_and_reservation_text() {
        let k = ReadKeys {
            generation: 5,
            additional_length: 16,
            keys: vec![Key(0x1), Key::from_ascii("VFDEED00").unwrap()],
        };
        let s = keys("/dev/sdb", &k);
        assert_eq!(s, "/dev/sdb: PR generation 0x5, 2 registered keys\n    0x1\n    0x5646444545443030  (VFDEED00)\n");
        let r = ReadReservation {
            generation: 5,
            reservation: Some(Reservation {
                key: Key(1),
                scope: 0,
                pr_type: PrType::from_code(5),
            }),
        };
        assert_eq!(
            reservation("/dev/sdb", &r),
            "/dev/sdb: PR generation 0x5, reserved by key 0x1, type Write Exclusive, registrants only (wero), LU scope\n"
        );
        let none = ReadReservation {
            generation: 0,
            reservation: None,
        };
        assert_eq!(
            reservation("d", &none),
            "d: PR generation 0x0, no reservation\n"
        );
    }

    #[test]
    fn capabilities_text_lists_supported_types() {
        let c = Capabilities::decode(&[0, 8, 0x1d, 0x81, 0xea, 0x01, 0, 0]).unwrap();
        let s = capabilities("d", &c);
        assert!(
            s.contains("Write Exclusive, registrants only (wero)"),
            "{s}"
        );
        assert!(s.contains("all target ports (ATP_C):           yes"), "{s}");
    }
}
