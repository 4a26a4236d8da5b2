//! Commands on one device: INQUIRY, VPD, TEST UNIT READY, READ CAPACITY and
//! raw PERSISTENT RESERVE IN/OUT, over any [`Transport`].
//!
//! This layer owns the policies that every command shares: the timeout, the
//! unit-attention retry policy chosen by the caller, and re-fetching a
//! response that did not fit the buffer (PR IN and VPD pages say how long
//! they are; SPC-4 §6.16 and §7.8).

use super::wwid::Wwid;
use std::time::Duration;

use super::capacity::Capacity;
use super::cdb;
use super::error::{CommandName, DecodeError, ScsiError};
use super::inquiry::StandardInquiry;
use super::transport::{Completion, Data, Request, RetryPolicy, Transport, DEFAULT_TIMEOUT};
use super::vpd;

/// Allocation length sg_persist uses for PR IN by default (MX_ALLOC_LEN).
pub const PR_IN_DEFAULT_ALLOC: u16 = 8192;

/// Who a logical unit is: standard INQUIRY data, the unit serial number
/// (VPD 0x80, if the device has it), the designators of VPD 0x83 and the
/// WWID derived from them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// Standard INQUIRY data.
    pub inquiry: StandardInquiry,
    /// Unit serial number.
    pub serial: Option<String>,
    /// Device identification designators.
    pub designators: Vec<vpd::Designator>,
    /// The WWID in udev's form (`3` + NAA hex, ...).
    pub wwid: Option<Wwid>,
}

/// Ok(None) for ILLEGAL REQUEST (an optional page or command the device
/// lacks), the value or the error otherwise.
fn tolerate<V>(r: Result<V, ScsiError>) -> Result<Option<V>, ScsiError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ScsiError::IllegalRequest { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A device and the policies its commands run under.
#[derive(Debug)]
pub struct Device<T: Transport> {
    transport: T,
    /// Timeout of each command.
    pub timeout: Duration,
    /// What to do with UNIT ATTENTION.
    pub retry: RetryPolicy,
}

impl<T: Transport> Device<T> {
    /// Wraps a transport with the default timeout and no UA retry.
    pub fn new(transport: T) -> Device<T> {
        Device {
            transport,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::NONE,
        }
    }

    /// The device name, as given when it was opened.
    pub fn name(&self) -> &str {
        self.transport.device()
    }

    /// The underlying transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Sends one command, retrying on UNIT ATTENTION as the policy allows.
    /// Returns the completion of the last attempt when it succeeded.
    fn run(
        &self,
        name: &CommandName,
        cdb: &[u8],
        mut data: Data<'_>,
    ) -> Result<Completion, ScsiError> {
        let mut attempt = 0;
        loop {
            let d = match &mut data {
                Data::None => Data::None,
                Data::In(b) => Data::In(b),
                Data::Out(b) => Data::Out(b),
            };
            let c = self
                .transport
                .execute(Request {
                    cdb,
                    data: d,
                    timeout: self.timeout,
                })
                .map_err(|source| ScsiError::Os {
                    device: self.name().to_string(),
                    command: name.clone(),
                    source,
                })?;
            match c.check(self.name(), name) {
                Ok(()) => return Ok(c),
                Err(e) if e.is_unit_attention() && attempt < self.retry.unit_attention_retries => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends a data-in command and returns the bytes received.
    pub fn data_in(
        &self,
        name: &CommandName,
        cdb: &[u8],
        alloc: usize,
    ) -> Result<Vec<u8>, ScsiError> {
        let mut buf = vec![0u8; alloc];
        let c = self.run(name, cdb, Data::In(&mut buf))?;
        buf.truncate(c.received(alloc));
        Ok(buf)
    }

    /// Sends a data-out command.
    pub fn data_out(&self, name: &CommandName, cdb: &[u8], data: &[u8]) -> Result<(), ScsiError> {
        self.run(name, cdb, Data::Out(data)).map(|_| ())
    }

    /// Sends a command without data.
    pub fn no_data(&self, name: &CommandName, cdb: &[u8]) -> Result<(), ScsiError> {
        self.run(name, cdb, Data::None).map(|_| ())
    }

    fn malformed(&self, name: &CommandName, source: DecodeError) -> ScsiError {
        ScsiError::Malformed {
            device: self.name().to_string(),
            command: name.clone(),
            source,
        }
    }

    /// TEST UNIT READY.
    pub fn test_unit_ready(&self) -> Result<(), ScsiError> {
        self.no_data(&"TEST UNIT READY".into(), &cdb::test_unit_ready())
    }

    /// Standard INQUIRY data, raw (as many bytes as the device returned, at
    /// most 96).
    pub fn inquiry_raw(&self) -> Result<Vec<u8>, ScsiError> {
        self.data_in(&"INQUIRY".into(), &cdb::inquiry(None, 96), 96)
    }

    /// Standard INQUIRY data, decoded.
    pub fn inquiry(&self) -> Result<StandardInquiry, ScsiError> {
        let raw = self.inquiry_raw()?;
        StandardInquiry::decode(&raw).map_err(|e| self.malformed(&"INQUIRY".into(), e))
    }

    /// A VPD page, fetched again with a larger buffer when the page says it
    /// is longer than the first one.
    pub fn vpd_page(&self, page: u8) -> Result<Vec<u8>, ScsiError> {
        let name = CommandName(format!("INQUIRY(VPD page 0x{page:02x})"));
        let mut alloc: u16 = 252;
        loop {
            let buf = self.data_in(&name, &cdb::inquiry(Some(page), alloc), usize::from(alloc))?;
            match vpd::page_needed_len(&buf) {
                Some(n) if n > usize::from(alloc) && alloc < u16::MAX => {
                    alloc = u16::try_from(n).unwrap_or(u16::MAX);
                }
                _ => return Ok(buf),
            }
        }
    }

    /// Device Identification (VPD 0x83), decoded.
    pub fn device_identification(&self) -> Result<Vec<vpd::Designator>, ScsiError> {
        let raw = self.vpd_page(vpd::page::DEVICE_ID)?;
        vpd::decode_device_identification(&raw)
            .map_err(|e| self.malformed(&"INQUIRY(VPD page 0x83)".into(), e))
    }

    /// Unit serial number (VPD 0x80).
    pub fn unit_serial(&self) -> Result<String, ScsiError> {
        let raw = self.vpd_page(vpd::page::UNIT_SERIAL)?;
        vpd::decode_unit_serial(&raw)
            .map_err(|e| self.malformed(&"INQUIRY(VPD page 0x80)".into(), e))
    }

    /// INQUIRY, VPD 0x80 and VPD 0x83. A device without the VPD pages
    /// (ILLEGAL REQUEST) still has an identity; other errors are returned.
    pub fn identity(&self) -> Result<Identity, ScsiError> {
        let inquiry = self.inquiry()?;
        let serial = tolerate(self.unit_serial())?;
        let designators = tolerate(self.device_identification())?.unwrap_or_default();
        let wwid = vpd::wwid(&designators);
        Ok(Identity {
            inquiry,
            serial,
            designators,
            wwid,
        })
    }

    /// REPORT TARGET PORT GROUPS, decoded; the buffer grows once when the
    /// device reports more data than the first allocation held.
    pub fn report_target_port_groups(
        &self,
    ) -> Result<Vec<super::alua::TargetPortGroup>, ScsiError> {
        let name: CommandName = "REPORT TARGET PORT GROUPS".into();
        let mut alloc: u32 = 1024;
        loop {
            let raw = self.data_in(
                &name,
                &cdb::report_target_port_groups(alloc),
                alloc as usize,
            )?;
            let needed = raw
                .get(..4)
                .map(|h| u32::from_be_bytes([h[0], h[1], h[2], h[3]]).saturating_add(4));
            match needed {
                Some(n) if n > alloc && alloc < 65536 => alloc = n.min(65536),
                _ => {
                    return super::alua::decode_report_target_port_groups(&raw)
                        .map_err(|e| self.malformed(&name, e))
                }
            }
        }
    }

    /// READ CAPACITY(16).
    pub fn read_capacity(&self) -> Result<Capacity, ScsiError> {
        let name: CommandName = "READ CAPACITY(16)".into();
        let raw = self.data_in(&name, &cdb::read_capacity_16(32), 32)?;
        Capacity::decode(&raw).map_err(|e| self.malformed(&name, e))
    }

    /// PERSISTENT RESERVE OUT with service action `sa`, scope, type and the
    /// parameter list.
    pub fn persistent_reserve_out(
        &self,
        sa: u8,
        scope: u8,
        pr_type: u8,
        params: &[u8],
        name: &CommandName,
    ) -> Result<(), ScsiError> {
        let len = u32::try_from(params.len()).map_err(|_| {
            self.malformed(
                name,
                DecodeError::malformed("PR OUT parameter list", "longer than 4 GiB"),
            )
        })?;
        self.data_out(
            name,
            &cdb::persistent_reserve_out(sa, scope, pr_type, len),
            params,
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    /// A transport that answers from a script and records the CDBs it got.
    /// It drives control-flow tests only; the commands themselves are proven
    /// against LIO and tgtd in the guest test bed.
    pub(crate) struct Scripted {
        pub answers: Mutex<VecDeque<(Completion, Vec<u8>)>>,
        pub cdbs: Mutex<Vec<Vec<u8>>>,
        pub data_out: Mutex<Vec<Vec<u8>>>,
    }

    impl Scripted {
        pub(crate) fn new(answers: Vec<(Completion, Vec<u8>)>) -> Scripted {
            Scripted {
                answers: Mutex::new(answers.into()),
                cdbs: Mutex::new(Vec::new()),
                data_out: Mutex::new(Vec::new()),
            }
        }
    }

    impl Transport for Scripted {
        fn device(&self) -> &str {
            "/dev/scripted"
        }
        fn execute(&self, r: Request<'_>) -> std::io::Result<Completion> {
            self.cdbs.lock().unwrap().push(r.cdb.to_vec());
            let (mut c, data) = self
                .answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("script ran out");
            match r.data {
                Data::In(buf) => {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    c.resid = i32::try_from(buf.len() - n).unwrap();
                }
                Data::Out(buf) => self.data_out.lock().unwrap().push(buf.to_vec()),
                Data::None => {}
            }
            Ok(c)
        }
    }

    /// A transport that gives every command the same answer: `data` for
    /// data-in commands (as much as fits), the completion as scripted (a
    /// resid of its own, a status, sense). It feeds property tests with
    /// arbitrary device behaviour; nothing about it is realistic.
    pub(crate) struct Anything {
        pub completion: Completion,
        pub data: Vec<u8>,
        /// Keep the scripted resid instead of computing it from `data`.
        pub raw_resid: bool,
    }

    impl Transport for Anything {
        fn device(&self) -> &str {
            "/dev/anything"
        }
        fn execute(&self, r: Request<'_>) -> std::io::Result<Completion> {
            let mut c = self.completion.clone();
            if let Data::In(buf) = r.data {
                let n = self.data.len().min(buf.len());
                buf[..n].copy_from_slice(&self.data[..n]);
                if !self.raw_resid {
                    c.resid = i32::try_from(buf.len() - n).unwrap_or(i32::MAX);
                }
            }
            Ok(c)
        }
    }

    /// An arbitrary completion: mostly GOOD, sometimes anything.
    pub(crate) fn arb_completion() -> impl proptest::strategy::Strategy<Value = Completion> {
        use proptest::prelude::*;
        (
            prop_oneof![3 => Just(0u8), 1 => any::<u8>()],
            prop_oneof![3 => Just(0u16), 1 => any::<u16>()],
            prop_oneof![3 => Just(0u16), 1 => any::<u16>()],
            any::<i32>(),
            proptest::collection::vec(any::<u8>(), 0..40),
            prop_oneof![5 => Just(false), 1 => Just(true)],
        )
            .prop_map(
                |(status, host_status, driver_status, resid, sense, timed_out)| Completion {
                    status,
                    host_status,
                    driver_status,
                    resid,
                    sense,
                    timed_out,
                    ..Default::default()
                },
            )
    }

    proptest::proptest! {
        /// Every decoding method of `Device`, over arbitrary answers and
        /// arbitrary allocation lengths, returns a value or an error.
        #[test]
        fn device_methods_never_panic(
            completion in arb_completion(),
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            raw_resid in proptest::prelude::any::<bool>(),
            alloc in proptest::prelude::any::<u16>(),
            refetch in proptest::prelude::any::<bool>(),
            sa in 0u8..4,
        ) {
            let d = Device::new(Anything { completion, data, raw_resid });
            let _ = d.inquiry_raw();
            let _ = d.inquiry();
            let _ = d.vpd_page(0x83);
            let _ = d.vpd_page(0x80);
            let _ = d.device_identification();
            let _ = d.unit_serial();
            let _ = d.identity();
            let _ = d.report_target_port_groups();
            let _ = d.read_capacity();
            let _ = d.read_keys();
            let _ = d.read_reservation();
            let _ = d.report_capabilities();
            let _ = d.read_full_status();
            let sa = crate::scsi::pr::InServiceAction::from_code(sa)
                .unwrap_or(crate::scsi::pr::InServiceAction::ReadKeys);
            let _ = d.pr_in_raw(sa, alloc, refetch);
        }
    }

    fn ua() -> Completion {
        Completion {
            status: 2,
            sense: vec![0x70, 0, 6, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0, 0, 0, 0, 0],
            ..Default::default()
        }
    }

    #[test]
    fn unit_attention_is_retried_only_as_the_policy_allows() {
        let t = Scripted::new(vec![(ua(), vec![]), (Completion::default(), vec![])]);
        let mut d = Device::new(t);
        d.retry = RetryPolicy {
            unit_attention_retries: 1,
        };
        d.test_unit_ready().unwrap();
        assert_eq!(d.transport().cdbs.lock().unwrap().len(), 2);

        let d = Device::new(Scripted::new(vec![(ua(), vec![])]));
        let e = d.test_unit_ready().unwrap_err();
        assert!(e.is_unit_attention());
        assert_eq!(e.sense().unwrap().asc, 0x29);
    }

    #[test]
    fn vpd_refetches_long_pages_and_short_responses_are_errors() {
        let mut page = vec![0x00, 0x83, 0x01, 0x04];
        page.extend(std::iter::repeat_n(0u8, 0x104));
        let t = Scripted::new(vec![
            (Completion::default(), page.clone()),
            (Completion::default(), page.clone()),
        ]);
        let d = Device::new(t);
        assert_eq!(d.vpd_page(0x83).unwrap().len(), 0x108);

        let d = Device::new(Scripted::new(vec![(
            Completion::default(),
            vec![0, 0, 6, 2, 31],
        )]));
        let e = d.inquiry().unwrap_err();
        assert_eq!(e.exit_code(), 97);
        assert!(
            e.to_string()
                .contains("/dev/scripted: INQUIRY: malformed response"),
            "{e}"
        );
    }

    #[test]
    fn identity_tolerates_missing_vpd_pages() {
        let illegal = Completion {
            status: 2,
            sense: vec![0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0, 0, 0, 0, 0],
            ..Default::default()
        };
        let inq = crate::scsi::inquiry::tests::lio_inquiry();
        let d = Device::new(Scripted::new(vec![
            (Completion::default(), inq.clone()),
            (illegal.clone(), vec![]),
            (Completion::default(), crate::scsi::vpd::tests::lio_page83()),
        ]));
        let id = d.identity().unwrap();
        assert_eq!(id.serial, None);
        assert_eq!(
            id.wwid.as_deref(),
            Some("36001405abcdef0123456789abcdef012")
        );
        // A unit attention is not tolerated.
        let ua = Completion {
            status: 2,
            sense: vec![0x70, 0, 6, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0, 0, 0, 0, 0],
            ..Default::default()
        };
        let d = Device::new(Scripted::new(vec![
            (Completion::default(), inq),
            (ua, vec![]),
        ]));
        assert!(d.identity().unwrap_err().is_unit_attention());
    }

    #[test]
    fn conflict_on_pr_out_is_typed() {
        let d = Device::new(Scripted::new(vec![(
            Completion {
                status: 0x18,
                ..Default::default()
            },
            vec![],
        )]));
        let e = d
            .persistent_reserve_out(0, 0, 0, &[0; 24], &"PR OUT(Register)".into())
            .unwrap_err();
        assert!(e.is_reservation_conflict());
        let cdb = &d.transport().cdbs.lock().unwrap()[0];
        assert_eq!(cdb, &vec![0x5f, 0, 0, 0, 0, 0, 0, 0, 0x18, 0]);
    }
}
