/**
 * Ctrl-C under `npx xt` (issue 11): the terminal sends SIGINT to the whole foreground process
 * group, the cli/xt.js wrapper and Bun alike. The wrapper must not die first: Bun stops the run
 * and prints its interruption lines, then the wrapper exits with Bun's status (130), leaving no
 * process behind.
 */
import { expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");

/** Live (not zombie) processes whose process group is `pgid`. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z") out.push(Number(d));
  }
  return out;
}

test("SIGINT to an `npx xt` process group: xt's interruption lines come first, then the wrapper exits 130, no orphan", async () => {
  // The notebook's overfit model: a step takes tens of milliseconds, so a Bun that outlived its
  // wrapper would still be finishing its step when the wrapper is gone.
  const p = spawn("node", ["cli/xt.js", "overfit", "vit", "--steps", "100000", "--json"], {
    cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" },
  });
  const pgid = p.pid!;
  let out = "";
  let err = "";
  let sent = false;
  p.stdout!.on("data", (b: Buffer) => {
    out += b.toString();
    if (!sent && out.includes('"type":"step"')) {
      sent = true;
      process.kill(-pgid, "SIGINT"); // what a terminal's Ctrl-C does
    }
  });
  p.stderr!.on("data", (b: Buffer) => void (err += b.toString()));
  let leftAtExit: number[] = [];
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    p.on("exit", (code, signal) => {
      leftAtExit = groupMembers(pgid);
      resolve({ code, signal });
    }),
  );
  const closed = new Promise((r) => p.on("close", r));
  const status = await exited;
  await closed;
  try {
    expect(sent).toBe(true);
    expect(leftAtExit).toEqual([]); // Bun had finished when the wrapper exited
    expect(status).toEqual({ code: 130, signal: null });
    expect(err).toContain("stopping after this step");
    const lines = out.trim().split("\n");
    expect(JSON.parse(lines[lines.length - 1]!)).toMatchObject({ type: "end", interrupted: true });
  } finally {
    for (const pid of groupMembers(pgid)) process.kill(pid, "SIGKILL");
  }
}, 60_000);
