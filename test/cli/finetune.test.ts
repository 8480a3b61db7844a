/**
 * `embedkit finetune classifier` end to end: a tiny real run (all-MiniLM-L6-v2 in
 * the JAX sidecar) prints a line per epoch with the loss and exports the head
 * with the fine-tuned encoder in its encoder/ folder; `classify --classifier`,
 * `embed -m dir:` and `models verify` load the export and reproduce the trained
 * model's probabilities; bad input (unseen validation labels, over-long texts,
 * a batch that does not fit in memory) is refused before the engine starts.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadClassifier } from "../../src/train/classifier.js";
import { PLANTED_NEGATIVE, PLANTED_POSITIVE } from "../train/finetune/planted-sentiment.js";
import { runCli } from "./run-cli.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-cli-finetune-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("embedkit finetune classifier", () => {
  it("fine-tunes, reports each epoch and exports a head + encoder that classify, embed and verify load", async () => {
    const positive = PLANTED_POSITIVE;
    const negative = PLANTED_NEGATIVE;
    const rows = [...positive.map((text) => [text, "pos"]), ...negative.map((text) => [text, "neg"])];
    const data = join(dir, "train.csv");
    // A blank row is skipped and reported by the shared reader.
    await writeFile(data, `text,label\n${rows.map((row) => row.join(",")).join("\n")}\n,\n`);
    const out = join(dir, "snorkel-ft");
    const run = await runCli([
      "finetune",
      "classifier",
      "--data",
      data,
      "--val",
      "0",
      "--epochs",
      "6",
      "--batch-size",
      "12",
      "--max-tokens",
      "16",
      "--lr",
      "2e-4",
      "--schedule",
      "constant",
      "--dropout",
      "0",
      "--probe",
      "snorkel",
      "--probe",
      "a terrible day",
      "--json",
      "--out",
      out,
    ]);
    expect(run.stderr).toMatch(/epoch 1 {2}loss \d\.\d{4}/);
    expect(run.stderr).toMatch(/epoch 6 {2}loss \d\.\d{4}/);
    expect(run.stderr).toMatch(/skipped 1 empty row/);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as {
      history: { trainLoss: number }[];
      encoder: { modelId: string; reference: string };
      probes: { text: string; label: string; probabilities: Record<string, number> }[];
    };
    expect(summary.history.at(-1)?.trainLoss).toBeLessThan(summary.history[0]?.trainLoss as number);
    expect(summary.encoder.modelId).toMatch(/^ft--snorkel-ft--[0-9a-f]{8}$/);
    expect(summary.probes.map((probe) => probe.label)).toEqual(["pos", "neg"]);

    // The head sits at the top of --out and records the exported encoder's content-based id.
    const classifier = await loadClassifier(out);
    expect(classifier.classes).toEqual(["neg", "pos"]);
    expect(classifier.embedding.modelId).toBe(summary.encoder.modelId);
    const manifest = JSON.parse(await readFile(join(out, "encoder", "embedkit-finetune.json"), "utf8")) as {
      task: string;
      dataSha256: string;
      base: { id: string };
    };
    expect(manifest).toMatchObject({ task: "classifier", base: { id: "all-minilm-l6-v2" } });
    expect(manifest.dataSha256).toBe(
      createHash("sha256")
        .update(await readFile(data))
        .digest("hex"),
    );

    // classify --classifier DIR opens DIR/encoder and gives the trained model's probabilities.
    const classified = await runCli(["classify", "--classifier", out, "--json", "snorkel", "a terrible day"]);
    expect(classified.code).toBe(0);
    const predictions = JSON.parse(classified.stdout) as {
      label: string;
      probabilities: Record<string, number>;
    }[];
    expect(predictions.map((prediction) => prediction.label)).toEqual(["pos", "neg"]);
    predictions.forEach((prediction, index) => {
      for (const label of ["neg", "pos"])
        expect(
          Math.abs(
            (prediction.probabilities[label] as number) -
              (summary.probes[index]?.probabilities[label] as number),
          ),
        ).toBeLessThanOrEqual(1e-4);
    });

    // The encoder folder is a model like any other: verify checks its pinned files, embed opens it.
    const verified = await runCli(["models", "verify", `dir:${join(out, "encoder")}`]);
    expect(verified.code).toBe(0);
    const embedded = await runCli(["embed", "-m", `dir:${join(out, "encoder")}`, "snorkel time"]);
    expect(embedded.code).toBe(0);
    const vector = JSON.parse(embedded.stdout.trim().split("\n")[0] as string) as { embedding?: number[] };
    expect(vector.embedding).toHaveLength(384);
  }, 900_000); // ~40 s of CPU; minutes of wall time on a loaded 2-core machine (JIT compile + steps)

  it("refuses a batch size that does not fit in memory before training, naming the largest that fits", async () => {
    const data = join(dir, "long.csv");
    const long = "word ".repeat(600).trim();
    await writeFile(data, `text,label\n${long},pos\n${long},neg\n`);
    const run = await runCli([
      "finetune",
      "classifier",
      "--data",
      data,
      "--val",
      "0",
      "--max-tokens",
      "256",
      "--batch-size",
      "1024",
      "--out",
      join(dir, "too-big"),
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/Batch size 1024 at 256 tokens needs about [\d.]+ GiB/);
    expect(run.stderr).toMatch(/The largest batch size that fits is \d+ \(--batch-size \d+\)/);
    await expect(stat(join(dir, "too-big"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a text over the limit with --on-long refuse, naming file:line", async () => {
    const data = join(dir, "refuse.csv");
    await writeFile(data, `text,label\ngood,pos\n${"bad ".repeat(40)},neg\n`);
    const run = await runCli([
      "finetune",
      "classifier",
      "--data",
      data,
      "--val",
      "0",
      "--max-tokens",
      "16",
      "--on-long",
      "refuse",
      "--out",
      join(dir, "refused"),
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/refuse\.csv:3: the text has 42 tokens/);
  });

  it("refuses validation labels unseen in training, naming file:line", async () => {
    const data = join(dir, "train2.csv");
    const valData = join(dir, "val2.csv");
    await writeFile(data, "text,label\ngood,pos\nbad,neg\n");
    await writeFile(valData, "text,label\nfine,pos\nmeh,neutral\n");
    const run = await runCli([
      "finetune",
      "classifier",
      "--data",
      data,
      "--val-data",
      valData,
      "--out",
      join(dir, "unseen"),
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/"neutral" \(.*val2\.csv:3\)/);
  });

  it("refuses --resume without a checkpoint folder", async () => {
    const data = join(dir, "resume.csv");
    await writeFile(data, "text,label\ngood,pos\nbad,neg\n");
    const run = await runCli([
      "finetune",
      "classifier",
      "--data",
      data,
      "--val",
      "0",
      "--resume",
      "--out",
      join(dir, "r"),
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/resume and checkpointEvery need checkpointDir/);
  });

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
    expect(run.stderr).toMatch(
      /one-class\.csv has only one label \("pos"\); a classifier needs at least two/,
    );
  });
});
