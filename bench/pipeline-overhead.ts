/**
 * @module bench/pipeline-overhead
 * What the pipeline core (src/embed/pipeline.ts) costs per call and per
 * sub-batch, against a plain loop doing the same work in the same run: both
 * call the same provider (`doEmbed` copies precomputed vectors, no model) and
 * finish each vector with `finishVector`; the core adds planning, the
 * scheduler (AbortController, listeners, workers), progress and checks.
 * Reported as microseconds per call and as the ratio core / loop; compare the
 * per-call figure with a model's own time per call (several ms for MiniLM).
 *
 * Run: `npx tsx bench/pipeline-overhead.ts [--calls 20000] [--values 1,32] [--repeats 5]`
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { finishVector, resolveEmbedOptions } from "../src/embed/inputs.js";
import { type EmbedProvider, runPipeline } from "../src/embed/pipeline.js";

const { values: args } = parseArgs({
  options: {
    calls: { type: "string", default: "20000" },
    values: { type: "string", default: "1,32" },
    repeats: { type: "string", default: "5" },
  },
});
const calls = Number(args.calls);
const repeats = Number(args.repeats);
const dims = 384;
const resolved = resolveEmbedOptions<"float32">({ id: "bench", dims }, {});
const source = Array.from({ length: 64 }, (_, i) =>
  Float32Array.from({ length: dims }, (_, j) => ((i + 1) * (j + 3)) % 17),
);

const provider: EmbedProvider<number> = {
  limits: { maxBatchSize: 32 },
  async doEmbed({ values }) {
    return {
      vectors: values.map((value) => Float32Array.from(source[value % source.length] as Float32Array)),
    };
  },
};

async function viaCore(values: readonly number[]): Promise<void> {
  await runPipeline(provider, values, undefined, { resolved, normalize: true, onProgress: () => {} });
}

async function viaLoop(values: readonly number[]): Promise<void> {
  const out = new Array<Float32Array>(values.length);
  for (let start = 0; start < values.length; start += provider.limits.maxBatchSize) {
    const indices = values.slice(start, start + provider.limits.maxBatchSize);
    const { vectors } = await provider.doEmbed({
      values: indices,
      indices,
      signal: new AbortController().signal,
      attempt: 0,
      context: undefined,
    });
    vectors.forEach((vector, row) => {
      out[start + row] = finishVector(vector, true, resolved);
    });
  }
}

async function time(
  run: (values: readonly number[]) => Promise<void>,
  values: readonly number[],
): Promise<number> {
  const started = performance.now();
  for (let call = 0; call < calls; call++) await run(values);
  return ((performance.now() - started) * 1000) / calls;
}

console.log(`calls per measure: ${calls}, repeats: ${repeats} (median), dims ${dims}, maxBatchSize 32`);
console.log("| values per call | loop µs/call | core µs/call | core − loop µs/call | core/loop |");
console.log("|---|---|---|---|---|");
for (const count of args.values.split(",").map(Number)) {
  const values = Array.from({ length: count }, (_, i) => i);
  await time(viaLoop, values);
  await time(viaCore, values);
  const loop: number[] = [];
  const core: number[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    loop.push(await time(viaLoop, values));
    core.push(await time(viaCore, values));
  }
  const median = (list: number[]): number =>
    [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] as number;
  const l = median(loop);
  const c = median(core);
  console.log(
    `| ${count} | ${l.toFixed(2)} | ${c.toFixed(2)} | ${(c - l).toFixed(2)} | ${(c / l).toFixed(2)} |`,
  );
}
