/** Every figure kind: valid XML, deterministic, and its PNG decodes to the SVG's size with colour. */
import { expect, test } from "bun:test";
import { decode } from "fast-png";
import { XMLValidator } from "fast-xml-parser";
import { colourfulColours, inkShare, sampleFigures, svgSize } from "../../../tests/figure_samples.ts";
import { colormap, parseColor } from "./colormap.ts";
import { heatmap, rangeFormatter, readableOn } from "./heatmap.ts";
import { svgToPng } from "./png.ts";
import { pictureLines, xterm256 } from "./terminal_blocks.ts";
import { figureFormat } from "./write_figure.ts";

for (const f of sampleFigures()) {
  test(`${f.kind}: valid SVG, deterministic, a PNG of the same size that decodes with colour`, async () => {
    expect(XMLValidator.validate(f.svg)).toBe(true);
    expect(f.svg).not.toContain("NaN");
    expect(f.svg).not.toContain("undefined");
    const again = sampleFigures().find((g) => g.kind === f.kind)!.svg;
    expect(again).toBe(f.svg);
    const size = svgSize(f.svg);
    const png = decode(await svgToPng(f.svg));
    expect({ width: png.width, height: png.height }).toEqual(size);
    expect(png.channels).toBe(4);
    const data = png.data as Uint8Array;
    expect(inkShare(data)).toBeGreaterThan(f.heat ? 0.1 : 0.02);
    expect(colourfulColours(data)).toBeGreaterThanOrEqual(f.heat ? 12 : 2);
  });
}

test("text is escaped; titles reach the SVG", () => {
  const svg = sampleFigures().find((f) => f.kind === "caption-attention")!.svg;
  expect(svg).toContain("&lt;START&gt;");
  expect(svg).not.toContain("<START>");
  expect(XMLValidator.validate(svg)).toBe(true);
});

test("colour maps: viridis and magma ends, NaN is light grey, labels contrast with their cell", () => {
  expect(colormap("viridis")(0)).toBe("#440154");
  expect(colormap("viridis")(1)).toBe("#fde725");
  expect(colormap("magma")(0)).toBe("#000004");
  expect(colormap("magma")(1)).toBe("#fcfdbf");
  expect(colormap("viridis")(2)).toBe("#fde725");
  expect(colormap("viridis")(NaN)).toBe("#eeeeee");
  expect(parseColor("rgb(1, 2, 3)")).toEqual([1, 2, 3]);
  expect(readableOn("#440154")).toBe("#fff");
  expect(readableOn("#fde725")).toBe("#000");
  const svg = heatmap({ x: 0, y: 0, rows: 1, cols: 2, values: [0, 1], cellWidth: 10, cellHeight: 10, cmap: "viridis", labels: (_r, c) => String(c) });
  expect(svg).toContain('fill="#440154"');
  expect(svg).toContain('fill="#fde725"');
});

test("terminal blocks: truecolor and 256-colour escapes, shades without colour", () => {
  const pic = { width: 2, height: 2, at: (r: number, c: number) => (r === 0 ? [255, 0, 0] : c === 0 ? [0, 0, 0] : [255, 255, 255]) as [number, number, number] };
  expect(pictureLines(pic, "truecolor")).toEqual(["\x1b[38;2;255;0;0;48;2;0;0;0m▀\x1b[38;2;255;0;0;48;2;255;255;255m▀\x1b[0m"]);
  expect(pictureLines(pic, "256")).toEqual(["\x1b[38;5;196;48;5;16m▀\x1b[38;5;196;48;5;231m▀\x1b[0m"]);
  const shades = pictureLines(pic, "shades");
  expect(shades).toEqual([" ▓"]); // red over black: mean brightness 0.15; red over white: 0.65
  expect(xterm256([128, 128, 128])).toBe(244);
});

test("figure files are .svg or .png; anything else is a usage error naming the flag", () => {
  expect(figureFormat("a/b.SVG")).toBe("svg");
  expect(figureFormat("x.png")).toBe("png");
  expect(() => figureFormat("loss.jpg", "--plot")).toThrow("--plot loss.jpg: write figures to a .svg or .png file");
  let code = 0;
  try {
    figureFormat("loss");
  } catch (e) {
    code = (e as { exitCode: number }).exitCode;
  }
  expect(code).toBe(2);
});

test("colour-bar labels get enough decimals to read apart", () => {
  const f = rangeFormatter(0.062, 0.063);
  expect([f(0.062), f(0.0625), f(0.063)]).toEqual(["0.0620", "0.0625", "0.0630"]);
  expect(rangeFormatter(0, 1)(0.5)).toBe("0.5");
  expect(rangeFormatter(0.021, 0.15)(0.15)).toBe("0.15");
});
