//! Reductions of a float32 view over its trailing `inner` elements (the reduced dims are the last
//! ones of the logical shape): sum (accumulated in double), max and argmax (NaN wins and ties go to
//! the first index, like the TypeScript kernel).
//!
//! sum has two fast layouts: reduced elements contiguous (row sums, vectorised), and reduced dims
//! outside a contiguous kept dim (column sums: whole rows are accumulated into a double buffer,
//! e.g. a bias gradient over [batch·tokens, features]).

use crate::pool::{par_range, SendPtr};
use crate::simd::Simd;
use crate::simd_dispatch;
use crate::view::{Iter, View, MAX_DIMS};

pub const R_SUM: u32 = 0;
pub const R_MAX: u32 = 1;
pub const R_ARGMAX: u32 = 2;

simd_dispatch! {
    fn row_sum(x: *const f32, n: usize) -> f64 {
        let mut d0 = S::dzero();
        let mut d1 = S::dzero();
        let mut i = 0;
        while i + 2 * S::W <= n {
            d0 = S::dadd(d0, S::load(x.add(i)));
            d1 = S::dadd(d1, S::load(x.add(i + S::W)));
            i += 2 * S::W;
        }
        let mut s = S::dsum(d0) + S::dsum(d1);
        while i < n {
            s += *x.add(i) as f64;
            i += 1;
        }
        s
    }
}

simd_dispatch! {
    fn acc_row(acc: *mut f64, x: *const f32, n: usize) -> () {
        // acc[j] += x[j] in double (auto-vectorised).
        for j in 0..n {
            *acc.add(j) += *x.add(j) as f64;
        }
    }
}

/// Splits a logical shape into (kept dims, reduced dims) with prod(reduced) = inner.
fn split(x: &View, inner: usize) -> usize {
    // Number of trailing dims whose product is `inner`.
    let mut p = 1usize;
    let mut k = x.nd;
    while k > 0 && p < inner {
        k -= 1;
        p *= x.shape[k];
    }
    // Absorb trailing size-1 dims of the kept part as well (harmless).
    k
}

pub fn reduce(op: u32, x: &View, xp: *const f32, inner: usize, out_f: *mut f32, out_i: *mut i32) {
    let n = x.numel();
    let outer = if inner == 0 { n } else { n / inner };
    if outer == 0 {
        return;
    }
    if inner == 0 {
        // Reducing nothing: sum of an empty set.
        for r in 0..outer {
            unsafe {
                if !out_f.is_null() {
                    *out_f.add(r) = 0.0;
                }
            }
        }
        return;
    }
    let k = split(x, inner);
    let kept = Iter::<1>::new(&x.shape[..k], [&x.strides[..k]], [x.off]);
    let red = Iter::<1>::new(&x.shape[k..x.nd], [&x.strides[k..x.nd]], [0]);
    let (_, rlen) = red.rows();
    let rstride = red.strides[0][red.nd - 1];
    let xp = SendPtr(xp as *mut f32);
    let of = SendPtr(out_f);
    let oi = SendPtr(out_i);

    if op == R_SUM {
        // Column sums: the kept innermost dim is contiguous and the reduced runs are not.
        let klast = kept.shape[kept.nd - 1];
        let kstride = kept.strides[0][kept.nd - 1];
        if rstride != 1 && kstride == 1 && klast >= 8 && k > 0 {
            let kouter = outer / klast;
            // Parallel over the contiguous kept dim (blocks of 64 columns) and the kept outer dims.
            let blocks = klast.div_ceil(64);
            let work = kouter * blocks;
            let kept_ref = &kept;
            let red_ref = &red;
            par_range(work, if n >= 65536 { 1 } else { usize::MAX / 4 }, &|lo, hi| {
                let mut acc = [0f64; 64];
                for w in lo..hi {
                    let ko = w / blocks;
                    let b = w % blocks;
                    let j0 = b * 64;
                    let jn = 64.min(klast - j0);
                    let base = kept_ref.row_offsets(ko)[0] + j0 as isize;
                    acc[..jn].iter_mut().for_each(|v| *v = 0.0);
                    red_ref.for_range(0, red_ref.len(), |o, len, s| unsafe {
                        for i in 0..len {
                            acc_row(acc.as_mut_ptr(), xp.get().offset(base + o[0] + i as isize * s[0]), jn);
                        }
                    });
                    for j in 0..jn {
                        unsafe {
                            *of.get().add(ko * klast + j0 + j) = acc[j] as f32;
                        }
                    }
                }
            });
            return;
        }
    }

    // One output at a time: iterate the reduced part's runs.
    let kept_ref = &kept;
    let red_ref = &red;
    let grain = if inner >= 65536 { 1 } else { (65536 / inner).max(1) };
    par_range(outer, grain, &|lo, hi| {
        let mut r = lo;
        kept_ref.for_range(lo, hi, |o, len, s| {
            for q in 0..len {
                let base = o[0] + q as isize * s[0];
                unsafe { reduce_one(op, xp.get().offset(base), red_ref, rlen, of.get(), oi.get(), r) };
                r += 1;
            }
        });
    });
}

unsafe fn reduce_one(op: u32, x: *const f32, red: &Iter<1>, _rlen: usize, of: *mut f32, oi: *mut i32, r: usize) {
    let total = red.len();
    if op == R_SUM {
        let mut s = 0f64;
        red.for_range(0, total, |o, len, st| {
            if st[0] == 1 {
                s += row_sum(x.offset(o[0]), len);
            } else {
                for i in 0..len {
                    s += *x.offset(o[0] + i as isize * st[0]) as f64;
                }
            }
        });
        *of.add(r) = s as f32;
        return;
    }
    let mut best = f32::NAN;
    let mut at = 0usize;
    let mut idx = 0usize;
    let mut first = true;
    let mut stop = false;
    red.for_range(0, total, |o, len, st| {
        if stop {
            return;
        }
        for i in 0..len {
            let v = *x.offset(o[0] + i as isize * st[0]);
            if first {
                best = v;
                at = 0;
                first = false;
            } else {
                if best.is_nan() {
                    stop = true;
                    return;
                }
                if v.is_nan() || v > best {
                    best = v;
                    at = idx;
                }
            }
            idx += 1;
        }
    });
    if op == R_MAX {
        *of.add(r) = best;
    } else {
        *oi.add(r) = at as i32;
    }
}

#[allow(dead_code)]
const _: usize = MAX_DIMS;
