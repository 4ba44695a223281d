"""PyTorch twin of bench/workloads.ts: the same two training workloads, synthetic data.

  /usr/bin/python3 bench/torch_workloads.py vit        [--threads N] [--steps N] [--warmup N] [--batch N]
  /usr/bin/python3 bench/torch_workloads.py captioning [--threads N] [--iterations N]
  /usr/bin/python3 bench/torch_workloads.py matmul     [--threads N] [--steps N]

Prints one JSON line. bench/gpu_compare.py runs the same two functions on a CUDA device. The models come from fixtures/gen/reference.py (the notebook's code), but
torch is imported FIRST so that OpenBLAS picks its kernel from the environment as it stands
(reference.py would otherwise default OPENBLAS_CORETYPE to Sandybridge, its parity pin);
bench/compare.ts runs this with OPENBLAS_CORETYPE unset, i.e. OpenBLAS's own choice for this CPU.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

CORETYPE = os.environ.get("OPENBLAS_CORETYPE")  # as given (reference.py sets a default later)

import torch  # noqa: E402  (before reference.py: see above)
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "gen"))
from reference import CaptioningTransformer, VisionTransformer, blas_corename  # noqa: E402


CPU = torch.device("cpu")


def sync(dev):
    """Waits for the device (each step's loss.item() already waits; this closes a timed span)."""
    if dev.type == "cuda":
        torch.cuda.synchronize()


def vit(args, dev=CPU):
    """The notebook's VisionTransformer(), batch args.batch of 3x32x32, Adam lr 1e-3: forward,
    cross-entropy, zero_grad, backward, step (images/s, best and median step)."""
    torch.manual_seed(0)
    model = VisionTransformer().to(dev)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = args.batch
    images = torch.randn(batch, 3, 32, 32).to(dev)
    labels = torch.randint(0, 10, (batch,)).to(dev)

    def step():
        out = model(images)
        loss = F.cross_entropy(out, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    sync(dev)
    ms = []
    for _ in range(args.steps):
        t = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    best, median = ms[0], ms[len(ms) // 2]
    return {
        "workload": "vit_train",
        "batch": batch,
        "steps": args.steps,
        "bestMs": best,
        "medianMs": median,
        "imagesPerSecBest": batch * 1000 / best,
        "imagesPerSecMedian": batch * 1000 / median,
    }


def captioning(args, dev=CPU):
    """The notebook's overfit CaptioningTransformer (input 512, wordvec 256, 2 heads, 2 layers,
    max_length 30), vocabulary 1004, batch 25, captions of 17 tokens, Adam lr 1e-3, args.iterations
    iterations of the masked temporal softmax loss (seconds)."""
    torch.manual_seed(0)
    vocab, input_dim, wordvec, heads, layers, max_length = 1004, 512, 256, 2, 2, 30
    batch, caption_length, lr = 25, 17, 1e-3
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3}
    for i in range(4, vocab):
        word_to_idx["w%d" % i] = i
    model = CaptioningTransformer(word_to_idx, input_dim, wordvec, num_heads=heads, num_layers=layers, max_length=max_length)
    model = model.to(dev)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(7)
    features = torch.randn(batch, input_dim)
    lengths = torch.randint(8, 17, (batch,), generator=g)
    captions = torch.zeros(batch, caption_length, dtype=torch.long)
    for i in range(batch):
        n = int(lengths[i])
        captions[i, 0] = 1
        captions[i, 1:n] = torch.randint(4, vocab, (n - 1,), generator=g)
        captions[i, n] = 2
    features, captions = features.to(dev), captions.to(dev)
    cap_in, cap_out = captions[:, :-1], captions[:, 1:]
    mask = cap_out != 0
    N, T = cap_out.shape

    def step():
        logits = model(features, cap_in)
        losses = F.cross_entropy(logits.reshape(N * T, vocab), cap_out.reshape(N * T), reduction="none")
        loss = torch.mean(losses * mask.reshape(N * T))
        value = loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return value

    step()  # one warm-up iteration, not counted
    sync(dev)
    t = time.perf_counter()
    value = 0.0
    for _ in range(args.iterations):
        value = step()
    sync(dev)
    seconds = time.perf_counter() - t
    return {"workload": "captioning_overfit", "iterations": args.iterations, "seconds": seconds, "finalLoss": value}


# bench/workloads.ts MATMUL_SHAPES (M, N, K)
MATMUL_SHAPES = [(1024, 128, 128), (1024, 256, 128), (1024, 128, 256), (512, 512, 512), (400, 1004, 256), (400, 2048, 256), (64, 64, 64)]


def matmul(args):
    """GFLOP/s of x @ w.t() (x [M, K], w [N, K]: a linear layer's forward) at xt bench matmul's
    shapes, as bench/workloads.ts bestGflops times them: a warm-up of >= 100 ms of calls sets the
    calls per sample (>= 5 ms of them), best of --steps samples."""
    r = {"workload": "matmul"}
    for M, N, K in MATMUL_SHAPES:
        x = torch.randn(M, K)
        w = torch.randn(N, K)
        calls = 0
        t0 = time.perf_counter()
        while True:
            torch.matmul(x, w.t())
            calls += 1
            if time.perf_counter() - t0 >= 0.1:
                break
        per_call = (time.perf_counter() - t0) / calls
        reps = max(1, min(100000, math.ceil(0.005 / per_call)))
        best = float("inf")
        for _ in range(args.steps):
            t = time.perf_counter()
            for _ in range(reps):
                torch.matmul(x, w.t())
            best = min(best, (time.perf_counter() - t) / reps)
        r["gflops_%dx%dx%d" % (M, N, K)] = 2 * M * N * K / best / 1e9
    return r


def main():
    p = argparse.ArgumentParser()
    p.add_argument("workload", choices=["vit", "captioning", "matmul"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--iterations", type=int, default=200)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    r = vit(args) if args.workload == "vit" else captioning(args) if args.workload == "captioning" else matmul(args)
    r["engine"] = "pytorch %s" % torch.__version__
    r["threads"] = args.threads
    r["blas"] = blas_corename()
    r["openblasCoretype"] = CORETYPE
    r["peakRssMb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(r))


if __name__ == "__main__":
    main()
