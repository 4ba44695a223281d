/**
 * The embedded coco-mini from a compiled binary (`bun build --compile`): its files live in Bun's
 * /$bunfs, which stat() sees but open() — and so h5wasm — cannot reach; the loader copies them
 * to a private temporary folder, reads them whole and removes the folder. Same numbers as a run
 * from source (which opens fixtures/coco-mini in place), nothing left behind in TMPDIR.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REPO = join(import.meta.dir, "..");
const TMP = mkdtempSync(join(tmpdir(), "xt-coco-binary-"));
const BIN = join(TMP, "bin", "xt");
const RUN_TMP = join(TMP, "tmp");
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

beforeAll(() => {
  const b = Bun.spawnSync([process.execPath, "build", "--compile", join(REPO, "cli/main.ts"), "--outfile", BIN], { cwd: REPO });
  if (b.exitCode !== 0) throw new Error(`bun build --compile failed: ${b.stderr.toString()}`);
  mkdirSync(RUN_TMP);
  for (const d of [TMP, join(TMP, "bin")]) chmodSync(d, 0o755);
  chmodSync(RUN_TMP, 0o1777);
}, 120_000);

function run(cmd: string[], ...args: string[]): { code: number; out: string; err: string } {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", TMPDIR: RUN_TMP };
  delete env.XT_DATA_DIR;
  const r = Bun.spawnSync([...cmd, ...args], { env, cwd: TMP });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

const TINY = ["--wordvec-dim", "8", "--num-layers", "1", "--max-train", "10", "--batch-size", "5", "--epochs", "1", "--json"];
const losses = (out: string) => out.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "step").map((e) => e.loss);

describe("compiled binary on the embedded coco-mini", () => {
  for (const pca of [[], ["--no-pca"]]) {
    test(`overfit captioning ${pca.join(" ") || "(PCA)"}: the numbers of a run from source, no temporary files left`, () => {
      const bin = run([BIN], "overfit", "captioning", ...TINY, ...pca);
      expect(bin.err).not.toMatch(/\n\s+at /);
      expect(bin.code).toBe(0);
      const src = run([process.execPath, join(REPO, "cli/main.ts")], "overfit", "captioning", ...TINY, ...pca);
      expect(src.code).toBe(0);
      expect(losses(bin.out)).toHaveLength(2);
      expect(losses(bin.out)).toEqual(losses(src.out));
      expect(readdirSync(RUN_TMP).filter((f) => f.startsWith("xt-coco-"))).toEqual([]);
    }, 60_000);
  }

  // xt used to copy each HDF5 file to /xt-data-<n>.h5: EACCES and a stack trace for anyone but root
  const asRoot = process.getuid?.() === 0 && existsSync("/usr/bin/setpriv");
  if (!asRoot) console.warn("skipping the non-root run: it needs root and setpriv to switch to the nobody user");
  test.skipIf(!asRoot)("runs for a user who cannot write to /", () => {
    const r = run(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BIN], "overfit", "captioning", ...TINY);
    expect(r.err).not.toMatch(/EACCES|\n\s+at /);
    expect(r.code).toBe(0);
    expect(losses(r.out)).toHaveLength(2);
  }, 60_000);

  test("sample --split val reads the validation rows of the embedded data", () => {
    const ck = join(TMP, "cap.safetensors");
    expect(run([BIN], "overfit", "captioning", ...TINY, "--save", ck).code).toBe(0);
    const r = run([BIN], "sample", "--checkpoint", ck, "--split", "val", "-n", "3", "--json");
    expect(r.code).toBe(0);
    const samples = JSON.parse(r.out).samples as { url: string; groundTruth: string }[];
    expect(samples).toHaveLength(3);
    for (const s of samples) {
      expect(s.url).toMatch(/^http:\/\/coco-mini\.invalid\/val2014\//);
      expect(s.groundTruth).toStartWith("<START>");
    }
    expect(readdirSync(RUN_TMP).filter((f) => f.startsWith("xt-coco-"))).toEqual([]);
  }, 60_000);
});
