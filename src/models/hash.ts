/**
 * @module models/hash
 * sha256 of files, streamed so that a 300 MB model never sits in memory. The
 * store hashes every model file at install, on `verify()`, and on open unless a
 * verified-stamp still matches (measurements and the decision: `store-impl.ts`).
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";

/** sha256 (lower-case hex) and size of some bytes. */
export interface Digest {
  readonly sha256: string;
  readonly bytes: number;
}

/** Read size used for hashing: large reads are ~2x faster than the 64 KiB default. */
const READ_CHUNK = 1 << 20;

/** A fresh incremental sha256. */
export function createSha256(): Hash {
  return createHash("sha256");
}

/**
 * Feed a file's bytes into `hash` (used to continue a resumed download's hash).
 * @returns the number of bytes read.
 */
export async function updateHashFromFile(hash: Hash, path: string): Promise<number> {
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK })) {
    const buffer = chunk as Buffer;
    hash.update(buffer);
    bytes += buffer.length;
  }
  return bytes;
}

/**
 * sha256 and size of a file.
 * @throws the file system error (e.g. ENOENT) when the file cannot be read.
 */
export async function hashFile(path: string): Promise<Digest> {
  const hash = createSha256();
  const bytes = await updateHashFromFile(hash, path);
  return { sha256: hash.digest("hex"), bytes };
}
