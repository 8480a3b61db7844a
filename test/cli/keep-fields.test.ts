/** `--keep-fields` / `--keep-all` on `classify`, `ner` and `embed`: results joined back to the input rows (real models). */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedData } from "../helpers/data.js";
import { runCli } from "./run-cli.js";

const MODEL = "all-minilm-l6-v2";
let dir: string;
let reviews: string;
let reviewsJsonl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-keep-"));
  reviews = join(dir, "reviews.csv");
  await writeFile(
    reviews,
    [
      "review_id,review,label,stars",
      'r-1,"What a wonderful, moving film",positive,5',
      "r-2,A dull and tedious movie,negative,1",
      'r-3,"The acting was superb, I loved it",positive,4',
    ].join("\n"),
  );
  reviewsJsonl = join(dir, "reviews.jsonl");
  await writeFile(
    reviewsJsonl,
    [
      JSON.stringify({ review_id: 1, text: "great phone", meta: { shop: "a" } }),
      JSON.stringify({ text: "awful battery", extra: true }),
    ].join("\n"),
  );
});

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function csvRows(text: string): Record<string, string>[] {
  return parseCsv(text, { columns: true }) as Record<string, string>[];
}

describe("classify --keep-fields", () => {
  it("writes CSV rows with the kept columns next to the predicted label (a clashing column becomes input_<name>)", async () => {
    const out = join(dir, "labelled.csv");
    const run = await runCli([
      "classify",
      "--labels",
      "positive,negative",
      "-m",
      MODEL,
      "--file",
      reviews,
      "--text-field",
      "review",
      "--keep-fields",
      "review_id,label",
      "--out",
      out,
      "--quiet",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const rows = csvRows(await readFile(out, "utf8"));
    expect(rows.map((row) => row.review_id)).toEqual(["r-1", "r-2", "r-3"]);
    expect(Object.keys(rows[0] as object)).toEqual([
      "index",
      "review_id",
      "input_label",
      "label",
      "score",
      "probabilities",
    ]);
    // The gold label sits next to the prediction, row by row.
    expect(rows.map((row) => row.input_label)).toEqual(["positive", "negative", "positive"]);
    for (const row of rows) expect(["positive", "negative"]).toContain(row.label);
    expect(JSON.parse(rows[0]?.probabilities as string)).toHaveProperty("negative");
  });

  it("--keep-all with JSONL on stdout keeps every column, and an unknown name lists the columns", async () => {
    const run = await runCli([
      "classify",
      "--labels",
      "positive,negative",
      "-m",
      MODEL,
      "--file",
      reviews,
      "--text-field",
      "review",
      "--keep-all",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatchObject({
      index: 1,
      review_id: "r-2",
      review: "A dull and tedious movie",
      stars: "1",
    });
    expect(lines[1].input_label).toBe("negative");

    const unknown = await runCli([
      "classify",
      "--labels",
      "positive,negative",
      "-m",
      MODEL,
      "--file",
      reviews,
      "--text-field",
      "review",
      "--keep-fields",
      "review_id,stras",
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /INVALID_OPTION.*has no field "stras" to keep\. Its columns: review_id, review, label, stars/,
    );
    expect(unknown.stdout).toBe("");
  });

  it("refuses keep options without a file, both at once, and an unknown --out extension", async () => {
    const args = ["classify", "--labels", "a,b", "-m", MODEL];
    const noFile = await runCli([...args, "--keep-all", "some text"]);
    expect(noFile.stderr).toMatch(/INVALID_OPTION.*--file/);
    const both = await runCli([...args, "--file", reviews, "--keep-all", "--keep-fields", "x"]);
    expect(both.stderr).toMatch(/not both/);
    const extension = await runCli([...args, "--file", reviews, "--out", join(dir, "x.parquet")]);
    expect(extension.code).toBe(1);
    expect(extension.stderr).toMatch(/\.json, \.jsonl or \.csv/);
  });
});

describe("embed --keep-fields", () => {
  it("JSONL rows carry JSON values as they were; a field missing on a line is null", async () => {
    const run = await runCli([
      "embed",
      "-m",
      MODEL,
      "--file",
      reviewsJsonl,
      "--keep-fields",
      "review_id,meta",
      "--quiet",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ index: 0, review_id: 1, meta: { shop: "a" } });
    expect(lines[1]).toMatchObject({ index: 1, review_id: null, meta: null });
    expect(lines[1].embedding).toHaveLength(384);
  });

  it("CSV rows: index, kept columns, then e0..e383; .npy and .txt inputs are refused", async () => {
    const out = join(dir, "vectors.csv");
    const run = await runCli([
      "embed",
      "-m",
      MODEL,
      "--file",
      reviews,
      "--text-field",
      "review",
      "--keep-fields",
      "review_id",
      "--out",
      out,
      "--quiet",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const rows = csvRows(await readFile(out, "utf8"));
    expect(Object.keys(rows[0] as object).slice(0, 3)).toEqual(["index", "review_id", "e0"]);
    expect(Object.keys(rows[0] as object)).toHaveLength(2 + 384);
    expect(rows.map((row) => row.review_id)).toEqual(["r-1", "r-2", "r-3"]);

    const npy = await runCli([
      "embed",
      "-m",
      MODEL,
      "--file",
      reviews,
      "--text-field",
      "review",
      "--keep-all",
      "--out",
      join(dir, "v.npy"),
    ]);
    expect(npy.code).toBe(1);
    expect(npy.stderr).toMatch(/need jsonl or csv output/);
    const txt = join(dir, "lines.txt");
    await writeFile(txt, "one\ntwo\n");
    const plain = await runCli(["embed", "-m", MODEL, "--file", txt, "--keep-all"]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/plain text file .* no fields to keep/);
  });
});

describe("ner --keep-fields", () => {
  it("CSV: one row per entity with the kept id, and a row with empty cells for a text without entities", async () => {
    const conll = await readFile(sharedData("conll2003-en/train.txt"), "utf8");
    const blocks = conll.split(/\n\s*\n/).filter((block) => !block.startsWith("-DOCSTART-"));
    await writeFile(join(dir, "train.conll"), `${blocks.slice(0, 150).join("\n\n")}\n`);
    const tagger = join(dir, "tagger");
    const trained = await runCli([
      "train",
      "ner",
      "--data",
      join(dir, "train.conll"),
      "--epochs",
      "3",
      "--learning-rate",
      "0.003",
      "--cache-dir",
      join(dir, "ner-cache"),
      "--out",
      tagger,
      "--quiet",
    ]);
    expect(trained.code, trained.stderr).toBe(0);
    const articles = join(dir, "articles.csv");
    await writeFile(
      articles,
      [
        "article_id,text",
        'a-7,"EU rejects German call to boycott British lamb ."',
        "a-8,nothing here at all",
      ].join("\n"),
    );
    const out = join(dir, "entities.csv");
    const run = await runCli([
      "ner",
      "--tagger",
      tagger,
      "--file",
      articles,
      "--keep-fields",
      "article_id",
      "--out",
      out,
      "--quiet",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const rows = csvRows(await readFile(out, "utf8"));
    expect(Object.keys(rows[0] as object)).toEqual([
      "index",
      "article_id",
      "type",
      "start",
      "end",
      "entity",
      "score",
    ]);
    const first = rows.filter((row) => row.article_id === "a-7");
    expect(first.length).toBeGreaterThan(0);
    for (const row of first) {
      expect(
        "EU rejects German call to boycott British lamb .".slice(Number(row.start), Number(row.end)),
      ).toBe(row.entity);
    }
    expect(rows.filter((row) => row.article_id === "a-8").length).toBeGreaterThanOrEqual(1);

    const json = await runCli([
      "ner",
      "--tagger",
      tagger,
      "--file",
      articles,
      "--keep-all",
      "--format",
      "json",
    ]);
    expect(json.code, json.stderr).toBe(0);
    const objects = JSON.parse(json.stdout) as {
      index: number;
      article_id: string;
      text: string;
      entities: unknown[];
    }[];
    expect(objects.map((object) => object.article_id)).toEqual(["a-7", "a-8"]);
    expect(objects[0]?.text).toBe("EU rejects German call to boycott British lamb .");
    expect(Array.isArray(objects[0]?.entities)).toBe(true);
  });
});
