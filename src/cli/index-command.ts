/**
 * @module cli/index-command
 * `embedkit index <collection> --file docs.jsonl`: embed a file of documents
 * into a vector collection (created on first use with the model's facts).
 * Idempotent and resumable by id: re-running skips documents already stored
 * with the same text and metadata, so an interrupted run continues where it
 * stopped. Image files (`--modality image`) get a small thumbnail stored with
 * them (metadata `_thumbnail`, see embed/media/image/thumbnail) unless
 * `--no-thumbnails`.
 */
import { createHash } from "node:crypto";
import { Command, Option } from "commander";
import type { Embedder } from "../embed/embedder.js";
import { imageThumbnail, THUMBNAIL_FIELD, THUMBNAIL_SIZE } from "../embed/media/image/thumbnail.js";
import { MEDIA_MODALITIES, type MediaModality } from "../embed/media/media-embedder.js";
import { mediaPathEmbedder } from "../embed/media/media-path-embedder.js";
import { EmbedkitError } from "../errors.js";
import { plural } from "../internal/english.js";
import { type Document, ensureCollection, indexDocuments } from "../store/documents.js";
import { openEmbedder } from "./context.js";
import { createProgressBar, parsePositiveInteger, printJson, printLine } from "./io.js";
import { openMediaEmbedder } from "./media-embed.js";
import { addMetadataOptions, type MetadataCommandOptions, metadataReading } from "./metadata-options.js";
import { addStoreOptions, type StoreCommandOptions, withVectorStore } from "./store-option.js";
import { readTextFile, type SkippedRecord, type TextRecord } from "./text-input.js";

interface IndexCommandOptions extends StoreCommandOptions, MetadataCommandOptions {
  readonly file?: string;
  readonly modality: "text" | MediaModality;
  readonly textField: string;
  readonly idField?: string;
  readonly skipErrors?: boolean;
  readonly model?: string;
  readonly batchSize: number;
  readonly json?: boolean;
  readonly quiet?: boolean;
  /** `--no-thumbnails` sets false. */
  readonly thumbnails: boolean;
}

/** Id of a record without an id field: a hash of its text, so re-indexing the same file is idempotent. */
function contentId(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** Turn file records into documents; without --id-field, identical texts collapse into one document. */
export function toDocuments(
  records: readonly TextRecord[],
  options: { idField?: string; file: string },
): Document[] {
  const documents: Document[] = [];
  const seen = new Set<string>();
  records.forEach((record, index) => {
    let id = record.id;
    if (options.idField !== undefined && (id === undefined || id === "")) {
      throw new EmbedkitError(
        "MALFORMED_FILE",
        `${options.file}: record ${index + 1} has no "${options.idField}" value; every document needs an id (or omit --id-field to use content hashes).`,
      );
    }
    if (id === undefined) {
      id = contentId(record.text);
      if (seen.has(id)) return;
    }
    seen.add(id);
    documents.push({ id, text: record.text, ...(record.metadata ? { metadata: record.metadata } : {}) });
  });
  return documents;
}

/** Media files as documents: id and text are the path (so re-indexing the same files is idempotent). */
function mediaDocuments(files: readonly string[], modality: MediaModality): Document[] {
  if (files.length === 0) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `No ${modality} files to index. Pass the file paths after the collection name.`,
    );
  }
  return [...new Set(files)].map((path) => ({ id: path, text: path, metadata: { modality } }));
}

async function readDocuments(
  files: readonly string[],
  options: IndexCommandOptions,
  skippedRows: SkippedRecord[],
): Promise<Document[]> {
  if (options.modality !== "text") {
    if (options.file !== undefined) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `--file reads text documents; with --modality ${options.modality} pass the files as arguments.`,
      );
    }
    return mediaDocuments(files, options.modality);
  }
  if (options.file === undefined || files.length > 0) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      "Text documents come from --file <path>; file arguments need --modality image|video|audio.",
    );
  }
  const records = await readTextFile(options.file, {
    textField: options.textField,
    ...(options.idField === undefined ? {} : { idField: options.idField }),
    ...metadataReading(options),
    ...(options.skipErrors
      ? { skipEmptyTexts: true, onSkipped: (skipped) => skippedRows.push(skipped) }
      : {}),
  });
  return toDocuments(records, {
    file: options.file,
    ...(options.idField === undefined ? {} : { idField: options.idField }),
  });
}

/** Each image document with its thumbnail (a data URL) in the reserved metadata field; one image at a time. */
async function withThumbnails(batch: readonly Document[]): Promise<Document[]> {
  const out: Document[] = [];
  for (const document of batch) {
    const thumbnail = await imageThumbnail(document.text);
    out.push({ ...document, metadata: { ...document.metadata, [THUMBNAIL_FIELD]: thumbnail } });
  }
  return out;
}

/** The collection's embedder: a text model, or a media model reading the documents' paths. */
async function openIndexEmbedder(model: string | undefined, options: IndexCommandOptions): Promise<Embedder> {
  const common = {
    ...(model === undefined ? {} : { model }),
    ...(options.home === undefined ? {} : { home: options.home }),
    quiet: options.quiet ?? false,
  };
  if (options.modality === "text") return openEmbedder(common);
  return mediaPathEmbedder(await openMediaEmbedder(options.modality, common));
}

async function run(
  collectionName: string,
  files: readonly string[],
  options: IndexCommandOptions,
): Promise<void> {
  const skippedRows: SkippedRecord[] = [];
  const documents = await readDocuments(files, options, skippedRows);
  await withVectorStore(options, async (store) => {
    // An existing collection decides the model; -m must then agree (checked by ensureCollection).
    const existing = (await store.listCollections()).find((collection) => collection.name === collectionName);
    const model = options.model ?? existing?.model;
    const embedder = await openIndexEmbedder(model, options);
    const bar = createProgressBar({ unit: "docs", quiet: options.quiet ?? false });
    const started = performance.now();
    try {
      const collection = await ensureCollection(store, collectionName, embedder.model);
      bar.start(documents.length, `index ${collectionName}`);
      const result = await indexDocuments(collection, embedder, documents, {
        batchSize: options.batchSize,
        ...(options.modality === "image" && options.thumbnails ? { prepare: withThumbnails } : {}),
        onProgress: (progress) => bar.update(progress.done),
      });
      bar.stop();
      const count = await collection.count();
      const seconds = (performance.now() - started) / 1000;
      if (options.json) {
        printJson({
          collection: collectionName,
          model: embedder.model.id,
          store: store.location,
          ...result,
          ...(options.skipErrors ? { leftOut: skippedRows } : {}),
          count,
          seconds,
        });
      } else {
        printLine(
          `Indexed ${result.total} documents into "${collectionName}" (${embedder.model.id}): ` +
            `${result.embedded} embedded, ${result.skipped} unchanged; ${count} in the collection (${seconds.toFixed(1)} s).`,
        );
        if (skippedRows.length > 0) {
          const shown = skippedRows.slice(0, 10).map((row) => `line ${row.line} (${row.reason})`);
          const more = skippedRows.length > 10 ? `, and ${skippedRows.length - 10} more (see --json)` : "";
          printLine(`Left out ${plural(skippedRows.length, "row")}: ${shown.join(", ")}${more}.`);
        }
      }
    } finally {
      bar.stop();
      await embedder.close();
    }
  });
}

/** Build the `index` command. */
export function indexCommand(): Command {
  return addStoreOptions(
    addMetadataOptions(new Command("index"))
      .description(
        "Embed the documents of a file into a vector collection (created on first use). Idempotent and resumable by id.",
      )
      .argument("<collection>", "collection name (letters, digits, _ and -)")
      .argument("[files...]", "with --modality image|video|audio: the media files to index (id = path)")
      .option(
        "-f, --file <path>",
        "text documents: .jsonl, .csv/.tsv (header row) or .txt (one document per line)",
      )
      .addOption(
        new Option("--modality <modality>", "what is indexed: text documents from --file, or media files")
          .choices(["text", ...MEDIA_MODALITIES])
          .default("text"),
      )
      .option("--text-field <name>", "field/column holding the text to embed", "text")
      .option(
        "--id-field <name>",
        "field/column holding a unique id (default: a hash of the text, so identical texts are stored once)",
      )
      .option("--skip-errors", "leave out rows with an empty text (listed in the summary) instead of failing")
      .option(
        "-m, --model <id>",
        "embedding model for a new collection (default: all-minilm-l6-v2); an existing collection keeps its own",
      )
      .option("--batch-size <n>", "documents embedded and written per step", parsePositiveInteger, 64)
      .option(
        "--no-thumbnails",
        `image collections: store no thumbnail (by default each image's ${THUMBNAIL_SIZE}-pixel WebP preview is kept in metadata.${THUMBNAIL_FIELD}, shown by the dashboard)`,
      )
      .option("--json", "print a JSON summary")
      .option("-q, --quiet", "no progress bars"),
  )
    .addHelpText(
      "after",
      `
Examples:
  embedkit index docs --file docs.jsonl --id-field id --metadata-fields lang,category
  embedkit index books --file books.csv --metadata-fields year,isbn --metadata-types isbn=string
  embedkit search books "space opera" --filter 'year>=1990'
  embedkit index faq-zh --file faq.csv --text-field question -m bge-small-zh-v1.5
  embedkit index docs --file docs.jsonl --store postgres://app:secret@127.0.0.1/app
  embedkit index photos --modality image photos/*.jpg           # image collection (MobileNetV2), with thumbnails
  embedkit index photos --modality image --no-thumbnails photos/*.jpg   # vectors and paths only
  embedkit search photos --example query.jpg -k 5               # search by example file
  embedkit index sounds --modality audio -m clap:dir:./clap sounds/*.wav   # CLAP: search it by text`,
    )
    .action(async (collection: string, files: string[], options: IndexCommandOptions) => {
      await run(collection, files, options);
    });
}
