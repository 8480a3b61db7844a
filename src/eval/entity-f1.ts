/**
 * @module eval/entity-f1
 * Entity-level precision, recall and F1 for named-entity recognition, the
 * CoNLL-2003 way: a predicted entity counts only if its span (start and end) and
 * its type both match a gold entity exactly. Reported per type and micro-averaged
 * over all entities. {@link bioToSpans} turns BIO/IOB2 tag sequences into spans
 * (conlleval's rule: an `I-X` that does not continue an `X` entity starts one).
 */
import { EmbedkitError } from "../errors.js";

/** One entity: token (or character) offsets `[start, end)` and a type. */
export interface EntitySpan {
  readonly start: number;
  readonly end: number;
  readonly type: string;
}

/** Precision, recall and F1 for one entity type, or micro-averaged. */
export interface EntityScores {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Gold entities. */
  readonly support: number;
  /** Predicted entities. */
  readonly predicted: number;
  /** Exactly matched entities. */
  readonly correct: number;
}

/** Result of {@link entityF1}. */
export interface EntityF1Report {
  /** Micro average over all entities of all sentences. */
  readonly micro: EntityScores;
  /** Per entity type, sorted by type name. */
  readonly perType: Readonly<Record<string, EntityScores>>;
}

function scores(correct: number, predicted: number, support: number): EntityScores {
  const precision = predicted === 0 ? 0 : correct / predicted;
  const recall = support === 0 ? 0 : correct / support;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, support, predicted, correct };
}

/**
 * Convert BIO / IOB2 tags (`O`, `B-PER`, `I-PER`, …) to entity spans
 * `[start, end)` in token positions.
 *
 * @throws EmbedkitError INVALID_INPUT for a tag that is not `O`, `B-…` or `I-…`.
 * @example
 * ```ts
 * bioToSpans(["B-PER", "I-PER", "O", "B-LOC"]); // [{ start: 0, end: 2, type: "PER" }, { start: 3, end: 4, type: "LOC" }]
 * ```
 */
export function bioToSpans(tags: readonly string[]): EntitySpan[] {
  const spans: EntitySpan[] = [];
  let open: { start: number; type: string } | undefined;
  const close = (end: number): void => {
    if (open !== undefined) spans.push({ start: open.start, end, type: open.type });
    open = undefined;
  };
  tags.forEach((tag, index) => {
    if (tag === "O") {
      close(index);
      return;
    }
    const match = /^([BI])-(.+)$/.exec(tag);
    if (match === null) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `tags[${index}] must be "O", "B-<type>" or "I-<type>", received ${JSON.stringify(tag)}.`,
        { details: { index } },
      );
    }
    const [, prefix, type] = match as unknown as [string, "B" | "I", string];
    if (prefix === "B" || open === undefined || open.type !== type) {
      close(index);
      open = { start: index, type };
    }
  });
  close(tags.length);
  return spans;
}

/**
 * Entity-level scores over sentences: `gold[i]` and `predicted[i]` are the
 * entities of sentence i. Duplicated spans within a sentence count once.
 *
 * @throws EmbedkitError INVALID_INPUT when the two lists hold a different number of sentences.
 * @example
 * ```ts
 * entityF1([[{ start: 0, end: 2, type: "PER" }]], [[{ start: 0, end: 1, type: "PER" }]]).micro.f1; // 0
 * ```
 */
export function entityF1(
  gold: ReadonlyArray<readonly EntitySpan[]>,
  predicted: ReadonlyArray<readonly EntitySpan[]>,
): EntityF1Report {
  if (gold.length !== predicted.length) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `entityF1 needs one list of entities per sentence on both sides, received ${gold.length} gold and ${predicted.length} predicted sentences.`,
      { details: { expected: gold.length, received: predicted.length } },
    );
  }
  const counts = new Map<string, { correct: number; predicted: number; support: number }>();
  const count = (type: string): { correct: number; predicted: number; support: number } => {
    let entry = counts.get(type);
    if (entry === undefined) {
      entry = { correct: 0, predicted: 0, support: 0 };
      counts.set(type, entry);
    }
    return entry;
  };
  const key = (span: EntitySpan): string => `${span.start}:${span.end}:${span.type}`;
  gold.forEach((goldSpans, sentence) => {
    const goldKeys = new Map(goldSpans.map((span) => [key(span), span]));
    const predictedKeys = new Map((predicted[sentence] ?? []).map((span) => [key(span), span]));
    for (const span of goldKeys.values()) count(span.type).support++;
    for (const [spanKey, span] of predictedKeys) {
      const entry = count(span.type);
      entry.predicted++;
      if (goldKeys.has(spanKey)) entry.correct++;
    }
  });
  const perType: Record<string, EntityScores> = {};
  let correct = 0;
  let predictedTotal = 0;
  let support = 0;
  for (const type of [...counts.keys()].sort()) {
    const entry = counts.get(type) as { correct: number; predicted: number; support: number };
    perType[type] = scores(entry.correct, entry.predicted, entry.support);
    correct += entry.correct;
    predictedTotal += entry.predicted;
    support += entry.support;
  }
  return { micro: scores(correct, predictedTotal, support), perType };
}
