/**
 * @module bench/image
 * Copy detection on the 40 ImageNet sample photos: every photo is distorted in
 * seven seeded ways (random crop, horizontal flip, rotation, brightness/contrast,
 * strong JPEG re-encoding, a combination, and a downscale) and each distorted
 * copy is a query against the 40 originals. Scored by recall@1 and mAP (one
 * relevant original per query, so mAP = mean reciprocal rank) for the offline
 * image embedder (cosine) and, in the same run, the dHash and pHash baselines
 * (Hamming distance, ties broken against the true original). Throughput is
 * images/s end to end (decode + resize + model or hash) on the 40 originals.
 * Runtimes of the same model, in the same run: the default (the one-time ONNX
 * conversion on onnxruntime, all cores, and pinned to 1 thread), TF.js on the
 * wasm backend and on the pure-JS cpu backend; plus
 * decode + resize alone (sharp), its share of each end-to-end time, and how
 * close the ONNX and TF.js vectors are. Writes bench/out/image.json and the
 * "Images and video" section of bench/out/RESULTS.md.
 *
 * Run: `npx tsx bench/image.ts [--data <folder>, default $EMBEDKIT_DATA/imagenet-sample-images] [--seed 7] [--rounds 3]`
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { createImageEmbedder } from "../src/embed/media/image/create-image-embedder.js";
import { decodeImage, writeNormalized } from "../src/embed/media/image/decode-image.js";
import { openMediaInput } from "../src/embed/media/media-input.js";
import { cosineSimilarity } from "../src/vectors/math.js";
import { hammingDistance } from "../src/vectors/quantize.js";
import { createRandom } from "../src/vectors/random.js";
import {
  DISTORTIONS,
  type Distortion,
  distort,
  type MethodResult,
  rankOf,
  summarize,
} from "./lib/copy-detection.js";
import { benchDataPath } from "./lib/data.js";
import { busyCores } from "./lib/machine-load.js";
import { renderMediaSection } from "./lib/media-section.js";
import { differenceHash, perceptualHash } from "./lib/perceptual-hash.js";

const args = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? (args[index + 1] ?? fallback) : fallback;
}
const dataDir = benchDataPath(option("data", ""), "imagenet-sample-images");
const seed = Number(option("seed", "7"));
/** Interleaved timing rounds per runtime (median reported). */
const ROUNDS = Number(option("rounds", "3"));

async function main(): Promise<void> {
  const imageDir = join(dataDir, "images");
  const originals = (await readdir(imageDir))
    .filter((name) => name.endsWith(".JPEG"))
    .sort()
    .map((name) => join(imageDir, name));
  const random = createRandom(seed);
  const queries: { kind: Distortion; truth: number; data: Buffer }[] = [];
  for (let truth = 0; truth < originals.length; truth++) {
    for (const kind of DISTORTIONS) {
      queries.push({ kind, truth, data: await distort(originals[truth] as string, kind, random) });
    }
  }
  const load = await busyCores(2000);
  console.log(
    `${originals.length} originals, ${queries.length} queries; other work keeps ${load.toFixed(2)} cores busy`,
  );

  // Embedder: the default runtime (ONNX conversion on onnxruntime, all cores). A first
  // call converts (or reads the cached conversion) and warms the session up.
  const embedder = await createImageEmbedder();
  await embedder.embed(originals.slice(0, 2));
  const originalVectors = (await embedder.embed(originals)).vectors as Float32Array[];
  const queryVectors = (
    await embedder.embed(queries.map((query) => ({ data: new Uint8Array(query.data), name: "q.jpg" })))
  ).vectors;
  const embedRanks = queries.map((query, index) => ({
    kind: query.kind,
    rank: rankOf(
      originalVectors.map((vector) => cosineSimilarity(queryVectors[index] as Float32Array, vector)),
      query.truth,
      true,
    ),
  }));

  // Runtimes on the same 40 photos, interleaved over ROUNDS rounds (the machine is shared, so
  // load changes between runs; the median per runtime is reported): the default (all cores),
  // the ONNX graph on one onnxruntime thread (like-for-like with single-threaded wasm), the
  // former default TF.js wasm (SIMD, single-threaded in Node), and decode + resize + normalize
  // alone (sharp, batches of 16 decoded concurrently, as the embedder does).
  const oneThread = await createImageEmbedder({ threads: 1 });
  const wasmEmbedder = await createImageEmbedder({ runtime: "tfjs", backend: "wasm" });
  await oneThread.embed(originals.slice(0, 2));
  await wasmEmbedder.embed(originals.slice(0, 2));
  const spec = {
    width: 224,
    height: 224,
    fit: "fill",
    rescale: 1 / 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    layout: "nhwc",
  } as const;
  const scratch = new Float32Array(224 * 224 * 3);
  const decodeOnly = async (): Promise<void> => {
    for (let first = 0; first < originals.length; first += 16) {
      const files = await Promise.all(
        originals
          .slice(first, first + 16)
          .map((path) => openMediaInput(path, { modality: "image", limits: { maxBytes: 100 * 2 ** 20 } })),
      );
      const decoded = await Promise.all(
        files.map((file) => decodeImage(file, { maxPixels: 8192 * 8192, resize: spec })),
      );
      for (const image of decoded) writeNormalized(image, spec, scratch, 0);
    }
  };
  const seconds = async (task: () => Promise<unknown>): Promise<number> => {
    const begin = performance.now();
    await task();
    return (performance.now() - begin) / 1000;
  };
  const rounds: { onnx: number; onnxOneThread: number; wasm: number; decode: number }[] = [];
  let wasmVectors: Float32Array[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    rounds.push({
      decode: await seconds(decodeOnly),
      onnx: await seconds(() => embedder.embed(originals)),
      onnxOneThread: await seconds(() => oneThread.embed(originals)),
      wasm: await seconds(async () => {
        wasmVectors = (await wasmEmbedder.embed(originals)).vectors as Float32Array[];
      }),
    });
    console.log(`round ${round + 1}:`, rounds.at(-1));
  }
  await Promise.all([embedder.close(), oneThread.close(), wasmEmbedder.close()]);
  const median = (key: keyof (typeof rounds)[number]): number => {
    const sorted = rounds.map((round) => round[key]).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] as number;
  };
  const embedSeconds = median("onnx");
  const oneThreadSeconds = median("onnxOneThread");
  const wasmSeconds = median("wasm");
  const decodeSeconds = median("decode");
  const agreement = originalVectors.map((vector, index) =>
    cosineSimilarity(vector, wasmVectors[index] as Float32Array),
  );
  let maxAbsDiff = 0;
  originalVectors.forEach((vector, index) => {
    const other = wasmVectors[index] as Float32Array;
    for (let k = 0; k < vector.length; k++)
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs((vector[k] as number) - (other[k] as number)));
  });

  // Runtime baseline: the same model on TF.js's pure-JS cpu backend (a subset: it is slow).
  const cpuEmbedder = await createImageEmbedder({ runtime: "tfjs", backend: "cpu" });
  const cpuSubset = originals.slice(0, 8);
  const cpuSeconds = await seconds(() => cpuEmbedder.embed(cpuSubset));
  await cpuEmbedder.close();
  const loadAfter = await busyCores(2000);

  // Hash baselines.
  const hashes: Record<string, { seconds: number; result: MethodResult }> = {};
  for (const [name, hash] of [
    ["dHash", differenceHash],
    ["pHash", perceptualHash],
  ] as const) {
    const originalHashes: Awaited<ReturnType<typeof hash>>[] = [];
    const hashSeconds = await seconds(async () => {
      for (const path of originals) originalHashes.push(await hash(path));
    });
    const ranks = [];
    for (const query of queries) {
      const queryHash = await hash(query.data);
      ranks.push({
        kind: query.kind,
        rank: rankOf(
          originalHashes.map((other) => hammingDistance(queryHash, other)),
          query.truth,
          false,
        ),
      });
    }
    hashes[name] = { seconds: hashSeconds, result: summarize(ranks) };
  }

  const report = {
    date: new Date().toISOString(),
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? "?",
      node: process.version,
      otherWorkCores: load,
    },
    seed,
    originals: originals.length,
    queries: queries.length,
    distortions: DISTORTIONS,
    methods: {
      "mobilenet-v2-nsfwjs (cosine)": {
        ...summarize(embedRanks),
        imagesPerSecond: originals.length / embedSeconds,
      },
      ...Object.fromEntries(
        Object.entries(hashes).map(([name, { seconds, result }]) => [
          `${name} (Hamming, 64 bits)`,
          { ...result, imagesPerSecond: originals.length / seconds },
        ]),
      ),
    },
    runtime: {
      onnxImagesPerSecond: originals.length / embedSeconds,
      onnxThreads: availableParallelism(),
      onnxOneThreadImagesPerSecond: originals.length / oneThreadSeconds,
      wasmImagesPerSecond: originals.length / wasmSeconds,
      cpuImagesPerSecond: cpuSubset.length / cpuSeconds,
      decodeImagesPerSecond: originals.length / decodeSeconds,
      decodeShareOnnx: decodeSeconds / embedSeconds,
      decodeShareWasm: decodeSeconds / wasmSeconds,
      onnxVsWasmMinCosine: Math.min(...agreement),
      onnxVsWasmMaxAbsDiff: maxAbsDiff,
      otherWorkCoresAfter: loadAfter,
      rounds,
    },
  };
  await mkdir("bench/out", { recursive: true });
  await writeFile("bench/out/image.json", `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
  await renderMediaSection();
}

await main();
