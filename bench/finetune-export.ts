/**
 * @module bench/finetune-export
 * Inference speed of an exported fine-tuned encoder against its base model, in
 * the same run: all-MiniLM-L6-v2's initializers perturbed (a stand-in for trained
 * weights), exported with `exportFinetunedEncoder`, then both models embed the
 * same real sentences (STS-B from EMBEDKIT_DATA, or the bundled fixtures) in
 * alternating rounds. Reported: median seconds per round of each and the ratio
 * exported / base (expected ≈ 1: same graph, same shapes), plus the export's
 * own wall time and the machine load.
 *
 * Run: `npx tsx bench/finetune-export.ts [--rounds 7] [--texts 512]`
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { createEmbedder } from "../src/embed/index.js";
import { createModelStore } from "../src/models/index.js";
import { readOnnxInitializers } from "../src/models/onnx-initializers.js";
import { exportFinetunedEncoder } from "../src/train/finetune/index.js";
import { busyCores } from "./lib/machine-load.js";

const { values: args } = parseArgs({
  options: { rounds: { type: "string", default: "7" }, texts: { type: "string", default: "512" } },
});
const rounds = Number(args.rounds);
const BASE = "all-minilm-l6-v2";

async function sentences(count: number): Promise<string[]> {
  const fixture = await readFile(new URL("../test/fixtures/train/sentiment.csv", import.meta.url), "utf8");
  const lines = fixture
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.replace(/,(positive|negative)$/, "").replaceAll('"', ""));
  // Vary the texts so batches are not all one length.
  return Array.from(
    { length: count },
    (_, i) => `${lines[i % lines.length]} ${"and more ".repeat(i % 9)}#${i}`,
  );
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const dir = await mkdtemp(join(tmpdir(), "embedkit-bench-ftx-"));
try {
  const pulled = await createModelStore().ensure(BASE);
  const initializers = await readOnnxInitializers(pulled.path("onnx"));
  const weights = new Map<string, Float32Array>();
  for (const [name, tensor] of initializers) {
    const values = Float32Array.from(tensor.values);
    for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) * (1 + 0.01 * Math.sin(i));
    weights.set(name, values);
  }
  const exportStart = performance.now();
  const exported = await exportFinetunedEncoder({
    base: BASE,
    weights,
    task: "embeddings",
    dataSha256: "0".repeat(64),
    outDir: join(dir, "exported"),
  });
  const exportSeconds = (performance.now() - exportStart) / 1000;
  const texts = await sentences(Number(args.texts));
  const load = await busyCores(1000);
  const base = await createEmbedder({ model: BASE });
  const tuned = await createEmbedder({ model: exported.reference });
  await base.embed(texts.slice(0, 32));
  await tuned.embed(texts.slice(0, 32));
  const times = { base: [] as number[], exported: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first so drift in the machine's load hits both.
    const order = round % 2 === 0 ? (["base", "exported"] as const) : (["exported", "base"] as const);
    for (const which of order) {
      const started = performance.now();
      await (which === "base" ? base : tuned).embed(texts);
      times[which].push((performance.now() - started) / 1000);
    }
  }
  await base.close();
  await tuned.close();
  const result = {
    texts: texts.length,
    rounds,
    exportSeconds: Number(exportSeconds.toFixed(2)),
    baseMedianSeconds: Number(median(times.base).toFixed(3)),
    exportedMedianSeconds: Number(median(times.exported).toFixed(3)),
    ratioExportedOverBase: Number((median(times.exported) / median(times.base)).toFixed(3)),
    busyCoresBefore: Number(load.toFixed(2)),
    loadavg: loadavg().map((value) => Number(value.toFixed(2))),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
