// Batched strided matmul: out[B, M, N] = a[B, M, K] . b[B, K, N] in full FP32 (or FP64).
//
// Classic shared-memory tiling: a 256-thread block computes a 64x64 tile of out, each thread a
// 4x4 sub-tile spread with stride 16 (so a warp reads 2 distinct As and 16 consecutive Bs words
// per step: no bank conflicts). Tiles are loaded through the views' strides, which lets
// transposed and broadcast (stride 0) operands in without a copy; the load loop picks the thread
// mapping that walks the unit-stride dimension so global loads stay coalesced.
//
// No TF32 tensor-core path: PyTorch computes float32 matmuls in full FP32 by default
// (allow_tf32 = False), and xt aims at parity with it.
#include "common.cuh"

#define MM_BM 64
#define MM_BN 64
#define MM_BK 16

template <typename T>
__device__ void matmul_kernel(const MatmulParams& p) {
  __shared__ T As[MM_BK][MM_BM + 4];
  __shared__ T Bs[MM_BK][MM_BN + 4];
  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;
  const T* A = (const T*)p.a;
  const T* Bm = (const T*)p.b;
  T* C = (T*)p.out;
  const int m0 = blockIdx.y * MM_BM, n0 = blockIdx.x * MM_BN;
  const bool a_k_unit = p.a_ks == 1;
  const bool b_n_unit = p.b_ns == 1;

  for (int bz = blockIdx.z; bz < p.B; bz += gridDim.z) {
    const long long a_base = p.a_off + (long long)bz * p.a_bs;
    const long long b_base = p.b_off + (long long)bz * p.b_bs;
    T acc[4][4];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) acc[i][j] = (T)0;

    for (int k0 = 0; k0 < p.K; k0 += MM_BK) {
      for (int r = 0; r < 4; ++r) {  // A tile: 64 x 16, four elements per thread
        const int e = tid + r * 256;
        int mm, kk;
        if (a_k_unit) { mm = e / MM_BK; kk = e % MM_BK; }
        else { kk = e / MM_BM; mm = e % MM_BM; }
        const int gm = m0 + mm, gk = k0 + kk;
        As[kk][mm] = (gm < p.M && gk < p.K)
                         ? A[a_base + (long long)gm * p.a_ms + (long long)gk * p.a_ks] : (T)0;
      }
      for (int r = 0; r < 4; ++r) {  // B tile: 16 x 64
        const int e = tid + r * 256;
        int kk, nn;
        if (b_n_unit) { kk = e / MM_BN; nn = e % MM_BN; }
        else { nn = e / MM_BK; kk = e % MM_BK; }
        const int gk = k0 + kk, gn = n0 + nn;
        Bs[kk][nn] = (gk < p.K && gn < p.N)
                         ? Bm[b_base + (long long)gk * p.b_ks + (long long)gn * p.b_ns] : (T)0;
      }
      __syncthreads();
      for (int kk = 0; kk < MM_BK; ++kk) {
        T av[4], bv[4];
        for (int i = 0; i < 4; ++i) av[i] = As[kk][ty + 16 * i];
        for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx + 16 * j];
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];
      }
      __syncthreads();
    }

    const long long c_base = (long long)bz * p.M * p.N;
    for (int i = 0; i < 4; ++i) {
      const int gm = m0 + ty + 16 * i;
      if (gm >= p.M) continue;
      for (int j = 0; j < 4; ++j) {
        const int gn = n0 + tx + 16 * j;
        if (gn < p.N) C[c_base + (long long)gm * p.N + gn] = acc[i][j];
      }
    }
  }
}

XT_KERNEL xt_matmul_f32(const __grid_constant__ MatmulParams p) { matmul_kernel<float>(p); }
XT_KERNEL xt_matmul_f64(const __grid_constant__ MatmulParams p) { matmul_kernel<double>(p); }
