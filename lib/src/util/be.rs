//! Checked fixed-width integer reads from byte slices (device responses,
//! on-disk blocks): `None` past the end, never a panic. SCSI is big-endian
//! throughout; the qdisk format has a few little-endian fields.

/// `N` bytes of `b` from `at`, if all are there.
fn bytes<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The big-endian `u16` at `at`.
pub fn be16(b: &[u8], at: usize) -> Option<u16> {
    bytes(b, at).map(u16::from_be_bytes)
}

/// The big-endian `u32` at `at`.
pub fn be32(b: &[u8], at: usize) -> Option<u32> {
    bytes(b, at).map(u32::from_be_bytes)
}

/// The big-endian `u64` at `at`.
pub fn be64(b: &[u8], at: usize) -> Option<u64> {
    bytes(b, at).map(u64::from_be_bytes)
}

/// The little-endian `u32` at `at`.
pub fn le32(b: &[u8], at: usize) -> Option<u32> {
    bytes(b, at).map(u32::from_le_bytes)
}

/// The little-endian `u64` at `at`.
pub fn le64(b: &[u8], at: usize) -> Option<u64> {
    bytes(b, at).map(u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_and_none_past_the_end() {
        let b = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11];
        assert_eq!(be16(&b, 0), Some(0x1234));
        assert_eq!(be32(&b, 1), Some(0x3456_789a));
        assert_eq!(be64(&b, 1), Some(0x3456_789a_bcde_f011));
        assert_eq!(le32(&b, 0), Some(0x7856_3412));
        assert_eq!(le64(&b, 0), Some(0xf0de_bc9a_7856_3412));
        assert_eq!(be16(&b, 8), None);
        assert_eq!(be64(&b, 2), None);
        assert_eq!(be32(&b, usize::MAX), None);
        assert_eq!(be16(&[], 0), None);
    }
}
