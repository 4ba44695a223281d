/** Data loaders: image classification sets (CIFAR-10, MNIST, Fashion-MNIST) and COCO captioning. */
export { loadImageDataset, candidateDirs, MNIST_CLASSES, FASHION_MNIST_CLASSES, SYSTEM_FASHION_MNIST_DIR } from "./image_dataset.ts";
export type { ImageDataset, ImageDatasetName, ImageSplit } from "./image_dataset.ts";
export { loadCifar10, readCifarPyBatch, readCifarBinBatch, CIFAR10_CLASSES } from "./cifar.ts";
export type { CifarRaw } from "./cifar.ts";
export { readIdx, readIdxImages, readIdxLabels, parseIdx } from "./idx.ts";
export { unpickle } from "./pickle.ts";
export {
  loadCocoData, sampleCocoMinibatch, decodeCaptions, resolveCocoSource, cocoDirSource, embeddedCocoSource,
  COCO_FILES, EMBEDDED_COCO_LOCATION,
} from "./coco.ts";
export type { CocoData, CocoSplitData, CocoMinibatch, CocoRng, CocoSource, LoadCocoOptions } from "./coco.ts";
