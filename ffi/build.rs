//! Generates the raw bindings with bindgen and links libsgutils2.
use std::env;
use std::error::Error;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rustc-link-lib=dylib=sgutils2");
    let bindings = bindgen::Builder::default()
        .header("wrapper.h")
        // The sg v3 interface.
        .allowlist_type("sg_io_hdr")
        .allowlist_var("SG_.*")
        // Kernel block-layer PR ioctls.
        .allowlist_type("pr_.*")
        .allowlist_var("PR_.*")
        .allowlist_var("IOC_PR_.*")
        // sg_lib text helpers: sense keys, ASC/ASCQ, PDT names, TransportIDs.
        .allowlist_function("sg_get_sense_key_str")
        .allowlist_function("sg_get_asc_ascq_str")
        .allowlist_function("sg_get_pdt_str")
        .allowlist_function("sg_decode_transportid_str")
        .allowlist_function("sg_get_category_sense_str")
        .allowlist_function("sg_get_trans_proto_str")
        .allowlist_function("sg_get_desig_type_str")
        .allowlist_function("sg_get_desig_code_set_str")
        .allowlist_function("sg_get_desig_assoc_str")
        .allowlist_function("sg_exit2str")
        .allowlist_function("sg_lib_version")
        .allowlist_var("SG_LIB_.*")
        .derive_default(true)
        .layout_tests(true)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .map_err(|e| {
            format!(
                "bindgen failed on wrapper.h (are libclang-dev and libsgutils2-dev installed?): {e}"
            )
        })?;
    let out = PathBuf::from(env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?);
    bindings
        .write_to_file(out.join("bindings.rs"))
        .map_err(|e| format!("cannot write bindings.rs: {e}"))?;
    Ok(())
}
