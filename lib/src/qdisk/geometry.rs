//! Where the qdisk blocks lie on a device (`disk.h`: `HEADER_SIZE`,
//! `OFFSET_FIRST_STATUS_BLOCK`, `SPACE_PER_STATUS_BLOCK`, `END_OF_DISK`).
//!
//! The quorum header is at offset 0; the status block of node n (1..=16) at
//! `B + B * (n - 1)`, where `B = max(sector size, 4096)`. The qdisk region,
//! and the least size of a device, is `B + 17 * B` (72 KiB for sectors of up
//! to 4096 bytes). Each block is written as one logical sector.

use super::format::MAX_NODES;

/// Why a geometry is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeometryError {
    /// The sector size is not a power of two from 512 to 65536.
    #[error("sector size {0} is not supported (a power of two from 512 to 65536)")]
    SectorSize(u32),
    /// The device is smaller than the qdisk region.
    #[error("device holds {size} bytes, a quorum disk needs at least {needed}")]
    TooSmall { size: u64, needed: u64 },
}

/// The layout of a quorum disk on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    sector_size: u32,
    device_size: u64,
}

impl Geometry {
    /// The layout for a device with this logical sector size and size.
    pub fn new(sector_size: u32, device_size: u64) -> Result<Geometry, GeometryError> {
        if !sector_size.is_power_of_two() || !(512..=65536).contains(&sector_size) {
            return Err(GeometryError::SectorSize(sector_size));
        }
        let g = Geometry {
            sector_size,
            device_size,
        };
        if device_size < g.region_end() {
            return Err(GeometryError::TooSmall {
                size: device_size,
                needed: g.region_end(),
            });
        }
        Ok(g)
    }

    /// The minimum device size for this sector size.
    pub fn min_device_size(sector_size: u32) -> u64 {
        Self::block_space_for(sector_size) * (u64::from(MAX_NODES) + 2)
    }

    fn block_space_for(sector_size: u32) -> u64 {
        u64::from(sector_size.max(4096))
    }

    /// The logical sector size: every block is written as one sector.
    pub fn sector_size(&self) -> u32 {
        self.sector_size
    }

    /// The device size in bytes.
    pub fn device_size(&self) -> u64 {
        self.device_size
    }

    /// Space given to each block: `max(sector size, 4096)`.
    pub fn block_space(&self) -> u64 {
        Self::block_space_for(self.sector_size)
    }

    /// Offset of the quorum header.
    pub fn header_offset(&self) -> u64 {
        0
    }

    /// Offset of node `node`'s status block, or `None` outside 1..=16.
    pub fn status_offset(&self, node: u32) -> Option<u64> {
        (1..=MAX_NODES)
            .contains(&node)
            .then(|| self.block_space() + self.block_space() * u64::from(node - 1))
    }

    /// End of the qdisk region (`END_OF_DISK`): nothing is written at or after it.
    pub fn region_end(&self) -> u64 {
        Self::min_device_size(self.sector_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_for_512_and_4096() {
        for ssz in [512, 4096] {
            let g = Geometry::new(ssz, 1 << 20).unwrap();
            assert_eq!(g.header_offset(), 0);
            assert_eq!(g.status_offset(1), Some(4096));
            assert_eq!(g.status_offset(16), Some(65536));
            assert_eq!(g.status_offset(0), None);
            assert_eq!(g.status_offset(17), None);
            assert_eq!(g.region_end(), 73728);
        }
        let g = Geometry::new(8192, 1 << 20).unwrap();
        assert_eq!(g.status_offset(2), Some(16384));
        assert_eq!(g.region_end(), 8192 * 18);
    }

    #[test]
    fn minimum_size() {
        assert!(Geometry::new(512, 73728).is_ok());
        assert_eq!(
            Geometry::new(512, 73727),
            Err(GeometryError::TooSmall {
                size: 73727,
                needed: 73728
            })
        );
        assert_eq!(
            Geometry::new(1000, 1 << 20),
            Err(GeometryError::SectorSize(1000))
        );
    }
}
