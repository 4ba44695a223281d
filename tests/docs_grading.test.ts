/**
 * docs/grading.md's class-grading loop, run as written: the shell block after the marker comment,
 * in a folder of four students' submissions (PyTorch's correct outputs at the hidden seed, a bug,
 * a file from the wrong seed, and none at all), with `xt` on PATH.
 */
import { expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const FIX = join(ROOT, "fixtures/grading");

function loopFromDocs(): string {
  const md = readFileSync(join(ROOT, "docs/grading.md"), "utf8");
  const at = md.indexOf("<!-- tests/docs_grading.test.ts runs the next block -->");
  expect(at).toBeGreaterThan(0);
  const m = /```sh\n([\s\S]*?)```/.exec(md.slice(at));
  return m![1]!;
}

test("the class-grading loop of docs/grading.md grades every folder and writes the reports", () => {
  const dir = mkdtempSync(join(tmpdir(), "xt-class-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  const xt = process.env.XT_CI_BINARY;
  if (xt) copyFileSync(xt, join(bin, "xt"));
  else writeFileSync(join(bin, "xt"), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, "cli/main.ts")}" "$@"\n`);
  chmodSync(join(bin, "xt"), 0o755);
  const subs: Record<string, string | null> = {
    alice: join(FIX, "torch_seed4242.json"),
    bob: join(FIX, "wrong", "attn_head_split_wrong.seed4242.json"),
    carol: join(FIX, "torch_seed231.json"),
    dave: null,
  };
  for (const [student, file] of Object.entries(subs)) {
    mkdirSync(join(dir, "submissions", student), { recursive: true });
    if (file) copyFileSync(file, join(dir, "submissions", student, "outputs.json"));
  }
  const r = Bun.spawnSync(["bash", "-e", "-c", loopFromDocs()], {
    cwd: dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: "1", XT_DEVICE: "cpu" },
  });
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
  const rows = r.stdout.toString().trim().split("\n").map((l) => l.split("\t"));
  expect(rows.map((x) => x.slice(0, 2))).toEqual([["alice", "pass"], ["bob", "FAIL"], ["carol", "FAIL"], ["dave", "FAIL"]]);
  expect(rows[0]![2]).toMatch(/^9\/9 outputs pass, 7\/7 checks pass/);
  expect(rows[3]![2]).toMatch(/^0\/9 outputs pass, 0\/7 checks pass/);
  expect(readFileSync(join(dir, "grades", "carol.txt"), "utf8")).toContain("was written at seed 231, graded at seed 4242");
  expect(readFileSync(join(dir, "grades", "dave.txt"), "utf8")).toContain("outputs.json not found");
  const score = (s: string): number => JSON.parse(readFileSync(join(dir, "grades", `${s}.results.json`), "utf8")).score;
  for (const s of Object.keys(subs)) expect(existsSync(join(dir, "grades", `${s}.xml`))).toBe(true);
  expect([score("alice"), score("carol"), score("dave")]).toEqual([7, 0, 0]);
  expect(score("bob")).toBeLessThan(7);
}, 120_000);
