//! A small SIMD abstraction so each kernel is written once and compiled three times: AVX-512
//! (16 lanes), AVX2 + FMA (8 lanes) and scalar (1 lane). Kernels are generic `#[inline(always)]`
//! functions over `S: Simd`; `dispatch!` instantiates them inside `#[target_feature]` wrappers so
//! the intrinsics inline.
//!
//! Vector math (float32): exp (Cephes-style range reduction, degree-6 polynomial, ≤ 2 ulp, with
//! gradual underflow), erf (x·P(x²) below 0.921875, 1 − exp(Q(|x|)) above; ≤ 3 ulp measured
//! against a double-precision erf).

#![allow(clippy::missing_safety_doc)]

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

pub trait Simd: Copy {
    const W: usize;
    type V: Copy;
    /// Two-lane-group double accumulator for float32 sums.
    type D: Copy;
    unsafe fn splat(x: f32) -> Self::V;
    unsafe fn load(p: *const f32) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
    /// Loads n < W lanes (the rest zero).
    unsafe fn load_n(p: *const f32, n: usize) -> Self::V;
    unsafe fn store_n(p: *mut f32, v: Self::V, n: usize);
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn div(a: Self::V, b: Self::V) -> Self::V;
    /// a·b + c with one rounding.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// IEEE max/min that return `b` when either is NaN (the x86 rule).
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn sqrt(a: Self::V) -> Self::V;
    unsafe fn abs(a: Self::V) -> Self::V;
    unsafe fn neg(a: Self::V) -> Self::V;
    /// Round to nearest integer (ties to even).
    unsafe fn round(a: Self::V) -> Self::V;
    /// 2^n for integer-valued n in [-126, 127].
    unsafe fn pow2i(n: Self::V) -> Self::V;
    /// a < b ? x : y (false when a or b is NaN).
    unsafe fn sel_lt(a: Self::V, b: Self::V, x: Self::V, y: Self::V) -> Self::V;
    /// a > b ? x : y (false when a or b is NaN).
    unsafe fn sel_gt(a: Self::V, b: Self::V, x: Self::V, y: Self::V) -> Self::V;
    /// a is NaN ? x : y.
    unsafe fn sel_nan(a: Self::V, x: Self::V, y: Self::V) -> Self::V;
    /// The sign of `s` applied to |m|.
    unsafe fn copysign(m: Self::V, s: Self::V) -> Self::V;
    #[allow(dead_code)]
    unsafe fn hsum(a: Self::V) -> f32;
    unsafe fn hmax(a: Self::V) -> f32;
    unsafe fn dzero() -> Self::D;
    unsafe fn dadd(d: Self::D, v: Self::V) -> Self::D;
    /// d += a·b in double (each product of two floats is exact in double).
    unsafe fn dfma(d: Self::D, a: Self::V, b: Self::V) -> Self::D;
    unsafe fn dsum(d: Self::D) -> f64;
}

// ---------------------------------------------------------------------------------------------
// Scalar

#[derive(Clone, Copy)]
pub struct S1;

impl Simd for S1 {
    const W: usize = 1;
    type V = f32;
    type D = f64;
    #[inline(always)]
    unsafe fn splat(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> f32 {
        *p
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: f32) {
        *p = v
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> f32 {
        if n > 0 { *p } else { 0.0 }
    }
    #[inline(always)]
    unsafe fn store_n(p: *mut f32, v: f32, n: usize) {
        if n > 0 {
            *p = v
        }
    }
    #[inline(always)]
    unsafe fn add(a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    unsafe fn sub(a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    unsafe fn mul(a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    unsafe fn div(a: f32, b: f32) -> f32 {
        a / b
    }
    #[inline(always)]
    unsafe fn fma(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    unsafe fn max(a: f32, b: f32) -> f32 {
        if a > b { a } else { b }
    }
    #[inline(always)]
    unsafe fn min(a: f32, b: f32) -> f32 {
        if a < b { a } else { b }
    }
    #[inline(always)]
    unsafe fn sqrt(a: f32) -> f32 {
        a.sqrt()
    }
    #[inline(always)]
    unsafe fn abs(a: f32) -> f32 {
        a.abs()
    }
    #[inline(always)]
    unsafe fn neg(a: f32) -> f32 {
        -a
    }
    #[inline(always)]
    unsafe fn round(a: f32) -> f32 {
        a.round_ties_even()
    }
    #[inline(always)]
    unsafe fn pow2i(n: f32) -> f32 {
        f32::from_bits((((n as i32) + 127) as u32) << 23)
    }
    #[inline(always)]
    unsafe fn sel_lt(a: f32, b: f32, x: f32, y: f32) -> f32 {
        if a < b { x } else { y }
    }
    #[inline(always)]
    unsafe fn sel_gt(a: f32, b: f32, x: f32, y: f32) -> f32 {
        if a > b { x } else { y }
    }
    #[inline(always)]
    unsafe fn sel_nan(a: f32, x: f32, y: f32) -> f32 {
        if a.is_nan() { x } else { y }
    }
    #[inline(always)]
    unsafe fn copysign(m: f32, s: f32) -> f32 {
        m.copysign(s)
    }
    #[inline(always)]
    unsafe fn hsum(a: f32) -> f32 {
        a
    }
    #[inline(always)]
    unsafe fn hmax(a: f32) -> f32 {
        a
    }
    #[inline(always)]
    unsafe fn dzero() -> f64 {
        0.0
    }
    #[inline(always)]
    unsafe fn dadd(d: f64, v: f32) -> f64 {
        d + v as f64
    }
    #[inline(always)]
    unsafe fn dfma(d: f64, a: f32, b: f32) -> f64 {
        d + a as f64 * b as f64
    }
    #[inline(always)]
    unsafe fn dsum(d: f64) -> f64 {
        d
    }
}

// ---------------------------------------------------------------------------------------------
// AVX-512

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub struct S512;

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn mask16(n: usize) -> u16 {
    if n >= 16 { 0xFFFF } else { ((1u32 << n) - 1) as u16 }
}

#[cfg(target_arch = "x86_64")]
impl Simd for S512 {
    const W: usize = 16;
    type V = __m512;
    type D = (__m512d, __m512d);
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn splat(x: f32) -> __m512 {
        _mm512_set1_ps(x)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn load(p: *const f32) -> __m512 {
        _mm512_loadu_ps(p)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn store(p: *mut f32, v: __m512) {
        _mm512_storeu_ps(p, v)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn load_n(p: *const f32, n: usize) -> __m512 {
        _mm512_maskz_loadu_ps(mask16(n), p)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn store_n(p: *mut f32, v: __m512, n: usize) {
        _mm512_mask_storeu_ps(p, mask16(n), v)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn add(a: __m512, b: __m512) -> __m512 {
        _mm512_add_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn sub(a: __m512, b: __m512) -> __m512 {
        _mm512_sub_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn mul(a: __m512, b: __m512) -> __m512 {
        _mm512_mul_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn div(a: __m512, b: __m512) -> __m512 {
        _mm512_div_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
        _mm512_fmadd_ps(a, b, c)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn max(a: __m512, b: __m512) -> __m512 {
        _mm512_max_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn min(a: __m512, b: __m512) -> __m512 {
        _mm512_min_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn sqrt(a: __m512) -> __m512 {
        _mm512_sqrt_ps(a)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn abs(a: __m512) -> __m512 {
        _mm512_abs_ps(a)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn neg(a: __m512) -> __m512 {
        _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(i32::MIN)))
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn round(a: __m512) -> __m512 {
        _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn pow2i(n: __m512) -> __m512 {
        let i = _mm512_cvtps_epi32(n);
        _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(i, _mm512_set1_epi32(127))))
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn sel_lt(a: __m512, b: __m512, x: __m512, y: __m512) -> __m512 {
        let m = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b);
        _mm512_mask_blend_ps(m, y, x)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn sel_gt(a: __m512, b: __m512, x: __m512, y: __m512) -> __m512 {
        let m = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(a, b);
        _mm512_mask_blend_ps(m, y, x)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn sel_nan(a: __m512, x: __m512, y: __m512) -> __m512 {
        let m = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(a, a);
        _mm512_mask_blend_ps(m, y, x)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn copysign(m: __m512, s: __m512) -> __m512 {
        let sign = _mm512_set1_epi32(i32::MIN);
        let mi = _mm512_andnot_si512(sign, _mm512_castps_si512(m));
        let si = _mm512_and_si512(sign, _mm512_castps_si512(s));
        _mm512_castsi512_ps(_mm512_or_si512(mi, si))
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn hsum(a: __m512) -> f32 {
        _mm512_reduce_add_ps(a)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn hmax(a: __m512) -> f32 {
        _mm512_reduce_max_ps(a)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn dzero() -> (__m512d, __m512d) {
        (_mm512_setzero_pd(), _mm512_setzero_pd())
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn dadd(d: (__m512d, __m512d), v: __m512) -> (__m512d, __m512d) {
        let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        let hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v))));
        (_mm512_add_pd(d.0, lo), _mm512_add_pd(d.1, hi))
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn dfma(d: (__m512d, __m512d), a: __m512, b: __m512) -> (__m512d, __m512d) {
        let alo = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
        let ahi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a))));
        let blo = _mm512_cvtps_pd(_mm512_castps512_ps256(b));
        let bhi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(b))));
        (_mm512_fmadd_pd(alo, blo, d.0), _mm512_fmadd_pd(ahi, bhi, d.1))
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma")]
    unsafe fn dsum(d: (__m512d, __m512d)) -> f64 {
        _mm512_reduce_add_pd(_mm512_add_pd(d.0, d.1))
    }
}

// ---------------------------------------------------------------------------------------------
// AVX2 + FMA

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub struct S256;

#[cfg(target_arch = "x86_64")]
impl Simd for S256 {
    const W: usize = 8;
    type V = __m256;
    type D = (__m256d, __m256d);
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn splat(x: f32) -> __m256 {
        _mm256_set1_ps(x)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load(p: *const f32) -> __m256 {
        _mm256_loadu_ps(p)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn store(p: *mut f32, v: __m256) {
        _mm256_storeu_ps(p, v)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load_n(p: *const f32, n: usize) -> __m256 {
        let mut t = [0f32; 8];
        std::ptr::copy_nonoverlapping(p, t.as_mut_ptr(), n.min(8));
        _mm256_loadu_ps(t.as_ptr())
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn store_n(p: *mut f32, v: __m256, n: usize) {
        let mut t = [0f32; 8];
        _mm256_storeu_ps(t.as_mut_ptr(), v);
        std::ptr::copy_nonoverlapping(t.as_ptr(), p, n.min(8));
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn add(a: __m256, b: __m256) -> __m256 {
        _mm256_add_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sub(a: __m256, b: __m256) -> __m256 {
        _mm256_sub_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn mul(a: __m256, b: __m256) -> __m256 {
        _mm256_mul_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn div(a: __m256, b: __m256) -> __m256 {
        _mm256_div_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
        _mm256_fmadd_ps(a, b, c)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn max(a: __m256, b: __m256) -> __m256 {
        _mm256_max_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn min(a: __m256, b: __m256) -> __m256 {
        _mm256_min_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sqrt(a: __m256) -> __m256 {
        _mm256_sqrt_ps(a)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn abs(a: __m256) -> __m256 {
        _mm256_andnot_ps(_mm256_set1_ps(-0.0), a)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn neg(a: __m256) -> __m256 {
        _mm256_xor_ps(_mm256_set1_ps(-0.0), a)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn round(a: __m256) -> __m256 {
        _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn pow2i(n: __m256) -> __m256 {
        let i = _mm256_cvtps_epi32(n);
        _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(i, _mm256_set1_epi32(127))))
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sel_lt(a: __m256, b: __m256, x: __m256, y: __m256) -> __m256 {
        _mm256_blendv_ps(y, x, _mm256_cmp_ps::<_CMP_LT_OQ>(a, b))
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sel_gt(a: __m256, b: __m256, x: __m256, y: __m256) -> __m256 {
        _mm256_blendv_ps(y, x, _mm256_cmp_ps::<_CMP_GT_OQ>(a, b))
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sel_nan(a: __m256, x: __m256, y: __m256) -> __m256 {
        _mm256_blendv_ps(y, x, _mm256_cmp_ps::<_CMP_UNORD_Q>(a, a))
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn copysign(m: __m256, s: __m256) -> __m256 {
        let sign = _mm256_set1_ps(-0.0);
        _mm256_or_ps(_mm256_andnot_ps(sign, m), _mm256_and_ps(sign, s))
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(a: __m256) -> f32 {
        let mut t = [0f32; 8];
        _mm256_storeu_ps(t.as_mut_ptr(), a);
        ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]))
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hmax(a: __m256) -> f32 {
        let mut t = [0f32; 8];
        _mm256_storeu_ps(t.as_mut_ptr(), a);
        t.iter().fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dzero() -> (__m256d, __m256d) {
        (_mm256_setzero_pd(), _mm256_setzero_pd())
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dadd(d: (__m256d, __m256d), v: __m256) -> (__m256d, __m256d) {
        let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
        let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v));
        (_mm256_add_pd(d.0, lo), _mm256_add_pd(d.1, hi))
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dfma(d: (__m256d, __m256d), a: __m256, b: __m256) -> (__m256d, __m256d) {
        let alo = _mm256_cvtps_pd(_mm256_castps256_ps128(a));
        let ahi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(a));
        let blo = _mm256_cvtps_pd(_mm256_castps256_ps128(b));
        let bhi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(b));
        (_mm256_fmadd_pd(alo, blo, d.0), _mm256_fmadd_pd(ahi, bhi, d.1))
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dsum(d: (__m256d, __m256d)) -> f64 {
        let mut t = [0f64; 4];
        _mm256_storeu_pd(t.as_mut_ptr(), _mm256_add_pd(d.0, d.1));
        (t[0] + t[2]) + (t[1] + t[3])
    }
}

// ---------------------------------------------------------------------------------------------
// Vector math

/// e^x.
#[inline(always)]
pub unsafe fn exp<S: Simd>(x: S::V) -> S::V {
    let lo = S::splat(-104.0);
    let hi = S::splat(88.8);
    let xc = S::min(S::max(x, lo), hi);
    let n = S::round(S::mul(xc, S::splat(std::f32::consts::LOG2_E)));
    // r = x − n·ln2 (ln2 split in two so that n·C1 is exact)
    let r = S::fma(n, S::splat(-0.693_359_375), xc);
    let r = S::fma(n, S::splat(2.121_944_4e-4), r);
    let mut p = S::splat(1.987_569_1e-4);
    p = S::fma(p, r, S::splat(1.398_199_9e-3));
    p = S::fma(p, r, S::splat(8.333_452e-3));
    p = S::fma(p, r, S::splat(4.166_579_6e-2));
    p = S::fma(p, r, S::splat(1.666_666_5e-1));
    p = S::fma(p, r, S::splat(5.000_000_1e-1));
    let r2 = S::mul(r, r);
    let y = S::add(S::fma(p, r2, r), S::splat(1.0));
    // 2^n as 2^(n/2)·2^(n − n/2): both factors stay normal for n in [-150, 128], so results
    // underflow gradually and overflow to +inf.
    let n1 = S::round(S::mul(n, S::splat(0.5)));
    let n2 = S::sub(n, n1);
    let res = S::mul(S::mul(y, S::pow2i(n1)), S::pow2i(n2));
    // Below ln(2^-150) the result rounds to zero.
    let res = S::sel_lt(x, S::splat(-103.972_08), S::splat(0.0), res);
    S::sel_nan(x, x, res)
}

const ERF_P: [f32; 7] = [
    1.128_379_2,
    -0.376_126_34,
    0.112_837_02,
    -0.026_859_704,
    0.005_201_720_5,
    -0.000_814_984_86,
    8.397_951_5e-5,
];
const ERF_Q: [f32; 10] = [
    0.000_334_809_13,
    -1.130_314_9,
    -0.631_638_8,
    -0.110_316_12,
    0.026_602_485,
    -0.004_848_191_3,
    0.000_624_465_17,
    -5.140_251_4e-5,
    2.219_292_9e-6,
    -2.732_464e-8,
];
const ERF_SPLIT: f32 = 0.921_875;

/// erf(x).
#[inline(always)]
pub unsafe fn erf<S: Simd>(x: S::V) -> S::V {
    let a = S::abs(x);
    // small: x·P(x²)
    let s = S::mul(x, x);
    let mut p = S::splat(ERF_P[6]);
    for i in (0..6).rev() {
        p = S::fma(p, s, S::splat(ERF_P[i]));
    }
    let small = S::mul(x, p);
    // large: 1 − exp(Q(|x|)), |x| clamped to 4 (erf rounds to 1 beyond 3.92)
    let t = S::min(a, S::splat(4.0));
    let mut q = S::splat(ERF_Q[9]);
    for i in (0..9).rev() {
        q = S::fma(q, t, S::splat(ERF_Q[i]));
    }
    let large = S::copysign(S::sub(S::splat(1.0), exp::<S>(q)), x);
    let r = S::sel_lt(a, S::splat(ERF_SPLIT), small, large);
    S::sel_nan(x, x, r)
}

const SQRT1_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
const INV_SQRT_2PI: f32 = 0.398_942_28;
const INV_SQRT_PI: f32 = 0.564_189_6;

/// Φ(x) = 0.5·erfc(−x/√2), the standard normal CDF, accurate in relative terms in the lower tail
/// too (no 1 + erf cancellation): x·P(x²) near 0, exp(Q(t)) for t = |x|/√2 in [0.921875, 4], the
/// asymptotic series of erfc beyond.
#[inline(always)]
pub unsafe fn ncdf<S: Simd>(x: S::V) -> S::V {
    let z = S::mul(x, S::splat(-SQRT1_2));
    let a = S::abs(z);
    // |z| < 0.921875: 0.5·(1 − erf(z)) = 0.5 − 0.5·z·P(z²)
    let s = S::mul(z, z);
    let mut p = S::splat(ERF_P[6]);
    for i in (0..6).rev() {
        p = S::fma(p, s, S::splat(ERF_P[i]));
    }
    let small = S::fma(S::mul(S::splat(-0.5), z), p, S::splat(0.5));
    // 0.5·erfc(|z|)
    let t = S::min(a, S::splat(4.0));
    let mut q = S::splat(ERF_Q[9]);
    for i in (0..9).rev() {
        q = S::fma(q, t, S::splat(ERF_Q[i]));
    }
    let mid = S::mul(S::splat(0.5), exp::<S>(q));
    let inv = S::div(S::splat(1.0), a);
    let inv2 = S::mul(inv, inv);
    let mut ser = S::fma(inv2, S::splat(-1.875), S::splat(0.75));
    ser = S::fma(ser, inv2, S::splat(-0.5));
    ser = S::fma(ser, inv2, S::splat(1.0));
    let tail = S::mul(S::mul(S::splat(0.5 * INV_SQRT_PI), S::mul(exp::<S>(S::neg(s)), inv)), ser);
    let half_erfc = S::sel_gt(a, S::splat(4.0), tail, mid);
    // z > 0 (x < 0): Φ = 0.5·erfc(z); z < 0: Φ = 1 − 0.5·erfc(|z|)
    let large = S::sel_gt(z, S::splat(0.0), half_erfc, S::sub(S::splat(1.0), half_erfc));
    let r = S::sel_lt(a, S::splat(ERF_SPLIT), small, large);
    S::sel_nan(x, x, r)
}

/// GELU (erf form): x·Φ(x).
#[inline(always)]
pub unsafe fn gelu<S: Simd>(x: S::V) -> S::V {
    S::mul(x, ncdf::<S>(x))
}

/// d/dx GELU = Φ(x) + x·φ(x).
#[inline(always)]
pub unsafe fn gelu_grad<S: Simd>(x: S::V) -> S::V {
    let pdf = S::mul(S::splat(INV_SQRT_2PI), exp::<S>(S::mul(S::splat(-0.5), S::mul(x, x))));
    S::fma(x, pdf, ncdf::<S>(x))
}

/// Instantiates `$body` (an expression using the type alias `S`) for the run-time ISA.
#[macro_export]
macro_rules! simd_dispatch {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident : $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        pub fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,fma,avx2")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn v512($($arg: $ty),*) -> $ret {
                #[allow(dead_code)]
                type S = $crate::simd::S512;
                $body
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn v256($($arg: $ty),*) -> $ret {
                #[allow(dead_code)]
                type S = $crate::simd::S256;
                $body
            }
            #[allow(clippy::too_many_arguments)]
            unsafe fn v1($($arg: $ty),*) -> $ret {
                #[allow(dead_code)]
                type S = $crate::simd::S1;
                $body
            }
            unsafe {
                match $crate::isa::isa() {
                    #[cfg(target_arch = "x86_64")]
                    $crate::isa::Isa::Avx512 => v512($($arg),*),
                    #[cfg(target_arch = "x86_64")]
                    $crate::isa::Isa::Avx2 => v256($($arg),*),
                    _ => v1($($arg),*),
                }
            }
        }
    };
}
