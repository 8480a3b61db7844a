/**
 * @module cli/serve
 * `embedkit serve`: the OpenAI-compatible embeddings server. Settings come
 * from flags, then `EMBEDKIT_*` environment variables, then an optional JSON
 * config file (`--config`), then defaults — in that order of precedence. The
 * command listens (127.0.0.1:8080 by default), preloads the default model
 * (`/health` answers 503 meanwhile), prints the URL once ready, and shuts down
 * gracefully on SIGINT/SIGTERM (stop accepting, finish in-flight requests,
 * close the models).
 */
import { Command, InvalidArgumentError } from "commander";
import { z } from "zod";
import { EmbedkitError } from "../errors.js";
import { readFileText } from "../internal/read-file.js";
import { createServer, type ServerOptions } from "../server/create-server.js";
import { openStore } from "./context.js";
import { parseNonNegativeInteger, parseNonNegativeNumber, parsePositiveInteger, printLine } from "./io.js";

/** Everything `embedkit serve` runs with, after merging flags, env, config file and defaults. */
export interface ServeSettings {
  readonly host: string;
  readonly port: number;
  readonly model?: string;
  readonly models?: readonly string[];
  /** Audio/image models also served on /v1/embeddings (inputs as base64 files). */
  readonly mediaModels?: readonly string[];
  readonly aliases: Readonly<Record<string, string>>;
  readonly apiKeys: readonly string[];
  readonly autoTruncate: boolean;
  readonly batching: boolean;
  readonly maxWaitMs: number;
  readonly maxBatchTokens: number;
  readonly maxQueue: number;
  readonly bodyLimit: number;
  readonly timeoutMs: number;
  readonly cors?: readonly string[];
  readonly idleUnloadMs: number;
  readonly threads?: number;
  readonly home?: string;
  /** Vector store of /v1/collections and /v1/faq (folder or URL); default: the embedded store in home. */
  readonly store?: string;
}

/** Defaults of `embedkit serve` (what applies when neither flag, env nor config file says otherwise). */
export const SERVE_DEFAULTS = Object.freeze({
  host: "127.0.0.1",
  port: 8080,
  autoTruncate: false,
  batching: true,
  maxWaitMs: 2,
  maxBatchTokens: 8192,
  maxQueue: 1024,
  bodyLimit: 8 * 1024 * 1024,
  timeoutMs: 60_000,
  idleUnloadMs: 0,
} as const);

type SettingKey = keyof ServeSettings;

/** Environment variable of each setting. */
export const SERVE_ENV: Readonly<Record<Exclude<SettingKey, "aliases" | "apiKeys">, string>> & {
  readonly aliases: string;
  readonly apiKeys: string;
} = Object.freeze({
  host: "EMBEDKIT_HOST",
  port: "EMBEDKIT_PORT",
  model: "EMBEDKIT_MODEL",
  models: "EMBEDKIT_MODELS",
  mediaModels: "EMBEDKIT_MEDIA_MODELS",
  aliases: "EMBEDKIT_ALIASES",
  apiKeys: "EMBEDKIT_API_KEYS",
  autoTruncate: "EMBEDKIT_AUTO_TRUNCATE",
  batching: "EMBEDKIT_BATCHING",
  maxWaitMs: "EMBEDKIT_MAX_WAIT_MS",
  maxBatchTokens: "EMBEDKIT_MAX_BATCH_TOKENS",
  maxQueue: "EMBEDKIT_MAX_QUEUE",
  bodyLimit: "EMBEDKIT_BODY_LIMIT",
  timeoutMs: "EMBEDKIT_TIMEOUT_MS",
  cors: "EMBEDKIT_CORS",
  idleUnloadMs: "EMBEDKIT_IDLE_UNLOAD_MS",
  threads: "EMBEDKIT_THREADS",
  home: "EMBEDKIT_HOME",
  store: "EMBEDKIT_STORE",
});

const CONFIG_FILE = z.strictObject({
  host: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65_535).optional(),
  model: z.string().min(1).optional(),
  models: z.array(z.string().min(1)).min(1).optional(),
  mediaModels: z.array(z.string().min(1)).optional(),
  aliases: z.record(z.string(), z.string()).optional(),
  apiKeys: z.array(z.string().min(1)).optional(),
  autoTruncate: z.boolean().optional(),
  batching: z.boolean().optional(),
  maxWaitMs: z.number().min(0).optional(),
  maxBatchTokens: z.number().int().min(1).optional(),
  maxQueue: z.number().int().min(1).optional(),
  bodyLimit: z.number().int().min(1).optional(),
  timeoutMs: z.number().int().min(0).optional(),
  cors: z.union([z.string(), z.array(z.string())]).optional(),
  idleUnloadMs: z.number().int().min(0).optional(),
  threads: z.number().int().min(1).optional(),
  home: z.string().min(1).optional(),
  store: z.string().min(1).optional(),
});

/** Contents of a `--config` file (the same names as {@link ServeSettings}). */
export type ServeConfigFile = z.infer<typeof CONFIG_FILE>;

function userError(message: string): EmbedkitError {
  return new EmbedkitError("INVALID_OPTION", message);
}

function splitList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function parseAlias(value: string): [string, string] {
  const at = value.indexOf("=");
  const name = value.slice(0, at).trim();
  const target = value.slice(at + 1).trim();
  if (at < 1 || name === "" || target === "") {
    throw new InvalidArgumentError(
      `expected name=model (e.g. text-embedding-3-small=all-minilm-l6-v2), got "${value}".`,
    );
  }
  return [name, target];
}

function parseBoolean(name: string, value: string): boolean {
  const normalized = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(normalized)) return true;
  if (["0", "false", "no", "off"].includes(normalized)) return false;
  throw userError(`${name} must be true/false (or 1/0), received "${value}".`);
}

function envNumber(name: string, value: string, parse: (text: string) => number): number {
  try {
    return parse(value);
  } catch (error) {
    throw userError(`${name}=${value}: ${(error as Error).message}`);
  }
}

/** Settings read from the environment (only those that are set). */
function fromEnvironment(env: NodeJS.ProcessEnv): Partial<Record<SettingKey, unknown>> {
  const out: Partial<Record<SettingKey, unknown>> = {};
  const read = (key: SettingKey): string | undefined => {
    const value = env[SERVE_ENV[key]];
    return value === undefined || value.trim() === "" ? undefined : value;
  };
  const text = (key: SettingKey): void => {
    const value = read(key);
    if (value !== undefined) out[key] = value.trim();
  };
  const number = (key: SettingKey, parse: (text: string) => number): void => {
    const value = read(key);
    if (value !== undefined) out[key] = envNumber(SERVE_ENV[key], value, parse);
  };
  const boolean = (key: SettingKey): void => {
    const value = read(key);
    if (value !== undefined) out[key] = parseBoolean(SERVE_ENV[key], value);
  };
  text("host");
  text("model");
  text("home");
  text("store");
  number("port", parseNonNegativeInteger);
  number("maxWaitMs", parseNonNegativeNumber);
  number("maxBatchTokens", parsePositiveInteger);
  number("maxQueue", parsePositiveInteger);
  number("bodyLimit", parsePositiveInteger);
  number("timeoutMs", parseNonNegativeInteger);
  number("idleUnloadMs", parseNonNegativeInteger);
  number("threads", parsePositiveInteger);
  boolean("autoTruncate");
  boolean("batching");
  const models = read("models");
  if (models !== undefined) out.models = splitList(models);
  const mediaModels = read("mediaModels");
  if (mediaModels !== undefined) out.mediaModels = splitList(mediaModels);
  const keys = read("apiKeys");
  if (keys !== undefined) out.apiKeys = splitList(keys);
  const cors = read("cors");
  if (cors !== undefined) out.cors = splitList(cors);
  const aliases = read("aliases");
  if (aliases !== undefined) {
    try {
      out.aliases = Object.fromEntries(splitList(aliases).map(parseAlias));
    } catch (error) {
      throw userError(`${SERVE_ENV.aliases}: ${(error as Error).message}`);
    }
  }
  return out;
}

/**
 * Read and check a JSON config file.
 * @throws EmbedkitError FILE_NOT_FOUND, MALFORMED_FILE naming the bad key
 */
export async function readServeConfig(path: string): Promise<ServeConfigFile> {
  const text = await readFileText(path, { what: "config file", hint: "Check the --config path." });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new EmbedkitError("MALFORMED_FILE", `${path} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const parsed = CONFIG_FILE.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join(".") || "(top level)";
    throw new EmbedkitError(
      "MALFORMED_FILE",
      `${path}: invalid "${where}": ${issue?.message ?? "invalid value"}. ` +
        "Keys are the flag names in camelCase (host, port, model, models, aliases, apiKeys, autoTruncate, batching, " +
        "maxWaitMs, maxBatchTokens, maxQueue, bodyLimit, timeoutMs, cors, idleUnloadMs, threads, home, store).",
    );
  }
  return parsed.data;
}

/** Inputs of {@link resolveServeSettings}. */
export interface ServeSources {
  /** Values given as flags (only those actually given on the command line). */
  readonly flags: Partial<Record<SettingKey, unknown>>;
  readonly env: NodeJS.ProcessEnv;
  readonly config?: ServeConfigFile;
}

/**
 * Merge settings: flags > environment > config file > defaults.
 * @throws EmbedkitError INVALID_OPTION for a malformed environment value
 * @example
 * ```ts
 * resolveServeSettings({ flags: { port: 9000 }, env: { EMBEDKIT_HOST: "0.0.0.0" } }); // host 0.0.0.0, port 9000
 * ```
 */
export function resolveServeSettings(sources: ServeSources): ServeSettings {
  const env = fromEnvironment(sources.env);
  const config: Partial<Record<SettingKey, unknown>> = {
    ...sources.config,
    ...(typeof sources.config?.cors === "string" ? { cors: [sources.config.cors] } : {}),
  };
  const pick = <T>(key: SettingKey, fallback: T): T =>
    (sources.flags[key] ?? env[key] ?? config[key] ?? fallback) as T;
  const optional = <T>(key: SettingKey): T | undefined =>
    (sources.flags[key] ?? env[key] ?? config[key]) as T | undefined;
  const model = optional<string>("model");
  const models = optional<string[]>("models");
  const mediaModels = optional<string[]>("mediaModels");
  const cors = optional<string[]>("cors");
  const threads = optional<number>("threads");
  const home = optional<string>("home");
  const store = optional<string>("store");
  return {
    host: pick("host", SERVE_DEFAULTS.host),
    port: pick("port", SERVE_DEFAULTS.port),
    ...(model === undefined ? {} : { model }),
    ...(models === undefined ? {} : { models }),
    ...(mediaModels === undefined ? {} : { mediaModels }),
    // Aliases and keys add up across sources (flags can add to a config file's list).
    aliases: {
      ...((config.aliases as Record<string, string> | undefined) ?? {}),
      ...((env.aliases as Record<string, string> | undefined) ?? {}),
      ...((sources.flags.aliases as Record<string, string> | undefined) ?? {}),
    },
    apiKeys: [
      ...new Set([
        ...((config.apiKeys as string[] | undefined) ?? []),
        ...((env.apiKeys as string[] | undefined) ?? []),
        ...((sources.flags.apiKeys as string[] | undefined) ?? []),
      ]),
    ],
    autoTruncate: pick("autoTruncate", SERVE_DEFAULTS.autoTruncate),
    batching: pick("batching", SERVE_DEFAULTS.batching),
    maxWaitMs: pick("maxWaitMs", SERVE_DEFAULTS.maxWaitMs),
    maxBatchTokens: pick("maxBatchTokens", SERVE_DEFAULTS.maxBatchTokens),
    maxQueue: pick("maxQueue", SERVE_DEFAULTS.maxQueue),
    bodyLimit: pick("bodyLimit", SERVE_DEFAULTS.bodyLimit),
    timeoutMs: pick("timeoutMs", SERVE_DEFAULTS.timeoutMs),
    ...(cors === undefined ? {} : { cors }),
    idleUnloadMs: pick("idleUnloadMs", SERVE_DEFAULTS.idleUnloadMs),
    ...(threads === undefined ? {} : { threads }),
    ...(home === undefined ? {} : { home }),
    ...(store === undefined ? {} : { store }),
  };
}

/** Turn serve settings into {@link createServer} options. */
export function toServerOptions(settings: ServeSettings): ServerOptions {
  return {
    ...(settings.models === undefined ? {} : { models: settings.models }),
    ...(settings.mediaModels === undefined ? {} : { mediaModels: settings.mediaModels }),
    ...(settings.model === undefined ? {} : { defaultModel: settings.model }),
    aliases: settings.aliases,
    apiKeys: settings.apiKeys,
    autoTruncate: settings.autoTruncate,
    bodyLimit: settings.bodyLimit,
    requestTimeoutMs: settings.timeoutMs,
    idleUnloadMs: settings.idleUnloadMs,
    ...(settings.cors === undefined ? {} : { cors: settings.cors }),
    ...(settings.threads === undefined ? {} : { threads: settings.threads }),
    ...(settings.store === undefined ? {} : { vectorStore: settings.store }),
    batching: {
      enabled: settings.batching,
      maxWaitMs: settings.maxWaitMs,
      maxBatchTokens: settings.maxBatchTokens,
      maxQueue: settings.maxQueue,
    },
  };
}

interface ServeFlags {
  readonly host?: string;
  readonly port?: number;
  readonly model?: string;
  readonly models?: string[];
  readonly mediaModels?: string[];
  readonly alias?: [string, string][];
  readonly apiKey?: string[];
  readonly autoTruncate?: boolean;
  readonly batching?: boolean;
  readonly maxWaitMs?: number;
  readonly maxBatchTokens?: number;
  readonly maxQueue?: number;
  readonly bodyLimit?: number;
  readonly timeoutMs?: number;
  readonly cors?: string[];
  readonly idleUnloadMs?: number;
  readonly threads?: number;
  readonly home?: string;
  readonly store?: string;
  readonly config?: string;
}

/** Only what was typed on the command line counts as a flag (commander fills defaults otherwise). */
function givenFlags(command: Command, flags: ServeFlags): Partial<Record<SettingKey, unknown>> {
  const given = (name: string): boolean => command.getOptionValueSource(name) === "cli";
  const out: Partial<Record<SettingKey, unknown>> = {};
  const direct: [keyof ServeFlags, SettingKey][] = [
    ["host", "host"],
    ["port", "port"],
    ["model", "model"],
    ["models", "models"],
    ["mediaModels", "mediaModels"],
    ["autoTruncate", "autoTruncate"],
    ["batching", "batching"],
    ["maxWaitMs", "maxWaitMs"],
    ["maxBatchTokens", "maxBatchTokens"],
    ["maxQueue", "maxQueue"],
    ["bodyLimit", "bodyLimit"],
    ["timeoutMs", "timeoutMs"],
    ["cors", "cors"],
    ["idleUnloadMs", "idleUnloadMs"],
    ["threads", "threads"],
    ["home", "home"],
    ["store", "store"],
  ];
  for (const [flag, key] of direct) if (given(flag)) out[key] = flags[flag];
  if (given("alias")) out.aliases = Object.fromEntries(flags.alias ?? []);
  if (given("apiKey")) out.apiKeys = flags.apiKey ?? [];
  return out;
}

/** Wait for SIGINT/SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

async function run(command: Command, flags: ServeFlags): Promise<void> {
  const configPath = flags.config ?? process.env.EMBEDKIT_CONFIG;
  const config = configPath === undefined ? undefined : await readServeConfig(configPath);
  const settings = resolveServeSettings({
    flags: givenFlags(command, flags),
    env: process.env,
    ...(config === undefined ? {} : { config }),
  });
  const app = createServer({
    ...toServerOptions(settings),
    store: openStore(settings.home === undefined ? {} : { home: settings.home }),
  });
  const stopped = untilSignal();
  try {
    await app.listen({ host: settings.host, port: settings.port });
  } catch (error) {
    await app.close();
    throw new EmbedkitError(
      "INVALID_OPTION",
      `Cannot listen on ${settings.host}:${settings.port}: ${(error as Error).message}. ` +
        "Choose another --port (0 picks a free one) or --host.",
      { cause: error },
    );
  }
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : settings.port;
  const url = `http://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}:${port}`;
  const { defaultModel } = app.embedkit.models;
  process.stderr.write(`embedkit serve: loading ${defaultModel} (GET /health answers 503 until ready) ...\n`);
  try {
    await Promise.race([app.embedkit.preload(), stopped]);
  } catch (error) {
    await app.close();
    throw error;
  }
  if (app.embedkit.models.isLoaded(defaultModel)) {
    printLine(`embedkit serve: listening on ${url} (OpenAI base URL ${url}/v1)`);
    printLine(
      `  default model ${defaultModel}; batching ${settings.batching ? `on (max wait ${settings.maxWaitMs} ms, ${settings.maxBatchTokens} tokens)` : "off"}; ` +
        `API keys ${settings.apiKeys.length > 0 ? "required" : "off"}`,
    );
  }
  const signal = await stopped;
  process.stderr.write(
    `embedkit serve: ${signal} received, finishing in-flight requests and closing models ...\n`,
  );
  await app.close();
}

/** Build the `serve` command. */
export function serveCommand(): Command {
  const collect =
    <T>(parse: (value: string) => T) =>
    (value: string, previous: T[] | undefined) => [...(previous ?? []), parse(value)];
  const command = new Command("serve")
    .description(
      "Run the OpenAI-compatible embeddings server (POST /v1/embeddings, /v1/models, /health, /metrics).",
    )
    .option(
      "--host <host>",
      `interface to bind (default ${SERVE_DEFAULTS.host}; 0.0.0.0 exposes it to the network)`,
    )
    .option(
      "-p, --port <port>",
      `TCP port, 0 = any free port (default ${SERVE_DEFAULTS.port})`,
      parseNonNegativeInteger,
    )
    .option(
      "-m, --model <id>",
      "default model: preloaded, /health waits for it, OpenAI names map to it (default all-minilm-l6-v2)",
    )
    .option(
      "--models <ids>",
      "comma-separated models to serve, loaded on first use (default: every catalog text model)",
      splitList,
    )
    .option(
      "--media-models <ids>",
      "comma-separated audio/image models also served on /v1/embeddings, each input a base64 file or data: URL " +
        "(e.g. resemblyzer-ge2e,mfcc-stats; default none)",
      splitList,
    )
    .option(
      "--alias <name=model>",
      "extra model name clients may send, repeatable (text-embedding-3-small/-large and -ada-002 map to the default model)",
      collect(parseAlias),
    )
    .option(
      "--api-key <key>",
      "require 'Authorization: Bearer <key>', repeatable (default: no authentication)",
      collect(String),
    )
    .option("--auto-truncate", "truncate over-long inputs instead of answering 400")
    .option("--no-batching", "disable dynamic batching (one embed call per request)")
    .option(
      "--max-wait-ms <ms>",
      `longest wait for a batch to fill (default ${SERVE_DEFAULTS.maxWaitMs})`,
      parseNonNegativeNumber,
    )
    .option(
      "--max-batch-tokens <n>",
      `token budget of one batch (default ${SERVE_DEFAULTS.maxBatchTokens})`,
      parsePositiveInteger,
    )
    .option(
      "--max-queue <n>",
      `queued requests per model before 429 (default ${SERVE_DEFAULTS.maxQueue})`,
      parsePositiveInteger,
    )
    .option(
      "--body-limit <bytes>",
      `largest request body; larger gets 413 (default ${SERVE_DEFAULTS.bodyLimit})`,
      parsePositiveInteger,
    )
    .option(
      "--timeout-ms <ms>",
      `deadline per request, 0 = none (default ${SERVE_DEFAULTS.timeoutMs})`,
      parseNonNegativeInteger,
    )
    .option(
      "--cors <origins>",
      "allow browser calls from these comma-separated origins, or * (default: CORS off)",
      splitList,
    )
    .option(
      "--idle-unload-ms <ms>",
      "unload non-default models idle this long, 0 = never (default 0)",
      parseNonNegativeInteger,
    )
    .option("--threads <n>", "inference threads per model (default: all cores)", parsePositiveInteger)
    .option("--home <dir>", "model cache folder (default: $EMBEDKIT_HOME or ~/.cache/embedkit)")
    .option(
      "--store <location>",
      "vector store of /v1/collections and /v1/faq: a folder or a URL such as postgres://… (default: <home>/collections)",
    )
    .option(
      "--config <file.json>",
      "JSON config file with the same settings in camelCase (also $EMBEDKIT_CONFIG)",
    )
    .addHelpText(
      "after",
      `
Precedence: flags > environment > config file > defaults.
Environment: ${Object.values(SERVE_ENV).join(", ")}, EMBEDKIT_CONFIG
  (lists are comma-separated: EMBEDKIT_API_KEYS=k1,k2  EMBEDKIT_ALIASES=name=model,name2=model2;
   booleans: EMBEDKIT_BATCHING=0, EMBEDKIT_AUTO_TRUNCATE=1).

Examples:
  embedkit serve                                     # http://127.0.0.1:8080/v1, all-minilm-l6-v2
  embedkit serve --models all-minilm-l6-v2,bge-small-zh-v1.5 --api-key "$KEY"
  embedkit serve --alias text-embedding-3-large=bge-small-en-v1.5 --auto-truncate
  curl http://127.0.0.1:8080/v1/embeddings -H 'Content-Type: application/json' \\
    -d '{"model": "text-embedding-3-small", "input": ["hello", "world"]}'`,
    );
  return command.action(async (flags: ServeFlags) => {
    await run(command, flags);
  });
}
