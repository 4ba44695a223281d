"""PyTorch CUDA eager twin of bench/gpu_compare.ts: issue 7's two training workloads on the GPU.

  python3 bench/gpu_compare.py [--only vit|captioning] [--steps N] [--warmup N] [--batch N]
                               [--iterations N] [--tf32] [--device cpu]

  vit_train           the notebook's VisionTransformer(), batch 64 of 3x32x32, Adam lr 1e-3:
                      forward, cross-entropy, zero_grad, backward, step (images/s, best and median)
  captioning_overfit  the notebook's overfit CaptioningTransformer (input 512, wordvec 256, 2 heads,
                      2 layers, max_length 30), vocabulary 1004, batch 25, captions of 17 tokens,
                      Adam lr 1e-3, 200 iterations of the masked temporal softmax loss (seconds)

The workloads are bench/torch_workloads.py's (the CPU twin), run on the GPU: the models are
fixtures/gen/reference.py's (the notebook's code), the synthetic data the same draws. Each step ends with loss.item(), which waits for the
GPU, as xt's does. Matmuls run in full FP32 (TF32 off), as xt's CUDA backend computes; --tf32
allows TF32 for a look at what the tensor cores would give.

Prints one JSON line per workload. Without a CUDA-capable torch it prints one line
{"skipped": "<why>"} and exits 0, so scripts/gpu-check.sh can report the comparison as skipped.
"""
import argparse
import json
import sys

try:
    import torch  # first: reference.py sets OpenBLAS defaults for the CPU parity fixtures
except Exception as e:  # noqa: BLE001 (any import failure means: no comparison)
    print(json.dumps({"skipped": "PyTorch is not importable here (%s)" % e}))
    sys.exit(0)

# The workloads themselves are bench/torch_workloads.py's (this script's folder is on sys.path).
from torch_workloads import captioning, vit  # noqa: E402


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
