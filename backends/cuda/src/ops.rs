//! The backend's operations: unpack the arguments index.ts packed, simplify the views, fill the
//! kernel's parameter struct, pick a launch shape and launch.
//!
//! Argument convention: each op receives one Float64Array. A strided view is packed as
//! `[ptr, dtype, offset, ndim, shape[0..ndim], strides[0..ndim]]` (offset and strides in
//! elements, device pointers as exact integers below 2^53).
//!
//! Index arithmetic in the kernels is 32-bit (much cheaper on the GPU), so every view's reachable
//! element offsets must fit in an i32: tensors up to 2^31 - 1 elements.

use crate::driver::{CUdeviceptr, Driver};
use crate::kernels::{blocks_for, Kernels, BLOCK};
use crate::params::*;
use std::ffi::c_void;

pub const F32: i32 = 0;
pub const F64: i32 = 1;
pub const I32: i32 = 2;
pub const BOOL: i32 = 3;

pub fn dtype_size(dtype: i32) -> Result<usize, String> {
    match dtype {
        F32 | I32 => Ok(4),
        F64 => Ok(8),
        BOOL => Ok(1),
        _ => Err(format!("unknown dtype code {dtype}")),
    }
}

/// Everything an op needs: the driver, the loaded kernels and a 4-byte device word that the index
/// kernels raise on an out-of-range index.
pub struct Ctx {
    pub d: &'static Driver,
    pub kernels: Kernels,
    pub err_word: CUdeviceptr,
}

impl Ctx {
    fn launch<P>(&self, name: &str, grid: (u32, u32, u32), params: &mut P) -> Result<(), String> {
        let mut args = [params as *mut P as *mut c_void];
        self.kernels.launch(self.d, name, grid, &mut args)
    }

    fn memset_zero(&self, ptr: CUdeviceptr, bytes: usize) -> Result<(), String> {
        if bytes == 0 {
            return Ok(());
        }
        self.d.check(unsafe { (self.d.cuMemsetD8)(ptr, 0, bytes) }, "cuMemsetD8")
    }

    /// Read and clear the out-of-range flag (a device-to-host copy, so it waits for the kernel).
    fn take_index_error(&self) -> Result<bool, String> {
        let mut flag: i32 = 0;
        self.d.check(
            unsafe { (self.d.cuMemcpyDtoH)(&mut flag as *mut i32 as *mut c_void, self.err_word, 4) },
            "reading the index-error flag",
        )?;
        if flag != 0 {
            self.d.check(unsafe { (self.d.cuMemsetD32)(self.err_word, 0, 1) }, "cuMemsetD32")?;
        }
        Ok(flag != 0)
    }
}

// ---- argument unpacking ---------------------------------------------------------------------------

pub struct View {
    pub ptr: u64,
    pub dtype: i32,
    pub offset: i64,
    pub shape: Vec<i64>,
    pub strides: Vec<i64>,
}

impl View {
    fn numel(&self) -> i64 {
        self.shape.iter().product()
    }
    fn ptr(&self) -> *mut c_void {
        self.ptr as usize as *mut c_void
    }
}

pub struct Args<'a> {
    data: &'a [f64],
    pos: usize,
}

impl<'a> Args<'a> {
    pub fn new(data: &'a [f64]) -> Self {
        Args { data, pos: 0 }
    }
    pub fn num(&mut self) -> Result<f64, String> {
        let x = *self.data.get(self.pos).ok_or("argument array too short")?;
        self.pos += 1;
        Ok(x)
    }
    pub fn int(&mut self) -> Result<i64, String> {
        let x = self.num()?;
        if x.fract() != 0.0 || x.abs() > 9.007_199_254_740_992e15 {
            return Err(format!("expected an integer argument, got {x}"));
        }
        Ok(x as i64)
    }
    pub fn i32(&mut self) -> Result<i32, String> {
        let x = self.int()?;
        i32::try_from(x).map_err(|_| format!("argument {x} out of range"))
    }
    pub fn view(&mut self) -> Result<View, String> {
        let ptr = self.int()? as u64;
        let dtype = self.i32()?;
        dtype_size(dtype)?;
        let offset = self.int()?;
        let ndim = self.int()? as usize;
        if ndim > 64 {
            return Err(format!("view of rank {ndim}"));
        }
        let shape = (0..ndim).map(|_| self.int()).collect::<Result<Vec<_>, _>>()?;
        let strides = (0..ndim).map(|_| self.int()).collect::<Result<Vec<_>, _>>()?;
        if shape.iter().any(|&s| s < 0) {
            return Err(format!("negative dimension in shape {shape:?}"));
        }
        Ok(View { ptr, dtype, offset, shape, strides })
    }
}

// ---- view simplification --------------------------------------------------------------------------

/// Drop size-1 dims and merge neighbouring dims that are contiguous with each other in *every*
/// operand (stride[d] == stride[d+1] * shape[d+1]). A contiguous tensor of any rank becomes one
/// dim, which makes the kernels' index arithmetic cheap and lets views of rank > 8 through
/// whenever they simplify to 8 dims or fewer.
pub fn coalesce(shape: &[i64], strides: &[&[i64]]) -> (Vec<i64>, Vec<Vec<i64>>) {
    let mut out_shape: Vec<i64> = Vec::new();
    let mut out_strides: Vec<Vec<i64>> = vec![Vec::new(); strides.len()];
    for d in 0..shape.len() {
        if shape[d] == 1 {
            continue;
        }
        if let Some(last) = out_shape.last_mut() {
            let mergeable = strides
                .iter()
                .zip(out_strides.iter())
                .all(|(s, o)| *o.last().unwrap() == s[d] * shape[d]);
            if mergeable {
                *last *= shape[d];
                for (s, o) in strides.iter().zip(out_strides.iter_mut()) {
                    *o.last_mut().unwrap() = s[d];
                }
                continue;
            }
        }
        out_shape.push(shape[d]);
        for (s, o) in strides.iter().zip(out_strides.iter_mut()) {
            o.push(s[d]);
        }
    }
    (out_shape, out_strides)
}

fn to_i32(x: i64, what: &str) -> Result<i32, String> {
    i32::try_from(x).map_err(|_| {
        format!("{what} = {x} does not fit the CUDA backend's 32-bit indexing (tensors up to 2^31 - 1 elements)")
    })
}

/// Check that every element offset the view can reach (offset + sum idx*stride) fits in an i32.
fn check_extent(offset: i64, shape: &[i64], strides: &[i64]) -> Result<(), String> {
    let (mut lo, mut hi) = (offset, offset);
    for (&n, &s) in shape.iter().zip(strides) {
        if n == 0 {
            return Ok(());
        }
        let span = (n - 1) * s;
        if span < 0 { lo += span } else { hi += span }
    }
    to_i32(lo, "lowest element offset")?;
    to_i32(hi, "highest element offset")?;
    Ok(())
}

fn dims8(v: &[i64], what: &str) -> Result<[i32; MAX_DIMS], String> {
    if v.len() > MAX_DIMS {
        return Err(format!(
            "{what}: a view with {} dims that cannot be merged (the CUDA kernels take at most {MAX_DIMS})",
            v.len()
        ));
    }
    let mut out = [0i32; MAX_DIMS];
    for (o, &x) in out.iter_mut().zip(v) {
        *o = to_i32(x, what)?;
    }
    Ok(out)
}

fn same_shape(a: &[i64], b: &[i64], what: &str) -> Result<(), String> {
    if a == b {
        Ok(())
    } else {
        Err(format!("{what}: shapes {a:?} and {b:?} differ (inputs must already be broadcast)"))
    }
}

/// "_f64" when any value-carrying dtype needs more than float's 24-bit mantissa (float64, int32).
fn suffix(dtypes: &[i32]) -> &'static str {
    if dtypes.iter().any(|&d| d == F64 || d == I32) {
        "_f64"
    } else {
        "_f32"
    }
}

// ---- elementwise ----------------------------------------------------------------------------------

pub const EW_COPY: i64 = 0;
pub const EW_UNARY: i64 = 1;
pub const EW_BINARY: i64 = 2;
pub const EW_WHERE: i64 = 3;

/// args: [kind, op, view out, view input...] (copy: 1 input, unary: 1, binary: 2, where: 3 with
/// the condition first). `out` is any strided view (copyInto writes through its strides).
pub fn elementwise(ctx: &Ctx, args: &mut Args) -> Result<(), String> {
    let kind = args.int()?;
    let op = args.i32()?;
    let (name, inputs) = match kind {
        EW_COPY => ("xt_copy", 1),
        EW_UNARY => ("xt_unary", 1),
        EW_BINARY => ("xt_binary", 2),
        EW_WHERE => ("xt_where", 3),
        _ => return Err(format!("unknown elementwise kind {kind}")),
    };
    let out = args.view()?;
    let ins = (0..inputs).map(|_| args.view()).collect::<Result<Vec<_>, _>>()?;
    for v in &ins {
        same_shape(&out.shape, &v.shape, name)?;
    }
    let n = out.numel();
    if n == 0 {
        return Ok(());
    }
    let n = to_i32(n, "element count")?;

    let all: Vec<&View> = std::iter::once(&out).chain(ins.iter()).collect();
    let strides: Vec<&[i64]> = all.iter().map(|v| v.strides.as_slice()).collect();
    let (shape, strides) = coalesce(&out.shape, &strides);
    let mut p = EwParams { n, ndim: shape.len() as i32, shape: dims8(&shape, name)?, op, ..Default::default() };
    let slots = [&mut p.out, &mut p.a, &mut p.b, &mut p.c];
    for ((slot, v), s) in slots.into_iter().zip(&all).zip(&strides) {
        check_extent(v.offset, &shape, s)?;
        *slot = Operand { ptr: v.ptr(), offset: v.offset as i32, dtype: v.dtype, strides: dims8(s, name)? };
    }
    // The compute type follows the values: where's condition does not count.
    let value_dtypes: Vec<i32> =
        all.iter().enumerate().filter(|&(i, _)| !(kind == EW_WHERE && i == 1)).map(|(_, v)| v.dtype).collect();
    let kernel = format!("{name}{}", suffix(&value_dtypes));
    ctx.launch(&kernel, (blocks_for(n as i64), 1, 1), &mut p)
}

// ---- reductions -----------------------------------------------------------------------------------

/// args: [op, outPtr, outDtype, inner, view x]. Reduces the trailing dims of x whose sizes
/// multiply to `inner`; one output per index of the leading dims.
pub fn reduce(ctx: &Ctx, args: &mut Args) -> Result<(), String> {
    let op = args.i32()?;
    let out_ptr = args.int()? as u64;
    let out_dtype = args.i32()?;
    let inner = args.int()?;
    let x = args.view()?;
    let total = x.numel();
    if inner <= 0 {
        return Err(format!("reduce over {inner} elements"));
    }
    if total % inner != 0 {
        return Err(format!("reduce: {inner} does not divide the {total} elements of {:?}", x.shape));
    }
    let outer = total / inner;
    if outer == 0 {
        return Ok(());
    }
    // The reduced dims are a suffix of the shape whose product is `inner`.
    let mut split = None;
    let mut prod = 1i64;
    for k in (0..=x.shape.len()).rev() {
        if k < x.shape.len() {
            prod *= x.shape[k];
        }
        if prod == inner {
            split = Some(k);
            break;
        }
        if prod > inner {
            break;
        }
    }
    let k = split.ok_or_else(|| format!("reduce: no trailing dims of {:?} hold {inner} elements", x.shape))?;
    check_extent(x.offset, &x.shape, &x.strides)?;
    let (oshape, ostr) = coalesce(&x.shape[..k], &[&x.strides[..k]]);
    let (ishape, istr) = coalesce(&x.shape[k..], &[&x.strides[k..]]);

    // Threads per row (see reduce.cu): one thread per row when rows are many and short or their
    // elements are far apart, a warp per row otherwise, the whole block for very long rows.
    let inner_unit_stride = istr[0].last().is_none_or(|&s| s == 1);
    let tpr: i32 = if inner == 1 || (outer >= 1024 && (inner <= 16 || !inner_unit_stride)) {
        1
    } else if inner >= 2048 {
        256
    } else {
        32
    };
    let mut p = ReduceParams {
        x: x.ptr(),
        out: out_ptr as usize as *mut c_void,
        x_offset: x.offset as i32,
        x_dtype: x.dtype,
        out_dtype,
        op,
        outer: to_i32(outer, "outer size")?,
        inner: to_i32(inner, "inner size")?,
        tpr,
        outer_ndim: oshape.len() as i32,
        inner_ndim: ishape.len() as i32,
        pad: 0,
        outer_shape: dims8(&oshape, "reduce")?,
        outer_strides: dims8(&ostr[0], "reduce")?,
        inner_shape: dims8(&ishape, "reduce")?,
        inner_strides: dims8(&istr[0], "reduce")?,
    };
    let rows_per_block = (BLOCK as i64) / tpr as i64;
    let blocks = ((outer + rows_per_block - 1) / rows_per_block).clamp(1, 1 << 20) as u32;
    let kernel = if x.dtype == F32 { "xt_reduce_f32" } else { "xt_reduce_f64" };
    ctx.launch(kernel, (blocks, 1, 1), &mut p)
}

// ---- matmul ---------------------------------------------------------------------------------------

/// args: [outPtr, view a [B, M, K], view b [B, K, N]]; out is a contiguous [B, M, N] of a's dtype.
pub fn matmul(ctx: &Ctx, args: &mut Args) -> Result<(), String> {
    let out_ptr = args.int()? as u64;
    let a = args.view()?;
    let b = args.view()?;
    if a.shape.len() != 3 || b.shape.len() != 3 {
        return Err(format!("matmul takes [B, M, K] and [B, K, N] views, got {:?} and {:?}", a.shape, b.shape));
    }
    let (batch, m, k) = (a.shape[0], a.shape[1], a.shape[2]);
    let n = b.shape[2];
    if b.shape[0] != batch || b.shape[1] != k {
        return Err(format!("matmul shapes {:?} and {:?} do not match", a.shape, b.shape));
    }
    if a.dtype != b.dtype || (a.dtype != F32 && a.dtype != F64) {
        return Err("matmul needs two float32 or two float64 operands".into());
    }
    let out_elems = batch * m * n;
    if out_elems == 0 {
        return Ok(());
    }
    to_i32(out_elems, "matmul output size")?;
    if k == 0 {
        return ctx.memset_zero(out_ptr, out_elems as usize * dtype_size(a.dtype)?);
    }
    check_extent(a.offset, &a.shape, &a.strides)?;
    check_extent(b.offset, &b.shape, &b.strides)?;
    let mut p = MatmulParams {
        a: a.ptr(),
        b: b.ptr(),
        out: out_ptr as usize as *mut c_void,
        batch: batch as i32,
        m: m as i32,
        n: n as i32,
        k: to_i32(k, "matmul K")?,
        a_off: a.offset as i32,
        a_bs: a.strides[0] as i32,
        a_ms: a.strides[1] as i32,
        a_ks: a.strides[2] as i32,
        b_off: b.offset as i32,
        b_bs: b.strides[0] as i32,
        b_ks: b.strides[1] as i32,
        b_ns: b.strides[2] as i32,
    };
    let grid_m = (m + 63) / 64;
    if grid_m > 65535 {
        return Err(format!("matmul with M = {m} rows is too large"));
    }
    let grid = (((n + 63) / 64) as u32, grid_m as u32, batch.min(65535) as u32);
    let kernel = if a.dtype == F32 { "xt_matmul_f32" } else { "xt_matmul_f64" };
    ctx.launch(kernel, grid, &mut p)
}

// ---- softmax family -------------------------------------------------------------------------------

fn row_view(v: &View, what: &str) -> Result<(i64, i64), String> {
    if v.shape.len() != 2 {
        return Err(format!("{what} takes a [R, C] view, got shape {:?}", v.shape));
    }
    if v.dtype != F32 && v.dtype != F64 {
        return Err(format!("{what} needs a float32 or float64 input"));
    }
    check_extent(v.offset, &v.shape, &v.strides)?;
    Ok((v.shape[0], v.shape[1]))
}

/// args: [log, backward, outPtr, view a, (view b when backward)]. Forward: a = x. Backward:
/// a = y (the forward output), b = gy. Output: contiguous [R, C] of a's dtype.
pub fn softmax(ctx: &Ctx, args: &mut Args) -> Result<(), String> {
    let log = args.int()? != 0;
    let backward = args.int()? != 0;
    let out_ptr = args.int()? as u64;
    let a = args.view()?;
    let (r, c) = row_view(&a, "softmax")?;
    let b = if backward { Some(args.view()?) } else { None };
    if let Some(b) = &b {
        row_view(b, "softmax backward")?;
        same_shape(&a.shape, &b.shape, "softmax backward")?;
    }
    if r * c == 0 {
        return Ok(());
    }
    to_i32(r * c, "softmax size")?;
    let bv = b.as_ref().unwrap_or(&a);
    let mut p = RowParams {
        a: a.ptr(),
        b: bv.ptr(),
        out: out_ptr as usize as *mut c_void,
        r: r as i32,
        c: c as i32,
        a_off: a.offset as i32,
        a_rs: a.strides[0] as i32,
        a_cs: a.strides[1] as i32,
        a_dtype: a.dtype,
        b_off: bv.offset as i32,
        b_rs: bv.strides[0] as i32,
        b_cs: bv.strides[1] as i32,
        b_dtype: bv.dtype,
        out_dtype: a.dtype,
        log: log as i32,
    };
    let rows_per_block = (BLOCK / 32) as i64;
    let blocks = ((r + rows_per_block - 1) / rows_per_block).clamp(1, 1 << 20) as u32;
    let kernel = match (backward, a.dtype == F32) {
        (false, true) => "xt_softmax_f32",
        (false, false) => "xt_softmax_f64",
        (true, true) => "xt_softmax_backward_f32",
        (true, false) => "xt_softmax_backward_f64",
    };
    ctx.launch(kernel, (blocks, 1, 1), &mut p)
}

// ---- gatherRows / scatterAddRows ------------------------------------------------------------------

fn rows_params(
    ctx: &Ctx,
    out_ptr: u64,
    x: &View,
    index: &View,
    rows: i64,
    what: &str,
) -> Result<Option<RowsParams>, String> {
    if x.shape.len() != 2 || index.shape.len() != 1 {
        return Err(format!("{what} takes a [R, C] view and a [n] index, got {:?} and {:?}", x.shape, index.shape));
    }
    let (n, c) = (index.shape[0], x.shape[1]);
    check_extent(x.offset, &x.shape, &x.strides)?;
    check_extent(index.offset, &index.shape, &index.strides)?;
    to_i32(n * c, "element count")?;
    if n * c == 0 {
        return Ok(None);
    }
    Ok(Some(RowsParams {
        x: x.ptr(),
        index: index.ptr(),
        out: out_ptr as usize as *mut c_void,
        err: ctx.err_word as usize as *mut c_void,
        n: n as i32,
        c: c as i32,
        rows: to_i32(rows, "rows")?,
        x_off: x.offset as i32,
        x_rs: x.strides[0] as i32,
        x_cs: x.strides[1] as i32,
        x_dtype: x.dtype,
        i_off: index.offset as i32,
        i_s: index.strides[0] as i32,
        i_dtype: index.dtype,
        out_dtype: x.dtype,
        pad: 0,
    }))
}

/// args: [outPtr, view x [R, C], view index [n]] -> Ok(false) if an index was out of range.
pub fn gather_rows(ctx: &Ctx, args: &mut Args) -> Result<bool, String> {
    let out_ptr = args.int()? as u64;
    let x = args.view()?;
    let index = args.view()?;
    let rows = *x.shape.first().unwrap_or(&0);
    let Some(mut p) = rows_params(ctx, out_ptr, &x, &index, rows, "gatherRows")? else {
        return Ok(true);
    };
    let kernel = if x.dtype == F32 || x.dtype == BOOL { "xt_gather_rows_f32" } else { "xt_gather_rows_f64" };
    ctx.launch(kernel, (blocks_for(p.n as i64 * p.c as i64), 1, 1), &mut p)?;
    Ok(!ctx.take_index_error()?)
}

/// args: [outPtr, rows, view src [n, C], view index [n]] -> Ok(false) if an index was out of range.
pub fn scatter_add_rows(ctx: &Ctx, args: &mut Args) -> Result<bool, String> {
    let out_ptr = args.int()? as u64;
    let rows = args.int()?;
    let src = args.view()?;
    let index = args.view()?;
    if src.dtype != F32 && src.dtype != F64 {
        return Err("scatterAddRows needs a float32 or float64 source".into());
    }
    let c = *src.shape.get(1).unwrap_or(&0);
    ctx.memset_zero(out_ptr, (rows * c) as usize * dtype_size(src.dtype)?)?;
    if index.shape.first() != src.shape.first() {
        return Err(format!("scatterAddRows: {:?} rows but {:?} indices", src.shape, index.shape));
    }
    let Some(mut p) = rows_params(ctx, out_ptr, &src, &index, rows, "scatterAddRows")? else {
        return Ok(true);
    };
    let kernel = if src.dtype == F32 { "xt_scatter_add_rows_f32" } else { "xt_scatter_add_rows_f64" };
    ctx.launch(kernel, (blocks_for(p.n as i64 * p.c as i64), 1, 1), &mut p)?;
    Ok(!ctx.take_index_error()?)
}

// ---- full, Adam -----------------------------------------------------------------------------------

/// args: [ptr, n, dtype, value]
pub fn full(ctx: &Ctx, args: &mut Args) -> Result<(), String> {
    let ptr = args.int()? as u64;
    let n = args.int()?;
    let dtype = args.i32()?;
    let value = args.num()?;
    if n == 0 {
        return Ok(());
    }
    let d = ctx.d;
    match dtype {
        F32 => d.check(unsafe { (d.cuMemsetD32)(ptr, (value as f32).to_bits(), n as usize) }, "cuMemsetD32"),
        I32 => d.check(unsafe { (d.cuMemsetD32)(ptr, value as i32 as u32, n as usize) }, "cuMemsetD32"),
        BOOL => d.check(unsafe { (d.cuMemsetD8)(ptr, (value != 0.0) as u8, n as usize) }, "cuMemsetD8"),
        F64 => {
            let mut p = ptr as usize as *mut c_void;
            let mut count = to_i32(n, "element count")?;
            let mut dt = dtype;
            let mut v = value;
            let mut params = [
                &mut p as *mut _ as *mut c_void,
                &mut count as *mut _ as *mut c_void,
                &mut dt as *mut _ as *mut c_void,
                &mut v as *mut _ as *mut c_void,
            ];
            ctx.kernels.launch(d, "xt_fill", (blocks_for(n), 1, 1), &mut params)
        }
        _ => Err(format!("unknown dtype code {dtype}")),
    }
}

/// args: [param, m, v, n, dtype, gradPtr, gradOffset, gradDtype, lr, beta1, beta2, eps,
/// weightDecay, step]; param, m and v are contiguous; the grad is contiguous from gradOffset.
pub fn adam(ctx: &Ctx, args: &mut Args) -> Result<(), String> {
    let param = args.int()? as usize as *mut c_void;
    let m = args.int()? as usize as *mut c_void;
    let v = args.int()? as usize as *mut c_void;
    let n = args.int()?;
    let dtype = args.i32()?;
    let grad = args.int()? as usize as *mut c_void;
    let grad_off = args.int()?;
    let grad_dtype = args.i32()?;
    let (lr, beta1, beta2, eps, wd, step) =
        (args.num()?, args.num()?, args.num()?, args.num()?, args.num()?, args.num()?);
    if dtype != F32 && dtype != F64 {
        return Err("Adam needs float32 or float64 parameters".into());
    }
    if n == 0 {
        return Ok(());
    }
    to_i32(n + grad_off, "Adam size")?;
    let bc1 = 1.0 - beta1.powf(step);
    let bc2 = 1.0 - beta2.powf(step);
    let mut p = AdamArgs {
        param,
        m,
        v,
        grad,
        n: n as i32,
        dtype,
        grad_off: grad_off as i32,
        grad_dtype,
        lr,
        beta1,
        beta2,
        eps,
        wd,
        step_size: lr / bc1,
        bc2_sqrt: bc2.sqrt(),
    };
    let kernel = if dtype == F32 { "xt_adam_f32" } else { "xt_adam_f64" };
    ctx.launch(kernel, (blocks_for(n), 1, 1), &mut p)
}

// ---- 2-D windows: im2row, row2im, max pooling ------------------------------------------------------

const WINDOW_KERNELS: [&str; 4] = ["xt_im2row", "xt_row2im", "xt_max_pool2d", "xt_max_pool2d_backward"];

fn strides4(v: &View, what: &str) -> Result<[i32; 4], String> {
    check_extent(v.offset, &v.shape, &v.strides)?;
    if v.strides.len() > 4 {
        return Err(format!("{what}: a view of rank {} (at most 4)", v.strides.len()));
    }
    let mut out = [0i32; 4];
    for (o, &s) in out.iter_mut().zip(&v.strides) {
        *o = to_i32(s, what)?;
    }
    Ok(out)
}

/// args: [op (0 im2row, 1 row2im, 2 max pool, 3 max pool backward), outPtr, auxPtr, N, C, H, W,
/// Ho, Wo, kh, kw, sh, sw, ph, pw, view x, (op 3) view indices]. x is the image [N, C, H, W]
/// (ops 0, 2), the rows [N, Ho·Wo, C·kh·kw] (op 1) or the output gradient [N, C, Ho, Wo]
/// (op 3); auxPtr receives max pooling's int32 indices (op 2). Outputs are contiguous, x's dtype.
pub fn window2d(ctx: &Ctx, args: &mut Args) -> Result<(), String> {
    let op = args.i32()?;
    let out = args.int()? as usize as *mut c_void;
    let mut aux = args.int()? as usize as *mut c_void;
    let mut g = [0i32; 12];
    for v in g.iter_mut() {
        *v = args.i32()?;
    }
    let [n, c, h, w, ho, wo, kh, kw, sh, sw, ph, pw] = g;
    let x = args.view()?;
    if x.dtype != F32 && x.dtype != F64 {
        return Err("the 2-D window ops need float32 or float64 data".into());
    }
    let x_s = strides4(&x, "window op input")?;
    let (mut a_off, mut a_dtype, mut a_s) = (0, I32, [0i32; 4]);
    if op == 3 {
        let idx = args.view()?;
        a_s = strides4(&idx, "max pool indices")?;
        a_off = idx.offset as i32;
        a_dtype = idx.dtype;
        aux = idx.ptr();
    }
    let (n64, c64) = (n as i64, c as i64);
    let total = match op {
        0 => n64 * c64 * (kh * kw) as i64 * (ho * wo) as i64,
        1 | 3 => n64 * c64 * (h * w) as i64,
        2 => n64 * c64 * (ho * wo) as i64,
        _ => return Err(format!("unknown window op {op}")),
    };
    to_i32(total, "element count")?;
    if total == 0 {
        return Ok(());
    }
    let mut p = Window2dParams {
        x: x.ptr(),
        aux,
        out,
        n,
        c,
        h,
        w,
        ho,
        wo,
        kh,
        kw,
        sh,
        sw,
        ph,
        pw,
        x_off: to_i32(x.offset, "offset")?,
        x_dtype: x.dtype,
        x_s,
        a_off,
        a_dtype,
        a_s,
    };
    let kernel = format!("{}_{}", WINDOW_KERNELS[op as usize], if x.dtype == F32 { "f32" } else { "f64" });
    ctx.launch(&kernel, (blocks_for(total), 1, 1), &mut p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalesce_contiguous_to_one_dim() {
        let (s, st) = coalesce(&[2, 3, 4], &[&[12, 4, 1], &[12, 4, 1]]);
        assert_eq!(s, vec![24]);
        assert_eq!(st, vec![vec![1], vec![1]]);
    }

    #[test]
    fn coalesce_keeps_broadcast_and_transposed_dims() {
        // out contiguous [2, 3, 4]; a broadcast along dim 1 (stride 0)
        let (s, st) = coalesce(&[2, 3, 4], &[&[12, 4, 1], &[4, 0, 1]]);
        assert_eq!(s, vec![2, 3, 4]);
        assert_eq!(st[1], vec![4, 0, 1]);
        // size-1 dims vanish whatever their stride
        let (s, st) = coalesce(&[1, 5, 1], &[&[99, 1, 7]]);
        assert_eq!(s, vec![5]);
        assert_eq!(st[0], vec![1]);
        // a scalar
        let (s, _) = coalesce(&[], &[&[]]);
        assert!(s.is_empty());
    }

    #[test]
    fn extent_limits() {
        assert!(check_extent(0, &[1 << 20, 1 << 10], &[1 << 10, 1]).is_ok());
        assert!(check_extent(0, &[1 << 22, 1 << 10], &[1 << 10, 1]).is_err());
        assert!(check_extent(5, &[0, 1 << 30], &[1 << 30, 1]).is_ok());
    }
}
