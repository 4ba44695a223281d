/** Notebook cell "Transformer for image captioning": scores of a tiny CaptioningTransformer. */
import { CaptioningTransformer, manualSeed, randint, randn } from "../core/index.ts";
import expected from "./expected/captioning.json";
import type { ExpectedFile, NotebookCheck } from "./types.ts";

export const captioning: NotebookCheck = {
  name: "captioning",
  title: "CaptioningTransformer(D=20, W=30, heads 2, layers 2)",
  expected: expected as ExpectedFile,
  run(seed) {
    manualSeed(seed);
    const wordToIdx = { "<NULL>": 0, cat: 2, dog: 3 };
    const model = new CaptioningTransformer(wordToIdx, 20, 30, 2, 2, 30);
    const features = randn([4, 20]);
    const captions = randint(0, 3, [4, 3]);
    return { scores: model.forward(features, captions) };
  },
};
