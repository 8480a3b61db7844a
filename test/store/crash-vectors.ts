/** Deterministic vectors by id, shared by the crash test and its child process. */
import { createRandom } from "../../src/vectors/random.js";

/** The 16-dimensional vector the crash child stores for `id` (seeded by an FNV-1a hash of the id). */
export function crashVector(id: string): Float32Array {
  let seed = 2166136261;
  for (let i = 0; i < id.length; i++) seed = Math.imul(seed ^ id.charCodeAt(i), 16777619);
  const random = createRandom(seed | 0);
  return Float32Array.from({ length: 16 }, () => random.next() * 2 - 1);
}
