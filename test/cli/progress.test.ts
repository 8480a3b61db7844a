/**
 * Progress output of the CLI: line-based model-pull progress when stderr is not a terminal
 * (issue 19.9) and the progress bar's ETA text when the rate is unknown (issue 19.11).
 */
import cliProgress from "cli-progress";
import { describe, expect, it } from "vitest";
import { createLinePullProgress } from "../../src/cli/context.js";
import { formatEta } from "../../src/cli/io.js";

describe("line-based pull progress", () => {
  it("prints start, every 10 % and done for a download, and one line for a verified file", () => {
    const lines: string[] = [];
    const display = createLinePullProgress((line) => lines.push(line));
    const total = 86_200_000;
    // The events a pull emits: many small download chunks, then an extract and a verify step.
    for (let received = 0; received <= total; received += 1_000_000) {
      display.onProgress({
        model: "m",
        phase: "download",
        file: "m.jar",
        receivedBytes: received,
        totalBytes: total,
      });
    }
    display.onProgress({
      model: "m",
      phase: "download",
      file: "m.jar",
      receivedBytes: total,
      totalBytes: total,
    });
    display.onProgress({ model: "m", phase: "extract", file: "m.jar", receivedBytes: 0, totalBytes: 90e6 });
    display.onProgress({
      model: "m",
      phase: "extract",
      file: "m.jar",
      receivedBytes: 90e6,
      totalBytes: 90e6,
    });
    display.onProgress({
      model: "m",
      phase: "verify",
      file: "model.onnx",
      receivedBytes: 90e6,
      totalBytes: 90e6,
    });
    display.stop();
    expect(lines[0]).toBe("m: download m.jar started (86.2 MB)");
    const percents = lines.filter((line) => / \d+% /.test(line));
    // One line per 10 % step passed (the share when the step is passed: 10, 20, …, 51, …).
    expect(percents.map((line) => Math.floor(Number(line.match(/ (\d+)% /)?.[1]) / 10))).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(percents[0]).toMatch(/^m: download m\.jar 10% \([\d.]+ MB of 86\.2 MB\)$/);
    expect(lines.slice(-4)).toEqual([
      "m: download m.jar done (86.2 MB)",
      "m: extract m.jar started (90.0 MB)",
      "m: extract m.jar done (90.0 MB)",
      "m: verify model.onnx done (90.0 MB)",
    ]);
    expect(lines).toHaveLength(14);
  });

  it("prints every 10 MB when the size is unknown", () => {
    const lines: string[] = [];
    const display = createLinePullProgress((line) => lines.push(line));
    for (let received = 0; received <= 25e6; received += 1e6) {
      display.onProgress({ model: "m", phase: "download", file: "f.bin", receivedBytes: received });
    }
    expect(lines).toEqual([
      "m: download f.bin started",
      "m: download f.bin 10.0 MB",
      "m: download f.bin 20.0 MB",
    ]);
  });
});

describe("progress bar ETA", () => {
  it("says -- instead of a cut-off INF/NULL, and formats known times as cli-progress does", () => {
    const options = { autopaddingChar: "0" } as cliProgress.Options;
    expect(formatEta("INF", options, 5)).toBe("--");
    expect(formatEta("NULL", options, 5)).toBe("--");
    expect(formatEta(Number.POSITIVE_INFINITY, options, 5)).toBe("--");
    expect(formatEta(42, options, 5)).toBe(cliProgress.Format.TimeFormat(42, options, 5));
    expect(formatEta(42, options, 5)).toBe("40s");
  });
});
