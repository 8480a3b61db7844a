/**
 * @module bench/lib/throughput-node-worker
 * Node engine worker of bench/throughput.ts (see bench-worker.ts for the
 * protocol). Two engines:
 * - `ours`: `createEmbedder({ model, threads, maxBatchSize: bs, maxBatchTokens })`
 *   through the model store, timed end to end around `embedder.embed(group)`
 *   (tokenize + pad + run + pool + normalize).
 * - `raw`: one onnxruntime-node session with the session options our embedder
 *   uses, timed around `session.run` only, over tensors built before timing from
 *   our own tokenizer and batch planner, i.e. exactly the padded batches our
 *   embedder sends. This is the ceiling for `ours`.
 *
 * Not meant to be run by hand: `node --import tsx bench/lib/throughput-node-worker.ts '<config json>'`.
 */
import { readFile } from "node:fs/promises";
import * as ort from "onnxruntime-node";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { Embedder } from "../../src/embed/embedder.js";
import { paddedFeeds, planBatches } from "../../src/embed/onnx/onnx-embedder.js";
import { loadTextTokenizer } from "../../src/embed/onnx/text-tokenizer.js";
import {
  chunk,
  maxRssKb,
  type RunResult,
  reply,
  serveCommands,
  type WorkerCommand,
  type WorkerConfig,
} from "./bench-worker.js";

const config = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig;
const sentences = JSON.parse(await readFile(config.sentencesPath, "utf8")) as string[];

async function versions(): Promise<Record<string, string>> {
  const ortPackage = JSON.parse(
    await readFile(new URL(import.meta.resolve("onnxruntime-node/package.json")), "utf8"),
  ) as { version: string };
  return { node: process.version, "onnxruntime-node": ortPackage.version };
}

/** Unit vectors from a `[batch, length, dims]` hidden state, pooled as the model requires. */
function poolRows(hidden: Float32Array, lengths: readonly number[], length: number): number[][] {
  return lengths.map((tokens, row) => {
    const out = new Float64Array(config.dims);
    const rows = config.pooling === "cls" ? 1 : tokens;
    for (let t = 0; t < rows; t++) {
      const base = (row * length + t) * config.dims;
      for (let j = 0; j < config.dims; j++) out[j] = (out[j] as number) + (hidden[base + j] as number);
    }
    const norm = Math.hypot(...out);
    return Array.from(out, (value) => value / norm);
  });
}

async function startOurs(): Promise<(command: WorkerCommand) => Promise<Record<string, unknown>>> {
  let embedder: Embedder | undefined;
  let preparedFor = 0;
  const prepare = async (batchSize: number): Promise<Embedder> => {
    if (embedder !== undefined && preparedFor === batchSize) return embedder;
    await embedder?.close();
    embedder = await createEmbedder({
      model: config.model,
      threads: config.threads,
      maxBatchSize: batchSize,
      maxBatchTokens: config.maxBatchTokens,
    });
    preparedFor = batchSize;
    return embedder;
  };
  await prepare(32);
  return async (command) => {
    switch (command.op) {
      case "prepare":
        await prepare(command.batchSize);
        return {};
      case "run": {
        const current = await prepare(command.batchSize);
        const groups = chunk(sentences.slice(0, command.count ?? sentences.length), command.batchSize);
        let tokens = 0;
        let count = 0;
        const start = process.hrtime.bigint();
        for (const group of groups) {
          const result = await current.embed(group);
          tokens += result.usage.tokens;
          count += group.length;
        }
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        // usage.tokens excludes [CLS]/[SEP]; add them back to compare with the other engines.
        const result: RunResult = {
          seconds,
          sentences: count,
          tokens: tokens + 2 * count,
          paddedTokens: null,
          calls: groups.length,
          maxRssKb: maxRssKb(),
        };
        return { ...result };
      }
      case "vectors": {
        const current = await prepare(preparedFor);
        const { vectors } = await current.embed(sentences.slice(0, command.count));
        return { vectors: vectors.map((vector) => Array.from(vector)) };
      }
      default:
        return {};
    }
  };
}

interface PreparedBatch {
  readonly feeds: Record<string, ort.Tensor>;
  readonly lengths: readonly number[];
  readonly length: number;
}

async function startRaw(): Promise<(command: WorkerCommand) => Promise<Record<string, unknown>>> {
  const tokenizer = await loadTextTokenizer(config.tokenizerPath, config.maxTokens);
  // Same options as createOnnxEmbedder (src/embed/onnx/onnx-embedder.ts).
  const session = await ort.InferenceSession.create(config.onnxPath, {
    graphOptimizationLevel: "all",
    intraOpNumThreads: config.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
  });
  const needsTokenTypes = session.inputNames.includes("token_type_ids");
  const outputName = session.outputNames.includes("last_hidden_state")
    ? "last_hidden_state"
    : (session.outputNames[0] as string);
  const encoded = sentences.map((text) => tokenizer.encode(text, { truncate: true }).ids);

  /** The padded batches our embedder would send for groups of `batchSize` sentences. */
  function buildBatches(batchSize: number, count: number): PreparedBatch[] {
    const batches: PreparedBatch[] = [];
    for (const group of chunk(encoded.slice(0, count), batchSize)) {
      for (const plan of planBatches(
        group.map((ids) => ids.length),
        batchSize,
        config.maxBatchTokens,
      )) {
        const rows = plan.indices.map((index) => group[index] as readonly number[]);
        const feeds = paddedFeeds(ort, rows, plan.length, needsTokenTypes);
        batches.push({ feeds, lengths: rows.map((row) => row.length), length: plan.length });
      }
    }
    return batches;
  }

  const cache = new Map<string, PreparedBatch[]>();
  const batchesFor = (batchSize: number, count: number): PreparedBatch[] => {
    const key = `${batchSize}/${count}`;
    let batches = cache.get(key);
    if (batches === undefined) {
      cache.clear();
      batches = buildBatches(batchSize, count);
      cache.set(key, batches);
    }
    return batches;
  };

  return async (command) => {
    switch (command.op) {
      case "prepare":
        batchesFor(command.batchSize, sentences.length);
        return {};
      case "run": {
        const count = Math.min(command.count ?? sentences.length, sentences.length);
        const batches = batchesFor(command.batchSize, count);
        const start = process.hrtime.bigint();
        for (const batch of batches) {
          const output = await session.run(batch.feeds);
          output[outputName]?.dispose();
        }
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        let tokens = 0;
        let padded = 0;
        for (const batch of batches) {
          for (const length of batch.lengths) tokens += length;
          padded += batch.lengths.length * batch.length;
        }
        const result: RunResult = {
          seconds,
          sentences: count,
          tokens,
          paddedTokens: padded,
          calls: batches.length,
          maxRssKb: maxRssKb(),
        };
        return { ...result };
      }
      case "vectors": {
        const vectors: number[][] = [];
        for (const batch of buildBatches(command.count, command.count)) {
          const output = await session.run(batch.feeds);
          const hidden = output[outputName] as ort.Tensor;
          vectors.push(...poolRows(hidden.data as Float32Array, batch.lengths, batch.length));
        }
        // buildBatches sorts each group longest first; vectors come back in plan order.
        const order = planBatches(
          encoded.slice(0, command.count).map((ids) => ids.length),
          command.count,
          config.maxBatchTokens,
        ).flatMap((plan) => plan.indices);
        const inOrder = new Array<number[]>(command.count);
        order.forEach((index, position) => {
          inOrder[index] = vectors[position] as number[];
        });
        return { vectors: inOrder };
      }
      default:
        return {};
    }
  };
}

const loadStart = process.hrtime.bigint();
const handle = config.engine === "raw" ? await startRaw() : await startOurs();
reply({
  ok: true,
  loadSeconds: Number(process.hrtime.bigint() - loadStart) / 1e9,
  rssKb: Math.round(process.memoryUsage().rss / 1024),
  maxRssKb: maxRssKb(),
  versions: await versions(),
});
await serveCommands(handle);
process.exit(0);
