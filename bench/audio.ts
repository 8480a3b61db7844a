/**
 * @module bench/audio
 * Audio embeddings on the FSDD official test split (300 clips: 10 digits × 6
 * speakers × 5 takes, 8 kHz): the offline GE2E speaker encoder
 * (`resemblyzer-ge2e`) against the MFCC-statistics baseline (`mfcc-stats`), in
 * the same run, on
 *
 * - speaker identification: leave-one-out 1-nearest-neighbour by cosine over
 *   all 300 clips (6 speakers; chance 16.7 %);
 * - digit classification with a trained head: softmax regression
 *   (`trainClassifier` from src/train, no hidden layer) on z-scored vectors,
 *   leave-one-speaker-out (6 folds: train on 250 clips of 5 speakers, test on
 *   the 50 of the sixth), so the head must generalise to an unseen voice;
 *   chance 10 %;
 * - throughput in seconds of audio per wall-clock second, end to end
 *   (file → decode → resample → features → model), and decode alone as the
 *   floor every model pays.
 *
 * Writes bench/out/audio.json and the "Audio" section of bench/out/RESULTS.md.
 *
 * Run: `npx tsx bench/audio.ts [--data <folder>, default $EMBEDKIT_DATA/fsdd-audio] [--threads 2] [--epochs 150]`
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { createAudioEmbedder } from "../src/embed/media/audio/create-audio-embedder.js";
import { decodeAudio } from "../src/embed/media/audio/decode-audio.js";
import { benchDataPath } from "./lib/data.js";
import { digitHeadAccuracy, nearestNeighbourAccuracy, readFsddClips } from "./lib/fsdd.js";
import { busyCores } from "./lib/machine-load.js";
import { FULL_RESULTS, spliceSection } from "./lib/results-section.js";

const args = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? (args[index + 1] ?? fallback) : fallback;
}
const dataDir = benchDataPath(option("data", ""), "fsdd-audio");
const threads = Number(option("threads", "2"));
const epochs = Number(option("epochs", "150"));
const MODELS = ["resemblyzer-ge2e", "mfcc-stats"] as const;

interface ModelResult {
  readonly model: string;
  readonly dims: number;
  readonly loadSeconds: number;
  readonly embedSeconds: number;
  readonly audioSecondsPerSecond: number;
  readonly speakerNearestNeighbour: number;
  readonly digitNearestNeighbour: number;
  readonly digitHeadBySpeaker: Record<string, number>;
  readonly digitHeadMean: number;
}

async function main(): Promise<void> {
  const clips = await readFsddClips(dataDir);
  const audioSeconds = clips.reduce((sum, clip) => sum + clip.seconds, 0);
  const load = await busyCores(2000);
  console.error(
    `${clips.length} clips, ${audioSeconds.toFixed(1)} s of audio; other work keeps ${load.toFixed(2)} cores busy`,
  );

  // Floor: decoding and resampling to 16 kHz alone.
  let started = performance.now();
  for (const clip of clips) await decodeAudio(clip.path, { sampleRate: 16_000 });
  const decodeSeconds = (performance.now() - started) / 1000;

  const results: ModelResult[] = [];
  for (const model of MODELS) {
    started = performance.now();
    const embedder = await createAudioEmbedder({ model, threads });
    const loadSeconds = (performance.now() - started) / 1000;
    await embedder.embed([clips[0]?.path as string]); // warm-up
    started = performance.now();
    const { vectors } = await embedder.embed(clips.map((clip) => clip.path));
    const embedSeconds = (performance.now() - started) / 1000;
    await embedder.close();
    const floats = vectors as Float32Array[];
    const digitHeadBySpeaker = digitHeadAccuracy(model, floats, clips, epochs);
    const folds = Object.values(digitHeadBySpeaker);
    const result: ModelResult = {
      model,
      dims: embedder.model.dims,
      loadSeconds,
      embedSeconds,
      audioSecondsPerSecond: audioSeconds / embedSeconds,
      speakerNearestNeighbour: nearestNeighbourAccuracy(
        floats,
        clips.map((clip) => clip.speaker),
      ),
      digitNearestNeighbour: nearestNeighbourAccuracy(
        floats,
        clips.map((clip) => clip.digit),
      ),
      digitHeadBySpeaker,
      digitHeadMean: folds.reduce((a, b) => a + b, 0) / folds.length,
    };
    results.push(result);
    console.error(JSON.stringify(result));
  }
  const loadAfter = await busyCores(2000);
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "", node: process.version, threads },
    otherWorkBusyCores: { before: load, after: loadAfter },
    data: { clips: clips.length, audioSeconds, speakers: 6, digits: 10 },
    decodeOnly: { seconds: decodeSeconds, audioSecondsPerSecond: audioSeconds / decodeSeconds },
    epochs,
    results,
  };
  await mkdir("bench/out", { recursive: true });
  await writeFile("bench/out/audio.json", `${JSON.stringify(report, null, 2)}\n`);
  await spliceSection(FULL_RESULTS, "## Audio", renderSection(report));
  console.error(`wrote bench/out/audio.json and the Audio section of ${FULL_RESULTS}`);
}

function percent(value: number): string {
  return (100 * value).toFixed(1);
}

function renderSection(report: {
  date: string;
  machine: { cpus: number; cpu: string; node: string; threads: number };
  otherWorkBusyCores: { before: number; after: number };
  data: { clips: number; audioSeconds: number };
  decodeOnly: { audioSecondsPerSecond: number };
  epochs: number;
  results: ModelResult[];
}): string {
  const baseline = report.results.find((result) => result.model === "mfcc-stats");
  const lines = [
    `FSDD official test split (${report.data.clips} clips, ${report.data.audioSeconds.toFixed(1)} s of 8 kHz speech; ` +
      "10 digits × 6 speakers × 5 takes). Accuracy in %; throughput in seconds of audio per second, end to end " +
      `(file → decode → 16 kHz → features → model). Run ${report.date.slice(0, 10)} on ${report.machine.cpus} cores ` +
      `(${report.machine.cpu}), Node ${report.machine.node}, ${report.machine.threads} inference threads.`,
    "",
    `Machine load: the 2 cores were shared with other processes (other work kept ${report.otherWorkBusyCores.before.toFixed(1)} cores ` +
      `busy before and ${report.otherWorkBusyCores.after.toFixed(1)} after the run), so throughput is indicative; accuracies are deterministic.`,
    "",
    "| model | dims | speaker ID, 1-NN LOO | digit, softmax head, leave-one-speaker-out | digit, 1-NN LOO | audio s/s | × MFCC speed |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...report.results.map(
      (result) =>
        `| ${result.model} | ${result.dims} | ${percent(result.speakerNearestNeighbour)} | ${percent(result.digitHeadMean)} ` +
        `(${Object.values(result.digitHeadBySpeaker)
          .map((value) => percent(value))
          .join(
            " / ",
          )}) | ${percent(result.digitNearestNeighbour)} | ${result.audioSecondsPerSecond.toFixed(1)} | ` +
        `${baseline === undefined ? "—" : (result.audioSecondsPerSecond / baseline.audioSecondsPerSecond).toFixed(2)} |`,
    ),
    `| (decode + resample only) | — | — | — | — | ${report.decodeOnly.audioSecondsPerSecond.toFixed(1)} | ${
      baseline === undefined
        ? "—"
        : (report.decodeOnly.audioSecondsPerSecond / baseline.audioSecondsPerSecond).toFixed(2)
    } |`,
    "",
    "Chance: speaker 16.7 %, digit 10 %. Folds of the digit head are listed per held-out speaker in alphabetical order " +
      "(george / jackson / lucas / nicolas / theo / yweweler).",
    "",
    "Method: `resemblyzer-ge2e` is resemblyzer 0.1.4's GE2E encoder (PyPI wheel, run by onnxruntime from a graph " +
      "built in TypeScript; no VAD trimming — FSDD clips are already trimmed); clips shorter than 1.6 s are zero-padded " +
      "to one partial utterance, as resemblyzer does. `mfcc-stats` is mean + std of 20 MFCCs and their deltas (79-d). " +
      "Speaker ID: each clip's nearest other clip by cosine must have the same speaker. Digit head: " +
      `softmax regression (src/train \`trainClassifier\`, hidden [], AdamW lr 0.01, L2 1e-3, ${report.epochs} epochs, ` +
      "batch 32, seed 7) on vectors z-scored with the training folds' statistics. GE2E is trained to ignore what is " +
      "said, so its low digit accuracy is expected; MFCCs carry both speaker and content. Digit 1-NN is high for " +
      "both because a clip's nearest neighbour is usually another take of the same digit by the same speaker; the " +
      "leave-one-speaker-out head is the test of content. Speed: every clip shorter than 1.6 s costs GE2E a full " +
      "1.6-s partial utterance (FSDD clips average 0.43 s, so it computes ~3.7× the audio it is given).",
    "",
    "Command: `npx tsx bench/audio.ts --threads 2` (data: `$EMBEDKIT_DATA/fsdd-audio`)",
  ];
  return lines.join("\n");
}

await main();
