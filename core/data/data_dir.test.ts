/**
 * Named data folders: --data-dir and XT_DATA_DIR that do not exist are errors for every loader
 * (never a silent fall-back to embedded, ./data or system data), and "not found" messages say
 * how to point xt at data.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { EMBEDDED_COCO_LOCATION, loadCocoData, resolveCocoSource } from "./coco.ts";
import { checkDataDirFlag, envDataDir } from "./data_dir.ts";
import { loadImageDataset } from "./image_dataset.ts";
import { COCO_MINI, copyInto, DATASETS, expectDataError, expectDataErrorAsync, tempDir, withDataDirEnv } from "./testing.ts";

const tmp = tempDir("xt-data-dir-test-");
afterAll(tmp.cleanup);
const MISSING = join(tmp.dir, "no-such-folder");
const A_FILE = copyInto(tmp.dir, join(DATASETS, "expected.json"));

describe("XT_DATA_DIR", () => {
  test("unset or empty: no folder; a folder: that folder", () => {
    expect(withDataDirEnv(undefined, envDataDir)).toBeUndefined();
    expect(withDataDirEnv("", envDataDir)).toBeUndefined();
    expect(withDataDirEnv(tmp.dir, envDataDir)).toBe(tmp.dir);
  });

  test("a folder that does not exist, or a file, is a DataError naming XT_DATA_DIR and --data-dir", () => {
    const e = expectDataError(() => withDataDirEnv(MISSING, envDataDir), MISSING, /XT_DATA_DIR names a folder that does not exist/);
    expect(e.message).toContain("--data-dir");
    expectDataError(() => withDataDirEnv(A_FILE, envDataDir), A_FILE, /XT_DATA_DIR names a file, not a folder/);
  });

  test("COCO: a wrong XT_DATA_DIR fails instead of using the embedded coco-mini; --data-dir still wins", async () => {
    expectDataError(() => withDataDirEnv(MISSING, () => resolveCocoSource()), MISSING, /XT_DATA_DIR/);
    await expectDataErrorAsync(() => withDataDirEnv(MISSING, () => loadCocoData()), MISSING, /XT_DATA_DIR/);
    expect(withDataDirEnv(MISSING, () => resolveCocoSource(COCO_MINI)).location).toBe(COCO_MINI);
    // an existing folder without COCO data: the embedded default (XT_DATA_DIR holds every data set)
    expect(withDataDirEnv(tmp.dir, () => resolveCocoSource()).location).toBe(EMBEDDED_COCO_LOCATION);
  });

  test("image data sets: a wrong XT_DATA_DIR fails instead of using ./data or the system copy", () => {
    for (const name of ["fashion-mnist", "mnist", "cifar10"] as const) {
      expectDataError(() => withDataDirEnv(MISSING, () => loadImageDataset(name, "train")), MISSING, /XT_DATA_DIR/);
    }
    expect(withDataDirEnv(MISSING, () => loadImageDataset("mnist", "test", DATASETS)).n).toBe(6);
  });
});

describe("--data-dir", () => {
  test("a folder that does not exist names --data-dir and the data looked for", async () => {
    expectDataError(() => checkDataDirFlag(MISSING, "COCO captioning data"), MISSING, /data folder not found \(given with --data-dir, for the COCO captioning data\)/);
    expectDataError(() => checkDataDirFlag(A_FILE, "mnist data"), A_FILE, /it is a file, not a folder/);
    await expectDataErrorAsync(() => loadCocoData(MISSING), MISSING, /--data-dir/);
    expectDataError(() => loadImageDataset("cifar10", "train", MISSING), MISSING, /--data-dir/);
  });

  test("data not found: the message says --data-dir and XT_DATA_DIR", async () => {
    const empty = join(tmp.dir, "empty");
    copyInto(empty, A_FILE);
    const e = expectDataError(() => withDataDirEnv(empty, () => loadImageDataset("cifar10", "train")), "cifar10", /not found/);
    expect(e.message).toContain("--data-dir DIR");
    expect(e.message).toContain("XT_DATA_DIR=DIR");
    expectDataError(() => loadImageDataset("mnist", "train", empty), empty, /not found.*given with --data-dir/);
    await expectDataErrorAsync(() => loadCocoData(empty), "coco2014_captions.h5", /not a COCO captioning folder\. Pass the coco_captioning folder .* with --data-dir DIR/);
  });
});
