/**
 * Where the named evaluation sets are read from: an explicit `dataDir` (CLI
 * `--data-dir`) or `EMBEDKIT_DATA`, and a clear INVALID_OPTION naming both when
 * neither is set — for the STS, task and FAQ set readers and `runEvaluation`.
 * File paths never need a data folder. Each test sets or clears the variable
 * itself and restores it afterwards.
 */
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadFaqBenchmarkSet } from "../../src/apps/faq/faq-sets.js";
import { createEmbedder } from "../../src/embed/create-embedder.js";
import { DATA_DIR_ENV, resolveDataDir } from "../../src/eval/data-dir.js";
import { runEvaluation } from "../../src/eval/run-evaluation.js";
import { readStsSet } from "../../src/eval/sts-data.js";
import { loadLabeledSet, loadRetrievalSet } from "../../src/eval/task-data.js";

const PAIRS = resolve(import.meta.dirname, "../fixtures/eval/pairs.csv");
const saved = process.env[DATA_DIR_ENV];
let dataDir: string;

const missingDataDir = (option: string): unknown =>
  expect.objectContaining({
    code: "INVALID_OPTION",
    message: expect.stringContaining(`pass ${option} or set EMBEDKIT_DATA=/path/to/data`),
  });

beforeAll(async () => {
  // A data folder holding one named set: stsb/stsb-en-dev.csv (the 4-pair fixture, same CSV layout).
  dataDir = await mkdtemp(join(tmpdir(), "embedkit-data-dir-"));
  await mkdir(join(dataDir, "stsb"));
  await copyFile(PAIRS, join(dataDir, "stsb", "stsb-en-dev.csv"));
});

beforeEach(() => {
  delete process.env[DATA_DIR_ENV];
});

afterEach(() => {
  if (saved === undefined) delete process.env[DATA_DIR_ENV];
  else process.env[DATA_DIR_ENV] = saved;
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe("resolveDataDir", () => {
  it("prefers the explicit folder, then EMBEDKIT_DATA", () => {
    process.env[DATA_DIR_ENV] = "/from/env";
    expect(resolveDataDir("/explicit")).toBe("/explicit");
    expect(resolveDataDir()).toBe("/from/env");
    expect(resolveDataDir("  ")).toBe("/from/env");
  });

  it("throws INVALID_OPTION naming the option and the variable when neither is set (blank counts as unset)", () => {
    expect(() => resolveDataDir(undefined, "--data-dir")).toThrow(missingDataDir("--data-dir"));
    process.env[DATA_DIR_ENV] = " ";
    expect(() => resolveDataDir()).toThrow(missingDataDir("dataDir"));
  });
});

describe("set readers without a data folder", () => {
  it("readStsSet, loadLabeledSet, loadRetrievalSet and loadFaqBenchmarkSet reject before reading anything", async () => {
    await expect(readStsSet("stsb-en-dev")).rejects.toThrow(missingDataDir("dataDir"));
    await expect(loadLabeledSet("sst-2")).rejects.toThrow(missingDataDir("dataDir"));
    await expect(loadRetrievalSet("scifact")).rejects.toThrow(missingDataDir("dataDir"));
    await expect(loadFaqBenchmarkSet("bq")).rejects.toThrow(missingDataDir("dataDir"));
  });

  it("read from EMBEDKIT_DATA when it is set, and from dataDir over it", async () => {
    process.env[DATA_DIR_ENV] = dataDir;
    const pairs = await readStsSet("stsb-en-dev");
    expect(pairs).toHaveLength(4);
    expect(pairs[0]).toEqual({ a: "A man is playing a guitar.", b: "A man plays the guitar.", score: 5 });
    const elsewhere = join(dataDir, "nowhere");
    await expect(readStsSet("stsb-en-dev", { dataDir: elsewhere })).rejects.toThrow(
      expect.objectContaining({ code: "FILE_NOT_FOUND", message: expect.stringContaining(elsewhere) }),
    );
    await expect(loadFaqBenchmarkSet("banking77")).rejects.toThrow(
      expect.objectContaining({
        code: "FILE_NOT_FOUND",
        message: expect.stringMatching(
          new RegExp(`${join(dataDir, "banking77", "train.csv")}.*Point --data \\(or EMBEDKIT_DATA\\)`),
        ),
      }),
    );
  });
});

describe("runEvaluation", () => {
  let opened = 0;
  const openModel = async (id: string) => {
    opened += 1;
    return createEmbedder({ model: id });
  };

  it("rejects a set id without --data-dir or EMBEDKIT_DATA before opening any model", async () => {
    await expect(
      runEvaluation({
        task: "sts",
        data: ["stsb-en-dev"],
        models: ["all-minilm-l6-v2-q"],
        openModel,
        cacheDir: false,
      }),
    ).rejects.toThrow(missingDataDir("dataDir (CLI: --data-dir)"));
    expect(opened).toBe(0);
  });

  it("scores a file path with no data folder at all, and a set id from EMBEDKIT_DATA", async () => {
    const fromFile = await runEvaluation({
      task: "sts",
      data: [PAIRS],
      mapping: { header: false, aField: "0", bField: "1", scoreField: "2" },
      models: ["all-minilm-l6-v2-q"],
      openModel,
      cacheDir: false,
    });
    process.env[DATA_DIR_ENV] = dataDir;
    const fromSet = await runEvaluation({
      task: "sts",
      data: ["stsb-en-dev"],
      models: ["all-minilm-l6-v2-q"],
      openModel,
      cacheDir: false,
    });
    expect(fromFile.entries).toHaveLength(1);
    expect(fromSet.entries).toHaveLength(1);
    // Same four pairs read through both routes give the same Spearman correlation.
    expect(fromSet.entries[0]?.metrics).toEqual(fromFile.entries[0]?.metrics);
    expect(fromSet.entries[0]?.set).toBe("stsb-en-dev");
  });
});
