/** The embedkit CLI from source, for tests that run `embedkit worker` as a child process (started with `node --import tsx`). */
import { main } from "../../src/cli/main.js";

process.exitCode = await main(process.argv);
