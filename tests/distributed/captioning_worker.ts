/**
 * Run by tests/distributed.test.ts under `mpirun -np N`: the captioning solver on the embedded
 * coco-mini with every dropout at 0 (the command line keeps the notebook's 0.1), batch 50/N per
 * rank. Rank 0 prints the iteration losses and the validation losses as one JSON line.
 */
import "../../backends/register.ts";
import { registerMpi } from "../../backends/mpi/index.ts";
import { openCollective } from "../../core/distributed/launch.ts";
import { Dropout } from "../../core/nn/dropout.ts";
import { startCaptioningRun } from "../../core/train/captioning_run.ts";
import { evaluateCaptioningLoss } from "../../core/train/captioning_solver.ts";
import { DataParallel } from "../../core/train/data_parallel.ts";

registerMpi();
const dp = new DataParallel(openCollective({ distributed: true }));
const r = await startCaptioningRun({
  command: "train captioning", seed: 231, maxTrain: 200, pcaFeatures: true, wordvecDim: 64, numHeads: 2, numLayers: 1, maxLength: 30,
  epochs: 2, batchSize: 50 / dp.size, lr: 1e-3, parallel: dp,
});
r.model.apply((m) => {
  if (m instanceof Dropout) (m as { p: number }).p = 0;
});
const res = await r.solver.train({
  parallel: dp,
  valLoss: () => evaluateCaptioningLoss(r.model, r.data.val, r.data.captionLength, r.data.featureDim, 300, 50, dp),
});
if (dp.rank === 0) console.log(JSON.stringify({ ranks: dp.size, losses: res.lossHistory, val: r.solver.valHistory.map((v) => v.loss), ipe: r.solver.iterationsPerEpoch }));
dp.collective.finalize();
