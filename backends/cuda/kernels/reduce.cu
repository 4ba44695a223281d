// Reductions over the innermost elements, and the softmax family over rows.
#include "common.cuh"

#define XT_EMPTY 0x7fffffff  // "no element seen yet" index for max/argmax

// Does candidate (v2, i2) beat the current best (v1, i1)? NaN wins (max propagates NaN, and
// argmax points at it, as in PyTorch); among equals the lower index wins, so the first
// occurrence is reported whatever order the threads combine in.
template <typename T>
__device__ __forceinline__ bool beats(T v2, int i2, T v1, int i1) {
  if (i2 == XT_EMPTY) return false;
  if (i1 == XT_EMPTY) return true;
  bool n1 = xt_isnan(v1), n2 = xt_isnan(v2);
  if (n1 || n2) return (n1 && n2) ? i2 < i1 : n2;
  if (v2 == v1) return i2 < i1;
  return v2 > v1;
}

// One group of `tpr` threads per output row (tpr = 1, 32 or 256 in a 256-thread block):
//   tpr = 1   many rows whose reduced elements are far apart in memory (e.g. a column sum):
//             neighbouring threads read neighbouring rows, which keeps loads coalesced;
//   tpr = 32  a warp per row (rows up to a few thousand elements): shuffles, no shared memory;
//   tpr = 256 the whole block on one long row: shared-memory tree.
template <typename T>
__device__ void reduce_kernel(const ReduceParams& p) {
  __shared__ T sv[256];
  __shared__ int si[256];
  const int tpr = p.tpr;
  const int rpb = blockDim.x / tpr;
  const int group = threadIdx.x / tpr, lane = threadIdx.x % tpr;
  const bool is_sum = p.op == R_SUM;

  for (long long row0 = (long long)blockIdx.x * rpb; row0 < p.outer; row0 += (long long)gridDim.x * rpb) {
    const int row = (int)row0 + group;
    const bool active = row < p.outer;
    T acc = (T)0;
    int idx = XT_EMPTY;
    if (active) {
      const int base = p.x_offset + strided_offset(row, p.outer_ndim, p.outer_shape, p.outer_strides);
      for (int i = lane; i < p.inner; i += tpr) {
        const int off = p.inner_ndim == 1 ? i * p.inner_strides[0]
                                          : strided_offset(i, p.inner_ndim, p.inner_shape, p.inner_strides);
        const T v = ld<T>(p.x, p.x_dtype, base + off);
        if (is_sum) acc += v;
        else if (beats(v, i, acc, idx)) { acc = v; idx = i; }
      }
    }
    if (tpr == 32) {
      for (int o = 16; o > 0; o >>= 1) {
        const T ov = __shfl_xor_sync(0xffffffffu, acc, o);
        const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
        if (is_sum) acc += ov;
        else if (beats(ov, oi, acc, idx)) { acc = ov; idx = oi; }
      }
    } else if (tpr > 32) {
      sv[threadIdx.x] = acc;
      si[threadIdx.x] = idx;
      __syncthreads();
      for (int s = tpr / 2; s > 0; s >>= 1) {
        if (lane < s) {
          const int t = threadIdx.x;
          if (is_sum) sv[t] += sv[t + s];
          else if (beats(sv[t + s], si[t + s], sv[t], si[t])) { sv[t] = sv[t + s]; si[t] = si[t + s]; }
        }
        __syncthreads();
      }
      acc = sv[group * tpr];
      idx = si[group * tpr];
      __syncthreads();  // everyone has read the result before the next row reuses sv/si
    }
    if (active && lane == 0) {
      if (p.op == R_ARGMAX) ((int*)p.out)[row] = idx == XT_EMPTY ? 0 : idx;
      else st<T>(p.out, p.out_dtype, row, acc);
    }
  }
}

XT_KERNEL xt_reduce_f32(const __grid_constant__ ReduceParams p) { reduce_kernel<float>(p); }
XT_KERNEL xt_reduce_f64(const __grid_constant__ ReduceParams p) { reduce_kernel<double>(p); }

// ---- softmax / log-softmax: one warp per row of the logical [R, C] view a ----------------------

template <typename T>
__device__ void softmax_kernel(const RowParams& p) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int rpb = blockDim.x >> 5;
  const T ninf = -xt_inf<T>();
  for (long long r0 = (long long)blockIdx.x * rpb; r0 < p.R; r0 += (long long)gridDim.x * rpb) {
    const int r = (int)r0 + warp;
    if (r >= p.R) continue;  // uniform across the warp: the shuffles below stay in step
    const int base = p.a_off + r * p.a_rs;
    // Online max and sum of exp(x - max) in one pass. -inf entries (masks) add exactly 0 and are
    // skipped, which avoids inf - inf; a NaN makes s NaN and so the whole row NaN.
    T m = ninf, s = (T)0;
    for (int c = lane; c < p.C; c += 32) {
      const T v = ld<T>(p.a, p.a_dtype, base + c * p.a_cs);
      if (v == ninf) continue;
      if (v > m) { s = s * xt_exp(m - v) + (T)1; m = v; }
      else s += xt_exp(v - m);
    }
    for (int o = 16; o > 0; o >>= 1) {
      const T om = __shfl_xor_sync(0xffffffffu, m, o);
      const T os = __shfl_xor_sync(0xffffffffu, s, o);
      const T nm = om > m ? om : m;
      const T a = m == ninf ? s * (T)0 : s * xt_exp(m - nm);  // s * 0 keeps a NaN
      const T b = om == ninf ? os * (T)0 : os * xt_exp(om - nm);
      m = nm;
      s = a + b;
    }
    const T log_s = xt_log(s);
    const long long out_base = (long long)r * p.C;
    for (int c = lane; c < p.C; c += 32) {
      const T v = ld<T>(p.a, p.a_dtype, base + c * p.a_cs);
      const T y = p.log ? (v - m) - log_s : xt_exp(v - m) / s;
      st<T>(p.out, p.out_dtype, out_base + c, y);
    }
  }
}

// Backward: a = forward output y, b = upstream gradient gy.
//   softmax:      gx = y * (gy - sum(gy * y))
//   log_softmax:  gx = gy - exp(y) * sum(gy)
template <typename T>
__device__ void softmax_backward_kernel(const RowParams& p) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int rpb = blockDim.x >> 5;
  for (long long r0 = (long long)blockIdx.x * rpb; r0 < p.R; r0 += (long long)gridDim.x * rpb) {
    const int r = (int)r0 + warp;
    if (r >= p.R) continue;
    const int abase = p.a_off + r * p.a_rs, bbase = p.b_off + r * p.b_rs;
    T dot = (T)0;
    for (int c = lane; c < p.C; c += 32) {
      const T gy = ld<T>(p.b, p.b_dtype, bbase + c * p.b_cs);
      dot += p.log ? gy : gy * ld<T>(p.a, p.a_dtype, abase + c * p.a_cs);
    }
    dot = warp_sum(dot);
    const long long out_base = (long long)r * p.C;
    for (int c = lane; c < p.C; c += 32) {
      const T y = ld<T>(p.a, p.a_dtype, abase + c * p.a_cs);
      const T gy = ld<T>(p.b, p.b_dtype, bbase + c * p.b_cs);
      const T gx = p.log ? gy - xt_exp(y) * dot : y * (gy - dot);
      st<T>(p.out, p.out_dtype, out_base + c, gx);
    }
  }
}

XT_KERNEL xt_softmax_f32(const __grid_constant__ RowParams p) { softmax_kernel<float>(p); }
XT_KERNEL xt_softmax_f64(const __grid_constant__ RowParams p) { softmax_kernel<double>(p); }
XT_KERNEL xt_softmax_backward_f32(const __grid_constant__ RowParams p) { softmax_backward_kernel<float>(p); }
XT_KERNEL xt_softmax_backward_f64(const __grid_constant__ RowParams p) { softmax_backward_kernel<double>(p); }
