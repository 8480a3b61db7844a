/**
 * @module bench/thumbnails
 * What index-time thumbnails (`embedkit index --modality image`) cost on the 40
 * ImageNet sample photos: bytes per item of the stored thumbnail (WebP q50, the
 * default) next to JPEG at the same size and quality (why WebP), and the time per
 * image of making the thumbnail against embedding the same image with the default
 * image model, measured in the same run (interleaved rounds, medians) and reported
 * as a ratio — the share thumbnails add to indexing.
 *
 * Run: `npx tsx bench/thumbnails.ts [--data <folder>, default $EMBEDKIT_DATA/imagenet-sample-images] [--rounds 3]`
 */
import { readdir } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { createImageEmbedder } from "../src/embed/media/image/create-image-embedder.js";
import { imageThumbnail, THUMBNAIL_SIZE } from "../src/embed/media/image/thumbnail.js";
import { benchDataPath } from "./lib/data.js";

const args = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? (args[index + 1] ?? fallback) : fallback;
}
const dataDir = benchDataPath(option("data", ""), "imagenet-sample-images");
const ROUNDS = Number(option("rounds", "3"));

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function summary(values: readonly number[]): string {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  return `min ${Math.min(...values)}, mean ${Math.round(mean)}, max ${Math.max(...values)}`;
}

async function main(): Promise<void> {
  const folder = join(dataDir, "images");
  const photos = (await readdir(folder))
    .filter((name) => name.endsWith(".JPEG"))
    .sort()
    .map((name) => join(folder, name));
  const webp: number[] = [];
  const jpeg: number[] = [];
  for (const photo of photos) {
    const url = await imageThumbnail(photo);
    webp.push(Buffer.from(url.slice(url.indexOf(",") + 1), "base64").length);
    const same = await sharp(photo)
      .rotate()
      .resize({ width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE, fit: "inside", withoutEnlargement: true })
      .jpeg({ quality: 50 })
      .toBuffer();
    jpeg.push(same.length);
  }
  const embedder = await createImageEmbedder();
  await embedder.embed(photos.slice(0, 2)); // load and warm the model outside the timing
  const thumbnailMs: number[] = [];
  const embedMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let started = performance.now();
    for (const photo of photos) await imageThumbnail(photo);
    thumbnailMs.push((performance.now() - started) / photos.length);
    started = performance.now();
    await embedder.embed(photos);
    embedMs.push((performance.now() - started) / photos.length);
  }
  await embedder.close();
  const thumbnail = median(thumbnailMs);
  const embed = median(embedMs);
  console.log(`${photos.length} photos, ${ROUNDS} rounds, load average ${loadavg()[0]?.toFixed(1)}`);
  console.log(`thumbnail bytes, WebP q50 (stored): ${summary(webp)}`);
  console.log(`thumbnail bytes, JPEG q50 (same size, for comparison): ${summary(jpeg)}`);
  console.log(
    `per image: thumbnail ${thumbnail.toFixed(1)} ms, embedding (${embedder.model.id}) ${embed.toFixed(1)} ms; ` +
      `thumbnail / embedding = ${(thumbnail / embed).toFixed(2)}`,
  );
}

await main();
