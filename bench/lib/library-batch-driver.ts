/**
 * @module bench/lib/library-batch-driver
 * The library's own batch gain, the ceiling of the server's dynamic batching:
 * in its own process (as the server runs in its own), one embedder of the
 * served model (same defaults as `embedkit serve`) embeds the same sentences
 * the load driver sends, in rounds that alternate — 64 texts as 64 sequential
 * `embed([text])` calls, then the next 64 texts as one `embed(texts)` call
 * (which one goes first flips every round, so drift hits both alike) — for a
 * fixed duration, and prints one JSON line with both throughputs and their ratio.
 *
 * Run: `node --import tsx bench/lib/library-batch-driver.ts '<json LibraryBatchConfig>'`
 */
import { readFile } from "node:fs/promises";
import { createEmbedder } from "../../src/embed/create-embedder.js";

/** What the parent asks for. */
export interface LibraryBatchConfig {
  readonly model: string;
  readonly sentencesPath: string;
  /** Texts per batch (and per sequential group). */
  readonly batchSize: number;
  /** Seconds of measuring (whole rounds; at least one round runs). */
  readonly duration: number;
  /** Where in the sentence list to start. */
  readonly offset?: number;
}

/** What the driver prints (one JSON line). */
export interface LibraryBatchResult {
  readonly batchSize: number;
  readonly rounds: number;
  /** Texts per second as one `embed` call per batch. */
  readonly batchedPerSecond: number;
  /** Texts per second as one `embed` call per text, one after another. */
  readonly singlePerSecond: number;
  /** batchedPerSecond / singlePerSecond. */
  readonly gain: number;
  /** Texts per CPU-second of this process (all its threads) as one call per batch. */
  readonly batchedPerCpuSecond: number;
  /** Texts per CPU-second as one call per text. */
  readonly singlePerCpuSecond: number;
  /** batchedPerCpuSecond / singlePerCpuSecond: the gain on a machine whose cores others share too. */
  readonly cpuGain: number;
}

function cpuSecondsSince(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

async function measure(config: LibraryBatchConfig): Promise<LibraryBatchResult> {
  const sentences = JSON.parse(await readFile(config.sentencesPath, "utf8")) as string[];
  const embedder = await createEmbedder({ model: config.model });
  let next = config.offset ?? 0;
  const take = (): string[] =>
    Array.from({ length: config.batchSize }, () => sentences[next++ % sentences.length] as string);
  // Warm-up: onnxruntime sizes its arena for both shapes before anything counts.
  await embedder.embed(take());
  for (const text of take()) await embedder.embed([text]);
  let batchedMs = 0;
  let singleMs = 0;
  let batchedCpu = 0;
  let singleCpu = 0;
  let rounds = 0;
  const runBatched = async (): Promise<void> => {
    const texts = take();
    const cpu = process.cpuUsage();
    const started = performance.now();
    await embedder.embed(texts);
    batchedMs += performance.now() - started;
    batchedCpu += cpuSecondsSince(cpu);
  };
  const runSingle = async (): Promise<void> => {
    const texts = take();
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (const text of texts) await embedder.embed([text]);
    singleMs += performance.now() - started;
    singleCpu += cpuSecondsSince(cpu);
  };
  const end = performance.now() + config.duration * 1000;
  do {
    if (rounds % 2 === 0) {
      await runBatched();
      await runSingle();
    } else {
      await runSingle();
      await runBatched();
    }
    rounds++;
  } while (performance.now() < end);
  await embedder.close();
  const texts = rounds * config.batchSize;
  const batchedPerSecond = texts / (batchedMs / 1000);
  const singlePerSecond = texts / (singleMs / 1000);
  return {
    batchSize: config.batchSize,
    rounds,
    batchedPerSecond,
    singlePerSecond,
    gain: batchedPerSecond / singlePerSecond,
    batchedPerCpuSecond: texts / batchedCpu,
    singlePerCpuSecond: texts / singleCpu,
    cpuGain: texts / batchedCpu / (texts / singleCpu),
  };
}

const config = JSON.parse(process.argv[2] ?? "{}") as LibraryBatchConfig;
process.stdout.write(`${JSON.stringify(await measure(config))}\n`);
