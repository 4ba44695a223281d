/**
 * The CS231n COCO captioning data (`coco_captioning/`), with the reference starter code's
 * semantics (cs231n/coco_utils.py):
 *
 *  - load_coco_data(base_dir, max_train=None, pca_features=True): every dataset of
 *    coco2014_captions.h5, `features` of train2014_vgg16_fc7[_pca].h5 and val2014_..., the vocab
 *    JSON, the URL lists; with max_train, `mask = np.random.randint(num_train, size=max_train)`
 *    then train_captions[mask] and train_image_idxs[mask] (features and URLs are not subsampled).
 *  - sample_coco_minibatch(data, batch_size=100, split="train"): `mask = np.random.choice(
 *    split_size, batch_size)` (with replacement); captions[mask], image_idxs[mask], then
 *    features[image_idxs] and urls[image_idxs].
 *  - decode_captions(captions, idx_to_word): drop <NULL>, keep <START>, stop after <END>, join
 *    with spaces; a 1-D input gives one string.
 *
 * Where the data comes from: an explicit folder (the `coco_captioning` folder itself or the
 * folder holding it), else `$XT_DATA_DIR/coco_captioning` (or `$XT_DATA_DIR` itself), else the
 * embedded default `coco-mini` (fixtures/coco-mini, compiled into the executable).
 *
 * What is read: the HDF5 files are opened in place and only the rows used are read (see
 * rows.ts): with max_train, the drawn captions and their images' features; without, the whole
 * train split; val rows as they are asked for (the first N captions of a validation loss, the
 * images `sample` draws). The real folder holds 2 GB of fc7 features; `overfit captioning`
 * reads 50 rows of them. Rows are checked as they are read (word ids inside the vocabulary,
 * image indices inside the features), so a bad row is reported when it is first used.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DataError } from "../errors.ts";
import { COCO_MINI_FILES } from "./coco_mini_embedded.ts";
import { checkDataDirFlag, envDataDir } from "./data_dir.ts";
import { openHdf5, type Hdf5File } from "./h5.ts";
import { isFile, readBytes } from "./io.ts";
import { bytesLineList, lineListOf, type LineList } from "./lines.ts";
import { ArrayRows, FileRows, rowRange, type Rows } from "./rows.ts";

/** The two NumPy legacy RandomState draws the reference makes (see core/random). */
export interface CocoRng {
  /** np.random.randint(low, high, size): high undefined means [0, low). */
  randint(low: number, high: number | undefined, size: number): number[];
  /** np.random.choice(a, size, replace=True). */
  choice(a: number, size: number, replace?: boolean): number[];
}

export const COCO_FILES = {
  captions: "coco2014_captions.h5",
  vocab: "coco2014_vocab.json",
  trainFeatures: "train2014_vgg16_fc7.h5",
  trainFeaturesPca: "train2014_vgg16_fc7_pca.h5",
  valFeatures: "val2014_vgg16_fc7.h5",
  valFeaturesPca: "val2014_vgg16_fc7_pca.h5",
  trainUrls: "train2014_urls.txt",
  valUrls: "val2014_urls.txt",
} as const;

/** Where a COCO folder's files are read from. */
export interface CocoSource {
  kind: "dir" | "embedded";
  /** The folder, or "coco-mini (embedded)". */
  location: string;
  /** How a file of this source is named in messages. */
  displayName(file: string): string;
  exists(file: string): boolean;
  /** A whole (small) file: the vocabulary, the URL lists. */
  read(file: string): Promise<Uint8Array>;
  /**
   * A path on the real file system to open the file in place; `temporary` when it is a copy
   * (an embedded file inside a compiled executable), which `release` removes.
   */
  localFile(file: string): Promise<LocalFile>;
}

export interface LocalFile {
  path: string;
  temporary: boolean;
  release(): void;
}

/** A `coco_captioning` folder on disk. */
export function cocoDirSource(dir: string): CocoSource {
  const abs = resolve(dir);
  return {
    kind: "dir",
    location: abs,
    displayName: (file) => join(abs, file),
    exists: (file) => isFile(join(abs, file)),
    read: async (file) => readBytes(join(abs, file)),
    localFile: async (file) => ({ path: join(abs, file), temporary: false, release: () => {} }),
  };
}

export const EMBEDDED_COCO_LOCATION = "coco-mini (embedded)";

function canOpen(path: string): boolean {
  try {
    closeSync(openSync(path, "r"));
    return true;
  } catch {
    return false;
  }
}

/** `bytes` written to a private temporary folder as `file`; `release` removes the folder. */
export function temporaryCopy(name: string, file: string, bytes: Uint8Array): LocalFile {
  const dir = mkdtempSync(join(tmpdir(), "xt-coco-"));
  const path = join(dir, file);
  try {
    writeFileSync(path, bytes);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new DataError(name, `cannot copy the file to ${dir} (${(e as Error).message})`);
  }
  return { path, temporary: true, release: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The embedded default data (fixtures/coco-mini). */
export function embeddedCocoSource(): CocoSource {
  const read = async (file: string): Promise<Uint8Array> => {
    const path = COCO_MINI_FILES[file];
    if (path === undefined) throw new DataError(`${EMBEDDED_COCO_LOCATION}/${file}`, "file not found");
    try {
      return new Uint8Array(await Bun.file(path).arrayBuffer());
    } catch (e) {
      throw new DataError(`${EMBEDDED_COCO_LOCATION}/${file}`, `cannot read embedded file (${(e as Error).message})`);
    }
  };
  return {
    kind: "embedded",
    location: EMBEDDED_COCO_LOCATION,
    displayName: (file) => `${EMBEDDED_COCO_LOCATION}/${file}`,
    exists: (file) => file in COCO_MINI_FILES,
    read,
    localFile: async (file) => {
      const path = COCO_MINI_FILES[file];
      // From the source tree the file is a real one; inside a compiled executable it lives in
      // Bun's /$bunfs, which stat() sees but open() (and so h5wasm) cannot: it is copied to a
      // private temporary folder.
      if (path !== undefined && canOpen(path)) return { path, temporary: false, release: () => {} };
      return temporaryCopy(`${EMBEDDED_COCO_LOCATION}/${file}`, file, await read(file));
    },
  };
}

function findCocoDir(base: string): string | null {
  for (const d of [base, join(base, "coco_captioning"), join(base, "datasets", "coco_captioning")]) {
    if (isFile(join(d, COCO_FILES.captions))) return d;
  }
  return null;
}

/**
 * Picks the data: `dir` (the coco_captioning folder or its parent) when given, else
 * $XT_DATA_DIR when it holds a COCO folder, else the embedded coco-mini. A `dir` or an
 * XT_DATA_DIR that does not exist is a DataError.
 */
export function resolveCocoSource(dir?: string): CocoSource {
  if (dir !== undefined) {
    checkDataDirFlag(dir, "COCO captioning data");
    const found = findCocoDir(dir);
    if (found === null) {
      throw new DataError(
        join(resolve(dir), COCO_FILES.captions),
        `file not found (also looked in ${join(resolve(dir), "coco_captioning")}/): not a COCO captioning folder. Pass the coco_captioning folder (or the folder holding it) with --data-dir DIR.`,
      );
    }
    return cocoDirSource(found);
  }
  const env = envDataDir();
  if (env !== undefined) {
    const found = findCocoDir(env);
    if (found !== null) return cocoDirSource(found);
  }
  return embeddedCocoSource();
}

export interface CocoSplitData {
  numCaptions: number;
  numImages: number;
  /** numCaptions × captionLength word ids. */
  captions: Rows<Int32Array>;
  /** For each caption (one column), the row of `features` (and `urls`) of its image. */
  imageIdxs: Rows<Int32Array>;
  /** numImages × featureDim. */
  features: Rows<Float32Array>;
  /** One URL per image. */
  urls: LineList;
}

export interface CocoData {
  train: CocoSplitData;
  val: CocoSplitData;
  /** Tokens per caption (17 in the real data). */
  captionLength: number;
  /** 512 with PCA features, 4096 without (in the real data). */
  featureDim: number;
  idxToWord: string[];
  wordToIdx: Record<string, number>;
  pcaFeatures: boolean;
  /** The folder (or "coco-mini (embedded)") the data came from. */
  source: string;
  /** The train caption indices maxTrain picked (null without maxTrain). */
  trainSubsample: number[] | null;
}

export interface LoadCocoOptions {
  /** Subsample this many train captions, with replacement, as the reference does. */
  maxTrain?: number;
  /** Use the 512-d PCA features (default true) or the 4096-d fc7 ones. */
  pcaFeatures?: boolean;
}

/** A split held in memory (tests, synthetic data): captions n × T, features numImages × D. */
export function cocoSplitFromArrays(
  captions: Int32Array, captionLength: number, imageIdxs: Int32Array, features: Float32Array, featureDim: number, urls: string[],
): CocoSplitData {
  const c = new ArrayRows(captions, captionLength);
  const f = new ArrayRows(features, featureDim);
  if (imageIdxs.length !== c.rows) throw new RangeError(`${imageIdxs.length} image indices for ${c.rows} captions`);
  return { numCaptions: c.rows, numImages: f.rows, captions: c, imageIdxs: new ArrayRows(imageIdxs, 1), features: f, urls: lineListOf(urls) };
}

/** The captions `idxs` of a split with their images: features, URLs and image indices. */
export function gatherCocoBatch(split: CocoSplitData, idxs: ArrayLike<number>): {
  captions: Int32Array; imageIdxs: Int32Array; features: Float32Array; urls: string[];
} {
  const imageIdxs = split.imageIdxs.gather(idxs);
  const captions = split.captions.gather(idxs);
  const features = split.features.gather(imageIdxs);
  return { captions, imageIdxs, features, urls: Array.from(imageIdxs, (i) => split.urls.get(i)) };
}

function parseVocab(name: string, bytes: Uint8Array): { idxToWord: string[]; wordToIdx: Record<string, number> } {
  let obj: unknown;
  try {
    obj = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new DataError(name, `corrupt or truncated JSON (${(e as Error).message})`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new DataError(name, "expected a JSON object with idx_to_word and word_to_idx");
  const o = obj as Record<string, unknown>;
  if (!("idx_to_word" in o)) throw new DataError(name, "missing key 'idx_to_word'");
  if (!("word_to_idx" in o)) throw new DataError(name, "missing key 'word_to_idx'");
  const itw = o.idx_to_word;
  const wti = o.word_to_idx;
  if (!Array.isArray(itw) || !itw.every((w) => typeof w === "string")) throw new DataError(name, "'idx_to_word' is not a list of strings");
  if (typeof wti !== "object" || wti === null || Array.isArray(wti)) throw new DataError(name, "'word_to_idx' is not an object");
  const wordToIdx: Record<string, number> = Object.create(null);
  for (const [w, i] of Object.entries(wti as Record<string, unknown>)) {
    if (typeof i !== "number" || !Number.isInteger(i)) throw new DataError(name, `word_to_idx['${w}'] is not an integer`);
    if (itw[i] !== w) throw new DataError(name, `word_to_idx['${w}'] = ${i} but idx_to_word[${i}] is ${JSON.stringify(itw[i])}`);
    wordToIdx[w] = i;
  }
  const idxToWord = itw as string[];
  if (Object.keys(wordToIdx).length !== idxToWord.length) {
    throw new DataError(name, `idx_to_word has ${idxToWord.length} words but word_to_idx has ${Object.keys(wordToIdx).length}`);
  }
  for (const special of ["<NULL>", "<START>", "<END>"]) {
    if (!(special in wordToIdx)) throw new DataError(name, `the vocabulary has no '${special}' token`);
  }
  return { idxToWord, wordToIdx };
}

/** An HDF5 file of the source, opened in place (or as a temporary copy, see CocoSource). */
async function openSourceHdf5(src: CocoSource, file: string, staged: LocalFile[]): Promise<Hdf5File> {
  const name = src.displayName(file);
  if (!src.exists(file)) throw new DataError(name, "file not found");
  const local = await src.localFile(file);
  staged.push(local);
  return openHdf5(name, local.path);
}

interface SplitShapes {
  captions: number;
  length: number;
}

/** Checks coco2014_captions.h5: all four datasets, their dtypes and matching sizes. */
function captionShapes(h: Hdf5File): Record<"train" | "val", SplitShapes> {
  return h.read((f) => {
    // look up every key first so that a missing one is reported before anything else
    for (const k of ["train_captions", "train_image_idxs", "val_captions", "val_image_idxs"]) f.shape(k);
    const split = (s: "train" | "val"): SplitShapes => {
      const [rows, length] = f.dims(`${s}_captions`, "int", 2) as [number, number];
      const [n] = f.dims(`${s}_image_idxs`, "int", 1) as [number];
      if (n !== rows) throw new DataError(h.name, `${s}_image_idxs has ${n} entries but ${s}_captions has ${rows} rows`);
      return { captions: rows, length };
    };
    const train = split("train");
    const val = split("val");
    if (train.length !== val.length) {
      throw new DataError(h.name, `train_captions has ${train.length} tokens per caption but val_captions has ${val.length}`);
    }
    if (train.length < 2) throw new DataError(h.name, `train_captions has ${train.length} tokens per caption, need at least 2`);
    return { train, val };
  });
}

/** A features file's `features` dataset: rows × cols float32, read on demand. */
function featureRows(h: Hdf5File): FileRows<"float"> {
  const { shape, size } = h.read((f) => ({ shape: f.dims("features", "float", 2), size: f.elementSize("features") }));
  const [rows, cols] = shape as [number, number];
  return new FileRows(h, "features", "float", rows, cols, size);
}

/** A split's word ids, read on demand, each row checked against the vocabulary as it is read. */
function captionRows(h: Hdf5File, s: "train" | "val", shapes: SplitShapes, vocabSize: number): FileRows<"int"> {
  const T = shapes.length;
  return new FileRows(h, `${s}_captions`, "int", shapes.captions, T, 4, (row, v, at) => {
    for (let t = 0; t < T; t++) {
      const w = v[at + t]!;
      if (w < 0 || w >= vocabSize) {
        throw new DataError(h.name, `${s}_captions[${row}, ${t}] = ${w} is outside the vocabulary (${vocabSize} words in ${COCO_FILES.vocab})`);
      }
    }
  });
}

/** A split's image index per caption, read on demand, each checked to be a row of the features. */
function imageIdxRows(h: Hdf5File, s: "train" | "val", shapes: SplitShapes, featRows: number, featName: string): FileRows<"int"> {
  return new FileRows(h, `${s}_image_idxs`, "int", shapes.captions, 1, 4, (row, v, at) => {
    const k = v[at]!;
    if (k < 0 || k >= featRows) {
      throw new DataError(featName, `features has ${featRows} rows but ${s}_image_idxs refers to image ${k} (caption ${row})`);
    }
  });
}

/**
 * load_coco_data (see the module comment). `rng` is needed only with maxTrain, and is then drawn
 * from exactly as the reference draws from np.random. Files are checked (present, shapes, dtypes,
 * vocabulary, URL counts) here; rows are read as described at the top of this file.
 */
export async function loadCocoData(
  dir?: string | CocoSource,
  options: LoadCocoOptions = {},
  rng?: CocoRng,
): Promise<CocoData> {
  const pca = options.pcaFeatures ?? true;
  const { maxTrain } = options;
  if (maxTrain !== undefined && (!Number.isInteger(maxTrain) || maxTrain < 0)) {
    throw new Error(`loadCocoData: maxTrain must be a non-negative integer, got ${maxTrain}`);
  }
  if (maxTrain !== undefined && rng === undefined) {
    throw new Error("loadCocoData: maxTrain needs the NumPy random state (rng) to subsample as the reference does");
  }
  const src = typeof dir === "object" ? dir : resolveCocoSource(dir);
  const staged: LocalFile[] = [];
  try {
    const capFile = await openSourceHdf5(src, COCO_FILES.captions, staged);
    const shapes = captionShapes(capFile);
    const trainFile = pca ? COCO_FILES.trainFeaturesPca : COCO_FILES.trainFeatures;
    const valFile = pca ? COCO_FILES.valFeaturesPca : COCO_FILES.valFeatures;
    const trainFeat = featureRows(await openSourceHdf5(src, trainFile, staged));
    const valFeat = featureRows(await openSourceHdf5(src, valFile, staged));
    if (trainFeat.cols !== valFeat.cols) {
      throw new DataError(src.displayName(valFile), `features are ${valFeat.cols} wide but ${trainFile} has ${trainFeat.cols}`);
    }

    // the training captions (all, or the max_train draw) and their image indices
    const T = shapes.train.length;
    const trainIdxs = imageIdxRows(capFile, "train", shapes.train, trainFeat.rows, src.displayName(trainFile));
    const valIdxs = imageIdxRows(capFile, "val", shapes.val, valFeat.rows, src.displayName(valFile));
    let trainSubsample: number[] | null = null;
    let used: Int32Array | null = null;
    if (maxTrain !== undefined) {
      const numTrain = shapes.train.captions;
      const mask = rng!.randint(numTrain, undefined, maxTrain);
      if (mask.length !== maxTrain || mask.some((k) => !Number.isInteger(k) || k < 0 || k >= numTrain)) {
        throw new Error(`loadCocoData: rng.randint(${numTrain}, size=${maxTrain}) returned indices outside [0, ${numTrain})`);
      }
      trainSubsample = mask;
      used = Int32Array.from(mask);
    }
    const allTrain = rowRange(0, shapes.train.captions);
    const trainImages = trainIdxs.gather(used ?? allTrain);

    const vocabName = src.displayName(COCO_FILES.vocab);
    if (!src.exists(COCO_FILES.vocab)) throw new DataError(vocabName, "file not found");
    const { idxToWord, wordToIdx } = parseVocab(vocabName, await src.read(COCO_FILES.vocab));
    const trainCaps = captionRows(capFile, "train", shapes.train, idxToWord.length);
    const valCaps = captionRows(capFile, "val", shapes.val, idxToWord.length);
    // train_captions[mask] (only those rows are read), or every row
    const trainCaptions: Rows<Int32Array> = used !== null ? new ArrayRows(trainCaps.gather(used), T) : trainCaps;
    if (used === null) trainCaps.load(allTrain);

    const urls: Record<"train" | "val", LineList> = { train: lineListOf([]), val: lineListOf([]) };
    for (const [s, file, rows] of [["train", COCO_FILES.trainUrls, trainFeat.rows], ["val", COCO_FILES.valUrls, valFeat.rows]] as const) {
      const name = src.displayName(file);
      if (!src.exists(file)) throw new DataError(name, "file not found");
      urls[s] = bytesLineList(await src.read(file)); // Python: [line.strip() for line in f]
      const featFile = s === "train" ? trainFile : valFile;
      if (urls[s].length !== rows) throw new DataError(name, `has ${urls[s].length} URLs but ${featFile} has ${rows} images`);
    }

    // the features of every image the training captions use, read now (training needs them all)
    trainFeat.load(trainImages);
    if (staged.some((f) => f.temporary)) {
      // temporary copies go away below: read (and check) the rest now; coco-mini is small
      for (const r of [valIdxs, valCaps, trainFeat, valFeat]) r.loadAll();
    }
    const trainSplit: CocoSplitData = {
      numCaptions: trainImages.length, numImages: trainFeat.rows, captions: trainCaptions,
      imageIdxs: used !== null ? new ArrayRows(trainImages, 1) : trainIdxs, features: trainFeat, urls: urls.train,
    };

    return {
      train: trainSplit,
      val: {
        numCaptions: shapes.val.captions, numImages: valFeat.rows, captions: valCaps,
        imageIdxs: valIdxs, features: valFeat, urls: urls.val,
      },
      captionLength: T,
      featureDim: trainFeat.cols,
      idxToWord,
      wordToIdx,
      pcaFeatures: pca,
      source: src.location,
      trainSubsample,
    };
  } finally {
    for (const f of staged) f.release();
  }
}

export interface CocoMinibatch {
  /** batchSize × captionLength. */
  captions: Int32Array;
  /** batchSize × featureDim: the features of each caption's image. */
  features: Float32Array;
  urls: string[];
  imageIdxs: Int32Array;
  /** The caption indices drawn (np.random.choice). */
  mask: number[];
  batchSize: number;
  captionLength: number;
  featureDim: number;
}

/** sample_coco_minibatch(data, batch_size, split): `np.random.choice(split_size, batch_size)`. */
export function sampleCocoMinibatch(
  data: CocoData,
  batchSize = 100,
  split: "train" | "val" = "train",
  rng: CocoRng,
): CocoMinibatch {
  const s = data[split];
  if (s === undefined) throw new Error(`sampleCocoMinibatch: unknown split '${split}' (train or val)`);
  const T = data.captionLength;
  const D = data.featureDim;
  const mask = rng.choice(s.numCaptions, batchSize);
  if (mask.length !== batchSize || mask.some((k) => !Number.isInteger(k) || k < 0 || k >= s.numCaptions)) {
    throw new Error(`sampleCocoMinibatch: rng.choice(${s.numCaptions}, ${batchSize}) returned indices outside [0, ${s.numCaptions})`);
  }
  const { captions, features, urls, imageIdxs } = gatherCocoBatch(s, mask);
  return { captions, features, urls, imageIdxs, mask, batchSize, captionLength: T, featureDim: D };
}

function decodeOne(ids: ArrayLike<number>, idxToWord: readonly string[], start: number, end: number): string {
  const words: string[] = [];
  for (let t = start; t < end; t++) {
    const id = ids[t]!;
    const word = Number.isInteger(id) && id >= 0 ? idxToWord[id] : undefined;
    if (word === undefined) throw new Error(`decodeCaptions: word id ${id} is outside the vocabulary (${idxToWord.length} words)`);
    if (word !== "<NULL>") words.push(word);
    if (word === "<END>") break;
  }
  return words.join(" ");
}

/**
 * decode_captions: drops <NULL>, keeps <START>, stops after <END>. One caption (1-D ids) gives
 * a string; a flat N×rowLength array or a list of rows gives one string per caption.
 */
export function decodeCaptions(ids: ArrayLike<number>, idxToWord: readonly string[]): string;
export function decodeCaptions(ids: ArrayLike<number>, idxToWord: readonly string[], rowLength: number): string[];
export function decodeCaptions(rows: readonly ArrayLike<number>[], idxToWord: readonly string[]): string[];
export function decodeCaptions(
  ids: ArrayLike<number> | readonly ArrayLike<number>[],
  idxToWord: readonly string[],
  rowLength?: number,
): string | string[] {
  if (rowLength !== undefined) {
    const flat = ids as ArrayLike<number>;
    if (!Number.isInteger(rowLength) || rowLength <= 0 || flat.length % rowLength !== 0) {
      throw new Error(`decodeCaptions: ${flat.length} ids are not a whole number of rows of ${rowLength}`);
    }
    const out: string[] = [];
    for (let r = 0; r < flat.length; r += rowLength) out.push(decodeOne(flat, idxToWord, r, r + rowLength));
    return out;
  }
  if (ids.length > 0 && typeof ids[0] === "object") {
    return Array.from(ids as readonly ArrayLike<number>[], (row) => decodeOne(row, idxToWord, 0, row.length));
  }
  const one = ids as ArrayLike<number>;
  return decodeOne(one, idxToWord, 0, one.length);
}
