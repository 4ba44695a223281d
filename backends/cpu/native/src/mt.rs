//! MT19937 draws bit-identical to core/random's TorchGenerator, working in place on the
//! generator's 624-word state (a Uint32Array) and returning the new position, so that the TS
//! generator stays the owner of the stream:
//! - bernoulli (dropout masks): the default bernoulli_ kernel, one uniform double per element
//!   from two 32-bit words, u = ((hi & 0x1fffff)·2³² + lo)·2⁻⁵³, kept iff u < p;
//! - uniform_ on float32: (word & 0xffffff)·2⁻²⁴ per element, then ·range + from;
//! - normal_ on float32 (16 or more elements): PyTorch's normal_fill_AVX2, the Cephes log and
//!   sincos of avx_mathfun.h with the FMAs gcc contracts (core/random/avx_mathfun.ts, lane by lane).
//!
//! Speed: the twist and the tempering + comparison loops are written branch-free so that they
//! vectorise (instantiated per ISA by simd_dispatch), and u < p is compared in integers: the
//! 53-bit x = (hi & 0x1fffff)·2³² + lo gives u = x·2⁻⁵³ exactly, so u < p ⟺ x < ⌈p·2⁵³⌉.

use crate::simd_dispatch;

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UMASK: u32 = 0x8000_0000;
const LMASK: u32 = 0x7fff_ffff;

#[inline(always)]
fn mix(a: u32, b: u32, far: u32) -> u32 {
    let y = (a & UMASK) | (b & LMASK);
    far ^ (y >> 1) ^ (0u32.wrapping_sub(y & 1) & MATRIX_A)
}

simd_dispatch! {
    /// The next 624 words of the state, in place.
    fn twist(mt: *mut u32) -> () {
        // Reads run ahead of writes (kk + 1, kk + M) or M − N = 227 words behind them: both loops
        // vectorise.
        for kk in 0..N - M {
            *mt.add(kk) = mix(*mt.add(kk), *mt.add(kk + 1), *mt.add(kk + M));
        }
        for kk in N - M..N - 1 {
            *mt.add(kk) = mix(*mt.add(kk), *mt.add(kk + 1), *mt.add(kk + M - N));
        }
        *mt.add(N - 1) = mix(*mt.add(N - 1), *mt, *mt.add(M - 1));
    }
}

#[inline(always)]
fn temper(mut y: u32) -> u32 {
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c_5680;
    y ^= (y << 15) & 0xefc6_0000;
    y ^= y >> 18;
    y
}

#[inline(always)]
fn draw(hi: u32, lo: u32, thr: u64, on: f32) -> f32 {
    let x = (((hi & 0x1f_ffff) as u64) << 32) | lo as u64;
    if x < thr {
        on
    } else {
        0.0
    }
}

simd_dispatch! {
    /// out[k] for k < pairs from the untempered words w[2k] (hi) and w[2k + 1] (lo).
    fn draw_pairs(w: *const u32, pairs: usize, thr: u64, on: f32, out: *mut f32) -> () {
        for k in 0..pairs {
            *out.add(k) = draw(temper(*w.add(2 * k)), temper(*w.add(2 * k + 1)), thr, on);
        }
    }
}

/// out[i] = (u_i < p) ? on : 0 for n draws; returns the new position.
pub fn bernoulli(mt: &mut [u32], pos: usize, p: f64, on: f32, out: &mut [f32]) -> usize {
    assert!(mt.len() == N);
    let thr = (p * 9_007_199_254_740_992.0).ceil() as u64;
    let s = mt.as_mut_ptr();
    let mut pos = pos;
    let mut i = 0;
    let n = out.len();
    while i < n {
        if pos >= N {
            twist(s);
            pos = 0;
        }
        if pos == N - 1 {
            // A pair straddles two blocks.
            let hi = temper(mt[N - 1]);
            twist(s);
            out[i] = draw(hi, temper(mt[0]), thr, on);
            pos = 1;
            i += 1;
            continue;
        }
        let pairs = ((N - pos) / 2).min(n - i);
        unsafe { draw_pairs(s.add(pos), pairs, thr, on, out.as_mut_ptr().add(i)) };
        pos += 2 * pairs;
        i += pairs;
    }
    pos
}

/// Tempered words of the stream into out, from position pos; returns the new position.
fn words(mt: &mut [u32], pos: usize, out: &mut [u32]) -> usize {
    let s = mt.as_mut_ptr();
    let mut pos = pos;
    let mut i = 0;
    while i < out.len() {
        if pos >= N {
            twist(s);
            pos = 0;
        }
        let n = (N - pos).min(out.len() - i);
        for k in 0..n {
            out[i + k] = temper(mt[pos + k]);
        }
        pos += n;
        i += n;
    }
    pos
}

const TWO_POW_M24: f32 = 1.0 / 16_777_216.0;

/// uniform_ on float32: out[i] = u·range + from with u = (word & 0xffffff)·2⁻²⁴, `mode` 0: u itself
/// (from 0, range 1), 1: one fused rounding (the AVX2 build), 2: the product rounded, then the sum.
pub fn uniform(mt: &mut [u32], pos: usize, from: f32, range: f32, mode: u32, out: &mut [f32]) -> usize {
    let w = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut u32, out.len()) };
    let pos = words(mt, pos, w);
    for x in out.iter_mut() {
        let u = (x.to_bits() & 0xff_ffff) as f32 * TWO_POW_M24;
        *x = match mode {
            0 => u,
            1 => u.mul_add(range, from),
            _ => u * range + from,
        };
    }
    pos
}

/// normal_ on float32 with 16 or more elements (normal_fill_AVX2): every uniform first, 16-element
/// blocks, the last 16 redrawn when the length is not a multiple of 16.
pub fn normal(mt: &mut [u32], pos: usize, mean: f32, std: f32, out: &mut [f32]) -> usize {
    let n = out.len();
    assert!(n >= 16);
    let w = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut u32, n) };
    let mut pos = words(mt, pos, w);
    for x in out.iter_mut() {
        *x = (x.to_bits() & 0xff_ffff) as f32 * TWO_POW_M24;
    }
    fill_blocks(out.as_mut_ptr(), n / 16, mean, std);
    if n % 16 != 0 {
        let tail = &mut out[n - 16..];
        let mut tw = [0u32; 16];
        pos = words(mt, pos, &mut tw);
        for (x, t) in tail.iter_mut().zip(tw) {
            *x = (t & 0xff_ffff) as f32 * TWO_POW_M24;
        }
        fill_blocks(tail.as_mut_ptr(), 1, mean, std);
    }
    pos
}

simd_dispatch! {
    /// fill16 over `blocks` blocks of 16 (instantiated per ISA so that mul_add is one instruction).
    fn fill_blocks(d: *mut f32, blocks: usize, mean: f32, std: f32) -> () {
        for b in 0..blocks {
            fill16(std::slice::from_raw_parts_mut(d.add(16 * b), 16), mean, std);
        }
    }
}

/// normal_fill_16_AVX2: lanes j and j + 8 are one Box–Muller pair.
#[inline(always)]
fn fill16(d: &mut [f32], mean: f32, std: f32) {
    const TWO_PI_F: f32 = (2.0 * std::f64::consts::PI) as f32;
    for j in 0..8 {
        let u1 = 1.0 - d[j];
        let u2 = d[j + 8];
        let radius = (-2.0 * log_ps(u1)).sqrt();
        let theta = TWO_PI_F * u2;
        let (s, c) = sincos_ps(theta);
        d[j] = (radius * c).mul_add(std, mean);
        d[j + 8] = (radius * s).mul_add(std, mean);
    }
}

/// A float32 constant as JavaScript's Math.fround of the double literal (decimal → double → float).
macro_rules! f {
    ($x:expr) => {
        ($x as f64) as f32
    };
}

/// Cephes logf, one lane of log256_ps (NaN for x ≤ 0).
#[inline(always)]
fn log_ps(x: f32) -> f32 {
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    if !(x > 0.0) {
        return f32::NAN;
    }
    let x = x.max(f!(1.17549435e-38));
    let bits = x.to_bits();
    let mut e = ((bits >> 23) as i32 - 127 + 1) as f32;
    let mut m = f32::from_bits((bits & 0x807f_ffff) | 0x3f00_0000);
    let mask = m < f!(0.707106781186547524);
    let t = if mask { m } else { 0.0 };
    m -= 1.0;
    if mask {
        e -= 1.0;
    }
    m += t;
    let z = m * m;
    let mut y = f!(7.0376836292e-2);
    for p in [f!(-1.1514610310e-1), f!(1.1676998740e-1), f!(-1.2420140846e-1), f!(1.4249322787e-1), f!(-1.6668057665e-1), f!(2.0000714765e-1), f!(-2.4999993993e-1), f!(3.3333331174e-1)] {
        y = y.mul_add(m, p);
    }
    y *= m;
    y = y.mul_add(z, e * f!(-2.12194440e-4));
    y = (-z).mul_add(0.5, y);
    m += y;
    e.mul_add(f!(0.693359375), m)
}

/// Cephes sincosf, one lane of sincos256_ps: (sin x, cos x).
#[inline(always)]
fn sincos_ps(x: f32) -> (f32, f32) {
    let mut sign_sin = x.is_sign_negative();
    let x = x.abs();
    let mut j = (x * f!(1.27323954473516)) as i32;
    j = (j + 1) & !1;
    let yq = j as f32;
    if j & 4 != 0 {
        sign_sin = !sign_sin;
    }
    let poly = j & 2 == 0;
    let sign_cos = (!(j.wrapping_sub(2))) & 4 != 0;
    let mut x = yq.mul_add(f!(-0.78515625), x);
    x = yq.mul_add(f!(-2.4187564849853515625e-4), x);
    x = yq.mul_add(f!(-3.77489497744594108e-8), x);
    let z = x * x;
    let mut yc = f!(2.443315711809948e-5).mul_add(z, f!(-1.388731625493765e-3));
    yc = yc.mul_add(z, f!(4.166664568298827e-2));
    yc *= z;
    yc = yc.mul_add(z, -(z * 0.5));
    yc += 1.0;
    let mut ys = f!(-1.9515295891e-4).mul_add(z, f!(8.3321608736e-3));
    ys = ys.mul_add(z, f!(-1.6666654611e-1));
    ys *= z;
    ys = ys.mul_add(x, x);
    // The SIMD code blends, then adds +0 pieces: −0 becomes +0 before the sign is applied.
    let mut s = (if poly { ys } else { yc }) + 0.0;
    let mut c = (if poly { yc } else { ys }) + 0.0;
    if sign_sin {
        s = -s;
    }
    if sign_cos {
        c = -c;
    }
    (s, c)
}
