//! The backend switch through `DOUBLEDESCENT_DEVICE`. One test only: it changes the process
//! environment, which no other test in this binary may read concurrently.

use doubledescent::backend::DEVICE_ENV;
use doubledescent::{Backend, Device, DeviceRequest, Error};

#[test]
fn environment_variable_forces_or_rejects_a_backend() {
    // SAFETY (edition 2024 `set_var`): this binary has no other test, hence no other thread
    // reading the environment.
    unsafe { std::env::set_var(DEVICE_ENV, "cpu") };
    let dev = Device::auto().unwrap();
    assert_eq!(dev.backend(), Backend::Cpu);
    assert!(dev.note().unwrap().contains("DOUBLEDESCENT_DEVICE=cpu"));

    // An explicit API request wins over the environment.
    let cuda = Device::select(DeviceRequest::Cuda);
    let cuda_present = cuda.is_ok();
    unsafe { std::env::set_var(DEVICE_ENV, "cuda") };
    assert_eq!(
        Device::select(DeviceRequest::Cpu).unwrap().backend(),
        Backend::Cpu
    );
    match Device::auto() {
        Ok(dev) => {
            assert!(cuda_present);
            assert_eq!(dev.backend(), Backend::Cuda);
        }
        Err(Error::DeviceUnavailable(reason)) => {
            assert!(!cuda_present);
            assert!(
                !reason.is_empty() && !reason.contains('\n'),
                "one-line reason: {reason:?}"
            );
            eprintln!("no CUDA here: {reason}");
        }
        Err(e) => panic!("unexpected error {e}"),
    }

    unsafe { std::env::set_var(DEVICE_ENV, "tpu") };
    let e = Device::auto().unwrap_err().to_string();
    assert!(e.contains(DEVICE_ENV) && e.contains("tpu"), "{e}");

    // Automatic: CUDA when present, otherwise the CPU with the reason.
    unsafe { std::env::remove_var(DEVICE_ENV) };
    let dev = Device::auto().unwrap();
    if cuda_present {
        assert_eq!(dev.backend(), Backend::Cuda);
    } else {
        assert_eq!(dev.backend(), Backend::Cpu);
        assert!(
            dev.note().unwrap().starts_with("CUDA unavailable: "),
            "{dev}"
        );
    }
    eprintln!("automatic choice: {dev}");
}
