/**
 * @module cli/serve
 * `embedkit serve`: the OpenAI-compatible embeddings server. Settings come
 * from flags, then `EMBEDKIT_*` environment variables, then an optional JSON
 * config file (`--config`), then defaults — in that order of precedence,
 * resolved by src/server/serve-config.ts (this file only parses flags). The
 * command listens (127.0.0.1:8080 by default), preloads the default model
 * (`/health` answers 503 meanwhile), prints the URL once ready, and shuts down
 * gracefully on SIGINT/SIGTERM (stop accepting, finish in-flight requests,
 * close the models).
 */
import { Command, InvalidArgumentError } from "commander";
import { EmbedkitError } from "../errors.js";
import { createServer } from "../server/create-server.js";
import {
  isLoopbackHost,
  parseAlias,
  readServeConfig,
  resolveServeSettings,
  SERVE_DEFAULTS,
  SERVE_ENV,
  type ServeSettingKey,
  type ServeSourceValues,
  splitList,
  toServerOptions,
} from "../server/serve-config.js";
import { openStore } from "./context.js";
import { parseNonNegativeInteger, parseNonNegativeNumber, parsePositiveInteger, printLine } from "./io.js";

/** commander's form of {@link parseAlias}: a bad value is a usage error. */
function aliasArgument(value: string): [string, string] {
  try {
    return parseAlias(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

interface ServeFlags {
  readonly host?: string;
  readonly port?: number;
  readonly model?: string;
  readonly models?: string[];
  readonly mediaModels?: string[];
  readonly alias?: [string, string][];
  readonly apiKey?: string[];
  readonly publicMetrics?: boolean;
  readonly allowedHosts?: string[];
  readonly allowTokenIds?: boolean;
  readonly maxRequestTokens?: number;
  readonly maxConnections?: number;
  readonly maxBatchMs?: number;
  readonly maxQueueMs?: number;
  readonly autoTruncate?: boolean;
  readonly batching?: boolean;
  readonly inferenceWorker?: boolean;
  readonly batchPrefetch?: boolean;
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
  readonly reports?: string;
  readonly open?: boolean;
  readonly config?: string;
}

/** Only what was typed on the command line counts as a flag (commander fills defaults otherwise). */
function givenFlags(command: Command, flags: ServeFlags): ServeSourceValues {
  const given = (name: string): boolean => command.getOptionValueSource(name) === "cli";
  const out: ServeSourceValues = {};
  const direct: [keyof ServeFlags, ServeSettingKey][] = [
    ["publicMetrics", "publicMetrics"],
    ["allowedHosts", "allowedHosts"],
    ["allowTokenIds", "allowTokenIds"],
    ["maxRequestTokens", "maxRequestTokens"],
    ["maxConnections", "maxConnections"],
    ["maxBatchMs", "maxBatchMs"],
    ["maxQueueMs", "maxQueueMs"],
    ["host", "host"],
    ["port", "port"],
    ["model", "model"],
    ["models", "models"],
    ["mediaModels", "mediaModels"],
    ["autoTruncate", "autoTruncate"],
    ["batching", "batching"],
    ["inferenceWorker", "inferenceWorker"],
    ["batchPrefetch", "batchPrefetch"],
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
    ["reports", "reports"],
  ];
  for (const [flag, key] of direct) if (given(flag)) out[key] = flags[flag];
  if (given("alias")) out.aliases = Object.fromEntries(flags.alias ?? []);
  if (given("apiKey")) out.apiKeys = flags.apiKey ?? [];
  return out;
}

/**
 * Open the dashboard in the user's browser when there is one (a desktop session, or macOS /
 * Windows); otherwise, or when opening fails, say so and go on serving.
 */
async function openDashboard(url: string): Promise<void> {
  const desktop =
    process.platform === "darwin" ||
    process.platform === "win32" ||
    Boolean(process.env.DISPLAY) ||
    Boolean(process.env.WAYLAND_DISPLAY);
  if (!desktop) {
    process.stderr.write(
      `embedkit serve: --open: no browser on this machine (no display); open ${url} yourself.\n`,
    );
    return;
  }
  try {
    const { default: open } = await import("open");
    const child = await open(url);
    child.on("error", () => {});
  } catch (error) {
    process.stderr.write(
      `embedkit serve: --open: could not start a browser (${(error as Error).message}); open ${url} yourself.\n`,
    );
  }
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
  if (!isLoopbackHost(settings.host)) {
    if (settings.apiKeys.length === 0) {
      process.stderr.write(
        `embedkit serve: warning: listening on ${settings.host} without API keys — anyone who can reach this ` +
          "machine can embed, read and delete collections. Add --api-key.\n",
      );
    }
    if (settings.allowedHosts.includes("*")) {
      process.stderr.write(
        "embedkit serve: warning: any Host header is accepted; name the host clients use with --allowed-hosts " +
          "to block DNS-rebinding pages.\n",
      );
    }
  }
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
    printLine(`  dashboard: ${url}/`);
    if (flags.open === true) await openDashboard(`${url}/`);
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
      "comma-separated models to serve, loaded on first use; no other model is ever downloaded or loaded " +
        "(default: the default model and the --alias targets)",
      splitList,
    )
    .option(
      "--media-models <ids>",
      "comma-separated audio/image models also served on /v1/embeddings, each input a base64 file or data: URL " +
        "(e.g. resemblyzer-ge2e,speech-embedding,mfcc-stats; default none)",
      splitList,
    )
    .option(
      "--alias <name=model>",
      "extra model name clients may send, repeatable (text-embedding-3-small/-large and -ada-002 map to the default model)",
      collect(aliasArgument),
    )
    .option(
      "--api-key <key>",
      "require 'Authorization: Bearer <key>', repeatable (default: no authentication)",
      collect(String),
    )
    .option(
      "--public-metrics",
      "serve /metrics without a key when --api-key is set (/health is always public; default: off)",
    )
    .option(
      "--allowed-hosts <names>",
      "comma-separated host names the Host header may carry, or * (default: localhost,127.0.0.1,::1 on " +
        "loopback; any host when bound elsewhere) — blocks DNS rebinding",
      splitList,
    )
    .option(
      "--allow-token-ids",
      "accept token-id input; only for clients that send this server's own tokenizer ids — OpenAI clients send " +
        "tiktoken ids, which would give wrong vectors (default: refused with 400)",
    )
    .option(
      "--max-request-tokens <n>",
      `most tokens in one embeddings request (default ${SERVE_DEFAULTS.maxRequestTokens}, OpenAI's limit)`,
      parsePositiveInteger,
    )
    .option(
      "--max-connections <n>",
      `most simultaneous TCP connections (default ${SERVE_DEFAULTS.maxConnections})`,
      parsePositiveInteger,
    )
    .option("--auto-truncate", "truncate over-long inputs instead of answering 400")
    .option("--no-batching", "disable dynamic batching (one embed call per request)")
    .option(
      "--no-inference-worker",
      "run text inference on the main thread (default: in a worker thread, so HTTP is served while a batch runs)",
    )
    .option(
      "--no-batch-prefetch",
      "with the inference worker, wait for a batch to end before handing over the next (default: shortly before)",
    )
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
      "--max-batch-ms <ms>",
      `target duration of one batch at the measured speed; bounds the wait of a request behind others (default ${SERVE_DEFAULTS.maxBatchMs})`,
      parseNonNegativeNumber,
    )
    .option(
      "--max-queue <n>",
      `queued requests per model before 429 (default ${SERVE_DEFAULTS.maxQueue})`,
      parsePositiveInteger,
    )
    .option(
      "--max-queue-ms <ms>",
      "most expected queueing time before 429 with Retry-After (default 10000, or half of --timeout-ms if shorter)",
      parseNonNegativeNumber,
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
      "--reports <dir>",
      "folder of `embedkit eval` / `embedkit inspect` outputs (--out) shown on the dashboard's Reports page",
    )
    .option("--open", "open the dashboard in the browser once ready (only when there is one)")
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

Security: local by default (127.0.0.1, Host checked against DNS rebinding). Keys protect every route
except /health (and /metrics with --public-metrics), on the route actually served, whatever the URL encoding.

Dashboard: http://127.0.0.1:8080/ (models, collections, maps, similarity, FAQ tester, reports);
its pages ask for the API key when keys are set and keep it in the browser tab only.

Examples:
  embedkit serve                                     # http://127.0.0.1:8080/v1, all-minilm-l6-v2
  embedkit serve --open --reports ./eval-out         # and open the dashboard in the browser
  embedkit serve --models all-minilm-l6-v2,bge-small-zh-v1.5 --api-key "$KEY"
  embedkit serve --alias text-embedding-3-large=bge-small-en-v1.5 --auto-truncate
  curl http://127.0.0.1:8080/v1/embeddings -H 'Content-Type: application/json' \\
    -d '{"model": "text-embedding-3-small", "input": ["hello", "world"]}'`,
    );
  return command.action(async (flags: ServeFlags) => {
    await run(command, flags);
  });
}
