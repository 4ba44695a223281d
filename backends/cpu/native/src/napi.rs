//! The calling convention of this addon's exports, on the Node-API declarations and call wrapper
//! shared with the CUDA addon (backends/napi, crate `xt_napi`):
//!
//! ```text
//! fn(meta: Float64Array, a0: TypedArray, a1: TypedArray, …) -> undefined | number
//! ```
//!
//! `meta` carries the integer and float parameters (shapes, strides, offsets, op codes, eps…);
//! the typed arrays are the CpuStorage arrays, read and written in place (no copies). A kernel's
//! error becomes a thrown JS `Error` ("xt_cpu: …", code XT_NATIVE); `xt_napi::run_call` turns a
//! panic into one too (a panic never unwinds into the JS engine).

use xt_napi::{typedarray, Call, JsError, JsResult};

pub use xt_napi::typedarray::UINT32 as T_UINT32;

/// One typed-array argument: element type, element count, data pointer.
#[derive(Clone, Copy)]
pub struct Arr {
    pub ty: i32,
    pub len: usize,
    pub ptr: *mut u8,
}

impl Arr {
    fn want(&self, ty: i32, what: &str) -> Result<(), String> {
        if self.ty != ty {
            return Err(format!("{what}: expected typed array type {ty}, got {}", self.ty));
        }
        Ok(())
    }
    pub fn f32(&self) -> Result<(*mut f32, usize), String> {
        self.want(typedarray::FLOAT32, "Float32Array")?;
        Ok((self.ptr as *mut f32, self.len))
    }
    pub fn f64(&self) -> Result<(*mut f64, usize), String> {
        self.want(typedarray::FLOAT64, "Float64Array")?;
        Ok((self.ptr as *mut f64, self.len))
    }
    pub fn i32(&self) -> Result<(*mut i32, usize), String> {
        self.want(typedarray::INT32, "Int32Array")?;
        Ok((self.ptr as *mut i32, self.len))
    }
    pub fn u8(&self) -> Result<(*mut u8, usize), String> {
        self.want(typedarray::UINT8, "Uint8Array")?;
        Ok((self.ptr, self.len))
    }
}

pub const MAX_ARRAYS: usize = Call::MAX_ARGS - 1;

/// The decoded arguments of one call.
pub struct Args<'a> {
    pub meta: &'a [f64],
    arrs: [Arr; MAX_ARRAYS],
    n: usize,
}

impl<'a> Args<'a> {
    /// Typed-array argument i (0 = the first one after `meta`).
    pub fn arr(&self, i: usize) -> Result<Arr, String> {
        if i < self.n {
            Ok(self.arrs[i])
        } else {
            Err(format!("missing typed-array argument {i}"))
        }
    }
    /// meta[i] as an integer (isize).
    #[inline]
    pub fn i(&self, i: usize) -> isize {
        self.meta.get(i).copied().unwrap_or(0.0) as isize
    }
    #[inline]
    pub fn u(&self, i: usize) -> usize {
        let v = self.meta.get(i).copied().unwrap_or(0.0);
        if v > 0.0 { v as usize } else { 0 }
    }
    #[inline]
    pub fn f(&self, i: usize) -> f64 {
        self.meta.get(i).copied().unwrap_or(0.0)
    }
}

pub type Kernel = fn(&Args) -> Result<f64, String>;

fn error(message: String) -> JsError {
    JsError::with_code("XT_NATIVE", format!("xt_cpu: {message}"))
}

/// Decodes the call's arguments and runs `k`: NaN comes back as undefined, any other value as a
/// number, an error as a thrown Error.
pub fn call(c: &Call, k: Kernel) -> JsResult {
    let mut arrs = [Arr { ty: -1, len: 0, ptr: std::ptr::null_mut() }; MAX_ARRAYS];
    let mut meta: &[f64] = &[];
    for i in 0..c.len() {
        let (ty, data, bytes) = c.typed_array(i).map_err(|_| error(format!("argument {i} is not a typed array")))?;
        let elem = match ty {
            typedarray::INT8 | typedarray::UINT8 | typedarray::UINT8_CLAMPED => 1,
            typedarray::INT16 | typedarray::UINT16 => 2,
            typedarray::INT32 | typedarray::UINT32 | typedarray::FLOAT32 => 4,
            _ => 8,
        };
        // An empty typed array may have no backing store; give it a dangling, aligned pointer.
        let (data, len) = if data.is_null() { (std::ptr::NonNull::<f64>::dangling().as_ptr() as *mut u8, 0) } else { (data, bytes / elem) };
        if i == 0 {
            if ty != typedarray::FLOAT64 {
                return Err(error("the first argument must be the Float64Array of parameters".into()));
            }
            meta = unsafe { std::slice::from_raw_parts(data as *const f64, len) };
        } else {
            arrs[i - 1] = Arr { ty, len, ptr: data };
        }
    }
    let args = Args { meta, arrs, n: c.len().saturating_sub(1) };
    let v = k(&args).map_err(error)?;
    if v.is_nan() {
        c.undefined()
    } else {
        c.double(v)
    }
}
