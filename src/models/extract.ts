/**
 * @module models/extract
 * Copy named entries out of downloaded artifacts: jars (zip, read with yauzl)
 * and npm tarballs (gzip'd tar, read with node-tar). Only the entries a model
 * needs are written, each to the destination the caller chose; a missing entry
 * is an error, because a model without one of its files must never be installed.
 */
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import type yauzl from "yauzl";
import { EmbedkitError } from "../errors.js";
import { loadTar, loadYauzl } from "../internal/load-dependency.js";

/** Map from entry path inside the archive to the absolute file it is written to. */
export type EntryTargets = ReadonlyMap<string, string>;

function missingEntries(archive: string, missing: readonly string[]): EmbedkitError {
  return new EmbedkitError(
    "CORRUPT_MODEL",
    `${archive} does not contain ${missing.map((entry) => `"${entry}"`).join(", ")}. ` +
      "Expected these entries in the model's archive; the artifact or the catalog entry is wrong. " +
      "Report it, or pull from another source.",
    { details: { archive, missing } },
  );
}

/**
 * Extract `targets` from a zip file (a jar).
 * @throws EmbedkitError CORRUPT_MODEL when an entry is missing or the zip is unreadable.
 */
export async function extractZipEntries(zipPath: string, targets: EntryTargets): Promise<void> {
  const yauzlModule = await loadYauzl();
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzlModule.openPromise(zipPath, { lazyEntries: true, autoClose: false });
  } catch (cause) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${zipPath} is not a readable zip/jar: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  const remaining = new Map(targets);
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on("error", reject);
      zip.on("end", resolve);
      zip.on("entry", (entry: yauzl.Entry) => {
        const target = remaining.get(entry.fileName);
        if (target === undefined) {
          zip.readEntry();
          return;
        }
        remaining.delete(entry.fileName);
        zip
          .openReadStreamPromise(entry)
          .then(async (stream) => {
            await mkdir(dirname(target), { recursive: true });
            await pipeline(stream, createWriteStream(target));
            if (remaining.size === 0) resolve();
            else zip.readEntry();
          })
          .catch(reject);
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  if (remaining.size > 0) throw missingEntries(zipPath, [...remaining.keys()]);
}

/**
 * Extract `targets` from a (gzip'd) tarball such as an npm package (`package/...` entries).
 * Entries are unpacked into a scratch folder next to the first target, then moved.
 * @throws EmbedkitError CORRUPT_MODEL when an entry is missing or the tarball is unreadable.
 */
export async function extractTarEntries(tarPath: string, targets: EntryTargets): Promise<void> {
  const first = targets.values().next().value;
  if (first === undefined) return;
  const tar = await loadTar();
  const scratch = await mkdtemp(join(dirname(first), ".untar-"));
  try {
    const wanted = new Set(targets.keys());
    try {
      await tar.x({
        file: tarPath,
        cwd: scratch,
        // Only regular files we asked for; never links or absolute paths.
        filter: (path, entry) => wanted.has(path) && (!("type" in entry) || entry.type === "File"),
        strict: true,
      });
    } catch (cause) {
      throw new EmbedkitError(
        "CORRUPT_MODEL",
        `${tarPath} is not a readable tarball: ${(cause as Error).message}`,
        { cause },
      );
    }
    const missing: string[] = [];
    for (const [entry, target] of targets) {
      await mkdir(dirname(target), { recursive: true });
      try {
        await rename(join(scratch, entry), target);
      } catch {
        missing.push(entry);
      }
    }
    if (missing.length > 0) throw missingEntries(tarPath, missing);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
