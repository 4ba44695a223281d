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
 */
import { join, resolve } from "node:path";
import { DataError } from "../errors.ts";
import { COCO_MINI_FILES } from "./coco_mini_embedded.ts";
import { withHdf5 } from "./h5.ts";
import { isDir, isFile, readBytes } from "./io.ts";

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
  read(file: string): Promise<Uint8Array>;
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
  };
}

export const EMBEDDED_COCO_LOCATION = "coco-mini (embedded)";

/** The embedded default data (fixtures/coco-mini). */
export function embeddedCocoSource(): CocoSource {
  return {
    kind: "embedded",
    location: EMBEDDED_COCO_LOCATION,
    displayName: (file) => `${EMBEDDED_COCO_LOCATION}/${file}`,
    exists: (file) => file in COCO_MINI_FILES,
    read: async (file) => {
      const path = COCO_MINI_FILES[file];
      if (path === undefined) throw new DataError(`${EMBEDDED_COCO_LOCATION}/${file}`, "file not found");
      try {
        return new Uint8Array(await Bun.file(path).arrayBuffer());
      } catch (e) {
        throw new DataError(`${EMBEDDED_COCO_LOCATION}/${file}`, `cannot read embedded file (${(e as Error).message})`);
      }
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
 * $XT_DATA_DIR when it holds a COCO folder, else the embedded coco-mini.
 */
export function resolveCocoSource(dir?: string): CocoSource {
  if (dir !== undefined) {
    if (!isDir(dir)) throw new DataError(dir, "COCO data folder not found");
    const found = findCocoDir(dir);
    if (found === null) {
      throw new DataError(
        join(resolve(dir), COCO_FILES.captions),
        `file not found (also looked in ${join(resolve(dir), "coco_captioning")}/): not a COCO captioning folder`,
      );
    }
    return cocoDirSource(found);
  }
  const env = process.env.XT_DATA_DIR;
  if (env) {
    const found = isDir(env) ? findCocoDir(env) : null;
    if (found !== null) return cocoDirSource(found);
  }
  return embeddedCocoSource();
}

export interface CocoSplitData {
  /** numCaptions × captionLength word ids. */
  captions: Int32Array;
  /** For each caption, the row of `features` (and `urls`) of its image. */
  imageIdxs: Int32Array;
  numCaptions: number;
  /** numImages × featureDim. */
  features: Float32Array;
  numImages: number;
  urls: string[];
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

interface RawCaptions {
  captions: Int32Array;
  imageIdxs: Int32Array;
  rows: number;
  length: number;
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

function parseUrls(bytes: Uint8Array): string[] {
  // Python: [line.strip() for line in f]; trailing blank lines are dropped here.
  const lines = new TextDecoder().decode(bytes).split(/\r\n|\r|\n/).map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

async function readCaptions(src: CocoSource): Promise<{ train: RawCaptions; val: RawCaptions }> {
  const name = src.displayName(COCO_FILES.captions);
  const bytes = await src.read(COCO_FILES.captions);
  return withHdf5(name, bytes, (f) => {
    const split = (s: "train" | "val"): RawCaptions => {
      const c = f.readInt32(`${s}_captions`, 2);
      const idx = f.readInt32(`${s}_image_idxs`, 1);
      const [rows, length] = c.shape as [number, number];
      if (idx.shape[0] !== rows) {
        throw new DataError(name, `${s}_image_idxs has ${idx.shape[0]} entries but ${s}_captions has ${rows} rows`);
      }
      return { captions: c.data, imageIdxs: idx.data, rows, length };
    };
    // look up every key first so that a missing one is reported before any read
    for (const k of ["train_captions", "train_image_idxs", "val_captions", "val_image_idxs"]) f.shape(k);
    const train = split("train");
    const val = split("val");
    if (train.length !== val.length) {
      throw new DataError(name, `train_captions has ${train.length} tokens per caption but val_captions has ${val.length}`);
    }
    if (train.length < 2) throw new DataError(name, `train_captions has ${train.length} tokens per caption, need at least 2`);
    return { train, val };
  });
}

async function readFeatures(src: CocoSource, file: string): Promise<{ data: Float32Array; rows: number; cols: number }> {
  const name = src.displayName(file);
  if (!src.exists(file)) throw new DataError(name, "file not found");
  const bytes = await src.read(file);
  return withHdf5(name, bytes, (f) => f.readFloat32Rows("features"));
}

function checkImageIdxs(s: "train" | "val", cap: RawCaptions, featRows: number, featName: string): void {
  for (let i = 0; i < cap.rows; i++) {
    const k = cap.imageIdxs[i]!;
    if (k < 0 || k >= featRows) {
      throw new DataError(featName, `features has ${featRows} rows but ${s}_image_idxs refers to image ${k} (caption ${i})`);
    }
  }
}

function checkWordIds(s: "train" | "val", cap: RawCaptions, capName: string, vocabName: string, vocabSize: number): void {
  for (let i = 0; i < cap.captions.length; i++) {
    const w = cap.captions[i]!;
    if (w < 0 || w >= vocabSize) {
      const row = Math.floor(i / cap.length);
      throw new DataError(capName, `${s}_captions[${row}, ${i % cap.length}] = ${w} is outside the vocabulary (${vocabSize} words in ${vocabName})`);
    }
  }
}

/**
 * load_coco_data: reads the whole folder (see the module comment). `rng` is needed only with
 * maxTrain, and is then drawn from exactly as the reference draws from np.random.
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
  const capName = src.displayName(COCO_FILES.captions);
  if (!src.exists(COCO_FILES.captions)) throw new DataError(capName, "file not found");

  const caps = await readCaptions(src);
  const trainFile = pca ? COCO_FILES.trainFeaturesPca : COCO_FILES.trainFeatures;
  const valFile = pca ? COCO_FILES.valFeaturesPca : COCO_FILES.valFeatures;
  const trainFeat = await readFeatures(src, trainFile);
  const valFeat = await readFeatures(src, valFile);
  if (trainFeat.cols !== valFeat.cols) {
    throw new DataError(src.displayName(valFile), `features are ${valFeat.cols} wide but ${trainFile} has ${trainFeat.cols}`);
  }
  checkImageIdxs("train", caps.train, trainFeat.rows, src.displayName(trainFile));
  checkImageIdxs("val", caps.val, valFeat.rows, src.displayName(valFile));

  const vocabName = src.displayName(COCO_FILES.vocab);
  if (!src.exists(COCO_FILES.vocab)) throw new DataError(vocabName, "file not found");
  const { idxToWord, wordToIdx } = parseVocab(vocabName, await src.read(COCO_FILES.vocab));
  checkWordIds("train", caps.train, capName, COCO_FILES.vocab, idxToWord.length);
  checkWordIds("val", caps.val, capName, COCO_FILES.vocab, idxToWord.length);

  const urls: Record<"train" | "val", string[]> = { train: [], val: [] };
  for (const [s, file, rows] of [["train", COCO_FILES.trainUrls, trainFeat.rows], ["val", COCO_FILES.valUrls, valFeat.rows]] as const) {
    const name = src.displayName(file);
    if (!src.exists(file)) throw new DataError(name, "file not found");
    urls[s] = parseUrls(await src.read(file));
    const featFile = s === "train" ? trainFile : valFile;
    if (urls[s].length !== rows) throw new DataError(name, `has ${urls[s].length} URLs but ${featFile} has ${rows} images`);
  }

  let train = caps.train;
  let trainSubsample: number[] | null = null;
  if (maxTrain !== undefined) {
    const numTrain = train.rows;
    const mask = rng!.randint(numTrain, undefined, maxTrain);
    if (mask.length !== maxTrain || mask.some((k) => !Number.isInteger(k) || k < 0 || k >= numTrain)) {
      throw new Error(`loadCocoData: rng.randint(${numTrain}, size=${maxTrain}) returned indices outside [0, ${numTrain})`);
    }
    const T = train.length;
    const captions = new Int32Array(maxTrain * T);
    const imageIdxs = new Int32Array(maxTrain);
    mask.forEach((k, i) => {
      captions.set(train.captions.subarray(k * T, (k + 1) * T), i * T);
      imageIdxs[i] = train.imageIdxs[k]!;
    });
    train = { captions, imageIdxs, rows: maxTrain, length: T };
    trainSubsample = mask;
  }

  const split = (c: RawCaptions, f: { data: Float32Array; rows: number }, u: string[]): CocoSplitData => ({
    captions: c.captions, imageIdxs: c.imageIdxs, numCaptions: c.rows, features: f.data, numImages: f.rows, urls: u,
  });
  return {
    train: split(train, trainFeat, urls.train),
    val: split(caps.val, valFeat, urls.val),
    captionLength: caps.train.length,
    featureDim: trainFeat.cols,
    idxToWord,
    wordToIdx,
    pcaFeatures: pca,
    source: src.location,
    trainSubsample,
  };
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
  const captions = new Int32Array(batchSize * T);
  const features = new Float32Array(batchSize * D);
  const imageIdxs = new Int32Array(batchSize);
  const urls: string[] = [];
  mask.forEach((k, i) => {
    captions.set(s.captions.subarray(k * T, (k + 1) * T), i * T);
    const img = s.imageIdxs[k]!;
    imageIdxs[i] = img;
    features.set(s.features.subarray(img * D, (img + 1) * D), i * D);
    urls.push(s.urls[img]!);
  });
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
