import { describe, expect, test } from "bun:test";
import { FreeLists } from "./free_lists.ts";

const MB = 1024 * 1024;
/** An array of `mb` MiB. */
const arr = (mb: number) => new Float32Array((mb * MB) / 4);

describe("FreeLists (the storage pool's recycled arrays)", () => {
  test("take returns a kept array of that length, once", () => {
    const f = new FreeLists(8 * MB);
    const a = arr(1);
    expect(f.put(a)).toBe(true);
    expect(f.bytes).toBe(MB);
    expect(f.take(a.length + 1)).toBeUndefined();
    expect(f.take(a.length)).toBe(a);
    expect(f.take(a.length)).toBeUndefined();
    expect(f.bytes).toBe(0);
  });

  test("a full pool of lengths still in use turns new arrays away (a steady loop keeps what it has)", () => {
    const f = new FreeLists(4 * MB);
    const one = arr(1).length, two = arr(2).length;
    // A cycle of 3 MiB of requests: every length is asked for within the cap.
    for (let i = 0; i < 3; i++) {
      f.take(one);
      f.take(two);
    }
    expect(f.put(arr(2))).toBe(true);
    expect(f.put(arr(2))).toBe(true);
    f.take(one); // asked for, none kept
    expect(f.put(arr(1))).toBe(false);
    expect(f.bytes).toBe(4 * MB);
  });

  test("lengths nobody asked for during the last cap's worth of requests make way for new ones", () => {
    const f = new FreeLists(4 * MB);
    const old = arr(1).length, cur = arr(2).length;
    f.take(old);
    for (let i = 0; i < 4; i++) expect(f.put(arr(1))).toBe(true);
    // The program moves on to 2 MiB arrays: more than the cap requested since `old` was.
    for (let i = 0; i < 3; i++) expect(f.take(cur)).toBeUndefined();
    expect(f.put(arr(2))).toBe(true);
    expect(f.put(arr(2))).toBe(true);
    expect(f.bytes).toBe(4 * MB);
    expect(f.take(old)).toBeUndefined();
    expect(f.take(cur)).toBeDefined();
  });

  test("an array larger than the cap is never kept; a cap of 0 keeps nothing", () => {
    expect(new FreeLists(MB).put(arr(2))).toBe(false);
    const z = new FreeLists(0);
    expect(z.put(new Float32Array(16))).toBe(false);
    expect(z.bytes).toBe(0);
  });
});
