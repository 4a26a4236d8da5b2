//! Compatibility with the command lines and output of existing tools, so
//! that scripts written for them keep working with fencekit.

pub mod getopt;
pub mod sg_persist_args;
