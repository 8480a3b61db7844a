/**
 * @module models/manifest
 * The `manifest.json` written last into every installed model folder: where
 * the model came from, when, and the sha256 + size of each file as installed.
 * For catalog models the catalog pins stay the truth and the manifest only
 * records; for ad-hoc models (no pin) the manifest *is* the pin, recorded on
 * first use, and it also keeps their spec so they open offline. Validated with
 * zod on read: a manifest that does not parse makes the model "not installed".
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../internal/atomic-write.js";
import { MODEL_FILE_ROLES, type ModelSpec } from "./model-spec.js";

/** File name of the manifest inside a model folder. */
export const MANIFEST_NAME = "manifest.json";

const ManifestFileSchema = z.object({
  name: z.string().min(1),
  role: z.enum(MODEL_FILE_ROLES),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  /** Path relative to the model's location (its cache folder, or the user's folder for `dir:`). */
  path: z.string().min(1),
});

const ManifestSchema = z.object({
  formatVersion: z.literal(1),
  id: z.string().min(1),
  /** One-line source description, e.g. `maven:dev.langchain4j:...:1.20.0-beta30`. */
  source: z.string(),
  /** The full {@link ModelSource} the files came from. */
  origin: z.looseObject({ type: z.enum(["maven", "npm", "pypi", "hf", "dir"]) }),
  /** Absolute folder holding the files when they live outside the cache (`dir:` models). */
  location: z.string().optional(),
  /** Whether every file was checked against a pin at pull time (false: trusted on first use). */
  pinned: z.boolean(),
  pulledAt: z.string(),
  files: z.array(ManifestFileSchema),
  /** The spec of a model that is not in the catalog. */
  spec: z.looseObject({ id: z.string(), files: z.array(z.unknown()), dims: z.number() }).optional(),
});

/** One file as recorded at install time. */
export type ManifestFile = z.infer<typeof ManifestFileSchema>;

/** The parsed `manifest.json` of an installed model. */
export interface Manifest extends Omit<z.infer<typeof ManifestSchema>, "spec"> {
  readonly spec?: ModelSpec | undefined;
}

/**
 * Read and validate `<folder>/manifest.json`; `undefined` when missing or invalid
 * (an invalid manifest means an install that must not be trusted).
 */
export async function readManifest(folder: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(folder, MANIFEST_NAME), "utf8");
  } catch {
    return undefined;
  }
  try {
    const parsed = ManifestSchema.safeParse(JSON.parse(text));
    return parsed.success ? (parsed.data as Manifest) : undefined;
  } catch {
    return undefined;
  }
}

/** Write `<folder>/manifest.json` atomically ({@link writeFileAtomic}), so readers never see half a manifest. */
export async function writeManifest(folder: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(join(folder, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`);
}
