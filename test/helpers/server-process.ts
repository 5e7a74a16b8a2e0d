/**
 * The loopback OpenAI-compatible test server (openai-server.ts) in a child process, for tests and
 * benchmarks whose own process must not be what serves the requests: a CLI run that is SIGKILLed, a
 * throughput measurement where client and server should not share one event loop.
 *
 * `startServerProcess` spawns this file with tsx (asynchronously) and resolves once the child prints
 * its URL. The child adds one unauthenticated route, `GET /__stats`, listing the chat requests it saw
 * (index, image sha256, attempt, behaviour), and exits when its stdin closes, so it never outlives the
 * process that started it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { startTestServer } from "./openai-server";

export interface ServerProcessOptions {
  apiKey?: string;
  /** Fixed latency before every chat answer (ms). */
  latencyMs?: number;
}

export interface ServerStats {
  chat: number;
  /** CPU time the server process has used so far (user + system), ms. */
  cpuMs: number;
  requests: { index: number; imageSha256?: string; attempt?: number; answeredWith?: string; authorized: boolean; receivedAt: number; answeredAt?: number }[];
}

export interface ServerProcess {
  url: string;
  origin: string;
  pid: number;
  stats(): Promise<ServerStats>;
  close(): Promise<void>;
}

const STATS_PATH = "/__stats";

export async function startServerProcess(opts: ServerProcessOptions = {}): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", __filename, JSON.stringify(opts)], {
    cwd: path.resolve(__dirname, "..", ".."),
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const { url, origin } = await new Promise<{ url: string; origin: string }>((resolve, reject) => {
    let out = "";
    const onData = (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) {
        child.stdout!.off("data", onData);
        resolve(JSON.parse(line) as { url: string; origin: string });
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`the test server process exited (${code}) before listening: ${out}`)));
  });
  return {
    url,
    origin,
    pid: child.pid!,
    // A fresh connection each time (no keep-alive): a caller may block its event loop for longer than
    // the server keeps an idle socket open (spawnSync), and a reused dead socket fails the request.
    stats: () =>
      new Promise<ServerStats>((resolve, reject) => {
        http
          .get(`${origin}${STATS_PATH}`, { agent: false }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => resolve(JSON.parse(body) as ServerStats));
          })
          .on("error", reject);
      }),
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin!.end();
        child.kill("SIGTERM");
      }
      await exited;
    },
  };
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? "{}") as ServerProcessOptions;
  const server = await startTestServer({
    ...(opts.apiKey !== undefined ? { apiKey: opts.apiKey } : {}),
    ...(opts.latencyMs !== undefined ? { latencyMs: opts.latencyMs } : {}),
    extraRoutes: [
      {
        method: "GET",
        path: STATS_PATH,
        auth: false,
        handler: ({ res }) => {
          const requests = server
            .chatRequests()
            .map((r) => ({ index: r.index, imageSha256: r.imageSha256, attempt: r.attempt, answeredWith: r.answeredWith, authorized: r.authorized, receivedAt: r.receivedAt, answeredAt: r.answeredAt }));
          const cpu = process.cpuUsage();
          const text = JSON.stringify({ chat: requests.length, cpuMs: (cpu.user + cpu.system) / 1000, requests } satisfies ServerStats);
          res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
          res.end(text);
        },
      },
    ],
  });
  const stop = () => void server.close().then(() => process.exit(0));
  process.stdin.on("end", stop);
  process.stdin.on("error", stop);
  process.stdin.resume();
  process.on("SIGTERM", stop);
  process.stdout.write(JSON.stringify({ url: server.url, origin: server.origin }) + "\n");
}

if (require.main === module) void main();
