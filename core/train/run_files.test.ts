/** Run folders and the refusal to replace a previous run's files. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chooseRunFiles, eventLog, freshRunFolder, runFileList, runFilesFor } from "./run_files.ts";

const TMP = mkdtempSync(join(tmpdir(), "xt-run-files-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe("run folders", () => {
  test("runs/<command>-<dataset>, then -2, -3: a fresh folder per run, never a taken one", () => {
    const root = join(TMP, "runs");
    expect(freshRunFolder("train-vit-fashion-mnist", root)).toBe(join(root, "train-vit-fashion-mnist"));
    expect(freshRunFolder("train-vit-fashion-mnist", root)).toBe(join(root, "train-vit-fashion-mnist-2"));
    expect(freshRunFolder("train-vit-fashion-mnist", root)).toBe(join(root, "train-vit-fashion-mnist-3"));
    rmSync(join(root, "train-vit-fashion-mnist-2"), { recursive: true });
    expect(freshRunFolder("train-vit-fashion-mnist", root)).toBe(join(root, "train-vit-fashion-mnist-2"));
    expect(freshRunFolder("train captioning/../x", root)).toBe(join(root, "train-captioning-..-x")); // one path component
  });

  test("the default: a fresh folder holding last, best, results.json and events.jsonl", () => {
    const f = chooseRunFiles({ defaultName: "train-vit-mnist", root: join(TMP, "runs2") });
    expect(f).toEqual({
      dir: join(TMP, "runs2", "train-vit-mnist"), last: join(TMP, "runs2", "train-vit-mnist", "last"), best: join(TMP, "runs2", "train-vit-mnist", "best"),
      results: join(TMP, "runs2", "train-vit-mnist", "results.json"), events: join(TMP, "runs2", "train-vit-mnist", "events.jsonl"),
    });
    expect(existsSync(f.dir!)).toBe(true);
  });

  test("--save FILE in any form: FILE.safetensors, FILE.best.*, FILE.results.json, FILE.events.jsonl", () => {
    for (const form of ["cap", "cap.safetensors", "cap.json"]) {
      expect(runFilesFor(join(TMP, form))).toEqual({
        last: join(TMP, "cap"), best: join(TMP, "cap.best"), results: join(TMP, "cap.results.json"), events: join(TMP, "cap.events.jsonl"),
      });
    }
    // A folder, or a checkpoint named `last`, means the folder layout.
    expect(runFilesFor(join(TMP, "exp") + "/").best).toBe(join(TMP, "exp", "best"));
    expect(runFilesFor(join(TMP, "exp", "last.safetensors")).results).toBe(join(TMP, "exp", "results.json"));
  });
});

describe("a previous run's files are never replaced silently", () => {
  const stem = join(TMP, "prev");
  test("--save refuses an existing checkpoint (exit 2, naming it and --overwrite)", () => {
    writeFileSync(`${stem}.safetensors`, "old weights");
    let err: unknown;
    try {
      chooseRunFiles({ save: stem, defaultName: "x" });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toBe(`--save ${stem}: ${stem}.safetensors already exists (a previous run's); pass --overwrite to replace it, or --save another name`);
    expect((err as { exitCode: number }).exitCode).toBe(2);
    expect(readFileSync(`${stem}.safetensors`, "utf8")).toBe("old weights");
    writeFileSync(`${stem}.best.json`, "old best");
    expect(() => chooseRunFiles({ save: `${stem}.json`, defaultName: "x" })).toThrow(/with 1 more file/);
  });

  test("--overwrite removes every file of the old run first (no stale best model left beside the new run)", () => {
    const f = chooseRunFiles({ save: stem, overwrite: true, defaultName: "x" });
    expect(f.last).toBe(stem);
    expect(runFileList(f).filter((p) => existsSync(p))).toEqual([]);
  });

  test("resuming into the checkpoint's own place is allowed; --save elsewhere is checked like a new run", () => {
    const run = join(TMP, "resumed");
    mkdirSync(run);
    writeFileSync(join(run, "last.safetensors"), "w");
    writeFileSync(join(run, "last.json"), "{}");
    expect(chooseRunFiles({ resume: join(run, "last.json"), defaultName: "x" }).dir).toBe(run);
    expect(chooseRunFiles({ resume: run, save: join(run, "last"), defaultName: "x" }).dir).toBe(run);
    expect(() => chooseRunFiles({ resume: join(TMP, "elsewhere"), save: join(run, "last"), defaultName: "x" })).toThrow(/already exists/);
    expect(() => chooseRunFiles({ save: "", defaultName: "x" })).toThrow(/--save: expected a file name/);
  });
});

test("the event log appends JSON lines, flushed at epoch events and at the end", () => {
  const path = join(TMP, "log", "events.jsonl");
  const log = eventLog(path);
  log.sink({ type: "start", command: "c", model: "m", params: 1, device: "cpu", dataset: "d", totalSteps: 2 });
  log.sink({ type: "step", step: 1, totalSteps: 2, loss: 1, lr: 1, examples: 1, elapsedMs: 1 });
  expect(readFileSync(path, "utf8").trim().split("\n").length).toBe(1); // the step waits in the buffer
  log.flush();
  const again = eventLog(path); // a resumed run appends
  again.sink({ type: "end", steps: 2, elapsedMs: 2 });
  expect(readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l).type)).toEqual(["start", "step", "end"]);
});
