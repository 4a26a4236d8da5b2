//! The fence agent itself: one request in (the `name=value` text), the
//! agent's stdout, stderr and exit status out, as fencing.py agents
//! behave. Everything the agent touches comes through [`Env`], so every
//! action and exit status is unit-tested on the simulator.
//!
//! Rules it keeps, beyond fence_scsi's:
//!
//! - `off` never registers this node where its key is gone (it may have
//!   been fenced itself, and must not fence back); where the key is on
//!   the device but a nexus lacks it (an iSCSI re-login), that nexus is
//!   registered again before the preempt ([`crate::fence::ops`]).
//! - A `plug` that the configuration does not list is refused, whatever
//!   the key scheme ([`crate::fence::source::node_key`]).
//! - `corosync_cmap_path` is the `corosync-cmapctl` that is run, and a
//!   failing run is an error.
//! - `status` says OFF only when every device was read; with an unreadable
//!   device and no key found elsewhere, the status is unknown (exit 8).

use std::path::PathBuf;
use std::time::Duration;

use super::{exit, metadata, parse, Action, Request};
use crate::fence::key::{self, Scheme};
use crate::fence::ops::{self, FenceHow, PreemptMode, State};
use crate::fence::source::{self, Overrides, Source};
use crate::paths::{self, Opener, Unit};
use crate::scsi::pr::Key;
use crate::topology::{lvm, Roots};

/// What the agent wrote and its exit status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Text for stdout.
    pub stdout: String,
    /// Text for stderr.
    pub stderr: String,
    /// The fence-agent exit status ([`exit`]).
    pub code: u8,
}

/// The world the agent runs in.
pub struct Env<'a, O: Opener> {
    /// The agent's name in its metadata ([`super::agent_name`]).
    pub name: String,
    /// Opens paths; given the request (for `readonly`).
    pub opener: &'a dyn Fn(&Request) -> O,
    /// sysfs and /dev, to expand multipath maps.
    pub roots: Roots,
    /// Expand multipath maps into their paths.
    pub multipath: bool,
    /// The configuration read when the request names none.
    pub default_config: PathBuf,
    /// The state file when neither request nor configuration names one.
    pub default_state: PathBuf,
    /// The `vgs` program for `devices=auto`.
    pub vgs: String,
    /// Waits (`delay=`).
    pub sleep: &'a dyn Fn(Duration),
}

struct Failed(u8, String);

impl Output {
    fn fail(&mut self, f: Failed) -> Output {
        self.stderr.push_str(&format!("Failed: {}\n", f.1));
        self.code = f.0;
        self.clone()
    }
}

/// Runs one request.
pub fn run<O: Opener>(input: &str, env: &Env<'_, O>) -> Output {
    let mut out = Output::default();
    let req = match parse(input) {
        Ok(r) => r,
        Err(e) => return out.fail(Failed(exit::BAD_ARGS, e.to_string())),
    };
    for u in &req.unknown {
        out.stderr
            .push_str(&format!("Parse error: Ignoring unknown option '{u}'\n"));
    }
    let action = req.action.unwrap_or(Action::Off);
    if action == Action::Metadata {
        out.stdout.push_str(&metadata(&env.name));
        return out;
    }
    match act(&req, action, env, &mut out) {
        Ok(code) => out.code = code,
        Err(f) => return out.fail(f),
    }
    out
}

fn bad(e: impl ToString) -> Failed {
    Failed(exit::BAD_ARGS, e.to_string())
}

fn act<O: Opener>(
    req: &Request,
    action: Action,
    env: &Env<'_, O>,
    out: &mut Output,
) -> Result<u8, Failed> {
    let scheme = req
        .key_value
        .as_deref()
        .map(str::parse::<Scheme>)
        .transpose()
        .map_err(bad)?;
    let src = match (&req.corosync_cmap_path, &req.config) {
        (Some(p), _) => Source::Corosync(PathBuf::from(p)),
        (None, Some(c)) => Source::Toml(PathBuf::from(c)),
        (None, None) => Source::Default(env.default_config.clone()),
    };
    let cfg = source::load(
        &src,
        &Overrides {
            cluster: None,
            scheme,
        },
    )
    .map_err(bad)?;
    let state_path = req
        .state_file
        .as_ref()
        .map(PathBuf::from)
        .or_else(|| cfg.state_file.clone())
        .unwrap_or_else(|| env.default_state.clone());
    let plug_key = || -> Result<Key, Failed> {
        match (&req.key, &req.plug) {
            (Some(k), _) => key::parse_explicit(k).map_err(bad),
            (None, Some(p)) => source::node_key(&cfg, p).map_err(bad),
            (None, None) => Err(bad("nodename or key is required")),
        }
    };
    match action {
        Action::List => {
            for n in &cfg.nodes {
                out.stdout.push_str(&format!("{},\n", n.name));
            }
            return Ok(exit::OK);
        }
        Action::ValidateAll => return plug_key().map(|_| exit::OK),
        Action::Monitor => {
            return State::load(&state_path)
                .map(|_| exit::OK)
                .map_err(|e| Failed(exit::GENERIC, e.to_string()))
        }
        _ => {}
    }
    let key = plug_key()?;
    let state = State::load(&state_path);
    let names = |default: &[String]| -> Result<Vec<String>, Failed> {
        let args = if req.devices.is_empty() {
            default
        } else {
            &req.devices
        };
        let mut v = Vec::new();
        for n in cfg.expand_devices(args).map_err(bad)? {
            if n == "auto" {
                for pv in lvm::discover_shared_pvs(&env.vgs).map_err(bad)? {
                    if !v.contains(&pv) {
                        v.push(pv);
                    }
                }
            } else if !v.contains(&n) {
                v.push(n);
            }
        }
        if v.is_empty() {
            return Err(bad(
                "no devices: give devices=, or `devices` in the configuration",
            ));
        }
        Ok(v)
    };
    let resolve = |names: &[String]| -> Result<Vec<Unit>, Failed> {
        paths::resolve_units(names, env.multipath, &env.roots)
            .map_err(|e| Failed(exit::GENERIC, e.to_string()))
    };
    let state_devices = state
        .as_ref()
        .map(|s| s.devices.clone())
        .unwrap_or_default();
    let opener = (env.opener)(req);
    match action {
        Action::On => {
            let names = names(&cfg.devices)?;
            let set = resolve(&names)?;
            let reps = ops::unfence(&opener, &set, key, req.aptpl || cfg.aptpl);
            if reps.iter().any(|r| r.registrations > 0) {
                let st = State {
                    node: req.plug.clone(),
                    key: key.to_string(),
                    devices: names.clone(),
                };
                st.save(&state_path)
                    .map_err(|e| Failed(exit::GENERIC, e.to_string()))?;
            }
            let bad_devs: Vec<String> = reps
                .iter()
                .filter(|r| !r.complete)
                .map(|r| match &r.error {
                    Some(e) => format!("{}: {e}", r.device),
                    None => format!("{}: not registered on every path", r.device),
                })
                .collect();
            if bad_devs.is_empty() {
                out.stdout.push_str("Success: Powered ON\n");
                Ok(exit::OK)
            } else {
                Err(Failed(exit::GENERIC, bad_devs.join("; ")))
            }
        }
        Action::Off | Action::Reboot => {
            if req.delay > 0 {
                (env.sleep)(Duration::from_secs(req.delay));
            }
            let own = state
                .as_ref()
                .map_err(|e| bad(format!("this node's key (the state file): {e}")))?
                .key()
                .map_err(bad)?;
            let default = if cfg.devices.is_empty() {
                state_devices
            } else {
                cfg.devices.clone()
            };
            let set = resolve(&names(&default)?)?;
            let how = FenceHow {
                mode: if req.preempt_only {
                    PreemptMode::Preempt
                } else {
                    PreemptMode::PreemptAndAbort
                },
                // Never: a node whose key is gone may have been fenced.
                register: false,
            };
            let res = ops::fence(&opener, &set, own, key, how).map_err(bad)?;
            if res.complete {
                // As fence_scsi (fencing.py): a key on no device is a node
                // that is already off.
                let was_on = res.devices.iter().any(|d| d.victim_was_registered);
                out.stdout.push_str(match (action, was_on) {
                    (Action::Reboot, _) => "Success: Rebooted\n",
                    (_, true) => "Success: Powered OFF\n",
                    (_, false) => "Success: Already OFF\n",
                });
                Ok(exit::OK)
            } else {
                let why: Vec<String> = res
                    .devices
                    .iter()
                    .filter(|d| !d.complete)
                    .map(|d| match &d.error {
                        Some(e) => e.clone(),
                        None => format!("{}: the fence is incomplete", d.device),
                    })
                    .collect();
                Err(Failed(exit::GENERIC, why.join("; ")))
            }
        }
        Action::Status => {
            let default = if cfg.devices.is_empty() {
                state_devices
            } else {
                cfg.devices.clone()
            };
            let names = names(&default)?;
            let set = resolve(&names).map_err(|f| Failed(exit::STATUS, f.1))?;
            let r = ops::check(&opener, &set, key);
            if r.registered() {
                out.stdout.push_str("Status: ON\n");
                return Ok(exit::OK);
            }
            if !r.errors.is_empty() {
                let e: Vec<String> = r
                    .errors
                    .iter()
                    .map(|e| format!("{}: {}", e.device, e.error))
                    .collect();
                return Err(Failed(exit::STATUS, e.join("; ")));
            }
            out.stdout.push_str("Status: OFF\n");
            Ok(exit::BAD_ARGS)
        }
        _ => Err(Failed(
            exit::GENERIC,
            format!("action {action:?} is not supported"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fence::sim::{lu, Lu, SimOpener};
    use std::sync::{Arc, Mutex};

    /// node1 reaches the LU through /n1/sdb, node2 through /n2/sdb; the
    /// configuration lists both (hash scheme); each node has its own state
    /// file.
    struct Bed {
        dir: tempfile::TempDir,
        lu: Arc<Mutex<Lu>>,
        slept: Mutex<Vec<Duration>>,
    }

    impl Bed {
        fn new() -> Bed {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(
                dir.path().join("cluster.toml"),
                "cluster = \"c1\"\nscheme = \"hash\"\n[[node]]\nname = \"node1\"\n[[node]]\nname = \"node2\"\n",
            )
            .unwrap();
            Bed {
                dir,
                lu: lu(),
                slept: Mutex::new(Vec::new()),
            }
        }

        fn key(&self, node: &str) -> Key {
            let cfg =
                crate::fence::config::ClusterConfig::load(&self.dir.path().join("cluster.toml"))
                    .unwrap();
            source::node_key(&cfg, node).unwrap()
        }

        /// Runs `lines` as `node` (its device and state file).
        fn run(&self, node: &str, lines: &str) -> Output {
            let lu = Arc::clone(&self.lu);
            let node_s = node.to_string();
            let open = move |_: &Request| {
                let mut o = SimOpener::default();
                o.add(&format!("/{node_s}/sdb"), &lu, &node_s);
                o
            };
            let sleep = |d: Duration| self.slept.lock().unwrap().push(d);
            let env = Env {
                name: "fence_test".into(),
                opener: &open,
                roots: Roots::default(),
                multipath: false,
                default_config: self.dir.path().join("cluster.toml"),
                default_state: self.dir.path().join(format!("{node}.state")),
                vgs: "false".into(),
                sleep: &sleep,
            };
            run(&format!("devices=/{node}/sdb\n{lines}"), &env)
        }

        fn pr_outs(&self) -> usize {
            self.lu.lock().unwrap().log.len()
        }
    }

    #[test]
    fn agent_metadata_list_validate_and_parse_errors() {
        let b = Bed::new();
        let o = b.run("node1", "action=metadata\n");
        assert_eq!(o.code, exit::OK);
        assert!(o.stdout.contains("<resource-agent name=\"fence_test\""));
        let o = b.run("node1", "action=list\n");
        assert_eq!((o.code, o.stdout.as_str()), (exit::OK, "node1,\nnode2,\n"));
        assert_eq!(
            b.run("node1", "action=validate-all\nplug=node2\n").code,
            exit::OK
        );
        let o = b.run("node1", "action=validate-all\nplug=ndoe2\n");
        assert_eq!(o.code, exit::BAD_ARGS, "{o:?}");
        assert!(
            o.stderr.contains("not in the cluster configuration"),
            "{o:?}"
        );
        let o = b.run("node1", "action=validate-all\n");
        assert_eq!(o.code, exit::BAD_ARGS);
        let o = b.run("node1", "garbage\n");
        assert_eq!(o.code, exit::BAD_ARGS);
        assert!(o.stderr.starts_with("Failed: "));
        let o = b.run("node1", "action=list\nbogus=1\n");
        assert!(o.stderr.contains("Ignoring unknown option 'bogus'"));
        let o = b.run("node1", "action=list\nkey_value=md5\n");
        assert_eq!(o.code, exit::BAD_ARGS);
    }

    #[test]
    fn agent_on_off_status_monitor_and_reboot() {
        let b = Bed::new();
        assert_eq!(b.run("node1", "action=monitor\n").code, exit::GENERIC);
        let o = b.run("node1", "action=on\nplug=node1\n");
        assert_eq!(
            (o.code, o.stdout.as_str()),
            (exit::OK, "Success: Powered ON\n"),
            "{o:?}"
        );
        assert_eq!(b.run("node1", "action=monitor\n").code, exit::OK);
        let o = b.run("node2", "action=on\nplug=node2\n");
        assert_eq!(o.code, exit::OK, "{o:?}");
        let o = b.run("node1", "action=status\nplug=node2\n");
        assert_eq!((o.code, o.stdout.as_str()), (exit::OK, "Status: ON\n"));
        let o = b.run("node1", "action=off\nplug=node2\npreempt_only=1\ndelay=2\n");
        assert_eq!(
            (o.code, o.stdout.as_str()),
            (exit::OK, "Success: Powered OFF\n"),
            "{o:?}"
        );
        assert_eq!(*b.slept.lock().unwrap(), vec![Duration::from_secs(2)]);
        assert_eq!(b.lu.lock().unwrap().keys(), vec![b.key("node1")]);
        let o = b.run("node1", "action=status\nplug=node2\n");
        assert_eq!(
            (o.code, o.stdout.as_str()),
            (exit::BAD_ARGS, "Status: OFF\n")
        );
        // Off again: nothing to do, still success, reported as fence_scsi
        // does; reboot says so.
        let o = b.run("node1", "action=off\nplug=node2\n");
        assert_eq!(
            (o.code, o.stdout.as_str()),
            (exit::OK, "Success: Already OFF\n"),
            "{o:?}"
        );
        assert_eq!(b.lu.lock().unwrap().keys(), vec![b.key("node1")]);
        let o = b.run("node1", "action=reboot\nplug=node2\n");
        assert_eq!(
            (o.code, o.stdout.as_str()),
            (exit::OK, "Success: Rebooted\n"),
            "{o:?}"
        );
        // Fencing itself is refused.
        assert_eq!(
            b.run("node1", "action=off\nplug=node1\n").code,
            exit::BAD_ARGS
        );
        // An unreadable device: the status is unknown, not OFF.
        b.lu.lock().unwrap().dead.push("node1".into());
        let o = b.run("node1", "action=status\nplug=node2\n");
        assert_eq!(o.code, exit::STATUS, "{o:?}");
        let o = b.run("node1", "action=on\nplug=node1\n");
        assert_eq!(o.code, exit::GENERIC, "{o:?}");
    }

    #[test]
    fn agent_off_never_lets_a_fenced_node_fence_back() {
        let b = Bed::new();
        assert_eq!(b.run("node1", "action=on\nplug=node1\n").code, exit::OK);
        assert_eq!(b.run("node2", "action=on\nplug=node2\n").code, exit::OK);
        assert_eq!(
            b.run("node1", "action=off\nplug=node2\npreempt_only=1\n")
                .code,
            exit::OK
        );
        let before = b.pr_outs();
        // node2 was fenced; its agent is asked to fence node1.
        let o = b.run("node2", "action=off\nplug=node1\npreempt_only=1\n");
        assert_eq!(o.code, exit::GENERIC, "{o:?}");
        assert!(o.stderr.contains("not registered"), "{o:?}");
        assert_eq!(b.pr_outs(), before, "PR OUT sent by a fenced node");
        assert_eq!(b.lu.lock().unwrap().keys(), vec![b.key("node1")]);
    }

    #[test]
    fn agent_unknown_plug_fences_nobody() {
        let b = Bed::new();
        assert_eq!(b.run("node1", "action=on\nplug=node1\n").code, exit::OK);
        assert_eq!(b.run("node2", "action=on\nplug=node2\n").code, exit::OK);
        let before = b.pr_outs();
        let o = b.run("node1", "action=off\nplug=ndoe2\n");
        assert_eq!(o.code, exit::BAD_ARGS, "{o:?}");
        assert!(!o.stdout.contains("Success"), "{o:?}");
        assert_eq!(b.pr_outs(), before);
    }

    #[test]
    fn agent_off_repairs_a_relogged_nexus_first() {
        let b = Bed::new();
        assert_eq!(b.run("node1", "action=on\nplug=node1\n").code, exit::OK);
        assert_eq!(b.run("node2", "action=on\nplug=node2\n").code, exit::OK);
        // node1's key stays on the LU through an old nexus; the nexus of
        // /node1/sdb re-logged in and lost its registration.
        {
            let mut u = b.lu.lock().unwrap();
            let k = b.key("node1");
            u.regs.retain(|r| r.0 != "node1");
            u.regs.push(("node1-old".into(), k));
        }
        let o = b.run("node1", "action=off\nplug=node2\npreempt_only=1\n");
        assert_eq!(o.code, exit::OK, "{o:?}");
        assert!(!b.lu.lock().unwrap().keys().contains(&b.key("node2")));
    }

    #[test]
    fn agent_corosync_cmap_path_is_run_and_its_failure_is_an_error() {
        let b = Bed::new();
        let prog = b.dir.path().join("cmapctl");
        std::fs::write(&prog, "#!/bin/sh\necho no corosync >&2\nexit 1\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        let o = b.run(
            "node1",
            &format!("action=list\ncorosync_cmap_path={}\n", prog.display()),
        );
        assert_eq!(o.code, exit::BAD_ARGS, "{o:?}");
        assert!(o.stderr.contains("no corosync"), "{o:?}");
        std::fs::write(
            &prog,
            "#!/bin/sh\necho 'totem.cluster_name (str) = c2'\necho 'nodelist.node.0.name (str) = alpha'\n",
        )
        .unwrap();
        let o = b.run(
            "node1",
            &format!("action=list\ncorosync_cmap_path={}\n", prog.display()),
        );
        assert_eq!((o.code, o.stdout.as_str()), (exit::OK, "alpha,\n"), "{o:?}");
    }
}
