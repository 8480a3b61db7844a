/**
 * Fine-tuning checkpoints: round trip, keep-last-K, a damaged newest checkpoint
 * passed over, bad state refused; and resume after SIGKILL — a child process
 * training a stand-in head with Adam on real all-MiniLM-L6-v2 vectors is killed
 * mid-epoch and resumed, and must end with the same weights, bit for bit, as an
 * uninterrupted run.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../../src/embed/index.js";
import {
  checkpointFileName,
  loadLatestCheckpoint,
  saveTrainingCheckpoint,
  type TrainingState,
} from "../../../src/train/finetune/index.js";

const ROOT = resolve(import.meta.dirname, "../../..");
const CHILD = "test/train/finetune/resume-child.ts";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-ft-ckpt-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function state(step: number): TrainingState {
  return {
    step,
    epoch: Math.floor(step / 4),
    batchInEpoch: step % 4,
    rngState: { seed: 7, draws: step * 10 },
    weights: new Map([
      ["onnx::MatMul_787", Float32Array.from({ length: 384 * 3 }, (_, i) => Math.sin(i + step))],
      ["head.bias", Float32Array.from([step, -step, 0.5])],
    ]),
    optimizer: new Map([["head.bias.m", Float32Array.from([0.1, 0.2, Number.MIN_VALUE])]]),
    extra: { labels: ["a", "b", "c"], best: { step: 2, f1: 0.5 } },
  };
}

describe("saveTrainingCheckpoint / loadLatestCheckpoint", () => {
  it("round-trips every field and keeps only the newest K checkpoints", async () => {
    const folder = join(dir, "roundtrip");
    expect(await loadLatestCheckpoint(folder)).toBeUndefined();
    for (const step of [1, 2, 3, 4, 5]) await saveTrainingCheckpoint(folder, state(step), { keep: 2 });
    expect((await readdir(folder)).sort()).toEqual([checkpointFileName(4), checkpointFileName(5)]);
    const loaded = await loadLatestCheckpoint(folder);
    const expected = state(5);
    expect(loaded).toMatchObject({
      step: 5,
      epoch: 1,
      batchInEpoch: 1,
      rngState: expected.rngState,
      extra: expected.extra,
    });
    expect(loaded?.skipped).toEqual([]);
    for (const group of ["weights", "optimizer"] as const) {
      expect([...(loaded?.[group].keys() ?? [])]).toEqual([...expected[group].keys()]);
      for (const [name, values] of expected[group]) {
        expect(
          Buffer.from(loaded?.[group].get(name)?.buffer as ArrayBuffer).equals(Buffer.from(values.buffer)),
        ).toBe(true);
      }
    }
  });

  it("passes over a damaged newest checkpoint, and refuses a folder where none is intact", async () => {
    const folder = join(dir, "damaged");
    await saveTrainingCheckpoint(folder, state(3));
    const newest = await saveTrainingCheckpoint(folder, state(6));
    const bytes = await readFile(newest);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0xff;
    await writeFile(newest, bytes);
    const loaded = await loadLatestCheckpoint(folder);
    expect(loaded?.step).toBe(3);
    expect(loaded?.skipped).toEqual([{ path: newest, reason: "sha256 mismatch (damaged file)" }]);
    await writeFile(join(folder, checkpointFileName(3)), "truncated");
    await expect(loadLatestCheckpoint(folder)).rejects.toMatchObject({
      code: "MALFORMED_FILE",
      message: expect.stringMatching(/No intact checkpoint in .*sha256 mismatch.*bad magic/),
    });
  });

  it("refuses bad state before writing anything", async () => {
    const folder = join(dir, "bad");
    await expect(saveTrainingCheckpoint(folder, { ...state(1), step: -1 })).rejects.toMatchObject({
      code: "INVALID_OPTION",
    });
    await expect(saveTrainingCheckpoint(folder, state(1), { keep: 0 })).rejects.toMatchObject({
      code: "INVALID_OPTION",
    });
    const notFloat = { ...state(1), weights: new Map([["w", [1, 2] as unknown as Float32Array]]) };
    await expect(saveTrainingCheckpoint(folder, notFloat)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: 'Checkpoint weights "w" is not a Float32Array.',
    });
    expect(await readdir(folder).catch(() => [])).toEqual([]);
  });
});

/** Run the stand-in trainer; resolve with its output once it exits (or kill it after `killAfter`). */
function runChild(
  args: readonly string[],
  killAfter?: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (killAfter !== undefined && stdout.includes(killAfter)) child.kill("SIGKILL");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", fail);
    child.on("exit", (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

describe("resume after SIGKILL", () => {
  it("continues from the last checkpoint mid-epoch and ends with the same weights as an uninterrupted run", async () => {
    const texts = (await readFile(join(ROOT, "test/fixtures/train/sentiment.csv"), "utf8"))
      .trim()
      .split("\n")
      .slice(1)
      .map((line) => /^"?(.*?)"?,(positive|negative)$/.exec(line) as RegExpExecArray);
    const embedder = await createEmbedder({ model: "all-minilm-l6-v2" });
    const vectors = (await embedder.embed(texts.map((match) => match[1] as string)))
      .vectors as Float32Array[];
    await embedder.close();
    const data = join(dir, "data.json");
    await writeFile(
      data,
      JSON.stringify({
        vectors: vectors.map((vector) => Array.from(vector)),
        labels: texts.map((match) => (match[2] === "positive" ? 1 : 0)),
      }),
    );
    const total = "40";
    const reference = await runChild([data, join(dir, "ref"), join(dir, "ref.json"), total]);
    expect(reference.code, reference.stderr).toBe(0);

    const killed = await runChild(
      [data, join(dir, "run"), join(dir, "run.json"), total, "9"],
      "checkpoint 9\n",
    );
    expect(killed.signal).toBe("SIGKILL");
    const latest = await loadLatestCheckpoint(join(dir, "run"));
    // 16 rows in batches of 4: step 9 is the second batch of epoch 2.
    expect(latest).toMatchObject({ step: 9, epoch: 2, batchInEpoch: 1 });

    const resumed = await runChild([data, join(dir, "run"), join(dir, "run.json"), total]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain("resumed from step 9 (epoch 2, batch 1)");
    const [a, b] = await Promise.all([
      readFile(join(dir, "ref.json"), "utf8"),
      readFile(join(dir, "run.json"), "utf8"),
    ]);
    expect(JSON.parse(b)).toEqual(JSON.parse(a));
    expect(JSON.parse(a).step).toBe(40);
  });
});
