/**
 * Similarity playground: several texts, one to three models, a cosine-similarity heatmap per
 * model side by side (vectors from POST /v1/embeddings; cosine computed here).
 */
import { useState } from "preact/hooks";
import { api } from "../api";
import type { PageProps } from "../pages";
import { ErrorBox, useOverview } from "../shared";

const MAX_TEXTS = 20;
const MAX_MODELS = 3;

interface Heatmap {
  readonly model: string;
  readonly matrix: readonly (readonly number[])[];
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** White (≤ 0) to deep blue (1). */
function shade(value: number): string {
  const t = Math.max(0, Math.min(1, value));
  const r = Math.round(255 - t * 215);
  const g = Math.round(255 - t * 155);
  return `rgb(${r}, ${g}, 255)`;
}

export function PlaygroundPage(_props: PageProps) {
  const overview = useOverview();
  const textModels = (overview.data?.models ?? []).filter((model) => !model.alias && model.dims !== null);
  const [text, setText] = useState(
    "A cat sits on the mat.\nA kitten is resting on a rug.\nStock markets fell sharply today.",
  );
  const [chosen, setChosen] = useState<string[]>([]);
  const [heatmaps, setHeatmaps] = useState<readonly Heatmap[]>([]);
  const [labels, setLabels] = useState<readonly string[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const models = chosen.length > 0 ? chosen : textModels.slice(0, 1).map((model) => model.id);
  const compare = async (event: Event) => {
    event.preventDefault();
    const texts = text
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "");
    if (texts.length < 2 || texts.length > MAX_TEXTS) {
      setError(`Enter 2 to ${MAX_TEXTS} texts, one per line (got ${texts.length}).`);
      return;
    }
    if (models.length === 0) {
      setError("This server serves no text model.");
      return;
    }
    setBusy(true);
    try {
      const maps = await Promise.all(
        models.map(async (model) => {
          const answer = await api<{ data: { embedding: number[] }[]; model: string }>("/v1/embeddings", {
            body: { model, input: texts },
          });
          const vectors = answer.data.map((entry) => entry.embedding);
          return { model: answer.model, matrix: vectors.map((a) => vectors.map((b) => cosine(a, b))) };
        }),
      );
      setLabels(texts);
      setHeatmaps(maps);
      setError(undefined);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <h1>Similarity playground</h1>
      <ErrorBox message={overview.error} />
      <form onSubmit={compare}>
        <textarea
          name="texts"
          rows={6}
          value={text}
          onInput={(event) => setText((event.target as HTMLTextAreaElement).value)}
        />
        <div class="row">
          <span>Models (1–{MAX_MODELS}):</span>
          {textModels.map((model) => (
            <label key={model.id}>
              <input
                type="checkbox"
                name="model"
                value={model.id}
                checked={models.includes(model.id)}
                disabled={!models.includes(model.id) && models.length >= MAX_MODELS}
                onChange={(event) => {
                  const on = (event.target as HTMLInputElement).checked;
                  setChosen(on ? [...models, model.id] : models.filter((id) => id !== model.id));
                }}
              />{" "}
              {model.id}
            </label>
          ))}
          <button type="submit" disabled={busy}>
            Compare
          </button>
        </div>
      </form>
      <ErrorBox message={error} />
      <div class="heatmaps">
        {heatmaps.map((heatmap) => (
          <div key={heatmap.model}>
            <h2>{heatmap.model}</h2>
            <table class="heatmap" data-testid="heatmap">
              <thead>
                <tr>
                  <th />
                  {labels.map((_, index) => (
                    <th key={index}>{index + 1}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {heatmap.matrix.map((row, i) => (
                  <tr key={i}>
                    <th title={labels[i]}>
                      {i + 1}. {labels[i]}
                    </th>
                    {row.map((value, j) => (
                      <td key={j} style={{ background: shade(value) }} data-value={value.toFixed(4)}>
                        {value.toFixed(2)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      </div>
    </section>
  );
}
