"""PyTorch CUDA eager twin of bench/gpu_compare.ts: issue 7's two training workloads on the GPU.

  python3 bench/gpu_compare.py [--only vit|captioning] [--steps N] [--warmup N] [--batch N]
                               [--iterations N] [--tf32] [--device cpu]

  vit_train           the notebook's VisionTransformer(), batch 64 of 3x32x32, Adam lr 1e-3:
                      forward, cross-entropy, zero_grad, backward, step (images/s, best and median)
  captioning_overfit  the notebook's overfit CaptioningTransformer (input 512, wordvec 256, 2 heads,
                      2 layers, max_length 30), vocabulary 1004, batch 25, captions of 17 tokens,
                      Adam lr 1e-3, 200 iterations of the masked temporal softmax loss (seconds)

The models are fixtures/gen/reference.py's (the notebook's code) and the synthetic data is drawn
as in bench/torch_workloads.py, the CPU twin. Each step ends with loss.item(), which waits for the
GPU, as xt's does. Matmuls run in full FP32 (TF32 off), as xt's CUDA backend computes; --tf32
allows TF32 for a look at what the tensor cores would give.

Prints one JSON line per workload. Without a CUDA-capable torch it prints one line
{"skipped": "<why>"} and exits 0, so scripts/gpu-check.sh can report the comparison as skipped.
"""
import argparse
import json
import os
import sys
import time

try:
    import torch  # first: reference.py sets OpenBLAS defaults for the CPU parity fixtures
    import torch.nn.functional as F
except Exception as e:  # noqa: BLE001 (any import failure means: no comparison)
    print(json.dumps({"skipped": "PyTorch is not importable here (%s)" % e}))
    sys.exit(0)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "gen"))


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def vit(args, dev):
    from reference import VisionTransformer

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
    sync()
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


def captioning(args, dev):
    from reference import CaptioningTransformer

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
    sync()
    t = time.perf_counter()
    value = 0.0
    for _ in range(args.iterations):
        value = step()
    sync()
    seconds = time.perf_counter() - t
    return {"workload": "captioning_overfit", "iterations": args.iterations, "seconds": seconds, "finalLoss": value}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--only", choices=["vit", "captioning"])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--tf32", action="store_true")
    p.add_argument("--device", default="cuda", help="cpu only to try this script out without a GPU")
    args = p.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"skipped": "torch %s has no usable CUDA device (torch.version.cuda = %s)" % (torch.__version__, torch.version.cuda)}))
        return
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    dev = torch.device(args.device)
    where = "cuda %s eager (%s)" % (torch.version.cuda, torch.cuda.get_device_name(0)) if args.device == "cuda" else args.device
    engine = "pytorch %s %s%s" % (torch.__version__, where, ", TF32" if args.tf32 else "")
    for name, fn in (("vit", vit), ("captioning", captioning)):
        if args.only and args.only != name:
            continue
        r = fn(args, dev)
        r["engine"] = engine
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
