/**
 * @module embed/metadata-types
 * Typing of metadata read from files: the one place that decides whether a
 * metadata field is stored as a number or as text, for every reader
 * (`embed/text-file` behind `index`/`embed`, the streaming `jobs` reader and the
 * recommender's catalog). CSV/TSV cells are all text, so a field is stored as
 * numbers when every non-empty value in the file is number-like (auto-detection,
 * per field — never per cell, so one field never mixes types); JSONL values keep
 * their JSON types. `--metadata-types year=number,zip=string` forces a type (a zip
 * code like `01234` stays text; a forced number refuses a cell that is not one).
 * Numeric fields are what make range filters such as `year>=1990` match.
 */
import { EmbedkitError } from "../errors.js";

/** How a metadata field is stored. */
export type MetadataFieldType = "number" | "string";

/** Types forced per field (`--metadata-types`). */
export type MetadataTypes = Readonly<Record<string, MetadataFieldType>>;

/** A metadata value as read from a file (JSON scalars; CSV cells are strings). */
export type MetadataScalar = string | number | boolean | null;

const FIELD_TYPES: readonly MetadataFieldType[] = Object.freeze(["number", "string"]);

/** Decimal numbers as people write them in files: `1990`, `-3.5`, `.5`, `1e6` (no hex, no `Infinity`). */
const NUMBER_LIKE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The finite number a text cell stands for, or `undefined` when it is not number-like. */
export function numberFromText(text: string): number | undefined {
  const trimmed = text.trim();
  if (!NUMBER_LIKE.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Parse `--metadata-types` (`year=number,zip=string`). Every named field must be
 * one of `fields` (the `--metadata-fields`), so a typo cannot pass unnoticed.
 *
 * @throws EmbedkitError INVALID_OPTION naming the bad entry, the types and the fields
 * @example
 * ```ts
 * parseMetadataTypes("year=number", ["year", "lang"]); // { year: "number" }
 * ```
 */
export function parseMetadataTypes(spec: string | undefined, fields: readonly string[]): MetadataTypes {
  const types: Record<string, MetadataFieldType> = {};
  if (spec === undefined || spec.trim() === "") return types;
  for (const entry of spec.split(",")) {
    const [rawField, rawType, ...rest] = entry.split("=");
    const field = (rawField ?? "").trim();
    const type = (rawType ?? "").trim().toLowerCase();
    if (field === "" || rest.length > 0 || !FIELD_TYPES.includes(type as MetadataFieldType)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `--metadata-types entry ${JSON.stringify(entry.trim())} must be field=${FIELD_TYPES.join("|")}, e.g. "year=number,zip=string".`,
        { details: { param: "--metadata-types", value: entry } },
      );
    }
    if (!fields.includes(field)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `--metadata-types names "${field}", which is not in --metadata-fields (${fields.join(", ") || "none"}).`,
        { details: { param: "--metadata-types", field, fields } },
      );
    }
    types[field] = type as MetadataFieldType;
  }
  return types;
}

/** Options of {@link createMetadataTyper}. */
export interface MetadataTyperOptions {
  /** Types forced per field; they win over detection. @default {} */
  readonly forced?: MetadataTypes;
  /** Detect numeric fields from text values (CSV/TSV: true; JSONL keeps JSON types: false). */
  readonly detect: boolean;
}

/** Watches the metadata of every record of a file, then types it consistently (see the module comment). */
export interface MetadataTyper {
  /** Record one record's raw metadata (call for every record before {@link MetadataTyper.types}). */
  observe(metadata: Readonly<Record<string, MetadataScalar>> | undefined): void;
  /** The type of each field that is converted: forced fields, and detected numeric ones. */
  types(): MetadataTypes;
}

/**
 * Create a {@link MetadataTyper}: a field is numeric when it is forced to be, or
 * (with `detect`) when it has at least one non-empty value and every non-empty
 * value is number-like.
 */
export function createMetadataTyper(options: MetadataTyperOptions): MetadataTyper {
  const forced = options.forced ?? {};
  const numeric = new Set<string>();
  const text = new Set<string>();
  return {
    observe(metadata) {
      if (!options.detect || metadata === undefined) return;
      for (const [field, value] of Object.entries(metadata)) {
        if (typeof value !== "string" || value.trim() === "" || text.has(field)) continue;
        if (numberFromText(value) === undefined) {
          text.add(field);
          numeric.delete(field);
        } else {
          numeric.add(field);
        }
      }
    },
    types() {
      const types: Record<string, MetadataFieldType> = {};
      for (const field of numeric) types[field] = "number";
      return { ...types, ...forced };
    },
  };
}

/**
 * Convert one record's metadata to `types`: a number field's empty cell is left
 * out (a missing value, not the text ""), a string field's number becomes text.
 * Fields without a type are returned as read.
 *
 * @throws EmbedkitError MALFORMED_FILE (`where` names file and line) when a forced
 *   number field holds something that is not a number
 */
export function applyMetadataTypes(
  metadata: Readonly<Record<string, MetadataScalar>>,
  types: MetadataTypes,
  where: string,
): Record<string, MetadataScalar> {
  const typed: Record<string, MetadataScalar> = {};
  for (const [field, value] of Object.entries(metadata)) {
    const type = types[field];
    if (type === "string") {
      typed[field] = typeof value === "number" ? String(value) : value;
      continue;
    }
    if (type !== "number" || typeof value === "number" || value === null) {
      typed[field] = value;
      continue;
    }
    if (typeof value === "string" && value.trim() === "") continue;
    const number = typeof value === "string" ? numberFromText(value) : undefined;
    if (number === undefined) {
      throw new EmbedkitError(
        "MALFORMED_FILE",
        `${where}: metadata field "${field}" is typed number but holds ${JSON.stringify(value)}. ` +
          `Fix the value, or store the field as text with --metadata-types ${field}=string.`,
        { details: { field, value } },
      );
    }
    typed[field] = number;
  }
  return typed;
}
