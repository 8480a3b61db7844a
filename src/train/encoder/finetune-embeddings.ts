/**
 * @module train/encoder/finetune-embeddings
 * Contrastive fine-tuning of a catalog encoder's sentence-embedding space
 * (issue #22): the trainable copy of the encoder (JAX sidecar) pools each text
 * the way the model's embedder does (CLS for bge, mean for MiniLM/e5), the
 * vectors are L2-normalized inside the training graph, and the loss is
 * MultipleNegativesRanking (in-batch negatives, optional hard negatives) for
 * `anchor,positive[,negative]` pairs or CoSENT for `text1,text2,score` pairs
 * (`embedding-losses.ts`). Query/passage prefixes are applied with the
 * embedder's own `applyPrefix` (anchors as queries, positives and negatives as
 * passages by default), so the exported model (`exportFinetunedEncoder`, task
 * `embeddings`) served by `embed` returns the trained vectors.
 *
 * The task (rows per example, loss, validation) runs on the generic encoder
 * fine-tuning loop (`training-loop.ts`: optimizers, schedules with warmup,
 * seeded shuffling, clipping, early stopping on the validation metric —
 * held-out MRR for pairs, Spearman for scored pairs — with the best epoch's
 * weights restored, memory check, checkpoints and resume); the data checks
 * before it are `train/finetune`'s length policy and this module's.
 */

import type { InputType } from "../../embed/embedder.js";
import { applyPrefix } from "../../embed/inputs.js";
import { EmbedkitError } from "../../errors.js";
import { spearman } from "../../eval/metrics.js";
import { checkNumber } from "../../internal/options.js";
import type { ModelStore } from "../../models/index.js";
import { createRandom } from "../../vectors/random.js";
import { applyLengthPolicy, type ScoredPair, type TextPair } from "../finetune/data.js";
import { openBaseModel } from "./base-model.js";
import {
  cosentLoss,
  DEFAULT_SIMILARITY_SCALE,
  multipleNegativesRankingLoss,
  normalizeRows,
  normalizeRowsBackward,
  pairRetrievalScores,
} from "./embedding-losses.js";
import { readOnnxBert } from "./onnx-bert.js";
import type { EncoderOutput } from "./sidecar.js";
import {
  checkTrainingLoopSettings,
  type EncodeRows,
  type FinetuneRunResult,
  type FinetuneTask,
  finetuneRunResult,
  runTrainingLoop,
  type TaskValidation,
  type TrainingLoopSettings,
} from "./training-loop.js";

/** Training pairs: `anchor,positive[,negative]` (contrastive) or `text1,text2,score` (CoSENT). */
export type EmbeddingPairs =
  | { readonly kind: "pairs"; readonly pairs: readonly TextPair[]; readonly path?: string }
  | { readonly kind: "scored"; readonly pairs: readonly ScoredPair[]; readonly path?: string };

/** Loss of {@link finetuneEmbeddings}: in-batch negatives or CoSENT. */
export type EmbeddingLoss = "mnrl" | "cosent";

/** Options of {@link finetuneEmbeddings}. */
/**
 * Options of {@link finetuneEmbeddings}: the loop's settings (`TrainingLoopSettings`: optimizer,
 * schedule, epochs, batchSize = pairs per step, dropout, clipNorm, seed, checkpoints, resume,
 * earlyStopping, availableMemory, home, callbacks) and the task's.
 */
export interface FinetuneEmbeddingsOptions extends TrainingLoopSettings {
  /** Model store holding the base encoder. */
  readonly store: ModelStore;
  /** Catalog id of the base encoder. @default "all-minilm-l6-v2" */
  readonly model?: string;
  /** Training pairs (what `readPairsFile` returns fits). */
  readonly data: EmbeddingPairs;
  /** Held-out pairs of the same kind; without them `validationSplit` of the training pairs are held out. */
  readonly validation?: EmbeddingPairs;
  /** Share of training pairs held out (seeded) when `validation` is not given (0 = none). @default 0.1 */
  readonly validationSplit?: number;
  /** `mnrl` (pairs) or `cosent` (scored pairs). @default by the data's kind */
  readonly loss?: EmbeddingLoss;
  /** Multiplier of the cosine similarities in the loss. @default 20 */
  readonly scale?: number;
  /**
   * How the first / second text of each pair is prefixed (the model's query/passage prefixes,
   * as `embed --input-type` applies them). @default pairs: "query" / "passage"; scored: "none" / "none"
   */
  readonly inputTypes?: { readonly first: InputType; readonly second: InputType };
  /** Longest sequence in tokens (with [CLS]/[SEP]); at most the model's limit. @default 128 */
  readonly maxTokens?: number;
  /** Longer texts: cut (one warning) or refused with INPUT_TOO_LONG naming `file:line`. @default "truncate" */
  readonly onLong?: "truncate" | "refuse";
  /** Texts embedded (as given, no prefix) by the trained encoder at the end: `probeVectors`. */
  readonly probes?: readonly string[];
}

/** Result of {@link finetuneEmbeddings}. */
export interface FinetuneEmbeddingsResult extends FinetuneRunResult {
  readonly loss: EmbeddingLoss;
  /** Validation metric: held-out MRR (pairs) or Spearman's rho (scored pairs). */
  readonly metric: "mrr" | "spearman";
  /** Validation metric of the base model, before any step (undefined without validation). */
  readonly baseValidationMetric?: number;
  /** Validation metric of the kept weights. */
  readonly validationMetric?: number;
  /** Held-out top-1 accuracy of the kept weights (pairs). */
  readonly validationAccuracy?: number;
  /** Unit vectors of `probes` from the trained encoder (what `embed` of the export returns). */
  readonly probeVectors?: readonly Float32Array[];
}

const INPUT_TYPES: readonly InputType[] = ["query", "passage", "none"];

function invalidInput(message: string, details: Record<string, unknown> = {}): EmbedkitError {
  return new EmbedkitError("INVALID_INPUT", message, { details });
}

function checkPairs(data: EmbeddingPairs, what: string): void {
  if (
    typeof data !== "object" ||
    data === null ||
    (data.kind !== "pairs" && data.kind !== "scored") ||
    !Array.isArray(data.pairs)
  ) {
    throw invalidInput(`${what}: expected { kind: "pairs" | "scored", pairs: [...] }.`);
  }
  if (data.pairs.length === 0) throw invalidInput(`${what} has no pairs.`);
  const where = (index: number, line: number | undefined) => `${data.path ?? what}:${line ?? index + 1}`;
  data.pairs.forEach((pair, index) => {
    const texts =
      data.kind === "pairs"
        ? [(pair as TextPair).anchor, (pair as TextPair).positive]
        : [(pair as ScoredPair).text1, (pair as ScoredPair).text2];
    if ((pair as TextPair).negative !== undefined) texts.push((pair as TextPair).negative as string);
    for (const text of texts)
      if (typeof text !== "string" || text.trim() === "")
        throw invalidInput(`${where(index, pair.line)}: a text of the pair is empty.`, { index });
    if (data.kind === "scored" && !Number.isFinite((pair as ScoredPair).score))
      throw invalidInput(`${where(index, pair.line)}: the score is not a finite number.`, { index });
  });
}

/** One training or validation example: token ids of its texts and what the loss needs. */
interface Example {
  readonly first: number[];
  readonly second: number[];
  readonly negative?: number[];
  readonly firstKey: string;
  readonly secondKey: string;
  readonly negativeKey?: string;
  readonly score: number;
  readonly tokens: number;
}

/**
 * Fine-tune a catalog encoder's embedding space on pairs (in-batch negatives) or scored pairs
 * (CoSENT).
 *
 * @throws EmbedkitError INVALID_INPUT (empty texts, too few pairs, constant validation scores,
 *   a non-finite loss, a checkpoint of other data), INPUT_TOO_LONG (`onLong: "refuse"`),
 *   INVALID_OPTION (settings; `mnrl` with batch size 1 and no hard negatives; a loss that does not
 *   fit the data; a batch size whose estimated memory does not fit), DEPENDENCY_MISSING (no Python)
 * @example
 * ```ts
 * const data = await readPairsFile("pairs.csv");
 * const result = await finetuneEmbeddings({ store: createModelStore(), data, epochs: 1 });
 * const exported = await exportFinetunedEncoder({ base: "all-minilm-l6-v2", weights: result.encoderWeights,
 *   task: "embeddings", dataSha256: data.sha256, metrics: { "validation.mrr": result.validationMetric ?? 0 },
 *   outDir: "my-model" });
 * const embedder = await createEmbedder({ model: exported.reference }); // dir:my-model
 * ```
 */
export async function finetuneEmbeddings(
  options: FinetuneEmbeddingsOptions,
): Promise<FinetuneEmbeddingsResult> {
  checkPairs(options.data, "Training data");
  if (options.validation !== undefined) {
    checkPairs(options.validation, "Validation data");
    if (options.validation.kind !== options.data.kind)
      throw invalidInput(
        `Validation pairs are "${options.validation.kind}" but training pairs are "${options.data.kind}": use the same columns in both files.`,
      );
  }
  const kind = options.data.kind;
  const loss: EmbeddingLoss = options.loss ?? (kind === "pairs" ? "mnrl" : "cosent");
  if (loss !== "mnrl" && loss !== "cosent")
    throw new EmbedkitError(
      "INVALID_OPTION",
      `loss must be "mnrl" or "cosent", received ${JSON.stringify(loss)}.`,
      {
        details: { option: "loss" },
      },
    );
  if ((loss === "mnrl") !== (kind === "pairs")) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      loss === "mnrl"
        ? `The mnrl loss needs anchor,positive[,negative] pairs; this file has scored pairs (text1,text2,score): use --loss cosent.`
        : `The cosent loss needs scored pairs (text1,text2,score); this file has anchor,positive pairs: use --loss mnrl.`,
      { details: { option: "loss" } },
    );
  }
  const { seed, batchSize } = checkTrainingLoopSettings(options);
  const scale = checkNumber("scale", options.scale ?? DEFAULT_SIMILARITY_SCALE, { min: 0.01, max: 1000 });
  const hasNegatives =
    kind === "pairs" &&
    (options.data.pairs as readonly TextPair[]).every((pair) => pair.negative !== undefined);
  if (loss === "mnrl" && batchSize < 2 && !hasNegatives) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "batchSize 1 leaves the in-batch negatives loss without negatives (each anchor's negatives are the other pairs' positives in its batch): use a batch size of at least 2 (16-64 is usual), or give every pair a hard negative.",
      { details: { option: "batchSize" } },
    );
  }
  const inputTypes =
    options.inputTypes ??
    (kind === "pairs" ? { first: "query", second: "passage" } : { first: "none", second: "none" });
  for (const type of [inputTypes.first, inputTypes.second])
    if (!INPUT_TYPES.includes(type))
      throw new EmbedkitError(
        "INVALID_OPTION",
        `inputTypes must be ${INPUT_TYPES.join(", ")}, received ${JSON.stringify(type)}.`,
        { details: { option: "inputTypes" } },
      );

  // Split (seeded) when no validation file is given.
  let trainPairs: readonly (TextPair | ScoredPair)[] = options.data.pairs;
  let validationPairs: readonly (TextPair | ScoredPair)[] = options.validation?.pairs ?? [];
  const dataPath = options.data.path ?? "training data";
  const validationPath =
    options.validation?.path ?? (options.validation === undefined ? dataPath : "validation data");
  if (options.validation === undefined) {
    const fraction = checkNumber("validationSplit", options.validationSplit ?? 0.1, { min: 0, max: 0.5 });
    const held = Math.round(options.data.pairs.length * fraction);
    if (held > 0) {
      const order = createRandom(seed).shuffle(options.data.pairs.map((_, index) => index));
      const heldOut = new Set(order.slice(0, held));
      trainPairs = options.data.pairs.filter((_, index) => !heldOut.has(index));
      validationPairs = options.data.pairs.filter((_, index) => heldOut.has(index));
    }
  }
  if (loss === "mnrl" && trainPairs.length < 2)
    throw invalidInput(
      `The in-batch negatives loss needs at least 2 training pairs, received ${trainPairs.length}${validationPairs.length > 0 && options.validation === undefined ? ` after holding out ${validationPairs.length} for validation` : ""}.`,
    );
  if (kind === "scored" && validationPairs.length > 0) {
    const scores = new Set(validationPairs.map((pair) => (pair as ScoredPair).score));
    if (validationPairs.length < 2 || scores.size < 2)
      throw invalidInput(
        `${validationPath}: the validation pairs need at least two different scores (Spearman's rho is undefined otherwise); received ${validationPairs.length} pair(s) with ${scores.size} distinct score(s).`,
      );
  }

  const { spec, pulled, maxTokens, tokenizer } = await openBaseModel(options, {
    maxTokens: (limit) => Math.min(128, limit),
  });
  const prefix = (text: string, type: InputType) => applyPrefix(text, type, spec.prefixes);
  // Every text as the embedder sees it (prefixed), with its file line, for the length policy.
  const textsOf = (pairs: readonly (TextPair | ScoredPair)[]) =>
    pairs.flatMap((pair) => {
      const first = "anchor" in pair ? pair.anchor : pair.text1;
      const second = "anchor" in pair ? pair.positive : pair.text2;
      const texts = [
        { text: prefix(first, inputTypes.first), line: pair.line },
        { text: prefix(second, inputTypes.second), line: pair.line },
      ];
      if ("anchor" in pair && pair.negative !== undefined)
        texts.push({ text: prefix(pair.negative, inputTypes.second), line: pair.line });
      return texts;
    });
  const policy = {
    maxTokens,
    countTokens: async (texts: readonly string[]) => texts.map((text) => tokenizer.count(text)),
    onLong: options.onLong ?? "truncate",
    ...(options.onLog === undefined ? {} : { onWarning: options.onLog }),
  };
  await applyLengthPolicy(textsOf(trainPairs), { ...policy, path: dataPath });
  await applyLengthPolicy(textsOf(validationPairs), { ...policy, path: validationPath });
  let truncated = 0;
  const encode = (text: string): number[] => {
    const encoded = tokenizer.encode(text, { truncate: true });
    if (encoded.truncated) truncated++;
    return [...encoded.ids];
  };
  const examplesOf = (pairs: readonly (TextPair | ScoredPair)[]): Example[] =>
    pairs.map((pair) => {
      const firstText = prefix("anchor" in pair ? pair.anchor : pair.text1, inputTypes.first);
      const secondText = prefix("anchor" in pair ? pair.positive : pair.text2, inputTypes.second);
      const negativeText =
        "anchor" in pair && pair.negative !== undefined
          ? prefix(pair.negative, inputTypes.second)
          : undefined;
      const first = encode(firstText);
      const second = encode(secondText);
      const negative = negativeText === undefined ? undefined : encode(negativeText);
      return {
        first,
        second,
        firstKey: firstText,
        secondKey: secondText,
        ...(negative === undefined ? {} : { negative, negativeKey: negativeText as string }),
        score: "score" in pair ? pair.score : 1,
        tokens: first.length + second.length + (negative?.length ?? 0),
      };
    });
  const trainExamples = examplesOf(trainPairs);
  const validationExamples = examplesOf(validationPairs);
  const probeIds = (options.probes ?? []).map(encode);

  const bert = await readOnnxBert(pulled.path("onnx"));
  const task = createEmbeddingsTask({
    kind,
    loss,
    scale,
    hidden: bert.config.hidden,
    output: spec.pooling,
    validation: validationExamples,
    probes: probeIds,
    fingerprint: `${kind}:${loss}:${trainExamples.length}:${trainExamples.reduce((sum, example) => sum + example.tokens, 0)}`,
  });
  const result = await runTrainingLoop({ ...options, bert, task, examples: trainExamples, maxTokens });
  const accuracy = result.best?.details?.accuracy;
  return {
    ...finetuneRunResult(result, truncated),
    loss,
    metric: kind === "pairs" ? "mrr" : "spearman",
    ...(task.baseMetric() === undefined ? {} : { baseValidationMetric: task.baseMetric() as number }),
    ...(result.best === undefined ? {} : { validationMetric: result.best.metric }),
    ...(typeof accuracy === "number" ? { validationAccuracy: accuracy } : {}),
    ...(task.probeVectors() === undefined ? {} : { probeVectors: task.probeVectors() as Float32Array[] }),
  };
}

/** What {@link createEmbeddingsTask} needs. */
interface EmbeddingsTaskOptions {
  readonly kind: "pairs" | "scored";
  readonly loss: EmbeddingLoss;
  readonly scale: number;
  readonly hidden: number;
  readonly output: EncoderOutput;
  readonly validation: readonly Example[];
  readonly probes: readonly number[][];
  /** Identifies the training data in checkpoints (a resume with other data is refused). */
  readonly fingerprint: string;
}

/**
 * Contrastive embeddings as a task of the generic loop (`runTrainingLoop`): each example
 * contributes its first, second (and hard negative) texts; the loss normalizes the pooled rows
 * (the embedder's output), computes MNRL or CoSENT and returns the gradient through the
 * normalization; validation is held-out MRR (pairs) or Spearman (scored pairs). The base model's
 * validation metric is measured before the first step and kept in checkpoints.
 */
function createEmbeddingsTask(options: EmbeddingsTaskOptions): FinetuneTask<Example> & {
  baseMetric(): number | undefined;
  probeVectors(): Float32Array[] | undefined;
} {
  const { hidden, kind } = options;
  let baseMetric: number | undefined;
  let probeVectors: Float32Array[] | undefined;
  /** Unit vectors of `rows` from the encoder in inference mode (what the embedder returns). */
  const embedRows = async (encode: EncodeRows, rows: readonly number[][]): Promise<Float32Array[]> => {
    const { data } = await encode(rows);
    const { unit } = normalizeRows(data, rows.length, hidden);
    return rows.map((_, r) => unit.slice(r * hidden, (r + 1) * hidden));
  };
  const validate = async (encode: EncodeRows): Promise<TaskValidation | undefined> => {
    if (options.validation.length === 0) return undefined;
    const scores = await validationMetric(options.validation, kind, (rows) => embedRows(encode, rows));
    return {
      metric: scores.metric,
      ...(scores.accuracy === undefined ? {} : { details: { accuracy: scores.accuracy } }),
    };
  };
  return {
    output: options.output,
    headParameters: [],
    sequences: (example) =>
      example.negative === undefined
        ? [example.first, example.second]
        : [example.first, example.second, example.negative],
    loss(examples, output) {
      // The loop's rows are per example (first, second[, negative]); the losses take blocks.
      const firsts: number[] = [];
      const seconds: number[] = [];
      const negatives: number[] = [];
      let row = 0;
      for (const example of examples) {
        firsts.push(row++);
        seconds.push(row++);
        if (example.negative !== undefined) negatives.push(row++);
      }
      const { unit, norms } = normalizeRows(output, row, hidden);
      const blocks = [...firsts, ...seconds, ...negatives];
      const vectors = new Float32Array(row * hidden);
      blocks.forEach((from, to) => {
        vectors.set(unit.subarray(from * hidden, (from + 1) * hidden), to * hidden);
      });
      const count = examples.length;
      const gradUnit = new Float32Array(row * hidden);
      // A trailing batch of one pair without a hard negative has no in-batch negative: it adds nothing.
      if (options.loss === "mnrl" && count < 2 && negatives.length === 0)
        return { loss: 0, gradOutput: gradUnit };
      const result =
        options.loss === "mnrl"
          ? multipleNegativesRankingLoss({
              vectors,
              dims: hidden,
              batch: count,
              negatives: negatives.length,
              anchorKeys: examples.map((example) => example.firstKey),
              candidateKeys: [
                ...examples.map((example) => example.secondKey),
                ...examples.flatMap((example) =>
                  example.negativeKey === undefined ? [] : [example.negativeKey],
                ),
              ],
              scale: options.scale,
            })
          : cosentLoss({
              vectors,
              dims: hidden,
              batch: count,
              scores: examples.map((example) => example.score),
              scale: options.scale,
            });
      blocks.forEach((to, from) => {
        gradUnit.set(result.grad.subarray(from * hidden, (from + 1) * hidden), to * hidden);
      });
      return { loss: result.loss, gradOutput: normalizeRowsBackward(unit, norms, gradUnit, hidden) };
    },
    validate,
    async start(encode) {
      if (baseMetric === undefined) baseMetric = (await validate(encode))?.metric;
    },
    async finish(encode) {
      if (options.probes.length > 0) probeVectors = await embedRows(encode, options.probes);
    },
    checkpointState: () => ({
      task: "embeddings",
      fingerprint: options.fingerprint,
      baseMetric: baseMetric ?? null,
    }),
    restoreState(state, path) {
      if (state.fingerprint !== options.fingerprint)
        throw invalidInput(
          `Checkpoint ${path} was written by another run (${String(state.fingerprint ?? "not an embeddings run")}, this one is ${options.fingerprint}): resume with the same data and loss, or use another checkpoint folder.`,
          { path },
        );
      if (typeof state.baseMetric === "number") baseMetric = state.baseMetric;
    },
    baseMetric: () => baseMetric,
    probeVectors: () => probeVectors,
  };
}

/** Validation: held-out MRR/accuracy of each anchor's positive among all distinct candidates, or Spearman. */
async function validationMetric(
  examples: readonly Example[],
  kind: "pairs" | "scored",
  embedRows: (rows: readonly number[][]) => Promise<Float32Array[]>,
): Promise<{ metric: number; accuracy?: number }> {
  if (kind === "scored") {
    const first = await embedRows(examples.map((example) => example.first));
    const second = await embedRows(examples.map((example) => example.second));
    const cosines = first.map((vector, i) => {
      let sum = 0;
      const other = second[i] as Float32Array;
      for (let k = 0; k < vector.length; k++) sum += (vector[k] as number) * (other[k] as number);
      return sum;
    });
    return {
      metric: spearman(
        cosines,
        examples.map((example) => example.score),
      ),
    };
  }
  const candidateIndex = new Map<string, number>();
  const candidateRows: number[][] = [];
  const add = (key: string, ids: number[]): number => {
    let index = candidateIndex.get(key);
    if (index === undefined) {
      index = candidateRows.length;
      candidateIndex.set(key, index);
      candidateRows.push(ids);
    }
    return index;
  };
  const candidateOf = examples.map((example) => add(example.secondKey, example.second));
  for (const example of examples)
    if (example.negative !== undefined) add(example.negativeKey as string, example.negative);
  const anchors = await embedRows(examples.map((example) => example.first));
  const candidates = await embedRows(candidateRows);
  const scores = pairRetrievalScores(anchors, candidates, candidateOf);
  return { metric: scores.mrr, accuracy: scores.accuracy };
}
