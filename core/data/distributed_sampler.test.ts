import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TorchGenerator } from "../random/index.ts";
import { DataLoader, samplerBatchIndices, type TensorImageSet } from "./dataloader.ts";
import { DistributedSampler } from "./distributed_sampler.ts";

interface SamplerCase {
  n: number;
  numReplicas: number;
  seed: number;
  epoch: number;
  shuffle: boolean;
  dropLast: boolean;
  ranks: number[][];
}
interface LoaderCase {
  seed: number;
  n: number;
  numReplicas: number;
  rank: number;
  batchSize: number;
  passes: number[][][];
  next: number;
}
const FIXTURE = JSON.parse(readFileSync(join(import.meta.dir, "../../fixtures/distributed/sampler.json"), "utf8")) as {
  samplers: SamplerCase[];
  loaders: LoaderCase[];
};

describe("DistributedSampler matches PyTorch's (fixtures/gen/gen_distributed_sampler.py)", () => {
  for (const c of FIXTURE.samplers) {
    test(`n ${c.n}, ${c.numReplicas} ranks, seed ${c.seed}, epoch ${c.epoch}${c.shuffle ? "" : ", no shuffle"}${c.dropLast ? ", drop_last" : ""}`, () => {
      c.ranks.forEach((expected, rank) => {
        const s = new DistributedSampler(c.n, { numReplicas: c.numReplicas, rank, seed: c.seed, shuffle: c.shuffle, dropLast: c.dropLast });
        s.setEpoch(c.epoch);
        expect(s.length).toBe(expected.length);
        expect([...s.indices()]).toEqual(expected);
      });
    });
  }

  for (const c of FIXTURE.loaders) {
    test(`DataLoader(sampler=…): seed ${c.seed}, n ${c.n}, rank ${c.rank} of ${c.numReplicas}, batch ${c.batchSize}, ${c.passes.length} epochs`, () => {
      const gen = new TorchGenerator({ seed: c.seed });
      const s = new DistributedSampler(c.n, { numReplicas: c.numReplicas, rank: c.rank, seed: c.seed });
      c.passes.forEach((batches, epoch) => {
        s.setEpoch(epoch);
        expect([...samplerBatchIndices(s, c.batchSize, gen)].map((b) => [...b])).toEqual(batches);
      });
      // Each pass drew only the loader's base seed from the global stream, as PyTorch does.
      expect(gen.random() & 0x7fffffff).toBe(c.next);
    });
  }
});

describe("DistributedSampler", () => {
  test("N ranks with batch b together see the global batches of one rank with batch N·b", () => {
    const n = 96, N = 3, b = 4;
    const one = new DistributedSampler(n, { numReplicas: 1, rank: 0, seed: 9 });
    one.setEpoch(2);
    const global = one.indices();
    const shards = Array.from({ length: N }, (_, r) => {
      const s = new DistributedSampler(n, { numReplicas: N, rank: r, seed: 9 });
      s.setEpoch(2);
      return s.indices();
    });
    for (let k = 0; k < n / (N * b); k++) {
      const union = shards.flatMap((sh) => [...sh.subarray(k * b, (k + 1) * b)]).sort((x, y) => x - y);
      expect(union).toEqual([...global.subarray(k * N * b, (k + 1) * N * b)].sort((x, y) => x - y));
    }
  });

  test("the DataLoader batches by the sampler and reports its length", () => {
    const n = 10;
    const ds: TensorImageSet = {
      images: Float32Array.from({ length: n }, (_, i) => i), labels: Int32Array.from({ length: n }, (_, i) => i), n, channels: 1, height: 1, width: 1,
    };
    const s = new DistributedSampler(n, { numReplicas: 3, rank: 1, seed: 0 });
    const loader = new DataLoader(ds, { batchSize: 3, sampler: s, generator: new TorchGenerator({ seed: 0 }) });
    expect(loader.length).toBe(2);
    const batches = [...loader];
    expect(batches.map((x) => [...x.labels.data()])).toEqual([[...s.indices().subarray(0, 3)], [...s.indices().subarray(3)]]);
    expect(() => new DataLoader(ds, { batchSize: 3, sampler: s, shuffle: true })).toThrow(/mutually exclusive/);
  });

  test("bad arguments are errors that say what is wrong", () => {
    expect(() => new DistributedSampler(10, { numReplicas: 2, rank: 2 })).toThrow(/invalid rank 2/);
    expect(() => new DistributedSampler(0, { numReplicas: 2, rank: 0 })).toThrow(/empty/);
    expect(() => new DistributedSampler(10, { numReplicas: 0, rank: 0 })).toThrow(/at least one replica/);
  });
});
