/**
 * @module embed/onnx/use-embedder
 * The multilingual Universal Sentence Encoder (and any USE-style ONNX export
 * whose graph starts with onnxruntime-extensions' `SentencepieceTokenizer`
 * node) on stock onnxruntime-node. On first use the pinned graph is split
 * (`models/use-graph.ts`) into a graph over token ids + row splits and the
 * SentencePiece model, which becomes a tokenizer.json
 * (`models/sentencepiece.ts`); both are cached in the model's folder as
 * derived files pinned by sha256 (`models/derived-file.ts`). Texts are
 * tokenized by `@huggingface/tokenizers` (BOS/EOS added as the node was
 * configured), batched by the pipeline core, and fed as one ragged batch: the
 * flat ids and one offset per sentence. The graph pools and returns one
 * 512-d vector per sentence.
 *
 * The graph is uint8-quantized with dynamic activation scales
 * (`DynamicQuantizeLinear` over the whole batch), so a text's vector depends
 * slightly on what it is batched with (cosine ≥ 0.998 measured). The default
 * batch is therefore one text per call, which reproduces the reference (the
 * original graph run one sentence at a time) to float rounding; `maxBatchSize`
 * trades that for speed.
 */
import { availableParallelism } from "node:os";
import type * as ort from "onnxruntime-node";
import { EmbedkitError } from "../../errors.js";
import { loadOnnxRuntime } from "../../internal/load-dependency.js";
import { checkInteger } from "../../internal/options.js";
import { ensureModelDerivedFiles } from "../../models/derived-converters.js";
import type { DerivedFile } from "../../models/derived-file.js";
import type { DerivedModelFile, ModelSpec } from "../../models/model-spec.js";
import { USE_GRAPH_INPUTS } from "../../models/use-graph.js";
import type { Embedder } from "../embedder.js";
import { assertOpen, validateTexts } from "../inputs.js";
import { embedTexts, type TextProvider } from "../pipeline.js";
import { modelInfoOf, planBatches, runSession } from "./onnx-embedder.js";
import { createTextTokenizer, loadTextTokenizer } from "./text-tokenizer.js";

/** Options of {@link createUseEmbedder}. */
export interface UseEmbedderOptions {
  /** The model's spec (format `onnx-use`, with `derived` graph and tokenizer files). */
  readonly spec: ModelSpec;
  /** Paths of the model's pinned files by name (a pulled model's `paths`, verified by the model store). */
  readonly paths: Readonly<Record<string, string>>;
  /** Threads used inside one inference call. @default os.availableParallelism() */
  readonly threads?: number;
  /**
   * Most texts per inference call. Above 1, a text's vector depends slightly on its batch
   * (dynamic quantization; cosine ≥ 0.998), in exchange for throughput.
   * @default 1
   */
  readonly maxBatchSize?: number;
  /** Most tokens (longest × rows) per inference call. @default 8192 */
  readonly maxBatchTokens?: number;
  /** Told when a derived file was (re)built instead of read from the cache, and why. */
  readonly onConvert?: (event: {
    readonly file: string;
    readonly reason: string;
    readonly path: string | undefined;
  }) => void;
}

/** An {@link Embedder} for USE-style models; token-id input (OpenAI's `input: number[]`) decodes back to text. */
export interface UseEmbedder extends Embedder {
  /**
   * Decode SentencePiece token ids back into text (special tokens skipped).
   * @throws EmbedkitError INVALID_INPUT on an id outside the vocabulary, CLOSED
   */
  decodeTokenIds(ids: readonly number[]): string;
}

const OUTPUT = "outputs";

function derivedFile(spec: ModelSpec, role: "onnx" | "tokenizer"): DerivedModelFile {
  const file = spec.derived?.files.find((candidate) => candidate.role === role);
  if (spec.format !== "onnx-use" || file === undefined) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `${spec.id} is not a USE-style model with derived graph and tokenizer files (format ${spec.format}); expected format "onnx-use".`,
      { details: { model: spec.id } },
    );
  }
  return file;
}

/**
 * Split (once) and load a USE-style ONNX model whose graph embeds a SentencePiece tokenizer.
 *
 * @throws EmbedkitError INVALID_OPTION (not an `onnx-use` model, bad batch options), CORRUPT_MODEL (the
 *   graph cannot be split, the conversion does not give the pinned bytes, onnxruntime refuses the graph)
 * @example
 * ```ts
 * const pulled = await createModelStore().ensure("use-multilingual");
 * const embedder = await createUseEmbedder({ spec: pulled.spec, paths: pulled.paths });
 * const { vectors } = await embedder.embed(["I love this film", "我很喜欢这部电影"]);
 * ```
 */
export async function createUseEmbedder(options: UseEmbedderOptions): Promise<UseEmbedder> {
  const { spec } = options;
  const graphFile = derivedFile(spec, "onnx");
  const tokenizerFile = derivedFile(spec, "tokenizer");
  const threads = checkInteger("threads", options.threads ?? availableParallelism(), { min: 1 });
  const maxBatchSize = checkInteger("maxBatchSize", options.maxBatchSize ?? 1, { min: 1 });
  const maxBatchTokens = checkInteger("maxBatchTokens", options.maxBatchTokens ?? 8192, { min: 1 });
  const derived = await ensureModelDerivedFiles(spec, options.paths, {
    ...(options.onConvert === undefined ? {} : { onConvert: options.onConvert }),
  });
  const graph = derived[graphFile.name] as DerivedFile;
  const tokenizerJson = derived[tokenizerFile.name] as DerivedFile;

  const tokenizer =
    tokenizerJson.bytes === undefined
      ? await loadTextTokenizer(tokenizerJson.path as string, spec.maxTokens)
      : createTextTokenizer(
          JSON.parse(new TextDecoder().decode(tokenizerJson.bytes)) as Record<string, unknown>,
          spec.maxTokens,
          tokenizerJson.path ?? `the in-memory tokenizer of ${spec.id}`,
        );
  const ort = await loadOnnxRuntime();
  let session: ort.InferenceSession;
  const where = graph.path ?? `the in-memory conversion of ${spec.id}`;
  try {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: "all",
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
    };
    session =
      graph.bytes !== undefined
        ? await ort.InferenceSession.create(graph.bytes, sessionOptions)
        : await ort.InferenceSession.create(graph.path as string, sessionOptions);
  } catch (cause) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${spec.id}: onnxruntime cannot load ${where}: ${(cause as Error).message}. ` +
        `Re-pull the model (\`embedkit models rm ${spec.id}\` then \`embedkit models pull ${spec.id}\`).`,
      { cause, details: { model: spec.id } },
    );
  }
  if (
    !session.inputNames.includes(USE_GRAPH_INPUTS.tokenIds) ||
    !session.inputNames.includes(USE_GRAPH_INPUTS.rowSplits) ||
    !session.outputNames.includes(OUTPUT)
  ) {
    await session.release();
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `${spec.id}: ${where} has inputs [${session.inputNames}] and outputs [${session.outputNames}]; ` +
        `expected "${USE_GRAPH_INPUTS.tokenIds}" and "${USE_GRAPH_INPUTS.rowSplits}" → "${OUTPUT}".`,
      { details: { model: spec.id } },
    );
  }
  // The tokenizer node's id type (int32 in the multilingual USE), read back from the graph's input.
  const idsMeta = session.inputMetadata.find((value) => value.name === USE_GRAPH_INPUTS.tokenIds);
  const idsAreInt32 = !(idsMeta?.isTensor === true && idsMeta.type === "int64");
  let closed = false;

  const model = modelInfoOf(spec, maxBatchSize);

  async function run(sequences: readonly (readonly number[])[]): Promise<Float32Array[]> {
    let total = 0;
    for (const sequence of sequences) total += sequence.length;
    const splits = new BigInt64Array(sequences.length + 1);
    const ids = idsAreInt32 ? new Int32Array(total) : new BigInt64Array(total);
    let offset = 0;
    sequences.forEach((sequence, row) => {
      for (const id of sequence) {
        if (ids instanceof Int32Array) ids[offset++] = id;
        else ids[offset++] = BigInt(id);
      }
      splits[row + 1] = BigInt(offset);
    });
    const feeds: Record<string, ort.Tensor> = {
      [USE_GRAPH_INPUTS.tokenIds]:
        ids instanceof Int32Array
          ? new ort.Tensor("int32", ids, [total])
          : new ort.Tensor("int64", ids, [total]),
      [USE_GRAPH_INPUTS.rowSplits]: new ort.Tensor("int64", splits, [splits.length]),
    };
    const output = await runSession(session, feeds, spec.id);
    const tensor = output[OUTPUT] as ort.Tensor | undefined;
    if (
      tensor === undefined ||
      tensor.dims.length !== 2 ||
      tensor.dims[0] !== sequences.length ||
      tensor.dims[1] !== spec.dims
    ) {
      throw new EmbedkitError(
        "CORRUPT_MODEL",
        `${spec.id}: expected output "${OUTPUT}" of shape [${sequences.length}, ${spec.dims}], ` +
          `received ${tensor === undefined ? "nothing" : `[${tensor.dims.join(", ")}]`}.`,
      );
    }
    try {
      const data = tensor.data as Float32Array;
      return sequences.map((_, row) => data.slice(row * spec.dims, (row + 1) * spec.dims));
    } finally {
      tensor.dispose();
    }
  }

  const provider: TextProvider<readonly number[]> = {
    model,
    limits: {
      maxBatchSize,
      maxBatchTokens,
      plan: (values) =>
        planBatches(
          values.map((value) => value.length),
          maxBatchSize,
          maxBatchTokens,
        ).map((batch) => batch.indices),
    },
    assertOpen: () => assertOpen(closed, spec.id),
    // Tokenize everything first: an over-long input fails the call before any inference.
    prepare(texts, resolved) {
      const encoded = texts.map((text, index) =>
        tokenizer.encode(text, { truncate: resolved.truncate, index }),
      );
      let tokens = 0;
      for (const item of encoded) tokens += Math.min(item.fullLength, item.ids.length);
      return { values: encoded.map((item) => item.ids), tokens };
    },
    async doEmbed({ values }) {
      return { vectors: await run(values) };
    },
  };

  return {
    model,
    embed: (texts, embedOptions) => embedTexts(provider, texts, embedOptions),
    async countTokens(texts) {
      assertOpen(closed, spec.id);
      validateTexts(texts);
      return texts.map((text) => tokenizer.count(text));
    },
    decodeTokenIds(ids: readonly number[]): string {
      assertOpen(closed, spec.id);
      return tokenizer.decode(ids);
    },
    async close() {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}
