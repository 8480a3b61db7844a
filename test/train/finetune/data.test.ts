/**
 * Fine-tuning data readers and checks on real files: pairs (with and without hard
 * negatives, scored), labelled texts, a CoNLL-2003 slice; empty rows skipped and
 * counted, all-empty files refused, malformed rows named by file:line, validation
 * labels unseen in training refused, long texts truncated with a warning or refused
 * (token counts from the real all-MiniLM-L6-v2 tokenizer).
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder, type Embedder } from "../../../src/embed/index.js";
import {
  applyLengthPolicy,
  checkValidationLabels,
  combineDataSha256,
  readLabelledTextsFile,
  readPairsFile,
  readTokenTagFile,
  tagLines,
} from "../../../src/train/finetune/index.js";
import { sharedData } from "../../helpers/data.js";

const CONLL_TRAIN = sharedData("conll2003-en/train.txt");
let dir: string;
let embedder: Embedder;

async function file(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-ft-data-"));
  embedder = await createEmbedder({ model: "all-minilm-l6-v2" });
});
afterAll(async () => {
  await embedder.close();
  await rm(dir, { recursive: true, force: true });
});

describe("readPairsFile", () => {
  it("reads anchor,positive,negative rows, skips and counts rows with an empty cell, hashes the bytes", async () => {
    const content =
      "anchor,positive,negative\n" +
      "how do I reset my password,Open settings and choose reset password,The weather is sunny\n" +
      "what is the fee,,\n" +
      "where is the station,The station is two blocks north,\n";
    const path = await file("pairs.csv", content);
    const data = await readPairsFile(path);
    expect(data.kind).toBe("pairs");
    if (data.kind !== "pairs") return;
    expect(data.hasNegatives).toBe(true);
    expect(data.pairs).toEqual([
      {
        anchor: "how do I reset my password",
        positive: "Open settings and choose reset password",
        negative: "The weather is sunny",
        line: 2,
      },
      { anchor: "where is the station", positive: "The station is two blocks north", line: 4 },
    ]);
    expect(data.skipped).toEqual([{ line: 3, reason: 'empty "positive" value' }]);
    expect(data.sha256).toBe(createHash("sha256").update(content).digest("hex"));
  });

  it("reads text1,text2,score rows (JSONL too) and names a non-numeric score by file:line", async () => {
    const jsonl = await file(
      "scored.jsonl",
      `${JSON.stringify({ text1: "A man plays guitar.", text2: "Someone plays an instrument.", score: 3.8 })}\n` +
        `${JSON.stringify({ text1: "A cat sleeps.", text2: "Stocks fell sharply.", score: 0.2 })}\n`,
    );
    const data = await readPairsFile(jsonl);
    expect(data).toMatchObject({
      kind: "scored",
      pairs: [
        { score: 3.8, line: 1 },
        { score: 0.2, line: 2 },
      ],
    });
    const bad = await file("scored.csv", "text1,text2,score\na,b,0.5\nc,d,high\n");
    await expect(readPairsFile(bad)).rejects.toMatchObject({
      code: "MALFORMED_FILE",
      message: expect.stringContaining(`${bad}:3: score "high" is not a number`),
    });
  });

  it("refuses unknown columns, an all-empty file and malformed CSV with file:line", async () => {
    const columns = await file("columns.csv", "query,passage\na,b\n");
    await expect(readPairsFile(columns)).rejects.toMatchObject({
      code: "MALFORMED_FILE",
      message: expect.stringMatching(/:1: expected the columns "anchor,positive".*found "query", "passage"/),
    });
    const empty = await file("empty.csv", "anchor,positive\n,x\ny,\n");
    await expect(readPairsFile(empty)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringMatching(
        /no usable training rows: all 2 rows have an empty cell \(first: line 2/,
      ),
    });
    const quotes = await file("quotes.csv", 'anchor,positive\na,b\n"unclosed,c\n');
    await expect(readPairsFile(quotes)).rejects.toMatchObject({ code: "MALFORMED_FILE" });
    await expect(readPairsFile(join(dir, "missing.csv"))).rejects.toMatchObject({ code: "FILE_NOT_FOUND" });
  });
});

describe("readLabelledTextsFile", () => {
  it("reads text,label rows, skips empty labels and lists the labels", async () => {
    const path = await file(
      "train.csv",
      "text,label\nbrilliant film,positive\ndull film,negative\nno label here,\n,positive\nmoving story,positive\n",
    );
    const data = await readLabelledTextsFile(path);
    expect(data.labels).toEqual(["negative", "positive"]);
    expect(data.rows.map((row) => row.line)).toEqual([2, 3, 6]);
    expect(data.skipped.map((row) => row.line)).toEqual([4, 5]);
  });

  it("refuses a single-label file and a missing column", async () => {
    const one = await file("one.csv", "text,label\na,x\nb,x\n");
    await expect(readLabelledTextsFile(one)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringContaining('only one label ("x")'),
    });
    const noLabel = await file("nolabel.csv", "text,category\na,x\nb,y\n");
    await expect(readLabelledTextsFile(noLabel)).rejects.toMatchObject({ code: "INVALID_OPTION" });
  });
});

describe("readTokenTagFile", () => {
  it("reads a real CoNLL-2003 slice and names a ragged line by file:line", async () => {
    const conll = await readFile(CONLL_TRAIN, "utf8");
    const blocks = conll.split(/\n\s*\n/).filter((block) => !block.startsWith("-DOCSTART-"));
    const slice = blocks.slice(0, 40).join("\n\n");
    const data = await readTokenTagFile(await file("train.txt", `${slice}\n`));
    expect(data.sentences).toHaveLength(40);
    expect(data.labels).toContain("B-PER");
    expect(data.labels).toContain("O");
    const ragged = await file("ragged.txt", "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman\n");
    await expect(readTokenTagFile(ragged)).rejects.toMatchObject({
      code: "MALFORMED_FILE",
      message: expect.stringContaining(`${ragged}:3:`),
    });
    const blank = await file("blank.txt", "\n\n\n");
    await expect(readTokenTagFile(blank)).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });
});

describe("checkValidationLabels", () => {
  it("refuses labels never seen in training, naming each with its first file:line", async () => {
    const train = await readLabelledTextsFile(await file("t.csv", "text,label\na,pos\nb,neg\nc,meh\n"));
    const valid = await readLabelledTextsFile(
      await file("v.csv", "text,label\nc,pos\nd,neutral\ne,mixed\nf,neutral\n"),
    );
    expect(() => checkValidationLabels(train.labels, valid)).toThrow(
      /Validation has 2 labels never seen in training: "neutral" \(.*v\.csv:3\), "mixed" \(.*v\.csv:4\)/,
    );
    // Labels only in training are fine.
    const subset = await readLabelledTextsFile(await file("s.csv", "text,label\ng,pos\nh,neg\n"));
    expect(() => checkValidationLabels(train.labels, subset)).not.toThrow();
  });

  it("checks NER tags the same way", async () => {
    const train = await readTokenTagFile(await file("t.txt", "Paris NNP B-NP B-LOC\nis VBZ B-VP O\n"));
    const valid = await readTokenTagFile(await file("v.txt", "Merkel NNP B-NP B-PER\nspoke VBD B-VP O\n"));
    expect(() => checkValidationLabels(train.labels, { path: valid.path, rows: tagLines(valid) })).toThrow(
      /"B-PER" \(.*v\.txt:1\)/,
    );
  });
});

describe("applyLengthPolicy", () => {
  const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(" ");
  const texts = [
    { text: "a short sentence", line: 2 },
    { text: long, line: 3 },
    { text: long, line: 7 },
  ];
  const countTokens = (values: readonly string[]) => embedder.countTokens(values);

  it("truncate: keeps the texts and warns once with the count", async () => {
    const warnings: string[] = [];
    const report = await applyLengthPolicy(texts, {
      maxTokens: embedder.model.maxTokens,
      countTokens,
      onLong: "truncate",
      path: "train.csv",
      onWarning: (message) => warnings.push(message),
    });
    expect(report.truncated).toBe(2);
    expect(report.longest).toBeGreaterThan(256);
    expect(warnings).toEqual([
      "train.csv: 2 texts over the model's limit of 256 tokens will be truncated (--on-long refuse to stop instead).",
    ]);
  });

  it("refuse: INPUT_TOO_LONG naming the first long text's file:line, its length and the limit", async () => {
    await expect(
      applyLengthPolicy(texts, { maxTokens: 256, countTokens, onLong: "refuse", path: "train.csv" }),
    ).rejects.toMatchObject({
      code: "INPUT_TOO_LONG",
      message: expect.stringMatching(/^train\.csv:3: the text has \d+ tokens, over the model's limit of 256/),
    });
  });
});

describe("combineDataSha256", () => {
  it("depends on every file and their order", () => {
    const a = { sha256: "a".repeat(64) };
    const b = { sha256: "b".repeat(64) };
    expect(combineDataSha256([a, b])).toMatch(/^[0-9a-f]{64}$/);
    expect(combineDataSha256([a, b])).not.toBe(combineDataSha256([b, a]));
  });
});
