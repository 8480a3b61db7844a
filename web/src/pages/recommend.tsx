/**
 * Recommendations: pick one of the server's saved recommenders (built with `embedkit recommend
 * index`; listed by `GET /v1/dashboard/recommenders`), then ask for
 * a known user's recommendations or for a new user's from the ids of items they liked; results
 * with scores.
 */
import { useState } from "preact/hooks";
import { api } from "../api";
import type { PageProps } from "../pages";
import { ErrorBox, formatScore, KInput, useLoad } from "../shared";

interface RecommenderInfo {
  readonly name: string;
  readonly model: string;
  readonly items: number;
  readonly users: number;
  readonly interactions: number;
  readonly blend_source: string;
}
interface Recommendation {
  readonly id: string;
  readonly score: number;
  readonly text?: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}
interface RecommendationList {
  readonly source: string;
  readonly data: readonly Recommendation[];
}

/** Ids typed as a comma- or newline-separated list. */
const idsOf = (text: string): string[] =>
  text
    .split(/[,\n]/)
    .map((id) => id.trim())
    .filter((id) => id !== "");

interface SavedRecommender {
  readonly name: string;
  readonly bytes: number;
  readonly modified_at: string;
}

/** A select of the server's saved recommenders, navigating to `#/recommend/<name>` on change. */
function RecommenderPicker({ current }: { current: string | undefined }) {
  const list = useLoad(
    (signal) => api<{ data: readonly SavedRecommender[] }>("/v1/dashboard/recommenders", { signal }),
    [],
  );
  const saved = list.data?.data ?? [];
  return (
    <>
      <ErrorBox message={list.error} />
      <label class="picker">
        Recommender{" "}
        <select
          name="recommender"
          value={current ?? ""}
          onChange={(event) => {
            location.hash = `#/recommend/${encodeURIComponent((event.target as HTMLSelectElement).value)}`;
          }}
        >
          <option value="" disabled>
            {list.data === undefined ? "loading…" : saved.length === 0 ? "none saved" : "choose…"}
          </option>
          {saved.map((entry) => (
            <option key={entry.name} value={entry.name}>
              {entry.name} (saved {entry.modified_at.slice(0, 16).replace("T", " ")})
            </option>
          ))}
        </select>
      </label>
      {list.data !== undefined && saved.length === 0 && (
        <p class="hint" data-testid="no-recommenders">
          No recommender is saved in this server's store. Build one with `embedkit recommend index`.
        </p>
      )}
    </>
  );
}

export function RecommendPage({ params }: PageProps) {
  const name = params[0];
  const opened = useLoad(
    (signal) =>
      name === undefined
        ? Promise.resolve(undefined)
        : api<RecommenderInfo>(`/v1/recommend/${encodeURIComponent(name)}`, { signal }),
    [name],
  );
  const info = opened.data;
  const [user, setUser] = useState("");
  const [liked, setLiked] = useState("");
  const [k, setK] = useState(10);
  const [result, setResult] = useState<RecommendationList | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = async (work: () => Promise<void>) => {
    try {
      await work();
      setError(undefined);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const recommend = (event: Event) => {
    event.preventDefault();
    if (info === undefined) return;
    const likedIds = idsOf(liked);
    const path = `/v1/recommend/${encodeURIComponent(info.name)}`;
    void run(async () => {
      setResult(
        user.trim() !== ""
          ? await api<RecommendationList>(`${path}/user`, { body: { user: user.trim(), k } })
          : await api<RecommendationList>(`${path}/new-user`, { body: { liked: likedIds, k } }),
      );
    });
  };
  return (
    <section>
      <h1>Recommendations</h1>
      <RecommenderPicker current={name} />
      <ErrorBox message={opened.error} />
      <ErrorBox message={error} />
      {info !== undefined && (
        <>
          <p class="hint" data-testid="recommender-info">
            {info.name}: {info.items} items, {info.users} users, {info.interactions} interactions · model{" "}
            {info.model} · blend {info.blend_source}
          </p>
          <form class="row" onSubmit={recommend}>
            <input
              type="text"
              name="user"
              placeholder="User id"
              value={user}
              onInput={(event) => setUser((event.target as HTMLInputElement).value)}
            />
            <span>or liked item ids</span>
            <input
              type="text"
              name="liked"
              size={40}
              placeholder="item-1, item-2"
              value={liked}
              onInput={(event) => setLiked((event.target as HTMLInputElement).value)}
            />
            <KInput value={k} onChange={setK} />
            <button type="submit" disabled={user.trim() === "" && idsOf(liked).length === 0}>
              Recommend
            </button>
          </form>
        </>
      )}
      {result !== undefined && (
        <>
          <p class="hint">source: {result.source}</p>
          {result.data.length === 0 ? (
            <p class="hint">No recommendations.</p>
          ) : (
            <table data-testid="recommendations">
              <thead>
                <tr>
                  <th>score</th>
                  <th>id</th>
                  <th>text</th>
                  <th>metadata</th>
                </tr>
              </thead>
              <tbody>
                {result.data.map((item) => (
                  <tr key={item.id}>
                    <td class="num">{formatScore(item.score)}</td>
                    <td>{item.id}</td>
                    <td>{item.text ?? ""}</td>
                    <td class="hint">{JSON.stringify(item.metadata)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
