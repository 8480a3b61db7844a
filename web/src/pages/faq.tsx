/**
 * FAQ tester: ask a FAQ collection; answer, confidence, alternatives, and a threshold slider
 * (starting at the stored, possibly calibrated threshold) below which the fallback is given.
 */
import { useState } from "preact/hooks";
import { api } from "../api";
import type { PageProps } from "../pages";
import { CollectionPicker, ErrorBox, formatScore, useOverview } from "../shared";

interface Candidate {
  readonly answer_id: string;
  readonly answer: string;
  readonly score: number;
  readonly matched_question: string;
}
interface FaqAnswer {
  readonly answered: boolean;
  readonly reply: string;
  readonly confidence: number;
  readonly threshold: number | null;
  readonly answer: Candidate | null;
  readonly alternatives: readonly Candidate[];
}

export function FaqPage({ params }: PageProps) {
  const name = params[0];
  const overview = useOverview();
  const faq = overview.data?.collections.find((collection) => collection.name === name)?.faq ?? null;
  const [question, setQuestion] = useState("");
  const [threshold, setThreshold] = useState<number | undefined>(undefined);
  const [answer, setAnswer] = useState<FaqAnswer | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const current = threshold ?? faq?.threshold ?? 0.5;
  const ask = async (event: Event) => {
    event.preventDefault();
    if (name === undefined || question.trim() === "") return;
    try {
      setAnswer(
        await api<FaqAnswer>(`/v1/faq/${encodeURIComponent(name)}/ask`, {
          body: { question, k: 3, threshold: current },
        }),
      );
      setError(undefined);
    } catch (failure) {
      setAnswer(undefined);
      setError((failure as Error).message);
    }
  };
  return (
    <section>
      <h1>FAQ tester {name ?? ""}</h1>
      <ErrorBox message={overview.error} />
      <CollectionPicker page="faq" current={name} collections={overview.data?.collections ?? []} onlyFaq />
      {overview.data?.collections.every((collection) => collection.faq === null) && (
        <p class="hint">
          No FAQ collection yet: index one with `embedkit faq index faq.csv --collection NAME`.
        </p>
      )}
      {name !== undefined && (
        <>
          {faq !== null && (
            <p class="hint" data-testid="faq-info">
              {faq.answers ?? "?"} answers, {faq.questions ?? "?"} questions · stored threshold{" "}
              {faq.threshold === null ? "none (always answers)" : faq.threshold.toFixed(3)} (
              {faq.threshold_source ?? "?"})
              {faq.threshold_source !== null && !["default", "configured"].includes(faq.threshold_source)
                ? " — calibrated on labelled questions (`embedkit faq calibrate`)"
                : " — not calibrated: run `embedkit faq calibrate` with labelled questions for a measured trade-off"}
            </p>
          )}
          <form class="row" onSubmit={ask}>
            <input
              type="text"
              name="question"
              size={50}
              placeholder="Ask a question"
              value={question}
              onInput={(event) => setQuestion((event.target as HTMLInputElement).value)}
            />
            <label>
              threshold{" "}
              <input
                type="range"
                name="threshold"
                min={0}
                max={1}
                step={0.01}
                value={current}
                onInput={(event) => setThreshold(Number((event.target as HTMLInputElement).value))}
              />{" "}
              <output data-testid="threshold">{current.toFixed(2)}</output>
            </label>
            <button type="submit">Ask</button>
          </form>
          <p class="hint">
            Below the threshold the FAQ gives its fallback instead of a possibly wrong answer: a higher
            threshold answers fewer questions (coverage) but more of them correctly (precision).
          </p>
          <ErrorBox message={error} />
          {answer !== undefined && (
            <div class={answer.answered ? "answer" : "answer fallback"} data-testid="faq-answer">
              <p>
                <strong>{answer.answered ? "Answer" : "Fallback"}:</strong>{" "}
                <span data-testid="reply">{answer.reply}</span>
              </p>
              <p>
                confidence <span data-testid="confidence">{formatScore(answer.confidence)}</span>
                {answer.answer !== null && <> · matched question “{answer.answer.matched_question}”</>}
              </p>
              {answer.alternatives.length > 0 && (
                <>
                  <h2>Alternatives</h2>
                  <table>
                    <tbody>
                      {answer.alternatives.map((alternative) => (
                        <tr key={alternative.answer_id}>
                          <td class="num">{formatScore(alternative.score)}</td>
                          <td>{alternative.answer}</td>
                          <td class="hint">{alternative.matched_question}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </>
              )}
            </div>
          )}
        </>
      )}
    </section>
  );
}
