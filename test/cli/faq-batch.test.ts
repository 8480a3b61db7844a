/**
 * Batch FAQ use, in-process on a real model and a temporary embedded store:
 * `faq ask --file` (rows joined back with --keep-fields, CSV and JSONL out) and
 * `faq evaluate` (scores at the stored threshold and changes nothing).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/faq");
const PIN_ANSWER = "Open the app, go to Cards > PIN and choose Reset PIN.";
let dir: string;
let common: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-cli-faq-batch-"));
  common = ["--store", join(dir, "store"), "--collection", "support", "--quiet"];
  const index = await runCli(["faq", "index", join(FIXTURES, "faq-en.csv"), ...common]);
  expect(index.code, index.stderr).toBe(0);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function settings(): Promise<{ threshold: number | null; thresholdSource: string; updatedAt: string }> {
  const run = await runCli(["faq", "settings", ...common, "--json"]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

describe("faq ask --file", () => {
  it("answers every row of a CSV and keeps the requested columns (CSV out)", async () => {
    const questions = join(dir, "questions.csv");
    await writeFile(
      questions,
      [
        "ticket_id,text,channel",
        "T-1,I forgot the PIN of my card,app",
        'T-2,"Hi, what\'s a good pizza recipe?",mail',
        "T-3,How do I wire money to another country?,app",
      ].join("\n"),
    );
    const out = join(dir, "replies.csv");
    const run = await runCli([
      "faq",
      "ask",
      "--file",
      questions,
      "--question-column",
      "text",
      "--keep-fields",
      "ticket_id",
      "--threshold",
      "0.75",
      "--out",
      out,
      ...common,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const rows = parseCsv(await readFile(out, "utf8"), { columns: true }) as Record<string, string>[];
    expect(rows.map((row) => row.ticket_id)).toEqual(["T-1", "T-2", "T-3"]);
    expect(Object.keys(rows[0] as object)).toEqual([
      "index",
      "ticket_id",
      "question",
      "answered",
      "reply",
      "confidence",
      "threshold",
      "answer_id",
      "matched_question",
      "category",
    ]);
    expect(rows[0]).toMatchObject({
      answered: "true",
      reply: PIN_ANSWER,
      category: "cards",
      threshold: "0.75",
    });
    expect(rows[1]?.answered).toBe("false");
    expect(rows[2]?.reply).toMatch(/International transfer/);
  });

  it("JSONL on stdout by default with --file (alternatives included); bad combinations are refused", async () => {
    const questions = join(dir, "questions.txt");
    await writeFile(questions, "When will my new card come?\nHow can I open a savings account?\n");
    const run = await runCli(["faq", "ask", "--file", questions, "-k", "2", ...common]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ index: 1, question: "How can I open a savings account?" });
    expect(lines[1].alternatives).toHaveLength(2);

    const both = await runCli(["faq", "ask", "--file", questions, "a question", ...common]);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/arguments or in --file, not both/);
    const none = await runCli(["faq", "ask", ...common]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/No questions/);
    const column = await runCli([
      "faq",
      "ask",
      "--file",
      join(FIXTURES, "calibration-en.csv"),
      "--keep-fields",
      "ticket",
      ...common,
    ]);
    expect(column.code).toBe(1);
    expect(column.stderr).toMatch(/no field "ticket" to keep\. Its columns: query, expected/);
  });
});

describe("faq evaluate", () => {
  it("scores at the stored threshold and changes nothing; --threshold matches calibrate's own numbers", async () => {
    const before = await settings();
    const run = await runCli(["faq", "evaluate", join(FIXTURES, "calibration-en.csv"), ...common, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as {
      threshold: number;
      thresholdSource: string;
      questions: number;
      unanswerable: number;
      point: { accuracy: number; coverage: number; precision: number; outOfScopeRecall: number };
    };
    expect(result).toMatchObject({ threshold: before.threshold, questions: 6, unanswerable: 3 });
    expect(result.thresholdSource).toBe(before.thresholdSource);
    for (const value of Object.values(result.point)) expect(Number.isFinite(value)).toBe(true);
    expect(await settings()).toEqual(before);

    const calibrated = await runCli([
      "faq",
      "calibrate",
      join(FIXTURES, "calibration-en.csv"),
      "--no-save",
      ...common,
      "--json",
    ]);
    expect(calibrated.code, calibrated.stderr).toBe(0);
    const calibration = JSON.parse(calibrated.stdout) as { threshold: number; point: object };
    const at = await runCli([
      "faq",
      "evaluate",
      join(FIXTURES, "calibration-en.csv"),
      "--threshold",
      String(calibration.threshold),
      ...common,
      "--json",
    ]);
    expect(at.code, at.stderr).toBe(0);
    const atResult = JSON.parse(at.stdout) as { thresholdSource: string; point: object };
    expect(atResult.thresholdSource).toBe("given");
    expect(atResult.point).toEqual(calibration.point);

    const always = await runCli([
      "faq",
      "evaluate",
      join(FIXTURES, "calibration-en.csv"),
      "--threshold",
      "none",
      ...common,
    ]);
    expect(always.code, always.stderr).toBe(0);
    expect(always.stdout).toMatch(/6 labelled questions \(3 without an answer\) at no threshold/);
    expect(always.stdout).toMatch(/accuracy 50\.0 %, coverage 100\.0 %/);
    expect(await settings()).toEqual(before);
  });

  it("refuses an expected answer the FAQ does not have, and a file without query,expected", async () => {
    const wrong = join(dir, "wrong.csv");
    await writeFile(wrong, "query,expected\nwhere is my card,Call us on Sundays.\n");
    const run = await runCli(["faq", "evaluate", wrong, ...common]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/INVALID_INPUT.*expects an answer the FAQ does not have/);
    const header = await runCli(["faq", "evaluate", join(FIXTURES, "faq-en.csv"), ...common]);
    expect(header.code).toBe(1);
    expect(header.stderr).toMatch(/query/);
  });
});
