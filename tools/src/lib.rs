//! Shared code of the fencekit programs: common flags, rendering and the
//! exit-code table. No domain logic: that lives in the `fencekit` library.
#![forbid(unsafe_code)]
