/** Notebook cell "PositionalEncoding": the data is drawn before the layer is built. */
import { manualSeed, PositionalEncoding, randn } from "../core/index.ts";
import expected from "./expected/pe.json";
import type { ExpectedFile, NotebookCheck } from "./types.ts";

export const pe: NotebookCheck = {
  name: "pe",
  title: "PositionalEncoding(6) with dropout 0.1",
  expected: expected as ExpectedFile,
  run(seed) {
    manualSeed(seed);
    const data = randn([1, 2, 6]);
    const enc = new PositionalEncoding(6);
    return { pe_output: enc.forward(data) };
  },
};
