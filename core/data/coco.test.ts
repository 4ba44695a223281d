import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import h5wasm from "h5wasm/node";
import {
  COCO_FILES, cocoDirSource, decodeCaptions, EMBEDDED_COCO_LOCATION, embeddedCocoSource, gatherCocoBatch, loadCocoData,
  resolveCocoSource, sampleCocoMinibatch, temporaryCopy, type CocoData, type CocoRng, type CocoSource, type CocoSplitData,
} from "./coco.ts";
import { COCO_MINI_FILES } from "./coco_mini_embedded.ts";
import { DataError } from "../errors.ts";
import { NumpyRandomState } from "../random/numpy_random_state.ts";
import {
  allRows, COCO_MINI, copyInto, DATASETS, expectDataError, expectDataErrorAsync, scribble, tempDir, truncateFile, withDataDirEnv,
} from "./testing.ts";

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

/** Writes an HDF5 file with h5wasm (for crafting bad inputs), in place like the loader reads. */
async function writeH5(path: string, datasets: { name: string; data: Int32Array | Float32Array | Float64Array; shape: number[] }[]) {
  await h5wasm.ready;
  rmSync(path, { force: true });
  const f = new h5wasm.File(path, "w");
  for (const d of datasets) f.create_dataset({ name: d.name, data: d.data, shape: d.shape });
  f.close();
}

/** A copy of coco-mini in a fresh folder. */
function cocoCopy(name: string): string {
  const dir = join(tmp.dir, name);
  copyInto(tmp.dir, COCO_MINI, name);
  return dir;
}

/** A split's rows as plain arrays (reads them all). */
function arrays(s: CocoSplitData) {
  return { numCaptions: s.numCaptions, captions: allRows(s.captions), imageIdxs: allRows(s.imageIdxs), features: allRows(s.features) };
}

const embedded = await withDataDirEnv(undefined, () => loadCocoData());
const mini = { train: arrays(embedded.train), val: arrays(embedded.val) };

describe("COCO loading", () => {
  test("the embedded default (coco-mini) with PCA features", () => {
    const d = embedded;
    expect(d.source).toBe(EMBEDDED_COCO_LOCATION);
    expect(d.pcaFeatures).toBe(true);
    expect([d.train.numCaptions, d.val.numCaptions]).toEqual([E.num_train_captions, E.num_val_captions]);
    expect([d.train.numImages, d.val.numImages]).toEqual([E.num_train_images, E.num_val_images]);
    expect([d.captionLength, d.featureDim]).toEqual([17, 512]);
    expect(mini.train.captions.length).toBe(E.num_train_captions * 17);
    expect(mini.train.features.length).toBe(E.num_train_images * 512);
    expect(d.idxToWord.length).toBe(E.vocab_size);
    expect(d.idxToWord.slice(0, 4)).toEqual(["<NULL>", "<START>", "<END>", "<UNK>"]);
    expect(d.wordToIdx["<END>"]).toBe(2);
    expect(Array.from(mini.train.captions.subarray(0, 17))).toEqual(E.train_caption_0);
    expect(Array.from(mini.train.features.subarray(0, 4))).toEqual(E.train_pca_first_row_head.map(Math.fround));
    expect(f64Sum(mini.train.features)).toBeCloseTo(E.train_pca_sum, 6);
    expect(f64Sum(mini.val.features)).toBeCloseTo(E.val_pca_sum, 6);
    expect(d.train.urls.length).toBe(E.num_train_images);
    expect(d.val.urls.get(3)).toBe("http://coco-mini.invalid/val2014/COCO_mini_val_000003.jpg");
    expect(d.trainSubsample).toBeNull();
    // every caption: <START> ... <END> then <NULL> padding
    for (const s of [mini.train, mini.val]) {
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
    for (let i = 0; i < d.train.numCaptions; i++) if (mini.train.captions.subarray(i * 17, i * 17 + 17).includes(3)) unk++;
    expect(unk).toBe(E.unk_caption_count);
  });

  test("a folder on disk, without PCA features (4096-d fc7)", async () => {
    const d = await loadCocoData(COCO_MINI, { pcaFeatures: false });
    expect(d.source).toBe(COCO_MINI);
    expect(d.featureDim).toBe(4096);
    expect(d.pcaFeatures).toBe(false);
    const a = { train: arrays(d.train), val: arrays(d.val) };
    expect(f64Sum(a.train.features)).toBeCloseTo(E.train_fc7_sum, 4);
    expect(f64Sum(a.val.features)).toBeCloseTo(E.val_fc7_sum, 4);
    let zeros = 0;
    for (const v of a.train.features) if (v === 0) zeros++;
    expect(zeros / a.train.features.length).toBeCloseTo(E.fc7_zero_fraction, 10);
    expect(a.train.captions).toEqual(mini.train.captions);
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
    expect(Array.from(allRows(d.train.captions))).toEqual(E.max_train_captions.flat());
    expect(Array.from(allRows(d.train.imageIdxs))).toEqual(E.max_train_image_idxs);
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
    const rng = new NumpyRandomState(231);
    const d = await loadCocoData(embeddedCocoSource(), { maxTrain: 50 }, rng);
    expect(d.trainSubsample).toEqual(E.max_train_mask);
    expect(sampleCocoMinibatch(d, 25, "train", rng).mask).toEqual(E.train_batch_mask);
    const v = await loadCocoData(embeddedCocoSource());
    expect(sampleCocoMinibatch(v, 4, "val", rng).mask).toEqual(E.val_batch_mask);
  });

  test("only the rows used are read: max_train's captions and images, val rows when asked for", async () => {
    const d = await loadCocoData(COCO_MINI, { maxTrain: 50 }, new NumpyRandomState(231));
    expect(d.train.features.residentRows).toBe(new Set(E.max_train_image_idxs).size);
    expect([d.val.captions.residentRows, d.val.imageIdxs.residentRows, d.val.features.residentRows]).toEqual([0, 0, 0]);
    const b = gatherCocoBatch(d.val, [3, 0, 1, 2]);
    expect([d.val.captions.residentRows, d.val.imageIdxs.residentRows]).toEqual([4, 4]);
    expect(d.val.features.residentRows).toBe(new Set(b.imageIdxs).size);
    // the same values as a whole read gives
    expect(b.captions).toEqual(new Int32Array([...mini.val.captions.subarray(3 * 17, 4 * 17), ...mini.val.captions.subarray(0, 3 * 17)]));
    b.imageIdxs.forEach((img, i) => {
      expect(img).toBe(mini.val.imageIdxs[[3, 0, 1, 2][i]!]!);
      expect(b.features.subarray(i * 512, (i + 1) * 512)).toEqual(mini.val.features.subarray(img * 512, (img + 1) * 512));
      expect(b.urls[i]).toBe(embedded.val.urls.get(img));
    });
  });

  test("files that cannot be opened in place (the compiled executable's) are read whole from a temporary copy, then removed", async () => {
    const disk = cocoDirSource(COCO_MINI);
    const copies: string[] = [];
    const src: CocoSource = {
      ...disk,
      localFile: async (file) => {
        const c = temporaryCopy(disk.displayName(file), file, await disk.read(file));
        copies.push(c.path);
        return c;
      },
    };
    const d = await loadCocoData(src, { pcaFeatures: false });
    expect(copies.map((c) => c.split("/").pop())).toEqual([COCO_FILES.captions, COCO_FILES.trainFeatures, COCO_FILES.valFeatures]);
    for (const c of copies) expect(existsSync(dirname(c))).toBe(false);
    expect(d.val.features.residentRows).toBe(d.val.numImages);
    const fc7 = await loadCocoData(COCO_MINI, { pcaFeatures: false });
    expect(arrays(d.val)).toEqual(arrays(fc7.val));
    expect(arrays(d.train)).toEqual(arrays(fc7.train));
    // a failed load removes its copies too
    copies.length = 0;
    await expectDataErrorAsync(() => loadCocoData(src, { maxTrain: 5 }, { randint: () => { throw new DataError("rng", "stop"); }, choice: () => [] }), "rng");
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) expect(existsSync(dirname(c))).toBe(false);
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
    expect(decodeCaptions(mini.train.captions.subarray(0, 17), embedded.idxToWord)).toBe(E.train_caption_0_decoded);
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
    await expectDataErrorAsync(() => loadCocoData(join(tmp.dir, "nowhere")), join(tmp.dir, "nowhere"), /data folder not found \(given with --data-dir, for the COCO captioning data\)/);
  });

  test("missing dataset key", async () => {
    const dir = cocoCopy("nokey");
    const d = mini;
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
    const d = mini;
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

  test("val rows are checked when they are first read", async () => {
    const dir = cocoCopy("lazyval");
    const cap = join(dir, COCO_FILES.captions);
    const valCaps = Int32Array.from(mini.val.captions);
    valCaps[5 * 17 + 3] = 999;
    const valIdxs = Int32Array.from(mini.val.imageIdxs);
    valIdxs[7] = 999;
    await writeH5(cap, [
      { name: "train_captions", data: mini.train.captions, shape: [mini.train.numCaptions, 17] },
      { name: "train_image_idxs", data: mini.train.imageIdxs, shape: [mini.train.numCaptions] },
      { name: "val_captions", data: valCaps, shape: [mini.val.numCaptions, 17] },
      { name: "val_image_idxs", data: valIdxs, shape: [mini.val.numCaptions] },
    ]);
    const d = await loadCocoData(dir);
    expect(gatherCocoBatch(d.val, [0, 1]).captions).toEqual(mini.val.captions.subarray(0, 2 * 17));
    expectDataError(() => gatherCocoBatch(d.val, [5]), cap, /val_captions\[5, 3\] = 999 is outside the vocabulary/);
    expectDataError(() => gatherCocoBatch(d.val, [7]), join(dir, COCO_FILES.valFeaturesPca),
      new RegExp(`features has ${E.num_val_images} rows but val_image_idxs refers to image 999 \\(caption 7\\)`));
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
