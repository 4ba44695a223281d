//! `#[repr(C)]` mirrors of the kernel parameter structs in kernels/common.cuh. Each kernel takes
//! one of these by value; the field order and sizes must match the C++ side exactly (both sides
//! assert the sizes).

use std::ffi::c_void;
use std::ptr;

pub const MAX_DIMS: usize = 8;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Operand {
    pub ptr: *mut c_void,
    pub offset: i32,
    pub dtype: i32,
    pub strides: [i32; MAX_DIMS],
}

impl Default for Operand {
    fn default() -> Self {
        Operand { ptr: ptr::null_mut(), offset: 0, dtype: 0, strides: [0; MAX_DIMS] }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct EwParams {
    pub n: i32,
    pub ndim: i32,
    pub shape: [i32; MAX_DIMS],
    pub op: i32,
    pub pad: i32,
    pub out: Operand,
    pub a: Operand,
    pub b: Operand,
    pub c: Operand,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct ReduceParams {
    pub x: *mut c_void,
    pub out: *mut c_void,
    pub x_offset: i32,
    pub x_dtype: i32,
    pub out_dtype: i32,
    pub op: i32,
    pub outer: i32,
    pub inner: i32,
    pub tpr: i32,
    pub outer_ndim: i32,
    pub inner_ndim: i32,
    pub pad: i32,
    pub outer_shape: [i32; MAX_DIMS],
    pub outer_strides: [i32; MAX_DIMS],
    pub inner_shape: [i32; MAX_DIMS],
    pub inner_strides: [i32; MAX_DIMS],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct RowParams {
    pub a: *mut c_void,
    pub b: *mut c_void,
    pub out: *mut c_void,
    pub r: i32,
    pub c: i32,
    pub a_off: i32,
    pub a_rs: i32,
    pub a_cs: i32,
    pub a_dtype: i32,
    pub b_off: i32,
    pub b_rs: i32,
    pub b_cs: i32,
    pub b_dtype: i32,
    pub out_dtype: i32,
    pub log: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct MatmulParams {
    pub a: *mut c_void,
    pub b: *mut c_void,
    pub out: *mut c_void,
    pub batch: i32,
    pub m: i32,
    pub n: i32,
    pub k: i32,
    pub a_off: i32,
    pub a_bs: i32,
    pub a_ms: i32,
    pub a_ks: i32,
    pub b_off: i32,
    pub b_bs: i32,
    pub b_ks: i32,
    pub b_ns: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct RowsParams {
    pub x: *mut c_void,
    pub index: *mut c_void,
    pub out: *mut c_void,
    pub err: *mut c_void,
    pub n: i32,
    pub c: i32,
    pub rows: i32,
    pub x_off: i32,
    pub x_rs: i32,
    pub x_cs: i32,
    pub x_dtype: i32,
    pub i_off: i32,
    pub i_s: i32,
    pub i_dtype: i32,
    pub out_dtype: i32,
    pub pad: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct AdamArgs {
    pub param: *mut c_void,
    pub m: *mut c_void,
    pub v: *mut c_void,
    pub grad: *mut c_void,
    pub n: i32,
    pub dtype: i32,
    pub grad_off: i32,
    pub grad_dtype: i32,
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub wd: f64,
    pub step_size: f64,
    pub bc2_sqrt: f64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Window2dParams {
    pub x: *mut c_void,
    pub aux: *mut c_void,
    pub out: *mut c_void,
    pub n: i32,
    pub c: i32,
    pub h: i32,
    pub w: i32,
    pub ho: i32,
    pub wo: i32,
    pub kh: i32,
    pub kw: i32,
    pub sh: i32,
    pub sw: i32,
    pub ph: i32,
    pub pw: i32,
    pub x_off: i32,
    pub x_dtype: i32,
    pub x_s: [i32; 4],
    pub a_off: i32,
    pub a_dtype: i32,
    pub a_s: [i32; 4],
}

// Same sizes as the static_asserts in kernels/common.cuh.
const _: () = assert!(std::mem::size_of::<Operand>() == 48);
const _: () = assert!(std::mem::size_of::<EwParams>() == 240);
const _: () = assert!(std::mem::size_of::<ReduceParams>() == 184);
const _: () = assert!(std::mem::size_of::<RowParams>() == 72);
const _: () = assert!(std::mem::size_of::<MatmulParams>() == 72);
const _: () = assert!(std::mem::size_of::<RowsParams>() == 80);
const _: () = assert!(std::mem::size_of::<AdamArgs>() == 104);
const _: () = assert!(std::mem::size_of::<Window2dParams>() == 120);
