"""Load an xt checkpoint into the PyTorch reference model with load_state_dict(strict=True).

    /usr/bin/python3 scripts/torch_load_checkpoint.py FILE [FILE ...]

FILE is a checkpoint stem or its .safetensors / .json path. The model is built from the sidecar's
config (fixtures/gen/reference.py: CaptioningTransformer or VisionTransformer), the weights are
read with a small safetensors reader (the `safetensors` package is not needed) and loaded
strictly: every parameter and buffer under its PyTorch name, nothing missing, nothing extra.
Prints one line per checkpoint; exits 1 if any fails.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "gen"))
from reference import CaptioningTransformer, VisionTransformer  # noqa: E402

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        arr = np.frombuffer(buf[base + a : base + b], dtype=DTYPES[e["dtype"]]).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, header.get("__metadata__", {})


def stem_of(path):
    for suffix in (".optim.safetensors", ".safetensors", ".json"):
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


def build(meta):
    c = meta["config"]
    if meta["kind"] == "captioning":
        words = meta["vocab"]["idx_to_word"]
        word_to_idx = {w: i for i, w in enumerate(words)}
        return CaptioningTransformer(word_to_idx, c["inputDim"], c["wordvecDim"], c["numHeads"], c["numLayers"], c["maxLength"])
    if meta["kind"] == "vit":
        m = c["model"]
        return VisionTransformer(
            m["imgSize"], m["patchSize"], m["inChannels"], m["embedDim"], m["numLayers"], m["numHeads"],
            m["dimFeedforward"], m["numClasses"], m["dropout"],
        )
    raise SystemExit(f"unknown checkpoint kind {meta['kind']!r}")


def main(paths):
    failed = 0
    for p in paths:
        stem = stem_of(p)
        with open(stem + ".json") as f:
            meta = json.load(f)
        state, metadata = read_safetensors(stem + ".safetensors")
        model = build(meta)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            print(f"FAIL {stem}.safetensors: {e}")
            failed += 1
            continue
        same = all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
        n = sum(p.numel() for p in model.parameters())
        print(f"ok   {stem}.safetensors: {meta['kind']}, {len(state)} tensors, {n} parameters, strict load {'and values equal' if same else 'but VALUES DIFFER'} (format {metadata.get('format')})")
        failed += 0 if same else 1
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    sys.exit(main(sys.argv[1:]))
