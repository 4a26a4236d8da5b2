//! The world-wide identifier of a logical unit: the name multipath and
//! udev use for it (`36001405...` for an NAA designator, `2...` for
//! EUI-64, `1...` for a T10 vendor ID, `8...` for a SCSI name string),
//! derived from VPD page 0x83 or read from sysfs.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

/// A logical unit's WWID, in the form `multipath` prints. Serialized as a
/// plain string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Wwid(String);

impl Wwid {
    /// A WWID from its text.
    pub fn new(s: impl Into<String>) -> Wwid {
        Wwid(s.into())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Wwid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Deref for Wwid {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Wwid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Wwid {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<String> for Wwid {
    fn from(s: String) -> Wwid {
        Wwid(s)
    }
}

impl From<&str> for Wwid {
    fn from(s: &str) -> Wwid {
        Wwid(s.to_string())
    }
}

impl From<Wwid> for String {
    fn from(w: Wwid) -> String {
        w.0
    }
}

impl PartialEq<str> for Wwid {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Wwid {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Wwid> for String {
    fn eq(&self, other: &Wwid) -> bool {
        *self == other.0
    }
}

impl PartialEq<Wwid> for str {
    fn eq(&self, other: &Wwid) -> bool {
        self == other.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wwid_is_a_plain_string_in_json_and_compares_with_text() {
        let w = Wwid::from("36001405abc");
        assert_eq!(serde_json::to_string(&w).unwrap(), "\"36001405abc\"");
        let back: Wwid = serde_json::from_str("\"36001405abc\"").unwrap();
        assert_eq!(back, w);
        assert_eq!(w, "36001405abc");
        assert!(w.starts_with("36"));
        let mut m = std::collections::HashMap::new();
        m.insert(w.clone(), 1);
        assert_eq!(m.get("36001405abc"), Some(&1));
    }
}
