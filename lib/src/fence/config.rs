//! The cluster description: the cluster's name, its nodes and their keys,
//! and named device sets. It comes from a TOML file (fencectl(8),
//! CONFIGURATION; `docs/cluster.toml.example`), from `corosync-cmapctl`
//! output, or from the command line.
//!
//! From corosync, the lines read are `totem.cluster_name (str) = NAME`,
//! `nodelist.node.N.nodeid (u32) = X` and `nodelist.node.N.name (str) =
//! NAME` (or `ring0_addr` when a node has no name). As fence_scsi does, a
//! node's `id` for the `id` key scheme is its position N in the nodelist;
//! the corosync `nodeid` is kept beside it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::key::{self, KeyInput, Scheme};
use crate::scsi::pr::Key;

/// Where the configuration is read by default.
pub const DEFAULT_CONFIG: &str = "/etc/fencekit/cluster.toml";

/// One node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// The node's name (corosync's `name`, or `ring0_addr`).
    pub name: String,
    /// The id used by the `id` and `vxfen` schemes.
    #[serde(default)]
    pub id: u32,
    /// corosync's `nodeid`, when read from corosync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodeid: Option<u32>,
    /// An explicit key (hex), overriding the scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// An explicit key as 8 ASCII characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ascii: Option<String>,
    /// This node's scheme, overriding the cluster's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
}

/// The cluster: name, key scheme, nodes and device sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The cluster name (corosync `totem.cluster_name`).
    #[serde(default)]
    pub cluster: String,
    /// The cluster id for the `vxfen` scheme.
    #[serde(default)]
    pub cluster_id: u16,
    /// The default key scheme.
    #[serde(default)]
    pub scheme: Scheme,
    /// The default data devices; `["auto"]` for the PVs of shared VGs.
    #[serde(default)]
    pub devices: Vec<String>,
    /// Coordinator disks for `race`, in the order they are worked (unless
    /// sorted by WWID).
    #[serde(default)]
    pub coordinator: Vec<String>,
    /// Named device groups (`@NAME` on the command line).
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// The state file, if not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_file: Option<PathBuf>,
    /// Register with APTPL (persist through power loss).
    #[serde(default)]
    pub aptpl: bool,
    /// The nodes.
    #[serde(default, rename = "node")]
    pub nodes: Vec<Node>,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The TOML did not parse or has unknown fields.
    #[error("{path}: {detail}")]
    Syntax { path: String, detail: String },
    /// A node is not in the configuration.
    #[error("node {0:?} is not in the cluster configuration")]
    UnknownNode(String),
    /// A key cannot be made.
    #[error("{0}")]
    Key(#[from] key::KeyError),
    /// Something else is inconsistent.
    #[error("{0}")]
    Invalid(String),
}

impl ClusterConfig {
    /// Parses TOML text; `path` names it in errors.
    pub fn from_toml(text: &str, path: &str) -> Result<ClusterConfig, ConfigError> {
        let c: ClusterConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_string(),
            detail: e.to_string().trim_end().to_string(),
        })?;
        c.validate()?;
        Ok(c)
    }

    /// Reads and parses a TOML file.
    pub fn load(path: &std::path::Path) -> Result<ClusterConfig, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        ClusterConfig::from_toml(&text, &shown)
    }

    /// Checks names are unique and every node has a key that is not 0 and
    /// not another node's.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen: BTreeMap<Key, &str> = BTreeMap::new();
        for n in &self.nodes {
            if self.nodes.iter().filter(|m| m.name == n.name).count() > 1 {
                return Err(ConfigError::Invalid(format!(
                    "node {:?} is listed more than once",
                    n.name
                )));
            }
            let k = self.key_of(n)?;
            if let Some(other) = seen.insert(k, &n.name) {
                return Err(ConfigError::Invalid(format!(
                    "nodes {other:?} and {:?} have the same key {k}",
                    n.name
                )));
            }
        }
        Ok(())
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Result<&Node, ConfigError> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| ConfigError::UnknownNode(name.to_string()))
    }

    /// A node's key: explicit, or derived with its scheme.
    pub fn key_of(&self, n: &Node) -> Result<Key, ConfigError> {
        if let Some(k) = &n.key {
            return Ok(key::parse_explicit(k)?);
        }
        if let Some(a) = &n.key_ascii {
            let k = Key::from_ascii(a).map_err(|_| key::KeyError::Parse(a.clone()))?;
            if k.0 == 0 {
                return Err(key::KeyError::Zero {
                    what: n.name.clone(),
                }
                .into());
            }
            return Ok(k);
        }
        if self.cluster.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "node {:?} has no key and the cluster has no name to derive one from",
                n.name
            )));
        }
        let scheme = n.scheme.unwrap_or(self.scheme);
        Ok(key::derive(
            scheme,
            &KeyInput {
                cluster: &self.cluster,
                cluster_id: self.cluster_id,
                node: &n.name,
                node_id: n.id,
            },
        )?)
    }

    /// The key of the node called `name`.
    pub fn key_of_name(&self, name: &str) -> Result<Key, ConfigError> {
        self.key_of(self.node(name)?)
    }

    /// The node that holds `key`, if any.
    pub fn node_of_key(&self, k: Key) -> Option<&Node> {
        self.nodes.iter().find(|n| self.key_of(n).ok() == Some(k))
    }

    /// Expands device arguments: `@NAME` is a group of the configuration,
    /// anything else a device name (or `auto`). Order is kept, duplicates
    /// dropped.
    pub fn expand_devices(&self, args: &[String]) -> Result<Vec<String>, ConfigError> {
        let mut out: Vec<String> = Vec::new();
        for a in args {
            let items: Vec<String> = match a.strip_prefix('@') {
                Some(g) => self.groups.get(g).cloned().ok_or_else(|| {
                    ConfigError::Invalid(format!("no device group {g:?} in the configuration"))
                })?,
                None => a
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            };
            for i in items {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        Ok(out)
    }
}

/// Parses `corosync-cmapctl` output (all keys, or `totem.` and `nodelist.`
/// prefixes) into a configuration with the given scheme.
pub fn from_corosync(text: &str, scheme: Scheme) -> Result<ClusterConfig, ConfigError> {
    #[derive(Default)]
    struct Entry {
        nodeid: Option<u32>,
        name: Option<String>,
        ring0: Option<String>,
    }
    let mut cluster = None;
    let mut entries: BTreeMap<u32, Entry> = BTreeMap::new();
    for line in text.lines() {
        let Some((lhs, value)) = line.split_once(" = ") else {
            continue;
        };
        let value = value.trim();
        let Some((name, _ty)) = lhs.trim().split_once(' ') else {
            continue;
        };
        if name == "totem.cluster_name" {
            cluster = Some(value.to_string());
            continue;
        }
        let Some(rest) = name.strip_prefix("nodelist.node.") else {
            continue;
        };
        let Some((idx, field)) = rest.split_once('.') else {
            continue;
        };
        let Ok(idx) = idx.parse::<u32>() else {
            continue;
        };
        let e = entries.entry(idx).or_default();
        match field {
            "nodeid" => {
                e.nodeid = Some(value.parse().map_err(|_| {
                    ConfigError::Invalid(format!("corosync: bad nodeid in {line:?}"))
                })?)
            }
            "name" => e.name = Some(value.to_string()),
            "ring0_addr" => e.ring0 = Some(value.to_string()),
            _ => {}
        }
    }
    let cluster = cluster.ok_or_else(|| {
        ConfigError::Invalid("corosync: no totem.cluster_name (str) = NAME line".into())
    })?;
    let mut nodes = Vec::new();
    for (idx, e) in entries {
        let Some(name) = e.name.or(e.ring0) else {
            continue;
        };
        nodes.push(Node {
            name,
            id: idx,
            nodeid: e.nodeid,
            key: None,
            key_ascii: None,
            scheme: None,
        });
    }
    let c = ClusterConfig {
        cluster,
        scheme,
        nodes,
        ..Default::default()
    };
    c.validate()?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMAP: &str = "\
nodelist.local_node_pos (u32) = 1
nodelist.node.0.name (str) = node1
nodelist.node.0.nodeid (u32) = 1
nodelist.node.0.ring0_addr (str) = 192.168.122.11
nodelist.node.1.name (str) = node2
nodelist.node.1.nodeid (u32) = 2
nodelist.node.1.ring0_addr (str) = 192.168.122.12
nodelist.node.2.nodeid (u32) = 7
nodelist.node.2.ring0_addr (str) = node3.example
totem.cluster_name (str) = mycluster
totem.config_version (u64) = 3
";

    #[test]
    fn corosync_text() {
        let c = from_corosync(CMAP, Scheme::Id).unwrap();
        assert_eq!(c.cluster, "mycluster");
        assert_eq!(c.nodes.len(), 3);
        assert_eq!(c.nodes[1].name, "node2");
        assert_eq!(c.nodes[1].id, 1);
        assert_eq!(c.nodes[1].nodeid, Some(2));
        assert_eq!(c.nodes[2].name, "node3.example");
        // fence_scsi's id scheme: md5("mycluster")[..4] + position 0001.
        assert_eq!(c.key_of_name("node2").unwrap(), Key(0x6c9d_0001));
        let h = from_corosync(CMAP, Scheme::Hash).unwrap();
        assert_eq!(h.key_of_name("node2").unwrap(), Key(0x6c9d_7888));
        assert!(from_corosync("nodelist.node.0.name (str) = a\n", Scheme::Id).is_err());
    }

    #[test]
    fn toml_config() {
        let text = r#"
cluster = "mycluster"
scheme = "id"
devices = ["/dev/mapper/data1", "/dev/mapper/data2"]
coordinator = ["/dev/sdx", "/dev/sdy", "/dev/sdz"]

[groups]
db = ["/dev/mapper/db1"]

[[node]]
name = "node1"
id = 1

[[node]]
name = "node2"
id = 2
scheme = "hash"

[[node]]
name = "node3"
key = "0x00ABCD"
"#;
        let c = ClusterConfig::from_toml(text, "t.toml").unwrap();
        assert_eq!(c.key_of_name("node1").unwrap(), Key(0x6c9d_0001));
        assert_eq!(c.key_of_name("node2").unwrap(), Key(0x6c9d_7888));
        assert_eq!(c.key_of_name("node3").unwrap(), Key(0xabcd));
        assert_eq!(c.node_of_key(Key(0xabcd)).unwrap().name, "node3");
        assert_eq!(
            c.expand_devices(&["@db".into(), "/dev/sdb,/dev/sdc".into(), "/dev/sdb".into()])
                .unwrap(),
            vec!["/dev/mapper/db1", "/dev/sdb", "/dev/sdc"]
        );
        assert!(c.expand_devices(&["@nope".into()]).is_err());
        assert!(matches!(
            c.node("node9").unwrap_err(),
            ConfigError::UnknownNode(_)
        ));
    }

    #[test]
    fn bad_configs_are_refused() {
        let e = ClusterConfig::from_toml("clustr = \"x\"\n", "t.toml").unwrap_err();
        assert!(e.to_string().starts_with("t.toml:"), "{e}");
        let dup = "cluster = \"a\"\n[[node]]\nname = \"x\"\nkey = \"1\"\n[[node]]\nname = \"y\"\nkey = \"0x1\"\n";
        assert!(ClusterConfig::from_toml(dup, "t")
            .unwrap_err()
            .to_string()
            .contains("same key"));
        let zero = "[[node]]\nname = \"x\"\nkey = \"0\"\n";
        assert!(ClusterConfig::from_toml(zero, "t").is_err());
        let vx = "cluster = \"a\"\ncluster_id = 0xdeed\nscheme = \"vxfen\"\n[[node]]\nname = \"x\"\nid = 1\n";
        let c = ClusterConfig::from_toml(vx, "t").unwrap();
        assert_eq!(c.key_of_name("x").unwrap().to_ascii_lossy(), "VFDEED01");
    }
}
