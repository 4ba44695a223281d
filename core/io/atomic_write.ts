/** Write a file so readers see the old content or the new, never half of it: temp file, then rename. */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { XtError } from "../errors.ts";

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  const tmp = join(dir, `.xt-tmp-${process.pid}-${Date.now()}-${basename(path)}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new XtError(`cannot write ${path}: ${(e as Error).message}`);
  }
}
