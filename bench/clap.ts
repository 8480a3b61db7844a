/**
 * @module bench/clap
 * Cost of the CLAP audio path, side by side with the MFCC-statistics baseline
 * in the same run, on FSDD clips (8 kHz speech, ~0.4 s each):
 *
 * - end to end, file → decode → resample to 48 kHz → 10 s windows → 64-band
 *   log-mel → audio tower → vector, in seconds of audio per wall-clock second;
 * - the front-end alone (log-mel of one 10 s window, 1001 × 64), in windows/s;
 * - decode + resample to 48 kHz alone (the floor every model pays);
 * - the MFCC baseline (`mfcc-stats`, 16 kHz) end to end.
 *
 * The audio tower is the random-weight fixture of scripts/make-tiny-clap.ts
 * (seven averages and a 28 × 32 projection), so the numbers are the cost of
 * everything around a real CLAP's HTSAT network, not of the network itself:
 * a real clap-htsat-unfused adds its own inference time per 10 s window.
 * There is no quality number: the fixture's vectors mean nothing.
 *
 * Writes the "CLAP (audio ↔ text code path)" section of bench/out/RESULTS.md.
 *
 * Run: `npx tsx bench/clap.ts [--data <fsdd-audio folder>, default $EMBEDKIT_DATA/fsdd-audio] [--clips 40]`
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { writeTinyClap } from "../scripts/make-tiny-clap.js";
import { createClapEmbedder } from "../src/embed/media/audio/clap-embedder.js";
import { CLAP_HTSAT_UNFUSED_FRONT_END, clapLogMel } from "../src/embed/media/audio/clap-features.js";
import { createAudioEmbedder } from "../src/embed/media/audio/create-audio-embedder.js";
import { decodeAudio } from "../src/embed/media/audio/decode-audio.js";
import { createModelStore } from "../src/models/store-impl.js";
import { benchDataPath } from "./lib/data.js";
import { busyCores } from "./lib/machine-load.js";
import { FULL_RESULTS, spliceSection } from "./lib/results-section.js";

const args = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? (args[index + 1] ?? fallback) : fallback;
}
const dataDir = benchDataPath(option("data", ""), "fsdd-audio");
const clipCount = Number(option("clips", "40"));

async function readClips(): Promise<{ path: string; seconds: number }[]> {
  const lines = (await readFile(join(dataDir, "labels.csv"), "utf8")).trim().split(/\r?\n/);
  const header = (lines.shift() ?? "").split(",");
  const path = header.indexOf("path");
  const duration = header.indexOf("duration_s");
  return lines.slice(0, clipCount).map((line) => {
    const cells = line.split(",");
    return { path: join(dataDir, cells[path] as string), seconds: Number(cells[duration]) };
  });
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const clips = await readClips();
const audioSeconds = clips.reduce((sum, clip) => sum + clip.seconds, 0);
const paths = clips.map((clip) => clip.path);
const work = await mkdtemp(join(tmpdir(), "embedkit-bench-clap-"));
try {
  await writeTinyClap(join(work, "tiny-clap"), { dims: 32, seed: 1 });
  const store = createModelStore({ home: join(work, "home") });
  const loadBefore = await busyCores(2000);
  const clap = await createClapEmbedder({ model: `clap:dir:${join(work, "tiny-clap")}`, store, threads: 2 });
  const mfcc = await createAudioEmbedder({ model: "mfcc-stats" });
  await clap.audio.embed(paths.slice(0, 2)); // warm-up (JIT, sessions)
  await mfcc.embed(paths.slice(0, 2));
  const clapTime = await timed(() => clap.audio.embed(paths));
  const mfccTime = await timed(() => mfcc.embed(paths));
  const decodeTime = await timed(async () => {
    for (const path of paths) {
      await decodeAudio(path, { sampleRate: 48_000, maxDurationSeconds: 600 });
    }
  });
  const window = Float32Array.from({ length: 480_000 }, (_, i) => Math.sin(i * 0.037) * 0.3);
  const windows = 8;
  const frontEndTime = await timed(async () => {
    for (let i = 0; i < windows; i++) clapLogMel(window, CLAP_HTSAT_UNFUSED_FRONT_END);
  });
  const prompts = Array.from(
    { length: 64 },
    (_, i) => `a dog barking ${i % 2 === 0 ? "in the rain" : "near a car"}`,
  );
  const textTime = await timed(() => clap.text.embed(prompts));
  await Promise.all([clap.close(), mfcc.close()]);
  const loadAfter = await busyCores(2000);

  const rate = (seconds: number) => audioSeconds / seconds;
  const rows = [
    ["CLAP audio, end to end (tiny fixture tower)", rate(clapTime), rate(clapTime) / rate(mfccTime)],
    ["mfcc-stats (baseline), end to end", rate(mfccTime), 1],
    ["decode + resample to 48 kHz only", rate(decodeTime), rate(decodeTime) / rate(mfccTime)],
  ] as const;
  const table = [
    "| path | audio s/s | × MFCC speed |",
    "|---|---:|---:|",
    ...rows.map(([name, value, ratio]) => `| ${name} | ${value.toFixed(2)} | ${ratio.toFixed(2)} |`),
  ].join("\n");
  const date = new Date().toISOString().slice(0, 10);
  const body = `Cost of the CLAP code path on ${clips.length} FSDD test clips (${audioSeconds.toFixed(1)} s of 8 kHz speech, ~${(audioSeconds / clips.length).toFixed(2)} s each), run ${date} on ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, 2 inference threads.

Machine load: the cores were shared with other processes (other work kept ${loadBefore.toFixed(1)} cores busy before and ${loadAfter.toFixed(1)} after the run), so every number is indicative; ratios within the run are the comparable part.

**The audio tower is the random-weight fixture** (scripts/make-tiny-clap.ts), not a real CLAP: these numbers are everything around a real HTSAT network (decode, 48 kHz resampling, 10 s windows, 1001 × 64 log-mel, ONNX call, pooling), whose own inference time a real model adds per window. No quality is measured: the fixture's vectors mean nothing, and no real CLAP can be obtained on this machine.

${table}

- Front-end alone: ${(windows / frontEndTime).toFixed(2)} log-mel windows/s (one window = 10 s at 48 kHz → 1001 frames × 64 bands), i.e. ${((frontEndTime / windows) * 1000).toFixed(0)} ms per window.
- Every clip shorter than 10 s is repeat-padded to a full window (ClapFeatureExtractor's \`repeatpad\`), so a ${(audioSeconds / clips.length).toFixed(1)} s clip costs as much as a 10 s one: CLAP computes ~${(10 / (audioSeconds / clips.length)).toFixed(0)}× the audio it is given here. On 10 s clips the same front-end would run at ~${((10 * windows) / frontEndTime).toFixed(0)} audio s/s.
- Text side (tiny text tower, 64 short prompts in batches of 8): ${(prompts.length / textTime).toFixed(0)} texts/s.

Command: \`npx tsx bench/clap.ts --clips ${clips.length}\``;
  await spliceSection(FULL_RESULTS, "## CLAP (audio ↔ text code path)", body);
  console.log(body);
} finally {
  await rm(work, { recursive: true, force: true });
}
