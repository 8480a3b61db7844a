/** Labelled-text and BEIR readers: formats, column mapping, and clear errors with line numbers. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { getTaskSet, readLabeledTexts, readRetrievalSet, splitLabeled } from "../../src/eval/task-data.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/eval/tasks");
const at = (name: string): string => join(FIXTURES, name);
const malformed = (fragment: string | RegExp): unknown =>
  expect.objectContaining({
    code: "MALFORMED_FILE",
    message:
      typeof fragment === "string" ? expect.stringContaining(fragment) : expect.stringMatching(fragment),
  });

describe("readLabeledTexts", () => {
  it("reads CSV by header names", async () => {
    const items = await readLabeledTexts(at("labeled.csv"), {
      format: "csv",
      header: true,
      text: "text",
      label: "topic",
    });
    expect(items).toHaveLength(30);
    expect(items[0]).toEqual({ text: "The striker scored twice in the second half.", label: "sports" });
  });

  it("reads JSONL fields, joins several text fields, and maps labels", async () => {
    const items = await readLabeledTexts(at("labeled.jsonl"), {
      format: "jsonl",
      text: ["body", "meta"],
      label: "category",
      mapLabel: (raw) => raw.toUpperCase(),
    });
    expect(items[0]).toEqual({ text: "The striker scored twice in the second half. m", label: "SPORTS" });
  });

  it("reads label-space-text lines (SST-2/TREC) and skips blank lines", async () => {
    const items = await readLabeledTexts(at("labeled-space.txt"), {
      format: "label-space-text",
      mapLabel: (raw) => raw.split(":")[0] ?? raw,
    });
    expect(items.map((item) => item.label)).toEqual(["DESC", "NUM", "HUM"]);
    expect(items[2]?.text).toBe("Who wrote Hamlet ?");
  });

  it("names file and line for a row with a missing column", async () => {
    await expect(
      readLabeledTexts(at("missing-label.csv"), {
        format: "csv",
        header: true,
        text: "text",
        label: "topic",
      }),
    ).rejects.toThrow(
      malformed(/missing-label\.csv, line 3: expected at least 2 comma-separated columns, received 1/),
    );
  });

  it("rejects a blank label, an unknown header, bad JSON and a missing JSON field", async () => {
    await expect(
      readLabeledTexts(at("blank-label.tsv"), { format: "tsv", header: true, text: "text", label: "label" }),
    ).rejects.toThrow(malformed("line 3: the label is empty"));
    await expect(
      readLabeledTexts(at("labeled.csv"), { format: "csv", header: true, text: "body", label: "topic" }),
    ).rejects.toThrow(malformed('the header has no column named "body"'));
    await expect(
      readLabeledTexts(at("bad.jsonl"), { format: "jsonl", text: "text", label: "label" }),
    ).rejects.toThrow(malformed("line 2: not valid JSON"));
    await expect(
      readLabeledTexts(at("missing-field.jsonl"), { format: "jsonl", text: "text", label: "label" }),
    ).rejects.toThrow(malformed('line 2: the field "text" is missing'));
  });

  it("rejects empty files and header-only files, and missing files", async () => {
    await expect(readLabeledTexts(at("empty.tsv"), { format: "tsv", text: 0, label: 1 })).rejects.toThrow(
      malformed("holds no rows"),
    );
    await expect(
      readLabeledTexts(at("header-only.csv"), { format: "csv", header: true, text: "text", label: "label" }),
    ).rejects.toThrow(malformed("holds no rows"));
    await expect(readLabeledTexts(at("nope.csv"), { format: "csv", text: 0, label: 1 })).rejects.toThrow(
      expect.objectContaining({ code: "FILE_NOT_FOUND" }),
    );
  });
});

describe("readRetrievalSet", () => {
  it("reads BEIR files and keeps only queries with relevant documents", async () => {
    const set = await readRetrievalSet({
      corpus: [at("beir/corpus.jsonl")],
      queries: at("beir/queries.jsonl"),
      qrels: at("beir/qrels/test.tsv"),
    });
    expect(set.corpus).toHaveLength(8);
    expect(set.queries.map((query) => query.id)).toEqual(["q1", "q2", "q3"]);
    expect(set.qrels.get("q3")).toEqual(
      new Map([
        ["d6", 1],
        ["d3", 0],
      ]),
    );
  });

  it("rejects a non-numeric relevance score with its line", async () => {
    await expect(
      readRetrievalSet({
        corpus: [at("beir/corpus.jsonl")],
        queries: at("beir/queries.jsonl"),
        qrels: at("bad-qrels.tsv"),
      }),
    ).rejects.toThrow(malformed('line 2: the relevance score must be a number, received "yes"'));
  });
});

describe("splitLabeled and the set table", () => {
  it("splits deterministically for a seed", () => {
    const items = Array.from({ length: 50 }, (_, index) => ({ text: `t${index}`, label: String(index % 2) }));
    const a = splitLabeled(items, { seed: 3 });
    expect(splitLabeled(items, { seed: 3 })).toEqual(a);
    expect(a.test).toHaveLength(10);
    expect(a.train).toHaveLength(40);
    expect(splitLabeled(items, { seed: 4 }).test).not.toEqual(a.test);
  });

  it("lists the shared sets and refuses unknown ids", () => {
    expect(getTaskSet("scifact").kind).toBe("retrieval");
    expect(() => getTaskSet("nope")).toThrow(/Unknown evaluation set "nope". Known sets: sst-2/);
  });
});
