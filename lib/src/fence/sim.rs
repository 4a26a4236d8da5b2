//! A scripted logical unit for control-flow tests: a few lines of the
//! SPC-4 persistent-reservation rules (registrations per I_T nexus, one
//! reservation, REGISTER, REGISTER AND IGNORE, RESERVE, RELEASE, CLEAR,
//! PREEMPT [AND ABORT], READ(10)/WRITE(10) conflicts, unit attentions
//! after a preempt). It proves the order and targets of the commands the
//! fencing code sends, not the standard itself: that is proven against
//! LIO and tgtd in the guest test bed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::scsi::device::Device;
use crate::scsi::error::ScsiError;
use crate::scsi::pr::{Capabilities, Key, PrType, ReadKeys, ReadReservation, Reservation};
use crate::scsi::transport::{Completion, Data, Request, Transport};

use super::devices::Opener;

/// One logical unit.
#[derive(Debug, Default)]
pub(crate) struct Lu {
    pub regs: Vec<(String, Key)>,
    pub res: Option<(String, Key, u8)>,
    pub generation: u32,
    pub ua: HashMap<String, u32>,
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
            inquiry: crate::scsi::inquiry::tests::lio_inquiry(),
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

    fn remove_key(&mut self, k: Key, except: Option<&str>) {
        let gone: Vec<String> = self
            .regs
            .iter()
            .filter(|r| r.1 == k && Some(r.0.as_str()) != except)
            .map(|r| r.0.clone())
            .collect();
        self.regs.retain(|r| !gone.contains(&r.0));
        for g in gone {
            *self.ua.entry(g).or_default() += 1;
        }
    }

    fn pr_out(&mut self, nexus: &str, sa: u8, ty: u8, p: &[u8]) -> Completion {
        let key = Key(u64::from_be_bytes(p[0..8].try_into().unwrap()));
        let sak = Key(u64::from_be_bytes(p[8..16].try_into().unwrap()));
        self.log.push((nexus.to_string(), sa, key, sak));
        let mine = self.reg_of(nexus);
        let ok = Completion::default();
        let r = match sa {
            0 | 6 => {
                if sa == 0 && mine.unwrap_or(Key(0)) != key {
                    return conflict();
                }
                self.regs.retain(|r| r.0 != nexus);
                if sak.0 != 0 {
                    self.regs.push((nexus.to_string(), sak));
                } else if self.res.as_ref().is_some_and(|r| r.0 == nexus) {
                    self.res = None;
                }
                ok
            }
            1 => {
                if mine != Some(key) {
                    return conflict();
                }
                match &self.res {
                    Some(r) if r.0 != nexus => return conflict(),
                    _ => self.res = Some((nexus.to_string(), key, ty)),
                }
                ok
            }
            2 => {
                if mine != Some(key) {
                    return conflict();
                }
                if self.res.as_ref().is_some_and(|r| r.0 == nexus) {
                    self.res = None;
                }
                ok
            }
            3 => {
                if mine != Some(key) {
                    return conflict();
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
                match self.res.clone() {
                    Some(r) if r.1 == sak => {
                        self.remove_key(sak, Some(nexus));
                        self.res = Some((nexus.to_string(), key, ty));
                    }
                    _ => self.remove_key(sak, None),
                }
                ok
            }
            _ => sense(5, 0x24, 0),
        };
        self.generation += 1;
        r
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
        if let Some(n) = self.ua.get_mut(nexus) {
            if *n > 0 {
                *n -= 1;
                return Ok(sense(6, 0x2a, 0x05));
            }
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
                        type_mask: self.type_mask,
                        ..Default::default()
                    }
                    .encode()
                    .to_vec(),
                    _ => return Ok(sense(5, 0x24, 0)),
                };
                reply(data, r)
            }
            0x5f => {
                let p = match &r.data {
                    Data::Out(b) => b.to_vec(),
                    _ => vec![0; 24],
                };
                self.pr_out(nexus, r.cdb[1] & 0x1f, r.cdb[2] & 0x0f, &p)
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
pub(crate) struct SimPath {
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
pub(crate) struct SimOpener {
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
pub(crate) fn lu() -> Arc<Mutex<Lu>> {
    Arc::new(Mutex::new(Lu::new()))
}
