/** `embedkit words` (neighbors, analogy, vector), run in-process on the real wink-glove-100d table. */
import { beforeAll, describe, expect, it } from "vitest";
import { createWordVectorEmbedder } from "../../src/embed/word-vectors/index.js";
import { runCli } from "./run-cli.js";

beforeAll(async () => {
  // Pull the model and build its binary cache once, before the CLI runs.
  await (await createWordVectorEmbedder()).close();
});

describe("embedkit words", () => {
  it("neighbors prints a ranked list, and JSON with --json", async () => {
    const text = await runCli(["words", "neighbors", "king", "-k", "5"]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^ {2}1\. \S+ +0\.\d{4}$/);

    const json = await runCli(["words", "neighbors", "King", "-k", "10", "--json"]);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as { word: string; neighbors: { word: string; score: number }[] };
    expect(result.neighbors).toHaveLength(10);
    expect(result.neighbors.map((neighbor) => neighbor.word)).toContain("queen");
  });

  it('analogy prints "man : king :: woman : queen (score)"', async () => {
    const run = await runCli(["words", "analogy", "man", "king", "woman", "-k", "3"]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^man : king :: woman : queen \(0\.\d{4}\)$/);

    const json = await runCli(["words", "analogy", "france", "paris", "italy", "--json"]);
    const result = JSON.parse(json.stdout) as { answers: { word: string }[] };
    expect(result.answers).toHaveLength(5);
    expect(result.answers[0]?.word).toBe("rome");
  });

  it("vector prints 100 numbers, or a JSON object with --json", async () => {
    const text = await runCli(["words", "vector", "cat"]);
    expect(text.code).toBe(0);
    expect(text.stdout.trim().split(" ")).toHaveLength(100);
    const json = JSON.parse((await runCli(["words", "vector", "cat", "--json"])).stdout) as {
      dimensions: number;
      vector: number[];
    };
    expect(json.dimensions).toBe(100);
    expect(json.vector).toHaveLength(100);
  });

  it("exits 1 with a clear message on an unknown word or a bad -k", async () => {
    const unknown = await runCli(["words", "vector", "qwzxvbnm"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/\[INVALID_INPUT\].*"qwzxvbnm" is not in the vocabulary/);
    const analogy = await runCli(["words", "analogy", "man", "qwzxvbnm", "woman"]);
    expect(analogy.code).toBe(1);
    const badK = await runCli(["words", "neighbors", "king", "-k", "zero"]);
    expect(badK.code).toBe(1);
    expect(badK.stderr).toMatch(/positive integer/);
  });

  it("documents every subcommand in --help", async () => {
    const help = await runCli(["words", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/neighbors/);
    expect(help.stdout).toMatch(/analogy/);
    expect(help.stdout).toMatch(/vector/);
    const analogyHelp = await runCli(["words", "analogy", "--help"]);
    expect(analogyHelp.code).toBe(0);
    expect(analogyHelp.stdout).toMatch(/b − a \+ c/);
  });
});
