// A CPU stand-in for libcuda.so.1, for testing the CUDA backend on machines without a GPU.
//
// It implements the handful of driver-API entry points the addon dlsym()s, with host memory as
// "device" memory, and runs kernel launches on the CPU: the kernels in ../kernels/*.cu are
// compiled into this library by g++ (with cuda_emu.h supplying the CUDA built-ins), and each
// block's threads run as fibers (ucontext) on the calling thread, switching at __syncthreads
// and warp shuffles. Point the addon at it with XT_CUDA_DRIVER=/path/to/libcuda_emu.so.
//
// Environment: XT_CUDA_EMU_MEM_LIMIT=<bytes> caps "device" memory so out-of-memory paths can be
// tested.
#include "cuda_emu.h"

#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../kernels/elementwise.cu"
#include "../kernels/index.cu"
#include "../kernels/matmul.cu"
#include "../kernels/reduce.cu"
#include "../kernels/window2d.cu"

emu_dim3 threadIdx, blockIdx, blockDim, gridDim;
unsigned long long emu_shfl_slots[1024];

// ---- fibers ---------------------------------------------------------------------------------------

namespace {

enum FiberState { RUNNABLE, AT_BLOCK_BARRIER, AT_WARP_BARRIER, DONE };

struct Fiber {
  ucontext_t ctx;
  FiberState state;
};

const size_t kStackBytes = 64 * 1024;
std::vector<Fiber> fibers;
std::vector<char*> stacks;
ucontext_t scheduler;
unsigned current = 0;

using Trampoline = void (*)(void** params);
Trampoline launch_fn = nullptr;
void** launch_params = nullptr;

void fiber_main() {
  launch_fn(launch_params);
  fibers[current].state = DONE;
  // returning resumes `scheduler` through uc_link
}

void yield_with(FiberState s) {
  fibers[current].state = s;
  swapcontext(&fibers[current].ctx, &scheduler);
}

// Run one block of n threads to completion.
bool run_block(unsigned n) {
  while (stacks.size() < n) stacks.push_back(static_cast<char*>(std::malloc(kStackBytes)));
  fibers.assign(n, Fiber{});
  for (unsigned t = 0; t < n; ++t) {
    getcontext(&fibers[t].ctx);
    fibers[t].ctx.uc_stack.ss_sp = stacks[t];
    fibers[t].ctx.uc_stack.ss_size = kStackBytes;
    fibers[t].ctx.uc_link = &scheduler;
    makecontext(&fibers[t].ctx, fiber_main, 0);
    fibers[t].state = RUNNABLE;
  }
  for (;;) {
    for (unsigned t = 0; t < n; ++t) {
      if (fibers[t].state != RUNNABLE) continue;
      current = t;
      threadIdx = {t % blockDim.x, (t / blockDim.x) % blockDim.y, t / (blockDim.x * blockDim.y)};
      swapcontext(&scheduler, &fibers[t].ctx);
    }
    // Nobody is runnable: release whichever barrier everyone still alive is waiting at.
    bool all_done = true, released = false;
    for (unsigned w = 0; w * 32 < n; ++w) {
      unsigned lo = w * 32, hi = lo + 32 < n ? lo + 32 : n;
      bool waiting = false, all_at_warp = true;
      for (unsigned t = lo; t < hi; ++t) {
        if (fibers[t].state == DONE) continue;
        waiting = true;
        if (fibers[t].state != AT_WARP_BARRIER) all_at_warp = false;
      }
      if (waiting) all_done = false;
      if (waiting && all_at_warp) {
        for (unsigned t = lo; t < hi; ++t)
          if (fibers[t].state == AT_WARP_BARRIER) fibers[t].state = RUNNABLE;
        released = true;
      }
    }
    if (all_done) return true;
    if (released) continue;
    bool all_at_block = true;
    for (unsigned t = 0; t < n; ++t)
      if (fibers[t].state != DONE && fibers[t].state != AT_BLOCK_BARRIER) all_at_block = false;
    if (!all_at_block) {
      std::fprintf(stderr, "cuda emulator: threads of a block wait at different barriers (deadlock)\n");
      return false;
    }
    for (unsigned t = 0; t < n; ++t)
      if (fibers[t].state == AT_BLOCK_BARRIER) fibers[t].state = RUNNABLE;
  }
}

// Unpack cuLaunchKernel's `void** params` into the kernel's own argument list.
template <typename... Args, size_t... I>
void call_with(void (*k)(Args...), void** p, std::index_sequence<I...>) {
  k(*static_cast<std::remove_cv_t<std::remove_reference_t<Args>>*>(p[I])...);
}
template <typename... Args>
void call(void (*k)(Args...), void** p) {
  call_with(k, p, std::index_sequence_for<Args...>{});
}
template <auto K>
void trampoline(void** p) {
  call(K, p);
}

#define XT_EMU_KERNELS(X)                                                                          \
  X(xt_copy_f32) X(xt_copy_f64) X(xt_unary_f32) X(xt_unary_f64) X(xt_binary_f32) X(xt_binary_f64) \
  X(xt_where_f32) X(xt_where_f64) X(xt_fill) X(xt_adam_f32) X(xt_adam_f64)                         \
  X(xt_reduce_f32) X(xt_reduce_f64) X(xt_softmax_f32) X(xt_softmax_f64)                            \
  X(xt_softmax_backward_f32) X(xt_softmax_backward_f64)                                            \
  X(xt_gather_rows_f32) X(xt_gather_rows_f64) X(xt_scatter_add_rows_f32) X(xt_scatter_add_rows_f64) \
  X(xt_matmul_f32) X(xt_matmul_f64)                                                               \
  X(xt_im2row_f32) X(xt_im2row_f64) X(xt_row2im_f32) X(xt_row2im_f64)                              \
  X(xt_max_pool2d_f32) X(xt_max_pool2d_f64) X(xt_max_pool2d_backward_f32) X(xt_max_pool2d_backward_f64)

const std::map<std::string, Trampoline>& kernel_table() {
#define XT_EMU_ENTRY(name) {#name, &trampoline<&name>},
  static const std::map<std::string, Trampoline> table = {XT_EMU_KERNELS(XT_EMU_ENTRY)};
#undef XT_EMU_ENTRY
  return table;
}

size_t mem_limit() {
  const char* s = std::getenv("XT_CUDA_EMU_MEM_LIMIT");
  return s ? std::strtoull(s, nullptr, 10) : (size_t)16 << 30;
}
std::map<unsigned long long, size_t> allocations;
size_t allocated = 0;

}  // namespace

void emu_barrier_block() { yield_with(AT_BLOCK_BARRIER); }
void emu_barrier_warp() { yield_with(AT_WARP_BARRIER); }
unsigned emu_linear_tid() { return current; }

// ---- driver API -----------------------------------------------------------------------------------

extern "C" {
typedef int CUresult;
typedef unsigned long long CUdeviceptr;

enum {
  OK = 0, ERR_INVALID_VALUE = 1, ERR_OUT_OF_MEMORY = 2, ERR_NOT_FOUND = 500,
  ERR_LAUNCH_FAILED = 719, ERR_INVALID_HANDLE = 400
};

CUresult cuInit(unsigned) { return OK; }
CUresult cuDriverGetVersion(int* v) { *v = 13000; return OK; }
CUresult cuDeviceGetCount(int* n) { *n = 1; return OK; }
CUresult cuDeviceGet(int* dev, int ordinal) { *dev = ordinal; return ordinal == 0 ? OK : ERR_INVALID_VALUE; }
CUresult cuDeviceGetName(char* name, int len, int) {
  std::snprintf(name, len, "xt CPU emulator");
  return OK;
}
CUresult cuDeviceGetAttribute(int* v, int attr, int) {
  *v = attr == 75 ? 9 : attr == 76 ? 0 : 0;  // compute capability 9.0
  return OK;
}
CUresult cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = (void*)&scheduler; return OK; }
CUresult cuCtxSetCurrent(void*) { return OK; }
CUresult cuCtxSynchronize() { return OK; }
CUresult cuModuleLoadData(void** mod, const void* image) {
  // The fatbin is ignored: every kernel is compiled in. Check it at least looks like one.
  if (image == nullptr || *static_cast<const unsigned*>(image) != 0xBA55ED50u) return ERR_INVALID_VALUE;
  *mod = (void*)&kernel_table();
  return OK;
}
CUresult cuModuleGetFunction(void** f, void*, const char* name) {
  auto it = kernel_table().find(name);
  if (it == kernel_table().end()) return ERR_NOT_FOUND;
  *f = (void*)it->second;
  return OK;
}
CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz, unsigned shared, void* stream, void** params, void** extra) {
  (void)shared; (void)stream;
  const unsigned n = bx * by * bz;
  if (!f || extra || n == 0 || n > 1024 || n % 32 || by != 1 || bz != 1) return ERR_INVALID_VALUE;
  if (gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535 || gx > 0x7fffffffu) return ERR_INVALID_VALUE;
  launch_fn = (Trampoline)f;
  launch_params = params;
  blockDim = {bx, by, bz};
  gridDim = {gx, gy, gz};
  for (unsigned z = 0; z < gz; ++z)
    for (unsigned y = 0; y < gy; ++y)
      for (unsigned x = 0; x < gx; ++x) {
        blockIdx = {x, y, z};
        if (!run_block(n)) return ERR_LAUNCH_FAILED;
      }
  return OK;
}
CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
  if (bytes == 0) return ERR_INVALID_VALUE;
  if (allocated + bytes > mem_limit()) return ERR_OUT_OF_MEMORY;
  void* m = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!m) return ERR_OUT_OF_MEMORY;
  std::memset(m, 0xCD, bytes);  // garbage, like fresh device memory: kernels must not rely on zeros
  *p = (CUdeviceptr)m;
  allocations[*p] = bytes;
  allocated += bytes;
  return OK;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
  auto it = allocations.find(p);
  if (it == allocations.end()) return ERR_INVALID_VALUE;
  allocated -= it->second;
  allocations.erase(it);
  std::free((void*)p);
  return OK;
}
CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total) {
  *total = mem_limit();
  *free_bytes = *total - allocated;
  return OK;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) { std::memcpy((void*)dst, src, n); return OK; }
CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) { std::memcpy(dst, (const void*)src, n); return OK; }
CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned v, size_t n) {
  for (size_t i = 0; i < n; ++i) ((unsigned*)dst)[i] = v;
  return OK;
}
CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char v, size_t n) { std::memset((void*)dst, v, n); return OK; }
CUresult cuGetErrorString(CUresult e, const char** s) {
  switch (e) {
    case OK: *s = "no error"; break;
    case ERR_INVALID_VALUE: *s = "invalid argument"; break;
    case ERR_OUT_OF_MEMORY: *s = "out of memory"; break;
    case ERR_NOT_FOUND: *s = "named symbol not found"; break;
    case ERR_LAUNCH_FAILED: *s = "unspecified launch failure"; break;
    default: *s = "unknown error"; return ERR_INVALID_VALUE;
  }
  return OK;
}
}  // extern "C"
