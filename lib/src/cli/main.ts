/**
 * `npx streetsafe <command>`: one runner owns help, errors and exit codes; each command lives in
 * cli/commands/<name>.ts and only turns flags into a call of the library.
 */
import { Command, CommanderError } from "commander";
import { InputError } from "../core/errors";
import * as demoData from "./commands/demo-data";
import * as prepare from "./commands/prepare";
import * as notebooks from "./commands/notebooks";
import * as finetune from "./commands/finetune";
import * as predict from "./commands/predict";
import * as analyze from "./commands/analyze";
import * as compare from "./commands/compare";
import * as pairwise from "./commands/pairwise";
import * as lab from "./commands/lab";
import * as checkExport from "./commands/check-export";

export function buildProgram(): Command {
  const program = new Command("streetsafe")
    .description("Score street-view images for perceived safety, fine-tune models on human ratings, compare them honestly.")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const cmd of [demoData, prepare, finetune, predict, compare, analyze, pairwise, notebooks, checkExport, lab]) cmd.register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
  } catch (err) {
    process.exitCode = exitCodeFor(err);
  }
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode; // commander already printed the message
  if (err instanceof InputError) {
    console.error(`error: ${err.message}`);
    console.error("nothing was written.");
    return 2;
  }
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.STREETSAFE_DEBUG && err instanceof Error) console.error(err.stack);
  return 1;
}
