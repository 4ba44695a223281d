/** Colour on or off: off for NO_COLOR, --no-color, or output that is not a terminal. */
import chalk, { Chalk, type ChalkInstance } from "chalk";

export function makeStyle(stream: NodeJS.WriteStream, noColorFlag = false): ChalkInstance {
  const off = noColorFlag || "NO_COLOR" in process.env || !stream.isTTY;
  return off ? new Chalk({ level: 0 }) : chalk;
}
