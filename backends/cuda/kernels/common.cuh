// Shared definitions for xt's CUDA kernels.
//
// The parameter structs below are passed *by value* as the single argument of each kernel and
// are mirrored field for field by `#[repr(C)]` structs in backends/cuda/src/params.rs: keep the
// two in the same order (sizes are checked on both sides with static asserts).
//
// These files are also compiled as plain C++ by g++ for the CPU emulator (emu/), which defines
// the CUDA built-ins. So: no CUDA runtime API, no dynamic shared memory, only the built-ins the
// emulator provides (threadIdx/blockIdx/blockDim/gridDim, __syncthreads, __shfl_xor_sync,
// atomicAdd on float/double, __shared__), and math through the xt_* overloads below.
#pragma once

#define XT_MAX_DIMS 8
#define XT_KERNEL extern "C" __global__ void

// Element types (match core/dtype.ts order in backends/cuda/index.ts).
enum { DT_F32 = 0, DT_F64 = 1, DT_I32 = 2, DT_BOOL = 3 };

// Op codes (match the tables in backends/cuda/index.ts).
enum UnaryOpCode {
  U_NEG, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_TANH, U_ERF, U_RELU, U_GELU, U_ABS, U_SIGN, U_SQUARE
};
enum BinaryOpCode {
  B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAXIMUM,
  B_LT, B_LE, B_GT, B_GE, B_EQ, B_NE,
  B_GELU_GRAD, B_RELU_GRAD, B_ERF_GRAD
};
enum ReduceOpCode { R_SUM, R_MAX, R_ARGMAX };

// ---- parameter structs -------------------------------------------------------------------------

// One strided operand of an elementwise kernel. Element at logical index (i0..ik) lives at
// ptr[offset + sum(ik * strides[k])] with the dims of the enclosing EwParams.
struct Operand {
  void* ptr;
  int offset;
  int dtype;
  int strides[XT_MAX_DIMS];
};

// Elementwise kernels: out (strided, any dtype) = op(a, b, c) over `shape` (coalesced dims).
struct EwParams {
  int n;      // number of elements = prod(shape)
  int ndim;   // 0..8
  int shape[XT_MAX_DIMS];
  int op;
  int pad;
  Operand out, a, b, c;
};

// Reductions: x viewed as [outer dims..., inner dims...]; one output per outer index.
struct ReduceParams {
  void* x;
  void* out;
  int x_offset, x_dtype, out_dtype, op;
  int outer, inner;
  int tpr;  // threads per output row: 1, 32 or 256 (a divisor of the 256-thread block)
  int outer_ndim, inner_ndim, pad;
  int outer_shape[XT_MAX_DIMS], outer_strides[XT_MAX_DIMS];
  int inner_shape[XT_MAX_DIMS], inner_strides[XT_MAX_DIMS];
};

// Row kernels (softmax family): logical [R, C] views a and b, contiguous output [R, C].
struct RowParams {
  void* a;
  void* b;
  void* out;
  int R, C;
  int a_off, a_rs, a_cs, a_dtype;
  int b_off, b_rs, b_cs, b_dtype;
  int out_dtype, log;
};

// Batched matmul: out[B, M, N] (contiguous) = a[B, M, K] . b[B, K, N], any strides.
struct MatmulParams {
  void* a;
  void* b;
  void* out;
  int B, M, N, K;
  int a_off, a_bs, a_ms, a_ks;
  int b_off, b_bs, b_ks, b_ns;
};

// gatherRows / scatterAddRows: x is a logical [R, C] view, index a 1-D view of n row numbers.
struct RowsParams {
  void* x;
  void* index;
  void* out;
  int* err;  // set to 1 when an index is out of [0, rows)
  int n, C, rows;
  int x_off, x_rs, x_cs, x_dtype;
  int i_off, i_s, i_dtype;
  int out_dtype;
  int pad;
};

// Adam: param, m, v are contiguous storages of `dtype`; grad is contiguous at grad_off.
struct AdamArgs {
  void* param;
  void* m;
  void* v;
  void* grad;
  int n, dtype, grad_off, grad_dtype;
  double lr, beta1, beta2, eps, wd, step_size, bc2_sqrt;
};

// 2-D window ops over images [N, C, H, W] (window kh×kw, stride sh×sw, padding ph×pw, output
// Ho×Wo). x is the op's strided input: the image (im2row, max pool), the rows [N, Ho·Wo,
// C·kh·kw] (row2im, strides s0..s2) or the output gradient [N, C, Ho, Wo] (max pool backward);
// aux is the int32 argmax indices (written by max pool, read by its backward: strides a0..a3);
// out is contiguous, of x's dtype.
struct Window2dParams {
  void* x;
  void* aux;
  void* out;
  int N, C, H, W, Ho, Wo;
  int kh, kw, sh, sw, ph, pw;
  int x_off, x_dtype, x_s0, x_s1, x_s2, x_s3;
  int a_off, a_dtype, a_s0, a_s1, a_s2, a_s3;
};

static_assert(sizeof(Operand) == 48, "Operand layout");
static_assert(sizeof(EwParams) == 240, "EwParams layout");
static_assert(sizeof(ReduceParams) == 184, "ReduceParams layout");
static_assert(sizeof(RowParams) == 72, "RowParams layout");
static_assert(sizeof(MatmulParams) == 72, "MatmulParams layout");
static_assert(sizeof(RowsParams) == 80, "RowsParams layout");
static_assert(sizeof(AdamArgs) == 104, "AdamArgs layout");
static_assert(sizeof(Window2dParams) == 120, "Window2dParams layout");

// ---- math overloads (float / double) -----------------------------------------------------------

__device__ __forceinline__ float xt_exp(float x) { return expf(x); }
__device__ __forceinline__ double xt_exp(double x) { return exp(x); }
__device__ __forceinline__ float xt_log(float x) { return logf(x); }
__device__ __forceinline__ double xt_log(double x) { return log(x); }
__device__ __forceinline__ float xt_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double xt_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float xt_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double xt_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float xt_erf(float x) { return erff(x); }
__device__ __forceinline__ double xt_erf(double x) { return erf(x); }
__device__ __forceinline__ float xt_pow(float x, float y) { return powf(x, y); }
__device__ __forceinline__ double xt_pow(double x, double y) { return pow(x, y); }
__device__ __forceinline__ float xt_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double xt_abs(double x) { return fabs(x); }
template <typename T> __device__ __forceinline__ bool xt_isnan(T x) { return x != x; }
template <typename T> __device__ __forceinline__ T xt_inf() { return (T)1e300 * (T)1e300; }
template <typename T> __device__ __forceinline__ T xt_nan() { return xt_inf<T>() - xt_inf<T>(); }

// ---- typed loads and stores: values travel in the compute type T (float or double) --------------

template <typename T>
__device__ __forceinline__ T ld(const void* p, int dtype, long long i) {
  switch (dtype) {
    case DT_F32: return (T)((const float*)p)[i];
    case DT_F64: return (T)((const double*)p)[i];
    case DT_I32: return (T)((const int*)p)[i];
    default: return (T)((const unsigned char*)p)[i];
  }
}

template <typename T>
__device__ __forceinline__ void st(void* p, int dtype, long long i, T v) {
  switch (dtype) {
    case DT_F32: ((float*)p)[i] = (float)v; break;
    case DT_F64: ((double*)p)[i] = (double)v; break;
    // float -> int truncates toward zero (PyTorch's cast); NaN maps to 0 like on the GPU.
    case DT_I32: ((int*)p)[i] = xt_isnan(v) ? 0 : (int)v; break;
    // Anything non-zero (NaN included) is true.
    default: ((unsigned char*)p)[i] = (v != (T)0) ? 1 : 0; break;
  }
}

// Split a linear index over `shape` (row-major) into the element offsets of up to 4 operands.
// ndim is small and uniform across the grid, so this loop costs a few integer ops per dim.
__device__ __forceinline__ void ew_offsets(const EwParams& p, int i, int& oo, int& oa, int& ob, int& oc) {
  oo = p.out.offset; oa = p.a.offset; ob = p.b.offset; oc = p.c.offset;
  for (int d = p.ndim - 1; d >= 0; --d) {
    int size = p.shape[d];
    int idx = i % size;
    i /= size;
    oo += idx * p.out.strides[d];
    oa += idx * p.a.strides[d];
    ob += idx * p.b.strides[d];
    oc += idx * p.c.strides[d];
  }
}

// Offset of linear index i within dims (shape, strides) of rank ndim.
__device__ __forceinline__ int strided_offset(int i, int ndim, const int* shape, const int* strides) {
  int off = 0;
  for (int d = ndim - 1; d >= 0; --d) {
    int size = shape[d];
    off += (i % size) * strides[d];
    i /= size;
  }
  return off;
}

// Warp-level all-reduce helpers (all 32 lanes participate).
template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
