/** A fit in a few lines of text: what was read, each model's spread and warnings, where it was written. */
import { shownPath } from "../../core/paths";
import type { VotesFile } from "../votes/load";
import { mappedOf, type RatingFit } from "./ratings";
import { fittedModels } from "./table";

const LABEL = { "bradley-terry": "Bradley–Terry", trueskill: "TrueSkill", "q-score": "Q-score" } as const;

function fmt(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(2);
}

export function formatFitSummary(r: { runDir: string; votes: VotesFile; fit: RatingFit }): string {
  const { fit, votes } = r;
  const s = fit.summary;
  const lines = [
    `votes: ${s.votes} on ${s.images} images, ${s.pairs} distinct pairs (${s.repeatedVotes} repeated votes, ${s.equalVotes} "equal")`,
    ...(votes.skippedOtherQuestions ? [`skipped ${votes.skippedOtherQuestions} votes on other questions`] : []),
    `scores on ${fit.scale.min}–${fit.scale.max}, intervals at ${Math.round(fit.level * 100)}%:`,
  ];
  for (const m of fittedModels(fit)) {
    const mapped = mappedOf(fit, m)!;
    const order = Array.from(mapped.scores.keys()).filter((i) => Number.isFinite(mapped.scores[i])).sort((a, b) => mapped.scores[b]! - mapped.scores[a]!);
    const width = (i: number) => (mapped.upper?.[i] ?? NaN) - (mapped.lower?.[i] ?? NaN);
    const widths = order.map(width).filter(Number.isFinite).sort((a, b) => a - b);
    const medianWidth = widths.length ? widths[Math.floor((widths.length - 1) / 2)] : undefined;
    const top = order[0];
    const bottom = order.at(-1);
    lines.push(
      `  ${LABEL[m].padEnd(14)} highest ${top === undefined ? "n/a" : `${fit.images[top]} ${fmt(mapped.scores[top])}`} · lowest ${bottom === undefined ? "n/a" : `${fit.images[bottom]} ${fmt(mapped.scores[bottom])}`} · median interval width ${fmt(medianWidth)}`,
    );
    lines.push(`  ${"".padEnd(14)} rule: ${mapped.rule.formula}`);
  }
  const d = fit.bradleyTerry?.result.diagnostics;
  if (d) {
    if (d.components > 1) lines.push(`warning: the comparisons fall into ${d.components} unconnected groups; ${d.outsideLargestComponent.length} images are only ranked within their own group`);
    if (d.alwaysWon.length || d.alwaysLost.length) lines.push(`note: ${d.alwaysWon.length} images never lost and ${d.alwaysLost.length} never won; their Bradley–Terry scores rest on the prior and have wide intervals`);
  }
  const agreement = Object.entries(fit.modelAgreement);
  if (agreement.length) lines.push(`rating models agree (Spearman): ${agreement.map(([k, v]) => `${k.replace("~", " vs ")} ${v === null ? "n/a" : v.toFixed(3)}`).join(", ")}`);
  lines.push(`run folder: ${shownPath(r.runDir)}`);
  return lines.join("\n");
}
