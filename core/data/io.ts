/** Small file helpers shared by the data loaders: every failure becomes a DataError. */
import { existsSync, readFileSync, statSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { DataError } from "../errors.ts";

/** Whether `path` exists and is a regular file. */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Whether `path` exists and is a directory. */
export function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Reads a whole file; a missing or unreadable file is a DataError naming it. */
export function readBytes(path: string): Uint8Array {
  if (!existsSync(path)) throw new DataError(path, "file not found");
  try {
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new DataError(path, `cannot read file (${(e as Error).message})`);
  }
}

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Gunzips `bytes` when they carry the gzip magic; a corrupt or truncated stream is a DataError. */
export function maybeGunzip(path: string, bytes: Uint8Array): { bytes: Uint8Array; gzipped: boolean } {
  if (!isGzip(bytes)) return { bytes, gzipped: false };
  try {
    const out = gunzipSync(bytes);
    return { bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength), gzipped: true };
  } catch (e) {
    throw new DataError(path, `corrupt or truncated gzip data (${(e as Error).message})`);
  }
}

/** Decodes bytes as Latin-1 (one char per byte), as Python 2 `str` would be read. */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  const CHUNK = 0x2000;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + CHUNK)));
  }
  return s;
}

/** pixels/255 into float32, the way torchvision's ToTensor scales a uint8 image. */
export function bytesToUnitFloat(src: Uint8Array, dst: Float32Array, dstOffset = 0): void {
  // x / 255 in double, rounded once to float32: the same value as float32 division.
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = v / 255;
  for (let i = 0; i < src.length; i++) dst[dstOffset + i] = table[src[i]!]!;
}
