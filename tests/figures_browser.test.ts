/**
 * Every figure kind as a person sees it: headless Chromium shows the SVG and the PNG side by
 * side; each must cover exactly its declared size (page background all around, none inside),
 * not be blank, and (heat maps) show many colours; the PNG (resvg + fast-png) must look like
 * Chromium's own rendering of the SVG.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { svgToPng } from "../cli/render/figures/png.ts";
import { backgroundPixels, crop, findChromium, screenshot, type Screenshot } from "./browser.ts";
import { colourfulColours, inkShare, sampleFigures, svgSize } from "./figure_samples.ts";

const chromium = findChromium();
if (!chromium) console.warn("figures_browser.test.ts: skipped, no chromium on PATH (Debian: apt-get install chromium)");
const TMP = mkdtempSync(join(tmpdir(), "xt-figures-browser-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const GAP = 8;
const figures = sampleFigures().map((f) => ({ ...f, ...svgSize(f.svg) }));
// Layout: one row per figure, the SVG on the left, the PNG on the right.
const colW = Math.max(...figures.map((f) => f.width)) + GAP;
const rows = figures.map((f, i) => ({ ...f, y: GAP + figures.slice(0, i).reduce((s, g) => s + g.height + GAP, 0) }));
const pageW = GAP + 2 * colW;
const pageH = rows[rows.length - 1]!.y + rows[rows.length - 1]!.height + GAP;
let shot: Screenshot;

/** Mean absolute difference per channel (0…255) between two images of one size. */
function meanDiff(a: Screenshot, b: Screenshot): number {
  let s = 0;
  for (let p = 0; p < a.width * a.height; p++) for (let c = 0; c < 3; c++) s += Math.abs(a.data[p * a.channels + c]! - b.data[p * b.channels + c]!);
  return s / (3 * a.width * a.height);
}

describe.skipIf(!chromium)("figures in headless Chromium", () => {
  beforeAll(async () => {
    const items = [];
    for (const f of rows) {
      writeFileSync(join(TMP, `${f.kind}.svg`), f.svg);
      writeFileSync(join(TMP, `${f.kind}.png`), await svgToPng(f.svg));
      items.push({ file: join(TMP, `${f.kind}.svg`), x: GAP, y: f.y }, { file: join(TMP, `${f.kind}.png`), x: GAP + colW, y: f.y });
    }
    shot = screenshot(chromium!, items, pageW, pageH);
  }, 60000);

  test("the screenshot has the window's size", () => {
    expect({ width: shot.width, height: shot.height }).toEqual({ width: pageW, height: pageH });
  });

  for (const f of rows) {
    test(`${f.kind}: SVG and PNG at ${f.width}×${f.height}, not blank, alike`, () => {
      const views = [GAP, GAP + colW].map((x) => {
        const inside = crop(shot, x, f.y, f.width, f.height);
        // Exactly the declared size: the figure's white covers its box; the page shows just outside it.
        expect(backgroundPixels(inside)).toBe(0);
        expect(backgroundPixels(crop(shot, x + f.width, f.y, 1, f.height))).toBe(f.height);
        expect(backgroundPixels(crop(shot, x, f.y + f.height, f.width, 1))).toBe(f.width);
        expect(inkShare(inside.data, inside.channels)).toBeGreaterThan(f.heat ? 0.1 : 0.02);
        expect(colourfulColours(inside.data, inside.channels)).toBeGreaterThanOrEqual(f.heat ? 12 : 2);
        return inside;
      });
      // Same shapes in the same places: only anti-aliasing and font hinting differ.
      expect(meanDiff(views[0]!, views[1]!)).toBeLessThan(6);
    });
  }
});
