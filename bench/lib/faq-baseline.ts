/**
 * @module bench/lib/faq-baseline
 * The lexical baseline of the FAQ benchmark: TF-IDF cosine between the user
 * question and every FAQ question (max over an answer's questions), the
 * classic pre-embedding way of matching FAQs. Tokens: character unigrams +
 * bigrams for Chinese (no word segmenter needed), lower-cased word unigrams +
 * bigrams for English. Weights as scikit-learn's TfidfVectorizer with
 * `sublinear_tf=True` (tf = 1 + ln(count), idf = ln((1 + n) / (1 + df)) + 1,
 * L2-normalized rows), fitted on the FAQ questions. Written here rather than
 * taken from npm: the packages found (okapibm25, wink-bm25-text-search) either
 * count words with `\w+` (zero for Chinese) or pull an English NLP model.
 */
import type { RankedAnswer } from "../../src/apps/faq/answer-ranking.js";
import type { FaqAnswer } from "../../src/apps/faq/faq-entries.js";
import type { FaqRanker } from "../../src/apps/faq/faq-evaluation.js";
import type { FaqLanguage } from "../../src/apps/faq/faq-language.js";
import { topK } from "../../src/vectors/math.js";

/** Tokens of one text: character 1+2-grams (zh) or word 1+2-grams (en). */
export function lexicalTokens(text: string, language: FaqLanguage): string[] {
  if (language === "zh") {
    const characters = [...text.toLowerCase()].filter((character) => /[\p{L}\p{N}]/u.test(character));
    const tokens = [...characters];
    for (let i = 1; i < characters.length; i++) tokens.push(`${characters[i - 1]}${characters[i]}`);
    return tokens;
  }
  const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  const tokens = [...words];
  for (let i = 1; i < words.length; i++) tokens.push(`${words[i - 1]} ${words[i]}`);
  return tokens;
}

type SparseVector = Map<number, number>;

/** Create the TF-IDF ranker over a FAQ's questions. */
export function createTfidfRanker(answers: readonly FaqAnswer[], language: FaqLanguage): FaqRanker {
  const vocabulary = new Map<string, number>();
  const documentFrequency: number[] = [];
  const questions: { answer: number; tokens: string[] }[] = [];
  answers.forEach((answer, index) => {
    for (const question of answer.questions)
      questions.push({ answer: index, tokens: lexicalTokens(question, language) });
  });
  for (const { tokens } of questions) {
    for (const token of new Set(tokens)) {
      let id = vocabulary.get(token);
      if (id === undefined) {
        id = vocabulary.size;
        vocabulary.set(token, id);
        documentFrequency.push(0);
      }
      documentFrequency[id] = (documentFrequency[id] as number) + 1;
    }
  }
  const n = questions.length;
  const idf = documentFrequency.map((df) => Math.log((1 + n) / (1 + df)) + 1);
  const vectorize = (tokens: readonly string[]): SparseVector => {
    const counts = new Map<number, number>();
    for (const token of tokens) {
      const id = vocabulary.get(token);
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    let sum = 0;
    for (const [id, count] of counts) {
      const weight = (1 + Math.log(count)) * (idf[id] as number);
      counts.set(id, weight);
      sum += weight * weight;
    }
    const norm = Math.sqrt(sum);
    if (norm > 0) for (const [id, weight] of counts) counts.set(id, weight / norm);
    return counts;
  };
  // Inverted index: token id → (question, weight).
  const postings: { question: number; weight: number }[][] = Array.from(
    { length: vocabulary.size },
    () => [],
  );
  questions.forEach(({ tokens }, question) => {
    for (const [id, weight] of vectorize(tokens)) postings[id]?.push({ question, weight });
  });
  return {
    name: `TF-IDF ${language === "zh" ? "char 1-2-gram" : "word 1-2-gram"} (max)`,
    async rank(texts, k): Promise<RankedAnswer[][]> {
      const questionScores = new Float32Array(n);
      const answerScores = new Float32Array(answers.length);
      return texts.map((text) => {
        questionScores.fill(0);
        for (const [id, weight] of vectorize(lexicalTokens(text, language))) {
          for (const posting of postings[id] ?? []) {
            questionScores[posting.question] =
              (questionScores[posting.question] as number) + weight * posting.weight;
          }
        }
        answerScores.fill(0);
        questions.forEach(({ answer }, question) => {
          if ((questionScores[question] as number) > (answerScores[answer] as number)) {
            answerScores[answer] = questionScores[question] as number;
          }
        });
        return topK(answerScores, Math.min(k, answers.length)).map((hit) => ({
          answer: hit.index,
          score: hit.score,
        }));
      });
    },
  };
}
