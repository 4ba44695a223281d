/** Helpers for the data-loader tests (temporary folders, corrupt copies, DataError checks). */
import { expect } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { DataError } from "../errors.ts";
import { rowRange, type Rows } from "./rows.ts";

export const REPO = resolve(import.meta.dir, "../..");
export const DATASETS = join(REPO, "fixtures", "datasets");
export const COCO_MINI = join(REPO, "fixtures", "coco-mini");

/** A fresh temporary folder; remove it with `cleanup()`. */
export function tempDir(prefix = "xt-data-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Copies a fixture file or folder into `dir`, returning the new path. */
export function copyInto(dir: string, src: string, name?: string): string {
  const dst = join(dir, name ?? src.split("/").pop()!);
  mkdirSync(dirname(dst), { recursive: true });
  cpSync(src, dst, { recursive: true });
  return dst;
}

/** Keeps the first `keep` bytes (a fraction when < 1) of a file. */
export function truncateFile(path: string, keep: number): void {
  const b = readFileSync(path);
  const n = keep < 1 ? Math.floor(b.length * keep) : keep;
  writeFileSync(path, b.subarray(0, n));
}

/** Overwrites bytes [from, to) with a fixed garbage pattern. */
export function scribble(path: string, from: number, to: number): void {
  const b = new Uint8Array(readFileSync(path));
  for (let i = from; i < Math.min(to, b.length); i++) b[i] = (i * 131 + 7) & 0xff;
  writeFileSync(path, b);
}

/** Asserts that `fn` throws a DataError whose message contains `file` and matches `problem`. */
export function expectDataError(fn: () => unknown, file: string, problem?: RegExp): DataError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  return checkDataError(err, file, problem);
}

/** The async version of expectDataError. */
export async function expectDataErrorAsync(fn: () => Promise<unknown>, file: string, problem?: RegExp): Promise<DataError> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  return checkDataError(err, file, problem);
}

function checkDataError(err: unknown, file: string, problem?: RegExp): DataError {
  if (!(err instanceof DataError)) {
    throw new Error(`expected a DataError naming ${file}, got ${err === undefined ? "no error" : String(err)}`);
  }
  expect(err.message).toContain(file);
  if (problem) expect(err.message).toMatch(problem);
  return err;
}

/** Runs `fn` with XT_DATA_DIR set (or unset with undefined), restoring it afterwards. */
export function withDataDirEnv<T>(value: string | undefined, fn: () => T): T {
  const old = process.env.XT_DATA_DIR;
  if (value === undefined) delete process.env.XT_DATA_DIR;
  else process.env.XT_DATA_DIR = value;
  const restore = () => {
    if (old === undefined) delete process.env.XT_DATA_DIR;
    else process.env.XT_DATA_DIR = old;
  };
  try {
    const r = fn();
    if (r instanceof Promise) return r.finally(restore) as T;
    restore();
    return r;
  } catch (e) {
    restore();
    throw e;
  }
}

/** Every row of a row store as one array (reads them all). */
export function allRows<A extends Int32Array | Float32Array>(r: Rows<A>): A {
  return r.gather(rowRange(0, r.rows));
}
