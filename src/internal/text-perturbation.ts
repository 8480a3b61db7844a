/**
 * @module internal/text-perturbation
 * The one text-perturbation engine, shared by eval's robustness measures
 * (`eval/quality`: perturb a text once and see how far its embedding moves) and
 * train's data augmentation (`train/augment-text`: EDA-style copies of training
 * rows). Both need the same pieces — split a text into units (words, or single
 * characters for CJK scripts, which have no spaces), put units back together,
 * make one realistic typo, swap in a synonym keeping the capitalisation — and
 * both must stay reproducible from a seeded random source ({@link RandomIntegers}).
 *
 * It lives in `internal/` because eval and train are peers: neither may import
 * the other, and `vectors/` is for math. Internal: not re-exported from
 * `src/index.ts` (train re-exports `textUnits`, `joinUnits` and `SynonymSource`).
 */
/**
 * The randomness the engine draws from: `vectors/random`'s seeded `Random` fits.
 * (A structural type, so `internal/` stays below `vectors/` in the layer table.)
 */
export interface RandomIntegers {
  /** Uniform integer in [0, maxExclusive). */
  integer(maxExclusive: number): number;
}

/** Words similar in meaning to `word` (best first); empty when none are known. */
export type SynonymSource = (word: string) => readonly string[];

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const UNITS =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]|[^\s\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+/gu;

/**
 * Split a text into units: each CJK character alone, other runs of non-space
 * characters as words.
 *
 * @example
 * ```ts
 * textUnits("我很喜欢 this movie"); // ["我", "很", "喜", "欢", "this", "movie"]
 * ```
 */
export function textUnits(text: string): string[] {
  return text.match(UNITS) ?? [];
}

/** Join units back: no space between two CJK characters, one space otherwise. */
export function joinUnits(units: readonly string[]): string {
  let out = "";
  units.forEach((unit, index) => {
    if (index > 0) {
      const previous = units[index - 1] as string;
      const bothCjk = CJK.test(previous.at(-1) ?? "") && CJK.test(unit[0] ?? "");
      if (!bothCjk) out += " ";
    }
    out += unit;
  });
  return out;
}

/** Whether `text` contains a CJK character (Han, kana, Hangul). */
export function hasCjk(text: string): boolean {
  return CJK.test(text);
}

/** A unit with a letter and no CJK character: something a synonym can replace. */
export function isWord(unit: string): boolean {
  return /\p{L}/u.test(unit) && !CJK.test(unit);
}

/** `replacement` with the capitalisation of `original`'s first letter. */
export function matchCase(original: string, replacement: string): string {
  const first = original[0] ?? "";
  return first !== first.toLowerCase()
    ? (replacement[0] ?? "").toUpperCase() + replacement.slice(1)
    : replacement;
}

/**
 * A synonym of word `unit` from `synonyms` (looked up in lower case, never the
 * word itself), in `unit`'s capitalisation; `undefined` when there is none.
 */
export function pickSynonym(
  unit: string,
  synonyms: SynonymSource | undefined,
  random: RandomIntegers,
): string | undefined {
  if (synonyms === undefined || !isWord(unit)) return undefined;
  const lower = unit.toLowerCase();
  const options = synonyms(lower).filter((word) => word !== lower);
  if (options.length === 0) return undefined;
  return matchCase(unit, options[random.integer(options.length)] as string);
}

const KEYBOARD_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];

/** A neighbouring key on a QWERTY keyboard (for lower-case Latin letters), else the letter itself. */
function neighbourKey(letter: string, random: RandomIntegers): string {
  for (let row = 0; row < KEYBOARD_ROWS.length; row++) {
    const keys = KEYBOARD_ROWS[row] as string;
    const column = keys.indexOf(letter);
    if (column < 0) continue;
    const options = [
      keys[column - 1],
      keys[column + 1],
      KEYBOARD_ROWS[row - 1]?.[column],
      KEYBOARD_ROWS[row + 1]?.[column],
    ].filter((key): key is string => key !== undefined);
    return options[random.integer(options.length)] as string;
  }
  return letter;
}

/**
 * One typo in `text` (a word, or a run of CJK characters): swap two adjacent
 * characters, delete one, double one or — in Latin text — hit a neighbouring
 * key. Texts shorter than two characters come back unchanged.
 */
export function typo(text: string, random: RandomIntegers): string {
  const characters = [...text];
  if (characters.length < 2) return text;
  const position = random.integer(characters.length - 1);
  // Mistyping a neighbouring key only makes sense for Latin letters.
  const operation = random.integer(/[a-z]/i.test(text) ? 4 : 3);
  if (operation === 0) {
    [characters[position], characters[position + 1]] = [
      characters[position + 1] as string,
      characters[position] as string,
    ];
  } else if (operation === 1) {
    characters.splice(position, 1);
  } else if (operation === 2) {
    characters.splice(position, 0, characters[position] as string);
  } else {
    const letter = characters[position] as string;
    const replaced = neighbourKey(letter.toLowerCase(), random);
    characters[position] = letter === letter.toLowerCase() ? replaced : replaced.toUpperCase();
  }
  return characters.join("");
}
