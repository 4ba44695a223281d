/** Pick the renderer for a long-running command's event stream: --json, plain lines, or (later) the live dashboard. */
import type { EventSink } from "../../core/train/events.ts";
import { jsonSink, plainSink } from "./plain.ts";
import { makeStyle } from "./style.ts";

export interface ProgressOptions {
  json?: boolean;
  plain?: boolean;
  printEvery?: number;
  /** commander's --no-color sets color: false */
  color?: boolean;
}

export interface Progress {
  sink: EventSink;
  /** Flush and release the terminal. */
  close(): void;
}

export function createProgress(opts: ProgressOptions): Progress {
  const write = (s: string): void => void process.stdout.write(s);
  if (opts.json) return { sink: jsonSink(write), close() {} };
  const c = makeStyle(process.stdout, opts.color === false);
  return { sink: plainSink(write, opts.printEvery ?? 10, c), close() {} };
}
