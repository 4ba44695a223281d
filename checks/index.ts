/** The notebook's checks, in notebook order. */
import { attention } from "./attention.ts";
import { captioning } from "./captioning.ts";
import { decoder } from "./decoder.ts";
import { encoder } from "./encoder.ts";
import { patch } from "./patch.ts";
import { pe } from "./pe.ts";
import type { NotebookCheck } from "./types.ts";
import { vit } from "./vit.ts";

export const CHECKS: readonly NotebookCheck[] = [attention, pe, decoder, captioning, patch, encoder, vit];
export const CHECK_NAMES = CHECKS.map((c) => c.name);
export type { NotebookCheck } from "./types.ts";
export { nonFiniteReferences, relError, runCheck, runChecks, type CheckResult, type Metric, type OutputResult, type RunOptions } from "./runner.ts";
export { readSubmission, submissionDocument, type Submission } from "./submission.ts";
export { loadExpectedDir } from "./expected_dir.ts";
