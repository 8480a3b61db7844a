import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { EmbedkitError } from "../../src/errors.js";
import { getStsSet, readPairs, readStsSet, STS_SETS } from "../../src/eval/sts-data.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/eval");
const fixture = (name: string): string => join(FIXTURES, name);
const BY_INDEX = { a: 0, b: 1, score: 2 } as const;

const malformed = (...fragments: string[]): unknown =>
  expect.objectContaining({
    code: "MALFORMED_FILE",
    message: expect.stringMatching(
      new RegExp(fragments.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")),
    ),
  });

describe("readPairs: CSV", () => {
  it("reads RFC-4180 quoting (commas, doubled quotes, newlines), skips blank lines and the BOM", async () => {
    const pairs = await readPairs(fixture("pairs.csv"), { format: "csv", columns: BY_INDEX });
    expect(pairs).toEqual([
      { a: "A man is playing a guitar.", b: "A man plays the guitar.", score: 5 },
      { a: "A cat, a dog and a bird sit together.", b: 'The sign says "open".', score: 1.25 },
      { a: "A line that\nwraps inside quotes.", b: "Short second sentence.", score: 3 },
      { a: "Last pair first sentence.", b: "Last pair second sentence.", score: 0 },
    ]);
  });

  it("maps columns in any order and honours limit", async () => {
    const pairs = await readPairs(fixture("pairs.csv"), {
      format: "csv",
      columns: { a: 1, b: 0, score: 2 },
      limit: 2,
    });
    expect(pairs).toHaveLength(2);
    expect(pairs[0]).toEqual({ a: "A man plays the guitar.", b: "A man is playing a guitar.", score: 5 });
  });

  it("reports a non-numeric score with file and line", async () => {
    await expect(readPairs(fixture("bad-score.csv"), { format: "csv", columns: BY_INDEX })).rejects.toThrow(
      malformed("bad-score.csv, line 2", "score in column 2 must be a number", '"high"'),
    );
  });

  it("reports an unclosed quote as invalid CSV with a line", async () => {
    await expect(
      readPairs(fixture("unclosed-quote.csv"), { format: "csv", columns: BY_INDEX }),
    ).rejects.toThrow(malformed("unclosed-quote.csv, line", "not valid CSV"));
  });

  it("reports a score outside the declared scale", async () => {
    await expect(
      readPairs(fixture("out-of-scale.csv"), {
        format: "csv",
        columns: BY_INDEX,
        scoreScale: { min: 0, max: 5 },
      }),
    ).rejects.toThrow(malformed("out-of-scale.csv, line 2", "7.5 is outside the declared scale 0–5"));
    // Without a scale the same file reads fine.
    await expect(
      readPairs(fixture("out-of-scale.csv"), { format: "csv", columns: BY_INDEX }),
    ).resolves.toHaveLength(2);
  });

  it("reports an empty file", async () => {
    await expect(readPairs(fixture("empty.csv"), { format: "csv", columns: BY_INDEX })).rejects.toThrow(
      malformed("empty.csv", "holds no sentence pairs"),
    );
  });

  it("reads a CSV file as TSV only if asked, and then finds too few columns", async () => {
    await expect(readPairs(fixture("pairs.csv"), { format: "tsv", columns: BY_INDEX })).rejects.toThrow(
      malformed("pairs.csv, line 1", "expected at least 3 tab-separated columns, received 1"),
    );
  });
});

describe("readPairs: TSV", () => {
  it("resolves header names, keeps quotes literal and strips CRLF", async () => {
    const pairs = await readPairs(fixture("header.tsv"), {
      format: "tsv",
      header: true,
      columns: { a: "sentence_A", b: "sentence_B", score: "relatedness_score" },
      scoreScale: { min: 1, max: 5 },
    });
    expect(pairs).toEqual([
      { a: '"Quoted" start stays literal', b: "A plain sentence", score: 4.5 },
      { a: "Another first sentence", b: "Another, with a comma", score: 1 },
    ]);
  });

  it("reports a row with a missing column by line", async () => {
    await expect(
      readPairs(fixture("missing-column.tsv"), { format: "tsv", columns: BY_INDEX }),
    ).rejects.toThrow(
      malformed("missing-column.tsv, line 3", "expected at least 3 tab-separated columns, received 2"),
    );
  });

  it("reports a blank sentence by line and column", async () => {
    await expect(
      readPairs(fixture("blank-sentence.tsv"), { format: "tsv", columns: BY_INDEX }),
    ).rejects.toThrow(malformed("blank-sentence.tsv, line 2", "first sentence (column 0) is empty"));
  });

  it("reports an unknown header name with the names available", async () => {
    await expect(
      readPairs(fixture("header.tsv"), {
        format: "tsv",
        header: true,
        columns: { a: "sentence1", b: 2, score: 3 },
      }),
    ).rejects.toThrow(malformed("header.tsv, line 1", 'no column named "sentence1"', '"sentence_A"'));
  });

  it("reports a header-only file and a file of blank lines as holding no pairs", async () => {
    await expect(
      readPairs(fixture("header-only.tsv"), { format: "tsv", header: true, columns: BY_INDEX }),
    ).rejects.toThrow(malformed("header-only.tsv", "no sentence pairs after the header"));
    await expect(readPairs(fixture("blank-lines.tsv"), { format: "tsv", columns: BY_INDEX })).rejects.toThrow(
      malformed("blank-lines.tsv", "no sentence pairs"),
    );
  });
});

describe("readPairs: options and missing files", () => {
  it("throws FILE_NOT_FOUND for a missing file", async () => {
    await expect(readPairs(fixture("nope.csv"), { format: "csv", columns: BY_INDEX })).rejects.toThrow(
      expect.objectContaining({ code: "FILE_NOT_FOUND", message: expect.stringContaining("nope.csv") }),
    );
  });

  it("throws INVALID_OPTION for header names without header: true, bad indices, formats and limits", async () => {
    const invalidOption = (fragment: string): unknown =>
      expect.objectContaining({ code: "INVALID_OPTION", message: expect.stringContaining(fragment) });
    await expect(
      readPairs(fixture("header.tsv"), { format: "tsv", columns: { a: "sentence_A", b: 1, score: 2 } }),
    ).rejects.toThrow(invalidOption("Set header: true"));
    await expect(
      readPairs(fixture("pairs.csv"), { format: "csv", columns: { a: -1, b: 1, score: 2 } }),
    ).rejects.toThrow(invalidOption("columns.a must be a 0-based column index"));
    await expect(
      readPairs(fixture("pairs.csv"), { format: "json" as "csv", columns: BY_INDEX }),
    ).rejects.toThrow(invalidOption('format must be "csv" or "tsv"'));
    await expect(
      readPairs(fixture("pairs.csv"), { format: "csv", columns: BY_INDEX, limit: 0 }),
    ).rejects.toThrow(invalidOption("limit must be a positive integer"));
    await expect(
      readPairs(fixture("pairs.csv"), { format: "csv", columns: BY_INDEX, scoreScale: { min: 5, max: 0 } }),
    ).rejects.toThrow(EmbedkitError);
  });
});

describe("STS_SETS", () => {
  it("describes each shared set with language, split and reader options", () => {
    expect(Object.keys(STS_SETS)).toEqual([
      "stsb-en-dev",
      "sick-r-trial",
      "stsb-zh-dev",
      "atec",
      "bq",
      "lcqmc",
    ]);
    expect(Object.isFrozen(STS_SETS)).toBe(true);
    expect(Object.isFrozen(STS_SETS.atec.read.columns)).toBe(true);
    expect(STS_SETS["stsb-en-dev"]).toMatchObject({ language: "en", split: "dev", read: { format: "csv" } });
    expect(STS_SETS["sick-r-trial"]).toMatchObject({
      language: "en",
      split: "trial",
      read: { header: true },
    });
    expect(STS_SETS["stsb-zh-dev"]).toMatchObject({ language: "zh", split: "dev" });
    for (const id of ["atec", "bq", "lcqmc"] as const) {
      // Chinese question-pair files must be read without CSV quoting (fields may start with `"`).
      expect(STS_SETS[id]).toMatchObject({
        language: "zh",
        split: "test",
        read: { format: "tsv", header: false },
      });
    }
  });

  it("reads a set through its table entry (data dir pointed at a fixture layout)", async () => {
    // sick-r-trial's reader options on a fixture with the same header layout.
    const spec = getStsSet("sick-r-trial");
    const pairs = await readPairs(fixture("header.tsv"), spec.read);
    expect(pairs).toHaveLength(2);
  });

  it("rejects unknown set ids with the known ones", async () => {
    expect(() => getStsSet("stsb-en-test")).toThrow(
      expect.objectContaining({
        code: "INVALID_OPTION",
        message: expect.stringContaining("Known sets: stsb-en-dev"),
      }),
    );
    expect(() => getStsSet("toString")).toThrow(EmbedkitError);
    await expect(readStsSet("nope", { dataDir: FIXTURES })).rejects.toThrow(EmbedkitError);
  });

  it("reports a missing data directory as FILE_NOT_FOUND", async () => {
    await expect(readStsSet("bq", { dataDir: join(FIXTURES, "no-such-dir") })).rejects.toThrow(
      expect.objectContaining({ code: "FILE_NOT_FOUND", message: expect.stringContaining("BQ.test.tsv") }),
    );
  });
});
