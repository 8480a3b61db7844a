/**
 * Audio models on `POST /v1/embeddings` (in-process, `app.inject()`), on the
 * real GE2E model and the MFCC baseline: base64 and data-URL inputs, dimensions
 * and base64 output, /v1/models, and OpenAI-shaped errors for bad inputs.
 */
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAudioEmbedder } from "../../src/embed/media/audio/create-audio-embedder.js";
import { createServer, type EmbedkitServer } from "../../src/server/index.js";
import { resolveServeSettings, toServerOptions } from "../../src/server/serve-config.js";
import { base64ToFloat32 } from "../../src/vectors/codec.js";
import { cosineSimilarity } from "../../src/vectors/math.js";
import { runCli } from "../cli/run-cli.js";
import { clip, ffmpeg, temporaryFolder } from "../embed/media/audio-fixtures.js";
import { expectOpenAiError, sharedStore } from "./helpers.js";

function post(app: EmbedkitServer, payload: unknown) {
  return app.inject({ method: "POST", url: "/v1/embeddings", payload: payload as object });
}

const wav = readFileSync(clip("1_nicolas_0")).toString("base64");

describe("server: audio models on /v1/embeddings", () => {
  let app: EmbedkitServer;
  beforeAll(() => {
    app = createServer({
      models: ["all-minilm-l6-v2-q"],
      mediaModels: ["resemblyzer-ge2e", "mfcc-stats"],
      store: sharedStore(),
      threads: 2,
    });
  });
  afterAll(async () => app?.close());

  it("lists the audio models next to the text models", async () => {
    const response = await app.inject({ method: "GET", url: "/v1/models" });
    const ids = (response.json() as { data: { id: string }[] }).data.map((entry) => entry.id);
    expect(ids).toEqual(expect.arrayContaining(["all-minilm-l6-v2-q", "resemblyzer-ge2e", "mfcc-stats"]));
  });

  it("embeds base64 WAV and a FLAC data URL with GE2E, equal to the library's vectors", async () => {
    const folder = temporaryFolder("embedkit-server-audio-");
    const flac = join(folder, "clip.flac");
    ffmpeg("-i", clip("1_nicolas_0"), flac);
    const response = await post(app, {
      model: "resemblyzer-ge2e",
      input: [wav, `data:audio/flac;base64,${readFileSync(flac).toString("base64")}`],
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as {
      data: { index: number; embedding: number[] }[];
      usage: unknown;
      model: string;
    };
    expect(body.model).toBe("resemblyzer-ge2e");
    expect(body.usage).toEqual({ prompt_tokens: 0, total_tokens: 0 });
    expect(body.data.map((item) => item.index)).toEqual([0, 1]);
    const library = await createAudioEmbedder({ store: sharedStore(), threads: 1 });
    try {
      const [expected] = (await library.embed([clip("1_nicolas_0")])).vectors;
      expect(cosineSimilarity(body.data[0]?.embedding as number[], expected as Float32Array)).toBeGreaterThan(
        0.99999,
      );
      expect(cosineSimilarity(body.data[1]?.embedding as number[], expected as Float32Array)).toBeGreaterThan(
        0.9999,
      );
    } finally {
      await library.close();
    }
  });

  it("honours dimensions and encoding_format base64", async () => {
    const response = await post(app, {
      model: "mfcc-stats",
      input: wav,
      dimensions: 16,
      encoding_format: "base64",
    });
    expect(response.statusCode, response.body).toBe(200);
    const vector = base64ToFloat32(
      (response.json() as { data: { embedding: string }[] }).data[0]?.embedding as string,
    );
    expect(vector.length).toBe(16);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
  });

  it("answers 400 in OpenAI's shape for input that is not base64, not audio, or token ids", async () => {
    const notBase64 = await post(app, { model: "mfcc-stats", input: "hello, world!" });
    expectOpenAiError(notBase64, 400, "input");
    expect(notBase64.body).toMatch(/input\[0\] is not base64/);
    const notAudio = await post(app, {
      model: "mfcc-stats",
      input: Buffer.from("just some text, no audio").toString("base64"),
    });
    expectOpenAiError(notAudio, 400);
    expect(notAudio.body).toMatch(/not a recognisable audio file/);
    const tokens = await post(app, { model: "mfcc-stats", input: [[1, 2, 3]] });
    expectOpenAiError(tokens, 400, "input");
    const tooWide = await post(app, { model: "resemblyzer-ge2e", input: wav, dimensions: 999 });
    expectOpenAiError(tooWide, 400, "dimensions");
  });
});

describe("official openai client, audio model", () => {
  it("embeds a base64 WAV with client.embeddings.create (the client's default base64 encoding)", async () => {
    const app = createServer({
      models: ["all-minilm-l6-v2-q"],
      mediaModels: ["mfcc-stats"],
      store: sharedStore(),
    });
    try {
      await app.listen({ host: "127.0.0.1", port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "unused", maxRetries: 0 });
      const response = await client.embeddings.create({ model: "mfcc-stats", input: [wav] });
      expect(response.model).toBe("mfcc-stats");
      expect(response.data[0]?.embedding).toHaveLength(79);
    } finally {
      await app.close();
    }
  });
});

describe("embedkit serve --media-models", () => {
  it("takes media models from the flag or EMBEDKIT_MEDIA_MODELS and passes them to the server", async () => {
    const fromFlag = resolveServeSettings({ flags: { mediaModels: ["resemblyzer-ge2e"] }, env: {} });
    expect(toServerOptions(fromFlag).mediaModels).toEqual(["resemblyzer-ge2e"]);
    const fromEnv = resolveServeSettings({
      flags: {},
      env: { EMBEDKIT_MEDIA_MODELS: "mfcc-stats, resemblyzer-ge2e" },
    });
    expect(toServerOptions(fromEnv).mediaModels).toEqual(["mfcc-stats", "resemblyzer-ge2e"]);
    const help = await runCli(["serve", "--help"]);
    expect(help.stdout).toContain("--media-models <ids>");
  });
});
