/**
 * @module cli/main
 * Entry point of the `embedkit` command. Builds the commander program from one
 * file per command and turns every failure into a clear message and exit code.
 */
import { Command, CommanderError } from "commander";
import { EXIT, reportError } from "./io.js";
import { COMMANDS } from "./registry.js";

/** Build the program (exported for tests and `--help` checks). */
export function createProgram(): Command {
  const program = new Command("embedkit")
    .description(
      "Embeddings, end to end: local models, similarity, search, evaluation and an OpenAI-compatible server.",
    )
    .version(process.env.npm_package_version ?? "0.1.0", "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const register of COMMANDS) program.addCommand(register());
  // Throw instead of calling process.exit at every depth, so main() decides the code.
  const override = (command: Command): void => {
    command.exitOverride();
    for (const child of command.commands) override(child);
  };
  override(program);
  return program;
}

/**
 * Run the CLI with `argv` (as in `process.argv`) and resolve to the exit code.
 * Never throws.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit with code 0; usage errors are user errors.
      return error.exitCode === 0 ? EXIT.ok : EXIT.user;
    }
    return reportError(error);
  }
}
