/**
 * @module embed/onnx/text-tokenizer
 * Word-piece tokenization for the local text encoders, on top of
 * `@huggingface/tokenizers` (a pure-JS port of the Rust `tokenizers` crate that
 * reads the model's tokenizer.json). Truncation is decided here from the
 * catalog's `maxTokens`, never from tokenizer.json: the all-MiniLM-L6-v2 jar
 * ships a tokenizer.json that truncates and pads at 128, while
 * sentence-transformers uses 256 for that model.
 */
import { readFile } from "node:fs/promises";
import { Tokenizer } from "@huggingface/tokenizers";
import { EmbedkitError } from "../../errors.js";

/** Token ids of one input, with special tokens ([CLS] … [SEP]). */
export interface EncodedText {
  readonly ids: readonly number[];
  /** Tokens before truncation, excluding special tokens. */
  readonly fullLength: number;
  readonly truncated: boolean;
}

/** A loaded tokenizer bound to a maximum sequence length. */
export interface TextTokenizer {
  /** Maximum sequence length including special tokens. */
  readonly maxTokens: number;
  /**
   * Encode one text. Over-long texts are cut to `maxTokens` (keeping the final
   * [SEP]) when `truncate` is true; otherwise INPUT_TOO_LONG is thrown.
   */
  encode(text: string, options: { readonly truncate: boolean; readonly index?: number }): EncodedText;
  /** Token count without special tokens. */
  count(text: string): number;
  /**
   * Turn token ids back into text (special tokens skipped), so token-id input
   * (OpenAI's `input: number[]`) can be embedded like text. Re-encoding the
   * result gives the same ids for ids this tokenizer produced.
   * @throws EmbedkitError INVALID_INPUT naming the first id outside the vocabulary
   */
  decode(ids: readonly number[]): string;
  /**
   * Word-piece ids of a text without special tokens and without truncation
   * (the building block of word-aligned token embeddings).
   */
  pieces(text: string): number[];
  /** Special token ids the model expects around every sequence ([CLS] … [SEP]). */
  readonly special: { readonly leading: readonly number[]; readonly trailing: readonly number[] };
  /** Id of the unknown-token piece ([UNK]), used for a word that yields no pieces at all. */
  readonly unknownId: number;
  /** The vocabulary string of a token id (`"##ing"`, `"[UNK]"`), or undefined. */
  tokenText(id: number): string | undefined;
}

// A word piece covers at least one character, except for whitespace runs. When
// truncating anyway, tokenizing only a generous prefix keeps huge inputs cheap.
const CHARACTERS_PER_TOKEN_BOUND = 64;

/**
 * Load tokenizer.json and build a {@link TextTokenizer}.
 * @throws EmbedkitError CORRUPT_MODEL when the file is not a valid tokenizer.json
 */
export async function loadTextTokenizer(path: string, maxTokens: number): Promise<TextTokenizer> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `Cannot load tokenizer ${path}: ${(error as Error).message}. ` +
        "Re-pull the model (`embedkit models rm <id>` then `embedkit models pull <id>`).",
      { cause: error, details: { path } },
    );
  }
  return createTextTokenizer(json, maxTokens, path);
}

/**
 * Build a {@link TextTokenizer} from a parsed tokenizer.json (e.g. one converted in memory).
 * @param label names the tokenizer in error messages (usually its path)
 * @throws EmbedkitError CORRUPT_MODEL when the object is not a valid tokenizer.json
 */
export function createTextTokenizer(
  source: Readonly<Record<string, unknown>>,
  maxTokens: number,
  label: string,
): TextTokenizer {
  const path = label;
  let tokenizer: Tokenizer;
  let specialCount: number;
  let specialIds: number[];
  let unknownId: number;
  try {
    const json: Record<string, unknown> = { ...source };
    // Disable the file's own truncation/padding: we apply the catalog's limit.
    json.truncation = null;
    json.padding = null;
    tokenizer = new Tokenizer(json, {});
    specialIds = tokenizer.encode("").ids;
    specialCount = specialIds.length;
    const model = json.model as { unk_token?: unknown } | undefined;
    unknownId = tokenizer.token_to_id(typeof model?.unk_token === "string" ? model.unk_token : "[UNK]") ?? 0;
  } catch (error) {
    throw new EmbedkitError(
      "CORRUPT_MODEL",
      `Cannot load tokenizer ${path}: ${(error as Error).message}. ` +
        "Re-pull the model (`embedkit models rm <id>` then `embedkit models pull <id>`).",
      { cause: error, details: { path } },
    );
  }
  const contentLimit = maxTokens - specialCount;

  function encodeRaw(text: string): number[] {
    return tokenizer.encode(text).ids;
  }

  return {
    maxTokens,
    encode(text, { truncate, index }) {
      const source =
        truncate && text.length > maxTokens * CHARACTERS_PER_TOKEN_BOUND
          ? text.slice(0, maxTokens * CHARACTERS_PER_TOKEN_BOUND)
          : text;
      const ids = encodeRaw(source);
      const fullLength = ids.length - specialCount;
      if (ids.length <= maxTokens) return { ids, fullLength, truncated: false };
      if (!truncate) {
        const where = index === undefined ? "Input" : `Input ${index}`;
        throw new EmbedkitError(
          "INPUT_TOO_LONG",
          `${where} has ${fullLength} tokens, but the model accepts at most ${contentLimit} ` +
            `(${maxTokens} including special tokens). Shorten it, split it into chunks, or pass truncate: true.`,
          { details: { index, tokens: fullLength, maxTokens: contentLimit } },
        );
      }
      // Keep the leading special tokens and content up to the limit, then the trailing ones.
      const trailing = specialCount > 1 ? ids.slice(ids.length - (specialCount - 1)) : [];
      return {
        ids: [...ids.slice(0, maxTokens - trailing.length), ...trailing],
        fullLength,
        truncated: true,
      };
    },
    count(text) {
      return encodeRaw(text).length - specialCount;
    },
    decode(ids) {
      for (let position = 0; position < ids.length; position++) {
        const id = ids[position] as number;
        if (!Number.isInteger(id) || tokenizer.id_to_token(id) === undefined) {
          throw new EmbedkitError(
            "INVALID_INPUT",
            `Token id ${String(id)} at position ${position} is not in the model's vocabulary. ` +
              "Send ids produced by this model's tokenizer, or send text instead.",
            { details: { position, tokenId: id } },
          );
        }
      }
      return tokenizer.decode([...ids], { skip_special_tokens: true });
    },
    pieces(text) {
      return tokenizer.encode(text, { add_special_tokens: false }).ids;
    },
    // BERT-style templates put one token before the text and the rest after it.
    special: Object.freeze({
      leading: Object.freeze(specialIds.slice(0, 1)),
      trailing: Object.freeze(specialIds.slice(1)),
    }),
    unknownId,
    tokenText(id) {
      return tokenizer.id_to_token(id);
    },
  };
}
