/**
 * @module embed/media/audio/audio-embedder
 * What every audio {@link MediaEmbedder} shares: a provider only says how to
 * turn mono samples at its rate into one vector per clip ({@link AudioCore});
 * {@link wrapAudioCore} makes it a provider of the media pipeline
 * (../media-pipeline.ts), which supplies the common call flow — every input
 * opened and sniffed before any decoding (one bad file rejects the whole
 * call), batches of `maxBatchSize` clips (each decoded with the duration limit
 * inside its batch, so memory holds one batch of decoded audio, not the whole
 * call), progress, cancellation, `dimensions`/`precision` post-processing and
 * `usage.seconds`.
 */
import { EmbedkitError } from "../../../errors.js";
import { assertOpen } from "../../inputs.js";
import { type EmbedProvider, embedDecoded } from "../../pipeline.js";
import {
  DEFAULT_MEDIA_LIMITS,
  type MediaEmbedder,
  type MediaLimits,
  type MediaModelInfo,
} from "../media-embedder.js";
import { embedMedia, type MediaProvider } from "../media-pipeline.js";
import { DEFAULT_MAX_AUDIO_SECONDS, decodeAudioFile } from "./decode-audio.js";

/** The model-specific part of an audio embedder. */
export interface AudioCore {
  readonly id: string;
  readonly dims: number;
  /** Sample rate the model consumes; inputs are resampled to it. */
  readonly sampleRate: number;
  /** Whether {@link AudioCore.embedSamples} returns unit vectors. */
  readonly normalize: boolean;
  /** Clips per {@link AudioCore.embedSamples} call. */
  readonly maxBatchSize: number;
  /** One vector per clip (mono samples at `sampleRate`), in order. */
  embedSamples(clips: readonly Float32Array[], signal?: AbortSignal): Promise<Float32Array[]>;
  /** Free native resources. */
  close(): Promise<void>;
}

/** A {@link MediaEmbedder} for audio that can also embed already-decoded samples. */
export interface AudioEmbedder extends MediaEmbedder {
  /** Sample rate {@link AudioEmbedder.embedSamples} expects. */
  readonly sampleRate: number;
  /**
   * Embed mono clips already at {@link AudioEmbedder.sampleRate} (no file checks;
   * the vectors are the model's full-width float32 output).
   * @throws EmbedkitError INVALID_INPUT (not Float32Array, empty), CLOSED
   */
  embedSamples(
    clips: readonly Float32Array[],
    options?: { readonly signal?: AbortSignal },
  ): Promise<Float32Array[]>;
}

/** Audio limits: the shared media defaults with a 10-minute duration cap. */
export const DEFAULT_AUDIO_LIMITS: MediaLimits = Object.freeze({
  ...DEFAULT_MEDIA_LIMITS,
  maxDurationSeconds: DEFAULT_MAX_AUDIO_SECONDS,
});

/** Options of {@link wrapAudioCore}. */
export interface AudioEmbedderSettings {
  /** Limits for every call (per-call options may override). @default DEFAULT_AUDIO_LIMITS */
  readonly limits?: Partial<MediaLimits>;
}

function checkClips(clips: unknown): asserts clips is readonly Float32Array[] {
  if (!Array.isArray(clips)) {
    throw new EmbedkitError("INVALID_INPUT", "clips must be an array of Float32Array (mono samples).");
  }
  clips.forEach((clip, index) => {
    if (!(clip instanceof Float32Array) || clip.length === 0) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Clip ${index} must be a non-empty Float32Array of mono samples, received ${clip instanceof Float32Array ? "an empty one" : typeof clip}.`,
        { details: { index } },
      );
    }
  });
}

/**
 * Wrap an {@link AudioCore} into a full {@link AudioEmbedder}.
 *
 * @example
 * ```ts
 * const embedder = wrapAudioCore(createMfccCore());
 * const { vectors, usage } = await embedder.embed(["a.wav", "b.mp3"]);
 * console.log(usage.seconds);
 * ```
 */
export function wrapAudioCore(core: AudioCore, settings: AudioEmbedderSettings = {}): AudioEmbedder {
  let closed = false;
  const model: MediaModelInfo = Object.freeze({
    id: core.id,
    dims: core.dims,
    modality: "audio",
    normalize: core.normalize,
    maxBatchSize: core.maxBatchSize,
    limits: Object.freeze({ ...DEFAULT_AUDIO_LIMITS, ...settings.limits }),
  });
  const assertNotClosed = (): void => assertOpen(closed, core.id);
  /** Files: opened and sniffed first, decoded batch by batch (memory holds one batch of audio). */
  const files: MediaProvider = {
    model,
    read: false,
    measures: { pixels: false, seconds: true },
    limits: { maxBatchSize: core.maxBatchSize },
    assertOpen: assertNotClosed,
    async doEmbed({ values, signal, context }) {
      const clips: Float32Array[] = [];
      let seconds = 0;
      for (const file of values) {
        const decoded = await decodeAudioFile(file, {
          sampleRate: core.sampleRate,
          maxDurationSeconds: context.limits.maxDurationSeconds,
          signal,
        });
        seconds += decoded.durationSeconds;
        clips.push(decoded.samples);
      }
      return { vectors: await core.embedSamples(clips, signal), seconds };
    },
  };
  /** Decoded clips: the core's own output, untouched. */
  const samples: EmbedProvider<Float32Array> = {
    limits: { maxBatchSize: core.maxBatchSize },
    doEmbed: async ({ values, signal }) => ({ vectors: await core.embedSamples(values, signal) }),
  };
  return {
    model,
    sampleRate: core.sampleRate,
    async embedSamples(clips, options = {}) {
      assertNotClosed();
      checkClips(clips);
      return embedDecoded(samples, clips, {
        dims: core.dims,
        normalize: false,
        signal: options.signal,
        assertOpen: assertNotClosed,
      });
    },
    embed: (inputs, options) => embedMedia(files, inputs, options),
    async close() {
      if (closed) return;
      closed = true;
      await core.close();
    },
  };
}
