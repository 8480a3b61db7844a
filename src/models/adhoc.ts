/**
 * @module models/adhoc
 * Models that are not in the catalog: `hf:owner/name[@revision]` (a
 * sentence-transformers style repository on the Hugging Face Hub or a mirror)
 * and `dir:/path` (a local folder). Their spec is built from the model's own
 * `config.json` (`hidden_size` → dims, `max_position_embeddings` → maxTokens,
 * capped at 512) and `1_Pooling/config.json` (`pooling_mode_cls_token` → cls,
 * otherwise mean). They have no catalog pin, so their files carry
 * {@link UNPINNED} and the store trusts them on first use: the sha256 seen at
 * pull time goes into the manifest and every later open is checked against it.
 *
 * Optional settings follow a `#` as `key=value` pairs joined by `&`:
 * `sha256=<hex>` pins the ONNX file, `onnx=<path>` picks another graph (e.g.
 * `onnx/model_quantized.onnx`), `dims=<n>` and `pooling=mean|cls` override the
 * config. Example: `hf:Xenova/all-MiniLM-L6-v2@main#onnx=onnx/model_quantized.onnx`.
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { basename, isAbsolute, join, resolve } from "node:path";
import { EmbedkitError } from "../errors.js";
import { fetchJson } from "./download.js";
import {
  FINETUNE_MANIFEST_FILE,
  type FinetuneManifest,
  finetunedModelId,
  parseFinetuneManifest,
} from "./finetuned-folder.js";
import type { ModelFile, ModelSource, ModelSpec, Pooling } from "./model-spec.js";
import { readOnnxHiddenSize } from "./onnx-dims.js";
import { hfFileUrl } from "./sources.js";

/** The `sha256` of a file that has no pin: trusted on first use, then checked against the manifest. */
export const UNPINNED = "";

/** Longest input the ad-hoc BERT-style models are given (their position table is usually 512). */
const MAX_TOKENS_CAP = 512;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const SETTING_KEYS = ["sha256", "onnx", "dims", "pooling"] as const;
type SettingKey = (typeof SETTING_KEYS)[number];

/** Settings after `#` in an ad-hoc model reference. */
export interface AdHocSettings {
  readonly sha256?: string;
  readonly onnx?: string;
  readonly dims?: number;
  readonly pooling?: Pooling;
}

/** A parsed `hf:` reference. */
export interface HfReference {
  readonly kind: "hf";
  readonly repo: string;
  readonly revision: string;
  readonly settings: AdHocSettings;
}

/** A parsed `dir:` reference (absolute path). */
export interface DirReference {
  readonly kind: "dir";
  readonly path: string;
  readonly settings: AdHocSettings;
}

/** Whether `name` names an ad-hoc model (`hf:` or `dir:` prefix). */
export function isAdHocReference(name: string): boolean {
  return /^(hf|dir):/i.test(name.trim());
}

function parseSettings(reference: string, fragment: string | undefined): AdHocSettings {
  if (fragment === undefined || fragment === "") return {};
  const settings: { -readonly [K in keyof AdHocSettings]: AdHocSettings[K] } = {};
  for (const pair of fragment.split("&")) {
    const [rawKey = "", value = ""] = pair.split("=", 2);
    const key = rawKey.trim() as SettingKey;
    if (!SETTING_KEYS.includes(key) || value === "") {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Unknown setting "${pair}" in model reference "${reference}". Expected key=value pairs after "#" ` +
          `with keys ${SETTING_KEYS.join(", ")} (e.g. "#sha256=<64 hex digits>").`,
        { details: { reference, setting: pair } },
      );
    }
    if (key === "sha256") {
      const sha256 = value.toLowerCase();
      if (!SHA256_PATTERN.test(sha256)) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `"sha256=${value}" in "${reference}" is not a sha256: expected 64 hexadecimal digits.`,
          { details: { reference } },
        );
      }
      settings.sha256 = sha256;
    } else if (key === "dims") {
      const dims = Number(value);
      if (!Number.isInteger(dims) || dims <= 0) {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `"dims=${value}" in "${reference}" must be a positive integer (e.g. dims=384).`,
          { details: { reference } },
        );
      }
      settings.dims = dims;
    } else if (key === "pooling") {
      if (value !== "mean" && value !== "cls") {
        throw new EmbedkitError(
          "INVALID_INPUT",
          `"pooling=${value}" in "${reference}" must be "mean" or "cls".`,
          { details: { reference } },
        );
      }
      settings.pooling = value;
    } else {
      settings.onnx = value.replace(/^\/+/, "");
    }
  }
  return settings;
}

function splitFragment(text: string): [string, string | undefined] {
  const index = text.indexOf("#");
  return index < 0 ? [text, undefined] : [text.slice(0, index), text.slice(index + 1)];
}

/**
 * Parse `hf:owner/name[@revision][#settings]`; the revision defaults to `main`.
 * @throws EmbedkitError INVALID_INPUT
 */
export function parseHfReference(reference: string): HfReference {
  const [body, fragment] = splitFragment(reference.trim().replace(/^hf:/i, ""));
  const at = body.indexOf("@");
  const repo = at < 0 ? body : body.slice(0, at);
  const revision = at < 0 ? "main" : body.slice(at + 1);
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo) || revision === "" || /[\s#]/.test(revision)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `"${reference}" is not a Hugging Face model reference. Expected "hf:owner/name" or ` +
        '"hf:owner/name@revision" (e.g. "hf:Xenova/all-MiniLM-L6-v2@main").',
      { details: { reference } },
    );
  }
  return { kind: "hf", repo, revision, settings: parseSettings(reference, fragment) };
}

/**
 * Parse `dir:/path[#settings]`; relative paths resolve against the working directory.
 * @throws EmbedkitError INVALID_INPUT
 */
export function parseDirReference(reference: string): DirReference {
  const [body, fragment] = splitFragment(reference.trim().replace(/^dir:/i, ""));
  if (body === "") {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `"${reference}" names no folder. Expected "dir:/path/to/model" (a folder with model.onnx and tokenizer.json).`,
      { details: { reference } },
    );
  }
  return {
    kind: "dir",
    path: isAbsolute(body) ? body : resolve(body),
    settings: parseSettings(reference, fragment),
  };
}

/** Lower-case, file-system-safe piece of a folder name. */
function safe(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-.]+|-+$/g, "");
}

/** Cache id of a Hub model: `hf--owner--name`, plus `--<revision>` and `--<onnx file>` when not the defaults. */
export function hfModelId(reference: HfReference): string {
  const [owner = "", name = ""] = reference.repo.split("/");
  let id = `hf--${safe(owner)}--${safe(name)}`;
  if (reference.revision !== "main") id += `--${safe(reference.revision)}`;
  if (reference.settings.onnx !== undefined && reference.settings.onnx !== "onnx/model.onnx") {
    id += `--${safe(basename(reference.settings.onnx, ".onnx"))}`;
  }
  return id;
}

/** Cache id of a local folder: `dir--<folder name>--<8 hex of the absolute path>`. */
export function dirModelId(reference: DirReference): string {
  const digest = createHash("sha256").update(reference.path).digest("hex").slice(0, 8);
  return `dir--${safe(basename(reference.path)) || "root"}--${digest}`;
}

/** Cache id of any ad-hoc reference, computed without network or disk access. */
export function adHocModelId(reference: string): string {
  return /^hf:/i.test(reference.trim())
    ? hfModelId(parseHfReference(reference))
    : dirModelId(parseDirReference(reference));
}

/** Read a JSON file, `undefined` when missing. @throws EmbedkitError MALFORMED_FILE */
async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new EmbedkitError("MALFORMED_FILE", `${path} is not valid JSON: ${(cause as Error).message}.`, {
      cause,
      details: { path },
    });
  }
}

function numberField(config: unknown, ...keys: string[]): number | undefined {
  if (typeof config !== "object" || config === null) return undefined;
  for (const key of keys) {
    const value = (config as Record<string, unknown>)[key];
    if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  }
  return undefined;
}

function poolingFrom(poolingConfig: unknown): Pooling {
  const cls =
    typeof poolingConfig === "object" &&
    poolingConfig !== null &&
    (poolingConfig as Record<string, unknown>).pooling_mode_cls_token === true;
  return cls ? "cls" : "mean";
}

interface SpecParts {
  readonly id: string;
  readonly reference: string;
  readonly description: string;
  readonly upstream: string;
  readonly dims: number;
  readonly config: unknown;
  readonly poolingConfig: unknown;
  readonly settings: AdHocSettings;
  readonly onnxPath: string;
  readonly source: ModelSource;
  /** A fine-tuned folder's manifest: pins both files and carries the base model's settings. */
  readonly finetuned?: FinetuneManifest;
}

function buildSpec(parts: SpecParts): ModelSpec {
  if (parts.finetuned !== undefined) return buildFinetunedSpec(parts, parts.finetuned);
  const files: ModelFile[] = [
    { role: "onnx", name: "model.onnx", sha256: parts.settings.sha256 ?? UNPINNED },
    { role: "tokenizer", name: "tokenizer.json", sha256: UNPINNED },
  ];
  const positions = numberField(parts.config, "max_position_embeddings", "n_positions");
  return Object.freeze({
    id: parts.id,
    aliases: Object.freeze([parts.reference]),
    description: parts.description,
    modality: "text",
    format: "onnx-transformer",
    dims: parts.dims,
    maxTokens: Math.min(MAX_TOKENS_CAP, positions ?? MAX_TOKENS_CAP),
    pooling: parts.settings.pooling ?? poolingFrom(parts.poolingConfig),
    // sentence-transformers models almost always end in a Normalize module.
    normalize: true,
    prefixes: Object.freeze({}),
    languages: Object.freeze([]),
    quantized: /quant|int8|q8/i.test(parts.onnxPath),
    license: "unknown (see the model card)",
    upstream: parts.upstream,
    files: Object.freeze(files),
    sources: Object.freeze([parts.source]),
    references: Object.freeze([]),
  } satisfies ModelSpec);
}

/** Spec of a fine-tuned encoder folder: pinned files, the base model's settings, a content-based id. */
function buildFinetunedSpec(parts: SpecParts, manifest: FinetuneManifest): ModelSpec {
  const files: ModelFile[] = manifest.files.map((file) => ({
    role: file.role,
    name: file.name,
    sha256: file.role === "onnx" && parts.settings.sha256 !== undefined ? parts.settings.sha256 : file.sha256,
    bytes: file.bytes,
  }));
  const { model } = manifest;
  return Object.freeze({
    id: finetunedModelId(manifest),
    aliases: Object.freeze([parts.reference]),
    description: `${manifest.base.id} fine-tuned for ${manifest.task} (${manifest.name}, folder ${parts.upstream})`,
    modality: "text",
    format: "onnx-transformer",
    dims: parts.settings.dims ?? model.dims,
    maxTokens: model.maxTokens,
    pooling: parts.settings.pooling ?? model.pooling,
    normalize: model.normalize,
    prefixes: Object.freeze({
      ...(model.prefixes.query === undefined ? {} : { query: model.prefixes.query }),
      ...(model.prefixes.passage === undefined ? {} : { passage: model.prefixes.passage }),
    }),
    languages: Object.freeze([...model.languages]),
    quantized: false,
    license: `as the base model ${manifest.base.id}`,
    upstream: `${manifest.base.upstream} (fine-tuned)`,
    files: Object.freeze(files),
    sources: Object.freeze([parts.source]),
    references: Object.freeze([]),
  } satisfies ModelSpec);
}

/** Options of {@link resolveHfSpec}. */
export interface HfResolveOptions {
  readonly hfEndpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly retries?: number;
  readonly retryDelayMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Build the spec of a Hub model from its `config.json` and optional `1_Pooling/config.json`.
 * @throws EmbedkitError DOWNLOAD_FAILED (e.g. 404 naming the URL), MALFORMED_FILE
 */
export async function resolveHfSpec(reference: HfReference, options: HfResolveOptions): Promise<ModelSpec> {
  const url = (path: string): string =>
    hfFileUrl(options.hfEndpoint, reference.repo, reference.revision, path);
  const fetchOptions = {
    headers: options.headers,
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  const config = await fetchJson(url("config.json"), fetchOptions);
  const poolingConfig =
    reference.settings.pooling === undefined
      ? await fetchJson(url("1_Pooling/config.json"), { ...fetchOptions, optional: true })
      : undefined;
  const dims = reference.settings.dims ?? numberField(config, "hidden_size", "d_model", "dim");
  if (dims === undefined) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${url("config.json")} has no "hidden_size": cannot tell the embedding dimensions. ` +
        `Add "#dims=<n>" to the reference (e.g. "hf:${reference.repo}#dims=384").`,
      { details: { url: url("config.json") } },
    );
  }
  const onnxPath = reference.settings.onnx ?? "onnx/model.onnx";
  const pinned = reference.settings.sha256 !== undefined;
  const name = `${reference.repo}@${reference.revision}`;
  return buildSpec({
    id: hfModelId(reference),
    reference: `hf:${name}`,
    description: `Hugging Face model ${name} (${onnxPath}; ${pinned ? "pinned" : "trusted on first use"})`,
    upstream: name,
    dims,
    config,
    poolingConfig,
    settings: reference.settings,
    onnxPath,
    source: {
      type: "hf",
      repo: reference.repo,
      revision: reference.revision,
      entries: { "model.onnx": onnxPath, "tokenizer.json": "tokenizer.json" },
    },
  });
}

/** A fine-tuned folder's manifest, `undefined` when the folder has none. @throws EmbedkitError MALFORMED_FILE */
async function readFinetuneManifest(path: string): Promise<FinetuneManifest | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  return parseFinetuneManifest(text, path);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Build the spec of a local folder: `model.onnx` (or `onnx/model.onnx`) and `tokenizer.json`,
 * with dims from `config.json`, else from the ONNX graph's output shape.
 * @throws EmbedkitError FILE_NOT_FOUND (missing folder or file), MALFORMED_FILE
 */
export async function resolveDirSpec(reference: DirReference): Promise<ModelSpec> {
  const folder = reference.path;
  const folderStat = await stat(folder).catch(() => undefined);
  if (folderStat === undefined || !folderStat.isDirectory()) {
    throw new EmbedkitError(
      "FILE_NOT_FOUND",
      `Model folder ${folder} ${folderStat === undefined ? "does not exist" : "is not a folder"}. ` +
        'Expected "dir:<folder>" naming a folder with model.onnx (or onnx/model.onnx) and tokenizer.json.',
      { details: { path: folder } },
    );
  }
  let onnxPath = reference.settings.onnx;
  if (onnxPath === undefined) {
    onnxPath = (await isFile(join(folder, "model.onnx"))) ? "model.onnx" : "onnx/model.onnx";
  }
  const missing: string[] = [];
  if (!(await isFile(join(folder, onnxPath)))) missing.push(onnxPath);
  if (!(await isFile(join(folder, "tokenizer.json")))) missing.push("tokenizer.json");
  if (missing.length > 0) {
    throw new EmbedkitError(
      "FILE_NOT_FOUND",
      `Model folder ${folder} lacks ${missing.join(" and ")}. Expected model.onnx (or onnx/model.onnx) and ` +
        "tokenizer.json (the Hugging Face tokenizers format), plus optionally config.json and 1_Pooling/config.json.",
      { details: { path: folder, missing } },
    );
  }
  const config = await readJsonFile(join(folder, "config.json"));
  const poolingConfig = await readJsonFile(join(folder, "1_Pooling", "config.json"));
  const finetuned = await readFinetuneManifest(join(folder, FINETUNE_MANIFEST_FILE));
  const dims =
    reference.settings.dims ??
    numberField(config, "hidden_size", "d_model", "dim") ??
    (await readOnnxHiddenSize(join(folder, onnxPath)));
  if (dims === undefined) {
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `Cannot tell the embedding dimensions of ${join(folder, onnxPath)}: no config.json with "hidden_size" ` +
        `and no fixed output width in the ONNX graph. Add config.json or "#dims=<n>" (e.g. "dir:${folder}#dims=384").`,
      { details: { path: folder } },
    );
  }
  const pinned = reference.settings.sha256 !== undefined;
  return buildSpec({
    id: dirModelId(reference),
    reference: `dir:${folder}`,
    description: `Local model folder ${folder} (${pinned ? "pinned" : "trusted on first use"})`,
    upstream: folder,
    dims,
    config,
    poolingConfig,
    settings: reference.settings,
    onnxPath,
    ...(finetuned === undefined ? {} : { finetuned }),
    source: {
      type: "dir",
      path: folder,
      entries: { "model.onnx": onnxPath, "tokenizer.json": "tokenizer.json" },
    },
  });
}
