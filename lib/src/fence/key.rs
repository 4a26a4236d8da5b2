//! Reservation key schemes: how a node's key is derived from the cluster
//! and the node.
//!
//! The two fence_scsi schemes are reproduced exactly
//! (ClusterLabs/fence-agents `agents/scsi/fence_scsi.py`,
//! `generate_key()`):
//! - `id`: `"%.4s%.4d" % (md5(cluster_name).hexdigest(), nodeid)`: the first
//!   4 hex digits of the MD5 of the cluster name, then the node id as at
//!   least 4 decimal digits. The digits are read as hex. fence_scsi takes
//!   the node id from the position of the node in `corosync-cmapctl
//!   nodelist` (`nodelist.node.N.name`), not from `nodeid`.
//! - `hash`: the first 4 hex digits of md5(cluster name), then the first 4
//!   hex digits of md5(node name).
//!
//! fence_scsi lower-cases the key and strips leading zeros, then refuses a
//! key that is `0` or empty; as a number, a [`Key`] has neither case nor
//! leading zeros, and [`derive`] refuses 0 the same way.
//!
//! Veritas-style keys (`vxfen`) are 8 ASCII characters, `VF`, the cluster id
//! as 4 hex digits and the node id as 2 hex digits (`VFDEED00`), used as
//! the key's bytes.

use std::fmt;
use std::str::FromStr;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::scsi::pr::Key;

/// How a node's key is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// fence_scsi `key_value=id`: md5(cluster)[..4] + node id as 4 decimal
    /// digits.
    #[default]
    Id,
    /// fence_scsi `key_value=hash`: md5(cluster)[..4] + md5(node)[..4].
    Hash,
    /// Veritas style: `VF` + cluster id (4 hex) + node id (2 hex), ASCII.
    Vxfen,
}

impl FromStr for Scheme {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Scheme, KeyError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "id" => Ok(Scheme::Id),
            "hash" => Ok(Scheme::Hash),
            "vxfen" | "veritas" => Ok(Scheme::Vxfen),
            other => Err(KeyError::UnknownScheme(other.to_string())),
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Id => "id",
            Scheme::Hash => "hash",
            Scheme::Vxfen => "vxfen",
        })
    }
}

/// Why a key could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The scheme's name is not one of id, hash, vxfen.
    #[error("unknown key scheme {0:?} (expected id, hash or vxfen)")]
    UnknownScheme(String),
    /// The key came out as 0, which SPC-4 reserves for "not registered".
    #[error("the key for {what} is 0, which cannot be registered")]
    Zero { what: String },
    /// An input is out of the scheme's range.
    #[error("{0}")]
    Range(String),
    /// A key string did not parse.
    #[error(
        "invalid key {0:?}: expected 1 to 16 hex digits, or 8 ASCII characters with --key-ascii"
    )]
    Parse(String),
}

/// The MD5 of `s` in lower-case hex, as Python's `hexdigest()`.
pub fn md5_hex(s: &str) -> String {
    let d = Md5::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// fence_scsi's key string before normalisation, for `id`:
/// `"%.4s%.4d" % (md5(cluster).hexdigest(), node_id)`.
pub fn id_key_string(cluster: &str, node_id: u32) -> String {
    format!("{}{:04}", &md5_hex(cluster)[..4], node_id)
}

/// fence_scsi's key string before normalisation, for `hash`.
pub fn hash_key_string(cluster: &str, node: &str) -> String {
    format!("{}{}", &md5_hex(cluster)[..4], &md5_hex(node)[..4])
}

/// The Veritas-style key text: `VF` + cluster id (4 upper-case hex) + node
/// id (2 upper-case hex).
pub fn vxfen_key_string(cluster_id: u16, node_id: u32) -> Result<String, KeyError> {
    let n = u8::try_from(node_id).map_err(|_| {
        KeyError::Range(format!(
            "node id {node_id} does not fit the 2 hex digits of a vxfen key"
        ))
    })?;
    Ok(format!("VF{cluster_id:04X}{n:02X}"))
}

/// fence_scsi's normalisation of a key string: lower case, leading zeros
/// stripped (`key.lower().lstrip('0')`). Empty means 0.
pub fn normalise(s: &str) -> String {
    s.to_ascii_lowercase().trim_start_matches('0').to_string()
}

/// A hex key string as a key, refusing 0.
fn hex_key(s: &str, what: &str) -> Result<Key, KeyError> {
    let n = normalise(s);
    if n.is_empty() {
        return Err(KeyError::Zero {
            what: what.to_string(),
        });
    }
    n.parse::<Key>().map_err(|_| KeyError::Parse(s.to_string()))
}

/// What a key is derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInput<'a> {
    /// The cluster name.
    pub cluster: &'a str,
    /// The cluster id (vxfen only).
    pub cluster_id: u16,
    /// The node name.
    pub node: &'a str,
    /// The node id (for `id`: fence_scsi's position in the nodelist).
    pub node_id: u32,
}

/// Derives a node's key under `scheme`. Key 0 is refused.
pub fn derive(scheme: Scheme, input: &KeyInput<'_>) -> Result<Key, KeyError> {
    let what = format!("node {} of cluster {}", input.node, input.cluster);
    match scheme {
        Scheme::Id => hex_key(&id_key_string(input.cluster, input.node_id), &what),
        Scheme::Hash => hex_key(&hash_key_string(input.cluster, input.node), &what),
        Scheme::Vxfen => {
            let s = vxfen_key_string(input.cluster_id, input.node_id)?;
            Key::from_ascii(&s).map_err(|_| KeyError::Parse(s))
        }
    }
}

/// Parses an explicit key: hex (with or without `0x`); 0 is refused.
pub fn parse_explicit(s: &str) -> Result<Key, KeyError> {
    let t = s.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    hex_key(digits, &format!("key {t:?}"))
}

/// The key as fence_scsi and sg_persist print it: lower-case hex without
/// `0x` and without leading zeros.
pub fn fence_scsi_text(k: Key) -> String {
    format!("{:x}", k.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from python3: hashlib.md5(s.encode()).hexdigest().
    // md5("mycluster") = 6c9d58deeaac0e67f612d1ce6477116e
    // md5("node2")     = 78882aaeb08e9a4c81687b5de2add74f
    // md5("fencekit")  = 0ad51d45495c15647ea89edf9edadf2f
    // md5("c2327")     = 000089d72b3934d4cd23eca1c080d91a

    fn input<'a>(cluster: &'a str, node: &'a str, id: u32) -> KeyInput<'a> {
        KeyInput {
            cluster,
            cluster_id: 0,
            node,
            node_id: id,
        }
    }

    #[test]
    fn md5_matches_python() {
        assert_eq!(md5_hex("mycluster"), "6c9d58deeaac0e67f612d1ce6477116e");
        assert_eq!(md5_hex("node2"), "78882aaeb08e9a4c81687b5de2add74f");
    }

    #[test]
    fn id_scheme_is_fence_scsi_format() {
        assert_eq!(id_key_string("mycluster", 12), "6c9d0012");
        // %.4d is a minimum width: five digits stay five digits.
        assert_eq!(id_key_string("mycluster", 12345), "6c9d12345");
        let k = derive(Scheme::Id, &input("mycluster", "node2", 12)).unwrap();
        assert_eq!(k, Key(0x6c9d_0012));
        assert_eq!(fence_scsi_text(k), "6c9d0012");
    }

    #[test]
    fn leading_zeros_are_stripped_and_zero_is_refused() {
        let k = derive(Scheme::Id, &input("fencekit", "n", 1)).unwrap();
        assert_eq!(fence_scsi_text(k), "ad50001");
        assert_eq!(normalise("0AD50001"), "ad50001");
        let e = derive(Scheme::Id, &input("c2327", "n", 0)).unwrap_err();
        assert!(matches!(e, KeyError::Zero { .. }), "{e}");
        assert!(parse_explicit("0x0000").is_err());
        assert_eq!(parse_explicit("0x00AB").unwrap(), Key(0xab));
    }

    #[test]
    fn hash_scheme() {
        assert_eq!(hash_key_string("mycluster", "node2"), "6c9d7888");
        let k = derive(Scheme::Hash, &input("mycluster", "node2", 0)).unwrap();
        assert_eq!(k, Key(0x6c9d_7888));
    }

    #[test]
    fn vxfen_scheme() {
        let i = KeyInput {
            cluster_id: 0xdeed,
            ..input("c", "n", 0)
        };
        let k = derive(Scheme::Vxfen, &i).unwrap();
        assert_eq!(k.to_ascii_lossy(), "VFDEED00");
        assert!(vxfen_key_string(1, 256).is_err());
        assert_eq!(vxfen_key_string(0x12, 0x0a).unwrap(), "VF00120A");
    }

    #[test]
    fn matches_python_at_test_time_when_available() {
        let Ok(out) = std::process::Command::new("python3")
            .args([
                "-c",
                "import hashlib;h=lambda s:hashlib.md5(s.encode()).hexdigest();\
                 print(('%.4s%.4d'%(h('alpha'),7)).lower().lstrip('0'));\
                 print(('%.4s%.4s'%(h('alpha'),h('node-b'))).lower().lstrip('0'))",
            ])
            .output()
        else {
            return;
        };
        if !out.status.success() {
            return;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let id = derive(Scheme::Id, &input("alpha", "node-b", 7)).unwrap();
        let hash = derive(Scheme::Hash, &input("alpha", "node-b", 7)).unwrap();
        assert_eq!(lines.next(), Some(fence_scsi_text(id).as_str()));
        assert_eq!(lines.next(), Some(fence_scsi_text(hash).as_str()));
    }
}
