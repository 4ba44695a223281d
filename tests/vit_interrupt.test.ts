/**
 * Ctrl-C during `xt train vit` (issue 6): the run stops after the current step, the `end` event
 * says interrupted, the exit code is 130, and the checkpoint on disk loads (`xt eval vit`).
 */
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const FASHION = "/usr/share/datasets/fashion-mnist";
if (!existsSync(FASHION)) console.log(`skipping the Ctrl-C test: ${FASHION} is missing (apt-get install dataset-fashion-mnist)`);

test.skipIf(!existsSync(FASHION))("Ctrl-C during train vit leaves a loadable checkpoint and exits 130", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xt-int-"));
  try {
    const ck = join(dir, "run.safetensors");
    const proc = Bun.spawn(
      [process.execPath, "cli/main.ts", "train", "vit", "--dataset", "fashion-mnist", "--embed-dim", "16", "--layers", "1",
        "--heads", "2", "--ffn-dim", "16", "--max-train", "20000", "--max-test", "500", "--epochs", "20", "--save", ck, "--json"],
      { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } },
    );
    // Wait for the first epoch (so a best checkpoint exists), then press Ctrl-C once.
    const reader = proc.stdout.getReader();
    const decoder = new TextDecoder();
    let text = "";
    let pressed = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
      if (!pressed && text.includes('"type":"epoch"')) {
        proc.kill("SIGINT");
        pressed = true;
      }
    }
    expect(pressed).toBe(true);
    const lines = text.split("\n").filter(Boolean);
    expect(await proc.exited).toBe(130);
    const end = JSON.parse(lines[lines.length - 1]!);
    expect(end).toMatchObject({ type: "end", interrupted: true, checkpoint: ck });
    expect(end.steps).toBeLessThan(20 * 313);
    const ev = Bun.spawnSync([process.execPath, "cli/main.ts", "eval", "vit", "--checkpoint", ck, "--max-test", "100", "--json"], { cwd: ROOT });
    expect(ev.exitCode).toBe(0);
    expect(JSON.parse(ev.stdout.toString()).n).toBe(100);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
