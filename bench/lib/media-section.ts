/**
 * @module bench/lib/media-section
 * Render the "Images and video" section of bench/out/RESULTS.md from whatever of
 * bench/out/image.json (bench/image.ts) and bench/out/video.json
 * (bench/video.ts) exists, so either benchmark can run alone and the section
 * always shows the latest numbers of both.
 */
import { readFile } from "node:fs/promises";
import { FULL_RESULTS, spliceSection } from "./results-section.js";

interface ImageMethod {
  recallAt1: number;
  meanAveragePrecision: number;
  byDistortion: Record<string, number>;
  imagesPerSecond: number;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

const percent = (value: number): string => (value * 100).toFixed(1);

/** Runtime numbers of bench/image.ts (the optional ones are absent in runs before the ONNX runtime). */
interface ImageRuntimeNumbers {
  wasmImagesPerSecond: number;
  cpuImagesPerSecond: number;
  onnxImagesPerSecond?: number;
  onnxThreads?: number;
  onnxOneThreadImagesPerSecond?: number;
  decodeImagesPerSecond?: number;
  decodeShareOnnx?: number;
  decodeShareWasm?: number;
  onnxVsWasmMinCosine?: number;
  onnxVsWasmMaxAbsDiff?: number;
  otherWorkCoresAfter?: number;
}

/** The runtime comparison of bench/image.ts: the same model and photos on each runtime, in one run. */
function runtimeLines(runtime: ImageRuntimeNumbers): string[] {
  const wasm = runtime.wasmImagesPerSecond;
  const row = (name: string, perSecond: number | undefined, share?: number): string =>
    perSecond === undefined
      ? ""
      : `| ${name} | ${perSecond.toFixed(perSecond < 1 ? 2 : 1)} | ×${(perSecond / wasm).toFixed(perSecond < wasm ? 2 : 1)} | ${
          share === undefined ? "" : `${(share * 100).toFixed(0)} %`
        } |`;
  const decode = runtime.decodeImagesPerSecond;
  return [
    "",
    "Runtimes of the same model on the same 40 photos in one run, interleaved over rounds, median per runtime " +
      "(end to end: decode + resize + model):",
    "",
    "| runtime | images/s | vs TF.js wasm | decode + resize share |",
    "|---|---:|---:|---:|",
    row(
      `onnxruntime on the one-time ONNX conversion, ${runtime.onnxThreads ?? "?"} threads (default)`,
      runtime.onnxImagesPerSecond,
      runtime.decodeShareOnnx,
    ),
    row(
      "onnxruntime, 1 thread",
      runtime.onnxOneThreadImagesPerSecond,
      decode === undefined || runtime.onnxOneThreadImagesPerSecond === undefined
        ? undefined
        : runtime.onnxOneThreadImagesPerSecond / decode,
    ),
    row(
      "TF.js wasm backend (SIMD on, 1 thread: no multithread support in Node)",
      wasm,
      runtime.decodeShareWasm,
    ),
    row("TF.js pure-JS cpu backend (8 photos)", runtime.cpuImagesPerSecond),
    row("decode + resize + normalize only (sharp)", decode),
    "",
    runtime.onnxVsWasmMinCosine === undefined
      ? ""
      : `ONNX vs TF.js wasm vectors on the 40 photos: min cosine ${runtime.onnxVsWasmMinCosine.toFixed(6)}, ` +
        `max abs difference ${runtime.onnxVsWasmMaxAbsDiff?.toExponential(1)} (unit vectors). ` +
        `Other work kept ${runtime.otherWorkCoresAfter?.toFixed(1) ?? "?"} cores busy after the runs.`,
  ].filter((line, index, all) => line !== "" || all[index - 1] !== "");
}

/** Re-render the section from the JSON files present. */
export async function renderMediaSection(): Promise<void> {
  const lines: string[] = [];
  const image = await readJson<{
    date: string;
    machine: { cores: number; cpu: string; node: string; otherWorkCores: number };
    seed: number;
    originals: number;
    queries: number;
    distortions: string[];
    methods: Record<string, ImageMethod>;
    runtime: ImageRuntimeNumbers;
  }>("bench/out/image.json");
  if (image) {
    const baseline = image.methods["pHash (Hamming, 64 bits)"];
    lines.push(
      "### Copy detection (images)",
      "",
      `${image.originals} ImageNet sample photos ($EMBEDKIT_DATA/imagenet-sample-images) are the index; each is distorted ` +
        `${image.distortions.length} ways (seed ${image.seed}): ${image.distortions.join(", ")} → ${image.queries} queries. ` +
        "recall@1 and mAP (one true original per query, so mAP = MRR; ties count against the method) in %. " +
        `Run ${image.date.slice(0, 10)} on ${image.machine.cores} cores (${image.machine.cpu}), Node ${image.machine.node}; ` +
        `other processes kept ${image.machine.otherWorkCores.toFixed(1)} of the cores busy at the start, so images/s is indicative.`,
      "",
      `| method | recall@1 | mAP | ${image.distortions.join(" | ")} | images/s |`,
      `|---|---:|---:|${image.distortions.map(() => "---:").join("|")}|---:|`,
    );
    for (const [name, method] of Object.entries(image.methods)) {
      lines.push(
        `| ${name} | ${percent(method.recallAt1)} | ${percent(method.meanAveragePrecision)} | ` +
          `${image.distortions.map((kind) => percent(method.byDistortion[kind] ?? 0)).join(" | ")} | ` +
          `${method.imagesPerSecond.toFixed(1)} |`,
      );
    }
    const model = image.methods["mobilenet-v2-nsfwjs (cosine)"];
    if (model && baseline) {
      lines.push(
        "",
        `Model vs pHash: recall@1 ×${(model.recallAt1 / baseline.recallAt1).toFixed(2)}, mAP ×${(
          model.meanAveragePrecision / baseline.meanAveragePrecision
        ).toFixed(2)}, speed ×${(model.imagesPerSecond / baseline.imagesPerSecond).toFixed(2)}. ` +
          "images/s is end to end (decode + resize + model) on the originals; the model row runs on the default runtime (below).",
        ...runtimeLines(image.runtime),
        "",
        "Command: `npx tsx bench/image.ts`",
        "",
      );
    }
  }
  const video = await readJson<{ markdown: string }>("bench/out/video.json");
  if (video) lines.push(video.markdown, "");
  await spliceSection(FULL_RESULTS, "## Images and video", lines.join("\n"));
}
