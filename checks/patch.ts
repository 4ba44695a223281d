/** Notebook cell "Patch Embedding" (no dropout inside). */
import { manualSeed, PatchEmbedding, randn } from "../core/index.ts";
import expected from "./expected/patch.json";
import type { ExpectedFile, NotebookCheck } from "./types.ts";

export const patch: NotebookCheck = {
  name: "patch",
  title: "PatchEmbedding(16, 8, embed 8)",
  expected: expected as ExpectedFile,
  run(seed) {
    manualSeed(seed);
    const layer = new PatchEmbedding(16, 8, 3, 8);
    const x = randn([2, 3, 16, 16]);
    return { output: layer.forward(x) };
  },
};
