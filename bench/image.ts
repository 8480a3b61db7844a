/**
 * @module bench/image
 * Copy detection on the 40 ImageNet sample photos: every photo is distorted in
 * seven seeded ways (random crop, horizontal flip, rotation, brightness/contrast,
 * strong JPEG re-encoding, a combination, and a downscale) and each distorted
 * copy is a query against the 40 originals. Scored by recall@1 and mAP (one
 * relevant original per query, so mAP = mean reciprocal rank) for the offline
 * image embedder (cosine) and, in the same run, the dHash and pHash baselines
 * (Hamming distance, ties broken against the true original). Throughput is
 * images/s end to end (decode + resize + model or hash), plus the TF.js cpu
 * backend as the runtime baseline. Writes bench/out/image.json and the
 * "Images and video" section of bench/RESULTS.md.
 *
 * Run: `npx tsx bench/image.ts [--data ../shared/data/imagenet-sample-images] [--seed 7]`
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import sharp, { type Sharp } from "sharp";
import { createImageEmbedder } from "../src/embed/media/image/create-image-embedder.js";
import { cosineSimilarity } from "../src/vectors/math.js";
import { hammingDistance } from "../src/vectors/quantize.js";
import { createRandom, type Random } from "../src/vectors/random.js";
import { busyCores } from "./lib/machine-load.js";
import { renderMediaSection } from "./lib/media-section.js";
import { differenceHash, perceptualHash } from "./lib/perceptual-hash.js";

const args = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? (args[index + 1] ?? fallback) : fallback;
}
const dataDir = resolve(option("data", "../shared/data/imagenet-sample-images"));
const seed = Number(option("seed", "7"));

/** The distortions applied to each original, with a seeded random strength. */
const DISTORTIONS = [
  "crop",
  "flip",
  "rotate",
  "brightness-contrast",
  "jpeg",
  "combined",
  "downscale",
] as const;
type Distortion = (typeof DISTORTIONS)[number];

function between(random: Random, low: number, high: number): number {
  return low + (high - low) * random.next();
}

async function distort(path: string, kind: Distortion, random: Random): Promise<Buffer> {
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

interface MethodResult {
  recallAt1: number;
  meanAveragePrecision: number;
  byDistortion: Record<string, number>;
}

/** Rank of the true original (1-based), ties counted against us. */
function rankOf(scores: readonly number[], truth: number, higherIsBetter: boolean): number {
  const target = scores[truth] as number;
  let rank = 1;
  scores.forEach((score, index) => {
    if (index === truth) return;
    if (higherIsBetter ? score >= target : score <= target) rank++;
  });
  return rank;
}

function summarize(ranks: readonly { kind: Distortion; rank: number }[]): MethodResult {
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

async function main(): Promise<void> {
  const imageDir = join(dataDir, "images");
  const originals = (await readdir(imageDir))
    .filter((name) => name.endsWith(".JPEG"))
    .sort()
    .map((name) => join(imageDir, name));
  const random = createRandom(seed);
  const queries: { kind: Distortion; truth: number; data: Buffer }[] = [];
  for (let truth = 0; truth < originals.length; truth++) {
    for (const kind of DISTORTIONS) {
      queries.push({ kind, truth, data: await distort(originals[truth] as string, kind, random) });
    }
  }
  const load = await busyCores(2000);
  console.log(
    `${originals.length} originals, ${queries.length} queries; other work keeps ${load.toFixed(2)} cores busy`,
  );

  // Embedder (wasm backend).
  const embedder = await createImageEmbedder();
  let start = performance.now();
  const originalVectors = (await embedder.embed(originals)).vectors;
  const embedSeconds = (performance.now() - start) / 1000;
  const queryVectors = (
    await embedder.embed(queries.map((query) => ({ data: new Uint8Array(query.data), name: "q.jpg" })))
  ).vectors;
  const embedRanks = queries.map((query, index) => ({
    kind: query.kind,
    rank: rankOf(
      originalVectors.map((vector) => cosineSimilarity(queryVectors[index] as Float32Array, vector)),
      query.truth,
      true,
    ),
  }));
  await embedder.close();

  // Runtime baseline: the same model on TF.js's pure-JS cpu backend (a subset: it is slow).
  const cpuEmbedder = await createImageEmbedder({ backend: "cpu" });
  const cpuSubset = originals.slice(0, 8);
  start = performance.now();
  await cpuEmbedder.embed(cpuSubset);
  const cpuSeconds = (performance.now() - start) / 1000;
  await cpuEmbedder.close();

  // Hash baselines.
  const hashes: Record<string, { seconds: number; result: MethodResult }> = {};
  for (const [name, hash] of [
    ["dHash", differenceHash],
    ["pHash", perceptualHash],
  ] as const) {
    start = performance.now();
    const originalHashes = [];
    for (const path of originals) originalHashes.push(await hash(path));
    const seconds = (performance.now() - start) / 1000;
    const ranks = [];
    for (const query of queries) {
      const queryHash = await hash(query.data);
      ranks.push({
        kind: query.kind,
        rank: rankOf(
          originalHashes.map((other) => hammingDistance(queryHash, other)),
          query.truth,
          false,
        ),
      });
    }
    hashes[name] = { seconds, result: summarize(ranks) };
  }

  const report = {
    date: new Date().toISOString(),
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? "?",
      node: process.version,
      otherWorkCores: load,
    },
    seed,
    originals: originals.length,
    queries: queries.length,
    distortions: DISTORTIONS,
    methods: {
      "mobilenet-v2-nsfwjs (cosine)": {
        ...summarize(embedRanks),
        imagesPerSecond: originals.length / embedSeconds,
      },
      ...Object.fromEntries(
        Object.entries(hashes).map(([name, { seconds, result }]) => [
          `${name} (Hamming, 64 bits)`,
          { ...result, imagesPerSecond: originals.length / seconds },
        ]),
      ),
    },
    runtime: {
      wasmImagesPerSecond: originals.length / embedSeconds,
      cpuImagesPerSecond: cpuSubset.length / cpuSeconds,
    },
  };
  await mkdir("bench/out", { recursive: true });
  await writeFile("bench/out/image.json", `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
  await renderMediaSection();
}

await main();
