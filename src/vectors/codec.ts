/**
 * @module vectors/codec
 * Conversions used only at JSON/HTTP edges: Float32Array ⇄ number[] and
 * Float32Array ⇄ base64 of little-endian float32 bytes (OpenAI's
 * `encoding_format: "base64"`).
 */
import { EmbedkitError } from "../errors.js";

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encode a vector as base64 of little-endian float32 bytes. */
export function float32ToBase64(vector: Float32Array): string {
  if (LITTLE_ENDIAN)
    return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString("base64");
  const view = new DataView(new ArrayBuffer(vector.length * 4));
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * 4, vector[i] as number, true);
  return Buffer.from(view.buffer).toString("base64");
}

/** Decode base64 of little-endian float32 bytes. @throws EmbedkitError INVALID_INPUT on a length not divisible by 4 */
export function base64ToFloat32(encoded: string): Float32Array {
  const bytes = Buffer.from(encoded, "base64");
  if (bytes.length % 4 !== 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `base64 vector decodes to ${bytes.length} bytes, which is not a multiple of 4 (float32).`,
    );
  }
  const out = new Float32Array(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Convert a Float32Array to a plain number array (for JSON). */
export function toNumberArray(vector: ArrayLike<number>): number[] {
  return Array.from(vector);
}
