//! Device memory: a caching allocator in front of cuMemAlloc/cuMemFree.
//!
//! cuMemAlloc and cuMemFree are slow and cuMemFree synchronizes the device, so (like PyTorch's
//! allocator) freed blocks go to per-size free lists and are handed out again. Reuse without a
//! sync is safe because every kernel and copy runs on the one default stream, in issue order.
//!
//! Blocks are owned by JS externals; their finalizer returns the block here. The addon declares
//! N-API version "experimental" so that Bun and Node run such finalizers *during* garbage
//! collection (otherwise Bun defers them to the event loop, which a synchronous training loop
//! never reaches). A finalizer running inside GC must not call into JS or CUDA, so `release`
//! only pushes onto a list behind a mutex.

use crate::driver::{CUdeviceptr, Driver, CUDA_ERROR_OUT_OF_MEMORY, CUDA_SUCCESS};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
struct Pool {
    free: HashMap<usize, Vec<CUdeviceptr>>,
    cached_bytes: usize,
    in_use_bytes: usize,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);
/// Bytes released since the GC was last told (see `take_released`).
static RELEASED: AtomicI64 = AtomicI64::new(0);

fn with_pool<R>(f: impl FnOnce(&mut Pool) -> R) -> R {
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(Pool::default))
}

/// Size classes: at least 512 bytes, then 8 steps per power of two (at most 12.5% waste).
pub fn round_size(bytes: usize) -> usize {
    if bytes <= 512 {
        return 512;
    }
    let step = (bytes.next_power_of_two() / 8).max(512);
    bytes.div_ceil(step) * step
}

pub enum AllocError {
    OutOfMemory(String),
    Other(String),
}

/// A block of at least `bytes` (rounded: the returned size is what `release` must be given).
pub fn alloc(d: &Driver, bytes: usize) -> Result<(CUdeviceptr, usize), AllocError> {
    let size = round_size(bytes);
    let cached = with_pool(|p| {
        let ptr = p.free.get_mut(&size).and_then(|v| v.pop());
        if ptr.is_some() {
            p.cached_bytes -= size;
            p.in_use_bytes += size;
        }
        ptr
    });
    if let Some(ptr) = cached {
        return Ok((ptr, size));
    }
    let mut ptr: CUdeviceptr = 0;
    let mut r = unsafe { (d.cuMemAlloc)(&mut ptr, size) };
    if r == CUDA_ERROR_OUT_OF_MEMORY && trim(d) > 0 {
        r = unsafe { (d.cuMemAlloc)(&mut ptr, size) };
    }
    match r {
        CUDA_SUCCESS => {
            with_pool(|p| p.in_use_bytes += size);
            Ok((ptr, size))
        }
        CUDA_ERROR_OUT_OF_MEMORY => {
            let (mut free, mut total) = (0usize, 0usize);
            unsafe { (d.cuMemGetInfo)(&mut free, &mut total) };
            Err(AllocError::OutOfMemory(format!(
                "CUDA out of memory: tried to allocate {:.1} MiB with {:.1} MiB of {:.1} MiB free on the device \
                 ({:.1} MiB held by live xt tensors)",
                size as f64 / 1048576.0,
                free as f64 / 1048576.0,
                total as f64 / 1048576.0,
                stats().0 as f64 / 1048576.0
            )))
        }
        _ => Err(AllocError::Other(format!("cuMemAlloc({size}) failed: {}", d.error_text(r)))),
    }
}

/// Return a block to the cache. Safe to call from a GC finalizer (no CUDA, no JS).
pub fn release(ptr: CUdeviceptr, size: usize) {
    with_pool(|p| {
        p.free.entry(size).or_default().push(ptr);
        p.cached_bytes += size;
        p.in_use_bytes -= size;
    });
    RELEASED.fetch_add(size as i64, Ordering::Relaxed);
}

/// Bytes released since the last call (to report to the GC as no longer held).
pub fn take_released() -> i64 {
    RELEASED.swap(0, Ordering::Relaxed)
}

/// Give every cached block back to the driver; returns the bytes freed.
pub fn trim(d: &Driver) -> usize {
    let blocks: Vec<(usize, CUdeviceptr)> = with_pool(|p| {
        p.cached_bytes = 0;
        p.free.drain().flat_map(|(size, v)| v.into_iter().map(move |ptr| (size, ptr))).collect()
    });
    if blocks.is_empty() {
        return 0;
    }
    // Kernels still queued may use these blocks: finish them before the memory goes away.
    unsafe { (d.cuCtxSynchronize)() };
    let mut freed = 0;
    for (size, ptr) in blocks {
        if unsafe { (d.cuMemFree)(ptr) } == CUDA_SUCCESS {
            freed += size;
        }
    }
    freed
}

/// (bytes in live blocks, bytes cached for reuse)
pub fn stats() -> (usize, usize) {
    with_pool(|p| (p.in_use_bytes, p.cached_bytes))
}
