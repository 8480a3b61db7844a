/**
 * FAQ tester: ask a FAQ collection; answer, confidence, alternatives, and a threshold slider
 * (starting at the stored, possibly calibrated threshold) below which the fallback is given.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api } from "../api";
import type { PageProps } from "../pages";
import { CollectionPicker, type CurvePoint, ErrorBox, formatScore, useOverview } from "../shared";

/** The measured curve point nearest to `threshold` (the stored curve is thinned to about 21 points). */
function nearestPoint(curve: readonly CurvePoint[], threshold: number): CurvePoint {
  let best = curve[0] as CurvePoint;
  for (const point of curve)
    if (Math.abs(point.threshold - threshold) < Math.abs(best.threshold - threshold)) best = point;
  return best;
}

const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;

/** Coverage and precision against the threshold, with the slider's threshold marked by a vertical line. */
function TradeOff({ curve, threshold }: { curve: readonly CurvePoint[]; threshold: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const marked = useRef(threshold);
  marked.current = threshold;
  useEffect(() => {
    if (box.current === null) return;
    plot.current = new uPlot(
      {
        width: 560,
        height: 220,
        scales: { x: { time: false }, y: { range: [0, 1] } },
        series: [
          { label: "threshold" },
          { label: "coverage", stroke: "#1f77b4", width: 2 },
          { label: "precision", stroke: "#2ca02c", width: 2 },
        ],
        axes: [{ label: "threshold" }, { label: "ratio" }],
        hooks: {
          draw: [
            (u) => {
              const x = Math.round(u.valToPos(marked.current, "x", true));
              const { ctx } = u;
              ctx.save();
              ctx.strokeStyle = "#d62728";
              ctx.lineWidth = 2;
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.restore();
            },
          ],
        },
      },
      [
        curve.map((point) => point.threshold),
        curve.map((point) => point.coverage),
        curve.map((point) => point.precision),
      ],
      box.current,
    );
    return () => plot.current?.destroy();
  }, [curve]);
  useEffect(() => {
    plot.current?.redraw(false, false);
  }, [threshold]);
  const at = nearestPoint(curve, threshold);
  return (
    <div>
      <div ref={box} class="chart" data-testid="faq-curve" />
      <p data-testid="faq-tradeoff">
        At threshold {threshold.toFixed(2)} (nearest measured {at.threshold.toFixed(3)}): coverage{" "}
        {percent(at.coverage)} of questions answered, precision {percent(at.precision)} of answers right.
      </p>
    </div>
  );
}

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
          {faq?.calibration_curve != null && faq.calibration_curve.length > 0 && (
            <TradeOff curve={faq.calibration_curve} threshold={current} />
          )}
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
