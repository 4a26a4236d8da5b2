//! Persistent reservation commands on one device (SPC-4 §6.15, §6.16):
//! each PR IN service action decoded, each PR OUT service action named
//! after the standard.

use super::device::Device;
use super::error::{CommandName, ScsiError};
use super::pr::{
    pr_in_needed_len, Capabilities, FullStatus, InServiceAction, Key, OutServiceAction, PrType,
    ProutParams, ReadKeys, ReadReservation, RegisterAndMove,
};
use super::transport::Transport;

/// LU_SCOPE, the only scope SPC-4 still defines.
pub const LU_SCOPE: u8 = 0;

fn in_name(sa: InServiceAction) -> CommandName {
    CommandName(format!("PERSISTENT RESERVE IN({})", sa.name()))
}

fn out_name(sa: OutServiceAction) -> CommandName {
    CommandName(format!("PERSISTENT RESERVE OUT({})", sa.name()))
}

impl<T: Transport> Device<T> {
    /// PERSISTENT RESERVE IN: the raw response. With `refetch`, a response
    /// longer than `alloc` is fetched again with a buffer that holds it all
    /// (sg_persist does not do this; `prkeys` does).
    pub fn pr_in_raw(
        &self,
        sa: InServiceAction,
        alloc: u16,
        refetch: bool,
    ) -> Result<Vec<u8>, ScsiError> {
        let name = in_name(sa);
        let mut alloc = alloc.max(8);
        loop {
            let buf = self.data_in(&name, &sa.cdb(alloc), usize::from(alloc))?;
            match pr_in_needed_len(sa, &buf) {
                Some(n) if refetch && n > usize::from(alloc) && alloc < u16::MAX => {
                    alloc = u16::try_from(n).unwrap_or(u16::MAX);
                }
                _ => return Ok(buf),
            }
        }
    }

    fn pr_in_decoded<R>(
        &self,
        sa: InServiceAction,
        decode: impl Fn(&[u8]) -> Result<R, super::error::DecodeError>,
    ) -> Result<R, ScsiError> {
        let raw = self.pr_in_raw(sa, super::device::PR_IN_DEFAULT_ALLOC, true)?;
        decode(&raw).map_err(|source| ScsiError::Malformed {
            device: self.name().to_string(),
            command: in_name(sa),
            source,
        })
    }

    /// READ KEYS: the registered keys and the PR generation.
    pub fn read_keys(&self) -> Result<ReadKeys, ScsiError> {
        self.pr_in_decoded(InServiceAction::ReadKeys, ReadKeys::decode)
    }

    /// READ RESERVATION: the reservation, if any.
    pub fn read_reservation(&self) -> Result<ReadReservation, ScsiError> {
        self.pr_in_decoded(InServiceAction::ReadReservation, ReadReservation::decode)
    }

    /// REPORT CAPABILITIES.
    pub fn report_capabilities(&self) -> Result<Capabilities, ScsiError> {
        self.pr_in_decoded(InServiceAction::ReportCapabilities, Capabilities::decode)
    }

    /// READ FULL STATUS: every registration with its I_T nexus.
    pub fn read_full_status(&self) -> Result<FullStatus, ScsiError> {
        self.pr_in_decoded(InServiceAction::ReadFullStatus, FullStatus::decode)
    }

    /// PERSISTENT RESERVE OUT with a basic parameter list.
    pub fn pr_out(
        &self,
        sa: OutServiceAction,
        pr_type: PrType,
        params: &ProutParams,
    ) -> Result<(), ScsiError> {
        self.persistent_reserve_out(
            sa.code(),
            LU_SCOPE,
            pr_type.code(),
            &params.encode(),
            &out_name(sa),
        )
    }

    fn simple_out(
        &self,
        sa: OutServiceAction,
        pr_type: PrType,
        key: Key,
        sa_key: Key,
        aptpl: bool,
    ) -> Result<(), ScsiError> {
        let p = ProutParams {
            key,
            sa_key,
            aptpl,
            ..Default::default()
        };
        self.pr_out(sa, pr_type, &p)
    }

    /// REGISTER: replace `old` (0 when not registered) with `new`; a `new`
    /// of 0 unregisters.
    pub fn register(&self, old: Key, new: Key, aptpl: bool) -> Result<(), ScsiError> {
        self.simple_out(
            OutServiceAction::Register,
            PrType::from_code(0),
            old,
            new,
            aptpl,
        )
    }

    /// REGISTER AND IGNORE EXISTING KEY: register `new` whatever this nexus
    /// held before.
    pub fn register_and_ignore(&self, new: Key, aptpl: bool) -> Result<(), ScsiError> {
        self.simple_out(
            OutServiceAction::RegisterAndIgnore,
            PrType::from_code(0),
            Key(0),
            new,
            aptpl,
        )
    }

    /// RESERVE with the holder's key.
    pub fn reserve(&self, key: Key, pr_type: PrType) -> Result<(), ScsiError> {
        self.simple_out(OutServiceAction::Reserve, pr_type, key, Key(0), false)
    }

    /// RELEASE the reservation held with `key`.
    pub fn release(&self, key: Key, pr_type: PrType) -> Result<(), ScsiError> {
        self.simple_out(OutServiceAction::Release, pr_type, key, Key(0), false)
    }

    /// CLEAR every registration and the reservation.
    pub fn clear(&self, key: Key) -> Result<(), ScsiError> {
        self.simple_out(
            OutServiceAction::Clear,
            PrType::from_code(0),
            key,
            Key(0),
            false,
        )
    }

    /// PREEMPT the registrations (and reservation) of `victim`.
    pub fn preempt(&self, key: Key, victim: Key, pr_type: PrType) -> Result<(), ScsiError> {
        self.simple_out(OutServiceAction::Preempt, pr_type, key, victim, false)
    }

    /// PREEMPT AND ABORT: as PREEMPT, and abort the victim's outstanding
    /// commands, so nothing it queued reaches the medium.
    pub fn preempt_and_abort(
        &self,
        key: Key,
        victim: Key,
        pr_type: PrType,
    ) -> Result<(), ScsiError> {
        self.simple_out(
            OutServiceAction::PreemptAndAbort,
            pr_type,
            key,
            victim,
            false,
        )
    }

    /// REGISTER AND MOVE the reservation to another I_T nexus.
    pub fn register_and_move(
        &self,
        params: &RegisterAndMove,
        pr_type: PrType,
    ) -> Result<(), ScsiError> {
        let sa = OutServiceAction::RegisterAndMove;
        self.persistent_reserve_out(
            sa.code(),
            LU_SCOPE,
            pr_type.code(),
            &params.encode(),
            &out_name(sa),
        )
    }

    /// REPLACE LOST RESERVATION (SPC-5).
    pub fn replace_lost(&self, key: Key, pr_type: PrType) -> Result<(), ScsiError> {
        self.simple_out(OutServiceAction::ReplaceLost, pr_type, key, Key(0), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scsi::device::tests::Scripted;
    use crate::scsi::transport::Completion;

    fn ok(data: Vec<u8>) -> (Completion, Vec<u8>) {
        (Completion::default(), data)
    }

    #[test]
    fn read_keys_decodes_and_names_errors() {
        let keys = vec![
            0, 0, 0, 2, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2,
        ];
        let d = Device::new(Scripted::new(vec![ok(keys)]));
        let k = d.read_keys().unwrap();
        assert_eq!(k.keys, vec![Key(1), Key(2)]);
        assert_eq!(d.transport().cdbs.lock().unwrap()[0][..2], [0x5e, 0x00]);

        // A key list whose length is not a multiple of 8 is malformed.
        let d = Device::new(Scripted::new(vec![ok(vec![
            0, 0, 0, 1, 0, 0, 0, 4, 1, 2, 3, 4,
        ])]));
        let e = d.read_keys().unwrap_err();
        assert_eq!(e.exit_code(), 97);
        assert!(
            e.to_string().contains("PERSISTENT RESERVE IN(Read keys)")
                || e.to_string().contains("PERSISTENT RESERVE IN("),
            "{e}"
        );
    }

    #[test]
    fn preempt_and_abort_sends_the_anchor_cdb_and_list() {
        let d = Device::new(Scripted::new(vec![ok(vec![])]));
        d.preempt_and_abort(Key(0x1), Key(0x2), PrType::from_code(5))
            .unwrap();
        let cdbs = d.transport().cdbs.lock().unwrap();
        assert_eq!(cdbs[0], vec![0x5f, 0x05, 0x05, 0, 0, 0, 0, 0, 0x18, 0]);
        let out = d.transport().data_out.lock().unwrap();
        let mut want = vec![0u8; 24];
        want[7] = 1;
        want[15] = 2;
        assert_eq!(out[0], want);
    }

    #[test]
    fn pr_in_refetches_when_the_device_has_more() {
        // 2000 keys = 16000 bytes of keys: more than the first 8192.
        let mut full = vec![0, 0, 0, 7];
        full.extend_from_slice(&16000u32.to_be_bytes());
        full.extend((1..=2000u64).flat_map(|k| k.to_be_bytes()));
        let t = Scripted::new(vec![
            (Completion::default(), full.clone()),
            (Completion::default(), full.clone()),
        ]);
        let d = Device::new(t);
        let got = d.read_keys().unwrap();
        assert_eq!(got.generation, 7);
        assert_eq!(got.keys.len(), 2000);
        assert_eq!(got.keys[1999], Key(2000));
        let cdbs = d.transport().cdbs.lock().unwrap();
        assert_eq!(cdbs.len(), 2);
        assert_eq!(u16::from_be_bytes([cdbs[1][7], cdbs[1][8]]), 16008);
    }
}
