#!/usr/bin/python3
"""Write a COCO captioning folder of the assignment's REAL sizes (for bench/coco_real_size.ts).

    /usr/bin/python3 bench/gen_coco_real_size.py OUT_DIR

Same files, names, dtypes and layout as the CS231n `coco_captioning/` download (written by h5py,
contiguous datasets, no compression): 400,135 train and 195,954 val captions of 17 tokens,
82,783 x 4096 train and 40,504 x 4096 val float32 fc7 features (1.36 GB + 0.66 GB) and their
512-wide PCA versions, a 1,004-word vocabulary and the URL lists. The values are synthetic
(seeded, post-ReLU-like features, well-formed captions); only the sizes and layout matter to the
benchmark. About 2.5 GB on disk. Writes OUT_DIR/.complete last, so a half-written folder is
never mistaken for a finished one.
"""
import json
import os
import sys

import h5py
import numpy as np

NUM_TRAIN_CAPTIONS = 400_135
NUM_VAL_CAPTIONS = 195_954
NUM_TRAIN_IMAGES = 82_783
NUM_VAL_IMAGES = 40_504
CAPTION_LEN = 17
VOCAB = 1004
FC7, PCA = 4096, 512
BLOCK = 4096  # feature rows generated and written at a time


def captions(rng, n):
    c = np.zeros((n, CAPTION_LEN), dtype=np.int32)
    lengths = rng.integers(6, CAPTION_LEN - 1, size=n)  # words between <START> and <END>
    words = rng.integers(3, VOCAB, size=(n, CAPTION_LEN - 2), dtype=np.int32)
    c[:, 0] = 1
    cols = np.arange(CAPTION_LEN - 2)
    c[:, 1:CAPTION_LEN - 1] = np.where(cols[None, :] < lengths[:, None], words, 0)
    c[np.arange(n), lengths + 1] = 2
    return c


def image_idxs(rng, n_captions, n_images):
    # every image has captions (about 5 each, as in COCO), in a shuffled order
    idx = np.arange(n_captions, dtype=np.int32) % n_images
    rng.shuffle(idx)
    return idx


def features(rng, path, rows, cols):
    with h5py.File(path, "w") as f:
        d = f.create_dataset("features", shape=(rows, cols), dtype=np.float32)
        for r in range(0, rows, BLOCK):
            r1 = min(rows, r + BLOCK)
            x = rng.standard_normal((r1 - r, cols), dtype=np.float32)
            d[r:r1] = np.maximum(x, 0, out=x)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    done = os.path.join(out, ".complete")
    if os.path.exists(done):
        os.remove(done)
    rng = np.random.default_rng(231)
    with h5py.File(os.path.join(out, "coco2014_captions.h5"), "w") as f:
        f.create_dataset("train_captions", data=captions(rng, NUM_TRAIN_CAPTIONS))
        f.create_dataset("train_image_idxs", data=image_idxs(rng, NUM_TRAIN_CAPTIONS, NUM_TRAIN_IMAGES))
        f.create_dataset("val_captions", data=captions(rng, NUM_VAL_CAPTIONS))
        f.create_dataset("val_image_idxs", data=image_idxs(rng, NUM_VAL_CAPTIONS, NUM_VAL_IMAGES))
    words = ["<NULL>", "<START>", "<END>", "<UNK>"] + [f"w{i}" for i in range(4, VOCAB)]
    with open(os.path.join(out, "coco2014_vocab.json"), "w") as f:
        json.dump({"idx_to_word": words, "word_to_idx": {w: i for i, w in enumerate(words)}}, f)
    for split, n in (("train", NUM_TRAIN_IMAGES), ("val", NUM_VAL_IMAGES)):
        with open(os.path.join(out, f"{split}2014_urls.txt"), "w") as f:
            f.writelines(f"http://images.cocodataset.org/{split}2014/COCO_{split}2014_{i:012d}.jpg\n" for i in range(n))
        features(rng, os.path.join(out, f"{split}2014_vgg16_fc7_pca.h5"), n, PCA)
        features(rng, os.path.join(out, f"{split}2014_vgg16_fc7.h5"), n, FC7)
    with open(done, "w") as f:
        json.dump({"train_captions": NUM_TRAIN_CAPTIONS, "val_captions": NUM_VAL_CAPTIONS,
                   "train_images": NUM_TRAIN_IMAGES, "val_images": NUM_VAL_IMAGES}, f)


if __name__ == "__main__":
    main()
