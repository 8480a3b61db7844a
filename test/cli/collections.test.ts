/** `embedkit index`, `search` and `collections`, in-process, on a real model and a real embedded store. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import { runCli } from "./run-cli.js";

const MODEL = "all-minilm-l6-v2";
let dir: string;
let store: string;

const DOCS = [
  {
    id: "pw",
    text: "To reset your password, open Settings and choose 'Forgot password'.",
    lang: "en",
    year: 2024,
  },
  { id: "card", text: "Report a lost or stolen card immediately to block it.", lang: "en", year: 2023 },
  { id: "fee", text: "International transfers cost a flat fee of 5 euros.", lang: "en", year: 2022 },
  {
    id: "pw-de",
    text: "Um Ihr Passwort zurückzusetzen, öffnen Sie die Einstellungen.",
    lang: "de",
    year: 2024,
  },
  { id: "weather", text: "Tomorrow will be sunny with a light breeze.", lang: "en", year: 2021 },
  { id: "x'); DROP TABLE items; --", text: "A document whose id looks like SQL.", lang: "en", year: 2020 },
];

async function writeJsonl(name: string, docs: readonly object[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${docs.map((d) => JSON.stringify(d)).join("\n")}\n`);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-cli-store-"));
  store = join(dir, "store");
  await (await createEmbedder({ model: MODEL })).close();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("embedkit index", () => {
  it("indexes a JSONL file with ids and metadata, then skips unchanged documents on a re-run", async () => {
    const file = await writeJsonl("docs.jsonl", DOCS);
    const args = ["index", "docs", "--file", file, "--id-field", "id", "--metadata-fields", "lang,year"];
    const first = await runCli([...args, "-m", MODEL, "--store", store, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      model: MODEL,
      total: 6,
      embedded: 6,
      skipped: 0,
      count: 6,
    });
    const again = await runCli([...args, "--store", store, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ total: 6, embedded: 0, skipped: 6, count: 6 });
    const edited = DOCS.map((d) => (d.id === "fee" ? { ...d, text: "Transfers abroad cost 7 euros." } : d));
    const resumed = await runCli([
      "index",
      "docs",
      "--file",
      await writeJsonl("docs2.jsonl", edited),
      "--id-field",
      "id",
      "--metadata-fields",
      "lang,year",
      "--store",
      store,
      "--json",
    ]);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ embedded: 1, skipped: 5, count: 6 });
  });

  it("indexes CSV with metadata columns and TXT with content-hash ids (duplicates stored once)", async () => {
    const csv = join(dir, "faq.csv");
    await writeFile(
      csv,
      'question,category\n"How do I open an account?",accounts\n"Where is my card?",cards\n',
    );
    const fromCsv = await runCli([
      "index",
      "faq",
      "--file",
      csv,
      "--text-field",
      "question",
      "--metadata-fields",
      "category",
      "--store",
      store,
      "--json",
    ]);
    expect(fromCsv.code, fromCsv.stderr).toBe(0);
    expect(JSON.parse(fromCsv.stdout)).toMatchObject({ total: 2, count: 2 });
    const txt = join(dir, "lines.txt");
    await writeFile(txt, "first line\nsecond line\nfirst line\n");
    const fromTxt = await runCli(["index", "lines", "--file", txt, "--store", store, "--json"]);
    expect(JSON.parse(fromTxt.stdout)).toMatchObject({ total: 2, embedded: 2, count: 2 });
    const filtered = await runCli([
      "search",
      "faq",
      "card",
      "--filter",
      "category=cards",
      "--store",
      store,
      "--json",
    ]);
    expect((JSON.parse(filtered.stdout) as { hits: { text: string }[] }).hits.map((h) => h.text)).toEqual([
      "Where is my card?",
    ]);
  });

  it("refuses another model for an existing collection, bad files and unknown store schemes", async () => {
    const file = await writeJsonl("docs3.jsonl", DOCS);
    const mismatch = await runCli([
      "index",
      "docs",
      "--file",
      file,
      "--id-field",
      "id",
      "-m",
      "all-minilm-l6-v2-q",
      "--store",
      store,
    ]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/MODEL_MISMATCH.*built with model "all-minilm-l6-v2"/);
    const bad = join(dir, "bad.jsonl");
    await writeFile(bad, '{"id":"a","text":"ok"}\n{"id":"b","text":"ok","lang":{"nested":1}}\n');
    const malformed = await runCli([
      "index",
      "docs",
      "--file",
      bad,
      "--id-field",
      "id",
      "--metadata-fields",
      "lang",
      "--store",
      store,
    ]);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/bad.jsonl:2: metadata field "lang"/);
    const duplicate = await writeJsonl("dup.jsonl", [...DOCS.slice(0, 1), ...DOCS.slice(0, 1)]);
    const duplicated = await runCli([
      "index",
      "docs",
      "--file",
      duplicate,
      "--id-field",
      "id",
      "--store",
      store,
    ]);
    expect(duplicated.code).toBe(1);
    expect(duplicated.stderr).toMatch(/Duplicate document id "pw"/);
    const scheme = await runCli(["collections", "list", "--store", "mongodb://u:secret@host/db"]);
    expect(scheme.code).toBe(1);
    expect(scheme.stderr).toMatch(/Unknown vector store URL scheme "mongodb:"/);
    expect(scheme.stderr).not.toContain("secret");
    expect(
      JSON.parse((await runCli(["collections", "info", "docs", "--store", store, "--json"])).stdout),
    ).toMatchObject({
      count: 6,
    });
  });
});

describe("embedkit search", () => {
  it("finds the password document first, honours -k and --filter, and prints readable lines", async () => {
    const run = await runCli([
      "search",
      "docs",
      "how can I change my password?",
      "-k",
      "3",
      "--store",
      store,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { hits: { id: string; score: number; metadata: object }[] };
    expect(result.hits).toHaveLength(3);
    expect(result.hits[0]).toMatchObject({ id: "pw", metadata: { lang: "en", year: 2024 } });
    expect(result.hits[0]?.score).toBeGreaterThan(result.hits[2]?.score ?? 1);
    const german = await runCli([
      "search",
      "docs",
      "password",
      "--filter",
      "lang=de",
      "--store",
      store,
      "--json",
    ]);
    expect((JSON.parse(german.stdout) as { hits: { id: string }[] }).hits.map((h) => h.id)).toEqual([
      "pw-de",
    ]);
    const recent = await runCli([
      "search",
      "docs",
      "password",
      "--filter",
      "year>=2023,lang!=de",
      "--store",
      store,
      "--json",
    ]);
    expect((JSON.parse(recent.stdout) as { hits: { id: string }[] }).hits.map((h) => h.id).sort()).toEqual([
      "card",
      "pw",
    ]);
    const wide = await runCli([
      "search",
      "docs",
      "password",
      "--ef-search",
      "256",
      "--store",
      store,
      "--json",
    ]);
    expect(wide.code, wide.stderr).toBe(0);
    expect((JSON.parse(wide.stdout) as { hits: { id: string }[] }).hits[0]?.id).toBe("pw");
    const sql = await runCli(["search", "docs", "id that looks like SQL", "-k", "1", "--store", store]);
    expect(sql.stdout).toMatch(
      /^ {2}1\. \d\.\d{4} {2}x'\); DROP TABLE items; -- {2}A document whose id looks like SQL\./,
    );
  });

  it("exits 1 with clear messages for a malformed filter, an unknown collection and a bad k", async () => {
    const filter = await runCli(["search", "docs", "password", "--filter", "lang=", "--store", store]);
    expect(filter.code).toBe(1);
    expect(filter.stderr).toMatch(/INVALID_FILTER.*expected a value at position 5/);
    const unknown = await runCli(["search", "nope", "password", "--store", store]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/UNKNOWN_COLLECTION.*No collection "nope"/);
    const k = await runCli(["search", "docs", "password", "-k", "5000", "--store", store]);
    expect(k.code).toBe(1);
    expect(k.stderr).toMatch(/k must be an integer in 1\.\.1000/);
    const ef = await runCli(["search", "docs", "password", "--ef-search", "0", "--store", store]);
    expect(ef.code).not.toBe(0);
    expect(ef.stderr).toMatch(/--ef-search/);
  });

  it("filters CSV years with year>=1990 (number-like columns are numbers) and explains a text field (issue 19.1)", async () => {
    const own = join(dir, "books-store"); // its own store: the collections test lists the shared one
    const csv = join(dir, "books.csv");
    await writeFile(
      csv,
      "id,title,year,code\n" +
        "b1,Dune: a desert planet and its spice,1965,0441\n" +
        "b2,Neuromancer: a hacker in cyberspace,1984,0441\n" +
        "b3,The Three-Body Problem: first contact,2008,0765\n" +
        "b4,Snow Crash: a pizza courier in the metaverse,1992,0553\n",
    );
    const indexed = await runCli([
      "index",
      "books",
      "--file",
      csv,
      "--text-field",
      "title",
      "--id-field",
      "id",
      "--metadata-fields",
      "year,code",
      "--metadata-types",
      "code=string",
      "--store",
      own,
      "--json",
    ]);
    expect(indexed.code, indexed.stderr).toBe(0);
    const search = (filter: string) =>
      runCli(["search", "books", "science fiction", "--filter", filter, "--store", own, "--json"]);
    const recent = await search("year>=1990");
    expect(recent.code, recent.stderr).toBe(0);
    const hits = (JSON.parse(recent.stdout) as { hits: { id: string; metadata: object }[] }).hits;
    expect(hits.map((hit) => hit.id).sort()).toEqual(["b3", "b4"]);
    expect(hits.find((hit) => hit.id === "b4")?.metadata).toEqual({ year: 1992, code: "0553" });
    const text = await search("code>=500");
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(
      /INVALID_FILTER.*"code" holds no numbers in collection "books".*"0(441|765|553)"/,
    );
    const unknown = await runCli([
      "index",
      "books2",
      "--file",
      csv,
      "--text-field",
      "title",
      "--id-field",
      "isbn",
      "--store",
      own,
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /--id-field: no column "isbn" in .*books.csv \(columns: id, title, year, code\)/,
    );
    // Issue 19.8: --skip-errors leaves out empty text rows and says which.
    const gaps = join(dir, "gaps.csv");
    await writeFile(gaps, "title,year\nA first book,2001\n,2002\nA third book,2003\n");
    const skipped = await runCli([
      "index",
      "gaps",
      "--file",
      gaps,
      "--text-field",
      "title",
      "--skip-errors",
      "--store",
      own,
    ]);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stdout).toMatch(
      /Indexed 2 documents[\s\S]*Left out 1 row: line 3 \(empty "title" value\)\./,
    );
  });
});

describe("embedkit collections", () => {
  it("lists, describes and drops (only with --yes)", async () => {
    const list = await runCli(["collections", "list", "--store", store]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/NAME\s+ITEMS\s+DIMS\s+METRIC\s+MODEL/);
    expect(list.stdout).toMatch(/docs\s+6\s+384\s+cosine\s+all-minilm-l6-v2/);
    const info = await runCli(["collections", "info", "lines", "--store", store]);
    expect(info.stdout).toMatch(/items: +2/);
    expect(info.stdout).toMatch(/pooling: +mean/);
    const refused = await runCli(["collections", "drop", "lines", "--store", store]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/without --yes/);
    const dropped = await runCli(["collections", "drop", "lines", "--yes", "--store", store]);
    expect(dropped.code, dropped.stderr).toBe(0);
    const after = await runCli(["collections", "list", "--store", store, "--json"]);
    expect(
      (JSON.parse(after.stdout) as { collections: { name: string }[] }).collections.map((c) => c.name),
    ).toEqual(["docs", "faq"]);
  });

  it("documents every option in --help", async () => {
    const index = await runCli(["index", "--help"]);
    for (const flag of [
      "--file",
      "--text-field",
      "--id-field",
      "--metadata-fields",
      "--model",
      "--store",
      "--batch-size",
    ]) {
      expect(index.stdout).toContain(flag);
    }
    const search = await runCli(["search", "--help"]);
    for (const flag of ["--k", "--filter", "--exact", "--ef-search", "--json", "--store", "Filter syntax"]) {
      expect(search.stdout).toContain(flag);
    }
    expect((await runCli(["collections", "drop", "--help"])).stdout).toContain("--yes");
  });
});
