/**
 * `embedkit faq index|ask|calibrate|settings` in-process on a real model and a
 * temporary embedded store: the quick-start flow, --json output, the fallback,
 * and user errors (missing column, empty file, unknown collection) with exit code 1.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/faq");
let dir: string;
let common: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-cli-faq-"));
  common = ["--store", join(dir, "store"), "--collection", "support", "--quiet"];
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("embedkit faq", () => {
  it("indexes a FAQ file, answers, falls back, calibrates and shows the settings", async () => {
    const index = await runCli(["faq", "index", join(FIXTURES, "faq-en.csv"), ...common]);
    expect(index.stderr).toBe("");
    expect(index.code).toBe(0);
    expect(index.stdout).toMatch(
      /Indexed 7 questions \(5 answers\) into "support" with bge-small-en-v1\.5 \(detected language: en\)/,
    );

    const ask = await runCli([
      "faq",
      "ask",
      "I forgot the PIN of my card",
      ...common,
      "--json",
      "-k",
      "2",
      "--threshold",
      "none",
    ]);
    expect(ask.code).toBe(0);
    const reply = JSON.parse(ask.stdout) as { answered: boolean; reply: string; alternatives: unknown[] };
    expect(reply.answered).toBe(true);
    expect(reply.reply).toBe("Open the app, go to Cards > PIN and choose Reset PIN.");
    expect(reply.alternatives).toHaveLength(2);

    const fallback = await runCli([
      "faq",
      "ask",
      "best lasagna recipe",
      ...common,
      "--threshold",
      "0.99",
      "--fallback",
      "Please hold.",
    ]);
    expect(fallback.code).toBe(0);
    expect(fallback.stdout).toMatch(
      /^Please hold\.\n {2}\(fallback: confidence 0\.\d{3} < threshold 0\.990\)/,
    );

    const calibrate = await runCli(["faq", "calibrate", join(FIXTURES, "calibration-en.csv"), ...common]);
    expect(calibrate.code).toBe(0);
    expect(calibrate.stdout).toMatch(
      /Threshold 0\.\d{3} from 6 labelled questions \(3 without an answer\), saved to "support"/,
    );

    const settings = await runCli(["faq", "settings", ...common, "--json"]);
    expect(JSON.parse(settings.stdout)).toMatchObject({
      language: "en",
      aggregation: "centroid",
      questions: 7,
      answers: 5,
    });
    const changed = await runCli(["faq", "settings", ...common, "--fallback", "One moment.", "--json"]);
    expect(JSON.parse(changed.stdout)).toMatchObject({ fallback: "One moment." });
  });

  it("exits 1 with a clear message for a missing column, an empty file and an unknown collection", async () => {
    const missing = await runCli(["faq", "index", join(FIXTURES, "missing-answer.csv"), ...common]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/MALFORMED_FILE.*no column "answer"/);
    const empty = await runCli(["faq", "index", join(FIXTURES, "empty.csv"), ...common]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/is empty/);
    const unknown = await runCli([
      "faq",
      "ask",
      "hi",
      "--store",
      join(dir, "store"),
      "--collection",
      "nothing-here",
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/UNKNOWN_COLLECTION/);
    const target = await runCli([
      "faq",
      "calibrate",
      join(FIXTURES, "calibration-en.csv"),
      ...common,
      "--objective",
      "precision",
    ]);
    expect(target.code).toBe(1);
    expect(target.stderr).toMatch(/needs --target/);
    const threshold = await runCli(["faq", "ask", "hi", ...common, "--threshold", "7"]);
    expect(threshold.code).toBe(1);
  });

  it("counts in the singular for one question, and explains a calibration file's header (issue 19.6, 19.11)", async () => {
    const one = join(dir, "one.csv");
    await writeFile(one, "question,answer\nHow do I reset my PIN?,In the app under Card > PIN.\n");
    const store = ["--store", join(dir, "store"), "--collection", "single", "--quiet"];
    const index = await runCli(["faq", "index", one, ...store]);
    expect(index.code, index.stderr).toBe(0);
    expect(index.stdout).toMatch(/Indexed 1 question \(1 answer\) into "single"/);
    // The FAQ file itself passed to calibrate: the message asks for query,expected.
    const calibrate = await runCli(["faq", "calibrate", one, ...store]);
    expect(calibrate.code).toBe(1);
    expect(calibrate.stderr).toMatch(
      /MALFORMED_FILE.*no column "query".*e\.g\. "query,expected"; a calibration file/,
    );
  });

  it("documents every option in --help", async () => {
    const help = await runCli(["faq", "ask", "--help"]);
    expect(help.code).toBe(0);
    for (const option of [
      "--collection",
      "--store",
      "--json",
      "-k",
      "--threshold",
      "--fallback",
      "--filter",
    ]) {
      expect(help.stdout).toContain(option);
    }
  });
});
