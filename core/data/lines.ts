/**
 * A text file's lines as Python's `[line.strip() for line in f]` gives them (trailing blank
 * lines dropped), kept as the file's bytes plus an index of line starts and decoded one line at
 * a time: the real COCO URL lists (123,287 lines) take 9 MB this way instead of some 30 MB as
 * JavaScript strings, and a run that shows no URLs decodes none.
 */
export interface LineList {
  readonly length: number;
  /** Line `i`, stripped of surrounding whitespace. */
  get(i: number): string;
}

/** Lines held as strings (tests, synthetic data). */
export function lineListOf(lines: readonly string[]): LineList {
  return { length: lines.length, get: (i) => lines[i]! };
}

const LF = 0x0a;
const CR = 0x0d;

/** The lines of a file's bytes, split at \n, \r\n or \r. */
export function bytesLineList(bytes: Uint8Array): LineList {
  const starts: number[] = [];
  const ends: number[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b !== LF && b !== CR) continue;
    starts.push(start);
    ends.push(i);
    if (b === CR && bytes[i + 1] === LF) i++;
    start = i + 1;
  }
  if (start < bytes.length) {
    starts.push(start);
    ends.push(bytes.length);
  }
  const from = Uint32Array.from(starts);
  const to = Uint32Array.from(ends);
  const decoder = new TextDecoder();
  const line = (k: number): string => decoder.decode(bytes.subarray(from[k]!, to[k]!)).trim();
  let length = from.length;
  while (length > 0 && line(length - 1) === "") length--;
  return {
    length,
    get: (i) => {
      if (!Number.isInteger(i) || i < 0 || i >= length) throw new RangeError(`line ${i} is outside [0, ${length})`);
      return line(i);
    },
  };
}
