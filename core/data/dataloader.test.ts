import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TorchGenerator, manualSeed } from "../random/index.ts";
import { DataLoader, batchIndices, takeFirst, type TensorImageSet } from "./dataloader.ts";

interface Case {
  seed: number;
  n: number;
  batchSize: number;
  passes: { loader: "train" | "test"; batches: number[][] }[];
  next: number;
}
const FIXTURE = JSON.parse(readFileSync(join(import.meta.dir, "../../fixtures/dataloader/dataloader.json"), "utf8")) as { cases: Case[] };

/** n images of 1×2×2 whose pixels encode their index, label = index mod 10. */
function indexSet(n: number): TensorImageSet {
  const images = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) images.fill(i, i * 4, i * 4 + 4);
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i % 10), n, channels: 1, height: 2, width: 2 };
}

describe("DataLoader matches torch.utils.data.DataLoader (fixtures/gen/gen_dataloader.py)", () => {
  for (const c of FIXTURE.cases) {
    test(`seed ${c.seed}, n ${c.n}, batch ${c.batchSize}: ${c.passes.map((p) => p.loader).join(", ")}`, () => {
      const gen = new TorchGenerator({ seed: c.seed });
      for (const p of c.passes) {
        const got = [...batchIndices(c.n, c.batchSize, p.loader === "train", gen)].map((b) => [...b]);
        expect(got).toEqual(p.batches);
      }
      // The passes consumed exactly as many MT words as PyTorch's did.
      expect(gen.random() & 0x7fffffff).toBe(c.next);
    });
  }

  test("DataLoader over images yields the fixture's batches with their pixels and labels", () => {
    const c = FIXTURE.cases.find((x) => x.passes.some((p) => p.loader === "test") && x.n > 20)!;
    const ds = indexSet(c.n);
    const gen = new TorchGenerator({ seed: c.seed });
    const loaders = {
      train: new DataLoader(ds, { batchSize: c.batchSize, shuffle: true, generator: gen }),
      test: new DataLoader(ds, { batchSize: c.batchSize, shuffle: false, generator: gen }),
    };
    expect(loaders.train.length).toBe(Math.ceil(c.n / c.batchSize));
    for (const p of c.passes) {
      const got: number[][] = [];
      for (const b of loaders[p.loader]) {
        expect(b.images.shape).toEqual([b.size, 1, 2, 2]);
        const px = b.images.toArray();
        const idx = [...b.indices];
        expect(px.filter((_, i) => i % 4 === 0)).toEqual(idx);
        expect(b.labels.toArray()).toEqual(idx.map((i) => i % 10));
        got.push(idx);
      }
      expect(got).toEqual(p.batches);
    }
    expect(gen.random() & 0x7fffffff).toBe(c.next);
  });

  test("uses the global generator by default", () => {
    const c = FIXTURE.cases[0]!;
    manualSeed(c.seed);
    const dl = new DataLoader(indexSet(c.n), { batchSize: c.batchSize, shuffle: true });
    expect([...dl].map((b) => [...b.indices])).toEqual(c.passes[0]!.batches);
    expect([...dl].map((b) => [...b.indices])).toEqual(c.passes[1]!.batches);
  });

  test("keeps the last partial batch", () => {
    const sizes = [...new DataLoader(indexSet(10), { batchSize: 4 })].map((b) => b.size);
    expect(sizes).toEqual([4, 4, 2]);
  });

  test("bad sizes are errors", () => {
    expect(() => new DataLoader(indexSet(3), { batchSize: 0 })).toThrow(/batch size/);
    expect(() => new DataLoader({ ...indexSet(3), n: 0, images: new Float32Array(0), labels: new Int32Array(0) }, { batchSize: 2 })).toThrow(/empty/);
    expect(() => new DataLoader({ ...indexSet(3), n: 4 }, { batchSize: 2 })).toThrow(/need/);
  });

  test("takeFirst keeps the first images", () => {
    const ds = takeFirst(indexSet(10), 3);
    expect(ds.n).toBe(3);
    expect([...ds.labels]).toEqual([0, 1, 2]);
    expect(ds.images.length).toBe(12);
    expect(takeFirst(indexSet(5), 50).n).toBe(5);
  });
});
