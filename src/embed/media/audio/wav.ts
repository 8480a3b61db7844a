/**
 * @module embed/media/audio/wav
 * A pure-TypeScript reader for plain RIFF/WAVE files (integer PCM of 8, 16,
 * 24 or 32 bits, or 32/64-bit float, including WAVE_FORMAT_EXTENSIBLE with
 * those sub-formats). Plain WAV is the common case (datasets, recorders), and
 * reading it here needs no subprocess and lets the header's duration be
 * checked before a single sample is read. Anything else (compressed WAV
 * codecs, RF64) returns `undefined` from {@link parseWavHeader} and goes
 * through ffmpeg instead.
 */
import { EmbedkitError } from "../../../errors.js";

/** What a WAV header says about the samples that follow. */
export interface WavHeader {
  /** `int` = signed integer PCM (unsigned for 8-bit), `float` = IEEE float. */
  readonly encoding: "int" | "float";
  readonly channels: number;
  readonly sampleRate: number;
  readonly bitsPerSample: number;
  /** Byte offset of the first sample. */
  readonly dataOffset: number;
  /** Bytes of sample data the header declares (or the rest of the file for streamed WAVs). */
  readonly dataBytes: number;
  /**
   * Bytes of sample data really present. Less than `dataBytes` means the file is
   * truncated; the caller decides (after checking the declared duration).
   */
  readonly availableBytes: number;
  /** Whole sample frames (one sample per channel) the data holds. */
  readonly frames: number;
  readonly durationSeconds: number;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** Data sizes that streaming writers put in the header when they do not know the length. */
const UNKNOWN_SIZES = new Set([0, 0xffffffff]);

function ascii(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + 4));
}

function malformed(label: string, problem: string): EmbedkitError {
  return new EmbedkitError("MALFORMED_FILE", `${label} is not a readable WAV file: ${problem}.`, {
    details: { input: label },
  });
}

/**
 * Parse the header of a RIFF/WAVE file from its first bytes (64 KiB is plenty).
 * Returns `undefined` for WAV files this reader does not decode (compressed
 * codecs), which ffmpeg then handles.
 *
 * @param head the first bytes of the file
 * @param fileBytes the size of the whole file, to tell a truncated file from a streamed one
 * @param label the file name for error messages
 * @throws EmbedkitError MALFORMED_FILE for a broken header
 */
export function parseWavHeader(head: Uint8Array, fileBytes: number, label: string): WavHeader | undefined {
  if (head.length < 12 || ascii(head, 0) !== "RIFF" || ascii(head, 8) !== "WAVE") {
    throw malformed(label, 'it does not start with "RIFF....WAVE"');
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let offset = 12;
  let format:
    | { code: number; channels: number; sampleRate: number; bits: number; blockAlign: number }
    | undefined;
  while (offset + 8 <= head.length) {
    const id = ascii(head, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > head.length)
        throw malformed(label, "its fmt chunk is shorter than 16 bytes");
      let code = view.getUint16(body, true);
      if (code === WAVE_FORMAT_EXTENSIBLE && size >= 40 && body + 26 <= head.length) {
        // The sub-format GUID starts with the plain format code.
        code = view.getUint16(body + 24, true);
      }
      format = {
        code,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === "data") {
      if (format === undefined) throw malformed(label, "its data chunk comes before the fmt chunk");
      if (format.code !== WAVE_FORMAT_PCM && format.code !== WAVE_FORMAT_FLOAT) return undefined;
      const { channels, sampleRate, bits } = format;
      const supportedBits = format.code === WAVE_FORMAT_PCM ? [8, 16, 24, 32] : [32, 64];
      if (channels < 1 || sampleRate < 1 || !supportedBits.includes(bits)) {
        throw malformed(
          label,
          `its fmt chunk says ${channels} channel(s), ${sampleRate} Hz, ${bits} bits (expected >= 1 channel, ` +
            `a positive rate and ${supportedBits.join("/")} bits)`,
        );
      }
      const frameBytes = channels * (bits / 8);
      const available = Math.max(0, fileBytes - body);
      // Streaming writers leave the size 0 or 0xFFFFFFFF: the data runs to the end of the file.
      const declared = UNKNOWN_SIZES.has(size) ? available : size;
      const frames = Math.floor(declared / frameBytes);
      return {
        encoding: format.code === WAVE_FORMAT_PCM ? "int" : "float",
        channels,
        sampleRate,
        bitsPerSample: bits,
        dataOffset: body,
        dataBytes: frames * frameBytes,
        availableBytes: Math.min(available, frames * frameBytes),
        frames,
        durationSeconds: frames / sampleRate,
      };
    }
    // Chunks are padded to an even size.
    offset = body + size + (size % 2);
  }
  if (format === undefined) throw malformed(label, "it has no fmt chunk in its first bytes");
  throw malformed(label, "it has no data chunk (the file may be truncated)");
}

/**
 * Decode the sample data of a plain WAV into mono float samples in [-1, 1]:
 * channels are averaged (the same mixdown as librosa's `to_mono`).
 */
export function decodeWavSamples(header: WavHeader, data: Uint8Array): Float32Array {
  const { channels, bitsPerSample, frames, encoding } = header;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const bytesPerSample = bitsPerSample / 8;
  const read = sampleReader(encoding, bitsPerSample, view);
  const out = new Float32Array(frames);
  const scale = 1 / channels;
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0;
    const base = frame * channels * bytesPerSample;
    for (let channel = 0; channel < channels; channel++) sum += read(base + channel * bytesPerSample);
    out[frame] = sum * scale;
  }
  return out;
}

function sampleReader(
  encoding: WavHeader["encoding"],
  bits: number,
  view: DataView,
): (offset: number) => number {
  if (encoding === "float") {
    return bits === 32 ? (o) => view.getFloat32(o, true) : (o) => view.getFloat64(o, true);
  }
  switch (bits) {
    case 8:
      // 8-bit WAV is unsigned with 128 as zero.
      return (o) => (view.getUint8(o) - 128) / 128;
    case 16:
      return (o) => view.getInt16(o, true) / 32768;
    case 24:
      return (o) => {
        const value = view.getUint8(o) | (view.getUint8(o + 1) << 8) | (view.getInt8(o + 2) << 16);
        return value / 8388608;
      };
    default:
      return (o) => view.getInt32(o, true) / 2147483648;
  }
}
