/**
 * @module bench/speech
 * Speech-content embeddings (`speech-embedding`: Google speech_embedding via
 * openWakeWord 0.4.0) on the FSDD official test split (300 clips: 10 digits ×
 * 6 speakers × takes 0–4), next to the MFCC-statistics baseline and the GE2E
 * speaker encoder in the same run:
 *
 * 1. pooling and padding chosen on a development split — takes 0–1 (120 clips),
 *    leave-one-speaker-out digit accuracy of the softmax head — among mean,
 *    mean+std, max, mean+max × short clips padded at the end, centred in one
 *    window, or every clip given half a window of silence on each side; every
 *    candidate is also scored on the held-out takes 2–4 (180 clips) and on all
 *    300 clips, so the choice can be checked;
 * 2. the three models on the protocol of bench/audio.ts (all 300 clips,
 *    leave-one-speaker-out softmax head, 1-NN leave-one-out for digit and
 *    speaker), and on takes 2–4 alone;
 * 3. speed in seconds of audio per wall-clock second, end to end (file →
 *    decode → 16 kHz → features → model), each model's warm-up excluded.
 *
 * Writes bench/out/speech.json and prints a Markdown summary (for bench/notes/speech.md).
 *
 * Run: `npx tsx bench/speech.ts [--data <folder>, default $EMBEDKIT_DATA/fsdd-audio] [--threads 2] [--epochs 150]`
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { createAudioEmbedder } from "../src/embed/media/audio/create-audio-embedder.js";
import { decodeAudio } from "../src/embed/media/audio/decode-audio.js";
import {
  createSpeechCore,
  poolSpeechWindows,
  SPEECH_MIN_SAMPLES,
  SPEECH_POOLINGS,
  type SpeechPooling,
  speechPoolingDims,
} from "../src/embed/media/audio/speech-embedder.js";
import { createModelStore } from "../src/models/store-impl.js";
import { normalizeInPlace } from "../src/vectors/math.js";
import { benchDataPath } from "./lib/data.js";
import {
  digitHeadAccuracy,
  type FsddClip,
  meanOfFolds,
  nearestNeighbourAccuracy,
  readFsddClips,
} from "./lib/fsdd.js";
import { busyCores } from "./lib/machine-load.js";

const args = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? (args[index + 1] ?? fallback) : fallback;
}
const dataDir = benchDataPath(option("data", ""), "fsdd-audio");
const threads = Number(option("threads", "2"));
const epochs = Number(option("epochs", "150"));
/** `end`: zeros after a short clip (the naive choice); `center`, `same`: the core's modes (speech-embedder.ts). */
const PADDINGS = ["end", "center", "same"] as const;
const MODELS = ["speech-embedding", "mfcc-stats", "resemblyzer-ge2e"] as const;

/** Rows of `clips` (and their vectors) whose take is in `takes`. */
function subset(
  clips: readonly FsddClip[],
  vectors: readonly Float32Array[],
  takes: readonly number[],
): { clips: FsddClip[]; vectors: Float32Array[] } {
  const keep = clips.flatMap((clip, index) => (takes.includes(clip.index) ? [index] : []));
  return {
    clips: keep.map((index) => clips[index] as FsddClip),
    vectors: keep.map((index) => vectors[index] as Float32Array),
  };
}

/** Digit-head accuracy (mean of the 6 speaker folds) on the clips of `takes`. */
function headOn(
  model: string,
  clips: readonly FsddClip[],
  vectors: readonly Float32Array[],
  takes: number[],
) {
  const part = subset(clips, vectors, takes);
  return meanOfFolds(digitHeadAccuracy(model, part.vectors, part.clips, epochs));
}

/** A short clip followed by zeros up to one window. */
function paddedAtEnd(samples: Float32Array): Float32Array {
  if (samples.length >= SPEECH_MIN_SAMPLES) return samples;
  const out = new Float32Array(SPEECH_MIN_SAMPLES);
  out.set(samples);
  return out;
}

const percent = (value: number): string => (100 * value).toFixed(1);

async function main(): Promise<void> {
  const clips = await readFsddClips(dataDir);
  const audioSeconds = clips.reduce((sum, clip) => sum + clip.seconds, 0);
  const loadBefore = await busyCores(2000);
  console.error(
    `${clips.length} clips, ${audioSeconds.toFixed(1)} s; other work keeps ${loadBefore.toFixed(2)} cores busy`,
  );
  const all = [0, 1, 2, 3, 4];
  const dev = [0, 1];
  const heldOut = [2, 3, 4];

  // 1. Pooling × padding on the development split, from the per-window vectors.
  const store = createModelStore();
  const pulled = await store.ensure("speech-embedding");
  const core = await createSpeechCore({
    melPath: pulled.path("features-onnx"),
    embeddingPath: pulled.path("onnx"),
    threads,
  });
  const decoded = [];
  for (const clip of clips) decoded.push((await decodeAudio(clip.path, { sampleRate: 16_000 })).samples);
  const candidates: Array<{
    pooling: SpeechPooling;
    padding: (typeof PADDINGS)[number];
    dev: number;
    heldOut: number;
    all: number;
  }> = [];
  for (const padding of PADDINGS) {
    const windows = await core.embedWindows(padding === "end" ? decoded.map(paddedAtEnd) : decoded, {
      padding: padding === "same" ? "same" : "center",
    });
    for (const pooling of SPEECH_POOLINGS) {
      const vectors = windows.map((rows) => normalizeInPlace(poolSpeechWindows(rows, pooling)));
      const model = `speech-${pooling}-${padding}`;
      const row = {
        pooling,
        padding,
        dev: headOn(model, clips, vectors, dev),
        heldOut: headOn(model, clips, vectors, heldOut),
        all: headOn(model, clips, vectors, all),
      };
      candidates.push(row);
      console.error(JSON.stringify(row));
    }
  }
  await core.close();
  // Best on dev, where a difference of less than one dev clip is no difference: among the
  // candidates within one clip of the best, the narrower vector, then the order tried.
  const devClips = clips.filter((clip) => dev.includes(clip.index)).length;
  const bestDev = Math.max(...candidates.map((row) => row.dev));
  const chosen = candidates
    .filter((row) => row.dev > bestDev - 1 / devClips - 1e-9)
    .sort((a, b) => speechPoolingDims(a.pooling) - speechPoolingDims(b.pooling))[0];

  // 2 + 3. The three models end to end, same protocol, same run.
  const results = [];
  for (const model of MODELS) {
    const embedder = await createAudioEmbedder({ model, threads });
    await embedder.embed([clips[0]?.path as string]); // warm-up
    const started = performance.now();
    const { vectors } = await embedder.embed(clips.map((clip) => clip.path));
    const embedSeconds = (performance.now() - started) / 1000;
    await embedder.close();
    const floats = vectors as Float32Array[];
    const folds = digitHeadAccuracy(model, floats, clips, epochs);
    const result = {
      model,
      dims: embedder.model.dims,
      digitHeadBySpeaker: folds,
      digitHead: meanOfFolds(folds),
      digitHeadHeldOutTakes: headOn(model, clips, floats, heldOut),
      digitNearestNeighbour: nearestNeighbourAccuracy(
        floats,
        clips.map((clip) => clip.digit),
      ),
      speakerNearestNeighbour: nearestNeighbourAccuracy(
        floats,
        clips.map((clip) => clip.speaker),
      ),
      embedSeconds,
      audioSecondsPerSecond: audioSeconds / embedSeconds,
    };
    results.push(result);
    console.error(JSON.stringify(result));
  }
  const loadAfter = await busyCores(2000);
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "", node: process.version, threads },
    otherWorkBusyCores: { before: loadBefore, after: loadAfter },
    data: { clips: clips.length, audioSeconds },
    epochs,
    candidates,
    chosen,
    results,
  };
  await mkdir("bench/out", { recursive: true });
  await writeFile("bench/out/speech.json", `${JSON.stringify(report, null, 2)}\n`);

  const mfcc = results.find((result) => result.model === "mfcc-stats");
  const lines = [
    `Run ${report.date.slice(0, 16)} UTC, ${report.machine.cpus} cores (${report.machine.cpu}), Node ${report.machine.node}, ` +
      `${threads} inference threads; other work kept ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)} cores busy before / after.`,
    "",
    "Pooling × padding (digit accuracy %, softmax head, leave-one-speaker-out):",
    "",
    "| pooling | padding | dev (takes 0–1, 120 clips) | held-out (takes 2–4, 180) | all 300 |",
    "|---|---|---:|---:|---:|",
    ...candidates.map(
      (row) =>
        `| ${row.pooling} | ${row.padding} | ${percent(row.dev)} | ${percent(row.heldOut)} | ${percent(row.all)} |`,
    ),
    "",
    `Chosen on dev: ${chosen?.pooling} pooling, ${chosen?.padding} padding (best dev accuracy ${percent(bestDev)} %; ` +
      `candidates within one dev clip, ${percent(1 / devClips)} points, count as tied and the narrower vector wins).`,
    "",
    "| model | dims | digit head, all 300 (folds) | digit head, takes 2–4 | digit 1-NN | speaker 1-NN | audio s/s | × MFCC speed |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...results.map(
      (result) =>
        `| ${result.model} | ${result.dims} | ${percent(result.digitHead)} (${Object.values(
          result.digitHeadBySpeaker,
        )
          .map(percent)
          .join(
            " / ",
          )}) | ${percent(result.digitHeadHeldOutTakes)} | ${percent(result.digitNearestNeighbour)} | ` +
        `${percent(result.speakerNearestNeighbour)} | ${result.audioSecondsPerSecond.toFixed(1)} | ` +
        `${mfcc === undefined ? "—" : (result.audioSecondsPerSecond / mfcc.audioSecondsPerSecond).toFixed(3)} |`,
    ),
  ];
  console.log(lines.join("\n"));
}

await main();
