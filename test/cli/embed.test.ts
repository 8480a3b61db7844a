/** `embedkit embed` and `embedkit similarity`, run in-process on a real model. */
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import { cosineSimilarity } from "../../src/vectors/math.js";
import { runCli } from "./run-cli.js";

const MODEL = "all-minilm-l6-v2-q";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-cli-"));
  // Make sure the model is in the shared cache before timing-insensitive CLI runs.
  await (await createEmbedder({ model: MODEL })).close();
});

describe("embedkit similarity", () => {
  it("prints the published matrix as JSON with a matrix field", async () => {
    const run = await runCli([
      "similarity",
      "-m",
      MODEL,
      "--json",
      "The weather is lovely today.",
      "It's so sunny outside!",
      "He drove to the stadium.",
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { matrix: number[][]; model: string };
    expect(result.model).toBe(MODEL);
    expect(Math.abs((result.matrix[0]?.[1] ?? 0) - 0.666)).toBeLessThan(0.03);
    expect(Math.abs((result.matrix[0]?.[2] ?? 0) - 0.1046)).toBeLessThan(0.03);
    expect(Math.abs((result.matrix[1]?.[2] ?? 0) - 0.1411)).toBeLessThan(0.03);
    expect(result.matrix[0]?.[0]).toBeCloseTo(1, 5);
  });

  it("prints a readable table", async () => {
    const run = await runCli(["similarity", "-m", MODEL, "sunny day", "bright weather"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\[0\] sunny day\s+1\.0000\s+0\.\d{4}/);
  });

  it("exits 1 with a clear message for one text or an unknown model", async () => {
    const one = await runCli(["similarity", "-m", MODEL, "alone"]);
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(/at least two texts/);
    const unknown = await runCli(["similarity", "-m", "no-such-model", "a", "b"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Unknown model "no-such-model"/);
  });
});

describe("embedkit embed", () => {
  it("writes one JSON object per line with an embedding, in input order", async () => {
    const input = join(dir, "texts.txt");
    const out = join(dir, "vectors.jsonl");
    const texts = ["first text about cats", "second text about the stock market", "third, about cats again"];
    await writeFile(input, `${texts.join("\n")}\n`);
    const run = await runCli(["embed", "-m", MODEL, "--file", input, "--out", out, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const lines = (await readFile(out, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { index: number; embedding: number[] });
    expect(lines.map((l) => l.index)).toEqual([0, 1, 2]);
    const embedder = await createEmbedder({ model: MODEL });
    const { vectors } = await embedder.embed(texts);
    await embedder.close();
    lines.forEach((line, i) => {
      expect(line.embedding).toHaveLength(384);
      expect(cosineSimilarity(line.embedding, vectors[i] as Float32Array)).toBeGreaterThan(0.99999);
    });
    expect(JSON.parse(run.stdout)).toMatchObject({ model: MODEL, count: 3, dims: 384 });
  });

  it("writes .npy and .csv with the requested dimensions and precision", async () => {
    const npy = join(dir, "v.npy");
    const run = await runCli(["embed", "-m", MODEL, "--dimensions", "64", "--out", npy, "alpha", "beta"]);
    expect(run.code, run.stderr).toBe(0);
    const bytes = await readFile(npy);
    expect(bytes.subarray(10, 10 + bytes.readUInt16LE(8)).toString("latin1")).toContain("'shape': (2, 64)");
    const csv = join(dir, "v.csv");
    expect((await runCli(["embed", "-m", MODEL, "--precision", "int8", "--out", csv, "alpha"])).code).toBe(0);
    const [header, row] = (await readFile(csv, "utf8")).trim().split("\n");
    expect(header?.split(",")).toHaveLength(385);
    expect(
      row
        ?.split(",")
        .slice(1)
        .every((x) => Number.isInteger(Number(x))),
    ).toBe(true);
  });

  it("fails cleanly on bad input and leaves no partial output", async () => {
    const out = join(dir, "never.jsonl");
    const bad = join(dir, "bad.jsonl");
    await writeFile(bad, '{"text":"ok"}\n{"text":""}\n');
    const run = await runCli(["embed", "-m", MODEL, "--file", bad, "--out", out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/bad.jsonl:2: field "text" is missing or not a non-empty string/);
    const missing = await runCli(["embed", "-m", MODEL, "--file", join(dir, "missing.txt")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Cannot read the input file .*: no such file/);
    const tooLong = await runCli(["embed", "-m", MODEL, "--no-truncate", "--out", out, "word ".repeat(400)]);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toMatch(/has 400 tokens, but the model accepts at most 254/);
    const empty = await runCli(["embed", "-m", MODEL, ""]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/Input 0 is an empty string/);
    expect((await readdir(dir)).filter((f) => f.startsWith("never"))).toEqual([]);
    // Issue 19.4: an unknown --out extension is refused (it used to write JSONL).
    const parquet = await runCli(["embed", "-m", MODEL, "--out", join(dir, "never.parquet"), "hi"]);
    expect(parquet.code).toBe(1);
    expect(parquet.stderr).toMatch(
      /--out .*never\.parquet: ".parquet" is not an output format; use .jsonl, .ndjson, .csv, .npy/,
    );
    const keyless = join(dir, "keyless.jsonl");
    await writeFile(keyless, '{"text":"ok"}\n');
    const idField = await runCli(["embed", "-m", MODEL, "--file", keyless, "--id-field", "key"]);
    expect(idField.code).toBe(1);
    expect(idField.stderr).toMatch(/--id-field: no field "key" in .*keyless\.jsonl \(fields found: text\)/);
  });

  it("--skip-errors leaves out empty text rows, lists them and writes a sidecar (issue 19.8)", async () => {
    const file = join(dir, "gaps.csv");
    await writeFile(file, "id,text\na,first text\nb,\nc,third text\n");
    const out = join(dir, "gaps.jsonl");
    const run = await runCli([
      "embed",
      "-m",
      MODEL,
      "--file",
      file,
      "--id-field",
      "id",
      "--skip-errors",
      "--out",
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const rows = (await readFile(out, "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { id: string });
    expect(rows.map((row) => row.id)).toEqual(["a", "c"]);
    expect(run.stderr).toMatch(
      /Skipped 1 row \(all listed in .*gaps\.jsonl\.skipped\.jsonl\):\n {2}line 3: empty "text" value/,
    );
    expect(JSON.parse(await readFile(`${out}.skipped.jsonl`, "utf8"))).toEqual({
      line: 3,
      reason: 'empty "text" value',
    });
  });

  it("documents every option in --help", async () => {
    const run = await runCli(["embed", "--help"]);
    expect(run.code).toBe(0);
    for (const flag of [
      "--model",
      "--file",
      "--out",
      "--input-type",
      "--dimensions",
      "--precision",
      "--no-truncate",
    ]) {
      expect(run.stdout).toContain(flag);
    }
  });
});
