//! The error of every decoder of device responses and saved bytes: kept
//! apart from [`super::error`] so that decoders (sense included) do not
//! depend on the command errors built from what they decode.

/// Bytes that are too short, too long, or inconsistent with their own length
/// fields. Device responses and saved captures are untrusted input: every
/// decoder returns this instead of panicking.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the structure or its length field needs.
    #[error("{what}: {needed} bytes needed, only {got} given")]
    Short {
        what: &'static str,
        needed: usize,
        got: usize,
    },
    /// A field holds a value the format does not allow.
    #[error("{what}: {detail}")]
    Malformed { what: &'static str, detail: String },
}

impl DecodeError {
    /// Checks that `buf` holds at least `needed` bytes.
    pub fn check_len(what: &'static str, buf: &[u8], needed: usize) -> Result<(), DecodeError> {
        if buf.len() < needed {
            Err(DecodeError::Short {
                what,
                needed,
                got: buf.len(),
            })
        } else {
            Ok(())
        }
    }

    /// A malformed-field error.
    pub fn malformed(what: &'static str, detail: impl Into<String>) -> DecodeError {
        DecodeError::Malformed {
            what,
            detail: detail.into(),
        }
    }
}
