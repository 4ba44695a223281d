/**
 * Where a training run writes, and the rule that a run never replaces another run's files
 * silently.
 *
 * By default a run gets a fresh folder, `runs/<command>-<dataset>/`, numbered when taken
 * (`runs/train-vit-fashion-mnist-2/`, `-3`, …), holding
 *   last.safetensors + last.json + last.optim.safetensors   the resumable state (each epoch, and on Ctrl-C)
 *   best.safetensors + best.json                            the best model so far (train commands)
 *   results.json                                            the per-epoch results (docs/results.md)
 *   events.jsonl                                            every event, one JSON line each
 * `--save FILE` names the resumable checkpoint instead: FILE.safetensors (+ .json, .optim.safetensors),
 * FILE.best.*, FILE.results.json, FILE.events.jsonl; a FILE whose name is `last` (or a folder)
 * means the folder layout. Existing files are refused unless `--overwrite`, or the run resumes
 * from that very checkpoint.
 */
import { appendFileSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { XtError } from "../errors.ts";
import { checkpointPaths, pathsOfStem } from "../io/checkpoint.ts";
import type { EventSink, TrainEvent } from "./events.ts";

export interface RunFiles {
  /** The run folder, in the folder layout. */
  dir?: string;
  /** Stem of the resumable checkpoint. */
  last: string;
  /** Stem of the best model's checkpoint. */
  best: string;
  results: string;
  events: string;
}

export const RUNS_ROOT = "runs";

function folderLayout(dir: string): RunFiles {
  return { dir, last: join(dir, "last"), best: join(dir, "best"), results: join(dir, "results.json"), events: join(dir, "events.jsonl") };
}

/** The layout a checkpoint name implies (a stem named `last` or a folder: the folder layout). */
export function runFilesFor(path: string): RunFiles {
  const isDir = path.endsWith("/") || (existsSync(path) && statSync(path).isDirectory());
  if (isDir) return folderLayout(path.replace(/\/+$/, "") || "/");
  const stem = checkpointPaths(path, "last").stem;
  if (basename(stem) === "last") return folderLayout(dirname(stem));
  return { last: stem, best: `${stem}.best`, results: `${stem}.results.json`, events: `${stem}.events.jsonl` };
}

/** Every file of a layout (those that exist are a previous run's). */
export function runFileList(f: RunFiles): string[] {
  const last = pathsOfStem(f.last);
  const best = pathsOfStem(f.best);
  return [last.weights, last.sidecar, last.state, best.weights, best.sidecar, best.state, f.results, f.events];
}

/** `runs/train-vit-fashion-mnist`, then `-2`, `-3`, …: the first name not taken, created now. */
export function freshRunFolder(name: string, root = RUNS_ROOT): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "run";
  try {
    mkdirSync(root, { recursive: true });
  } catch (e) {
    throw new XtError(`cannot create the runs folder ${root}: ${(e as Error).message}`);
  }
  for (let n = 1; ; n++) {
    const dir = join(root, n === 1 ? safe : `${safe}-${n}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw new XtError(`cannot create the run folder ${dir}: ${(e as Error).message}`);
    }
  }
}

export interface RunFilesChoice {
  /** --save: where the resumable checkpoint goes. */
  save?: string;
  /** --resume: the checkpoint continued (its files are this run's own). */
  resume?: string;
  /** --overwrite: replace a previous run's files. */
  overwrite?: boolean;
  /** The default folder's name, e.g. "train-vit-fashion-mnist". */
  defaultName: string;
  root?: string;
}

/**
 * Picks the files of this run: --save, else the resumed checkpoint's place, else a fresh run
 * folder. Refuses (exit 2) to replace a previous run's files unless --overwrite, which removes
 * them first so that no stale file (an old best model) is left beside the new ones.
 */
export function chooseRunFiles(c: RunFilesChoice): RunFiles {
  if (c.save === "") throw new XtError("--save: expected a file name", 2);
  const resumed = c.resume === undefined ? undefined : runFilesFor(c.resume);
  if (c.save === undefined) return resumed ?? folderLayout(freshRunFolder(c.defaultName, c.root));
  const files = runFilesFor(c.save);
  if (resumed && resumed.last === files.last) return files;
  const taken = runFileList(files).filter((f) => existsSync(f));
  if (taken.length > 0) {
    if (!c.overwrite) {
      throw new XtError(
        `--save ${c.save}: ${taken[0]} already exists (a previous run's${taken.length > 1 ? `, with ${taken.length - 1} more file${taken.length > 2 ? "s" : ""}` : ""}); pass --overwrite to replace it, or --save another name`,
        2,
      );
    }
    for (const f of taken) rmSync(f, { force: true });
  }
  return files;
}

/** Appends every event to a JSON-lines file (buffered; flushed at epoch ends, at the end and every 200 events). */
export function eventLog(path: string): { sink: EventSink; flush: () => void } {
  let buf: string[] = [];
  let failed = false;
  const flush = (): void => {
    if (buf.length === 0 || failed) return;
    const text = buf.join("");
    buf = [];
    try {
      mkdirSync(dirname(path), { recursive: true });
      appendFileSync(path, text);
    } catch (e) {
      failed = true;
      throw new XtError(`cannot write the event log ${path}: ${(e as Error).message}`);
    }
  };
  return {
    sink(e: TrainEvent) {
      buf.push(JSON.stringify(e) + "\n");
      if (e.type !== "step" || buf.length >= 200) flush();
    },
    flush,
  };
}

/** One sink feeding several (the renderer and the event log). */
export function teeSink(...sinks: (EventSink | undefined)[]): EventSink {
  const live = sinks.filter((s): s is EventSink => s !== undefined);
  return (e) => {
    for (const s of live) s(e);
  };
}
