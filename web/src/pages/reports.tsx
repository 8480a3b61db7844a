/**
 * Reports: the eval-suite and inspect outputs in the server's reports folder (`--reports`),
 * listed and viewable: JSON reports are drawn here (score table and chart), HTML reports are
 * downloaded (they are not rendered under the server's origin).
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api, download, send } from "../api";
import type { PageProps } from "../pages";
import { ErrorBox, useLoad } from "../shared";

interface ReportEntry {
  readonly path: string;
  readonly kind: "eval" | "inspect";
  readonly format: "json" | "html";
  readonly bytes: number;
  readonly modified_at: string;
}
interface EvalReport {
  readonly title: string;
  readonly createdAt: string;
  readonly entries: readonly {
    readonly task: string;
    readonly setName: string;
    readonly model: string;
    readonly metric: string;
    readonly score: number;
  }[];
}
interface InspectReport {
  readonly model: string;
  readonly dims: number;
  readonly texts: number;
  readonly createdAt: string;
  readonly projection: {
    readonly method: string;
    readonly points: readonly { x: number; y: number; text: string }[];
  };
}

function BarChart({ labels, values }: { labels: readonly string[]; values: readonly number[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (box.current === null) return;
    const xs = values.map((_, index) => index);
    const bars = uPlot.paths.bars?.({ size: [0.6, 60] });
    const plot = new uPlot(
      {
        width: Math.min(900, 120 + values.length * 60),
        height: 240,
        scales: { x: { time: false, range: [-0.5, values.length - 0.5] } },
        series: [
          {},
          {
            label: "score",
            fill: "#1f77b4",
            stroke: "#1f77b4",
            ...(bars === undefined ? {} : { paths: bars }),
            points: { show: false },
          },
        ],
        axes: [
          {
            values: (_u, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? (labels[tick] ?? "") : "")),
          },
          {},
        ],
      },
      [xs, [...values]],
      box.current,
    );
    return () => plot.destroy();
  }, [labels, values]);
  return <div ref={box} data-testid="report-chart" />;
}

function ScatterChart({ points }: { points: readonly { x: number; y: number }[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (box.current === null) return;
    const sorted = [...points].sort((a, b) => a.x - b.x);
    const plot = new uPlot(
      {
        width: 520,
        height: 360,
        mode: 1,
        scales: { x: { time: false } },
        series: [
          {},
          { label: "texts", stroke: "#1f77b4", paths: () => null, points: { show: true, size: 5 } },
        ],
      },
      [sorted.map((point) => point.x), sorted.map((point) => point.y)],
      box.current,
    );
    return () => plot.destroy();
  }, [points]);
  return <div ref={box} data-testid="report-chart" />;
}

function ReportView({ path }: { path: string }) {
  const report = useLoad(
    (signal) =>
      api<EvalReport | InspectReport>(`/v1/dashboard/report?path=${encodeURIComponent(path)}`, { signal }),
    [path],
  );
  const data = report.data;
  return (
    <section>
      <h2>{path}</h2>
      <ErrorBox message={report.error} />
      {data !== undefined && "entries" in data && (
        <>
          <p class="hint">
            {data.title} · {data.createdAt}
          </p>
          <BarChart
            labels={data.entries.map((entry) => `${entry.setName}`)}
            values={data.entries.map((entry) => entry.score)}
          />
          <table data-testid="report-table">
            <thead>
              <tr>
                <th>task</th>
                <th>set</th>
                <th>model</th>
                <th>metric</th>
                <th class="num">score</th>
              </tr>
            </thead>
            <tbody>
              {data.entries.map((entry, index) => (
                <tr key={index}>
                  <td>{entry.task}</td>
                  <td>{entry.setName}</td>
                  <td>{entry.model}</td>
                  <td>{entry.metric}</td>
                  <td class="num">{entry.score.toFixed(4)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {data !== undefined && "projection" in data && (
        <>
          <p class="hint" data-testid="report-table">
            {data.model} · {data.dims} dims · {data.texts} texts · {data.projection.method.toUpperCase()}{" "}
            projection · {data.createdAt}
          </p>
          <ScatterChart points={data.projection.points} />
        </>
      )}
    </section>
  );
}

export function ReportsPage({ params }: PageProps) {
  const chosen = params.length > 0 ? params.join("/") : undefined;
  const list = useLoad(
    (signal) =>
      api<{ reports_dir: boolean; data: readonly ReportEntry[] }>("/v1/dashboard/reports", { signal }),
    [],
  );
  const save = async (path: string) => {
    const response = await send(`/v1/dashboard/report?path=${encodeURIComponent(path)}`);
    download(path.replace("/", "-"), "text/html", await response.blob());
  };
  return (
    <section>
      <h1>Reports</h1>
      <ErrorBox message={list.error} />
      {list.data !== undefined && !list.data.reports_dir && (
        <p class="hint">
          No reports folder: start the server with `--reports &lt;folder&gt;` (the --out folder of `embedkit
          eval` / `embedkit inspect`).
        </p>
      )}
      {list.data?.reports_dir === true && list.data.data.length === 0 && (
        <p class="hint">No reports in the folder yet.</p>
      )}
      <table data-testid="reports">
        <tbody>
          {(list.data?.data ?? []).map((report) => (
            <tr key={report.path}>
              <td>{report.kind}</td>
              <td>
                {report.format === "json" ? (
                  <a href={`#/reports/${report.path.split("/").map(encodeURIComponent).join("/")}`}>
                    {report.path}
                  </a>
                ) : (
                  report.path
                )}
              </td>
              <td class="num">{report.bytes} B</td>
              <td>{report.modified_at}</td>
              <td>
                {report.format === "html" && (
                  <button type="button" onClick={() => void save(report.path)}>
                    download
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {chosen !== undefined && <ReportView path={chosen} />}
    </section>
  );
}
