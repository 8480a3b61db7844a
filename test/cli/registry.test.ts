/**
 * The CLI imports only the command being run; these tests check that nothing
 * is lost by that: the registry's help lines match the commands they stand for,
 * and `--help` of every command and subcommand lists all of its options.
 */
import { type Command, Help } from "commander";
import { describe, expect, it } from "vitest";
import { createProgram } from "../../src/cli/main.js";
import { COMMANDS } from "../../src/cli/registry.js";
import { runCli } from "./run-cli.js";

/** Every command below `command`, with its path of names (`["train", "classifier"]`). */
function walk(command: Command, path: readonly string[] = []): Array<{ path: string[]; command: Command }> {
  return command.commands.flatMap((child) => {
    const childPath = [...path, child.name()];
    return [{ path: childPath, command: child }, ...walk(child, childPath)];
  });
}

describe("command registry", () => {
  it("has one entry per command whose help line and description match the loaded command", async () => {
    const help = new Help();
    for (const entry of COMMANDS) {
      const command = await entry.load();
      expect(command.name()).toBe(entry.name);
      expect(entry.term).toBe(help.subcommandTerm(command));
      expect(entry.description).toBe(command.description());
    }
    expect(new Set(COMMANDS.map((entry) => entry.name)).size).toBe(COMMANDS.length);
  });

  it("`embedkit --help` without loading any command prints the same text as with every command loaded", async () => {
    const lazy = await createProgram([]);
    const full = await createProgram("all");
    expect(lazy.helpInformation()).toBe(full.helpInformation());
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(full.helpInformation());
  });

  it("`--help` of every command and subcommand lists all of its options and arguments", async () => {
    const full = await createProgram("all");
    const commands = walk(full);
    expect(commands.length).toBeGreaterThan(COMMANDS.length);
    for (const { path, command } of commands) {
      const run = await runCli([...path, "--help"]);
      expect(run.code, path.join(" ")).toBe(0);
      expect(run.stdout, path.join(" ")).toContain(`Usage: embedkit ${path.join(" ")}`);
      for (const option of command.options) expect(run.stdout, path.join(" ")).toContain(option.flags);
      for (const argument of command.registeredArguments) {
        expect(run.stdout, path.join(" ")).toContain(argument.name());
      }
    }
  });

  it("`embedkit help <command>` loads the command and prints its full help", async () => {
    const run = await runCli(["help", "train"]);
    expect(run.stdout).toContain("classifier");
    expect(run.stdout).toContain("adapter");
  });

  it("an unknown command is a usage error", async () => {
    const run = await runCli(["no-such-command"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("unknown command 'no-such-command'");
  });
});
