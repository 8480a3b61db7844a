/**
 * Child process of the crash test: ingests into the embedded store until it is
 * killed. Before each write it prints `begin <op> <ids…>`; after the write's
 * promise resolves it prints `ack <op> <ids…>`, so the parent knows which
 * writes were acknowledged and which might be in flight when SIGKILL lands.
 * Queries between writes keep the HNSW graph caught up and snapshotted, so
 * kills also land inside index snapshots.
 *
 * Usage: node --import tsx test/store/crash-child.ts <store-dir> <trial> <seed>
 * (the test runs a plain-JS transpiled copy, see crash.test.ts)
 */
import { openEmbeddedStore } from "../../src/store/embedded-store.js";
import { createRandom } from "../../src/vectors/random.js";
import { crashVector } from "./crash-vectors.js";

const [dir, trialText, seedText] = process.argv.slice(2);
const trial = Number(trialText);
const random = createRandom(Number(seedText));
const next = random.next;
const store = await openEmbeddedStore({ path: dir as string, annThreshold: 300 });
const collection = await store
  .getCollection("crash")
  .catch(() => store.createCollection("crash", { model: "crash-model", dims: 16 }));
const write = (line: string) => process.stdout.write(`${line}\n`);
// Never outlive the test: stop when the parent stops reading, or after 60 s at the latest.
process.stdout.on("error", () => process.exit(3));
setTimeout(() => process.exit(4), 60_000).unref();
write("ready");
let serial = 0;
const acked: string[] = [];
for (;;) {
  const roll = next();
  if (roll < 0.15 && acked.length > 10) {
    const ids = Array.from(
      { length: 1 + Math.floor(next() * 5) },
      () => acked[Math.floor(next() * acked.length)] as string,
    );
    write(`begin delete ${ids.join(" ")}`);
    await collection.delete(ids);
    write(`ack delete ${ids.join(" ")}`);
  } else if (roll < 0.25) {
    await collection.query({ vector: crashVector(`t${trial}-0`), k: 5 });
  } else {
    const size = 1 + Math.floor(next() * 40);
    // Mostly new ids, sometimes re-upserting an acknowledged one.
    const ids = Array.from({ length: size }, () =>
      next() < 0.1 && acked.length > 0
        ? (acked[Math.floor(next() * acked.length)] as string)
        : `t${trial}-${serial++}`,
    );
    const unique = [...new Set(ids)];
    write(`begin upsert ${unique.join(" ")}`);
    await collection.upsert(unique.map((id) => ({ id, vector: crashVector(id), metadata: { trial } })));
    write(`ack upsert ${unique.join(" ")}`);
    acked.push(...unique);
  }
}
