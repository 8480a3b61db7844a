/**
 * @module server/embeddings-request
 * Validation of a `POST /v1/embeddings` body with OpenAI's semantics, before any
 * model is touched. zod checks the envelope (`model`, `encoding_format`,
 * `dimensions`, `user`); `input` has four legal shapes (string, string[],
 * token ids, arrays of token ids) whose errors must name the exact bad item, so
 * it gets a small hand-written check. Every failure is an
 * {@link EmbedkitError} whose `details.param` names the offending field, which
 * the error mapping turns into OpenAI's `param`.
 */
import { z } from "zod";
import { describeType, EmbedkitError } from "../errors.js";

/** OpenAI's limit on items in one `input` array. */
export const OPENAI_MAX_INPUTS = 2048;

/** One input item: a text, or token ids of the model's own tokenizer. */
export type EmbeddingInput = string | readonly number[];

/** A validated embeddings request. */
export interface EmbeddingsRequest {
  readonly model: string;
  /** One entry per requested embedding, in request order. */
  readonly inputs: readonly EmbeddingInput[];
  readonly encodingFormat: "float" | "base64";
  /** Requested dimensions; checked against the model later. */
  readonly dimensions?: number;
  readonly user?: string;
}

const ENVELOPE = z.looseObject({
  model: z.string().trim().min(1),
  encoding_format: z.enum(["float", "base64"]).nullish(),
  dimensions: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullish(),
  user: z.string().nullish(),
});

type EnvelopeField = "model" | "encoding_format" | "dimensions" | "user";

const EXPECTED: Readonly<Record<EnvelopeField, string>> = Object.freeze({
  model: 'a model id string such as "all-minilm-l6-v2" (GET /v1/models lists them)',
  encoding_format: '"float" or "base64"',
  dimensions: "a positive integer no larger than the model's dimensions",
  user: "a string",
});

function invalid(param: string, message: string): EmbedkitError {
  return new EmbedkitError(param === "input" ? "INVALID_INPUT" : "INVALID_OPTION", message, {
    details: { param },
  });
}

/** Show a received value briefly (type plus a short JSON excerpt). */
function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    // Too deeply nested to print (stack overflow): the type alone must do.
    return describeType(value);
  }
  const excerpt = json.length > 40 ? `${json.slice(0, 40)}…` : json;
  return `${describeType(value)} ${excerpt}`;
}

function isTokenId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function checkTokenIds(values: readonly unknown[], where: string): readonly number[] {
  if (values.length === 0) {
    throw invalid("input", `Invalid 'input': ${where} is an empty token array; send at least one token id.`);
  }
  for (let position = 0; position < values.length; position++) {
    const value = values[position];
    if (!isTokenId(value)) {
      throw invalid(
        "input",
        `Invalid 'input': ${where}[${position}] must be a non-negative integer token id, received ${describeValue(value)}.`,
      );
    }
  }
  return values as readonly number[];
}

/**
 * Validate `input`: a non-empty string, an array of 1–`maxInputs` non-empty
 * strings, an array of token ids, or an array of 1–`maxInputs` token-id arrays.
 * @throws EmbedkitError INVALID_INPUT (param "input") naming the bad item
 */
export function parseInput(input: unknown, maxInputs: number = OPENAI_MAX_INPUTS): EmbeddingInput[] {
  if (typeof input === "string") {
    if (input.length === 0) {
      throw invalid("input", "Invalid 'input': the string is empty; send text to embed.");
    }
    return [input];
  }
  if (!Array.isArray(input)) {
    throw invalid(
      "input",
      `Invalid 'input': expected a string, an array of strings, an array of token ids or an array of ` +
        `token-id arrays, received ${describeValue(input)}.`,
    );
  }
  if (input.length === 0) {
    throw invalid("input", "Invalid 'input': the array is empty; send at least one input.");
  }
  const first: unknown = input[0];
  if (typeof first === "number") return [checkTokenIds(input, "input")];
  if (input.length > maxInputs) {
    throw invalid(
      "input",
      `Invalid 'input': ${input.length} items, but at most ${maxInputs} are accepted per request. ` +
        "Split the inputs over several requests.",
    );
  }
  if (typeof first === "string") {
    for (let index = 0; index < input.length; index++) {
      const value: unknown = input[index];
      if (typeof value !== "string") {
        throw invalid(
          "input",
          `Invalid 'input': input[${index}] must be a string like the other items, received ${describeValue(value)}.`,
        );
      }
      if (value.length === 0) {
        throw invalid(
          "input",
          `Invalid 'input': input[${index}] is an empty string; remove it or give it text.`,
        );
      }
    }
    return input as string[];
  }
  if (Array.isArray(first)) {
    return input.map((value: unknown, index) => {
      if (!Array.isArray(value)) {
        throw invalid(
          "input",
          `Invalid 'input': input[${index}] must be an array of token ids like the other items, received ${describeValue(value)}.`,
        );
      }
      return checkTokenIds(value, `input[${index}]`);
    });
  }
  throw invalid(
    "input",
    `Invalid 'input': input[0] must be a string, a token id or an array of token ids, received ${describeValue(first)}.`,
  );
}

/**
 * Validate a request body (already parsed JSON). Unknown fields are ignored, as
 * OpenAI-compatible servers commonly do; `null` counts as absent for optional fields.
 *
 * @throws EmbedkitError INVALID_INPUT / INVALID_OPTION with `details.param` naming the field
 * @example
 * ```ts
 * parseEmbeddingsRequest({ model: "all-minilm-l6-v2", input: ["a", "b"], dimensions: 128 });
 * ```
 */
export function parseEmbeddingsRequest(
  body: unknown,
  options: { readonly maxInputs?: number } = {},
): EmbeddingsRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new EmbedkitError(
      "INVALID_INPUT",
      `The request body must be a JSON object like {"model": "all-minilm-l6-v2", "input": "hello"}, ` +
        `received ${describeValue(body)}.`,
    );
  }
  const record = body as Record<string, unknown>;
  if (record.model === undefined || record.model === null) {
    throw invalid("model", `Missing required parameter 'model': expected ${EXPECTED.model}.`);
  }
  if (record.input === undefined || record.input === null) {
    throw invalid(
      "input",
      "Missing required parameter 'input': send a string, an array of strings or token ids.",
    );
  }
  const parsed = ENVELOPE.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = (issue?.path[0] ?? "model") as EnvelopeField;
    throw invalid(
      field,
      `Invalid '${field}': expected ${EXPECTED[field] ?? "a valid value"}, received ${describeValue(record[field])}.`,
    );
  }
  const inputs = parseInput(record.input, options.maxInputs ?? OPENAI_MAX_INPUTS);
  const { model, encoding_format, dimensions, user } = parsed.data;
  return {
    model,
    inputs,
    encodingFormat: encoding_format ?? "float",
    ...(dimensions === null || dimensions === undefined ? {} : { dimensions }),
    ...(user === null || user === undefined ? {} : { user }),
  };
}
