/**
 * A CLAP pair behind `POST /v1/embeddings` (in-process, `app.inject()`): the audio
 * side as a media model (each input a base64 WAV), the text side as a text model
 * under an alias — both answer in OpenAI's shape and land in one space. The model
 * is the random-weight fixture of scripts/make-tiny-clap.ts (not a working model).
 */
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyClap } from "../../scripts/make-tiny-clap.js";
import { createClapEmbedder } from "../../src/embed/media/audio/clap-embedder.js";
import { createServer, type EmbedkitServer } from "../../src/server/index.js";
import { cosineSimilarity } from "../../src/vectors/math.js";
import { clip } from "../embed/media/audio-fixtures.js";
import { temporaryFolder } from "../embed/media/image-fixtures.js";
import { sharedStore } from "./helpers.js";

let folder: string;
let model: string;
let app: EmbedkitServer;

beforeAll(async () => {
  folder = await temporaryFolder("server-clap");
  await writeTinyClap(join(folder, "tiny-clap"), { dims: 16, seed: 4 });
  model = `clap:dir:${join(folder, "tiny-clap")}`;
  app = createServer({
    models: [model],
    aliases: { "clap-text": model },
    mediaModels: [model],
    store: sharedStore(),
    threads: 1,
  });
});

afterAll(async () => {
  await app?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe("server: a CLAP pair on /v1/embeddings", () => {
  it("embeds base64 audio with the model's name and text through an alias, equal to the library's vectors", async () => {
    const wav = readFileSync(clip("2_george_0")).toString("base64");
    const audio = await app.inject({
      method: "POST",
      url: "/v1/embeddings",
      payload: { model, input: [`data:audio/wav;base64,${wav}`] },
    });
    expect(audio.statusCode, audio.body).toBe(200);
    const text = await app.inject({
      method: "POST",
      url: "/v1/embeddings",
      payload: { model: "clap-text", input: ["a dog barking", "rain"] },
    });
    expect(text.statusCode, text.body).toBe(200);
    const sound = (audio.json() as { data: { embedding: number[] }[] }).data[0]?.embedding as number[];
    const texts = (text.json() as { data: { embedding: number[] }[] }).data.map((item) => item.embedding);
    expect(sound).toHaveLength(16);
    expect(texts[0]).toHaveLength(16);
    const library = await createClapEmbedder({ model, store: sharedStore(), threads: 1 });
    try {
      const [expectedSound] = (await library.audio.embed([clip("2_george_0")])).vectors;
      const [expectedText] = (await library.text.embed(["a dog barking"])).vectors;
      expect(cosineSimilarity(sound, expectedSound as Float32Array)).toBeGreaterThan(0.99999);
      expect(cosineSimilarity(texts[0] as number[], expectedText as Float32Array)).toBeGreaterThan(0.99999);
    } finally {
      await library.close();
    }
  });

  it("answers 400 in OpenAI's shape when text is sent to the audio side", async () => {
    const response = await app.inject({
      method: "POST",
      url: "/v1/embeddings",
      payload: { model, input: ["a dog barking"] },
    });
    expect(response.statusCode).toBe(400);
    expect((response.json() as { error: { message: string } }).error.message).toMatch(
      /not base64|recognisable|audio/i,
    );
  });
});
