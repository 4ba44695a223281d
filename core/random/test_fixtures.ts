/**
 * Test-only helpers: load fixtures/random/*.json (written by fixtures/gen/gen_random.py) and
 * compare arrays in the encodings that script uses. Not part of the runtime API.
 */
import { readFileSync } from "node:fs";

export function loadFixture<T = any>(name: string): T {
  const url = new URL(`../../fixtures/random/${name}`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as T;
}

export interface EncodedArray {
  n: number;
  dtype: "float32" | "float64" | "int32";
  values?: number[];
  head?: number[];
  tail?: number[];
  fnv?: string;
  b64?: string;
}

export interface EncodedMask {
  n: number;
  mask: string;
  scale?: number | null;
}

/** FNV-1a 32 over the bytes of a typed array (the host is little-endian, like the fixture bytes). */
export function fnv1a(a: Float32Array | Float64Array | Int32Array): string {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** Decode a b64 record into its typed array. */
export function decodeB64(e: EncodedArray): Float32Array | Float64Array | Int32Array {
  const buf = Buffer.from(e.b64!, "base64");
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  if (e.dtype === "float32") return new Float32Array(ab);
  if (e.dtype === "float64") return new Float64Array(ab);
  return new Int32Array(ab);
}

/** Distance in units in the last place between two doubles (0 when bit-identical or both zero). */
export function ulpDistance64(a: number, b: number): number {
  if (Object.is(a, b) || a === b) return 0;
  const f = new Float64Array([a, b]);
  const i = new BigInt64Array(f.buffer);
  // Map the sign-magnitude bit patterns to a monotonic integer line.
  const key = (v: bigint) => (v < 0n ? -(v & 0x7fffffffffffffffn) : v);
  const d = key(i[0]!) - key(i[1]!);
  return Number(d < 0n ? -d : d);
}

/**
 * Compare `actual` with an encoded fixture array. Bit-exact unless maxUlp64 > 0 (float64 only).
 * Returns a list of human-readable mismatches (empty when equal).
 */
export function compareArray(actual: ArrayLike<number>, e: EncodedArray, maxUlp64 = 0): string[] {
  const errs: string[] = [];
  if (actual.length !== e.n) return [`length ${actual.length} != ${e.n}`];
  const eq = (x: number, y: number) => (maxUlp64 > 0 ? ulpDistance64(x, y) <= maxUlp64 : Object.is(x, y) || x === y);
  const check = (i: number, want: number) => {
    const got = actual[i]!;
    if (!eq(got, want) && errs.length < 10) errs.push(`[${i}] got ${got} want ${want}`);
  };
  if (e.values) {
    e.values.forEach((v, i) => check(i, v));
  } else if (e.b64) {
    const want = decodeB64(e);
    for (let i = 0; i < e.n; i++) check(i, want[i]!);
  } else {
    e.head!.forEach((v, i) => check(i, v));
    e.tail!.forEach((v, i) => check(e.n - e.tail!.length + i, v));
    const typed =
      e.dtype === "float32" ? Float32Array.from(actual) : e.dtype === "float64" ? Float64Array.from(actual) : Int32Array.from(actual);
    const h = fnv1a(typed);
    if (h !== e.fnv) errs.push(`fnv ${h} != ${e.fnv}`);
  }
  return errs;
}

/** Compare a 0/1 (or 0/scale) array with an encoded mask. */
export function compareMask(actual: ArrayLike<number>, e: EncodedMask, scale = 1): string[] {
  if (actual.length !== e.n) return [`length ${actual.length} != ${e.n}`];
  const errs: string[] = [];
  for (let i = 0; i < e.n; i++) {
    const want = e.mask[i] === "1" ? scale : 0;
    if (actual[i] !== want && errs.length < 10) errs.push(`[${i}] got ${actual[i]} want ${want}`);
  }
  return errs;
}
