/**
 * @module server/token-budget
 * Token counting on the request path that never stalls the event loop and
 * never does more work than the limits allow.
 *
 * - Texts are counted in groups of at most {@link GROUP_CHARS} characters, with
 *   a turn of the event loop between groups, and the request's signal (client
 *   gone, deadline passed) is checked after each, so a closed connection stops
 *   costing CPU at once.
 * - A text longer than {@link PREFIX_FACTORS}[0] × the model's limit in
 *   characters is never tokenized whole: a prefix cut at a word boundary is
 *   counted instead (a word-piece token covers at least one character, and a
 *   cut at whitespace or between CJK characters leaves the earlier tokens
 *   unchanged). If the prefix already exceeds the limit, the text is too long
 *   (400), or with auto-truncation the prefix is what gets embedded (the
 *   embedder keeps the same first tokens). A text whose long prefixes still
 *   hold fewer tokens than the limit (words of hundreds of characters) is
 *   refused with a clear message rather than tokenized without bound.
 * - The running total is checked against the per-request token cap after each
 *   group, so an oversized request is refused before the rest is tokenized.
 *   Work is charged at least one token per {@link CHARS_PER_COST} characters, so
 *   text that tokenizes to nothing cannot slip past the cap.
 */
import { EmbedkitError } from "../errors.js";

/** Characters counted per synchronous tokenizer call (≈ 20–60 ms on the shared machine). */
export const GROUP_CHARS = 32_768;
/** Longest stretch of tokenizing before other requests get a turn of the event loop. */
const YIELD_AFTER_MS = 4;
/** Prefix lengths tried for a long text, as multiples of the model's token limit. */
export const PREFIX_FACTORS = Object.freeze([16, 128] as const);

/** The texts to embed, their token counts (content tokens, at most the limit each) and their costs. */
export interface MeasuredInputs {
  /** Texts as they will be embedded (a long text may be replaced by its prefix when truncating). */
  readonly texts: readonly string[];
  /** Content tokens of each text, capped at the limit (what `usage` reports). */
  readonly tokens: readonly number[];
  /** Sum of `tokens`. */
  readonly total: number;
  /**
   * Work of each text for budgets and caps: its tokens, but at least one per
   * {@link CHARS_PER_COST} characters — text that tokenizes to nothing (control
   * characters, combining marks, whitespace) still costs tokenizer time.
   */
  readonly costs: readonly number[];
}

/** Characters that count as one token of work at least (English averages about 4.4 per token). */
export const CHARS_PER_COST = 8;

/** Options of {@link measureInputs}. */
export interface MeasureOptions {
  /** Model id, for messages. */
  readonly model: string;
  /** Most content tokens one input may have. */
  readonly limit: number;
  /** The model's limit including special tokens, for messages. */
  readonly maxTokens: number;
  /** Cut long inputs to the limit instead of refusing them. */
  readonly autoTruncate: boolean;
  /** Most content tokens in the whole request. */
  readonly maxRequestTokens: number;
  /** Aborts counting (client gone, deadline). */
  readonly signal: AbortSignal;
}

const BOUNDARY = /[\s\p{Ideographic}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
/** How far back from a cut point a boundary is looked for. */
const BOUNDARY_LOOKBACK = 256;

/** A prefix of about `length` characters that ends at a word boundary where one is near. */
export function boundaryPrefix(text: string, length: number): string {
  if (text.length <= length) return text;
  let cut = length;
  for (let position = length; position > Math.max(0, length - BOUNDARY_LOOKBACK); position--) {
    if (BOUNDARY.test(text.charAt(position))) {
      cut = position;
      break;
    }
  }
  // Never split a surrogate pair.
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return text.slice(0, cut);
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function tooLong(options: MeasureOptions, index: number, tokens: number, exact: boolean): EmbedkitError {
  return new EmbedkitError(
    "INPUT_TOO_LONG",
    `input[${index}] has ${exact ? "" : "more than "}${exact ? tokens : options.limit} tokens, but ${options.model} ` +
      `accepts at most ${options.limit} tokens per input (${options.maxTokens} including special tokens). ` +
      "Shorten or split the input, or start the server with --auto-truncate to cut long inputs to the limit.",
    { details: { param: "input", index, ...(exact ? { tokens } : {}), maxTokens: options.limit } },
  );
}

function tooManyTokens(options: MeasureOptions, total: number): EmbedkitError {
  return new EmbedkitError(
    "INVALID_INPUT",
    `Invalid 'input': the request holds more than ${options.maxRequestTokens} tokens (${total} counted so far, ` +
      `at least one per ${CHARS_PER_COST} characters); ` +
      "that is the most one request may carry. Split the inputs over several requests, " +
      "or start the server with a larger --max-request-tokens.",
    { details: { param: "input", maxRequestTokens: options.maxRequestTokens } },
  );
}

/**
 * Count the tokens of a request's texts within its limits, yielding to the
 * event loop between groups.
 *
 * @param count the model's token counter (content tokens per text)
 * @throws EmbedkitError INPUT_TOO_LONG, INVALID_INPUT (request cap, pathological text); the signal's reason when aborted
 */
export async function measureInputs(
  count: (texts: readonly string[]) => Promise<readonly number[]>,
  inputs: readonly string[],
  options: MeasureOptions,
): Promise<MeasuredInputs> {
  const { signal, limit } = options;
  if (signal.aborted) throw signal.reason;
  const texts = [...inputs];
  const tokens = new Array<number>(inputs.length).fill(0);
  const costs = new Array<number>(inputs.length).fill(0);
  let total = 0;
  let totalCost = 0;
  const account = (index: number, counted: number, exact: boolean): void => {
    if (counted > limit && !options.autoTruncate) throw tooLong(options, index, counted, exact);
    const used = Math.min(counted, limit);
    const cost = Math.max(used, Math.ceil((texts[index] as string).length / CHARS_PER_COST));
    tokens[index] = used;
    costs[index] = cost;
    total += used;
    totalCost += cost;
    if (totalCost > options.maxRequestTokens) throw tooManyTokens(options, totalCost);
  };
  // Yield to other requests once this one has held the event loop for a few milliseconds.
  let lastTurn = performance.now();
  const afterWork = async (): Promise<void> => {
    if (performance.now() - lastTurn >= YIELD_AFTER_MS) {
      await nextTurn();
      lastTurn = performance.now();
    }
    if (signal.aborted) throw signal.reason;
  };

  let group: number[] = [];
  let groupChars = 0;
  const flush = async (): Promise<void> => {
    if (group.length === 0) return;
    const counts = await count(group.map((index) => inputs[index] as string));
    group.forEach((index, position) => {
      account(index, counts[position] ?? 0, true);
    });
    group = [];
    groupChars = 0;
    await afterWork();
  };

  const longText = (PREFIX_FACTORS[0] as number) * limit;
  for (let index = 0; index < inputs.length; index++) {
    const text = inputs[index] as string;
    if (text.length <= longText) {
      group.push(index);
      groupChars += text.length;
      if (groupChars >= GROUP_CHARS) await flush();
      continue;
    }
    await flush();
    let settled = false;
    for (const factor of PREFIX_FACTORS) {
      const prefix = boundaryPrefix(text, factor * limit);
      const [counted = 0] = await count([prefix]);
      await afterWork();
      if (prefix.length === text.length) {
        account(index, counted, true);
        settled = true;
        break;
      }
      if (counted > limit) {
        // Truncation keeps the first `limit` tokens, which the prefix holds unchanged.
        if (options.autoTruncate) texts[index] = prefix;
        account(index, counted, false);
        settled = true;
        break;
      }
    }
    if (!settled) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Invalid 'input': input[${index}] has ${text.length} characters, but its first ` +
          `${(PREFIX_FACTORS.at(-1) as number) * limit} hold fewer than ${limit} tokens (words hundreds of ` +
          "characters long, e.g. inline base64). Remove such runs or send a shorter text.",
        { details: { param: "input", index } },
      );
    }
  }
  await flush();
  return { texts, tokens, total, costs };
}
