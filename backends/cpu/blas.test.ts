/**
 * The BLAS provider: how it reads views as BLAS's N/T operands, which calls it takes, where it
 * sits in the kernel table (XT_KERNELS=blas, XT_BLAS, auto), and, with each BLAS library this
 * machine has (CI installs oneDNN and OpenBLAS), that matmul and linear agree with the TypeScript
 * kernels over row-major, transposed, offset, batched and shared-B operands.
 */
import { describe, expect, test } from "bun:test";
import type { View } from "../../core/backend.ts";
import { XtError } from "../../core/errors.ts";
import { findBlasLibraries } from "../blas_libraries.ts";
import { blasChoiceFromEnv, type Blas, type BlasLoad } from "./blas.ts";
import { BLAS_MIN_WORK, blasLayout, blasProviders } from "./blas_kernels.ts";
import { AUTO_BLAS_WITH_NATIVE, chooseProviders } from "./kernels.ts";
import type { NativeLoad } from "./native.ts";
import { loadNative } from "./native.ts";
import { CpuStorage } from "./storage.ts";
import { TS_PROVIDERS } from "./ts_kernels.ts";

let seed = 99;
const rnd = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296 - 0.5;
};
const f32 = (n: number): CpuStorage => new CpuStorage("float32", Float32Array.from({ length: n }, rnd));
const data = (s: unknown): Float32Array => (s as CpuStorage).data as Float32Array;

/** A BLAS written in TypeScript (double sums): records each call. */
function fakeBlas(): Blas & { calls: string[] } {
  const calls: string[] = [];
  return {
    key: "blas", name: "fake", path: "/fake", entry: "cblas_sgemm", threads: 1, threadNote: "fake", calls,
    sgemm(ta, tb, M, N, K, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc) {
      calls.push(`${ta ? "T" : "N"}${tb ? "T" : "N"} ${M}x${N}x${K} lda ${lda} ldb ${ldb} beta ${beta}`);
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a[aOff + (ta ? k * lda + i : i * lda + k)]! * b[bOff + (tb ? j * ldb + k : k * ldb + j)]!;
          c[cOff + i * ldc + j] = s + (beta ? c[cOff + i * ldc + j]! : 0);
        }
      }
    },
  };
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (d > 1e-4 * (1 + Math.abs(want[i]!))) throw new Error(`${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

/** [B, M, K] · [B, K, N] operands in several layouts (strides in elements). */
function matmulCases(): { name: string; a: View; b: View }[] {
  const out: { name: string; a: View; b: View }[] = [];
  const v = (n: number, shape: number[], strides: number[], offset = 0): View => ({ storage: f32(n + offset), shape, strides, offset });
  const [M, N, K] = [70, 90, 80];
  out.push({ name: "NN", a: v(M * K, [1, M, K], [0, K, 1]), b: v(K * N, [1, K, N], [0, N, 1]) });
  out.push({ name: "NT (x·Wᵀ)", a: v(M * K, [1, M, K], [0, K, 1]), b: v(K * N, [1, K, N], [0, 1, K]) });
  out.push({ name: "TN (Xᵀ·G)", a: v(M * K, [1, M, K], [0, 1, M]), b: v(K * N, [1, K, N], [0, N, 1]) });
  out.push({ name: "TT, offsets", a: v(M * K, [1, M, K], [0, 1, M], 7), b: v(K * N, [1, K, N], [0, 1, K], 3) });
  out.push({ name: "padded rows (lda > K)", a: v(M * (K + 5), [1, M, K], [0, K + 5, 1]), b: v(K * N, [1, K, N], [0, N, 1]) });
  out.push({ name: "batch 3", a: v(3 * M * K, [3, M, K], [M * K, K, 1]), b: v(3 * K * N, [3, K, N], [K * N, N, 1]) });
  out.push({ name: "batch 4, shared B (one taller product)", a: v(4 * 20 * K, [4, 20, K], [20 * K, K, 1]), b: v(K * N, [4, K, N], [0, N, 1]) });
  return out;
}

describe("blasLayout", () => {
  test("row-major is N with its row stride, transposed storage is T with its column stride", () => {
    expect(blasLayout(4, 3, 3, 1)).toEqual({ t: false, ld: 3 });
    expect(blasLayout(4, 3, 8, 1)).toEqual({ t: false, ld: 8 });
    expect(blasLayout(4, 3, 1, 4)).toEqual({ t: true, ld: 4 });
    expect(blasLayout(4, 3, 1, 9)).toEqual({ t: true, ld: 9 });
  });
  test("a size-1 dim's stride does not matter; neither unit stride, or a leading dim too small, is refused", () => {
    expect(blasLayout(1, 5, 0, 1)).toEqual({ t: false, ld: 5 });
    expect(blasLayout(5, 1, 1, 0)).toEqual({ t: false, ld: 1 });
    expect(blasLayout(4, 3, 6, 2)).toBeNull();
    expect(blasLayout(4, 3, 2, 1)).toBeNull(); // rows overlap
    expect(blasLayout(4, 3, 0, 1)).toBeNull(); // a broadcast row
    expect(blasLayout(4, 3, -3, 1)).toBeNull();
  });
});

describe("the BLAS provider (a TypeScript stand-in for the library)", () => {
  test("matmul: each layout becomes one sgemm per product (or one for a shared B), results as the TypeScript kernel's", () => {
    for (const { name, a, b } of matmulCases()) {
      const fake = fakeBlas();
      const p = blasProviders(fake).matmul!;
      expect(p.eligible!(a, b), name).toBe(true);
      expectClose(data(p.run(a, b)), data(TS_PROVIDERS.matmul.run(a, b)), name);
      expect(fake.calls.length, name).toBe(name.startsWith("batch 3") ? 3 : 1);
    }
    const fake = fakeBlas();
    const { a, b } = matmulCases()[1]!;
    blasProviders(fake).matmul!.run(a, b);
    expect(fake.calls).toEqual(["NT 70x90x80 lda 80 ldb 80 beta 0"]);
  });

  test("it declines small products, float64 data and operands without a unit stride", () => {
    const p = blasProviders(fakeBlas()).matmul!;
    const small: View = { storage: f32(32 * 32), shape: [1, 32, 32], strides: [0, 32, 1], offset: 0 };
    expect(32 * 32 * 32).toBeLessThan(BLAS_MIN_WORK);
    expect(p.eligible!(small, small)).toBe(false);
    const big = (storage: CpuStorage, strides = [0, 100, 1]): View => ({ storage, shape: [1, 100, 100], strides, offset: 0 });
    expect(p.eligible!(big(f32(10000)), big(f32(10000)))).toBe(true);
    expect(p.eligible!(big(new CpuStorage("float64", new Float64Array(10000))), big(f32(10000)))).toBe(false);
    expect(p.eligible!(big(f32(40000), [0, 200, 2]), big(f32(10000)))).toBe(false);
  });

  test("linear: C filled with the bias, then x·Wᵀ + C (beta 1), as PyTorch's addmm", () => {
    const fake = fakeBlas();
    const p = blasProviders(fake).linear!;
    const [R, K, N] = [100, 64, 48];
    const x: View = { storage: f32(R * K), shape: [R, K], strides: [K, 1], offset: 0 };
    const w: View = { storage: f32(N * K), shape: [N, K], strides: [K, 1], offset: 0 };
    const bias: View = { storage: f32(2 * N), shape: [N], strides: [2], offset: 1 };
    expect(p.eligible!(x, w, bias)).toBe(true);
    const y = data(p.run(x, w, bias));
    const xd = data(x.storage), wd = data(w.storage), bd = data(bias.storage);
    const want = new Float32Array(R * N);
    for (let i = 0; i < R; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += xd[i * K + k]! * wd[j * K + k]!;
        want[i * N + j] = s + bd[1 + 2 * j]!;
      }
    }
    expectClose(y, want, "linear");
    expect(fake.calls).toEqual(["NT 100x48x64 lda 64 ldb 64 beta 1"]);
  });
});

describe("where the BLAS sits in the kernel table", () => {
  const fake = fakeBlas();
  const withBlas = (): BlasLoad => ({ blas: fake, error: null });
  const noBlas = (): BlasLoad => ({ blas: null, error: "no BLAS library found (looked for libdnnl.so.2)", requested: false });
  const noNative = (): NativeLoad => ({ addon: null, error: "Cannot find module", built: false });

  test("XT_KERNELS=blas puts it first for matmul/linear only; without a library it is an error that says what to do", () => {
    const t = chooseProviders("blas", "XT_KERNELS=blas", loadNative, withBlas);
    expect(t.chains.matmul[0]).toBe("blas");
    expect(t.chains.linear[0]).toBe("blas");
    expect(t.chains.softmax[0]).not.toBe("blas");
    expect(() => chooseProviders("blas", "XT_KERNELS=blas", loadNative, noBlas)).toThrow(
      "XT_KERNELS=blas: no BLAS could be used (no BLAS library found (looked for libdnnl.so.2)); install one (libdnnl2, libopenblas0) or unset XT_KERNELS",
    );
  });

  test("auto: the BLAS ahead of TypeScript where the native library is missing; beside native as AUTO_BLAS_WITH_NATIVE says", () => {
    expect(chooseProviders("auto", "default", noNative, withBlas).chains.matmul).toEqual(["blas", "typescript"]);
    expect(chooseProviders("auto", "default", noNative, noBlas).chains.matmul).toEqual(["typescript"]);
    if (loadNative().addon) {
      expect(chooseProviders("auto", "default", loadNative, withBlas).chains.matmul[0]).toBe(AUTO_BLAS_WITH_NATIVE ? "blas" : "native");
    }
    // ts and native never look for one.
    expect(chooseProviders("ts", "XT_KERNELS=ts", loadNative, () => {
      throw new Error("looked");
    }).blas).toBeNull();
  });

  test("XT_BLAS: auto, none, a library's name or a path; anything else is a usage error", () => {
    expect(blasChoiceFromEnv({})).toBe("auto");
    expect(blasChoiceFromEnv({ XT_BLAS: " OpenBLAS " })).toBe("openblas");
    expect(blasChoiceFromEnv({ XT_BLAS: "oneDNN" })).toBe("dnnl");
    expect(blasChoiceFromEnv({ XT_BLAS: "none" })).toBe("none");
    expect(blasChoiceFromEnv({ XT_BLAS: "/opt/lib/libopenblas.so" })).toBe("/opt/lib/libopenblas.so");
    let err: unknown;
    try {
      blasChoiceFromEnv({ XT_BLAS: "fastblas" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(XtError);
    expect((err as XtError).exitCode).toBe(2);
    expect((err as XtError).message).toBe("XT_BLAS=fastblas: expected auto, none, dnnl, mkl, openblas, blis, accelerate, blas or a library's path");
  });
});

// Each real library found here, in its own process (a library's threads and its environment are per process).
const found = findBlasLibraries().filter((l) => l.path !== null && l.key !== "blas");
describe.skipIf(process.platform !== "linux" || found.length === 0)("with the libraries of this machine", () => {
  for (const lib of found) {
    test(`XT_BLAS=${lib.key}: matmul and linear match the TypeScript kernels; xt info names it`, () => {
      const script = `
        const { loadBlas } = await import("./backends/cpu/blas.ts");
        const { blasProviders } = await import("./backends/cpu/blas_kernels.ts");
        const { TS_PROVIDERS } = await import("./backends/cpu/ts_kernels.ts");
        const { CpuStorage } = await import("./backends/cpu/storage.ts");
        const load = loadBlas();
        if (!load.blas) throw new Error(load.error);
        const p = blasProviders(load.blas);
        let s = 1, worst = 0;
        const f = (n) => new CpuStorage("float32", Float32Array.from({ length: n }, () => ((s = (s * 48271) % 2147483647) / 2147483647) - 0.5));
        const cmp = (x, y) => { for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / (1 + Math.abs(y[i]))); };
        for (const [tb, off] of [[false, 0], [true, 5]]) {
          const a = { storage: f(3 * 96 * 80 + off), shape: [3, 96, 80], strides: [96 * 80, 80, 1], offset: off };
          const b = { storage: f(3 * 80 * 72), shape: [3, 80, 72], strides: tb ? [80 * 72, 1, 80] : [80 * 72, 72, 1], offset: 0 };
          if (!p.matmul.eligible(a, b)) throw new Error("declined");
          cmp(p.matmul.run(a, b).data, TS_PROVIDERS.matmul.run(a, b).data);
        }
        const x = { storage: f(200 * 64), shape: [200, 64], strides: [64, 1], offset: 0 };
        const w = { storage: f(50 * 64), shape: [50, 64], strides: [64, 1], offset: 0 };
        const bias = { storage: f(50), shape: [50], strides: [1], offset: 0 };
        const y = p.linear.run(x, w, bias).data;
        const y0 = TS_PROVIDERS.matmul.run({ ...x, shape: [1, 200, 64], strides: [0, 64, 1] }, { ...w, shape: [1, 64, 50], strides: [0, 1, 64] }).data;
        for (let i = 0; i < 200; i++) for (let j = 0; j < 50; j++) y0[i * 50 + j] += bias.storage.data[j];
        cmp(y, y0);
        console.log(JSON.stringify({ name: load.blas.name, worst }));`;
      const r = Bun.spawnSync([process.execPath, "-e", script], { cwd: `${import.meta.dir}/../..`, env: { ...process.env, XT_BLAS: lib.key } });
      if (r.exitCode !== 0) throw new Error(r.stderr.toString());
      const out = JSON.parse(r.stdout.toString().trim().split("\n").pop()!);
      expect(out.name).toBe(lib.name);
      expect(out.worst).toBeLessThan(1e-5);
      const info = Bun.spawnSync([process.execPath, "cli/main.ts", "info", "--json"], {
        cwd: `${import.meta.dir}/../..`, env: { ...process.env, XT_KERNELS: "blas", XT_BLAS: lib.key },
      });
      const rows = JSON.parse(info.stdout.toString()).devices.find((d: { name: string }) => d.name === "cpu").kernels;
      expect(rows.find((k: { group: string }) => k.group === "matmul/linear").provider).toBe(`blas ${lib.name}`);
    });
  }
});
