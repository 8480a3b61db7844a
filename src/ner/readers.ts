/**
 * @module ner/readers
 * Readers for labelled NER data: the CoNLL-2003 column format (`token POS
 * chunk NER`, blank lines between sentences, `-DOCSTART-` lines between
 * documents; the tag is the last column) and the Chinese character-per-line
 * format (`char<TAB>tag`, as in MSRA). Files are checked line by line: ragged
 * columns, tags outside the scheme, entity types outside an allowed list and
 * (by policy) an `I-` that continues nothing are reported as MALFORMED_FILE
 * with the 1-based line number in `details.line`.
 */
import { EmbedkitError } from "../errors.js";
import { readFileText } from "../internal/read-file.js";
import { createRandom } from "../vectors/random.js";
import { convertTags, isAllowedTransition, type ParsedTag, parseTag, type TagScheme } from "./tag-scheme.js";

/** Labelled data formats the readers understand. */
export const TAGGED_FORMATS = Object.freeze(["conll", "bio"] as const);

/** `conll` (whitespace-separated columns, tag last) or `bio` (`char<TAB>tag`). */
export type TaggedFormat = (typeof TAGGED_FORMATS)[number];

/** The format given, else the file's by its extension: `.bio` → bio, anything else conll. */
export function taggedFormatOf(path: string, format?: TaggedFormat): TaggedFormat {
  if (format !== undefined) return format;
  return path.toLowerCase().endsWith(".bio") ? "bio" : "conll";
}

/** One labelled sentence. */
export interface TaggedSentence {
  /** Tokens (CoNLL) or characters (bio), in order. */
  readonly words: readonly string[];
  /** One tag per word, in the reader's `scheme`. */
  readonly tags: readonly string[];
  /** 1-based line of the sentence's first word in the source. */
  readonly line: number;
}

/** A labelled corpus read from one source. */
export interface TaggedCorpus {
  readonly sentences: readonly TaggedSentence[];
  /** Entity types seen, sorted. */
  readonly types: readonly string[];
  /** Lines whose tag was repaired (an `I-X` that continued nothing became `B-X`). */
  readonly repairedLines: readonly number[];
  readonly scheme: TagScheme;
}

/** Options of {@link parseTagged} and {@link readTaggedFile}. */
export interface ReadTaggedOptions {
  /** File format. @default "conll" */
  readonly format?: TaggedFormat;
  /** Scheme the file's tags use. @default "bio" */
  readonly scheme?: TagScheme;
  /** Entity types allowed; any other type is an error. @default any type */
  readonly types?: readonly string[];
  /**
   * What to do with a tag that may not follow the one before it (under BIO an
   * `I-X` after `O` or after another type): `repair` reads it as the start of
   * an entity (conlleval's reading; the line is listed in `repairedLines`),
   * `error` rejects the file.
   * @default "repair"
   */
  readonly invalidTransitions?: "repair" | "error";
  /** Name of the source in error messages. @default "input" */
  readonly source?: string;
}

function malformed(source: string, line: number, problem: string, fix: string): EmbedkitError {
  return new EmbedkitError("MALFORMED_FILE", `${source}:${line}: ${problem} ${fix}`, {
    details: { path: source, line },
  });
}

/**
 * Parse labelled sentences from text.
 * @throws EmbedkitError MALFORMED_FILE with `details.line` for ragged columns,
 *   unknown tags or types, and (with `invalidTransitions: "error"`) ill-formed sequences;
 *   INVALID_OPTION for an unknown format or scheme
 */
export function parseTagged(text: string, options: ReadTaggedOptions = {}): TaggedCorpus {
  const format = options.format ?? "conll";
  const scheme = options.scheme ?? "bio";
  const source = options.source ?? "input";
  if (!(TAGGED_FORMATS as readonly string[]).includes(format)) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `format must be one of ${TAGGED_FORMATS.join(", ")}, received ${JSON.stringify(format)}.`,
      { details: { option: "format" } },
    );
  }
  if (scheme !== "bio" && scheme !== "bioes") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `scheme must be "bio" or "bioes", received ${JSON.stringify(scheme)}.`,
      {
        details: { option: "scheme" },
      },
    );
  }
  const allowedTypes = options.types === undefined ? undefined : new Set(options.types);
  const policy = options.invalidTransitions ?? "repair";
  const sentences: TaggedSentence[] = [];
  const types = new Set<string>();
  const repairedLines: number[] = [];
  let words: string[] = [];
  let tags: string[] = [];
  let parsed: ParsedTag[] = [];
  let lines: number[] = [];
  let columns: { count: number; line: number } | undefined;

  let needsRepair = false;

  const flush = (): void => {
    if (words.length === 0) return;
    // Under BIOES a sentence may not end inside an entity (after B- or I-).
    const last = parsed.at(-1);
    if (scheme === "bioes" && last !== undefined && (last.prefix === "B" || last.prefix === "I")) {
      const line = lines.at(-1) as number;
      if (policy === "error") {
        throw malformed(
          source,
          line,
          `the sentence ends inside an entity (last tag ${tags.at(-1)}); under BIOES an entity ends with E- or S-.`,
          'Fix the tag, or pass invalidTransitions: "repair" (CLI: --repair) to read it leniently.',
        );
      }
      repairedLines.push(line);
      needsRepair = true;
    }
    // BIOES repairs go through spans, so the sentence comes out well-formed.
    if (needsRepair && scheme === "bioes") tags = convertTags(tags, "bioes", "bioes");
    sentences.push({ words, tags, line: lines[0] as number });
    words = [];
    tags = [];
    parsed = [];
    lines = [];
    needsRepair = false;
  };

  const rows = text.split("\n");
  // A trailing newline leaves one empty string that is not a line of the file.
  if (rows.at(-1) === "") rows.pop();
  rows.forEach((raw, index) => {
    const line = index + 1;
    const row = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (row.trim() === "") {
      flush();
      return;
    }
    let fields: string[];
    if (format === "bio") {
      fields = row.split("\t");
      if (fields.length !== 2 || fields[0] === "" || fields[1] === "") {
        throw malformed(
          source,
          line,
          `expected 2 tab-separated fields (character<TAB>tag), received ${fields.length} ${fields.length === 1 ? "field" : "fields"}: ${JSON.stringify(row)}.`,
          "Each non-blank line holds one character and its tag separated by one tab.",
        );
      }
    } else {
      fields = row.trim().split(/\s+/);
      if (fields[0] === "-DOCSTART-") {
        flush();
        return;
      }
      if (fields.length < 2) {
        throw malformed(
          source,
          line,
          `expected at least 2 columns (token … tag), received 1: ${JSON.stringify(row)}.`,
          "CoNLL lines are `token POS chunk NER`, whitespace-separated, with the tag last.",
        );
      }
      if (columns === undefined) {
        columns = { count: fields.length, line };
      } else if (fields.length !== columns.count) {
        throw malformed(
          source,
          line,
          `expected ${columns.count} columns like line ${columns.line}, received ${fields.length}: ${JSON.stringify(row)}.`,
          "Every token line of a CoNLL file needs the same columns (token POS chunk NER); a token containing a space must be written without it.",
        );
      }
    }
    const word = fields[0] as string;
    const tag = fields.at(-1) as string;
    const tagParsed = parseTag(tag, scheme);
    if (tagParsed === undefined) {
      throw malformed(
        source,
        line,
        `unknown tag ${JSON.stringify(tag)}: expected "O" or ${scheme === "bio" ? "B-/I-" : "B-/I-/E-/S-"}<TYPE> (scheme ${scheme}).`,
        scheme === "bio" && /^[ES]-/.test(tag)
          ? "The file looks like BIOES: read it with scheme bioes (CLI: --scheme bioes)."
          : "Fix the tag; tags are case-sensitive and use a hyphen.",
      );
    }
    if (tagParsed.prefix !== "O" && allowedTypes !== undefined && !allowedTypes.has(tagParsed.type)) {
      throw malformed(
        source,
        line,
        `unknown entity type ${JSON.stringify(tagParsed.type)} in tag ${JSON.stringify(tag)}; expected one of ${[...allowedTypes].sort().join(", ")}.`,
        "Fix the tag, or allow the type.",
      );
    }
    let finalTag = tag;
    let finalParsed: ParsedTag = tagParsed;
    if (!isAllowedTransition(parsed.at(-1), tagParsed, scheme)) {
      const previous = tags.at(-1) ?? "(sentence start)";
      if (policy === "error") {
        throw malformed(
          source,
          line,
          `tag ${tag} cannot follow ${previous}: ${scheme === "bio" ? "an I- tag must continue a B- or I- of the same type" : "BIOES entities run B- I-* E- or are a single S-"}.`,
          'Fix the tag, or pass invalidTransitions: "repair" (CLI: --repair) to read it as the start of an entity.',
        );
      }
      repairedLines.push(line);
      needsRepair = true;
      if (scheme === "bio") {
        finalTag = `B-${tagParsed.type}`;
        finalParsed = { prefix: "B", type: tagParsed.type };
      }
    }
    if (finalParsed.prefix !== "O") types.add(finalParsed.type);
    words.push(word);
    tags.push(finalTag);
    parsed.push(finalParsed);
    lines.push(line);
  });
  flush();
  return { sentences, types: [...types].sort(), repairedLines, scheme };
}

/**
 * Read a labelled file (CoNLL or character-per-line BIO).
 * @throws EmbedkitError FILE_NOT_FOUND, MALFORMED_FILE (with `details.line`)
 * @example
 * ```ts
 * const train = await readTaggedFile("train.txt", { format: "conll" });
 * train.sentences[0]; // { words: ["EU", "rejects", …], tags: ["B-ORG", "O", …], line: 3 }
 * ```
 */
export async function readTaggedFile(path: string, options: ReadTaggedOptions = {}): Promise<TaggedCorpus> {
  const text = await readFileText(path);
  return parseTagged(text, { ...options, source: options.source ?? path });
}

/**
 * Join corpora read from several files (e.g. the four MSRA parts) into one,
 * keeping sentence order.
 * @throws EmbedkitError INVALID_INPUT when the corpora use different schemes
 */
export function concatCorpora(corpora: readonly TaggedCorpus[]): TaggedCorpus {
  const scheme = corpora[0]?.scheme ?? "bio";
  if (corpora.some((corpus) => corpus.scheme !== scheme)) {
    throw new EmbedkitError("INVALID_INPUT", "All files of one corpus must use the same tagging scheme.");
  }
  return {
    sentences: corpora.flatMap((corpus) => corpus.sentences),
    types: [...new Set(corpora.flatMap((corpus) => corpus.types))].sort(),
    repairedLines: corpora.flatMap((corpus) => corpus.repairedLines),
    scheme,
  };
}

/**
 * A subset of a corpus' sentences (types are recomputed; scheme kept).
 */
export function selectSentences(corpus: TaggedCorpus, sentences: readonly TaggedSentence[]): TaggedCorpus {
  const types = new Set<string>();
  for (const sentence of sentences) {
    for (const tag of sentence.tags) if (tag !== "O") types.add(tag.slice(2));
  }
  return { sentences, types: [...types].sort(), repairedLines: [], scheme: corpus.scheme };
}

/** Options of {@link splitCorpus}. */
export interface SplitCorpusOptions {
  /** Hold out the last N sentences as validation (never trained on). @default 0 */
  readonly validationLast?: number;
  /** Train on a seeded random sample of N of the remaining sentences (kept in corpus order). @default all */
  readonly sample?: number;
  /** Seed of the sample. @default 42 */
  readonly seed?: number;
}

/**
 * Split a corpus into training sentences and a held-out tail, optionally
 * subsampling the training part reproducibly.
 * @throws EmbedkitError INVALID_OPTION when the hold-out leaves no training sentences
 * @example
 * ```ts
 * // MSRA: the last 10% of part 4 is validation; train on 6,000 sampled sentences of the rest.
 * const { train, validation } = splitCorpus(msra, { validationLast: 1258, sample: 6000, seed: 42 });
 * ```
 */
export function splitCorpus(
  corpus: TaggedCorpus,
  options: SplitCorpusOptions = {},
): { readonly train: TaggedCorpus; readonly validation?: TaggedCorpus } {
  const held = options.validationLast ?? 0;
  const total = corpus.sentences.length;
  if (!Number.isInteger(held) || held < 0 || held >= total) {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `The validation hold-out must be an integer from 0 to ${total - 1} sentences (the corpus has ${total}), received ${String(held)}.`,
      { details: { option: "validationLast" } },
    );
  }
  let trainSentences = corpus.sentences.slice(0, total - held);
  if (options.sample !== undefined && options.sample < trainSentences.length) {
    const random = createRandom(options.seed ?? 42);
    const chosen = random
      .shuffle(trainSentences.map((_, index) => index))
      .slice(0, options.sample)
      .sort((a, b) => a - b);
    trainSentences = chosen.map((index) => trainSentences[index] as TaggedSentence);
  }
  return {
    train: selectSentences(corpus, trainSentences),
    ...(held === 0 ? {} : { validation: selectSentences(corpus, corpus.sentences.slice(total - held)) }),
  };
}
