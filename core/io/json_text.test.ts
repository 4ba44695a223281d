import { expect, test } from "bun:test";
import { jsonText } from "./json_text.ts";

test("jsonText parses back to the same value, with plain arrays on one line", () => {
  const v = { a: [1, 2.5, -0], s: ["x", "y \"z\""], nested: [{ k: [] }, { k: {} }], n: null, u: undefined, deep: { e: [[1], [2]] } };
  const text = jsonText(v);
  expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(v)));
  expect(text).toContain('"a": [1,2.5,0]');
  expect(text).toContain('"s": ["x","y \\"z\\""]');
  expect(text.endsWith("}\n")).toBe(true);
  expect(text.split("\n").length).toBeGreaterThan(10);
});
