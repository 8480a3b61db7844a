/**
 * hnswlib-node's portable addon (node-gyp's default flags: SSE distance functions) against the
 * addon `scripts/native-hnswlib.mjs` builds for this CPU at install (AVX2 + FMA, AVX-512F when
 * present), in the same process on the same data (issue #23): build CPU seconds, then recall@10
 * against the exact top-10 and queries per CPU-second on one thread at several efSearch, in
 * alternating order (portable first, then native first) so drift on a shared machine hits both.
 *
 * With `--store`, also through the embedded store's real query path: one child process per addon
 * (a module resolve hook points `hnswlib-node` at the chosen copy), each indexing the same rows
 * into a fresh store and timing `collection.query` at each efSearch.
 *
 * Both addons come from the installed hnswlib-node: when the install step already swapped in the
 * native addon, the kept `addon.portable.node` is the baseline; otherwise the step is run on a
 * temporary copy to build the native one. Data: unit vectors drawn from the spectrum of real
 * all-MiniLM-L6-v2 vectors (bench/lib/real-vectors.ts), queries held out; M 16, efConstruction 100,
 * cosine.
 *
 *   nice -n 10 npx tsx bench/store-peers/native-hnswlib.ts --count 50000 --queries 200 --ef 64,128,256 \
 *     --store --march-native
 */
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { installNativeHnswlib } from "../../scripts/native-hnswlib.mjs";
import { describeHnswlibBuild } from "../../src/internal/hnswlib-build.js";
import type { Hnswlib } from "../../src/internal/load-dependency.js";
import { benchDataPath } from "../lib/data.js";
import { busyCores } from "../lib/machine-load.js";
import { fitSpectrum, loadRealVectors } from "../lib/real-vectors.js";
import { exactTopKMatrix, percentile, recallOf } from "../lib/vector-bench-data.js";

const { values: args } = parseArgs({
  options: {
    count: { type: "string", default: "50000" },
    queries: { type: "string", default: "200" },
    ef: { type: "string", default: "64,128,256" },
    "spectrum-sample": { type: "string", default: "8000" },
    "data-dir": { type: "string" },
    store: { type: "boolean", default: false },
    // Timed passes over the queries per efSearch (recall from the first): longer windows, less noise.
    repeat: { type: "string", default: "5" },
    // Also an addon built with -march=native (the alternative to the install step's explicit flags).
    "march-native": { type: "boolean", default: false },
    // Internal: the child process of the store pass.
    child: { type: "string" },
  },
});
const count = Number(args.count);
const queryCount = Number(args.queries);
const efs = (args.ef ?? "").split(",").map(Number);
const repeat = Number(args.repeat);
const dims = 384;
const M = 16;
const EF_CONSTRUCTION = 100;

const log = (message: string) =>
  process.stderr.write(`[native-hnswlib ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

/** The same rows and queries in every process: the spectrum is fitted on a fixed sample, seeded draws. */
async function benchData(): Promise<{ rows: Float32Array; queries: Float32Array[] }> {
  const real = await loadRealVectors(
    benchDataPath(args["data-dir"], "", "--data-dir"),
    log,
    Number(args["spectrum-sample"]),
  );
  const model = fitSpectrum(real);
  return { rows: await model.sampleMatrix(count, 1), queries: await model.sample(queryCount, 2) };
}

interface Pass {
  readonly ef: number;
  readonly recallAt10: number;
  readonly cpuQps: number;
  readonly p50Ms: number;
}

/** Recall and one-thread speed of `search` over the held-out queries (after a short warm-up). */
async function measure(
  ef: number,
  queries: readonly Float32Array[],
  truth: readonly string[][],
  search: (query: Float32Array) => Promise<string[]> | string[],
): Promise<Pass> {
  for (const query of queries.slice(0, 20)) await search(query);
  const times: number[] = [];
  let recall = 0;
  const cpu = process.cpuUsage();
  for (let pass = 0; pass < repeat; pass++) {
    for (const [i, query] of queries.entries()) {
      const t = performance.now();
      const ids = await search(query);
      times.push(performance.now() - t);
      if (pass === 0) recall += recallOf(ids, truth[i] as string[]);
    }
  }
  return {
    ef,
    recallAt10: recall / queries.length,
    cpuQps: (repeat * queries.length) / cpuSeconds(cpu),
    p50Ms: percentile(times, 0.5),
  };
}

/** Build one graph with `addon` in this thread and run the passes. */
async function addonRun(
  addon: Hnswlib,
  rows: Float32Array,
  queries: readonly Float32Array[],
  truth: readonly string[][],
): Promise<{ buildCpu: number; passes: Pass[] }> {
  const graph = new addon.HierarchicalNSW("cosine", dims);
  graph.initIndex({ maxElements: count, m: M, efConstruction: EF_CONSTRUCTION, randomSeed: 100 });
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i++) graph.addPoint(Array.from(rows.subarray(i * dims, (i + 1) * dims)), i);
  const buildCpu = cpuSeconds(cpu);
  const passes: Pass[] = [];
  for (const ef of efs) {
    graph.setEf(ef);
    passes.push(
      await measure(ef, queries, truth, (query) =>
        graph.searchKnn(Array.from(query), 10).neighbors.map(String),
      ),
    );
  }
  graph.initIndex(1, M, EF_CONSTRUCTION, 100); // free the graph before the next run
  return { buildCpu, passes };
}

/**
 * Child process of the store pass: `hnswlib-node` already points at one addon (resolve hook);
 * index the rows into a fresh embedded store and time `collection.query`.
 */
async function storeChild(): Promise<void> {
  const { openVectorStore } = await import("../../src/store/open-vector-store.js");
  const { rows, queries } = await benchData();
  const truth = (await exactTopKMatrix(rows, dims, queries, 10)).map((top) => top.map(String));
  const dir = mkdtempSync(join(tmpdir(), "embedkit-native-store-"));
  const out: Pass[] = [];
  let buildCpu = 0;
  try {
    const store = await openVectorStore(dir, { embedded: { indexBuild: "blocking" } });
    const collection = await store.createCollection("bench", {
      model: "all-minilm-l6-v2",
      dims,
      metric: "cosine",
    });
    for (let from = 0; from < count; from += 1000) {
      const batch = [];
      for (let i = from; i < Math.min(count, from + 1000); i++)
        batch.push({ id: String(i), vector: rows.slice(i * dims, (i + 1) * dims) });
      await collection.upsert(batch);
    }
    const cpu = process.cpuUsage();
    await collection.query({ vector: queries[0] as Float32Array, k: 10 }); // builds the graph (blocking)
    buildCpu = cpuSeconds(cpu);
    await store.close();
    for (const ef of efs) {
      const reopened = await openVectorStore(dir, {
        embedded: { indexBuild: "blocking", hnsw: { efSearch: ef } },
      });
      const c = await reopened.getCollection("bench");
      out.push(
        await measure(ef, queries, truth, async (query) =>
          (await c.query({ vector: query, k: 10 })).map((hit) => hit.id),
        ),
      );
      await reopened.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const loaded = Object.keys(createRequire(import.meta.url).cache).filter((path) => path.endsWith(".node"));
  log(
    `store child: hnswlib addon loaded from ${loaded.filter((path) => path.includes("hnswlib")).join(", ")}`,
  );
  process.stdout.write(`${JSON.stringify({ buildCpu, passes: out })}\n`);
}

/** Run the store pass in a child whose `hnswlib-node` resolves to the package at `packageDir`. */
function storeRun(packageDir: string): Promise<{ buildCpu: number; passes: Pass[] }> {
  const hook = `data:text/javascript,${encodeURIComponent(
    `export async function resolve(specifier, context, next) {
       if (specifier === "hnswlib-node") return { url: ${JSON.stringify(pathToFileURL(join(packageDir, "lib", "index.js")).href)}, shortCircuit: true };
       return next(specifier, context);
     }`,
  )}`;
  const register = `data:text/javascript,${encodeURIComponent(
    `import { register } from "node:module"; register(${JSON.stringify(hook)});`,
  )}`;
  const tsx = resolve("node_modules/tsx/dist/esm/index.mjs");
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        register,
        "--import",
        pathToFileURL(tsx).href,
        process.argv[1] as string,
        ...process.argv.slice(2),
        "--child",
        "store",
      ],
      // The copies live outside node_modules: their `require("bindings")` finds it through NODE_PATH.
      {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, NODE_PATH: dirname(installedHnswlib()) },
      },
    );
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.once("exit", (code) =>
      code === 0 ? done(JSON.parse(stdout)) : fail(new Error(`store child exited ${code}`)),
    );
  });
}

/** The installed hnswlib-node folder. */
function installedHnswlib(): string {
  return dirname(createRequire(import.meta.url).resolve("hnswlib-node/package.json"));
}

/** One addon under test: a copy of hnswlib-node whose `build/Release/addon.node` is that build. */
interface Variant {
  readonly name: string;
  readonly dir: string;
  readonly path: string;
  readonly flags: string;
}

/**
 * The portable addon, the install step's native one and (with `--march-native`) one built with
 * `-march=native`, each in its own copy of the installed hnswlib-node. When the install step
 * already swapped the native addon in, the kept portable addon is the baseline.
 */
function addonVariants(scratch: string): Variant[] {
  const installed = installedHnswlib();
  const copy = (name: string) => {
    const dir = join(scratch, name, "hnswlib-node");
    cpSync(installed, dir, { recursive: true });
    return dir;
  };
  const addonOf = (dir: string) => join(dir, "build", "Release", "addon.node");
  const portableDir = copy("portable");
  const installedBuild = describeHnswlibBuild({ packageDir: portableDir });
  if (installedBuild.kind === "native") cpSync(installedBuild.portablePath as string, addonOf(portableDir));
  const variants: Variant[] = [{ name: "portable", dir: portableDir, path: addonOf(portableDir), flags: "" }];
  const builds: [string, Record<string, string | undefined>][] = [["native", process.env]];
  // The install step appends its -m flags to CXXFLAGS: with -march=native first they change nothing.
  if (args["march-native"]) builds.push(["march-native", { ...process.env, CXXFLAGS: "-march=native" }]);
  for (const [name, env] of builds) {
    const dir = copy(name);
    if (name === "native" && installedBuild.kind === "native") {
      // The installed addon is the install step's native build already.
    } else {
      if (name !== "native" && installedBuild.kind === "native") cpSync(addonOf(portableDir), addonOf(dir));
      const result = installNativeHnswlib({ hnswlibDir: dir, env });
      log(`${name}: ${result.message}`);
      if (result.status !== "built") throw new Error(`no ${name} addon could be built on this machine`);
    }
    variants.push({
      name,
      dir,
      path: addonOf(dir),
      flags:
        `${env.CXXFLAGS ?? ""} ${describeHnswlibBuild({ packageDir: dir }).compilerFlags.join(" ")}`.trim(),
    });
  }
  return variants;
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
type Run = { buildCpu: number; passes: Pass[] };
const row = (label: string, run: Run) =>
  `| ${label} | ${run.buildCpu.toFixed(1)} | ${run.passes.map((p) => `${p.cpuQps.toFixed(0)} · ${p.recallAt10.toFixed(3)}`).join(" | ")} |`;
const header = (first: string) => [
  `| ${first} | build CPU-s | ${efs.map((ef) => `ef ${ef}: q/CPU-s · recall@10`).join(" | ")} |`,
  `| --- | ---: | ${efs.map(() => "---:").join(" | ")} |`,
];
/** Sums of several runs' build CPU and per-ef speed, as one ratio row against the baseline's runs. */
const ratioRow = (label: string, runs: readonly Run[], baseline: readonly Run[]) => {
  const total = (list: readonly Run[], pick: (run: Run) => number) =>
    list.reduce((sum, run) => sum + pick(run), 0);
  return `| **${label}** | ${ratio(
    total(runs, (r) => r.buildCpu),
    total(baseline, (r) => r.buildCpu),
  )} | ${efs
    .map((_, i) =>
      ratio(
        total(runs, (r) => (r.passes[i] as Pass).cpuQps),
        total(baseline, (r) => (r.passes[i] as Pass).cpuQps),
      ),
    )
    .join(" | ")} |`;
};

async function main(): Promise<void> {
  const otherLoad = await busyCores(2000);
  const loadBefore = loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");
  const scratch = mkdtempSync(join(tmpdir(), "embedkit-native-bench-"));
  try {
    const variants = addonVariants(scratch);
    const require = createRequire(import.meta.url);
    const addons = new Map(variants.map((variant) => [variant.name, require(variant.path) as Hnswlib]));
    const { rows, queries } = await benchData();
    const truth = (await exactTopKMatrix(rows, dims, queries, 10)).map((top) => top.map(String));
    log(`${count} × ${dims} spectrum vectors, ${queryCount} queries, exact top-10 done`);
    const runs = new Map<string, Run[]>(variants.map((variant) => [variant.name, []]));
    const names = variants.map((variant) => variant.name);
    // Two rounds in opposite orders, so drift on a shared machine falls on every build alike.
    for (const order of [names, [...names].reverse()]) {
      for (const name of order) {
        const run = await addonRun(addons.get(name) as Hnswlib, rows, queries, truth);
        runs.get(name)?.push(run);
        log(
          `${name}: build ${run.buildCpu.toFixed(1)} CPU-s; ${run.passes.map((p) => `ef ${p.ef}: ${p.cpuQps.toFixed(0)} q/CPU-s recall ${p.recallAt10.toFixed(3)}`).join("; ")}`,
        );
      }
    }
    const lines = [
      `${count} × ${dims}, ${queryCount} queries (timed ${repeat}×), M ${M}, efConstruction ${EF_CONSTRUCTION}, cosine; busy cores before: ${otherLoad.toFixed(1)}, load average ${loadBefore}`,
      `flags: ${variants.map((variant) => `${variant.name} = \`${variant.flags || "node-gyp defaults"}\``).join(", ")}`,
      "",
      ...header("addon run"),
    ];
    for (const round of [0, 1])
      for (const name of names)
        lines.push(row(`${name} (round ${round + 1})`, runs.get(name)?.[round] as Run));
    const baseline = runs.get("portable") as Run[];
    for (const name of names.slice(1))
      lines.push(ratioRow(`${name} / portable`, runs.get(name) as Run[], baseline));
    if (args.store) {
      const store = new Map<string, Run>();
      for (const variant of variants.slice(0, 2)) store.set(variant.name, await storeRun(variant.dir));
      lines.push(
        "",
        "Through the embedded store (`collection.query`, k 10; build = the blocking first query):",
        "",
      );
      lines.push(...header("store"));
      for (const [name, run] of store) lines.push(row(name, run));
      lines.push(ratioRow("native / portable", [store.get("native") as Run], [store.get("portable") as Run]));
    }
    lines.push(
      "",
      `load average after: ${loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}`,
    );
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (args.child === "store") await storeChild();
else await main();
