//! Fused layer norm over the last dim (biased variance, eps inside the square root), float32 data
//! with double-precision row statistics.
//!
//! forward:  y = (x − μ)·rstd·w + b,  rstd = 1/√(σ² + eps); μ and rstd are kept (float64) for
//! backward: x̂ = (x − μ)·rstd, ĝ = gy·w,
//!           gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),  gw = Σ_rows gy·x̂,  gb = Σ_rows gy.

use std::sync::Mutex;

use crate::pool::{par_range, SendPtr};
use crate::simd_dispatch;
use crate::softmax::Rows;
use crate::view::View;

fn grain(c: usize) -> usize {
    (16384 / c.max(1)).max(1)
}

/// Contiguous copy of a [C] vector view (None → all `dflt`).
unsafe fn vec_of(v: Option<(&View, *const f32)>, c: usize, dflt: f64) -> Vec<f64> {
    match v {
        None => vec![dflt; c],
        Some((v, p)) => {
            let s = if v.nd == 0 { 0 } else { v.strides[v.nd - 1] };
            (0..c).map(|j| *p.offset(v.off + j as isize * s) as f64).collect()
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub unsafe fn forward(
    x: &View,
    xp: *const f32,
    w: Option<(&View, *const f32)>,
    b: Option<(&View, *const f32)>,
    eps: f64,
    y: *mut f32,
    mean: *mut f64,
    rstd: *mut f64,
) {
    let rows = Rows::new(x);
    let c = rows.c;
    let wv = vec_of(w, c, 1.0);
    let bv = vec_of(b, c, 0.0);
    let (xp, yp, mp, rp) = (SendPtr(xp as *mut f32), SendPtr(y), SendPtr(mean), SendPtr(rstd));
    let (rows, wv, bv) = (&rows, &wv, &bv);
    par_range(rows.count(), grain(c), &|lo, hi| {
        let mut buf = vec![0f32; if rows.cs == 1 { 0 } else { c }];
        rows.each(lo, hi, |r, off| {
            let xr = contiguous_row(xp.get().offset(off), rows.cs, c, &mut buf);
            let (mu, rs) = row_forward(xr, c, eps, wv.as_ptr(), bv.as_ptr(), yp.get().add(r * c));
            *mp.get().add(r) = mu;
            *rp.get().add(r) = rs;
        });
    });
}

/// The row itself when contiguous, else a copy of it in buf.
#[inline]
unsafe fn contiguous_row(x: *const f32, cs: isize, c: usize, buf: &mut [f32]) -> *const f32 {
    if cs == 1 {
        return x;
    }
    for j in 0..c {
        buf[j] = *x.offset(j as isize * cs);
    }
    buf.as_ptr()
}

/// Σ f(j) over j < c in double, in 8 interleaved partial sums (one vector of lanes whatever the
/// ISA, so the result does not depend on it), added pairwise at the end.
#[inline(always)]
unsafe fn sum8(c: usize, f: impl Fn(usize) -> f64) -> f64 {
    let mut a = [0f64; 8];
    let mut j = 0;
    while j + 8 <= c {
        for (l, al) in a.iter_mut().enumerate() {
            *al += f(j + l);
        }
        j += 8;
    }
    let mut s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    while j < c {
        s += f(j);
        j += 1;
    }
    s
}

simd_dispatch! {
    /// One contiguous row: y = (x − μ)·rstd·w + b; returns (μ, rstd).
    fn row_forward(x: *const f32, c: usize, eps: f64, w: *const f64, b: *const f64, y: *mut f32) -> (f64, f64) {
        let mu = sum8(c, |j| *x.add(j) as f64) / c as f64;
        let var = sum8(c, |j| {
            let d = *x.add(j) as f64 - mu;
            d * d
        }) / c as f64;
        let rs = 1.0 / (var + eps).sqrt();
        for j in 0..c {
            *y.add(j) = ((*x.add(j) as f64 - mu) * rs * *w.add(j) + *b.add(j)) as f32;
        }
        (mu, rs)
    }
}

#[allow(clippy::too_many_arguments)]
pub unsafe fn backward(
    gy: &View,
    gp: *const f32,
    x: &View,
    xp: *const f32,
    w: Option<(&View, *const f32)>,
    mean: *const f64,
    rstd: *const f64,
    gx: *mut f32,
    gw: *mut f32,
    gb: *mut f32,
) {
    let rx = Rows::new(x);
    let rg = Rows::new(gy);
    let c = rx.c;
    let wv = vec_of(w, c, 1.0);
    let acc = Mutex::new((vec![0f64; c], vec![0f64; c]));
    let (xp, gp, mp, rp, op) = (SendPtr(xp as *mut f32), SendPtr(gp as *mut f32), SendPtr(mean as *mut f64), SendPtr(rstd as *mut f64), SendPtr(gx));
    let (rx, rg, wv, accr) = (&rx, &rg, &wv, &acc);
    par_range(rx.count(), grain(c), &|lo, hi| {
        let mut pw = vec![0f64; c];
        let mut pb = vec![0f64; c];
        let mut xh = vec![0f64; c];
        let mut gh = vec![0f64; c];
        let (mut bx, mut bg) = (vec![0f32; if rx.cs == 1 { 0 } else { c }], vec![0f32; if rg.cs == 1 { 0 } else { c }]);
        let mut goffs: Vec<isize> = Vec::with_capacity(hi - lo);
        rg.each(lo, hi, |_, off| goffs.push(off));
        rx.each(lo, hi, |r, xoff| {
            let xr = contiguous_row(xp.get().offset(xoff), rx.cs, c, &mut bx);
            let gr = contiguous_row(gp.get().offset(goffs[r - lo]), rg.cs, c, &mut bg);
            let rows = RowBackward { c, mu: *mp.get().add(r), rs: *rp.get().add(r), w: wv.as_ptr(), pw: pw.as_mut_ptr(), pb: pb.as_mut_ptr(), xh: xh.as_mut_ptr(), gh: gh.as_mut_ptr() };
            row_backward(xr, gr, rows, op.get().add(r * c));
        });
        let mut g = accr.lock().unwrap_or_else(|e| e.into_inner());
        for j in 0..c {
            g.0[j] += pw[j];
            g.1[j] += pb[j];
        }
    });
    let g = acc.lock().unwrap_or_else(|e| e.into_inner());
    for j in 0..c {
        if !gw.is_null() {
            *gw.add(j) = g.0[j] as f32;
        }
        if !gb.is_null() {
            *gb.add(j) = g.1[j] as f32;
        }
    }
}

/// A row's statistics and the per-thread buffers of the backward.
#[derive(Clone, Copy)]
pub struct RowBackward {
    c: usize,
    mu: f64,
    rs: f64,
    w: *const f64,
    /// Σ over this thread's rows of gy·x̂ and gy (per column).
    pw: *mut f64,
    pb: *mut f64,
    /// x̂ and gy·w of the row.
    xh: *mut f64,
    gh: *mut f64,
}

simd_dispatch! {
    /// One contiguous row of the backward: gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), and the row's
    /// gy·x̂ and gy added to the column sums.
    fn row_backward(x: *const f32, g: *const f32, r: RowBackward, gx: *mut f32) -> () {
        let c = r.c;
        for j in 0..c {
            let xv = (*x.add(j) as f64 - r.mu) * r.rs;
            let gv = *g.add(j) as f64;
            *r.pw.add(j) += gv * xv;
            *r.pb.add(j) += gv;
            *r.xh.add(j) = xv;
            *r.gh.add(j) = gv * *r.w.add(j);
        }
        let inv = 1.0 / c as f64;
        let a = sum8(c, |j| *r.gh.add(j)) * inv;
        let bb = sum8(c, |j| *r.gh.add(j) * *r.xh.add(j)) * inv;
        for j in 0..c {
            *gx.add(j) = (r.rs * (*r.gh.add(j) - a - *r.xh.add(j) * bb)) as f32;
        }
    }
}
