/** Report rendering (escaping, self-containment, Markdown table) and the PCA projection. */
import { describe, expect, it } from "vitest";
import { projectPca } from "../../src/eval/projection.js";
import { createRandom } from "../../src/eval/random.js";
import { type EvalReport, escapeHtml, renderHtml, renderMarkdown } from "../../src/eval/report.js";

const report: EvalReport = {
  title: "t <b>",
  createdAt: "2026-01-01T00:00:00.000Z",
  models: [
    { id: "m1", dims: 4 },
    { id: "m2", dims: 8 },
  ],
  entries: [
    {
      task: "retrieval",
      set: "s",
      setName: "Set <script>alert(1)</script>",
      split: "test",
      model: "m1",
      dims: 4,
      metric: "nDCG@10",
      score: 50,
      metrics: { ndcgAt10: 50 },
      embedded: 10,
      textsPerSecond: 5,
      seconds: 2,
      perQuery: [
        {
          id: "q",
          text: 'a "query" <img src=x onerror=alert(1)>',
          ndcgAt10: 50,
          reciprocalRankAt10: 50,
          recallAt100: 100,
          relevant: 1,
          firstRelevantRank: 2,
          top: [{ id: "d", title: "Doc & co", relevant: false, score: 0.5 }],
        },
      ],
    },
    {
      task: "retrieval",
      set: "s",
      setName: "Set <script>alert(1)</script>",
      split: "test",
      model: "m2",
      dims: 8,
      metric: "nDCG@10",
      score: 75,
      metrics: { ndcgAt10: 75 },
      embedded: 0,
      textsPerSecond: null,
      seconds: 1,
    },
  ],
  notes: [],
};

describe("renderHtml", () => {
  it("escapes every piece of data and loads nothing external", () => {
    const html = renderHtml(report);
    expect(html).not.toMatch(/<(script|img|link|iframe)\b|\s(src|href)="|url\(/);
    expect(html).toContain("Set &#60;script&#62;alert(1)&#60;/script&#62;");
    expect(html).toContain("Doc &#38; co");
    // Best score of the row is marked; a model without speed gets "–".
    expect(html).toMatch(/<td class="n best">75\.00<\/td>/);
    expect(html).toMatch(/<td class="n">–<\/td>/);
  });

  it("leaves room for the longest value label of a bar chart (issue 19.11: cut-off speed label)", () => {
    const fast: EvalReport = {
      ...report,
      entries: report.entries.map((entry) => ({ ...entry, textsPerSecond: 12345.6, embedded: 10 })),
    };
    const html = renderHtml(fast);
    const chart = html.match(/<svg[^>]*aria-label="Embedding speed" width="(\d+)"[\s\S]*?<\/svg>/);
    expect(chart).not.toBeNull();
    const width = Number(chart?.[1]);
    const labels = [...(chart?.[0] ?? "").matchAll(/<text x="([\d.]+)"[^>]*class="value">([^<]*)<\/text>/g)];
    expect(labels.map((label) => label[2])).toEqual(["12345.6 texts/s", "12345.6 texts/s"]);
    for (const label of labels) {
      // 12 px text is at most ~7.5 px a character: the label must end inside the chart.
      expect(Number(label[1]) + 7.5 * (label[2] ?? "").length).toBeLessThanOrEqual(width);
    }
  });

  it("escapeHtml covers the five special characters", () => {
    expect(escapeHtml(`<>&"'`)).toBe("&#60;&#62;&#38;&#34;&#39;");
  });
});

describe("renderMarkdown", () => {
  it("has one row per task and data set with a column per model", () => {
    const markdown = renderMarkdown(report);
    expect(markdown).toContain("| task | data | metric | m1 | m2 |");
    expect(markdown).toContain("| retrieval | Set <script>alert(1)</script> | nDCG@10 | 50.00 | 75.00 |");
    expect(markdown).toContain("| m1 | 4 | 5.0 |");
  });
});

describe("projectPca", () => {
  it("finds the dominant direction, is deterministic, and reports explained variance", () => {
    const random = createRandom(9);
    // Variance 9 along (1,1,0)/√2, 1 along z, ~0.01 elsewhere.
    const vectors = Array.from({ length: 200 }, () => {
      const a = 3 * random.gaussian();
      const b = random.gaussian();
      const c = 0.1 * random.gaussian();
      return Float32Array.of(a / Math.SQRT2 + c, a / Math.SQRT2 - c, b);
    });
    const first = projectPca(vectors, { seed: 1 });
    const second = projectPca(vectors, { seed: 2 });
    expect(second.points).toEqual(
      first.points.map((point) => [expect.closeTo(point[0], 5), expect.closeTo(point[1], 5)]),
    );
    const [pc1, pc2] = first.explainedVariance ?? [0, 0];
    expect(pc1).toBeGreaterThan(0.85);
    expect(pc2).toBeGreaterThan(0.05);
    expect(pc1 + pc2).toBeGreaterThan(0.99);
  });
});
