/**
 * @module models/finetuned-folder
 * The manifest of a fine-tuned encoder folder (`embedkit-finetune.json`,
 * written by `train/finetune/export`) and what the model store reads from it
 * when such a folder is opened as `dir:<folder>`: the sha256 and size of
 * `model.onnx` and `tokenizer.json` (so the files are pinned, not trusted on
 * first use, and `embedkit models verify` checks them), the base model's
 * settings (pooling, normalization, prefixes, token limit, languages), and a
 * content-based model id (`ft--<name>--<8 hex of the ONNX sha256>`) that stays
 * the same wherever the folder is moved, so heads trained on it keep matching.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { EmbedkitError } from "../errors.js";

/** File name of the manifest inside a fine-tuned encoder folder. */
export const FINETUNE_MANIFEST_FILE = "embedkit-finetune.json";
/** Value of the manifest's `format` field. */
export const FINETUNE_MANIFEST_FORMAT = "embedkit-finetune";
/**
 * Sub-folder of a head folder (classifier, NER tagger) that holds the fine-tuned
 * encoder the head was trained with, so the pair moves and ships as one folder.
 */
export const HEAD_ENCODER_FOLDER = "encoder";
/** Version of the manifest layout written by this code. */
export const FINETUNE_MANIFEST_VERSION = 1;

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lower-case hexadecimal digits");
const FileRecord = z.object({
  name: z.enum(["model.onnx", "tokenizer.json"]),
  role: z.enum(["onnx", "tokenizer"]),
  sha256: SHA256,
  bytes: z.number().int().nonnegative(),
});

const ManifestSchema = z.object({
  format: z.literal(FINETUNE_MANIFEST_FORMAT),
  version: z.number().int().positive(),
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "expected a lower-case name of letters, digits, . _ -"),
  task: z.enum(["embeddings", "classifier", "ner"]),
  base: z.object({ id: z.string().min(1), upstream: z.string(), onnxSha256: SHA256 }),
  dataSha256: SHA256,
  metrics: z.record(z.string(), z.number()),
  created: z.string().min(1),
  embedkitVersion: z.string().min(1),
  replacedInitializers: z.number().int().nonnegative(),
  model: z.object({
    dims: z.number().int().positive(),
    maxTokens: z.number().int().positive(),
    pooling: z.enum(["mean", "cls"]),
    normalize: z.boolean(),
    prefixes: z.object({ query: z.string().optional(), passage: z.string().optional() }),
    languages: z.array(z.string()),
  }),
  files: z.array(FileRecord).length(2),
});

/** Contents of `embedkit-finetune.json`. */
export type FinetuneManifest = z.infer<typeof ManifestSchema>;

/** Task a fine-tuned encoder was trained for. */
export type FinetuneTask = FinetuneManifest["task"];

/**
 * Parse and check a manifest's text.
 * @throws EmbedkitError MALFORMED_FILE naming `path` and the first bad field
 */
export function parseFinetuneManifest(text: string, path: string): FinetuneManifest {
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (cause) {
    throw new EmbedkitError("MALFORMED_FILE", `${path} is not valid JSON: ${(cause as Error).message}.`, {
      cause,
      details: { path },
    });
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "(root)";
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${path} is not an embedkit fine-tuned model manifest: field "${field}" ${issue?.message ?? "is invalid"}. ` +
        "Re-export the model with exportFinetunedEncoder / embedkit finetune.",
      { details: { path, field } },
    );
  }
  if (parsed.data.version > FINETUNE_MANIFEST_VERSION) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${path} has manifest version ${parsed.data.version}, newer than this embedkit reads (${FINETUNE_MANIFEST_VERSION}); upgrade embedkit.`,
      { details: { path } },
    );
  }
  const names = new Set(parsed.data.files.map((file) => file.name));
  if (names.size !== 2) {
    throw new EmbedkitError("MALFORMED_FILE", `${path} must list model.onnx and tokenizer.json once each.`, {
      details: { path },
    });
  }
  return parsed.data;
}

/** Content-based model id of a fine-tuned folder: `ft--<name>--<8 hex of the ONNX sha256>`. */
export function finetunedModelId(manifest: FinetuneManifest): string {
  const onnx = manifest.files.find((file) => file.role === "onnx");
  return `ft--${manifest.name}--${(onnx?.sha256 ?? "").slice(0, 8)}`;
}

/**
 * The model reference a head folder's encoder opens with: `dir:<headDir>/encoder` when that
 * sub-folder is a fine-tuned encoder whose id is the head's `modelId`, else `modelId` itself
 * (a catalog model or any other reference the head recorded).
 * @throws EmbedkitError MALFORMED_FILE when the sub-folder's manifest is damaged
 */
export async function headEncoderReference(headDir: string, modelId: string): Promise<string> {
  const folder = resolve(headDir, HEAD_ENCODER_FOLDER);
  const path = join(folder, FINETUNE_MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return modelId;
  }
  const manifest = parseFinetuneManifest(text, path);
  return finetunedModelId(manifest) === modelId ? `dir:${folder}` : modelId;
}
