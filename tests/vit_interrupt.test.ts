/**
 * Ctrl-C during epoch 1 of `xt train vit` (issue 11): the run stops after the current step,
 * writes its interrupted state (resumable; no epoch needs to have finished), says how to resume,
 * exits 130; `--resume` without `--save` then continues in the same place, and the whole run
 * equals an uninterrupted one bit for bit (every step's loss, the results, the final weights).
 */
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { interruptWhen } from "./ctrl_c.ts";

const ROOT = join(import.meta.dir, "..");
const FASHION = "/usr/share/datasets/fashion-mnist";
if (!existsSync(FASHION)) console.log(`skipping the Ctrl-C test: ${FASHION} is missing (apt-get install dataset-fashion-mnist)`);

const ARGS = ["train", "vit", "--dataset", "fashion-mnist", "--embed-dim", "16", "--layers", "1", "--heads", "2", "--ffn-dim", "16",
  "--dropout", "0.1", "--max-train", "2000", "--max-test", "200", "--batch-size", "16", "--epochs", "2"];
const env = { ...process.env, NO_COLOR: "1" };

function xt(...args: string[]): { code: number; out: string } {
  const p = Bun.spawnSync([process.execPath, "cli/main.ts", ...args], { cwd: ROOT, env });
  return { code: p.exitCode ?? -1, out: p.stdout.toString() };
}
const events = (text: string): Record<string, unknown>[] => text.trim().split("\n").map((l) => JSON.parse(l));
const stepLosses = (ev: Record<string, unknown>[]) => ev.filter((e) => e.type === "step").map((e) => [e.step, e.loss]);
const results = (file: string) => {
  const { epoch_seconds: _s, ...r } = JSON.parse(readFileSync(file, "utf8"));
  return r;
};

test.skipIf(!existsSync(FASHION))("Ctrl-C in epoch 1 saves a resumable state; --resume then equals the uninterrupted run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xt-int-"));
  try {
    const ck = join(dir, "run");
    // Plain output (what a user sees when piping); the event log has the events.
    const proc = Bun.spawn([process.execPath, "cli/main.ts", ...ARGS, "--save", ck, "--plain", "--print-every", "1"], {
      cwd: ROOT, stdout: "pipe", stderr: "pipe", env,
    });
    const { text, pressed } = await interruptWhen(proc, (t) => (t.match(/^step /gm)?.length ?? 0) >= 5);
    expect(pressed).toBe(true);
    expect(await proc.exited).toBe(130);
    const before = events(readFileSync(`${ck}.events.jsonl`, "utf8"));
    const end = before.at(-1)!;
    expect(end).toMatchObject({ type: "end", interrupted: true, checkpoint: `${ck}.safetensors` });
    expect(end.steps as number).toBeLessThan(125); // inside epoch 1 (125 steps of 16)
    expect(before.some((e) => e.type === "epoch")).toBe(false);
    expect(text).not.toContain("nothing saved");
    expect(text).toContain(`Interrupted at step ${end.steps}; the run's state is in ${ck}.safetensors. Resume with: xt train vit --resume ${ck}.safetensors`);
    expect(existsSync(`${ck}.optim.safetensors`)).toBe(true);
    expect(existsSync(`${ck}.best.safetensors`)).toBe(false); // no epoch finished: no best model yet
    expect(JSON.parse(readFileSync(`${ck}.json`, "utf8"))).toMatchObject({ step: end.steps, epoch: 0, extra: { interrupted: true } });

    // Resume without --save: it keeps saving in the same place.
    const rest = xt("train", "vit", "--resume", `${ck}.json`, "--json");
    expect(rest.code).toBe(0);
    const after = events(rest.out);
    expect(after[0]).toMatchObject({ type: "start", resumedAt: end.steps, totalSteps: 250 });
    expect(after.at(-1)).toMatchObject({ type: "end", steps: 250, checkpoint: `${ck}.safetensors`, best: `${ck}.best.safetensors` });

    const full = join(dir, "full");
    const u = xt(...ARGS, "--save", full, "--json");
    expect(u.code).toBe(0);
    expect([...stepLosses(before), ...stepLosses(after)]).toEqual(stepLosses(events(u.out)));
    expect(results(`${ck}.results.json`)).toEqual(results(`${full}.results.json`));
    expect(readFileSync(`${ck}.events.jsonl`, "utf8").trim().split("\n").length).toBe(before.length + after.length);
    const weights = (f: string) => {
      const b = readFileSync(f);
      const n = Number(b.readBigUInt64LE(0));
      return b.subarray(8 + n); // the tensor bytes (the header carries a save id)
    };
    expect(weights(`${ck}.safetensors`).equals(weights(`${full}.safetensors`))).toBe(true);
    expect(weights(`${ck}.best.safetensors`).equals(weights(`${full}.best.safetensors`))).toBe(true);

    const ev = xt("eval", "vit", "--checkpoint", ck, "--max-test", "100", "--json");
    expect(ev.code).toBe(0);
    expect(JSON.parse(ev.out).n).toBe(100);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
