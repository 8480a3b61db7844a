/**
 * @module models/sentencepiece
 * Read a serialized SentencePiece model (`sentencepiece_model.proto`'s
 * `ModelProto`: pieces with scores and types, trainer and normalizer specs)
 * and turn a unigram model into a Hugging Face `tokenizer.json`, so the
 * existing `@huggingface/tokenizers` dependency tokenizes it (Viterbi over the
 * same pieces and scores; unknown characters score `min - 10` as in
 * SentencePiece). The normalizer `nmt_nfkc` becomes the library's
 * `Precompiled` normalizer (NFKC plus the NMT rules: control characters
 * dropped, exotic spaces turned into spaces), then surrounding whitespace is
 * stripped and runs of spaces collapsed (`remove_extra_whitespaces`), and
 * `▁` marks word starts (`add_dummy_prefix`, `escape_whitespaces`). This is the
 * layout Hugging Face's own SentencePiece conversions use. Agreement with the
 * reference SentencePiece library is measured in bench/notes/multilingual.md.
 */

import { protobufFields } from "./protobuf.js";

/** `SentencePiece.Type` of sentencepiece_model.proto. */
export const SENTENCEPIECE_PIECE_TYPES = Object.freeze({
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const);

/** One vocabulary entry. */
export interface SentencePiece {
  readonly piece: string;
  readonly score: number;
  /** One of {@link SENTENCEPIECE_PIECE_TYPES}. */
  readonly type: number;
}

/** What embedkit needs from a SentencePiece `ModelProto`. */
export interface SentencePieceModel {
  readonly pieces: readonly SentencePiece[];
  /** `TrainerSpec.model_type`: 1 unigram, 2 BPE, 3 word, 4 char. */
  readonly modelType: number;
  readonly unknownId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly byteFallback: boolean;
  readonly normalizer: {
    /** e.g. `nmt_nfkc`, `nfkc`, `identity`. */
    readonly name: string;
    readonly precompiledCharsmap: Uint8Array;
    readonly addDummyPrefix: boolean;
    readonly removeExtraWhitespaces: boolean;
    readonly escapeWhitespaces: boolean;
  };
}

// Field numbers from sentencepiece_model.proto.
const MODEL_PIECES = 1;
const MODEL_TRAINER_SPEC = 2;
const MODEL_NORMALIZER_SPEC = 3;
const PIECE_TEXT = 1;
const PIECE_SCORE = 2;
const PIECE_TYPE = 3;
const TRAINER_MODEL_TYPE = 3;
const TRAINER_BYTE_FALLBACK = 35;
const TRAINER_UNK_ID = 40;
const TRAINER_BOS_ID = 41;
const TRAINER_EOS_ID = 42;
const NORMALIZER_NAME = 1;
const NORMALIZER_CHARSMAP = 2;
const NORMALIZER_ADD_DUMMY_PREFIX = 3;
const NORMALIZER_REMOVE_EXTRA_WHITESPACES = 4;
const NORMALIZER_ESCAPE_WHITESPACES = 5;

const UNIGRAM = 1;
const text = new TextDecoder("utf-8", { fatal: true });

/**
 * Parse a serialized SentencePiece model.
 * @throws Error when the bytes are not a SentencePiece model (no pieces, a piece without text)
 */
export function parseSentencePieceModel(bytes: Uint8Array): SentencePieceModel {
  const pieces: SentencePiece[] = [];
  // Proto defaults (sentencepiece_model.proto).
  let modelType = UNIGRAM;
  let byteFallback = false;
  let unknownId = 0;
  let bosId = 1;
  let eosId = 2;
  let name = "nmt_nfkc";
  let precompiledCharsmap: Uint8Array = new Uint8Array(0);
  let addDummyPrefix = true;
  let removeExtraWhitespaces = true;
  let escapeWhitespaces = true;
  for (const field of protobufFields(bytes)) {
    if (field.number === MODEL_PIECES && field.bytes) {
      let piece: string | undefined;
      let score = 0;
      let type: number = SENTENCEPIECE_PIECE_TYPES.normal;
      for (const inner of protobufFields(field.bytes)) {
        if (inner.number === PIECE_TEXT && inner.bytes) piece = text.decode(inner.bytes);
        else if (inner.number === PIECE_SCORE && inner.float !== undefined) score = inner.float;
        else if (inner.number === PIECE_TYPE && inner.value !== undefined) type = inner.value;
      }
      if (piece === undefined) throw new Error(`piece ${pieces.length} has no text`);
      pieces.push({ piece, score, type });
    } else if (field.number === MODEL_TRAINER_SPEC && field.bytes) {
      for (const inner of protobufFields(field.bytes)) {
        if (inner.value === undefined) continue;
        if (inner.number === TRAINER_MODEL_TYPE) modelType = inner.value;
        else if (inner.number === TRAINER_BYTE_FALLBACK) byteFallback = inner.value !== 0;
        else if (inner.number === TRAINER_UNK_ID) unknownId = inner.value;
        else if (inner.number === TRAINER_BOS_ID) bosId = inner.value;
        else if (inner.number === TRAINER_EOS_ID) eosId = inner.value;
      }
    } else if (field.number === MODEL_NORMALIZER_SPEC && field.bytes) {
      for (const inner of protobufFields(field.bytes)) {
        if (inner.number === NORMALIZER_NAME && inner.bytes) name = text.decode(inner.bytes);
        else if (inner.number === NORMALIZER_CHARSMAP && inner.bytes) precompiledCharsmap = inner.bytes;
        else if (inner.value === undefined) continue;
        else if (inner.number === NORMALIZER_ADD_DUMMY_PREFIX) addDummyPrefix = inner.value !== 0;
        else if (inner.number === NORMALIZER_REMOVE_EXTRA_WHITESPACES)
          removeExtraWhitespaces = inner.value !== 0;
        else if (inner.number === NORMALIZER_ESCAPE_WHITESPACES) escapeWhitespaces = inner.value !== 0;
      }
    }
  }
  if (pieces.length === 0) throw new Error("no vocabulary pieces: not a SentencePiece model");
  return {
    pieces,
    modelType,
    unknownId,
    bosId,
    eosId,
    byteFallback,
    normalizer: { name, precompiledCharsmap, addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces },
  };
}

/** Options of {@link sentencePieceTokenizerJson}. */
export interface SentencePieceTokenizerOptions {
  /** Put the BOS piece before every sequence. */
  readonly addBos: boolean;
  /** Put the EOS piece after every sequence. */
  readonly addEos: boolean;
}

/**
 * A `tokenizer.json` (Hugging Face format, unigram model) equivalent to a
 * SentencePiece unigram model with the `nmt_nfkc` or `nfkc` normalizer.
 * @throws Error for a BPE/word/char model, byte fallback, or another normalizer
 */
export function sentencePieceTokenizerJson(
  model: SentencePieceModel,
  options: SentencePieceTokenizerOptions,
): Record<string, unknown> {
  if (model.modelType !== UNIGRAM) {
    throw new Error(`SentencePiece model type ${model.modelType} is not supported (only unigram, 1)`);
  }
  if (model.byteFallback) throw new Error("SentencePiece byte fallback is not supported");
  const { normalizer } = model;
  if (normalizer.name !== "nmt_nfkc" && normalizer.name !== "nfkc") {
    throw new Error(`SentencePiece normalizer "${normalizer.name}" is not supported (nmt_nfkc or nfkc)`);
  }
  if (!normalizer.escapeWhitespaces)
    throw new Error("SentencePiece models without escape_whitespaces are not supported");
  const pieceAt = (id: number, what: string): string => {
    const entry = model.pieces[id];
    if (entry === undefined) throw new Error(`${what} id ${id} is outside the ${model.pieces.length} pieces`);
    return entry.piece;
  };
  const unknown = pieceAt(model.unknownId, "unknown");
  // Control and unknown pieces are special tokens (never produced from text by the Viterbi pass
  // in SentencePiece; here they are matched only when they appear literally, as in Hugging Face's
  // own conversions).
  const added = model.pieces.flatMap((entry, id) =>
    entry.type === SENTENCEPIECE_PIECE_TYPES.control || entry.type === SENTENCEPIECE_PIECE_TYPES.unknown
      ? [
          {
            id,
            content: entry.piece,
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
            special: true,
          },
        ]
      : [],
  );
  const single: unknown[] = [];
  const specialTokens: Record<string, unknown> = {};
  if (options.addBos) {
    const bos = pieceAt(model.bosId, "BOS");
    single.push({ SpecialToken: { id: bos, type_id: 0 } });
    specialTokens[bos] = { id: bos, ids: [model.bosId], tokens: [bos] };
  }
  single.push({ Sequence: { id: "A", type_id: 0 } });
  if (options.addEos) {
    const eos = pieceAt(model.eosId, "EOS");
    single.push({ SpecialToken: { id: eos, type_id: 0 } });
    specialTokens[eos] = { id: eos, ids: [model.eosId], tokens: [eos] };
  }
  const normalizers: unknown[] = [
    normalizer.name === "nmt_nfkc"
      ? {
          type: "Precompiled",
          precompiled_charsmap: Buffer.from(normalizer.precompiledCharsmap).toString("base64"),
        }
      : { type: "NFKC" },
  ];
  if (normalizer.removeExtraWhitespaces) {
    normalizers.push(
      { type: "Strip", strip_left: true, strip_right: true },
      { type: "Replace", pattern: { Regex: " {2,}" }, content: " " },
    );
  }
  const metaspace = {
    type: "Metaspace",
    replacement: "▁",
    prepend_scheme: normalizer.addDummyPrefix ? "always" : "never",
    split: false,
  };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: "Sequence", normalizers },
    pre_tokenizer: metaspace,
    post_processor: { type: "TemplateProcessing", single, pair: single, special_tokens: specialTokens },
    decoder: metaspace,
    model: {
      type: "Unigram",
      unk_id: model.unknownId,
      unk_token: unknown,
      vocab: model.pieces.map((entry) => [entry.piece, entry.score]),
      byte_fallback: false,
    },
  };
}
