/** Plotly figure specs (plain data + layout objects); rendering lives in core/display.ts. */
import type { Splits } from "./split";
import type { Scale } from "../core/scale";
import { SPLIT_NAMES } from "../core/types";

import type { Figure } from "../core/figure";

const SPLIT_COLOURS = { train: "#4C78A8", val: "#F58518", test: "#54A24B" } as const;

/** Grouped bars: images per rounded score, one trace per split. */
export function scoreHistogram(splits: Splits, scale: Scale): Figure {
  const xs: number[] = [];
  for (let s = scale.min; s <= scale.max; s++) xs.push(s);
  return {
    data: SPLIT_NAMES.map((name) => {
      const counts = new Map<number, number>();
      for (const it of splits[name]) counts.set(Math.round(it.score), (counts.get(Math.round(it.score)) ?? 0) + 1);
      return { type: "bar", name: `${name} (n=${splits[name].length})`, x: xs, y: xs.map((x) => counts.get(x) ?? 0), marker: { color: SPLIT_COLOURS[name] } };
    }),
    layout: {
      title: { text: "Ground-truth scores per split" },
      barmode: "group",
      xaxis: { title: { text: "safety score" }, dtick: 1 },
      yaxis: { title: { text: "images" } },
      height: 380,
      margin: { t: 50, r: 20, b: 50, l: 60 },
    },
  };
}
