/**
 * The 2-D window kernels in TypeScript (any float dtype, any input strides): im2row and row2im
 * (a convolution is im2row + one matmul; its input gradient is row2im), max pooling and its
 * backward. Loop orders follow PyTorch's CPU kernels (im2col.h, MaxPoolKernel.cpp), so the sums
 * of row2im and of the pooling backward add their terms in the same order.
 */
import type { View, Window2d } from "../../core/backend.ts";
import { windowOutput } from "../../core/shape.ts";
import { CpuStorage, dataOf } from "./storage.ts";

type Floats = Float32Array | Float64Array;

export function im2row(x: View, w: Window2d): CpuStorage {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [sn, sc, sy, sx] = x.strides as [number, number, number, number];
  const [Ho, Wo] = windowOutput(H, W, w);
  const K = C * w.kh * w.kw;
  const L = Ho * Wo;
  const out = CpuStorage.allocUninit(x.storage.dtype, N * L * K);
  const o = out.data as Floats;
  const src = dataOf(x.storage) as Floats;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = x.offset + n * sn + c * sc;
      for (let i = 0; i < w.kh; i++) {
        for (let j = 0; j < w.kw; j++) {
          // Column k = (c, i, j) of rows n·L … n·L + L − 1.
          const col = n * L * K + (c * w.kh + i) * w.kw + j;
          for (let oy = 0; oy < Ho; oy++) {
            const iy = oy * w.sh - w.ph + i;
            const at = col + oy * Wo * K;
            const line = plane + iy * sy;
            const inside = iy >= 0 && iy < H;
            for (let ox = 0; ox < Wo; ox++) {
              const ix = ox * w.sw - w.pw + j;
              o[at + ox * K] = inside && ix >= 0 && ix < W ? src[line + ix * sx]! : 0;
            }
          }
        }
      }
    }
  }
  return out;
}

export function row2im(rows: View, w: Window2d, height: number, width: number): CpuStorage {
  const N = rows.shape[0]!;
  const C = rows.shape[2]! / (w.kh * w.kw);
  const [Ho, Wo] = windowOutput(height, width, w);
  const [sn, sl, sk] = rows.strides as [number, number, number];
  const out = CpuStorage.alloc(rows.storage.dtype, N * C * height * width);
  const o = out.data as Floats;
  const src = dataOf(rows.storage) as Floats;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = (n * C + c) * height * width;
      for (let i = 0; i < w.kh; i++) {
        for (let j = 0; j < w.kw; j++) {
          const col = rows.offset + n * sn + ((c * w.kh + i) * w.kw + j) * sk;
          for (let oy = 0; oy < Ho; oy++) {
            const iy = oy * w.sh - w.ph + i;
            if (iy < 0 || iy >= height) continue;
            const line = plane + iy * width;
            for (let ox = 0; ox < Wo; ox++) {
              const ix = ox * w.sw - w.pw + j;
              if (ix >= 0 && ix < width) o[line + ix] += src[col + (oy * Wo + ox) * sl]!;
            }
          }
        }
      }
    }
  }
  return out;
}

export function maxPool2d(x: View, w: Window2d): { y: CpuStorage; indices: CpuStorage } {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [sn, sc, sy, sx] = x.strides as [number, number, number, number];
  const [Ho, Wo] = windowOutput(H, W, w);
  const y = CpuStorage.allocUninit(x.storage.dtype, N * C * Ho * Wo);
  const indices = CpuStorage.allocUninit("int32", N * C * Ho * Wo);
  const o = y.data as Floats;
  const idx = indices.data as Int32Array;
  const src = dataOf(x.storage) as Floats;
  let k = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = x.offset + n * sn + c * sc;
      for (let oy = 0; oy < Ho; oy++) {
        const y0 = oy * w.sh - w.ph;
        const y1 = Math.min(y0 + w.kh, H);
        const ys = Math.max(y0, 0);
        for (let ox = 0; ox < Wo; ox++, k++) {
          const x0 = ox * w.sw - w.pw;
          const x1 = Math.min(x0 + w.kw, W);
          const xs = Math.max(x0, 0);
          let best = ys * W + xs;
          let max = -Infinity;
          for (let iy = ys; iy < y1; iy++) {
            for (let ix = xs; ix < x1; ix++) {
              const v = src[plane + iy * sy + ix * sx]!;
              if (v > max || Number.isNaN(v)) {
                max = v;
                best = iy * W + ix;
              }
            }
          }
          o[k] = max;
          idx[k] = best;
        }
      }
    }
  }
  return { y, indices };
}

export function maxPool2dBackward(gy: View, indices: View, height: number, width: number): CpuStorage {
  const [N, C, Ho, Wo] = gy.shape as [number, number, number, number];
  const [gn, gc, gh, gw] = gy.strides as [number, number, number, number];
  const [in_, ic, ih, iw] = indices.strides as [number, number, number, number];
  const out = CpuStorage.alloc(gy.storage.dtype, N * C * height * width);
  const o = out.data as Floats;
  const g = dataOf(gy.storage) as Floats;
  const id = dataOf(indices.storage) as Int32Array;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = (n * C + c) * height * width;
      for (let oy = 0; oy < Ho; oy++) {
        for (let ox = 0; ox < Wo; ox++) {
          const at = id[indices.offset + n * in_ + c * ic + oy * ih + ox * iw]!;
          o[plane + at] += g[gy.offset + n * gn + c * gc + oy * gh + ox * gw]!;
        }
      }
    }
  }
  return out;
}
