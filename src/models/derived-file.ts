/**
 * @module models/derived-file
 * A file computed once from a model's pinned files (e.g. the ONNX graph
 * converted from a TF.js model) and cached in the model's own folder, next to
 * its sources, with a record of what it was made from:
 *
 * ```
 * models/<id>/<name>            the derived bytes
 * models/<id>/<name>.json       { converter, inputs: {file: sha256}, sha256, bytes, createdAt }
 * ```
 *
 * On every load the record is checked against the converter version and the
 * sources' sha256, and the file against the recorded sha256 (one streamed hash,
 * ~30 ms for 9 MB). Anything off — missing, truncated, edited, a record that
 * does not parse, another converter version — rebuilds the file. Both are
 * written via a temporary file and a rename, the file before its record, so a
 * crash leaves either the old pair or a file without a matching record (which
 * the next load rebuilds). Two processes converting at once write identical
 * bytes. Re-pulling or removing the model removes the derived file with the
 * folder. When the folder cannot be written (a read-only shared cache) the
 * bytes are returned in memory instead.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { EmbedkitError } from "../errors.js";
import { writeFileAtomic } from "../internal/atomic-write.js";
import { createSha256, hashFile } from "./hash.js";

/** Options of {@link ensureDerivedFile}. */
export interface DerivedFileOptions {
  /** The model's folder (where its pinned files are). */
  readonly dir: string;
  /** File name of the derived file inside `dir`, e.g. `features.onnx`. */
  readonly name: string;
  /** Converter name and version; a change rebuilds the file. */
  readonly converter: string;
  /** The sources' sha256 by file name (from the model spec); a change rebuilds the file. */
  readonly inputs: Readonly<Record<string, string>>;
  /**
   * The sha256 the built bytes must have (a deterministic conversion pinned in the catalog):
   * a cached file recorded with another sha256 is rebuilt, and a build that produces other
   * bytes fails with CORRUPT_MODEL instead of being cached.
   */
  readonly expectedSha256?: string;
  /** Compute the bytes (only called when the cached file is missing or does not check out). */
  build(): Promise<Uint8Array>;
}

/** What {@link ensureDerivedFile} found or made. */
export interface DerivedFile {
  /** Absolute path of the file; undefined when it could not be written (use `bytes`). */
  readonly path: string | undefined;
  /** The bytes, when they were built in this call (undefined for a cache hit: read `path`). */
  readonly bytes: Uint8Array | undefined;
  /** sha256 of the bytes, as recorded. */
  readonly sha256: string;
  /** Why the file was (re)built; undefined for a cache hit. */
  readonly rebuilt: string | undefined;
}

/** The record stored next to a derived file. */
export interface DerivedFileRecord {
  readonly formatVersion: 1;
  readonly converter: string;
  readonly inputs: Readonly<Record<string, string>>;
  readonly sha256: string;
  readonly bytes: number;
  readonly createdAt: string;
}

/** Path of the record of derived file `name` in `dir`. */
export function derivedRecordPath(dir: string, name: string): string {
  return join(dir, `${name}.json`);
}

function sameInputs(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a).sort();
  return keys.join("\n") === Object.keys(b).sort().join("\n") && keys.every((key) => a[key] === b[key]);
}

/** Why the cached file cannot be used, or undefined when it checks out. */
async function staleReason(options: DerivedFileOptions, path: string): Promise<string | undefined> {
  let record: Partial<DerivedFileRecord>;
  try {
    record = JSON.parse(
      await readFile(derivedRecordPath(options.dir, options.name), "utf8"),
    ) as Partial<DerivedFileRecord>;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT"
      ? "not converted yet"
      : "its record does not parse";
  }
  if (options.expectedSha256 !== undefined && record.sha256 !== options.expectedSha256) {
    return `its record says sha256 ${String(record.sha256).slice(0, 12)}…, not the pinned ${options.expectedSha256.slice(0, 12)}…`;
  }
  if (record.converter !== options.converter)
    return `made by ${String(record.converter)}, not ${options.converter}`;
  if (
    typeof record.inputs !== "object" ||
    record.inputs === null ||
    !sameInputs(record.inputs, options.inputs)
  ) {
    return "made from other source files";
  }
  let digest: { sha256: string; bytes: number };
  try {
    digest = await hashFile(path);
  } catch {
    return "the file is missing";
  }
  if (digest.bytes !== record.bytes || digest.sha256 !== record.sha256) {
    return `its sha256 ${digest.sha256.slice(0, 12)}… (${digest.bytes} bytes) does not match the recorded ${String(record.sha256).slice(0, 12)}… (${String(record.bytes)} bytes): corrupted`;
  }
  return undefined;
}

/**
 * Return the cached derived file if its record and sha256 check out; otherwise
 * build it, write it and its record atomically, and return the new bytes.
 *
 * @throws EmbedkitError CORRUPT_MODEL when `build` fails with something other than an EmbedkitError
 *   (an EmbedkitError from `build` is passed through unchanged), or builds bytes other than `expectedSha256`
 * @example
 * ```ts
 * const derived = await ensureDerivedFile({
 *   dir, name: "features.onnx", converter: "keras-onnx/1",
 *   inputs: { "model.json": sha }, build: async () => encodeOnnxModel(graph),
 * });
 * const session = await ort.InferenceSession.create(derived.bytes ?? derived.path!);
 * ```
 */
export async function ensureDerivedFile(options: DerivedFileOptions): Promise<DerivedFile> {
  const path = join(options.dir, options.name);
  const reason = await staleReason(options, path);
  if (reason === undefined) {
    const record = JSON.parse(
      await readFile(derivedRecordPath(options.dir, options.name), "utf8"),
    ) as DerivedFileRecord;
    return { path, bytes: undefined, sha256: record.sha256, rebuilt: undefined };
  }
  let bytes: Uint8Array;
  try {
    bytes = await options.build();
  } catch (cause) {
    if (cause instanceof EmbedkitError) throw cause;
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `Cannot build ${options.name} in ${options.dir} (${options.converter}): ${(cause as Error).message}. ` +
        "Re-pull the model (`embedkit models rm` then `pull`).",
      { cause, details: { dir: options.dir, file: options.name } },
    );
  }
  const sha256 = createSha256().update(bytes).digest("hex");
  if (options.expectedSha256 !== undefined && sha256 !== options.expectedSha256) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `Converting ${options.name} in ${options.dir} (${options.converter}) gave sha256 ${sha256} (${bytes.length} bytes), ` +
        `but the catalog pins ${options.expectedSha256}: the source files or the converter differ from the ones the pin was made with. ` +
        "Re-pull the model (`embedkit models rm` then `pull`); if it persists, report it.",
      { details: { dir: options.dir, file: options.name, expected: options.expectedSha256, actual: sha256 } },
    );
  }
  const record: DerivedFileRecord = {
    formatVersion: 1,
    converter: options.converter,
    inputs: { ...options.inputs },
    sha256,
    bytes: bytes.length,
    createdAt: new Date().toISOString(),
  };
  try {
    await writeFileAtomic(path, bytes);
    await writeFileAtomic(
      derivedRecordPath(options.dir, options.name),
      `${JSON.stringify(record, null, 2)}\n`,
    );
  } catch {
    // A read-only cache: run from memory this time; the next load tries again.
    return { path: undefined, bytes, sha256, rebuilt: reason };
  }
  return { path, bytes, sha256, rebuilt: reason };
}
