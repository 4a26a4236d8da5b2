//! CDB builders (SPC-4, SBC-3). Each returns the exact bytes to send; none
//! touches a device.

/// Operation codes used by fencekit.
pub mod opcode {
    pub const TEST_UNIT_READY: u8 = 0x00;
    pub const INQUIRY: u8 = 0x12;
    pub const READ_10: u8 = 0x28;
    pub const WRITE_10: u8 = 0x2a;
    pub const PERSISTENT_RESERVE_IN: u8 = 0x5e;
    pub const PERSISTENT_RESERVE_OUT: u8 = 0x5f;
    pub const SERVICE_ACTION_IN_16: u8 = 0x9e;
    /// READ CAPACITY(16) is SERVICE ACTION IN(16), service action 0x10.
    pub const SA_READ_CAPACITY_16: u8 = 0x10;
    pub const MAINTENANCE_IN: u8 = 0xa3;
    /// REPORT TARGET PORT GROUPS is MAINTENANCE IN, service action 0x0a.
    pub const SA_REPORT_TARGET_PORT_GROUPS: u8 = 0x0a;
}

/// TEST UNIT READY (6 bytes).
pub fn test_unit_ready() -> [u8; 6] {
    [opcode::TEST_UNIT_READY, 0, 0, 0, 0, 0]
}

/// INQUIRY (6 bytes): standard data when `vpd_page` is None, otherwise the
/// VPD page (EVPD = 1).
pub fn inquiry(vpd_page: Option<u8>, alloc_len: u16) -> [u8; 6] {
    let [hi, lo] = alloc_len.to_be_bytes();
    match vpd_page {
        None => [opcode::INQUIRY, 0, 0, hi, lo, 0],
        Some(page) => [opcode::INQUIRY, 1, page, hi, lo, 0],
    }
}

/// READ CAPACITY(16) (16 bytes).
pub fn read_capacity_16(alloc_len: u32) -> [u8; 16] {
    let a = alloc_len.to_be_bytes();
    [
        opcode::SERVICE_ACTION_IN_16,
        opcode::SA_READ_CAPACITY_16,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        a[0],
        a[1],
        a[2],
        a[3],
        0,
        0,
    ]
}

/// PERSISTENT RESERVE IN (10 bytes): service action in byte 1, allocation
/// length in bytes 7-8.
pub fn persistent_reserve_in(service_action: u8, alloc_len: u16) -> [u8; 10] {
    let [hi, lo] = alloc_len.to_be_bytes();
    [
        opcode::PERSISTENT_RESERVE_IN,
        service_action & 0x1f,
        0,
        0,
        0,
        0,
        0,
        hi,
        lo,
        0,
    ]
}

/// PERSISTENT RESERVE OUT (10 bytes): service action, scope and type, and
/// the parameter list length in bytes 5-8 (32 bits, SPC-4).
pub fn persistent_reserve_out(
    service_action: u8,
    scope: u8,
    pr_type: u8,
    param_len: u32,
) -> [u8; 10] {
    let l = param_len.to_be_bytes();
    [
        opcode::PERSISTENT_RESERVE_OUT,
        service_action & 0x1f,
        ((scope & 0x0f) << 4) | (pr_type & 0x0f),
        0,
        0,
        l[0],
        l[1],
        l[2],
        l[3],
        0,
    ]
}

/// READ(10) of `blocks` blocks at `lba`.
pub fn read_10(lba: u32, blocks: u16) -> [u8; 10] {
    let l = lba.to_be_bytes();
    let [bh, bl] = blocks.to_be_bytes();
    [opcode::READ_10, 0, l[0], l[1], l[2], l[3], 0, bh, bl, 0]
}

/// WRITE(10) of `blocks` blocks at `lba`. No FUA: a target that does not
/// advertise FUA may reject the bit (LIO answers INVALID FIELD IN CDB), and
/// the reservation check happens before any caching.
pub fn write_10(lba: u32, blocks: u16) -> [u8; 10] {
    let l = lba.to_be_bytes();
    let [bh, bl] = blocks.to_be_bytes();
    [opcode::WRITE_10, 0, l[0], l[1], l[2], l[3], 0, bh, bl, 0]
}

/// REPORT TARGET PORT GROUPS (12 bytes), length-only parameter data
/// format (SPC-4 6.36).
pub fn report_target_port_groups(alloc_len: u32) -> [u8; 12] {
    let l = alloc_len.to_be_bytes();
    [
        opcode::MAINTENANCE_IN,
        opcode::SA_REPORT_TARGET_PORT_GROUPS,
        0,
        0,
        0,
        0,
        l[0],
        l[1],
        l[2],
        l[3],
        0,
        0,
    ]
}

/// The name of a CDB's command, for messages: "PERSISTENT RESERVE OUT",
/// "INQUIRY", ...
pub fn command_name(cdb: &[u8]) -> &'static str {
    match cdb.first().copied() {
        Some(opcode::TEST_UNIT_READY) => "TEST UNIT READY",
        Some(opcode::INQUIRY) => "INQUIRY",
        Some(opcode::READ_10) => "READ(10)",
        Some(opcode::WRITE_10) => "WRITE(10)",
        Some(opcode::PERSISTENT_RESERVE_IN) => "PERSISTENT RESERVE IN",
        Some(opcode::PERSISTENT_RESERVE_OUT) => "PERSISTENT RESERVE OUT",
        Some(opcode::SERVICE_ACTION_IN_16) => "SERVICE ACTION IN(16)",
        Some(opcode::MAINTENANCE_IN) => "MAINTENANCE IN",
        _ => "SCSI command",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pr_out_examples_from_anchors() {
        // Register: 5f 00 00 00 00 00 00 00 18 00.
        assert_eq!(
            persistent_reserve_out(0, 0, 0, 24),
            [0x5f, 0, 0, 0, 0, 0, 0, 0, 0x18, 0]
        );
        // Preempt and abort, type 5.
        assert_eq!(
            persistent_reserve_out(5, 0, 5, 24),
            [0x5f, 5, 5, 0, 0, 0, 0, 0, 0x18, 0]
        );
    }

    #[test]
    fn pr_in_read_keys() {
        assert_eq!(
            persistent_reserve_in(0, 8192),
            [0x5e, 0, 0, 0, 0, 0, 0, 0x20, 0, 0]
        );
        assert_eq!(persistent_reserve_in(3, 0xffff)[7..9], [0xff, 0xff]);
    }

    #[test]
    fn inquiry_and_capacity() {
        assert_eq!(inquiry(None, 36), [0x12, 0, 0, 0, 36, 0]);
        assert_eq!(inquiry(Some(0x83), 0x1000), [0x12, 1, 0x83, 0x10, 0, 0]);
        let rc = read_capacity_16(32);
        assert_eq!((rc[0], rc[1], rc[13]), (0x9e, 0x10, 32));
        assert_eq!(test_unit_ready(), [0; 6]);
        assert_eq!(write_10(1, 1), [0x2a, 0, 0, 0, 0, 1, 0, 0, 1, 0]);
        assert_eq!(command_name(&write_10(0, 1)), "WRITE(10)");
    }
}
