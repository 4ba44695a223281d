/** The loss-curve SVG. */
import { expect, test } from "bun:test";
import { lossCurveSvg, niceTicks, plotSvg } from "../cli/render/figures/line_chart.ts";

test("ticks are round numbers covering the range", () => {
  expect(niceTicks(0, 200)).toEqual([0, 50, 100, 150, 200]);
  expect(niceTicks(0, 3.26)).toEqual([0, 1, 2, 3]);
  expect(niceTicks(0, 0.05)).toEqual([0, 0.01, 0.02, 0.03, 0.04, 0.05]);
  expect(niceTicks(1, 1)).toEqual([1]);
});

test("a loss curve is a standalone SVG with one point per iteration", () => {
  const losses = Array.from({ length: 200 }, (_, i) => 3 * Math.exp(-i / 30));
  const svg = lossCurveSvg(losses);
  expect(svg).toStartWith('<svg xmlns="http://www.w3.org/2000/svg"');
  expect(svg.trimEnd()).toEndWith("</svg>");
  const line = svg.match(/<polyline[^>]*points="([^"]*)"/)!;
  expect(line[1]!.split(" ").length).toBe(200);
  expect(svg).toContain("Training loss history");
  expect(svg).toContain(">Iteration<");
  expect(svg).toContain(">Loss<");
  expect(lossCurveSvg(losses)).toBe(svg); // deterministic
});

test("validation points get their own series and a legend; bad values are skipped; text is escaped", () => {
  const svg = lossCurveSvg([2, NaN, 1], { val: [[3, 1.5]], title: "a < b & c" });
  expect(svg).toContain("val loss");
  expect(svg).toContain("<circle");
  expect(svg).toContain("a &lt; b &amp; c");
  expect(svg).not.toContain("NaN");
  expect(plotSvg([])).toContain("</svg>");
});
