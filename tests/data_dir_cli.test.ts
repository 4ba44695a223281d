/**
 * Every command that reads data fails, naming the setting, when XT_DATA_DIR or --data-dir names
 * a folder that does not exist, instead of quietly training on other data (the embedded
 * coco-mini, the embedded Fashion-MNIST images, ./data or the system copy).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REPO = join(import.meta.dir, "..");
const MAIN = join(REPO, "cli/main.ts");
const DATASETS = join(REPO, "fixtures/datasets");
const TMP = mkdtempSync(join(tmpdir(), "xt-data-dir-cli-"));
const MISSING = join(TMP, "no-such-folder");
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function xt(env: { XT_DATA_DIR?: string }, ...args: string[]): { code: number; out: string; err: string } {
  const e: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
  delete e.XT_DATA_DIR;
  if (env.XT_DATA_DIR !== undefined) e.XT_DATA_DIR = env.XT_DATA_DIR;
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], { env: e, cwd: TMP });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

const CAPTIONING = join(TMP, "cap.safetensors");
const VIT = join(TMP, "vit.safetensors");

beforeAll(() => {
  const tiny = ["--wordvec-dim", "8", "--num-layers", "1", "--max-train", "10", "--batch-size", "5", "--epochs", "1", "--json"];
  const cap = xt({}, "overfit", "captioning", ...tiny, "--save", CAPTIONING);
  if (cap.code !== 0) throw new Error(`overfit captioning failed: ${cap.err}`);
  const vit = xt({}, "train", "vit", "--dataset", "mnist", "--data-dir", DATASETS, "--max-train", "6", "--max-test", "6", "--epochs", "1", "--json", "--save", VIT);
  if (vit.code !== 0) throw new Error(`train vit failed: ${vit.err}`);
});

function expectDataDirError(r: { code: number; out: string; err: string }, setting: RegExp): void {
  expect(r.code).toBe(1);
  expect(r.err).toMatch(setting);
  expect(r.err).toContain(MISSING);
  expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.out).not.toContain('"type":"step"'); // nothing trained
}

const COMMANDS: [string, string[]][] = [
  ["overfit captioning", ["overfit", "captioning", "--epochs", "1", "--json"]],
  ["train captioning", ["train", "captioning", "--max-train", "10", "--epochs", "1", "--json"]],
  ["sample", ["sample", "--checkpoint", CAPTIONING, "-n", "1"]],
  ["sample --split val", ["sample", "--checkpoint", CAPTIONING, "--split", "val", "-n", "1"]],
  ["overfit vit", ["overfit", "vit", "--steps", "1", "--json"]],
  ["train vit", ["train", "vit", "--epochs", "1", "--max-train", "6", "--json", "--save", join(TMP, "never.safetensors")]],
  ["eval vit", ["eval", "vit", "--checkpoint", VIT]],
];

describe("XT_DATA_DIR naming a folder that does not exist", () => {
  for (const [name, args] of COMMANDS) {
    test(`${name} fails and names XT_DATA_DIR`, () => {
      expectDataDirError(xt({ XT_DATA_DIR: MISSING }, ...args), /XT_DATA_DIR names a folder that does not exist.*--data-dir/);
    });
  }
});

describe("--data-dir naming a folder that does not exist", () => {
  for (const [name, args] of COMMANDS) {
    test(`${name} fails and names --data-dir`, () => {
      expectDataDirError(xt({}, ...args, "--data-dir", MISSING), /data folder not found \(given with --data-dir/);
    });
  }
});

test("data not found: the message names --data-dir and XT_DATA_DIR", () => {
  const r = xt({ XT_DATA_DIR: TMP }, "train", "vit", "--dataset", "cifar10", "--epochs", "1");
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/cifar10 train data not found/);
  expect(r.err).toContain("--data-dir DIR");
  expect(r.err).toContain("XT_DATA_DIR=DIR");
});
