//! PyTorch's single-tensor Adam step (1.13), element by element, bit-identical to the TypeScript
//! kernel (backends/cpu/adam.ts): every intermediate is evaluated in double and rounded to
//! float32 exactly where the TS code calls Math.fround. The scalar constants come from TS.

use crate::pool::{par_range, SendPtr};
use crate::simd_dispatch;
use crate::view::{dense_strides, Iter, View};

#[derive(Clone, Copy)]
pub struct Consts {
    pub b1: f64,
    pub c1: f64,
    pub b2: f64,
    pub c2: f64,
    pub wd: f64,
    pub has_wd: bool,
    pub eps: f64,
    pub bc2s: f64,
    pub neg_step: f64,
}

#[inline(always)]
fn f(x: f64) -> f64 {
    x as f32 as f64
}

simd_dispatch! {
    fn adam_run(k: &Consts, w: *mut f32, m: *mut f32, v: *mut f32, g: *const f32, gs: isize, n: usize) -> () {
        let k = *k;
        if gs == 1 {
            for i in 0..n {
                adam_one(&k, w.add(i), m.add(i), v.add(i), *g.add(i));
            }
        } else {
            for i in 0..n {
                adam_one(&k, w.add(i), m.add(i), v.add(i), *g.offset(i as isize * gs));
            }
        }
    }
}

#[inline(always)]
unsafe fn adam_one(k: &Consts, w: *mut f32, m: *mut f32, v: *mut f32, g: f32) {
    let wi = *w as f64;
    let mut g = g as f64;
    if k.has_wd {
        g = f(g + k.wd * wi);
    }
    let mi = f(f(*m as f64 * k.b1) + k.c1 * g);
    let vi = f(f(*v as f64 * k.b2) + f(k.c2 * g) * g);
    *m = mi as f32;
    *v = vi as f32;
    let denom = f(f(f(vi.sqrt()) / k.bc2s) + k.eps);
    *w = (wi + k.neg_step * f(mi / denom)) as f32;
}

pub fn adam(k: &Consts, w: *mut f32, m: *mut f32, v: *mut f32, g: &View, gp: *const f32) {
    let nd = g.nd;
    let ds = dense_strides(&g.shape[..nd]);
    let it = Iter::<2>::new(&g.shape[..nd], [&ds[..nd], &g.strides[..nd]], [0, g.off]);
    let n = it.len();
    let (wp, mp, vp, gp) = (SendPtr(w), SendPtr(m), SendPtr(v), SendPtr(gp as *mut f32));
    par_range(n, 65536, &|lo, hi| {
        it.for_range(lo, hi, |o, len, s| unsafe {
            adam_run(k, wp.get().offset(o[0]), mp.get().offset(o[0]), vp.get().offset(o[0]), gp.get().offset(o[1]), s[1], len);
        });
    });
}
