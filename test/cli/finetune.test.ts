/**
 * `embedkit finetune classifier` end to end: a tiny real run (all-MiniLM-L6-v2 in
 * the JAX sidecar) prints a line per epoch with the loss, saves the head in the
 * classifier format and the encoder weights by ONNX initializer name; bad input
 * is refused with a clear message before the engine starts.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadClassifier } from "../../src/train/classifier.js";
import { runCli } from "./run-cli.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-cli-finetune-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("embedkit finetune classifier", () => {
  it("fine-tunes, reports each epoch and saves the head and the encoder weights", async () => {
    const rows = [
      ["a wonderful day", "pos"],
      ["great fun", "pos"],
      ["lovely and warm", "pos"],
      ["happy news", "pos"],
      ["a terrible day", "neg"],
      ["awful mess", "neg"],
      ["sad and cold", "neg"],
      ["horrible news", "neg"],
    ];
    const data = join(dir, "train.csv");
    await writeFile(data, `text,label\n${rows.map((row) => row.join(",")).join("\n")}\n`);
    const out = join(dir, "ft");
    const run = await runCli([
      "finetune",
      "classifier",
      "--data",
      data,
      "--val",
      "0",
      "--epochs",
      "3",
      "--batch-size",
      "8",
      "--max-tokens",
      "16",
      "--lr",
      "2e-4",
      "--schedule",
      "constant",
      "--dropout",
      "0",
      "--out",
      out,
    ]);
    expect(run.stderr).toMatch(/epoch 1 {2}loss \d\.\d{4}/);
    expect(run.stderr).toMatch(/epoch 3 {2}loss \d\.\d{4}/);
    expect(run.code).toBe(0);
    const losses = [...run.stderr.matchAll(/loss (\d\.\d{4})/g)].map((match) => Number(match[1]));
    expect(losses.at(-1)).toBeLessThan(losses[0] as number);
    expect(run.stdout).toMatch(/Fine-tuned all-minilm-l6-v2 on 8 rows/);
    const classifier = await loadClassifier(join(out, "classifier"));
    expect(classifier.classes).toEqual(["neg", "pos"]);
    const index = JSON.parse(await readFile(join(out, "encoder-weights.json"), "utf8")) as {
      tensors: { name: string; elements: number }[];
    };
    expect(index.tensors.find((t) => t.name === "embeddings.word_embeddings.weight")?.elements).toBe(
      30522 * 384,
    );
  }, 900_000); // ~30 s of CPU; minutes of wall time on a loaded 2-core machine (JIT compile + steps)

  it("refuses a file with a single class, naming the problem", async () => {
    const data = join(dir, "one-class.csv");
    await writeFile(data, "text,label\ngood,pos\nfine,pos\n");
    const run = await runCli([
      "finetune",
      "classifier",
      "--data",
      data,
      "--val",
      "0",
      "--out",
      join(dir, "x"),
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/at least two classes/);
  });
});
