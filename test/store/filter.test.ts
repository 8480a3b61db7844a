/** The metadata filter language: parsing, validation of the object form, matching. */
import { describe, expect, it } from "vitest";
import { matchesFilter, parseFilter, resolveFilter } from "../../src/store/filter.js";

describe("parseFilter", () => {
  it("parses equality, inequality, ranges and lists into the object form", () => {
    expect(parseFilter("lang=zh")).toEqual([{ field: "lang", op: "eq", value: "zh" }]);
    expect(parseFilter(" a == x , b != 'y z' ")).toEqual([
      { field: "a", op: "eq", value: "x" },
      { field: "b", op: "ne", value: "y z" },
    ]);
    expect(parseFilter("year>=2020,year<2024.5,score>-1e3")).toEqual([
      { field: "year", op: "gte", value: 2020 },
      { field: "year", op: "lt", value: 2024.5 },
      { field: "score", op: "gt", value: -1000 },
    ]);
    expect(parseFilter('lang in (zh, "en", fr-CA)')).toEqual([
      { field: "lang", op: "in", values: ["zh", "en", "fr-CA"] },
    ]);
    expect(parseFilter("lang not in (zh)")).toEqual([{ field: "lang", op: "nin", values: ["zh"] }]);
    expect(parseFilter("")).toEqual([]);
    expect(parseFilter("   ")).toEqual([]);
  });

  it("lets a bare number, boolean or null match the JSON value or the same text; quotes mean text only", () => {
    expect(parseFilter("n=1")).toEqual([{ field: "n", op: "in", values: [1, "1"] }]);
    expect(parseFilter("n!=true")).toEqual([{ field: "n", op: "nin", values: [true, "true"] }]);
    expect(parseFilter('n="1"')).toEqual([{ field: "n", op: "eq", value: "1" }]);
    expect(parseFilter("n in (1, x)")).toEqual([{ field: "n", op: "in", values: [1, "1", "x"] }]);
    expect(parseFilter("n=null")).toEqual([{ field: "n", op: "in", values: [null, "null"] }]);
  });

  it("keeps quoted special characters and escapes literally", () => {
    expect(parseFilter(`q="a,b=(c)!<>"`)).toEqual([{ field: "q", op: "eq", value: "a,b=(c)!<>" }]);
    expect(parseFilter(`q='it\\'s'`)).toEqual([{ field: "q", op: "eq", value: "it's" }]);
    expect(parseFilter(`q="x'); DROP TABLE t; --"`)).toEqual([
      { field: "q", op: "eq", value: "x'); DROP TABLE t; --" },
    ]);
  });

  it("names the position and the syntax in errors", () => {
    expect(() => parseFilter("lang=")).toThrow(/expected a value at position 5.*Syntax:/);
    expect(() => parseFilter("lang=zh en")).toThrow(
      /expected "," between conditions, found "en" at position 8/,
    );
    expect(() => parseFilter("year>'2020'")).toThrow(/compares numbers/);
    expect(() => parseFilter("x".repeat(5000))).toThrow(/limit is 4096/);
    expect(() => parseFilter("a=1,")).toThrow(/expected a condition after the comma/);
  });
});

describe("resolveFilter and matchesFilter", () => {
  it("validates the object form and matches strictly by JSON type", () => {
    const filter = resolveFilter([
      { field: "lang", op: "eq", value: "en" },
      { field: "year", op: "gte", value: 2020 },
    ]);
    expect(matchesFilter({ lang: "en", year: 2021 }, filter)).toBe(true);
    expect(matchesFilter({ lang: "en", year: "2021" }, filter)).toBe(false);
    expect(matchesFilter({ year: 2021 }, filter)).toBe(false);
    expect(matchesFilter({}, resolveFilter("lang!=en"))).toBe(true);
    expect(matchesFilter({ lang: "en" }, resolveFilter("lang not in (en, zh)"))).toBe(false);
    expect(matchesFilter({ n: null }, resolveFilter("n=null"))).toBe(true);
    expect(resolveFilter(undefined)).toEqual([]);
    expect(() => resolveFilter([{ field: "x", op: "lt", value: Number.NaN }])).toThrow(/finite number/);
  });
});
