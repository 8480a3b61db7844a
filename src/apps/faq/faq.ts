/**
 * @module apps/faq/faq
 * FAQ answering on a vector store collection (the tutorial's customer-service
 * case). `indexFaq` embeds every question of a FAQ (several questions may share
 * one answer) into a collection of any {@link VectorStore}; `createFaq` opens
 * it and `ask` returns the best answer with its confidence and the top-k
 * alternatives — or the fallback text when the confidence is below the
 * threshold, because a wrong answer costs more than "let me connect you with
 * a colleague". `calibrate` picks that threshold from labelled questions.
 *
 * Layout of a FAQ collection (backend-independent; only the VectorStore
 * contract is used):
 * - one item per question: id `q-<hash of answer id + question>`, the question
 *   as `text`, metadata `faq_kind: "question"`, `answer_id`, `answer`,
 *   optional `category`;
 * - one item per answer: id `c-<answer id>`, the normalized mean of its
 *   questions' vectors, metadata `faq_kind: "centroid"`, `answer_id`, `answer`,
 *   optional `category`, `questions` (how many were averaged);
 * - one settings item, id {@link FAQ_SETTINGS_ID}, metadata `faq_kind: "settings"`
 *   plus the FAQ's settings (language, aggregation, threshold, fallback, ...),
 *   with a placeholder unit vector. It is written last, so a collection whose
 *   indexing was interrupted has none and is refused until indexed again. The
 *   collection itself records the model (id, dims, pooling), so every later
 *   question is embedded with the same model; the store refuses others.
 *
 * Answer scores aggregate question scores (answer-ranking.ts). `centroid`
 * (the default, best on the benchmark sets) ranks the centroid items directly,
 * then looks up each answer's best question for display; `max` ranks answers
 * by their best question among the top hits; `mean` re-scores the best
 * candidates by `max` with all their questions (one exact, filtered query), so
 * an answer whose best question is outside the top hits is not considered.
 */
import { createHash } from "node:crypto";
import type { Embedder, InputType } from "../../embed/embedder.js";
import { EmbedkitError } from "../../errors.js";
import { symmetricInputType } from "../../eval/tasks.js";
import { checkInteger } from "../../internal/options.js";
import { collectionSpecFor } from "../../store/documents.js";
import {
  type Collection,
  type Metadata,
  STORE_LIMITS,
  type StoredItem,
  type VectorStore,
} from "../../store/vector-store.js";
import {
  type AnswerAggregation,
  type AnswerScore,
  aggregateAnswerScores,
  assertAggregation,
  centroidOf,
  DEFAULT_AGGREGATION,
  type QuestionScore,
} from "./answer-ranking.js";
import {
  type AnswerOutcome,
  type Calibration,
  type CalibrationObjective,
  calibrateThreshold,
  evaluateThreshold,
  type ThresholdPoint,
  thresholdCurve,
} from "./answer-threshold.js";
import {
  answerId,
  type FaqAnswer,
  type FaqEntry,
  groupFaqEntries,
  type LabelledQuery,
} from "./faq-entries.js";
import { DEFAULT_FAQ_MODELS, detectFaqLanguage, type FaqLanguage } from "./faq-language.js";

/** Id of the settings item of a FAQ collection. */
export const FAQ_SETTINGS_ID = "__faq_settings__";

/** The reply given below the threshold unless configured otherwise. */
export const DEFAULT_FALLBACK: Readonly<Record<FaqLanguage, string>> = Object.freeze({
  en: "Sorry, I don't have an answer to that. Let me connect you with a colleague.",
  zh: "抱歉，这个问题我暂时无法回答，正在为您转接人工客服。",
});

/**
 * Threshold used until a FAQ is calibrated, for the default models with the
 * default (`centroid`) aggregation, from the calibration splits of bench/faq.ts
 * (bench/RESULTS.md, "FAQ answering"). English 0.75: between CLINC150's
 * max-accuracy threshold (0.68) and the one that keeps in-scope accuracy 5
 * points below the maximum (0.76, out-of-scope recall 95 % on test); BANKING77
 * still answers more than 95 % of its questions at 0.75. Chinese 0.76: the mean of the
 * max-accuracy thresholds of BQ (0.68) and ATEC (0.84). Other models answer
 * always until calibrated. Calibrate on your own questions: the best threshold
 * depends on the FAQ and on how many questions it cannot answer.
 */
export const DEFAULT_THRESHOLDS: Readonly<Record<string, number>> = Object.freeze({
  "bge-small-en-v1.5": 0.75,
  "bge-small-zh-v1.5": 0.76,
});

/** Settings of a FAQ, stored in its collection. */
export interface FaqSettings {
  readonly language: FaqLanguage;
  readonly aggregation: AnswerAggregation;
  /** Answer only at confidence ≥ threshold; `null` = answer always. */
  readonly threshold: number | null;
  /** How the threshold was set: "default", "configured", or the calibration objective. */
  readonly thresholdSource: string;
  readonly fallback: string;
  readonly inputType: InputType;
  readonly answers: number;
  readonly questions: number;
  /** Most questions any one answer has (sizes candidate queries). */
  readonly maxQuestionsPerAnswer: number;
  readonly updatedAt: string;
  /**
   * Coverage/precision trade-off measured by the last `calibrate` (ascending
   * thresholds, about 21 points); `null` when the FAQ was never calibrated
   * (or was calibrated before the curve was stored).
   */
  readonly calibrationCurve: readonly CalibrationCurvePoint[] | null;
}

/** One point of a stored calibration curve. Ratios in [0, 1]. */
export interface CalibrationCurvePoint {
  readonly threshold: number;
  readonly coverage: number;
  readonly precision: number;
}

/** Most points kept in a stored calibration curve (the stored JSON stays small). */
const MAX_CURVE_POINTS = 64;

/** Parse a stored calibration curve; anything malformed reads as "no curve". */
function curveOf(value: unknown): readonly CalibrationCurvePoint[] | null {
  if (typeof value !== "string" || value.length > 16_384) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > MAX_CURVE_POINTS) return null;
  const points: CalibrationCurvePoint[] = [];
  for (const entry of parsed) {
    if (
      !Array.isArray(entry) ||
      entry.length !== 3 ||
      !entry.every((n) => typeof n === "number" && Number.isFinite(n))
    )
      return null;
    const [threshold, coverage, precision] = entry as [number, number, number];
    points.push({ threshold, coverage, precision });
  }
  return points;
}

/** The calibration curve stored in a FAQ's settings metadata, or `null` (never calibrated, or an older FAQ). */
export function calibrationCurveOf(settings: Metadata): readonly CalibrationCurvePoint[] | null {
  return curveOf(settings.calibration_curve);
}

const round4 = (value: number): number => Math.round(value * 10_000) / 10_000;

function metadataOf(settings: FaqSettings): Metadata {
  return {
    faq_kind: "settings",
    faq_version: 1,
    language: settings.language,
    aggregation: settings.aggregation,
    threshold: settings.threshold,
    threshold_source: settings.thresholdSource,
    fallback: settings.fallback,
    input_type: settings.inputType,
    answers: settings.answers,
    questions: settings.questions,
    max_questions_per_answer: settings.maxQuestionsPerAnswer,
    updated_at: settings.updatedAt,
    // Metadata values are scalars: the curve is stored as JSON of [threshold, coverage, precision] triples.
    calibration_curve:
      settings.calibrationCurve === null
        ? null
        : JSON.stringify(
            settings.calibrationCurve.map((point) => [
              point.threshold,
              round4(point.coverage),
              round4(point.precision),
            ]),
          ),
  };
}

function notAFaq(collection: string, why: string): EmbedkitError {
  return new EmbedkitError(
    "INVALID_INPUT",
    `Collection "${collection}" is not a usable FAQ: ${why}. Index it with \`embedkit faq index <faq.csv> --collection ${collection}\`` +
      " (add --replace to rebuild an existing collection).",
    { details: { param: "collection", collection } },
  );
}

function settingsOf(item: StoredItem | undefined, collection: string): FaqSettings {
  if (item === undefined)
    throw notAFaq(collection, "it has no FAQ settings (not indexed as a FAQ, or indexing was interrupted)");
  const m = item.metadata;
  const language = m.language === "zh" ? "zh" : "en";
  const aggregation = typeof m.aggregation === "string" ? m.aggregation : DEFAULT_AGGREGATION;
  assertAggregation(aggregation);
  return {
    language,
    aggregation,
    threshold: typeof m.threshold === "number" ? m.threshold : null,
    thresholdSource: typeof m.threshold_source === "string" ? m.threshold_source : "configured",
    fallback: typeof m.fallback === "string" ? m.fallback : DEFAULT_FALLBACK[language],
    inputType: m.input_type === "query" || m.input_type === "passage" ? m.input_type : "none",
    answers: typeof m.answers === "number" ? m.answers : 0,
    questions: typeof m.questions === "number" ? m.questions : 0,
    maxQuestionsPerAnswer: typeof m.max_questions_per_answer === "number" ? m.max_questions_per_answer : 1,
    updatedAt: typeof m.updated_at === "string" ? m.updated_at : "",
    calibrationCurve: curveOf(m.calibration_curve),
  };
}

/** A placeholder unit vector for the settings item (never returned as a hit). */
function placeholderVector(dims: number): Float32Array {
  const vector = new Float32Array(dims);
  vector[0] = 1;
  return vector;
}

function questionId(answer: string, question: string): string {
  return `q-${createHash("sha256").update(`${answer}\n${question}`, "utf8").digest("hex").slice(0, 24)}`;
}

/** One answer of a reply. */
export interface FaqCandidate {
  readonly answerId: string;
  readonly answer: string;
  /** Aggregated similarity, the confidence of this answer. */
  readonly score: number;
  /** The FAQ question that matched best. */
  readonly matchedQuestion: string;
  readonly category?: string;
}

/** What {@link Faq.ask} returns. */
export interface FaqReply {
  readonly question: string;
  /** True when the best answer reached the threshold. */
  readonly answered: boolean;
  /** The text to show: the best answer, or the fallback. */
  readonly reply: string;
  /** The best answer (also when below the threshold), or null for an empty FAQ. */
  readonly best: FaqCandidate | null;
  /** Confidence of the best answer (its aggregated cosine). */
  readonly confidence: number;
  /** Threshold applied; null = none. */
  readonly threshold: number | null;
  /** The top-k answers, best first (including the best). */
  readonly alternatives: readonly FaqCandidate[];
}

/** Options of {@link Faq.ask}. */
export interface AskFaqOptions {
  /** Alternatives returned. @default 3 */
  readonly k?: number;
  /** Override the stored threshold for this question (`null` = always answer). */
  readonly threshold?: number | null;
  /** Override the stored fallback text. */
  readonly fallback?: string;
  /** Only answers whose metadata match (e.g. `category=cards`). */
  readonly filter?: string;
  /** Called as questions are answered (`askMany`): questions done so far, and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Options of {@link Faq.evaluate}. */
export interface EvaluateFaqThresholdOptions {
  /** Score at this threshold instead of the stored one (`null` = always answer); nothing is saved. */
  readonly threshold?: number | null;
  /** Called as questions are answered. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Result of {@link Faq.evaluate}: the FAQ's quality on labelled questions at one threshold. */
export interface FaqThresholdEvaluation {
  /** Threshold scored (`null` = always answer). */
  readonly threshold: number | null;
  /** Where it came from: the stored setting's source, or "given". */
  readonly thresholdSource: string;
  readonly questions: number;
  /** Labelled questions the FAQ has no answer for (`expected` = none). */
  readonly unanswerable: number;
  /** Accuracy, coverage, precision, in-scope accuracy and out-of-scope recall at the threshold. */
  readonly point: ThresholdPoint;
}

/** Options of {@link Faq.calibrate}. */
export interface CalibrateFaqOptions {
  /** @default { kind: "accuracy" } */
  readonly objective?: CalibrationObjective;
  /** Store the chosen threshold in the collection. @default true */
  readonly save?: boolean;
}

/** Result of {@link Faq.calibrate}. */
export interface FaqCalibration extends Calibration {
  readonly questions: number;
  readonly unanswerable: number;
  /** Precision/coverage curve on the labelled questions (about 21 points). */
  readonly curve: readonly ThresholdPoint[];
  readonly saved: boolean;
}

/** An open FAQ collection. */
export interface Faq {
  readonly collection: string;
  readonly model: string;
  readonly settings: FaqSettings;
  /**
   * Answer one question.
   * @throws EmbedkitError INVALID_INPUT (empty question), INVALID_OPTION (k, threshold), INVALID_FILTER
   */
  ask(question: string, options?: AskFaqOptions): Promise<FaqReply>;
  /** Answer several questions (embedded in one call). */
  askMany(questions: readonly string[], options?: AskFaqOptions): Promise<FaqReply[]>;
  /**
   * Choose the threshold from labelled questions (expected = answer text or
   * answer id, or null when the FAQ cannot answer) and store it.
   * @throws EmbedkitError INVALID_INPUT for an expected answer the FAQ does not have
   */
  calibrate(labelled: readonly LabelledQuery[], options?: CalibrateFaqOptions): Promise<FaqCalibration>;
  /**
   * Score the FAQ on labelled questions at its stored threshold (or `options.threshold`)
   * without changing anything: accuracy, coverage, precision, out-of-scope recall.
   * @throws EmbedkitError INVALID_INPUT for no questions or an expected answer the FAQ does not have
   */
  evaluate(
    labelled: readonly LabelledQuery[],
    options?: EvaluateFaqThresholdOptions,
  ): Promise<FaqThresholdEvaluation>;
  /** Change the stored threshold and/or fallback. */
  configure(changes: {
    readonly threshold?: number | null;
    readonly fallback?: string;
  }): Promise<FaqSettings>;
}

/** Options of {@link createFaq}. */
export interface CreateFaqOptions {
  readonly store: VectorStore;
  readonly collection: string;
  /** Embedder of the collection's model (the caller owns and closes it). */
  readonly embedder: Embedder;
}

function checkK(k: number): number {
  return checkInteger("k", k, { min: 1, max: 100 });
}

function checkThreshold(threshold: number | null | undefined): void {
  if (threshold === undefined || threshold === null) return;
  if (typeof threshold !== "number" || !Number.isFinite(threshold) || threshold < -1 || threshold > 1) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `threshold must be a number from -1 to 1 (a cosine similarity), received ${String(threshold)}.`,
      { details: { param: "threshold", received: threshold } },
    );
  }
}

function checkFallback(fallback: string | undefined): void {
  if (fallback === undefined) return;
  if (
    typeof fallback !== "string" ||
    fallback.trim() === "" ||
    Buffer.byteLength(fallback) > STORE_LIMITS.maxMetadataValueBytes
  ) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `fallback must be a non-empty text of at most ${STORE_LIMITS.maxMetadataValueBytes} bytes.`,
      { details: { param: "fallback" } },
    );
  }
}

function checkQuestion(question: unknown, index: number): string {
  if (typeof question !== "string" || question.trim() === "") {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `Question ${index} is ${typeof question === "string" ? "empty" : `a ${typeof question}`}; ask a non-empty text.`,
      { details: { param: "question", index } },
    );
  }
  return question.trim();
}

function checkEmbedder(collection: Collection, embedder: Embedder): void {
  if (embedder.model.id !== collection.info.model) {
    throw new EmbedkitError(
      "MODEL_MISMATCH",
      `FAQ "${collection.name}" was indexed with ${collection.info.model}, but the embedder is ${embedder.model.id}. ` +
        `Use ${collection.info.model} (the model is fixed when a FAQ is indexed).`,
      { details: { expected: collection.info.model, received: embedder.model.id } },
    );
  }
}

function candidateOf(score: AnswerScore, metadata: Metadata): FaqCandidate {
  return {
    answerId: score.answerId,
    answer: typeof metadata.answer === "string" ? metadata.answer : "",
    score: score.score,
    matchedQuestion: score.matchedQuestion ?? "",
    ...(typeof metadata.category === "string" ? { category: metadata.category } : {}),
  };
}

/**
 * Open a FAQ collection indexed by {@link indexFaq}.
 *
 * @throws EmbedkitError UNKNOWN_COLLECTION, INVALID_INPUT (not a FAQ), MODEL_MISMATCH (embedder of another model)
 * @example
 * ```ts
 * const faq = await createFaq({ store, collection: "support", embedder });
 * const reply = await faq.ask("How do I reset my card PIN?");
 * console.log(reply.answered ? reply.reply : `fallback: ${reply.reply}`);
 * ```
 */
export async function createFaq(options: CreateFaqOptions): Promise<Faq> {
  const collection = await options.store.getCollection(options.collection);
  checkEmbedder(collection, options.embedder);
  let settings = settingsOf((await collection.get([FAQ_SETTINGS_ID]))[0], options.collection);
  const { embedder } = options;
  const model = collection.info.model;

  const embed = async (texts: readonly string[]): Promise<Float32Array[]> =>
    (await embedder.embed(texts, { inputType: settings.inputType })).vectors;

  /** The best-matching question of each answer in `answerIds` (exact, filtered to those answers). */
  const bestQuestions = async (
    vector: Float32Array,
    answerIds: readonly string[],
  ): Promise<Map<string, QuestionScore>> => {
    const members = await collection.query({
      vector,
      k: Math.min(STORE_LIMITS.maxK, answerIds.length * settings.maxQuestionsPerAnswer),
      filter: [
        { field: "faq_kind", op: "eq", value: "question" },
        { field: "answer_id", op: "in", values: [...answerIds] },
      ],
      model,
      exact: true,
    });
    const best = new Map<string, QuestionScore>();
    for (const hit of members) {
      const id = String(hit.metadata.answer_id);
      // Hits come best first, so the first of each answer is its best question.
      if (!best.has(id)) best.set(id, { answerId: id, score: hit.score, question: hit.text ?? "" });
    }
    return best;
  };

  const rank = async (
    vector: Float32Array,
    k: number,
    filter: string | undefined,
  ): Promise<FaqCandidate[]> => {
    const extra = filter === undefined || filter.trim() === "" ? "" : `,${filter}`;
    if (settings.aggregation === "centroid") {
      // One item per answer holds its centroid: the answers are ranked exactly by one query.
      const answers = await collection.query({ vector, k, filter: `faq_kind=centroid${extra}`, model });
      if (answers.length === 0) return [];
      const best = await bestQuestions(
        vector,
        answers.map((hit) => String(hit.metadata.answer_id)),
      );
      return answers.map((hit) => {
        const id = String(hit.metadata.answer_id);
        const question = best.get(id);
        return candidateOf(
          {
            answerId: id,
            score: hit.score,
            matchedScore: question?.score ?? hit.score,
            matchedQuestion: question?.question ?? hit.text ?? "",
          },
          hit.metadata,
        );
      });
    }
    const candidates = settings.aggregation === "max" ? k : 2 * k + 8;
    const hits = await collection.query({
      vector,
      k: Math.min(STORE_LIMITS.maxK, candidates * settings.maxQuestionsPerAnswer),
      filter: `faq_kind=question${extra}`,
      model,
    });
    const metadataByAnswer = new Map<string, Metadata>();
    const scores: QuestionScore[] = hits.map((hit) => {
      const id = String(hit.metadata.answer_id);
      if (!metadataByAnswer.has(id)) metadataByAnswer.set(id, hit.metadata);
      return { answerId: id, score: hit.score, question: hit.text ?? "" };
    });
    let ranked = aggregateAnswerScores(scores, "max").slice(0, candidates);
    if (settings.aggregation === "mean" && ranked.length > 0) {
      // Re-score the candidates with all their questions (exact, filtered to those answers).
      const members = await collection.query({
        vector,
        k: Math.min(STORE_LIMITS.maxK, ranked.length * settings.maxQuestionsPerAnswer),
        filter: [
          { field: "faq_kind", op: "eq", value: "question" },
          { field: "answer_id", op: "in", values: ranked.map((entry) => entry.answerId) },
        ],
        model,
        exact: true,
      });
      ranked = aggregateAnswerScores(
        members.map((hit) => ({
          answerId: String(hit.metadata.answer_id),
          score: hit.score,
          question: hit.text ?? "",
        })),
        "mean",
      );
    }
    return ranked.slice(0, k).map((entry) => candidateOf(entry, metadataByAnswer.get(entry.answerId) ?? {}));
  };

  const reply = (question: string, alternatives: FaqCandidate[], options: AskFaqOptions): FaqReply => {
    const threshold = options.threshold === undefined ? settings.threshold : options.threshold;
    const fallback = options.fallback ?? settings.fallback;
    const best = alternatives[0] ?? null;
    const confidence = best?.score ?? 0;
    const answered = best !== null && (threshold === null || confidence >= threshold);
    return {
      question,
      answered,
      reply: answered && best !== null ? best.answer : fallback,
      best,
      confidence,
      threshold,
      alternatives,
    };
  };

  const askMany = async (questions: readonly string[], options: AskFaqOptions = {}): Promise<FaqReply[]> => {
    const texts = questions.map((question, index) => checkQuestion(question, index));
    const k = checkK(options.k ?? 3);
    checkThreshold(options.threshold);
    checkFallback(options.fallback);
    if (texts.length === 0) return [];
    const vectors = await embed(texts);
    const replies: FaqReply[] = [];
    for (let i = 0; i < texts.length; i++) {
      const alternatives = await rank(vectors[i] as Float32Array, k, options.filter);
      replies.push(reply(texts[i] as string, alternatives, options));
      options.onProgress?.(i + 1, texts.length);
    }
    return replies;
  };

  /** Each labelled question's outcome when the FAQ always answers (expected answers checked first). */
  const labelledOutcomes = async (
    labelled: readonly LabelledQuery[],
    onProgress: ((done: number, total: number) => void) | undefined,
  ): Promise<AnswerOutcome[]> => {
    if (labelled.length === 0) {
      throw new EmbedkitError("INVALID_INPUT", "Calibration needs at least one labelled question.");
    }
    // Resolve expected answers (text or id) to ids and make sure the FAQ has each.
    const expectedIds = labelled.map((entry) =>
      entry.expected === null
        ? null
        : /^a-[0-9a-f]{16}$/.test(entry.expected)
          ? entry.expected
          : answerId(entry.expected),
    );
    for (const id of new Set(expectedIds)) {
      if (id === null) continue;
      const found = await collection.count([{ field: "answer_id", op: "eq", value: id }]);
      if (found === 0) {
        const line = expectedIds.indexOf(id);
        throw new EmbedkitError(
          "INVALID_INPUT",
          `Labelled question ${line + 1} ("${labelled[line]?.query}") expects an answer the FAQ does not have: ` +
            `${JSON.stringify(labelled[line]?.expected)}. Copy the answer text exactly from the FAQ file, or write "none" ` +
            "when the FAQ has no answer for the question.",
          { details: { line: line + 1 } },
        );
      }
    }
    const replies = await askMany(
      labelled.map((entry) => entry.query),
      { k: 1, threshold: null, ...(onProgress === undefined ? {} : { onProgress }) },
    );
    return replies.map((entry, index) => ({
      confidence: entry.confidence,
      inScope: expectedIds[index] !== null,
      correct: expectedIds[index] !== null && entry.best?.answerId === expectedIds[index],
    }));
  };

  const save = async (next: FaqSettings): Promise<void> => {
    await collection.upsert(
      [{ id: FAQ_SETTINGS_ID, vector: placeholderVector(collection.info.dims), metadata: metadataOf(next) }],
      { model },
    );
    settings = next;
  };

  return {
    collection: options.collection,
    model,
    get settings() {
      return settings;
    },
    async ask(question, options = {}) {
      return (await askMany([question], options))[0] as FaqReply;
    },
    askMany,
    async calibrate(labelled, options = {}) {
      const outcomes = await labelledOutcomes(labelled, undefined);
      const objective = options.objective ?? { kind: "accuracy" };
      const chosen = calibrateThreshold(outcomes, objective);
      const shouldSave = options.save ?? true;
      const curve = thresholdCurve(outcomes, { points: 21 });
      if (shouldSave) {
        await save({
          ...settings,
          calibrationCurve: curve.map(({ threshold, coverage, precision }) => ({
            threshold,
            coverage,
            precision,
          })),
          threshold: chosen.threshold,
          thresholdSource: `calibrated (${objective.kind}${objective.kind === "accuracy" ? "" : ` ≥ ${objective.target}`}, ${labelled.length} questions)`,
          updatedAt: new Date().toISOString(),
        });
      }
      return {
        ...chosen,
        questions: labelled.length,
        unanswerable: outcomes.filter((outcome) => !outcome.inScope).length,
        curve,
        saved: shouldSave,
      };
    },
    async evaluate(labelled, options = {}) {
      checkThreshold(options.threshold);
      const threshold = options.threshold === undefined ? settings.threshold : options.threshold;
      const outcomes = await labelledOutcomes(labelled, options.onProgress);
      return {
        threshold,
        thresholdSource: options.threshold === undefined ? settings.thresholdSource : "given",
        questions: labelled.length,
        unanswerable: outcomes.filter((outcome) => !outcome.inScope).length,
        // No threshold: every question is answered (a cosine is never below -1).
        point: evaluateThreshold(outcomes, threshold ?? -1),
      };
    },
    async configure(changes) {
      checkThreshold(changes.threshold);
      checkFallback(changes.fallback);
      await save({
        ...settings,
        ...(changes.threshold === undefined
          ? {}
          : { threshold: changes.threshold, thresholdSource: "configured" }),
        ...(changes.fallback === undefined ? {} : { fallback: changes.fallback.trim() }),
        updatedAt: new Date().toISOString(),
      });
      return settings;
    },
  };
}

/** Options of {@link indexFaq}. */
export interface IndexFaqOptions {
  readonly store: VectorStore;
  readonly collection: string;
  /** FAQ rows (see `readFaqFile`). */
  readonly entries: readonly FaqEntry[];
  /**
   * Embedder to use; its model becomes the collection's model. When absent,
   * `openEmbedder` is called with the model chosen for the FAQ's language.
   */
  readonly embedder?: Embedder;
  /** Opens the embedder of a model id (used when `embedder` is absent). */
  readonly openEmbedder?: (model: string) => Promise<Embedder>;
  /** Model id; default by detected language ({@link DEFAULT_FAQ_MODELS}). */
  readonly model?: string;
  /** @default "max" */
  readonly aggregation?: AnswerAggregation;
  /** Stored threshold; default {@link DEFAULT_THRESHOLDS} for the model, else none. */
  readonly threshold?: number | null;
  /** Stored fallback text; default {@link DEFAULT_FALLBACK} for the language. */
  readonly fallback?: string;
  /** Drop an existing collection of this name first. @default false */
  readonly replace?: boolean;
  /** Progress in questions embedded and written. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Result of {@link indexFaq}. */
export interface IndexFaqReport {
  readonly collection: string;
  readonly model: string;
  readonly language: FaqLanguage;
  /** How the model was chosen: "detected" (from the questions' script) or "given". */
  readonly modelChoice: "detected" | "given";
  readonly answers: number;
  readonly questions: number;
  readonly created: boolean;
  readonly settings: FaqSettings;
}

const INDEX_BATCH = 256;

/**
 * Index FAQ rows into a collection: questions sharing an answer become one FAQ
 * item; each question is embedded and upserted (idempotent by id, so re-running
 * adds new rows and changes nothing else); the settings item is written last.
 * A new collection records the model; an existing one must be a FAQ built with
 * the same model (or pass `replace`).
 *
 * @throws EmbedkitError INVALID_INPUT (no rows, answer too long), MODEL_MISMATCH (existing collection
 *   built with another model), plus the embedder's and the store's errors
 * @example
 * ```ts
 * const entries = await readFaqFile("faq.csv");
 * const report = await indexFaq({ store, collection: "support", entries, openEmbedder: (model) => createEmbedder({ model }) });
 * ```
 */
export async function indexFaq(options: IndexFaqOptions): Promise<IndexFaqReport> {
  if (options.entries.length === 0) {
    throw new EmbedkitError("INVALID_INPUT", "The FAQ has no rows; add at least one question and answer.");
  }
  if (options.aggregation !== undefined) assertAggregation(options.aggregation);
  checkThreshold(options.threshold);
  checkFallback(options.fallback);
  const answers: FaqAnswer[] = groupFaqEntries(options.entries);
  for (const answer of answers) {
    const bytes = Buffer.byteLength(answer.answer, "utf8");
    if (bytes > STORE_LIMITS.maxMetadataValueBytes) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `The answer starting "${answer.answer.slice(0, 40)}…" is ${bytes} bytes; at most ${STORE_LIMITS.maxMetadataValueBytes} ` +
          "UTF-8 bytes are stored per answer. Shorten it or link to a page.",
      );
    }
  }
  const questions = answers.flatMap((answer) => answer.questions);
  const language = detectFaqLanguage(questions);
  const modelChoice = options.model !== undefined || options.embedder !== undefined ? "given" : "detected";
  const modelId = options.model ?? options.embedder?.model.id ?? DEFAULT_FAQ_MODELS[language];
  let embedder = options.embedder;
  let owned = false;
  if (embedder === undefined) {
    if (options.openEmbedder === undefined) {
      throw new EmbedkitError("INVALID_OPTION", "indexFaq needs an embedder or an openEmbedder function.");
    }
    embedder = await options.openEmbedder(modelId);
    owned = true;
  }
  try {
    const model = embedder.model;
    if (options.replace === true) {
      await options.store.dropCollection(options.collection).catch((error: unknown) => {
        if (!(EmbedkitError.isInstance(error) && error.code === "UNKNOWN_COLLECTION")) throw error;
      });
    }
    let collection: Collection;
    let created = false;
    let previous: FaqSettings | undefined;
    try {
      collection = await options.store.getCollection(options.collection);
      const existing = (await collection.get([FAQ_SETTINGS_ID]))[0];
      if (existing === undefined && (await collection.count()) > 0) {
        throw notAFaq(
          options.collection,
          "it holds items but no FAQ settings (it is not a FAQ collection, or indexing was interrupted)",
        );
      }
      previous = existing === undefined ? undefined : settingsOf(existing, options.collection);
      checkEmbedder(collection, embedder);
    } catch (error) {
      if (!(EmbedkitError.isInstance(error) && error.code === "UNKNOWN_COLLECTION")) throw error;
      collection = await options.store.createCollection(
        options.collection,
        collectionSpecFor(model, "cosine"),
      );
      created = true;
    }
    const inputType = previous?.inputType ?? symmetricInputType(embedder);
    const items = answers.flatMap((answer) =>
      answer.questions.map((question) => ({
        id: questionId(answer.id, question),
        text: question,
        metadata: {
          faq_kind: "question",
          answer_id: answer.id,
          answer: answer.answer,
          ...(answer.category === undefined ? {} : { category: answer.category }),
        } satisfies Metadata,
      })),
    );
    const answerVectors = new Map<string, Float32Array[]>();
    options.onProgress?.(0, items.length);
    for (let start = 0; start < items.length; start += INDEX_BATCH) {
      const batch = items.slice(start, start + INDEX_BATCH);
      const vectors = (
        await embedder.embed(
          batch.map((item) => item.text),
          { inputType },
        )
      ).vectors;
      await collection.upsert(
        batch.map((item, index) => ({ ...item, vector: vectors[index] as Float32Array })),
        { model: model.id },
      );
      batch.forEach((item, index) => {
        const list = answerVectors.get(item.metadata.answer_id) ?? [];
        list.push(vectors[index] as Float32Array);
        answerVectors.set(item.metadata.answer_id, list);
      });
      options.onProgress?.(Math.min(items.length, start + batch.length), items.length);
    }
    // One centroid item per answer (the normalized mean of its question vectors), for `centroid` ranking.
    const centroids = [];
    for (const answer of answers) {
      let vectors = answerVectors.get(answer.id) ?? [];
      if (previous !== undefined) {
        // The collection may hold more questions of this answer from earlier runs: use them all.
        const members = await collection.query({
          vector: centroidOf(vectors),
          k: STORE_LIMITS.maxK,
          filter: [
            { field: "faq_kind", op: "eq", value: "question" },
            { field: "answer_id", op: "eq", value: answer.id },
          ],
          model: model.id,
          exact: true,
          includeVectors: true,
        });
        vectors = members.map((hit) => hit.vector as Float32Array);
      }
      centroids.push({
        id: `c-${answer.id}`,
        text: answer.questions[0] as string,
        vector: centroidOf(vectors),
        metadata: {
          faq_kind: "centroid",
          answer_id: answer.id,
          answer: answer.answer,
          questions: vectors.length,
          ...(answer.category === undefined ? {} : { category: answer.category }),
        } satisfies Metadata,
      });
    }
    for (let start = 0; start < centroids.length; start += INDEX_BATCH) {
      await collection.upsert(centroids.slice(start, start + INDEX_BATCH), { model: model.id });
    }
    const totalQuestions = await collection.count([{ field: "faq_kind", op: "eq", value: "question" }]);
    const answerCount = await collection.count([{ field: "faq_kind", op: "eq", value: "centroid" }]);
    const threshold =
      options.threshold !== undefined
        ? options.threshold
        : (previous?.threshold ?? DEFAULT_THRESHOLDS[model.id] ?? null);
    const settings: FaqSettings = {
      language,
      aggregation: options.aggregation ?? previous?.aggregation ?? DEFAULT_AGGREGATION,
      threshold,
      thresholdSource:
        options.threshold !== undefined
          ? "configured"
          : (previous?.thresholdSource ?? (threshold === null ? "none" : "default")),
      fallback: options.fallback?.trim() ?? previous?.fallback ?? DEFAULT_FALLBACK[language],
      inputType,
      answers: answerCount,
      questions: totalQuestions,
      maxQuestionsPerAnswer: Math.max(
        previous?.maxQuestionsPerAnswer ?? 1,
        ...answers.map((answer) => answer.questions.length),
      ),
      updatedAt: new Date().toISOString(),
      // The curve measured the previous calibration; kept with the calibrated threshold it belongs to.
      calibrationCurve: options.threshold !== undefined ? null : (previous?.calibrationCurve ?? null),
    };
    await collection.upsert(
      [{ id: FAQ_SETTINGS_ID, vector: placeholderVector(model.dims), metadata: metadataOf(settings) }],
      { model: model.id },
    );
    return {
      collection: options.collection,
      model: model.id,
      language,
      modelChoice,
      answers: answers.length,
      questions: questions.length,
      created,
      settings,
    };
  } finally {
    if (owned) await embedder.close();
  }
}
