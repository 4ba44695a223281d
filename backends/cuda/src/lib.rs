//! xt_cuda.node: xt's CUDA backend as a Node-API addon, std only.
//!
//! Modules:
//! - `driver`: the CUDA driver API, dlopen'ed at run time (the addon loads without a GPU);
//! - `kernels`: the embedded fatbins and launching kernels by name;
//! - `memory`: the caching device allocator;
//! - `params`: the kernel parameter structs (mirrors of kernels/common.cuh);
//! - `ops`: one function per backend operation;
//! - this file: the JS-facing functions (backends/cuda/index.ts is the only caller).

mod driver;
mod kernels;
mod memory;
mod ops;
mod params;

use std::ffi::c_void;
use std::sync::OnceLock;
use xt_napi::{export_function, js_function, napi_env, napi_value, Call, JsError, JsResult};

/// The initialized backend: context current, kernels loaded. Created by `init`, never torn down
/// (the primary context lives as long as the process).
struct State {
    device: String,
    ctx: ops::Ctx,
}

// Raw driver handles; the addon is only driven from the JS thread.
unsafe impl Sync for State {}
unsafe impl Send for State {}

static STATE: OnceLock<Result<State, String>> = OnceLock::new();

fn init_state() -> Result<State, String> {
    let (d, dev, device) = driver::probe()?;
    let mut ctx = std::ptr::null_mut();
    d.check(unsafe { (d.cuDevicePrimaryCtxRetain)(&mut ctx, dev) }, "cuDevicePrimaryCtxRetain")?;
    d.check(unsafe { (d.cuCtxSetCurrent)(ctx) }, "cuCtxSetCurrent")?;
    let kernels = kernels::Kernels::load(d)?;
    let mut err_word = 0u64;
    d.check(unsafe { (d.cuMemAlloc)(&mut err_word, 4) }, "cuMemAlloc")?;
    d.check(unsafe { (d.cuMemsetD32)(err_word, 0, 1) }, "cuMemsetD32")?;
    Ok(State { device, ctx: ops::Ctx { d, kernels, err_word } })
}

fn state() -> Result<&'static State, JsError> {
    match STATE.get() {
        Some(Ok(s)) => Ok(s),
        Some(Err(e)) => Err(JsError::new(e.clone())),
        None => Err(JsError::new("the CUDA backend is not initialized (call init first)")),
    }
}

// ---- JS functions ---------------------------------------------------------------------------------

/// available() -> { ok: true, device } | { ok: false, reason }. Never throws for a missing driver
/// or device: that is the answer.
fn available(c: &Call) -> JsResult {
    let obj = c.object()?;
    match driver::probe() {
        Ok((_, _, device)) => {
            c.set(obj, "ok", c.boolean(true)?)?;
            c.set(obj, "device", c.string(&device)?)?;
        }
        Err(reason) => {
            c.set(obj, "ok", c.boolean(false)?)?;
            c.set(obj, "reason", c.string(&reason)?)?;
        }
    }
    Ok(obj)
}

/// init() -> device description; creates the context and loads the kernels (once).
fn init(c: &Call) -> JsResult {
    match STATE.get_or_init(init_state) {
        Ok(s) => c.string(&s.device),
        Err(e) => Err(JsError::new(e.clone())),
    }
}

/// A device block owned by a JS external; the finalizer hands it back to the cache.
struct Block {
    ptr: u64,
    size: usize,
}

unsafe extern "C" fn finalize_block(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    let block = Box::from_raw(data as *mut Block);
    memory::release(block.ptr, block.size);
}

/// alloc(bytes, out: Float64Array) -> external handle; out[0] = device pointer, out[1] = size.
/// Throws with code XT_CUDA_OOM when the device is full even after emptying the cache.
fn alloc(c: &Call) -> JsResult {
    let s = state()?;
    let bytes = c.f64(0)?;
    let (kind, data, len) = c.typed_array(1)?;
    if kind != xt_napi::typedarray::FLOAT64 || len < 16 {
        return Err("alloc: second argument must be a Float64Array of length 2".into());
    }
    if bytes.is_nan() || !(0.0..=1e15).contains(&bytes) {
        return Err(format!("alloc: bad size {bytes}").into());
    }
    let (ptr, size) = memory::alloc(s.ctx.d, bytes as usize).map_err(|e| match e {
        memory::AllocError::OutOfMemory(m) => JsError::with_code("XT_CUDA_OOM", m),
        memory::AllocError::Other(m) => JsError::new(m),
    })?;
    let out = unsafe { std::slice::from_raw_parts_mut(data as *mut f64, 2) };
    out[0] = ptr as f64;
    out[1] = size as f64;
    // Tell the GC about device memory so it collects dead tensors before the device fills up.
    // Two calls: Bun (JSC) only counts increases since the last GC, Node (V8) keeps a total.
    c.adjust_external_memory(size as i64);
    let released = memory::take_released();
    if released > 0 {
        c.adjust_external_memory(-released);
    }
    let block = Box::into_raw(Box::new(Block { ptr, size }));
    c.external_value(block as *mut c_void, Some(finalize_block))
}

fn copy_args(c: &Call) -> Result<(u64, *mut u8, usize), JsError> {
    let ptr = c.f64(0)? as u64;
    let (_, data, bytes) = c.typed_array(1)?;
    Ok((ptr, data, bytes))
}

/// htod(ptr, typedArray): upload the whole typed array to ptr.
fn htod(c: &Call) -> JsResult {
    let d = state()?.ctx.d;
    let (ptr, data, bytes) = copy_args(c)?;
    if bytes > 0 {
        d.check(unsafe { (d.cuMemcpyHtoD)(ptr, data as *const c_void, bytes) }, "cuMemcpyHtoD")?;
    }
    c.undefined()
}

/// dtoh(ptr, typedArray): fill the typed array from ptr (waits for pending kernels).
fn dtoh(c: &Call) -> JsResult {
    let d = state()?.ctx.d;
    let (ptr, data, bytes) = copy_args(c)?;
    if bytes > 0 {
        d.check(unsafe { (d.cuMemcpyDtoH)(data as *mut c_void, ptr, bytes) }, "cuMemcpyDtoH")?;
    }
    c.undefined()
}

fn sync(c: &Call) -> JsResult {
    let d = state()?.ctx.d;
    d.check(unsafe { (d.cuCtxSynchronize)() }, "cuCtxSynchronize")?;
    c.undefined()
}

/// memory() -> { inUse, cached } in bytes.
fn memory_stats(c: &Call) -> JsResult {
    let (in_use, cached) = memory::stats();
    let obj = c.object()?;
    c.set(obj, "inUse", c.double(in_use as f64)?)?;
    c.set(obj, "cached", c.double(cached as f64)?)?;
    Ok(obj)
}

/// trim() -> bytes returned to the driver from the cache.
fn trim(c: &Call) -> JsResult {
    let d = state()?.ctx.d;
    c.double(memory::trim(d) as f64)
}

/// Ops taking one packed Float64Array (see ops.rs for each layout).
fn run_op(c: &Call, op: fn(&ops::Ctx, &mut ops::Args) -> Result<(), String>) -> JsResult {
    let s = state()?;
    op(&s.ctx, &mut ops::Args::new(c.f64_array(0)?))?;
    c.undefined()
}
fn run_index_op(c: &Call, op: fn(&ops::Ctx, &mut ops::Args) -> Result<bool, String>) -> JsResult {
    let s = state()?;
    let in_range = op(&s.ctx, &mut ops::Args::new(c.f64_array(0)?))?;
    c.boolean(in_range)
}

fn elementwise(c: &Call) -> JsResult {
    run_op(c, ops::elementwise)
}
fn reduce(c: &Call) -> JsResult {
    run_op(c, ops::reduce)
}
fn matmul(c: &Call) -> JsResult {
    run_op(c, ops::matmul)
}
fn softmax(c: &Call) -> JsResult {
    run_op(c, ops::softmax)
}
fn full(c: &Call) -> JsResult {
    run_op(c, ops::full)
}
fn adam(c: &Call) -> JsResult {
    run_op(c, ops::adam)
}
fn window2d(c: &Call) -> JsResult {
    run_op(c, ops::window2d)
}
fn gather_rows(c: &Call) -> JsResult {
    run_index_op(c, ops::gather_rows)
}
fn scatter_add_rows(c: &Call) -> JsResult {
    run_index_op(c, ops::scatter_add_rows)
}

js_function!(js_available => available);
js_function!(js_init => init);
js_function!(js_alloc => alloc);
js_function!(js_htod => htod);
js_function!(js_dtoh => dtoh);
js_function!(js_sync => sync);
js_function!(js_memory => memory_stats);
js_function!(js_trim => trim);
js_function!(js_elementwise => elementwise);
js_function!(js_reduce => reduce);
js_function!(js_matmul => matmul);
js_function!(js_softmax => softmax);
js_function!(js_full => full);
js_function!(js_adam => adam);
js_function!(js_window2d => window2d);
js_function!(js_gather_rows => gather_rows);
js_function!(js_scatter_add_rows => scatter_add_rows);

/// # Safety
/// Called by the JS engine when the addon is loaded.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: napi_env, exports: napi_value) -> napi_value {
    let functions: &[(&str, xt_napi::napi_callback)] = &[
        ("available", Some(js_available)),
        ("init", Some(js_init)),
        ("alloc", Some(js_alloc)),
        ("htod", Some(js_htod)),
        ("dtoh", Some(js_dtoh)),
        ("sync", Some(js_sync)),
        ("memory", Some(js_memory)),
        ("trim", Some(js_trim)),
        ("elementwise", Some(js_elementwise)),
        ("reduce", Some(js_reduce)),
        ("matmul", Some(js_matmul)),
        ("softmax", Some(js_softmax)),
        ("full", Some(js_full)),
        ("adam", Some(js_adam)),
        ("window2d", Some(js_window2d)),
        ("gatherRows", Some(js_gather_rows)),
        ("scatterAddRows", Some(js_scatter_add_rows)),
    ];
    for (name, f) in functions {
        export_function(env, exports, name, *f);
    }
    exports
}

/// Declaring Node-API version "experimental" (NAPI_VERSION_EXPERIMENTAL) makes Bun and Node run
/// our external finalizers synchronously during garbage collection instead of deferring them to
/// the event loop; without it a synchronous training loop would never free device memory. Our
/// finalizer (`finalize_block`) calls no JS and no CUDA, which is what such finalizers require.
#[no_mangle]
pub extern "C" fn node_api_module_get_api_version_v1() -> i32 {
    0x7fff_ffff
}
