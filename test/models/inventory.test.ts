/**
 * `npx streetsafe models` (models/inventory.ts): every configured model — runs here or why not, its
 * lifecycle and price rows, and whether the loopback API lists it (models.list, once per server and key,
 * with the shutdown_date the API gives) — from the library and from the CLI process.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { ModelFactory } from "../../lib/src/models/factory";
import { formatModelRows, modelInventory } from "../../lib/src/models/inventory";
import { startTestServer, type TestServer } from "../helpers/openai-server";
import { tempDir } from "../helpers/tmp";

const KEY = "sk-models-SENTINEL-0123456789abcdef";
const servers: TestServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));
const cli = path.resolve(__dirname, "..", "..", "lib", "bin", "streetsafe.js");

async function project(): Promise<{ server: TestServer; config: string; dataDir: string }> {
  const server = await startTestServer({ apiKey: KEY, models: ["gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14"], modelShutdownDates: { "gpt-4o-mini-2024-07-18": "2027-01-14", "gpt-4.1-mini-2025-04-14": "2027-01-21" } });
  servers.push(server);
  const root = tempDir("streetsafe-models-");
  const config = path.join(root, "models", "models.json");
  mkdirSync(path.dirname(config), { recursive: true });
  writeFileSync(
    config,
    JSON.stringify({
      models: {
        gpt4: { type: "openai-chat", model: "gpt-4o" },
        mini: { type: "openai-chat", model: "gpt-4o-mini-2024-07-18" },
        "mini-4.1": { type: "openai-chat", model: "gpt-4.1-mini-2025-04-14" },
        vllm: { type: "openai-chat", model: "llava", base_url: server.url, api_key_env: "NO_SUCH_KEY" },
        "gpt4o-mini-ft": { type: "openai-chat", fine_tune_info: "models/gpt4o_mini_finetuned/fine_tune_info.json" },
        "qwen2vl-ft": { type: "qwen2vl-local", dir: "models/absent" },
        mean: { type: "mean" },
        "image-stats": { type: "image-stats" },
      },
    }),
  );
  return { server, config, dataDir: path.join(root, "data") };
}

test("models: runs here or why not, lifecycle, price, and whether the API lists it (with its shutdown_date)", async () => {
  const { server, config, dataDir } = await project();
  const factory = await ModelFactory.load({ configPath: config, dataDir, cacheDir: null, env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url } });
  const rows = await modelInventory(factory, { today: "2026-12-01" });
  const by = Object.fromEntries(rows.map((r) => [r.name, r]));
  assert.deepEqual(rows.map((r) => r.name), ["gpt4", "mini", "mini-4.1", "vllm", "gpt4o-mini-ft", "qwen2vl-ft", "mean", "image-stats"]);
  assert.equal(by.gpt4!.runs_here, true);
  assert.equal(by.gpt4!.lifecycle, "SHUTS DOWN 2027-01-14 (in 44 days)");
  assert.equal(by.gpt4!.listed, false, "this server does not list gpt-4o");
  assert.match(by.gpt4!.note!, /not among the 2 models .* lists/);
  assert.match(by.gpt4!.price, /^\$2\.5 in, cached \$1\.25, \$10 out per 1M tokens, as of 2026-11-25$/);
  assert.equal(by.mini!.listed, true);
  assert.equal(by.mini!.api_shutdown_date, "2027-01-14");
  assert.equal(by.mini!.note, null, "the API's date agrees with the table");
  assert.match(by["mini-4.1"]!.note!, /the API's shutdown_date 2027-01-21 differs from the table's 2027-01-14/);
  assert.equal(by.vllm!.runs_here, false);
  assert.match(by.vllm!.why_not!, /NO_SUCH_KEY/);
  assert.equal(by.vllm!.listed, null);
  assert.match(by["gpt4o-mini-ft"]!.why_not!, /no fine-tuning record/);
  assert.match(by["qwen2vl-ft"]!.why_not!, /no Qwen2-VL export at .*absent/);
  assert.equal(by["qwen2vl-ft"]!.price, "free (runs here)");
  for (const b of ["mean", "image-stats"]) {
    assert.equal(by[b]!.runs_here, false, b);
    assert.match(by[b]!.why_not!, /train/, `${b}: needs step 1's train split`);
    assert.equal(by[b]!.lifecycle, "n/a");
  }
  assert.equal(server.requests.filter((r) => r.path === "/v1/models").length, 1, "one models.list per server and key");
  assert.equal(server.chatRequests().length, 0, "nothing is asked");
  assert.match(formatModelRows(rows), /^model\s+type\s+id\s+runs here\s+lifecycle\s+price\s+API lists it\n-+/);
});

test("CLI: npx streetsafe models (table and --json; --no-list asks nothing); the key never printed", async () => {
  const { server, config, dataDir } = await project();
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [cli, "models", "--config", config, "--data-dir", dataDir, ...args], { encoding: "utf8", env: { ...process.env, OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url } });
  const table = await run([]);
  assert.match(table.stdout, /^gpt4\s+openai-chat\s+gpt-4o\s+yes\s+(SHUTS DOWN|SHUT DOWN since) 2027-01-14/m);
  assert.match(table.stdout, /^mini\s+.*yes \(shutdown_date 2027-01-14\)$/m);
  const json = JSON.parse((await run(["--json", "--no-list"])).stdout) as { name: string; listed: boolean | null; note: string | null }[];
  assert.equal(json.find((r) => r.name === "mini")!.listed, null);
  assert.equal(json.find((r) => r.name === "mini")!.note, "not asked (--no-list)");
  assert.equal(server.requests.filter((r) => r.path === "/v1/models").length, 1, "--no-list asked nothing");
  assert.ok(!table.stdout.includes(KEY) && !table.stderr.includes(KEY));
});
