/**
 * @module bench/imports
 * What importing embedkit costs a host process, before and after lazy loading,
 * measured in the same run: the baseline is a commit built from git into a
 * temporary folder outside the checkout (a detached `git worktree` with this
 * checkout's node_modules linked in), the current tree is built with `tsc`, and
 * the cases alternate between the two so machine load hits both alike.
 *
 * Cases (each a fresh `node` process): the whole root entry
 * (`await import("dist/index.js")`), importing only `cosineSimilarity` from it,
 * `embedkit --help`, and bare `node` for the floor. Wall time is measured around
 * the child process; peak RSS is the child's own `process.resourceUsage().maxRSS`,
 * reported at exit by a `--require` preload, with its user + system CPU time
 * (steadier than wall time when other work shares the cores). Medians over `--repeat` runs
 * (default 15), ratios current/baseline.
 *
 * Run: `npx tsx bench/imports.ts [--baseline <commit>] [--repeat 15]`
 * (default baseline b3036b7, the last commit with eager imports). Writes
 * bench/out/imports.json.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { busyCores } from "./lib/machine-load.js";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 && process.argv[index + 1] !== undefined ? (process.argv[index + 1] as string) : fallback;
}

const baselineCommit = option("--baseline", "b3036b7");
const repeat = Number.parseInt(option("--repeat", "15"), 10);

/** One measured child process. */
interface Sample {
  readonly milliseconds: number;
  /** The child's user + system CPU time: less sensitive than wall time to other work on the machine. */
  readonly cpuMilliseconds: number;
  readonly maxRssMegabytes: number;
}

interface Case {
  readonly name: string;
  /** Node arguments for a checkout at `tree`. */
  readonly args: (tree: string) => string[];
}

const CASES: readonly Case[] = [
  { name: "node (no import)", args: () => ["-e", "0"] },
  {
    name: 'import("embedkit") (root entry)',
    args: (tree) => [
      "--input-type=module",
      "-e",
      `await import(${JSON.stringify(join(tree, "dist/index.js"))});`,
    ],
  },
  {
    name: "import { cosineSimilarity }",
    args: (tree) => [
      "--input-type=module",
      "-e",
      `import { cosineSimilarity } from ${JSON.stringify(join(tree, "dist/index.js"))};` +
        "cosineSimilarity(new Float32Array([1, 0]), new Float32Array([0, 1]));",
    ],
  },
  { name: "embedkit --help", args: (tree) => [join(tree, "bin/embedkit.js"), "--help"] },
];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function measure(preload: string, args: readonly string[], cwd: string): Sample {
  const start = performance.now();
  const child = spawnSync(process.execPath, ["--require", preload, ...args], { cwd, encoding: "utf8" });
  const milliseconds = performance.now() - start;
  if (child.status !== 0) {
    throw new Error(`node ${args.join(" ")} exited with ${child.status}: ${child.stderr}`);
  }
  const match = /EMBEDKIT_BENCH_USAGE (\d+) (\d+)/.exec(child.stderr);
  if (match === null) throw new Error(`no usage report from node ${args.join(" ")}: ${child.stderr}`);
  return { milliseconds, maxRssMegabytes: Number(match[1]) / 1024, cpuMilliseconds: Number(match[2]) / 1000 };
}

function build(tree: string): void {
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], {
    cwd: tree,
    stdio: "inherit",
  });
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "embedkit-bench-imports-"));
  const baseline = join(scratch, "baseline");
  const preload = join(scratch, "report-rss.cjs");
  writeFileSync(
    preload,
    "process.on('exit', () => { const u = process.resourceUsage(); require('node:fs').writeSync(2, " +
      "'\\nEMBEDKIT_BENCH_USAGE ' + u.maxRSS + ' ' + (u.userCPUTime + u.systemCPUTime) + '\\n'); });\n",
  );
  try {
    console.log(`building baseline ${baselineCommit} in a temporary worktree, and the current tree`);
    execFileSync("git", ["worktree", "add", "--detach", baseline, baselineCommit], {
      cwd: root,
      stdio: "ignore",
    });
    symlinkSync(join(root, "node_modules"), join(baseline, "node_modules"));
    build(baseline);
    build(root);
    const otherWork = await busyCores(2000, cpus().length);
    const trees = { baseline, current: root } as const;
    const samples = new Map<string, Sample[]>();
    // Warm the file cache once, then alternate baseline/current for every repetition.
    for (const testCase of CASES)
      for (const tree of Object.values(trees)) measure(preload, testCase.args(tree), tree);
    for (let index = 0; index < repeat; index += 1) {
      for (const testCase of CASES) {
        for (const [label, tree] of Object.entries(trees)) {
          const key = `${testCase.name}|${label}`;
          samples.set(key, [...(samples.get(key) ?? []), measure(preload, testCase.args(tree), tree)]);
        }
      }
    }
    const rows = CASES.map((testCase) => {
      const of = (label: string): { ms: number; cpu: number; rss: number } => {
        const list = samples.get(`${testCase.name}|${label}`) ?? [];
        return {
          ms: median(list.map((sample) => sample.milliseconds)),
          cpu: median(list.map((sample) => sample.cpuMilliseconds)),
          rss: median(list.map((sample) => sample.maxRssMegabytes)),
        };
      };
      const before = of("baseline");
      const after = of("current");
      return {
        case: testCase.name,
        baselineMs: Math.round(before.ms),
        currentMs: Math.round(after.ms),
        timeRatio: Number((after.ms / before.ms).toFixed(2)),
        baselineCpuMs: Math.round(before.cpu),
        currentCpuMs: Math.round(after.cpu),
        cpuRatio: Number((after.cpu / before.cpu).toFixed(2)),
        baselineRssMb: Math.round(before.rss),
        currentRssMb: Math.round(after.rss),
        rssRatio: Number((after.rss / before.rss).toFixed(2)),
      };
    });
    const head =
      "| case | baseline wall ms | current wall ms | wall ratio | baseline CPU ms | current CPU ms | CPU ratio | " +
      "baseline max RSS MB | current max RSS MB | RSS ratio |";
    console.log(
      `\nmedians of ${repeat} runs each (other work on the machine: ${otherWork.toFixed(2)} cores busy)\n`,
    );
    console.log(head);
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const row of rows) {
      console.log(
        `| ${row.case} | ${row.baselineMs} | ${row.currentMs} | ${row.timeRatio} | ${row.baselineCpuMs} | ` +
          `${row.currentCpuMs} | ${row.cpuRatio} | ${row.baselineRssMb} | ${row.currentRssMb} | ${row.rssRatio} |`,
      );
    }
    mkdirSync(join(root, "bench/out"), { recursive: true });
    writeFileSync(
      join(root, "bench/out/imports.json"),
      `${JSON.stringify(
        {
          bench: "imports",
          date: new Date().toISOString(),
          machine: cpus()[0]?.model ?? "unknown",
          node: process.version,
          baseline: baselineCommit,
          repeat,
          otherWorkCores: Number(otherWork.toFixed(2)),
          rows,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    spawnSync("git", ["worktree", "remove", "--force", baseline], { cwd: root, stdio: "ignore" });
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
