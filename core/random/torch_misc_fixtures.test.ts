/** fixtures/random/torch_misc.json: interleaved calls, module inits, int64 draws, DataLoader order. */
import { describe, expect, test } from "bun:test";
import { TorchGenerator } from "./torch_generator.ts";
import { dataLoaderEpochOrder } from "./dataloader_shuffle.ts";
import { kaimingUniformBound, linearBiasBound } from "./init_bounds.ts";
import { compareArray, compareMask, loadFixture, type EncodedArray, type EncodedMask } from "./test_fixtures.ts";

const fx = loadFixture<any>("torch_misc.json");
const next31 = (g: TorchGenerator) => g.random() % 2 ** 31;

function f32Normal(g: TorchGenerator, n: number, mean = 0, std = 1) {
  const a = new Float32Array(n);
  g.fillNormal(a, mean, std);
  return a;
}
function f32Uniform(g: TorchGenerator, n: number, lo = 0, hi = 1) {
  const a = new Float32Array(n);
  g.fillUniform(a, lo, hi);
  return a;
}

/** nn.Linear(inF, outF): weight uniform(+-kaiming bound), then bias uniform(+-1/sqrt(fan_in)). */
function linear(g: TorchGenerator, inF: number, outF: number) {
  const b = kaimingUniformBound(inF);
  const weight = f32Uniform(g, inF * outF, -b, b);
  const bb = linearBiasBound(inF);
  const bias = f32Uniform(g, outF, -bb, bb);
  return { weight, bias };
}

describe("interleaved default-generator calls", () => {
  for (const c of fx.interleaved as { seed: number; steps: { op: string; out: EncodedArray & EncodedMask }[]; next: number }[]) {
    test(`seed ${c.seed}`, () => {
      const g = new TorchGenerator({ seed: c.seed });
      const errs: string[] = [];
      for (const s of c.steps) {
        let e: string[];
        switch (s.op) {
          case "randn_f32_3": e = compareArray(f32Normal(g, 3), s.out); break;
          case "randn_f32_20": e = compareArray(f32Normal(g, 20), s.out); break;
          case "rand_f32_5": e = compareArray(f32Uniform(g, 5), s.out); break;
          case "randn_f32_1":
          case "randn_f32_1b": e = compareArray(f32Normal(g, 1), s.out); break;
          case "randn_f32_2x3": e = compareArray(f32Normal(g, 6), s.out); break;
          case "randn_f64_5": {
            const a = new Float64Array(5);
            g.fillNormal(a, 0, 1);
            e = compareArray(a, s.out);
            break;
          }
          case "normal_f32_3_0.5_2": e = compareArray(f32Normal(g, 3, 0.5, 2), s.out); break;
          case "uniform_f32_7_-0.1_0.25": e = compareArray(f32Uniform(g, 7, -0.1, 0.25), s.out); break;
          case "bernoulli_0.5_7": {
            const a = new Uint8Array(7);
            g.fillBernoulli(a, 0.5);
            e = compareMask(a, s.out);
            break;
          }
          case "randint_0_10_4": e = compareArray(g.randint(0, 10, 4), s.out); break;
          case "randperm_5": e = compareArray(g.randperm(5), s.out); break;
          case "randn_f32_17": e = compareArray(f32Normal(g, 17), s.out); break;
          case "normal_f64_3_0_0.02": {
            const a = new Float64Array(3);
            g.fillNormal(a, 0, 0.02);
            e = compareArray(a, s.out);
            break;
          }
          case "dropout_0.1_9": e = compareMask(g.dropoutMask(9, 0.1), s.out, Math.fround(1 / Math.fround(0.9))); break;
          case "rand_f64_3": {
            const a = new Float64Array(3);
            g.fillUniform(a, 0, 1);
            e = compareArray(a, s.out);
            break;
          }
          default:
            throw new Error(`unknown step ${s.op}`);
        }
        if (e.length) errs.push(`${s.op}: ${e.slice(0, 3).join("; ")}`);
      }
      expect(errs).toEqual([]);
      expect(next31(g)).toBe(c.next);
    });
  }
});

describe("module inits: Linear(128,128), Embedding(10,8,padding_idx=0), Linear(3,2)", () => {
  for (const c of fx.modules as any[]) {
    test(`seed ${c.seed}`, () => {
      const g = new TorchGenerator({ seed: c.seed });
      const big = linear(g, 128, 128);
      const emb = f32Normal(g, 80); // init.normal_(weight): AVX2 path (80 >= 16)
      emb.fill(0, 0, 8); // padding row zeroed, no draws
      const small = linear(g, 3, 2);
      expect(compareArray(big.weight, c.linear128_weight)).toEqual([]);
      expect(compareArray(big.bias, c.linear128_bias)).toEqual([]);
      expect(compareArray(emb, c.embedding_10_8_pad0)).toEqual([]);
      expect(compareArray(small.weight, c.linear3_2_weight)).toEqual([]);
      expect(compareArray(small.bias, c.linear3_2_bias)).toEqual([]);
      expect(next31(g)).toBe(c.next);
    });
  }

  test("seed 0 nn.Linear(3,2).weight (settled: fused uniform_)", () => {
    const w = linear(new TorchGenerator({ seed: 0 }), 3, 2).weight;
    expect(fx.linear3_2_seed0_weight[0][0]).toBe(-0.004322517663240433);
    expect(Array.from(w)).toEqual(fx.linear3_2_seed0_weight.flat());
  });
});

describe("int64 draws", () => {
  for (const c of fx.bigint as any[]) {
    test(`seed ${c.seed}`, () => {
      const g = new TorchGenerator({ seed: c.seed });
      expect(Array.from(g.randintBigInt(0n, 2n ** 33n, 5), String)).toEqual(c.randint_0_2p33);
      expect(Array.from(g.randintBigInt(-(2n ** 40n), 2n ** 40n, 3), String)).toEqual(c.randint_pm2p40);
      expect([g.randomInt64(), g.randomInt64(), g.randomInt64()].map(String)).toEqual(c.random_int64);
      // range exactly 2^32 needs random64 even though the values fit int32
      expect(Array.from(g.randint(-(2 ** 31), 2 ** 31, 4))).toEqual(c.randint_int32_full);
      expect(next31(g)).toBe(c.next);
    });
  }
});

describe("DataLoader(shuffle=True) epoch order", () => {
  for (const c of fx.dataloader as { seed: number; n: number; epochs: number[][]; next: number }[]) {
    test(`seed ${c.seed}, n ${c.n}, two epochs`, () => {
      const g = new TorchGenerator({ seed: c.seed });
      const e1 = Array.from(dataLoaderEpochOrder(g, c.n));
      const e2 = Array.from(dataLoaderEpochOrder(g, c.n));
      expect(e1).toEqual(c.epochs[0]!);
      expect(e2).toEqual(c.epochs[1]!);
      expect(e1).not.toEqual(e2);
      expect(next31(g)).toBe(c.next); // exactly 4 global words per epoch
    });
  }
});

describe("generator seeding facts", () => {
  test("seed 2^32 + 1: initial_seed kept in full, stream of seed 1", () => {
    const g = new TorchGenerator({ seed: 2 ** 32 + 1 });
    expect(g.initialSeed().toString()).toBe(fx.seed_2p32_plus_1.initial_seed);
    expect(Array.from(g.randperm(10))).toEqual(fx.seed_2p32_plus_1.randperm10);
  });

  test("torch.Generator() default seed and stream", () => {
    const g = new TorchGenerator();
    expect(g.initialSeed().toString()).toBe(fx.default_generator_initial_seed);
    expect(Array.from(f32Uniform(g, 4))).toEqual(fx.default_generator_rand4);
  });
});

describe("large float32 fills (200003 elements, hashed)", () => {
  for (const c of fx.big_f32 as { seed: number; op: string; out: EncodedArray; next: number }[]) {
    test(`${c.op} seed ${c.seed}`, () => {
      const g = new TorchGenerator({ seed: c.seed });
      const a = new Float32Array(c.out.n);
      if (c.op === "randn") g.fillNormal(a, 0, 1);
      else if (c.op === "normal_0.5_2") g.fillNormal(a, 0.5, 2);
      else if (c.op === "uniform_-0.3_0.3") g.fillUniform(a, -0.3, 0.3);
      else throw new Error(`unknown op ${c.op}`);
      expect(compareArray(a, c.out)).toEqual([]);
      expect(next31(g)).toBe(c.next);
    });
  }
});
