import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SYSTEM_FASHION_MNIST_DIR, loadImageDataset } from "../data/image_dataset.ts";
import { EMBEDDED_VIT_LOCATION, loadEmbeddedFirst64, parseDatasetName } from "./vit_data.ts";

describe("ViT data", () => {
  test("the embedded images: 64 Fashion-MNIST training images, 1×28×28 in [0, 1]", async () => {
    const d = await loadEmbeddedFirst64();
    expect([d.n, d.channels, d.height, d.width]).toEqual([64, 1, 28, 28]);
    expect(d.images.length).toBe(64 * 784);
    expect(d.labels.length).toBe(64);
    expect(Math.min(...d.images)).toBe(0);
    expect(Math.max(...d.images)).toBe(1);
    expect(new Set(d.labels).size).toBe(10);
    expect(d.classes[9]).toBe("Ankle boot");
    expect(d.source).toBe(EMBEDDED_VIT_LOCATION);
    // The first two training labels of Fashion-MNIST are Ankle boot (9) and T-shirt/top (0).
    expect([d.labels[0], d.labels[1]]).toEqual([9, 0]);
  });

  test.skipIf(!existsSync(join(SYSTEM_FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz")))(
    "the embedded images are the first 64 of the installed Fashion-MNIST",
    async () => {
      const d = await loadEmbeddedFirst64();
      const full = loadImageDataset("fashion-mnist", "train", SYSTEM_FASHION_MNIST_DIR);
      expect(full.n).toBe(60000);
      expect(d.images).toEqual(full.images.subarray(0, 64 * 784));
      expect(d.labels).toEqual(full.labels.subarray(0, 64));
    },
  );

  test("data set names", () => {
    expect(parseDatasetName("CIFAR-10")).toBe("cifar10");
    expect(parseDatasetName("fashion_mnist")).toBe("fashion-mnist");
    expect(parseDatasetName("FashionMNIST")).toBe("fashion-mnist");
    expect(parseDatasetName("mnist")).toBe("mnist");
    expect(() => parseDatasetName("svhn")).toThrow(/unknown data set 'svhn' \(cifar10, fashion-mnist or mnist\)/);
  });
});
