/**
 * @module bench/lib/media-section
 * Render the "Images and video" section of bench/RESULTS.md from whatever of
 * bench/out/image.json (bench/image.ts) and bench/out/video.json
 * (bench/video.ts) exists, so either benchmark can run alone and the section
 * always shows the latest numbers of both.
 */
import { readFile } from "node:fs/promises";
import { spliceSection } from "./results-section.js";

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
    runtime: { wasmImagesPerSecond: number; cpuImagesPerSecond: number };
  }>("bench/out/image.json");
  if (image) {
    const baseline = image.methods["pHash (Hamming, 64 bits)"];
    lines.push(
      "### Copy detection (images)",
      "",
      `${image.originals} ImageNet sample photos (../shared/data/imagenet-sample-images) are the index; each is distorted ` +
        `${image.distortions.length} ways (seed ${image.seed}): ${image.distortions.join(", ")} → ${image.queries} queries. ` +
        "recall@1 and mAP (one true original per query, so mAP = MRR; ties count against the method) in %. " +
        `Run ${image.date.slice(0, 10)} on ${image.machine.cores} cores (${image.machine.cpu}), Node ${image.machine.node}; ` +
        `other engineers' work kept ${image.machine.otherWorkCores.toFixed(1)} of the cores busy at the start, so images/s is indicative.`,
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
          `Runtime: TF.js wasm backend ${image.runtime.wasmImagesPerSecond.toFixed(1)} images/s vs the pure-JS cpu backend ` +
          `${image.runtime.cpuImagesPerSecond.toFixed(1)} images/s (×${(
            image.runtime.wasmImagesPerSecond / image.runtime.cpuImagesPerSecond
          ).toFixed(
            1,
          )}); images/s is end to end (decode + resize + model) on the originals, single-threaded wasm.`,
        "",
        "Command: `npx tsx bench/image.ts`",
        "",
      );
    }
  }
  const video = await readJson<{ markdown: string }>("bench/out/video.json");
  if (video) lines.push(video.markdown, "");
  await spliceSection("bench/RESULTS.md", "## Images and video", lines.join("\n"));
}
