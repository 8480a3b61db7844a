/**
 * @module bench/lib/machine-load
 * How busy the machine is with work that is not ours. On a 2-core machine one
 * other process (a colleague's benchmark, a type-check) halves a throughput
 * number, so benchmarks sample this while their own workers are idle, record
 * it next to the numbers, and can wait for a quiet machine first.
 */
import { readFile } from "node:fs/promises";
import { cpus } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

async function cpuTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n", 1)[0] ?? "";
  // cpu  user nice system idle iowait irq softirq steal ...
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Cores kept busy, on average over `milliseconds`, by everything running now
 * (call it while the benchmark itself is idle). 0 = idle machine, 2 = both cores busy.
 */
export async function busyCores(milliseconds = 1000, cores = 2): Promise<number> {
  const before = await cpuTicks();
  await sleep(milliseconds);
  const after = await cpuTicks();
  const total = after.total - before.total;
  return total === 0 ? 0 : ((after.busy - before.busy) / total) * cores;
}

/**
 * Wait until other work keeps fewer than `threshold` cores busy, polling every
 * few seconds for at most `timeoutSeconds`. Returns the last sample.
 */
export async function waitForQuiet(options: {
  readonly threshold: number;
  readonly timeoutSeconds: number;
  readonly cores: number;
  readonly log: (message: string) => void;
}): Promise<number> {
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  let busy = await busyCores(2000, options.cores);
  while (busy >= options.threshold && Date.now() < deadline) {
    options.log(`machine busy (${busy.toFixed(2)} cores used by other processes); waiting ...`);
    await sleep(10_000);
    busy = await busyCores(2000, options.cores);
  }
  return busy;
}

/** The machine a benchmark ran on, with the load from other work (for reports). */
export function machineInfo(otherWorkCores: number): {
  cores: number;
  cpu: string;
  node: string;
  otherWorkCores: number;
} {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? "?", node: process.version, otherWorkCores };
}
