/**
 * @module bench/atomic-write
 * What durability costs: 256 files of 64 KiB (one embedding-cache store touches
 * up to 256 shards) written with `writeFileAtomic` (fsync of the file and of its
 * folder), with `writeFileAtomic({ durable: false })`, and with a bare
 * writeFile + rename as the baseline, interleaved over several rounds in one run
 * and reported as ratios to the baseline's median.
 * Run: `npx tsx bench/atomic-write.ts [--rounds 5]`.
 */
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../src/internal/atomic-write.js";

const FILES = 256;
const BODY = Buffer.alloc(64 * 1024, 7);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function timed(write: (path: string) => Promise<void>, dir: string, prefix: string): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < FILES; i++) await write(join(dir, `${prefix}${i}.bin`));
  return performance.now() - start;
}

async function main(): Promise<void> {
  const roundsFlag = process.argv.indexOf("--rounds");
  const rounds = roundsFlag < 0 ? 5 : Number(process.argv[roundsFlag + 1]);
  const dir = await mkdtemp(join(tmpdir(), "embedkit-bench-atomic-"));
  const results = { baseline: [] as number[], durable: [] as number[], notDurable: [] as number[] };
  try {
    for (let round = 0; round < rounds; round++) {
      results.baseline.push(
        await timed(
          async (path) => {
            await writeFile(`${path}.t`, BODY);
            await rename(`${path}.t`, path);
          },
          dir,
          "a",
        ),
      );
      results.durable.push(await timed((path) => writeFileAtomic(path, BODY), dir, "b"));
      results.notDurable.push(
        await timed((path) => writeFileAtomic(path, BODY, { durable: false }), dir, "c"),
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const base = median(results.baseline);
  console.log(`${FILES} files × 64 KiB, median of ${rounds} interleaved rounds`);
  console.log(`  writeFile + rename (baseline): ${base.toFixed(0)} ms`);
  for (const [name, values] of [
    ["writeFileAtomic (fsync file + folder)", results.durable],
    ["writeFileAtomic({ durable: false })", results.notDurable],
  ] as const) {
    const value = median(values);
    console.log(`  ${name}: ${value.toFixed(0)} ms (${(value / base).toFixed(2)}× baseline)`);
  }
}

await main();
