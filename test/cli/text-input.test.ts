import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseTexts, readTextFile } from "../../src/cli/text-input.js";
import { parseMetadataTypes } from "../../src/embed/metadata-types.js";
import { EmbedkitError } from "../../src/errors.js";

describe("reading texts from files", () => {
  it("reads .txt lines, skipping blank lines", () => {
    expect(parseTexts("a\r\n\nb\n", "x.txt")).toEqual([
      { text: "a", line: 1 },
      { text: "b", line: 3 },
    ]);
    // keepBlankLines: one record per line (issue 19.7), the final newline ends the last line.
    expect(parseTexts("a\r\n\nb\n", "x.txt", { keepBlankLines: true })).toEqual([
      { text: "a", line: 1 },
      { text: "", line: 2 },
      { text: "b", line: 3 },
    ]);
  });

  it("reads .jsonl with text and id fields, naming the line of a bad record", () => {
    const content = '{"text":"a","id":1}\n\n{"text":"b","id":"x"}\n';
    expect(parseTexts(content, "x.jsonl", { idField: "id" })).toEqual([
      { text: "a", id: "1", line: 1 },
      { text: "b", id: "x", line: 3 },
    ]);
    expect(() => parseTexts('{"text":"a"}\n{oops}\n', "x.jsonl")).toThrow(/x.jsonl:2: invalid JSON/);
    expect(() => parseTexts('{"body":"a"}\n', "x.jsonl")).toThrow(/x.jsonl:1: field "text" is missing/);
    expect(() => parseTexts("[1,2]\n", "x.jsonl")).toThrow(/expected a JSON object/);
  });

  it("reads .csv with quoted fields and reports missing columns", () => {
    const csv = 'id,text\n1,"hello, world"\n2,"say ""hi"""\n';
    expect(parseTexts(csv, "x.csv", { idField: "id" })).toEqual([
      { text: "hello, world", id: "1", line: 2 },
      { text: 'say "hi"', id: "2", line: 3 },
    ]);
    expect(() => parseTexts("a,b\n1,2\n", "x.csv")).toThrow(/no column "text" \(columns: a, b\)/);
    expect(() => parseTexts('text\n"unterminated\n', "x.csv")).toThrow(EmbedkitError);
  });

  it("stores a CSV column as numbers when every non-empty value is a number, per field (issue 19.1)", () => {
    const csv =
      "text,year,isbn,zip,note\na,1990,0441172717,01234,x\nb,2005.5,,99501,12\nc,,0451524934,10001,\n";
    const records = parseTexts(csv, "books.csv", { metadataFields: ["year", "isbn", "zip", "note"] });
    expect(records.map((record) => record.metadata)).toEqual([
      { year: 1990, isbn: 441172717, zip: 1234, note: "x" },
      { year: 2005.5, zip: 99501, note: "12" }, // an empty number cell is a missing value; "note" mixes → text
      { isbn: 451524934, zip: 10001, note: "" },
    ]);
    // --metadata-types forces a type: zip codes and ISBNs keep their leading zeros as text.
    const forced = parseTexts(csv, "books.csv", {
      metadataFields: ["year", "isbn", "zip"],
      metadataTypes: parseMetadataTypes("isbn=string,zip=string", ["year", "isbn", "zip"]),
    });
    expect(forced[0]?.metadata).toEqual({ year: 1990, isbn: "0441172717", zip: "01234" });
    // A forced number refuses a cell that is not one, naming file, line and field.
    expect(() =>
      parseTexts(csv, "books.csv", { metadataFields: ["note"], metadataTypes: { note: "number" } }),
    ).toThrow(/books.csv:2: metadata field "note" is typed number but holds "x"/);
    // JSONL values keep their JSON types ("1990" stays text) unless a type is forced.
    const jsonl = '{"text":"a","year":"1990"}\n{"text":"b","year":2001}\n';
    expect(parseTexts(jsonl, "x.jsonl", { metadataFields: ["year"] }).map((r) => r.metadata)).toEqual([
      { year: "1990" },
      { year: 2001 },
    ]);
    expect(
      parseTexts(jsonl, "x.jsonl", { metadataFields: ["year"], metadataTypes: { year: "number" } }).map(
        (r) => r.metadata,
      ),
    ).toEqual([{ year: 1990 }, { year: 2001 }]);
  });

  it("refuses bad --metadata-types entries", () => {
    expect(() => parseMetadataTypes("year=int", ["year"])).toThrow(/must be field=number\|string/);
    expect(() => parseMetadataTypes("yaer=number", ["year"])).toThrow(
      /names "yaer", which is not in --metadata-fields \(year\)/,
    );
    expect(parseMetadataTypes(undefined, ["year"])).toEqual({});
  });

  it("refuses an unknown --id-field or --metadata-fields name, listing the columns (issue 19.4)", () => {
    const csv = "id,text,lang\n1,a,en\n";
    expect(() => parseTexts(csv, "x.csv", { idField: "doc_id" })).toThrow(
      /--id-field: no column "doc_id" in x.csv \(columns: id, text, lang\)/,
    );
    expect(() => parseTexts(csv, "x.csv", { metadataFields: ["lang", "langs"] })).toThrow(
      /--metadata-fields: no column "langs" in x.csv \(columns: id, text, lang\)/,
    );
    const jsonl = '{"text":"a","id":1}\n{"text":"b","lang":"en"}\n';
    expect(() => parseTexts(jsonl, "x.jsonl", { idField: "key" })).toThrow(
      /--id-field: no field "key" in x.jsonl \(fields found: text, id, lang\)/,
    );
    expect(() => parseTexts(jsonl, "x.jsonl", { metadataFields: ["language"] })).toThrow(
      /--metadata-fields: no field "language"/,
    );
    // The option name in messages follows the caller (train classifier's --label-col, issue 19.5).
    expect(() => parseTexts(csv, "x.csv", { idField: "label", idFieldOption: "--label-col" })).toThrow(
      /--label-col: no column "label" in x.csv \(columns: id, text, lang\)/,
    );
  });

  it("fails on an empty text row, or leaves it out and reports it with skipEmptyTexts (issue 19.8)", () => {
    const csv = "text,id\nhello,1\n  ,2\nworld,3\n";
    expect(() => parseTexts(csv, "x.csv")).toThrow(/x.csv:3: empty "text" value.*--skip-errors/);
    const skipped: { line: number; reason: string }[] = [];
    const records = parseTexts(csv, "x.csv", { skipEmptyTexts: true, onSkipped: (s) => skipped.push(s) });
    expect(records.map((record) => record.text)).toEqual(["hello", "world"]);
    expect(skipped).toEqual([{ line: 3, reason: 'empty "text" value' }]);
    const jsonlSkipped: number[] = [];
    parseTexts('{"text":"a"}\n{"text":""}\n{"other":1}\n', "x.jsonl", {
      skipEmptyTexts: true,
      onSkipped: (s) => jsonlSkipped.push(s.line),
    });
    expect(jsonlSkipped).toEqual([2, 3]);
  });

  it("fails clearly on missing and empty files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "embedkit-input-"));
    await expect(readTextFile(join(dir, "nope.txt"))).rejects.toThrow(
      /Cannot read the input file .*: no such file/,
    );
    await writeFile(join(dir, "empty.txt"), "\n\n");
    await expect(readTextFile(join(dir, "empty.txt"))).rejects.toThrow(/contains no texts/);
  });
});
