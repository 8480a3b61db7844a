/**
 * @module bench/lib/tfidf-classifier
 * The classical baseline of bench/train.ts: TF-IDF features + multinomial
 * logistic regression, trained with embedkit's own optimizer, schedule and
 * loss (src/train) on sparse rows. Tokens: lower-cased word unigrams + bigrams
 * for English, character unigrams + bigrams for Chinese (no segmenter needed).
 * Weights as scikit-learn's `TfidfVectorizer(sublinear_tf=True)`: tf = 1 + ln
 * count, idf = ln((1 + n) / (1 + df)) + 1, rows L2-normalised; the vocabulary
 * is fitted on the training texts only. The regression is softmax over a
 * sparse linear layer, AdamW with cosine decay, mini-batches, and the same
 * 10 % stratified validation split and early stopping as the embedding head,
 * so both sides get the same protocol.
 */
import {
  createOptimizer,
  createParameter,
  createSchedule,
  softmaxCrossEntropy,
  stratifiedSplit,
} from "../../src/train/index.js";
import { createRandom } from "../../src/vectors/random.js";

/** A sparse row: feature ids and their weights. */
export interface SparseRow {
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

/** Tokens of a text: word 1+2-grams (en) or character 1+2-grams (zh). */
export function tokenize(text: string, language: "en" | "zh"): string[] {
  const units =
    language === "zh"
      ? [...text.toLowerCase()].filter((character) => /[\p{L}\p{N}]/u.test(character))
      : (text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []);
  const tokens = [...units];
  const joiner = language === "zh" ? "" : " ";
  for (let i = 1; i < units.length; i++) tokens.push(`${units[i - 1]}${joiner}${units[i]}`);
  return tokens;
}

/** A fitted TF-IDF vectorizer. */
export interface TfidfVectorizer {
  readonly features: number;
  transform(texts: readonly string[]): SparseRow[];
}

/** Fit the vocabulary and idf on `texts`. */
export function fitTfidf(texts: readonly string[], language: "en" | "zh"): TfidfVectorizer {
  const vocabulary = new Map<string, number>();
  const documentFrequency: number[] = [];
  for (const text of texts) {
    for (const token of new Set(tokenize(text, language))) {
      let id = vocabulary.get(token);
      if (id === undefined) {
        id = vocabulary.size;
        vocabulary.set(token, id);
        documentFrequency.push(0);
      }
      documentFrequency[id] = (documentFrequency[id] as number) + 1;
    }
  }
  const n = texts.length;
  const idf = Float32Array.from(documentFrequency, (df) => Math.log((1 + n) / (1 + df)) + 1);
  return {
    features: vocabulary.size,
    transform(inputs) {
      return inputs.map((text) => {
        const counts = new Map<number, number>();
        for (const token of tokenize(text, language)) {
          const id = vocabulary.get(token);
          if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
        }
        const indices = Int32Array.from(counts.keys());
        const values = Float32Array.from(
          indices,
          (id) => (1 + Math.log(counts.get(id) as number)) * (idf[id] as number),
        );
        let norm = 0;
        for (const value of values) norm += value * value;
        norm = Math.sqrt(norm) || 1;
        for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) / norm;
        return { indices, values };
      });
    },
  };
}

/** Settings of {@link trainSparseLogisticRegression}. */
export interface SparseLogisticOptions {
  readonly rows: readonly SparseRow[];
  readonly targets: Int32Array;
  readonly classes: number;
  readonly features: number;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  readonly weightDecay?: number;
  readonly seed?: number;
  /** Early-stopping patience on validation accuracy (10 % stratified split). */
  readonly patience?: number;
}

/** Softmax regression on sparse rows; returns a predictor of class indices. */
export function trainSparseLogisticRegression(
  options: SparseLogisticOptions,
): (rows: readonly SparseRow[]) => number[] {
  const { classes, features } = options;
  const weight = createParameter({ name: "weight", shape: [classes, features] });
  const bias = createParameter({ name: "bias", shape: [classes], decay: false });
  const epochs = options.epochs ?? 30;
  const batchSize = options.batchSize ?? 64;
  const seed = options.seed ?? 42;
  const split = stratifiedSplit(
    Array.from(options.targets, (target) => String(target)),
    0.1,
    seed,
  );
  const train = split.train;
  const optimizer = createOptimizer([weight, bias], {
    name: "adamw",
    learningRate: options.learningRate ?? 0.01,
    weightDecay: options.weightDecay ?? 1e-4,
  });
  const steps = Math.ceil(train.length / batchSize) * epochs;
  const schedule = createSchedule({
    name: "cosine",
    learningRate: optimizer.learningRate,
    totalSteps: steps,
  });
  const random = createRandom(seed);
  const logitsOf = (rows: readonly SparseRow[]): Float32Array => {
    const out = new Float32Array(rows.length * classes);
    rows.forEach((row, r) => {
      for (let c = 0; c < classes; c++) {
        let sum = bias.value[c] as number;
        const offset = c * features;
        for (let k = 0; k < row.indices.length; k++) {
          sum += (weight.value[offset + (row.indices[k] as number)] as number) * (row.values[k] as number);
        }
        out[r * classes + c] = sum;
      }
    });
    return out;
  };
  const predict = (rows: readonly SparseRow[]): number[] => {
    const logits = logitsOf(rows);
    return rows.map((_, r) => {
      let best = 0;
      for (let c = 1; c < classes; c++)
        if ((logits[r * classes + c] as number) > (logits[r * classes + best] as number)) best = c;
      return best;
    });
  };
  const validationRows = split.validation.map((index) => options.rows[index] as SparseRow);
  const validationTargets = split.validation.map((index) => options.targets[index] as number);
  let best = { accuracy: -1, weight: weight.value.slice(), bias: bias.value.slice() };
  let sinceBest = 0;
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = random.shuffle(train);
    for (let start = 0; start < order.length; start += batchSize) {
      const batch = order.slice(start, start + batchSize);
      const rows = batch.map((index) => options.rows[index] as SparseRow);
      const logits = logitsOf(rows);
      const { grad } = softmaxCrossEntropy(
        { data: logits, shape: [rows.length, classes] },
        Int32Array.from(batch, (index) => options.targets[index] as number),
      );
      optimizer.zeroGrad();
      rows.forEach((row, r) => {
        for (let c = 0; c < classes; c++) {
          const g = grad.data[r * classes + c] as number;
          bias.grad[c] = (bias.grad[c] as number) + g;
          const offset = c * features;
          for (let k = 0; k < row.indices.length; k++) {
            const index = offset + (row.indices[k] as number);
            weight.grad[index] = (weight.grad[index] as number) + g * (row.values[k] as number);
          }
        }
      });
      optimizer.learningRate = schedule(step++);
      optimizer.step();
    }
    const predicted = predict(validationRows);
    const accuracy =
      predicted.filter((value, index) => value === validationTargets[index]).length / predicted.length;
    if (accuracy > best.accuracy) {
      best = { accuracy, weight: weight.value.slice(), bias: bias.value.slice() };
      sinceBest = 0;
    } else if (++sinceBest >= (options.patience ?? 5)) {
      break;
    }
  }
  weight.value.set(best.weight);
  bias.value.set(best.bias);
  return predict;
}
