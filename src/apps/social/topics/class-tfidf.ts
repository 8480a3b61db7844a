/**
 * @module apps/social/topics/class-tfidf
 * Class-based TF-IDF (Grootendorst 2022, BERTopic's c-TF-IDF): all texts of a
 * topic form one document; a word's weight in topic c is its frequency in c
 * (L1-normalised over c's words) times log(1 + A / f), where A is the mean
 * number of words per topic and f the word's frequency over all topics. Words
 * frequent in one topic and rare elsewhere rank first. Topics are merged by the
 * cosine similarity of these weight vectors. Keyword lists are chosen across
 * topics with a diversity penalty ({@link diverseTopWords}): a word that is
 * already a keyword of another topic must beat the next unused word by a share
 * of the topic's best weight. Counts are sparse (a map per topic), so 100k texts
 * with a large vocabulary stay small.
 */

/** Word counts of one topic: word id → count. */
export type WordCounts = Map<number, number>;

/** Words of all texts as ids into one vocabulary. */
export interface TokenizedTexts {
  /** The distinct words, by id. */
  readonly words: readonly string[];
  /** Word ids of each text (duplicates kept: counts are term frequencies). */
  readonly texts: readonly Int32Array[];
}

/**
 * Map each text's words to ids, keeping only words in `vocabulary` when one is
 * given.
 */
export function indexWords(
  tokens: readonly (readonly string[])[],
  vocabulary?: ReadonlySet<string>,
): TokenizedTexts {
  const ids = new Map<string, number>();
  const words: string[] = [];
  const texts = tokens.map((list) => {
    const row: number[] = [];
    for (const word of list) {
      if (vocabulary !== undefined && !vocabulary.has(word)) continue;
      let id = ids.get(word);
      if (id === undefined) {
        id = words.length;
        ids.set(word, id);
        words.push(word);
      }
      row.push(id);
    }
    return Int32Array.from(row);
  });
  return { words, texts };
}

/** Word counts per group: `groups[i]` is the group of text i (0..groupCount-1; negative = skipped). */
export function countWords(
  tokenized: TokenizedTexts,
  groups: ArrayLike<number>,
  groupCount: number,
): WordCounts[] {
  const counts: WordCounts[] = Array.from({ length: groupCount }, () => new Map());
  tokenized.texts.forEach((row, index) => {
    const group = groups[index] as number;
    if (group < 0) return;
    const target = counts[group] as WordCounts;
    for (const id of row) target.set(id, (target.get(id) ?? 0) + 1);
  });
  return counts;
}

/** c-TF-IDF weights of each group's words (same shape as the counts). */
export function classTfIdf(counts: readonly WordCounts[]): WordCounts[] {
  const totals = counts.map((group) => {
    let sum = 0;
    for (const count of group.values()) sum += count;
    return sum;
  });
  const frequency = new Map<number, number>();
  for (const group of counts)
    for (const [id, count] of group) frequency.set(id, (frequency.get(id) ?? 0) + count);
  const nonEmpty = totals.filter((total) => total > 0);
  const average =
    nonEmpty.length === 0 ? 0 : nonEmpty.reduce((sum, total) => sum + total, 0) / nonEmpty.length;
  return counts.map((group, index) => {
    const total = totals[index] as number;
    const weights: WordCounts = new Map();
    for (const [id, count] of group) {
      weights.set(id, (count / total) * Math.log(1 + average / (frequency.get(id) as number)));
    }
    return weights;
  });
}

/** The `count` highest-weighted words, best first (ties broken alphabetically, so runs agree). */
export function topWords(
  weights: WordCounts,
  words: readonly string[],
  count: number,
): { readonly word: string; readonly score: number }[] {
  return rankWords(weights, words)
    .slice(0, count)
    .map(([id, score]) => ({ word: words[id] as string, score }));
}

/** A topic's (word id, weight) pairs, best first; ties broken alphabetically, so runs agree. */
function rankWords(weights: WordCounts, words: readonly string[]): [number, number][] {
  return [...weights.entries()].sort((a, b) => {
    const wordA = words[a[0]] as string;
    const wordB = words[b[0]] as string;
    return b[1] - a[1] || (wordA < wordB ? -1 : wordA > wordB ? 1 : 0);
  });
}

/** Default {@link diverseTopWords} penalty: 0.1 of a topic's best weight (chosen on octis-m10; see docs/SOCIAL-TOPICS.md). */
export const DEFAULT_KEYWORD_DIVERSITY = 0.1;

/**
 * Keyword lists of several topics, chosen together so that they overlap less
 * (a cross-topic form of maximal marginal relevance): in rounds, each topic in
 * turn (in the given order, e.g. largest first) takes the word with the highest
 * `weight / bestWeight − penalty × [word is already a keyword of another topic]`.
 * `penalty` 0 gives each topic its plain {@link topWords}; 1 lets a word be
 * reused only when a topic has no unused word left. Rank r of every topic is
 * chosen before rank r + 1 of any, so the first k keywords do not depend on how
 * many are asked for. Scores returned are the c-TF-IDF weights.
 *
 * @param weights c-TF-IDF weights per topic (see {@link classTfIdf})
 * @param penalty share of a topic's best weight a reused word loses, 0..1
 */
export function diverseTopWords(
  weights: readonly WordCounts[],
  words: readonly string[],
  count: number,
  penalty: number,
): { readonly word: string; readonly score: number }[][] {
  const ranked = weights.map((group) => rankWords(group, words));
  const chosen = ranked.map(() => new Set<number>());
  const lists: { word: string; score: number }[][] = ranked.map(() => []);
  const used = new Set<number>();
  for (let round = 0; round < count; round++) {
    ranked.forEach((entries, topic) => {
      const best = entries[0]?.[1] ?? 0;
      const mine = chosen[topic] as Set<number>;
      let pick: [number, number] | undefined;
      let pickScore = Number.NEGATIVE_INFINITY;
      // Best first; the first unused word ends the scan (no later word can score higher).
      for (const entry of entries) {
        if (mine.has(entry[0])) continue;
        const reused = used.has(entry[0]);
        const score = (best > 0 ? entry[1] / best : 0) - (reused ? penalty : 0);
        if (score > pickScore) {
          pick = entry;
          pickScore = score;
        }
        if (!reused) break;
      }
      if (pick === undefined) return;
      mine.add(pick[0]);
      used.add(pick[0]);
      lists[topic]?.push({ word: words[pick[0]] as string, score: pick[1] });
    });
  }
  return lists;
}

function cosine(a: WordCounts, b: WordCounts): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const [id, value] of small) dot += value * (large.get(id) ?? 0);
  for (const value of a.values()) normA += value * value;
  for (const value of b.values()) normB += value * value;
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}

/**
 * Merge topics down to `target`: repeatedly the smallest topic joins the topic
 * whose c-TF-IDF vector is most similar (cosine), and weights are recomputed
 * (BERTopic's `reduce_topics`). `extra` counts (the outliers) take part in the
 * IDF but are never merged.
 *
 * @returns for each input topic the index of the topic it ended in (0..target-1, by the merged topics' order of first appearance)
 */
export function mergeTopics(
  counts: readonly WordCounts[],
  sizes: readonly number[],
  target: number,
  extra: readonly WordCounts[] = [],
): Int32Array {
  const alive = counts.map((group) => new Map(group));
  const size = [...sizes];
  const owner = Int32Array.from(counts, (_, index) => index);
  const active = new Set(counts.map((_, index) => index));
  while (active.size > target) {
    const ids = [...active];
    const weights = classTfIdf([...ids.map((id) => alive[id] as WordCounts), ...extra]);
    // Smallest topic first; among equals the later one (the one numbered last).
    let smallest = 0;
    for (let position = 1; position < ids.length; position++) {
      if ((size[ids[position] as number] as number) <= (size[ids[smallest] as number] as number))
        smallest = position;
    }
    let bestPosition = -1;
    let bestSimilarity = Number.NEGATIVE_INFINITY;
    for (let position = 0; position < ids.length; position++) {
      if (position === smallest) continue;
      const similarity = cosine(weights[smallest] as WordCounts, weights[position] as WordCounts);
      if (similarity > bestSimilarity) {
        bestSimilarity = similarity;
        bestPosition = position;
      }
    }
    const from = ids[smallest] as number;
    const into = ids[bestPosition] as number;
    const merged = alive[into] as WordCounts;
    for (const [id, count] of alive[from] as WordCounts) merged.set(id, (merged.get(id) ?? 0) + count);
    size[into] = (size[into] as number) + (size[from] as number);
    active.delete(from);
    for (let index = 0; index < owner.length; index++) if (owner[index] === from) owner[index] = into;
  }
  const renumber = new Map<number, number>();
  return owner.map((id) => {
    let next = renumber.get(id);
    if (next === undefined) {
      next = renumber.size;
      renumber.set(id, next);
    }
    return next;
  });
}
