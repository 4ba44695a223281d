/**
 * Training-set augmentation as torchvision 0.14 does it, drawing from torch's generator in its
 * order, so that a run with augmentation reproduces PyTorch's:
 *
 *   transforms.Compose([RandomCrop(size, padding=p), RandomHorizontalFlip()])
 *
 * applied to each (C, H, W) image in the data set's __getitem__, i.e. per image in the order the
 * DataLoader fetches the batch (single-process loader). Per image, from the global generator:
 *   RandomCrop:           pad every side with p zeros (fill=0, "constant"), then get_params:
 *                         i = torch.randint(0, H+2p - H + 1, (1,)), j = the same for the width
 *                         (one 32-bit word each: random() % (2p+1)); no draw when p = 0;
 *   RandomHorizontalFlip: torch.rand(1) < 0.5 (one 32-bit word: (word & 0xFFFFFF)·2⁻²⁴), then
 *                         the image is mirrored left to right.
 * The loader's own draws (base seed, sampler seed) come first, at iter() and at the first
 * next(); a batch's augmentation draws come after them and before the forward pass's dropout
 * draws, exactly as in PyTorch. The pixels are ToTensor's (0..1, no normalisation), so padding
 * with 0 is the same as padding the PIL image with black.
 */
import { UsageError, XtError } from "../errors.ts";
import type { TorchGenerator } from "../random/index.ts";

export interface AugmentConfig {
  /** RandomCrop(size, padding=cropPadding): a random crop of the zero-padded image. */
  crop: boolean;
  /** RandomHorizontalFlip(p=0.5). */
  flip: boolean;
  /** Zeros added on every side before the crop. */
  cropPadding: number;
}

/** No augmentation (the default: no draws). */
export const NO_AUGMENT: Readonly<AugmentConfig> = Object.freeze({ crop: false, flip: false, cropPadding: 0 });

/** The default crop padding: an eighth of the image side, rounded down (32×32 → 4, 28×28 → 3). */
export function defaultCropPadding(height: number): number {
  return Math.floor(height / 8);
}

/** `--augment crop,flip` (either or both; "none" for none). */
export function parseAugmentList(raw: string): { crop: boolean; flip: boolean } {
  const names = raw.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  if (names.length === 0) throw new UsageError(`--augment: expected crop, flip, crop,flip or none, got '${raw}'`);
  const out = { crop: false, flip: false };
  for (const n of names) {
    if (n === "crop") out.crop = true;
    else if (n === "flip") out.flip = true;
    else if (n !== "none") throw new UsageError(`--augment: unknown augmentation '${n}' (crop, flip)`);
  }
  return out;
}

export function isAugmenting(a: AugmentConfig): boolean {
  return a.flip || (a.crop && a.cropPadding > 0);
}

/** "crop (padding 4) + flip", "none". */
export function describeAugment(a: AugmentConfig): string {
  const parts = [...(a.crop ? [`crop (padding ${a.cropPadding})`] : []), ...(a.flip ? ["flip"] : [])];
  return parts.length ? parts.join(" + ") : "none";
}

/** Reads an augmentation config back from a checkpoint (absent: none, as runs before it existed). */
export function augmentConfigFrom(raw: unknown, where: string): AugmentConfig {
  if (raw === undefined || raw === null) return { ...NO_AUGMENT };
  const o = raw as Record<string, unknown>;
  if (typeof o.crop !== "boolean" || typeof o.flip !== "boolean" || !Number.isInteger(o.cropPadding) || (o.cropPadding as number) < 0) {
    throw new XtError(`${where}: the run's augmentation settings are not valid (${JSON.stringify(raw)})`);
  }
  return { crop: o.crop, flip: o.flip, cropPadding: o.cropPadding as number };
}

/** A per-image transform: rewrites one (C, H, W) image in place, drawing from `gen`. */
export type ImageTransform = (image: Float32Array, gen: TorchGenerator) => void;

/** What one image drew: the crop's top-left corner in the padded image (cropPadding each without a crop), and the flip. */
export interface AugmentDraws {
  top: number;
  left: number;
  flipped: boolean;
}

/** The draws of one image, in torchvision's order (crop's i, crop's j, then the flip). */
export function drawAugment(a: AugmentConfig, gen: TorchGenerator): AugmentDraws {
  let top = a.cropPadding;
  let left = a.cropPadding;
  if (a.crop && a.cropPadding > 0) {
    const span = 2 * a.cropPadding + 1;
    top = gen.random() % span;
    left = gen.random() % span;
  }
  const flipped = a.flip ? gen.uniformF32() < 0.5 : false;
  return { top, left, flipped };
}

/** The transform for images of the given shape (it keeps one scratch image). */
export function augmentTransform(a: AugmentConfig, shape: { channels: number; height: number; width: number }): ImageTransform | undefined {
  if (!isAugmenting(a)) return undefined;
  const { channels: C, height: H, width: W } = shape;
  const p = a.cropPadding; // drawAugment's corner without a crop: no shift
  const scratch = new Float32Array(C * H * W);
  return (image, gen) => {
    const d = drawAugment(a, gen);
    // Output pixel (y, x) reads the padded image at (y + top, x + left), i.e. the source at
    // (y + top − p, x + left − p), or 0 outside; a flip reads column W−1−x of the crop instead.
    const dy = d.top - p;
    const dx = d.left - p;
    if (dy === 0 && dx === 0 && !d.flipped) return;
    scratch.set(image);
    for (let c = 0; c < C; c++) {
      const plane = c * H * W;
      for (let y = 0; y < H; y++) {
        const sy = y + dy;
        const row = plane + y * W;
        if (sy < 0 || sy >= H) {
          image.fill(0, row, row + W);
          continue;
        }
        const srow = plane + sy * W;
        for (let x = 0; x < W; x++) {
          const sx = (d.flipped ? W - 1 - x : x) + dx;
          image[row + x] = sx >= 0 && sx < W ? scratch[srow + sx]! : 0;
        }
      }
    }
  };
}
