import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const fixtures = new URL("../fixtures/train/", import.meta.url).pathname;
const MODEL = "all-minilm-l6-v2";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-cli-train-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("embedkit train classifier / classify", () => {
  it("trains, reports each epoch, saves the head and an HTML report, then classifies with it", async () => {
    const out = join(dir, "clf");
    const trained = await runCli([
      "train",
      "classifier",
      "--data",
      join(fixtures, "sentiment.csv"),
      "--text-col",
      "text",
      "--label-col",
      "label",
      "-m",
      MODEL,
      "--lr",
      "0.05",
      "--schedule",
      "cosine",
      "--warmup",
      "0.1",
      "--epochs",
      "12",
      "--val",
      "0.25",
      "--augment",
      "deletion,swap",
      "--out",
      out,
      "--json",
    ]);
    expect(trained.stderr).toMatch(/epoch 12\/12 {2}loss \d\.\d{4} {2}val loss/);
    expect(trained.code).toBe(0);
    const summary = JSON.parse(trained.stdout);
    expect(summary).toMatchObject({ model: MODEL, classes: ["negative", "positive"], epochs: 12 });
    expect(await readFile(join(out, "report.html"), "utf8")).toMatch(/<svg[^>]*aria-label="Loss"/);

    const classified = await runCli([
      "classify",
      "--classifier",
      out,
      "--json",
      "a truly wonderful and moving film",
      "a dull, tedious and awful movie",
    ]);
    expect(classified.code).toBe(0);
    const results = JSON.parse(classified.stdout);
    expect(results.map((result: { label: string }) => result.label)).toEqual(["positive", "negative"]);
    expect(results[0].probabilities.positive + results[0].probabilities.negative).toBeCloseTo(1, 5);

    const mismatch = await runCli(["classify", "--classifier", out, "-m", "bge-small-en-v1.5", "hello"]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/MODEL_MISMATCH.*trained on all-minilm-l6-v2/);

    const description = JSON.parse(await readFile(join(out, "model.json"), "utf8"));
    await writeFile(join(out, description.weights.file), Buffer.alloc(8));
    const corrupt = await runCli(["classify", "--classifier", out, "hello"]);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/MALFORMED_FILE.*truncated or replaced/);
  });

  it("refuses a file with one label and a row without a label", async () => {
    const single = join(dir, "single.csv");
    await writeFile(single, "text,label\nfoo,a\nbar,a\n");
    const one = await runCli(["train", "classifier", "--data", single, "-m", MODEL, "--out", join(dir, "x")]);
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(/only one label/);
    const missing = join(dir, "missing.csv");
    await writeFile(missing, "text,label\nfoo,a\nbar,\nbaz,b\n");
    const gap = await runCli([
      "train",
      "classifier",
      "--data",
      missing,
      "-m",
      MODEL,
      "--out",
      join(dir, "y"),
    ]);
    expect(gap.code).toBe(1);
    expect(gap.stderr).toMatch(/row 2 has no value in the label column "label"/);
    // Issue 19.5: a --label-col that is not a column is named as such, with the columns.
    const absent = await runCli([
      "train",
      "classifier",
      "--data",
      missing,
      "--label-col",
      "sentiment",
      "-m",
      MODEL,
      "--out",
      join(dir, "z"),
    ]);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(
      /--label-col: no column "sentiment" in .*missing\.csv \(columns: text, label\)/,
    );
  });

  it("classifies zero-shot from label names", async () => {
    const run = await runCli([
      "classify",
      "--labels",
      "sports,cooking,finance",
      "-m",
      MODEL,
      "the chef added garlic and simmered the sauce",
      "the striker scored twice in the final",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout.split("\n").map((line) => line.split("\t")[0])).toEqual(["cooking", "sports", ""]);
    const bad = await runCli(["classify", "--labels", "only", "-m", MODEL, "x"]);
    expect(bad.code).toBe(1);
  });
});

describe("embedkit train adapter", () => {
  it("trains on pairs and reports validation nDCG@10 before and after", async () => {
    const out = join(dir, "adapter");
    const run = await runCli([
      "train",
      "adapter",
      "--data",
      join(fixtures, "pairs.csv"),
      "-m",
      MODEL,
      "--epochs",
      "5",
      "--batch-size",
      "4",
      "--val",
      "0.2",
      "--out",
      out,
      "--json",
    ]);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ model: MODEL, trainPairs: 8, validationPairs: 2 });
    expect(summary.validationNdcgBefore).toBeGreaterThan(0);
    expect(JSON.parse(await readFile(join(out, "model.json"), "utf8")).kind).toBe("adapter");
  });

  it("documents every option in --help", async () => {
    const help = await runCli(["train", "classifier", "--help"]);
    for (const option of [
      "--optimizer",
      "--schedule",
      "--warmup",
      "--hidden",
      "--augment",
      "--val",
      "--weight-decay",
      "--l2",
    ]) {
      expect(help.stdout).toContain(option);
    }
  });
});
