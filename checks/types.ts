/** A notebook check: the notebook's expected arrays as data, and the code that reproduces them. */
import type { Tensor } from "../core/tensor.ts";

export interface ExpectedOutput {
  name: string;
  shape: number[];
  values: number[];
  /** What the notebook asks for. */
  notebookTolerance: number;
  /** What xt passes at: the notebook's tolerance, or just above PyTorch's own floor (see reason). */
  threshold: number;
  /** PyTorch 1.13 CPU's rel_error against the same printout (null when unknown: `--expected DIR`). */
  pytorchFloor: number | null;
  reason: string;
}

export interface ExpectedFile {
  name: string;
  seed: number;
  outputs: ExpectedOutput[];
}

export interface NotebookCheck {
  name: string;
  title: string;
  expected: ExpectedFile;
  /** Seed like the notebook, build the modules, draw the inputs, and return the named outputs. */
  run(seed: number): Record<string, Tensor>;
}
