/**
 * A one-line progress note for commands without a dashboard (`eval vit`'s test pass, `bench
 * caption-overfit`): on a terminal's stderr, redrawn in place at most 10 times a second and
 * erased when done, so stdout keeps only the result. When stderr is not a terminal it writes
 * nothing (a log gets the result alone).
 */

export interface StatusLine {
  /** Show `text` (cut to the terminal's width), unless a frame was drawn under 100 ms ago. */
  update(text: string): void;
  /** Erase the line. */
  done(): void;
}

const MIN_INTERVAL_MS = 100;

export function statusLine(stream: NodeJS.WriteStream = process.stderr, now: () => number = () => performance.now()): StatusLine {
  if (!stream.isTTY || process.env["TERM"] === "dumb") return { update() {}, done() {} };
  let last = -Infinity;
  let shown = false;
  return {
    update(text) {
      const t = now();
      if (t - last < MIN_INTERVAL_MS) return;
      last = t;
      const width = Math.max(1, (stream.columns || 80) - 1);
      const line = text.length > width ? `${text.slice(0, width - 1)}…` : text;
      stream.write(`\r${line}\x1b[K`);
      shown = true;
    },
    done() {
      if (shown) stream.write("\r\x1b[K");
      shown = false;
    },
  };
}
