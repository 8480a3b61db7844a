/**
 * @module ner/viterbi
 * Constrained Viterbi decoding for tag sequences. A per-token classifier picks
 * each tag on its own and can emit `I-PER` after `O` or after `B-LOC`; decoding
 * the best path through a transition table that forbids such moves (score
 * −∞) guarantees well-formed output. Optional finite transition scores (e.g.
 * log-probabilities of tag bigrams counted on the training data) are added to
 * the allowed moves, which turns the decoder into a small HMM-style smoother.
 */
import { EmbedkitError } from "../errors.js";
import { isAllowedEnd, isAllowedTransition, type ParsedTag, parseTag, type TagScheme } from "./tag-scheme.js";

/** Which moves between tags are legal, for {@link viterbiDecode}. */
export interface TransitionTable {
  readonly tags: readonly string[];
  /** `allowed[from * K + to]` = 1 when tag `to` may follow tag `from`. */
  readonly allowed: Uint8Array;
  /** `start[k]` = 1 when a sentence may begin with tag k. */
  readonly start: Uint8Array;
  /** `end[k]` = 1 when a sentence may end with tag k. */
  readonly end: Uint8Array;
}

/**
 * Build the transition table of a scheme over a tag list (as produced by
 * `tagSet`).
 * @throws EmbedkitError INVALID_INPUT for a tag outside the scheme
 */
export function buildTransitions(tags: readonly string[], scheme: TagScheme): TransitionTable {
  const parsed: ParsedTag[] = tags.map((tag, index) => {
    const value = parseTag(tag, scheme);
    if (value === undefined) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `tags[${index}] = ${JSON.stringify(tag)} is not a ${scheme.toUpperCase()} tag.`,
        { details: { index } },
      );
    }
    return value;
  });
  const size = tags.length;
  const allowed = new Uint8Array(size * size);
  const start = new Uint8Array(size);
  const end = new Uint8Array(size);
  parsed.forEach((from, i) => {
    start[i] = isAllowedTransition(undefined, from, scheme) ? 1 : 0;
    end[i] = isAllowedEnd(from, scheme) ? 1 : 0;
    parsed.forEach((to, j) => {
      allowed[i * size + j] = isAllowedTransition(from, to, scheme) ? 1 : 0;
    });
  });
  return { tags, allowed, start, end };
}

/**
 * The highest-scoring legal tag path.
 *
 * @param scores Row-major `[positions × K]` per-position tag scores (log-probabilities).
 * @param table Legal moves ({@link buildTransitions}).
 * @param transitionScores Optional `[K × K]` scores added to each legal move.
 * @returns One tag index per position.
 * @example
 * ```ts
 * const table = buildTransitions(["O", "B-PER", "I-PER"], "bio");
 * viterbiDecode(Float32Array.of(0, -5, -1,  -3, -4, -0.1), table); // [0, 0]: no I-PER at the start or after O
 * ```
 */
export function viterbiDecode(
  scores: Float32Array,
  table: TransitionTable,
  transitionScores?: Float32Array,
): number[] {
  const size = table.tags.length;
  const length = scores.length / size;
  if (!Number.isInteger(length)) {
    throw new EmbedkitError(
      "DIMENSION_MISMATCH",
      `scores must hold positions × ${size} values, received ${scores.length}.`,
      { details: { expected: size, received: scores.length } },
    );
  }
  if (length === 0) return [];
  let best = new Float64Array(size);
  let next = new Float64Array(size);
  const back = new Int32Array(length * size);
  for (let k = 0; k < size; k++) {
    best[k] = table.start[k] === 1 ? (scores[k] as number) : Number.NEGATIVE_INFINITY;
  }
  for (let t = 1; t < length; t++) {
    for (let to = 0; to < size; to++) {
      let top = Number.NEGATIVE_INFINITY;
      let arg = 0;
      for (let from = 0; from < size; from++) {
        if (table.allowed[from * size + to] !== 1) continue;
        const value = (best[from] as number) + (transitionScores?.[from * size + to] ?? 0);
        if (value > top) {
          top = value;
          arg = from;
        }
      }
      next[to] = top + (scores[t * size + to] as number);
      back[t * size + to] = arg;
    }
    [best, next] = [next, best];
  }
  let last = 0;
  let top = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < size; k++) {
    if (table.end[k] === 1 && (best[k] as number) > top) {
      top = best[k] as number;
      last = k;
    }
  }
  const path = new Array<number>(length);
  path[length - 1] = last;
  for (let t = length - 1; t > 0; t--) path[t - 1] = back[t * size + (path[t] as number)] as number;
  return path;
}
