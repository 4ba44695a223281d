/**
 * Pick the renderer for a long-running command's event stream:
 *   --json                → JSON lines on stdout (start/step/epoch/end), nothing else on stdout;
 *   --plain, or not a TTY → plain lines: one per --print-every step and one per epoch;
 *   otherwise             → the live dashboard (ink), loaded lazily.
 * and install the two-stage Ctrl-C handler (cli/render/interrupt.ts) until close().
 *
 * Usage in a command:
 *   const progress = createProgress({ json, plain, printEvery, color });
 *   await progress.ready;              // optional: the dashboard is on screen from the first step
 *   try {
 *     await trainLoop({ ..., sink: progress.sink, signal: stopSignal() });   // core/train/loop.ts
 *   } finally { progress.close(); }
 *   return stopSignal().aborted ? 130 : 0;
 */
import type { EventSink, TrainEvent } from "../../core/train/events.ts";
import { LiveDashboard } from "./dashboard/live.ts";
import { requestStop } from "../../core/train/stop.ts";
import { installInterruptHandler } from "./interrupt.ts";
import { jsonSink, plainLine, plainSink } from "./plain.ts";
import { makeStyle } from "./style.ts";

export interface ProgressOptions {
  json?: boolean;
  plain?: boolean;
  printEvery?: number;
  /** commander's --no-color sets color: false */
  color?: boolean;
  /** Install the two-stage Ctrl-C handler until close() (default true). */
  interrupt?: boolean;
  /** Default process.stdout (tests pass a fake). */
  stdout?: NodeJS.WriteStream;
}

export interface Progress {
  sink: EventSink;
  /** Draw the final frame, release the terminal, remove the Ctrl-C handler. Safe to call twice. */
  close(): void;
  /** Resolves once the renderer is ready (the dashboard is on screen); at once for plain and JSON. */
  ready: Promise<void>;
  mode: "dashboard" | "plain" | "json";
  /** Show a one-off message (the Ctrl-C notice): in the dashboard's live area, else on stderr. */
  notify(message: string): void;
}

/** Whether the live dashboard fits this output: a real terminal that can redraw. */
export function wantsDashboard(opts: ProgressOptions, stdout: NodeJS.WriteStream): boolean {
  if (opts.json || opts.plain) return false;
  if (!stdout.isTTY) return false;
  if (process.env["TERM"] === "dumb") return false;
  // ink writes only its last frame under CI; plain lines are better there.
  if (process.env["CI"] && process.env["CI"] !== "false") return false;
  return true;
}

const toStderr = (m: string): void => void process.stderr.write(`${m}\n`);

/**
 * Write to `stdout`, surviving a reader that went away (`xt vit train --json | head`): on EPIPE,
 * stop writing, say so on stderr, and ask the run to stop cleanly after this step (its
 * checkpoint is still written whole) instead of dying with a stack trace.
 */
export function pipeSafeWriter(stdout: NodeJS.WriteStream): { write: (s: string) => void; dispose: () => void } {
  let broken = false;
  const onBroken = (): void => {
    if (broken) return;
    broken = true;
    requestStop();
    process.stderr.write("xt: output closed (broken pipe); stopping after this step\n");
  };
  const isEpipe = (e: unknown): boolean => (e as { code?: string } | null)?.code === "EPIPE";
  // Node reports EPIPE as an 'error' event; Bun throws from write().
  const onError = (e: unknown): void => {
    if (isEpipe(e)) onBroken();
  };
  stdout.on?.("error", onError);
  return {
    write(s) {
      if (broken) return;
      try {
        stdout.write(s);
      } catch (e) {
        if (!isEpipe(e)) throw e;
        onBroken();
      }
    },
    dispose: () => void stdout.off?.("error", onError),
  };
}

export function createProgress(opts: ProgressOptions): Progress {
  const stdout = opts.stdout ?? process.stdout;
  const pipe = pipeSafeWriter(stdout);
  const write = pipe.write;
  const printEvery = opts.printEvery ?? 10;
  const c = makeStyle(stdout, opts.color === false);

  let progress: Progress;
  if (opts.json) {
    progress = { mode: "json", sink: jsonSink(write), close() {}, ready: Promise.resolve(), notify: toStderr };
  } else if (!wantsDashboard(opts, stdout)) {
    progress = { mode: "plain", sink: plainSink(write, printEvery, c), close() {}, ready: Promise.resolve(), notify: toStderr };
  } else {
    progress = dashboardProgress(stdout, printEvery, c);
  }

  const uninstall =
    opts.interrupt === false
      ? () => {}
      : installInterruptHandler({ notify: (m) => progress.notify(m), beforeExit: () => progress.close() });
  const close = progress.close;
  return {
    ...progress,
    close() {
      close();
      uninstall();
      pipe.dispose();
    },
  };
}

/**
 * The dashboard, with ink loaded lazily (it costs ~85 ms at start-up in the compiled binary, and
 * most commands never draw it). Events before ink is ready go into the dashboard's state and show
 * on its first frame. The import resolves on an event-loop turn, which a synchronous training
 * loop gives after every step (or `await progress.ready` before the loop). If ink is not up
 * by close(), or fails to load, the run's lines are written plain instead.
 */
function dashboardProgress(stdout: NodeJS.WriteStream, printEvery: number, c: ReturnType<typeof makeStyle>): Progress {
  const live = new LiveDashboard();
  let fallback: EventSink | null = null;
  let closed = false;
  const seen: TrainEvent[] = [];
  const writePlain = (events: TrainEvent[]): void => {
    for (const e of events) {
      const line = plainLine(e, printEvery, c);
      if (line !== null) stdout.write(line + "\n");
    }
  };
  const ready = import("./dashboard.tsx").then(
    (m) => {
      if (!closed) live.attach(m.inkRenderer(stdout, c));
    },
    (err: unknown) => {
      if (closed) return;
      process.stderr.write(`xt: live dashboard unavailable (${String(err)}); printing plain lines\n`);
      fallback = plainSink((s) => void stdout.write(s), printEvery, c);
      writePlain(seen.filter((e) => e.type !== "step"));
    },
  );
  return {
    mode: "dashboard",
    ready,
    sink(e) {
      if (fallback) return fallback(e);
      if (!live.attached && e.type !== "step") seen.push(e);
      live.sink(e);
    },
    notify(message) {
      if (live.attached) live.notify(message);
      else toStderr(message);
    },
    close() {
      if (closed) return;
      closed = true;
      if (live.attached) live.close();
      else if (!fallback) writePlain(seen);
    },
  };
}
