import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import {
  COCO_FILES, decodeCaptions, EMBEDDED_COCO_LOCATION, embeddedCocoSource, loadCocoData, resolveCocoSource,
  sampleCocoMinibatch, type CocoData, type CocoRng,
} from "./coco.ts";
import { COCO_MINI_FILES } from "./coco_mini_embedded.ts";
import { COCO_MINI, copyInto, DATASETS, expectDataErrorAsync, scribble, tempDir, truncateFile, withDataDirEnv } from "./testing.ts";

const E = JSON.parse(readFileSync(join(DATASETS, "coco-mini-expected.json"), "utf8"));
const tmp = tempDir();
afterAll(tmp.cleanup);

/** Replays NumPy's recorded draws, checking that each is asked for with the reference's arguments. */
class ReplayRng implements CocoRng {
  constructor(private readonly script: { fn: "randint" | "choice"; args: unknown[]; out: number[] }[]) {}
  private next(fn: string, args: unknown[]): number[] {
    const s = this.script.shift();
    if (s === undefined) throw new Error(`unexpected ${fn}(${args.join(", ")})`);
    expect(fn).toBe(s.fn);
    expect(args).toEqual(s.args);
    return s.out;
  }
  randint(low: number, high: number | undefined, size: number): number[] {
    return this.next("randint", [low, high, size]);
  }
  choice(a: number, size: number, replace?: boolean): number[] {
    return this.next("choice", replace === undefined ? [a, size] : [a, size, replace]);
  }
  get remaining(): number {
    return this.script.length;
  }
}

function f64Sum(a: Float32Array, from = 0, to = a.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i]!;
  return s;
}

function rowSums(a: Float32Array, rows: number, cols: number): number[] {
  return Array.from({ length: rows }, (_, r) => f64Sum(a, r * cols, (r + 1) * cols));
}

function closeList(a: number[], b: number[], tol: number) {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(Math.abs(x - b[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!))));
}

/** Writes an HDF5 file with h5wasm (for crafting bad inputs). */
async function writeH5(path: string, datasets: { name: string; data: Int32Array | Float32Array | Float64Array; shape: number[] }[]) {
  const { FS } = await h5wasm.ready;
  const v = `/xt-test-${Math.random().toString(36).slice(2)}.h5`;
  const f = new h5wasm.File(v, "w");
  for (const d of datasets) f.create_dataset({ name: d.name, data: d.data, shape: d.shape });
  f.close();
  writeFileSync(path, FS.readFile(v));
  FS.unlink(v);
}

/** A copy of coco-mini in a fresh folder. */
function cocoCopy(name: string): string {
  const dir = join(tmp.dir, name);
  copyInto(tmp.dir, COCO_MINI, name);
  return dir;
}

const embedded = await withDataDirEnv(undefined, () => loadCocoData());

describe("COCO loading", () => {
  test("the embedded default (coco-mini) with PCA features", () => {
    const d = embedded;
    expect(d.source).toBe(EMBEDDED_COCO_LOCATION);
    expect(d.pcaFeatures).toBe(true);
    expect([d.train.numCaptions, d.val.numCaptions]).toEqual([E.num_train_captions, E.num_val_captions]);
    expect([d.train.numImages, d.val.numImages]).toEqual([E.num_train_images, E.num_val_images]);
    expect([d.captionLength, d.featureDim]).toEqual([17, 512]);
    expect(d.train.captions.length).toBe(E.num_train_captions * 17);
    expect(d.train.features.length).toBe(E.num_train_images * 512);
    expect(d.idxToWord.length).toBe(E.vocab_size);
    expect(d.idxToWord.slice(0, 4)).toEqual(["<NULL>", "<START>", "<END>", "<UNK>"]);
    expect(d.wordToIdx["<END>"]).toBe(2);
    expect(Array.from(d.train.captions.subarray(0, 17))).toEqual(E.train_caption_0);
    expect(Array.from(d.train.features.subarray(0, 4))).toEqual(E.train_pca_first_row_head.map(Math.fround));
    expect(f64Sum(d.train.features)).toBeCloseTo(E.train_pca_sum, 6);
    expect(f64Sum(d.val.features)).toBeCloseTo(E.val_pca_sum, 6);
    expect(d.train.urls.length).toBe(E.num_train_images);
    expect(d.val.urls[3]).toBe("http://coco-mini.invalid/val2014/COCO_mini_val_000003.jpg");
    expect(d.trainSubsample).toBeNull();
    // every caption: <START> ... <END> then <NULL> padding
    for (const s of [d.train, d.val]) {
      for (let i = 0; i < s.numCaptions; i++) {
        const row = Array.from(s.captions.subarray(i * 17, (i + 1) * 17));
        expect(row[0]).toBe(1);
        const end = row.indexOf(2);
        expect(end).toBeGreaterThan(1);
        expect(row.slice(end + 1).every((w) => w === 0)).toBe(true);
        expect(row.slice(1, end).every((w) => w >= 3)).toBe(true);
      }
    }
    let unk = 0;
    for (let i = 0; i < d.train.numCaptions; i++) if (d.train.captions.subarray(i * 17, i * 17 + 17).includes(3)) unk++;
    expect(unk).toBe(E.unk_caption_count);
  });

  test("a folder on disk, without PCA features (4096-d fc7)", async () => {
    const d = await loadCocoData(COCO_MINI, { pcaFeatures: false });
    expect(d.source).toBe(COCO_MINI);
    expect(d.featureDim).toBe(4096);
    expect(d.pcaFeatures).toBe(false);
    expect(f64Sum(d.train.features)).toBeCloseTo(E.train_fc7_sum, 4);
    expect(f64Sum(d.val.features)).toBeCloseTo(E.val_fc7_sum, 4);
    let zeros = 0;
    for (const v of d.train.features) if (v === 0) zeros++;
    expect(zeros / d.train.features.length).toBeCloseTo(E.fc7_zero_fraction, 10);
    expect(d.train.captions).toEqual(embedded.train.captions);
  });

  test("embedded files are the fixture files", async () => {
    for (const [name, path] of Object.entries(COCO_MINI_FILES)) {
      expect(new Uint8Array(await Bun.file(path).arrayBuffer())).toEqual(new Uint8Array(readFileSync(join(COCO_MINI, name))));
    }
    expect(Object.keys(COCO_MINI_FILES).sort()).toEqual(Object.values(COCO_FILES).slice().sort());
  });

  test("folder resolution: explicit folder or its parent, XT_DATA_DIR, else embedded", () => {
    const parent = join(tmp.dir, "parent");
    copyInto(parent, COCO_MINI, "coco_captioning");
    expect(resolveCocoSource(parent).location).toBe(join(parent, "coco_captioning"));
    expect(resolveCocoSource(COCO_MINI).location).toBe(COCO_MINI);
    expect(withDataDirEnv(parent, () => resolveCocoSource()).location).toBe(join(parent, "coco_captioning"));
    expect(withDataDirEnv(DATASETS, () => resolveCocoSource()).kind).toBe("embedded");
    expect(withDataDirEnv(undefined, () => resolveCocoSource()).kind).toBe("embedded");
  });

  test("maxTrain subsamples train captions with np.random.randint(num_train, size=max_train)", async () => {
    const rng = new ReplayRng([{ fn: "randint", args: [E.num_train_captions, undefined, 50], out: E.max_train_mask }]);
    const d = await loadCocoData(embeddedCocoSource(), { maxTrain: 50 }, rng);
    expect(rng.remaining).toBe(0);
    expect(d.train.numCaptions).toBe(50);
    expect(Array.from(d.train.captions)).toEqual(E.max_train_captions.flat());
    expect(Array.from(d.train.imageIdxs)).toEqual(E.max_train_image_idxs);
    expect(d.trainSubsample).toEqual(E.max_train_mask);
    // features, URLs and val are not subsampled
    expect(d.train.numImages).toBe(E.num_train_images);
    expect(d.train.urls.length).toBe(E.num_train_images);
    expect(d.val.numCaptions).toBe(E.num_val_captions);
  });

  test("sampleCocoMinibatch draws np.random.choice(split_size, batch_size) and gathers by image", async () => {
    const rng = new ReplayRng([
      { fn: "randint", args: [E.num_train_captions, undefined, 50], out: E.max_train_mask },
      { fn: "choice", args: [50, 25], out: E.train_batch_mask },
      { fn: "choice", args: [E.num_val_captions, 4], out: E.val_batch_mask },
    ]);
    const d = await loadCocoData(COCO_MINI, { maxTrain: 50 }, rng);
    const b = sampleCocoMinibatch(d, 25, "train", rng);
    expect(b.mask).toEqual(E.train_batch_mask);
    expect(Array.from(b.imageIdxs)).toEqual(E.train_batch_image_idxs);
    expect(b.urls).toEqual(E.train_batch_urls);
    closeList(rowSums(b.features, 25, 512), E.train_batch_feature_sums_pca, 1e-9);
    expect(decodeCaptions(b.captions, d.idxToWord, 17)).toEqual(E.train_batch_decoded);

    const dv = await loadCocoData(COCO_MINI, { pcaFeatures: false });
    const v = sampleCocoMinibatch(dv, 4, "val", rng);
    expect(rng.remaining).toBe(0);
    expect(Array.from(v.imageIdxs)).toEqual(E.val_batch_image_idxs);
    closeList(rowSums(v.features, 4, 4096), E.val_batch_feature_sums_fc7, 1e-9);
    expect(decodeCaptions(v.captions, dv.idxToWord, 17)).toEqual(E.val_batch_decoded);
    expect([v.batchSize, v.captionLength, v.featureDim]).toEqual([4, 17, 4096]);
  });

  test("with the real NumPy RandomState port, seed 231 gives NumPy's indices", async () => {
    const path = "../random/numpy_random_state.ts";
    let mod: { NumpyRandomState: new (seed?: number) => CocoRng } | null = null;
    try {
      mod = await import(path);
    } catch {
      console.warn("skipping: core/random/numpy_random_state.ts is not there yet");
      return;
    }
    const rng = new mod!.NumpyRandomState(231);
    const d = await loadCocoData(embeddedCocoSource(), { maxTrain: 50 }, rng);
    expect(d.trainSubsample).toEqual(E.max_train_mask);
    expect(sampleCocoMinibatch(d, 25, "train", rng).mask).toEqual(E.train_batch_mask);
    const v = await loadCocoData(embeddedCocoSource());
    expect(sampleCocoMinibatch(v, 4, "val", rng).mask).toEqual(E.val_batch_mask);
  });

  test("loadCocoData refuses maxTrain without a random state", async () => {
    await expect(loadCocoData(COCO_MINI, { maxTrain: 5 })).rejects.toThrow(/needs the NumPy random state/);
  });
});

describe("decodeCaptions", () => {
  const w = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat", "sat"];
  test("reference semantics: drop <NULL>, keep <START>, stop after <END>", () => {
    expect(decodeCaptions([1, 4, 5, 0, 6, 2, 4, 4, 0], w)).toBe("<START> a cat sat <END>");
    expect(decodeCaptions([4, 3, 5], w)).toBe("a <UNK> cat");
    expect(decodeCaptions([0, 0], w)).toBe("");
    expect(decodeCaptions([[1, 5, 2, 5], [1, 4, 0, 0]], w)).toEqual(["<START> cat <END>", "<START> a"]);
    expect(decodeCaptions(new Int32Array([1, 5, 2, 5, 1, 4, 0, 0]), w, 4)).toEqual(["<START> cat <END>", "<START> a"]);
    expect(decodeCaptions(embedded.train.captions.subarray(0, 17), embedded.idxToWord)).toBe(E.train_caption_0_decoded);
  });
  test("ids outside the vocabulary and ragged input throw", () => {
    expect(() => decodeCaptions([1, 7], w)).toThrow(/word id 7 is outside the vocabulary \(7 words\)/);
    expect(() => decodeCaptions([1, -1], w)).toThrow(/word id -1/);
    expect(() => decodeCaptions([1, 2, 3], w, 2)).toThrow(/not a whole number of rows/);
  });
});

describe("COCO bad input", () => {
  test("missing files", async () => {
    const dir = cocoCopy("missing");
    rmSync(join(dir, COCO_FILES.valFeaturesPca));
    await expectDataErrorAsync(() => loadCocoData(dir), join(dir, COCO_FILES.valFeaturesPca), /file not found/);
    // the 4096-d files are still there
    expect((await loadCocoData(dir, { pcaFeatures: false })).featureDim).toBe(4096);
    rmSync(join(dir, COCO_FILES.trainUrls));
    await expectDataErrorAsync(() => loadCocoData(dir, { pcaFeatures: false }), join(dir, COCO_FILES.trainUrls), /file not found/);
    rmSync(join(dir, COCO_FILES.captions));
    await expectDataErrorAsync(() => loadCocoData(dir), join(dir, COCO_FILES.captions), /file not found.*not a COCO captioning folder/);
    await expectDataErrorAsync(() => loadCocoData(join(tmp.dir, "nowhere")), join(tmp.dir, "nowhere"), /COCO data folder not found/);
  });

  test("missing dataset key", async () => {
    const dir = cocoCopy("nokey");
    const d = embedded;
    await writeH5(join(dir, COCO_FILES.captions), [
      { name: "train_captions", data: d.train.captions, shape: [d.train.numCaptions, 17] },
      { name: "train_image_idxs", data: d.train.imageIdxs, shape: [d.train.numCaptions] },
      { name: "val_image_idxs", data: d.val.imageIdxs, shape: [d.val.numCaptions] },
    ]);
    const e = await expectDataErrorAsync(() => loadCocoData(dir), COCO_FILES.captions, /missing dataset 'val_captions'/);
    expect(e.file).toBe(join(dir, COCO_FILES.captions));
    await writeH5(join(dir, COCO_FILES.trainFeaturesPca), [{ name: "feats", data: new Float32Array(6), shape: [3, 2] }]);
    await expectDataErrorAsync(() => loadCocoData(dir, { pcaFeatures: false }), COCO_FILES.captions, /missing dataset 'val_captions'/);
  });

  test("wrong dtypes, shapes and out-of-range indices", async () => {
    const d = embedded;
    const dir = cocoCopy("shapes");
    const cap = join(dir, COCO_FILES.captions);
    const capSets = (c: Int32Array | Float64Array, idx = d.train.imageIdxs) => [
      { name: "train_captions", data: c, shape: [d.train.numCaptions, 17] },
      { name: "train_image_idxs", data: idx, shape: [d.train.numCaptions] },
      { name: "val_captions", data: d.val.captions, shape: [d.val.numCaptions, 17] },
      { name: "val_image_idxs", data: d.val.imageIdxs, shape: [d.val.numCaptions] },
    ];
    await writeH5(cap, capSets(Float64Array.from(d.train.captions)));
    await expectDataErrorAsync(() => loadCocoData(dir), cap, /'train_captions' has dtype float64, expected integers/);

    const bad = Int32Array.from(d.train.captions);
    bad[5 * 17 + 3] = 999;
    await writeH5(cap, capSets(bad));
    await expectDataErrorAsync(() => loadCocoData(dir), cap, /train_captions\[5, 3\] = 999 is outside the vocabulary/);

    await writeH5(cap, capSets(d.train.captions, d.train.imageIdxs.subarray(0, 10)).map((s) =>
      s.name === "train_image_idxs" ? { ...s, shape: [10] } : s));
    await expectDataErrorAsync(() => loadCocoData(dir), cap, /train_image_idxs has 10 entries but train_captions has \d+ rows/);

    await writeH5(cap, capSets(d.train.captions));
    const feat = join(dir, COCO_FILES.trainFeaturesPca);
    await writeH5(feat, [{ name: "features", data: new Float32Array(3 * 512), shape: [3, 512] }]);
    const first = Array.from(d.train.imageIdxs).findIndex((k) => k >= 3);
    await expectDataErrorAsync(() => loadCocoData(dir), feat,
      new RegExp(`features has 3 rows but train_image_idxs refers to image ${d.train.imageIdxs[first]} \\(caption ${first}\\)`));

    const nt = E.num_train_images;
    await writeH5(feat, [{ name: "features", data: new Float32Array(nt * 7), shape: [nt, 7] }]);
    await expectDataErrorAsync(() => loadCocoData(dir), join(dir, COCO_FILES.valFeaturesPca), /features are 512 wide but train2014_vgg16_fc7_pca.h5 has 7/);

    await writeH5(feat, [{ name: "features", data: new Int32Array(nt * 512), shape: [nt, 512] }]);
    await expectDataErrorAsync(() => loadCocoData(dir), feat, /'features' has dtype int32, expected float32/);

    await writeH5(feat, [{ name: "features", data: new Float32Array(nt * 512), shape: [nt * 512] }]);
    await expectDataErrorAsync(() => loadCocoData(dir), feat, new RegExp(`'features' has shape \\(${nt * 512}\\), expected 2 dimensions`));
  });

  test("truncated, corrupt and non-HDF5 files", async () => {
    const dir = cocoCopy("corrupt");
    const feat = join(dir, COCO_FILES.trainFeaturesPca);
    truncateFile(feat, 0.5);
    await expectDataErrorAsync(() => loadCocoData(dir), feat, /truncated HDF5 file \(truncated file: eof = \d+/);
    truncateFile(feat, 100);
    await expectDataErrorAsync(() => loadCocoData(dir), feat, /HDF5/);
    writeFileSync(feat, "not hdf5 at all\n");
    await expectDataErrorAsync(() => loadCocoData(dir), feat, /not an HDF5 file/);
    writeFileSync(feat, "");
    await expectDataErrorAsync(() => loadCocoData(dir), feat, /empty file/);

    const dir2 = cocoCopy("corrupt2");
    const cap = join(dir2, COCO_FILES.captions);
    scribble(cap, 3000, 12000); // inside the compressed train chunks
    await expectDataErrorAsync(() => loadCocoData(dir2), cap, /corrupt|cannot read/);

    // the loader still works afterwards (h5wasm state is not left broken)
    expect((await loadCocoData(COCO_MINI)).train.numCaptions).toBe(E.num_train_captions);
  });

  test("corrupt vocabulary and URL lists", async () => {
    const dir = cocoCopy("vocab");
    const vocab = join(dir, COCO_FILES.vocab);
    truncateFile(vocab, 0.5);
    await expectDataErrorAsync(() => loadCocoData(dir), vocab, /corrupt or truncated JSON/);
    writeFileSync(vocab, JSON.stringify({ idx_to_word: embedded.idxToWord }));
    await expectDataErrorAsync(() => loadCocoData(dir), vocab, /missing key 'word_to_idx'/);
    writeFileSync(vocab, JSON.stringify({ idx_to_word: embedded.idxToWord, word_to_idx: { ...embedded.wordToIdx, a: 7 } }));
    await expectDataErrorAsync(() => loadCocoData(dir), vocab, /word_to_idx\['a'\] = 7 but idx_to_word\[7\] is/);
    copyInto(dir, join(COCO_MINI, COCO_FILES.vocab));

    const urls = join(dir, COCO_FILES.valUrls);
    writeFileSync(urls, readFileSync(urls, "utf8").split("\n").slice(0, 10).join("\n"));
    await expectDataErrorAsync(() => loadCocoData(dir), urls, new RegExp(`has 10 URLs but val2014_vgg16_fc7_pca.h5 has ${E.num_val_images} images`));
  });
});

export type { CocoData };
