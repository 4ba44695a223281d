/**
 * --augment against torchvision 0.14 (fixtures/cnn/augment.json, written by fixtures/gen/gen_cnn.py):
 * after torch.manual_seed, image after image, the crop corners and flips drawn from xt's generator
 * are torchvision's, the generator ends at the same word, and the transformed pixels are equal.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { XtError } from "../errors.ts";
import { TorchGenerator } from "../random/index.ts";
import { augmentTransform, defaultCropPadding, drawAugment, parseAugmentList, type AugmentConfig } from "./augment.ts";
import { DataLoader } from "./dataloader.ts";

interface Draw { top?: number; left?: number; flip: boolean }
interface DrawCase { crop: boolean; flip: boolean; size: number; padding: number; channels: number; seed: number; images: Draw[]; next: string }
const A = JSON.parse(readFileSync(join(import.meta.dir, "../../fixtures/cnn/augment.json"), "utf8")) as {
  draws: DrawCase[];
  images: { seed: number; padding: number; input: { shape: number[]; values: number[] }; draws: Draw[]; outputs: { values: number[] }[] };
};

describe("augmentation draws equal torchvision's RandomCrop / RandomHorizontalFlip", () => {
  for (const c of A.draws) {
    const what = [c.crop ? `crop ${c.size} padding ${c.padding}` : "", c.flip ? "flip" : ""].filter(Boolean).join(" + ");
    test(`${what}, seed ${c.seed}: ${c.images.length} images`, () => {
      const gen = new TorchGenerator({ seed: c.seed });
      const cfg: AugmentConfig = { crop: c.crop, flip: c.flip, cropPadding: c.padding };
      const got = c.images.map(() => drawAugment(cfg, gen));
      got.forEach((d, i) => {
        const want = c.images[i]!;
        expect(d.flipped, `image ${i} flip`).toBe(want.flip);
        if (want.top !== undefined) expect([d.top, d.left], `image ${i} corner`).toEqual([want.top, want.left!]);
      });
      expect(gen.randomInt64()).toBe(BigInt(c.next));
    });
  }

  test("the transformed pixels of a non-square two-channel image equal torchvision's", () => {
    const [C, H, W] = A.images.input.shape as [number, number, number];
    const input = Float32Array.from(A.images.input.values);
    const t = augmentTransform({ crop: true, flip: true, cropPadding: A.images.padding }, { channels: C, height: H, width: W })!;
    const gen = new TorchGenerator({ seed: A.images.seed });
    A.images.outputs.forEach((want, i) => {
      const img = input.slice();
      t(img, gen);
      expect(Array.from(img), `image ${i} (${JSON.stringify(A.images.draws[i])})`).toEqual(Array.from(Float32Array.from(want.values)));
    });
  });
});

describe("augmentation in the DataLoader", () => {
  test("each image of a batch is transformed in the batch's order, after the loader's own draws", () => {
    const n = 6;
    const images = new Float32Array(n * 4 * 4);
    for (let i = 0; i < images.length; i++) images[i] = (i % 16) + 1;
    const ds = { images, labels: new Int32Array(n), n, channels: 1, height: 4, width: 4 };
    const cfg: AugmentConfig = { crop: true, flip: true, cropPadding: 1 };
    const loaded = [...new DataLoader(ds, { batchSize: 4, shuffle: true, generator: new TorchGenerator({ seed: 9 }), transform: augmentTransform(cfg, ds) })];
    // The same draws by hand: base seed, sampler seed + order, then three words per image.
    const gen = new TorchGenerator({ seed: 9 });
    gen.randomInt64();
    const order = new TorchGenerator({ seed: gen.randomInt64() }).randperm(n);
    const t = augmentTransform(cfg, ds)!;
    const want = Array.from(order, (k) => {
      const img = images.slice(k * 16, (k + 1) * 16);
      t(img, gen);
      return Array.from(img);
    });
    const got = loaded.flatMap((b) => {
      const px = b.images.toArray();
      return Array.from({ length: b.size }, (_, i) => px.slice(i * 16, (i + 1) * 16));
    });
    expect(got).toEqual(want);
  });

  test("no augmentation: no transform and no draws", () => {
    expect(augmentTransform({ crop: false, flip: false, cropPadding: 4 }, { channels: 1, height: 8, width: 8 })).toBeUndefined();
    expect(augmentTransform({ crop: true, flip: false, cropPadding: 0 }, { channels: 1, height: 8, width: 8 })).toBeUndefined();
  });
});

describe("--augment parsing and defaults", () => {
  test("crop, flip, both, none", () => {
    expect(parseAugmentList("crop,flip")).toEqual({ crop: true, flip: true });
    expect(parseAugmentList("flip")).toEqual({ crop: false, flip: true });
    expect(parseAugmentList(" Crop ")).toEqual({ crop: true, flip: false });
    expect(parseAugmentList("none")).toEqual({ crop: false, flip: false });
  });
  test("unknown names are usage errors naming the flag", () => {
    for (const bad of ["rotate", "", ","]) {
      let err: unknown;
      try {
        parseAugmentList(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(XtError);
      expect((err as XtError).exitCode).toBe(2);
      expect((err as Error).message).toContain("--augment");
    }
  });
  test("crop padding defaults to an eighth of the side: 4 for 32×32, 3 for 28×28", () => {
    expect(defaultCropPadding(32)).toBe(4);
    expect(defaultCropPadding(28)).toBe(3);
  });
});
