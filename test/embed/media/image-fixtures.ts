/**
 * @module test/embed/media/image-fixtures
 * Inputs for the image and video tests, all made here: the ImageNet sample
 * photos of the shared data folder (`$EMBEDKIT_DATA/imagenet-sample-images`,
 * read-only, provenance in its SOURCE.md), variants of them re-encoded with
 * sharp, and hostile files built byte by byte (a PNG whose header declares
 * 50 000 × 50 000 pixels, truncated JPEGs).
 */
import { readdirSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import { EmbedkitError } from "../../../src/errors.js";
import { sharedData } from "../../helpers/data.js";

/**
 * Absolute path of one of the 40 sample JPEGs, e.g. `samplePhoto("n09332890_lakeside.JPEG")`
 * (4.3 MB in all, so read from the shared data folder rather than committed).
 */
export function samplePhoto(name: string): string {
  return sharedData(`imagenet-sample-images/images/${name}`);
}

/** Absolute paths of the sample photos, sorted. */
export function sampleImages(): string[] {
  const folder = sharedData("imagenet-sample-images/images");
  return readdirSync(folder)
    .filter((name) => name.endsWith(".JPEG"))
    .sort()
    .map((name) => join(folder, name));
}

/** A fresh temporary folder. */
export function temporaryFolder(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `embedkit-${prefix}-`));
}

function chunk(type: string, data: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A valid-looking PNG whose IHDR declares `width × height` RGB pixels, with one
 * tiny compressed row of data: a few hundred bytes that would decode to
 * width·height·3 bytes (7.5 GB for 50 000²) — a decompression bomb.
 */
export function pngBomb(width = 50_000, height = 50_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const row = new Uint8Array(1 + Math.min(width, 1024) * 3);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(row)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

/** The EmbedkitError code a promise rejects with ("resolved" when it does not reject). */
export function errorCode(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "resolved",
    (error: unknown) => (EmbedkitError.isInstance(error) ? error.code : String(error)),
  );
}
