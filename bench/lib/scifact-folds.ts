/**
 * The SciFact folds of the query-adapter bench (bench/train.ts) and the
 * embedding fine-tuning bench (bench/finetune-embeddings.ts), in one place so
 * both train and score on the same split: the test claims shuffled with seed
 * 11 and cut in two halves; each fold trains on one half (its first quarter
 * held out for early stopping) and is scored on the other half against the
 * whole corpus.
 */
import type { RetrievalSet } from "../../src/eval/task-data.js";
import { createRandom } from "../../src/vectors/random.js";

/** One fold: query indices (into `set.queries`) to fit on, to validate on, and to score. */
export interface ScifactFold {
  readonly fold: number;
  readonly fitting: readonly number[];
  readonly validation: readonly number[];
  readonly test: readonly number[];
}

/** The two folds (halves swapped), as bench/train.ts's adapter bench defines them. */
export function scifactFolds(set: RetrievalSet): ScifactFold[] {
  const order = createRandom(11).shuffle(set.queries.map((_, index) => index));
  const halves = [order.slice(0, order.length / 2), order.slice(order.length / 2)];
  return [0, 1].map((fold) => {
    const trainHalf = halves[fold] as number[];
    const validation = trainHalf.slice(0, Math.round(trainHalf.length / 4));
    return {
      fold,
      fitting: trainHalf.slice(validation.length),
      validation,
      test: halves[1 - fold] as number[],
    };
  });
}

/** (query, relevant document) pairs of some queries: indices into `set.queries` and `set.corpus`. */
export function relevantPairs(
  set: RetrievalSet,
  queries: readonly number[],
): { query: number; document: number; documentId: string }[] {
  const documentIndex = new Map(set.corpus.map((document, index) => [document.id, index]));
  return queries.flatMap((index) =>
    [...(set.qrels.get((set.queries[index] as { id: string }).id) ?? new Map<string, number>()).entries()]
      .filter(([, gain]) => gain > 0)
      .map(([documentId]) => ({
        query: index,
        document: documentIndex.get(documentId) as number,
        documentId,
      })),
  );
}
