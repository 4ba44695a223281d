//! Compiles kernels/*.cu with nvcc into fatbins (cubin for sm_80 and sm_90, plus compute_90 PTX
//! that newer GPUs JIT-compile) under OUT_DIR; src/kernels.rs embeds them with include_bytes!.
//!
//! nvcc is taken from $NVCC, else from PATH, else /usr/local/cuda/bin/nvcc. The addon itself has
//! no link-time dependency on CUDA: libcuda is dlopen'ed at run time.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const KERNEL_FILES: &[&str] = &["elementwise", "reduce", "matmul", "index", "window2d"];

fn find_nvcc() -> Option<PathBuf> {
    if let Ok(p) = env::var("NVCC") {
        return Some(PathBuf::from(p));
    }
    if let Some(paths) = env::var_os("PATH") {
        for dir in env::split_paths(&paths) {
            let candidate = dir.join("nvcc");
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    let default = Path::new("/usr/local/cuda/bin/nvcc");
    default.is_file().then(|| default.to_path_buf())
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let kernels = manifest.join("kernels");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-env-changed=NVCC");
    println!("cargo:rerun-if-changed=kernels");
    for entry in std::fs::read_dir(&kernels).expect("backends/cuda/kernels is missing") {
        println!("cargo:rerun-if-changed={}", entry.unwrap().path().display());
    }

    let nvcc = find_nvcc().unwrap_or_else(|| {
        panic!(
            "\n\nxt-cuda: nvcc (the CUDA compiler) was not found: install the CUDA toolkit, put nvcc on PATH \
             or set NVCC=/path/to/nvcc. It is needed at build time only.\n\n"
        )
    });

    // Recorded so that a driver too old for these kernels can be named in the error.
    let version = Command::new(&nvcc).arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let release = version
        .ok()
        .and_then(|v| v.split("release ").nth(1).map(|r| r.split(',').next().unwrap_or("").trim().to_string()))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=XT_NVCC_RELEASE={release}");

    // Compile the files in parallel: nvcc runs ptxas once per target and dominates the build.
    let children: Vec<_> = KERNEL_FILES
        .iter()
        .map(|name| {
            let src = kernels.join(format!("{name}.cu"));
            let dst = out_dir.join(format!("{name}.fatbin"));
            let child = Command::new(&nvcc)
                .args(["-O3", "--std=c++17", "--fatbin"])
                .args(["-gencode", "arch=compute_80,code=sm_80"])
                .args(["-gencode", "arch=compute_90,code=sm_90"])
                .args(["-gencode", "arch=compute_90,code=compute_90"])
                .arg("-o")
                .arg(&dst)
                .arg(&src)
                .spawn()
                .unwrap_or_else(|e| panic!("xt-cuda: could not run {}: {e}", nvcc.display()));
            (name, child)
        })
        .collect();
    for (name, mut child) in children {
        let status = child.wait().expect("waiting for nvcc");
        if !status.success() {
            panic!("xt-cuda: nvcc failed on kernels/{name}.cu ({status})");
        }
    }
}
