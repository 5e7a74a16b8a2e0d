/** What notebook 03 shows: which models can run here, and their answers side by side on a few images. */
import path from "node:path";
import { answerCost } from "../openai/prices";
import { prepareImage } from "../core/image";
import type { ModelFactory } from "./factory";
import type { Prediction, ScoreModel } from "./types";
import { thumbnailsHtml } from "../core/display";

export interface Availability {
  name: string;
  type: string;
  description: string;
  status: "ready" | "skipped";
  model_id: string;
  reason: string;
}

/** Try every configured model; return the runnable ones and a row per model saying why or why not. */
export async function modelAvailability(factory: ModelFactory, names = factory.names()): Promise<{ rows: Availability[]; models: ScoreModel[] }> {
  const rows: Availability[] = [];
  const models: ScoreModel[] = [];
  for (const name of names) {
    const e = factory.entry(name);
    const r = await factory.tryCreate(name);
    const base = { name, type: e.type, description: e.description ?? "" };
    if ("skipped" in r) rows.push({ ...base, status: "skipped", model_id: "", reason: r.skipped });
    else {
      models.push(r.model);
      rows.push({ ...base, status: "ready", model_id: r.model.id, reason: "" });
    }
  }
  return { rows, models };
}

export interface SideBySideRow {
  image: string;
  expected: number;
  model: string;
  score: number | null;
  expected_score: number | null;
  reasons: string;
  latency_ms: number;
  cost_usd: number | null;
  error: string;
}

/** Every model on each image; failures stay in the table as rows with their error. */
export async function predictSideBySide(models: ScoreModel[], items: { image: string; score: number }[], imagesDir: string): Promise<SideBySideRow[]> {
  const rows: SideBySideRow[] = [];
  for (const it of items) {
    const img = await prepareImage(path.join(imagesDir, it.image));
    for (const m of models) {
      const p: Prediction = await m.predict(img);
      rows.push({
        image: it.image,
        expected: it.score,
        model: m.name,
        score: p.score,
        expected_score: p.expectedScore === undefined ? null : Number(p.expectedScore.toFixed(2)),
        reasons: p.reasons.join("; "),
        latency_ms: Math.round(p.latencyMs),
        cost_usd: p.cached ? 0 : answerCost(p.modelId, p.usage),
        error: p.error ?? "",
      });
    }
  }
  return rows;
}

/** Thumbnails captioned with the human score and each model's score. */
export async function sideBySideThumbnails(rows: SideBySideRow[], imagesDir: string): Promise<string> {
  const images = [...new Set(rows.map((r) => r.image))];
  const cards = await Promise.all(
    images.map(async (image) => {
      const rs = rows.filter((r) => r.image === image);
      const caption = `human ${rs[0].expected} · ` + rs.map((r) => `${r.model} ${r.score ?? "✗"}`).join(" · ");
      return { jpeg: (await prepareImage(path.join(imagesDir, image), { maxSide: 240 })).jpeg, caption };
    }),
  );
  return thumbnailsHtml(cards, 200);
}
