/**
 * @module bench/ner
 * NER benchmark, and the one command that reproduces the shipped taggers.
 * For each language it trains a tagger exactly as documented (encoder vectors
 * cached in `$EMBEDKIT_HOME/ner-cache`, so a rerun only retrains the head),
 * saves it to `<out>/ner-<lang>/`, and reports in the same run, side by side:
 * - entity micro-F1 and per-type P/R/F1 on the validation split, for the
 *   tagger and for the most-frequent-tag baseline fitted on the same training
 *   sentences (and, for MSRA, on the whole training pool too);
 * - training time (encoder pass over train + validation, head training);
 * - tagging throughput (words or characters per second) through the live path
 *   (`tagSentences`: encoder + head + Viterbi) next to the encoder alone
 *   (`embedWords`) on the same sentences, as a ratio.
 *
 * Splits (never tuned on anything else):
 * - en: CoNLL-2003 `train.txt` (all 14,041 sentences) → `valid.txt` (all 3,250).
 * - zh: MSRA parts 1–4 in order; validation = the last 1,258 sentences (the
 *   last 10 % of part 4), scored at the end. The other 49,400 sentences are
 *   the pool: dev = its last 2,048 sentences of part 3 (contiguous documents,
 *   never trained on) — the split that picks the epoch and the O penalty —,
 *   training = all other pool sentences (or the first `--sample` of them in
 *   shuffled order, seed 42). The head predicts BIOES (chosen on dev: see
 *   bench/out/RESULTS.md). `bench/ner-encode-zh.ts` fills the vector cache for the
 *   shuffled pool, so a run reads every vector from it; `bench/ner-dev-zh.ts`
 *   compares settings on the dev split.
 *
 * Run: `npx tsx bench/ner.ts --lang en|zh [--sample N] [--data <folder>, default $EMBEDKIT_DATA] [--out bench/out]`
 * then `npx tsx bench/ner.ts --render` to print the Markdown of both saved runs.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { createEmbedder } from "../src/embed/create-embedder.js";
import type { OnnxEmbedder } from "../src/embed/onnx/onnx-embedder.js";
import { type EntityF1Report, entityF1 } from "../src/eval/entity-f1.js";
import { fitMostFrequentTag } from "../src/ner/baseline.js";
import { readTaggedFile, type TaggedCorpus } from "../src/ner/readers.js";
import { type TagScheme, tagsToSpans } from "../src/ner/tag-scheme.js";
import {
  evaluateTagger,
  saveTagger,
  type TrainTaggerOptions,
  tagSentences,
  trainTagger,
} from "../src/ner/tagger.js";
import { benchDataPath } from "./lib/data.js";
import { loadMsra, MSRA_DEV_BLOCK, MSRA_VALIDATION, msraBlockSplit, MSRA_SEED as SEED } from "./lib/msra.js";

interface LanguageSetup {
  readonly model: string;
  readonly unit: "word" | "character";
  /**
   * `dev` (when set) picks the epoch and `validation` is scored once at the
   * end; without it `validation` picks the epoch (en: CoNLL has no other split).
   */
  readonly load: (
    dataDir: string,
    encoder: OnnxEmbedder,
  ) => Promise<{
    train: TaggedCorpus;
    dev?: TaggedCorpus;
    validation: TaggedCorpus;
    pool: TaggedCorpus;
    /** Encoder vectors of train and dev, when the split was carved out of one cached pass. */
    vectors?: TrainTaggerOptions["vectors"];
  }>;
  readonly describe: string;
  readonly epochs: number;
  readonly patience: number;
  /** Head learning rate. */
  readonly learningRate: number;
  /** Lexicon features (per unit tag distribution); dictionary bits are on for characters by default. */
  readonly lexicon: boolean;
  /** Tag scheme the head predicts (the files are BIO). */
  readonly scheme: TagScheme;
  /** Hidden layer sizes of the head ([] = linear). */
  readonly hidden: readonly number[];
  /** Penalty on the O tag at decoding; "tune" picks it on the dev split. */
  readonly outsidePenalty: number | "tune";
}

const MSRA_SAMPLE = argument("--sample") === undefined ? undefined : Number(argument("--sample"));
const THROUGHPUT_SENTENCES = 300;

const SETUPS: Readonly<Record<"en" | "zh", LanguageSetup>> = {
  en: {
    model: "all-minilm-l6-v2",
    unit: "word",
    epochs: 10,
    patience: 3,
    learningRate: 0.001,
    lexicon: true,
    scheme: "bio",
    hidden: [],
    outsidePenalty: 0,
    describe: "CoNLL-2003 train.txt (14,041 sentences) → valid.txt (3,250 sentences)",
    async load(dataDir) {
      const train = await readTaggedFile(join(dataDir, "conll2003-en/train.txt"), { format: "conll" });
      const validation = await readTaggedFile(join(dataDir, "conll2003-en/valid.txt"), { format: "conll" });
      return { train, validation, pool: train };
    },
  },
  zh: {
    model: "bge-small-zh-v1.5",
    unit: "character",
    epochs: 6,
    patience: 3,
    learningRate: 0.003,
    lexicon: true,
    scheme: "bioes",
    hidden: [],
    outsidePenalty: "tune",
    describe: `MSRA train parts 1–4; validation = last ${MSRA_VALIDATION} sentences (last 10 % of part 4), scored at the end; dev = the last ${MSRA_DEV_BLOCK} pool sentences of part 3 (contiguous documents, never trained on; picks the epoch and the O penalty); train = ${MSRA_SAMPLE === undefined ? "all other" : `the first ${MSRA_SAMPLE} other`} pool sentences (shuffled, seed ${SEED})`,
    async load(dataDir, encoder) {
      const splits = await loadMsra(dataDir);
      let last = 0;
      const block = await msraBlockSplit(
        splits,
        encoder,
        MSRA_SAMPLE ?? splits.pool.sentences.length,
        (done, total) => {
          if (performance.now() - last > 30_000 || done === total) {
            last = performance.now();
            console.error(`[zh] ${new Date().toISOString()} embed pool ${done}/${total}`);
          }
        },
      );
      return { ...block, validation: splits.validation, pool: splits.pool };
    },
  },
};

interface LanguageResult {
  readonly lang: string;
  readonly model: string;
  readonly data: string;
  readonly trainSentences: number;
  readonly trainUnits: number;
  readonly validationSentences: number;
  readonly validationUnits: number;
  readonly tagger: EntityF1Report;
  /** Dev-split score of the kept epoch (when a dev split picked it). */
  readonly dev?: EntityF1Report;
  readonly devSentences?: number;
  readonly baseline: EntityF1Report;
  readonly baselinePool?: EntityF1Report;
  readonly bestEpoch: number;
  readonly epochs: number;
  /** Penalty on the O tag the tagger decodes with (tuned on dev for zh). */
  readonly outsidePenalty?: number;
  readonly hidden?: readonly number[];
  readonly scheme?: TagScheme;
  readonly seconds: { readonly embedding: number; readonly training: number };
  readonly throughput: {
    readonly sentences: number;
    readonly units: number;
    readonly tagger: number;
    readonly encoder: number;
  };
  readonly machine: string;
  readonly finishedAt: string;
  readonly command: string;
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index < 0 ? undefined : process.argv[index + 1];
}

function baselineReport(train: TaggedCorpus, validation: TaggedCorpus): EntityF1Report {
  const baseline = fitMostFrequentTag(train);
  return entityF1(
    validation.sentences.map((sentence) => tagsToSpans(sentence.tags, validation.scheme)),
    validation.sentences.map((sentence) => tagsToSpans(baseline.tag(sentence.words), baseline.scheme)),
  );
}

async function runLanguage(lang: "en" | "zh", dataDir: string, outDir: string): Promise<LanguageResult> {
  const setup = SETUPS[lang];
  const encoder = (await createEmbedder({ model: setup.model })) as OnnxEmbedder;
  try {
    const { train, dev, validation, pool, vectors } = await setup.load(dataDir, encoder);
    const units = (corpus: TaggedCorpus): number =>
      corpus.sentences.reduce((sum, s) => sum + s.words.length, 0);
    console.error(
      `[${lang}] train ${train.sentences.length} sentences, ${dev === undefined ? "" : `dev ${dev.sentences.length}, `}validation ${validation.sentences.length}`,
    );
    let last = 0;
    const result = await trainTagger({
      embedder: encoder,
      train,
      validation: dev ?? validation,
      unit: setup.unit,
      epochs: setup.epochs,
      patience: setup.patience,
      learningRate: setup.learningRate,
      lexicon: setup.lexicon,
      scheme: setup.scheme,
      hidden: setup.hidden,
      outsidePenalty: setup.outsidePenalty,
      ...(vectors === undefined ? {} : { vectors }),
      seed: SEED,
      onEmbedProgress(corpus, done, total) {
        if (performance.now() - last > 30_000 || done === total) {
          last = performance.now();
          console.error(`[${lang}] ${new Date().toISOString()} embed ${corpus} ${done}/${total}`);
        }
      },
      onEpoch(report) {
        console.error(
          `[${lang}] ${new Date().toISOString()} epoch ${report.epoch} loss ${report.trainLoss.toFixed(4)} ${dev === undefined ? "val" : "dev"} F1 ${((report.validationMetric ?? 0) * 100).toFixed(2)} (${(report.milliseconds / 1000).toFixed(0)} s)`,
        );
      },
    });
    // Scored once, after the epoch was picked on dev (en: validation picked it; no other split exists).
    const scored =
      dev === undefined ? result.validation : await evaluateTagger(result.tagger, encoder, validation);
    await saveTagger(join(outDir, `ner-${lang}`), result.tagger, {
      bench: "bench/ner.ts",
      data: setup.describe,
      seconds: result.seconds,
      validationF1: scored?.micro.f1 ?? null,
      ...(dev === undefined ? {} : { devF1: result.validation?.micro.f1 ?? null }),
      history: result.history,
    });
    // Throughput through the live path vs the encoder alone, same sentences.
    const sample = validation.sentences.slice(0, THROUGHPUT_SENTENCES).map((sentence) => sentence.words);
    const sampleUnits = sample.reduce((sum, words) => sum + words.length, 0);
    let started = performance.now();
    await encoder.embedWords(sample);
    const encoderSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    await tagSentences(result.tagger, encoder, sample);
    const taggerSeconds = (performance.now() - started) / 1000;
    return {
      lang,
      model: setup.model,
      data: setup.describe,
      trainSentences: train.sentences.length,
      trainUnits: units(train),
      validationSentences: validation.sentences.length,
      validationUnits: units(validation),
      tagger: scored as EntityF1Report,
      ...(dev === undefined
        ? {}
        : { dev: result.validation as EntityF1Report, devSentences: dev.sentences.length }),
      baseline: baselineReport(train, validation),
      ...(pool === train ? {} : { baselinePool: baselineReport(pool, validation) }),
      bestEpoch: result.bestEpoch,
      epochs: setup.epochs,
      outsidePenalty: result.tagger.settings.outsidePenalty,
      hidden: setup.hidden,
      scheme: setup.scheme,
      seconds: result.seconds,
      throughput: {
        sentences: sample.length,
        units: sampleUnits,
        tagger: sampleUnits / taggerSeconds,
        encoder: sampleUnits / encoderSeconds,
      },
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB, Node ${process.version}; load average at the end ${loadavg()[0]?.toFixed(1)} (shared with other processes)`,
      finishedAt: new Date().toISOString(),
      command: `npx tsx bench/ner.ts --lang ${lang}${lang === "zh" && MSRA_SAMPLE !== undefined ? ` --sample ${MSRA_SAMPLE}` : ""}`,
    };
  } finally {
    await encoder.close();
  }
}

const percent = (value: number): string => (value * 100).toFixed(2);

function render(results: readonly LanguageResult[]): string {
  const lines: string[] = [];
  lines.push(
    "| set | model | tagger F1 | baseline F1 | ratio | tagger P / R | train sentences | best epoch | embed s | head s | tagging units/s | encoder-only units/s | tagging / encoder |",
  );
  lines.push("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of results) {
    lines.push(
      `| ${r.lang === "en" ? "CoNLL-2003 valid" : `MSRA validation slice`} | ${r.model} | **${percent(r.tagger.micro.f1)}** | ${percent(r.baseline.micro.f1)} | ${(r.tagger.micro.f1 / r.baseline.micro.f1).toFixed(2)}× | ${percent(r.tagger.micro.precision)} / ${percent(r.tagger.micro.recall)} | ${r.trainSentences} | ${r.bestEpoch}/${r.epochs} | ${r.seconds.embedding.toFixed(0)} | ${r.seconds.training.toFixed(0)} | ${r.throughput.tagger.toFixed(0)} | ${r.throughput.encoder.toFixed(0)} | ${(r.throughput.tagger / r.throughput.encoder).toFixed(2)} |`,
    );
  }
  lines.push("");
  lines.push("Per type (tagger P / R / F1 — baseline F1; support = gold entities):");
  lines.push("");
  lines.push("| set | type | support | precision | recall | F1 | baseline F1 |");
  lines.push("|---|---|---:|---:|---:|---:|---:|");
  for (const r of results) {
    for (const [type, scores] of Object.entries(r.tagger.perType)) {
      lines.push(
        `| ${r.lang} | ${type} | ${scores.support} | ${percent(scores.precision)} | ${percent(scores.recall)} | ${percent(scores.f1)} | ${percent(r.baseline.perType[type]?.f1 ?? 0)} |`,
      );
    }
  }
  lines.push("");
  for (const r of results) {
    lines.push(
      `- ${r.lang}: ${r.data}; ${r.trainUnits} training ${r.lang === "en" ? "words" : "characters"}, ${r.validationUnits} validation. ${r.baselinePool === undefined ? "" : `Baseline fitted on the whole training pool (49,400 sentences, dev included) instead: F1 ${percent(r.baselinePool.micro.f1)}. `}${r.dev === undefined ? "" : `Epoch${typeof r.outsidePenalty === "number" && r.outsidePenalty > 0 ? ` and O penalty (${r.outsidePenalty})` : ""} picked on the dev split (${r.devSentences} pool sentences, dev F1 ${percent(r.dev.micro.f1)}); the validation slice was scored after that, once. `}${r.scheme === undefined ? "" : `Head predicts ${r.scheme.toUpperCase()}${r.hidden !== undefined && r.hidden.length > 0 ? `, hidden layer ${r.hidden.join("×")}` : ", linear"}. `}Throughput on the first ${r.throughput.sentences} validation sentences (${r.throughput.units} units). ${r.machine}. Finished ${r.finishedAt}. Command: \`${r.command}\`.`,
    );
  }
  return lines.join("\n");
}

const outDir = resolve(argument("--out") ?? "bench/out");
await mkdir(outDir, { recursive: true });
if (process.argv.includes("--render")) {
  const results: LanguageResult[] = [];
  for (const lang of ["en", "zh"]) {
    try {
      results.push(JSON.parse(await readFile(join(outDir, `ner-${lang}.json`), "utf8")) as LanguageResult);
    } catch {
      console.error(`no saved run for ${lang} in ${outDir}`);
    }
  }
  console.log(render(results));
} else {
  const lang = argument("--lang");
  if (lang !== "en" && lang !== "zh") {
    console.error(
      "usage: npx tsx bench/ner.ts --lang en|zh [--data <folder, default $EMBEDKIT_DATA>] [--out bench/out] | --render",
    );
    process.exit(1);
  }
  const dataDir = benchDataPath(argument("--data"));
  const result = await runLanguage(lang, dataDir, outDir);
  await writeFile(join(outDir, `ner-${lang}.json`), `${JSON.stringify(result, null, 2)}\n`);
  console.log(render([result]));
}
