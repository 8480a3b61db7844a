/**
 * An audio collection end to end: GE2E vectors of FSDD clips in the embedded
 * vector store, searched by example file (a clip of another digit, given as
 * FLAC) — the speaker's own clips come back first.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AudioEmbedder } from "../../../src/embed/media/audio/audio-embedder.js";
import { createAudioEmbedder } from "../../../src/embed/media/audio/create-audio-embedder.js";
import { openEmbeddedStore } from "../../../src/store/embedded-store.js";
import type { VectorStore } from "../../../src/store/vector-store.js";
import { CLIPS, ffmpeg, temporaryFolder } from "./audio-fixtures.js";

describe("audio collection in the vector store", () => {
  let embedder: AudioEmbedder;
  let store: VectorStore;
  beforeAll(async () => {
    embedder = await createAudioEmbedder({ threads: 2 });
    store = await openEmbeddedStore({ path: temporaryFolder("embedkit-audio-store-") });
  });
  afterAll(async () => {
    await embedder?.close();
    await store?.close();
  });

  it("finds a speaker's other clips first when searching by an example file", async () => {
    const voices = await store.createCollection("voices", {
      model: embedder.model.id,
      dims: embedder.model.dims,
      normalized: true,
    });
    const indexed = CLIPS.filter((item) => item.digit !== 3);
    const { vectors } = await embedder.embed(indexed.map((item) => item.path));
    await voices.upsert(
      indexed.map((item, index) => ({
        id: item.name,
        vector: vectors[index] as Float32Array,
        metadata: { speaker: item.speaker, digit: item.digit },
      })),
    );
    const folder = temporaryFolder("embedkit-audio-queries-");
    for (const query of CLIPS.filter((item) => item.digit === 3)) {
      const flac = join(folder, `${query.name}.flac`);
      ffmpeg("-i", query.path, flac);
      const [vector] = (await embedder.embed([flac])).vectors;
      const hits = await voices.query({ vector: vector as Float32Array, k: 3, model: embedder.model.id });
      expect(
        hits.map((hit) => hit.metadata.speaker),
        query.name,
      ).toEqual([query.speaker, query.speaker, query.speaker]);
    }
  });
});
