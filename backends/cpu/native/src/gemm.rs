//! Single-precision GEMM with arbitrary strides: C[i,j] (+)= Σ_k A[i,k]·B[k,j], where
//! A[i,k] = a[i·a_rs + k·a_cs], B[k,j] = b[k·b_rs + j·b_cs] and C[i,j] = c[i·ldc + j].
//!
//! GotoBLAS/BLIS structure: K is cut into slabs of at most KC, N into blocks of at most NC, M into
//! blocks of MC rows. B's block is packed into NR-wide micro-panels (zero padded). A is read in
//! place when its rows are contiguous (a_cs = 1): the micro-kernel broadcasts straight from MR row
//! streams; otherwise A's block is packed into MR-row micro-panels. The micro-kernel keeps an
//! MR×NR tile of C in registers:
//!
//! - AVX-512: MR = 12, NR = 32 (two zmm per row, 24 accumulators) or NR = 16 for narrow C.
//! - AVX2: MR = 6, NR = 16 (two ymm per row, 12 accumulators).
//! - scalar: a plain loop (machines without AVX2).
//!
//! The micro-kernel is one generic body over simd.rs's `Simd` (the vector width), instantiated
//! per ISA behind `#[target_feature]` entry points; ragged N edges load and store only the first
//! lanes (masked on AVX-512), ragged M edges use an instantiation for fewer rows.
//!
//! Products are split over the thread pool by columns or rows, whichever packs less per thread;
//! batches of small products are spread over the pool one product per task.

use std::cell::RefCell;

use crate::isa::{isa, Isa};
use crate::pool::{pool, SendPtr};
#[cfg(target_arch = "x86_64")]
use crate::simd::{Simd, S256, S512};

#[derive(Clone, Copy)]
pub struct Gemm {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: *const f32,
    pub a_rs: isize,
    pub a_cs: isize,
    pub b: *const f32,
    pub b_rs: isize,
    pub b_cs: isize,
    pub c: *mut f32,
    pub ldc: isize,
    /// C += A·B instead of C = A·B.
    pub accumulate: bool,
    /// Optional bias[j] added to every row (C = A·B + bias; not with `accumulate`).
    pub bias: *const f32,
}
unsafe impl Send for Gemm {}
unsafe impl Sync for Gemm {}

const KC: usize = 256;
const MC: usize = 192;
// A KC×NC block of packed B (512 KiB) stays in a 1 MiB L2 beside A's rows and C.
const NC: usize = 512;

#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([f32; 16]);

struct Scratch {
    a: Vec<Line>,
    b: Vec<Line>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch { a: Vec::new(), b: Vec::new() }) };
}

fn grow(v: &mut Vec<Line>, floats: usize) -> *mut f32 {
    let lines = floats.div_ceil(16) + 1;
    if v.len() < lines {
        v.resize(lines, Line([0.0; 16]));
    }
    v.as_mut_ptr() as *mut f32
}

/// Splits K into slabs: one slab up to 1.5·KC, else near-equal slabs of at most KC.
#[inline]
fn k_slab(k: usize) -> usize {
    if k <= KC + KC / 2 {
        k
    } else {
        let n = k.div_ceil(KC);
        k.div_ceil(n)
    }
}

/// Runs one product (single-threaded).
pub fn gemm_st(g: &Gemm) {
    if g.m == 0 || g.n == 0 {
        return;
    }
    if g.k == 0 {
        if !g.accumulate {
            for i in 0..g.m {
                unsafe {
                    let row = g.c.offset(i as isize * g.ldc);
                    if g.bias.is_null() {
                        std::ptr::write_bytes(row, 0, g.n);
                    } else {
                        std::ptr::copy_nonoverlapping(g.bias, row, g.n);
                    }
                }
            }
        }
        return;
    }
    // Tiny products (and matrix-vector ones): packing and tiling cost more than they save.
    if g.m * g.n * g.k <= 2048 || g.n == 1 {
        tiny_gemm(g);
        return;
    }
    match isa() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe {
            if g.n <= 16 {
                blocked::<Avx512N16>(g)
            } else {
                blocked::<Avx512N32>(g)
            }
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { blocked::<Avx2K>(g) },
        _ => scalar_gemm(g),
    }
}

/// Runs one product, on the pool when it is big enough.
pub fn gemm(g: &Gemm) {
    let work = g.m as f64 * g.n as f64 * g.k as f64;
    let p = pool().threads();
    // From about 64×64×64 up the split pays (the workers spin between kernels): 64×64×64 went from
    // 155 to 210-250 GFLOP/s.
    if p <= 1 || work < 2e5 {
        gemm_st(g);
        return;
    }
    // Split rows (multiples of 12, the AVX-512 MR) or columns (multiples of 32, the NR), whichever
    // packs less per thread (in K-long lanes): a row split packs all of B and its own rows of A
    // (none when A is read in place), a column split its own columns of B and all of A. With A in
    // place (x·Wᵀ, the models' forward) that is columns: 400×1004×256 went from 0.89× to 0.99×
    // oneDNN's sgemm, the ViT shapes from 1.0× to 1.03× (measured side by side).
    let direct = g.a_cs == 1;
    let pack_rows = if direct { 0 } else { g.m.div_ceil(p) } + g.n;
    let pack_cols = if direct { 0 } else { g.m } + g.n.div_ceil(p);
    let (tasks, by_rows, step) = if g.n < 32 * p || pack_rows <= pack_cols {
        let t = p.min(g.m.div_ceil(24)).max(1);
        let step = g.m.div_ceil(t).div_ceil(12) * 12;
        (g.m.div_ceil(step), true, step)
    } else {
        let t = p.min(g.n.div_ceil(32)).max(1);
        let step = g.n.div_ceil(t).div_ceil(32) * 32;
        (g.n.div_ceil(step), false, step)
    };
    if tasks <= 1 {
        gemm_st(g);
        return;
    }
    let gg = *g;
    pool().run(tasks, &move |t| {
        let mut s = gg;
        let lo = t * step;
        if by_rows {
            let hi = (lo + step).min(gg.m);
            s.m = hi - lo;
            s.a = unsafe { gg.a.offset(lo as isize * gg.a_rs) };
            s.c = unsafe { gg.c.offset(lo as isize * gg.ldc) };
        } else {
            let hi = (lo + step).min(gg.n);
            s.n = hi - lo;
            s.b = unsafe { gg.b.offset(lo as isize * gg.b_cs) };
            s.c = unsafe { gg.c.add(lo) };
            if !gg.bias.is_null() {
                s.bias = unsafe { gg.bias.add(lo) };
            }
        }
        gemm_st(&s);
    });
}

/// Batched product: C[t] = A[t]·B[t] for t < batch, C contiguous [batch, M, N] (ldc = N).
#[allow(clippy::too_many_arguments)]
pub fn gemm_batched(batch: usize, g: &Gemm, a_bs: isize, b_bs: isize, c_bs: isize) {
    if batch == 0 {
        return;
    }
    if batch == 1 {
        gemm(g);
        return;
    }
    // A shared B whose A batches stack into rows is one taller product.
    if b_bs == 0 && c_bs == g.m as isize * g.ldc && (g.m == 1 || a_bs == g.m as isize * g.a_rs) {
        let mut t = *g;
        t.m = batch * g.m;
        if g.m == 1 {
            t.a_rs = a_bs;
        }
        gemm(&t);
        return;
    }
    let work = g.m as f64 * g.n as f64 * g.k as f64;
    let p = pool().threads();
    if p > 1 && work < 4e6 && work * batch as f64 >= 2e5 {
        // Many small products: one chunk of the batch per task.
        let tasks = batch.min(p * 4);
        let per = batch.div_ceil(tasks);
        let tasks = batch.div_ceil(per);
        let gg = *g;
        let cp = SendPtr(g.c);
        pool().run(tasks, &move |t| {
            let lo = t * per;
            let hi = (lo + per).min(batch);
            for i in lo..hi {
                let mut s = gg;
                unsafe {
                    s.a = gg.a.offset(i as isize * a_bs);
                    s.b = gg.b.offset(i as isize * b_bs);
                    s.c = cp.get().offset(i as isize * c_bs);
                }
                gemm_st(&s);
            }
        });
        return;
    }
    for i in 0..batch {
        let mut s = *g;
        unsafe {
            s.a = g.a.offset(i as isize * a_bs);
            s.b = g.b.offset(i as isize * b_bs);
            s.c = g.c.offset(i as isize * c_bs);
        }
        gemm(&s);
    }
}

// ---------------------------------------------------------------------------------------------
// The blocked driver, generic over the micro-kernel

trait Micro {
    const MR: usize;
    const NR: usize;
    /// C[0..mr, 0..nr] (+)= Σ_p A[i,p]·Bp[p,j]. `a` is either packed (A[i,p] at a + p·a_rs + i)
    /// or direct (A[i,p] at a + i·a_rs + p). mr ≤ MR, nr ≤ NR.
    #[allow(clippy::too_many_arguments)]
    unsafe fn run(kc: usize, a: *const f32, a_rs: isize, packed: bool, b: *const f32, c: *mut f32, ldc: isize, mr: usize, nr: usize, acc: bool, bias: *const f32);
}

/// Packs `n` lanes of a strided operand into panels `width` lanes wide (the last one zero padded),
/// each laid out as kc rows of `width`: element (lane l, step p) of panel t comes from
/// src[(t·width + l)·lane_stride + p·step_stride]. B's panels are NR columns of B, A's MR rows of A.
unsafe fn pack_panels(src: *const f32, lane_stride: isize, step_stride: isize, n: usize, kc: usize, width: usize, dst: *mut f32) {
    let mut q = dst;
    let mut t = 0;
    while t < n {
        let w = width.min(n - t);
        let base = src.offset(t as isize * lane_stride);
        if lane_stride == 1 {
            for p in 0..kc {
                std::ptr::copy_nonoverlapping(base.offset(p as isize * step_stride), q, w);
                for l in w..width {
                    *q.add(l) = 0.0;
                }
                q = q.add(width);
            }
        } else if step_stride == 1 {
            // A transposed row-major operand: each lane is contiguous along p.
            for l in 0..w {
                let s = base.offset(l as isize * lane_stride);
                for p in 0..kc {
                    *q.add(p * width + l) = *s.add(p);
                }
            }
            for l in w..width {
                for p in 0..kc {
                    *q.add(p * width + l) = 0.0;
                }
            }
            q = q.add(kc * width);
        } else {
            for p in 0..kc {
                let s = base.offset(p as isize * step_stride);
                for l in 0..w {
                    *q.add(l) = *s.offset(l as isize * lane_stride);
                }
                for l in w..width {
                    *q.add(l) = 0.0;
                }
                q = q.add(width);
            }
        }
        t += width;
    }
}

/// B[pc.., jc..jc+nc] into NR-wide panels.
unsafe fn pack_b<M: Micro>(g: &Gemm, pc: usize, kc: usize, jc: usize, nc: usize, dst: *mut f32) {
    let src = g.b.offset(pc as isize * g.b_rs + jc as isize * g.b_cs);
    pack_panels(src, g.b_cs, g.b_rs, nc, kc, M::NR, dst);
}

/// A[ic..ic+mc, pc..] into MR-high panels.
unsafe fn pack_a<M: Micro>(g: &Gemm, ic: usize, mc: usize, pc: usize, kc: usize, dst: *mut f32) {
    let src = g.a.offset(ic as isize * g.a_rs + pc as isize * g.a_cs);
    pack_panels(src, g.a_rs, g.a_cs, mc, kc, M::MR, dst);
}

unsafe fn blocked<M: Micro>(g: &Gemm) {
    let (mr_, nr_) = (M::MR, M::NR);
    let kcs = k_slab(g.k);
    let direct = g.a_cs == 1;
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let ncmax = NC.min(g.n.div_ceil(nr_) * nr_);
        let bp = grow(&mut s.b, ncmax * kcs);
        let ap = if direct { std::ptr::null_mut() } else { grow(&mut s.a, MC.div_ceil(mr_) * mr_ * kcs) };
        let mut jc = 0;
        while jc < g.n {
            let nc = NC.min(g.n - jc);
            let mut pc = 0;
            while pc < g.k {
                let kc = kcs.min(g.k - pc);
                let acc = g.accumulate || pc > 0;
                let with_bias = !acc && !g.bias.is_null();
                pack_b::<M>(g, pc, kc, jc, nc, bp);
                let mut ic = 0;
                while ic < g.m {
                    let mc = MC.min(g.m - ic);
                    if !direct {
                        pack_a::<M>(g, ic, mc, pc, kc, ap);
                    }
                    let mut ir = 0;
                    while ir < mc {
                        let mr = mr_.min(mc - ir);
                        let (a, a_rs) = if direct {
                            (g.a.offset((ic + ir) as isize * g.a_rs + pc as isize), g.a_rs)
                        } else {
                            (ap.add(ir * kc) as *const f32, mr_ as isize)
                        };
                        let mut jr = 0;
                        while jr < nc {
                            let nr = nr_.min(nc - jr);
                            let c = g.c.offset((ic + ir) as isize * g.ldc + (jc + jr) as isize);
                            let bias = if with_bias { g.bias.add(jc + jr) } else { std::ptr::null() };
                            M::run(kc, a, a_rs, !direct, bp.add(jr * kc), c, g.ldc, mr, nr, acc, bias);
                            jr += nr_;
                        }
                        ir += mr_;
                    }
                    ic += mc;
                }
                pc += kc;
            }
            jc += nc;
        }
    });
}

// ---------------------------------------------------------------------------------------------
// The micro-kernel: one body, generic over the SIMD width (simd.rs), instantiated per ISA below

/// C[0..MR, 0..nr] (+)= A·Bp (+ bias) with an MR×(NV·W) tile of C in registers. Ragged N edges
/// load and store the first lanes only (masked on AVX-512); ragged M edges are instantiations
/// for fewer rows.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn micro<S: Simd, const MR: usize, const NV: usize, const PACKED: bool>(
    kc: usize,
    a: *const f32,
    a_rs: isize,
    b: *const f32,
    c: *mut f32,
    ldc: isize,
    nr: usize,
    acc: bool,
    bias: *const f32,
) {
    let w = S::W;
    let mut t = [[S::splat(0.0); NV]; MR];
    let mut ap = a;
    let mut bp = b;
    for _ in 0..kc {
        let mut bv = [S::splat(0.0); NV];
        for v in 0..NV {
            bv[v] = S::load(bp.add(w * v));
        }
        for i in 0..MR {
            let x = if PACKED { *ap.add(i) } else { *ap.offset(i as isize * a_rs) };
            let av = S::splat(x);
            for v in 0..NV {
                t[i][v] = S::fma(av, bv[v], t[i][v]);
            }
        }
        ap = if PACKED { ap.offset(a_rs) } else { ap.add(1) };
        bp = bp.add(w * NV);
    }
    let full = nr == NV * w;
    if !bias.is_null() {
        for v in 0..NV {
            let bv = if full { S::load(bias.add(w * v)) } else { S::load_n(bias.add(w * v), lanes(nr, w, v)) };
            for i in 0..MR {
                t[i][v] = S::add(t[i][v], bv);
            }
        }
    }
    if full {
        for i in 0..MR {
            let row = c.offset(i as isize * ldc);
            for v in 0..NV {
                let p = row.add(w * v);
                S::store(p, if acc { S::add(S::load(p), t[i][v]) } else { t[i][v] });
            }
        }
        return;
    }
    for i in 0..MR {
        let row = c.offset(i as isize * ldc);
        for v in 0..NV {
            let (p, n) = (row.add(w * v), lanes(nr, w, v));
            if n > 0 {
                S::store_n(p, if acc { S::add(S::load_n(p, n), t[i][v]) } else { t[i][v] }, n);
            }
        }
    }
}

/// Lanes of a ragged tile's vector v (w wide) that hold columns of C: w, fewer, or 0 past the edge.
#[inline(always)]
fn lanes(nr: usize, w: usize, v: usize) -> usize {
    nr.saturating_sub(w * v).min(w)
}

/// A `Micro` for SIMD type `$s` with NV vectors per row and MR = the first of `$rows` (each row
/// count a ragged M edge may need), behind a `#[target_feature]` entry point so that the
/// intrinsics inline.
#[cfg(target_arch = "x86_64")]
macro_rules! micro_kernel {
    ($name:ident, $s:ty, $nv:literal, $features:literal, [$($rows:literal),+]) => {
        struct $name;
        impl Micro for $name {
            const MR: usize = [$($rows),+][0];
            const NR: usize = $nv * <$s as Simd>::W;
            #[inline(always)]
            unsafe fn run(kc: usize, a: *const f32, a_rs: isize, packed: bool, b: *const f32, c: *mut f32, ldc: isize, mr: usize, nr: usize, acc: bool, bias: *const f32) {
                #[target_feature(enable = $features)]
                #[allow(clippy::too_many_arguments)]
                unsafe fn entry(kc: usize, a: *const f32, a_rs: isize, packed: bool, b: *const f32, c: *mut f32, ldc: isize, mr: usize, nr: usize, acc: bool, bias: *const f32) {
                    match (mr, packed) {
                        $(
                            ($rows, true) => micro::<$s, $rows, $nv, true>(kc, a, a_rs, b, c, ldc, nr, acc, bias),
                            ($rows, false) => micro::<$s, $rows, $nv, false>(kc, a, a_rs, b, c, ldc, nr, acc, bias),
                        )+
                        _ => unreachable!("micro-kernel row count {}", mr),
                    }
                }
                entry(kc, a, a_rs, packed, b, c, ldc, mr, nr, acc, bias)
            }
        }
    };
}

// AVX-512: 12×32 (two zmm per row, 24 accumulators), or 12×16 for narrow C.
#[cfg(target_arch = "x86_64")]
micro_kernel!(Avx512N32, S512, 2, "avx512f,avx512bw,avx512vl,avx512dq,fma,avx2", [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
#[cfg(target_arch = "x86_64")]
micro_kernel!(Avx512N16, S512, 1, "avx512f,avx512bw,avx512vl,avx512dq,fma,avx2", [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
// AVX2: 6×16 (two ymm per row, 12 accumulators).
#[cfg(target_arch = "x86_64")]
micro_kernel!(Avx2K, S256, 2, "avx2,fma", [6, 5, 4, 3, 2, 1]);

// ---------------------------------------------------------------------------------------------
// Tiny products: one dot product per element of C, accumulated in double and rounded once (as the
// TypeScript kernel does; the notebook checks' tiny layers sit right at PyTorch's error floors)

fn tiny_gemm(g: &Gemm) {
    unsafe {
        for i in 0..g.m {
            let arow = g.a.offset(i as isize * g.a_rs);
            let crow = g.c.offset(i as isize * g.ldc);
            for j in 0..g.n {
                let bcol = g.b.offset(j as isize * g.b_cs);
                let mut s = 0f64;
                for p in 0..g.k {
                    s += *arow.offset(p as isize * g.a_cs) as f64 * *bcol.offset(p as isize * g.b_rs) as f64;
                }
                let c = crow.add(j);
                *c = if g.accumulate {
                    *c + s as f32
                } else if g.bias.is_null() {
                    s as f32
                } else {
                    s as f32 + *g.bias.add(j)
                };
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scalar fallback

fn scalar_gemm(g: &Gemm) {
    unsafe {
        for i in 0..g.m {
            let crow = g.c.offset(i as isize * g.ldc);
            if !g.accumulate {
                for j in 0..g.n {
                    *crow.add(j) = if g.bias.is_null() { 0.0 } else { *g.bias.add(j) };
                }
            }
            for p in 0..g.k {
                let x = *g.a.offset(i as isize * g.a_rs + p as isize * g.a_cs);
                let brow = g.b.offset(p as isize * g.b_rs);
                for j in 0..g.n {
                    *crow.add(j) += x * *brow.offset(j as isize * g.b_cs);
                }
            }
        }
    }
}
