/**
 * @module train/encoder/embedding-losses
 * The losses and validation metrics of contrastive fine-tuning of a sentence
 * embedder (`finetuneEmbeddings`), on pooled encoder outputs, each returning
 * its gradient with respect to those outputs (what the trainable encoder's
 * `backward` takes):
 *
 * - {@link normalizeRows} / {@link normalizeRowsBackward}: the embedder's L2
 *   normalization and its vector–Jacobian product, so the losses see the
 *   vectors `embed` returns and the gradient flows through the normalization;
 * - {@link multipleNegativesRankingLoss}: in-batch negatives (as
 *   sentence-transformers' MultipleNegativesRankingLoss): cosine similarities
 *   × scale, cross-entropy with each anchor's own positive as the target;
 *   a candidate that is another row's copy of the anchor's positive (same
 *   text) or the positive of another row with the same anchor is **masked**
 *   (left out of that anchor's softmax), so duplicates never become false
 *   negatives;
 * - {@link cosentLoss}: CoSENT for scored pairs,
 *   `log(1 + Σ_{s_i > s_j} exp(λ·(cos_j − cos_i)))`;
 * - {@link pairRetrievalScores} (held-out MRR and top-1 accuracy of each
 *   anchor's positive among all held-out candidates) and Spearman's rho of
 *   cosine vs score (`eval`'s `spearman`) for validation.
 *
 * Plain functions on Float32Array rows: no engine, no state; the training loop
 * calls them with the encoder's outputs.
 */
import { EmbedkitError } from "../../errors.js";
import { dot } from "../../vectors/math.js";

/** Default similarity scale of both losses (sentence-transformers' default, 20 = 1/0.05). */
export const DEFAULT_SIMILARITY_SCALE = 20;

/** What a loss returns: the mean loss and ∂loss/∂(each input row). */
export interface RowLoss {
  readonly loss: number;
  /** Gradient with respect to the (normalized) rows, same layout as the input. */
  readonly grad: Float32Array;
}

/**
 * L2-normalize `rows` rows of width `dims` (row-major); zero rows stay zero.
 * @returns the unit rows and each row's norm (for {@link normalizeRowsBackward}).
 */
export function normalizeRows(
  values: Float32Array,
  rows: number,
  dims: number,
): { unit: Float32Array; norms: Float64Array } {
  const unit = new Float32Array(rows * dims);
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = values.subarray(r * dims, (r + 1) * dims);
    const norm = Math.sqrt(dot(row, row));
    norms[r] = norm;
    if (norm === 0) continue;
    for (let i = 0; i < dims; i++) unit[r * dims + i] = (row[i] as number) / norm;
  }
  return { unit, norms };
}

/**
 * Gradient through the normalization: for y = x/|x|, ∂L/∂x = (g − y·(y·g)) / |x|.
 * `grad` (∂L/∂y) is replaced by ∂L/∂x in place.
 */
export function normalizeRowsBackward(
  unit: Float32Array,
  norms: Float64Array,
  grad: Float32Array,
  dims: number,
): Float32Array {
  for (let r = 0; r < norms.length; r++) {
    const norm = norms[r] as number;
    const y = unit.subarray(r * dims, (r + 1) * dims);
    const g = grad.subarray(r * dims, (r + 1) * dims);
    if (norm === 0) {
      g.fill(0);
      continue;
    }
    const along = dot(y, g);
    for (let i = 0; i < dims; i++) g[i] = ((g[i] as number) - (y[i] as number) * along) / norm;
  }
  return grad;
}

/** Inputs of {@link multipleNegativesRankingLoss}. */
export interface RankingBatch {
  /** Unit vectors `[batch, dims]` row-major: the layout is anchors, then positives, then hard negatives. */
  readonly vectors: Float32Array;
  readonly dims: number;
  /** Anchors (= positives = rows per block). */
  readonly batch: number;
  /** Hard negatives after the positives (0 or `batch`). @default 0 */
  readonly negatives?: number;
  /** Text of each anchor (duplicate anchors share positives: masked). */
  readonly anchorKeys: readonly string[];
  /** Text of each candidate (positives then negatives): a copy of an anchor's positive is masked. */
  readonly candidateKeys: readonly string[];
  /** Multiplier of the cosine similarities. @default 20 */
  readonly scale?: number;
}

/**
 * MultipleNegativesRanking loss with in-batch negatives (and optional hard negatives): for
 * anchor i, softmax over scale·cos(a_i, c_j) of all candidates j (the batch's positives, then
 * the hard negatives), cross-entropy with c_i as the target; mean over anchors.
 * Candidates with the same text as c_i, and positives of other rows whose anchor has the same
 * text as a_i, are masked out of anchor i's softmax (they are positives, not negatives).
 * @throws EmbedkitError INVALID_INPUT with fewer than 2 anchors (no in-batch negatives)
 */
export function multipleNegativesRankingLoss(input: RankingBatch): RowLoss {
  const { vectors, dims, batch } = input;
  const negatives = input.negatives ?? 0;
  const scale = input.scale ?? DEFAULT_SIMILARITY_SCALE;
  if (batch < 2 && negatives === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `The in-batch negatives loss needs at least 2 pairs per batch (received ${batch}): each anchor's negatives are the other rows' positives.`,
      { details: { batch } },
    );
  }
  const candidates = batch + negatives;
  const grad = new Float32Array(vectors.length);
  const row = (index: number) => vectors.subarray(index * dims, (index + 1) * dims);
  const logits = new Float64Array(candidates);
  const masked = new Uint8Array(candidates);
  let loss = 0;
  for (let i = 0; i < batch; i++) {
    const anchor = row(i);
    const own = input.candidateKeys[i];
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < candidates; j++) {
      masked[j] =
        j !== i &&
        (input.candidateKeys[j] === own || (j < batch && input.anchorKeys[j] === input.anchorKeys[i]))
          ? 1
          : 0;
      if (masked[j] === 1) continue;
      logits[j] = scale * dot(anchor, row(batch + j));
      if ((logits[j] as number) > max) max = logits[j] as number;
    }
    let sum = 0;
    for (let j = 0; j < candidates; j++) if (masked[j] === 0) sum += Math.exp((logits[j] as number) - max);
    const logSum = max + Math.log(sum);
    loss += logSum - (logits[i] as number);
    // ∂/∂logit_j = (softmax_j − [j = i]) / batch; logit_ij = scale·a_i·c_j.
    const gradAnchor = grad.subarray(i * dims, (i + 1) * dims);
    for (let j = 0; j < candidates; j++) {
      if (masked[j] === 1) continue;
      const weight = ((Math.exp((logits[j] as number) - logSum) - (j === i ? 1 : 0)) * scale) / batch;
      if (weight === 0) continue;
      const candidate = row(batch + j);
      const gradCandidate = grad.subarray((batch + j) * dims, (batch + j + 1) * dims);
      for (let k = 0; k < dims; k++) {
        gradAnchor[k] = (gradAnchor[k] as number) + weight * (candidate[k] as number);
        gradCandidate[k] = (gradCandidate[k] as number) + weight * (anchor[k] as number);
      }
    }
  }
  return { loss: loss / batch, grad };
}

/** Inputs of {@link cosentLoss}. */
export interface ScoredBatch {
  /** Unit vectors: `batch` first texts, then `batch` second texts. */
  readonly vectors: Float32Array;
  readonly dims: number;
  readonly batch: number;
  /** Gold score of each pair (any scale; only the order matters). */
  readonly scores: readonly number[];
  /** λ. @default 20 */
  readonly scale?: number;
}

/**
 * CoSENT loss: `log(1 + Σ exp(λ·(cos_j − cos_i)))` over the batch's pairs (i, j) with
 * `score_i > score_j` — a pair scored higher must have the higher cosine. 0 (no gradient) when
 * all scores in the batch are equal.
 */
export function cosentLoss(input: ScoredBatch): RowLoss {
  const { vectors, dims, batch, scores } = input;
  const scale = input.scale ?? DEFAULT_SIMILARITY_SCALE;
  const grad = new Float32Array(vectors.length);
  const first = (i: number) => vectors.subarray(i * dims, (i + 1) * dims);
  const second = (i: number) => vectors.subarray((batch + i) * dims, (batch + i + 1) * dims);
  const cosines = Array.from({ length: batch }, (_, i) => dot(first(i), second(i)));
  const terms: { i: number; j: number; x: number }[] = [];
  let max = 0; // the "1 +" term is exp(0)
  for (let i = 0; i < batch; i++)
    for (let j = 0; j < batch; j++)
      if ((scores[i] as number) > (scores[j] as number)) {
        const x = scale * ((cosines[j] as number) - (cosines[i] as number));
        terms.push({ i, j, x });
        if (x > max) max = x;
      }
  if (terms.length === 0) return { loss: 0, grad };
  let sum = Math.exp(-max);
  for (const term of terms) sum += Math.exp(term.x - max);
  const loss = max + Math.log(sum);
  const gradCosine = new Float64Array(batch);
  for (const term of terms) {
    const weight = (Math.exp(term.x - max) / sum) * scale;
    gradCosine[term.j] = (gradCosine[term.j] as number) + weight;
    gradCosine[term.i] = (gradCosine[term.i] as number) - weight;
  }
  for (let i = 0; i < batch; i++) {
    const g = gradCosine[i] as number;
    if (g === 0) continue;
    const u = first(i);
    const v = second(i);
    const gu = grad.subarray(i * dims, (i + 1) * dims);
    const gv = grad.subarray((batch + i) * dims, (batch + i + 1) * dims);
    for (let k = 0; k < dims; k++) {
      gu[k] = g * (v[k] as number);
      gv[k] = g * (u[k] as number);
    }
  }
  return { loss, grad };
}

/** Held-out retrieval scores of {@link pairRetrievalScores}. */
export interface PairRetrievalScores {
  /** Mean reciprocal rank of each anchor's positive among all distinct candidates. */
  readonly mrr: number;
  /** Share of anchors whose positive ranks first. */
  readonly accuracy: number;
}

/**
 * Rank every distinct candidate text (the held-out positives, and hard negatives when given)
 * for each held-out anchor by cosine; score the rank of the anchor's positive. Candidates are
 * unit vectors, one per distinct text (`candidateOf[i]` = index of anchor i's positive).
 */
export function pairRetrievalScores(
  anchors: readonly Float32Array[],
  candidates: readonly Float32Array[],
  candidateOf: readonly number[],
): PairRetrievalScores {
  if (anchors.length === 0) return { mrr: 0, accuracy: 0 };
  let reciprocal = 0;
  let first = 0;
  anchors.forEach((anchor, i) => {
    const target = candidateOf[i] as number;
    const own = dot(anchor, candidates[target] as Float32Array);
    let rank = 1;
    candidates.forEach((candidate, j) => {
      if (j !== target && dot(anchor, candidate) > own) rank++;
    });
    reciprocal += 1 / rank;
    if (rank === 1) first++;
  });
  return { mrr: reciprocal / anchors.length, accuracy: first / anchors.length };
}
