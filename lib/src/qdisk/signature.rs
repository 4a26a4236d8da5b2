//! Recognising data that `qdisk create` would destroy.
//!
//! The checks look only at the first 72 KiB (the qdisk region): file-system
//! superblocks (ext2/3/4, XFS, btrfs, swap), an LVM physical-volume label,
//! a partition table (MBR with a used entry, GPT header) and an existing
//! quorum disk. Offsets are those of libblkid's probes.

use super::format::{decode_block, QuorumHeader};

/// Something found on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// ext2/3/4 superblock magic 0xEF53 at byte 1080.
    Ext,
    /// XFS superblock magic `XFSB` at byte 0.
    Xfs,
    /// btrfs superblock magic `_BHRfS_M` at byte 65600.
    Btrfs,
    /// Swap signature `SWAPSPACE2` (or `SWAP-SPACE`) at the end of the first page.
    Swap,
    /// LVM2 physical-volume label `LABELONE` in one of sectors 0 to 3.
    LvmPv { sector: u32 },
    /// DOS/MBR partition table: 0x55AA at 510 and a used partition entry.
    Mbr,
    /// GPT header `EFI PART` at LBA 1 (for 512- or 4096-byte sectors).
    Gpt { lba1_offset: u32 },
    /// A quorum disk, with its label.
    Qdisk { label: String },
}

impl Signature {
    /// A short description for messages.
    pub fn describe(&self) -> String {
        match self {
            Signature::Ext => "an ext2/ext3/ext4 file system".into(),
            Signature::Xfs => "an XFS file system".into(),
            Signature::Btrfs => "a btrfs file system".into(),
            Signature::Swap => "a swap area".into(),
            Signature::LvmPv { sector } => {
                format!("an LVM physical volume label (sector {sector})")
            }
            Signature::Mbr => "an MBR partition table with partitions".into(),
            Signature::Gpt { lba1_offset } => {
                format!("a GPT partition table (header at byte {lba1_offset})")
            }
            Signature::Qdisk { label } => format!("a quorum disk labelled '{label}'"),
        }
    }
}

fn at(buf: &[u8], off: usize, magic: &[u8]) -> bool {
    buf.get(off..off + magic.len()) == Some(magic)
}

/// Every signature found in `buf`, the first bytes of a device (72 KiB
/// covers them all; a shorter buffer simply finds less).
pub fn detect(buf: &[u8]) -> Vec<Signature> {
    let mut found = Vec::new();
    if at(buf, 1080, &[0x53, 0xEF]) {
        found.push(Signature::Ext);
    }
    if at(buf, 0, b"XFSB") {
        found.push(Signature::Xfs);
    }
    if at(buf, 65600, b"_BHRfS_M") {
        found.push(Signature::Btrfs);
    }
    if at(buf, 4086, b"SWAPSPACE2") || at(buf, 4086, b"SWAP-SPACE") {
        found.push(Signature::Swap);
    }
    for sector in 0..4u32 {
        if at(buf, sector as usize * 512, b"LABELONE") {
            found.push(Signature::LvmPv { sector });
        }
    }
    if at(buf, 510, &[0x55, 0xAA]) {
        let used = (0..4).any(|i| {
            let e = 446 + 16 * i;
            // Partition type byte, and the sector count.
            buf.get(e + 4).is_some_and(|&t| t != 0)
                || buf.get(e + 12..e + 16).is_some_and(|n| n != [0, 0, 0, 0])
        });
        if used {
            found.push(Signature::Mbr);
        }
    }
    for lba1 in [512u32, 4096] {
        if at(buf, lba1 as usize, b"EFI PART") {
            found.push(Signature::Gpt { lba1_offset: lba1 });
        }
    }
    if let Ok((_, qh)) = decode_block::<QuorumHeader>(buf) {
        found.push(Signature::Qdisk { label: qh.label() });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qdisk::format::{encode_block, BlockMeta};

    fn blank() -> Vec<u8> {
        vec![0u8; 73728]
    }

    #[test]
    fn blank_is_clean() {
        assert!(detect(&blank()).is_empty());
        assert!(detect(&[]).is_empty());
    }

    #[test]
    fn each_signature() {
        let mut b = blank();
        b[1080] = 0x53;
        b[1081] = 0xEF;
        assert_eq!(detect(&b), vec![Signature::Ext]);

        let mut b = blank();
        b[..4].copy_from_slice(b"XFSB");
        assert_eq!(detect(&b), vec![Signature::Xfs]);

        let mut b = blank();
        b[65600..65608].copy_from_slice(b"_BHRfS_M");
        assert_eq!(detect(&b), vec![Signature::Btrfs]);

        let mut b = blank();
        b[4086..4096].copy_from_slice(b"SWAPSPACE2");
        assert_eq!(detect(&b), vec![Signature::Swap]);

        let mut b = blank();
        b[512..520].copy_from_slice(b"LABELONE");
        assert_eq!(detect(&b), vec![Signature::LvmPv { sector: 1 }]);

        let mut b = blank();
        b[510] = 0x55;
        b[511] = 0xAA;
        // Boot signature alone, no partition: not a table worth keeping.
        assert!(detect(&b).is_empty());
        b[446 + 4] = 0x83;
        assert_eq!(detect(&b), vec![Signature::Mbr]);

        let mut b = blank();
        b[4096..4104].copy_from_slice(b"EFI PART");
        assert_eq!(detect(&b), vec![Signature::Gpt { lba1_offset: 4096 }]);

        let mut b = blank();
        let qh = QuorumHeader::new("other", "h", 1, 512);
        encode_block(BlockMeta::default(), &qh, &mut b[..512]).unwrap();
        assert_eq!(
            detect(&b),
            vec![Signature::Qdisk {
                label: "other".into()
            }]
        );
    }
}
