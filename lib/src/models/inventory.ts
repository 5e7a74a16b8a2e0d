/**
 * `npx streetsafe models`: every configured model — whether it can run here (and if not, why), its
 * lifecycle (openai/lifecycle.ts) and its price row (openai/prices.ts), and, for API models with a key,
 * whether the API lists it (`models.list`, once per server and key) with the `shutdown_date` the API
 * gives it. Nothing is loaded or trained: local models and trained baselines are checked by their files.
 */
import { isoToday, lifecycleOf, lifecycleText } from "../openai/lifecycle";
import { fineTunedBase, inferencePrices, PRICES_AS_OF } from "../openai/prices";
import type { ModelCheck, ModelFactory } from "./factory";
import { OpenAIChatModel } from "./openai-chat";

export interface ModelRow {
  name: string;
  type: string;
  kind: string;
  model_id: string | null;
  runs_here: boolean;
  /** Why it cannot run here; null when it can. */
  why_not: string | null;
  /** The lifecycle table's state in words (API models), or "n/a". */
  lifecycle: string;
  /** The table's shutdown date; null when none (or not an API model). */
  shutdown: string | null;
  /** The price table's row in words. */
  price: string;
  /** true/false: the API's models.list has it; null: not asked (no key, not an API model, Azure, --no-list) or the list failed. */
  listed: boolean | null;
  /** The `shutdown_date` the API gives the model (YYYY-MM-DD), or null when it gives none. */
  api_shutdown_date: string | null;
  /** Why `listed` is null or false, or where the API's date differs from the table's. */
  note: string | null;
}

export interface InventoryOptions {
  /** Ask each API server which models it lists (default true; a key is needed). */
  list?: boolean;
  /** The day lifecycle states are computed for (tests); default today. */
  today?: string;
  /** Per request to models.list. */
  timeoutMs?: number;
}

/** The rows for every model the config names (tested with the loopback server). */
export async function modelInventory(factory: ModelFactory, opts: InventoryOptions = {}): Promise<ModelRow[]> {
  const today = opts.today ?? isoToday();
  const lists = new Map<string, Promise<Map<string, { shutdown_date?: string | null }>>>();
  const rows: ModelRow[] = [];
  for (const name of factory.names()) {
    const c = await factory.check(name);
    const chat = c.model instanceof OpenAIChatModel ? c.model : null;
    const provider = chat?.describe().provider === "azure" ? "azure" : "openai";
    const life = c.kind === "api" && c.modelId ? lifecycleOf(c.modelId, { provider, today }) : null;
    const row: ModelRow = {
      name,
      type: c.type,
      kind: c.kind,
      model_id: c.modelId,
      runs_here: c.ok,
      why_not: c.reason,
      lifecycle: life ? lifecycleText(life) : "n/a",
      shutdown: life?.shutdown ?? null,
      price: priceText(c),
      listed: null,
      api_shutdown_date: null,
      note: null,
    };
    if (!chat || !c.modelId) row.note = c.kind === "api" ? "not asked (cannot run here)" : null;
    else if (provider === "azure") row.note = "Azure: models.list names base models, not deployments; not asked";
    else if (opts.list === false) row.note = "not asked (--no-list)";
    else await listed(row, chat, c.modelId, lists, opts.timeoutMs ?? 15_000);
    rows.push(row);
  }
  return rows;
}

/** Fill `listed`, `api_shutdown_date` and `note` from the server's models.list (asked once per server and key). */
async function listed(row: ModelRow, chat: OpenAIChatModel, modelId: string, lists: Map<string, Promise<Map<string, { shutdown_date?: string | null }>>>, timeoutMs: number): Promise<void> {
  const handle = chat.clientFor({ timeoutMs, maxRetries: 1 });
  const key = `${handle.baseURL}\u0000${handle.apiKey}`;
  if (!lists.has(key)) {
    const all = (async () => {
      const ids = new Map<string, { shutdown_date?: string | null }>();
      for await (const m of handle.client.models.list()) ids.set(m.id, m as { shutdown_date?: string | null });
      return ids;
    })();
    all.catch(() => {}); // reported on each row below
    lists.set(key, all);
  }
  try {
    const ids = await lists.get(key)!;
    const m = ids.get(modelId);
    row.listed = !!m;
    if (!m) {
      row.note = `not among the ${ids.size} models ${handle.baseURL} lists (no access, a typo, or shut down)`;
      return;
    }
    row.api_shutdown_date = typeof m.shutdown_date === "string" ? m.shutdown_date : null;
    if (row.api_shutdown_date && row.api_shutdown_date !== row.shutdown) {
      row.note = `the API's shutdown_date ${row.api_shutdown_date} differs from the table's ${row.shutdown ?? "none"}: the API is the newer word (update lib/src/openai/lifecycle.ts)`;
    }
  } catch (e) {
    row.note = `models.list failed: ${(e as Error).message.slice(0, 160)}`;
  }
}

/** The price table's row for a model, in words. */
function priceText(c: ModelCheck): string {
  if (c.kind === "baseline") return "free (offline baseline)";
  if (c.kind === "local") return "free (runs here)";
  if (!c.modelId) return "n/a";
  try {
    const p = inferencePrices(c.modelId);
    const cached = p.cachedInput !== undefined ? `, cached $${p.cachedInput}` : "";
    return `$${p.input} in${cached}, $${p.output} out per 1M tokens${fineTunedBase(c.modelId) ? " (fine-tuned)" : ""}, as of ${PRICES_AS_OF}`;
  } catch {
    return "not in the price table (lib/src/openai/prices.ts)";
  }
}

/** The rows as an aligned text table (the CLI). */
export function formatModelRows(rows: ModelRow[]): string {
  const head = ["model", "type", "id", "runs here", "lifecycle", "price", "API lists it"];
  const listedText = (r: ModelRow) => (r.listed === null ? (r.note ?? "—") : r.listed ? `yes${r.api_shutdown_date ? ` (shutdown_date ${r.api_shutdown_date})` : ""}${r.note ? `; ${r.note}` : ""}` : `NO: ${r.note}`);
  const body = rows.map((r) => [r.name, r.type, r.model_id ?? "—", r.runs_here ? "yes" : `no: ${r.why_not}`, r.lifecycle, r.price, listedText(r)]);
  const widths = head.map((h, i) => Math.min(48, Math.max(h.length, ...body.map((b) => b[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}
