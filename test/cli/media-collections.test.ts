/** Media collections through the CLI: `index --modality image|audio` and `search --example`, real models, real embedded store. */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleImages, temporaryFolder } from "../embed/media/image-fixtures.js";
import { runCli } from "./run-cli.js";

const photos = sampleImages().slice(0, 8);
let folder: string;
let store: string;

beforeAll(async () => {
  folder = await temporaryFolder("cli-collections");
  store = join(folder, "store");
});

afterAll(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe("image collections", () => {
  it("indexes image files and finds the original of a flipped copy by example", async () => {
    const indexed = await runCli([
      "index",
      "photos",
      "--modality",
      "image",
      "--store",
      store,
      "--quiet",
      "--json",
      ...photos,
    ]);
    expect(indexed.code).toBe(0);
    expect(JSON.parse(indexed.stdout)).toMatchObject({
      model: "mobilenet-v2-nsfwjs",
      total: 8,
      embedded: 8,
      count: 8,
    });

    const again = await runCli([
      "index",
      "photos",
      "--modality",
      "image",
      "--store",
      store,
      "--quiet",
      "--json",
      ...photos,
    ]);
    expect(JSON.parse(again.stdout)).toMatchObject({ embedded: 0, skipped: 8, count: 8 });

    const example = join(folder, "query.jpg");
    await sharp(photos[5] as string)
      .flop()
      .jpeg({ quality: 60 })
      .toFile(example);
    const found = await runCli([
      "search",
      "photos",
      "--example",
      example,
      "-k",
      "3",
      "--store",
      store,
      "--quiet",
      "--json",
    ]);
    expect(found.code).toBe(0);
    const { hits } = JSON.parse(found.stdout) as { hits: { id: string; metadata: { modality: string } }[] };
    expect(hits[0]?.id).toBe(photos[5]);
    expect(hits[0]?.metadata.modality).toBe("image");
  });

  it("refuses a text query for nothing, both a query and an example, and a non-media example", async () => {
    const neither = await runCli(["search", "photos", "--store", store, "--quiet"]);
    expect(neither.code).toBe(1);
    expect(neither.stderr).toMatch(/either a text query or --example/);
    const notes = join(folder, "notes.txt");
    await (await import("node:fs/promises")).writeFile(notes, "just text\n");
    const text = await runCli(["search", "photos", "--example", notes, "--store", store, "--quiet"]);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/UNSUPPORTED_MEDIA.*not an image, video or audio file/);
    // Issue 19.2: a text query on a collection whose model has no text encoder says what to do.
    const query = await runCli(["search", "photos", "a cat on a sofa", "--store", store, "--quiet"]);
    expect(query.code).toBe(1);
    expect(query.stderr).toMatch(
      /INVALID_OPTION.*mobilenet-v2-nsfwjs is an image model and has no text encoder, so it cannot embed text\..*--example <file>.*clip:… for images, clap:… for audio/,
    );
  });

  it("indexes nothing when one file is bad (the whole call is refused first)", async () => {
    const empty = join(folder, "empty.jpg");
    await (await import("node:fs/promises")).writeFile(empty, "");
    const run = await runCli([
      "index",
      "broken",
      "--modality",
      "image",
      "--store",
      store,
      "--quiet",
      photos[0] as string,
      empty,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/MALFORMED_FILE.*empty/);
    const listed = await runCli([
      "search",
      "broken",
      "--example",
      photos[0] as string,
      "--store",
      store,
      "--quiet",
    ]);
    // The collection exists (created before embedding) but holds no items.
    expect(listed.stdout).toMatch(/No matches|^$/);
  });

  it("does the same for an audio collection (speaker search by an example clip)", async () => {
    const clips = ["0_george_0", "0_jackson_0", "0_nicolas_0"].map((name) =>
      join("test/fixtures/audio", `${name}.wav`),
    );
    const indexed = await runCli([
      "index",
      "voices",
      "--modality",
      "audio",
      "--store",
      store,
      "--quiet",
      "--json",
      ...clips,
    ]);
    expect(indexed.code, indexed.stderr).toBe(0);
    const example = join("test/fixtures/audio", "1_jackson_0.wav");
    const found = await runCli([
      "search",
      "voices",
      "--example",
      example,
      "-k",
      "3",
      "--store",
      store,
      "--quiet",
      "--json",
    ]);
    expect(found.code, found.stderr).toBe(0);
    const { hits } = JSON.parse(found.stdout) as { hits: { id: string }[] };
    // Another digit by the same speaker: GE2E ranks the same voice first.
    expect(hits[0]?.id).toBe(clips[1]);
  });
});
