/**
 * @module server/serve-config
 * The settings of `embedkit serve`, resolved from four sources — command-line
 * flags, `EMBEDKIT_*` environment variables, a JSON config file, defaults — in
 * that order of precedence. One table ({@link SERVE_FIELDS}) names every
 * setting once, with its kind, environment variable and default; one zod schema
 * built from it validates each source (so an error names the flag, variable or
 * key at fault) and fills the defaults. The CLI only parses arguments and
 * calls {@link resolveServeSettings}; {@link toServerOptions} turns the result
 * into {@link createServer} options.
 */
import { z } from "zod";
import { EmbedkitError } from "../errors.js";
import { readFileText } from "../internal/read-file.js";
import { LOOPBACK_HOSTS, SERVER_DEFAULTS, type ServerOptions } from "./create-server.js";

type FieldKind = "string" | "port" | "integer" | "positive" | "number" | "boolean" | "list" | "aliases";

interface FieldSpec {
  readonly kind: FieldKind;
  readonly env: string;
  /** Smallest allowed value of a number field. */
  readonly min?: number;
}

/** Every setting of `embedkit serve`: its kind and environment variable. */
export const SERVE_FIELDS = Object.freeze({
  host: { kind: "string", env: "EMBEDKIT_HOST" },
  port: { kind: "port", env: "EMBEDKIT_PORT" },
  model: { kind: "string", env: "EMBEDKIT_MODEL" },
  models: { kind: "list", env: "EMBEDKIT_MODELS" },
  mediaModels: { kind: "list", env: "EMBEDKIT_MEDIA_MODELS" },
  aliases: { kind: "aliases", env: "EMBEDKIT_ALIASES" },
  apiKeys: { kind: "list", env: "EMBEDKIT_API_KEYS" },
  publicMetrics: { kind: "boolean", env: "EMBEDKIT_PUBLIC_METRICS" },
  allowedHosts: { kind: "list", env: "EMBEDKIT_ALLOWED_HOSTS" },
  allowTokenIds: { kind: "boolean", env: "EMBEDKIT_ALLOW_TOKEN_IDS" },
  autoTruncate: { kind: "boolean", env: "EMBEDKIT_AUTO_TRUNCATE" },
  batching: { kind: "boolean", env: "EMBEDKIT_BATCHING" },
  inferenceWorker: { kind: "boolean", env: "EMBEDKIT_INFERENCE_WORKER" },
  batchPrefetch: { kind: "boolean", env: "EMBEDKIT_BATCH_PREFETCH" },
  maxWaitMs: { kind: "number", env: "EMBEDKIT_MAX_WAIT_MS", min: 0 },
  maxBatchTokens: { kind: "positive", env: "EMBEDKIT_MAX_BATCH_TOKENS" },
  maxBatchMs: { kind: "number", env: "EMBEDKIT_MAX_BATCH_MS", min: 1 },
  maxQueue: { kind: "positive", env: "EMBEDKIT_MAX_QUEUE" },
  maxQueueMs: { kind: "number", env: "EMBEDKIT_MAX_QUEUE_MS", min: 1 },
  maxRequestTokens: { kind: "positive", env: "EMBEDKIT_MAX_REQUEST_TOKENS" },
  maxConnections: { kind: "positive", env: "EMBEDKIT_MAX_CONNECTIONS" },
  bodyLimit: { kind: "positive", env: "EMBEDKIT_BODY_LIMIT" },
  timeoutMs: { kind: "integer", env: "EMBEDKIT_TIMEOUT_MS", min: 0 },
  cors: { kind: "list", env: "EMBEDKIT_CORS" },
  idleUnloadMs: { kind: "integer", env: "EMBEDKIT_IDLE_UNLOAD_MS", min: 0 },
  threads: { kind: "positive", env: "EMBEDKIT_THREADS" },
  home: { kind: "string", env: "EMBEDKIT_HOME" },
  store: { kind: "string", env: "EMBEDKIT_STORE" },
  reports: { kind: "string", env: "EMBEDKIT_REPORTS" },
} satisfies Record<string, FieldSpec>);

/** A setting's name. */
export type ServeSettingKey = keyof typeof SERVE_FIELDS;

/** Defaults of `embedkit serve` (what applies when neither flag, env nor config file says otherwise). */
export const SERVE_DEFAULTS = Object.freeze({
  host: "127.0.0.1",
  port: 8080,
  publicMetrics: false,
  allowTokenIds: false,
  autoTruncate: false,
  batching: true,
  inferenceWorker: true,
  batchPrefetch: true,
  maxWaitMs: SERVER_DEFAULTS.maxWaitMs,
  maxBatchTokens: SERVER_DEFAULTS.maxBatchTokens,
  maxBatchMs: SERVER_DEFAULTS.maxBatchMs,
  maxQueue: SERVER_DEFAULTS.maxQueue,
  maxRequestTokens: SERVER_DEFAULTS.maxRequestTokens,
  maxConnections: SERVER_DEFAULTS.maxConnections,
  bodyLimit: SERVER_DEFAULTS.bodyLimit,
  timeoutMs: SERVER_DEFAULTS.requestTimeoutMs,
  idleUnloadMs: SERVER_DEFAULTS.idleUnloadMs,
} as const);

/** Environment variable of each setting. */
export const SERVE_ENV: Readonly<Record<ServeSettingKey, string>> = Object.freeze(
  Object.fromEntries(Object.entries(SERVE_FIELDS).map(([key, field]) => [key, field.env])) as Record<
    ServeSettingKey,
    string
  >,
);

function fieldSchema(field: FieldSpec): z.ZodType {
  switch (field.kind) {
    case "string":
      return z.string().trim().min(1);
    case "port":
      return z.number().int().min(0).max(65_535);
    case "integer":
      return z
        .number()
        .int()
        .min(field.min ?? 0)
        .max(Number.MAX_SAFE_INTEGER);
    case "positive":
      return z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
    case "number":
      return z
        .number()
        .min(field.min ?? 0)
        .max(Number.MAX_SAFE_INTEGER);
    case "boolean":
      return z.boolean();
    case "list":
      return z.array(z.string().trim().min(1));
    case "aliases":
      return z.record(z.string().trim().min(1), z.string().trim().min(1));
  }
}

/** The one schema: every setting optional (a source gives some), each with its kind's checks. */
const SOURCE_SCHEMA = z.strictObject(
  Object.fromEntries(
    Object.entries(SERVE_FIELDS).map(([key, field]) => [key, fieldSchema(field).optional()]),
  ) as Record<ServeSettingKey, z.ZodOptional<z.ZodType>>,
);

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
  readonly publicMetrics: boolean;
  /** Host names the Host header may carry (`*` any); default: loopback names, or any when bound elsewhere. */
  readonly allowedHosts: readonly string[];
  readonly allowTokenIds: boolean;
  readonly autoTruncate: boolean;
  readonly batching: boolean;
  /** Text inference in a worker thread (see ServerOptions.inferenceWorker). */
  readonly inferenceWorker: boolean;
  /** Hand the inference worker its next batch before the running one ends (see BatcherOptions.prefetch). */
  readonly batchPrefetch: boolean;
  readonly maxWaitMs: number;
  readonly maxBatchTokens: number;
  readonly maxBatchMs: number;
  readonly maxQueue: number;
  readonly maxQueueMs?: number;
  readonly maxRequestTokens: number;
  readonly maxConnections: number;
  readonly bodyLimit: number;
  readonly timeoutMs: number;
  readonly cors?: readonly string[];
  readonly idleUnloadMs: number;
  readonly threads?: number;
  readonly home?: string;
  /** Vector store of /v1/collections and /v1/faq (folder or URL); default: the embedded store in home. */
  readonly store?: string;
  /** Folder of eval / inspect outputs listed on the dashboard's Reports page. */
  readonly reports?: string;
}

/** Contents of a `--config` file (the same names as {@link ServeSettings}; `cors` may be one string). */
export type ServeConfigFile = Partial<Record<ServeSettingKey, unknown>>;

/** Settings given by one source, not yet validated. */
export type ServeSourceValues = Partial<Record<ServeSettingKey, unknown>>;

/** Inputs of {@link resolveServeSettings}. */
export interface ServeSources {
  /** Values given as flags (only those actually given on the command line). */
  readonly flags: ServeSourceValues;
  readonly env: NodeJS.ProcessEnv;
  readonly config?: ServeConfigFile;
}

/** Comma-separated list → items (empty items dropped). */
export function splitList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/**
 * `name=model` → `[name, model]`.
 * @throws EmbedkitError INVALID_OPTION for text without a name or a model
 */
export function parseAlias(value: string): [string, string] {
  const at = value.indexOf("=");
  const name = value.slice(0, at).trim();
  const target = value.slice(at + 1).trim();
  if (at < 1 || name === "" || target === "") {
    throw new EmbedkitError(
      "INVALID_OPTION",
      `expected name=model (e.g. text-embedding-3-small=all-minilm-l6-v2), got "${value}".`,
    );
  }
  return [name, target];
}

/** Parse one environment string by its field's kind (numbers and booleans from text). */
function fromEnvText(field: FieldSpec, text: string): unknown {
  switch (field.kind) {
    case "string":
      return text.trim();
    case "port":
    case "integer":
    case "positive":
    case "number": {
      const trimmed = text.trim();
      return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
    }
    case "boolean": {
      const normalized = text.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(normalized)) return true;
      if (["0", "false", "no", "off"].includes(normalized)) return false;
      return text;
    }
    case "list":
      return splitList(text);
    case "aliases":
      return Object.fromEntries(splitList(text).map(parseAlias));
  }
}

/** What a zod failure says, for a message that names the source's own spelling of the setting. */
function describeIssue(error: z.ZodError): { key: string; message: string } {
  const issue = error.issues[0];
  if (issue?.code === "unrecognized_keys") {
    return { key: issue.keys.join(", "), message: `unknown setting(s) ${issue.keys.join(", ")}` };
  }
  return { key: String(issue?.path[0] ?? ""), message: issue?.message ?? "invalid value" };
}

const KNOWN_KEYS = Object.keys(SERVE_FIELDS).join(", ");

/** Validate one source's values with the one schema; `name(key)` spells a setting as that source does. */
function validateSource(
  values: ServeSourceValues,
  name: (key: string) => string,
  code: "INVALID_OPTION" | "MALFORMED_FILE",
  where: string,
): ServeSourceValues {
  const parsed = SOURCE_SCHEMA.safeParse(values);
  if (parsed.success) return parsed.data as ServeSourceValues;
  const { key, message } = describeIssue(parsed.error);
  const known = key in SERVE_FIELDS;
  const received = known ? ` (received ${JSON.stringify(values[key as ServeSettingKey])})` : "";
  throw new EmbedkitError(
    code,
    `${where}invalid ${known ? name(key) : `"${key}"`}: ${message}${received}.` +
      (known ? "" : ` Settings are: ${KNOWN_KEYS}.`),
    { details: { setting: key } },
  );
}

/**
 * Settings read from the environment (only those that are set, validated).
 * @throws EmbedkitError INVALID_OPTION naming the variable
 */
export function readServeEnvironment(env: NodeJS.ProcessEnv): ServeSourceValues {
  const out: ServeSourceValues = {};
  for (const [key, field] of Object.entries(SERVE_FIELDS) as [ServeSettingKey, FieldSpec][]) {
    const text = env[field.env];
    if (text === undefined || text.trim() === "") continue;
    try {
      out[key] = fromEnvText(field, text);
    } catch (error) {
      throw new EmbedkitError("INVALID_OPTION", `${field.env}=${text}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return validateSource(
    out,
    (key) => (SERVE_FIELDS as Record<string, FieldSpec>)[key]?.env ?? key,
    "INVALID_OPTION",
    "Environment: ",
  );
}

/**
 * Read and check a JSON config file.
 * @throws EmbedkitError FILE_NOT_FOUND, MALFORMED_FILE naming the bad key
 */
export async function readServeConfig(path: string): Promise<ServeConfigFile> {
  const text = await readFileText(path, { what: "config file" });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new EmbedkitError("MALFORMED_FILE", `${path} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new EmbedkitError("MALFORMED_FILE", `${path} must hold a JSON object of settings (${KNOWN_KEYS}).`);
  }
  const values = { ...(json as Record<string, unknown>) };
  if (typeof values.cors === "string") values.cors = [values.cors];
  return validateSource(values, (key) => `"${key}"`, "MALFORMED_FILE", `${path}: `);
}

/** Whether a bind address only reaches this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "");
  return bare === "localhost" || bare === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/**
 * Merge settings: flags > environment > config file > defaults. Lists of keys and
 * aliases add up across sources; everything else is taken from the first source
 * that gives it. When bound to a non-loopback address without `allowedHosts`,
 * any Host is allowed (clients reach the machine by names the server cannot know).
 *
 * @throws EmbedkitError INVALID_OPTION naming the flag or variable, MALFORMED_FILE naming the key
 * @example
 * ```ts
 * resolveServeSettings({ flags: { port: 9000 }, env: { EMBEDKIT_HOST: "0.0.0.0" } }); // host 0.0.0.0, port 9000
 * ```
 */
export function resolveServeSettings(sources: ServeSources): ServeSettings {
  const flags = validateSource(
    sources.flags,
    (key) => `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`,
    "INVALID_OPTION",
    "",
  );
  const env = readServeEnvironment(sources.env);
  const config =
    sources.config === undefined
      ? {}
      : validateSource(sources.config, (key) => `"${key}"`, "MALFORMED_FILE", "Config file: ");
  const first = <T>(key: ServeSettingKey): T | undefined =>
    (flags[key] ?? env[key] ?? config[key]) as T | undefined;
  const merged = <T>(key: "aliases" | "apiKeys"): T[] => [
    ...((config[key] as T[] | undefined) ?? []),
    ...((env[key] as T[] | undefined) ?? []),
    ...((flags[key] as T[] | undefined) ?? []),
  ];
  const host = first<string>("host") ?? SERVE_DEFAULTS.host;
  const optional = <K extends ServeSettingKey>(key: K) => {
    const value = first<unknown>(key);
    return value === undefined ? {} : { [key]: value };
  };
  const aliases: Record<string, string> = {
    ...((config.aliases as Record<string, string> | undefined) ?? {}),
    ...((env.aliases as Record<string, string> | undefined) ?? {}),
    ...((flags.aliases as Record<string, string> | undefined) ?? {}),
  };
  return {
    host,
    port: first<number>("port") ?? SERVE_DEFAULTS.port,
    ...optional("model"),
    ...optional("models"),
    ...optional("mediaModels"),
    aliases,
    apiKeys: [...new Set(merged<string>("apiKeys"))],
    publicMetrics: first<boolean>("publicMetrics") ?? SERVE_DEFAULTS.publicMetrics,
    allowedHosts: first<string[]>("allowedHosts") ?? (isLoopbackHost(host) ? [...LOOPBACK_HOSTS] : ["*"]),
    allowTokenIds: first<boolean>("allowTokenIds") ?? SERVE_DEFAULTS.allowTokenIds,
    autoTruncate: first<boolean>("autoTruncate") ?? SERVE_DEFAULTS.autoTruncate,
    batching: first<boolean>("batching") ?? SERVE_DEFAULTS.batching,
    inferenceWorker: first<boolean>("inferenceWorker") ?? SERVE_DEFAULTS.inferenceWorker,
    batchPrefetch: first<boolean>("batchPrefetch") ?? SERVE_DEFAULTS.batchPrefetch,
    maxWaitMs: first<number>("maxWaitMs") ?? SERVE_DEFAULTS.maxWaitMs,
    maxBatchTokens: first<number>("maxBatchTokens") ?? SERVE_DEFAULTS.maxBatchTokens,
    maxBatchMs: first<number>("maxBatchMs") ?? SERVE_DEFAULTS.maxBatchMs,
    maxQueue: first<number>("maxQueue") ?? SERVE_DEFAULTS.maxQueue,
    ...optional("maxQueueMs"),
    maxRequestTokens: first<number>("maxRequestTokens") ?? SERVE_DEFAULTS.maxRequestTokens,
    maxConnections: first<number>("maxConnections") ?? SERVE_DEFAULTS.maxConnections,
    bodyLimit: first<number>("bodyLimit") ?? SERVE_DEFAULTS.bodyLimit,
    timeoutMs: first<number>("timeoutMs") ?? SERVE_DEFAULTS.timeoutMs,
    ...optional("cors"),
    idleUnloadMs: first<number>("idleUnloadMs") ?? SERVE_DEFAULTS.idleUnloadMs,
    ...optional("threads"),
    ...optional("home"),
    ...optional("store"),
    ...optional("reports"),
  } as ServeSettings;
}

/** Turn serve settings into {@link createServer} options. */
export function toServerOptions(settings: ServeSettings): ServerOptions {
  return {
    ...(settings.models === undefined ? {} : { models: settings.models }),
    ...(settings.mediaModels === undefined ? {} : { mediaModels: settings.mediaModels }),
    ...(settings.model === undefined ? {} : { defaultModel: settings.model }),
    aliases: settings.aliases,
    apiKeys: settings.apiKeys,
    publicMetrics: settings.publicMetrics,
    allowedHosts: settings.allowedHosts,
    allowTokenIds: settings.allowTokenIds,
    maxRequestTokens: settings.maxRequestTokens,
    maxConnections: settings.maxConnections,
    autoTruncate: settings.autoTruncate,
    bodyLimit: settings.bodyLimit,
    requestTimeoutMs: settings.timeoutMs,
    idleUnloadMs: settings.idleUnloadMs,
    ...(settings.cors === undefined ? {} : { cors: settings.cors }),
    ...(settings.threads === undefined ? {} : { threads: settings.threads }),
    ...(settings.store === undefined ? {} : { vectorStore: settings.store }),
    ...(settings.reports === undefined ? {} : { reportsDir: settings.reports }),
    inferenceWorker: settings.inferenceWorker,
    batching: {
      enabled: settings.batching,
      prefetch: settings.batchPrefetch,
      maxWaitMs: settings.maxWaitMs,
      maxBatchTokens: settings.maxBatchTokens,
      maxBatchMs: settings.maxBatchMs,
      maxQueue: settings.maxQueue,
      ...(settings.maxQueueMs === undefined ? {} : { maxQueueMs: settings.maxQueueMs }),
    },
  };
}
