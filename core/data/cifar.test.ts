import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadCifar10, readCifarBinBatch, readCifarPyBatch } from "./cifar.ts";
import { loadImageDataset } from "./image_dataset.ts";
import { NpArray, PyBytes, PyDict, PyTuple, unpickle } from "./pickle.ts";
import { copyInto, DATASETS, expectDataError, scribble, tempDir, truncateFile, withDataDirEnv } from "./testing.ts";

const expected = JSON.parse(await Bun.file(join(DATASETS, "expected.json")).text()).cifar10;
const PY = join(DATASETS, "cifar-10-batches-py");
const BIN = join(DATASETS, "cifar-10-batches-bin");
const tmp = tempDir();
afterAll(tmp.cleanup);

const enc = (s: string) => new TextEncoder().encode(s);
const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? Array.from(enc(p)) : p)));

function pixelSums(images: Float32Array, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < 3072; j++) s += Math.round(images[i * 3072 + j]! * 255);
    out.push(s);
  }
  return out;
}

describe("pickle reader", () => {
  test("a Python-2-style CIFAR batch: dict of str keys, numpy uint8 array, lists", () => {
    const file = join(PY, "data_batch_1");
    const d = unpickle(file, new Uint8Array(readFileSync(file)));
    expect(d).toBeInstanceOf(PyDict);
    const dict = d as PyDict;
    expect(dict.keys().sort()).toEqual(["batch_label", "data", "filenames", "labels"]);
    const data = dict.get("data") as NpArray;
    expect(data).toBeInstanceOf(NpArray);
    expect(data.shape).toEqual([3, 3072]);
    expect(data.dtype!.str).toBe("|u1");
    expect(dict.get("labels")).toEqual(expected.train.labels.slice(0, 3));
    expect(String(dict.get("batch_label"))).toBe("training batch 1 of 5");
    expect((dict.get("filenames") as PyBytes[]).map(String)).toEqual([0, 1, 2].map((i) => `xt_fixture_data_batch_1_${i}.png`));
  });

  test("the same batch written by Python 3 pickle protocol 2 (bytes keys, _codecs.encode payloads)", () => {
    const b = readCifarPyBatch(join(DATASETS, "cifar-py3", "data_batch_1"));
    const a = readCifarPyBatch(join(PY, "data_batch_1"));
    expect(Array.from(b.labels)).toEqual(expected.py3_batch.labels);
    expect(b.pixels).toEqual(a.pixels);
  });

  test("batches.meta gives the class names", () => {
    expect(loadCifar10(PY, "test").classes).toEqual(expected.classes);
  });

  test("small hand-made pickles: protocol 2 opcodes", () => {
    // [1, 2, (3, 'x', None), True, -1, 300, 70000, {'k': b''}]
    const p = bytes([0x80, 2, 0x5d, 0x71, 0, 0x28, 0x4b, 1, 0x4b, 2, 0x4b, 3, 0x58, 1, 0, 0, 0], "x",
      [0x4e, 0x87, 0x88, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4d, 0x2c, 1, 0x4a, 0x70, 0x11, 1, 0, 0x7d, 0x55, 1], "k",
      "c__builtin__\nbytes\n", [0x29, 0x52, 0x73, 0x65, 0x2e]);
    const v = unpickle("hand.pkl", p) as unknown[];
    expect(v.length).toBe(8);
    expect(v.slice(0, 2)).toEqual([1, 2]);
    expect((v[2] as PyTuple).items).toEqual([3, "x", null]);
    expect(v.slice(3, 7)).toEqual([true, -1, 300, 70000]);
    expect(((v[7] as PyDict).get("k") as PyBytes).bytes.length).toBe(0);
  });

  test("unsupported opcodes, protocols and globals are DataErrors naming them", () => {
    expectDataError(() => unpickle("p4.pkl", bytes([0x80, 4, 0x95, 0, 0, 0, 0, 0, 0, 0, 0, 0x4e, 0x2e])), "p4.pkl", /protocol 4/);
    expectDataError(() => unpickle("frame.pkl", bytes([0x80, 2, 0x95, 0, 0, 0, 0, 0, 0, 0, 0])), "frame.pkl", /unsupported pickle opcode FRAME \(0x95\)/);
    expectDataError(() => unpickle("inst.pkl", bytes([0x80, 2, 0x28], "ios\nsystem\n")), "inst.pkl", /unsupported pickle opcode INST \(0x69 'i'\)/);
    expectDataError(
      () => unpickle("evil.pkl", bytes([0x80, 2], "cos\nsystem\n", [0x55, 2], "ls", [0x85, 0x52, 0x2e])),
      "evil.pkl",
      /unsupported global os\.system/,
    );
    expectDataError(() => unpickle("junk.pkl", bytes("{}")), "junk.pkl", /unsupported pickle opcode unknown opcode 0x7b '\{' at byte 0/);
    expectDataError(() => unpickle("memo.pkl", bytes([0x80, 2, 0x68, 5, 0x2e])), "memo.pkl", /memo entry 5 was never stored/);
    expectDataError(() => unpickle("empty.pkl", new Uint8Array(0)), "empty.pkl", /empty file/);
  });

  test("truncated pickles", () => {
    // cut inside the big BINSTRING payload, before STOP, and inside a GLOBAL line
    const p = copyInto(tmp.dir, join(PY, "data_batch_2"), "cut_batch");
    truncateFile(p, 5000);
    expectDataError(() => readCifarPyBatch(p), p, /truncated pickle: opcode BINSTRING \(0x54 'T'\) at byte \d+ needs 9216 more bytes/);
    const q = copyInto(tmp.dir, join(PY, "data_batch_2"), "nostop_batch");
    truncateFile(q, 9559);
    expectDataError(() => readCifarPyBatch(q), q, /truncated pickle: the file ends at byte 9559 before the STOP opcode/);
    const r = copyInto(tmp.dir, join(PY, "data_batch_2"), "global_batch");
    truncateFile(r, 20);
    expectDataError(() => readCifarPyBatch(r), r, /truncated pickle: opcode GLOBAL/);
  });

  test("a numpy payload of the wrong length is reported", () => {
    // ndarray (2,) uint8 with a 3-byte payload
    const p = bytes([0x80, 2], "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n", [0x4b, 0, 0x85, 0x55, 1], "b",
      [0x87, 0x52, 0x28, 0x4b, 1, 0x4b, 2, 0x85], "cnumpy\ndtype\n", [0x55, 2], "u1", [0x89, 0x88, 0x87, 0x52, 0x28, 0x4b, 3, 0x55, 1], "|",
      [0x4e, 0x4e, 0x4e, 0x4a, 255, 255, 255, 255, 0x4a, 255, 255, 255, 255, 0x4b, 0, 0x74, 0x62, 0x89, 0x55, 3, 1, 2, 3, 0x74, 0x62, 0x2e]);
    expectDataError(() => unpickle("arr.pkl", p), "arr.pkl", /shape \(2\) and dtype \|u1 needs 2 bytes, its payload has 3/);
  });
});

describe("CIFAR-10", () => {
  test("python and binary folders give the generator's images, identically", () => {
    for (const split of ["train", "test"] as const) {
      const py = loadImageDataset("cifar10", split, DATASETS);
      const bin = loadImageDataset("cifar10", split, BIN);
      const exp = expected[split];
      for (const ds of [py, bin]) {
        expect([ds.n, ds.channels, ds.height, ds.width]).toEqual([exp.n, 3, 32, 32]);
        expect(Array.from(ds.labels)).toEqual(exp.labels);
        expect(pixelSums(ds.images, ds.n)).toEqual(exp.pixel_sums);
        for (const [pos, v] of exp.probes) expect(ds.images[pos]).toBe(v);
        expect(ds.classes).toEqual(expected.classes);
      }
      expect(py.source).toContain("python pickles");
      expect(bin.source).toContain("binary");
      expect(bin.images).toEqual(py.images);
    }
  });

  test("the folder itself, its parent and XT_DATA_DIR all work", () => {
    const a = loadImageDataset("cifar10", "test", PY);
    const b = loadImageDataset("cifar10", "test", DATASETS);
    const c = withDataDirEnv(DATASETS, () => loadImageDataset("cifar10", "test"));
    expect(b.images).toEqual(a.images);
    expect(c.source).toContain("cifar-10-batches-py");
  });

  test("train is data_batch_1..5 in order", () => {
    const raw = loadCifar10(BIN, "train");
    expect(raw.files.map((f) => f.split("/").pop())).toEqual([1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`));
    expect(raw.n).toBe(15);
  });

  test("missing, truncated and corrupt batches are DataErrors naming the file", () => {
    const dir = join(tmp.dir, "cifar-10-batches-py");
    copyInto(tmp.dir, PY);
    rmSync(join(dir, "data_batch_3"));
    expectDataError(() => loadImageDataset("cifar10", "train", tmp.dir), join(dir, "data_batch_3"), /file not found/);
    truncateFile(join(dir, "test_batch"), 0.5);
    expectDataError(() => loadImageDataset("cifar10", "test", dir), join(dir, "test_batch"), /truncated pickle/);

    const bdir = join(tmp.dir, "bin");
    copyInto(bdir, BIN, "cifar-10-batches-bin");
    const tb = join(bdir, "cifar-10-batches-bin", "test_batch.bin");
    truncateFile(tb, 3 * 3073 + 100);
    expectDataError(() => loadImageDataset("cifar10", "test", bdir), tb, /not a whole number of 3073-byte records \(3 records \+ 100 bytes\)/);
    const b1 = join(bdir, "cifar-10-batches-bin", "data_batch_1.bin");
    scribble(b1, 3073, 3074); // the label byte of record 1
    const label = (3073 * 131 + 7) & 0xff;
    expectDataError(() => readCifarBinBatch(b1), b1, new RegExp(`record 1 has label ${label}, outside`));
  });

  test("a pickle that is not a CIFAR batch", () => {
    const p = join(tmp.dir, "not_a_batch");
    writeFileSync(p, bytes([0x80, 2, 0x7d, 0x55, 4], "data", [0x4b, 1, 0x73, 0x2e]));
    expectDataError(() => readCifarPyBatch(p), p, /'data' is not a numpy array/);
    const q = join(tmp.dir, "no_data");
    writeFileSync(q, bytes([0x80, 2, 0x7d, 0x2e]));
    expectDataError(() => readCifarPyBatch(q), q, /missing key 'data'/);
  });

  test("nothing found lists the places tried", () => {
    const empty = join(tmp.dir, "nothing");
    copyInto(tmp.dir, join(DATASETS, "expected.json"), "nothing/x.json");
    const e = expectDataError(() => loadImageDataset("cifar10", "train", empty), empty, /cifar10 train data not found/);
    expect(e.message).toContain(join(empty, "cifar-10-batches-bin"));
  });
});
