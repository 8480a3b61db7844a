/**
 * @module cli/metadata-options
 * `--metadata-fields` and `--metadata-types`, the same for every command that
 * stores metadata from a file (`index`, `jobs submit`, `recommend index`):
 * the option text and the parsing into reader options, in one place.
 */
import type { Command } from "commander";
import { type MetadataTypes, parseMetadataTypes } from "../embed/metadata-types.js";

/** The raw option values. */
export interface MetadataCommandOptions {
  readonly metadataFields?: string;
  readonly metadataTypes?: string;
}

/** Help text of `--metadata-types`. */
const TYPES_HELP =
  "force metadata types, e.g. year=number,zip=string (default: a CSV column whose non-empty values are all numbers is stored as numbers, so year>=1990 filters work)";

/** Add `--metadata-fields` (with `fieldsHelp`) and `--metadata-types` to a command. */
export function addMetadataOptions(
  command: Command,
  fieldsHelp = "comma-separated fields/columns stored as filterable metadata",
): Command {
  return command
    .option("--metadata-fields <names>", fieldsHelp)
    .option("--metadata-types <types>", TYPES_HELP);
}

/**
 * The reader options of `--metadata-fields` / `--metadata-types` (nothing when no fields are named).
 * @throws EmbedkitError INVALID_OPTION for a bad `--metadata-types` entry or one naming another field
 */
export function metadataReading(options: MetadataCommandOptions): {
  metadataFields?: string[];
  metadataTypes?: MetadataTypes;
} {
  const metadataFields = options.metadataFields
    ?.split(",")
    .map((field) => field.trim())
    .filter((field) => field !== "");
  const metadataTypes = parseMetadataTypes(options.metadataTypes, metadataFields ?? []);
  if (metadataFields === undefined || metadataFields.length === 0) return {};
  return { metadataFields, ...(Object.keys(metadataTypes).length > 0 ? { metadataTypes } : {}) };
}
