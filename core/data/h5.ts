/**
 * Reading HDF5 files (as h5py writes them) through h5wasm, in place: h5wasm's Node build reaches
 * the real file system (Emscripten NODERAWFS), so a file is opened where it lies and only the
 * rows asked for are read, never the whole file. Every failure becomes a DataError naming the
 * file. The file is opened for each read (a few milliseconds) rather than held open, so that no
 * handle outlives a load and reads made later (validation captions, `sample`) need no cleanup.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type H5WasmDefault from "h5wasm/node";
import { DataError } from "../errors.ts";

// h5wasm (a 4 MB module that compiles its WebAssembly on import) is loaded on first use only.
type H5Lib = typeof H5WasmDefault;
type H5Module = Awaited<H5Lib["ready"]>;
type H5File = InstanceType<H5Lib["File"]>;
type H5Dataset = InstanceType<H5Lib["Dataset"]>;

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** The element kinds the data loaders read: any integer (as int32) or float32/float64 (as float32). */
export type H5Kind = "int" | "float";
export type H5Array<K extends H5Kind> = K extends "int" ? Int32Array : Float32Array;

/** Whether the file carries the HDF5 signature (at 0, 512, 1024, 2048, ... as the spec allows). */
function fileHasHdf5Signature(fd: number, size: number): boolean {
  const buf = new Uint8Array(8);
  for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
    if (readSync(fd, buf, 0, 8, off) === 8 && HDF5_SIGNATURE.every((b, i) => buf[i] === b)) return true;
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

/** An open HDF5 file with checked dataset readers (valid inside Hdf5File.read only). */
export class H5Reader {
  private readonly buffer: WasmBuffer;
  constructor(readonly name: string, private readonly file: H5File, private readonly lib: H5Lib, private readonly mod: H5Module) {
    this.buffer = new WasmBuffer(mod);
  }

  /** @internal Frees the read buffer (Hdf5File.read does, when it closes the file). */
  release(): void {
    this.buffer.free();
  }

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

  /** The shape of a dataset checked to be `ndim`-dimensional and of the kind asked for. */
  dims(key: string, kind: H5Kind, ndim: number): number[] {
    const d = this.dataset(key);
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

  /** Bytes of one element of a dataset as stored in the file. */
  elementSize(key: string): number {
    return this.dataset(key).metadata.size;
  }

  /**
   * Rows [r0, r1) of a dataset (checked with `dims` first), `cols` values a row, in one
   * hyperslab read: a contiguous dataset is read at its offset in the file, a chunked one chunk
   * by chunk (decompressed by HDF5's filters). The values land in a buffer inside h5wasm's
   * memory, reused from read to read and viewed in the file's own element type: nothing is
   * copied into a JavaScript array that the caller does not keep. The view is valid until the
   * next read.
   */
  readSpan(key: string, r0: number, r1: number, cols: number): SpanView {
    const d = this.dataset(key);
    const md = d.metadata;
    const ndim = md.shape?.length ?? 0;
    const n = (r1 - r0) * cols;
    const ptr = this.buffer.reserve(n * md.size);
    const count = [BigInt(r1 - r0), ...(ndim === 2 ? [BigInt(cols)] : [])];
    const offset = [BigInt(r0), ...(ndim === 2 ? [0n] : [])];
    const strides = count.map(() => 1n);
    this.mod.get_dataset_data(d.file_id, d.path, count, offset, strides, BigInt(ptr));
    // read after the call: the heap may have grown (and its ArrayBuffer changed) inside it
    const heap = this.mod.HEAPU8.buffer;
    const view = md.type === 1
      ? (md.size === 4 ? new Float32Array(heap, ptr, n) : new Float64Array(heap, ptr, n))
      : md.size === 1 ? (md.signed ? new Int8Array(heap, ptr, n) : new Uint8Array(heap, ptr, n))
      : md.size === 2 ? (md.signed ? new Int16Array(heap, ptr, n) : new Uint16Array(heap, ptr, n))
      : md.size === 4 ? (md.signed ? new Int32Array(heap, ptr, n) : new Uint32Array(heap, ptr, n))
      : md.signed ? new BigInt64Array(heap, ptr, n) : new BigUint64Array(heap, ptr, n);
    return view;
  }
}

/** A span of rows as read, in the file's element type (see H5Reader.readSpan). */
export type SpanView =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array;

/** One malloc'd block of h5wasm memory, grown as needed and freed when the file is closed. */
class WasmBuffer {
  private ptr = 0;
  private size = 0;
  constructor(private readonly mod: H5Module) {}

  reserve(bytes: number): number {
    if (bytes > this.size) {
      this.free();
      const p = this.mod._malloc(Math.max(bytes, 8));
      if (!p) throw new Error(`h5wasm could not allocate ${bytes} bytes`);
      this.ptr = p;
      this.size = bytes;
    }
    return this.ptr;
  }

  free(): void {
    if (this.ptr) this.mod._free(this.ptr);
    this.ptr = 0;
    this.size = 0;
  }
}

let loading: Promise<{ lib: H5Lib; mod: H5Module }> | null = null;
let loaded: { lib: H5Lib; mod: H5Module } | null = null;

async function loadH5wasm(): Promise<{ lib: H5Lib; mod: H5Module }> {
  const lib = (await import("h5wasm/node")).default;
  loaded = { lib, mod: await lib.ready };
  return loaded;
}

/**
 * An HDF5 file on the real file system, checked (exists, is not empty, carries the signature,
 * opens) by `openHdf5`; `read` opens it in place and runs a function on it.
 */
export class Hdf5File {
  /** @internal use openHdf5 */
  constructor(readonly name: string, readonly path: string, private readonly h5: { lib: H5Lib; mod: H5Module }) {}

  /** Opens the file, runs `fn`, closes it; anything h5wasm throws becomes a DataError. */
  read<T>(fn: (f: H5Reader) => T): T {
    const { lib, mod } = this.h5;
    // Make HDF5 report errors by throwing (with its error stack as the message) instead of
    // printing them to stderr; restored before returning so other h5wasm users are unaffected.
    mod.activate_throwing_error_handler();
    let file: H5File | null = null;
    let reader: H5Reader | null = null;
    try {
      if (!statSync(this.path, { throwIfNoEntry: false })?.isFile()) throw new DataError(this.name, "file not found");
      file = new lib.File(this.path, "r");
      reader = new H5Reader(this.name, file, lib, mod);
      return fn(reader);
    } catch (e) {
      if (e instanceof DataError) throw e;
      throw new DataError(this.name, describeFailure(e));
    } finally {
      reader?.release();
      try {
        file?.close();
      } catch {
        // a file that failed half-way may not close cleanly; nothing more to do
      }
      mod.deactivate_throwing_error_handler();
    }
  }
}

/**
 * Checks `path` as an HDF5 file (`name` is how messages call it) without reading it whole:
 * a missing, empty, non-HDF5, truncated or unopenable file is a DataError.
 */
export async function openHdf5(name: string, path: string): Promise<Hdf5File> {
  const abs = resolve(path);
  let fd: number;
  try {
    fd = openSync(abs, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(name, code === "ENOENT" ? "file not found" : `cannot read file (${(e as Error).message})`);
  }
  try {
    const size = statSync(abs).size;
    if (size === 0) throw new DataError(name, "empty file, not an HDF5 file");
    if (!fileHasHdf5Signature(fd, size)) throw new DataError(name, "not an HDF5 file (no HDF5 signature)");
  } finally {
    closeSync(fd);
  }
  loading ??= loadH5wasm();
  const file = new Hdf5File(name, abs, loaded ?? await loading);
  file.read((f) => f.keys()); // opening checks the superblock: a truncated file is reported here
  return file;
}
