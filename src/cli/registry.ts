/**
 * @module cli/registry
 * The list of commands: for each, its name, its line in `embedkit --help` and a
 * loader that imports the file defining it. `main` imports only the command
 * being run, so `embedkit --help` and every single command start without
 * loading the others (the server, the store, the media stack...). Adding a
 * command = adding an entry; `test/cli/registry.test.ts` checks every `term`
 * and `description` against the loaded command, so they cannot drift.
 */
import type { Command } from "commander";

/** One top-level command, described without importing it. */
export interface CommandEntry {
  /** The command name (`embedkit <name>`). */
  readonly name: string;
  /** Its line in `embedkit --help`, as commander prints it (`embed [options] [inputs...]`). */
  readonly term: string;
  /** Its one-line description, identical to the loaded command's. */
  readonly description: string;
  /** Import the file that defines the command and build it. */
  readonly load: () => Promise<Command>;
}

/** Every top-level command, in help order. */
export const COMMANDS: readonly CommandEntry[] = Object.freeze([
  {
    name: "embed",
    term: "embed [options] [inputs...]",
    description:
      "Embed texts (arguments, stdin lines, or --file) — or image/video/audio files with --modality — and write vectors as JSONL, CSV or .npy.",
    load: async () => (await import("./embed.js")).embedCommand(),
  },
  {
    name: "similarity",
    term: "similarity [options] <texts...>",
    description: "Print the pairwise similarity matrix of two or more texts.",
    load: async () => (await import("./similarity.js")).similarityCommand(),
  },
  {
    name: "models",
    term: "models [options]",
    description: "Manage the local model cache: list, pull, info, verify, quantize, rm",
    load: async () => (await import("./models.js")).modelsCommand(),
  },
  {
    name: "words",
    term: "words",
    description: "Static word vectors (GloVe-derived, 100-d): nearest words, analogies and raw vectors.",
    load: async () => (await import("./words.js")).wordsCommand(),
  },
  {
    name: "serve",
    term: "serve [options]",
    description:
      "Run the OpenAI-compatible embeddings server (POST /v1/embeddings, /v1/models, /health, /metrics).",
    load: async () => (await import("./serve.js")).serveCommand(),
  },
  {
    name: "eval",
    term: "eval [options] <task>",
    description:
      "Evaluate models on STS, pair classification, retrieval, classification and clustering; write JSON/Markdown/HTML reports.",
    load: async () => (await import("./eval.js")).evalCommand(),
  },
  {
    name: "inspect",
    term: "inspect [options] <file>",
    description:
      "Quality measures (information density, robustness) and a 2-D projection of one model's embeddings of a file of texts.",
    load: async () => (await import("./inspect.js")).inspectCommand(),
  },
  {
    name: "index",
    term: "index [options] <collection> [files...]",
    description:
      "Embed the documents of a file into a vector collection (created on first use). Idempotent and resumable by id.",
    load: async () => (await import("./index-command.js")).indexCommand(),
  },
  {
    name: "search",
    term: "search [options] <collection> [query]",
    description: "Semantic search in a vector collection: the query is embedded with the collection's model.",
    load: async () => (await import("./search.js")).searchCommand(),
  },
  {
    name: "collections",
    term: "collections",
    description: "List, describe and drop vector collections.",
    load: async () => (await import("./collections.js")).collectionsCommand(),
  },
  {
    name: "faq",
    term: "faq",
    description:
      "FAQ answering (customer service): index a question/answer file, ask, calibrate the threshold, evaluate.",
    load: async () => (await import("./faq.js")).faqCommand(),
  },
  {
    name: "recommend",
    term: "recommend",
    description:
      "Content-based and hybrid recommendations: index a catalog and interactions, then recommend for users, items, queries and new users.",
    load: async () => (await import("./recommend.js")).recommendCommand(),
  },
  {
    name: "social",
    term: "social",
    description:
      "Social-media analysis: sentiment, topics and trends over time of a CSV/TSV/JSONL export, with an HTML report.",
    load: async () => (await import("./social.js")).socialCommand(),
  },
  {
    name: "ner",
    term: "ner [options] [texts...]",
    description:
      "Find named entities (type, text, start, end, score) with a tagger from `embedkit train ner` or `embedkit finetune ner`.",
    load: async () => (await import("./ner.js")).nerCommand(),
  },
  {
    name: "train",
    term: "train",
    description:
      "Train heads on frozen embeddings: a text classifier, a query adapter for retrieval, or a named-entity tagger.",
    load: async () => (await import("./train.js")).trainCommand(),
  },
  {
    name: "finetune",
    term: "finetune",
    description:
      "Fine-tune the encoder itself (not only a head) on labelled data: classifier, embeddings, ner.",
    load: async () => (await import("./finetune.js")).finetuneCommand(),
  },
  {
    name: "classify",
    term: "classify [options] [texts...]",
    description:
      "Label texts with a trained classifier (--classifier) or zero-shot from label names (--labels); prints label, probability and text per line, or JSON with all probabilities.",
    load: async () => (await import("./classify.js")).classifyCommand(),
  },
  {
    name: "jobs",
    term: "jobs",
    description:
      "Distributed indexing on a Redis queue: submit files, follow, cancel and retry runs (see docs/JOBS.md)",
    load: async () => (await import("./jobs.js")).jobsCommand(),
  },
  {
    name: "worker",
    term: "worker [options]",
    description: "Embed and index chunk jobs from the queue into the store each job names, until SIGTERM",
    load: async () => (await import("./worker.js")).workerCommand(),
  },
] satisfies CommandEntry[]);
