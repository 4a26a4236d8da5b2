//! Output that reproduces other tools' text byte for byte, for scripts
//! written against them.

pub mod sg_persist;
