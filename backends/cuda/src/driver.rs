//! The CUDA driver API, loaded at run time with dlopen.
//!
//! Linking libcuda would make the addon (and so xt) fail to load on machines without an NVIDIA
//! driver; a `bun build --compile` binary also extracts only the `.node` file, so the driver must
//! come from the system anyway. We dlopen("libcuda.so.1") on first use and look up the entry points
//! by their ABI names (the `_v2` ones that cuda.h #defines the plain names to).
//!
//! XT_CUDA_DRIVER=/path/to/lib overrides the library (tests point it at the CPU emulator).

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::sync::OnceLock;

pub type CUresult = c_int;
pub type CUdevice = c_int;
pub type CUdeviceptr = u64;
pub type CUcontext = *mut c_void;
pub type CUmodule = *mut c_void;
pub type CUfunction = *mut c_void;
pub type CUstream = *mut c_void;

pub const CUDA_SUCCESS: CUresult = 0;
pub const CUDA_ERROR_OUT_OF_MEMORY: CUresult = 2;
pub const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: c_int = 75;
pub const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: c_int = 76;

// libc's dynamic loader (in libc.so.6 since glibc 2.34, which std already links).
extern "C" {
    fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *mut c_char;
}
const RTLD_NOW: c_int = 2;
const RTLD_LOCAL: c_int = 0;

/// Entry points we use. Field names are the cuda.h names; the symbols looked up are in `load`.
#[allow(non_snake_case)]
pub struct Driver {
    pub path: String,
    pub cuInit: unsafe extern "C" fn(c_uint) -> CUresult,
    pub cuDriverGetVersion: unsafe extern "C" fn(*mut c_int) -> CUresult,
    pub cuDeviceGetCount: unsafe extern "C" fn(*mut c_int) -> CUresult,
    pub cuDeviceGet: unsafe extern "C" fn(*mut CUdevice, c_int) -> CUresult,
    pub cuDeviceGetName: unsafe extern "C" fn(*mut c_char, c_int, CUdevice) -> CUresult,
    pub cuDeviceGetAttribute: unsafe extern "C" fn(*mut c_int, c_int, CUdevice) -> CUresult,
    pub cuDevicePrimaryCtxRetain: unsafe extern "C" fn(*mut CUcontext, CUdevice) -> CUresult,
    pub cuCtxSetCurrent: unsafe extern "C" fn(CUcontext) -> CUresult,
    pub cuCtxSynchronize: unsafe extern "C" fn() -> CUresult,
    pub cuModuleLoadData: unsafe extern "C" fn(*mut CUmodule, *const c_void) -> CUresult,
    pub cuModuleGetFunction: unsafe extern "C" fn(*mut CUfunction, CUmodule, *const c_char) -> CUresult,
    #[allow(clippy::type_complexity)]
    pub cuLaunchKernel: unsafe extern "C" fn(
        CUfunction,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        CUstream,
        *mut *mut c_void,
        *mut *mut c_void,
    ) -> CUresult,
    pub cuMemAlloc: unsafe extern "C" fn(*mut CUdeviceptr, usize) -> CUresult,
    pub cuMemFree: unsafe extern "C" fn(CUdeviceptr) -> CUresult,
    pub cuMemGetInfo: unsafe extern "C" fn(*mut usize, *mut usize) -> CUresult,
    pub cuMemcpyHtoD: unsafe extern "C" fn(CUdeviceptr, *const c_void, usize) -> CUresult,
    pub cuMemcpyDtoH: unsafe extern "C" fn(*mut c_void, CUdeviceptr, usize) -> CUresult,
    pub cuMemsetD32: unsafe extern "C" fn(CUdeviceptr, c_uint, usize) -> CUresult,
    pub cuMemsetD8: unsafe extern "C" fn(CUdeviceptr, u8, usize) -> CUresult,
    pub cuGetErrorString: unsafe extern "C" fn(CUresult, *mut *const c_char) -> CUresult,
    pub cuGetErrorName: Option<unsafe extern "C" fn(CUresult, *mut *const c_char) -> CUresult>,
}

// The function pointers are plain code addresses into a library that is never unloaded.
unsafe impl Send for Driver {}
unsafe impl Sync for Driver {}

fn last_dl_error() -> String {
    let e = unsafe { dlerror() };
    if e.is_null() {
        "unknown dlopen error".into()
    } else {
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

impl Driver {
    /// The process-wide driver, loaded once. Err is the reason it cannot be used.
    pub fn get() -> Result<&'static Driver, String> {
        static DRIVER: OnceLock<Result<Driver, String>> = OnceLock::new();
        DRIVER.get_or_init(Driver::load).as_ref().map_err(|e| e.clone())
    }

    // The transmutes turn dlsym addresses into the fn types of the fields they initialize.
    #[allow(clippy::missing_transmute_annotations)]
    fn load() -> Result<Driver, String> {
        // The loader's search path first; then where container runtimes and distributions put the
        // driver, in case that directory is not on the search path.
        let candidates: Vec<String> = match std::env::var("XT_CUDA_DRIVER") {
            Ok(p) => vec![p],
            Err(_) => [
                "libcuda.so.1",
                "/usr/local/nvidia/lib64/libcuda.so.1",
                "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
                "/usr/lib64/libcuda.so.1",
                "/usr/lib/wsl/lib/libcuda.so.1",
            ]
            .map(String::from)
            .to_vec(),
        };
        let mut first_error = None;
        let mut found = None;
        for path in &candidates {
            let cpath = CString::new(path.as_str()).map_err(|_| "bad XT_CUDA_DRIVER".to_string())?;
            let lib = unsafe { dlopen(cpath.as_ptr(), RTLD_NOW | RTLD_LOCAL) };
            if !lib.is_null() {
                found = Some((path.clone(), lib));
                break;
            }
            first_error.get_or_insert_with(last_dl_error);
        }
        let Some((path, lib)) = found else {
            return Err(format!(
                "cannot load the CUDA driver library {} (no NVIDIA driver installed?): {}",
                candidates[0],
                first_error.unwrap_or_default()
            ));
        };
        let find = |name: &str| -> *mut c_void {
            let cname = CString::new(name).unwrap();
            unsafe { dlsym(lib, cname.as_ptr()) }
        };
        macro_rules! sym {
            ($name:literal) => {{
                let p = find($name);
                if p.is_null() {
                    return Err(format!("the CUDA driver {path} lacks {} (driver too old?)", $name));
                }
                unsafe { std::mem::transmute::<*mut c_void, _>(p) }
            }};
        }
        let get_error_name = find("cuGetErrorName");
        Ok(Driver {
            cuInit: sym!("cuInit"),
            cuDriverGetVersion: sym!("cuDriverGetVersion"),
            cuDeviceGetCount: sym!("cuDeviceGetCount"),
            cuDeviceGet: sym!("cuDeviceGet"),
            cuDeviceGetName: sym!("cuDeviceGetName"),
            cuDeviceGetAttribute: sym!("cuDeviceGetAttribute"),
            cuDevicePrimaryCtxRetain: sym!("cuDevicePrimaryCtxRetain"),
            cuCtxSetCurrent: sym!("cuCtxSetCurrent"),
            cuCtxSynchronize: sym!("cuCtxSynchronize"),
            cuModuleLoadData: sym!("cuModuleLoadData"),
            cuModuleGetFunction: sym!("cuModuleGetFunction"),
            cuLaunchKernel: sym!("cuLaunchKernel"),
            cuMemAlloc: sym!("cuMemAlloc_v2"),
            cuMemFree: sym!("cuMemFree_v2"),
            cuMemGetInfo: sym!("cuMemGetInfo_v2"),
            cuMemcpyHtoD: sym!("cuMemcpyHtoD_v2"),
            cuMemcpyDtoH: sym!("cuMemcpyDtoH_v2"),
            cuMemsetD32: sym!("cuMemsetD32_v2"),
            cuMemsetD8: sym!("cuMemsetD8_v2"),
            cuGetErrorString: sym!("cuGetErrorString"),
            cuGetErrorName: if get_error_name.is_null() {
                None
            } else {
                Some(unsafe { std::mem::transmute::<*mut c_void, _>(get_error_name) })
            },
            path,
        })
    }

    /// "CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected"
    pub fn error_text(&self, r: CUresult) -> String {
        let read = |f: unsafe extern "C" fn(CUresult, *mut *const c_char) -> CUresult| {
            let mut s: *const c_char = std::ptr::null();
            if unsafe { f(r, &mut s) } == CUDA_SUCCESS && !s.is_null() {
                Some(unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned())
            } else {
                None
            }
        };
        let name = self.cuGetErrorName.and_then(read).unwrap_or_else(|| format!("CUresult {r}"));
        match read(self.cuGetErrorString) {
            Some(text) => format!("{name}: {text}"),
            None => name,
        }
    }

    /// Ok(()) on CUDA_SUCCESS, else "what failed: CUDA_ERROR_…: text".
    pub fn check(&self, r: CUresult, what: &str) -> Result<(), String> {
        if r == CUDA_SUCCESS {
            Ok(())
        } else {
            Err(format!("{what} failed: {}", self.error_text(r)))
        }
    }
}

/// Initializes the driver and describes device 0: "NVIDIA H100 80GB HBM3 (sm_90, driver for CUDA 12.8)".
pub fn probe() -> Result<(&'static Driver, CUdevice, String), String> {
    let d = Driver::get()?;
    let r = unsafe { (d.cuInit)(0) };
    if r != CUDA_SUCCESS {
        return Err(format!("cuInit failed: {} (driver {})", d.error_text(r), d.path));
    }
    let mut count = 0;
    d.check(unsafe { (d.cuDeviceGetCount)(&mut count) }, "cuDeviceGetCount")?;
    if count == 0 {
        return Err("no CUDA device found (the driver loaded but reports 0 devices)".into());
    }
    let mut dev: CUdevice = 0;
    d.check(unsafe { (d.cuDeviceGet)(&mut dev, 0) }, "cuDeviceGet")?;
    let mut name = [0 as c_char; 256];
    d.check(unsafe { (d.cuDeviceGetName)(name.as_mut_ptr(), name.len() as c_int, dev) }, "cuDeviceGetName")?;
    let name = unsafe { CStr::from_ptr(name.as_ptr()) }.to_string_lossy().into_owned();
    let (mut major, mut minor) = (0, 0);
    d.check(
        unsafe { (d.cuDeviceGetAttribute)(&mut major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev) },
        "cuDeviceGetAttribute",
    )?;
    d.check(
        unsafe { (d.cuDeviceGetAttribute)(&mut minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev) },
        "cuDeviceGetAttribute",
    )?;
    let mut version = 0;
    d.check(unsafe { (d.cuDriverGetVersion)(&mut version) }, "cuDriverGetVersion")?;
    if major < 8 {
        return Err(format!(
            "{name} has compute capability {major}.{minor}; xt's CUDA kernels need 8.0 (Ampere) or newer"
        ));
    }
    let driver = format!("driver for CUDA {}.{}", version / 1000, version % 1000 / 10);
    Ok((d, dev, format!("{name} (sm_{major}{minor}, {driver})")))
}
