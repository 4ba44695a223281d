/**
 * Time per kernel kind and phase, for `xt bench vit-train --profile`: a Backend that forwards
 * every call to the real one and adds its wall time to the current phase's row for that kind
 * ("matmul", "linear", "binary mul", "softmax", …). The phase is whatever the caller last named
 * ("forward", "backward", "optimizer"); the time a phase spent outside kernels (autograd, views,
 * JavaScript) is its wall time minus its kernels' time.
 *
 * Kernels run synchronously on the CPU backend, so a call's wall time is its cost. On an
 * asynchronous device the time would be the launch cost only.
 */
import type { Backend } from "./backend.ts";
import { currentBackend, setBackend } from "./device.ts";

/** Kernels whose first argument names the operation: their rows say which one. */
const BY_OP = new Set(["unary", "binary", "reduce"]);

export interface ProfileRow {
  phase: string;
  kind: string;
  calls: number;
  ms: number;
}

export interface Profile {
  rows: ProfileRow[];
  /** Wall time of each phase (kernels and everything else). */
  phaseMs: Record<string, number>;
}

export class Profiler {
  private readonly rows = new Map<string, ProfileRow>();
  private readonly phaseMs: Record<string, number> = {};
  private phase = "other";
  private phaseStart = 0;
  private readonly inner: Backend;
  private installed = false;

  /** `clock`: milliseconds (default performance.now; a thread CPU clock measures work apart from load). */
  constructor(inner: Backend = currentBackend(), private readonly clock: () => number = () => performance.now()) {
    this.inner = inner;
  }

  /** Makes new tensors use the timing backend (until uninstall). */
  install(): void {
    setBackend(this.backend());
    this.installed = true;
  }

  uninstall(): void {
    if (this.installed) setBackend(this.inner);
    this.installed = false;
  }

  /** Starts timing phase `name` (ends the previous one). */
  enter(name: string): void {
    this.leave();
    this.phase = name;
    this.phaseStart = this.clock();
  }

  /** Ends the current phase. */
  leave(): void {
    if (this.phaseStart > 0) this.phaseMs[this.phase] = (this.phaseMs[this.phase] ?? 0) + this.clock() - this.phaseStart;
    this.phaseStart = 0;
  }

  /** Forgets what was measured (after warm-up). */
  reset(): void {
    this.rows.clear();
    for (const k of Object.keys(this.phaseMs)) delete this.phaseMs[k];
  }

  result(): Profile {
    return { rows: [...this.rows.values()].sort((a, b) => b.ms - a.ms), phaseMs: { ...this.phaseMs } };
  }

  private add(kind: string, ms: number): void {
    const key = `${this.phase}\u0000${kind}`;
    const row = this.rows.get(key);
    if (row) {
      row.calls++;
      row.ms += ms;
    } else {
      this.rows.set(key, { phase: this.phase, kind, calls: 1, ms });
    }
  }

  /** The inner backend with every method timed (properties pass through). */
  private backend(): Backend {
    const inner = this.inner;
    const timed = new Map<PropertyKey, unknown>();
    return new Proxy(inner, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target);
        if (typeof v !== "function") return v;
        let f = timed.get(prop);
        if (!f) {
          const name = String(prop);
          const byOp = BY_OP.has(name);
          const clock = this.clock;
          f = (...args: unknown[]) => {
            const t = clock();
            const r = (v as (...a: unknown[]) => unknown).apply(target, args);
            this.add(byOp ? `${name} ${String(args[0])}` : name, clock() - t);
            return r;
          };
          timed.set(prop, f);
        }
        return f;
      },
    });
  }
}

/** The profile as text lines: per phase, its kinds by time, and the time outside kernels. */
export function formatProfile(p: Profile, perStep: number): string[] {
  const lines: string[] = [];
  const phases = Object.keys(p.phaseMs);
  for (const phase of phases) {
    const rows = p.rows.filter((r) => r.phase === phase);
    const kernels = rows.reduce((s, r) => s + r.ms, 0);
    const wall = p.phaseMs[phase]!;
    lines.push(`${phase}: ${(wall / perStep).toFixed(2)} ms per step (kernels ${(kernels / perStep).toFixed(2)} ms)`);
    for (const r of rows) {
      lines.push(`  ${r.kind.padEnd(26)} ${(r.ms / perStep).toFixed(2).padStart(8)} ms ${String(Math.round(r.calls / perStep)).padStart(6)} calls ${((100 * r.ms) / wall).toFixed(1).padStart(5)}%`);
    }
    lines.push(`  ${"(outside kernels)".padEnd(26)} ${((wall - kernels) / perStep).toFixed(2).padStart(8)} ms ${"".padStart(12)} ${((100 * (wall - kernels)) / wall).toFixed(1).padStart(5)}%`);
  }
  return lines;
}
