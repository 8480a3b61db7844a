/**
 * @module bench/peers/transformers-worker
 * Peer engine for bench/throughput.ts: @huggingface/transformers
 * `pipeline("feature-extraction")` (pooling + normalize inside the pipeline),
 * offline, on the same ONNX file and tokenizer as our embedder. Answers
 * "transformers.js or onnxruntime-node directly, which is faster for text?".
 *
 * transformers.js lives in its own install (bench/peers/package.json, never a
 * dependency of embedkit): `cd bench/peers && npm install` (the .npmrc there
 * skips onnxruntime-node's CUDA download). It loads a model folder laid out as
 * it expects, which this worker writes into the scratch folder: config.json and
 * tokenizer_config.json (minimal, written here), tokenizer.json (the store's
 * copy with its fixed-128 padding/truncation removed, as our tokenizer does) and
 * onnx/model.onnx (a symlink to the store's verified file).
 *
 * Not meant to be run by hand: `node --import tsx bench/peers/transformers-worker.ts '<config json>'`.
 */
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  chunk,
  maxRssKb,
  type RunResult,
  reply,
  serveCommands,
  type WorkerConfig,
} from "../lib/bench-worker.js";

/** The slice of the transformers.js API used here (the package is not installed for type-checking). */
interface TransformersModule {
  readonly env: { allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string };
  pipeline(
    task: "feature-extraction",
    model: string,
    options: { dtype: string; session_options: Record<string, unknown> },
  ): Promise<FeatureExtractor>;
}
interface FeatureExtractor {
  (
    texts: string[],
    options: { pooling: "mean" | "cls"; normalize: boolean },
  ): Promise<{ readonly data: Float32Array; readonly dims: readonly number[] }>;
  readonly tokenizer: (
    texts: string[],
    options: { padding: boolean; truncation: boolean },
  ) => {
    readonly attention_mask: { readonly data: BigInt64Array; readonly dims: readonly number[] };
  };
  dispose(): Promise<void>;
}

const config = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig;
const sentences = JSON.parse(await readFile(config.sentencesPath, "utf8")) as string[];
const loadStart = process.hrtime.bigint();

// Lay out <scratch>/<model>/ the way transformers.js looks for a local model.
const modelDir = join(config.scratchDir, config.model);
await rm(modelDir, { recursive: true, force: true });
await mkdir(join(modelDir, "onnx"), { recursive: true });
await symlink(config.onnxPath, join(modelDir, "onnx", "model.onnx"));
const tokenizerJson = JSON.parse(await readFile(config.tokenizerPath, "utf8")) as Record<string, unknown>;
tokenizerJson.truncation = null;
tokenizerJson.padding = null;
await writeFile(join(modelDir, "tokenizer.json"), JSON.stringify(tokenizerJson));
await writeFile(
  join(modelDir, "tokenizer_config.json"),
  JSON.stringify({
    tokenizer_class: "BertTokenizer",
    model_max_length: config.maxTokens,
    cls_token: "[CLS]",
    sep_token: "[SEP]",
    pad_token: "[PAD]",
    unk_token: "[UNK]",
    mask_token: "[MASK]",
  }),
);
await writeFile(
  join(modelDir, "config.json"),
  JSON.stringify({ model_type: "bert", architectures: ["BertModel"], hidden_size: config.dims }),
);

const specifier = "@huggingface/transformers";
const transformers = (await import(specifier)) as TransformersModule;
transformers.env.allowRemoteModels = false;
transformers.env.allowLocalModels = true;
transformers.env.localModelPath = `${config.scratchDir}/`;
const extractor = await transformers.pipeline("feature-extraction", config.model, {
  dtype: "fp32", // only picks the file name onnx/model.onnx; the file itself may be int8
  session_options: {
    graphOptimizationLevel: "all",
    intraOpNumThreads: config.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
  },
});
const packageJson = JSON.parse(
  await readFile(join(import.meta.dirname, "node_modules", specifier, "package.json"), "utf8"),
) as { version: string; dependencies: Record<string, string> };

reply({
  ok: true,
  loadSeconds: Number(process.hrtime.bigint() - loadStart) / 1e9,
  rssKb: Math.round(process.memoryUsage().rss / 1024),
  maxRssKb: maxRssKb(),
  versions: {
    node: process.version,
    "@huggingface/transformers": packageJson.version,
    "onnxruntime-node (its pin)": packageJson.dependencies["onnxruntime-node"] ?? "?",
  },
});

await serveCommands(async (command) => {
  switch (command.op) {
    case "run": {
      const texts = sentences.slice(0, command.count ?? sentences.length);
      const groups = chunk(texts, command.batchSize);
      const start = process.hrtime.bigint();
      for (const group of groups) await extractor(group, { pooling: config.pooling, normalize: true });
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // Token counts, untimed: the pipeline's own tokenizer with its own padding.
      let tokens = 0;
      let padded = 0;
      for (const group of groups) {
        const mask = extractor.tokenizer(group, { padding: true, truncation: true }).attention_mask;
        for (const value of mask.data) tokens += Number(value);
        padded += mask.data.length;
      }
      const result: RunResult = {
        seconds,
        sentences: texts.length,
        tokens,
        paddedTokens: padded,
        calls: groups.length,
        maxRssKb: maxRssKb(),
      };
      return { ...result };
    }
    case "vectors": {
      const output = await extractor(sentences.slice(0, command.count), {
        pooling: config.pooling,
        normalize: true,
      });
      const width = output.dims[1] as number;
      return {
        vectors: Array.from({ length: command.count }, (_, row) =>
          Array.from(output.data.subarray(row * width, (row + 1) * width)),
        ),
      };
    }
    default:
      return {};
  }
});
await extractor.dispose();
process.exit(0);
