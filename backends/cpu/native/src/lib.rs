//! xt_cpu.node: the CPU backend's fast path (see backends/cpu/native.ts, its only caller).
//!
//! Every exported function takes `(meta: Float64Array, …typed arrays)` (see napi.rs) and works in
//! place on the typed arrays of CpuStorage: outputs are arrays the TS side allocated. Views are
//! bounds-checked before any access. float32 only: other dtypes stay on the TS kernels.

mod adam;
mod attention;
mod ew;
mod gather;
mod gemm;
mod isa;
mod layernorm;
mod mt;
mod napi;
mod pool;
mod reduce;
mod simd;
mod softmax;
mod view;
mod window2d;

use napi::Args;
use xt_napi::{napi_callback_info, napi_env, napi_value};
use view::{check_bounds, View};

// ---- matmul ---------------------------------------------------------------------------------

/// meta: [batch, M, N, K, aOff, aBs, aRs, aCs, bOff, bBs, bRs, bCs, cOff, accumulate]
/// arrays: A, B, C (float32). C[t, i, j] at cOff + t·M·N + i·N + j.
fn matmul(a: &Args) -> Result<f64, String> {
    let (batch, m, n, k) = (a.u(0), a.u(1), a.u(2), a.u(3));
    let (ap, al) = a.arr(0)?.f32()?;
    let (bp, bl) = a.arr(1)?.f32()?;
    let (cp, cl) = a.arr(2)?.f32()?;
    let (a_off, a_bs, a_rs, a_cs) = (a.i(4), a.i(5), a.i(6), a.i(7));
    let (b_off, b_bs, b_rs, b_cs) = (a.i(8), a.i(9), a.i(10), a.i(11));
    let c_off = a.i(12);
    let accumulate = a.f(13) != 0.0;
    if batch == 0 || m == 0 || n == 0 {
        return Ok(f64::NAN);
    }
    check_bounds("matmul A", &[batch, m, k], &[a_bs, a_rs, a_cs], a_off, al)?;
    check_bounds("matmul B", &[batch, k, n], &[b_bs, b_rs, b_cs], b_off, bl)?;
    check_bounds("matmul C", &[batch, m, n], &[(m * n) as isize, n as isize, 1], c_off, cl)?;
    let g = gemm::Gemm {
        m,
        n,
        k,
        a: unsafe { ap.offset(a_off) },
        a_rs,
        a_cs,
        b: unsafe { bp.offset(b_off) },
        b_rs,
        b_cs,
        c: unsafe { cp.offset(c_off) },
        ldc: n as isize,
        accumulate,
        bias: std::ptr::null(),
    };
    gemm::gemm_batched(batch, &g, a_bs, b_bs, (m * n) as isize);
    Ok(f64::NAN)
}

/// y = x·wᵀ + bias: meta [R, K, N, xOff, xRs, xCs, wOff, wRs, wCs, bOff, bStride, hasBias];
/// arrays: X, W ([N, K] view), BIAS, Y (contiguous [R, N]).
fn linear(a: &Args) -> Result<f64, String> {
    let (r, k, n) = (a.u(0), a.u(1), a.u(2));
    let (x_off, x_rs, x_cs) = (a.i(3), a.i(4), a.i(5));
    let (w_off, w_rs, w_cs) = (a.i(6), a.i(7), a.i(8));
    let (b_off, b_st, has_bias) = (a.i(9), a.i(10), a.f(11) != 0.0);
    let (xp, xl) = a.arr(0)?.f32()?;
    let (wp, wl) = a.arr(1)?.f32()?;
    let (bp, bl) = a.arr(2)?.f32()?;
    let (yp, yl) = a.arr(3)?.f32()?;
    if r == 0 || n == 0 {
        return Ok(f64::NAN);
    }
    check_bounds("linear x", &[r, k], &[x_rs, x_cs], x_off, xl)?;
    check_bounds("linear weight", &[n, k], &[w_rs, w_cs], w_off, wl)?;
    need("linear", yl, r * n)?;
    let mut bias = std::ptr::null::<f32>();
    let mut tmp: Vec<f32> = Vec::new();
    if has_bias {
        check_bounds("linear bias", &[n], &[b_st], b_off, bl)?;
        if b_st == 1 {
            bias = unsafe { bp.offset(b_off) };
        } else {
            tmp = (0..n).map(|j| unsafe { *bp.offset(b_off + j as isize * b_st) }).collect();
            bias = tmp.as_ptr();
        }
    }
    let g = gemm::Gemm {
        m: r,
        n,
        k,
        a: unsafe { xp.offset(x_off) },
        a_rs: x_rs,
        a_cs: x_cs,
        // B[k, j] = w[j, k]
        b: unsafe { wp.offset(w_off) },
        b_rs: w_cs,
        b_cs: w_rs,
        c: yp,
        ldc: n as isize,
        accumulate: false,
        bias,
    };
    gemm::gemm(&g);
    drop(tmp);
    Ok(f64::NAN)
}

// ---- fused attention -----------------------------------------------------------------------------

/// Reads [B, H, S, T, D, scale, hasMask, hasDrop] and the 4-D views q, k, v (offset, 4 strides each)
/// and the mask's (offset, 2 strides) from meta; checks them against the arrays.
fn attention_dims(a: &Args) -> Result<(attention::Dims, [(isize, [isize; 4]); 3], Option<(isize, isize, isize)>, bool), String> {
    let dims = attention::Dims { b: a.u(0), h: a.u(1), s: a.u(2), t: a.u(3), d: a.u(4), scale: a.f(5) as f32 };
    let has_mask = a.f(6) != 0.0;
    let has_drop = a.f(7) != 0.0;
    let view = |p: usize| (a.i(p), [a.i(p + 1), a.i(p + 2), a.i(p + 3), a.i(p + 4)]);
    let ops = [view(8), view(13), view(18)];
    let mask = if has_mask { Some((a.i(23), a.i(24), a.i(25))) } else { None };
    Ok((dims, ops, mask, has_drop))
}

fn operand(what: &str, arr: napi::Arr, rows: usize, dims: &attention::Dims, v: (isize, [isize; 4])) -> Result<attention::Operand, String> {
    let (p, len) = arr.f32()?;
    check_bounds(what, &[dims.b, dims.h, rows, dims.d], &v.1, v.0, len)?;
    Ok(attention::Operand { p: unsafe { p.offset(v.0) }, st: v.1 })
}

fn attention_mask(arr: napi::Arr, dims: &attention::Dims, m: Option<(isize, isize, isize)>) -> Result<Option<attention::Mask>, String> {
    let Some((off, rs, cs)) = m else { return Ok(None) };
    let (p, len) = arr.u8()?;
    check_bounds("attention mask", &[dims.s, dims.t], &[rs, cs], off, len)?;
    Ok(Some(attention::Mask { p: unsafe { p.offset(off) }, rs, cs }))
}

/// q, k, v, the mask and the dropout multipliers of an attention call (arrays 0-4), checked.
fn attention_inputs(a: &Args) -> Result<(attention::Dims, [attention::Operand; 3], Option<attention::Mask>, *const f32), String> {
    let (dims, [qv, kv, vv], mv, has_drop) = attention_dims(a)?;
    let q = operand("attention q", a.arr(0)?, dims.s, &dims, qv)?;
    let k = operand("attention k", a.arr(1)?, dims.t, &dims, kv)?;
    let v = operand("attention v", a.arr(2)?, dims.t, &dims, vv)?;
    let mask = attention_mask(a.arr(3)?, &dims, mv)?;
    let drop = if has_drop {
        let (p, l) = a.arr(4)?.f32()?;
        need("attention dropout mask", l, dims.b * dims.h * dims.s * dims.t)?;
        p as *const f32
    } else {
        std::ptr::null()
    };
    Ok((dims, [q, k, v], mask, drop))
}

/// meta: [B, H, S, T, D, scale, hasMask, hasDrop, q (off, 4 strides), k (…), v (…), mask (off, rs, cs)];
/// arrays: Q, K, V, MASK (uint8, [S, T], true = blocked), DROP ([B, H, S, T] float32), OUT ([B, S, H, D]),
/// W ([B, H, S, T]: the softmax weights before dropout, for the backward).
fn attention_(a: &Args) -> Result<f64, String> {
    let (dims, [q, k, v], mask, drop) = attention_inputs(a)?;
    let heads = dims.b * dims.h;
    let (op_, ol) = a.arr(5)?.f32()?;
    let (wp, wl) = a.arr(6)?.f32()?;
    need("attention out", ol, heads * dims.s * dims.d)?;
    need("attention weights", wl, heads * dims.s * dims.t)?;
    if heads == 0 || dims.s == 0 {
        return Ok(f64::NAN);
    }
    attention::forward(dims, q, k, v, mask, drop, op_, wp);
    Ok(f64::NAN)
}

/// meta: as attention_, then gOut's view (off, 4 strides over [B, S, H, D]) at 26;
/// arrays: Q, K, V, MASK, DROP, W, GOUT, GQ ([B, S, H, D]), GK, GV ([B, T, H, D]).
fn attention_backward(a: &Args) -> Result<f64, String> {
    let (dims, [q, k, v], mask, drop) = attention_inputs(a)?;
    let heads = dims.b * dims.h;
    let st = heads * dims.s * dims.t;
    let (wp, wl) = a.arr(5)?.f32()?;
    need("attention weights", wl, st)?;
    let (gop, gol) = a.arr(6)?.f32()?;
    let gov = (a.i(26), [a.i(27), a.i(28), a.i(29), a.i(30)]);
    check_bounds("attention gOut", &[dims.b, dims.s, dims.h, dims.d], &gov.1, gov.0, gol)?;
    let go = attention::Operand { p: unsafe { gop.offset(gov.0) }, st: gov.1 };
    let (gq, gql) = a.arr(7)?.f32()?;
    let (gk, gkl) = a.arr(8)?.f32()?;
    let (gv, gvl) = a.arr(9)?.f32()?;
    need("attention gq", gql, heads * dims.s * dims.d)?;
    need("attention gk", gkl, heads * dims.t * dims.d)?;
    need("attention gv", gvl, heads * dims.t * dims.d)?;
    if heads == 0 || dims.d == 0 {
        return Ok(f64::NAN);
    }
    attention::backward(dims, q, k, v, go, mask, wp, drop, gq, gk, gv);
    Ok(f64::NAN)
}

/// A no-op: measures the call overhead.
fn noop(_: &Args) -> Result<f64, String> {
    Ok(f64::NAN)
}

// ---- helpers ----------------------------------------------------------------------------------

fn view_at(a: &Args, p: usize) -> Result<(View, usize), String> {
    view::read_view(a.meta, p)
}

fn checked(what: &str, v: &View, len: usize) -> Result<(), String> {
    check_bounds(what, &v.shape[..v.nd], &v.strides[..v.nd], v.off, len)
}

fn need(what: &str, len: usize, n: usize) -> Result<(), String> {
    if len < n {
        return Err(format!("{what}: output holds {len} elements, {n} needed"));
    }
    Ok(())
}

fn same_shape(what: &str, a: &View, b: &View) -> Result<(), String> {
    if a.nd != b.nd || a.shape[..a.nd] != b.shape[..b.nd] {
        return Err(format!("{what}: shapes {:?} and {:?} differ", &a.shape[..a.nd], &b.shape[..b.nd]));
    }
    Ok(())
}

// ---- elementwise --------------------------------------------------------------------------------

/// meta: [op, view x]; arrays: X, OUT (float32, contiguous, x's shape).
fn unary(a: &Args) -> Result<f64, String> {
    let op = a.u(0) as u32;
    let (x, _) = view_at(a, 1)?;
    let (xp, xl) = a.arr(0)?.f32()?;
    let (op_, ol) = a.arr(1)?.f32()?;
    checked("unary x", &x, xl)?;
    need("unary", ol, x.numel())?;
    ew::unary(op, &x, xp, op_);
    Ok(f64::NAN)
}

/// meta: [op, view a, view b] (same shape); arrays: A, B, OUT (float32, or uint8 for comparisons).
fn binary(a: &Args) -> Result<f64, String> {
    let op = a.u(0) as u32;
    let (va, p) = view_at(a, 1)?;
    let (vb, _) = view_at(a, p)?;
    same_shape("binary", &va, &vb)?;
    let (ap, al) = a.arr(0)?.f32()?;
    let (bp, bl) = a.arr(1)?.f32()?;
    checked("binary a", &va, al)?;
    checked("binary b", &vb, bl)?;
    let out = a.arr(2)?;
    let (optr, ol) = if (ew::B_LT..=ew::B_NE).contains(&op) {
        out.u8()?
    } else {
        let (p, l) = out.f32()?;
        (p as *mut u8, l)
    };
    need("binary", ol, va.numel())?;
    ew::binary(op, &va, ap, &vb, bp, optr);
    Ok(f64::NAN)
}

/// meta: [view cond, view a, view b]; arrays: COND (uint8), A, B, OUT (float32).
fn where_(a: &Args) -> Result<f64, String> {
    let (vc, p) = view_at(a, 0)?;
    let (va, p) = view_at(a, p)?;
    let (vb, _) = view_at(a, p)?;
    same_shape("where", &va, &vb)?;
    same_shape("where", &va, &vc)?;
    let (cp, cl) = a.arr(0)?.u8()?;
    let (ap, al) = a.arr(1)?.f32()?;
    let (bp, bl) = a.arr(2)?.f32()?;
    let (op_, ol) = a.arr(3)?.f32()?;
    checked("where cond", &vc, cl)?;
    checked("where a", &va, al)?;
    checked("where b", &vb, bl)?;
    need("where", ol, va.numel())?;
    ew::where_(&vc, cp, &va, ap, &vb, bp, op_);
    Ok(f64::NAN)
}

/// meta: [view dst, view src]; arrays: DST, SRC (float32).
fn copy(a: &Args) -> Result<f64, String> {
    let (vd, p) = view_at(a, 0)?;
    let (vs, _) = view_at(a, p)?;
    same_shape("copy", &vd, &vs)?;
    let (dp, dl) = a.arr(0)?.f32()?;
    let (sp, sl) = a.arr(1)?.f32()?;
    checked("copy dst", &vd, dl)?;
    checked("copy src", &vs, sl)?;
    ew::copy(&vd, dp, &vs, sp);
    Ok(f64::NAN)
}

// ---- reductions, softmax ------------------------------------------------------------------------

/// meta: [op, inner, view x]; arrays: X, OUT (float32; int32 for argmax).
fn reduce_(a: &Args) -> Result<f64, String> {
    let op = a.u(0) as u32;
    let inner = a.u(1);
    let (x, _) = view_at(a, 2)?;
    let (xp, xl) = a.arr(0)?.f32()?;
    checked("reduce x", &x, xl)?;
    let n = x.numel();
    let outer = if inner == 0 { n } else { n / inner };
    let out = a.arr(1)?;
    let (of, oi) = if op == reduce::R_ARGMAX {
        let (p, l) = out.i32()?;
        need("reduce", l, outer)?;
        (std::ptr::null_mut(), p)
    } else {
        let (p, l) = out.f32()?;
        need("reduce", l, outer)?;
        (p, std::ptr::null_mut())
    };
    if inner > 0 && n % inner != 0 {
        return Err(format!("reduce: inner {inner} does not divide {n}"));
    }
    reduce::reduce(op, &x, xp, inner, of, oi);
    Ok(f64::NAN)
}

/// meta: [log, view x]; arrays: X, OUT.
fn softmax_(a: &Args) -> Result<f64, String> {
    let log = a.f(0) != 0.0;
    let (x, _) = view_at(a, 1)?;
    let (xp, xl) = a.arr(0)?.f32()?;
    let (op_, ol) = a.arr(1)?.f32()?;
    checked("softmax x", &x, xl)?;
    need("softmax", ol, x.numel())?;
    softmax::softmax(&x, xp, log, op_);
    Ok(f64::NAN)
}

/// meta: [log, view y, view gy]; arrays: Y, GY, OUT.
fn softmax_backward(a: &Args) -> Result<f64, String> {
    let log = a.f(0) != 0.0;
    let (y, p) = view_at(a, 1)?;
    let (g, _) = view_at(a, p)?;
    same_shape("softmax_backward", &y, &g)?;
    let (yp, yl) = a.arr(0)?.f32()?;
    let (gp, gl) = a.arr(1)?.f32()?;
    let (op_, ol) = a.arr(2)?.f32()?;
    checked("softmax_backward y", &y, yl)?;
    checked("softmax_backward g", &g, gl)?;
    need("softmax_backward", ol, y.numel())?;
    softmax::softmax_backward(&y, yp, &g, gp, log, op_);
    Ok(f64::NAN)
}

/// meta: [view x [N, C], tStride, tOff]; arrays: X, T (int32), LOSS (float32 [N]), LSE (float64 [N]).
fn cross_entropy(a: &Args) -> Result<f64, String> {
    let (x, p) = view_at(a, 0)?;
    if x.nd != 2 {
        return Err("cross_entropy: logits must be 2-D".into());
    }
    let (ts, to) = (a.i(p), a.i(p + 1));
    let (xp, xl) = a.arr(0)?.f32()?;
    let (tp, tl) = a.arr(1)?.i32()?;
    let (lp, ll) = a.arr(2)?.f32()?;
    let (sp, sl) = a.arr(3)?.f64()?;
    checked("cross_entropy x", &x, xl)?;
    let n = x.shape[0];
    check_bounds("cross_entropy target", &[n], &[ts], to, tl)?;
    need("cross_entropy loss", ll, n)?;
    need("cross_entropy lse", sl, n)?;
    softmax::cross_entropy(&x, xp, unsafe { tp.offset(to) }, ts, lp, sp)?;
    Ok(f64::NAN)
}

/// meta: [view x [N, C], tStride, tOff, gStride, gOff]; arrays: X, T, LSE, G, OUT.
fn cross_entropy_backward(a: &Args) -> Result<f64, String> {
    let (x, p) = view_at(a, 0)?;
    if x.nd != 2 {
        return Err("cross_entropy_backward: logits must be 2-D".into());
    }
    let (ts, to, gs, go) = (a.i(p), a.i(p + 1), a.i(p + 2), a.i(p + 3));
    let (xp, xl) = a.arr(0)?.f32()?;
    let (tp, tl) = a.arr(1)?.i32()?;
    let (sp, sl) = a.arr(2)?.f64()?;
    let (gp, gl) = a.arr(3)?.f32()?;
    let (op_, ol) = a.arr(4)?.f32()?;
    checked("cross_entropy_backward x", &x, xl)?;
    let n = x.shape[0];
    check_bounds("cross_entropy_backward target", &[n], &[ts], to, tl)?;
    check_bounds("cross_entropy_backward g", &[n], &[gs], go, gl)?;
    need("cross_entropy_backward lse", sl, n)?;
    need("cross_entropy_backward", ol, x.numel())?;
    let c = x.shape[1];
    for r in 0..n {
        let t = unsafe { *tp.offset(to + r as isize * ts) };
        if t < 0 || t as usize >= c {
            return Err(format!("cross_entropy: target {t} is out of bounds for {c} classes"));
        }
    }
    softmax::cross_entropy_backward(&x, xp, unsafe { tp.offset(to) }, ts, sp, unsafe { gp.offset(go) }, gs, op_);
    Ok(f64::NAN)
}

// ---- layer norm -----------------------------------------------------------------------------------

/// meta: [eps, hasW, hasB, view x, (view w), (view b)]; arrays: X, W, B, Y, MEAN (f64), RSTD (f64).
fn layer_norm(a: &Args) -> Result<f64, String> {
    let eps = a.f(0);
    let (has_w, has_b) = (a.f(1) != 0.0, a.f(2) != 0.0);
    let (x, mut p) = view_at(a, 3)?;
    let (xp, xl) = a.arr(0)?.f32()?;
    checked("layer_norm x", &x, xl)?;
    let c = if x.nd == 0 { 1 } else { x.shape[x.nd - 1] };
    let rows = if c == 0 { 0 } else { x.numel() / c };
    let mut w = None;
    let mut b = None;
    let wv;
    let bv;
    if has_w {
        let (v, q) = view_at(a, p)?;
        p = q;
        let (wp, wl) = a.arr(1)?.f32()?;
        checked("layer_norm weight", &v, wl)?;
        if v.numel() != c {
            return Err("layer_norm: weight size".into());
        }
        wv = v;
        w = Some((&wv, wp as *const f32));
    }
    if has_b {
        let (v, _) = view_at(a, p)?;
        let (bp, bl) = a.arr(2)?.f32()?;
        checked("layer_norm bias", &v, bl)?;
        if v.numel() != c {
            return Err("layer_norm: bias size".into());
        }
        bv = v;
        b = Some((&bv, bp as *const f32));
    }
    let (yp, yl) = a.arr(3)?.f32()?;
    let (mp, ml) = a.arr(4)?.f64()?;
    let (rp, rl) = a.arr(5)?.f64()?;
    need("layer_norm y", yl, x.numel())?;
    need("layer_norm mean", ml, rows)?;
    need("layer_norm rstd", rl, rows)?;
    if c == 0 {
        return Ok(f64::NAN);
    }
    unsafe { layernorm::forward(&x, xp, w, b, eps, yp, mp, rp) };
    Ok(f64::NAN)
}

/// meta: [hasW, view gy, view x, (view w)]; arrays: GY, X, W, MEAN, RSTD, GX, GW, GB.
fn layer_norm_backward(a: &Args) -> Result<f64, String> {
    let has_w = a.f(0) != 0.0;
    let (gy, p) = view_at(a, 1)?;
    let (x, p) = view_at(a, p)?;
    same_shape("layer_norm_backward", &gy, &x)?;
    let (gp, gl) = a.arr(0)?.f32()?;
    let (xp, xl) = a.arr(1)?.f32()?;
    checked("layer_norm_backward gy", &gy, gl)?;
    checked("layer_norm_backward x", &x, xl)?;
    let c = if x.nd == 0 { 1 } else { x.shape[x.nd - 1] };
    let rows = if c == 0 { 0 } else { x.numel() / c };
    let mut w = None;
    let wv;
    if has_w {
        let (v, _) = view_at(a, p)?;
        let (wp, wl) = a.arr(2)?.f32()?;
        checked("layer_norm_backward weight", &v, wl)?;
        if v.numel() != c {
            return Err("layer_norm_backward: weight size".into());
        }
        wv = v;
        w = Some((&wv, wp as *const f32));
    }
    let (mp, ml) = a.arr(3)?.f64()?;
    let (rp, rl) = a.arr(4)?.f64()?;
    let (gxp, gxl) = a.arr(5)?.f32()?;
    let (gwp, gwl) = a.arr(6)?.f32()?;
    let (gbp, gbl) = a.arr(7)?.f32()?;
    need("layer_norm_backward mean", ml, rows)?;
    need("layer_norm_backward rstd", rl, rows)?;
    need("layer_norm_backward gx", gxl, x.numel())?;
    let gwp = if gwl >= c { gwp } else { std::ptr::null_mut() };
    let gbp = if gbl >= c { gbp } else { std::ptr::null_mut() };
    if c == 0 {
        return Ok(f64::NAN);
    }
    unsafe { layernorm::backward(&gy, gp, &x, xp, w, mp, rp, gxp, gwp, gbp) };
    Ok(f64::NAN)
}

// ---- indexing, optimizer ------------------------------------------------------------------------

/// meta: [R, C, rs, cs, off, n, is, ioff]; arrays: X, IDX (int32), OUT [n, C].
fn gather_rows(a: &Args) -> Result<f64, String> {
    let (r, c, rs, cs, off, n, is, ioff) = (a.u(0), a.u(1), a.i(2), a.i(3), a.i(4), a.u(5), a.i(6), a.i(7));
    let (xp, xl) = a.arr(0)?.f32()?;
    let (ip, il) = a.arr(1)?.i32()?;
    let (op_, ol) = a.arr(2)?.f32()?;
    check_bounds("gather_rows x", &[r, c], &[rs, cs], off, xl)?;
    check_bounds("gather_rows index", &[n], &[is], ioff, il)?;
    need("gather_rows", ol, n * c)?;
    unsafe { gather::gather_rows(xp.offset(off), r, c, rs, cs, ip.offset(ioff), is, n, op_)? };
    Ok(f64::NAN)
}

/// meta: [C, rs, cs, off, n, is, ioff, rows]; arrays: SRC [n, C] view, IDX, OUT [rows, C] (zeroed).
fn scatter_add_rows(a: &Args) -> Result<f64, String> {
    let (c, rs, cs, off, n, is, ioff, rows) = (a.u(0), a.i(1), a.i(2), a.i(3), a.u(4), a.i(5), a.i(6), a.u(7));
    let (sp, sl) = a.arr(0)?.f32()?;
    let (ip, il) = a.arr(1)?.i32()?;
    let (op_, ol) = a.arr(2)?.f32()?;
    check_bounds("scatter_add_rows src", &[n, c], &[rs, cs], off, sl)?;
    check_bounds("scatter_add_rows index", &[n], &[is], ioff, il)?;
    need("scatter_add_rows", ol, rows * c)?;
    unsafe { gather::scatter_add_rows(sp.offset(off), c, rs, cs, ip.offset(ioff), is, n, rows, op_)? };
    Ok(f64::NAN)
}

/// meta: [b1, c1, b2, c2, wd, hasWd, eps, bc2s, negStep, view grad]; arrays: W, M, V, G.
fn adam_(a: &Args) -> Result<f64, String> {
    let k = adam::Consts {
        b1: a.f(0),
        c1: a.f(1),
        b2: a.f(2),
        c2: a.f(3),
        wd: a.f(4),
        has_wd: a.f(5) != 0.0,
        eps: a.f(6),
        bc2s: a.f(7),
        neg_step: a.f(8),
    };
    let (g, _) = view_at(a, 9)?;
    let (wp, wl) = a.arr(0)?.f32()?;
    let (mp, ml) = a.arr(1)?.f32()?;
    let (vp, vl) = a.arr(2)?.f32()?;
    let (gp, gl) = a.arr(3)?.f32()?;
    checked("adam grad", &g, gl)?;
    let n = g.numel();
    if wl != n || ml < n || vl < n {
        return Err(format!("adam: parameter of {wl} elements, state {ml}/{vl}, gradient {n}"));
    }
    adam::adam(&k, wp, mp, vp, &g, gp);
    Ok(f64::NAN)
}

// ---- 2-D windows ------------------------------------------------------------------------------

/// meta[0..10] = [N, C, H, W, kh, kw, sh, sw, ph, pw]; checks that the output is at least 1×1.
fn geometry(a: &Args) -> Result<window2d::Geometry, String> {
    let g = window2d::Geometry {
        n: a.u(0), c: a.u(1), h: a.u(2), w: a.u(3), kh: a.u(4), kw: a.u(5), sh: a.u(6), sw: a.u(7), ph: a.u(8), pw: a.u(9),
    };
    if g.kh == 0 || g.kw == 0 || g.sh == 0 || g.sw == 0 || g.h + 2 * g.ph < g.kh || g.w + 2 * g.pw < g.kw {
        return Err(format!("window {}x{} (stride {}x{}, padding {}x{}) does not fit {}x{} images", g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.h, g.w));
    }
    Ok(g)
}

/// [off, s0, s1, s2, s3] at meta[p..p + 5].
fn strides4(a: &Args, p: usize) -> (isize, [isize; 4]) {
    (a.i(p), [a.i(p + 1), a.i(p + 2), a.i(p + 3), a.i(p + 4)])
}

/// meta: [geometry, xOff, x strides (4)]; arrays: X, OUT [N, Ho·Wo, C·kh·kw].
fn im2row(a: &Args) -> Result<f64, String> {
    let g = geometry(a)?;
    let (off, xs) = strides4(a, 10);
    let (xp, xl) = a.arr(0)?.f32()?;
    let (op_, ol) = a.arr(1)?.f32()?;
    check_bounds("im2row x", &[g.n, g.c, g.h, g.w], &xs, off, xl)?;
    need("im2row", ol, g.n * g.c * g.kh * g.kw * g.ho() * g.wo())?;
    unsafe { window2d::im2row(&g, xp.offset(off), xs, op_) };
    Ok(f64::NAN)
}

/// meta: [geometry, rowsOff, rows strides (3)]; arrays: ROWS [N, Ho·Wo, C·kh·kw], OUT [N, C, H, W] (zeroed).
fn row2im(a: &Args) -> Result<f64, String> {
    let g = geometry(a)?;
    let (off, rs) = (a.i(10), [a.i(11), a.i(12), a.i(13)]);
    let (rp, rl) = a.arr(0)?.f32()?;
    let (op_, ol) = a.arr(1)?.f32()?;
    check_bounds("row2im rows", &[g.n, g.ho() * g.wo(), g.c * g.kh * g.kw], &rs, off, rl)?;
    need("row2im", ol, g.n * g.c * g.h * g.w)?;
    unsafe { window2d::row2im(&g, rp.offset(off), rs, op_) };
    Ok(f64::NAN)
}

/// meta: [geometry, xOff, x strides (4)]; arrays: X, Y, IDX (int32) [N, C, Ho, Wo].
fn max_pool2d(a: &Args) -> Result<f64, String> {
    let g = geometry(a)?;
    let (off, xs) = strides4(a, 10);
    let (xp, xl) = a.arr(0)?.f32()?;
    let (yp, yl) = a.arr(1)?.f32()?;
    let (ip, il) = a.arr(2)?.i32()?;
    check_bounds("max_pool2d x", &[g.n, g.c, g.h, g.w], &xs, off, xl)?;
    let n = g.n * g.c * g.ho() * g.wo();
    need("max_pool2d y", yl, n)?;
    need("max_pool2d indices", il, n)?;
    unsafe { window2d::max_pool2d(&g, xp.offset(off), xs, yp, ip) };
    Ok(f64::NAN)
}

/// meta: [geometry, gyOff, gy strides (4), idxOff, idx strides (4)]; arrays: GY, IDX, GX [N, C, H, W] (zeroed).
fn max_pool2d_backward(a: &Args) -> Result<f64, String> {
    let g = geometry(a)?;
    let (goff, gs) = strides4(a, 10);
    let (ioff, is) = strides4(a, 15);
    let (gp, gl) = a.arr(0)?.f32()?;
    let (ip, il) = a.arr(1)?.i32()?;
    let (op_, ol) = a.arr(2)?.f32()?;
    let out_shape = [g.n, g.c, g.ho(), g.wo()];
    check_bounds("max_pool2d_backward gy", &out_shape, &gs, goff, gl)?;
    check_bounds("max_pool2d_backward indices", &out_shape, &is, ioff, il)?;
    need("max_pool2d_backward", ol, g.n * g.c * g.h * g.w)?;
    unsafe { window2d::max_pool2d_backward(&g, gp.offset(goff), gs, ip.offset(ioff), is, op_) };
    Ok(f64::NAN)
}

/// Self-test of the vector math against double precision: returns the worst error in ulps of
/// exp, erf and GELU over a dense grid (used by the tests).
fn math_check(a: &Args) -> Result<f64, String> {
    let op = a.u(0) as u32;
    let (xp, xl) = a.arr(0)?.f32()?;
    let (op_, ol) = a.arr(1)?.f32()?;
    need("math_check", ol, xl)?;
    for i in 0..xl {
        unsafe { *op_.add(i) = ew::scalar_unary(op, *xp.add(i)) };
    }
    Ok(f64::NAN)
}

/// meta: [pos, p, on]; arrays: STATE (Uint32Array, 624 words: the generator's MT19937 key, read
/// and advanced in place), OUT (float32). Returns the new stream position.
fn bernoulli_mt(a: &Args) -> Result<f64, String> {
    let pos = a.u(0);
    let p = a.f(1);
    let on = a.f(2) as f32;
    let (mt, out) = mt_and_out("bernoulli_mt", a, pos)?;
    Ok(mt::bernoulli(mt, pos, p, on, out) as f64)
}

/// The generator's MT19937 key (arrays[0], a 624-word Uint32Array, advanced in place) and the
/// float32 output (arrays[1]) of a random-draw kernel, after checking them and the position.
fn mt_and_out<'a>(name: &str, a: &'a Args, pos: usize) -> Result<(&'a mut [u32], &'a mut [f32]), String> {
    let st = a.arr(0)?;
    if st.ty != napi::T_UINT32 || st.len != 624 {
        return Err(format!("{name}: the state must be a Uint32Array of 624 words"));
    }
    if pos > 624 {
        return Err(format!("{name}: position {pos} out of range"));
    }
    let (op_, ol) = a.arr(1)?.f32()?;
    let mt = unsafe { std::slice::from_raw_parts_mut(st.ptr as *mut u32, 624) };
    let out = unsafe { std::slice::from_raw_parts_mut(op_, ol) };
    Ok((mt, out))
}

/// meta: [kind (0 uniform, 1 normal), pos, a, b, mode]; arrays: STATE (the generator's 624-word
/// MT19937 key, advanced in place), OUT (float32). uniform: a = from, b = range, mode 0 (plain),
/// 1 (fused), 2 (two roundings); normal (16 or more elements): a = mean, b = std. Returns the new
/// stream position.
fn random_fill(a: &Args) -> Result<f64, String> {
    let (kind, pos) = (a.u(0), a.u(1));
    let (x, y) = (a.f(2) as f32, a.f(3) as f32);
    let mode = a.u(4) as u32;
    let (mt, out) = mt_and_out("random_fill", a, pos)?;
    let ol = out.len();
    Ok(match kind {
        0 => mt::uniform(mt, pos, x, y, mode, out),
        1 if ol >= 16 => mt::normal(mt, pos, x, y, out),
        _ => return Err(format!("random_fill: kind {kind} with {ol} elements")),
    } as f64)
}

// ---- registration ---------------------------------------------------------------------------

macro_rules! exports {
    ($env:expr, $exports:expr, $($name:ident),* $(,)?) => {{
        $(
            unsafe extern "C" fn $name(env: napi_env, info: napi_callback_info) -> napi_value {
                xt_napi::run_call(env, info, |c| napi::call(c, super::$name))
            }
        )*
        true $( && xt_napi::export_function($env, $exports, stringify!($name), Some($name)) )*
    }};
}

mod reg {
    use super::*;
    pub unsafe fn register(env: napi_env, exports: napi_value) -> bool {
        exports!(env, exports, matmul, linear, noop, unary, binary, where_, copy, reduce_, softmax_, softmax_backward, cross_entropy, cross_entropy_backward, layer_norm, layer_norm_backward, gather_rows, scatter_add_rows, im2row, row2im, max_pool2d, max_pool2d_backward, adam_, math_check, bernoulli_mt, random_fill, attention_, attention_backward)
            && xt_napi::export_string(env, exports, "isa", isa::name())
            && xt_napi::export_number(env, exports, "threads", pool::pool().threads() as f64)
            && xt_napi::export_number(env, exports, "version", 1.0)
    }
}

/// # Safety
/// Called by the JS engine when the addon is loaded.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: napi_env, exports: napi_value) -> napi_value {
    if !reg::register(env, exports) {
        xt_napi::throw(env, &xt_napi::JsError::new("xt_cpu: registration failed (a Node-API call failed)"));
    }
    exports
}
