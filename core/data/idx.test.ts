import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { parseIdx, readIdx, readIdxImages, readIdxLabels } from "./idx.ts";
import { loadImageDataset, SYSTEM_FASHION_MNIST_DIR } from "./image_dataset.ts";
import { copyInto, DATASETS, expectDataError, scribble, tempDir, truncateFile, withDataDirEnv } from "./testing.ts";

const expected = JSON.parse(await Bun.file(join(DATASETS, "expected.json")).text());
const tmp = tempDir();
afterAll(tmp.cleanup);

function checkSplit(ds: ReturnType<typeof loadImageDataset>, exp: { n: number; labels: number[]; pixel_sums: number[]; probes: [number, number][] }) {
  expect(ds.n).toBe(exp.n);
  expect([ds.channels, ds.height, ds.width]).toEqual([1, 28, 28]);
  expect(ds.images.length).toBe(exp.n * 784);
  expect(Array.from(ds.labels)).toEqual(exp.labels);
  const sums = [];
  for (let i = 0; i < ds.n; i++) {
    let s = 0;
    for (let j = 0; j < 784; j++) s += Math.round(ds.images[i * 784 + j]! * 255);
    sums.push(s);
  }
  expect(sums).toEqual(exp.pixel_sums);
  for (const [pos, v] of exp.probes) expect(ds.images[pos]).toBe(v); // exact float32 of x/255
}

describe("IDX reader", () => {
  test("gzipped and plain fixtures give the generator's images and labels", () => {
    for (const split of ["train", "test"] as const) {
      const gz = loadImageDataset("mnist", split, join(DATASETS, "mnist-gz"));
      const raw = loadImageDataset("mnist", split, join(DATASETS, "MNIST", "raw"));
      checkSplit(gz, expected.mnist[split]);
      checkSplit(raw, expected.mnist[split]);
      expect(gz.source).toContain("gzip");
      expect(raw.source).not.toContain("gzip");
      expect(gz.classes[0]).toBe("0 - zero");
    }
  });

  test("readIdx reports shape and compression", () => {
    const a = readIdxImages(join(DATASETS, "mnist-gz", "t10k-images-idx3-ubyte.gz"));
    expect([a.n, a.rows, a.cols, a.gzipped]).toEqual([expected.mnist.test.n, 28, 28, true]);
    const l = readIdxLabels(join(DATASETS, "MNIST", "raw", "train-labels-idx1-ubyte"));
    expect(Array.from(l.labels)).toEqual(expected.mnist.train.labels);
    expect(l.gzipped).toBe(false);
  });

  test("the torchvision layout (MNIST/raw) is found under a data folder and via XT_DATA_DIR", () => {
    const a = loadImageDataset("mnist", "train", DATASETS);
    expect(a.source).toContain(join("MNIST", "raw"));
    const b = withDataDirEnv(DATASETS, () => loadImageDataset("mnist", "test"));
    expect(Array.from(b.labels)).toEqual(expected.mnist.test.labels);
  });

  test("wrong magic number", () => {
    const p = join(tmp.dir, "bad-magic-idx3-ubyte");
    writeFileSync(p, new Uint8Array([0x12, 0x34, 0x08, 0x03, 0, 0, 0, 0]));
    expectDataError(() => readIdx(p, 3), p, /wrong magic number 0x12340803/);
    // a label file where images are expected
    const lab = join(DATASETS, "MNIST", "raw", "train-labels-idx1-ubyte");
    expectDataError(() => readIdxImages(lab), lab, /wrong magic number 0x00000801.*expected 0x00000803/);
    // non-ubyte element type
    expectDataError(() => parseIdx("x.idx", new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0])), "x.idx", /float.*not supported/);
  });

  test("truncated and over-long IDX files", () => {
    const p = copyInto(tmp.dir, join(DATASETS, "MNIST", "raw", "train-images-idx3-ubyte"), "trunc-images-idx3-ubyte");
    truncateFile(p, 1000);
    expectDataError(() => readIdxImages(p), p, /truncated IDX file.*needs 7840 data bytes, found 984/);
    const h = copyInto(tmp.dir, join(DATASETS, "MNIST", "raw", "train-images-idx3-ubyte"), "header-images-idx3-ubyte");
    truncateFile(h, 10);
    expectDataError(() => readIdxImages(h), h, /truncated IDX file: 10 bytes, the header alone needs 16/);
    const t = join(tmp.dir, "tiny-idx");
    writeFileSync(t, new Uint8Array([0, 0]));
    expectDataError(() => readIdx(t), t, /truncated/);
    const long = join(tmp.dir, "long-labels-idx1-ubyte");
    writeFileSync(long, new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3]));
    expectDataError(() => readIdxLabels(long), long, /1 extra/);
  });

  test("truncated and corrupt gzip streams", () => {
    const p = copyInto(tmp.dir, join(DATASETS, "mnist-gz", "train-images-idx3-ubyte.gz"), "cut-images-idx3-ubyte.gz");
    truncateFile(p, 0.5);
    expectDataError(() => readIdxImages(p), p, /corrupt or truncated gzip/);
    const q = copyInto(tmp.dir, join(DATASETS, "mnist-gz", "train-images-idx3-ubyte.gz"), "bad-images-idx3-ubyte.gz");
    scribble(q, 20, 200);
    expectDataError(() => readIdxImages(q), q, /gzip/);
    // a gzip stream that holds a truncated IDX file
    const r = join(tmp.dir, "short-images-idx3-ubyte.gz");
    writeFileSync(r, gzipSync(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3])));
    expectDataError(() => readIdxImages(r), r, /truncated IDX file/);
  });

  test("missing files and image/label count mismatch", () => {
    const missing = join(tmp.dir, "nope-idx3-ubyte");
    expectDataError(() => readIdx(missing), missing, /file not found/);
    const d = join(tmp.dir, "mismatch");
    copyInto(d, join(DATASETS, "MNIST", "raw", "train-images-idx3-ubyte"));
    copyInto(d, join(DATASETS, "MNIST", "raw", "t10k-labels-idx1-ubyte"), "train-labels-idx1-ubyte");
    expectDataError(() => loadImageDataset("mnist", "train", d), join(d, "train-labels-idx1-ubyte"), /has 6 labels but .* has 10 images/);
    const onlyImages = join(tmp.dir, "only-images");
    copyInto(onlyImages, join(DATASETS, "MNIST", "raw", "t10k-images-idx3-ubyte"));
    expectDataError(() => loadImageDataset("mnist", "test", onlyImages), "t10k-labels-idx1-ubyte", /file not found/);
  });

  test("nothing found: the error lists the folders tried and how to install Fashion-MNIST", () => {
    const empty = join(tmp.dir, "empty");
    copyInto(tmp.dir, join(DATASETS, "expected.json"), "empty/readme.json");
    const e = expectDataError(() => loadImageDataset("fashion-mnist", "train", empty), empty, /not found/);
    expect(e.message).toContain(join(empty, "FashionMNIST", "raw"));
    expect(e.message).toContain("apt-get install dataset-fashion-mnist");
    expectDataError(() => loadImageDataset("mnist", "train", join(tmp.dir, "no-such-dir")), "no-such-dir", /data folder not found/);
  });
});

describe("real Fashion-MNIST", () => {
  const present = existsSync(join(SYSTEM_FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz"));
  if (!present) {
    console.warn(`skipping the real Fashion-MNIST tests: ${SYSTEM_FASHION_MNIST_DIR} is absent (apt-get install dataset-fashion-mnist)`);
  }
  test.skipIf(!present)("loads the Debian copy by default (train and test)", () => {
    const train = withDataDirEnv(undefined, () => loadImageDataset("fashion-mnist", "train"));
    expect(train.source).toContain(SYSTEM_FASHION_MNIST_DIR);
    expect([train.n, train.channels, train.height, train.width]).toEqual([60000, 1, 28, 28]);
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    const counts = new Array(10).fill(0);
    for (const l of train.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(6000));
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    const img = train.images;
    for (let i = 0; i < img.length; i++) {
      const v = img[i]!;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect([min, max]).toEqual([0, 1]);
    expect(sum / train.images.length).toBeCloseTo(0.2860, 3); // the well-known mean
    expect(train.classes[9]).toBe("Ankle boot");

    const test_ = loadImageDataset("fashion-mnist", "test", SYSTEM_FASHION_MNIST_DIR);
    expect(test_.n).toBe(10000);
    expect(Array.from(test_.labels.subarray(0, 10))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
  });
});
