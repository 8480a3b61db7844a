/**
 * `embedkit eval` and `embedkit inspect`, run in-process on the real
 * all-minilm-l6-v2-q model and small fixtures; the HTML reports are opened in
 * headless Chromium (Debian's /usr/bin/chromium via playwright-core; the global
 * test setup installs it when missing), checking for console errors and rendered SVG charts.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import type { EvalReport } from "../../src/eval/report.js";
import { runCli } from "./run-cli.js";

const MODEL = "all-minilm-l6-v2-q";
const FIXTURES = join(import.meta.dirname, "../fixtures/eval");
const CHROMIUM = "/usr/bin/chromium";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-cli-eval-"));
  await (await createEmbedder({ model: MODEL })).close();
});

describe("embedkit eval", () => {
  it("documents tasks and options in --help", async () => {
    const run = await runCli(["eval", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/pair-classification/);
    expect(run.stdout).toMatch(/suite/);
    expect(run.stdout).toMatch(/--data-dir <dir>/);
    expect(run.stdout).toMatch(/default: \$EMBEDKIT_DATA/);
    expect(run.stdout).not.toMatch(/shared\/data/);
    expect(run.stdout).toMatch(/--out <dir>/);
  });

  it("runs STS and pair classification on a pair file for two models and writes JSON, Markdown and HTML", async () => {
    const out = join(dir, "pairs-report");
    const run = await runCli([
      "eval",
      "suite",
      "--model",
      `${MODEL},all-minilm-l6-v2`,
      "--data",
      join(FIXTURES, "tasks/pairs-binary.tsv"),
      "--out",
      out,
      "--quiet",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\| sts \| pairs-binary\.tsv \| Spearman \|/);
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as EvalReport;
    expect(report.models.map((model) => model.id)).toEqual([MODEL, "all-minilm-l6-v2"]);
    expect(report.entries.map((entry) => `${entry.model}:${entry.task}`)).toEqual([
      `${MODEL}:sts`,
      `${MODEL}:pair-classification`,
      "all-minilm-l6-v2:sts",
      "all-minilm-l6-v2:pair-classification",
    ]);
    expect(report.entries[1]?.score).toBeCloseTo(100, 6);
    expect(report.entries[0]?.scatter).toHaveLength(6);
    const html = await readFile(join(out, "report.html"), "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(await readFile(join(out, "report.md"), "utf8")).toMatch(/# embedkit eval: suite/);
  });

  it("--limit samples STS pairs with the seed instead of taking the file's first pairs, and says so (issue 19.3)", async () => {
    // 30 pairs whose gold scores rise with the line: the first 6 pairs hold the 6 lowest scores.
    const file = join(dir, "rising.tsv");
    const rows = Array.from(
      { length: 30 },
      (_, i) => `sentence number ${i}\tanother sentence ${i % 7}\t${(i / 6).toFixed(3)}`,
    );
    await writeFile(file, `sentence1\tsentence2\tscore\n${rows.join("\n")}\n`);
    const golds = async (seed: string) => {
      const out = join(dir, `limit-${seed}`);
      const run = await runCli([
        "eval",
        "sts",
        "-m",
        MODEL,
        "--data",
        file,
        "--limit",
        "6",
        "--seed",
        seed,
        "--out",
        out,
        "--quiet",
      ]);
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as EvalReport;
      expect(report.notes.join(" ")).toMatch(
        /--limit 6: pairs .* random sample of at most 6 drawn with the seed/,
      );
      return (report.entries[0]?.scatter ?? []).map((point) => point.gold).sort((a, b) => a - b);
    };
    const first = await golds("42");
    expect(first).toHaveLength(6);
    expect(Math.max(...first)).toBeGreaterThan(5 / 6); // not just the file's first 6 pairs
    expect(await golds("42")).toEqual(first); // the same seed draws the same pairs
    expect(await golds("7")).not.toEqual(first);
  });

  it("runs classification and clustering on a labelled CSV and prints JSON", async () => {
    const run = await runCli([
      "eval",
      "suite",
      "-m",
      MODEL,
      "--data",
      join(FIXTURES, "tasks/labeled.csv"),
      "--label-field",
      "topic",
      "--json",
      "--quiet",
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as EvalReport;
    expect(report.entries.map((entry) => entry.task)).toEqual(["classification", "clustering"]);
    expect(report.entries[0]?.score).toBeGreaterThan(80);
  });

  it("runs retrieval on a BEIR folder with per-query results", async () => {
    const run = await runCli([
      "eval",
      "retrieval",
      "-m",
      MODEL,
      "--data",
      join(FIXTURES, "tasks/beir"),
      "--json",
      "--quiet",
      "--no-cache",
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as EvalReport;
    const [entry] = report.entries;
    expect(entry?.metric).toBe("nDCG@10");
    expect(entry?.score).toBeCloseTo(100, 6);
    expect(entry?.metrics.queries).toBe(3);
    expect(entry?.perQuery?.map((query) => query.id)).toEqual(["q1", "q2", "q3"]);
    expect(entry?.textsPerSecond).toBeGreaterThan(0);
  });

  it("fails with exit code 1 and the file and line for malformed data", async () => {
    const missing = await runCli([
      "eval",
      "classification",
      "-m",
      MODEL,
      "--data",
      join(FIXTURES, "tasks/missing-label.csv"),
      "--label-field",
      "topic",
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /MALFORMED_FILE.*missing-label\.csv, line 3: expected at least 2 comma-separated columns/,
    );
    const score = await runCli([
      "eval",
      "sts",
      "-m",
      MODEL,
      "--data",
      join(FIXTURES, "bad-score.csv"),
      "--no-header",
    ]);
    expect(score.code).toBe(1);
    expect(score.stderr).toMatch(
      /bad-score\.csv, line 2: the score in column 2 must be a number, received "high"/,
    );
    const empty = await runCli([
      "eval",
      "sts",
      "-m",
      MODEL,
      "--data",
      join(FIXTURES, "empty.csv"),
      "--no-header",
    ]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/holds no sentence pairs/);
  });

  it("rejects an unknown task, a task the data does not support, and an unknown set", async () => {
    expect((await runCli(["eval", "nope", "--data", "sst-2"])).stderr).toMatch(/Unknown task "nope"/);
    const unsupported = await runCli([
      "eval",
      "retrieval",
      "-m",
      MODEL,
      "--data",
      join(FIXTURES, "tasks/labeled.csv"),
      "--label-field",
      "topic",
    ]);
    expect(unsupported.code).toBe(1);
    expect(unsupported.stderr).toMatch(/supports classification, clustering, not retrieval/);
    const unknown = await runCli(["eval", "sts", "-m", MODEL, "--data", "no-such-set"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/neither a known set/);
  });

  it("names --data-dir and EMBEDKIT_DATA when a named set has no data folder", async () => {
    const saved = process.env.EMBEDKIT_DATA;
    delete process.env.EMBEDKIT_DATA;
    try {
      const run = await runCli(["eval", "sts", "-m", MODEL, "--data", "stsb-en-dev"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        /INVALID_OPTION.*pass dataDir \(CLI: --data-dir\) or set EMBEDKIT_DATA=\/path\/to\/data/,
      );
    } finally {
      if (saved !== undefined) process.env.EMBEDKIT_DATA = saved;
    }
  });
});

describe("embedkit inspect", () => {
  it("reports density, robustness and a labelled UMAP projection as JSON and HTML", async () => {
    const out = join(dir, "inspect");
    const run = await runCli([
      "inspect",
      join(FIXTURES, "tasks/labeled.csv"),
      "--labels-field",
      "topic",
      "--projection",
      "umap",
      "-m",
      MODEL,
      "--robustness-texts",
      "10",
      "--out",
      out,
      "--json",
      "--quiet",
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      density: { participationRatio: { participationRatio: number } };
      projection: { method: string; points: { label?: string }[] };
      robustness: { perturbations: Record<string, unknown> };
    };
    expect(report.projection.method).toBe("umap");
    expect(report.projection.points).toHaveLength(30);
    expect(new Set(report.projection.points.map((point) => point.label))).toEqual(
      new Set(["sports", "cooking", "finance"]),
    );
    expect(report.density.participationRatio.participationRatio).toBeGreaterThan(1);
    expect(Object.keys(report.robustness.perturbations)).toEqual([
      "typo",
      "casing",
      "punctuation",
      "word-drop",
      "synonym",
    ]);
    expect(await readFile(join(out, "inspect.html"), "utf8")).toMatch(/Projection \(UMAP\)/);
  });

  it("prints a readable summary for a plain text file", async () => {
    const run = await runCli([
      "inspect",
      join(FIXTURES, "tasks/texts.txt"),
      "-m",
      MODEL,
      "--no-robustness",
      "--quiet",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/participation ratio \d+\.\d\d/);
    expect((await runCli(["inspect", "--help"])).stdout).toMatch(/--labels-field <name>/);
  });
});

describe("HTML reports in headless Chromium", () => {
  it("open without console errors and render their SVG charts", async () => {
    const { chromium } = await import("playwright-core");
    const out = join(dir, "browser");
    const evalRun = await runCli([
      "eval",
      "suite",
      "-m",
      `${MODEL},all-minilm-l6-v2`,
      "--data",
      `${join(FIXTURES, "tasks/pairs-binary.tsv")},${join(FIXTURES, "tasks/labeled.csv")}`,
      "--label-field",
      "topic",
      "--out",
      out,
      "--quiet",
    ]);
    expect(evalRun.code).toBe(0);
    const inspectRun = await runCli([
      "inspect",
      join(FIXTURES, "tasks/labeled.csv"),
      "--labels-field",
      "topic",
      "-m",
      MODEL,
      "--robustness-texts",
      "10",
      "--out",
      out,
      "--quiet",
    ]);
    expect(inspectRun.code).toBe(0);
    const profile = await mkdtemp(join(tmpdir(), "embedkit-chromium-"));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1200, height: 900 },
    });
    try {
      for (const name of ["report.html", "inspect.html"]) {
        const page = await context.newPage();
        const problems: string[] = [];
        page.on("console", (message) => {
          if (message.type() === "error") problems.push(message.text());
        });
        page.on("pageerror", (error) => problems.push(error.message));
        page.on("request", (request) => {
          if (!request.url().startsWith("file:")) problems.push(`external request ${request.url()}`);
        });
        await page.goto(pathToFileURL(join(out, name)).href);
        const boxes = await page.$$eval("svg.chart", (charts) =>
          charts.map((chart) => {
            const box = chart.getBoundingClientRect();
            const marks = chart.querySelectorAll("rect.bar, circle.dot");
            const drawn = [...marks].filter((mark) => {
              const markBox = mark.getBoundingClientRect();
              return markBox.width > 0 && markBox.height > 0;
            }).length;
            return { width: box.width, height: box.height, marks: marks.length, drawn };
          }),
        );
        expect(boxes.length).toBeGreaterThanOrEqual(name === "report.html" ? 5 : 2);
        for (const box of boxes) {
          expect(box.width).toBeGreaterThan(100);
          expect(box.height).toBeGreaterThan(50);
          expect(box.drawn).toBe(box.marks);
          expect(box.marks).toBeGreaterThan(0);
        }
        await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
        expect(problems).toEqual([]);
        await page.close();
      }
    } finally {
      await context.close();
    }
    process.env.EMBEDKIT_TEST_SCREENSHOTS && console.info(`screenshots in ${out}`);
  });
});
