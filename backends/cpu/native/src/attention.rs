//! Fused multi-head attention: for every (batch, head), forward
//!   scores = Q·Kᵀ / scale, blocked entries −∞, W = softmax(scores), out = (W ⊙ drop)·V
//! and its backward, in one call each way. Q is [B, H, S, D], K and V [B, H, T, D] (any strides:
//! they are views of the projections' [B, S, H·D] outputs); out and the gradients come back in
//! the projections' layout, [B, S, H, D] and [B, T, H, D], so that no transpose is ever copied.
//!
//! Bit for bit the composition core would otherwise run (matmul, div, masked fill, softmax, mul,
//! matmul and their backwards): each product goes through gemm_st with the shapes the batched
//! matmuls would have (the shape picks the tiny double-accumulating kernel or the blocked one), the
//! rows through softmax.rs's row functions, and the elementwise steps round as the kernels do.

use std::cell::RefCell;

use crate::gemm::{gemm_st, Gemm};
use crate::pool::{par_range, SendPtr};
use crate::softmax::{softmax_backward_row, softmax_row};

#[derive(Clone, Copy)]
pub struct Dims {
    pub b: usize,
    pub h: usize,
    pub s: usize,
    pub t: usize,
    pub d: usize,
    /// The divisor of the scores (√D rounded to float32).
    pub scale: f32,
}

/// A [B, H, rows, D] operand: base pointer (offset applied) and its four strides.
#[derive(Clone, Copy)]
pub struct Operand {
    pub p: *const f32,
    pub st: [isize; 4],
}
unsafe impl Send for Operand {}
unsafe impl Sync for Operand {}

impl Operand {
    #[inline]
    fn at(&self, off: isize) -> *const f32 {
        unsafe { self.p.offset(off) }
    }
    #[inline]
    fn head(&self, b: usize, h: usize) -> *const f32 {
        unsafe { self.p.offset(b as isize * self.st[0] + h as isize * self.st[1]) }
    }
}

/// The [S, T] mask (true: blocked) with its strides, or none.
#[derive(Clone, Copy)]
pub struct Mask {
    pub p: *const u8,
    pub rs: isize,
    pub cs: isize,
}
unsafe impl Send for Mask {}
unsafe impl Sync for Mask {}

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

fn with_scratch<R>(n: usize, f: impl FnOnce(*mut f32) -> R) -> R {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < n {
            s.resize(n, 0.0);
        }
        f(s.as_mut_ptr())
    })
}

/// C[m, n] (row stride ldc) = A·B with A[i, k] = a[i·a_rs + k·a_cs], B[k, j] = b[k·b_rs + j·b_cs].
#[allow(clippy::too_many_arguments)]
fn product(m: usize, n: usize, k: usize, a: *const f32, a_rs: isize, a_cs: isize, b: *const f32, b_rs: isize, b_cs: isize, c: *mut f32, ldc: usize) {
    gemm_st(&Gemm { m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, ldc: ldc as isize, accumulate: false, bias: std::ptr::null() });
}

/// Runs f(b, h) for every head, spread over the pool.
fn each_head(dims: &Dims, f: &(dyn Fn(usize, usize) + Sync)) {
    let heads = dims.b * dims.h;
    // About 64k multiply-adds per task at least.
    let per_head = (dims.s * dims.t * dims.d).max(1);
    let grain = (65536 / per_head).max(1);
    par_range(heads, grain, &|lo, hi| {
        for bh in lo..hi {
            f(bh / dims.h, bh % dims.h);
        }
    });
}

/// Forward. out [B, S, H, D] and w (the softmax weights before dropout) [B, H, S, T], contiguous;
/// drop: [B, H, S, T] contiguous dropout multipliers, or null.
pub fn forward(dims: Dims, q: Operand, k: Operand, v: Operand, mask: Option<Mask>, drop: *const f32, out: *mut f32, w: *mut f32) {
    let Dims { h, s, t, d, scale, .. } = dims;
    let (out, w, drop) = (SendPtr(out), SendPtr(w), SendPtr(drop as *mut f32));
    each_head(&dims, &|bi, hi| unsafe {
        let wh = w.get().add((bi * h + hi) * s * t);
        // scores = Q·Kᵀ into the weights' place, then scaled, masked and normalised row by row.
        product(s, t, d, q.head(bi, hi), q.st[2], q.st[3], k.head(bi, hi), k.st[3], k.st[2], wh, t);
        for i in 0..s {
            let row = wh.add(i * t);
            for j in 0..t {
                let x = *row.add(j) / scale;
                *row.add(j) = match mask {
                    Some(m) if *m.p.offset(i as isize * m.rs + j as isize * m.cs) != 0 => f32::NEG_INFINITY,
                    _ => x,
                };
            }
            softmax_row(row, t, false, row);
        }
        let o = out.get().add(bi * s * h * d + hi * d);
        if drop.get().is_null() {
            product(s, d, t, wh, t as isize, 1, v.head(bi, hi), v.st[2], v.st[3], o, h * d);
        } else {
            let dh = drop.get().add((bi * h + hi) * s * t);
            with_scratch(s * t, |p| {
                for e in 0..s * t {
                    *p.add(e) = *wh.add(e) * *dh.add(e);
                }
                product(s, d, t, p, t as isize, 1, v.head(bi, hi), v.st[2], v.st[3], o, h * d);
            });
        }
    });
}

/// Backward, given gOut [B, S, H, D] (any strides) and the forward's w and drop: gq [B, S, H, D],
/// gk and gv [B, T, H, D], contiguous.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    dims: Dims,
    q: Operand,
    k: Operand,
    v: Operand,
    go: Operand,
    mask: Option<Mask>,
    w: *const f32,
    drop: *const f32,
    gq: *mut f32,
    gk: *mut f32,
    gv: *mut f32,
) {
    let Dims { h, s, t, d, scale, .. } = dims;
    let (w, drop) = (SendPtr(w as *mut f32), SendPtr(drop as *mut f32));
    let (gq, gk, gv) = (SendPtr(gq), SendPtr(gk), SendPtr(gv));
    each_head(&dims, &|bi, hi| unsafe {
        let st = s * t;
        let wh = w.get().add((bi * h + hi) * st) as *const f32;
        let dh = if drop.get().is_null() { std::ptr::null() } else { drop.get().add((bi * h + hi) * st) as *const f32 };
        // go_h [S, D] with the gradient's (S, D) strides (go's dims are [B, S, H, D]).
        let goh = go.at(bi as isize * go.st[0] + hi as isize * go.st[2]);
        let (go_rs, go_cs) = (go.st[1], go.st[3]);
        // Scratch: p = w ⊙ drop [S, T], g [S, T], gkᵀ [D, T].
        with_scratch(2 * st + d * t, |buf| {
            let (p, g, gkt) = (buf, buf.add(st), buf.add(2 * st));
            let ph: *const f32 = if dh.is_null() {
                wh
            } else {
                for e in 0..st {
                    *p.add(e) = *wh.add(e) * *dh.add(e);
                }
                p
            };
            // gv = pᵀ·go: [T, S]·[S, D].
            product(t, d, s, ph, 1, t as isize, goh, go_rs, go_cs, gv.get().add(bi * t * h * d + hi * d), h * d);
            // g = go·vᵀ: [S, D]·[D, T]; then ⊙ drop, the softmax backward, the mask, / scale.
            product(s, t, d, goh, go_rs, go_cs, v.head(bi, hi), v.st[3], v.st[2], g, t);
            for i in 0..s {
                let gr = g.add(i * t);
                if !dh.is_null() {
                    for j in 0..t {
                        *gr.add(j) *= *dh.add(i * t + j);
                    }
                }
                softmax_backward_row(wh.add(i * t), gr, t, gr);
                for j in 0..t {
                    let blocked = matches!(mask, Some(m) if *m.p.offset(i as isize * m.rs + j as isize * m.cs) != 0);
                    *gr.add(j) = if blocked { 0.0 } else { *gr.add(j) / scale };
                }
            }
            // gq = g·k: [S, T]·[T, D].
            product(s, d, t, g, t as isize, 1, k.head(bi, hi), k.st[2], k.st[3], gq.get().add(bi * s * h * d + hi * d), h * d);
            // gkᵀ = qᵀ·g: [D, S]·[S, T] (the shape the composed backward of Kᵀ has), stored transposed.
            let qh = q.head(bi, hi);
            product(d, t, s, qh, q.st[3], q.st[2], g, t as isize, 1, gkt, t);
            let gkh = gk.get().add(bi * t * h * d + hi * d);
            for j in 0..t {
                for e in 0..d {
                    *gkh.add(j * h * d + e) = *gkt.add(e * t + j);
                }
            }
        });
    });
}
