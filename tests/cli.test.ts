/** The command line as a user meets it: exit codes, messages, --json, aliases. */
import { describe, expect, test } from "bun:test";
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
  expect(d.seed).toBe(7);
  expect(d.pe.pe_output.length).toBe(1); // nested like tensor.tolist(): [1][2][6]
  expect(d.pe.pe_output[0][1].length).toBe(6);
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

describe("usage errors: exit 2, the error and one line pointing to --help", () => {
  const cases: [string, string[], RegExp, string][] = [
    ["a mistyped command", ["trian", "vit"], /unknown command 'trian'/, "run 'xt --help' for usage"],
    ["an unknown option", ["train", "vit", "--bogus", "1"], /unknown option '--bogus'/, "run 'xt train vit --help' for usage"],
    ["an option without its value", ["overfit", "vit", "--steps"], /'--steps <n>' argument missing/, "run 'xt overfit vit --help' for usage"],
    ["a missing required flag", ["eval", "vit"], /--checkpoint FILE is required/, ""],
    ["a bad flag value", ["train", "vit", "--lr", "abc"], /--lr: expected a number, got 'abc'/, ""],
    ["an unknown check", ["check", "nope"], /unknown check 'nope'/, ""],
    ["an unknown bench workload", ["bench", "nope"], /unknown workload 'nope'/, ""],
  ];
  for (const [what, args, msg, hint] of cases) {
    test(what, () => {
      const r = xt(...args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err).toMatch(/(^|\n)xt: /);
      if (hint) expect(r.err).toContain(hint);
      expect(r.err).not.toContain("Options:"); // not the whole help
      expect(r.err).not.toContain("    at "); // no stack trace
    });
  }
});

test("xt help <group> <command> shows the subcommand's help", () => {
  const r = xt("help", "overfit", "vit");
  expect(r.code).toBe(0);
  expect(r.out).toStartWith("Usage: xt overfit vit [options]");
  expect(r.out).toContain("--steps <n>");
});

test("xt check-all is an alias of check all, like check-attention", () => {
  const r = xt("check-all", "--json");
  expect(r.code).toBe(0);
  expect(JSON.parse(r.out).checks.map((c: { name: string }) => c.name)).toEqual(["attention", "pe", "decoder", "captioning", "patch", "encoder", "vit"]);
});

test("--plot refuses an extension xt cannot write, naming the flag, before training", () => {
  const dir = require("node:fs").mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "xt-plot-"));
  for (const name of ["loss.txt", "loss"]) {
    const file = join(dir, name);
    const r = xt("overfit", "captioning", "--epochs", "1", "--plot", file);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--plot ${file}: write figures to a .svg or .png file`);
    expect(r.out).toBe(""); // refused before the run
    expect(require("node:fs").existsSync(file)).toBe(false);
  }
}, 60_000);

test("one spelling for the depth flags: --num-layers/--num-heads on every model command, --layers/--heads as aliases", () => {
  const cost = (...a: string[]) => JSON.parse(xt("cost", "vit", "--json", ...a).out).total.params as number;
  expect(cost("--layers", "3", "--heads", "2")).toBe(cost("--num-layers", "3", "--num-heads", "2"));
  expect(cost("--layers", "3")).not.toBe(cost());
  const params = (...a: string[]): number => {
    const r = xt("overfit", "captioning", "--wordvec-dim", "8", "--max-train", "10", "--batch-size", "5", "--epochs", "1", "--json", ...a);
    expect(r.code).toBe(0);
    return JSON.parse(r.out.split("\n")[0]!).params;
  };
  expect(params("--layers", "3", "--heads", "4")).toBe(params("--num-layers", "3", "--num-heads", "4"));
  expect(params("--layers", "3")).not.toBe(params("--layers", "1"));
  for (const cmd of [["overfit", "vit"], ["train", "vit"], ["cost", "vit"], ["overfit", "captioning"], ["train", "captioning"]]) {
    const help = xt(...cmd, "--help").out;
    expect(help).toContain("--num-layers <n>");
    expect(help).toContain("alias --layers");
    expect(help).toContain("--num-heads <n>");
  }
}, 120_000);

test("cost vit says which model it describes; --dataset picks train vit's model for that data set", () => {
  const nb = xt("cost", "vit", "--no-color");
  expect(nb.out.split("\n")[0]).toBe("Cost of the notebook's CIFAR-10 model (VisionTransformer() as the notebook builds it)");
  expect(nb.out).toContain("xt cost vit --dataset fashion-mnist");
  const fm = xt("cost", "vit", "--dataset", "fashion-mnist", "--json");
  const doc = JSON.parse(fm.out);
  expect(doc.describes).toBe("train vit's fashion-mnist model (train vit --dataset fashion-mnist)");
  expect(doc.total.params).toBe(802_570);
  const changed = xt("cost", "vit", "--dataset", "mnist", "--embed-dim", "64", "--no-color").out.split("\n")[0];
  expect(changed).toBe("Cost of train vit's mnist model (train vit --dataset mnist), changed by --embed-dim 64");
});

test("bench --help names npm run bench:compare, not a file users of the binary lack", () => {
  const r = xt("bench", "--help");
  expect(r.out.replace(/\s+/g, " ")).toContain("`npm run bench:compare`");
  expect(r.out).not.toContain("bench/compare.ts");
});
