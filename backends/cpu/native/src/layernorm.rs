//! Fused layer norm over the last dim (biased variance, eps inside the square root), float32 data
//! with double-precision row statistics.
//!
//! forward:  y = (x − μ)·rstd·w + b,  rstd = 1/√(σ² + eps); μ and rstd are kept (float64) for
//! backward: x̂ = (x − μ)·rstd, ĝ = gy·w,
//!           gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),  gw = Σ_rows gy·x̂,  gb = Σ_rows gy.

use std::sync::Mutex;

use crate::pool::{par_range, SendPtr};
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
        let mut buf = vec![0f64; c];
        rows.each(lo, hi, |r, off| {
            let xr = xp.get().offset(off);
            let mut s = 0f64;
            for j in 0..c {
                let v = *xr.offset(j as isize * rows.cs) as f64;
                buf[j] = v;
                s += v;
            }
            let mu = s / c as f64;
            let mut q = 0f64;
            for j in 0..c {
                let d = buf[j] - mu;
                buf[j] = d;
                q += d * d;
            }
            let var = q / c as f64;
            let rs = 1.0 / (var + eps).sqrt();
            let o = yp.get().add(r * c);
            for j in 0..c {
                *o.add(j) = (buf[j] * rs * wv[j] + bv[j]) as f32;
            }
            *mp.get().add(r) = mu;
            *rp.get().add(r) = rs;
        });
    });
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
        let mut goffs: Vec<isize> = Vec::with_capacity(hi - lo);
        rg.each(lo, hi, |_, off| goffs.push(off));
        rx.each(lo, hi, |r, xoff| {
            let xr = xp.get().offset(xoff);
            let gr = gp.get().offset(goffs[r - lo]);
            let mu = *mp.get().add(r);
            let rs = *rp.get().add(r);
            let mut sg = 0f64;
            let mut sgx = 0f64;
            for j in 0..c {
                let xv = (*xr.offset(j as isize * rx.cs) as f64 - mu) * rs;
                let g = *gr.offset(j as isize * rg.cs) as f64;
                pw[j] += g * xv;
                pb[j] += g;
                let ghat = g * wv[j];
                xh[j] = xv;
                gh[j] = ghat;
                sg += ghat;
                sgx += ghat * xv;
            }
            let inv = 1.0 / c as f64;
            let (a, bb) = (sg * inv, sgx * inv);
            let o = op.get().add(r * c);
            for j in 0..c {
                *o.add(j) = (rs * (gh[j] - a - xh[j] * bb)) as f32;
            }
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
