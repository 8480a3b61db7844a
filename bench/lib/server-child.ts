/**
 * @module bench/lib/server-child
 * Runs the `embedkit` CLI from source (through tsx) in its own process, so the
 * load benchmark and the CLI tests can start `embedkit serve` without a build:
 * `node --import tsx bench/lib/server-child.ts serve --port 0 ...`.
 */
import { main } from "../../src/cli/main.js";

process.exitCode = await main(process.argv);
