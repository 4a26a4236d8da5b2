//! Asymmetric logical unit access (SPC-4 5.16): REPORT TARGET PORT GROUPS
//! data, and the path priority multipath's `alua` prioritizer derives from
//! it.

use serde::Serialize;

use super::error::DecodeError;

/// Asymmetric access states (SPC-4 table 165).
pub mod state {
    pub const ACTIVE_OPTIMIZED: u8 = 0x0;
    pub const ACTIVE_NON_OPTIMIZED: u8 = 0x1;
    pub const STANDBY: u8 = 0x2;
    pub const UNAVAILABLE: u8 = 0x3;
    pub const LBA_DEPENDENT: u8 = 0x4;
    pub const OFFLINE: u8 = 0xe;
    pub const TRANSITIONING: u8 = 0xf;
}

/// One target port group descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetPortGroup {
    /// Preferred target port group (PREF bit).
    pub preferred: bool,
    /// Asymmetric access state (see [`state`]).
    pub access_state: u8,
    /// Target port group id.
    pub id: u16,
    /// Status code (0 none, 1 changed by SET TARGET PORT GROUPS, 2 changed
    /// by implicit transition).
    pub status_code: u8,
    /// Relative target port ids in the group.
    pub ports: Vec<u16>,
}

/// Decodes REPORT TARGET PORT GROUPS parameter data in the length-only
/// format (the one [`super::cdb::report_target_port_groups`] asks for).
/// Descriptors cut off by the allocation length are dropped; a descriptor
/// whose port list runs past the length the device gave is an error.
pub fn decode_report_target_port_groups(buf: &[u8]) -> Result<Vec<TargetPortGroup>, DecodeError> {
    const WHAT: &str = "REPORT TARGET PORT GROUPS data";
    DecodeError::check_len(WHAT, buf, 4)?;
    let total = (u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize).saturating_add(4);
    let truncated = buf.len() < total;
    let end = buf.len().min(total);
    let mut v = Vec::new();
    let mut i = 4;
    while i + 8 <= end {
        let d = &buf[i..end];
        let count = usize::from(d[7]);
        let need = 8 + 4 * count;
        if d.len() < need {
            if truncated {
                break;
            }
            return Err(DecodeError::malformed(
                WHAT,
                format!("descriptor at byte {i} lists {count} ports past the data"),
            ));
        }
        v.push(TargetPortGroup {
            preferred: d[0] & 0x80 != 0,
            access_state: d[0] & 0x0f,
            id: u16::from_be_bytes([d[2], d[3]]),
            status_code: d[5],
            ports: (0..count)
                .map(|k| u16::from_be_bytes([d[8 + 4 * k + 2], d[8 + 4 * k + 3]]))
                .collect(),
        });
        i += need;
    }
    Ok(v)
}

/// The priority multipath-tools' `alua` prioritizer gives a path whose
/// target port group is in `access_state`: 50 active/optimized, 10
/// active/non-optimized, 5 LBA dependent, 1 standby, 0 otherwise; 80 more
/// for a preferred group that is not active/optimized.
pub fn multipath_priority(access_state: u8, preferred: bool) -> i64 {
    let base = match access_state {
        state::ACTIVE_OPTIMIZED => 50,
        state::ACTIVE_NON_OPTIMIZED => 10,
        state::LBA_DEPENDENT => 5,
        state::STANDBY => 1,
        _ => 0,
    };
    if preferred && access_state != state::ACTIVE_OPTIMIZED {
        base + 80
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LIO's answer through tcm_loop (sg_rtpg -v in the test bed): one
    /// group, id 0, active/optimized, ports 1 and 2.
    const LIO: [u8; 20] = [
        0x00, 0x00, 0x00, 0x10, 0x00, 0xdf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x02,
    ];

    #[test]
    fn lio_single_group() {
        let g = decode_report_target_port_groups(&LIO).unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].id, 0);
        assert_eq!(g[0].access_state, state::ACTIVE_OPTIMIZED);
        assert!(!g[0].preferred);
        assert_eq!(g[0].ports, vec![1, 2]);
        assert_eq!(multipath_priority(g[0].access_state, g[0].preferred), 50);
    }

    #[test]
    fn two_groups() {
        let mut b = vec![0, 0, 0, 24];
        b.extend([0x81, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3]);
        b.extend([0x02, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4]);
        let g = decode_report_target_port_groups(&b).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].id, g[0].access_state, g[0].preferred), (1, 1, true));
        assert_eq!(g[1].ports, vec![4]);
        assert_eq!(multipath_priority(1, true), 90);
        assert_eq!(multipath_priority(state::STANDBY, false), 1);
        assert_eq!(multipath_priority(state::UNAVAILABLE, false), 0);
        assert_eq!(multipath_priority(state::ACTIVE_OPTIMIZED, true), 50);
    }

    #[test]
    fn overrun_port_list_is_an_error_and_truncation_is_not() {
        let mut b = LIO.to_vec();
        b[11] = 9;
        assert!(decode_report_target_port_groups(&b).is_err());
        // Allocation length cut the data short: keep what fits.
        assert!(decode_report_target_port_groups(&LIO[..12])
            .unwrap()
            .is_empty());
        assert!(decode_report_target_port_groups(&[0, 0]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn rtpg_never_panics(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = decode_report_target_port_groups(&b);
        }
    }
}
