//! sg3_utils' result categories, the exit statuses of sg_persist and
//! `prkeys`.

/// The sg3_utils result categories (`SG_LIB_CAT_*`, `sg_lib.h`). Their
/// numbers are the exit statuses of sg_persist and of `prkeys`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Category {
    Clean = 0,
    SyntaxError = 1,
    NotReady = 2,
    MediumHard = 3,
    IllegalRequest = 5,
    UnitAttention = 6,
    DataProtect = 7,
    InvalidOpcode = 9,
    CopyAborted = 10,
    AbortedCommand = 11,
    Miscompare = 14,
    FileError = 15,
    NoSense = 20,
    Recovered = 21,
    ReservationConflict = 24,
    ConditionMet = 25,
    Busy = 26,
    TaskSetFull = 27,
    AcaActive = 28,
    TaskAborted = 29,
    Timeout = 33,
    Protection = 40,
    Malformed = 97,
    OtherSense = 98,
    Other = 99,
}

impl Category {
    /// The exit status sg3_utils uses for this category.
    pub fn exit_code(self) -> u8 {
        self as u8
    }
}
