/** Notebook cell "Transformer Encoder Block". */
import { manualSeed, randn, TransformerEncoderLayer } from "../core/index.ts";
import expected from "./expected/encoder.json";
import type { ExpectedFile, NotebookCheck } from "./types.ts";

export const encoder: NotebookCheck = {
  name: "encoder",
  title: "TransformerEncoderLayer(12, 2, 48)",
  expected: expected as ExpectedFile,
  run(seed) {
    manualSeed(seed);
    const layer = new TransformerEncoderLayer(12, 2, 48);
    const x = randn([1, 4, 12]);
    const mask = randn([4, 4]).lt(0.5);
    return { output: layer.forward(x, mask) };
  },
};
