/** Notebook cell "MultiHeadAttention": self, masked self and cross attention, dropout active. */
import { manualSeed, MultiHeadAttention, randn } from "../core/index.ts";
import expected from "./expected/attention.json";
import type { ExpectedFile, NotebookCheck } from "./types.ts";

export const attention: NotebookCheck = {
  name: "attention",
  title: "MultiHeadAttention(8, 2): self, masked, two-input",
  expected: expected as ExpectedFile,
  run(seed) {
    manualSeed(seed);
    const attn = new MultiHeadAttention(8, 2);
    const data = randn([1, 3, 8]);
    const self = attn.forward(data, data, data);
    const mask = randn([3, 3]).lt(0.5);
    const masked = attn.forward(data, data, data, mask);
    const other = randn([1, 3, 8]);
    const cross = attn.forward(data, other, other);
    return { self_attn_output: self, masked_self_attn_output: masked, attn_output: cross };
  },
};
