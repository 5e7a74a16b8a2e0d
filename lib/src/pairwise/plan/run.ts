/**
 * `pairwise plan`: which pairs to ask a model about, for a budget, written as a plan folder
 * (`plan-<id>/plan.csv` with `pair,left,right[,gain]` and `plan.json` with the settings and counts).
 *
 * Methods:
 * - `random`: every image of the images folder `perImage` times (pair-plan.ts `randomPairPlan`);
 * - `adaptive`: `budget` pairs whose outcome is most uncertain under the ratings fitted to `votes`
 *   (Bradley–Terry or TrueSkill; images without votes are the most uncertain) — `adaptivePairPlan`;
 * - `voted`: the distinct pairs of `votes` (the pairs humans judged, so a model's answers can be scored
 *   against the human majority per pair), all of them or a seeded random `budget` of them.
 * Each pair is asked in both orders, so a plan of N pairs costs 2N requests; the left/right order in
 * plan.csv is the first of the two.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { StagedOutput } from "../../core/atomic-output";
import { listImageFiles } from "../../core/image";
import { shownPath } from "../../core/paths";
import { displayPath, resolveProjectPath } from "../../core/project-path";
import { makeRng } from "../math/random";
import { DEFAULT_PAIRWISE_DIR, pairwiseRunId } from "../outputs";
import { fitBradleyTerry, type BradleyTerryOptions } from "../ratings/bradley-terry";
import { fitTrueSkill, type TrueSkillOptions } from "../ratings/trueskill";
import { aggregatePairs } from "../votes/pair-counts";
import { loadVotesOrThrow, type LoadVotesOptions, type VotesFile } from "../votes/load";
import { VoteSetBuilder, type VoteSet } from "../votes/vote-set";
import { adaptivePairPlan, randomPairPlan, type PairPlan } from "./pair-plan";

export const PLAN_METHODS = ["random", "adaptive", "voted"] as const;
export type PlanMethod = (typeof PLAN_METHODS)[number];
export const PLAN_FILES = { csv: "plan.csv", json: "plan.json" } as const;
export const PLAN_SCHEMA = "streetsafe.pairwise.plan/1";

export interface PairPlanOptions extends Omit<LoadVotesOptions, "images"> {
  method: PlanMethod;
  /** The images folder: every supported image in it is in the plan's image set. */
  images: string;
  /** random: comparisons per image. */
  perImage?: number;
  /** adaptive: pairs to plan; voted: at most this many of the voted pairs (default all). */
  budget?: number;
  /** adaptive and voted: the votes so far (human or model). */
  votes?: string;
  /** adaptive: the model whose ratings choose the pairs (default bradley-terry). */
  model?: "bradley-terry" | "trueskill";
  bradleyTerry?: BradleyTerryOptions;
  trueSkill?: TrueSkillOptions;
  seed?: number;
  /** Where plan folders are made (default results/pairwise). */
  outputDir?: string;
  command?: string[];
}

export interface PairPlanResult {
  planDir: string;
  plan: PairPlan;
  /** Requests a model gets: every pair in both orders. */
  requests: number;
  /** Planned pairs already in the votes (adaptive avoids them while others remain). */
  alreadyVoted: number;
  votes?: VotesFile;
  document: ReturnType<typeof planDocument>;
}

/** Votes re-numbered onto the plan's image set (every votes image is in it: loading checked they exist). */
function onImages(images: readonly string[], votes: VoteSet): VoteSet {
  const b = new VoteSetBuilder(images);
  const known = new Set(images);
  for (let v = 0; v < votes.count; v++) {
    const l = votes.images[votes.left[v]!]!;
    const r = votes.images[votes.right[v]!]!;
    if (!known.has(l) || !known.has(r)) throw new Error(`the votes name "${known.has(l) ? r : l}", which the images folder listing does not hold (a hidden file or a link?)`);
    b.add(l, r, votes.outcome[v] as 0 | 1 | 2);
  }
  return b.build();
}

function votedPlan(images: readonly string[], votes: VoteSet, budget: number | undefined, seed: number): PairPlan {
  const pc = aggregatePairs(votes);
  const order = Array.from({ length: pc.count }, (_, i) => i);
  const rng = makeRng(`voted-plan-${seed}`);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const size = Math.min(budget ?? pc.count, pc.count);
  const left = new Int32Array(size);
  const right = new Int32Array(size);
  const perImage = new Int32Array(images.length);
  for (let k = 0; k < size; k++) {
    const p = order[k]!;
    const swap = rng() < 0.5;
    left[k] = swap ? pc.b[p]! : pc.a[p]!;
    right[k] = swap ? pc.a[p]! : pc.b[p]!;
    perImage[left[k]!]++;
    perImage[right[k]!]++;
  }
  return { method: "voted", images, size, left, right, perImage, repeatedPairs: 0, seed };
}

function planDocument(o: PairPlanOptions, plan: PairPlan, votes: VotesFile | undefined, alreadyVoted: number) {
  let min = Infinity;
  let max = 0;
  for (const c of plan.perImage) {
    min = Math.min(min, c);
    max = Math.max(max, c);
  }
  return {
    schema: PLAN_SCHEMA,
    created_at: new Date().toISOString(),
    command: o.command ?? [],
    method: o.method,
    images_dir: displayPath(o.images),
    images: plan.images.length,
    ...(o.perImage !== undefined ? { per_image: o.perImage } : {}),
    ...(o.budget !== undefined ? { budget: o.budget } : {}),
    ...(o.method === "adaptive" ? { model: o.model ?? "bradley-terry" } : {}),
    seed: plan.seed,
    ...(votes ? { votes: { file: shownPath(votes.file), sha256: votes.sha256, votes: votes.votes.count, ...(o.question !== undefined ? { question: o.question } : {}) } } : {}),
    pairs: plan.size,
    orders_per_pair: 2,
    requests: 2 * plan.size,
    per_image: { min: plan.images.length ? min : 0, max },
    repeated_pairs: plan.repeatedPairs,
    already_voted_pairs: alreadyVoted,
    files: { plan: PLAN_FILES.csv },
  };
}

function checkOptions(o: PairPlanOptions): void {
  const int = (v: number | undefined, what: string, min: number) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new Error(`${what} must be an integer ≥ ${min}, got ${v}`);
  };
  int(o.perImage, "comparisons per image", 1);
  int(o.budget, "the budget", 1);
  if (o.method === "random" && o.perImage === undefined) throw new Error("a random plan needs comparisons per image (--per-image K)");
  if (o.method === "adaptive" && o.budget === undefined) throw new Error("an adaptive plan needs a budget of pairs (--budget N)");
  if (o.method === "voted" && !o.votes) throw new Error("a voted plan needs the votes whose pairs it asks (--votes FILE)");
  if (o.method !== "random" && o.perImage !== undefined) throw new Error(`--per-image applies to random plans; a ${o.method} plan takes --budget`);
  if (o.method === "random" && o.budget !== undefined) throw new Error("a random plan takes --per-image K (its size is about images × K / 2), not --budget");
}

/** Make the plan and write its folder. Bad votes throw InputError before anything is written. */
export async function runPairPlan(o: PairPlanOptions): Promise<PairPlanResult> {
  checkOptions(o);
  const seed = o.seed ?? 42;
  const images = await listImageFiles(o.images);
  if (images.length < 2) throw new Error(`the images folder ${shownPath(o.images)} holds ${images.length} image${images.length === 1 ? "" : "s"}; a pair plan needs at least two`);
  const votes = o.votes ? await loadVotesOrThrow(o.votes, { ...o, images: o.images }) : undefined;
  const existing = votes ? onImages(images, votes.votes) : undefined;
  let plan: PairPlan;
  let gains: Float64Array | undefined;
  if (o.method === "random") plan = randomPairPlan(images, o.perImage!, { seed });
  else if (o.method === "voted") plan = votedPlan(images, existing!, o.budget, seed);
  else {
    const model = o.model ?? "bradley-terry";
    const current = existing ?? new VoteSetBuilder(images).build();
    let ratings: { mean: ArrayLike<number>; sd: ArrayLike<number> };
    let beta: number | undefined;
    if (model === "bradley-terry") {
      const bt = fitBradleyTerry(current, o.bradleyTerry);
      ratings = { mean: bt.scores, sd: bt.se };
    } else {
      const ts = fitTrueSkill(current, o.trueSkill);
      ratings = { mean: ts.mu, sd: ts.sigma };
      beta = ts.params.beta;
    }
    const adaptive = adaptivePairPlan(images, ratings, { budget: o.budget!, model, seed, existing: current, ...(beta !== undefined ? { beta } : {}) });
    plan = adaptive;
    gains = adaptive.gain;
  }
  let alreadyVoted = 0;
  if (existing) {
    const n = images.length;
    const voted = new Set<number>();
    for (let v = 0; v < existing.count; v++) {
      const a = existing.left[v]!;
      const b = existing.right[v]!;
      voted.add(a < b ? a * n + b : b * n + a);
    }
    for (let k = 0; k < plan.size; k++) {
      const a = plan.left[k]!;
      const b = plan.right[k]!;
      if (voted.has(a < b ? a * n + b : b * n + a)) alreadyVoted++;
    }
  }
  const document = planDocument(o, plan, votes, alreadyVoted);
  const rows = Array.from({ length: plan.size }, (_, k) => ({
    pair: k + 1,
    left: images[plan.left[k]!],
    right: images[plan.right[k]!],
    ...(gains ? { gain: Number(gains[k]!.toPrecision(6)) } : {}),
  }));
  const runId = pairwiseRunId("plan");
  const staged = await StagedOutput.begin(o.outputDir ?? DEFAULT_PAIRWISE_DIR);
  try {
    await writeFile(await staged.path(`${runId}/${PLAN_FILES.csv}`), stringify(rows, { header: true, columns: ["pair", "left", "right", ...(gains ? ["gain"] : [])] }));
    await writeFile(await staged.path(`${runId}/${PLAN_FILES.json}`), JSON.stringify(document, null, 2) + "\n");
    const [planDir] = await staged.commit([runId]);
    return { planDir: planDir!, plan, requests: 2 * plan.size, alreadyVoted, ...(votes ? { votes } : {}), document };
  } catch (e) {
    await staged.abort();
    throw e;
  }
}

/** The plan in a few lines: its size, the requests it costs (both orders), and where it was written. */
export function formatPlanSummary(r: PairPlanResult): string {
  const d = r.document;
  const how =
    d.method === "random" ? `${d.per_image} comparisons per image, at random` : d.method === "adaptive" ? `the ${d.pairs} most uncertain pairs under ${d.model} ratings` : `pairs the votes hold${d.budget !== undefined ? ` (a random ${d.pairs} of them)` : ""}`;
  return [
    `plan: ${d.pairs} pairs over ${d.images} images (${how}; ${d.per_image.min}–${d.per_image.max} per image)`,
    `each pair asked in both orders: ${d.pairs} pairs × 2 orders = ${d.requests} requests`,
    ...(r.votes ? [`${r.alreadyVoted} of the planned pairs are already in the votes`] : []),
    ...(d.repeated_pairs ? [`${d.repeated_pairs} pairs repeat (more comparisons per image than distinct partners)`] : []),
    `plan folder: ${shownPath(r.planDir)}`,
  ].join("\n");
}

/** A plan folder read back: its settings and its pairs in order (left shown first in the first order). */
export interface PlanFolder {
  planDir: string;
  document: Record<string, unknown> & { images_dir?: string; pairs: number };
  pairs: { pair: number; left: string; right: string }[];
  /** sha256 of plan.csv (a resumed ask refuses a changed plan). */
  sha256: string;
  /** The images folder plan.json names, absolute. */
  imagesDir: string | null;
}

/** Read a plan folder (plan.json + plan.csv); a damaged one is an error naming the file and row. */
export async function readPlanFolder(planDir: string): Promise<PlanFolder> {
  const jsonFile = path.join(planDir, PLAN_FILES.json);
  const csvFile = path.join(planDir, PLAN_FILES.csv);
  let document: PlanFolder["document"];
  let text: string;
  try {
    document = JSON.parse(await readFile(jsonFile, "utf8")) as PlanFolder["document"];
    text = await readFile(csvFile, "utf8");
  } catch (e) {
    throw new Error(`${shownPath(planDir)} is not a plan folder (made by \`streetsafe pairwise plan\`): ${(e as Error).message}`);
  }
  if (document.schema !== PLAN_SCHEMA) throw new Error(`${shownPath(jsonFile)}: schema ${JSON.stringify(document.schema)}, expected ${PLAN_SCHEMA}`);
  const rows = parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  const pairs = rows.map((r, i) => {
    const pair = Number(r["pair"]);
    if (!Number.isInteger(pair) || !r["left"] || !r["right"] || r["left"] === r["right"]) throw new Error(`${shownPath(csvFile)} row ${i + 2}: needs pair (an integer), left and right (two different images)`);
    return { pair, left: r["left"], right: r["right"] };
  });
  const imagesDir = typeof document.images_dir === "string" ? resolveProjectPath(document.images_dir) : null;
  return { planDir, document, pairs, sha256: createHash("sha256").update(text).digest("hex"), imagesDir };
}
