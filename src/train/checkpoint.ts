/**
 * @module train/checkpoint
 * Save and load trained heads as a folder holding `model.json` (versioned
 * description: format, embedding model id and dims, architecture, labels,
 * training settings, tensor table) and `weights-<sha256 prefix>.bin` (every
 * parameter as little-endian float32, back to back). Both files are written
 * to a temporary name and renamed; the weights file is named by its content
 * hash and written first, so `model.json` always points at a complete weights
 * file and a crash mid-save leaves the previous checkpoint intact. Loading
 * checks the format, version, architecture, every tensor's name, shape and
 * offset, the weights' SHA-256 and that every value is finite; anything
 * off is a MALFORMED_FILE error naming the problem.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { EmbedkitError } from "../errors.js";
import { writeFileAtomic } from "../internal/atomic-write.js";
import { readFileText } from "../internal/read-file.js";
import type { EmbeddingSpace } from "./classifier.js";
import { createLayer, type Layer, type LayerConfig } from "./layers.js";

/** Version of the checkpoint layout written by this code. */
export const CHECKPOINT_VERSION = 1;
/** Name of the description file inside a checkpoint folder. */
export const CHECKPOINT_FILE = "model.json";

/** What to save. */
export interface SaveCheckpointOptions {
  /** Kind of head (`"classifier"`, `"adapter"`, `"token-classifier"`…); checked on load. */
  readonly kind: string;
  /** The network. */
  readonly model: Layer;
  /** Embedding space it expects. */
  readonly embedding: EmbeddingSpace;
  /** Output labels, when the head has them. */
  readonly labels?: readonly string[];
  /** Anything JSON-serialisable to keep with it (training settings, history). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** A loaded checkpoint. */
export interface Checkpoint {
  readonly kind: string;
  readonly version: number;
  readonly model: Layer;
  readonly embedding: EmbeddingSpace;
  readonly labels?: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>>;
  /** When it was saved (ISO 8601). */
  readonly createdAt: string;
}

const LayerSchema: z.ZodType<LayerConfig> = z.lazy(() =>
  z.union([
    z.object({
      type: z.literal("linear"),
      inputs: z.number().int().positive(),
      outputs: z.number().int().positive(),
    }),
    z.object({ type: z.literal("relu") }),
    z.object({ type: z.literal("gelu") }),
    z.object({ type: z.literal("dropout"), rate: z.number().min(0).lt(1) }),
    z.object({ type: z.literal("sequential"), layers: z.array(LayerSchema) }),
    z.object({
      type: z.literal("embedding-bag"),
      buckets: z.number().int().positive(),
      outputs: z.number().int().positive(),
      slots: z.number().int().positive(),
    }),
    z.object({
      type: z.literal("column-sum"),
      widths: z.array(z.number().int().positive()),
      layers: z.array(LayerSchema),
    }),
  ]),
) as z.ZodType<LayerConfig>;

const CheckpointSchema = z.object({
  format: z.literal("embedkit-head"),
  version: z.number().int(),
  kind: z.string().min(1),
  createdAt: z.string(),
  embedding: z.object({ modelId: z.string().min(1), dims: z.number().int().positive() }),
  labels: z.array(z.string()).optional(),
  architecture: LayerSchema,
  weights: z.object({
    file: z.string().regex(/^weights-[0-9a-f]{16}\.bin$/),
    byteLength: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    tensors: z.array(
      z.object({
        name: z.string(),
        shape: z.array(z.number().int().nonnegative()),
        offset: z.number().int().nonnegative(),
      }),
    ),
  }),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Save a head into folder `dir` (created if missing; an earlier checkpoint there is replaced).
 *
 * @throws EmbedkitError INVALID_OPTION when the folder cannot be written.
 * @example
 * ```ts
 * await saveCheckpoint("clf/", { kind: "classifier", model, embedding, labels: classes });
 * ```
 */
export async function saveCheckpoint(dir: string, options: SaveCheckpointOptions): Promise<void> {
  const parameters = options.model.parameters();
  const byteLength = parameters.reduce((sum, parameter) => sum + parameter.value.length * 4, 0);
  const bytes = Buffer.alloc(byteLength);
  const tensors: { name: string; shape: number[]; offset: number }[] = [];
  let offset = 0;
  for (const parameter of parameters) {
    tensors.push({ name: parameter.name, shape: [...parameter.shape], offset });
    for (let i = 0; i < parameter.value.length; i++)
      bytes.writeFloatLE(parameter.value[i] as number, offset + i * 4);
    offset += parameter.value.length * 4;
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const file = `weights-${sha256.slice(0, 16)}.bin`;
  const description = {
    format: "embedkit-head",
    version: CHECKPOINT_VERSION,
    kind: options.kind,
    createdAt: new Date().toISOString(),
    embedding: { modelId: options.embedding.modelId, dims: options.embedding.dims },
    ...(options.labels === undefined ? {} : { labels: [...options.labels] }),
    architecture: options.model.config,
    weights: { file, byteLength, sha256, tensors },
    metadata: options.metadata ?? {},
  };
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Cannot create the folder ${dir}: ${(error as Error).message}.`,
      {
        cause: error,
      },
    );
  }
  await writeFileAtomic(join(dir, file), bytes);
  await writeFileAtomic(join(dir, CHECKPOINT_FILE), `${JSON.stringify(description, null, 2)}\n`);
  // Weights of earlier saves are no longer referenced.
  for (const entry of await readdir(dir)) {
    if (/^weights-[0-9a-f]{16}\.bin$/.test(entry) && entry !== file)
      await rm(join(dir, entry), { force: true });
  }
}

function malformed(path: string, problem: string, cause?: unknown): EmbedkitError {
  return new EmbedkitError(
    "MALFORMED_FILE",
    `${path} is not a usable embedkit checkpoint: ${problem}. Re-save it, or point at the folder written by "embedkit train".`,
    cause === undefined ? { details: { path } } : { cause, details: { path } },
  );
}

/**
 * Load a head saved by {@link saveCheckpoint}.
 *
 * @param options.kind expected kind; another kind is refused.
 * @throws EmbedkitError FILE_NOT_FOUND when `dir` has no model.json;
 *   MALFORMED_FILE for a corrupt or incompatible checkpoint (bad JSON, newer
 *   version, wrong kind, missing or altered weights, non-finite values).
 */
export async function loadCheckpoint(
  dir: string,
  options: { readonly kind?: string } = {},
): Promise<Checkpoint> {
  const path = join(dir, CHECKPOINT_FILE);
  const text = await readFileText(path, {
    what: "checkpoint description",
    hint: `No checkpoint at ${dir}: pass the folder given to --out when training.`,
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw malformed(path, `invalid JSON (${(error as Error).message})`, error);
  }
  const parsed = CheckpointSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw malformed(path, `field ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
  }
  const description = parsed.data;
  if (description.version > CHECKPOINT_VERSION) {
    throw malformed(
      path,
      `version ${description.version} is newer than this embedkit reads (${CHECKPOINT_VERSION}); upgrade embedkit`,
    );
  }
  if (options.kind !== undefined && description.kind !== options.kind) {
    throw malformed(path, `it holds a ${description.kind}, expected a ${options.kind}`);
  }
  let model: Layer;
  try {
    model = createLayer(description.architecture);
  } catch (error) {
    throw malformed(path, `its architecture cannot be built (${(error as Error).message})`, error);
  }
  const weightsPath = join(dir, description.weights.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(weightsPath);
  } catch (error) {
    throw malformed(path, `its weights file ${description.weights.file} is missing`, error);
  }
  if (bytes.length !== description.weights.byteLength) {
    throw malformed(
      path,
      `${description.weights.file} has ${bytes.length} bytes, expected ${description.weights.byteLength} (truncated or replaced)`,
    );
  }
  if (createHash("sha256").update(bytes).digest("hex") !== description.weights.sha256) {
    throw malformed(
      path,
      `${description.weights.file} does not match its recorded SHA-256 (the file was altered or damaged)`,
    );
  }
  const parameters = model.parameters();
  if (parameters.length !== description.weights.tensors.length) {
    throw malformed(
      path,
      `the architecture has ${parameters.length} tensors but the weights table lists ${description.weights.tensors.length}`,
    );
  }
  parameters.forEach((parameter, index) => {
    const entry = description.weights.tensors[index] as { name: string; shape: number[]; offset: number };
    if (entry.name !== parameter.name || entry.shape.join("x") !== parameter.shape.join("x")) {
      throw malformed(
        path,
        `tensor ${index} is ${entry.name} [${entry.shape.join(", ")}], expected ${parameter.name} [${parameter.shape.join(", ")}]`,
      );
    }
    if (entry.offset + parameter.value.length * 4 > bytes.length) {
      throw malformed(path, `tensor ${entry.name} runs past the end of the weights file`);
    }
    for (let i = 0; i < parameter.value.length; i++) {
      const value = bytes.readFloatLE(entry.offset + i * 4);
      if (!Number.isFinite(value))
        throw malformed(path, `tensor ${entry.name} holds a non-finite value at ${i}`);
      parameter.value[i] = value;
    }
  });
  return {
    kind: description.kind,
    version: description.version,
    model,
    embedding: description.embedding,
    ...(description.labels === undefined ? {} : { labels: description.labels }),
    metadata: description.metadata ?? {},
    createdAt: description.createdAt,
  };
}
