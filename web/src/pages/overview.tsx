/** Overview: models, collections, live health and metrics (polled every 2 s; rates from the deltas). */
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api, health } from "../api";
import type { PageProps } from "../pages";
import { ErrorBox, formatBytes, type Overview } from "../shared";

interface Sample {
  readonly at: number;
  readonly overview: Overview;
}

const POLL_MS = 2000;
const KEEP = 90;

function LiveChart({ times, requests, tokens }: { times: number[]; requests: number[]; tokens: number[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    if (box.current === null) return;
    plot.current = new uPlot(
      {
        width: 640,
        height: 200,
        series: [
          {},
          { label: "requests/s", stroke: "#1f77b4", width: 2 },
          { label: "tokens/s", stroke: "#ff7f0e", width: 2, scale: "tokens" },
        ],
        axes: [
          {},
          { label: "requests/s" },
          { side: 1, scale: "tokens", label: "tokens/s", grid: { show: false } },
        ],
      },
      [[], [], []],
      box.current,
    );
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData([times, requests, tokens]);
  }, [times, requests, tokens]);
  return <div ref={box} class="chart" data-testid="live-chart" />;
}

export function OverviewPage(_props: PageProps) {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [healthStatus, setHealthStatus] = useState<string>("…");
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const status = await health();
        if (stopped) return;
        setHealthStatus(status);
        if (status === "unreachable") return;
        const overview = await api<Overview>("/v1/dashboard/overview");
        if (stopped) return;
        setError(undefined);
        setSamples((previous) => [...previous.slice(-KEEP), { at: Date.now() / 1000, overview }]);
      } catch (failure) {
        if (!stopped) {
          setError((failure as Error).message);
          setHealthStatus("unreachable");
        }
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  const last = samples.at(-1)?.overview;
  const times: number[] = [];
  const requests: number[] = [];
  const tokens: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as Sample;
    const b = samples[i] as Sample;
    const seconds = Math.max(0.001, b.at - a.at);
    times.push(b.at);
    requests.push(
      Math.max(0, b.overview.metrics.requests_total - a.overview.metrics.requests_total) / seconds,
    );
    tokens.push(Math.max(0, b.overview.metrics.tokens_total - a.overview.metrics.tokens_total) / seconds);
  }
  const ms = (seconds: number | null | undefined) =>
    seconds == null ? "–" : `${(seconds * 1000).toFixed(1)} ms`;
  return (
    <section>
      <h1>Overview</h1>
      <ErrorBox message={error} />
      <div class="cards">
        <div class="card">
          <div>health</div>
          <div class="value" data-testid="health">
            {healthStatus}
          </div>
        </div>
        <div class="card">
          <div>requests/s</div>
          <div class="value">{(requests.at(-1) ?? 0).toFixed(2)}</div>
        </div>
        <div class="card">
          <div>tokens/s</div>
          <div class="value">{(tokens.at(-1) ?? 0).toFixed(1)}</div>
        </div>
        <div class="card">
          <div>queue depth</div>
          <div class="value">{last?.metrics.queue_depth ?? "–"}</div>
        </div>
        <div class="card">
          <div>latency p50 / p99</div>
          <div class="value">
            {ms(last?.metrics.latency_p50_seconds)} / {ms(last?.metrics.latency_p99_seconds)}
          </div>
        </div>
      </div>
      <LiveChart times={times} requests={requests} tokens={tokens} />
      <h2>Models</h2>
      <table data-testid="models">
        <thead>
          <tr>
            <th>model</th>
            <th>dims</th>
            <th>languages</th>
            <th>state</th>
          </tr>
        </thead>
        <tbody>
          {(last?.models ?? [])
            .filter((model) => !model.alias)
            .map((model) => (
              <tr key={model.id}>
                <td>
                  {model.id}
                  {model.id === last?.default_model ? " (default)" : ""}
                </td>
                <td class="num">{model.dims ?? "–"}</td>
                <td>{model.languages.join(", ") || "–"}</td>
                <td>{model.loaded ? "loaded" : "available"}</td>
              </tr>
            ))}
        </tbody>
      </table>
      <h2>Collections</h2>
      {last !== undefined && last.collections.length === 0 && <p class="hint">No collections yet.</p>}
      <table data-testid="collections">
        <thead>
          <tr>
            <th>collection</th>
            <th>model</th>
            <th class="num">items</th>
            <th class="num">vector size</th>
            <th>kind</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(last?.collections ?? []).map((collection) => (
            <tr key={collection.name}>
              <td>
                <a href={`#/collection/${encodeURIComponent(collection.name)}`}>{collection.name}</a>
              </td>
              <td>{collection.model}</td>
              <td class="num">{collection.count}</td>
              <td class="num">{formatBytes(collection.bytes_estimate)}</td>
              <td>{collection.faq === null ? "documents" : "FAQ"}</td>
              <td>
                <a href={`#/map/${encodeURIComponent(collection.name)}`}>map</a>
                {collection.faq !== null && (
                  <>
                    {" · "}
                    <a href={`#/faq/${encodeURIComponent(collection.name)}`}>ask</a>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
