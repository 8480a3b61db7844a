/**
 * @module store/filter
 * The metadata filter language shared by every vector store backend: the
 * string syntax (`lang=zh`, `year>=2020,tier!=free`, `lang in (zh, en)`), its
 * parser, validation of the object form, and the in-memory matcher the embedded
 * store uses. Backends that translate filters (pgvector → SQL) take the
 * validated object form from {@link resolveFilter} and must give the same
 * answers as {@link matchesFilter}.
 *
 * Syntax (conditions joined by commas, all must hold):
 * - `field=value`, `field==value`, `field!=value`
 * - `field<n`, `field<=n`, `field>n`, `field>=n` (numbers only)
 * - `field in (v1, v2)`, `field not in (v1, v2)`
 * - values: `"double"` or `'single'` quoted strings (backslash escapes), or bare
 *   words. A bare `true`/`false`/`null` or number matches that JSON value *or*
 *   the same text stored as a string (CSV metadata is text), so `year=2020`
 *   matches both `2020` and `"2020"`; a quoted value matches strings only.
 */
import { EmbedkitError } from "../errors.js";
import {
  type Filter,
  type FilterCondition,
  type FilterOperator,
  METADATA_KEY_PATTERN,
  type Metadata,
  type MetadataValue,
} from "./vector-store.js";

/** Longest filter string accepted. */
export const MAX_FILTER_LENGTH = 4096;

const SYNTAX_HELP =
  "Syntax: field=value, field!=value, field>=number (also <, <=, >), field in (a, b), field not in (a, b); " +
  'join conditions with commas; quote values containing spaces or , ( ) = ! < > with "...".';

const OPERATORS: readonly FilterOperator[] = ["eq", "ne", "in", "nin", "lt", "lte", "gt", "gte"];

function invalid(message: string, details: Record<string, unknown> = {}): EmbedkitError {
  return new EmbedkitError("INVALID_FILTER", message, { details });
}

type Token =
  | { readonly kind: "word"; readonly text: string; readonly at: number }
  | { readonly kind: "string"; readonly text: string; readonly at: number }
  | { readonly kind: "op"; readonly text: "=" | "==" | "!=" | "<" | "<=" | ">" | ">="; readonly at: number }
  | { readonly kind: "punct"; readonly text: "," | "(" | ")"; readonly at: number };

/** The error for a syntax problem at a position, with the syntax summary. */
function malformed(source: string, what: string, at: number): EmbedkitError {
  return invalid(`Malformed filter ${JSON.stringify(source)}: ${what} at position ${at}. ${SYNTAX_HELP}`, {
    filter: source,
    position: at,
  });
}

const SPECIAL = new Set([",", "(", ")", "=", "!", "<", ">", '"', "'"]);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (what: string, at: number): never => {
    throw malformed(source, what, at);
  };
  while (i < source.length) {
    const c = source[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "," || c === "(" || c === ")") {
      tokens.push({ kind: "punct", text: c, at: i });
      i++;
      continue;
    }
    if (c === "=" || c === "!" || c === "<" || c === ">") {
      const two = source.slice(i, i + 2);
      if (two === "==" || two === "!=" || two === "<=" || two === ">=") {
        tokens.push({ kind: "op", text: two, at: i });
        i += 2;
      } else if (c === "!") {
        fail('"!" must be followed by "="', i);
      } else {
        tokens.push({ kind: "op", text: c, at: i });
        i++;
      }
      continue;
    }
    if (c === '"' || c === "'") {
      const start = i;
      let text = "";
      i++;
      for (;;) {
        if (i >= source.length) fail(`unterminated ${c}...${c} string`, start);
        const d = source[i] as string;
        if (d === "\\") {
          const next = source[i + 1];
          if (next === undefined) fail("backslash at the end", i);
          text += next;
          i += 2;
          continue;
        }
        if (d === c) {
          i++;
          break;
        }
        text += d;
        i++;
      }
      tokens.push({ kind: "string", text, at: start });
      continue;
    }
    const start = i;
    while (i < source.length && !SPECIAL.has(source[i] as string) && !/\s/.test(source[i] as string)) i++;
    tokens.push({ kind: "word", text: source.slice(start, i), at: start });
  }
  return tokens;
}

/** The JSON values a bare literal stands for (see the module comment). */
function bareValues(text: string): MetadataValue[] {
  if (text === "true") return [true, text];
  if (text === "false") return [false, text];
  if (text === "null") return [null, text];
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(text)) return [Number(text), text];
  return [text];
}

/**
 * Parse the filter string syntax into the object form.
 *
 * @throws EmbedkitError INVALID_FILTER with the position of the problem and the syntax
 * @example
 * ```ts
 * parseFilter("lang=zh,year>=2020");
 * // [{ field: "lang", op: "eq", value: "zh" }, { field: "year", op: "gte", value: 2020 }]
 * ```
 */
export function parseFilter(source: string): Filter {
  if (typeof source !== "string") {
    throw invalid(`A filter string must be a string, received ${typeof source}.`);
  }
  if (source.length > MAX_FILTER_LENGTH) {
    throw invalid(`The filter is ${source.length} characters; the limit is ${MAX_FILTER_LENGTH}.`);
  }
  const tokens = tokenize(source);
  const conditions: FilterCondition[] = [];
  let i = 0;
  const fail = (what: string, at: number): never => {
    throw malformed(source, what, at);
  };
  const peek = (): Token | undefined => tokens[i];
  const value = (): { values: MetadataValue[]; bare: boolean; at: number } => {
    const token = tokens[i];
    if (token === undefined) return fail("expected a value", source.length);
    if (token.kind === "string") {
      i++;
      return { values: [token.text], bare: false, at: token.at };
    }
    if (token.kind === "word") {
      i++;
      return { values: bareValues(token.text), bare: true, at: token.at };
    }
    return fail(`expected a value, found "${token.text}"`, token.at);
  };
  if (tokens.length === 0) return [];
  for (;;) {
    const fieldToken = tokens[i];
    if (fieldToken === undefined) return fail("expected a condition after the comma", source.length);
    if (fieldToken.kind !== "word")
      return fail(`expected a field name, found "${fieldToken.text}"`, fieldToken.at);
    if (!METADATA_KEY_PATTERN.test(fieldToken.text)) {
      fail(
        `"${fieldToken.text}" is not a valid field name (letters, digits, _ . -, starting with a letter or _)`,
        fieldToken.at,
      );
    }
    const field = fieldToken.text;
    i++;
    const opToken = peek();
    if (opToken === undefined) return fail(`expected an operator after "${field}"`, source.length);
    if (opToken.kind === "op") {
      i++;
      const operand = value();
      if (opToken.text === "=" || opToken.text === "==" || opToken.text === "!=") {
        const negate = opToken.text === "!=";
        if (operand.values.length === 1) {
          conditions.push({ field, op: negate ? "ne" : "eq", value: operand.values[0] as MetadataValue });
        } else {
          conditions.push({ field, op: negate ? "nin" : "in", values: operand.values });
        }
      } else {
        const number = operand.values[0];
        if (!operand.bare || typeof number !== "number") {
          fail(`"${opToken.text}" compares numbers; the value must be an unquoted number`, operand.at);
        }
        const op = ({ "<": "lt", "<=": "lte", ">": "gt", ">=": "gte" } as const)[opToken.text];
        conditions.push({ field, op, value: number as number });
      }
    } else if (opToken.kind === "word" && (opToken.text === "in" || opToken.text === "not")) {
      i++;
      let negate = false;
      if (opToken.text === "not") {
        const inToken = peek();
        if (inToken?.kind !== "word" || inToken.text !== "in")
          return fail('expected "in" after "not"', opToken.at);
        i++;
        negate = true;
      }
      const open = peek();
      if (open?.kind !== "punct" || open.text !== "(") {
        return fail('expected "(" to start the list', open?.at ?? source.length);
      }
      i++;
      const values: MetadataValue[] = [];
      for (;;) {
        values.push(...value().values);
        const next = peek();
        if (next?.kind === "punct" && next.text === ",") {
          i++;
          continue;
        }
        if (next?.kind === "punct" && next.text === ")") {
          i++;
          break;
        }
        return fail('expected "," or ")" in the list', next?.at ?? source.length);
      }
      conditions.push({ field, op: negate ? "nin" : "in", values });
    } else {
      return fail(`expected an operator after "${field}", found "${opToken.text}"`, opToken.at);
    }
    const separator = peek();
    if (separator === undefined) break;
    if (separator.kind !== "punct" || separator.text !== ",") {
      return fail(`expected "," between conditions, found "${separator.text}"`, separator.at);
    }
    i++;
  }
  return conditions;
}

function isScalar(value: unknown): value is MetadataValue {
  return (
    value === null ||
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value))
  );
}

/**
 * Turn a filter as received (string, object form, or nothing) into a validated
 * object form. Every backend calls this before using a filter.
 *
 * @throws EmbedkitError INVALID_FILTER naming the bad condition
 */
export function resolveFilter(filter: Filter | string | undefined | null): Filter {
  if (filter === undefined || filter === null) return [];
  if (typeof filter === "string") return checkConditionCount(parseFilter(filter));
  if (!Array.isArray(filter)) {
    throw invalid(
      `A filter must be a string like "lang=zh" or an array of {field, op, value} conditions, received ${typeof filter}.`,
    );
  }
  checkConditionCount(filter);
  return filter.map((condition: unknown, index): FilterCondition => {
    const where = `Filter condition ${index}`;
    if (typeof condition !== "object" || condition === null) throw invalid(`${where} must be an object.`);
    const { field, op } = condition as { field?: unknown; op?: unknown };
    if (typeof field !== "string" || !METADATA_KEY_PATTERN.test(field)) {
      throw invalid(`${where}: field ${JSON.stringify(field)} is not a valid metadata key.`);
    }
    if (!OPERATORS.includes(op as FilterOperator)) {
      throw invalid(`${where}: op must be one of ${OPERATORS.join(", ")}, received ${JSON.stringify(op)}.`);
    }
    if (op === "in" || op === "nin") {
      const values = (condition as { values?: unknown }).values;
      if (!Array.isArray(values) || values.length === 0 || !values.every(isScalar)) {
        throw invalid(
          `${where}: "${op}" needs a non-empty "values" array of strings, finite numbers, booleans or null.`,
        );
      }
      if (values.length > FILTER_LIMITS.maxValues) {
        throw invalid(
          `${where}: "${op}" takes at most ${FILTER_LIMITS.maxValues} values, received ${values.length}.`,
        );
      }
      return { field, op, values: [...values] };
    }
    const value = (condition as { value?: unknown }).value;
    if (op === "eq" || op === "ne") {
      if (!isScalar(value)) {
        throw invalid(`${where}: "${op}" needs a string, finite number, boolean or null value.`);
      }
      return { field, op, value };
    }
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw invalid(
        `${where}: "${op}" compares numbers; value must be a finite number, received ${JSON.stringify(value)}.`,
      );
    }
    return { field, op: op as "lt" | "lte" | "gt" | "gte", value };
  });
}

/**
 * Size limits of a filter, checked before any item is matched: every backend scans or binds each
 * condition and value, so an unbounded filter is unbounded work (or too many SQL parameters).
 */
export const FILTER_LIMITS = Object.freeze({
  /** Most conditions in one filter. */
  maxConditions: 32,
  /** Most values of one `in` / `nin` condition. */
  maxValues: 256,
});

function checkConditionCount<T extends readonly unknown[]>(conditions: T): T {
  if (conditions.length > FILTER_LIMITS.maxConditions) {
    throw invalid(
      `A filter may have at most ${FILTER_LIMITS.maxConditions} conditions, received ${conditions.length}.`,
    );
  }
  return conditions;
}

/** Whether metadata satisfies every condition of a validated filter (see {@link FilterCondition}). */
export function matchesFilter(metadata: Metadata, filter: Filter): boolean {
  for (const condition of filter) {
    const has = Object.hasOwn(metadata, condition.field);
    const actual = has ? metadata[condition.field] : undefined;
    switch (condition.op) {
      case "eq":
        if (!has || actual !== condition.value) return false;
        break;
      case "ne":
        if (has && actual === condition.value) return false;
        break;
      case "in":
        if (!has || !condition.values.includes(actual as MetadataValue)) return false;
        break;
      case "nin":
        if (has && condition.values.includes(actual as MetadataValue)) return false;
        break;
      default: {
        if (typeof actual !== "number") return false;
        const v = condition.value;
        const ok =
          condition.op === "lt"
            ? actual < v
            : condition.op === "lte"
              ? actual <= v
              : condition.op === "gt"
                ? actual > v
                : actual >= v;
        if (!ok) return false;
      }
    }
  }
  return true;
}

/** The fields a validated filter compares with `<`, `<=`, `>`, `>=` (each once, in filter order). */
export function rangeFields(filter: Filter): string[] {
  const fields = new Set<string>();
  for (const condition of filter) {
    if (condition.op === "lt" || condition.op === "lte" || condition.op === "gt" || condition.op === "gte") {
      fields.add(condition.field);
    }
  }
  return [...fields];
}

/**
 * The error for a range condition on a field that holds no numbers in a collection: such a
 * condition can never match, which would otherwise look like "no results" (e.g. years stored
 * as text). Backends raise it only when a filtered call found nothing, so the check costs nothing
 * on the normal path. `sample` is a value the field does hold (undefined: no item has the field).
 */
export function fieldWithoutNumbersError(
  collection: string,
  field: string,
  sample: MetadataValue | undefined,
): EmbedkitError {
  const holds =
    sample === undefined
      ? `no item of collection "${collection}" has a metadata field "${field}"`
      : `metadata field "${field}" holds no numbers in collection "${collection}" (it holds ${typeof sample === "string" ? "text" : typeof sample} values such as ${JSON.stringify(sample)})`;
  return invalid(
    `A range condition on "${field}" (<, <=, >, >=) compares numbers, but ${holds}, so it can never match. ` +
      (sample === undefined
        ? "Check the field name (see the metadata of `embedkit search` hits)."
        : `Re-index with "${field}" stored as numbers (a CSV column whose values are all numbers is stored as numbers; ` +
          `force it with --metadata-types ${field}=number), or compare with = or in (...).`),
    { field, collection },
  );
}
