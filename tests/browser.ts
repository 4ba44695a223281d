/**
 * Headless Chromium for tests that look at figures as a person would: one page places each file
 * (SVG or PNG) at its natural size on a magenta background, Chromium screenshots the window, and
 * the pixels come back decoded. One browser start for many figures keeps the tests quick.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { decode } from "fast-png";

/** Debian's `chromium` (or another Chrome on PATH), or null where none is installed. */
export function findChromium(): string | null {
  for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
    const p = Bun.which(name);
    if (p) return p;
  }
  return null;
}

export interface Screenshot {
  width: number;
  height: number;
  /** RGB(A) bytes, `channels` per pixel. */
  data: Uint8Array;
  channels: number;
}

/** The page's background: no figure uses it, so it shows where a figure does not reach. */
export const PAGE_BACKGROUND: [number, number, number] = [255, 0, 255];

/** Shows each file with its top-left corner at (x, y) and screenshots a width × height window. */
export function screenshot(chromium: string, items: { file: string; x: number; y: number }[], width: number, height: number): Screenshot {
  const dir = mkdtempSync(join(tmpdir(), "xt-browser-"));
  try {
    const imgs = items.map((it) => `<img src="file://${resolve(it.file)}" style="position:absolute;left:${it.x}px;top:${it.y}px">`).join("\n");
    const page = join(dir, "page.html");
    writeFileSync(page, `<!doctype html><html><body style="margin:0;background:rgb(${PAGE_BACKGROUND.join(",")})">\n${imgs}\n</body></html>`);
    const shot = join(dir, "shot.png");
    const p = Bun.spawnSync([
      chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--allow-file-access-from-files",
      "--force-device-scale-factor=1", `--window-size=${width},${height}`, `--screenshot=${shot}`, `file://${page}`,
    ], { stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: dir } });
    if (p.exitCode !== 0) throw new Error(`chromium exited ${p.exitCode}: ${p.stderr.toString().slice(-2000)}`);
    const img = decode(readFileSync(shot));
    return { width: img.width, height: img.height, data: img.data as Uint8Array, channels: img.channels };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The w × h region at (x, y) of a screenshot, as its own image. */
export function crop(s: Screenshot, x: number, y: number, w: number, h: number): Screenshot {
  const data = new Uint8Array(w * h * s.channels);
  for (let r = 0; r < h; r++) data.set(s.data.subarray(((y + r) * s.width + x) * s.channels, ((y + r) * s.width + x + w) * s.channels), r * w * s.channels);
  return { width: w, height: h, data, channels: s.channels };
}

/** How many pixels of `s` show the page background. */
export function backgroundPixels(s: Screenshot): number {
  let n = 0;
  for (let p = 0; p < s.width * s.height; p++) {
    const o = p * s.channels;
    if (s.data[o] === PAGE_BACKGROUND[0] && s.data[o + 1] === PAGE_BACKGROUND[1] && s.data[o + 2] === PAGE_BACKGROUND[2]) n++;
  }
  return n;
}
