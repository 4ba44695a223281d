//! softmax / log_softmax over the last dim of a float32 view, their backward, and the fused
//! softmax + cross-entropy (forward: per-row loss and log-sum-exp; backward: (softmax − onehot)·g).
//!
//! Row statistics (sums, dot products) are accumulated in double; log_softmax and the backward
//! formulas are evaluated per element in double and rounded once, like the TypeScript kernels.

use crate::pool::{par_range, SendPtr};
use crate::simd::{self, Simd};
use crate::simd_dispatch;
use crate::view::{Iter, View};

/// Row iterator over the leading dims of a view (the last dim is the softmax dim).
pub struct Rows<'a> {
    it: Iter<1>,
    pub c: usize,
    pub cs: isize,
    _v: &'a View,
}

impl<'a> Rows<'a> {
    pub fn new(v: &'a View) -> Rows<'a> {
        let nd = v.nd;
        let (c, cs) = if nd == 0 { (1, 1) } else { (v.shape[nd - 1], v.strides[nd - 1]) };
        let lead = if nd == 0 { 0 } else { nd - 1 };
        let it = Iter::<1>::new(&v.shape[..lead], [&v.strides[..lead]], [v.off]);
        Rows { it, c, cs, _v: v }
    }
    pub fn count(&self) -> usize {
        self.it.len()
    }
    /// Offsets of rows [lo, hi), in order.
    #[inline]
    pub fn each(&self, lo: usize, hi: usize, mut f: impl FnMut(usize, isize)) {
        let mut r = lo;
        self.it.for_range(lo, hi, |o, len, s| {
            for q in 0..len {
                f(r, o[0] + q as isize * s[0]);
                r += 1;
            }
        });
    }
}

thread_local! {
    static ROWBUF: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Gives f a contiguous copy of a strided row (or the row itself when contiguous).
#[inline]
unsafe fn with_row<R>(x: *const f32, cs: isize, c: usize, f: impl FnOnce(*const f32) -> R) -> R {
    if cs == 1 {
        return f(x);
    }
    ROWBUF.with(|b| {
        let mut b = b.borrow_mut();
        if b.len() < c {
            b.resize(c, 0.0);
        }
        for j in 0..c {
            b[j] = *x.offset(j as isize * cs);
        }
        f(b.as_ptr())
    })
}

simd_dispatch! {
    fn row_max(x: *const f32, n: usize) -> f32 {
        let mut m = f32::NEG_INFINITY;
        let mut i = 0;
        if n >= S::W {
            let mut v = S::load(x);
            i = S::W;
            while i + S::W <= n {
                v = S::max(S::load(x.add(i)), v);
                i += S::W;
            }
            m = S::hmax(v);
        }
        while i < n {
            let y = *x.add(i);
            if y > m {
                m = y;
            }
            i += 1;
        }
        m
    }
}

simd_dispatch! {
    /// o[j] = exp(x[j] − m); returns Σ o[j] in double.
    fn row_exp_sum(x: *const f32, m: f32, o: *mut f32, n: usize) -> f64 {
        let mv = S::splat(m);
        let mut d = S::dzero();
        let mut i = 0;
        while i + S::W <= n {
            let e = simd::exp::<S>(S::sub(S::load(x.add(i)), mv));
            if !o.is_null() {
                S::store(o.add(i), e);
            }
            d = S::dadd(d, e);
            i += S::W;
        }
        let mut s = S::dsum(d);
        while i < n {
            let e = simd::exp::<crate::simd::S1>(*x.add(i) - m);
            if !o.is_null() {
                *o.add(i) = e;
            }
            s += e as f64;
            i += 1;
        }
        s
    }
}

simd_dispatch! {
    fn row_scale(o: *mut f32, k: f32, n: usize) -> () {
        let kv = S::splat(k);
        let mut i = 0;
        while i + S::W <= n {
            S::store(o.add(i), S::mul(S::load(o.add(i)), kv));
            i += S::W;
        }
        while i < n {
            *o.add(i) *= k;
            i += 1;
        }
    }
}

simd_dispatch! {
    /// Σ a[j]·b[j] in double.
    fn row_dot(a: *const f32, b: *const f32, n: usize) -> f64 {
        let mut d = S::dzero();
        let mut i = 0;
        while i + S::W <= n {
            d = S::dfma(d, S::load(a.add(i)), S::load(b.add(i)));
            i += S::W;
        }
        let mut s = S::dsum(d);
        while i < n {
            s += *a.add(i) as f64 * *b.add(i) as f64;
            i += 1;
        }
        s
    }
}

simd_dispatch! {
    /// o[j] = f32(y[j]·(g[j] − dot)) evaluated in double.
    fn row_softmax_bwd(y: *const f32, g: *const f32, dot: f64, o: *mut f32, n: usize) -> () {
        for j in 0..n {
            *o.add(j) = (*y.add(j) as f64 * (*g.add(j) as f64 - dot)) as f32;
        }
    }
}

simd_dispatch! {
    /// o[j] = f32(x[j] − c) evaluated in double.
    fn row_sub64(x: *const f32, c: f64, o: *mut f32, n: usize) -> () {
        for j in 0..n {
            *o.add(j) = (*x.add(j) as f64 - c) as f32;
        }
    }
}

fn grain(c: usize) -> usize {
    (16384 / c.max(1)).max(1)
}

/// softmax (or log_softmax) of the contiguous row x[0..c] into o.
///
/// # Safety
/// x and o hold c floats.
pub unsafe fn softmax_row(x: *const f32, c: usize, log: bool, o: *mut f32) {
    let mut m = row_max(x, c);
    if m == f32::NEG_INFINITY {
        m = 0.0; // an all -inf row gives NaN, as in PyTorch
    }
    if m.is_nan() {
        for j in 0..c {
            *o.add(j) = f32::NAN;
        }
        return;
    }
    if log {
        let s = row_exp_sum(x, m, std::ptr::null_mut(), c);
        row_sub64(x, m as f64 + s.ln(), o, c);
    } else {
        let s = row_exp_sum(x, m, o, c);
        row_scale(o, (1.0 / s) as f32, c);
    }
}

/// The softmax backward of one row: o = y·(g − Σ g·y), contiguous rows of c floats.
///
/// # Safety
/// y, g and o hold c floats (o may be g).
pub unsafe fn softmax_backward_row(y: *const f32, g: *const f32, c: usize, o: *mut f32) {
    let dot = row_dot(g, y, c);
    row_softmax_bwd(y, g, dot, o, c);
}

/// out [rows, C] contiguous.
pub fn softmax(x: &View, xp: *const f32, log: bool, out: *mut f32) {
    let rows = Rows::new(x);
    let c = rows.c;
    let (xp, op) = (SendPtr(xp as *mut f32), SendPtr(out));
    let rows_ref = &rows;
    par_range(rows.count(), grain(c), &|lo, hi| {
        rows_ref.each(lo, hi, |r, off| unsafe {
            let o = op.get().add(r * c);
            with_row(xp.get().offset(off), rows_ref.cs, c, |x| softmax_row(x, c, log, o));
        });
    });
}

/// softmax: gx = y·(g − Σ g·y); log_softmax: gx = g − exp(y)·Σ g. out contiguous.
pub fn softmax_backward(y: &View, yp: *const f32, g: &View, gp: *const f32, log: bool, out: *mut f32) {
    let ry = Rows::new(y);
    let rg = Rows::new(g);
    let c = ry.c;
    let (yp, gp, op) = (SendPtr(yp as *mut f32), SendPtr(gp as *mut f32), SendPtr(out));
    let (ry, rg) = (&ry, &rg);
    par_range(ry.count(), grain(c), &|lo, hi| {
        // Pair up the row offsets of y and g (both iterate rows in the same logical order).
        let mut goffs: Vec<isize> = Vec::with_capacity(hi - lo);
        rg.each(lo, hi, |_, off| goffs.push(off));
        ry.each(lo, hi, |r, yoff| unsafe {
            let o = op.get().add(r * c);
            let goff = goffs[r - lo];
            // Copy g's row into the output first when it is strided (then read it from there).
            let gptr: *const f32 = if rg.cs == 1 {
                gp.get().offset(goff)
            } else {
                for j in 0..c {
                    *o.add(j) = *gp.get().offset(goff + j as isize * rg.cs);
                }
                o
            };
            with_row(yp.get().offset(yoff), ry.cs, c, |yr| {
                if log {
                    let mut sg = 0f64;
                    for j in 0..c {
                        sg += *gptr.add(j) as f64;
                    }
                    for j in 0..c {
                        let e = (*yr.add(j) as f64).exp();
                        *o.add(j) = (*gptr.add(j) as f64 - e * sg) as f32;
                    }
                } else {
                    softmax_backward_row(yr, gptr, c, o);
                }
            });
        });
    });
}

/// Fused cross-entropy forward over logits [N, C] (any strides) and int32 targets [N]:
/// loss[r] = lse[r] − x[r, t[r]] with lse[r] = log Σ_j exp(x[r, j]) (both written, loss as
/// float32, lse as float64).
pub fn cross_entropy(x: &View, xp: *const f32, t: *const i32, t_stride: isize, loss: *mut f32, lse: *mut f64) -> Result<(), String> {
    let rows = Rows::new(x);
    let c = rows.c;
    // Validate targets first.
    for r in 0..rows.count() {
        let tv = unsafe { *t.offset(r as isize * t_stride) };
        if tv < 0 || tv as usize >= c {
            return Err(format!("cross_entropy: target {tv} is out of bounds for {c} classes"));
        }
    }
    let (xp, tp, lp, sp) = (SendPtr(xp as *mut f32), SendPtr(t as *mut i32), SendPtr(loss), SendPtr(lse));
    let rows_ref = &rows;
    par_range(rows.count(), grain(c), &|lo, hi| {
        rows_ref.each(lo, hi, |r, off| unsafe {
            with_row(xp.get().offset(off), rows_ref.cs, c, |xr| {
                let m = row_max(xr, c);
                let l = if m == f32::NEG_INFINITY || m.is_nan() {
                    f64::NAN
                } else {
                    m as f64 + row_exp_sum(xr, m, std::ptr::null_mut(), c).ln()
                };
                let tv = *tp.get().offset(r as isize * t_stride) as usize;
                *sp.get().add(r) = l;
                *lp.get().add(r) = (l - *xr.add(tv) as f64) as f32;
            });
        });
    });
    Ok(())
}

simd_dispatch! {
    /// o[j] = f32(g·exp(x[j] − lse)) (the softmax times g), in float32 vector math.
    fn row_ce_bwd(x: *const f32, lse: f32, g: f32, o: *mut f32, n: usize) -> () {
        let lv = S::splat(lse);
        let gv = S::splat(g);
        let mut i = 0;
        while i + S::W <= n {
            let e = simd::exp::<S>(S::sub(S::load(x.add(i)), lv));
            S::store(o.add(i), S::mul(gv, e));
            i += S::W;
        }
        while i < n {
            *o.add(i) = g * simd::exp::<crate::simd::S1>(*x.add(i) - lse);
            i += 1;
        }
    }
}

/// Fused cross-entropy backward: gx[r, j] = g[r]·(softmax(x)[r, j] − [j = t[r]]), gx contiguous.
pub fn cross_entropy_backward(
    x: &View,
    xp: *const f32,
    t: *const i32,
    t_stride: isize,
    lse: *const f64,
    g: *const f32,
    g_stride: isize,
    out: *mut f32,
) {
    let rows = Rows::new(x);
    let c = rows.c;
    let (xp, tp, sp, gp, op) = (SendPtr(xp as *mut f32), SendPtr(t as *mut i32), SendPtr(lse as *mut f64), SendPtr(g as *mut f32), SendPtr(out));
    let rows_ref = &rows;
    par_range(rows.count(), grain(c), &|lo, hi| {
        rows_ref.each(lo, hi, |r, off| unsafe {
            let o = op.get().add(r * c);
            let gr = *gp.get().offset(r as isize * g_stride);
            let l = *sp.get().add(r);
            let tv = *tp.get().offset(r as isize * t_stride) as usize;
            with_row(xp.get().offset(off), rows_ref.cs, c, |xr| {
                // exp(x − lse) with lse rounded to float32 loses up to |lse|·2⁻²⁴ in the exponent;
                // subtract in double for the target entry below and keep the rest in float32.
                row_ce_bwd(xr, l as f32, gr, o, c);
                let p = ((*xr.add(tv) as f64) - l).exp();
                *o.add(tv) = (gr as f64 * (p - 1.0)) as f32;
            });
        });
    });
}
