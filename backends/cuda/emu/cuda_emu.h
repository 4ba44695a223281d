// Just enough of the CUDA device language for xt's kernels to compile as plain C++ (g++) and run
// on the CPU, so the whole CUDA backend (TypeScript -> Rust addon -> driver API -> kernels) can
// be tested on machines without a GPU. See libcuda_emu.cpp for how blocks are run.
//
// Not a general emulator: 1-D blocks whose size is a multiple of 32, full-warp shuffles only,
// static shared memory only. It is a test double, never shipped.
#pragma once
#define XT_EMULATOR 1

#include <cmath>
#include <cstring>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __grid_constant__
// Blocks run one at a time on one OS thread (as fibers), so a function-local static is exactly
// "one copy per block". The emulator is built with -O0 so no value is cached across a switch.
#define __shared__ static

struct emu_dim3 {
  unsigned x, y, z;
};
extern emu_dim3 threadIdx, blockIdx, blockDim, gridDim;

// Suspend the current fiber until every live thread of the block (or of its warp) arrives.
void emu_barrier_block();
void emu_barrier_warp();
unsigned emu_linear_tid();
extern unsigned long long emu_shfl_slots[1024];

inline void __syncthreads() { emu_barrier_block(); }

template <typename T>
T __shfl_xor_sync(unsigned /*mask: always full*/, T v, int lane_mask) {
  static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
  const unsigned t = emu_linear_tid();
  std::memcpy(&emu_shfl_slots[t], &v, sizeof(T));
  emu_barrier_warp();  // every lane has published its value
  const unsigned src = (t & ~31u) | ((t & 31u) ^ (unsigned)lane_mask);
  T out;
  std::memcpy(&out, &emu_shfl_slots[src], sizeof(T));
  emu_barrier_warp();  // every lane has read before the slots are reused
  return out;
}

// Fibers never run concurrently, so a plain read-modify-write is atomic.
template <typename T>
T atomicAdd(T* p, T v) {
  T old = *p;
  *p = old + v;
  return old;
}
