/**
 * @module bench/ner-encode-zh
 * Fill the NER word-vector cache for the MSRA training pool in the order the
 * zh bench trains on (seeded shuffle, seed 42, chunks of 512 sentences), so a
 * later `bench/ner.ts --lang zh --sample N` finds the first N sentences cached.
 * Interruptible: every finished chunk is on disk.
 * Run: `npx tsx bench/ner-encode-zh.ts [--limit 49400] [--data <folder>, default $EMBEDKIT_DATA]`
 */
import { createEmbedder } from "../src/embed/create-embedder.js";
import type { OnnxEmbedder } from "../src/embed/onnx/onnx-embedder.js";
import { embedCorpusWords } from "../src/ner/word-vector-cache.js";
import { benchDataPath } from "./lib/data.js";
import { loadMsra } from "./lib/msra.js";

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index < 0 ? undefined : process.argv[index + 1];
}

const dataDir = benchDataPath(argument("--data"));
const { shuffled } = await loadMsra(dataDir);
const limit = Number(argument("--limit") ?? 49400);
const sentences = shuffled(0, limit).sentences.map((sentence) => sentence.words);
const encoder = (await createEmbedder({ model: "bge-small-zh-v1.5" })) as OnnxEmbedder;
const started = performance.now();
const chars = sentences.map((words) => words.length);
let encodedChars = 0;
let previous = 0;
await embedCorpusWords(encoder, sentences, {
  onProgress(done, total, fromCache) {
    const chunkChars = chars.slice(previous, done).reduce((a, b) => a + b, 0);
    previous = done;
    const seconds = (performance.now() - started) / 1000;
    if (done - fromCache > 0) encodedChars += chunkChars;
    console.log(
      `${new Date().toISOString()} ${done}/${total} sentences (${fromCache} from cache), ${(encodedChars / seconds).toFixed(0)} encoded chars/s`,
    );
  },
});
await encoder.close();
