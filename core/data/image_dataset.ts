/**
 * One entry point for the image-classification data sets: CIFAR-10, MNIST and Fashion-MNIST,
 * returned as torchvision's ToTensor would give them (float32 pixels/255, N·C·H·W).
 *
 * Where the files are looked for:
 *  - with `dataDir`: only there (and in the usual sub-folders: `cifar-10-batches-py`,
 *    `cifar-10-batches-bin`, `fashion-mnist`, `FashionMNIST/raw`, `mnist`, `MNIST/raw`, …);
 *    `dataDir` may also be the folder holding the files itself;
 *  - without: the same sub-folders of `$XT_DATA_DIR`, then of `./data` and `./datasets`, then
 *    the system copy (`/usr/share/datasets/fashion-mnist`, from Debian's dataset-fashion-mnist).
 * A `dataDir` or an XT_DATA_DIR that does not exist is an error (see data_dir.ts).
 */
import { join, resolve } from "node:path";
import { DataError } from "../errors.ts";
import { detectCifarFormat, loadCifar10 } from "./cifar.ts";
import { checkDataDirFlag, DATA_DIR_HINT, envDataDir } from "./data_dir.ts";
import { readIdxImages, readIdxLabels } from "./idx.ts";
import { bytesToUnitFloat, isDir, isFile } from "./io.ts";

export type ImageDatasetName = "cifar10" | "mnist" | "fashion-mnist";
export type ImageSplit = "train" | "test";

export interface ImageDataset {
  /** N·C·H·W float32, pixels/255 (torchvision ToTensor, no normalisation). */
  images: Float32Array;
  labels: Int32Array;
  n: number;
  channels: number;
  height: number;
  width: number;
  classes: string[];
  /** Where the data came from (folder and format), for logs. */
  source: string;
}

/** torchvision's class names. */
export const MNIST_CLASSES = [
  "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
  "8 - eight", "9 - nine",
];
export const FASHION_MNIST_CLASSES = [
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
  "Ankle boot",
];

/** Where Debian's dataset-fashion-mnist package installs the files. */
export const SYSTEM_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

const SUBDIRS: Record<ImageDatasetName, string[]> = {
  "cifar10": ["cifar-10-batches-py", "cifar-10-batches-bin", "cifar10/cifar-10-batches-py", "cifar10/cifar-10-batches-bin"],
  "mnist": ["mnist", "MNIST/raw", "MNIST", "mnist/raw"],
  "fashion-mnist": ["fashion-mnist", "FashionMNIST/raw", "FashionMNIST", "fashion_mnist", "fashion-mnist/raw"],
};

/** Candidate folders, in order, for a data set (see the module comment). */
export function candidateDirs(name: ImageDatasetName, dataDir?: string): string[] {
  const out: string[] = [];
  const add = (d: string) => {
    const r = resolve(d);
    if (!out.includes(r)) out.push(r);
  };
  if (dataDir !== undefined) {
    for (const s of SUBDIRS[name]) add(join(dataDir, s));
    add(dataDir);
    return out;
  }
  const bases: string[] = [];
  const env = process.env.XT_DATA_DIR;
  if (env) bases.push(env);
  bases.push("data", "datasets");
  for (const b of bases) for (const s of SUBDIRS[name]) add(join(b, s));
  if (name === "fashion-mnist") add(SYSTEM_FASHION_MNIST_DIR);
  if (name === "mnist") add("/usr/share/datasets/mnist");
  return out;
}

const IDX_PREFIX: Record<ImageSplit, string> = { train: "train", test: "t10k" };

/** The image and label file of an IDX split in `dir`, plain or .gz (plain preferred), or null. */
function idxFiles(dir: string, split: ImageSplit): { images: string; labels: string } | null {
  const pick = (stem: string): string | null => {
    for (const name of [stem, `${stem}.gz`, stem.replace("-idx", ".idx"), `${stem.replace("-idx", ".idx")}.gz`]) {
      const p = join(dir, name);
      if (isFile(p)) return p;
    }
    return null;
  };
  const images = pick(`${IDX_PREFIX[split]}-images-idx3-ubyte`);
  const labels = pick(`${IDX_PREFIX[split]}-labels-idx1-ubyte`);
  if (images === null && labels === null) return null;
  if (images === null) throw new DataError(join(dir, `${IDX_PREFIX[split]}-images-idx3-ubyte.gz`), "file not found (the label file is there)");
  if (labels === null) throw new DataError(join(dir, `${IDX_PREFIX[split]}-labels-idx1-ubyte.gz`), "file not found (the image file is there)");
  return { images, labels };
}

function notFound(name: ImageDatasetName, split: ImageSplit, tried: string[], dataDir?: string): DataError {
  const what = name === "cifar10" ? "cifar-10-batches-py/ or cifar-10-batches-bin/"
    : `${IDX_PREFIX[split]}-images-idx3-ubyte[.gz] and ${IDX_PREFIX[split]}-labels-idx1-ubyte[.gz]`;
  let hint = dataDir === undefined ? ` ${DATA_DIR_HINT}` : "";
  if (name === "fashion-mnist") hint += ` On Debian/Ubuntu, \`apt-get install dataset-fashion-mnist\` installs it in ${SYSTEM_FASHION_MNIST_DIR}.`;
  if (name === "cifar10") hint += " Download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and unpack it there.";
  const where = dataDir === undefined ? "" : " (the folder given with --data-dir and its usual sub-folders)";
  return new DataError(
    dataDir ?? name,
    `${name} ${split} data not found: looked for ${what} in ${tried.join(", ")}${where}.${hint}`,
  );
}

function loadIdxDataset(name: "mnist" | "fashion-mnist", split: ImageSplit, dir: string, files: { images: string; labels: string }): ImageDataset {
  const img = readIdxImages(files.images);
  const lab = readIdxLabels(files.labels);
  if (img.n !== lab.labels.length) {
    throw new DataError(files.labels, `has ${lab.labels.length} labels but ${files.images} has ${img.n} images`);
  }
  for (let i = 0; i < lab.labels.length; i++) {
    if (lab.labels[i]! > 9) throw new DataError(files.labels, `label ${lab.labels[i]} of image ${i} is outside the 10 classes`);
  }
  const images = new Float32Array(img.data.length);
  bytesToUnitFloat(img.data, images);
  return {
    images, labels: lab.labels, n: img.n, channels: 1, height: img.rows, width: img.cols,
    classes: [...(name === "mnist" ? MNIST_CLASSES : FASHION_MNIST_CLASSES)],
    source: `${dir} (IDX${img.gzipped ? ", gzip" : ""}, ${split})`,
  };
}

/** Loads a data set split; see the module comment for where the files are looked for. */
export function loadImageDataset(name: ImageDatasetName, split: ImageSplit, dataDir?: string): ImageDataset {
  if (split !== "train" && split !== "test") throw new DataError(name, `unknown split '${split}' (train or test)`);
  if (!(name in SUBDIRS)) throw new DataError(name, `unknown data set (cifar10, mnist or fashion-mnist)`);
  if (dataDir !== undefined) checkDataDirFlag(dataDir, `${name} data`);
  else envDataDir();
  const tried = candidateDirs(name, dataDir);
  for (const dir of tried) {
    if (!isDir(dir)) continue;
    if (name === "cifar10") {
      const format = detectCifarFormat(dir);
      if (format === null) continue;
      const raw = loadCifar10(dir, split, format);
      const images = new Float32Array(raw.pixels.length);
      bytesToUnitFloat(raw.pixels, images);
      return {
        images, labels: raw.labels, n: raw.n, channels: 3, height: 32, width: 32, classes: raw.classes,
        source: `${dir} (CIFAR-10 ${format === "py" ? "python pickles" : "binary"}, ${split})`,
      };
    }
    const files = idxFiles(dir, split);
    if (files !== null) return loadIdxDataset(name, split, dir, files);
  }
  throw notFound(name, split, tried, dataDir);
}
