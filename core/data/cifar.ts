/**
 * CIFAR-10 from the python pickles (`cifar-10-batches-py/`: data_batch_1..5, test_batch,
 * batches.meta) or the binary version (`cifar-10-batches-bin/`: data_batch_1.bin..5,
 * test_batch.bin, batches.meta.txt). Training data is data_batch_1..5 concatenated in order, as
 * torchvision's CIFAR10 does; pixels stay in the files' CHW order.
 */
import { join } from "node:path";
import { DataError } from "../errors.ts";
import { isFile, readBytes } from "./io.ts";
import { NpArray, PyDict, pyString, unpickle, type PyValue } from "./pickle.ts";

export const CIFAR10_CLASSES = [
  "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
];

export const CIFAR_PIXELS = 3 * 32 * 32;

/** Raw CIFAR-10 split: n images of 3×32×32 bytes (CHW) and their labels. */
export interface CifarRaw {
  n: number;
  pixels: Uint8Array;
  labels: Int32Array;
  classes: string[];
  /** The files read, in order. */
  files: string[];
  format: "py" | "bin";
}

export type CifarSplit = "train" | "test";

const PY_TRAIN = [1, 2, 3, 4, 5].map((b) => `data_batch_${b}`);
const PY_TEST = ["test_batch"];

function batchNames(split: CifarSplit, format: "py" | "bin"): string[] {
  const names = split === "train" ? PY_TRAIN : PY_TEST;
  return format === "py" ? names : names.map((n) => `${n}.bin`);
}

/** Whether `dir` looks like a cifar-10-batches-py / -bin folder (its first batch is there). */
export function detectCifarFormat(dir: string): "py" | "bin" | null {
  if (isFile(join(dir, "data_batch_1")) || isFile(join(dir, "test_batch"))) return "py";
  if (isFile(join(dir, "data_batch_1.bin")) || isFile(join(dir, "test_batch.bin"))) return "bin";
  return null;
}

function toLabel(file: string, v: PyValue, i: number): number {
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n)) {
    throw new DataError(file, `labels[${i}] is not an integer`);
  }
  if (n < 0 || n > 9) throw new DataError(file, `labels[${i}] = ${n} is outside the 10 CIFAR-10 classes`);
  return n;
}

/** Reads one python batch file: its `data` (n × 3072 uint8) and `labels`. */
export function readCifarPyBatch(file: string): { pixels: Uint8Array; labels: Int32Array } {
  const obj = unpickle(file, readBytes(file));
  if (!(obj instanceof PyDict)) throw new DataError(file, "the pickle does not hold a dict (not a CIFAR-10 batch)");
  const data = obj.get("data");
  if (data === undefined) throw new DataError(file, `missing key 'data' (keys: ${obj.keys().join(", ")})`);
  if (!(data instanceof NpArray) || !data.built || data.dtype === null) {
    throw new DataError(file, "'data' is not a numpy array");
  }
  if (data.dtype.descr !== "u1") throw new DataError(file, `'data' has dtype ${data.dtype.str}, expected uint8`);
  if (data.shape.length !== 2 || data.shape[1] !== CIFAR_PIXELS) {
    throw new DataError(file, `'data' has shape (${data.shape.join(", ")}), expected (n, ${CIFAR_PIXELS})`);
  }
  if (data.fortranOrder && data.shape[0]! > 1) {
    throw new DataError(file, "'data' is stored in Fortran order, which is not supported");
  }
  const n = data.shape[0]!;
  const rawLabels = obj.get("labels") ?? obj.get("fine_labels");
  if (rawLabels === undefined) throw new DataError(file, `missing key 'labels' (keys: ${obj.keys().join(", ")})`);
  const labels = new Int32Array(n);
  if (Array.isArray(rawLabels)) {
    if (rawLabels.length !== n) throw new DataError(file, `'labels' has ${rawLabels.length} entries but 'data' has ${n} rows`);
    rawLabels.forEach((v, i) => (labels[i] = toLabel(file, v, i)));
  } else if (rawLabels instanceof NpArray && rawLabels.dtype !== null && rawLabels.shape.length === 1) {
    if (rawLabels.shape[0] !== n) throw new DataError(file, `'labels' has ${rawLabels.shape[0]} entries but 'data' has ${n} rows`);
    const dt = rawLabels.dtype;
    const size = dt.itemsize;
    if (!/^[iu]\d$/.test(dt.descr) || dt.byteorder === ">") throw new DataError(file, `'labels' has dtype ${dt.str}, expected integers`);
    const view = new DataView(rawLabels.data.buffer, rawLabels.data.byteOffset, rawLabels.data.byteLength);
    for (let i = 0; i < n; i++) {
      const signed = dt.descr[0] === "i";
      const v = size === 1 ? (signed ? view.getInt8(i) : view.getUint8(i))
        : size === 2 ? (signed ? view.getInt16(2 * i, true) : view.getUint16(2 * i, true))
        : size === 4 ? (signed ? view.getInt32(4 * i, true) : view.getUint32(4 * i, true))
        : Number(signed ? view.getBigInt64(8 * i, true) : view.getBigUint64(8 * i, true));
      labels[i] = toLabel(file, v, i);
    }
  } else {
    throw new DataError(file, "'labels' is neither a list nor a 1-D numpy array");
  }
  return { pixels: data.data, labels };
}

/** Reads one binary batch: records of 1 label byte + 3072 pixel bytes. */
export function readCifarBinBatch(file: string): { pixels: Uint8Array; labels: Int32Array } {
  const bytes = readBytes(file);
  const rec = 1 + CIFAR_PIXELS;
  if (bytes.length === 0) throw new DataError(file, "empty file");
  if (bytes.length % rec !== 0) {
    throw new DataError(
      file,
      `truncated or corrupt CIFAR-10 binary batch: ${bytes.length} bytes is not a whole number of ${rec}-byte records (${Math.floor(bytes.length / rec)} records + ${bytes.length % rec} bytes)`,
    );
  }
  const n = bytes.length / rec;
  const pixels = new Uint8Array(n * CIFAR_PIXELS);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = bytes[i * rec]!;
    if (label > 9) throw new DataError(file, `record ${i} has label ${label}, outside the 10 CIFAR-10 classes`);
    labels[i] = label;
    pixels.set(bytes.subarray(i * rec + 1, (i + 1) * rec), i * CIFAR_PIXELS);
  }
  return { pixels, labels };
}

/** Class names from batches.meta (py) or batches.meta.txt (bin); the standard names if absent. */
export function readCifarClasses(dir: string, format: "py" | "bin"): string[] {
  if (format === "py") {
    const file = join(dir, "batches.meta");
    if (!isFile(file)) return [...CIFAR10_CLASSES];
    const obj = unpickle(file, readBytes(file));
    const names = obj instanceof PyDict ? obj.get("label_names") : undefined;
    if (!Array.isArray(names)) throw new DataError(file, "missing list 'label_names'");
    return names.map((v, i) => {
      const s = pyString(v);
      if (s === null) throw new DataError(file, `label_names[${i}] is not a string`);
      return s;
    });
  }
  const file = join(dir, "batches.meta.txt");
  if (!isFile(file)) return [...CIFAR10_CLASSES];
  const names = new TextDecoder().decode(readBytes(file)).split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length !== 10) throw new DataError(file, `expected 10 class names, found ${names.length}`);
  return names;
}

/** Loads a CIFAR-10 split from a cifar-10-batches-py or cifar-10-batches-bin folder. */
export function loadCifar10(dir: string, split: CifarSplit, format?: "py" | "bin"): CifarRaw {
  const fmt = format ?? detectCifarFormat(dir);
  if (fmt === null) {
    throw new DataError(dir, "not a CIFAR-10 folder: neither data_batch_1 (python) nor data_batch_1.bin (binary) is there");
  }
  const files = batchNames(split, fmt).map((n) => join(dir, n));
  const parts = files.map((f) => (fmt === "py" ? readCifarPyBatch(f) : readCifarBinBatch(f)));
  const n = parts.reduce((s, p) => s + p.labels.length, 0);
  const pixels = new Uint8Array(n * CIFAR_PIXELS);
  const labels = new Int32Array(n);
  let at = 0;
  for (const p of parts) {
    pixels.set(p.pixels, at * CIFAR_PIXELS);
    labels.set(p.labels, at);
    at += p.labels.length;
  }
  const classes = readCifarClasses(dir, fmt);
  for (let i = 0; i < n; i++) {
    if (labels[i]! >= classes.length) {
      throw new DataError(dir, `label ${labels[i]} of image ${i} has no class name (${classes.length} classes)`);
    }
  }
  return { n, pixels, labels, classes, files, format: fmt };
}
