/**
 * The image data of the ViT commands: a data set from disk (loadImageDataset), or the embedded
 * default of `overfit vit`: the first 64 training images of the real Fashion-MNIST
 * (fixtures/vit/fashion-mnist-first64, made by fixtures/gen/gen_vit_fixtures.py). Those files are
 * imported `with { type: "file" }`, like core/data/coco_mini_embedded.ts does for coco-mini, so a
 * `bun build --compile` binary carries them (about 28 KB) and reads them from `/$bunfs/...`.
 */
import embeddedImages from "../../fixtures/vit/fashion-mnist-first64/train-images-idx3-ubyte.gz" with { type: "file" };
import embeddedLabels from "../../fixtures/vit/fashion-mnist-first64/train-labels-idx1-ubyte.gz" with { type: "file" };
import { DataError, XtError } from "../errors.ts";
import { FASHION_MNIST_CLASSES, loadImageDataset, type ImageDataset, type ImageDatasetName, type ImageSplit } from "../data/image_dataset.ts";
import { envDataDir } from "../data/data_dir.ts";
import { parseIdx } from "../data/idx.ts";
import { bytesToUnitFloat, maybeGunzip } from "../data/io.ts";

export const DATASET_NAMES: readonly ImageDatasetName[] = ["cifar10", "fashion-mnist", "mnist"];
export const EMBEDDED_VIT_LOCATION = "fashion-mnist first 64 (embedded)";

export function parseDatasetName(raw: string): ImageDatasetName {
  const name = raw.toLowerCase().replace(/_/g, "-");
  const alias: Record<string, ImageDatasetName> = {
    "cifar10": "cifar10", "cifar-10": "cifar10", "fashion-mnist": "fashion-mnist", "fashionmnist": "fashion-mnist",
    "fmnist": "fashion-mnist", "mnist": "mnist",
  };
  const n = alias[name];
  if (n === undefined) throw new XtError(`--dataset: unknown data set '${raw}' (cifar10, fashion-mnist or mnist)`, 2);
  return n;
}

async function readEmbedded(path: string, name: string): Promise<Uint8Array> {
  try {
    const raw = new Uint8Array(await Bun.file(path).arrayBuffer());
    return maybeGunzip(`${EMBEDDED_VIT_LOCATION}/${name}`, raw).bytes;
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${EMBEDDED_VIT_LOCATION}/${name}`, `cannot read embedded file (${(e as Error).message})`);
  }
}

/** The embedded 64 Fashion-MNIST training images (same bytes as the first 64 of the real set). */
export async function loadEmbeddedFirst64(): Promise<ImageDataset> {
  envDataDir(); // a wrong XT_DATA_DIR is an error even where the embedded images are used
  const imgFile = "train-images-idx3-ubyte.gz";
  const labFile = "train-labels-idx1-ubyte.gz";
  const img = parseIdx(`${EMBEDDED_VIT_LOCATION}/${imgFile}`, await readEmbedded(embeddedImages, imgFile), 3);
  const lab = parseIdx(`${EMBEDDED_VIT_LOCATION}/${labFile}`, await readEmbedded(embeddedLabels, labFile), 1);
  const [n, rows, cols] = img.shape as [number, number, number];
  const images = new Float32Array(img.data.length);
  bytesToUnitFloat(img.data, images);
  return {
    images, labels: Int32Array.from(lab.data), n, channels: 1, height: rows, width: cols,
    classes: [...FASHION_MNIST_CLASSES], source: EMBEDDED_VIT_LOCATION,
  };
}

/** A split of a named data set, optionally cut to its first `max` images. */
export function loadVitSplit(name: ImageDatasetName, split: ImageSplit, dataDir?: string): ImageDataset {
  const ds = loadImageDataset(name, split, dataDir);
  if (ds.n === 0) throw new DataError(ds.source, `the ${split} split has no images`);
  return ds;
}
