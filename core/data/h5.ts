/**
 * Reading HDF5 files (as h5py writes them) through h5wasm, with every failure turned into a
 * DataError naming the file. The bytes are handed in by the caller (from disk or from a file
 * embedded in the executable) and written to a private temporary file that h5wasm opens.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import type H5WasmDefault from "h5wasm/node";
import { DataError } from "../errors.ts";

// h5wasm (a 4 MB module that compiles its WebAssembly on import) is loaded on first use only.
type H5Lib = typeof H5WasmDefault;
type H5Module = Awaited<H5Lib["ready"]>;
type H5File = InstanceType<H5Lib["File"]>;
type H5Dataset = InstanceType<H5Lib["Dataset"]>;

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
let counter = 0;

/** Whether the bytes carry the HDF5 signature (at 0, 512, 1024, 2048, ... as the spec allows). */
export function hasHdf5Signature(bytes: Uint8Array): boolean {
  for (let off = 0; off + 8 <= bytes.length; off = off === 0 ? 512 : off * 2) {
    if (HDF5_SIGNATURE.every((b, i) => bytes[off + i] === b)) return true;
  }
  return false;
}

/** The deepest cause in an HDF5-DIAG error stack, e.g. "truncated file: eof = 5000, ...". */
export function hdf5Cause(message: string): string {
  const lines = message.split("\n").map((l) => l.trim());
  let cause = "";
  for (const l of lines) {
    const m = /^#\d+: .* in [\w.]+\(\): (.*)$/.exec(l);
    if (m) cause = m[1]!;
  }
  return cause || lines.find((l) => l.length > 0) || "unknown error";
}

function describeFailure(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const cause = hdf5Cause(msg);
  if (/truncated/i.test(cause)) return `truncated HDF5 file (${cause})`;
  return `corrupt or unreadable HDF5 file (${cause})`;
}

/** An open HDF5 file with checked dataset readers. */
export class H5Reader {
  constructor(readonly name: string, private readonly file: H5File, private readonly lib: H5Lib) {}

  keys(): string[] {
    return this.file.keys();
  }

  private dataset(key: string): H5Dataset {
    const keys = this.file.keys();
    if (!keys.includes(key)) {
      throw new DataError(this.name, `missing dataset '${key}' (it has: ${keys.length ? keys.map((k) => `'${k}'`).join(", ") : "nothing"})`);
    }
    const d = this.file.get(key);
    if (!(d instanceof this.lib.Dataset)) throw new DataError(this.name, `'${key}' is not a dataset`);
    return d;
  }

  /** Shape of a dataset (checked to exist). */
  shape(key: string): number[] {
    const s = this.dataset(key).shape;
    if (s === null) throw new DataError(this.name, `dataset '${key}' has no shape (null dataspace)`);
    return s;
  }

  private check(key: string, d: H5Dataset, kind: "int" | "float", ndim: number): number[] {
    const md = d.metadata;
    const shape = d.shape;
    if (shape === null || shape.length !== ndim) {
      throw new DataError(this.name, `dataset '${key}' has shape (${(shape ?? []).join(", ")}), expected ${ndim} dimension${ndim === 1 ? "" : "s"}`);
    }
    const typeName = md.type === 0 ? `${md.signed ? "int" : "uint"}${8 * md.size}` : md.type === 1 ? `float${8 * md.size}` : `HDF5 type class ${md.type}`;
    if (kind === "int" && md.type !== 0) throw new DataError(this.name, `dataset '${key}' has dtype ${typeName}, expected integers (int32)`);
    if (kind === "float" && (md.type !== 1 || (md.size !== 4 && md.size !== 8))) {
      throw new DataError(this.name, `dataset '${key}' has dtype ${typeName}, expected float32`);
    }
    if (md.size > 1 && !md.littleEndian) throw new DataError(this.name, `dataset '${key}' is big-endian, which is not supported`);
    return shape;
  }

  private values(key: string, d: H5Dataset, rows: [number, number] | null, expected: number): ArrayLike<number | bigint> {
    const v = rows === null ? d.value : d.slice([[rows[0], rows[1]]]);
    if (v === null || v === undefined || typeof v !== "object" || !("length" in v) || Array.isArray(v)) {
      throw new DataError(this.name, `cannot read dataset '${key}' (corrupt data${rows ? ` in rows ${rows[0]}..${rows[1] - 1}` : ""})`);
    }
    const arr = v as ArrayLike<number | bigint>;
    if (arr.length !== expected) {
      throw new DataError(this.name, `dataset '${key}' returned ${arr.length} values, expected ${expected}`);
    }
    return arr;
  }

  /** An integer dataset as Int32Array with its shape. */
  readInt32(key: string, ndim: number): { data: Int32Array; shape: number[] } {
    const d = this.dataset(key);
    const shape = this.check(key, d, "int", ndim);
    const n = shape.reduce((a, b) => a * b, 1);
    const v = this.values(key, d, null, n);
    if (v instanceof Int32Array) return { data: v, shape };
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const x = Number(v[i]!);
      if (x < -2147483648 || x > 2147483647) throw new DataError(this.name, `dataset '${key}' value ${x} at ${i} does not fit in int32`);
      out[i] = x;
    }
    return { data: out, shape };
  }

  /** A 2-D float dataset as Float32Array (read in blocks of rows to bound wasm memory). */
  readFloat32Rows(key: string): { data: Float32Array; rows: number; cols: number } {
    const d = this.dataset(key);
    const [rows, cols] = this.check(key, d, "float", 2) as [number, number];
    const out = new Float32Array(rows * cols);
    const block = Math.max(1, Math.floor((32 << 20) / Math.max(1, cols * d.metadata.size)));
    for (let r = 0; r < rows; r += block) {
      const r1 = Math.min(rows, r + block);
      const v = this.values(key, d, [r, r1], (r1 - r) * cols);
      if (v instanceof Float32Array) out.set(v, r * cols);
      else for (let i = 0; i < v.length; i++) out[r * cols + i] = Number(v[i]!);
    }
    return { data: out, rows, cols };
  }
}

let loading: Promise<{ lib: H5Lib; mod: H5Module }> | null = null;

async function loadH5wasm(): Promise<{ lib: H5Lib; mod: H5Module }> {
  const lib = (await import("h5wasm/node")).default;
  return { lib, mod: await lib.ready };
}

/** Opens HDF5 bytes and runs `fn` on the file; anything h5wasm throws becomes a DataError. */
export async function withHdf5<T>(name: string, bytes: Uint8Array, fn: (f: H5Reader) => T): Promise<T> {
  if (bytes.length === 0) throw new DataError(name, "empty file, not an HDF5 file");
  if (!hasHdf5Signature(bytes)) throw new DataError(name, "not an HDF5 file (no HDF5 signature)");
  loading ??= loadH5wasm();
  const { lib, mod } = await loading;
  const FS = mod.FS;
  // h5wasm's Node build uses NODERAWFS: this path is a real file, so it must be private to this
  // process (a fixed `/xt-data-1.h5` let concurrent xt processes overwrite each other's data).
  const vpath = join(tmpdir(), `xt-h5-${process.pid}-${Date.now().toString(36)}-${++counter}.h5`);
  FS.writeFile(vpath, bytes);
  // Make HDF5 report errors by throwing (with its error stack as the message) instead of
  // printing them to stderr; restored before returning so other h5wasm users are unaffected.
  mod.activate_throwing_error_handler();
  let file: H5File | null = null;
  try {
    file = new lib.File(vpath, "r");
    return fn(new H5Reader(name, file, lib));
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(name, describeFailure(e));
  } finally {
    try {
      file?.close();
    } catch {
      // a file that failed half-way may not close cleanly; nothing more to do
    }
    mod.deactivate_throwing_error_handler();
    try {
      FS.unlink(vpath);
    } catch {
      // already gone
    }
  }
}
