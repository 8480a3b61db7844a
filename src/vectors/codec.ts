/**
 * @module vectors/codec
 * Conversions at JSON/HTTP and file edges: Float32Array ⇄ number[],
 * Float32Array ⇄ little-endian float32 bytes (model and checkpoint files) and
 * ⇄ base64 of those bytes (OpenAI's `encoding_format: "base64"`).
 */
import { EmbedkitError } from "../errors.js";

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The little-endian float32 bytes of `vector` (a view of it on little-endian machines, else a copy). */
export function float32ToLittleEndian(vector: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
  const view = new DataView(new ArrayBuffer(vector.length * 4));
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * 4, vector[i] as number, true);
  return new Uint8Array(view.buffer);
}

/** A new Float32Array from little-endian float32 bytes (`bytes.length` must be a multiple of 4). */
export function float32FromLittleEndian(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(Math.floor(bytes.length / 4));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Encode a vector as base64 of little-endian float32 bytes. */
export function float32ToBase64(vector: Float32Array): string {
  const bytes = float32ToLittleEndian(vector);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
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
  return float32FromLittleEndian(bytes);
}

/** Convert a Float32Array to a plain number array (for JSON). */
export function toNumberArray(vector: ArrayLike<number>): number[] {
  return Array.from(vector);
}
