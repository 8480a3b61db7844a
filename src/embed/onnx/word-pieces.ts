/**
 * @module embed/onnx/word-pieces
 * Alignment between the original text and an encoder's word pieces, for
 * token-level embeddings (NER and other token-classification heads).
 *
 * `@huggingface/tokenizers` returns ids without character offsets, so
 * alignment is built from the other side: the text is first split into words
 * (or characters) whose offsets we know, each word is encoded on its own, and
 * the pieces are concatenated. For BERT-style tokenizers this gives the same
 * pieces as encoding the whole text, because their pre-tokenizer already splits
 * at whitespace, punctuation and every CJK ideograph, which are exactly the
 * boundaries {@link splitWords} uses.
 *
 * All offsets are **UTF-16 code units** into the original string (what
 * `String.prototype.slice` takes), so an emoji outside the Basic Multilingual
 * Plane spans two units and is never cut in half. Sequences longer than the
 * model's limit are covered by overlapping windows ({@link planWindows}), never
 * truncated.
 */

/** One unit of text with its position in the original string. */
export interface TextSpan {
  /** The unit's text, `original.slice(start, end)`. */
  readonly text: string;
  /** Start offset in UTF-16 code units. */
  readonly start: number;
  /** End offset (exclusive) in UTF-16 code units. */
  readonly end: number;
}

const WHITESPACE = /^\s$/u;
// Characters BERT's pre-tokenizer splits off on their own: Unicode punctuation
// and the ASCII symbol ranges it treats as punctuation ($, +, <, =, >, ^, `, |, ~).
const PUNCTUATION = /^[\p{P}$+<=>^`|~]$/u;
// Characters that form a word on their own: CJK ideographs (BERT's
// `tokenize_chinese_chars`), kana, hangul syllables, and pictographs (emoji).
const STANDALONE =
  /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Extended_Pictographic}]$/u;
// Marks and joiners that belong to the character before them (skin tones, ZWJ
// sequences, variation selectors, combining accents).
const ATTACHED = /^(?:\p{M}|\u200d|[\u{1f3fb}-\u{1f3ff}]|\ufe0e|\ufe0f)$/u;

/**
 * Split text into words the way BERT's pre-tokenizer does: runs of letters and
 * digits, each punctuation character on its own, and each CJK character or
 * emoji on its own (an emoji keeps its modifiers and ZWJ sequence).
 *
 * @example
 * ```ts
 * splitWords("Hi 北京😀!").map((w) => w.text); // ["Hi", "北", "京", "😀", "!"]
 * ```
 */
export function splitWords(text: string): TextSpan[] {
  const words: TextSpan[] = [];
  let start = -1;
  let previousStandalone = false;
  const close = (end: number): void => {
    if (start >= 0) words.push({ text: text.slice(start, end), start, end });
    start = -1;
  };
  let offset = 0;
  for (const character of text) {
    const here = offset;
    offset += character.length;
    if (WHITESPACE.test(character)) {
      close(here);
      previousStandalone = false;
      continue;
    }
    if (ATTACHED.test(character) && start >= 0) {
      // A ZWJ glues the next pictograph onto the current emoji.
      if (character === "\u200d") previousStandalone = false;
      continue;
    }
    const standalone = STANDALONE.test(character);
    if (standalone || PUNCTUATION.test(character)) {
      // Inside a ZWJ sequence the pictograph continues the open emoji.
      if (!(standalone && start >= 0 && !previousStandalone && text[here - 1] === "\u200d")) {
        close(here);
        start = here;
      }
      previousStandalone = true;
      continue;
    }
    if (previousStandalone) close(here);
    previousStandalone = false;
    if (start < 0) start = here;
  }
  close(text.length);
  return words;
}

/**
 * Split text into characters (Unicode code points, an emoji together with its
 * modifiers), skipping whitespace: the unit of character-level taggers such as
 * Chinese NER.
 *
 * @example
 * ```ts
 * splitCharacters("北京 😀").map((c) => [c.text, c.start, c.end]); // [["北",0,1],["京",1,2],["😀",3,5]]
 * ```
 */
export function splitCharacters(text: string): TextSpan[] {
  const bounds: Array<{ start: number; end: number }> = [];
  let offset = 0;
  let open = false;
  for (const character of text) {
    const here = offset;
    offset += character.length;
    if (WHITESPACE.test(character)) {
      open = false;
      continue;
    }
    const last = bounds[bounds.length - 1];
    if (open && last !== undefined && (ATTACHED.test(character) || text[here - 1] === "\u200d")) {
      last.end = offset;
      continue;
    }
    bounds.push({ start: here, end: offset });
    open = true;
  }
  return bounds.map(({ start, end }) => ({ text: text.slice(start, end), start, end }));
}

/** A window over a sequence of words: words `[start, end)`. */
export interface WordWindow {
  readonly start: number;
  readonly end: number;
}

/** Result of {@link planWindows}. */
export interface WindowPlan {
  readonly windows: readonly WordWindow[];
  /** For each word, the index of the window its vector is read from. */
  readonly owner: readonly number[];
}

/**
 * Cover a sequence of words with windows of at most `maxPieces` word pieces,
 * cut only between words, each starting about `stride` pieces after the one
 * before (so consecutive windows overlap). Every word is read from the window
 * in which it has the most context on its poorer side. A single word longer
 * than `maxPieces` gets a window of its own (its pieces are cut there).
 */
export function planWindows(pieceCounts: readonly number[], maxPieces: number, stride: number): WindowPlan {
  const count = pieceCounts.length;
  const windows: WordWindow[] = [];
  let start = 0;
  while (start < count) {
    let end = start;
    let total = 0;
    while (end < count && total + (pieceCounts[end] as number) <= maxPieces) {
      total += pieceCounts[end] as number;
      end++;
    }
    if (end === start) end = start + 1;
    windows.push({ start, end });
    if (end >= count) break;
    let next = start;
    let advanced = 0;
    while (next < end && advanced < stride) {
      advanced += pieceCounts[next] as number;
      next++;
    }
    start = Math.max(next, start + 1);
  }
  const owner = new Array<number>(count).fill(0);
  const best = new Array<number>(count).fill(-1);
  windows.forEach((window, index) => {
    let before = 0;
    let inside = 0;
    for (let word = window.start; word < window.end; word++) inside += pieceCounts[word] as number;
    for (let word = window.start; word < window.end; word++) {
      const pieces = pieceCounts[word] as number;
      const context = Math.min(before, inside - before - pieces);
      if (context > (best[word] as number)) {
        best[word] = context;
        owner[word] = index;
      }
      before += pieces;
    }
  });
  return { windows, owner };
}

/** One encoder input built by {@link windowSequences}. */
export interface WindowSequence {
  /** Token ids, special tokens included. */
  readonly ids: number[];
  /** `[word, first row, piece count]` of each word whose vector is read from this window. */
  readonly reads: Array<readonly [number, number, number]>;
}

/**
 * The encoder inputs of one pre-split sentence: windows of whole words
 * ({@link planWindows}) wrapped in the model's special tokens, each listing
 * the words read from it (every word exactly once). What token-level
 * embedding runs through the encoder, and what a token-classification head
 * is trained and evaluated on, so both see the same rows.
 *
 * @example
 * ```ts
 * windowSequences([[7592], [2088, 999]], { leading: [101], trailing: [102] }, 510, 255);
 * // [{ ids: [101, 7592, 2088, 999, 102], reads: [[0, 1, 1], [1, 2, 2]] }]
 * ```
 */
export function windowSequences(
  words: readonly (readonly number[])[],
  special: { readonly leading: readonly number[]; readonly trailing: readonly number[] },
  maxPieces: number,
  stride: number,
): WindowSequence[] {
  const plan = planWindows(
    words.map((pieces) => pieces.length),
    maxPieces,
    stride,
  );
  return plan.windows.map((window, windowIndex) => {
    const ids = [...special.leading];
    const reads: Array<readonly [number, number, number]> = [];
    for (let word = window.start; word < window.end; word++) {
      const pieces = (words[word] as readonly number[]).slice(
        0,
        maxPieces - (ids.length - special.leading.length),
      );
      if (plan.owner[word] === windowIndex) reads.push([word, ids.length, pieces.length]);
      ids.push(...pieces);
    }
    ids.push(...special.trailing);
    return { ids, reads };
  });
}

/**
 * Word-piece ids of each word of each pre-split sentence (a word with no
 * pieces becomes the unknown piece), with a per-call cache of repeated words.
 */
export function sentencePieces(
  tokenizer: { pieces(text: string): number[]; readonly unknownId: number },
  sentences: ReadonlyArray<readonly string[]>,
): number[][][] {
  const cache = new Map<string, number[]>();
  return sentences.map((words) =>
    words.map((word) => {
      let pieces = cache.get(word);
      if (pieces === undefined) {
        pieces = tokenizer.pieces(word);
        if (pieces.length === 0) pieces = [tokenizer.unknownId];
        cache.set(word, pieces);
      }
      return pieces;
    }),
  );
}

/**
 * Character offsets of each word piece of one word. When the pieces spell the
 * word (after dropping the `##` continuation marker, comparing code-point
 * counts) each piece gets its exact span; otherwise (unknown pieces,
 * normalization that changed the length) every piece gets the whole word's span.
 */
export function pieceSpans(
  word: TextSpan,
  pieceTexts: readonly (string | undefined)[],
  continuationPrefix = "##",
): Array<readonly [number, number]> {
  const lengths = pieceTexts.map((piece, index) => {
    if (piece === undefined || /^\[.*\]$/.test(piece)) return -1;
    const bare =
      index > 0 && piece.startsWith(continuationPrefix) ? piece.slice(continuationPrefix.length) : piece;
    return [...bare].length;
  });
  const codePoints = [...word.text];
  const whole = (): Array<readonly [number, number]> => pieceTexts.map(() => [word.start, word.end] as const);
  if (lengths.some((length) => length <= 0)) return whole();
  if (lengths.reduce((sum, length) => sum + length, 0) !== codePoints.length) return whole();
  const spans: Array<readonly [number, number]> = [];
  let point = 0;
  let offset = word.start;
  for (const length of lengths) {
    const start = offset;
    for (let i = 0; i < length; i++) offset += (codePoints[point++] as string).length;
    spans.push([start, offset]);
  }
  return spans;
}
