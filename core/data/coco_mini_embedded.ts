/**
 * The embedded default COCO captioning data: fixtures/coco-mini/ (made by
 * fixtures/gen/gen_coco_mini.py). Each file is imported `with { type: "file" }`, so Bun resolves it
 * to a path: the file in the source tree when run from source, and a path inside the executable
 * (`/$bunfs/...`) in a `bun build --compile` binary, where the files are embedded. Read them with
 * `Bun.file(path)`.
 */
import captions from "../../fixtures/coco-mini/coco2014_captions.h5" with { type: "file" };
import trainFc7 from "../../fixtures/coco-mini/train2014_vgg16_fc7.h5" with { type: "file" };
import trainPca from "../../fixtures/coco-mini/train2014_vgg16_fc7_pca.h5" with { type: "file" };
import valFc7 from "../../fixtures/coco-mini/val2014_vgg16_fc7.h5" with { type: "file" };
import valPca from "../../fixtures/coco-mini/val2014_vgg16_fc7_pca.h5" with { type: "file" };
import vocab from "../../fixtures/coco-mini/coco2014_vocab.json" with { type: "file" };
import trainUrls from "../../fixtures/coco-mini/train2014_urls.txt" with { type: "file" };
import valUrls from "../../fixtures/coco-mini/val2014_urls.txt" with { type: "file" };

/** File name in the COCO folder → path Bun can read (in the source tree or the executable). */
export const COCO_MINI_FILES: Readonly<Record<string, string>> = Object.freeze({
  "coco2014_captions.h5": captions,
  "train2014_vgg16_fc7.h5": trainFc7,
  "train2014_vgg16_fc7_pca.h5": trainPca,
  "val2014_vgg16_fc7.h5": valFc7,
  "val2014_vgg16_fc7_pca.h5": valPca,
  // TypeScript types a .json import as its contents; imported as a file it is a path.
  "coco2014_vocab.json": vocab as unknown as string,
  "train2014_urls.txt": trainUrls as unknown as string,
  "val2014_urls.txt": valUrls as unknown as string,
});
