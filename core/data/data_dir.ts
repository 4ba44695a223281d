/**
 * The data folders a user names: `--data-dir DIR` (passed to the loaders) and `$XT_DATA_DIR`.
 * Either one that does not exist is an error, for every command, rather than a silent fall-back
 * to other data (the embedded sets, ./data, the system Fashion-MNIST). An empty XT_DATA_DIR
 * counts as unset. A folder that exists but lacks one data set is not an error by itself:
 * XT_DATA_DIR is the root for all of them, and each loader goes on to its next place.
 */
import { DataError } from "../errors.ts";
import { isDir, isFile } from "./io.ts";

/** How every "not found" message tells the user to point xt at data. */
export const DATA_DIR_HINT = "Pass the folder with --data-dir DIR or set XT_DATA_DIR=DIR.";

/** $XT_DATA_DIR when set; a DataError when it names no folder. */
export function envDataDir(): string | undefined {
  const env = process.env.XT_DATA_DIR;
  if (!env) return undefined;
  if (!isDir(env)) {
    throw new DataError(env, `XT_DATA_DIR names ${isFile(env) ? "a file, not a folder" : "a folder that does not exist"}; set it to your data folder or unset it (or pass --data-dir DIR)`);
  }
  return env;
}

/** Checks a --data-dir folder; `what` names the data looked for ("COCO captioning data"). */
export function checkDataDirFlag(dir: string, what: string): void {
  if (!isDir(dir)) {
    throw new DataError(dir, `data folder not found (given with --data-dir, for the ${what})${isFile(dir) ? ": it is a file, not a folder" : ""}`);
  }
}
