/** `embedkit train ner` and `embedkit ner`, in-process on real CoNLL sentences and a real encoder. */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedData } from "../helpers/data.js";
import { runCli } from "./run-cli.js";

/** The training subcommand, as registered in src/cli/registry.ts. */
const TRAIN_NER = ["train", "ner"];
const CONLL_TRAIN = sharedData("conll2003-en/train.txt");

let dir: string;
let taggerDir: string;
let trainRun: Awaited<ReturnType<typeof runCli>>;

/** The first `count` sentences (with their blank lines) of a CoNLL file from line `from`. */
function sentences(text: string, from: number, count: number): string {
  const blocks = text.split(/\n\s*\n/).filter((block) => !block.startsWith("-DOCSTART-"));
  return `${blocks.slice(from, from + count).join("\n\n")}\n`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-cli-ner-"));
  taggerDir = join(dir, "tagger");
  const conll = await readFile(CONLL_TRAIN, "utf8");
  await writeFile(join(dir, "train.conll"), sentences(conll, 0, 200));
  await writeFile(join(dir, "valid.conll"), sentences(conll, 6000, 40));
  trainRun = await runCli(trainArgs(taggerDir, ["--epochs", "3", "--learning-rate", "0.003", "--json"]));
});

/** `train ner` on the test's train/valid files and vector cache, writing to `out`. */
function trainArgs(out: string, extra: readonly string[]): string[] {
  const files = ["--data", join(dir, "train.conll"), "--val", join(dir, "valid.conll")];
  return [...TRAIN_NER, ...files, ...extra, "--cache-dir", join(dir, "cache"), "--out", out, "--quiet"];
}

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("embedkit train ner", () => {
  it("trains a tagger folder and prints a JSON summary with validation scores", async () => {
    expect(trainRun.code, trainRun.stderr).toBe(0);
    const summary = JSON.parse(trainRun.stdout) as {
      model: string;
      unit: string;
      tags: string[];
      trainSentences: number;
      validation: { micro: { f1: number } };
    };
    expect(summary).toMatchObject({ model: "all-minilm-l6-v2", unit: "word", trainSentences: 200 });
    expect(summary.tags).toContain("B-PER");
    expect(summary.validation.micro.f1).toBeGreaterThan(0);
    const description = JSON.parse(await readFile(join(taggerDir, "model.json"), "utf8")) as {
      kind: string;
      embedding: { modelId: string };
    };
    expect(description).toMatchObject({
      kind: "token-classifier",
      embedding: { modelId: "all-minilm-l6-v2" },
    });
  });

  it("adds hashed n-gram features with --ngrams and records their buckets in the saved tagger", async () => {
    const out = join(dir, "tagger-ngrams");
    const run = await runCli(trainArgs(out, ["--epochs", "1", "--ngrams", "--ngram-buckets", "1024"]));
    expect(run.code).toBe(0);
    const saved = JSON.parse(await readFile(join(out, "model.json"), "utf8")) as {
      architecture: { type: string };
      metadata: { ner: { formatVersion: number; ngrams: { buckets: number } } };
    };
    expect(saved.architecture.type).toBe("column-sum");
    expect(saved.metadata.ner.formatVersion).toBe(2);
    expect(saved.metadata.ner.ngrams.buckets).toBe(1024);
    const tagged = await runCli(["ner", "--tagger", out, "--json", "EU rejects German call."]);
    expect(tagged.code).toBe(0);
  });

  it("tunes the outside penalty on --val with --outside-penalty tune and saves it; refuses other words", async () => {
    const out = join(dir, "tagger-penalty");
    const run = await runCli(trainArgs(out, ["--epochs", "1", "--outside-penalty", "tune", "--json"]));
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as { outsidePenalty: number };
    const saved = JSON.parse(await readFile(join(out, "model.json"), "utf8")) as {
      metadata: { ner: { outsidePenalty: number } };
    };
    expect(saved.metadata.ner.outsidePenalty).toBe(summary.outsidePenalty);
    expect(summary.outsidePenalty).toBeGreaterThanOrEqual(0);
    const bad = await runCli(trainArgs(join(dir, "never-penalty"), ["--outside-penalty", "some"]));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--outside-penalty.*must be a number >= 0/);
  });

  it("exits 1 naming the file and line of a malformed CoNLL file, and writes nothing", async () => {
    const bad = join(dir, "bad.conll");
    await writeFile(bad, "EU NNP B-NP B-ORG\nrejects VBZ O\n");
    const run = await runCli([...TRAIN_NER, "--data", bad, "--out", join(dir, "never"), "--quiet"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/MALFORMED_FILE.*bad\.conll:2: expected 4 columns like line 1, received 3/);
    await expect(readFile(join(dir, "never", "model.json"))).rejects.toThrow();
  });
});

describe("embedkit ner", () => {
  it("prints entities with UTF-16 offsets as JSON", async () => {
    const text = "EU rejects German call to boycott British lamb.";
    const run = await runCli(["ner", "--tagger", taggerDir, "--json", text]);
    expect(run.code, run.stderr).toBe(0);
    const [result] = JSON.parse(run.stdout) as {
      text: string;
      entities: { type: string; text: string; start: number; end: number; score: number }[];
    }[];
    expect(result?.text).toBe(text);
    for (const entity of result?.entities ?? []) {
      expect(text.slice(entity.start, entity.end)).toBe(entity.text);
      expect(["PER", "ORG", "LOC", "MISC"]).toContain(entity.type);
    }
    expect(result?.entities.length).toBeGreaterThan(0);
  });

  it("tags every line of --file and prints one line per entity without --json", async () => {
    const file = join(dir, "texts.txt");
    await writeFile(file, "EU rejects German call.\nPeter Blackburn was in Brussels.\nnothing here\n");
    const json = await runCli(["ner", "--tagger", taggerDir, "--file", file, "--json", "--quiet"]);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as unknown[]).length).toBe(3);
    // Issue 19.7: blank lines keep their place (empty entities), each output names its line.
    const gaps = join(dir, "gaps.txt");
    await writeFile(gaps, "EU rejects German call.\n\n   \nPeter Blackburn was in Brussels.\n");
    const mapped = await runCli(["ner", "--tagger", taggerDir, "--file", gaps, "--json", "--quiet"]);
    expect(mapped.code, mapped.stderr).toBe(0);
    const rows = JSON.parse(mapped.stdout) as { index: number; line: number; entities: unknown[] }[];
    expect(rows.map((row) => [row.index, row.line])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
    ]);
    expect(rows[1]?.entities).toEqual([]);
    expect(rows[2]?.entities).toEqual([]);
    // The tagged lines get the entities they get on their own.
    const alone = await runCli(["ner", "--tagger", taggerDir, "--json", "Peter Blackburn was in Brussels."]);
    expect(rows[3]?.entities).toEqual((JSON.parse(alone.stdout) as { entities: unknown[] }[])[0]?.entities);
    const plain = await runCli(["ner", "--tagger", taggerDir, "EU rejects German call."]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^\w+\s+\d+-\d+\s+\S.*\s\d\.\d{3}$/m);
  });

  it("exits 1 for a folder that holds no tagger", async () => {
    const run = await runCli(["ner", "--tagger", join(dir, "nothing"), "text"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/FILE_NOT_FOUND.*No checkpoint/);
  });
});
