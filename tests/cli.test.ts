/** The command line as a user meets it: exit codes, messages, --json, aliases. */
import { expect, test } from "bun:test";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../cli/main.ts");

function xt(...args: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], { env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

test("check all passes and prints a table", () => {
  const r = xt("check", "all");
  expect(r.code).toBe(0);
  expect(r.out).toContain("7/7 checks pass");
  expect(r.out).not.toContain("\x1b["); // piped: no escape codes
});

test("check --json has the grader's shape", () => {
  const r = xt("check", "attention", "--json");
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.out);
  expect(doc.checks[0].name).toBe("attention");
  expect(doc.checks[0].outputs.map((o: { name: string }) => o.name)).toEqual(["self_attn_output", "masked_self_attn_output", "attn_output"]);
  for (const o of doc.checks[0].outputs) {
    expect(typeof o.relError).toBe("number");
    expect(o.pass).toBe(true);
  }
});

test("the design card's hyphenated alias works", () => {
  const r = xt("check-pe", "--json");
  expect(r.code).toBe(0);
  expect(JSON.parse(r.out).checks[0].name).toBe("pe");
});

test("an unknown check lists the valid ones and exits non-zero", () => {
  const r = xt("check", "nope");
  expect(r.code).toBe(2);
  expect(r.err).toContain("unknown check 'nope'");
  expect(r.err).toContain("attention, pe, decoder, captioning, patch, encoder, vit, all");
});

test("--seed runs without expected values and --dump writes the outputs", () => {
  const dump = join(process.env.TMPDIR ?? "/tmp", `xt-dump-${process.pid}.json`);
  const r = xt("check", "pe", "--seed", "7", "--dump", dump);
  expect(r.code).toBe(0);
  expect(r.out).toContain("RAN");
  const d = JSON.parse(require("node:fs").readFileSync(dump, "utf8"));
  expect(d.pe.seed).toBe(7);
  expect(d.pe.outputs.pe_output.shape).toEqual([1, 2, 6]);
});

test("a non-numeric flag is an error naming the flag", () => {
  const r = xt("check", "vit", "--seed", "abc");
  expect(r.code).toBe(2);
  expect(r.err).toContain("--seed");
  expect(r.err).not.toContain("at "); // no stack trace
});

test("hyphenated command aliases (train-vit, overfit-captioning) reach the grouped commands", () => {
  for (const [alias, usage] of [["train-vit", "xt train vit"], ["overfit-captioning", "xt overfit captioning"], ["cost-vit", "xt cost vit"]]) {
    const r = xt(alias!, "--help");
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Usage: ${usage}`);
  }
  expect(xt("train-nothing").code).not.toBe(0);
});

test("xt bench times a workload and rejects unknown ones", () => {
  const r = xt("bench", "check-all", "--json");
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.out);
  expect(doc.workload).toBe("check-all");
  expect(doc.ms).toBeGreaterThan(0);
  const bad = xt("bench", "nope");
  expect(bad.code).toBe(2);
  expect(bad.err).toContain("valid workloads: vit-train, caption-overfit, check-all, matmul");
});
