//! Sense data (SPC-4 §4.5): fixed (0x70/0x71) and descriptor (0x72/0x73)
//! formats, decoded from the bytes the device returned.
//!
//! Decoding follows sg3_utils' `sg_scsi_normalize_sense`: the ASC/ASCQ of
//! fixed-format sense count only when the additional length covers them.
//! Short or unknown sense gives a [`DecodeError`], never a panic.

use serde::Serialize;

use super::category::Category;
use super::decode::DecodeError;
use crate::linux::sglib;

/// Sense keys (SPC-4 table 28).
pub mod key {
    pub const NO_SENSE: u8 = 0x0;
    pub const RECOVERED_ERROR: u8 = 0x1;
    pub const NOT_READY: u8 = 0x2;
    pub const MEDIUM_ERROR: u8 = 0x3;
    pub const HARDWARE_ERROR: u8 = 0x4;
    pub const ILLEGAL_REQUEST: u8 = 0x5;
    pub const UNIT_ATTENTION: u8 = 0x6;
    pub const DATA_PROTECT: u8 = 0x7;
    pub const BLANK_CHECK: u8 = 0x8;
    pub const COPY_ABORTED: u8 = 0xa;
    pub const ABORTED_COMMAND: u8 = 0xb;
    pub const MISCOMPARE: u8 = 0xe;
}

/// Decoded sense data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sense {
    /// Response code (0x70..0x73).
    pub response_code: u8,
    /// Descriptor format (0x72/0x73) rather than fixed.
    pub descriptor: bool,
    /// Deferred error (0x71/0x73).
    pub deferred: bool,
    /// Sense key.
    pub key: u8,
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
    /// The INFORMATION field, when valid.
    pub information: Option<u64>,
    /// The COMMAND-SPECIFIC INFORMATION field (fixed format), or None.
    pub command_specific: Option<u32>,
    /// Sense-key specific bytes, when SKSV is set.
    pub sense_key_specific: Option<[u8; 3]>,
    /// Progress indication (0..65535 of 65536), from the sense-key specific
    /// field of NOT READY / NO SENSE or the progress descriptor.
    pub progress: Option<u16>,
    /// Field replaceable unit code (fixed format), 0 when absent.
    pub fru: u8,
    /// The raw bytes, as returned.
    pub raw: Vec<u8>,
}

impl Sense {
    /// Decodes sense data of either format.
    pub fn decode(sb: &[u8]) -> Result<Sense, DecodeError> {
        const WHAT: &str = "sense data";
        DecodeError::check_len(WHAT, sb, 1)?;
        let rc = sb[0] & 0x7f;
        let mut s = Sense {
            response_code: rc,
            descriptor: false,
            deferred: false,
            key: 0,
            asc: 0,
            ascq: 0,
            information: None,
            command_specific: None,
            sense_key_specific: None,
            progress: None,
            fru: 0,
            raw: sb.to_vec(),
        };
        match rc {
            0x70 | 0x71 => {
                DecodeError::check_len(WHAT, sb, 3)?;
                s.deferred = rc == 0x71;
                s.key = sb[2] & 0x0f;
                let valid = sb[0] & 0x80 != 0;
                if valid && sb.len() >= 7 {
                    s.information = Some(u64::from(u32::from_be_bytes([sb[3], sb[4], sb[5], sb[6]])));
                }
                // The additional length bounds the rest; trust the smaller of
                // it and what we were given.
                let avail = if sb.len() > 7 { sb.len().min(8 + usize::from(sb[7])) } else { sb.len() };
                if avail >= 12 {
                    s.command_specific = Some(u32::from_be_bytes([sb[8], sb[9], sb[10], sb[11]]));
                }
                if avail >= 13 {
                    s.asc = sb[12];
                }
                if avail >= 14 {
                    s.ascq = sb[13];
                }
                if avail >= 15 {
                    s.fru = sb[14];
                }
                if avail >= 18 && sb[15] & 0x80 != 0 {
                    let sks = [sb[15], sb[16], sb[17]];
                    s.sense_key_specific = Some(sks);
                    if s.key == key::NOT_READY || s.key == key::NO_SENSE {
                        s.progress = Some(u16::from_be_bytes([sks[1], sks[2]]));
                    }
                }
            }
            0x72 | 0x73 => {
                DecodeError::check_len(WHAT, sb, 4)?;
                s.descriptor = true;
                s.deferred = rc == 0x73;
                s.key = sb[1] & 0x0f;
                s.asc = sb[2];
                s.ascq = sb[3];
                if sb.len() >= 8 {
                    let end = sb.len().min(8 + usize::from(sb[7]));
                    s.decode_descriptors(&sb[8..end]);
                }
            }
            _ => {
                return Err(DecodeError::malformed(
                    WHAT,
                    format!("response code 0x{rc:02x} is neither fixed (0x70/0x71) nor descriptor (0x72/0x73)"),
                ))
            }
        }
        Ok(s)
    }

    /// Walks the descriptors of descriptor-format sense. A descriptor whose
    /// length runs past the end ends the walk; what was decoded stays.
    fn decode_descriptors(&mut self, mut d: &[u8]) {
        while d.len() >= 2 {
            let typ = d[0];
            let len = usize::from(d[1]);
            let Some(body) = d.get(2..2 + len) else { break };
            match typ {
                // Information: VALID bit, reserved, 8-byte field.
                0x00 if len >= 10 && body[0] & 0x80 != 0 => {
                    let mut v = [0u8; 8];
                    v.copy_from_slice(&body[2..10]);
                    self.information = Some(u64::from_be_bytes(v));
                }
                // Command-specific information (low 32 bits kept).
                0x01 if len >= 10 => {
                    self.command_specific =
                        Some(u32::from_be_bytes([body[6], body[7], body[8], body[9]]));
                }
                // Sense-key specific.
                0x02 if len >= 5 && body[2] & 0x80 != 0 => {
                    let sks = [body[2], body[3], body[4]];
                    self.sense_key_specific = Some(sks);
                    if self.key == key::NOT_READY || self.key == key::NO_SENSE {
                        self.progress = Some(u16::from_be_bytes([sks[1], sks[2]]));
                    }
                }
                // Field replaceable unit.
                0x03 if len >= 2 => self.fru = body[1],
                // Progress indication: sense key, ASC, ASCQ, reserved, progress.
                0x0a if len >= 6 => self.progress = Some(u16::from_be_bytes([body[4], body[5]])),
                _ => {}
            }
            d = &d[2 + len..];
        }
    }

    /// sg3_utils' name of the sense key.
    pub fn key_text(&self) -> String {
        sglib::sense_key_str(self.key)
    }

    /// sg3_utils' text of the ASC/ASCQ, without sg_lib's
    /// "Additional sense: " lead-in ("Registrations preempted").
    pub fn asc_text(&self) -> String {
        let s = sglib::asc_ascq_str(self.asc, self.ascq);
        match s.strip_prefix("Additional sense: ") {
            Some(rest) => rest.to_string(),
            None => s,
        }
    }

    /// The sg3_utils category (`sg_err_category_sense`).
    pub fn category(&self) -> Category {
        match self.key {
            key::NO_SENSE => Category::NoSense,
            key::RECOVERED_ERROR => Category::Recovered,
            key::NOT_READY => Category::NotReady,
            key::MEDIUM_ERROR | key::HARDWARE_ERROR | key::BLANK_CHECK => Category::MediumHard,
            key::UNIT_ATTENTION => Category::UnitAttention,
            key::ILLEGAL_REQUEST => {
                if self.asc == 0x20 && self.ascq == 0x00 {
                    Category::InvalidOpcode
                } else {
                    Category::IllegalRequest
                }
            }
            key::DATA_PROTECT => Category::DataProtect,
            key::COPY_ABORTED => Category::CopyAborted,
            key::ABORTED_COMMAND => {
                if self.asc == 0x10 {
                    Category::Protection
                } else {
                    Category::AbortedCommand
                }
            }
            key::MISCOMPARE => Category::Miscompare,
            _ => Category::OtherSense,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixed-format UNIT ATTENTION 2A/05 as LIO returns it to a preempted node.
    const UA_FIXED: [u8; 18] = [
        0x70, 0, 0x06, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x2a, 0x05, 0, 0, 0, 0,
    ];

    #[test]
    fn fixed_unit_attention() {
        let s = Sense::decode(&UA_FIXED).unwrap();
        assert!(!s.descriptor);
        assert_eq!((s.key, s.asc, s.ascq), (6, 0x2a, 0x05));
        assert_eq!(s.category(), Category::UnitAttention);
        assert_eq!(s.asc_text(), "Registrations preempted");
        assert_eq!(s.information, None);
    }

    #[test]
    fn fixed_with_information_and_sks() {
        // ILLEGAL REQUEST, INVALID FIELD IN CDB, SKSV with C/D set, field byte 1.
        let sb = [
            0xf0, 0, 0x05, 0x00, 0x00, 0x12, 0x34, 0x0a, 0, 0, 0, 0, 0x24, 0x00, 0, 0xc0, 0x00,
            0x01,
        ];
        let s = Sense::decode(&sb).unwrap();
        assert_eq!(s.information, Some(0x1234));
        assert_eq!(s.sense_key_specific, Some([0xc0, 0x00, 0x01]));
        assert_eq!(s.category(), Category::IllegalRequest);
    }

    #[test]
    fn fixed_asc_beyond_additional_length_is_ignored() {
        // Additional length 2 covers only bytes 8..10: no ASC/ASCQ.
        let mut sb = UA_FIXED;
        sb[7] = 2;
        let s = Sense::decode(&sb).unwrap();
        assert_eq!((s.asc, s.ascq), (0, 0));
    }

    #[test]
    fn descriptor_format_with_information_and_progress() {
        let sb = [
            0x72, 0x02, 0x04, 0x04, 0, 0, 0, 0x14, // header, additional length 20
            0x00, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00, // information = 0x1000
            0x0a, 0x06, 0x02, 0x04, 0x04, 0, 0x80, 0x00, // progress 0x8000
        ];
        let s = Sense::decode(&sb).unwrap();
        assert!(s.descriptor);
        assert_eq!((s.key, s.asc, s.ascq), (2, 4, 4));
        assert_eq!(s.information, Some(0x1000));
        assert_eq!(s.progress, Some(0x8000));
        assert_eq!(s.category(), Category::NotReady);
    }

    #[test]
    fn descriptor_overrunning_length_stops_the_walk() {
        let sb = [0x72, 0x06, 0x2a, 0x03, 0, 0, 0, 0x04, 0x00, 0x0a, 0x80, 0];
        let s = Sense::decode(&sb).unwrap();
        assert_eq!(s.information, None);
        assert_eq!((s.key, s.asc, s.ascq), (6, 0x2a, 0x03));
    }

    #[test]
    fn malformed_sense_is_an_error() {
        assert!(Sense::decode(&[]).is_err());
        assert!(Sense::decode(&[0x70, 0]).is_err());
        assert!(Sense::decode(&[0x72, 6]).is_err());
        assert!(matches!(
            Sense::decode(&[0x00; 18]),
            Err(DecodeError::Malformed { .. })
        ));
    }

    #[test]
    fn invalid_opcode_and_protection_categories() {
        let mut sb = UA_FIXED;
        sb[2] = 5;
        sb[12] = 0x20;
        sb[13] = 0;
        assert_eq!(
            Sense::decode(&sb).unwrap().category(),
            Category::InvalidOpcode
        );
        sb[2] = 0xb;
        sb[12] = 0x10;
        assert_eq!(Sense::decode(&sb).unwrap().category(), Category::Protection);
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = Sense::decode(&bytes);
        }
    }
}
