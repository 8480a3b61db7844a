/**
 * @module eval/report
 * Evaluation reports: one JSON-serialisable {@link EvalReport} rendered as
 * Markdown and as a self-contained HTML page (inline CSS and SVG charts, no
 * scripts, fonts or other external assets, so it opens offline and can be
 * mailed or archived as one file). The HTML shows a score table per model and
 * task, a bar chart per task, predicted-vs-gold scatter plots for STS, per-query
 * results for retrieval, and speed (texts/s) and vector size per model.
 * {@link renderInspectHtml} does the same for `embedkit inspect`.
 */
import type { InformationDensity, Robustness } from "./quality.js";
import type { RetrievalQueryResult } from "./tasks.js";

/** Task names of an evaluation. */
export type EvalTaskName = "sts" | "pair-classification" | "retrieval" | "classification" | "clustering";

/** One (model, task, data set) result. Scores ×100. */
export interface EvalReportEntry {
  readonly task: EvalTaskName;
  /** Set id or file path. */
  readonly set: string;
  readonly setName: string;
  readonly split: string;
  readonly model: string;
  readonly dims: number;
  /** Name of the headline metric (e.g. "Spearman", "nDCG@10"). */
  readonly metric: string;
  readonly score: number;
  /** Every metric measured, by name. */
  readonly metrics: Readonly<Record<string, number | null>>;
  /** Texts embedded now (not cached). */
  readonly embedded: number;
  readonly textsPerSecond: number | null;
  readonly seconds: number;
  /** STS / pair classification: predicted cosine vs gold score (a sample). */
  readonly scatter?: ReadonlyArray<{ readonly predicted: number; readonly gold: number }>;
  /** Retrieval: per-query results. */
  readonly perQuery?: readonly RetrievalQueryResult[];
}

/** A whole evaluation run. */
export interface EvalReport {
  readonly title: string;
  readonly createdAt: string;
  readonly models: ReadonlyArray<{ readonly id: string; readonly dims: number }>;
  readonly entries: readonly EvalReportEntry[];
  readonly notes: readonly string[];
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function formatScore(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

function groups(
  report: EvalReport,
): { key: string; task: EvalTaskName; set: string; entries: EvalReportEntry[] }[] {
  const byKey = new Map<
    string,
    { key: string; task: EvalTaskName; set: string; entries: EvalReportEntry[] }
  >();
  for (const entry of report.entries) {
    const key = `${entry.task} · ${entry.setName}`;
    let group = byKey.get(key);
    if (group === undefined) {
      group = { key, task: entry.task, set: entry.set, entries: [] };
      byKey.set(key, group);
    }
    group.entries.push(entry);
  }
  return [...byKey.values()];
}

function modelSpeed(report: EvalReport, model: string): number | null {
  let texts = 0;
  let seconds = 0;
  for (const entry of report.entries) {
    if (entry.model !== model || entry.textsPerSecond === null || entry.embedded === 0) continue;
    texts += entry.embedded;
    seconds += entry.embedded / entry.textsPerSecond;
  }
  return seconds === 0 ? null : texts / seconds;
}

/** Render a report as Markdown (score table, speed and size, notes). */
export function renderMarkdown(report: EvalReport): string {
  const models = report.models.map((model) => model.id);
  const lines = [`# ${report.title}`, "", `Created ${report.createdAt}. Scores ×100.`, ""];
  lines.push(
    `| task | data | metric | ${models.join(" | ")} |`,
    `|---|---|---|${models.map(() => "---:").join("|")}|`,
  );
  for (const group of groups(report)) {
    const first = group.entries[0] as EvalReportEntry;
    const cells = models.map((model) =>
      formatScore(group.entries.find((entry) => entry.model === model)?.score),
    );
    lines.push(`| ${group.task} | ${first.setName} | ${first.metric} | ${cells.join(" | ")} |`);
  }
  lines.push("", "| model | dims | texts/s (embedded now) |", "|---|---:|---:|");
  for (const model of report.models)
    lines.push(`| ${model.id} | ${model.dims} | ${formatScore(modelSpeed(report, model.id), 1)} |`);
  lines.push("", "Splits:", "");
  for (const group of groups(report))
    lines.push(`- ${group.key}: ${(group.entries[0] as EvalReportEntry).split}`);
  if (report.notes.length > 0) lines.push("", ...report.notes.map((note) => `- ${note}`));
  return `${lines.join("\n")}\n`;
}

/** Colours of chart series (shared by the eval and app reports). */
export const PALETTE = [
  "#2563eb",
  "#dc2626",
  "#16a34a",
  "#9333ea",
  "#ea580c",
  "#0891b2",
  "#ca8a04",
  "#db2777",
  "#4b5563",
  "#65a30d",
];

/** A horizontal bar chart: one bar per label, value printed at the bar's end. */
export function barChart(
  title: string,
  bars: readonly { label: string; value: number | null }[],
  unit = "",
): string {
  const rowHeight = 26;
  const left = 190;
  const span = 380;
  const valueText = (value: number | null): string =>
    `${formatScore(value, unit === "" ? 2 : 1)}${value === null ? "" : unit}`;
  // Room after the longest bar for its value label (12 px text: ~7.5 px a character), so a
  // label such as "1234.5 texts/s" is never cut off at the edge of the chart.
  const room = 12 + 7.5 * Math.max(0, ...bars.map((bar) => valueText(bar.value).length));
  const width = Math.max(640, Math.ceil(left + span + room));
  const height = 34 + bars.length * rowHeight;
  const max = Math.max(1e-9, ...bars.map((bar) => bar.value ?? 0));
  const rows = bars.map((bar, index) => {
    const y = 28 + index * rowHeight;
    const length = bar.value === null ? 0 : Math.max(1, (span * bar.value) / max);
    return (
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end" class="label">${escapeHtml(bar.label)}</text>` +
      // A missing value (e.g. speed when everything came from the cache) draws no bar, only "–".
      (bar.value === null
        ? ""
        : `<rect class="bar" x="${left}" y="${y + 2}" width="${length.toFixed(1)}" height="${rowHeight - 8}" fill="${PALETTE[index % PALETTE.length]}"><title>${escapeHtml(`${bar.label}: ${formatScore(bar.value)}${unit}`)}</title></rect>`) +
      `<text x="${(left + length + 6).toFixed(1)}" y="${y + 15}" class="value">${escapeHtml(valueText(bar.value))}</text>`
    );
  });
  return `<svg class="chart" role="img" aria-label="${escapeHtml(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg"><text x="0" y="16" class="title">${escapeHtml(title)}</text>${rows.join("")}</svg>`;
}

/** A scatter plot of points with optional colours and a legend. */
export function scatterPlot(options: {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly points: ReadonlyArray<{
    readonly x: number;
    readonly y: number;
    readonly colour?: string;
    readonly tip?: string;
  }>;
  readonly legend?: ReadonlyArray<{ readonly label: string; readonly colour: string }>;
  readonly size?: number;
}): string {
  const size = options.size ?? 360;
  const pad = 44;
  const legendWidth = options.legend === undefined ? 0 : 170;
  const xs = options.points.map((point) => point.x);
  const ys = options.points.map((point) => point.y);
  const range = (values: number[]): [number, number] => {
    const min = Math.min(...values);
    const max = Math.max(...values);
    if (min === max) return [min - 1, max + 1];
    // 3% margin so points on the extremes are not cut by the frame.
    const margin = (max - min) * 0.03;
    return [min - margin, max + margin];
  };
  const [xMin, xMax] = range(xs);
  const [yMin, yMax] = range(ys);
  // Axis labels give the data's range, not the padded plotting range.
  const xRange = `${formatScore(Math.min(...xs))} … ${formatScore(Math.max(...xs))}`;
  const yRange = `${formatScore(Math.min(...ys))} … ${formatScore(Math.max(...ys))}`;
  const sx = (x: number): number => pad + ((x - xMin) / (xMax - xMin)) * (size - pad - 10);
  const sy = (y: number): number => size - pad - ((y - yMin) / (yMax - yMin)) * (size - pad - 24);
  const dots = options.points
    .map(
      (point) =>
        `<circle class="dot" cx="${sx(point.x).toFixed(1)}" cy="${sy(point.y).toFixed(1)}" r="2.6" fill="${point.colour ?? PALETTE[0]}" fill-opacity="0.6">${point.tip === undefined ? "" : `<title>${escapeHtml(point.tip)}</title>`}</circle>`,
    )
    .join("");
  const legend = (options.legend ?? [])
    .map(
      (item, index) =>
        `<rect x="${size + 10}" y="${30 + index * 18}" width="10" height="10" fill="${item.colour}"/><text x="${size + 26}" y="${39 + index * 18}" class="label-left">${escapeHtml(item.label)}</text>`,
    )
    .join("");
  const width = size + legendWidth;
  return (
    `<svg class="chart" role="img" aria-label="${escapeHtml(options.title)}" width="${width}" height="${size}" viewBox="0 0 ${width} ${size}" xmlns="http://www.w3.org/2000/svg">` +
    `<text x="0" y="14" class="title">${escapeHtml(options.title)}</text>` +
    `<rect x="${pad}" y="24" width="${size - pad - 10}" height="${size - pad - 24}" class="frame"/>` +
    `<text x="${(pad + size) / 2}" y="${size - 8}" text-anchor="middle" class="axis">${escapeHtml(options.xLabel)} (${xRange})</text>` +
    `<text x="12" y="${size / 2}" text-anchor="middle" class="axis" transform="rotate(-90 12 ${size / 2})">${escapeHtml(options.yLabel)} (${yRange})</text>` +
    `${dots}${legend}</svg>`
  );
}

/** The stylesheet of every HTML report (eval, inspect, apps). */
export const REPORT_STYLE = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#111827}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f9fafb}.best{font-weight:700;background:#ecfdf5}.muted{color:#6b7280}.grid{display:flex;flex-wrap:wrap;gap:16px}
svg .title{font-weight:600;font-size:13px}svg .label{font-size:12px}svg .label-left{font-size:12px}svg .value{font-size:12px;fill:#374151}
svg .axis{font-size:11px;fill:#4b5563}svg .frame{fill:none;stroke:#d1d5db}details{margin:8px 0}.hit{color:#15803d}.miss{color:#b91c1c}`;

/** A complete, self-contained HTML page (inline style, no scripts, no network). */
export function reportPage(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${REPORT_STYLE}</style></head><body>${body}</body></html>\n`;
}

/** Render a report as one self-contained HTML page. */
export function renderHtml(report: EvalReport): string {
  const models = report.models.map((model) => model.id);
  const parts: string[] = [
    `<h1>${escapeHtml(report.title)}</h1>`,
    `<p class="muted">Created ${escapeHtml(report.createdAt)}. Scores ×100; best per row in bold.</p>`,
  ];
  // Score table.
  parts.push("<h2>Scores</h2><table><thead><tr><th>task</th><th>data</th><th>metric</th>");
  for (const model of models) parts.push(`<th>${escapeHtml(model)}</th>`);
  parts.push("</tr></thead><tbody>");
  for (const group of groups(report)) {
    const first = group.entries[0] as EvalReportEntry;
    const scores = models.map((model) => group.entries.find((entry) => entry.model === model)?.score);
    const best = Math.max(...scores.map((score) => score ?? Number.NEGATIVE_INFINITY));
    parts.push(
      `<tr><td>${escapeHtml(group.task)}</td><td>${escapeHtml(first.setName)}</td><td>${escapeHtml(first.metric)}</td>`,
    );
    for (const score of scores)
      parts.push(
        `<td class="n${score === best && models.length > 1 ? " best" : ""}">${formatScore(score)}</td>`,
      );
    parts.push("</tr>");
  }
  parts.push("</tbody></table>");
  // Bar charts.
  parts.push('<h2>Charts</h2><div class="grid">');
  for (const group of groups(report)) {
    const first = group.entries[0] as EvalReportEntry;
    parts.push(
      barChart(
        `${group.key} — ${first.metric}`,
        models.map((model) => ({
          label: model,
          value: group.entries.find((entry) => entry.model === model)?.score ?? null,
        })),
      ),
    );
  }
  parts.push("</div>");
  // Speed and size.
  parts.push(
    "<h2>Speed and size</h2><table><thead><tr><th>model</th><th>dims</th><th>bytes / vector (float32)</th><th>texts/s (embedded now)</th></tr></thead><tbody>",
  );
  for (const model of report.models) {
    parts.push(
      `<tr><td>${escapeHtml(model.id)}</td><td class="n">${model.dims}</td><td class="n">${model.dims * 4}</td><td class="n">${formatScore(modelSpeed(report, model.id), 1)}</td></tr>`,
    );
  }
  parts.push("</tbody></table>");
  const speedBars = report.models.map((model) => ({ label: model.id, value: modelSpeed(report, model.id) }));
  if (speedBars.some((bar) => bar.value !== null))
    parts.push(barChart("Embedding speed", speedBars, " texts/s"));
  // STS and pair-classification scatter plots.
  const scatterEntries = report.entries.filter(
    (entry) => entry.scatter !== undefined && entry.scatter.length > 0,
  );
  if (scatterEntries.length > 0) {
    parts.push('<h2>Predicted vs gold</h2><div class="grid">');
    for (const entry of scatterEntries) {
      parts.push(
        scatterPlot({
          title: `${entry.task} · ${entry.setName} · ${entry.model}`,
          xLabel: "gold score",
          yLabel: "cosine",
          points: (entry.scatter ?? []).map((point) => ({ x: point.gold, y: point.predicted })),
        }),
      );
    }
    parts.push("</div>");
  }
  // Retrieval per-query results.
  for (const entry of report.entries.filter((candidate) => candidate.perQuery !== undefined)) {
    const queries = [...(entry.perQuery ?? [])].sort((a, b) => a.ndcgAt10 - b.ndcgAt10);
    parts.push(
      `<h2>Per-query results · ${escapeHtml(entry.setName)} · ${escapeHtml(entry.model)}</h2>`,
      `<details><summary>${queries.length} queries, worst first (nDCG@10 ${formatScore(entry.score)})</summary><table><thead><tr><th>query</th><th>nDCG@10</th><th>first relevant rank</th><th>relevant</th><th>top 3 (✓ relevant)</th></tr></thead><tbody>`,
    );
    for (const query of queries) {
      const top = query.top
        .map(
          (document) =>
            `<span class="${document.relevant ? "hit" : "miss"}">${document.relevant ? "✓" : "✗"} ${escapeHtml(document.title || document.id)}</span>`,
        )
        .join("<br>");
      parts.push(
        `<tr><td>${escapeHtml(query.text)}</td><td class="n">${formatScore(query.ndcgAt10)}</td><td class="n">${query.firstRelevantRank ?? "> 100"}</td><td class="n">${query.relevant}</td><td>${top}</td></tr>`,
      );
    }
    parts.push("</tbody></table></details>");
  }
  parts.push("<h2>Splits and notes</h2><ul>");
  for (const group of groups(report))
    parts.push(
      `<li>${escapeHtml(group.key)}: ${escapeHtml((group.entries[0] as EvalReportEntry).split)}</li>`,
    );
  for (const note of report.notes) parts.push(`<li>${escapeHtml(note)}</li>`);
  parts.push("</ul>");
  return reportPage(report.title, parts.join(""));
}

/** What `embedkit inspect` reports. */
export interface InspectReport {
  readonly model: string;
  readonly dims: number;
  readonly texts: number;
  readonly createdAt: string;
  readonly density: InformationDensity;
  readonly robustness?: Robustness;
  readonly projection: {
    readonly method: "pca" | "umap";
    readonly explainedVariance?: readonly [number, number];
    readonly points: ReadonlyArray<{
      readonly x: number;
      readonly y: number;
      readonly label?: string;
      readonly text: string;
    }>;
  };
}

/** Render an inspect report as one self-contained HTML page. */
export function renderInspectHtml(report: InspectReport): string {
  const density = report.density;
  const labels = [...new Set(report.projection.points.map((point) => point.label ?? ""))].filter(
    (label) => label !== "",
  );
  const colourOf = new Map(labels.map((label, index) => [label, PALETTE[index % PALETTE.length] as string]));
  const rows: [string, string, string][] = [
    [
      "participation ratio",
      formatScore(density.participationRatio.participationRatio),
      `effective dimensions out of ${density.dims} (${formatScore(density.participationRatio.normalized * 100, 1)}%)`,
    ],
    [
      "dimension entropy",
      formatScore(density.dimensionEntropy.meanNormalized, 3),
      `mean normalized entropy over ${density.dimensionEntropy.bins} bins (min ${formatScore(density.dimensionEntropy.minNormalized, 3)})`,
    ],
    [
      "mean cosine to mean",
      formatScore(density.isotropy.meanCosineToMean, 3),
      "1 = all vectors share one direction; ≈ 0 = isotropic",
    ],
    [
      "mean pairwise cosine",
      formatScore(density.isotropy.meanPairwiseCosine, 3),
      "average similarity of unrelated texts (the baseline any score is compared with)",
    ],
    [
      "partition isotropy",
      formatScore(density.partitionIsotropy.isotropy, 3),
      "Mu & Viswanath I(W) = min Z(c) / max Z(c): 1 = isotropic, ≈ 0 = one dominant direction",
    ],
  ];
  const parts = [
    `<h1>Embedding inspection · ${escapeHtml(report.model)}</h1>`,
    `<p class="muted">${report.texts} texts, ${report.dims} dimensions. Created ${escapeHtml(report.createdAt)}.</p>`,
    "<h2>Information density</h2><table><thead><tr><th>measure</th><th>value</th><th>meaning</th></tr></thead><tbody>",
    ...rows.map(
      ([name, value, meaning]) =>
        `<tr><td>${name}</td><td class="n">${value}</td><td>${escapeHtml(meaning)}</td></tr>`,
    ),
    "</tbody></table>",
  ];
  if (report.robustness !== undefined) {
    const robustness = report.robustness;
    parts.push(
      '<h2>Robustness</h2><p class="muted">Cosine between each text\'s embedding and a perturbed copy; “neighbour kept” = share of texts whose nearest other text is unchanged.</p>',
      "<table><thead><tr><th>perturbation</th><th>mean</th><th>p5</th><th>p50</th><th>p95</th><th>neighbour kept</th><th>applied / skipped</th></tr></thead><tbody>",
    );
    const bars: { label: string; value: number | null }[] = [];
    for (const [name, result] of Object.entries(robustness.perturbations)) {
      if (result === undefined) continue;
      // A perturbation that applied to no text has no score: show "–", not 0.
      const applied = result.cosine.count > 0;
      const cell = (value: number, digits: number, suffix = ""): string =>
        applied ? `${formatScore(value, digits)}${suffix}` : "–";
      bars.push({ label: name, value: applied ? result.cosine.mean : null });
      parts.push(
        `<tr><td>${escapeHtml(name)}</td><td class="n">${cell(result.cosine.mean, 3)}</td><td class="n">${cell(result.cosine.p5, 3)}</td><td class="n">${cell(result.cosine.p50, 3)}</td><td class="n">${cell(result.cosine.p95, 3)}</td><td class="n">${cell(result.neighbourKept * 100, 1, "%")}</td><td class="n">${result.cosine.count} / ${result.skipped}</td></tr>`,
      );
    }
    for (const [level, result] of Object.entries(robustness.noise)) {
      bars.push({ label: `noise σ=${level}`, value: result.cosine.mean });
      parts.push(
        `<tr><td>Gaussian noise σ=${escapeHtml(level)}</td><td class="n">${formatScore(result.cosine.mean, 3)}</td><td class="n">${formatScore(result.cosine.p5, 3)}</td><td class="n">${formatScore(result.cosine.p50, 3)}</td><td class="n">${formatScore(result.cosine.p95, 3)}</td><td class="n">${formatScore(result.neighbourKept * 100, 1)}%</td><td class="n">${result.cosine.count} / 0</td></tr>`,
      );
    }
    parts.push("</tbody></table>", barChart("Mean cosine to the original", bars));
  }
  const explained = report.projection.explainedVariance;
  parts.push(
    `<h2>Projection (${report.projection.method.toUpperCase()})</h2>`,
    explained === undefined
      ? ""
      : `<p class="muted">Axes explain ${formatScore(explained[0] * 100, 1)}% and ${formatScore(explained[1] * 100, 1)}% of the variance.</p>`,
    scatterPlot({
      title: `${report.model} · ${report.projection.method.toUpperCase()}`,
      xLabel: "axis 1",
      yLabel: "axis 2",
      size: 560,
      points: report.projection.points.map((point) => ({
        x: point.x,
        y: point.y,
        colour: point.label === undefined ? (PALETTE[0] as string) : (colourOf.get(point.label) as string),
        tip: point.label === undefined ? point.text : `[${point.label}] ${point.text}`,
      })),
      ...(labels.length > 0
        ? { legend: labels.map((label) => ({ label, colour: colourOf.get(label) as string })) }
        : {}),
    }),
  );
  return reportPage(`Embedding inspection · ${report.model}`, parts.join(""));
}

/** What {@link renderLearningCurveHtml} shows: one training run of `embedkit train`. */
export interface LearningCurveReport {
  readonly title: string;
  /** Settings shown as a table (model, optimizer, schedule, …). */
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  /** Per-epoch numbers. */
  readonly epochs: ReadonlyArray<{
    readonly epoch: number;
    readonly trainLoss: number;
    readonly validationLoss?: number;
    readonly validationMetric?: number;
    readonly learningRate: number;
  }>;
  /** Name of the validation metric (e.g. "macro-F1"). */
  readonly metricName: string;
  /** Epoch whose weights were kept. */
  readonly bestEpoch: number;
  /** Extra lines under the charts. */
  readonly notes: readonly string[];
}

/** A line chart of one or more series over a shared x axis. */
export function lineChart(options: {
  readonly title: string;
  readonly xLabel: string;
  readonly series: ReadonlyArray<{
    readonly label: string;
    readonly points: ReadonlyArray<readonly [number, number]>;
  }>;
  readonly marker?: number;
}): string {
  const width = 520;
  const height = 300;
  const pad = 48;
  const all = options.series.flatMap((series) => series.points);
  if (all.length === 0) return "";
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs) === xMin ? xMin + 1 : Math.max(...xs);
  let yMin = Math.min(...ys);
  let yMax = Math.max(...ys);
  if (yMin === yMax) {
    yMin -= 1;
    yMax += 1;
  }
  const sx = (x: number): number => pad + ((x - xMin) / (xMax - xMin)) * (width - pad - 12);
  const sy = (y: number): number => height - pad - ((y - yMin) / (yMax - yMin)) * (height - pad - 28);
  const lines = options.series
    .map((series, index) => {
      const colour = PALETTE[index % PALETTE.length] as string;
      const path = series.points
        .map(([x, y], i) => `${i === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
        .join("");
      const dots = series.points
        .map(
          ([x, y]) =>
            `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${colour}"><title>${escapeHtml(`${series.label} @ ${x}: ${formatScore(y, 4)}`)}</title></circle>`,
        )
        .join("");
      const legend = `<rect x="${width - 150}" y="${30 + index * 16}" width="10" height="10" fill="${colour}"/><text x="${width - 135}" y="${39 + index * 16}" class="label-left">${escapeHtml(series.label)}</text>`;
      return `<path d="${path}" fill="none" stroke="${colour}" stroke-width="1.6"/>${dots}${legend}`;
    })
    .join("");
  const marker =
    options.marker === undefined
      ? ""
      : `<line x1="${sx(options.marker).toFixed(1)}" x2="${sx(options.marker).toFixed(1)}" y1="28" y2="${height - pad}" stroke="#9ca3af" stroke-dasharray="4 3"><title>best epoch ${options.marker}</title></line>`;
  return (
    `<svg class="chart" role="img" aria-label="${escapeHtml(options.title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<text x="0" y="16" class="title">${escapeHtml(options.title)}</text>` +
    `<rect x="${pad}" y="28" width="${width - pad - 12}" height="${height - pad - 28}" class="frame"/>` +
    `<text x="${pad - 4}" y="34" text-anchor="end" class="axis">${formatScore(yMax, 3)}</text>` +
    `<text x="${pad - 4}" y="${height - pad}" text-anchor="end" class="axis">${formatScore(yMin, 3)}</text>` +
    `<text x="${(pad + width) / 2}" y="${height - 12}" text-anchor="middle" class="axis">${escapeHtml(options.xLabel)} (${xMin} … ${Math.max(...xs)})</text>` +
    `${marker}${lines}</svg>`
  );
}

/** Render the learning curves of a training run (loss, validation metric, learning rate) as one HTML page. */
export function renderLearningCurveHtml(report: LearningCurveReport): string {
  const epochs = report.epochs;
  const loss = lineChart({
    title: "Loss",
    xLabel: "epoch",
    marker: report.bestEpoch,
    series: [
      { label: "train loss", points: epochs.map((e) => [e.epoch, e.trainLoss] as const) },
      ...(epochs.some((e) => e.validationLoss !== undefined)
        ? [
            {
              label: "validation loss",
              points: epochs
                .filter((e) => e.validationLoss !== undefined)
                .map((e) => [e.epoch, e.validationLoss as number] as const),
            },
          ]
        : []),
    ],
  });
  const metric = epochs.some((e) => e.validationMetric !== undefined)
    ? lineChart({
        title: `Validation ${report.metricName}`,
        xLabel: "epoch",
        marker: report.bestEpoch,
        series: [
          {
            label: report.metricName,
            points: epochs
              .filter((e) => e.validationMetric !== undefined)
              .map((e) => [e.epoch, e.validationMetric as number] as const),
          },
        ],
      })
    : "";
  const rate = lineChart({
    title: "Learning rate (end of epoch)",
    xLabel: "epoch",
    series: [{ label: "learning rate", points: epochs.map((e) => [e.epoch, e.learningRate] as const) }],
  });
  const settings = Object.entries(report.settings)
    .map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td>${escapeHtml(String(value))}</td></tr>`)
    .join("");
  const rows = epochs
    .map(
      (e) =>
        `<tr${e.epoch === report.bestEpoch ? ' class="best"' : ""}><td class="n">${e.epoch}</td><td class="n">${formatScore(e.trainLoss, 4)}</td><td class="n">${formatScore(e.validationLoss, 4)}</td><td class="n">${formatScore(e.validationMetric, 4)}</td><td class="n">${e.learningRate.toExponential(2)}</td></tr>`,
    )
    .join("");
  return reportPage(
    report.title,
    `<h1>${escapeHtml(report.title)}</h1><table>${settings}</table><div class="grid">${loss}${metric}${rate}</div>` +
      `<h2>Epochs</h2><table><tr><th>epoch</th><th>train loss</th><th>validation loss</th><th>validation ${escapeHtml(report.metricName)}</th><th>learning rate</th></tr>${rows}</table>` +
      (report.notes.length === 0
        ? ""
        : `<ul>${report.notes.map((note) => `<li>${escapeHtml(note)}</li>`).join("")}</ul>`),
  );
}
