/**
 * @module models/derived-converters
 * The converters behind a model's pinned derived files ({@link ModelSpec.derived}),
 * as a frozen table keyed by converter name and version, and the one function
 * that makes sure every derived file of a model is in its folder and checks out:
 * the model store calls it right after a pull (so a pull installs a model ready
 * to run), the embedder before loading (so an edited or deleted file is rebuilt).
 */
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { EmbedkitError } from "../errors.js";
import { type DerivedFile, ensureDerivedFile } from "./derived-file.js";
import type { DerivedModelFile, ModelSpec } from "./model-spec.js";
import { buildStaticInt8, STATIC_INT8_CONVERTER } from "./quantize.js";
import { parseSentencePieceModel, sentencePieceTokenizerJson } from "./sentencepiece.js";
import {
  type SplitSentencepieceGraph,
  splitSentencepieceGraph,
  USE_GRAPH_CONVERTER_VERSION,
} from "./use-graph.js";

/** What a converter may need besides the sources: the model, its folder, the caller's options. */
interface BuildContext {
  readonly spec: ModelSpec;
  readonly dir: string;
  readonly options: EnsureDerivedFilesOptions;
}

/** Builds the bytes of one derived file; `source(role)` is the path of the model's pinned file of that role. */
type Builder = (
  source: (role: string) => string,
  context: BuildContext,
) => (file: DerivedModelFile) => Promise<Uint8Array>;

/** The SentencePiece split of a USE graph: the graph without the node, and the tokenizer.json. */
const useGraph: Builder = (source) => {
  // One split serves both files when both need building.
  let split: Promise<SplitSentencepieceGraph> | undefined;
  const splitOnce = (): Promise<SplitSentencepieceGraph> => {
    split ??= readFile(source("onnx")).then((bytes) => splitSentencepieceGraph(new Uint8Array(bytes)));
    return split;
  };
  return async (file) => {
    const parts = await splitOnce();
    if (file.role === "onnx") return parts.graph;
    const json = sentencePieceTokenizerJson(parseSentencePieceModel(parts.sentencepiece), parts.settings);
    return new TextEncoder().encode(JSON.stringify(json));
  };
};

/** A static int8 graph from the fp32 one (`models/quantize.ts`). */
const staticInt8: Builder =
  (source, { spec, dir, options }) =>
  () =>
    buildStaticInt8(spec, source, dir, {
      ...(options.home === undefined ? {} : { home: options.home }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onLog === undefined ? {} : { onLog: options.onLog }),
    });

/** Converters by name and version. */
const CONVERTERS: Readonly<Record<string, Builder>> = Object.freeze({
  [USE_GRAPH_CONVERTER_VERSION]: useGraph,
  [STATIC_INT8_CONVERTER]: staticInt8,
});

/** Options of {@link ensureModelDerivedFiles}. */
export interface EnsureDerivedFilesOptions {
  /** Told when a file was (re)built instead of read from the cache, and why. */
  readonly onConvert?: (event: {
    readonly file: string;
    readonly reason: string;
    readonly path: string | undefined;
  }) => void;
  /** embedkit home, for converters that need a tool environment (the int8 quantizer's venv). */
  readonly home?: string;
  /** Cancels a long conversion (nothing is kept). */
  readonly signal?: AbortSignal;
  /** Progress lines of long conversions. */
  readonly onLog?: (line: string) => void;
}

/**
 * Make sure every derived file of `spec` is cached next to its pinned files and
 * matches its pin, building what is missing, stale or damaged. Returns each file
 * by name (a path, or the bytes when the folder is read-only). A model without
 * derived files gives an empty record.
 *
 * @param paths the pinned files' paths by file name (a pulled model's `paths`)
 * @throws EmbedkitError CORRUPT_MODEL for an unknown converter, a source that cannot be
 *   converted, or a conversion whose bytes differ from the pin
 */
export async function ensureModelDerivedFiles(
  spec: ModelSpec,
  paths: Readonly<Record<string, string>>,
  options: EnsureDerivedFilesOptions = {},
): Promise<Readonly<Record<string, DerivedFile>>> {
  const derived = spec.derived;
  if (derived === undefined || derived.files.length === 0) return {};
  const converter = CONVERTERS[derived.converter];
  if (converter === undefined) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${spec.id} needs converter ${derived.converter}, which this version of embedkit does not have ` +
        `(it has ${Object.keys(CONVERTERS).join(", ")}).`,
      { details: { model: spec.id } },
    );
  }
  const source = (role: string): string => {
    const file = spec.files.find((candidate) => candidate.role === role);
    const path = file === undefined ? undefined : paths[file.name];
    if (path === undefined) {
      throw new EmbedkitError("CORRUPT_MODEL", `${spec.id} has no ${role} file to convert.`, {
        details: { model: spec.id, role },
      });
    }
    return path;
  };
  const inputs = Object.fromEntries(spec.files.map((file) => [file.name, file.sha256]));
  const dir = dirname(source(spec.files[0]?.role ?? "onnx"));
  const build = converter(source, { spec, dir, options });
  // The settings (e.g. a quantization recipe) are part of the converter's identity.
  const identity =
    derived.settings === undefined
      ? derived.converter
      : `${derived.converter} ${JSON.stringify(derived.settings)}`;
  const out: Record<string, DerivedFile> = {};
  for (const file of derived.files) {
    const result = await ensureDerivedFile({
      dir,
      name: file.name,
      converter: identity,
      inputs,
      ...(file.sha256 === undefined ? {} : { expectedSha256: file.sha256 }),
      build: () => build(file),
    });
    if (result.rebuilt !== undefined) {
      options.onConvert?.({ file: file.name, reason: result.rebuilt, path: result.path });
    }
    out[file.name] = result;
  }
  return out;
}
