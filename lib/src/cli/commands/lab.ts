import type { Command } from "commander";
import { PROJECT_ROOT } from "../../core/project-path";
import { ensureJupyter, runLabCommand } from "../../jupyter";

/** Flags → the lab's options (a pure plan; the port is checked here). */
export function labPlan(o: { port?: string }): { port: number } {
  const port = o.port === undefined ? 0 : Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${o.port}: a port number 1–65535 (or 0: a free one)`);
  return { port };
}

export function register(program: Command): void {
  program
    .command("lab")
    .description("JupyterLab on notebooks/ with the TypeScript kernel, on 127.0.0.1 with a token (what `npm run lab` runs); Ctrl-C stops it")
    .option("--port <n>", "port to listen on (default: a free one)")
    .action(async (o: { port?: string }) => {
      const plan = labPlan(o);
      const j = ensureJupyter(PROJECT_ROOT);
      process.exitCode = await runLabCommand(j, { port: plan.port });
    });
}
