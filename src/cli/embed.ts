/**
 * @module cli/embed
 * `embedkit embed`: texts from arguments, stdin or a file → vectors as JSONL,
 * CSV or NumPy .npy, in input order; with `--modality image|video|audio` the
 * arguments are media files instead (see `media-embed.ts`). Output is written
 * to a temporary file and renamed into place, so a failure never leaves a
 * partial output file.
 */
import { extname } from "node:path";
import { Command, Option } from "commander";
import type { InputType } from "../embed/embedder.js";
import { validateTexts } from "../embed/inputs.js";
import { MEDIA_MODALITIES, type MediaModality } from "../embed/media/media-embedder.js";
import { EmbedkitError } from "../errors.js";
import { writeFileAtomic } from "../internal/atomic-write.js";
import { plural } from "../internal/english.js";
import { encodeNpy } from "../vectors/npy.js";
import { PRECISIONS, type Precision } from "../vectors/quantize.js";
import { openEmbedder } from "./context.js";
import { createProgressBar, parseNonNegativeNumber, parsePositiveInteger, printJson } from "./io.js";
import { embedMediaFiles } from "./media-embed.js";
import { addKeepFieldOptions, joinRow, keptFieldsOf, renderRows } from "./row-output.js";
import { readTextRecords, type TextRecord } from "./text-input.js";

type OutputFormat = "jsonl" | "csv" | "npy";

interface EmbedCommandOptions {
  readonly model?: string;
  readonly home?: string;
  readonly file?: string;
  readonly out?: string;
  readonly format?: OutputFormat;
  readonly textField: string;
  readonly idField?: string;
  readonly inputType: InputType;
  readonly dimensions?: number;
  readonly precision: Precision;
  readonly truncate: boolean;
  readonly includeText?: boolean;
  readonly keepFields?: string;
  readonly keepAll?: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly modality: "text" | MediaModality;
  readonly maxDuration?: number;
  readonly maxBytes?: number;
  readonly maxPixels?: number;
  readonly fps?: number;
  readonly pooling?: "mean" | "max";
  readonly skipErrors?: boolean;
}

/** Output formats by `--out` extension (without `--format`, any other extension is refused). */
const OUTPUT_EXTENSIONS: Readonly<Record<string, OutputFormat>> = Object.freeze({
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".csv": "csv",
  ".npy": "npy",
});

function outputFormat(options: EmbedCommandOptions): OutputFormat {
  if (options.format) return options.format;
  if (!options.out) return "jsonl";
  const extension = extname(options.out).toLowerCase();
  const format = OUTPUT_EXTENSIONS[extension];
  if (format === undefined) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `--out ${options.out}: ${extension === "" ? "no extension" : `"${extension}" is not an output format`}; ` +
        `use ${Object.keys(OUTPUT_EXTENSIONS).join(", ")} (or name the format with --format jsonl|csv|npy).`,
      { details: { param: "--out", extension, supported: Object.keys(OUTPUT_EXTENSIONS) } },
    );
  }
  return format;
}

/** Embed in chunks so the progress bar moves on big files. */
const CHUNK = 256;

async function run(texts: readonly string[], options: EmbedCommandOptions): Promise<void> {
  const keepFields = keptFieldsOf(options);
  if (options.modality !== "text") {
    await runMedia(options.modality, texts, options);
    return;
  }
  if (keepFields !== undefined && outputFormat(options) === "npy") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "--keep-fields/--keep-all need jsonl or csv output; a .npy file holds only the vectors (rows in input order).",
    );
  }
  const skipped: { line: number; reason: string }[] = [];
  const records = await readTextRecords(texts, {
    ...options,
    keepFields,
    ...(options.skipErrors ? { skipEmptyTexts: true, onSkipped: (row) => skipped.push(row) } : {}),
  });
  if (records.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      "No texts to embed. Pass texts as arguments, pipe them on stdin (one per line), or use --file.",
    );
  }
  const format = outputFormat(options);
  if (format === "npy" && !options.out) {
    throw new EmbedkitError("INVALID_OPTION", "--format npy needs --out <file.npy> (binary output).");
  }
  if (format === "npy" && options.precision === "binary") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "--precision binary cannot be written as .npy; use jsonl or csv.",
    );
  }
  const embedder = await openEmbedder(options);
  const bar = createProgressBar({ unit: "texts", quiet: options.quiet ?? false });
  const started = performance.now();
  try {
    const vectors: (Float32Array | Int8Array | Uint8Array)[] = [];
    let tokens = 0;
    bar.start(records.length, `embed ${embedder.model.id}`);
    // Validate everything before the first batch (bad input changes nothing).
    const allTexts = records.map((record) => record.text);
    validateTexts(allTexts);
    for (let start = 0; start < allTexts.length; start += CHUNK) {
      const result = await embedder.embed(allTexts.slice(start, start + CHUNK), {
        inputType: options.inputType,
        truncate: options.truncate,
        precision: options.precision,
        ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions }),
      });
      vectors.push(...result.vectors);
      tokens += result.usage.tokens;
      bar.update(Math.min(start + CHUNK, allTexts.length));
    }
    bar.stop();
    await writeOutput(render(format, records, vectors, options), options);
    const sidecar = await reportSkipped(skipped, "row", options);
    if (options.json && options.out) {
      printJson({
        model: embedder.model.id,
        count: vectors.length,
        dims: vectors[0]?.length ?? 0,
        ...(options.skipErrors ? { skipped, skippedFile: sidecar } : {}),
        tokens,
        out: options.out,
        format,
        seconds: (performance.now() - started) / 1000,
      });
    }
  } finally {
    bar.stop();
    await embedder.close();
  }
}

/** Write to `--out` atomically (temp file + rename), or to stdout. */
async function writeOutput(body: Buffer | string, options: EmbedCommandOptions): Promise<void> {
  if (!options.out) {
    process.stdout.write(body);
    return;
  }
  await writeFileAtomic(options.out, body, { hint: "Check the --out path." });
}

/**
 * `--skip-errors`: say on stderr what was left out (the first few, with reasons) and, with
 * `--out`, write every one as JSON lines to `<out>.skipped.jsonl`. Returns that file's path.
 */
async function reportSkipped(
  skipped: readonly ({ readonly reason: string } & ({ readonly line: number } | { readonly file: string }))[],
  noun: "row" | "file",
  options: EmbedCommandOptions,
): Promise<string | undefined> {
  if (skipped.length === 0) return undefined;
  const sidecar = options.out === undefined ? undefined : `${options.out}.skipped.jsonl`;
  if (sidecar !== undefined) {
    await writeFileAtomic(sidecar, `${skipped.map((entry) => JSON.stringify(entry)).join("\n")}\n`, {
      hint: "Check the --out path.",
    });
  }
  const shown = skipped
    .slice(0, 5)
    .map((entry) => `  ${"line" in entry ? `line ${entry.line}` : entry.file}: ${entry.reason}`);
  const more = skipped.length > 5 ? [`  … and ${skipped.length - 5} more`] : [];
  process.stderr.write(
    `Skipped ${plural(skipped.length, noun)}${sidecar === undefined ? "" : ` (all listed in ${sidecar})`}:\n` +
      `${[...shown, ...more].join("\n")}\n`,
  );
  return sidecar;
}

/** `--modality image|video|audio`: the arguments are files; each output row carries its path as `id`. */
async function runMedia(
  modality: MediaModality,
  paths: readonly string[],
  options: EmbedCommandOptions,
): Promise<void> {
  const format = outputFormat(options);
  if (format === "npy" && !options.out) {
    throw new EmbedkitError("INVALID_OPTION", "--format npy needs --out <file.npy> (binary output).");
  }
  if (options.file !== undefined) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `--file reads texts; with --modality ${modality} pass the ${modality} files as arguments (or their paths on stdin).`,
    );
  }
  const started = performance.now();
  const result = await embedMediaFiles(modality, paths, options);
  const records = result.files.map((file) => ({ text: file, id: file }));
  await writeOutput(render(format, records, result.vectors, { ...options, idField: "file" }), options);
  const sidecar = await reportSkipped(result.skipped, "file", options);
  if (options.json && options.out) {
    printJson({
      model: result.model,
      modality,
      count: result.vectors.length,
      dims: result.vectors[0]?.length ?? 0,
      ...(options.skipErrors ? { skipped: result.skipped, skippedFile: sidecar } : {}),
      ...(modality === "image" ? {} : { mediaSeconds: result.seconds }),
      out: options.out,
      format,
      seconds: (performance.now() - started) / 1000,
    });
  }
}

function render(
  format: OutputFormat,
  records: readonly TextRecord[],
  vectors: readonly (Float32Array | Int8Array | Uint8Array)[],
  options: EmbedCommandOptions,
): Buffer | string {
  if (format === "npy") return encodeNpy(vectors);
  if (records.some((record) => record.fields !== undefined))
    return renderKept(format, records, vectors, options);
  if (format === "csv") {
    const width = vectors[0]?.length ?? 0;
    const header = [
      "index",
      ...(options.idField ? ["id"] : []),
      ...Array.from({ length: width }, (_, i) => `e${i}`),
    ];
    const lines = vectors.map((vector, index) => {
      const id = records[index]?.id;
      const idCell = options.idField ? [`"${String(id ?? "").replace(/"/g, '""')}"`] : [];
      return [String(index), ...idCell, ...Array.from(vector, String)].join(",");
    });
    return `${header.join(",")}\n${lines.join("\n")}\n`;
  }
  return vectors
    .map((vector, index) => {
      const record = records[index] as TextRecord;
      return JSON.stringify({
        index,
        ...(record.id === undefined ? {} : { id: record.id }),
        ...(options.includeText ? { text: record.text } : {}),
        embedding: Array.from(vector),
      });
    })
    .join("\n")
    .concat("\n");
}

/** Rows with the kept input columns (--keep-fields/--keep-all): index, kept columns, id, [text,] vector. */
function renderKept(
  format: "jsonl" | "csv",
  records: readonly TextRecord[],
  vectors: readonly (Float32Array | Int8Array | Uint8Array)[],
  options: EmbedCommandOptions,
): string {
  const rows = vectors.map((vector, index) => {
    const record = records[index] as TextRecord;
    const own: Record<string, unknown> = {
      ...(record.id === undefined ? {} : { id: record.id }),
      ...(options.includeText ? { text: record.text } : {}),
    };
    if (format === "jsonl") own.embedding = Array.from(vector);
    else
      vector.forEach((value, i) => {
        own[`e${i}`] = value;
      });
    return joinRow(index, record.fields, own);
  });
  return renderRows(rows, format);
}

/** Build the `embed` command. */
export function embedCommand(): Command {
  return addKeepFieldOptions(new Command("embed"))
    .description(
      "Embed texts (arguments, stdin lines, or --file) — or image/video/audio files with --modality — and write vectors as JSONL, CSV or .npy.",
    )
    .argument(
      "[inputs...]",
      "texts to embed (omit to read --file or stdin); file paths with --modality image|video|audio",
    )
    .addOption(
      new Option("--modality <modality>", "what the inputs are: text, or paths of image/video/audio files")
        .choices(["text", ...MEDIA_MODALITIES])
        .default("text"),
    )
    .option(
      "-m, --model <id>",
      "model id or alias (see `embedkit models list`); image/video: mobilenet-v2-nsfwjs (default), clip:dir:/path, " +
        "clip:hf:owner/name; audio: resemblyzer-ge2e (default, who speaks), speech-embedding (what is said), mfcc-stats, wav2vec2:dir:/path, wav2vec2:hf:owner/name, " +
        "clap:dir:/path, clap:hf:owner/name (a CLAP model embeds audio with --modality audio and text without)",
    )
    .option("-f, --file <path>", "input file: .txt (one text per line), .jsonl or .csv/.tsv")
    .option("-o, --out <path>", "output file (.jsonl, .csv or .npy); default: JSONL on stdout")
    .addOption(
      new Option("--format <format>", "output format (default: from --out extension)").choices([
        "jsonl",
        "csv",
        "npy",
      ]),
    )
    .option("--text-field <name>", "text field/column in .jsonl/.csv input", "text")
    .option("--id-field <name>", "id field/column copied to the output")
    .addOption(
      new Option("--input-type <type>", "apply the model's query/passage prefix")
        .choices(["query", "passage", "none"])
        .default("none"),
    )
    .option("--dimensions <n>", "keep the first n dimensions and re-normalize", parsePositiveInteger)
    .addOption(
      new Option("--precision <precision>", "output precision").choices([...PRECISIONS]).default("float32"),
    )
    .option("--no-truncate", "fail on inputs longer than the model's limit instead of truncating")
    .option("--include-text", "add the input text to each JSONL line")
    .option(
      "--skip-errors",
      "leave out empty text rows / media files the model refuses (e.g. no face) instead of failing; listed on stderr and in <out>.skipped.jsonl",
    )
    .option("--json", "print a JSON summary (with --out)")
    .option("-q, --quiet", "no progress bars")
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)")
    .option(
      "--max-duration <seconds>",
      "audio/video: refuse inputs longer than this (default 600 for audio)",
      parseNonNegativeNumber,
    )
    .option(
      "--max-bytes <n>",
      "media: refuse files larger than n bytes (default 104857600)",
      parsePositiveInteger,
    )
    .option(
      "--max-pixels <n>",
      "image/video: refuse images or frames over n pixels, checked from the header before decoding (default 67108864)",
      parsePositiveInteger,
    )
    .option("--fps <n>", "video: frames sampled per second (default 1)", parseNonNegativeNumber)
    .addOption(
      new Option("--pooling <pooling>", "video: how frame vectors become one vector (default mean)").choices([
        "mean",
        "max",
      ]),
    )
    .addHelpText(
      "after",
      `
Examples:
  embedkit embed "hello world"
  embedkit embed --file texts.txt --out vectors.jsonl
  embedkit embed --file products.csv --text-field description --keep-fields sku,price --out vectors.csv
  cat texts.txt | embedkit embed -m bge-small-zh-v1.5 --out vectors.npy
  embedkit embed -m e5-small-v2 --input-type query "how do I reset my password?"
  embedkit embed --modality image photos/*.jpg --out photos.jsonl
  embedkit embed --modality image -m face --skip-errors team/*.jpg --out faces.jsonl   # faceless photos skipped
  embedkit embed --modality video --fps 2 --pooling max clip.mp4 --out clips.npy
  embedkit embed --modality image -m clip:dir:./clip-vit-base-patch32 cat.png
  embedkit embed --modality audio speech.wav call.mp3 --out speakers.jsonl
  embedkit embed --modality audio -m mfcc-stats --max-duration 30 clips/*.flac
  embedkit embed --modality audio -m speech-embedding yes.wav no.wav --out words.jsonl
  embedkit embed --modality audio -m clap:dir:./clap-htsat-unfused dog.wav rain.flac
  embedkit embed -m clap:dir:./clap-htsat-unfused "a dog barking"`,
    )
    .action(async (texts: string[], options: EmbedCommandOptions) => {
      await run(texts, options);
    });
}
