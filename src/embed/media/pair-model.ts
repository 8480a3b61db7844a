/**
 * @module embed/media/pair-model
 * What the two-tower models in the Transformers.js layout share — CLIP
 * (image ↔ text, `image/clip-embedder.ts`) and CLAP (audio ↔ text,
 * `audio/clap-embedder.ts`): the `dir:/path` / `hf:owner/name[@revision]`
 * reference with `#tower=path` settings, reading the small JSON configs before
 * the pull (from the folder, or from `HF_ENDPOINT` with `HF_TOKEN`), the store
 * spec's id and source (files trusted on first use, then pinned in the
 * manifest), opening a tower's ONNX session and checking its input/output
 * names, and the text tower as an {@link Embedder} (tokenize, pad, attention
 * mask, batches, L2).
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { basename, isAbsolute, join, resolve } from "node:path";
import type * as ort from "onnxruntime-node";

type OrtTensor = ort.Tensor;

import { EmbedkitError } from "../../errors.js";
import { loadOnnxRuntime } from "../../internal/load-dependency.js";
import { UNPINNED } from "../../models/adhoc.js";
import { fetchJson } from "../../models/download.js";
import type {
  ImagePreprocessSpec,
  Modality,
  ModelFormat,
  ModelSource,
  ModelSpec,
} from "../../models/model-spec.js";
import { hfFileUrl } from "../../models/sources.js";
import type { Embedder, ModelInfo } from "../embedder.js";
import { assertOpen, validateTexts } from "../inputs.js";
import type { TextTokenizer } from "../onnx/text-tokenizer.js";
import { embedTexts, type TextProvider } from "../pipeline.js";

/** File names of a two-tower folder in the Transformers.js layout. */
export interface PairFileNames {
  /** The non-text tower's graph name under `onnx/`, e.g. `vision_model.onnx`. */
  readonly tower: string;
  readonly text: string;
  readonly tokenizer: string;
  readonly preprocessor: string;
  readonly config: string;
}

/** A two-tower family: its name, tower graphs and file names. */
export interface PairFamily {
  /** Name in messages, e.g. `CLIP`. */
  readonly name: string;
  /** Setting key → default graph path, the non-text tower first, then `text`. */
  readonly towers: Readonly<Record<string, string>>;
  /** Every file the folder must hold, for messages and the missing-file check. */
  readonly files: readonly string[];
  readonly names: PairFileNames;
}

/**
 * A family in the Transformers.js layout: `onnx/<towerFile>` (setting key `towerKey`),
 * `onnx/text_model.onnx`, `tokenizer.json`, `preprocessor_config.json`, `config.json`.
 */
export function transformersJsFamily(name: string, towerKey: string, towerFile: string): PairFamily {
  const names: PairFileNames = Object.freeze({
    tower: towerFile,
    text: "text_model.onnx",
    tokenizer: "tokenizer.json",
    preprocessor: "preprocessor_config.json",
    config: "config.json",
  });
  return Object.freeze({
    name,
    towers: Object.freeze({ [towerKey]: `onnx/${names.tower}`, text: `onnx/${names.text}` }),
    files: Object.freeze([
      `onnx/${names.tower}`,
      `onnx/${names.text}`,
      names.tokenizer,
      names.preprocessor,
      names.config,
    ]),
    names,
  });
}

/** A parsed `dir:` / `hf:` reference of a two-tower model. */
export interface PairReference {
  readonly kind: "dir" | "hf";
  /** Absolute folder (dir) or `owner/name` (hf). */
  readonly location: string;
  /** Revision (hf), empty for dir. */
  readonly revision: string;
  /** Setting key → graph path inside the folder or repository. */
  readonly towers: Readonly<Record<string, string>>;
}

function badReference(name: string, family: PairFamily): EmbedkitError {
  return new EmbedkitError(
    "UNKNOWN_MODEL",
    `"${name}" is not a ${family.name} model reference. Expected "dir:/path/to/folder" or "hf:owner/name[@revision]" ` +
      `naming a folder with ${family.files.join(", ")} (the Transformers.js layout).`,
    { details: { reference: name } },
  );
}

/**
 * Parse `dir:/path` or `hf:owner/name[@revision]`, optionally followed by
 * `#<tower>=<graph path>&…` with the family's tower keys.
 * @throws EmbedkitError UNKNOWN_MODEL (neither form), INVALID_INPUT (unknown setting)
 */
export function parsePairReference(name: string, family: PairFamily): PairReference {
  const trimmed = name.trim();
  const hash = trimmed.indexOf("#");
  const body = hash < 0 ? trimmed : trimmed.slice(0, hash);
  const settings = new URLSearchParams(hash < 0 ? "" : trimmed.slice(hash + 1));
  const keys = Object.keys(family.towers);
  for (const key of settings.keys()) {
    if (!keys.includes(key)) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Unknown setting "${key}" in ${family.name} model reference "${name}". Expected ${keys
          .map((k) => `${k}=<path>`)
          .join(" and/or ")}.`,
        { details: { reference: name } },
      );
    }
  }
  const towers: Record<string, string> = Object.fromEntries(
    keys.map((key) => [key, settings.get(key) ?? (family.towers[key] as string)]),
  );
  if (/^dir:/i.test(body)) {
    const path = body.slice(4);
    if (path === "") throw badReference(name, family);
    return { kind: "dir", location: isAbsolute(path) ? path : resolve(path), revision: "", towers };
  }
  if (/^hf:/i.test(body)) {
    const [repo = "", revision = "main"] = body.slice(3).split("@");
    if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw badReference(name, family);
    return { kind: "hf", location: repo, revision, towers };
  }
  throw badReference(name, family);
}

/** The canonical text of a reference (absolute folder, explicit revision), e.g. for model ids. */
export function formatPairReference(reference: PairReference, family: PairFamily): string {
  const body =
    reference.kind === "dir" ? `dir:${reference.location}` : `hf:${reference.location}@${reference.revision}`;
  const custom = Object.entries(reference.towers).filter(([key, path]) => family.towers[key] !== path);
  return custom.length === 0 ? body : `${body}#${new URLSearchParams(custom).toString()}`;
}

/**
 * For a `dir:` reference: refuse a missing folder or missing files at once, naming
 * every missing file. (An `hf:` reference is checked by the pull.)
 * @throws EmbedkitError FILE_NOT_FOUND
 */
export async function checkPairFolder(reference: PairReference, family: PairFamily): Promise<void> {
  if (reference.kind !== "dir") return;
  const folder = await stat(reference.location).catch(() => undefined);
  const layout = `the Transformers.js layout: ${family.files.join(", ")}`;
  if (!folder?.isDirectory()) {
    throw new EmbedkitError(
      "FILE_NOT_FOUND",
      `${family.name} model folder ${reference.location} does not exist. Expected a folder in ${layout}.`,
      { details: { folder: reference.location } },
    );
  }
  const wanted = [
    ...Object.values(reference.towers),
    ...family.files.filter((file) => !file.endsWith(".onnx")),
  ];
  const missing: string[] = [];
  for (const file of wanted) {
    if (!(await stat(join(reference.location, file)).catch(() => undefined))?.isFile()) missing.push(file);
  }
  if (missing.length > 0) {
    throw new EmbedkitError(
      "FILE_NOT_FOUND",
      `${family.name} model folder ${reference.location} lacks ${missing.join(", ")}. Expected ${layout} ` +
        "(download every file of the repository, not only the graphs).",
      { details: { folder: reference.location, missing } },
    );
  }
}

/**
 * Read small JSON files of the model before the pull (they decide the spec): from
 * the folder, or from `HF_ENDPOINT` (default huggingface.co) with `HF_TOKEN`.
 * @throws EmbedkitError CORRUPT_MODEL (unreadable or not JSON), DOWNLOAD_FAILED
 */
export async function readPairJson(
  reference: PairReference,
  family: PairFamily,
  name: string,
  home: string,
): Promise<Record<string, unknown>> {
  try {
    if (reference.kind === "dir") {
      return JSON.parse(await readFile(resolve(reference.location, name), "utf8")) as Record<string, unknown>;
    }
    const endpoint = process.env.HF_ENDPOINT ?? "https://huggingface.co";
    const token = process.env.HF_TOKEN;
    return (await fetchJson(hfFileUrl(endpoint, reference.location, reference.revision, name), {
      retries: 2,
      retryDelayMs: 500,
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    })) as Record<string, unknown>;
  } catch (cause) {
    if (EmbedkitError.isInstance(cause)) throw cause;
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `Cannot read ${name} of ${family.name} model ${reference.location}: ${(cause as Error).message}. ` +
        `Expected the Transformers.js layout (${family.files.join(", ")}).`,
      { cause, details: { model: reference.location, file: name, home } },
    );
  }
}

/** `projection_dim` of a two-tower config.json. @throws EmbedkitError CORRUPT_MODEL */
export function projectionDims(config: Record<string, unknown>, model: string): number {
  const dims = config.projection_dim;
  if (typeof dims !== "number" || !Number.isInteger(dims) || dims <= 0) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `config.json of ${model} has no positive integer projection_dim (received ${JSON.stringify(dims)}).`,
      { details: { model } },
    );
  }
  return dims;
}

/** Options of {@link pairSpec}. */
export interface PairSpecOptions {
  /** Store id prefix, e.g. `clip`. */
  readonly prefix: string;
  readonly alias: string;
  readonly description: string;
  readonly modality: Modality;
  readonly format: ModelFormat;
  readonly dims: number;
  readonly maxTokens: number;
  /** Image preprocessing (image-text pairs). */
  readonly image?: ImagePreprocessSpec;
}

/**
 * The store spec of a two-tower model: id `<prefix>--<folder name>--<8 hex>`, files
 * trusted on first use (roles `onnx` = the non-text tower, `text-onnx`, `tokenizer`,
 * `config` = the preprocessor), source = the folder or the Hub repository.
 */
export function pairSpec(reference: PairReference, family: PairFamily, options: PairSpecOptions): ModelSpec {
  const [towerPath = "", textPath = ""] = Object.values(reference.towers);
  const files = family.names;
  const entries = {
    [files.tower]: towerPath,
    [files.text]: textPath,
    [files.tokenizer]: files.tokenizer,
    [files.preprocessor]: files.preprocessor,
    [files.config]: files.config,
  };
  const digest = createHash("sha256")
    .update(
      `${reference.kind}:${reference.location}@${reference.revision}#${Object.values(reference.towers).join("&")}`,
    )
    .digest("hex")
    .slice(0, 8);
  const label =
    basename(reference.location)
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-") || "model";
  const source: ModelSource =
    reference.kind === "dir"
      ? { type: "dir", path: reference.location, entries }
      : { type: "hf", repo: reference.location, revision: reference.revision, entries };
  return {
    id: `${options.prefix}--${label}--${digest}`,
    aliases: [options.alias],
    description: options.description,
    modality: options.modality,
    format: options.format,
    dims: options.dims,
    maxTokens: options.maxTokens,
    pooling: "mean",
    normalize: true,
    prefixes: {},
    languages: [],
    quantized: false,
    license: "see the model's own license",
    upstream: `${reference.kind}:${reference.location}`,
    files: [
      { role: "onnx", name: files.tower, sha256: UNPINNED },
      { role: "text-onnx", name: files.text, sha256: UNPINNED },
      { role: "tokenizer", name: files.tokenizer, sha256: UNPINNED },
      { role: "config", name: files.preprocessor, sha256: UNPINNED },
    ],
    sources: [source],
    references: [],
    ...(options.image === undefined ? {} : { image: options.image }),
  };
}

/** Open one tower's graph. @throws EmbedkitError CORRUPT_MODEL when onnxruntime refuses it */
export async function openTowerSession(
  path: string,
  threads: number,
  id: string,
): Promise<ort.InferenceSession> {
  const ort = await loadOnnxRuntime();
  try {
    return await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  } catch (cause) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${id}: onnxruntime cannot load ${path}: ${(cause as Error).message}`,
      {
        cause,
        details: { model: id, path },
      },
    );
  }
}

/**
 * Refuse a tower graph without the named inputs and output, listing what it has.
 * @throws EmbedkitError CORRUPT_MODEL
 */
export function requireTowerNames(
  session: ort.InferenceSession,
  inputs: readonly string[],
  output: string,
  where: { readonly id: string; readonly path: string; readonly expected: string },
): void {
  const missing = [...inputs.filter((name) => !session.inputNames.includes(name))];
  if (!session.outputNames.includes(output)) missing.push(output);
  if (missing.length > 0) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${where.id}: ${where.path} lacks ${missing.join(", ")}. It has inputs ${session.inputNames.join(", ")} and outputs ` +
        `${session.outputNames.join(", ")}; expected ${where.expected}.`,
      { details: { model: where.id, path: where.path, missing } },
    );
  }
}

/** Split a `[count, dims]` output into one copy per row. */
export function tensorRows(data: Float32Array, count: number, dims: number): Float32Array[] {
  return Array.from({ length: count }, (_, index) => data.slice(index * dims, (index + 1) * dims));
}

/** Options of {@link createTextTowerEmbedder}. */
export interface TextTowerOptions {
  readonly id: string;
  readonly dims: number;
  readonly maxTokens: number;
  readonly maxBatchSize: number;
  readonly tokenizer: TextTokenizer;
  /** The text tower (`input_ids`, optional `attention_mask` → `output`). Released by close(). */
  readonly session: ort.InferenceSession;
  /** Output holding `[batch, dims]` projected embeddings, e.g. `text_embeds`. */
  readonly output: string;
  /** Token id written in padded positions (masked out). @default 0 */
  readonly padId?: number;
}

/**
 * The text tower of a two-tower model as an {@link Embedder}: texts are
 * tokenized, padded to the longest in each batch with an attention mask, run,
 * and L2-normalised.
 */
export function createTextTowerEmbedder(options: TextTowerOptions): Embedder {
  const { id, dims, maxTokens, maxBatchSize, tokenizer, session, output } = options;
  const padId = BigInt(options.padId ?? 0);
  const model: ModelInfo = Object.freeze({
    id,
    dims,
    modality: "text",
    maxTokens,
    pooling: "mean",
    normalize: true,
    prefixes: {},
    maxBatchSize,
  });
  let closed = false;
  const provider: TextProvider<readonly number[]> = {
    model,
    limits: { maxBatchSize },
    assertOpen: () => assertOpen(closed, id),
    prepare(texts, resolved) {
      const encoded = texts.map((input, index) =>
        tokenizer.encode(input, { truncate: resolved.truncate, index }),
      );
      return {
        values: encoded.map((item) => item.ids),
        tokens: encoded.reduce((sum, item) => sum + item.fullLength, 0),
      };
    },
    async doEmbed({ values: batch }) {
      const ort = await loadOnnxRuntime();
      const length = Math.max(...batch.map((item) => item.length));
      const ids = new BigInt64Array(batch.length * length).fill(padId);
      const mask = new BigInt64Array(batch.length * length);
      batch.forEach((item, row) => {
        item.forEach((token, column) => {
          ids[row * length + column] = BigInt(token);
          mask[row * length + column] = 1n;
        });
      });
      const feeds: Record<string, OrtTensor> = {
        input_ids: new ort.Tensor("int64", ids, [batch.length, length]),
      };
      if (session.inputNames.includes("attention_mask")) {
        feeds.attention_mask = new ort.Tensor("int64", mask, [batch.length, length]);
      }
      const result = (await session.run(feeds))[output] as OrtTensor;
      return { vectors: tensorRows(result.data as Float32Array, batch.length, dims) };
    },
  };
  return {
    model,
    embed: (inputs, embedOptions) => embedTexts(provider, inputs, embedOptions),
    async countTokens(inputs) {
      validateTexts(inputs);
      return inputs.map((input) => tokenizer.count(input));
    },
    async close() {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}
