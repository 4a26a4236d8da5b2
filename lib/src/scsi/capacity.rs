//! READ CAPACITY(16) parameter data (SBC-3 §5.16.2).

use serde::Serialize;

use super::error::DecodeError;

/// Capacity and block geometry of a logical unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capacity {
    /// Address of the last logical block.
    pub last_lba: u64,
    /// Logical block length in bytes.
    pub block_len: u32,
    /// Logical blocks per physical block, as a power of two exponent.
    pub lb_per_pb_exp: u8,
    /// Protection enabled.
    pub prot_en: bool,
    /// Thin provisioning enabled (LBPME).
    pub thin: bool,
}

impl Capacity {
    /// Decodes READ CAPACITY(16) data; at least 32 bytes are needed and the
    /// block length must not be zero.
    pub fn decode(buf: &[u8]) -> Result<Capacity, DecodeError> {
        const WHAT: &str = "READ CAPACITY(16) data";
        DecodeError::check_len(WHAT, buf, 32)?;
        let mut lba = [0u8; 8];
        lba.copy_from_slice(&buf[0..8]);
        let block_len = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        if block_len == 0 {
            return Err(DecodeError::malformed(WHAT, "logical block length is 0"));
        }
        Ok(Capacity {
            last_lba: u64::from_be_bytes(lba),
            block_len,
            lb_per_pb_exp: buf[13] & 0x0f,
            prot_en: buf[12] & 0x01 != 0,
            thin: buf[14] & 0x80 != 0,
        })
    }

    /// Size in bytes (saturating).
    pub fn bytes(&self) -> u64 {
        self.last_lba
            .saturating_add(1)
            .saturating_mul(u64::from(self.block_len))
    }

    /// Physical block size in bytes.
    pub fn physical_block_len(&self) -> u64 {
        u64::from(self.block_len) << self.lb_per_pb_exp.min(16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_64_mib_of_512_byte_blocks() {
        let mut b = [0u8; 32];
        b[4..8].copy_from_slice(&0x1ffffu32.to_be_bytes());
        b[8..12].copy_from_slice(&512u32.to_be_bytes());
        b[13] = 3;
        let c = Capacity::decode(&b).unwrap();
        assert_eq!(c.bytes(), 64 << 20);
        assert_eq!(c.physical_block_len(), 4096);
        assert!(Capacity::decode(&b[..31]).is_err());
        b[8..12].copy_from_slice(&[0; 4]);
        assert!(Capacity::decode(&b).is_err());
    }
}
