//! The kernel registry: the fatbins nvcc built (embedded in the addon), the kernels each one
//! holds, and launching them by name.

use crate::driver::{CUfunction, CUmodule, Driver, CUDA_SUCCESS};
use std::collections::HashMap;
use std::ffi::{c_void, CString};

struct ModuleImage {
    file: &'static str,
    image: &'static [u8],
    kernels: &'static [&'static str],
}

macro_rules! fatbin {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".fatbin"))
    };
}

const MODULES: &[ModuleImage] = &[
    ModuleImage {
        file: "elementwise.cu",
        image: fatbin!("elementwise"),
        kernels: &[
            "xt_copy_f32", "xt_copy_f64", "xt_unary_f32", "xt_unary_f64", "xt_binary_f32",
            "xt_binary_f64", "xt_where_f32", "xt_where_f64", "xt_fill", "xt_adam_f32", "xt_adam_f64",
        ],
    },
    ModuleImage {
        file: "reduce.cu",
        image: fatbin!("reduce"),
        kernels: &[
            "xt_reduce_f32", "xt_reduce_f64", "xt_softmax_f32", "xt_softmax_f64",
            "xt_softmax_backward_f32", "xt_softmax_backward_f64",
        ],
    },
    ModuleImage {
        file: "matmul.cu",
        image: fatbin!("matmul"),
        kernels: &["xt_matmul_f32", "xt_matmul_f64"],
    },
    ModuleImage {
        file: "index.cu",
        image: fatbin!("index"),
        kernels: &[
            "xt_gather_rows_f32", "xt_gather_rows_f64", "xt_scatter_add_rows_f32", "xt_scatter_add_rows_f64",
        ],
    },
    ModuleImage {
        file: "window2d.cu",
        image: fatbin!("window2d"),
        kernels: &[
            "xt_im2row_f32", "xt_im2row_f64", "xt_row2im_f32", "xt_row2im_f64", "xt_max_pool2d_f32",
            "xt_max_pool2d_f64", "xt_max_pool2d_backward_f32", "xt_max_pool2d_backward_f64",
        ],
    },
];

/// Threads per block for every launch (the kernels' shared-memory layouts assume 256).
pub const BLOCK: u32 = 256;

pub struct Kernels {
    functions: HashMap<&'static str, CUfunction>,
    /// The aligned fatbin copies, kept alive for as long as the modules are loaded.
    _images: Vec<Vec<u64>>,
}

// CUfunction handles are plain driver handles, valid in any thread with the context current.
unsafe impl Send for Kernels {}

impl Kernels {
    /// Load every module into the current context and resolve every kernel up front, so a missing
    /// kernel or an unsupported GPU shows up at start-up rather than mid-training.
    pub fn load(d: &Driver) -> Result<Kernels, String> {
        let mut functions = HashMap::new();
        let mut images = Vec::new();
        for m in MODULES {
            // include_bytes! data is only byte-aligned; the driver reads the fatbin header as
            // 8-byte words, so hand it an aligned copy.
            let mut aligned = vec![0u64; m.image.len().div_ceil(8)];
            unsafe {
                std::ptr::copy_nonoverlapping(m.image.as_ptr(), aligned.as_mut_ptr() as *mut u8, m.image.len())
            };
            let mut module: CUmodule = std::ptr::null_mut();
            let r = unsafe { (d.cuModuleLoadData)(&mut module, aligned.as_ptr() as *const c_void) };
            if r != CUDA_SUCCESS {
                let mut version = 0;
                unsafe { (d.cuDriverGetVersion)(&mut version) };
                return Err(format!(
                    "loading the kernels of {} (cuModuleLoadData) failed: {}. They were built by nvcc {} for \
                     sm_80/sm_90 (+ compute_90 PTX); this driver supports CUDA {}.{}. A driver older than the \
                     toolkit cannot load them: update the driver or rebuild with a matching nvcc \
                     (NVCC=/path/to/nvcc scripts/build-native.sh).",
                    m.file,
                    d.error_text(r),
                    env!("XT_NVCC_RELEASE"),
                    version / 1000,
                    version % 1000 / 10
                ));
            }
            for &name in m.kernels {
                let cname = CString::new(name).unwrap();
                let mut f: CUfunction = std::ptr::null_mut();
                d.check(
                    unsafe { (d.cuModuleGetFunction)(&mut f, module, cname.as_ptr()) },
                    &format!("finding kernel {name}"),
                )?;
                functions.insert(name, f);
            }
            images.push(aligned);
        }
        Ok(Kernels { functions, _images: images })
    }

    /// Launch `name` on the default stream with one by-value parameter struct per entry of `args`.
    pub fn launch(
        &self,
        d: &Driver,
        name: &str,
        grid: (u32, u32, u32),
        args: &mut [*mut c_void],
    ) -> Result<(), String> {
        let f = *self.functions.get(name).ok_or_else(|| format!("unknown kernel {name}"))?;
        let r = unsafe {
            (d.cuLaunchKernel)(
                f,
                grid.0,
                grid.1,
                grid.2,
                BLOCK,
                1,
                1,
                0,
                std::ptr::null_mut(),
                args.as_mut_ptr(),
                std::ptr::null_mut(),
            )
        };
        d.check(r, &format!("launching {name}"))
    }
}

/// Blocks for a grid-stride loop over `n` items with BLOCK threads each (capped: each thread
/// loops over the rest).
pub fn blocks_for(n: i64) -> u32 {
    let b = (n + BLOCK as i64 - 1) / BLOCK as i64;
    b.clamp(1, 1 << 20) as u32
}
