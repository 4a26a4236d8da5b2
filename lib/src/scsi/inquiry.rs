//! Standard INQUIRY data (SPC-4 §6.6.2).

use serde::Serialize;

use super::error::DecodeError;

/// The fields of standard INQUIRY data that fencekit uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StandardInquiry {
    /// Peripheral qualifier (byte 0, bits 7-5).
    pub peripheral_qualifier: u8,
    /// Peripheral device type (byte 0, bits 4-0): 0 disk, 5 CD/DVD, ...
    pub peripheral_device_type: u8,
    /// Removable medium (byte 1 bit 7).
    pub removable: bool,
    /// VERSION (byte 2): 6 = SPC-4, 7 = SPC-5.
    pub version: u8,
    /// Response data format (byte 3 bits 3-0), 2 for current devices.
    pub response_data_format: u8,
    /// Target port group support (byte 5 bits 5-4), ALUA.
    pub tpgs: u8,
    /// Protection information supported (byte 5 bit 0).
    pub protect: bool,
    /// Enclosure services (byte 6 bit 6).
    pub enc_serv: bool,
    /// Multi-port (byte 6 bit 4).
    pub multi_port: bool,
    /// Command queuing (byte 7 bit 1).
    pub cmd_que: bool,
    /// T10 vendor identification, bytes 8-15, as returned (space padded).
    #[serde(serialize_with = "ser_ascii")]
    pub vendor: [u8; 8],
    /// Product identification, bytes 16-31.
    #[serde(serialize_with = "ser_ascii")]
    pub product: [u8; 16],
    /// Product revision level, bytes 32-35.
    #[serde(serialize_with = "ser_ascii")]
    pub revision: [u8; 4],
}

fn ser_ascii<S: serde::Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(ascii_trim(v).as_str())
}

/// Printable ASCII of a fixed field, trailing spaces and NULs removed;
/// anything non-printable becomes '?'.
pub fn ascii_trim(v: &[u8]) -> String {
    let s: String = v
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else if b == 0 {
                ' '
            } else {
                '?'
            }
        })
        .collect();
    s.trim_end().to_string()
}

impl StandardInquiry {
    /// Minimum length that holds vendor, product and revision.
    pub const MIN_LEN: usize = 36;

    /// Decodes standard INQUIRY data. Fewer than 36 bytes is an error, and
    /// so is an ADDITIONAL LENGTH (byte 4) that claims less than that.
    pub fn decode(buf: &[u8]) -> Result<StandardInquiry, DecodeError> {
        const WHAT: &str = "standard INQUIRY data";
        DecodeError::check_len(WHAT, buf, 5)?;
        let declared = usize::from(buf[4]) + 5;
        if declared < Self::MIN_LEN {
            return Err(DecodeError::malformed(
                WHAT,
                format!("additional length {} is less than the 31 that vendor, product and revision need", buf[4]),
            ));
        }
        DecodeError::check_len(WHAT, buf, Self::MIN_LEN)?;
        let mut vendor = [0u8; 8];
        let mut product = [0u8; 16];
        let mut revision = [0u8; 4];
        vendor.copy_from_slice(&buf[8..16]);
        product.copy_from_slice(&buf[16..32]);
        revision.copy_from_slice(&buf[32..36]);
        Ok(StandardInquiry {
            peripheral_qualifier: buf[0] >> 5,
            peripheral_device_type: buf[0] & 0x1f,
            removable: buf[1] & 0x80 != 0,
            version: buf[2],
            response_data_format: buf[3] & 0x0f,
            tpgs: (buf[5] >> 4) & 0x03,
            protect: buf[5] & 0x01 != 0,
            enc_serv: buf[6] & 0x40 != 0,
            multi_port: buf[6] & 0x10 != 0,
            cmd_que: buf[7] & 0x02 != 0,
            vendor,
            product,
            revision,
        })
    }

    /// Vendor, trimmed.
    pub fn vendor_str(&self) -> String {
        ascii_trim(&self.vendor)
    }

    /// Product, trimmed.
    pub fn product_str(&self) -> String {
        ascii_trim(&self.product)
    }

    /// Revision, trimmed.
    pub fn revision_str(&self) -> String {
        ascii_trim(&self.revision)
    }
}

/// Standard INQUIRY data as LIO (target_core_mod) returns it for a fileio
/// backstore: vendor "LIO-ORG", product "disk0", revision "4.0". A sample
/// for tests and for the scripted unit of `fence::sim`.
pub fn lio_sample() -> Vec<u8> {
    let mut v = vec![0x00, 0x00, 0x06, 0x02, 0x1f, 0x00, 0x00, 0x02];
    v.extend_from_slice(b"LIO-ORG ");
    v.extend_from_slice(b"disk0           ");
    v.extend_from_slice(b"4.0 ");
    v
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn lio_inquiry() -> Vec<u8> {
        lio_sample()
    }

    #[test]
    fn decodes_lio_disk() {
        let i = StandardInquiry::decode(&lio_inquiry()).unwrap();
        assert_eq!(i.peripheral_device_type, 0);
        assert_eq!(i.version, 6);
        assert_eq!(i.vendor_str(), "LIO-ORG");
        assert_eq!(i.product_str(), "disk0");
        assert_eq!(i.revision_str(), "4.0");
        assert!(i.cmd_que);
        let j = serde_json::to_value(&i).unwrap();
        assert_eq!(j["vendor"], "LIO-ORG");
    }

    #[test]
    fn short_or_inconsistent_is_an_error() {
        let v = lio_inquiry();
        assert!(StandardInquiry::decode(&v[..35]).is_err());
        assert!(StandardInquiry::decode(&v[..4]).is_err());
        let mut w = v.clone();
        w[4] = 10;
        assert!(matches!(
            StandardInquiry::decode(&w),
            Err(DecodeError::Malformed { .. })
        ));
    }

    #[test]
    fn unprintable_bytes_are_masked() {
        assert_eq!(ascii_trim(b"AB\x01\0  "), "AB?");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..100)) {
            let _ = StandardInquiry::decode(&bytes);
        }
    }
}
