/**
 * SVG → PNG: resvg (the Rust SVG renderer, as WebAssembly: no native module, so it embeds in the
 * compiled binary) rasterises the figure with an embedded DejaVu Sans (regular and bold), and fast-png encodes the
 * pixels. The font is embedded so text looks the same on machines without fonts.
 */
import { readFileSync } from "node:fs";
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import wasmPath from "@resvg/resvg-wasm/index_bg.wasm" with { type: "file" };
import fontPath from "dejavu-fonts-ttf/ttf/DejaVuSans.ttf" with { type: "file" };
import boldFontPath from "dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf" with { type: "file" };
import { encode } from "fast-png";

let ready: Promise<Uint8Array[]> | null = null;

/** Loads the WebAssembly module once per process; resolves to the fonts' bytes. */
function init(): Promise<Uint8Array[]> {
  ready ??= (async () => {
    await initWasm(readFileSync(wasmPath));
    return [fontPath, boldFontPath].map((p) => new Uint8Array(readFileSync(p)));
  })();
  return ready;
}

export interface RgbaImage {
  width: number;
  height: number;
  /** width·height·4 bytes, not premultiplied. */
  data: Uint8Array;
}

/** The SVG's pixels at `scale` × its size. */
export async function rasterizeSvg(svg: string, scale = 1): Promise<RgbaImage> {
  const fonts = await init();
  const r = new Resvg(svg, {
    fitTo: scale === 1 ? { mode: "original" } : { mode: "zoom", value: scale },
    font: { fontBuffers: fonts, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
    shapeRendering: 2, // geometricPrecision: anti-aliased lines; heat maps ask for crispEdges themselves
    textRendering: 1,
  });
  const img = r.render();
  const out = { width: img.width, height: img.height, data: new Uint8Array(img.pixels) };
  img.free();
  r.free();
  return out;
}

export function encodePng(img: RgbaImage): Uint8Array {
  return encode({ width: img.width, height: img.height, data: img.data, channels: 4, depth: 8 });
}

export async function svgToPng(svg: string, scale = 1): Promise<Uint8Array> {
  return encodePng(await rasterizeSvg(svg, scale));
}
