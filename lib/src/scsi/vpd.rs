//! Vital product data pages (SPC-4 §7.8): Supported VPD Pages (0x00), Unit
//! Serial Number (0x80) and Device Identification (0x83), and the WWID in the
//! form udev and multipath use (designator type digit + hex).

use super::wwid::Wwid;
use serde::Serialize;

use super::error::DecodeError;

/// VPD page codes.
pub mod page {
    pub const SUPPORTED: u8 = 0x00;
    pub const UNIT_SERIAL: u8 = 0x80;
    pub const DEVICE_ID: u8 = 0x83;
}

/// Checks a VPD page's 4-byte header against `expected` and returns the
/// page body (bytes 4 .. 4 + PAGE LENGTH).
fn page_body<'a>(what: &'static str, buf: &'a [u8], expected: u8) -> Result<&'a [u8], DecodeError> {
    DecodeError::check_len(what, buf, 4)?;
    if buf[1] != expected {
        return Err(DecodeError::malformed(
            what,
            format!("page code 0x{:02x}, expected 0x{expected:02x}", buf[1]),
        ));
    }
    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    DecodeError::check_len(what, buf, 4 + len)?;
    Ok(&buf[4..4 + len])
}

/// The number of bytes a VPD page says it has (header included), so a
/// caller can fetch again with a larger buffer.
pub fn page_needed_len(buf: &[u8]) -> Option<usize> {
    (buf.len() >= 4).then(|| 4 + usize::from(u16::from_be_bytes([buf[2], buf[3]])))
}

/// Decodes page 0x00: the list of supported page codes.
pub fn decode_supported_pages(buf: &[u8]) -> Result<Vec<u8>, DecodeError> {
    Ok(page_body("Supported VPD pages", buf, page::SUPPORTED)?.to_vec())
}

/// Decodes page 0x80: the unit serial number, as returned (trailing and
/// leading spaces removed; non-printable bytes replaced by '?').
pub fn decode_unit_serial(buf: &[u8]) -> Result<String, DecodeError> {
    let body = page_body("Unit Serial Number VPD page", buf, page::UNIT_SERIAL)?;
    Ok(super::inquiry::ascii_trim(body).trim_start().to_string())
}

/// Designator types (SPC-4 table 590).
pub mod designator_type {
    pub const VENDOR: u8 = 0x0;
    pub const T10: u8 = 0x1;
    pub const EUI64: u8 = 0x2;
    pub const NAA: u8 = 0x3;
    pub const RELATIVE_TARGET_PORT: u8 = 0x4;
    pub const TARGET_PORT_GROUP: u8 = 0x5;
    pub const LU_GROUP: u8 = 0x6;
    pub const MD5: u8 = 0x7;
    pub const SCSI_NAME: u8 = 0x8;
    pub const PROTOCOL_PORT: u8 = 0x9;
    pub const UUID: u8 = 0xa;
}

/// Code sets (SPC-4 table 588).
pub mod code_set {
    pub const BINARY: u8 = 0x1;
    pub const ASCII: u8 = 0x2;
    pub const UTF8: u8 = 0x3;
}

/// Associations (SPC-4 table 589).
pub mod association {
    pub const LU: u8 = 0x0;
    pub const TARGET_PORT: u8 = 0x1;
    pub const TARGET_DEVICE: u8 = 0x2;
}

/// One designation descriptor of page 0x83.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Designator {
    /// Protocol identifier (valid when `piv`).
    pub protocol_id: u8,
    /// Code set: 1 binary, 2 ASCII, 3 UTF-8.
    pub code_set: u8,
    /// Protocol identifier valid.
    pub piv: bool,
    /// Association: 0 logical unit, 1 target port, 2 target device.
    pub association: u8,
    /// Designator type (see [`designator_type`]).
    pub designator_type: u8,
    /// The designator bytes.
    #[serde(serialize_with = "ser_hex")]
    pub designator: Vec<u8>,
}

fn ser_hex<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(v))
}

/// Lower-case hex of `bytes`, no separators.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl Designator {
    /// The designator as text: ASCII/UTF-8 designators as their string
    /// (trailing NULs and spaces removed), binary ones as hex.
    pub fn value_string(&self) -> String {
        match self.code_set {
            code_set::ASCII | code_set::UTF8 => String::from_utf8_lossy(&self.designator)
                .trim_end_matches(['\0', ' '])
                .to_string(),
            _ => hex(&self.designator),
        }
    }

    /// The NAA field (high nibble of the first byte) of an NAA designator.
    pub fn naa_type(&self) -> Option<u8> {
        (self.designator_type == designator_type::NAA)
            .then(|| self.designator.first().map(|b| b >> 4))
            .flatten()
    }

    /// The relative target port identifier of a type 4 designator.
    pub fn relative_target_port(&self) -> Option<u16> {
        if self.designator_type == designator_type::RELATIVE_TARGET_PORT
            && self.designator.len() >= 4
        {
            Some(u16::from_be_bytes([self.designator[2], self.designator[3]]))
        } else {
            None
        }
    }
}

/// Decodes page 0x83 into its designation descriptors. Each descriptor's
/// length is checked against the page; an NAA designator's length must
/// match its NAA field (8 bytes for NAA 2, 3 and 5, 16 for NAA 6).
pub fn decode_device_identification(buf: &[u8]) -> Result<Vec<Designator>, DecodeError> {
    const WHAT: &str = "Device Identification VPD page";
    let mut body = page_body(WHAT, buf, page::DEVICE_ID)?;
    let mut out = Vec::new();
    while !body.is_empty() {
        DecodeError::check_len(WHAT, body, 4)?;
        let len = usize::from(body[3]);
        DecodeError::check_len(WHAT, body, 4 + len)?;
        let d = Designator {
            protocol_id: body[0] >> 4,
            code_set: body[0] & 0x0f,
            piv: body[1] & 0x80 != 0,
            association: (body[1] >> 4) & 0x03,
            designator_type: body[1] & 0x0f,
            designator: body[4..4 + len].to_vec(),
        };
        if let Some(naa) = d.naa_type() {
            let want = match naa {
                2 | 3 | 5 => 8,
                6 => 16,
                _ => len,
            };
            if len != want {
                return Err(DecodeError::malformed(
                    WHAT,
                    format!("NAA {naa} designator of {len} bytes, {want} expected"),
                ));
            }
        }
        out.push(d);
        body = &body[4 + len..];
    }
    Ok(out)
}

/// The logical unit's WWID as udev's scsi_id and multipath print it: the
/// designator type digit followed by the designator (`3` + NAA hex,
/// `2` + EUI-64 hex, `8` + SCSI name string, `1` + T10 vendor id).
///
/// Preference follows scsi_id: NAA (IEEE registered extended, registered,
/// extended, local), then EUI-64, then T10 vendor ID, then SCSI name
/// string; only designators associated with the logical unit count.
pub fn wwid(designators: &[Designator]) -> Option<Wwid> {
    let lu = || {
        designators
            .iter()
            .filter(|d| d.association == association::LU)
    };
    let rank = |d: &Designator| -> Option<u8> {
        match (d.designator_type, d.naa_type()) {
            (designator_type::NAA, Some(6)) => Some(0),
            (designator_type::NAA, Some(5)) => Some(1),
            (designator_type::NAA, Some(2)) => Some(2),
            (designator_type::NAA, Some(3)) => Some(3),
            (designator_type::NAA, _) => Some(4),
            (designator_type::EUI64, _) => Some(5),
            (designator_type::T10, _) => Some(6),
            (designator_type::SCSI_NAME, _) => Some(7),
            _ => None,
        }
    };
    let best = lu()
        .filter_map(|d| rank(d).map(|r| (r, d)))
        .min_by_key(|(r, _)| *r)?
        .1;
    let body = match best.designator_type {
        designator_type::T10 | designator_type::SCSI_NAME => {
            // scsi_id replaces spaces with underscores in text designators.
            best.value_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("_")
        }
        _ => hex(&best.designator),
    };
    Some(format!("{:x}{}", best.designator_type, body).into())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Page 0x83 as LIO returns it for a fileio LUN: NAA 6, T10 vendor ID,
    /// relative target port, target port group, LU group, SCSI name.
    pub(crate) fn lio_page83() -> Vec<u8> {
        let mut body = Vec::new();
        // NAA 6, LU, binary.
        body.extend_from_slice(&[0x01, 0x03, 0x00, 0x10]);
        body.extend_from_slice(&[
            0x60, 0x01, 0x40, 0x5a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde,
            0xf0, 0x12,
        ]);
        // T10 vendor ID, LU, ASCII.
        let t10 = b"LIO-ORG fk0001";
        body.extend_from_slice(&[0x02, 0x01, 0x00, u8::try_from(t10.len()).unwrap()]);
        body.extend_from_slice(t10);
        // Relative target port 1, target port association, PIV, protocol SAS(6).
        body.extend_from_slice(&[0x61, 0x94, 0x00, 0x04, 0, 0, 0, 1]);
        // Target port group 0.
        body.extend_from_slice(&[0x61, 0x95, 0x00, 0x04, 0, 0, 0, 0]);
        // SCSI name string, target port, UTF-8, padded to 4.
        let name = b"naa.5001405aaaaaaaaa,t,0x0001\0\0\0";
        body.extend_from_slice(&[0x63, 0x98, 0x00, u8::try_from(name.len()).unwrap()]);
        body.extend_from_slice(name);
        let mut page = vec![0x00, 0x83];
        page.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        page.extend_from_slice(&body);
        page
    }

    #[test]
    fn lio_device_identification() {
        let d = decode_device_identification(&lio_page83()).unwrap();
        assert_eq!(d.len(), 5);
        assert_eq!(d[0].naa_type(), Some(6));
        assert_eq!(d[1].value_string(), "LIO-ORG fk0001");
        assert_eq!(d[2].relative_target_port(), Some(1));
        assert_eq!(d[2].association, association::TARGET_PORT);
        assert!(d[2].piv);
        assert_eq!(d[4].value_string(), "naa.5001405aaaaaaaaa,t,0x0001");
        assert_eq!(wwid(&d).unwrap(), "36001405abcdef0123456789abcdef012");
    }

    #[test]
    fn wwid_falls_back_to_eui_then_t10() {
        let mut d = decode_device_identification(&lio_page83()).unwrap();
        d.remove(0);
        assert_eq!(wwid(&d).unwrap(), "1LIO-ORG_fk0001");
        d.insert(
            0,
            Designator {
                protocol_id: 0,
                code_set: 1,
                piv: false,
                association: 0,
                designator_type: 2,
                designator: vec![0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77],
            },
        );
        assert_eq!(wwid(&d).unwrap(), "20011223344556677");
        // Target-port designators alone give no WWID.
        assert_eq!(wwid(&d[2..3]), None);
    }

    #[test]
    fn malformed_pages_are_errors() {
        let p = lio_page83();
        // Truncated page.
        assert!(decode_device_identification(&p[..p.len() - 1]).is_err());
        // Wrong page code.
        let mut q = p.clone();
        q[1] = 0x80;
        assert!(decode_device_identification(&q).is_err());
        // A descriptor length that runs past the page.
        let mut r = p.clone();
        r[7] = 0x40;
        assert!(decode_device_identification(&r).is_err());
        // NAA 6 with 8 bytes.
        let bad = [
            0x00, 0x83, 0x00, 0x0c, 0x01, 0x03, 0x00, 0x08, 0x60, 1, 2, 3, 4, 5, 6, 7,
        ];
        assert!(matches!(
            decode_device_identification(&bad),
            Err(DecodeError::Malformed { .. })
        ));
        assert_eq!(page_needed_len(&p), Some(p.len()));
    }

    #[test]
    fn serial_and_supported_pages() {
        let p80 = [
            0x00, 0x80, 0x00, 0x08, b' ', b'f', b'k', b'0', b'0', b'1', b' ', b' ',
        ];
        assert_eq!(decode_unit_serial(&p80).unwrap(), "fk001");
        let p00 = [0x00, 0x00, 0x00, 0x03, 0x00, 0x80, 0x83];
        assert_eq!(
            decode_supported_pages(&p00).unwrap(),
            vec![0x00, 0x80, 0x83]
        );
        assert!(decode_unit_serial(&p00).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Ok(d) = decode_device_identification(&bytes) {
                let _ = wwid(&d);
            }
            let _ = decode_unit_serial(&bytes);
            let _ = decode_supported_pages(&bytes);
        }
    }
}
