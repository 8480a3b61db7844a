import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseTexts, readTextFile } from "../../src/cli/text-input.js";
import { EmbedkitError } from "../../src/errors.js";

describe("reading texts from files", () => {
  it("reads .txt lines, skipping blank lines", () => {
    expect(parseTexts("a\r\n\nb\n", "x.txt")).toEqual([{ text: "a" }, { text: "b" }]);
  });

  it("reads .jsonl with text and id fields, naming the line of a bad record", () => {
    const content = '{"text":"a","id":1}\n\n{"text":"b","id":"x"}\n';
    expect(parseTexts(content, "x.jsonl", { idField: "id" })).toEqual([
      { text: "a", id: "1" },
      { text: "b", id: "x" },
    ]);
    expect(() => parseTexts('{"text":"a"}\n{oops}\n', "x.jsonl")).toThrow(/x.jsonl:2: invalid JSON/);
    expect(() => parseTexts('{"body":"a"}\n', "x.jsonl")).toThrow(/x.jsonl:1: field "text" is missing/);
    expect(() => parseTexts("[1,2]\n", "x.jsonl")).toThrow(/expected a JSON object/);
  });

  it("reads .csv with quoted fields and reports missing columns", () => {
    const csv = 'id,text\n1,"hello, world"\n2,"say ""hi"""\n';
    expect(parseTexts(csv, "x.csv", { idField: "id" })).toEqual([
      { text: "hello, world", id: "1" },
      { text: 'say "hi"', id: "2" },
    ]);
    expect(() => parseTexts("a,b\n1,2\n", "x.csv")).toThrow(/no column "text" \(columns: a, b\)/);
    expect(() => parseTexts('text\n"unterminated\n', "x.csv")).toThrow(EmbedkitError);
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
