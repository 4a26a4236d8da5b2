//! Compatibility with the command lines and output of existing tools, so
//! that scripts written for them keep working with fencekit: sg_persist's
//! command line, its text output byte for byte, and its flow.

pub mod getopt;
pub mod sg_persist;
pub mod sg_persist_args;
pub mod sg_persist_run;
