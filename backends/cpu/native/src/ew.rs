//! Elementwise kernels over strided (possibly broadcast) float32 views: unary, binary,
//! comparisons (bool out), where, and strided copies. Outputs are written contiguous, except
//! `copy`, whose destination may be any view.
//!
//! The views are merged into as few dimensions as the layouts allow (view::Iter); each innermost
//! run is then processed with a vector loop when its stride is 1, as a broadcast scalar when its
//! stride is 0, and through a small gather buffer otherwise.

use crate::pool::{par_range, SendPtr};
use crate::simd::{self, Simd, S1};
use crate::simd_dispatch;
use crate::view::{dense_strides, Iter, View};

pub const U_NEG: u32 = 0;
pub const U_EXP: u32 = 1;
pub const U_LOG: u32 = 2;
pub const U_SQRT: u32 = 3;
pub const U_RSQRT: u32 = 4;
pub const U_TANH: u32 = 5;
pub const U_ERF: u32 = 6;
pub const U_RELU: u32 = 7;
pub const U_GELU: u32 = 8;
pub const U_ABS: u32 = 9;
pub const U_SIGN: u32 = 10;
pub const U_SQUARE: u32 = 11;

pub const B_ADD: u32 = 0;
pub const B_SUB: u32 = 1;
pub const B_MUL: u32 = 2;
pub const B_DIV: u32 = 3;
pub const B_POW: u32 = 4;
pub const B_MAXIMUM: u32 = 5;
pub const B_LT: u32 = 6;
pub const B_LE: u32 = 7;
pub const B_GT: u32 = 8;
pub const B_GE: u32 = 9;
pub const B_EQ: u32 = 10;
pub const B_NE: u32 = 11;
pub const B_GELU_GRAD: u32 = 12;
pub const B_RELU_GRAD: u32 = 13;
pub const B_ERF_GRAD: u32 = 14;

const CH: usize = 256;

/// Work per element, in "cheap op" units, for the parallel threshold.
fn grain(expensive: bool) -> usize {
    if expensive { 4096 } else { 32768 }
}

// ---------------------------------------------------------------------------------------------
// Vector maps over one run

#[inline(always)]
unsafe fn map1c<S: Simd>(f: &impl Fn(S::V) -> S::V, x: *const f32, o: *mut f32, n: usize) {
    let mut i = 0;
    while i + S::W <= n {
        S::store(o.add(i), f(S::load(x.add(i))));
        i += S::W;
    }
    if i < n {
        S::store_n(o.add(i), f(S::load_n(x.add(i), n - i)), n - i);
    }
}

#[inline(always)]
unsafe fn fill<S: Simd>(v: S::V, o: *mut f32, n: usize) {
    let mut i = 0;
    while i + S::W <= n {
        S::store(o.add(i), v);
        i += S::W;
    }
    if i < n {
        S::store_n(o.add(i), v, n - i);
    }
}

#[inline(always)]
unsafe fn map1<S: Simd>(f: impl Fn(S::V) -> S::V, x: *const f32, xs: isize, o: *mut f32, n: usize) {
    if xs == 0 {
        fill::<S>(f(S::splat(*x)), o, n);
        return;
    }
    if xs == 1 {
        map1c::<S>(&f, x, o, n);
        return;
    }
    let mut buf = [0f32; CH];
    let mut s = 0;
    while s < n {
        let m = CH.min(n - s);
        for j in 0..m {
            buf[j] = *x.offset((s + j) as isize * xs);
        }
        map1c::<S>(&f, buf.as_ptr(), o.add(s), m);
        s += m;
    }
}

/// One run with a, b each contiguous (stride 1) or broadcast (stride 0).
#[inline(always)]
unsafe fn map2c<S: Simd>(f: &impl Fn(S::V, S::V) -> S::V, a: *const f32, as_: isize, b: *const f32, bs: isize, o: *mut f32, n: usize) {
    match (as_, bs) {
        (1, 1) => {
            let mut i = 0;
            while i + S::W <= n {
                S::store(o.add(i), f(S::load(a.add(i)), S::load(b.add(i))));
                i += S::W;
            }
            if i < n {
                let r = n - i;
                S::store_n(o.add(i), f(S::load_n(a.add(i), r), S::load_n(b.add(i), r)), r);
            }
        }
        (1, _) => {
            let bv = S::splat(*b);
            let mut i = 0;
            while i + S::W <= n {
                S::store(o.add(i), f(S::load(a.add(i)), bv));
                i += S::W;
            }
            if i < n {
                let r = n - i;
                S::store_n(o.add(i), f(S::load_n(a.add(i), r), bv), r);
            }
        }
        (_, 1) => {
            let av = S::splat(*a);
            let mut i = 0;
            while i + S::W <= n {
                S::store(o.add(i), f(av, S::load(b.add(i))));
                i += S::W;
            }
            if i < n {
                let r = n - i;
                S::store_n(o.add(i), f(av, S::load_n(b.add(i), r)), r);
            }
        }
        _ => fill::<S>(f(S::splat(*a), S::splat(*b)), o, n),
    }
}

#[inline(always)]
unsafe fn map2<S: Simd>(f: impl Fn(S::V, S::V) -> S::V, a: *const f32, as_: isize, b: *const f32, bs: isize, o: *mut f32, n: usize) {
    if (as_ == 0 || as_ == 1) && (bs == 0 || bs == 1) {
        map2c::<S>(&f, a, as_, b, bs, o, n);
        return;
    }
    // Gather the strided operand(s) chunk by chunk.
    let mut ba = [0f32; CH];
    let mut bb = [0f32; CH];
    let mut s = 0;
    while s < n {
        let m = CH.min(n - s);
        let (pa, sa) = if as_ == 0 || as_ == 1 {
            (a.offset(s as isize * as_), as_)
        } else {
            for j in 0..m {
                ba[j] = *a.offset((s + j) as isize * as_);
            }
            (ba.as_ptr(), 1)
        };
        let (pb, sb) = if bs == 0 || bs == 1 {
            (b.offset(s as isize * bs), bs)
        } else {
            for j in 0..m {
                bb[j] = *b.offset((s + j) as isize * bs);
            }
            (bb.as_ptr(), 1)
        };
        map2c::<S>(&f, pa, sa, pb, sb, o.add(s), m);
        s += m;
    }
}

simd_dispatch! {
    fn unary_run(op: u32, x: *const f32, xs: isize, o: *mut f32, n: usize) -> () {
        match op {
            U_NEG => map1::<S>(|v| S::neg(v), x, xs, o, n),
            U_EXP => map1::<S>(|v| simd::exp::<S>(v), x, xs, o, n),
            U_SQRT => map1::<S>(|v| S::sqrt(v), x, xs, o, n),
            U_RSQRT => map1::<S>(|v| S::div(S::splat(1.0), S::sqrt(v)), x, xs, o, n),
            U_ERF => map1::<S>(|v| simd::erf::<S>(v), x, xs, o, n),
            U_RELU => map1::<S>(|v| S::sel_gt(v, S::splat(0.0), v, S::splat(0.0)), x, xs, o, n),
            U_GELU => map1::<S>(|v| simd::gelu::<S>(v), x, xs, o, n),
            U_ABS => map1::<S>(|v| S::abs(v), x, xs, o, n),
            U_SQUARE => map1::<S>(|v| S::mul(v, v), x, xs, o, n),
            _ => {
                // The rest in double precision, like the TypeScript kernels.
                let f: fn(f64) -> f64 = match op {
                    U_LOG => f64::ln,
                    U_TANH => f64::tanh,
                    U_SIGN => |v| if v > 0.0 { 1.0 } else if v < 0.0 { -1.0 } else { 0.0 },
                    _ => |v| v,
                };
                for i in 0..n {
                    *o.add(i) = f(*x.offset(i as isize * xs) as f64) as f32;
                }
            }
        }
    }
}

const TWO_OVER_SQRT_PI: f32 = std::f32::consts::FRAC_2_SQRT_PI;

simd_dispatch! {
    fn binary_run(op: u32, a: *const f32, as_: isize, b: *const f32, bs: isize, o: *mut f32, n: usize) -> () {
        match op {
            B_ADD => map2::<S>(|x, y| S::add(x, y), a, as_, b, bs, o, n),
            B_SUB => map2::<S>(|x, y| S::sub(x, y), a, as_, b, bs, o, n),
            B_MUL => map2::<S>(|x, y| S::mul(x, y), a, as_, b, bs, o, n),
            B_DIV => map2::<S>(|x, y| S::div(x, y), a, as_, b, bs, o, n),
            B_MAXIMUM => map2::<S>(|x, y| S::sel_nan(x, x, S::sel_nan(y, y, S::sel_gt(x, y, x, y))), a, as_, b, bs, o, n),
            B_GELU_GRAD => map2::<S>(|x, g| S::mul(g, simd::gelu_grad::<S>(x)), a, as_, b, bs, o, n),
            B_RELU_GRAD => map2::<S>(|x, g| S::sel_gt(x, S::splat(0.0), g, S::splat(0.0)), a, as_, b, bs, o, n),
            B_ERF_GRAD => map2::<S>(
                |x, g| S::mul(g, S::mul(S::splat(TWO_OVER_SQRT_PI), simd::exp::<S>(S::neg(S::mul(x, x))))),
                a, as_, b, bs, o, n,
            ),
            _ => {
                // pow in double precision with JavaScript's Math.pow rules (the TypeScript kernel):
                // pow(x, NaN) and pow(±1, ±inf) are NaN there (C gives 1).
                for i in 0..n {
                    let x = *a.offset(i as isize * as_) as f64;
                    let y = *b.offset(i as isize * bs) as f64;
                    let r = if y.is_nan() || (x.abs() == 1.0 && y.is_infinite()) { f64::NAN } else { x.powf(y) };
                    *o.add(i) = r as f32;
                }
            }
        }
    }
}

pub fn is_expensive_unary(op: u32) -> bool {
    !matches!(op, U_NEG | U_ABS | U_SQUARE | U_RELU | U_SQRT | U_RSQRT)
}

pub fn is_expensive_binary(op: u32) -> bool {
    matches!(op, B_GELU_GRAD | B_ERF_GRAD | B_POW)
}

/// out (contiguous, x's shape) = op(x).
pub fn unary(op: u32, x: &View, xp: *const f32, out: *mut f32) {
    let nd = x.nd;
    let os = dense_strides(&x.shape[..nd]);
    let it = Iter::<2>::new(&x.shape[..nd], [&os[..nd], &x.strides[..nd]], [0, x.off]);
    let n = it.len();
    let (xp, op_) = (SendPtr(xp as *mut f32), SendPtr(out));
    par_range(n, grain(is_expensive_unary(op)), &|lo, hi| {
        it.for_range(lo, hi, |o, len, s| unsafe {
            unary_run(op, xp.get().offset(o[1]), s[1], op_.get().offset(o[0]), len);
        });
    });
}

/// out (contiguous, the common shape) = op(a, b); comparisons write bytes (0/1).
pub fn binary(op: u32, a: &View, ap: *const f32, b: &View, bp: *const f32, out: *mut u8) {
    let nd = a.nd;
    let os = dense_strides(&a.shape[..nd]);
    let it = Iter::<3>::new(&a.shape[..nd], [&os[..nd], &a.strides[..nd], &b.strides[..nd]], [0, a.off, b.off]);
    let n = it.len();
    let (ap, bp, op_) = (SendPtr(ap as *mut f32), SendPtr(bp as *mut f32), SendPtr(out));
    if (B_LT..=B_NE).contains(&op) {
        let f: fn(f32, f32) -> bool = match op {
            B_LT => |x, y| x < y,
            B_LE => |x, y| x <= y,
            B_GT => |x, y| x > y,
            B_GE => |x, y| x >= y,
            B_EQ => |x, y| x == y,
            _ => |x, y| x != y,
        };
        it.for_range(0, n, |o, len, s| unsafe {
            let (pa, pb, po) = (ap.get().offset(o[1]), bp.get().offset(o[2]), op_.get().offset(o[0]));
            for i in 0..len {
                *po.add(i) = f(*pa.offset(i as isize * s[1]), *pb.offset(i as isize * s[2])) as u8;
            }
        });
        return;
    }
    par_range(n, grain(is_expensive_binary(op)), &|lo, hi| {
        it.for_range(lo, hi, |o, len, s| unsafe {
            binary_run(op, ap.get().offset(o[1]), s[1], bp.get().offset(o[2]), s[2], (op_.get() as *mut f32).offset(o[0]), len);
        });
    });
}

/// out (contiguous) = cond ? a : b.
pub fn where_(c: &View, cp: *const u8, a: &View, ap: *const f32, b: &View, bp: *const f32, out: *mut f32) {
    let nd = a.nd;
    let os = dense_strides(&a.shape[..nd]);
    let it = Iter::<4>::new(
        &a.shape[..nd],
        [&os[..nd], &c.strides[..nd], &a.strides[..nd], &b.strides[..nd]],
        [0, c.off, a.off, b.off],
    );
    let n = it.len();
    let (cp, ap, bp, op_) = (SendPtr(cp as *mut u8), SendPtr(ap as *mut f32), SendPtr(bp as *mut f32), SendPtr(out));
    par_range(n, 32768, &|lo, hi| {
        it.for_range(lo, hi, |o, len, s| unsafe {
            let (pc, pa, pb, po) = (cp.get().offset(o[1]), ap.get().offset(o[2]), bp.get().offset(o[3]), op_.get().offset(o[0]));
            for i in 0..len {
                let i_ = i as isize;
                *po.add(i) = if *pc.offset(i_ * s[1]) != 0 { *pa.offset(i_ * s[2]) } else { *pb.offset(i_ * s[3]) };
            }
        });
    });
}

/// dst view ← src view (same logical shape), float32 → float32.
pub fn copy(dst: &View, dp: *mut f32, src: &View, sp: *const f32) {
    let nd = dst.nd;
    let it = Iter::<2>::new(&dst.shape[..nd], [&dst.strides[..nd], &src.strides[..nd]], [dst.off, src.off]);
    let n = it.len();
    let (dp, sp) = (SendPtr(dp), SendPtr(sp as *mut f32));
    par_range(n, 65536, &|lo, hi| {
        it.for_range(lo, hi, |o, len, s| unsafe {
            let (pd, ps) = (dp.get().offset(o[0]), sp.get().offset(o[1]));
            if s[0] == 1 && s[1] == 1 {
                std::ptr::copy(ps, pd, len);
            } else if s[1] == 0 {
                let v = *ps;
                for i in 0..len {
                    *pd.offset(i as isize * s[0]) = v;
                }
            } else {
                for i in 0..len {
                    *pd.offset(i as isize * s[0]) = *ps.offset(i as isize * s[1]);
                }
            }
        });
    });
}

/// Scalar reference of the vector math, for the self-test.
pub fn scalar_unary(op: u32, x: f32) -> f32 {
    let mut o = 0f32;
    unsafe {
        match op {
            U_EXP => o = simd::exp::<S1>(x),
            U_ERF => o = simd::erf::<S1>(x),
            U_GELU => o = simd::gelu::<S1>(x),
            _ => {}
        }
    }
    o
}
