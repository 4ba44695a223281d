/** The one-line progress note on stderr. */
import { expect, test } from "bun:test";
import { statusLine } from "./status_line.ts";

function fakeStream(isTTY: boolean, columns = 40): { stream: NodeJS.WriteStream; text: () => string } {
  const out: string[] = [];
  const stream = { isTTY, columns, write: (s: string) => void out.push(s) } as unknown as NodeJS.WriteStream;
  return { stream, text: () => out.join("") };
}

test("on a terminal: redrawn in place, at most every 100 ms, cut to the width, erased when done", () => {
  const { stream, text } = fakeStream(true, 20);
  let t = 0;
  const s = statusLine(stream, () => t);
  s.update("evaluating 64/1000");
  t = 50;
  s.update("evaluating 128/1000"); // too soon: skipped
  t = 150;
  s.update("evaluating 192/1000 test images");
  s.done();
  expect(text()).toBe("\revaluating 64/1000\x1b[K" + "\revaluating 192/100…\x1b[K" + "\r\x1b[K");
});

test("not a terminal: nothing at all", () => {
  const { stream, text } = fakeStream(false);
  const s = statusLine(stream, () => 1000);
  s.update("evaluating 64/1000");
  s.done();
  expect(text()).toBe("");
});
