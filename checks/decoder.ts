/** Notebook cell "Transformer Decoder Block". */
import { manualSeed, randn, TransformerDecoderLayer } from "../core/index.ts";
import expected from "./expected/decoder.json";
import type { ExpectedFile, NotebookCheck } from "./types.ts";

export const decoder: NotebookCheck = {
  name: "decoder",
  title: "TransformerDecoderLayer(12, 2, 48)",
  expected: expected as ExpectedFile,
  run(seed) {
    manualSeed(seed);
    const layer = new TransformerDecoderLayer(12, 2, 48);
    const tgt = randn([1, 4, 12]);
    const memory = randn([1, 5, 12]);
    const mask = randn([4, 4]).lt(0.5);
    return { output: layer.forward(tgt, memory, mask) };
  },
};
