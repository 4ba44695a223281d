/** Writes a figure in the format its file name asks for: .svg as is, .png rasterised. */
import { extname } from "node:path";
import { UsageError } from "../../../core/errors.ts";
import { writeFileAtomic } from "../../../core/io/atomic_write.ts";
import { svgToPng } from "./png.ts";

export type FigureFormat = "svg" | "png";

/** The format `path` names, or a usage error (exit 2) naming the flag. */
export function figureFormat(path: string, flag = "--out"): FigureFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".svg") return "svg";
  if (ext === ".png") return "png";
  throw new UsageError(`${flag} ${path}: write figures to a .svg or .png file`);
}

export async function writeFigure(path: string, svg: string, flag = "--out"): Promise<void> {
  const format = figureFormat(path, flag);
  writeFileAtomic(path, format === "svg" ? svg : await svgToPng(svg));
}
