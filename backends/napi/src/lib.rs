//! Hand-written Node-API (N-API) declarations and a thin helper layer, std only.
//!
//! xt builds without crates.io, so instead of the `napi`/`napi-sys` crates we declare the few
//! `napi_*` functions we call. They are *not* linked against anything: the host process (Bun,
//! Node, or a `bun build --compile` binary) exports them, and the dynamic loader binds them when
//! the `.node` file is dlopen'ed. A cdylib with undefined symbols links fine on Linux (GNU ld
//! allows undefined symbols in shared objects); macOS needs `-undefined dynamic_lookup` (the CPU
//! crate's build.rs passes it there).
//!
//! Every exported JS function is written as `fn(&Call) -> Result<napi_value, JsError>` and wrapped
//! by [`js_function!`], which turns errors *and panics* into thrown JS errors (a panic must never
//! unwind across the C boundary into the JS engine).

#![allow(non_camel_case_types)]
// napi_env / napi_value are opaque engine handles that the engine itself checks, not memory we
// dereference; passing them through safe helpers is how every N-API binding works.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::ffi::{c_char, c_void, CString};
use std::ptr;

// ---------------------------------------------------------------------------------------------
// Raw declarations (node_api.h / js_native_api.h, N-API version 1-8 subset)
// ---------------------------------------------------------------------------------------------

#[repr(C)]
pub struct napi_env__ {
    _private: [u8; 0],
}
#[repr(C)]
pub struct napi_value__ {
    _private: [u8; 0],
}
#[repr(C)]
pub struct napi_callback_info__ {
    _private: [u8; 0],
}
pub type napi_env = *mut napi_env__;
pub type napi_value = *mut napi_value__;
pub type napi_callback_info = *mut napi_callback_info__;
/// 0 is napi_ok; anything else is a failure.
pub type napi_status = i32;
pub type napi_callback =
    Option<unsafe extern "C" fn(env: napi_env, info: napi_callback_info) -> napi_value>;
pub type napi_finalize =
    Option<unsafe extern "C" fn(env: napi_env, data: *mut c_void, hint: *mut c_void)>;

/// napi_typedarray_type
pub mod typedarray {
    pub const INT8: i32 = 0;
    pub const UINT8: i32 = 1;
    pub const UINT8_CLAMPED: i32 = 2;
    pub const INT16: i32 = 3;
    pub const UINT16: i32 = 4;
    pub const INT32: i32 = 5;
    pub const UINT32: i32 = 6;
    pub const FLOAT32: i32 = 7;
    pub const FLOAT64: i32 = 8;
}

extern "C" {
    pub fn napi_create_function(
        env: napi_env,
        utf8name: *const c_char,
        length: usize,
        cb: napi_callback,
        data: *mut c_void,
        result: *mut napi_value,
    ) -> napi_status;
    pub fn napi_set_named_property(
        env: napi_env,
        object: napi_value,
        utf8name: *const c_char,
        value: napi_value,
    ) -> napi_status;
    pub fn napi_get_cb_info(
        env: napi_env,
        cbinfo: napi_callback_info,
        argc: *mut usize,
        argv: *mut napi_value,
        this_arg: *mut napi_value,
        data: *mut *mut c_void,
    ) -> napi_status;
    pub fn napi_get_typedarray_info(
        env: napi_env,
        typedarray: napi_value,
        type_: *mut i32,
        length: *mut usize,
        data: *mut *mut c_void,
        arraybuffer: *mut napi_value,
        byte_offset: *mut usize,
    ) -> napi_status;
    pub fn napi_get_value_double(env: napi_env, value: napi_value, result: *mut f64) -> napi_status;
    pub fn napi_create_double(env: napi_env, value: f64, result: *mut napi_value) -> napi_status;
    pub fn napi_create_string_utf8(
        env: napi_env,
        str_: *const c_char,
        length: usize,
        result: *mut napi_value,
    ) -> napi_status;
    pub fn napi_create_object(env: napi_env, result: *mut napi_value) -> napi_status;
    pub fn napi_get_boolean(env: napi_env, value: bool, result: *mut napi_value) -> napi_status;
    pub fn napi_get_undefined(env: napi_env, result: *mut napi_value) -> napi_status;
    pub fn napi_throw_error(env: napi_env, code: *const c_char, msg: *const c_char) -> napi_status;
    pub fn napi_is_exception_pending(env: napi_env, result: *mut bool) -> napi_status;
    pub fn napi_create_external(
        env: napi_env,
        data: *mut c_void,
        finalize_cb: napi_finalize,
        finalize_hint: *mut c_void,
        result: *mut napi_value,
    ) -> napi_status;
    pub fn napi_get_value_external(
        env: napi_env,
        value: napi_value,
        result: *mut *mut c_void,
    ) -> napi_status;
    pub fn napi_adjust_external_memory(
        env: napi_env,
        change_in_bytes: i64,
        adjusted_value: *mut i64,
    ) -> napi_status;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// An error to throw into JS: `code` becomes the Error's `code` property.
#[derive(Debug)]
pub struct JsError {
    pub code: Option<&'static str>,
    pub message: String,
}

impl JsError {
    pub fn new(message: impl Into<String>) -> Self {
        JsError { code: None, message: message.into() }
    }
    pub fn with_code(code: &'static str, message: impl Into<String>) -> Self {
        JsError { code: Some(code), message: message.into() }
    }
}

impl From<String> for JsError {
    fn from(message: String) -> Self {
        JsError::new(message)
    }
}
impl From<&str> for JsError {
    fn from(message: &str) -> Self {
        JsError::new(message)
    }
}

pub type JsResult = Result<napi_value, JsError>;

fn check(status: napi_status, what: &str) -> Result<(), JsError> {
    if status == 0 {
        Ok(())
    } else {
        Err(JsError::new(format!("Node-API call {what} failed (status {status})")))
    }
}

/// Cstring that never fails (interior NULs are replaced: they can only come from our own text).
fn cstr(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// The arguments and environment of one JS call into the addon.
pub struct Call {
    pub env: napi_env,
    args: [napi_value; Call::MAX_ARGS],
    argc: usize,
}

impl Call {
    /// The CPU addon's calls take a parameter block and up to 10 typed arrays.
    pub const MAX_ARGS: usize = 12;

    /// # Safety
    /// `env` and `info` must be the ones the engine passed to the callback.
    pub unsafe fn new(env: napi_env, info: napi_callback_info) -> Result<Call, JsError> {
        let mut args = [ptr::null_mut(); Call::MAX_ARGS];
        let mut argc = Call::MAX_ARGS;
        check(
            napi_get_cb_info(env, info, &mut argc, args.as_mut_ptr(), ptr::null_mut(), ptr::null_mut()),
            "napi_get_cb_info",
        )?;
        Ok(Call { env, args, argc: argc.min(Call::MAX_ARGS) })
    }

    /// How many arguments the call passed (at most MAX_ARGS are read).
    pub fn len(&self) -> usize {
        self.argc
    }

    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    pub fn arg(&self, i: usize) -> Result<napi_value, JsError> {
        if i < self.argc {
            Ok(self.args[i])
        } else {
            Err(JsError::new(format!("missing argument {i}")))
        }
    }

    pub fn f64(&self, i: usize) -> Result<f64, JsError> {
        let mut out = 0.0;
        let v = self.arg(i)?;
        check(unsafe { napi_get_value_double(self.env, v, &mut out) }, "napi_get_value_double")
            .map_err(|_| JsError::new(format!("argument {i} must be a number")))?;
        Ok(out)
    }

    /// A typed array argument read in place: (napi_typedarray_type, data pointer, byte length).
    pub fn typed_array(&self, i: usize) -> Result<(i32, *mut u8, usize), JsError> {
        let v = self.arg(i)?;
        let (mut kind, mut len, mut data, mut offset) = (0i32, 0usize, ptr::null_mut(), 0usize);
        let status = unsafe {
            napi_get_typedarray_info(self.env, v, &mut kind, &mut len, &mut data, ptr::null_mut(), &mut offset)
        };
        check(status, "napi_get_typedarray_info")
            .map_err(|_| JsError::new(format!("argument {i} must be a typed array")))?;
        let elem = match kind {
            typedarray::INT8 | typedarray::UINT8 | typedarray::UINT8_CLAMPED => 1,
            typedarray::INT16 | typedarray::UINT16 => 2,
            typedarray::INT32 | typedarray::UINT32 | typedarray::FLOAT32 => 4,
            _ => 8,
        };
        // N-API returns `data` already adjusted by byte_offset.
        Ok((kind, data as *mut u8, len * elem))
    }

    /// A Float64Array argument as a slice (valid for the duration of the call).
    pub fn f64_array(&self, i: usize) -> Result<&[f64], JsError> {
        let (kind, data, bytes) = self.typed_array(i)?;
        if kind != typedarray::FLOAT64 {
            return Err(JsError::new(format!("argument {i} must be a Float64Array")));
        }
        if bytes == 0 {
            return Ok(&[]);
        }
        Ok(unsafe { std::slice::from_raw_parts(data as *const f64, bytes / 8) })
    }

    pub fn external(&self, i: usize) -> Result<*mut c_void, JsError> {
        let mut out = ptr::null_mut();
        check(unsafe { napi_get_value_external(self.env, self.arg(i)?, &mut out) }, "napi_get_value_external")?;
        Ok(out)
    }

    // ---- values to return ----

    pub fn undefined(&self) -> JsResult {
        let mut v = ptr::null_mut();
        check(unsafe { napi_get_undefined(self.env, &mut v) }, "napi_get_undefined")?;
        Ok(v)
    }
    pub fn boolean(&self, b: bool) -> JsResult {
        let mut v = ptr::null_mut();
        check(unsafe { napi_get_boolean(self.env, b, &mut v) }, "napi_get_boolean")?;
        Ok(v)
    }
    pub fn double(&self, x: f64) -> JsResult {
        let mut v = ptr::null_mut();
        check(unsafe { napi_create_double(self.env, x, &mut v) }, "napi_create_double")?;
        Ok(v)
    }
    pub fn string(&self, s: &str) -> JsResult {
        let mut v = ptr::null_mut();
        check(
            unsafe { napi_create_string_utf8(self.env, s.as_ptr() as *const c_char, s.len(), &mut v) },
            "napi_create_string_utf8",
        )?;
        Ok(v)
    }
    pub fn object(&self) -> JsResult {
        let mut v = ptr::null_mut();
        check(unsafe { napi_create_object(self.env, &mut v) }, "napi_create_object")?;
        Ok(v)
    }
    pub fn set(&self, object: napi_value, name: &str, value: napi_value) -> Result<(), JsError> {
        let name = cstr(name);
        check(unsafe { napi_set_named_property(self.env, object, name.as_ptr(), value) }, "napi_set_named_property")
    }
    /// A JS external wrapping `data`; `finalize` runs when the engine collects it.
    pub fn external_value(&self, data: *mut c_void, finalize: napi_finalize) -> JsResult {
        let mut v = ptr::null_mut();
        check(
            unsafe { napi_create_external(self.env, data, finalize, ptr::null_mut(), &mut v) },
            "napi_create_external",
        )?;
        Ok(v)
    }
    /// Tell the engine's GC about memory it cannot see (device memory held by externals).
    pub fn adjust_external_memory(&self, change: i64) {
        let mut total = 0i64;
        unsafe { napi_adjust_external_memory(self.env, change, &mut total) };
    }
}

/// Runs `f` for one JS call, turning an `Err` or a panic into a thrown JS error.
///
/// # Safety
/// Must be called from a napi callback with the engine's `env` and `info`.
pub unsafe fn run_call(env: napi_env, info: napi_callback_info, f: fn(&Call) -> JsResult) -> napi_value {
    let result = std::panic::catch_unwind(|| {
        let call = Call::new(env, info)?;
        f(&call)
    });
    let err = match result {
        Ok(Ok(v)) => return v,
        Ok(Err(e)) => e,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            JsError::new(format!("internal error (panic) in native addon: {what}"))
        }
    };
    throw(env, &err);
    ptr::null_mut()
}

/// Throw `err` into JS unless an exception is already pending.
pub fn throw(env: napi_env, err: &JsError) {
    unsafe {
        let mut pending = false;
        napi_is_exception_pending(env, &mut pending);
        if pending {
            return;
        }
        let msg = cstr(&err.message);
        let code = err.code.map(cstr);
        napi_throw_error(env, code.as_ref().map_or(ptr::null(), |c| c.as_ptr()), msg.as_ptr());
    }
}

/// Wraps `fn(&Call) -> JsResult` into the `extern "C"` callback shape the engine calls.
#[macro_export]
macro_rules! js_function {
    ($name:ident => $imp:path) => {
        unsafe extern "C" fn $name(
            env: $crate::napi_env,
            info: $crate::napi_callback_info,
        ) -> $crate::napi_value {
            $crate::run_call(env, info, $imp)
        }
    };
}

/// Define `exports[name] = cb`.
///
/// # Safety
/// `env`/`exports` must be the ones passed to `napi_register_module_v1`.
pub unsafe fn export_function(env: napi_env, exports: napi_value, name: &str, cb: napi_callback) -> bool {
    let cname = cstr(name);
    let mut f = ptr::null_mut();
    if napi_create_function(env, cname.as_ptr(), name.len(), cb, ptr::null_mut(), &mut f) != 0 {
        return false;
    }
    napi_set_named_property(env, exports, cname.as_ptr(), f) == 0
}

/// Define `exports[name] = value` for a string.
///
/// # Safety
/// As for [`export_function`].
pub unsafe fn export_string(env: napi_env, exports: napi_value, name: &str, value: &str) -> bool {
    let mut v = ptr::null_mut();
    napi_create_string_utf8(env, value.as_ptr() as *const c_char, value.len(), &mut v) == 0
        && napi_set_named_property(env, exports, cstr(name).as_ptr(), v) == 0
}

/// Define `exports[name] = value` for a number.
///
/// # Safety
/// As for [`export_function`].
pub unsafe fn export_number(env: napi_env, exports: napi_value, name: &str, value: f64) -> bool {
    let mut v = ptr::null_mut();
    napi_create_double(env, value, &mut v) == 0 && napi_set_named_property(env, exports, cstr(name).as_ptr(), v) == 0
}
