/**
 * `embedkit finetune ner` (issue #22) end to end on a real encoder
 * (all-MiniLM-L6-v2 in the JAX sidecar): a tiny run lowers the token loss and
 * tags a planted name; the exported folder (tagger + fine-tuned encoder) loads
 * with `openTagger` / `embedkit ner --tagger` and returns the tags and scores
 * of the in-memory model. Bad input (empty file, malformed line, unknown
 * scheme, validation tags unseen in training, an over-long sentence under
 * `--on-long refuse`) fails with a specific message before the engine starts,
 * and nothing is written.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTagger, recognizeEntities } from "../../src/ner/recognize.js";
import { tagSentences } from "../../src/ner/tagger.js";
import { buildTransitions } from "../../src/ner/viterbi.js";
import {
  alignTrainingSentence,
  createNerTask,
  tokenClassificationLoss,
} from "../../src/train/encoder/finetune-ner.js";
import { createMlp } from "../../src/train/layers.js";
import { createRandom } from "../../src/vectors/random.js";
import { runCli } from "../cli/run-cli.js";

const NAMES = ["Zorblax", "Maria", "Ahmed", "Ingrid", "Kenji", "Olga"];
const CITIES = ["Paris", "Berlin", "Lagos", "Osaka", "Lima", "Oslo"];

/** Sentences as [word, tag] pairs: every name is a person, every city a location. */
function sentences(count: number, shift: number): string[][][] {
  return Array.from({ length: count }, (_, i) => {
    const name = NAMES[(i + shift) % NAMES.length] as string;
    const city = CITIES[(i + shift + 1) % CITIES.length] as string;
    return i % 2 === 0
      ? [
          [name, "B-PER"],
          ["lives", "O"],
          ["in", "O"],
          [city, "B-LOC"],
          [".", "O"],
        ]
      : [
          ["Yesterday", "O"],
          [name, "B-PER"],
          ["flew", "O"],
          ["to", "O"],
          [city, "B-LOC"],
          [".", "O"],
        ];
  });
}

const conll = (rows: string[][][]): string =>
  `${rows.map((sentence) => sentence.map(([word, tag]) => `${word} ${tag}`).join("\n")).join("\n\n")}\n`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-finetune-ner-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("token classification pieces", () => {
  it("labels each word at its first piece, cuts at the limit and sends the gradient only to those rows", () => {
    const special = { leading: [101], trailing: [102] };
    const aligned = alignTrainingSentence([[7], [8, 9], [10]], [1, 2, 0], special, 5);
    // [CLS] 7 8 9 [SEP]: the third word does not fit and carries no loss.
    expect(aligned).toEqual({ ids: [101, 7, 8, 9, 102], rows: [1, 2], targets: [1, 2], truncated: true });

    const hidden = 4;
    const head = createMlp({ inputs: hidden, outputs: 3, random: createRandom(1) });
    const output = new Float32Array(2 * 6 * hidden).map((_, i) => Math.sin(i));
    const second = alignTrainingSentence([[5]], [1], special, 6);
    const { loss, gradOutput } = tokenClassificationLoss(
      head,
      [aligned, second],
      output,
      { batch: 2, tokens: 6, hidden },
      createRandom(2),
    );
    expect(Number.isFinite(loss) && loss > 0).toBe(true);
    const touched = new Set<number>();
    for (let i = 0; i < gradOutput.length; i++) if (gradOutput[i] !== 0) touched.add(Math.floor(i / hidden));
    // Rows 1 and 2 of sentence 0, row 1 of sentence 1 (= token row 6 + 1).
    expect([...touched].sort((a, b) => a - b)).toEqual([1, 2, 7]);
  });

  it("refuses to resume from a checkpoint trained on other tags", () => {
    const tags = ["O", "B-PER", "I-PER"];
    const task = createNerTask({
      tagger: {
        settings: {
          modelId: "all-minilm-l6-v2",
          dims: 4,
          scheme: "bio",
          unit: "word",
          tags,
          pooling: "first",
          shapeFeatures: false,
          lexicon: false,
          dictionary: false,
          transitionWeight: 0,
          ngramBuckets: 0,
          outsidePenalty: 0,
        },
        head: createMlp({ inputs: 4, outputs: 3, random: createRandom(1) }),
        transitions: buildTransitions(tags, "bio"),
        transitionLogProbabilities: new Float32Array(9),
      },
      special: { leading: [101], trailing: [102] },
      modelMaxTokens: 256,
      batchSize: 2,
    });
    expect(task.checkpointState?.()).toEqual({ tags });
    expect(() => task.restoreState?.({ tags: ["O", "B-LOC", "I-LOC"] }, "ckpt/step-1.ckpt")).toThrow(
      /Checkpoint ckpt\/step-1\.ckpt was trained on tags \["O","B-LOC","I-LOC"\]/,
    );
    expect(() => task.restoreState?.({ tags }, "ckpt/step-1.ckpt")).not.toThrow();
  });
});

describe("embedkit finetune ner", () => {
  it("fine-tunes, lowers the loss, tags a planted name, and the exported tagger gives the same tags", async () => {
    const data = join(dir, "train.txt");
    const valid = join(dir, "valid.txt");
    await writeFile(data, conll(sentences(12, 0)));
    await writeFile(valid, conll(sentences(4, 3)));
    const out = join(dir, "ner-ft");
    const probe = "Zorblax visited Oslo .";
    const run = await runCli([
      "finetune",
      "ner",
      "--data",
      data,
      "--validation",
      valid,
      "--epochs",
      "3",
      "--batch-size",
      "4",
      "--lr",
      "3e-4",
      "--schedule",
      "constant",
      "--warmup",
      "0",
      "--probe",
      probe,
      "--json",
      "--out",
      out,
    ]);
    expect(run.stderr).toMatch(/epoch 1 {2}loss \d\.\d{4} {2}val F1 \d+\.\d\d/);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as {
      history: { trainLoss: number }[];
      encoder: { modelId: string };
      tags: string[];
      probes: { words: string[]; tags: string[]; probabilities: number[] }[];
    };
    expect(summary.tags).toEqual(["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]);
    expect(summary.history).toHaveLength(3);
    expect(summary.history.at(-1)?.trainLoss).toBeLessThan((summary.history[0]?.trainLoss as number) / 2);
    const [trained] = summary.probes;
    expect(trained?.words).toEqual(["Zorblax", "visited", "Oslo", "."]);
    expect(trained?.tags).toEqual(["B-PER", "O", "B-LOC", "O"]);

    const manifest = JSON.parse(await readFile(join(out, "encoder", "embedkit-finetune.json"), "utf8")) as {
      task: string;
      base: { id: string };
      metrics: Record<string, number>;
    };
    expect(manifest).toMatchObject({ task: "ner", base: { id: "all-minilm-l6-v2" } });
    expect(manifest.metrics["validation.f1"]).toBeGreaterThan(0);

    // The saved tagger runs the exported encoder's token states through the same head and Viterbi.
    const tagger = await openTagger(out);
    try {
      expect(tagger.settings.modelId).toBe(summary.encoder.modelId);
      const [reloaded] = await tagSentences(tagger, tagger.embedder, [trained?.words as string[]]);
      expect(reloaded?.tags).toEqual(trained?.tags);
      reloaded?.probabilities.forEach((probability, index) => {
        expect(Math.abs(probability - (trained?.probabilities[index] as number))).toBeLessThanOrEqual(1e-4);
      });
      const entities = await recognizeEntities(tagger, probe);
      expect(entities.map((entity) => [entity.type, entity.text])).toEqual([
        ["PER", "Zorblax"],
        ["LOC", "Oslo"],
      ]);
    } finally {
      await tagger.close();
    }
    const cli = await runCli(["ner", "--tagger", out, "--json", probe]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/"type":\s*"PER"[^}]*"text":\s*"Zorblax"/);
  }, 900_000); // seconds of CPU; minutes of wall time on a loaded 2-core machine (JIT compile)

  const refuse = async (
    files: Record<string, string>,
    extra: readonly string[],
    message: RegExp,
  ): Promise<void> => {
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    const out = join(dir, `refused-${Object.keys(files).join("-")}`);
    const run = await runCli([
      "finetune",
      "ner",
      "--data",
      join(dir, "bad-train.txt"),
      ...extra,
      "--out",
      out,
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
    await expect(stat(out)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(stat(`${out}.tmp-${process.pid}`)).rejects.toMatchObject({ code: "ENOENT" });
  };

  it("refuses an empty file, naming it", async () => {
    await refuse({ "bad-train.txt": "\n\n" }, [], /bad-train\.txt has no usable training rows/);
  });

  it("refuses a malformed line with file:line", async () => {
    await refuse(
      { "bad-train.txt": "Zorblax B-PER\nlives O\nin\n" },
      [],
      /bad-train\.txt:3: expected at least 2 columns/,
    );
  });

  it("reads character-per-line files (.bio) through the same reader: a bad line names file:line", async () => {
    await writeFile(join(dir, "bad-train.bio"), "北\tB-LOC\n京\tI-LOC\n是 O\n");
    const out = join(dir, "refused-bio");
    const run = await runCli(["finetune", "ner", "--data", join(dir, "bad-train.bio"), "--out", out]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/bad-train\.bio:3: expected 2 tab-separated fields \(character<TAB>tag\)/);
    await expect(stat(out)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses an unknown tag scheme, and tags of another scheme with file:line", async () => {
    await refuse({ "bad-train.txt": conll(sentences(2, 0)) }, ["--scheme", "bilou"], /bilou/);
    await refuse(
      { "bad-train.txt": "Zorblax S-PER\nlives O\n" },
      [],
      /bad-train\.txt:1: unknown tag "S-PER".*looks like BIOES/,
    );
  });

  it("refuses validation tags never seen in training, naming file:line", async () => {
    await refuse(
      {
        "bad-train.txt": conll(sentences(2, 0)),
        "bad-valid.txt": "Acme B-ORG\nhires O\n\nMaria B-PER\nsings O\n",
      },
      ["--validation", join(dir, "bad-valid.txt")],
      /never seen in training: "B-ORG" \(.*bad-valid\.txt:1\)/,
    );
  });

  it("refuses an over-long sentence under --on-long refuse, naming file:line", async () => {
    const long = Array.from({ length: 300 }, (_, i) => `word${i} O`).join("\n");
    await refuse(
      { "bad-train.txt": `${conll(sentences(2, 0))}\n${long}\n` },
      ["--on-long", "refuse"],
      /bad-train\.txt:14: the text has \d+ tokens, over the model's limit of 256/,
    );
  });
});
