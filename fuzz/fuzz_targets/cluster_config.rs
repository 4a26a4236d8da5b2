//! The TOML cluster configuration and `corosync-cmapctl` output, with the
//! key of every node they list and device-group expansion.
#![no_main]

use fencekit::fence::config::{from_corosync, ClusterConfig};
use fencekit::fence::key::Scheme;
use libfuzzer_sys::fuzz_target;

fn exercise(c: &ClusterConfig) {
    for n in &c.nodes {
        let k = c.key_of(n).expect("a validated configuration has every key");
        assert_ne!(k.0, 0);
        assert!(c.node_of_key(k).is_some());
    }
    let groups: Vec<String> = c.groups.keys().map(|g| format!("@{g}")).collect();
    let _ = c.expand_devices(&groups);
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = ClusterConfig::from_toml(s, "fuzz.toml") {
        exercise(&c);
        // What parses serialises, and the text parses back the same.
        if let Ok(text) = toml::to_string(&c) {
            assert_eq!(ClusterConfig::from_toml(&text, "again.toml").ok(), Some(c));
        }
    }
    for scheme in [Scheme::Id, Scheme::Hash, Scheme::Vxfen] {
        if let Ok(c) = from_corosync(s, scheme) {
            exercise(&c);
        }
    }
});
