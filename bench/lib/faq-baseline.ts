/**
 * @module bench/lib/faq-baseline
 * The lexical baseline of the FAQ benchmark: TF-IDF cosine between the user
 * question and every FAQ question (max over an answer's questions), the
 * classic pre-embedding way of matching FAQs. The vectorizer is the one of
 * bench/train.ts's baseline (`fitTfidf`: scikit-learn's
 * `TfidfVectorizer(sublinear_tf=True)` weights; character 1+2-grams for
 * Chinese, word 1+2-grams for English), fitted on the FAQ questions; this file
 * only adds the inverted-index ranking. Hand-written rather than from npm: the
 * BM25 packages found (okapibm25, wink-bm25-text-search) either count words
 * with `\w+` (zero for Chinese) or pull an English NLP model.
 */
import type { RankedAnswer } from "../../src/apps/faq/answer-ranking.js";
import type { FaqAnswer } from "../../src/apps/faq/faq-entries.js";
import type { FaqRanker } from "../../src/apps/faq/faq-evaluation.js";
import type { FaqLanguage } from "../../src/apps/faq/faq-language.js";
import { topK } from "../../src/vectors/math.js";
import { fitTfidf } from "./tfidf-classifier.js";

/** Create the TF-IDF ranker over a FAQ's questions. */
export function createTfidfRanker(answers: readonly FaqAnswer[], language: FaqLanguage): FaqRanker {
  const questions = answers.flatMap((answer) => answer.questions);
  const questionAnswer = answers.flatMap((answer, index) => answer.questions.map(() => index));
  const vectorizer = fitTfidf(questions, language);
  // Inverted index: feature id → (question, weight).
  const postings: { question: number; weight: number }[][] = Array.from(
    { length: vectorizer.features },
    () => [],
  );
  vectorizer.transform(questions).forEach((row, question) => {
    row.indices.forEach((id, position) => {
      postings[id]?.push({ question, weight: row.values[position] as number });
    });
  });
  return {
    name: `TF-IDF ${language === "zh" ? "char 1-2-gram" : "word 1-2-gram"} (max)`,
    async rank(texts, k): Promise<RankedAnswer[][]> {
      const questionScores = new Float32Array(questions.length);
      const answerScores = new Float32Array(answers.length);
      return vectorizer.transform(texts).map((row) => {
        questionScores.fill(0);
        row.indices.forEach((id, position) => {
          const weight = row.values[position] as number;
          for (const posting of postings[id] ?? []) {
            questionScores[posting.question] =
              (questionScores[posting.question] as number) + weight * posting.weight;
          }
        });
        answerScores.fill(0);
        questionAnswer.forEach((answer, question) => {
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
