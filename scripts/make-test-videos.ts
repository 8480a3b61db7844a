/**
 * @module scripts/make-test-videos
 * Build test videos with ffmpeg from still photos, with known cut points: each
 * photo is one shot of a given length; a slow pan (a crop window moving on a
 * sine of the global time) keeps every shot in motion so a detector cannot
 * just look for frozen frames. `reencodeVideo` makes the distorted copies
 * (other resolution, bitrate and codec) the retrieval measurements query with.
 * Used by test/embed/media and bench/video.ts; needs ffmpeg (scripts/ensure-ffmpeg.sh).
 *
 * Run: `npx tsx scripts/make-test-videos.ts <out.mp4> <photo>... [--seconds 2]`
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";

function run(args: readonly string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", fail);
    child.on("close", (code) => (code === 0 ? done() : fail(new Error(`ffmpeg exited ${code}: ${stderr.slice(-2000)}`))));
  });
}

/** Options of {@link buildShotVideo}. */
export interface ShotVideoOptions {
  /** One photo per shot, in order. */
  readonly photos: readonly string[];
  /** Length of each shot in seconds (one per photo). */
  readonly seconds: readonly number[];
  readonly out: string;
  /** @default 320 × 240 at 10 fps, H.264 */
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
}

/**
 * Write a video made of the photos as shots; returns the cut times in seconds
 * (the start of every shot after the first).
 */
export async function buildShotVideo(options: ShotVideoOptions): Promise<number[]> {
  const width = options.width ?? 320;
  const height = options.height ?? 240;
  const fps = options.fps ?? 10;
  const big = `${Math.round(width * 1.25)}:${Math.round(height * 1.25)}`;
  const panX = "(iw-ow)/2*(1+sin(t*0.9))";
  const panY = "(ih-oh)/2*(1+cos(t*0.7))";
  // One looped still per shot, each scaled to the same size, then concatenated.
  const inputs = options.photos.flatMap((photo, index) => [
    "-loop",
    "1",
    "-framerate",
    String(fps),
    "-t",
    String(options.seconds[index] ?? 2),
    "-i",
    resolve(photo),
  ]);
  const scaled = options.photos
    .map((_, index) => `[${index}:v]scale=${big}:force_original_aspect_ratio=increase,crop=${big},setsar=1,format=yuv420p[v${index}]`)
    .join(";");
  const joined = options.photos.map((_, index) => `[v${index}]`).join("");
  await run([
    ...inputs,
    "-filter_complex",
    `${scaled};${joined}concat=n=${options.photos.length}:v=1:a=0,crop=${width}:${height}:x='${panX}':y='${panY}'[out]`,
    "-map",
    "[out]",
    "-r",
    String(fps),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-crf",
    "20",
    "-an",
    options.out,
  ]);
  const cuts: number[] = [];
  let time = 0;
  for (const seconds of options.seconds.slice(0, -1)) {
    time += seconds;
    cuts.push(time);
  }
  return cuts;
}

/** Options of {@link reencodeVideo}. */
export interface ReencodeOptions {
  readonly width: number;
  readonly height: number;
  /** Video bitrate, e.g. "150k". */
  readonly bitrate: string;
  /** ffmpeg encoder. @default "libx264" */
  readonly codec?: string;
  /** Drop this many seconds from the start. @default 0 */
  readonly trimStart?: number;
}

/** Re-encode a video at another resolution/bitrate/codec (the output's extension picks the container). */
export async function reencodeVideo(input: string, out: string, options: ReencodeOptions): Promise<void> {
  await run([
    ...(options.trimStart ? ["-ss", String(options.trimStart)] : []),
    "-i",
    input,
    "-vf",
    `scale=${options.width}:${options.height},format=yuv420p`,
    "-c:v",
    options.codec ?? "libx264",
    "-b:v",
    options.bitrate,
    "-an",
    out,
  ]);
}

if (process.argv[1]?.endsWith("make-test-videos.ts")) {
  const args = process.argv.slice(2);
  const secondsIndex = args.indexOf("--seconds");
  const seconds = secondsIndex >= 0 ? Number(args[secondsIndex + 1]) : 2;
  const positional = args.filter((_, index) => index !== secondsIndex && index !== secondsIndex + 1);
  const [out, ...photos] = positional;
  if (out === undefined || photos.length === 0) {
    console.error("usage: npx tsx scripts/make-test-videos.ts <out.mp4> <photo>... [--seconds 2]");
    process.exit(1);
  }
  const cuts = await buildShotVideo({ photos, seconds: photos.map(() => seconds), out });
  console.log(`wrote ${out}; cuts at ${cuts.join(", ")} s`);
}
