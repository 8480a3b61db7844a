/**
 * Social analysis: upload a CSV/TSV/JSONL export of posts — or choose one of the CSV/TSV/JSONL files
 * of the server's `--reports` folder — pick the text, time and group columns
 * from the detected ones, run the analysis of `embedkit social analyze` on the server (one at a
 * time, progress polled), and see its topics (keywords, sizes), topics over time and sentiment
 * per group — drawn from the run's topics.json and summary.json data.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api } from "../api";
import type { PageProps } from "../pages";
import { ErrorBox, PALETTE, rgb, useLoad } from "../shared";

/** Largest upload (the server takes at most 2 MiB of text). */
const MAX_UPLOAD_MIB = 2;

interface Upload {
  readonly upload: string;
  readonly filename: string;
  readonly format: string;
  readonly columns: readonly string[];
  readonly rows: number;
}
interface TopicData {
  readonly id: number;
  readonly size: number;
  readonly label: string;
  readonly keywords: readonly string[];
  readonly keyword_scores: readonly number[];
  readonly over_time: readonly { readonly bucket: string; readonly posts: number }[];
}
interface GroupData {
  readonly group: string;
  readonly posts: number;
  readonly negative_share: number;
  readonly top_topics: readonly { readonly id: number; readonly label: string; readonly posts: number }[];
}
interface RunResult {
  readonly filename: string;
  readonly buckets: readonly string[];
  readonly topics: { readonly topics: readonly TopicData[] };
  readonly summary: {
    readonly posts: number;
    readonly topics: number;
    readonly outliers: number;
    readonly sentiment: Readonly<Record<string, number>>;
    readonly groups: readonly GroupData[];
  };
}
interface RunState {
  readonly status: "idle" | "running" | "done" | "failed";
  readonly filename?: string;
  readonly stage: string | null;
  readonly progress: number;
  readonly error: string | null;
  readonly result: RunResult | null;
}

interface ServerFile {
  readonly path: string;
  readonly format: string;
  readonly bytes: number;
  readonly modified_at: string;
}

/** A column whose name says it holds the time / the group, for the pickers' first choice. */
const guess = (columns: readonly string[], pattern: RegExp) =>
  columns.find((name) => pattern.test(name)) ?? "";

function TopicsOverTime({ buckets, topics }: { buckets: readonly string[]; topics: readonly TopicData[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (box.current === null || buckets.length === 0) return;
    const shown = topics.filter((topic) => topic.id >= 0).slice(0, PALETTE.length);
    const plot = new uPlot(
      {
        width: 760,
        height: 260,
        scales: { x: { time: false } },
        series: [
          {},
          ...shown.map((topic, index) => ({
            label: topic.label,
            stroke: rgb(PALETTE[index % PALETTE.length] as [number, number, number]),
            width: 2,
          })),
        ],
        axes: [
          {
            values: (_u: uPlot, ticks: number[]) =>
              ticks.map((tick) => (Number.isInteger(tick) ? (buckets[tick] ?? "").slice(0, 16) : "")),
          },
          { label: "posts" },
        ],
      },
      [
        buckets.map((_, index) => index),
        ...shown.map((topic) => topic.over_time.map((point) => point.posts)),
      ],
      box.current,
    );
    return () => plot.destroy();
  }, [buckets, topics]);
  if (buckets.length === 0) return <p class="hint">No time column was chosen: no topics over time.</p>;
  return <div ref={box} data-testid="social-chart" />;
}

function Result({ result }: { result: RunResult }) {
  const topics = result.topics.topics;
  return (
    <section>
      <h2>
        {result.filename}: {result.summary.posts} posts, {result.summary.topics} topics
        {result.summary.outliers > 0 ? `, ${result.summary.outliers} outliers` : ""}
      </h2>
      <p class="hint" data-testid="social-sentiment">
        sentiment:{" "}
        {Object.entries(result.summary.sentiment)
          .map(([label, count]) => `${label} ${count}`)
          .join(" · ")}
      </p>
      <h2>Topics over time</h2>
      <TopicsOverTime buckets={result.buckets} topics={topics} />
      <h2>Topics and keywords</h2>
      <table data-testid="social-topics">
        <thead>
          <tr>
            <th class="num">topic</th>
            <th class="num">posts</th>
            <th>label</th>
            <th>keywords (best first)</th>
          </tr>
        </thead>
        <tbody>
          {topics.map((topic) => (
            <tr key={topic.id}>
              <td class="num">{topic.id < 0 ? "outliers" : topic.id}</td>
              <td class="num">{topic.size}</td>
              <td>{topic.label}</td>
              <td>{topic.keywords.join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {result.summary.groups.length > 0 && (
        <>
          <h2>Sentiment per group</h2>
          <table data-testid="social-groups">
            <thead>
              <tr>
                <th>group</th>
                <th class="num">posts</th>
                <th>negative share</th>
                <th>top topics</th>
              </tr>
            </thead>
            <tbody>
              {result.summary.groups.map((group) => (
                <tr key={group.group}>
                  <td>{group.group}</td>
                  <td class="num">{group.posts}</td>
                  <td>
                    <meter min={0} max={1} value={group.negative_share} />{" "}
                    {(group.negative_share * 100).toFixed(1)}%
                  </td>
                  <td>{group.top_topics.map((topic) => `${topic.label} (${topic.posts})`).join(", ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

export function SocialPage(_props: PageProps) {
  const [upload, setUpload] = useState<Upload | undefined>(undefined);
  const [textField, setTextField] = useState("");
  const [timeField, setTimeField] = useState("");
  const [groupField, setGroupField] = useState("");
  const [run, setRun] = useState<RunState | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [polling, setPolling] = useState(true);

  // Poll the server's run while one is running (and once on opening: a run may be going on).
  useEffect(() => {
    if (!polling) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const state = await api<RunState>("/v1/dashboard/social/run");
        if (stopped) return;
        setRun(state);
        if (state.status === "running") timer = setTimeout(() => void tick(), 500);
        else setPolling(false);
      } catch (failure) {
        if (!stopped) {
          setError((failure as Error).message);
          setPolling(false);
        }
      }
    };
    void tick();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [polling]);

  const serverFiles = useLoad(
    (signal) =>
      api<{ reports_dir: boolean; data: readonly ServerFile[] }>("/v1/dashboard/social/files", { signal }),
    [],
  );
  const [serverFile, setServerFile] = useState("");
  /** Take an upload (of a file from this computer or of one chosen on the server): its columns, first guesses. */
  const take = async (request: Promise<Upload>) => {
    try {
      const answer = await request;
      setUpload(answer);
      setTextField(answer.columns.includes("text") ? "text" : (answer.columns[0] ?? ""));
      setTimeField(guess(answer.columns, /time|date|created|timestamp/i));
      setGroupField(guess(answer.columns, /group|brand|airline|product|channel|source/i));
      setError(undefined);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const choose = async (file: File) => {
    setUpload(undefined);
    setServerFile("");
    // Limit before work: a larger file is refused before it is read or sent.
    if (file.size > MAX_UPLOAD_MIB * 1024 * 1024) {
      setError(
        `${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MiB; the Social page takes files up to ${MAX_UPLOAD_MIB} MiB.`,
      );
      return;
    }
    await take(
      api<Upload>("/v1/dashboard/social/uploads", {
        body: { filename: file.name, content: await file.text() },
      }),
    );
  };
  const chooseOnServer = async (path: string) => {
    setUpload(undefined);
    setServerFile(path);
    if (path === "") return;
    await take(api<Upload>("/v1/dashboard/social/files", { body: { path } }));
  };
  const listed = serverFiles.data?.data ?? [];
  const start = async (event: Event) => {
    event.preventDefault();
    if (upload === undefined) return;
    try {
      setRun(
        await api<RunState>("/v1/dashboard/social/run", {
          body: {
            upload: upload.upload,
            text_field: textField,
            ...(timeField === "" ? {} : { time_field: timeField }),
            ...(groupField === "" ? {} : { group_field: groupField }),
          },
        }),
      );
      setError(undefined);
      setPolling(true);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const picker = (name: string, value: string, set: (value: string) => void, optional: boolean) => (
    <label>
      {name}{" "}
      <select
        name={`${name}-field`}
        value={value}
        onChange={(event) => set((event.target as HTMLSelectElement).value)}
      >
        {optional && <option value="">(none)</option>}
        {(upload?.columns ?? []).map((column) => (
          <option key={column} value={column}>
            {column}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <section>
      <h1>Social analysis</h1>
      <p class="hint">
        Topics, sentiment and trends of a posts export (as `embedkit social analyze`): a CSV, TSV or JSONL
        file up to {MAX_UPLOAD_MIB} MiB, from this computer or from the server's reports folder; one analysis
        runs at a time.
      </p>
      <div class="row">
        <label>
          Posts file{" "}
          <input
            type="file"
            name="posts"
            accept=".csv,.tsv,.jsonl,.ndjson"
            onChange={(event) => {
              const input = event.target as HTMLInputElement;
              const file = input.files?.[0];
              if (file !== undefined) void choose(file);
              input.value = "";
            }}
          />
        </label>
        <label>
          or a file on the server{" "}
          <select
            name="server-file"
            value={serverFile}
            disabled={listed.length === 0}
            onChange={(event) => void chooseOnServer((event.target as HTMLSelectElement).value)}
          >
            <option value="">
              {serverFiles.data === undefined
                ? "loading…"
                : !serverFiles.data.reports_dir
                  ? "none (no --reports folder)"
                  : listed.length === 0
                    ? "no CSV/TSV/JSONL file in the reports folder"
                    : "choose…"}
            </option>
            {listed.map((file) => (
              <option key={file.path} value={file.path}>
                {file.path} ({(file.bytes / 1024).toFixed(file.bytes < 10_240 ? 1 : 0)} KiB)
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox message={serverFiles.error} />
      {upload !== undefined && (
        <form class="row" onSubmit={(event) => void start(event)} data-testid="social-fields">
          <span class="hint">
            {upload.filename}: {upload.rows} rows, {upload.columns.length} columns
          </span>
          {picker("text", textField, setTextField, false)}
          {picker("time", timeField, setTimeField, true)}
          {picker("group", groupField, setGroupField, true)}
          <button type="submit" disabled={run?.status === "running"}>
            Analyse
          </button>
        </form>
      )}
      <ErrorBox message={error} />
      {run?.status === "running" && (
        <p data-testid="social-progress">
          Analysing {run.filename}: {run.stage} <progress max={1} value={run.progress} />
        </p>
      )}
      {run?.status === "failed" && (
        <ErrorBox message={`The analysis of ${run.filename} failed: ${run.error}`} />
      )}
      {run?.status === "done" && run.result !== null && <Result result={run.result} />}
    </section>
  );
}
