// 2-D window kernels: im2row / row2im (a convolution is im2row + matmul) and max pooling with its
// backward. One thread per output element, grid-stride loops. The two backwards gather (each
// output pixel sums what reaches it, in the CPU kernels' order) instead of scattering with
// atomics, so they are deterministic.
#include "common.cuh"

__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }
__device__ __forceinline__ int imax(int a, int b) { return a > b ? a : b; }

// rows[n, oy·Wo + ox, (c·kh + i)·kw + j] = x[n, c, oy·sh − ph + i, ox·sw − pw + j], 0 in the padding.
template <typename T>
__device__ void im2row_kernel(const Window2dParams& p) {
  const int K = p.C * p.kh * p.kw, L = p.Ho * p.Wo;
  const long long total = (long long)p.N * K * L;
  for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (long long)gridDim.x * blockDim.x) {
    const int col = (int)(e % K), l = (int)((e / K) % L), n = (int)(e / ((long long)K * L));
    const int c = col / (p.kh * p.kw), i = (col / p.kw) % p.kh, j = col % p.kw;
    const int iy = (l / p.Wo) * p.sh - p.ph + i, ix = (l % p.Wo) * p.sw - p.pw + j;
    T v = (T)0;
    if (iy >= 0 && iy < p.H && ix >= 0 && ix < p.W)
      v = ld<T>(p.x, p.x_dtype, p.x_off + (long long)n * p.x_s0 + (long long)c * p.x_s1 + (long long)iy * p.x_s2 + (long long)ix * p.x_s3);
    st<T>(p.out, p.x_dtype, e, v);
  }
}

// out[n, c, y, x] = Σ over the window offsets (i, j) that read pixel (y, x) of rows[n, (oy, ox), (c, i, j)].
template <typename T>
__device__ void row2im_kernel(const Window2dParams& p) {
  const long long total = (long long)p.N * p.C * p.H * p.W;
  for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (long long)gridDim.x * blockDim.x) {
    const int x = (int)(e % p.W), y = (int)((e / p.W) % p.H);
    const int c = (int)((e / ((long long)p.H * p.W)) % p.C), n = (int)(e / ((long long)p.C * p.H * p.W));
    T acc = (T)0;
    for (int i = 0; i < p.kh; ++i) {
      const int ty = y + p.ph - i;
      if (ty < 0 || ty % p.sh != 0 || ty / p.sh >= p.Ho) continue;
      for (int j = 0; j < p.kw; ++j) {
        const int tx = x + p.pw - j;
        if (tx < 0 || tx % p.sw != 0 || tx / p.sw >= p.Wo) continue;
        const int col = (c * p.kh + i) * p.kw + j, row = (ty / p.sh) * p.Wo + tx / p.sw;
        acc += ld<T>(p.x, p.x_dtype, p.x_off + (long long)n * p.x_s0 + (long long)row * p.x_s1 + (long long)col * p.x_s2);
      }
    }
    st<T>(p.out, p.x_dtype, e, acc);
  }
}

// The maximum of each window and its flat position y·W + x: the first on ties, the last NaN if any.
template <typename T>
__device__ void max_pool2d_kernel(const Window2dParams& p) {
  const long long total = (long long)p.N * p.C * p.Ho * p.Wo;
  for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (long long)gridDim.x * blockDim.x) {
    const int ox = (int)(e % p.Wo), oy = (int)((e / p.Wo) % p.Ho);
    const int c = (int)((e / ((long long)p.Ho * p.Wo)) % p.C), n = (int)(e / ((long long)p.C * p.Ho * p.Wo));
    const int y0 = oy * p.sh - p.ph, x0 = ox * p.sw - p.pw;
    const int y1 = imin(y0 + p.kh, p.H), x1 = imin(x0 + p.kw, p.W);
    const int ys = imax(y0, 0), xs = imax(x0, 0);
    const long long plane = p.x_off + (long long)n * p.x_s0 + (long long)c * p.x_s1;
    int best = ys * p.W + xs;
    T m = -xt_inf<T>();
    for (int iy = ys; iy < y1; ++iy)
      for (int ix = xs; ix < x1; ++ix) {
        const T v = ld<T>(p.x, p.x_dtype, plane + (long long)iy * p.x_s2 + (long long)ix * p.x_s3);
        if (v > m || xt_isnan(v)) { m = v; best = iy * p.W + ix; }
      }
    st<T>(p.out, p.x_dtype, e, m);
    ((int*)p.aux)[e] = best;
  }
}

// gx[n, c, y, x] = Σ gy[n, c, oy, ox] over the windows containing (y, x) whose argmax is (y, x).
template <typename T>
__device__ void max_pool2d_backward_kernel(const Window2dParams& p) {
  const long long total = (long long)p.N * p.C * p.H * p.W;
  for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (long long)gridDim.x * blockDim.x) {
    const int x = (int)(e % p.W), y = (int)((e / p.W) % p.H);
    const int c = (int)((e / ((long long)p.H * p.W)) % p.C), n = (int)(e / ((long long)p.C * p.H * p.W));
    const int at = y * p.W + x;
    // Windows oy with oy·sh − ph ≤ y < oy·sh − ph + kh.
    const int oy0 = imax(0, (y + p.ph - p.kh + p.sh) / p.sh), oy1 = imin(p.Ho - 1, (y + p.ph) / p.sh);
    const int ox0 = imax(0, (x + p.pw - p.kw + p.sw) / p.sw), ox1 = imin(p.Wo - 1, (x + p.pw) / p.sw);
    T acc = (T)0;
    for (int oy = oy0; oy <= oy1; ++oy)
      for (int ox = ox0; ox <= ox1; ++ox) {
        const long long ai = p.a_off + (long long)n * p.a_s0 + (long long)c * p.a_s1 + (long long)oy * p.a_s2 + (long long)ox * p.a_s3;
        if (ld<double>(p.aux, p.a_dtype, ai) == (double)at)
          acc += ld<T>(p.x, p.x_dtype, p.x_off + (long long)n * p.x_s0 + (long long)c * p.x_s1 + (long long)oy * p.x_s2 + (long long)ox * p.x_s3);
      }
    st<T>(p.out, p.x_dtype, e, acc);
  }
}

XT_KERNEL xt_im2row_f32(const __grid_constant__ Window2dParams p) { im2row_kernel<float>(p); }
XT_KERNEL xt_im2row_f64(const __grid_constant__ Window2dParams p) { im2row_kernel<double>(p); }
XT_KERNEL xt_row2im_f32(const __grid_constant__ Window2dParams p) { row2im_kernel<float>(p); }
XT_KERNEL xt_row2im_f64(const __grid_constant__ Window2dParams p) { row2im_kernel<double>(p); }
XT_KERNEL xt_max_pool2d_f32(const __grid_constant__ Window2dParams p) { max_pool2d_kernel<float>(p); }
XT_KERNEL xt_max_pool2d_f64(const __grid_constant__ Window2dParams p) { max_pool2d_kernel<double>(p); }
XT_KERNEL xt_max_pool2d_backward_f32(const __grid_constant__ Window2dParams p) { max_pool2d_backward_kernel<float>(p); }
XT_KERNEL xt_max_pool2d_backward_f64(const __grid_constant__ Window2dParams p) { max_pool2d_backward_kernel<double>(p); }
