/**
 * @module bench/lib/copy-detection
 * The copy-detection protocol shared by bench/image.ts (whole photos) and
 * bench/face.ts (face portraits): seven seeded distortions of an original and
 * the scoring of one query against the index (rank of the true original, ties
 * counted against the method; recall@1 and mAP = MRR with one relevant item).
 */
import sharp, { type Sharp } from "sharp";
import type { Random } from "../../src/vectors/random.js";

/** The distortions applied to each original, with a seeded random strength. */
export const DISTORTIONS = [
  "crop",
  "flip",
  "rotate",
  "brightness-contrast",
  "jpeg",
  "combined",
  "downscale",
] as const;
export type Distortion = (typeof DISTORTIONS)[number];

function between(random: Random, low: number, high: number): number {
  return low + (high - low) * random.next();
}

export async function distort(path: string | Buffer, kind: Distortion, random: Random): Promise<Buffer> {
  const meta = await sharp(path).metadata();
  const width = meta.width as number;
  const height = meta.height as number;
  const crop = (image: Sharp, keep: number): Sharp => {
    const w = Math.round(width * keep);
    const h = Math.round(height * keep);
    return image.extract({
      left: random.integer(width - w + 1),
      top: random.integer(height - h + 1),
      width: w,
      height: h,
    });
  };
  switch (kind) {
    case "crop":
      return crop(sharp(path), between(random, 0.6, 0.85))
        .jpeg({ quality: 90 })
        .toBuffer();
    case "flip":
      return sharp(path).flop().jpeg({ quality: 90 }).toBuffer();
    case "rotate":
      return sharp(path)
        .rotate(between(random, 5, 20) * (random.next() < 0.5 ? -1 : 1), { background: "#000000" })
        .jpeg({ quality: 90 })
        .toBuffer();
    case "brightness-contrast": {
      const contrast = between(random, 0.6, 1.5);
      return sharp(path)
        .modulate({ brightness: between(random, 0.6, 1.5) })
        .linear(contrast, 128 * (1 - contrast))
        .jpeg({ quality: 90 })
        .toBuffer();
    }
    case "jpeg":
      return sharp(path)
        .jpeg({ quality: Math.round(between(random, 5, 20)) })
        .toBuffer();
    case "combined":
      return crop(sharp(path).flop(), between(random, 0.75, 0.9))
        .modulate({ brightness: between(random, 0.8, 1.25) })
        .jpeg({ quality: Math.round(between(random, 20, 40)) })
        .toBuffer();
    case "downscale":
      return sharp(path)
        .resize(Math.round(width * between(random, 0.2, 0.35)))
        .jpeg({ quality: 75 })
        .toBuffer();
  }
}

export interface MethodResult {
  recallAt1: number;
  meanAveragePrecision: number;
  byDistortion: Record<string, number>;
}

/** Rank of the true original (1-based), ties counted against us. */
export function rankOf(scores: readonly number[], truth: number, higherIsBetter: boolean): number {
  const target = scores[truth] as number;
  let rank = 1;
  scores.forEach((score, index) => {
    if (index === truth) return;
    if (higherIsBetter ? score >= target : score <= target) rank++;
  });
  return rank;
}

export function summarize(ranks: readonly { kind: Distortion; rank: number }[]): MethodResult {
  const byDistortion: Record<string, number> = {};
  for (const kind of DISTORTIONS) {
    const mine = ranks.filter((entry) => entry.kind === kind);
    byDistortion[kind] = mine.filter((entry) => entry.rank === 1).length / mine.length;
  }
  return {
    recallAt1: ranks.filter((entry) => entry.rank === 1).length / ranks.length,
    meanAveragePrecision: ranks.reduce((sum, entry) => sum + 1 / entry.rank, 0) / ranks.length,
    byDistortion,
  };
}
