/**
 * @module cli/main
 * Entry point of the `embedkit` command. Builds the commander program from the
 * command registry — importing only the command being run, so `--help` and
 * each command start fast — and turns every failure into a clear message and
 * exit code.
 */
import { Command, CommanderError, Help } from "commander";
import { EXIT, reportError } from "./io.js";
import { COMMANDS } from "./registry.js";

/**
 * Build the program. Commands named in `load` (or all, with `"all"`) are
 * imported and registered in full; the others are registered by name and
 * description only, which is all `embedkit --help` shows of them.
 * Exported for tests and `--help` checks.
 * @param load the commands to import: names, or `"all"`
 */
export async function createProgram(load: readonly string[] | "all" = "all"): Promise<Command> {
  const program = new Command("embedkit")
    .description(
      "Embeddings, end to end: local models, similarity, search, evaluation and an OpenAI-compatible server.",
    )
    .version(process.env.npm_package_version ?? "0.1.0", "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const terms = new Map<string, string>();
  for (const entry of COMMANDS) {
    terms.set(entry.name, entry.term);
    const command =
      load === "all" || load.includes(entry.name)
        ? await entry.load()
        : new Command(entry.name).description(entry.description);
    program.addCommand(command);
  }
  // The registry's term, so an unloaded command has the same help line as a loaded one.
  const help = new Help();
  program.configureHelp({
    subcommandTerm: (command) => terms.get(command.name()) ?? help.subcommandTerm(command),
  });
  // Throw instead of calling process.exit at every depth, so main() decides the code.
  const override = (command: Command): void => {
    command.exitOverride();
    for (const child of command.commands) override(child);
  };
  override(program);
  return program;
}

/**
 * The top-level command `argv` runs: the first operand, or the one after
 * `help` (`embedkit help embed`). Top-level options take no values, so every
 * argument not starting with `-` is an operand.
 */
function invokedCommand(argv: readonly string[]): string | undefined {
  const operands = argv.slice(2).filter((argument) => !argument.startsWith("-"));
  return operands[0] === "help" ? operands[1] : operands[0];
}

/**
 * Run the CLI with `argv` (as in `process.argv`) and resolve to the exit code.
 * Never throws.
 */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const invoked = invokedCommand(argv);
    const program = await createProgram(invoked === undefined ? [] : [invoked]);
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
