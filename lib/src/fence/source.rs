//! Where the cluster description comes from, and how a node's name becomes
//! its key: a TOML file (fencectl(8), CONFIGURATION), the output of
//! `corosync-cmapctl` (run, or saved in a file), and the command line's
//! overrides (`--cluster`, `--scheme`, the fence agent's `key_value`).
//!
//! Key policy: when the configuration lists nodes, only those nodes have
//! keys, whatever the scheme; a name that is not listed is refused. Only a
//! configuration without nodes lets the `hash` scheme derive a key from a
//! bare name (the cluster name and the node name are all it needs).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::config::{self, ClusterConfig, ConfigError};
use super::key::{self, KeyInput, Scheme};
use crate::scsi::pr::Key;

/// Where the cluster description is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// This TOML file.
    Toml(PathBuf),
    /// The default TOML file when it exists, else an empty configuration.
    Default(PathBuf),
    /// Run this `corosync-cmapctl`.
    Corosync(PathBuf),
    /// Saved `corosync-cmapctl` output.
    CorosyncFile(PathBuf),
}

/// Command-line values that replace the configuration's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// The cluster name.
    pub cluster: Option<String>,
    /// The key scheme.
    pub scheme: Option<Scheme>,
}

/// Why the cluster description could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `corosync-cmapctl` could not be started.
    #[error("{path}: {source}")]
    CmapctlStart {
        /// The program.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `corosync-cmapctl` ran and failed.
    #[error("{path} failed ({status}): {stderr}")]
    CmapctlFailed {
        /// The program.
        path: String,
        /// Its exit status.
        status: String,
        /// What it wrote on stderr.
        stderr: String,
    },
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Runs `corosync-cmapctl` and returns its output; a failing run is an
/// error (its output then is not the cluster's).
pub fn run_cmapctl(program: &Path) -> Result<String, SourceError> {
    let path = program.display().to_string();
    let out = Command::new(program)
        .output()
        .map_err(|source| SourceError::CmapctlStart {
            path: path.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(SourceError::CmapctlFailed {
            path,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Reads the cluster description and applies the overrides.
pub fn load(src: &Source, ov: &Overrides) -> Result<ClusterConfig, SourceError> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|source| SourceError::Read {
            path: p.display().to_string(),
            source,
        })
    };
    let corosync = |text: &str| config::from_corosync(text, ov.scheme.unwrap_or_default());
    let mut cfg = match src {
        Source::Toml(p) => ClusterConfig::load(p)?,
        Source::Default(p) if p.exists() => ClusterConfig::load(p)?,
        Source::Default(_) => ClusterConfig::default(),
        Source::Corosync(prog) => corosync(&run_cmapctl(prog)?)?,
        Source::CorosyncFile(p) => corosync(&read(p)?)?,
    };
    if let Some(c) = &ov.cluster {
        cfg.cluster = c.clone();
    }
    if let Some(s) = ov.scheme {
        cfg.scheme = s;
    }
    Ok(cfg)
}

/// The key of the node called `name` under the key policy (see the
/// module's documentation).
pub fn node_key(cfg: &ClusterConfig, name: &str) -> Result<Key, ConfigError> {
    match cfg.key_of_name(name) {
        Ok(k) => Ok(k),
        Err(ConfigError::UnknownNode(_))
            if cfg.nodes.is_empty() && cfg.scheme == Scheme::Hash && !cfg.cluster.is_empty() =>
        {
            Ok(key::derive(
                Scheme::Hash,
                &KeyInput {
                    cluster: &cfg.cluster,
                    cluster_id: 0,
                    node: name,
                    node_id: 0,
                },
            )?)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fence::config::Node;

    fn two_nodes(scheme: Scheme) -> ClusterConfig {
        let n = |name: &str, id| Node {
            name: name.into(),
            id,
            nodeid: None,
            key: None,
            key_ascii: None,
            scheme: None,
        };
        ClusterConfig {
            cluster: "c1".into(),
            scheme,
            nodes: vec![n("node1", 1), n("node2", 2)],
            ..Default::default()
        }
    }

    #[test]
    fn unknown_plug_is_refused_for_every_scheme_when_nodes_are_listed() {
        for s in [Scheme::Id, Scheme::Hash, Scheme::Vxfen] {
            let c = two_nodes(s);
            assert!(node_key(&c, "node1").is_ok(), "{s:?}");
            let e = node_key(&c, "ndoe2").unwrap_err();
            assert!(matches!(e, ConfigError::UnknownNode(_)), "{s:?}: {e}");
        }
        // With no nodes listed, the hash scheme needs only the names.
        let c = ClusterConfig {
            cluster: "c1".into(),
            scheme: Scheme::Hash,
            ..Default::default()
        };
        assert!(node_key(&c, "anyname").is_ok());
        let c = ClusterConfig {
            scheme: Scheme::Hash,
            ..Default::default()
        };
        assert!(node_key(&c, "anyname").is_err());
    }

    #[test]
    fn failing_cmapctl_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let prog = t.path().join("corosync-cmapctl");
        std::fs::write(
            &prog,
            "#!/bin/sh\necho 'totem.cluster_name (str) = stale'\necho 'cannot connect' >&2\nexit 1\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = load(&Source::Corosync(prog.clone()), &Overrides::default()).unwrap_err();
        assert!(matches!(e, SourceError::CmapctlFailed { .. }), "{e}");
        assert!(e.to_string().contains("cannot connect"), "{e}");
        // The path given is the program run.
        std::fs::write(
            &prog,
            "#!/bin/sh\necho 'totem.cluster_name (str) = c9'\necho 'nodelist.node.0.name (str) = n0'\n",
        )
        .unwrap();
        let c = load(&Source::Corosync(prog), &Overrides::default()).unwrap();
        assert_eq!(c.cluster, "c9");
        assert_eq!(c.nodes[0].name, "n0");
        let e = load(
            &Source::Corosync(t.path().join("none")),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(matches!(e, SourceError::CmapctlStart { .. }));
    }
}
