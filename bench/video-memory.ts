/**
 * @module bench/video-memory
 * Peak memory of video embedding against video length: a 1-minute and a
 * 10-minute synthetic video (ffmpeg's lavfi `testsrc`, 160×120, 5 fps, H.264),
 * sampled at 1 fps and embedded with the default image model, each run in a
 * fresh Node process so its peak RSS (`process.resourceUsage().maxRSS`) is its
 * own. Two paths, same run: the streamed video embedder (frames go from the
 * ffmpeg pipe to the model one batch at a time, pooled incrementally) and the
 * baseline that holds every decoded frame first (`sampleFrames` →
 * `embedPixels` → `poolVectors`, what the embedder did before). Reported: RSS
 * after the model is loaded, peak RSS during the embedding, the growth between
 * them, and the two paths' vectors' cosine. Writes bench/out/video-memory.json
 * and the "Video streaming (memory)" section of bench/out/RESULTS.md.
 *
 * Run: `npx tsx bench/video-memory.ts`
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { openMediaInput } from "../src/embed/media/media-input.js";
import { sampleFrames } from "../src/embed/media/video/sample-frames.js";
import { createVideoEmbedder, poolVectors } from "../src/embed/media/video/video-embedder.js";
import { cosineSimilarity } from "../src/vectors/math.js";
import { busyCores, machineInfo } from "./lib/machine-load.js";
import { FULL_RESULTS, spliceSection } from "./lib/results-section.js";

const MODES = ["streamed", "all-frames"] as const;
type Mode = (typeof MODES)[number];

interface ChildResult {
  readonly mode: Mode;
  readonly frames: number;
  readonly loadedRssMiB: number;
  readonly peakRssMiB: number;
  readonly seconds: number;
  readonly vector: number[];
}

const MiB = 1024 * 1024;
const sampling = { kind: "uniform", fps: 1 } as const;

/** In a child process: embed one video one way and report memory. */
async function child(mode: Mode, path: string): Promise<void> {
  const video = await createVideoEmbedder({ sampling });
  // Warm the model up on one batch of frames so its buffers exist before we measure.
  await video.image.embedPixels(
    Array.from({ length: video.image.model.maxBatchSize }, () => ({
      width: video.image.preprocess.width,
      height: video.image.preprocess.height,
      data: new Uint8Array(video.image.preprocess.width * video.image.preprocess.height * 3),
    })),
  );
  global.gc?.();
  const loadedRssMiB = process.memoryUsage().rss / MiB;
  const start = performance.now();
  let vector: Float32Array;
  let frames: number;
  if (mode === "streamed") {
    const result = await video.embed([path]);
    vector = result.vectors[0] as Float32Array;
    frames = Math.round(result.usage.pixels ?? 0) / (160 * 120);
  } else {
    const file = await openMediaInput(path, { modality: "video", limits: video.model.limits, read: false });
    const sampled = await sampleFrames(file, {
      sampling,
      size: video.image.preprocess,
      limits: video.model.limits,
    });
    vector = poolVectors(await video.image.embedPixels(sampled.frames.map((frame) => frame.image)), "mean");
    frames = sampled.frames.length;
  }
  const seconds = (performance.now() - start) / 1000;
  const peakRssMiB = (process.resourceUsage().maxRSS * 1024) / MiB;
  await video.close();
  const result: ChildResult = { mode, frames, loadedRssMiB, peakRssMiB, seconds, vector: Array.from(vector) };
  process.stdout.write(`@@${JSON.stringify(result)}\n`);
}

function runChild(mode: Mode, path: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ["--expose-gc", "--import", "tsx", "bench/video-memory.ts", "--child", mode, path],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    proc.on("error", reject);
    proc.on("close", (code) => {
      const line = out.split("\n").find((candidate) => candidate.startsWith("@@"));
      if (code !== 0 || line === undefined)
        reject(new Error(`child ${mode} ${path} exited ${code}: ${out.slice(-500)}`));
      else resolve(JSON.parse(line.slice(2)) as ChildResult);
    });
  });
}

async function main(): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), "embedkit-video-memory-"));
  try {
    const videos: { minutes: number; path: string }[] = [];
    for (const minutes of [1, 10]) {
      const path = join(folder, `testsrc-${minutes}min.mp4`);
      await promisify(execFile)("ffmpeg", [
        ...["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc=duration=${minutes * 60}:size=160x120:rate=5`],
        ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path],
      ]);
      videos.push({ minutes, path });
    }
    const load = await busyCores(2000);
    console.log(`videos built; other work keeps ${load.toFixed(2)} cores busy`);
    const rows: (ChildResult & { minutes: number })[] = [];
    for (const video of videos) {
      for (const mode of MODES) {
        const result = await runChild(mode, video.path);
        console.log(
          `${video.minutes} min ${mode}: ${result.frames} frames, loaded ${result.loadedRssMiB.toFixed(0)} MiB, ` +
            `peak ${result.peakRssMiB.toFixed(0)} MiB, ${result.seconds.toFixed(1)} s`,
        );
        rows.push({ ...result, minutes: video.minutes });
      }
    }
    const agreement = videos.map((video) => {
      const [streamed, all] = MODES.map((mode) =>
        rows.find((row) => row.minutes === video.minutes && row.mode === mode),
      );
      return cosineSimilarity(
        Float32Array.from(streamed?.vector ?? []),
        Float32Array.from(all?.vector ?? []),
      );
    });
    const report = {
      date: new Date().toISOString(),
      machine: machineInfo(load),
      sampling,
      rows: rows.map(({ vector: _vector, ...row }) => row),
      cosineStreamedVsAllFrames: agreement,
    };
    await mkdir("bench/out", { recursive: true });
    await writeFile("bench/out/video-memory.json", `${JSON.stringify(report, null, 2)}\n`);
    const growth = (row: ChildResult): number => row.peakRssMiB - row.loadedRssMiB;
    const find = (minutes: number, mode: Mode) =>
      rows.find((row) => row.minutes === minutes && row.mode === mode) as ChildResult;
    const lines = [
      "Synthetic videos (ffmpeg lavfi `testsrc`, 160×120, 5 fps, H.264) of 1 and 10 minutes, sampled at 1 fps " +
        "(60 and 600 frames of 224×224 RGB = 147 KiB each) and embedded with the default image model, each run in " +
        "a fresh Node process. **streamed**: the video embedder (ffmpeg pipe → batches of 16 frames → model → " +
        "running pool; the next batch decodes while the model runs). **all-frames** (baseline): " +
        "every sampled frame decoded into memory first, then embedded and pooled. RSS after the " +
        "model is loaded and warmed up on one batch, peak RSS (`maxRSS`) " +
        `during the call, and the growth between them, in MiB. Run ${report.date.slice(0, 10)} on ` +
        `${report.machine.cores} cores (${report.machine.cpu}), Node ${report.machine.node}; other processes ` +
        `kept ${load.toFixed(1)} cores busy (shared, contended machine), so seconds are indicative.`,
      "",
      "| video | path | frames | RSS loaded | peak RSS | growth | seconds |",
      "|---|---|---:|---:|---:|---:|---:|",
      ...rows.map(
        (row) =>
          `| ${row.minutes} min | ${row.mode} | ${row.frames} | ${row.loadedRssMiB.toFixed(0)} | ` +
          `${row.peakRssMiB.toFixed(0)} | ${growth(row).toFixed(0)} | ${row.seconds.toFixed(1)} |`,
      ),
      "",
      `Growth 10 min ÷ 1 min: streamed ${(growth(find(10, "streamed")) / Math.max(1, growth(find(1, "streamed")))).toFixed(2)}×, ` +
        `all-frames ${(growth(find(10, "all-frames")) / Math.max(1, growth(find(1, "all-frames")))).toFixed(2)}×. ` +
        `Cosine between the two paths' video vectors: ${agreement.map((value) => value.toFixed(6)).join(" (1 min), ")} (10 min). ` +
        "The streamed growth is the same for 1 and 10 minutes: it is the first call's one-time allocations " +
        "(runtime buffers, the lazily loaded video code), not frames; test/embed/media/video-streaming.test.ts " +
        "measures after a warm-up call and sees the 10-minute video add under 1 MiB of peak RSS.",
      "",
      "Reproduce: `npx tsx bench/video-memory.ts` (writes bench/out/video-memory.json).",
    ];
    await spliceSection(FULL_RESULTS, "## Video streaming (memory)", lines.join("\n"));
    console.log(lines.join("\n"));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf("--child");
if (childAt >= 0) await child(process.argv[childAt + 1] as Mode, process.argv[childAt + 2] as string);
else await main();
