/** Row stores: rows read in place from HDF5 files (contiguous and gzip-chunked), kept once read. */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import { DataError } from "../errors.ts";
import { openHdf5 } from "./h5.ts";
import { ArrayRows, FileRows, rowRange } from "./rows.ts";
import { expectDataError, tempDir, truncateFile } from "./testing.ts";

const tmp = tempDir("xt-rows-test-");
afterAll(tmp.cleanup);

const ROWS = 100;
const COLS = 6;
const VALUES = Float32Array.from({ length: ROWS * COLS }, (_, i) => Math.fround(Math.sin(i) * 100));

async function writeFile(name: string, chunked: boolean): Promise<string> {
  await h5wasm.ready;
  const path = join(tmp.dir, name);
  const f = new h5wasm.File(path, "w");
  f.create_dataset({
    name: "x", data: VALUES, shape: [ROWS, COLS],
    ...(chunked ? { chunks: [7, COLS], compression: "gzip" as const } : {}),
  });
  f.create_dataset({ name: "i", data: BigInt64Array.from({ length: ROWS }, (_, i) => BigInt(i * 3)), shape: [ROWS] });
  f.close();
  return path;
}

function expected(idxs: number[]): Float32Array {
  const out = new Float32Array(idxs.length * COLS);
  idxs.forEach((r, i) => out.set(VALUES.subarray(r * COLS, (r + 1) * COLS), i * COLS));
  return out;
}

describe("FileRows", () => {
  for (const chunked of [false, true]) {
    test(`${chunked ? "gzip-chunked" : "contiguous"}: gathers rows in any order, reads each once, holds only those`, async () => {
      const path = await writeFile(`${chunked ? "chunked" : "contiguous"}.h5`, chunked);
      const h = await openHdf5("x.h5", path);
      const rows = new FileRows(h, "x", "float", ROWS, COLS, 4);
      expect(rows.residentRows).toBe(0);
      const want = [99, 0, 5, 6, 50, 5, 7];
      expect(rows.gather(want)).toEqual(expected(want));
      expect(rows.residentRows).toBe(6);
      // 0 and 5..7 are within the gap: one read; 50 and 99: one each
      expect(rows.reads).toBe(3);
      expect(rows.gather([6, 99])).toEqual(expected([6, 99]));
      expect(rows.reads).toBe(3);
      rows.loadAll();
      expect(rows.residentRows).toBe(ROWS);
      expect(rows.gather(Array.from(rowRange(0, ROWS)))).toEqual(VALUES);
    });
  }

  test("reads are split at the span limit and kept in blocks of the block limit", async () => {
    const h = await openHdf5("x.h5", await writeFile("limits.h5", false));
    const rows = new FileRows(h, "x", "float", ROWS, COLS, 4, undefined, { spanBytes: 10 * COLS * 4, gapRows: 0, blockBytes: 3 * COLS * 4 });
    rows.loadAll();
    expect(rows.reads).toBe(10);
    const all = Array.from(rowRange(0, ROWS)).reverse();
    expect(rows.gather(all)).toEqual(expected(all));
  });

  test("integers of any width become int32; the check sees each row as it is read", async () => {
    const h = await openHdf5("x.h5", await writeFile("ints.h5", false));
    const seen: number[] = [];
    const rows = new FileRows(h, "i", "int", ROWS, 1, 8, (row, v, at) => {
      seen.push(row);
      if (v[at] === 3 * 42) throw new DataError("x.h5", `bad row ${row}`);
    });
    expect(Array.from(rows.gather([3, 1]))).toEqual([9, 3]);
    expect(seen).toEqual([1, 3]);
    expectDataError(() => rows.gather([41, 42]), "x.h5", /bad row 42/);
    expect(rows.residentRows).toBe(3); // 1, 3 and 41: the bad row is not kept
  });

  test("a file truncated after it was opened is a DataError when its rows are read", async () => {
    const path = await writeFile("later.h5", false);
    const h = await openHdf5("later.h5", path);
    const rows = new FileRows(h, "x", "float", ROWS, COLS, 4);
    truncateFile(path, 0.5);
    expectDataError(() => rows.gather([ROWS - 1]), "later.h5", /truncated|corrupt/);
  });
});

describe("ArrayRows", () => {
  test("gathers rows of an in-memory table", () => {
    const a = new ArrayRows(Int32Array.from([0, 1, 2, 3, 4, 5]), 2);
    expect(a.rows).toBe(3);
    expect(Array.from(a.gather([2, 0, 2]))).toEqual([4, 5, 0, 1, 4, 5]);
    expect(() => a.gather([3])).toThrow(RangeError);
    expect(() => new ArrayRows(new Float32Array(5), 2)).toThrow(RangeError);
  });
});
