/** Notebook cell "Vision Transformer": the images are drawn before the model is built. */
import { manualSeed, randn, VisionTransformer } from "../core/index.ts";
import expected from "./expected/vit.json";
import type { ExpectedFile, NotebookCheck } from "./types.ts";

export const vit: NotebookCheck = {
  name: "vit",
  title: "VisionTransformer() defaults, dropout 0.1",
  expected: expected as ExpectedFile,
  run(seed) {
    manualSeed(seed);
    const imgs = randn([3, 3, 32, 32]);
    const model = new VisionTransformer();
    return { scores: model.forward(imgs) };
  },
};
