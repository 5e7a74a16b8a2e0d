/**
 * `check-export`: does a Qwen2-VL ONNX folder run in streetsafe the way its PyTorch model runs in transformers?
 *
 * The same test images and prompts go through both:
 * - Node: streetsafe's own LocalQwen2VLModel (`generate`, the path `predict` takes) on the ONNX folder, once per
 *   dtype the folder has (fp32, q8, fp16);
 * - PyTorch: python/qwen2vl/parity_torch.py on the model the export came from (the merged folder, or a hub id),
 *   in the project's venv.
 * Cases: each image alone under the task prompt (the images are cropped to different aspect ratios, so the grids
 * differ), and the first two together in one prompt ("which looks safer?": the N-image path). Every image is
 * resized once to its smart_resize size and written as PNG, so both sides decode the same pixels (sharp and PIL
 * decode JPEG slightly differently) and neither resizes again.
 *
 * Compared per case: the prompt token ids and image grids (must be equal), the first generated position's
 * logits (largest |Δ|, argmax), the greedy replies (token ids) and the scores parsed from them.
 * fp32 passes when every case has equal ids and grids, max |Δlogit| ≤ 1e-3 + 1e-4 · max |logit| and equal
 * replies. Quantized dtypes are measured, not judged: score agreement rate, reply agreement, largest |Δlogit|.
 * The result is written atomically as JSON (`out`) and returned.
 */
import { existsSync, mkdtempSync, promises as fs, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import sharp from "sharp";
import { writeJson } from "../../core/atomic-output";
import { ensurePythonPart, PROJECT_ROOT, runPythonJob, type ProjectPython } from "../../core/python";
import { DEFAULT_SCALE, type Scale } from "../../core/scale";
import type { ExportChecker } from "../../finetune";
import { QWEN_FINETUNING_SUBDIR } from "../../prepare";
import { systemPrompt, userPrompt } from "../../prompt/prompts";
import { parseScoreText } from "../../prompt/score-text";
import { DTYPE_SUFFIX, missingQwen2VLFiles } from "./files";
import { qwen2vlImageSize } from "./image-size";
import type { ChatMessage } from "./inputs";
import { LocalQwen2VLModel } from "./model";

export const PARITY_SCRIPT = path.join("python", "qwen2vl", "parity_torch.py");
export const CHECK_TOLERANCE = { abs: 1e-3, rel: 1e-4 } as const;
/** The dtypes a check runs when the folder has them (fp32 is required: it is the one judged). */
export const CHECK_DTYPES = ["fp32", "q8", "fp16"] as const;
const ASPECTS: [number, number][] = [[3, 5], [1, 1], [5, 2]];
const PAIR_SYSTEM = "You compare street-view photographs for perceived safety.";
const PAIR_USER = "Which of these two street scenes would feel safer to walk in: the first or the second? Answer 1 or 2.";

export interface CheckExportOptions {
  exportDir: string;
  /** The PyTorch model the export came from: a Hugging Face folder (merged) or a hub id. */
  torchModel: string;
  /** Where the result goes; default defaultCheckFile(exportDir). */
  out?: string;
  /** Test images; default the first three of step 1's validation split under `dataDir`. */
  images?: string[];
  dataDir?: string;
  dtypes?: string[];
  /** Also run the first two images in one prompt (default true). */
  pair?: boolean;
  maxNewTokens?: number;
  scale?: Scale;
  python?: ProjectPython;
  root?: string;
  threads?: number;
  logFile?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface CheckCase {
  id: string;
  dtype: string;
  images: number;
  image_grid_thw: number[][];
  input_ids_equal: boolean;
  grid_equal: boolean;
  max_abs_logit_diff: number;
  max_abs_logit: number;
  within_tolerance: boolean;
  argmax_equal: boolean;
  reply_equal: boolean;
  /** Share of generated tokens equal before the first difference. */
  token_agreement: number;
  torch_reply: string;
  node_reply: string;
  torch_score: number | null;
  node_score: number | null;
}

export interface DtypeSummary {
  cases: number;
  max_abs_logit_diff: number;
  reply_equal_rate: number;
  argmax_agreement: number;
  /** Over the single-image cases whose PyTorch reply has a score; null when none has. */
  score_agreement_rate: number | null;
  scored_cases: number;
  ids_and_grids_equal: boolean;
  /** fp32 only: the verdict. */
  pass?: boolean;
}

export interface CheckExportResult {
  passed: boolean;
  file: string;
  export_dir: string;
  torch_model: string;
  tolerance: { abs: number; rel: number };
  dtypes: Record<string, DtypeSummary>;
  cases: CheckCase[];
  seconds: { node: number; torch: number; total: number };
  checked_at: string;
}

/** Beside the record when the folder is a streetsafe fine-tune's export, else inside the folder. */
export function defaultCheckFile(exportDir: string): string {
  const parent = path.dirname(path.resolve(exportDir));
  return existsSync(path.join(parent, "fine_tune_info.json")) ? path.join(path.dirname(exportDir), "export_check.json") : path.join(exportDir, "streetsafe_check.json");
}

/** The first `n` images of step 1's validation split (then train), as files. */
export async function checkImagesFromData(dataDir: string, n = 3): Promise<string[]> {
  const dir = path.join(dataDir, QWEN_FINETUNING_SUBDIR);
  const out: string[] = [];
  for (const split of ["streetsafe_val.json", "streetsafe_train.json"]) {
    const file = path.join(dir, split);
    if (!existsSync(file)) continue;
    const examples = JSON.parse(await fs.readFile(file, "utf8")) as { images?: string[] }[];
    for (const ex of examples) for (const rel of ex.images ?? []) if (out.length < n && !out.includes(path.join(dir, rel))) out.push(path.join(dir, rel));
  }
  if (out.length === 0) throw new Error(`no test images: give --image FILE (or run step 1, which writes ${dir})`);
  return out;
}

interface PreparedCase {
  id: string;
  pngs: string[];
  messages: ChatMessage[];
  system: string;
  user: string;
}

export async function checkQwen2VLExport(opts: CheckExportOptions): Promise<CheckExportResult> {
  const t0 = performance.now();
  const log = opts.log ?? ((l: string) => console.log(l));
  const root = opts.root ?? PROJECT_ROOT;
  const scale = opts.scale ?? DEFAULT_SCALE;
  const maxNewTokens = opts.maxNewTokens ?? 32;
  const out = opts.out ?? defaultCheckFile(opts.exportDir);
  const dtypes = opts.dtypes ?? (await availableDtypes(opts.exportDir));
  if (!dtypes.includes("fp32")) throw new Error(`${opts.exportDir} has no complete fp32 set (onnx/*.onnx): the check compares fp32 against PyTorch`);
  const images = opts.images ?? (await checkImagesFromData(opts.dataDir ?? "data"));
  const work = mkdtempSync(path.join(os.tmpdir(), "streetsafe-check-"));
  try {
    // The Node model decides the resize (the folder's max_pixels, or the training cap): ask it.
    const probe = await LocalQwen2VLModel.load({ dir: opts.exportDir, scale, dtype: "fp32", log: () => undefined });
    const resize = probe.describe() as { maxPixels: number; minPixels: number };
    await probe.dispose();
    const cases = await prepareCases(images, work, resize, scale, opts.pair ?? true);
    log(`  ${cases.length} cases (${images.length} images${opts.pair ?? true ? " + one pair" : ""}), dtypes ${dtypes.join(", ")}`);

    const node: Record<string, Map<string, { reply: string; generatedIds: number[]; promptIds: number[]; grid: number[][]; logits: Float32Array }>> = {};
    const tNode = performance.now();
    for (const dtype of dtypes) {
      const model = await LocalQwen2VLModel.load({ dir: opts.exportDir, scale, dtype: dtype as "fp32", maxNewTokens, log: () => undefined });
      node[dtype] = new Map();
      try {
        for (const c of cases) {
          if (opts.signal?.aborted) throw new Error("check stopped");
          let first: Float32Array | undefined;
          const prepared = await Promise.all(c.pngs.map(async (p) => {
            const bytes = await fs.readFile(p);
            const meta = await sharp(bytes).metadata();
            return { jpeg: bytes, width: meta.width!, height: meta.height!, sha256: "" };
          }));
          const g = await model.generate({ images: prepared, messages: c.messages, onStepLogits: (step, row) => { if (step === 0) first = row; } });
          if (!first) throw new Error(`${c.id}: no logits were produced`);
          node[dtype]!.set(c.id, { reply: g.reply, generatedIds: g.generatedIds, promptIds: g.promptIds, grid: g.imageGridThw, logits: first });
        }
      } finally {
        await model.dispose();
      }
    }
    const nodeSeconds = (performance.now() - tNode) / 1000;

    const python = opts.python ?? ensurePythonPart(root, "train", { log });
    const spec = {
      model: existsSync(opts.torchModel) ? path.resolve(opts.torchModel) : opts.torchModel,
      max_new_tokens: maxNewTokens,
      threads: opts.threads ?? null,
      cases: cases.map((c) => ({ id: c.id, images: c.pngs, system: c.system, user: c.user, logits_out: path.join(work, `${c.id}.torch.f32`) })),
    };
    await fs.writeFile(path.join(work, "cases.json"), JSON.stringify(spec, null, 2));
    const torch = new Map<string, Record<string, unknown>>();
    const r = await runPythonJob(python, PARITY_SCRIPT, ["--cases", path.join(work, "cases.json")], {
      root,
      logFile: opts.logFile,
      signal: opts.signal,
      ...(opts.threads ? { env: { OMP_NUM_THREADS: String(opts.threads) } } : {}),
      onEvent: (e) => {
        if (e.event === "case") torch.set(String(e.id), e);
      },
    });
    if (r.code !== 0) throw new Error(`the PyTorch side failed: ${r.error}`);
    const torchSeconds = r.seconds;

    const results: CheckCase[] = [];
    for (const dtype of dtypes) {
      for (const c of cases) {
        const t = torch.get(c.id)!;
        const n = node[dtype]!.get(c.id)!;
        const ref = new Float32Array((await fs.readFile(path.join(work, `${c.id}.torch.f32`))).buffer.slice(0));
        results.push(compareCase(c, dtype, t, n, ref, scale));
      }
    }
    const summaries: Record<string, DtypeSummary> = {};
    for (const dtype of dtypes) summaries[dtype] = summarise(results.filter((x) => x.dtype === dtype), dtype === "fp32");
    const result: CheckExportResult = {
      passed: summaries.fp32!.pass === true,
      file: out,
      export_dir: opts.exportDir,
      torch_model: opts.torchModel,
      tolerance: { ...CHECK_TOLERANCE },
      dtypes: summaries,
      cases: results,
      seconds: { node: round(nodeSeconds), torch: round(torchSeconds), total: round((performance.now() - t0) / 1000) },
      checked_at: new Date().toISOString(),
    };
    await writeJson(out, result);
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The dtypes among CHECK_DTYPES whose three files the folder has. */
export async function availableDtypes(dir: string): Promise<string[]> {
  const have: string[] = [];
  for (const d of CHECK_DTYPES) if (d in DTYPE_SUFFIX && (await missingQwen2VLFiles(dir, d)).length === 0) have.push(d);
  return have;
}

async function prepareCases(images: string[], work: string, resize: { maxPixels: number; minPixels: number }, scale: Scale, pair: boolean): Promise<PreparedCase[]> {
  const pngs: string[] = [];
  for (const [i, file] of images.entries()) {
    const img = sharp(file).removeAlpha().toColourspace("srgb");
    const meta = await sharp(file).metadata();
    const [aw, ah] = ASPECTS[i % ASPECTS.length]!;
    const w = meta.width!;
    const h = meta.height!;
    const [cw, ch] = aw / ah > w / h ? [w, Math.floor((w * ah) / aw)] : [Math.floor((h * aw) / ah), h];
    const target = qwen2vlImageSize(cw, ch, { ...resize, factor: 28 });
    const png = path.join(work, `image${i}_${target.width}x${target.height}.png`);
    await img
      .extract({ left: Math.floor((w - cw) / 2), top: Math.floor((h - ch) / 2), width: cw, height: ch })
      .resize(target.width, target.height, { fit: "fill", kernel: "cubic" })
      .png()
      .toFile(png);
    pngs.push(png);
  }
  const system = systemPrompt(scale);
  const user = userPrompt(scale);
  const cases: PreparedCase[] = pngs.map((p, i) => ({
    id: `image${i}`,
    pngs: [p],
    system,
    user: `<image>${user}`,
    messages: [
      { role: "system", content: system },
      { role: "user", content: [{ type: "image" }, { type: "text", text: user }] },
    ],
  }));
  if (pair && pngs.length >= 2) {
    cases.push({
      id: "pair01",
      pngs: [pngs[0]!, pngs[1]!],
      system: PAIR_SYSTEM,
      user: `<image><image>${PAIR_USER}`,
      messages: [
        { role: "system", content: PAIR_SYSTEM },
        { role: "user", content: [{ type: "image" }, { type: "image" }, { type: "text", text: PAIR_USER }] },
      ],
    });
  }
  return cases;
}

function compareCase(
  c: PreparedCase,
  dtype: string,
  t: Record<string, unknown>,
  n: { reply: string; generatedIds: number[]; promptIds: number[]; grid: number[][]; logits: Float32Array },
  ref: Float32Array,
  scale: Scale,
): CheckCase {
  if (ref.length !== n.logits.length) throw new Error(`${c.id}: logits differ in length (PyTorch ${ref.length}, Node ${n.logits.length})`);
  let diff = 0;
  let scaleMax = 0;
  let am = 0;
  let bm = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ref[i]! - n.logits[i]!));
    scaleMax = Math.max(scaleMax, Math.abs(ref[i]!));
    if (ref[i]! > ref[am]!) am = i;
    if (n.logits[i]! > n.logits[bm]!) bm = i;
  }
  const tIds = t.generated_ids as number[];
  let same = 0;
  while (same < tIds.length && same < n.generatedIds.length && tIds[same] === n.generatedIds[same]) same++;
  const single = c.pngs.length === 1;
  const score = (reply: string) => {
    const p = parseScoreText(reply, scale);
    return single && p.ok ? p.score : null;
  };
  return {
    id: c.id,
    dtype,
    images: c.pngs.length,
    image_grid_thw: t.image_grid_thw as number[][],
    input_ids_equal: JSON.stringify(t.input_ids) === JSON.stringify(n.promptIds),
    grid_equal: JSON.stringify(t.image_grid_thw) === JSON.stringify(n.grid),
    max_abs_logit_diff: diff,
    max_abs_logit: scaleMax,
    within_tolerance: diff <= CHECK_TOLERANCE.abs + CHECK_TOLERANCE.rel * scaleMax,
    argmax_equal: am === bm,
    reply_equal: JSON.stringify(tIds) === JSON.stringify(n.generatedIds),
    token_agreement: same / Math.max(tIds.length, n.generatedIds.length, 1),
    torch_reply: String(t.reply),
    node_reply: n.reply,
    torch_score: score(String(t.reply)),
    node_score: score(n.reply),
  };
}

function summarise(rows: CheckCase[], judged: boolean): DtypeSummary {
  const scored = rows.filter((r) => r.torch_score !== null);
  const s: DtypeSummary = {
    cases: rows.length,
    max_abs_logit_diff: Math.max(...rows.map((r) => r.max_abs_logit_diff)),
    reply_equal_rate: rows.filter((r) => r.reply_equal).length / rows.length,
    argmax_agreement: rows.filter((r) => r.argmax_equal).length / rows.length,
    score_agreement_rate: scored.length ? scored.filter((r) => r.node_score === r.torch_score).length / scored.length : null,
    scored_cases: scored.length,
    ids_and_grids_equal: rows.every((r) => r.input_ids_equal && r.grid_equal),
  };
  if (judged) s.pass = s.ids_and_grids_equal && rows.every((r) => r.within_tolerance && r.reply_equal);
  return s;
}

/** The result as text: one line per dtype, then the cases. */
export function formatCheckResult(r: CheckExportResult): string {
  const pct = (x: number | null) => (x === null ? "n/a" : `${Math.round(x * 100)}%`);
  const lines = [`parity of ${r.export_dir} against PyTorch (${r.torch_model}); fp32 tolerance |Δlogit| ≤ ${r.tolerance.abs} + ${r.tolerance.rel}·max|logit|`];
  for (const [dtype, s] of Object.entries(r.dtypes)) {
    const verdict = s.pass === undefined ? "measured" : s.pass ? "PASS" : "FAIL";
    lines.push(
      `  ${dtype.padEnd(5)} ${verdict.padEnd(8)} max |Δlogit| ${s.max_abs_logit_diff.toExponential(2)} · replies equal ${pct(s.reply_equal_rate)} · argmax ${pct(s.argmax_agreement)} · scores agree ${pct(s.score_agreement_rate)} (${s.scored_cases} scored) · ids and grids ${s.ids_and_grids_equal ? "equal" : "DIFFER"}`,
    );
  }
  for (const c of r.cases) {
    lines.push(`    ${c.dtype.padEnd(5)} ${c.id.padEnd(7)} grid ${JSON.stringify(c.image_grid_thw)} |Δ| ${c.max_abs_logit_diff.toExponential(2)} reply ${c.reply_equal ? "=" : "≠"} ${JSON.stringify(c.node_reply.slice(0, 60))}`);
  }
  lines.push(`  Node ${r.seconds.node} s · PyTorch ${r.seconds.torch} s · total ${r.seconds.total} s · saved to ${r.file}`);
  return lines.join("\n");
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * This check as step 2's `checkExport` hook (LocalQwen2VLFineTuner runs it after every export): prints the result
 * through the run's log and hands back the verdict.
 */
export const qwen2vlExportChecker: ExportChecker = async (req) => {
  const r = await checkQwen2VLExport(req);
  req.log?.(formatCheckResult(r));
  return { passed: r.passed, file: r.file, dtypes: r.dtypes as unknown as Record<string, Record<string, unknown>> };
};
