// Elementwise kernels: strided gather/cast, unary, binary, where, fill, Adam.
//
// Every kernel is a grid-stride loop over the n logical elements. Operands are strided views of
// any dtype; values are converted to the compute type T (float when everything is float32, else
// double) on load and to the output dtype on store. The op is a kernel argument: the switch is
// uniform across the grid and these kernels are memory bound, so it costs next to nothing and
// keeps the number of kernels (and the fatbin) small.
#include "common.cuh"

#define XT_SQRT1_2 0.70710678118654752440
#define XT_2_SQRTPI 1.12837916709551257390

template <typename T>
__device__ __forceinline__ T unary_op(int op, T x) {
  switch (op) {
    case U_NEG: return -x;
    case U_EXP: return xt_exp(x);
    case U_LOG: return xt_log(x);
    case U_SQRT: return xt_sqrt(x);
    case U_RSQRT: return (T)1 / xt_sqrt(x);
    case U_TANH: return xt_tanh(x);
    case U_ERF: return xt_erf(x);
    case U_RELU: return (x > (T)0 || xt_isnan(x)) ? x : (T)0;  // NaN propagates, as in PyTorch
    case U_GELU: return x * (T)0.5 * ((T)1 + xt_erf(x * (T)XT_SQRT1_2));  // exact (erf) GELU
    case U_ABS: return xt_abs(x);
    case U_SIGN: return (T)((x > (T)0) - (x < (T)0));
    case U_SQUARE: return x * x;
    default: return xt_nan<T>();
  }
}

template <typename T>
__device__ __forceinline__ T binary_op(int op, T a, T b) {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_POW: return xt_pow(a, b);
    // maximum propagates NaN (a + b is NaN when either is).
    case B_MAXIMUM: return (xt_isnan(a) || xt_isnan(b)) ? a + b : (a > b ? a : b);
    case B_LT: return (T)(a < b);
    case B_LE: return (T)(a <= b);
    case B_GT: return (T)(a > b);
    case B_GE: return (T)(a >= b);
    case B_EQ: return (T)(a == b);
    case B_NE: return (T)(a != b);
    // Backward of the unary ops: a = forward input x, b = upstream gradient.
    case B_GELU_GRAD: {
      T cdf = (T)0.5 * ((T)1 + xt_erf(a * (T)XT_SQRT1_2));
      T pdf = xt_exp((T)-0.5 * a * a) * (T)(XT_2_SQRTPI * XT_SQRT1_2 * 0.5);
      return b * (cdf + a * pdf);
    }
    case B_RELU_GRAD: return a <= (T)0 ? (T)0 : b;  // PyTorch threshold_backward
    case B_ERF_GRAD: return b * (T)XT_2_SQRTPI * xt_exp(-a * a);
    default: return xt_nan<T>();
  }
}

#define EW_LOOP(p)                                                                 \
  for (long long i_ = (long long)blockIdx.x * blockDim.x + threadIdx.x; i_ < (p).n; \
       i_ += (long long)gridDim.x * blockDim.x)

// out = a converted to out's dtype (contiguous, copyInto and casts).
template <typename T>
__device__ void copy_kernel(const EwParams& p) {
  EW_LOOP(p) {
    int oo, oa, ob, oc;
    ew_offsets(p, (int)i_, oo, oa, ob, oc);
    st<T>(p.out.ptr, p.out.dtype, oo, ld<T>(p.a.ptr, p.a.dtype, oa));
  }
}

template <typename T>
__device__ void unary_kernel(const EwParams& p) {
  EW_LOOP(p) {
    int oo, oa, ob, oc;
    ew_offsets(p, (int)i_, oo, oa, ob, oc);
    st<T>(p.out.ptr, p.out.dtype, oo, unary_op<T>(p.op, ld<T>(p.a.ptr, p.a.dtype, oa)));
  }
}

template <typename T>
__device__ void binary_kernel(const EwParams& p) {
  EW_LOOP(p) {
    int oo, oa, ob, oc;
    ew_offsets(p, (int)i_, oo, oa, ob, oc);
    T a = ld<T>(p.a.ptr, p.a.dtype, oa);
    T b = ld<T>(p.b.ptr, p.b.dtype, ob);
    st<T>(p.out.ptr, p.out.dtype, oo, binary_op<T>(p.op, a, b));
  }
}

// out = a ? b : c  (a is the condition).
template <typename T>
__device__ void where_kernel(const EwParams& p) {
  EW_LOOP(p) {
    int oo, oa, ob, oc;
    ew_offsets(p, (int)i_, oo, oa, ob, oc);
    bool cond = ld<T>(p.a.ptr, p.a.dtype, oa) != (T)0;
    T v = cond ? ld<T>(p.b.ptr, p.b.dtype, ob) : ld<T>(p.c.ptr, p.c.dtype, oc);
    st<T>(p.out.ptr, p.out.dtype, oo, v);
  }
}

XT_KERNEL xt_copy_f32(const __grid_constant__ EwParams p) { copy_kernel<float>(p); }
XT_KERNEL xt_copy_f64(const __grid_constant__ EwParams p) { copy_kernel<double>(p); }
XT_KERNEL xt_unary_f32(const __grid_constant__ EwParams p) { unary_kernel<float>(p); }
XT_KERNEL xt_unary_f64(const __grid_constant__ EwParams p) { unary_kernel<double>(p); }
XT_KERNEL xt_binary_f32(const __grid_constant__ EwParams p) { binary_kernel<float>(p); }
XT_KERNEL xt_binary_f64(const __grid_constant__ EwParams p) { binary_kernel<double>(p); }
XT_KERNEL xt_where_f32(const __grid_constant__ EwParams p) { where_kernel<float>(p); }
XT_KERNEL xt_where_f64(const __grid_constant__ EwParams p) { where_kernel<double>(p); }

// Fill n contiguous elements of any dtype with `value` (float64 and bool; float32/int32 use
// cuMemsetD32 on the host side).
XT_KERNEL xt_fill(void* ptr, int n, int dtype, double value) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    st<double>(ptr, dtype, i, value);
}

// PyTorch Adam (torch.optim.Adam, L2 weight decay folded into the gradient), in place.
template <typename T>
__device__ void adam_kernel(const AdamArgs& a) {
  T* P = (T*)a.param;
  T* M = (T*)a.m;
  T* V = (T*)a.v;
  const T b1 = (T)a.beta1, b2 = (T)a.beta2;
  const T one_b1 = (T)(1.0 - a.beta1), one_b2 = (T)(1.0 - a.beta2);
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < a.n;
       i += (long long)gridDim.x * blockDim.x) {
    T p = P[i];
    T g = ld<T>(a.grad, a.grad_dtype, a.grad_off + i);
    if (a.wd != 0.0) g = g + p * (T)a.wd;
    T m = b1 * M[i] + one_b1 * g;
    T v = b2 * V[i] + one_b2 * (g * g);
    T denom = xt_sqrt(v) / (T)a.bc2_sqrt + (T)a.eps;
    P[i] = p - (T)a.step_size * (m / denom);
    M[i] = m;
    V[i] = v;
  }
}

XT_KERNEL xt_adam_f32(const __grid_constant__ AdamArgs a) { adam_kernel<float>(a); }
XT_KERNEL xt_adam_f64(const __grid_constant__ AdamArgs a) { adam_kernel<double>(a); }
