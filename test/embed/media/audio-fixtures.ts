/**
 * Audio test inputs: FSDD clips committed under test/fixtures/audio (CC BY-SA 4.0,
 * see its README), files re-encoded from them with ffmpeg at test time, and
 * hand-made broken files (truncated, lying headers) for the bad-input paths.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** Folder of the committed audio fixtures. */
export const AUDIO_FIXTURES = resolve("test/fixtures/audio");

/** Path of a committed FSDD clip, e.g. `clip("0_jackson_0")`. */
export function clip(name: string): string {
  return join(AUDIO_FIXTURES, `${name}.wav`);
}

/** The 12 committed clips: digits 0–3 spoken by george, jackson and nicolas. */
export const CLIPS = ["george", "jackson", "nicolas"].flatMap((speaker) =>
  [0, 1, 2, 3].map((digit) => ({
    name: `${digit}_${speaker}_0`,
    speaker,
    digit,
    path: clip(`${digit}_${speaker}_0`),
  })),
);

/** A fresh temporary folder. */
export function temporaryFolder(prefix = "embedkit-audio-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Run ffmpeg quietly (throws on failure). */
export function ffmpeg(...args: string[]): void {
  execFileSync("ffmpeg", ["-v", "error", "-y", ...args], { stdio: ["ignore", "ignore", "inherit"] });
}

/** A 16-bit PCM WAV file's bytes with the given header values and data. */
export function wavBytes(options: {
  readonly sampleRate: number;
  readonly channels?: number;
  /** Data size written in the header (may differ from the data given). */
  readonly declaredBytes: number;
  readonly data: Uint8Array;
}): Uint8Array {
  const channels = options.channels ?? 1;
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE((36 + options.declaredBytes) >>> 0, 4);
  header.write("WAVEfmt ", 8, "ascii");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(options.sampleRate, 24);
  header.writeUInt32LE(options.sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "ascii");
  header.writeUInt32LE(options.declaredBytes >>> 0, 40);
  return new Uint8Array(Buffer.concat([header, options.data]));
}

/**
 * Copy of a FLAC file whose STREAMINFO claims `totalSamples` samples (0 = unknown),
 * to fake a 10-hour file, or one that does not say how long it is, without writing GBs.
 */
export function patchFlacLength(source: string, target: string, totalSamples: number): void {
  const bytes = Buffer.from(readFileSync(source));
  if (bytes.toString("ascii", 0, 4) !== "fLaC") throw new Error(`${source} is not FLAC`);
  // STREAMINFO body starts at 8; bytes 18..25 hold rate(20) | channels(3) | bits(5) | total samples(36).
  const packed = bytes.readBigUInt64BE(18);
  const mask = (1n << 36n) - 1n;
  bytes.writeBigUInt64BE((packed & ~mask) | BigInt(totalSamples), 18);
  writeFileSync(target, bytes);
}
