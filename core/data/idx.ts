/**
 * IDX files (the MNIST / Fashion-MNIST format), gzipped or not.
 *
 * Layout: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions, then one
 * big-endian uint32 per dimension, then the data. Images are idx3 (magic 0x00000803 = 2051),
 * labels idx1 (0x00000801 = 2049).
 */
import { DataError } from "../errors.ts";
import { maybeGunzip, readBytes } from "./io.ts";

export interface IdxArray {
  /** Dimensions, e.g. [60000, 28, 28] for training images. */
  shape: number[];
  /** The unsigned bytes, row-major. */
  data: Uint8Array;
  /** Whether the file was gzip-compressed. */
  gzipped: boolean;
}

const IDX_TYPES: Record<number, string> = {
  0x08: "unsigned byte", 0x09: "signed byte", 0x0b: "short", 0x0c: "int", 0x0d: "float",
  0x0e: "double",
};

/** Parses IDX bytes (already gunzipped). `file` names the file in error messages. */
export function parseIdx(file: string, bytes: Uint8Array, expectedDims?: number): Omit<IdxArray, "gzipped"> {
  if (bytes.length < 4) {
    throw new DataError(file, `truncated IDX file: ${bytes.length} bytes, shorter than the 4-byte magic number`);
  }
  const magic = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const hex = magic.toString(16).padStart(8, "0");
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[3] === 0) {
    throw new DataError(file, `wrong magic number 0x${hex}: not an IDX file`);
  }
  const type = bytes[2]!;
  const ndim = bytes[3]!;
  if (type !== 0x08) {
    const name = IDX_TYPES[type];
    throw new DataError(
      file,
      name ? `IDX element type ${name} (0x${type.toString(16)}) is not supported, expected unsigned byte (magic 0x${hex})`
        : `wrong magic number 0x${hex}: unknown IDX element type 0x${type.toString(16)}`,
    );
  }
  if (expectedDims !== undefined && ndim !== expectedDims) {
    const want = (0x800 + expectedDims).toString(16).padStart(8, "0");
    throw new DataError(file, `wrong magic number 0x${hex}: expected 0x${want} (idx${expectedDims}, ${expectedDims === 1 ? "labels" : "images"}), found ${ndim} dimensions`);
  }
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen) {
    throw new DataError(file, `truncated IDX file: ${bytes.length} bytes, the header alone needs ${headerLen}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let size = 1;
  for (let d = 0; d < ndim; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    shape.push(n);
    size *= n;
  }
  const have = bytes.length - headerLen;
  if (have < size) {
    throw new DataError(file, `truncated IDX file: shape [${shape.join(", ")}] needs ${size} data bytes, found ${have}`);
  }
  if (have > size) {
    throw new DataError(file, `corrupt IDX file: shape [${shape.join(", ")}] needs ${size} data bytes, found ${have} (${have - size} extra)`);
  }
  return { shape, data: bytes.subarray(headerLen, headerLen + size) };
}

/** Reads an IDX file from disk, gunzipping it when it starts with the gzip magic 1f 8b. */
export function readIdx(path: string, expectedDims?: number): IdxArray {
  const raw = readBytes(path);
  const { bytes, gzipped } = maybeGunzip(path, raw);
  return { ...parseIdx(path, bytes, expectedDims), gzipped };
}

/** Reads an idx3 image file: n × rows × cols unsigned bytes. */
export function readIdxImages(path: string): IdxArray & { n: number; rows: number; cols: number } {
  const a = readIdx(path, 3);
  return { ...a, n: a.shape[0]!, rows: a.shape[1]!, cols: a.shape[2]! };
}

/** Reads an idx1 label file as Int32Array. */
export function readIdxLabels(path: string): { labels: Int32Array; gzipped: boolean } {
  const a = readIdx(path, 1);
  return { labels: Int32Array.from(a.data), gzipped: a.gzipped };
}
