//! The benches' access to the GPU: the CUDA rows run where a device is present and say why they
//! do not elsewhere; with `DOUBLEDESCENT_REQUIRE_GPU=1` (set by `.ci/gpu-check`) a missing device
//! is a failure instead.
#![allow(dead_code)]

use doubledescent::Device;

/// The CUDA device for the rows named `what`, or `None` with the reason printed.
pub fn cuda(what: &str) -> Option<Device> {
    match Device::cuda() {
        Ok(dev) => {
            eprintln!("{what} on {dev}");
            Some(dev)
        }
        Err(e) => {
            if std::env::var("DOUBLEDESCENT_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("DOUBLEDESCENT_REQUIRE_GPU=1 but {what} cannot run: {e}");
            }
            eprintln!("SKIPPED: {what}: {e}");
            None
        }
    }
}
