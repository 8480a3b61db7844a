/**
 * A fine-tuned encoder folder opens like any model, through the CLI: `index` +
 * `search`, `serve` (a real child process), `train classifier` + `classify` and
 * `train ner` + `ner` with the encoder carried in the head's `encoder/`
 * sub-folder (moved elsewhere afterwards), and `models verify`, which checks the
 * sha256 recorded in the export's manifest and names a damaged file. The
 * "trained" weights are real all-MiniLM-L6-v2 initializers perturbed here.
 */
import { spawn } from "node:child_process";
import { cp, mkdtemp, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../../src/embed/index.js";
import { createModelStore } from "../../../src/models/index.js";
import { type OnnxFloatInitializer, readOnnxInitializers } from "../../../src/models/onnx-initializers.js";
import { type ExportedEncoder, exportFinetunedEncoder } from "../../../src/train/finetune/index.js";
import { runCli } from "../../cli/run-cli.js";
import { sharedData } from "../../helpers/data.js";

const BASE = "all-minilm-l6-v2";
const DATA_SHA = "0".repeat(63) + "1";
const fixtures = new URL("../../fixtures/train/", import.meta.url).pathname;
const CONLL_TRAIN = sharedData("conll2003-en/train.txt");

let root: string;
let initializers: Map<string, OnnxFloatInitializer>;
let encoder: ExportedEncoder;

/** Real initializers nudged by a seeded sine: a stand-in for trained weights. */
function trained(scale: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const name of ["encoder.layer.5.output.dense.bias", "encoder.layer.4.output.LayerNorm.bias"]) {
    const values = Float32Array.from((initializers.get(name) as OnnxFloatInitializer).values);
    for (let index = 0; index < values.length; index++)
      values[index] = (values[index] as number) + scale * Math.sin(index);
    out.set(name, values);
  }
  return out;
}

async function exportTo(folder: string, scale = 0.02): Promise<ExportedEncoder> {
  return exportFinetunedEncoder({
    base: BASE,
    weights: trained(scale),
    task: "embeddings",
    dataSha256: DATA_SHA,
    outDir: join(root, folder),
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "embedkit-ft-load-"));
  initializers = await readOnnxInitializers((await createModelStore().ensure(BASE)).path("onnx"));
  encoder = await exportTo("encoder-a");
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("a fine-tuned folder opens everywhere", () => {
  it("index + search embed with it and record its content-based id", async () => {
    const docs = join(root, "docs.jsonl");
    const texts = [
      "The bank raised interest rates.",
      "A cat sleeps on the sofa.",
      "Football match ends in a draw.",
    ];
    await writeFile(docs, texts.map((text, id) => JSON.stringify({ id: `d${id}`, text })).join("\n"));
    const store = join(root, "store");
    const indexed = await runCli([
      "index",
      "docs",
      "--file",
      docs,
      "--id-field",
      "id",
      "-m",
      encoder.reference,
      "--store",
      store,
      "--json",
      "--quiet",
    ]);
    expect(indexed.code, indexed.stderr).toBe(0);
    expect(JSON.parse(indexed.stdout)).toMatchObject({ model: encoder.modelId, embedded: 3 });
    const found = await runCli(["search", "docs", "kitten napping on a couch", "--store", store, "--json"]);
    expect(found.code, found.stderr).toBe(0);
    const result = JSON.parse(found.stdout);
    expect(result.model).toBe(encoder.modelId);
    expect(result.hits[0].id).toBe("d1");
  });

  it("serve answers /v1/embeddings with the fine-tuned model, as the library computes it", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "bench/lib/server-child.ts", "serve", "--port", "0", "--models", encoder.reference],
      { cwd: resolve(import.meta.dirname, "../../.."), stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        let stdout = "";
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          const match = /listening on (http:\/\/\S+)/.exec(stdout);
          if (match) resolveUrl(match[1] as string);
        });
        child.on("exit", (code) => reject(new Error(`serve exited early (${code}): ${stderr}`)));
      });
      const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
      // Served under the name it was given (the dir: reference), like any ad-hoc model.
      expect(models.data.map((model) => model.id)).toContain(encoder.reference);
      const response = await fetch(`${url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: encoder.reference, input: "fine-tuned hello" }),
      });
      expect(response.status).toBe(200);
      const served =
        ((await response.json()) as { data: { embedding: number[] }[] }).data[0]?.embedding ?? [];
      const embedder = await createEmbedder({ model: encoder.reference });
      const local = (await embedder.embed(["fine-tuned hello"])).vectors[0] as Float32Array;
      await embedder.close();
      expect(served).toHaveLength(384);
      served.forEach((value, index) => {
        expect(value).toBeCloseTo(local[index] as number, 5);
      });
    } finally {
      const exit = new Promise((done) => child.on("exit", done));
      child.kill("SIGTERM");
      await exit;
    }
  });

  it("train classifier + classify: the head folder carries its encoder and still works after a move", async () => {
    const head = join(root, "clf");
    const trainedRun = await runCli([
      "train",
      "classifier",
      "--data",
      join(fixtures, "sentiment.csv"),
      "-m",
      encoder.reference,
      "--lr",
      "0.05",
      "--epochs",
      "12",
      "--val",
      "0.25",
      "--out",
      head,
      "--json",
      "--quiet",
    ]);
    expect(trainedRun.code, trainedRun.stderr).toBe(0);
    expect(JSON.parse(trainedRun.stdout)).toMatchObject({ model: encoder.modelId });
    // Same weights exported again: same bytes, same id, now inside the head folder.
    await exportFinetunedEncoder({
      base: BASE,
      weights: trained(0.02),
      task: "classifier",
      dataSha256: DATA_SHA,
      outDir: join(head, "encoder"),
      name: "encoder-a",
    });
    const moved = join(root, "shipped", "clf");
    await cp(head, moved, { recursive: true });
    await rm(head, { recursive: true });
    const classified = await runCli([
      "classify",
      "--classifier",
      moved,
      "--json",
      "a truly wonderful and moving film",
      "a dull, tedious and awful movie",
    ]);
    expect(classified.code, classified.stderr).toBe(0);
    expect(JSON.parse(classified.stdout).map((result: { label: string }) => result.label)).toEqual([
      "positive",
      "negative",
    ]);
  });

  it("train ner + ner: the tagger folder carries its encoder", async () => {
    const conll = await readFile(CONLL_TRAIN, "utf8");
    const blocks = conll.split(/\n\s*\n/).filter((block) => !block.startsWith("-DOCSTART-"));
    await writeFile(join(root, "train.conll"), `${blocks.slice(0, 120).join("\n\n")}\n`);
    const tagger = join(root, "tagger");
    const trainedRun = await runCli([
      "train",
      "ner",
      "--data",
      join(root, "train.conll"),
      "-m",
      encoder.reference,
      "--epochs",
      "2",
      "--learning-rate",
      "0.003",
      "--cache-dir",
      join(root, "ner-cache"),
      "--out",
      tagger,
      "--quiet",
      "--json",
    ]);
    expect(trainedRun.code, trainedRun.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(tagger, "model.json"), "utf8")).embedding.modelId).toBe(
      encoder.modelId,
    );
    await cp(encoder.dir, join(tagger, "encoder"), { recursive: true });
    const tagged = await runCli([
      "ner",
      "--tagger",
      tagger,
      "--json",
      "Angela Merkel visited Paris on Monday.",
    ]);
    expect(tagged.code, tagged.stderr).toBe(0);
    expect(tagged.stdout).toContain("Angela Merkel");
  });

  it("models verify checks the manifest's sha256 and a damaged export is refused by name", async () => {
    const verified = await runCli(["models", "verify", encoder.reference, "--json"]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)[0]).toMatchObject({ model: encoder.modelId, ok: true });

    const damaged = await exportTo("damaged", 0.03);
    const manifest = JSON.parse(await readFile(join(damaged.dir, "embedkit-finetune.json"), "utf8"));
    const handle = await open(join(damaged.dir, "model.onnx"), "r+");
    await handle.write(Buffer.from([0x7f, 0x7f, 0x7f, 0x7f]), 0, 4, 40_000_000);
    await handle.close();
    const failed = await runCli(["models", "verify", damaged.reference]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`FAILED ${damaged.modelId}`);
    expect(failed.stdout).toContain(`model.onnx: expected sha256 ${manifest.files[0].sha256}`);
    const refused = await runCli(["embed", "-m", damaged.reference, "hello"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/sha256|checksum/i);
    expect(refused.stderr).toContain("model.onnx");
    // `models rm` finds the record by the folder's content-based id (the folder itself stays).
    await runCli(["embed", "-m", encoder.reference, "hello"]);
    const removed = await runCli(["models", "rm", encoder.reference]);
    expect(removed.stdout).toContain(`removed ${encoder.reference}`);
    expect((await readFile(join(encoder.dir, "model.onnx"))).length).toBeGreaterThan(0);
  });

  it("a damaged manifest is a MALFORMED_FILE error naming the field", async () => {
    const folder = join(root, "bad-manifest");
    await cp(encoder.dir, folder, { recursive: true });
    const path = join(folder, "embedkit-finetune.json");
    const manifest = JSON.parse(await readFile(path, "utf8"));
    await writeFile(path, JSON.stringify({ ...manifest, dataSha256: "nope" }));
    const run = await runCli(["embed", "-m", `dir:${folder}`, "hello"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('field "dataSha256"');
    await rename(path, `${path}.gone`);
  });
});
