/** TorchGenerator against the verified vectors of rng.md section 10/11 and its own invariants. */
import { describe, expect, test } from "bun:test";
import { TorchGenerator, DEFAULT_TORCH_SEED, mcg31Next } from "./torch_generator.ts";
import { kaimingUniformBound, linearBiasBound } from "./init_bounds.ts";

const seeded = (s: number | bigint, opts = {}) => new TorchGenerator({ seed: s, ...opts });
const f32 = (n: number) => new Float32Array(n);
const rand = (g: TorchGenerator, n: number) => {
  const a = f32(n);
  g.fillUniform(a, 0, 1);
  return Array.from(a);
};
const randn = (g: TorchGenerator, n: number) => {
  const a = f32(n);
  g.fillNormal(a, 0, 1);
  return Array.from(a);
};
/** Row-major rows of a 0/1 mask as strings. */
const rows = (m: ArrayLike<number>, w: number) =>
  Array.from({ length: m.length / w }, (_, r) => Array.from({ length: w }, (_, c) => (m[r * w + c] ? "1" : "0")).join(""));

describe("uniform", () => {
  test("seed 0: rand(8) and rand(2, float64)", () => {
    expect(rand(seeded(0), 8)).toEqual([
      0.49625658988952637, 0.7682217955589294, 0.08847743272781372, 0.13203048706054688, 0.30742281675338745,
      0.6340786814689636, 0.4900934100151062, 0.8964447379112244,
    ]);
    const d = new Float64Array(2);
    seeded(0).fillUniform(d, 0, 1);
    expect(Array.from(d)).toEqual([0.9700530018065531, 0.707819864399788]);
  });

  test("seed 231: rand(4)", () => {
    expect(rand(seeded(231), 4)).toEqual([0.06247466802597046, 0.02936840057373047, 0.5575344562530518, 0.8998075127601624]);
  });

  test("nn.Linear(3,2) seed 0: weight[0,0] = -0.004322517663240433 (fused); plain gives ...528839111328", () => {
    const w = f32(6);
    seeded(0).fillUniform(w, -kaimingUniformBound(3), kaimingUniformBound(3));
    expect(w[0]).toBe(-0.004322517663240433);
    const p = f32(6);
    seeded(0, { uniformFma: false }).fillUniform(p, -kaimingUniformBound(3), kaimingUniformBound(3));
    expect(p[0]).toBe(-0.004322528839111328);
  });

  test("nn.Linear(2,1) seed 0 weight: fused vs plain (rng.md 7)", () => {
    const b = kaimingUniformBound(2);
    const w = f32(2);
    seeded(0).fillUniform(w, -b, b);
    expect(Array.from(w)).toEqual([-0.005293981172144413, 0.37932288646698]);
    seeded(0, { uniformFma: false }).fillUniform(w, -b, b);
    expect(Array.from(w)).toEqual([-0.0052939653396606445, 0.37932294607162476]);
  });

  test("kaiming bound replicates the Python double formula", () => {
    // math.sqrt(3.0) * (math.sqrt(2.0 / (1 + math.sqrt(5)**2)) / math.sqrt(fan_in)) in CPython:
    const cpython: [number, number][] = [
      [1, 0.9999999999999999], [2, 0.7071067811865474], [3, 0.5773502691896257], [8, 0.3535533905932737],
      [12, 0.28867513459481287], [20, 0.22360679774997894], [48, 0.14433756729740643], [64, 0.12499999999999999],
      [128, 0.08838834764831842], [192, 0.07216878364870322], [2048, 0.022097086912079605],
    ];
    for (const [fanIn, bound] of cpython) expect(kaimingUniformBound(fanIn)).toBe(bound);
    expect(kaimingUniformBound(128)).not.toBe(1 / Math.sqrt(128)); // 0.08838834764831843
    expect(linearBiasBound(64)).toBe(0.125);
    expect(linearBiasBound(0)).toBe(0);
  });

  test("rejects from > to", () => {
    expect(() => seeded(0).fillUniform(f32(2), 1, 0)).toThrow();
  });
});

describe("normal", () => {
  test("seed 0: randn(3,9), all 27 on the AVX2 path with the tail redraw", () => {
    const r = randn(seeded(0), 27);
    expect(r.slice(0, 9)).toEqual([
      -1.1258398294448853, -1.152360200881958, -0.2505785822868347, -0.4338788092136383, 0.8487103581428528,
      0.6920091509819031, -0.31601276993751526, -2.1152193546295166, 0.32227492332458496,
    ]);
    expect(r.slice(25)).toEqual([0.7924439907073975, -0.28966769576072693]);
    expect(r[3]).not.toBe(-0.4338788390159607); // the libm (non-Cephes) variant
  });

  test("seed 0: randn(2,3) on the scalar double path", () => {
    expect(randn(seeded(0), 6)).toEqual([
      1.5409960746765137, -0.293428897857666, -2.1787893772125244, 0.5684312582015991, -1.0845223665237427,
      -1.3985954523086548,
    ]);
  });

  test("seed 231: randn(4) scalar and randn(16)[:4] vectorised", () => {
    expect(randn(seeded(231), 4)).toEqual([-1.1105817556381226, 0.001412116107530892, 1.5280239582061768, -1.0778337717056274]);
    expect(randn(seeded(231), 16).slice(0, 4)).toEqual([
      -0.14595630764961243, -0.16253215074539185, -0.22307518124580383, 2.040834665298462,
    ]);
  });

  test("the scalar path caches the sin sample across calls; manualSeed clears it", () => {
    const g = seeded(0);
    const first = randn(g, 3); // uses pairs (c0,s0),(c1, s1 cached)
    const next = randn(g, 3);
    expect([...first, ...next]).toEqual(randn(seeded(0), 6));
    g.manualSeed(0);
    randn(g, 1); // leaves a cached value
    g.manualSeed(0);
    expect(randn(g, 1)[0]).toBe(1.5409960746765137);
  });

  test("the >= 16 path ignores and keeps the cache; its draw count is n + 16 when n % 16 != 0", () => {
    const g = seeded(5);
    randn(g, 1); // cache now holds a value
    const cached = g.getState().nextDoubleNormal;
    expect(cached).not.toBeNull();
    const before = g.clone();
    randn(g, 17);
    expect(g.getState().nextDoubleNormal).toBe(cached!);
    for (let i = 0; i < 17 + 16; i++) before.random();
    expect(g.random()).toBe(before.random());
  });

  test("normal_(mean, std) float32 >= 16 is fmaf(n, fround(std), fround(mean))", () => {
    const unit = randn(seeded(3), 32);
    const a = f32(32);
    seeded(3).fillNormal(a, 0, 0.02);
    const std = Math.fround(0.02);
    for (let i = 0; i < 32; i++) expect(a[i]).toBe(Math.fround(unit[i]! * std)); // mean 0: the fma is one product
  });

  test("rejects negative std", () => {
    expect(() => seeded(0).fillNormal(f32(4), 0, -1)).toThrow();
  });
});

describe("bernoulli and dropout", () => {
  test("seed 231: bernoulli(0.5) on 8, default and MKL", () => {
    const a = f32(8);
    seeded(231).fillBernoulli(a, 0.5);
    expect(Array.from(a)).toEqual([1, 1, 0, 0, 1, 1, 0, 1]);
    seeded(231, { bernoulliMkl: true }).fillBernoulli(a, 0.5);
    expect(Array.from(a)).toEqual([0, 1, 1, 1, 0, 1, 0, 1]);
  });

  test("seed 123: Dropout(0.5)(ones(6,6)), default and MKL rows", () => {
    const m = seeded(123).dropoutMask(36, 0.5);
    expect(new Set(m)).toEqual(new Set([0, 2]));
    expect(rows(m, 6)).toEqual(["110110", "000101", "111101", "011001", "010101", "011110"]);
    const k = seeded(123, { bernoulliMkl: true }).dropoutMask(36, 0.5);
    expect(rows(k, 6)).toEqual(["111111", "010000", "001010", "110001", "100001", "010000"]);
  });

  test("seed 123: rand(10).sum() and dropout(0.5).sum() (default 2.4471, MKL 1.8894)", () => {
    const sumF32 = (xs: ArrayLike<number>) => {
      let s = 0;
      for (let i = 0; i < xs.length; i++) s = Math.fround(s + xs[i]!);
      return s;
    };
    for (const [mkl, want] of [[false, 2.4471], [true, 1.8894]] as const) {
      const g = seeded(123, { bernoulliMkl: mkl });
      const t = rand(g, 10);
      expect(sumF32(t)).toBeCloseTo(3.843, 4);
      const m = g.dropoutMask(10, 0.5);
      expect(sumF32(t.map((x, i) => Math.fround(x * m[i]!)))).toBeCloseTo(want, 4);
    }
  });

  test("seed 123: randn(5,5) then Dropout(0.5), row 0 (signed zeros included)", () => {
    const g = seeded(123);
    const x = randn(g, 25);
    const m = g.dropoutMask(25, 0.5);
    const row = x.slice(0, 5).map((v, i) => Math.fround(v * m[i]!));
    expect(row.map((v) => Object.is(v, -0) ? "-0" : v.toFixed(4))).toEqual(["0.0000", "-0", "-0.6071", "-0", "0.6972"]);
  });

  test("p = 0 and p = 1 draw nothing; scale is fround(1/fround(1-p))", () => {
    const g = seeded(9);
    const ref = seeded(9);
    expect(Array.from(g.dropoutMask(4, 0))).toEqual([1, 1, 1, 1]);
    expect(Array.from(g.dropoutMask(4, 1))).toEqual([0, 0, 0, 0]);
    expect(g.random()).toBe(ref.random());
    const m = seeded(1).dropoutMask(1000, 0.1);
    expect(new Set(m)).toEqual(new Set([0, Math.fround(1 / Math.fround(0.9))]));
    expect(Math.fround(1 / Math.fround(0.9))).toBe(1.1111111640930176);
    expect(() => g.dropoutMask(3, 1.5)).toThrow();
  });

  test("MCG31 step matches BigInt arithmetic", () => {
    let x = 12345;
    let y = 12345n;
    for (let i = 0; i < 2000; i++) {
      x = mcg31Next(x);
      y = (y * 1132489760n) % 2147483647n;
      expect(x).toBe(Number(y));
    }
  });
});

describe("integers", () => {
  test("randint and randperm vectors", () => {
    expect(Array.from(seeded(0).randint(0, 10, 10))).toEqual([4, 9, 3, 0, 3, 9, 7, 3, 7, 3]);
    expect(Array.from(seeded(0).randint(0, 17, 10))).toEqual([7, 3, 12, 16, 2, 0, 16, 10, 6, 5]);
    expect(Array.from(seeded(231).randint(0, 10, 8))).toEqual([1, 0, 0, 5, 3, 2, 8, 4]);
    expect(Array.from(seeded(0).randperm(10))).toEqual([4, 1, 7, 5, 3, 9, 0, 8, 6, 2]);
    expect(Array.from(seeded(1).randperm(10))).toEqual([5, 6, 1, 2, 0, 8, 9, 3, 7, 4]);
    expect(Array.from(seeded(42).randperm(10))).toEqual([2, 6, 1, 8, 4, 5, 0, 9, 3, 7]);
    expect(Array.from(seeded(231).randperm(10))).toEqual([1, 9, 6, 0, 5, 7, 8, 2, 3, 4]);
  });

  test("randperm(0) and randperm(1) draw nothing", () => {
    const g = seeded(4);
    expect(Array.from(g.randperm(0))).toEqual([]);
    expect(Array.from(g.randperm(1))).toEqual([0]);
    expect(g.random()).toBe(seeded(4).random());
  });

  test("randomInt64 is random64 with the top bit cleared", () => {
    const a = seeded(231);
    const b = seeded(231);
    expect(a.randomInt64()).toBe(b.random64() & ((1n << 63n) - 1n));
    expect(seeded(231).random64()).toBe((3356491351n << 32n) | 2600961200n);
  });

  test("argument checks", () => {
    expect(() => seeded(0).randint(5, 5, 1)).toThrow();
    expect(() => seeded(0).randint(0, 2 ** 40, 1)).toThrow();
    expect(() => seeded(0).randperm(-1)).toThrow();
  });
});

describe("seeding and state", () => {
  test("default seed, initialSeed, and only the low 32 bits reach MT", () => {
    const d = new TorchGenerator();
    expect(d.initialSeed()).toBe(67280421310721n);
    expect(DEFAULT_TORCH_SEED).toBe(67280421310721n);
    expect(d.random()).toBe(seeded(67280421310721 % 2 ** 32).random());
    const g = seeded(2 ** 32 + 1);
    expect(g.initialSeed()).toBe(4294967297n);
    expect(Array.from(g.randperm(10))).toEqual([5, 6, 1, 2, 0, 8, 9, 3, 7, 4]);
    expect(seeded(-1).initialSeed()).toBe(18446744073709551615n);
    expect(seeded(2n ** 64n + 3n).initialSeed()).toBe(3n);
  });

  test("getState/setState round-trip through JSON, including the normal cache", () => {
    const g = seeded(77);
    randn(g, 3); // odd count on the scalar path: cache set
    const state = JSON.parse(JSON.stringify(g.getState()));
    expect(typeof state.nextDoubleNormal).toBe("number");
    const want = randn(g, 5);
    const h = seeded(1);
    h.setState(state);
    expect(randn(h, 5)).toEqual(want);
    expect(h.initialSeed()).toBe(77n);
  });

  test("clone is independent and keeps options", () => {
    const g = seeded(8, { uniformFma: false, bernoulliMkl: true });
    randn(g, 1);
    const c = g.clone();
    expect(c.uniformFma).toBe(false);
    expect(c.bernoulliMkl).toBe(true);
    const a = randn(g, 7);
    randn(g, 7);
    expect(randn(c, 7)).toEqual(a);
  });
});
