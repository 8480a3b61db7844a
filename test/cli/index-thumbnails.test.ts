/**
 * Thumbnails of image collections: `embedkit index --modality image` stores a
 * small WebP of each image (metadata `_thumbnail`, a data URL) through the
 * store's normal upsert, `--no-thumbnails` stores none, and a corrupt image
 * still fails the call with nothing written. Real photos (the ImageNet sample
 * of the shared data folder), the real image model, the real embedded store.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  isThumbnailDataUrl,
  MAX_THUMBNAIL_CHARS,
  THUMBNAIL_FIELD,
  THUMBNAIL_SIZE,
} from "../../src/embed/media/image/thumbnail.js";
import { openEmbeddedStore } from "../../src/store/embedded-store.js";
import type { StoredItem } from "../../src/store/vector-store.js";
import { sampleImages, temporaryFolder } from "../embed/media/image-fixtures.js";
import { runCli } from "./run-cli.js";

const photos = sampleImages().slice(10, 14);
let folder: string;
let store: string;

beforeAll(async () => {
  folder = await temporaryFolder("cli-thumbnails");
  store = join(folder, "store");
});

afterAll(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

function index(collection: string, files: readonly string[], ...flags: string[]) {
  return runCli([
    "index",
    collection,
    "--modality",
    "image",
    "--store",
    store,
    "--quiet",
    "--json",
    ...flags,
    ...files,
  ]);
}

async function storedItems(collection: string, ids: readonly string[]): Promise<StoredItem[]> {
  const opened = await openEmbeddedStore({ path: store });
  try {
    return await (await opened.getCollection(collection)).get(ids);
  } finally {
    await opened.close();
  }
}

/** Mean R, G, B of an image (file path or encoded bytes), after EXIF rotation. */
async function meanColour(input: string | Buffer): Promise<number[]> {
  const stats = await sharp(input).rotate().removeAlpha().stats();
  return stats.channels.slice(0, 3).map((channel) => channel.mean);
}

describe("index --modality image: thumbnails", () => {
  it("stores each image's small WebP thumbnail, which looks like the photo", async () => {
    const run = await index("photos", photos);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ total: 4, embedded: 4, count: 4 });
    const items = await storedItems("photos", photos);
    expect(items.map((item) => item.id)).toEqual(photos);
    const bytes: number[] = [];
    for (const item of items) {
      const url = item.metadata[THUMBNAIL_FIELD];
      expect(isThumbnailDataUrl(url)).toBe(true);
      expect((url as string).startsWith("data:image/webp;base64,")).toBe(true);
      expect((url as string).length).toBeLessThanOrEqual(MAX_THUMBNAIL_CHARS);
      expect(item.metadata.modality).toBe("image");
      const encoded = Buffer.from((url as string).split(",")[1] as string, "base64");
      bytes.push(encoded.length);
      const thumbnail = await sharp(encoded).metadata();
      const source = await sharp(item.id).metadata();
      expect(thumbnail.format).toBe("webp");
      expect(Math.max(thumbnail.width ?? 0, thumbnail.height ?? 0)).toBe(THUMBNAIL_SIZE);
      // Fitted inside, not cropped: the aspect ratio is the photo's (the samples carry no EXIF rotation).
      const ratio = (source.width ?? 1) / (source.height ?? 1);
      expect(Math.abs((thumbnail.width ?? 0) / (thumbnail.height ?? 1) - ratio)).toBeLessThan(0.05);
      // It looks like the photo: mean colour within a few levels per channel.
      const [want, got] = [await meanColour(item.id), await meanColour(encoded)];
      for (let channel = 0; channel < 3; channel++) {
        expect(Math.abs((got[channel] as number) - (want[channel] as number))).toBeLessThan(6);
      }
    }
    // Small enough to store with every item (target: at most ~4 KB each).
    expect(Math.max(...bytes)).toBeLessThanOrEqual(4096);
    // Thumbnails are deterministic: re-indexing the same files changes nothing.
    const again = await index("photos", photos);
    expect(JSON.parse(again.stdout)).toMatchObject({ embedded: 0, skipped: 4, count: 4 });
    // The terminal listing of a search leaves the data URL out (--json keeps it).
    const found = await runCli([
      "search",
      "photos",
      "--example",
      photos[0] as string,
      "-k",
      "2",
      "--store",
      store,
      "--quiet",
    ]);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toContain(photos[0]);
    expect(found.stdout).not.toContain("data:image");
  });

  it("stores none with --no-thumbnails", async () => {
    const run = await index("plain", photos.slice(0, 2), "--no-thumbnails");
    expect(run.code, run.stderr).toBe(0);
    const items = await storedItems("plain", photos.slice(0, 2));
    expect(items).toHaveLength(2);
    for (const item of items) expect(item.metadata).toEqual({ modality: "image" });
  });

  it("fails on a corrupt image as before: a clear MALFORMED_FILE naming it, nothing written", async () => {
    const truncated = join(folder, "truncated.jpg");
    const whole = await readFile(photos[0] as string);
    await writeFile(truncated, whole.subarray(0, Math.floor(whole.length * 0.4)));
    const run = await index("broken", [photos[1] as string, truncated, photos[2] as string]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/MALFORMED_FILE.*truncated\.jpg.*truncated or corrupt/);
    expect(await storedItems("broken", photos.slice(1, 3))).toEqual([]);
  });
});
