//! A scripted logical unit for control-flow tests: the SPC-4
//! persistent-reservation rules (§5.14) as LIO applies them, in a few
//! lines: registrations per I_T nexus, one reservation, REGISTER, REGISTER
//! AND IGNORE, RESERVE, RELEASE, CLEAR, PREEMPT [AND ABORT] (RESERVATION
//! CONFLICT when the preempted key is neither registered nor the
//! holder's), APTPL (PTPL_A follows the APTPL bit of the last successful
//! REGISTER or REGISTER AND IGNORE on any nexus, and REPORT CAPABILITIES
//! shows it), READ FULL STATUS with a SAS TransportID per nexus,
//! READ(10)/WRITE(10) conflicts, and the unit attentions each nexus is
//! owed (2A/05 registrations preempted, 2A/03 reservations preempted,
//! 2A/04 reservations released). It proves the order and targets of the
//! commands the fencing code sends, not the standard itself: that is
//! proven against LIO and tgtd in the guest test bed. A differential test
//! keeps the two in step: the PR sequence of
//! `lib/tests/data/pr_differential/steps.txt` must give `expected.txt`
//! (statuses, keys, reservation, PTPL_A, unit attentions after every step)
//! here and on LIO (`guest_pr_differential_lio_answers_as_the_simulator`).

// Test support: a poisoned lock or a malformed scripted request is a
// failed test, so unwrap is what this module means.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::scsi::device::Device;
use crate::scsi::error::ScsiError;
use crate::scsi::pr::{
    Capabilities, FullStatus, Key, PrType, ReadKeys, ReadReservation, Reservation, StatusDescriptor,
};
use crate::scsi::transport::{Completion, Data, Request, Transport};
use crate::scsi::transport_id::TransportId;

use crate::paths::Opener;

/// One logical unit.
#[derive(Debug, Default)]
pub struct Lu {
    pub regs: Vec<(String, Key)>,
    pub res: Option<(String, Key, u8)>,
    pub generation: u32,
    /// Unit attentions owed to each nexus, oldest first: (ASC, ASCQ).
    pub ua: HashMap<String, VecDeque<(u8, u8)>>,
    /// PTPL_A.
    pub aptpl: bool,
    /// Answers READ FULL STATUS with ILLEGAL REQUEST (an older target).
    pub no_full_status: bool,
    /// PR OUT service actions that run but whose completion is lost: the
    /// transport reports a timeout to (nexus, service action), once each.
    pub lose_completion: Vec<(String, u8)>,
    /// VPD page 0x83 (Device Identification), if the unit has one.
    pub vpd83: Option<Vec<u8>>,
    /// Initiator ports that are not the default SAS address.
    pub ports: HashMap<String, TransportId>,
    pub dead: Vec<String>,
    pub block: Vec<u8>,
    pub inquiry: Vec<u8>,
    pub no_pr: bool,
    /// Rejects PREEMPT AND ABORT with ILLEGAL REQUEST, INVALID FIELD IN
    /// CDB, as tgt 1.0.85 does.
    pub no_preempt_abort: bool,
    pub type_mask: u16,
    /// Every PR OUT: (nexus, service action, key, sa key).
    pub log: Vec<(String, u8, Key, Key)>,
}

fn sense(key: u8, asc: u8, ascq: u8) -> Completion {
    Completion {
        status: 2,
        sense: vec![
            0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0,
        ],
        ..Default::default()
    }
}

fn conflict() -> Completion {
    Completion {
        status: 0x18,
        ..Default::default()
    }
}

impl Lu {
    pub fn new() -> Lu {
        Lu {
            block: vec![0xa5; 512],
            inquiry: crate::scsi::inquiry::lio_sample(),
            type_mask: 0xea01,
            ..Default::default()
        }
    }

    pub fn keys(&self) -> Vec<Key> {
        self.regs.iter().map(|r| r.1).collect()
    }

    fn reg_of(&self, nexus: &str) -> Option<Key> {
        self.regs.iter().find(|r| r.0 == nexus).map(|r| r.1)
    }

    /// The initiator port of `nexus`: as set in `ports`, else a SAS
    /// address made from its name.
    pub fn port(&self, nexus: &str) -> TransportId {
        self.ports
            .get(nexus)
            .cloned()
            .unwrap_or_else(|| Lu::port_of(nexus))
    }

    /// The SAS address the simulated initiator port of `nexus` has.
    pub fn port_of(nexus: &str) -> TransportId {
        let mut a: u64 = 0x5000_0000_0000_0000;
        for b in nexus.bytes() {
            a = a.rotate_left(8) ^ u64::from(b);
        }
        TransportId::Sas { address: a }
    }

    fn owe(&mut self, nexus: &str, asc: u8, ascq: u8) {
        self.ua
            .entry(nexus.to_string())
            .or_default()
            .push_back((asc, ascq));
    }

    /// Removes every registration of `k` (but `except`'s); the nexuses
    /// lose their registration and are owed REGISTRATIONS PREEMPTED.
    /// Returns how many went.
    fn remove_key(&mut self, k: Key, except: Option<&str>) -> usize {
        let gone: Vec<String> = self
            .regs
            .iter()
            .filter(|r| r.1 == k && Some(r.0.as_str()) != except)
            .map(|r| r.0.clone())
            .collect();
        self.regs.retain(|r| !gone.contains(&r.0));
        let n = gone.len();
        for g in gone {
            self.owe(&g, 0x2a, 0x05);
        }
        n
    }

    /// Registrants other than `nexus`.
    fn others(&self, nexus: &str) -> Vec<String> {
        self.regs
            .iter()
            .filter(|r| r.0 != nexus)
            .map(|r| r.0.clone())
            .collect()
    }

    fn unregister(&mut self, nexus: &str) {
        self.regs.retain(|r| r.0 != nexus);
        if self.res.as_ref().is_some_and(|r| r.0 == nexus) {
            let ty = self.res.as_ref().map_or(0, |r| r.2);
            self.res = None;
            if matches!(ty, 5 | 6) {
                for o in self.others(nexus) {
                    self.owe(&o, 0x2a, 0x04);
                }
            }
        }
    }

    fn pr_out(&mut self, nexus: &str, sa: u8, ty: u8, p: &[u8]) -> Completion {
        let Some((key, sak, aptpl)) = p.get(..24).map(|h| {
            let key = Key(u64::from_be_bytes(h[0..8].try_into().unwrap_or_default()));
            let sak = Key(u64::from_be_bytes(h[8..16].try_into().unwrap_or_default()));
            (key, sak, h[20] & 1 == 1)
        }) else {
            return sense(5, 0x1a, 0);
        };
        self.log.push((nexus.to_string(), sa, key, sak));
        let mine = self.reg_of(nexus);
        let ok = Completion::default();
        let r = match sa {
            0 | 6 => {
                if sa == 0 && mine.unwrap_or(Key(0)) != key {
                    return conflict();
                }
                if sak.0 == 0 {
                    if mine.is_some() {
                        self.unregister(nexus);
                    }
                } else if let Some(r) = self.regs.iter_mut().find(|r| r.0 == nexus) {
                    r.1 = sak;
                    if let Some(h) = self.res.as_mut().filter(|h| h.0 == nexus) {
                        h.1 = sak;
                    }
                } else {
                    self.regs.push((nexus.to_string(), sak));
                }
                self.aptpl = aptpl;
                ok
            }
            1 => {
                if mine != Some(key) {
                    return conflict();
                }
                match &self.res {
                    Some(r) if r.0 != nexus || r.2 != ty => return conflict(),
                    _ => self.res = Some((nexus.to_string(), key, ty)),
                }
                ok
            }
            2 => {
                if mine != Some(key) {
                    return conflict();
                }
                match self.res.clone() {
                    Some(r) if r.0 == nexus && r.2 != ty => return sense(5, 0x26, 0x04),
                    Some(r) if r.0 == nexus => {
                        self.res = None;
                        if matches!(ty, 5 | 6) {
                            for o in self.others(nexus) {
                                self.owe(&o, 0x2a, 0x04);
                            }
                        }
                    }
                    _ => {}
                }
                ok
            }
            3 => {
                if mine != Some(key) {
                    return conflict();
                }
                for o in self.others(nexus) {
                    self.owe(&o, 0x2a, 0x03);
                }
                self.regs.clear();
                self.res = None;
                ok
            }
            5 if self.no_preempt_abort => sense(5, 0x24, 0),
            4 | 5 => {
                if mine != Some(key) {
                    return conflict();
                }
                if sak.0 == 0 {
                    return sense(5, 0x26, 0);
                }
                match self.res.clone() {
                    Some(r) if r.1 == sak => {
                        self.remove_key(sak, Some(nexus));
                        self.res = Some((nexus.to_string(), key, ty));
                    }
                    _ => {
                        if self.remove_key(sak, None) == 0 {
                            return conflict();
                        }
                    }
                }
                ok
            }
            _ => sense(5, 0x24, 0),
        };
        self.generation += 1;
        r
    }

    fn full_status(&self) -> FullStatus {
        let descriptors: Vec<StatusDescriptor> = self
            .regs
            .iter()
            .map(|(n, k)| {
                let holder = self.res.as_ref().filter(|r| &r.0 == n);
                StatusDescriptor {
                    key: *k,
                    all_tg_pt: false,
                    r_holder: holder.is_some(),
                    scope: 0,
                    pr_type: PrType::from_code(holder.map_or(0, |r| r.2)),
                    relative_target_port: 1,
                    transport_id: self.port(n).encode(),
                }
            })
            .collect();
        let additional_length = descriptors
            .iter()
            .map(|d| 24 + d.transport_id.len())
            .sum::<usize>();
        FullStatus {
            generation: self.generation,
            additional_length: u32::try_from(additional_length).unwrap_or(u32::MAX),
            descriptors,
        }
    }

    fn may_write(&self, nexus: &str) -> bool {
        match &self.res {
            None => true,
            Some((holder, _, 5 | 7)) => holder == nexus || self.reg_of(nexus).is_some(),
            Some((holder, _, _)) => holder == nexus,
        }
    }

    fn execute(&mut self, nexus: &str, r: Request<'_>) -> std::io::Result<Completion> {
        if self.dead.iter().any(|d| d == nexus) {
            return Err(std::io::Error::from_raw_os_error(libc::ENXIO));
        }
        if let Some((asc, ascq)) = self.ua.get_mut(nexus).and_then(VecDeque::pop_front) {
            return Ok(sense(6, asc, ascq));
        }
        let op = r.cdb[0];
        if self.no_pr && (op == 0x5e || op == 0x5f) {
            return Ok(sense(5, 0x20, 0));
        }
        let reply = |data: Vec<u8>, r: Request<'_>| {
            let mut c = Completion::default();
            if let Data::In(buf) = r.data {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                c.resid = i32::try_from(buf.len() - n).unwrap();
            }
            c
        };
        Ok(match op {
            0x00 => Completion::default(),
            0x12 if r.cdb[1] & 1 == 1 && r.cdb[2] == 0x83 && self.vpd83.is_some() => {
                reply(self.vpd83.clone().unwrap_or_default(), r)
            }
            0x12 if r.cdb[1] & 1 == 1 => sense(5, 0x24, 0),
            0x12 => reply(self.inquiry.clone(), r),
            0x5e => {
                let data = match r.cdb[1] & 0x1f {
                    0 => ReadKeys {
                        generation: self.generation,
                        additional_length: u32::try_from(8 * self.regs.len()).unwrap(),
                        keys: self.keys(),
                    }
                    .encode(),
                    1 => ReadReservation {
                        generation: self.generation,
                        reservation: self.res.as_ref().map(|r| Reservation {
                            key: r.1,
                            scope: 0,
                            pr_type: PrType::from_code(r.2),
                        }),
                    }
                    .encode(),
                    2 => Capabilities {
                        tmv: true,
                        ptpl_c: true,
                        ptpl_a: self.aptpl,
                        type_mask: self.type_mask,
                        ..Default::default()
                    }
                    .encode()
                    .to_vec(),
                    3 if !self.no_full_status => self.full_status().encode(),
                    _ => return Ok(sense(5, 0x24, 0)),
                };
                reply(data, r)
            }
            0x5f => {
                let p = match &r.data {
                    Data::Out(b) => b.to_vec(),
                    _ => vec![0; 24],
                };
                let sa = r.cdb[1] & 0x1f;
                let c = self.pr_out(nexus, sa, r.cdb[2] & 0x0f, &p);
                let lost = self
                    .lose_completion
                    .iter()
                    .position(|(n, s)| n == nexus && *s == sa);
                match lost {
                    Some(i) => {
                        self.lose_completion.remove(i);
                        Completion {
                            timed_out: true,
                            duration_ms: 30_000,
                            ..Default::default()
                        }
                    }
                    None => c,
                }
            }
            0x28 => reply(self.block.clone(), r),
            0x2a => {
                if !self.may_write(nexus) {
                    return Ok(conflict());
                }
                if let Data::Out(b) = r.data {
                    self.block = b.to_vec();
                }
                Completion::default()
            }
            0x9e => {
                // READ CAPACITY(16): 8 blocks of 512 bytes.
                let mut d = vec![0u8; 32];
                d[7] = 7;
                d[10] = 2;
                reply(d, r)
            }
            _ => sense(5, 0x20, 0),
        })
    }
}

/// One path: a nexus to a shared LU.
pub struct SimPath {
    lu: Arc<Mutex<Lu>>,
    nexus: String,
    name: String,
}

impl Transport for SimPath {
    fn device(&self) -> &str {
        &self.name
    }
    fn execute(&self, r: Request<'_>) -> std::io::Result<Completion> {
        self.lu.lock().unwrap().execute(&self.nexus, r)
    }
}

/// Path name to (LU, nexus).
#[derive(Default)]
pub struct SimOpener {
    pub paths: HashMap<PathBuf, (Arc<Mutex<Lu>>, String)>,
}

impl SimOpener {
    /// Adds a path to `lu` through `nexus`.
    pub fn add(&mut self, path: &str, lu: &Arc<Mutex<Lu>>, nexus: &str) {
        self.paths
            .insert(PathBuf::from(path), (Arc::clone(lu), nexus.to_string()));
    }
}

impl Opener for SimOpener {
    type T = SimPath;
    fn initiator_port(&self, path: &Path) -> Option<TransportId> {
        let (lu, nexus) = self.paths.get(path)?;
        let port = lu.lock().ok()?.port(nexus);
        Some(port)
    }
    fn open(&self, path: &Path) -> Result<Device<SimPath>, ScsiError> {
        let (lu, nexus) = self.paths.get(path).ok_or_else(|| ScsiError::Open {
            device: path.display().to_string(),
            source: std::io::Error::from_raw_os_error(libc::ENOENT),
        })?;
        let mut d = Device::new(SimPath {
            lu: Arc::clone(lu),
            nexus: nexus.clone(),
            name: path.display().to_string(),
        });
        d.retry = crate::scsi::transport::RetryPolicy::ABSORB;
        Ok(d)
    }
}

/// A new shared LU.
pub fn lu() -> Arc<Mutex<Lu>> {
    Arc::new(Mutex::new(Lu::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scsi::pr::Key;

    const A: Key = Key(0xa);
    const B: Key = Key(0xb);
    const T5: PrType = PrType::WriteExclusiveRegistrantsOnly;

    fn two() -> (Arc<Mutex<Lu>>, Device<SimPath>, Device<SimPath>) {
        let l = lu();
        let mut o = SimOpener::default();
        o.add("/a", &l, "a");
        o.add("/b", &l, "b");
        let mut a = o.open(Path::new("/a")).unwrap();
        let mut b = o.open(Path::new("/b")).unwrap();
        a.retry = crate::scsi::transport::RetryPolicy::NONE;
        b.retry = crate::scsi::transport::RetryPolicy::NONE;
        (l, a, b)
    }

    #[test]
    fn sim_preempt_of_an_unregistered_key_is_a_reservation_conflict() {
        let (l, a, _b) = two();
        a.register_and_ignore(A, false).unwrap();
        let e = a.preempt(A, B, T5).unwrap_err();
        assert!(e.is_reservation_conflict(), "{e}");
        assert_eq!(l.lock().unwrap().keys(), vec![A]);
        // An unregistered nexus cannot preempt at all.
        let (_, a, b) = two();
        a.register_and_ignore(A, false).unwrap();
        assert!(b.preempt(B, A, T5).unwrap_err().is_reservation_conflict());
    }

    #[test]
    fn sim_aptpl_follows_the_last_register_on_any_nexus() {
        let (_, a, b) = two();
        assert!(!a.report_capabilities().unwrap().ptpl_a);
        a.register_and_ignore(A, true).unwrap();
        assert!(b.report_capabilities().unwrap().ptpl_a);
        // RESERVE and PREEMPT carry no APTPL decision.
        a.reserve(A, T5).unwrap();
        assert!(a.report_capabilities().unwrap().ptpl_a);
        // B's REGISTER without APTPL turns it off for the whole unit.
        b.register_and_ignore(B, false).unwrap();
        assert!(!a.report_capabilities().unwrap().ptpl_a);
    }

    #[test]
    fn sim_unit_attentions_go_to_each_nexus_affected() {
        let (_, a, b) = two();
        a.register_and_ignore(A, false).unwrap();
        b.register_and_ignore(B, false).unwrap();
        a.reserve(A, T5).unwrap();
        // A releases a type 5 reservation: B is told 2A/04.
        a.release(A, T5).unwrap();
        let e = b.test_unit_ready().unwrap_err();
        assert_eq!(e.sense().map(|s| (s.asc, s.ascq)), Some((0x2a, 0x04)));
        b.test_unit_ready().unwrap();
        a.test_unit_ready().unwrap();
        // A preempts B: B is told 2A/05, A nothing.
        a.preempt(A, B, T5).unwrap();
        a.test_unit_ready().unwrap();
        let e = b.test_unit_ready().unwrap_err();
        assert_eq!(e.sense().map(|s| (s.asc, s.ascq)), Some((0x2a, 0x05)));
        // CLEAR: the other registrants are told 2A/03.
        b.register_and_ignore(B, false).unwrap();
        a.clear(A).unwrap();
        let e = b.test_unit_ready().unwrap_err();
        assert_eq!(e.sense().map(|s| (s.asc, s.ascq)), Some((0x2a, 0x03)));
        a.test_unit_ready().unwrap();
    }

    #[test]
    fn sim_full_status_names_each_nexus_port() {
        let (l, a, b) = two();
        a.register_and_ignore(A, false).unwrap();
        b.register_and_ignore(A, false).unwrap();
        a.reserve(A, T5).unwrap();
        let fs = a.read_full_status().unwrap();
        let ports: Vec<TransportId> = fs
            .descriptors
            .iter()
            .map(|d| d.transport_id().unwrap())
            .collect();
        assert_eq!(ports, vec![Lu::port_of("a"), Lu::port_of("b")]);
        assert!(fs.descriptors[0].r_holder && !fs.descriptors[1].r_holder);
        l.lock().unwrap().no_full_status = true;
        assert!(matches!(
            a.read_full_status(),
            Err(ScsiError::IllegalRequest { .. })
        ));
    }

    /// Runs `lib/tests/data/pr_differential/steps.txt` on the simulator
    /// and prints what the observer nexus reads after every step, in the
    /// form the guest test prints for LIO (tests/guest/pr_differential.sh).
    fn differential(steps: &str) -> String {
        let l = lu();
        let mut o = SimOpener::default();
        for n in ["a", "b", "c", "d"] {
            o.add(&format!("/{n}"), &l, n);
        }
        let dev = |n: &str| {
            let mut d = o.open(Path::new(&format!("/{n}"))).unwrap();
            d.retry = crate::scsi::transport::RetryPolicy::NONE;
            d
        };
        let hex = |s: &str| Key(u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap());
        let ty = |s: &str| PrType::from_code(s.parse().unwrap());
        let mut out = String::new();
        for (n, line) in steps
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .enumerate()
        {
            let w: Vec<&str> = line.split_whitespace().collect();
            let d = dev(w[0]);
            let r = match w[1] {
                "rik" => d.register_and_ignore(hex(w[2]), false),
                "rikz" => d.register_and_ignore(hex(w[2]), true),
                "reg" => d.register(hex(w[2]), hex(w[3]), false),
                "res" => d.reserve(hex(w[2]), ty(w[3])),
                "rel" => d.release(hex(w[2]), ty(w[3])),
                "pre" => d.preempt(hex(w[2]), hex(w[3]), ty(w[4])),
                "clr" => d.clear(hex(w[2])),
                "tur" => d.test_unit_ready(),
                op => panic!("unknown op {op}"),
            };
            let ua = match &r {
                Err(e) if e.is_unit_attention() => e
                    .sense()
                    .map(|s| {
                        let t = crate::linux::sglib::asc_ascq_str(s.asc, s.ascq);
                        format!(" ua={}", t.trim_start_matches("Additional sense: "))
                    })
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let rc = r.err().map_or(0, |e| e.exit_code());
            let obs = dev("d");
            let keys: Vec<String> = obs
                .read_keys()
                .unwrap()
                .keys
                .iter()
                .map(|k| format!("0x{:x}", k.0))
                .collect();
            let res = match obs.read_reservation().unwrap().reservation {
                Some(r) => format!("0x{:x}/{}", r.key.0, r.pr_type.code()),
                None => "-".into(),
            };
            let ptpl = u8::from(obs.report_capabilities().unwrap().ptpl_a);
            out.push_str(&format!(
                "{} {line}: rc={rc} keys={} res={res} ptpl={ptpl}{ua}\n",
                n + 1,
                if keys.is_empty() {
                    "-".to_string()
                } else {
                    keys.join(",")
                }
            ));
        }
        out
    }

    #[test]
    fn sim_answers_the_differential_sequence_as_lio_does() {
        let steps = include_str!("../../tests/data/pr_differential/steps.txt");
        let expected = include_str!("../../tests/data/pr_differential/expected.txt");
        let got = differential(steps);
        assert_eq!(got, expected, "simulator:\n{got}");
    }
}
