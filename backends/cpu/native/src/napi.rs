//! The few Node-API declarations this addon needs, written by hand (std only, no crates).
//!
//! They are not linked against anything: the host process (Bun, Node, or a `bun build --compile`
//! binary) exports them and the dynamic loader binds them when the `.node` file is dlopen'ed.
//!
//! Calling convention of every function this addon exports:
//!
//! ```text
//! fn(meta: Float64Array, a0: TypedArray, a1: TypedArray, …) -> undefined | number
//! ```
//!
//! `meta` carries the integer and float parameters (shapes, strides, offsets, op codes, eps…);
//! the typed arrays are the CpuStorage arrays, read and written in place (no copies). A Rust
//! error or panic becomes a thrown JS `Error` (a panic never unwinds into the JS engine).

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_void, CString};
use std::ptr;

#[repr(C)]
pub struct napi_env__ {
    _p: [u8; 0],
}
#[repr(C)]
pub struct napi_value__ {
    _p: [u8; 0],
}
#[repr(C)]
pub struct napi_callback_info__ {
    _p: [u8; 0],
}
pub type napi_env = *mut napi_env__;
pub type napi_value = *mut napi_value__;
pub type napi_callback_info = *mut napi_callback_info__;
pub type napi_status = i32;
pub type napi_callback = Option<unsafe extern "C" fn(env: napi_env, info: napi_callback_info) -> napi_value>;

pub const T_INT32: i32 = 5;
pub const T_UINT32: i32 = 6;
pub const T_UINT8: i32 = 1;
pub const T_FLOAT32: i32 = 7;
pub const T_FLOAT64: i32 = 8;

extern "C" {
    fn napi_create_function(
        env: napi_env,
        utf8name: *const c_char,
        length: usize,
        cb: napi_callback,
        data: *mut c_void,
        result: *mut napi_value,
    ) -> napi_status;
    fn napi_set_named_property(env: napi_env, object: napi_value, utf8name: *const c_char, value: napi_value) -> napi_status;
    fn napi_get_cb_info(
        env: napi_env,
        cbinfo: napi_callback_info,
        argc: *mut usize,
        argv: *mut napi_value,
        this_arg: *mut napi_value,
        data: *mut *mut c_void,
    ) -> napi_status;
    fn napi_get_typedarray_info(
        env: napi_env,
        typedarray: napi_value,
        type_: *mut i32,
        length: *mut usize,
        data: *mut *mut c_void,
        arraybuffer: *mut napi_value,
        byte_offset: *mut usize,
    ) -> napi_status;
    fn napi_create_double(env: napi_env, value: f64, result: *mut napi_value) -> napi_status;
    fn napi_create_string_utf8(env: napi_env, s: *const c_char, length: usize, result: *mut napi_value) -> napi_status;
    fn napi_get_undefined(env: napi_env, result: *mut napi_value) -> napi_status;
    fn napi_throw_error(env: napi_env, code: *const c_char, msg: *const c_char) -> napi_status;
}


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
        self.want(T_FLOAT32, "Float32Array")?;
        Ok((self.ptr as *mut f32, self.len))
    }
    pub fn f64(&self) -> Result<(*mut f64, usize), String> {
        self.want(T_FLOAT64, "Float64Array")?;
        Ok((self.ptr as *mut f64, self.len))
    }
    pub fn i32(&self) -> Result<(*mut i32, usize), String> {
        self.want(T_INT32, "Int32Array")?;
        Ok((self.ptr as *mut i32, self.len))
    }
    pub fn u8(&self) -> Result<(*mut u8, usize), String> {
        self.want(T_UINT8, "Uint8Array")?;
        Ok((self.ptr, self.len))
    }
}

pub const MAX_ARGS: usize = 10;

/// The decoded arguments of one call.
pub struct Args<'a> {
    pub meta: &'a [f64],
    arrs: [Arr; MAX_ARGS],
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

fn throw(env: napi_env, msg: &str) {
    let m = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    let code = CString::new("XT_NATIVE").unwrap_or_default();
    unsafe {
        napi_throw_error(env, code.as_ptr(), m.as_ptr());
    }
}

/// Decodes the call's arguments and runs `k`, turning errors and panics into JS exceptions.
pub unsafe fn dispatch(env: napi_env, info: napi_callback_info, k: Kernel) -> napi_value {
    let mut argv: [napi_value; MAX_ARGS + 1] = [ptr::null_mut(); MAX_ARGS + 1];
    let mut argc = MAX_ARGS + 1;
    if napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), ptr::null_mut()) != 0 {
        throw(env, "xt_cpu: napi_get_cb_info failed");
        return ptr::null_mut();
    }
    let argc = argc.min(MAX_ARGS + 1);
    let mut arrs = [Arr { ty: -1, len: 0, ptr: ptr::null_mut() }; MAX_ARGS];
    let mut meta: &[f64] = &[];
    for i in 0..argc {
        let mut ty = 0i32;
        let mut len = 0usize;
        let mut data: *mut c_void = ptr::null_mut();
        let st = napi_get_typedarray_info(env, argv[i], &mut ty, &mut len, &mut data, ptr::null_mut(), ptr::null_mut());
        if st != 0 {
            throw(env, &format!("xt_cpu: argument {i} is not a typed array"));
            return ptr::null_mut();
        }
        if data.is_null() {
            // An empty typed array may have no backing store; give it a dangling, aligned pointer.
            data = ptr::NonNull::<f64>::dangling().as_ptr() as *mut c_void;
            len = 0;
        }
        if i == 0 {
            if ty != T_FLOAT64 {
                throw(env, "xt_cpu: the first argument must be the Float64Array of parameters");
                return ptr::null_mut();
            }
            meta = std::slice::from_raw_parts(data as *const f64, len);
        } else {
            arrs[i - 1] = Arr { ty, len, ptr: data as *mut u8 };
        }
    }
    let args = Args { meta, arrs, n: argc.saturating_sub(1) };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| k(&args)));
    match r {
        Ok(Ok(v)) => {
            let mut out = ptr::null_mut();
            if v.is_nan() {
                napi_get_undefined(env, &mut out);
            } else {
                napi_create_double(env, v, &mut out);
            }
            out
        }
        Ok(Err(e)) => {
            throw(env, &format!("xt_cpu: {e}"));
            ptr::null_mut()
        }
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            throw(env, &format!("xt_cpu: internal error: {msg}"));
            ptr::null_mut()
        }
    }
}

pub unsafe fn export(env: napi_env, exports: napi_value, name: &str, cb: napi_callback) -> Result<(), String> {
    let cname = CString::new(name).map_err(|e| e.to_string())?;
    let mut f = ptr::null_mut();
    if napi_create_function(env, cname.as_ptr(), name.len(), cb, ptr::null_mut(), &mut f) != 0 {
        return Err(format!("napi_create_function({name}) failed"));
    }
    if napi_set_named_property(env, exports, cname.as_ptr(), f) != 0 {
        return Err(format!("napi_set_named_property({name}) failed"));
    }
    Ok(())
}

pub unsafe fn export_string(env: napi_env, exports: napi_value, name: &str, value: &str) -> Result<(), String> {
    let cname = CString::new(name).map_err(|e| e.to_string())?;
    let mut v = ptr::null_mut();
    if napi_create_string_utf8(env, value.as_ptr() as *const c_char, value.len(), &mut v) != 0 {
        return Err("napi_create_string_utf8 failed".into());
    }
    if napi_set_named_property(env, exports, cname.as_ptr(), v) != 0 {
        return Err(format!("napi_set_named_property({name}) failed"));
    }
    Ok(())
}

pub unsafe fn export_number(env: napi_env, exports: napi_value, name: &str, value: f64) -> Result<(), String> {
    let cname = CString::new(name).map_err(|e| e.to_string())?;
    let mut v = ptr::null_mut();
    if napi_create_double(env, value, &mut v) != 0 {
        return Err("napi_create_double failed".into());
    }
    if napi_set_named_property(env, exports, cname.as_ptr(), v) != 0 {
        return Err(format!("napi_set_named_property({name}) failed"));
    }
    Ok(())
}

pub unsafe fn throw_str(env: napi_env, msg: &str) {
    throw(env, msg);
}
