/**
 * @module cli/registry
 * The list of commands, one factory per file. Adding a command = adding a line.
 */
import type { Command } from "commander";
import { classifyCommand } from "./classify.js";
import { collectionsCommand } from "./collections.js";
import { embedCommand } from "./embed.js";
import { evalCommand } from "./eval.js";
import { faqCommand } from "./faq.js";
import { indexCommand } from "./index-command.js";
import { inspectCommand } from "./inspect.js";
import { jobsCommand } from "./jobs.js";
import { modelsCommand } from "./models.js";
import { nerCommand } from "./ner.js";
import { searchCommand } from "./search.js";
import { serveCommand } from "./serve.js";
import { similarityCommand } from "./similarity.js";
import { trainCommand } from "./train.js";
import { wordsCommand } from "./words.js";
import { workerCommand } from "./worker.js";

/** Factories of every top-level command, in help order. */
export const COMMANDS: ReadonlyArray<() => Command> = [
  embedCommand,
  similarityCommand,
  modelsCommand,
  wordsCommand,
  serveCommand,
  evalCommand,
  inspectCommand,
  indexCommand,
  searchCommand,
  collectionsCommand,
  faqCommand,
  nerCommand,
  trainCommand,
  classifyCommand,
  jobsCommand,
  workerCommand,
];
