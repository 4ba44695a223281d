//! 2-D window kernels for float32 images [N, C, H, W]: im2row and row2im (a convolution is im2row
//! plus the gemm; its input gradient is row2im), max pooling and its backward. Each (image,
//! channel) plane is one task: the planes write disjoint parts of the output, and inside a plane
//! the loops run in the order of backends/cpu/window2d.ts (PyTorch's CPU kernels), so the sums of
//! row2im and of the pooling backward come out the same, bit for bit.

use crate::pool::{par_range, SendPtr};

/// A kh×kw window, stride sh×sw, padding ph×pw, over H×W images; output Ho×Wo.
#[derive(Clone, Copy)]
pub struct Geometry {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
}

impl Geometry {
    pub fn ho(&self) -> usize {
        (self.h + 2 * self.ph - self.kh) / self.sh + 1
    }
    pub fn wo(&self) -> usize {
        (self.w + 2 * self.pw - self.kw) / self.sw + 1
    }
    /// Input position of output index o and window offset i along one axis (may be outside).
    #[inline(always)]
    fn at(o: usize, stride: usize, pad: usize, i: usize) -> isize {
        (o * stride + i) as isize - pad as isize
    }
}

/// Work per task below which a kernel stays on the calling thread.
const GRAIN: usize = 1;

/// rows [N, Ho·Wo, C·kh·kw] (contiguous): row oy·Wo + ox is the patch at (oy, ox); from x (strides xs = [n, c, y, x]).
pub unsafe fn im2row(g: &Geometry, x: *const f32, xs: [isize; 4], out: *mut f32) {
    let (ho, wo) = (g.ho(), g.wo());
    let (k, l) = (g.c * g.kh * g.kw, ho * wo);
    let (x, out) = (SendPtr(x as *mut f32), SendPtr(out));
    par_range(g.n * g.c, GRAIN, &|lo, hi| {
        for plane in lo..hi {
            let (n, c) = (plane / g.c, plane % g.c);
            let src = x.get().offset(n as isize * xs[0] + c as isize * xs[1]);
            for i in 0..g.kh {
                for j in 0..g.kw {
                    let col = out.get().add(n * l * k + (c * g.kh + i) * g.kw + j);
                    for oy in 0..ho {
                        let iy = Geometry::at(oy, g.sh, g.ph, i);
                        let dst = col.add(oy * wo * k);
                        let inside = iy >= 0 && iy < g.h as isize;
                        let line = src.offset(if inside { iy * xs[2] } else { 0 });
                        for ox in 0..wo {
                            let ix = Geometry::at(ox, g.sw, g.pw, j);
                            *dst.add(ox * k) = if inside && ix >= 0 && ix < g.w as isize { *line.offset(ix * xs[3]) } else { 0.0 };
                        }
                    }
                }
            }
        }
    });
}

/// out [N, C, H, W] (contiguous, zeroed by the caller) += rows (strides rs = [n, row, column]).
pub unsafe fn row2im(g: &Geometry, rows: *const f32, rs: [isize; 3], out: *mut f32) {
    let (ho, wo) = (g.ho(), g.wo());
    let (rows, out) = (SendPtr(rows as *mut f32), SendPtr(out));
    par_range(g.n * g.c, GRAIN, &|lo, hi| {
        for plane in lo..hi {
            let (n, c) = (plane / g.c, plane % g.c);
            let dst = out.get().add(plane * g.h * g.w);
            for i in 0..g.kh {
                for j in 0..g.kw {
                    let col = rows.get().offset(n as isize * rs[0] + ((c * g.kh + i) * g.kw + j) as isize * rs[2]);
                    for oy in 0..ho {
                        let iy = Geometry::at(oy, g.sh, g.ph, i);
                        if iy < 0 || iy >= g.h as isize {
                            continue;
                        }
                        let line = dst.add(iy as usize * g.w);
                        for ox in 0..wo {
                            let ix = Geometry::at(ox, g.sw, g.pw, j);
                            if ix >= 0 && ix < g.w as isize {
                                *line.add(ix as usize) += *col.offset((oy * wo + ox) as isize * rs[1]);
                            }
                        }
                    }
                }
            }
        }
    });
}

/// y and indices [N, C, Ho, Wo] (contiguous): each window's maximum and its position y·W + x
/// (the first on ties, the last NaN if any), from x (strides xs).
pub unsafe fn max_pool2d(g: &Geometry, x: *const f32, xs: [isize; 4], y: *mut f32, idx: *mut i32) {
    let (ho, wo) = (g.ho(), g.wo());
    let (x, y, idx) = (SendPtr(x as *mut f32), SendPtr(y), SendPtr(idx));
    par_range(g.n * g.c, GRAIN, &|lo, hi| {
        for plane in lo..hi {
            let (n, c) = (plane / g.c, plane % g.c);
            let src = x.get().offset(n as isize * xs[0] + c as isize * xs[1]);
            let base = plane * ho * wo;
            for oy in 0..ho {
                let y0 = Geometry::at(oy, g.sh, g.ph, 0);
                let (ys, y1) = (y0.max(0), (y0 + g.kh as isize).min(g.h as isize));
                for ox in 0..wo {
                    let x0 = Geometry::at(ox, g.sw, g.pw, 0);
                    let (xs0, x1) = (x0.max(0), (x0 + g.kw as isize).min(g.w as isize));
                    let (m, best) = window_max(src, xs, ys, y1, xs0, x1, g.w as isize);
                    *y.get().add(base + oy * wo + ox) = m;
                    *idx.get().add(base + oy * wo + ox) = best as i32;
                }
            }
        }
    });
}

/// The maximum of x[ys..y1, xs0..x1] (row-major scan: the first on ties, the last NaN) and its position y·w + x.
#[inline(always)]
unsafe fn window_max(src: *const f32, xs: [isize; 4], ys: isize, y1: isize, xs0: isize, x1: isize, w: isize) -> (f32, isize) {
    let mut best = ys * w + xs0;
    let mut m = f32::NEG_INFINITY;
    for iy in ys..y1 {
        let line = src.offset(iy * xs[2]);
        for ix in xs0..x1 {
            let v = *line.offset(ix * xs[3]);
            // Selects rather than branches: on real data the comparison is a coin flip.
            let take = (v > m) | v.is_nan();
            best = if take { iy * w + ix } else { best };
            m = if take { v } else { m };
        }
    }
    (m, best)
}

/// gx [N, C, H, W] (contiguous, zeroed by the caller) += gy at the indices (strides gs and is, [n, c, oy, ox]).
pub unsafe fn max_pool2d_backward(g: &Geometry, gy: *const f32, gs: [isize; 4], idx: *const i32, is: [isize; 4], gx: *mut f32) {
    let (ho, wo) = (g.ho(), g.wo());
    let (gy, idx, gx) = (SendPtr(gy as *mut f32), SendPtr(idx as *mut i32), SendPtr(gx));
    let plane_size = g.h * g.w;
    par_range(g.n * g.c, GRAIN, &|lo, hi| {
        for plane in lo..hi {
            let (n, c) = (plane / g.c, plane % g.c);
            let dst = gx.get().add(plane * plane_size);
            let gp = gy.get().offset(n as isize * gs[0] + c as isize * gs[1]);
            let ip = idx.get().offset(n as isize * is[0] + c as isize * is[1]);
            for oy in 0..ho {
                for ox in 0..wo {
                    let at = *ip.offset(oy as isize * is[2] + ox as isize * is[3]);
                    if at >= 0 && (at as usize) < plane_size {
                        *dst.add(at as usize) += *gp.offset(oy as isize * gs[2] + ox as isize * gs[3]);
                    }
                }
            }
        }
    });
}
