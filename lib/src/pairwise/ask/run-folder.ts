/**
 * An ask run folder, `results/pairwise/ask-<id>/`, its one reader and writer: `run.json` (the plan, the
 * models, the prompt, the cost estimate; written atomically) and `answers.jsonl` (one line per request,
 * appended as each answer arrives, so an interrupted run loses at most the line being written).
 * A model, pair and order may have more than one line (a resumed run asking a failure again): the last
 * line wins.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { writeJson } from "../../core/atomic-output";
import { PredictionLog, readJsonLines } from "../../compare";

export const ASK_FILES = { run: "run.json", answers: "answers.jsonl" } as const;
export const ASK_SCHEMA = "streetsafe.pairwise.ask/1";

/** "ab": the plan's left image shown first; "ba": its right image first. */
export type PairOrder = "ab" | "ba";

export const answerRecordSchema = z.object({
  model: z.string(),
  model_id: z.string(),
  pair: z.number().int(),
  order: z.enum(["ab", "ba"]),
  first: z.string(),
  second: z.string(),
  first_sha256: z.string(),
  second_sha256: z.string(),
  answer: z.enum(["first", "second", "equal"]).nullable(),
  p_first: z.number().nullable(),
  p_second: z.number().nullable(),
  p_equal: z.number().nullable(),
  raw: z.string(),
  error: z.string().nullable(),
  usage: z.object({ input_tokens: z.number(), output_tokens: z.number() }).nullable(),
  cost_usd: z.number().nullable(),
  latency_ms: z.number(),
  cached: z.boolean(),
  finished_at: z.string(),
});
export type AnswerRecord = z.infer<typeof answerRecordSchema>;

export const askModelInfoSchema = z.object({
  name: z.string(),
  status: z.enum(["ran", "skipped"]),
  kind: z.string(),
  reason: z.string().optional(),
  model_id: z.string().optional(),
  method: z.enum(["two-images", "scores"]).optional(),
  settings: z.record(z.unknown()).optional(),
  concurrency: z.number().optional(),
});
export type AskModelInfo = z.infer<typeof askModelInfoSchema>;

export const askRunSchema = z.object({
  schema: z.literal(ASK_SCHEMA),
  run_id: z.string(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
  command: z.array(z.string()),
  plan: z.object({ dir: z.string(), sha256: z.string(), pairs: z.number(), method: z.string().optional() }),
  images_dir: z.string(),
  orders_per_pair: z.literal(2),
  requests_per_model: z.number(),
  models: z.array(askModelInfoSchema),
  /** Whether OpenAI judges were asked through the Batch API (`--batch`); a resume keeps it. */
  batch: z.boolean().optional(),
  prompt: z.object({ version: z.string(), sha256: z.string() }),
  cost_estimate_usd: z.record(z.number().nullable()),
  max_cost_usd: z.number().nullable(),
  versions: z.record(z.string()),
});
export type AskRunInfo = z.infer<typeof askRunSchema>;

export async function writeAskRun(runDir: string, run: AskRunInfo): Promise<void> {
  await writeJson(path.join(runDir, ASK_FILES.run), run);
}

export async function readAskRun(runDir: string): Promise<AskRunInfo> {
  const file = path.join(runDir, ASK_FILES.run);
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new Error(`${file} cannot be read (${(e as Error).message}); is this an ask run folder (made by \`streetsafe pairwise ask\`)?`);
  }
  const r = askRunSchema.safeParse(data);
  if (!r.success) throw new Error(`${file} is not an ask run's run.json: ${r.error.issues[0]!.path.join(".")}: ${r.error.issues[0]!.message}`);
  return r.data;
}

/** Every complete line; a last line cut by a crash is ignored, any other bad line is an error naming it. */
export function readAnswers(runDir: string): Promise<AnswerRecord[]> {
  return readJsonLines(
    path.join(runDir, ASK_FILES.answers),
    (rec) => {
      const r = answerRecordSchema.safeParse(rec);
      return r.success ? r.data : `is not an answer record: ${r.error.issues[0]!.path.join(".")}: ${r.error.issues[0]!.message}`;
    },
    "start a new ask run",
  );
}

export const answerKey = (model: string, pair: number, order: PairOrder) => `${model}\u0000${pair}\u0000${order}`;

/** Each (model, pair, order)'s last record. */
export function latestAnswers(records: readonly AnswerRecord[]): AnswerRecord[] {
  const by = new Map<string, AnswerRecord>();
  for (const r of records) {
    const k = answerKey(r.model, r.pair, r.order);
    by.delete(k);
    by.set(k, r);
  }
  return [...by.values()];
}

/** The answers log of a run folder (compare's appending log, one line per answer). */
export function openAnswerLog(runDir: string): Promise<PredictionLog<AnswerRecord>> {
  return PredictionLog.openFile<AnswerRecord>(path.join(runDir, ASK_FILES.answers));
}
