/**
 * @module bench/zero-shot
 * Zero-shot classification from label names (`createZeroShotClassifier`,
 * `embedkit classify --labels`) on the shared classification sets: SST-2,
 * airline-tweet sentiment, AG News, TREC (coarse), ChnSentiCorp and THUCNews
 * titles, with the label words a user would type. For each catalog text model
 * it scores every candidate template × input-type mode on a SELECTION sample
 * of each set's training split, picks the candidate with the best mean
 * accuracy over the model's language's sets, and reports that choice against
 * the old generic default ("This text is about {label}.", no prefixes) on a
 * REPORT sample of the held-out split, with the majority class as a floor.
 * "README default" is what `embedkit classify --labels` did before (the
 * default model all-minilm-l6-v2 with the generic template) and "new default"
 * what it does now (bge-small-en-v1.5 / bge-small-zh-v1.5 by the script of
 * the texts, with the model's chosen settings).
 * Embeddings go through the on-disk eval cache, so re-runs are cheap.
 *
 * Run: `npx tsx bench/zero-shot.ts [--data <folder>, default $EMBEDKIT_DATA] [--select 400] [--report 1000]
 *   [--models all-minilm-l6-v2,bge-small-en-v1.5,e5-small-v2,bge-small-zh-v1.5] [--out bench/out]`
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createEmbedder } from "../src/embed/create-embedder.js";
import type { Embedder, InputType } from "../src/embed/embedder.js";
import {
  createZeroShotClassifier,
  DEFAULT_ZERO_SHOT_MODELS,
  GENERIC_ZERO_SHOT_SETTINGS,
  ZERO_SHOT_DEFAULTS,
  type ZeroShotSettings,
} from "../src/embed/zero-shot.js";
import { accuracy } from "../src/eval/classification-metrics.js";
import { embedTexts } from "../src/eval/embedding-cache.js";
import { createRandom } from "../src/eval/random.js";
import { type LabeledText, loadLabeledSet, readLabeledTexts, splitLabeled } from "../src/eval/task-data.js";
import { benchDataPath } from "./lib/data.js";
import { busyCores } from "./lib/machine-load.js";

type Language = "en" | "zh";

/** One set: how to load its two splits and the label words a user would type for its classes. */
interface ZeroShotSet {
  readonly id: string;
  readonly language: Language;
  /** Class as stored → label given to the classifier. */
  readonly labels: Readonly<Record<string, string>>;
  readonly load: (
    dataDir: string,
  ) => Promise<{ selection: readonly LabeledText[]; report: readonly LabeledText[] }>;
  readonly splits: string;
}

async function fromTaskSet(id: string, dataDir: string) {
  const { train, test } = await loadLabeledSet(id, { dataDir, seed: 42 });
  return { selection: train, report: test };
}

const SETS: readonly ZeroShotSet[] = [
  {
    id: "sst-2",
    language: "en",
    labels: { "0": "negative", "1": "positive" },
    load: (dataDir) => fromTaskSet("sst-2", dataDir),
    splits: "select on train, report on dev",
  },
  {
    id: "twitter-airline",
    language: "en",
    labels: { negative: "negative", neutral: "neutral", positive: "positive" },
    load: async (dataDir) => {
      const items = await readLabeledTexts(join(dataDir, "twitter-us-airline-sentiment/Tweets.csv"), {
        format: "csv",
        header: true,
        text: "text",
        label: "airline_sentiment",
      });
      const { train, test } = splitLabeled(items, { seed: 42 });
      return { selection: train, report: test };
    },
    splits: "seeded 80/20 split of Tweets.csv: select on the 80 %, report on the 20 %",
  },
  {
    id: "ag-news",
    language: "en",
    labels: { World: "world", Sports: "sports", Business: "business", "Sci/Tech": "science and technology" },
    load: (dataDir) => fromTaskSet("ag-news", dataDir),
    splits: "seeded 80/20 split of test-even: select on the 80 %, report on the 20 %",
  },
  {
    id: "trec-qc",
    language: "en",
    labels: {
      ABBR: "abbreviation",
      DESC: "description",
      ENTY: "entity",
      HUM: "person",
      LOC: "location",
      NUM: "number",
    },
    load: (dataDir) => fromTaskSet("trec-qc", dataDir),
    splits: "seeded 80/20 split of train: select on the 80 %, report on the 20 %",
  },
  {
    id: "chnsenticorp",
    language: "zh",
    labels: { "0": "负面", "1": "正面" },
    load: (dataDir) => fromTaskSet("chnsenticorp", dataDir),
    splits: "select on train, report on dev",
  },
  {
    id: "thucnews-titles",
    language: "zh",
    labels: {
      finance: "财经",
      realty: "房产",
      stocks: "股票",
      education: "教育",
      science: "科技",
      society: "社会",
      politics: "时政",
      sports: "体育",
      game: "游戏",
      entertainment: "娱乐",
    },
    load: (dataDir) => fromTaskSet("thucnews-titles", dataDir),
    splits: "seeded 80/20 split of dev: select on the 80 %, report on the 20 %",
  },
];

/**
 * Candidate templates. Only task-neutral ones can become a model's default (the classifier
 * does not know the task); the sentiment template is scored and reported as the advice for
 * sentiment labels, not chosen.
 */
const TEMPLATES: Readonly<Record<Language, readonly string[]>> = {
  en: [GENERIC_ZERO_SHOT_SETTINGS.template, "{label}", "A {label} text.", "This text is {label}."],
  zh: [GENERIC_ZERO_SHOT_SETTINGS.template, "{label}", "这是一段{label}的文字。", "关于{label}的内容。"],
};
const SENTIMENT_TEMPLATES: Readonly<Record<Language, string>> = {
  en: "The sentiment of this text is {label}.",
  zh: "这段文字的情感是{label}。",
};

/** Input-type modes worth trying per model: text side / label side. */
function modesOf(embedder: Embedder): { text: InputType; label: InputType }[] {
  const { prefixes } = embedder.model;
  const modes: { text: InputType; label: InputType }[] = [{ text: "none", label: "none" }];
  if (prefixes.query !== undefined) modes.push({ text: "none", label: "query" });
  if (prefixes.passage !== undefined) {
    modes.push({ text: "query", label: "query" }, { text: "passage", label: "query" });
  }
  return modes;
}

function languageOf(modelId: string): Language {
  return modelId.includes("-zh") ? "zh" : "en";
}

function sample(items: readonly LabeledText[], count: number, seed: number): LabeledText[] {
  return items.length <= count ? [...items] : createRandom(seed).shuffle(items).slice(0, count);
}

function majorityShare(items: readonly LabeledText[]): number {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item.label, (counts.get(item.label) ?? 0) + 1);
  return Math.max(...counts.values()) / items.length;
}

interface Scored {
  readonly settings: ZeroShotSettings;
  readonly accuracies: Record<string, number>;
  readonly mean: number;
}

async function score(
  embedder: Embedder,
  set: ZeroShotSet,
  items: readonly LabeledText[],
  settings: ZeroShotSettings,
): Promise<number> {
  const classes = Object.keys(set.labels);
  const classifier = await createZeroShotClassifier({
    embedder,
    labels: classes.map((name) => set.labels[name] as string),
    template: settings.template,
    textInputType: settings.textInputType,
    labelInputType: settings.labelInputType,
  });
  const { vectors } = await embedTexts({
    embedder,
    texts: items.map((item) => item.text),
    inputType: settings.textInputType,
  });
  const byLabel = new Map(classes.map((name) => [set.labels[name] as string, name]));
  const predicted = classifier.predict(vectors).map((prediction) => byLabel.get(prediction.label) as string);
  return accuracy(
    items.map((item) => item.label),
    predicted,
  );
}

function percent(value: number | undefined): string {
  return value === undefined ? "–" : `${(value * 100).toFixed(1)}`;
}

function describe(settings: ZeroShotSettings): string {
  const modes =
    settings.textInputType === "none" && settings.labelInputType === "none"
      ? "no prefixes"
      : `texts: ${settings.textInputType}, labels: ${settings.labelInputType}`;
  return `\`${settings.template}\` (${modes})`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: "string" },
      select: { type: "string", default: "400" },
      report: { type: "string", default: "1000" },
      models: {
        type: "string",
        default: "all-minilm-l6-v2,bge-small-en-v1.5,e5-small-v2,bge-small-zh-v1.5",
      },
      out: { type: "string", default: "bench/out" },
    },
    strict: true,
  });
  const dataDir = benchDataPath(values.data);
  const selectCount = Number(values.select);
  const reportCount = Number(values.report);
  const models = values.models.split(",").map((model) => model.trim());
  const log = (message: string): void => {
    process.stderr.write(`${message}\n`);
  };
  const busy = await busyCores();
  const started = new Date().toISOString();
  const data = new Map<string, { selection: LabeledText[]; report: LabeledText[] }>();
  for (const set of SETS) {
    const { selection, report } = await set.load(dataDir);
    data.set(set.id, {
      selection: sample(selection, selectCount, 1),
      report: sample(report, reportCount, 2),
    });
  }
  const chosen = new Map<string, Scored>();
  const candidatesByModel = new Map<string, Scored[]>();
  const reportRows = new Map<string, Record<string, number>>();
  const generic = (model: string): string => `${model} · generic`;
  /** Render and write what is measured so far (after every model, and at the end). */
  const writeResults = async (final: boolean): Promise<void> => {
    const busyAfter = final ? await busyCores() : Number.NaN;
    const lines: string[] = [];
    lines.push(
      `Selection sample ≤ ${selectCount} per set (training side), report sample ≤ ${reportCount} per set (held-out side); accuracy in %.`,
    );
    lines.push("", "### Chosen per model (selection split, mean over the model's language's sets)", "");
    lines.push(
      `| model | chosen (task-neutral templates only) | selection mean | generic template | ${SETS.map((set) => `${set.id} (chosen)`).join(" | ")} |`,
      `| --- | --- | ---: | ---: | ${SETS.map(() => "---:").join(" | ")} |`,
    );
    for (const [model, best] of chosen) {
      const genericCandidate = candidatesByModel
        .get(model)
        ?.find(
          (candidate) =>
            candidate.settings.template === GENERIC_ZERO_SHOT_SETTINGS.template &&
            candidate.settings.textInputType === "none" &&
            candidate.settings.labelInputType === "none",
        );
      lines.push(
        `| ${model} | ${describe(best.settings)} | ${percent(best.mean)} | ${percent(genericCandidate?.mean)} | ${SETS.map((set) => percent(best.accuracies[set.id])).join(" | ")} |`,
      );
    }
    const shipped = [...chosen].map(([model, best]) => {
      const same = JSON.stringify(ZERO_SHOT_DEFAULTS[model]) === JSON.stringify(best.settings);
      return `${model}: ${same ? "yes" : "NO — update ZERO_SHOT_DEFAULTS"}`;
    });
    lines.push("", `ZERO_SHOT_DEFAULTS equal to the choice: ${shipped.join("; ")}.`);
    lines.push("", "### Held-out report split", "");
    lines.push(`| settings | ${SETS.map((set) => set.id).join(" | ")} |`);
    lines.push(`| --- | ${SETS.map(() => "---:").join(" | ")} |`);
    lines.push(
      `| majority class | ${SETS.map((set) => percent(majorityShare(data.get(set.id)?.report ?? []))).join(" | ")} |`,
    );
    for (const [name, accuracies] of reportRows) {
      lines.push(`| ${name} | ${SETS.map((set) => percent(accuracies[set.id])).join(" | ")} |`);
    }
    const before = reportRows.get(generic("all-minilm-l6-v2"));
    const after = (set: ZeroShotSet): number | undefined =>
      reportRows.get(`${DEFAULT_ZERO_SHOT_MODELS[set.language]} · chosen`)?.[set.id];
    lines.push("", "### README default before → after (held-out report split)", "");
    lines.push(
      "| set | before: all-minilm-l6-v2, generic | after: new default model + settings | majority |",
    );
    lines.push("| --- | ---: | ---: | ---: |");
    for (const set of SETS) {
      lines.push(
        `| ${set.id} | ${percent(before?.[set.id])} | ${percent(after(set))} | ${percent(majorityShare(data.get(set.id)?.report ?? []))} |`,
      );
    }
    lines.push("", "Splits:", ...SETS.map((set) => `- ${set.id}: ${set.splits}.`));
    lines.push(
      "",
      `Started ${started}; other work kept ${busy.toFixed(2)} cores busy before the run, ${final ? `${busyAfter.toFixed(2)} after` : "(partial: written after each model)"}.`,
    );
    const markdown = lines.join("\n");
    await mkdir(values.out, { recursive: true });
    await writeFile(
      join(values.out, "zero-shot.json"),
      JSON.stringify(
        {
          started,
          busyCoresBefore: busy,
          candidates: Object.fromEntries(candidatesByModel),
          report: Object.fromEntries(reportRows),
        },
        null,
        2,
      ),
    );
    await writeFile(join(values.out, "zero-shot.md"), `${markdown}\n`);
    if (final) process.stdout.write(`${markdown}\n`);
  };
  for (const model of models) {
    const language = languageOf(model);
    const embedder = await createEmbedder({ model });
    try {
      const sets = SETS.filter((set) => set.language === language);
      const candidates: Scored[] = [];
      for (const mode of modesOf(embedder)) {
        for (const template of [...TEMPLATES[language], SENTIMENT_TEMPLATES[language]]) {
          const settings = { template, textInputType: mode.text, labelInputType: mode.label };
          const accuracies: Record<string, number> = {};
          for (const set of sets) {
            accuracies[set.id] = await score(embedder, set, data.get(set.id)?.selection ?? [], settings);
          }
          const mean = Object.values(accuracies).reduce((a, b) => a + b, 0) / sets.length;
          candidates.push({ settings, accuracies, mean });
          log(`${model} select ${describe(settings)}: mean ${percent(mean)}`);
        }
      }
      candidates.sort((a, b) => b.mean - a.mean);
      candidatesByModel.set(model, candidates);
      const neutral = candidates.filter(
        (candidate) => candidate.settings.template !== SENTIMENT_TEMPLATES[language],
      );
      const best = neutral[0] as Scored;
      const sentiment = candidates.find(
        (candidate) =>
          candidate.settings.template === SENTIMENT_TEMPLATES[language] &&
          candidate.settings.textInputType === best.settings.textInputType &&
          candidate.settings.labelInputType === best.settings.labelInputType,
      ) as Scored;
      chosen.set(model, best);
      // Report: the generic default and the chosen one, on the held-out sample of every set.
      const rows: [string, ZeroShotSettings][] = [
        [generic(model), GENERIC_ZERO_SHOT_SETTINGS],
        [`${model} · chosen`, best.settings],
        [`${model} · sentiment template`, sentiment.settings],
      ];
      for (const [name, settings] of rows) {
        const accuracies: Record<string, number> = {};
        for (const set of SETS) {
          if (set.language !== language && model !== "all-minilm-l6-v2") continue;
          accuracies[set.id] = await score(embedder, set, data.get(set.id)?.report ?? [], settings);
        }
        reportRows.set(name, accuracies);
        log(`${name} report: ${JSON.stringify(accuracies)}`);
      }
    } finally {
      await embedder.close();
    }
    await writeResults(false);
  }
  await writeResults(true);
}

await main();
