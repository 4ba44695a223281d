/**
 * Small pictures in a terminal: each character cell shows two pixels stacked ("▀", foreground
 * the upper pixel, background the lower), in 24-bit colour or the 256-colour palette; without
 * colour, one shade character ( ░▒▓█) per cell from the pair's mean brightness.
 */
export type BlockMode = "truecolor" | "256" | "shades";

export type Rgb = [number, number, number];

export interface Picture {
  width: number;
  height: number;
  /** The colour of pixel (row, col), 0…255 per channel. */
  at(row: number, col: number): Rgb;
}

const SHADES = [" ", "░", "▒", "▓", "█"];

/** xterm's 256-colour index nearest to `c` (the 6×6×6 cube or the 24 greys). */
export function xterm256(c: Rgb): number {
  const level = (v: number) => (v < 48 ? 0 : v < 115 ? 1 : Math.min(5, Math.floor((v - 35) / 40)));
  const steps = [0, 95, 135, 175, 215, 255];
  const [r, g, b] = c.map(level) as Rgb;
  const cube = 16 + 36 * r + 6 * g + b;
  const cubeErr = (steps[r]! - c[0]) ** 2 + (steps[g]! - c[1]) ** 2 + (steps[b]! - c[2]) ** 2;
  const mean = (c[0] + c[1] + c[2]) / 3;
  const gi = Math.max(0, Math.min(23, Math.round((mean - 8) / 10)));
  const gv = 8 + 10 * gi;
  const greyErr = (gv - c[0]) ** 2 + (gv - c[1]) ** 2 + (gv - c[2]) ** 2;
  return greyErr < cubeErr ? 232 + gi : cube;
}

const luminance = (c: Rgb): number => (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / 255;

/** The picture as text lines, ceil(height / 2) of them, `width` cells wide. */
export function pictureLines(p: Picture, mode: BlockMode): string[] {
  const lines: string[] = [];
  for (let r = 0; r < p.height; r += 2) {
    let s = "";
    for (let c = 0; c < p.width; c++) {
      const top = p.at(r, c);
      const bottom: Rgb = r + 1 < p.height ? p.at(r + 1, c) : [0, 0, 0];
      if (mode === "shades") {
        const l = r + 1 < p.height ? (luminance(top) + luminance(bottom)) / 2 : luminance(top);
        s += SHADES[Math.min(SHADES.length - 1, Math.floor(l * SHADES.length))];
      } else if (mode === "truecolor") {
        s += `\x1b[38;2;${top.join(";")};48;2;${bottom.join(";")}m▀`;
      } else {
        s += `\x1b[38;5;${xterm256(top)};48;5;${xterm256(bottom)}m▀`;
      }
    }
    lines.push(mode === "shades" ? s : `${s}\x1b[0m`);
  }
  return lines;
}

/** Pictures side by side under their captions, `gap` spaces apart. */
export function sideBySide(blocks: { caption: string; lines: string[]; width: number }[], gap = 3): string[] {
  const h = Math.max(...blocks.map((b) => b.lines.length));
  const pad = (s: string, w: number) => (s.length >= w ? s.slice(0, w) : s + " ".repeat(w - s.length));
  const out = [blocks.map((b) => pad(b.caption, b.width)).join(" ".repeat(gap)).trimEnd()];
  for (let i = 0; i < h; i++) out.push(blocks.map((b) => b.lines[i] ?? " ".repeat(b.width)).join(" ".repeat(gap)));
  return out;
}
