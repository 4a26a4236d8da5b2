//! sg_persist's command line (the GNU getopt_long work-alike under it and
//! the number parsers it uses). The input is the argument vector, one
//! argument per NUL-separated field.
#![no_main]

use fencekit::compat::getopt::{scan_hex_u64, sg_get_num};
use fencekit::compat::sg_persist_args::{parse, Invocation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let args: Vec<String> = s.split('\0').map(str::to_string).collect();
    match parse("sg_persist", &args) {
        Invocation::Run(_) => {}
        Invocation::Exit(e) => {
            let _ = e.stderr.len();
        }
    }
    for a in &args {
        let _ = scan_hex_u64(a);
        let _ = sg_get_num(a);
    }
});
