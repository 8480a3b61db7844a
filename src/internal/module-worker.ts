/**
 * @module internal/module-worker
 * Start a worker thread on a module that sits next to the caller: the compiled
 * `.js` file when it exists (the built package), otherwise (running from the
 * TypeScript sources, as tests and benchmarks do) the `.ts` file through tsx's
 * loader, registered inside the worker.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

/**
 * Start a worker on `<name>.js` (or `<name>.ts`) in the folder of `callerUrl`.
 * @example
 * ```ts
 * const worker = startModuleWorker(import.meta.url, "index-worker", job);
 * ```
 */
export function startModuleWorker(
  callerUrl: string,
  name: string,
  workerData: unknown,
  transferList: readonly ArrayBuffer[] = [],
): Worker {
  const transfer = transferList.length === 0 ? {} : { transferList: [...transferList] };
  const js = new URL(`./${name}.js`, callerUrl);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData, ...transfer });
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  let tsx = "tsx/esm/api";
  try {
    tsx = import.meta.resolve(tsx);
  } catch {}
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, ...transfer });
}
