/**
 * @module bench/word-vectors
 * Load and query timings of the static word vectors (wink-glove-100d), through the
 * real model store: JSON.parse of the source (the naive baseline), the cold
 * conversion (byte scanner + cache write), the warm binary-cache load, store.open
 * (which re-hashes the 307 MB source), nearestWords / analogy latency and document
 * embedding throughput. Run: `npx tsx bench/word-vectors.ts [--skip-json-parse]`.
 */
import { readFile } from "node:fs/promises";
import { createWordVectorEmbedderFromTable, loadWordVectorTable } from "../src/embed/word-vectors/index.js";
import { createModelStore, getModel } from "../src/models/index.js";

const MODEL = "wink-glove-100d";

function milliseconds(start: number): string {
  return `${(performance.now() - start).toFixed(0)} ms`;
}

function residentMegabytes(): string {
  return `${(process.memoryUsage().rss / 1e6).toFixed(0)} MB RSS`;
}

async function main(): Promise<void> {
  const store = createModelStore();
  const sha256 = (getModel(MODEL).files[0] as { sha256: string }).sha256;
  let start = performance.now();
  const pulled = await store.ensure(MODEL);
  console.log(`store.ensure (verifies the 307 MB source by sha256): ${milliseconds(start)}`);
  const sourcePath = pulled.path("vectors");

  if (!process.argv.includes("--skip-json-parse")) {
    start = performance.now();
    const parsed = JSON.parse(await readFile(sourcePath, "utf8")) as { size: number };
    console.log(
      `baseline readFile + JSON.parse: ${milliseconds(start)} (${parsed.size} words), ${residentMegabytes()}`,
    );
  }

  const cold = await loadWordVectorTable({ sourcePath, sourceSha256: sha256, rebuild: true });
  console.log(`cold conversion (sha256 + scan + cache write): ${cold.milliseconds.toFixed(0)} ms`);
  const warm = await loadWordVectorTable({ sourcePath, sourceSha256: sha256 });
  console.log(`warm load from ${warm.from} (read + sha256 + decode): ${warm.milliseconds.toFixed(0)} ms`);

  const words = createWordVectorEmbedderFromTable(warm.table, { modelId: MODEL });
  const queries = [
    "king",
    "computer",
    "paris",
    "music",
    "river",
    "happy",
    "economics",
    "football",
    "cat",
    "war",
  ];
  words.nearestWords("warmup", 10);
  start = performance.now();
  for (const query of queries) words.nearestWords(query, 10);
  console.log(
    `nearestWords k=10 over 341,479 words: ${((performance.now() - start) / queries.length).toFixed(1)} ms/query`,
  );
  start = performance.now();
  for (const query of queries) words.nearestWords(query, 10, { vocabularyLimit: 50_000 });
  console.log(
    `nearestWords k=10, top 50k words: ${((performance.now() - start) / queries.length).toFixed(1)} ms/query`,
  );
  start = performance.now();
  for (let i = 0; i < 10; i++) words.analogy("man", "king", "woman", 5);
  console.log(`analogy: ${((performance.now() - start) / 10).toFixed(1)} ms`);

  const documents = Array.from(
    { length: 20_000 },
    (_, index) => `Document ${index}: the quick brown fox jumps over the lazy dog near the river bank.`,
  );
  start = performance.now();
  await words.embed(documents);
  const seconds = (performance.now() - start) / 1000;
  console.log(`embed (mean): ${(documents.length / seconds).toFixed(0)} documents/s (14 words each)`);
  console.log(residentMegabytes());
  await words.close();
}

await main();
