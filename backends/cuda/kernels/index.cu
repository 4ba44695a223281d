// Row gather (embedding lookup) and its backward, a row scatter-add.
#include "common.cuh"

// out[r, c] = x[index[r], c] for r < n; out is contiguous [n, C]. Out-of-range indices write 0
// and raise *err, which the host checks after the launch (PyTorch raises an error there).
template <typename T>
__device__ void gather_rows_kernel(const RowsParams& p) {
  const long long total = (long long)p.n * p.C;
  for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (long long)gridDim.x * blockDim.x) {
    const int r = (int)(e / p.C), c = (int)(e % p.C);
    const int row = (int)ld<double>(p.index, p.i_dtype, p.i_off + (long long)r * p.i_s);
    T v = (T)0;
    if (row < 0 || row >= p.rows) *p.err = 1;
    else v = ld<T>(p.x, p.x_dtype, p.x_off + (long long)row * p.x_rs + (long long)c * p.x_cs);
    st<T>(p.out, p.out_dtype, e, v);
  }
}

// out[index[r], c] += x[r, c]; out is a zeroed contiguous [rows, C] of type T. Repeated indices
// accumulate through atomicAdd (so the summation order, not the result, varies run to run).
template <typename T>
__device__ void scatter_add_rows_kernel(const RowsParams& p) {
  const long long total = (long long)p.n * p.C;
  T* out = (T*)p.out;
  for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (long long)gridDim.x * blockDim.x) {
    const int r = (int)(e / p.C), c = (int)(e % p.C);
    const int row = (int)ld<double>(p.index, p.i_dtype, p.i_off + (long long)r * p.i_s);
    if (row < 0 || row >= p.rows) { *p.err = 1; continue; }
    const T v = ld<T>(p.x, p.x_dtype, p.x_off + (long long)r * p.x_rs + (long long)c * p.x_cs);
    atomicAdd(out + (long long)row * p.C + c, v);
  }
}

XT_KERNEL xt_gather_rows_f32(const __grid_constant__ RowsParams p) { gather_rows_kernel<float>(p); }
XT_KERNEL xt_gather_rows_f64(const __grid_constant__ RowsParams p) { gather_rows_kernel<double>(p); }
XT_KERNEL xt_scatter_add_rows_f32(const __grid_constant__ RowsParams p) { scatter_add_rows_kernel<float>(p); }
XT_KERNEL xt_scatter_add_rows_f64(const __grid_constant__ RowsParams p) { scatter_add_rows_kernel<double>(p); }
