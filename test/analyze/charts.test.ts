/**
 * Figure specs of a comparison run (lib/src/compare/plots.ts): the numbers a chart draws are the numbers
 * the metrics and records say — CI whiskers, the y = x line, Bland–Altman bias and limits, confusion counts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { blandAltman, blandAltmanStats, confusionCounts, confusionHeatmap, errorBins, metricBars, scatterPredictedVsExpected, signedErrorHistogram, type BarMetric } from "../../lib/src/analyze/charts";
import { latestRecords } from "../../lib/src/compare/run-folder/read";
import type { PredictionRecord } from "../../lib/src/compare/run-folder/schema";
import { SYN_FAILED, SYN_MODELS, SYN_N, SYN_SCALE, syntheticRunData } from "../helpers/synthetic-run";

type Trace = Record<string, any>;

const data = syntheticRunData();
const valid = (model: string) => latestRecords(data.records).filter((r) => r.model === model && r.predicted !== null) as (PredictionRecord & { predicted: number })[];
const titleOf = (fig: { layout: Record<string, unknown> }) => String((fig.layout.title as { text: string }).text);

function close(a: number, b: number, what: string, tol = 1e-12): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} ≠ ${b}`);
}

test("latestRecords keeps one record per model and image, the last one", () => {
  const latest = latestRecords(data.records);
  assert.equal(data.records.length, SYN_N * SYN_MODELS.length + 1, "the fixture holds a superseded line");
  assert.equal(latest.length, SYN_N * SYN_MODELS.length);
  const first = latest.find((r) => r.model === "gpt4" && r.image === "scene_001.jpg")!;
  assert.notEqual(first.predicted, null, "the retry's answer wins over the earlier timeout");
});

for (const metric of ["mae", "rmse", "acc1", "acc2", "qwk"] as BarMetric[]) {
  test(`metricBars(${metric}): one bar per model, whiskers exactly the ci95 bounds, title says n`, () => {
    const fig = metricBars(data.metrics, metric);
    assert.equal(fig.data.length, 1);
    const bars = fig.data[0] as Trace;
    assert.deepEqual(bars.x, [...SYN_MODELS]);
    bars.x.forEach((model: string, i: number) => {
      const m = data.metrics.models[model];
      const v = m[metric];
      const ci = m.ci95[metric];
      assert.equal(bars.y[i], v, `${model} bar height`);
      if (v === null || ci === null) {
        assert.equal(bars.error_y.array[i], null);
        return;
      }
      close(v + bars.error_y.array[i], ci[1], `${model} upper whisker`, 1e-9);
      close(v - bars.error_y.arrayminus[i], ci[0], `${model} lower whisker`, 1e-9);
      assert.ok(bars.error_y.array[i] >= 0 && bars.error_y.arrayminus[i] >= 0, "whiskers point outwards");
    });
    assert.equal(bars.error_y.symmetric, false);
    assert.match(titleOf(fig), new RegExp(`n=${data.metrics.common.n} images every model answered`));
    assert.match(titleOf(fig), /95% bootstrap CI, 300 resamples/);
    assert.equal(bars.marker.color[2], "#9E9E9E", "the mean baseline is grey");
    if (metric === "acc1" || metric === "acc2") assert.equal((fig.layout.yaxis as Trace).tickformat, ".0%", "rates drawn as percentages");
  });
}

test("scatterPredictedVsExpected: valid points only, unjittered, image on hover, y = x across the scale", () => {
  const fig = scatterPredictedVsExpected(data.records, "gpt4o-mini-ft", SYN_SCALE);
  const [points, line] = fig.data as Trace[];
  const v = valid("gpt4o-mini-ft");
  assert.equal(v.length, SYN_N - SYN_FAILED.length);
  assert.deepEqual(points.x, v.map((r) => r.expected), "x is the expected score itself (no jitter)");
  assert.deepEqual(points.y, v.map((r) => r.predicted), "y is the predicted score itself (no jitter)");
  assert.deepEqual(points.text, v.map((r) => r.image));
  assert.match(points.hovertemplate, /%\{text\}/);
  assert.deepEqual(line.x, line.y, "the reference line is y = x");
  assert.deepEqual(line.x, [SYN_SCALE.min - 0.5, SYN_SCALE.max + 0.5]);
  assert.match(titleOf(fig), /n=27 valid of 30/);
});

test("signedErrorHistogram: one trace per model, counts of predicted − expected that sum to each model's valid n", () => {
  const fig = signedErrorHistogram(data.records);
  assert.equal(fig.data.length, SYN_MODELS.length);
  (fig.data as Trace[]).forEach((t, i) => {
    const model = SYN_MODELS[i];
    const errors = valid(model).map((r) => r.predicted - r.expected);
    assert.match(t.name, new RegExp(`^${model} \\(n=${errors.length} valid of ${SYN_N}\\)`));
    assert.equal((t.y as number[]).reduce((a, b) => a + b, 0), errors.length);
    for (const e of new Set(errors)) assert.equal(t.y[(t.x as number[]).indexOf(e)], errors.filter((x) => x === e).length, `${model} error ${e}`);
  });
  assert.match(titleOf(fig), /n=87 in all/);
});

test("errorBins uses half-point bins when an error is fractional", () => {
  const b = errorBins([[0.5, -1, 0], [2.5]]);
  assert.equal(b.size, 0.5);
  assert.deepEqual(b.centres, [-1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5]);
  assert.deepEqual(b.counts[0], [1, 0, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual(b.counts[1], [0, 0, 0, 0, 0, 0, 0, 1]);
});

test("blandAltman: x = mean of the two, y = difference, bias = mean difference, limits = bias ± 1.96 sd", () => {
  const fig = blandAltman(data.records, "gpt4o-mini-ft", SYN_SCALE);
  const v = valid("gpt4o-mini-ft");
  const diffs = v.map((r) => r.predicted - r.expected);
  const bias = diffs.reduce((a, b) => a + b, 0) / diffs.length;
  const sd = Math.sqrt(diffs.reduce((a, d) => a + (d - bias) ** 2, 0) / (diffs.length - 1));
  const [points, biasLine, upper, lower] = fig.data as Trace[];
  assert.deepEqual(points.x, v.map((r) => (r.expected + r.predicted) / 2));
  assert.deepEqual(points.y, diffs);
  close(biasLine.y[0], bias, "bias line");
  assert.equal(biasLine.y[0], biasLine.y[1], "horizontal");
  close(bias, data.metrics.models["gpt4o-mini-ft"].on_own_valid.bias!, "bias = metrics' bias on the model's own valid images", 1e-12);
  close(upper.y[0], bias + 1.96 * sd, "upper limit");
  close(lower.y[0], bias - 1.96 * sd, "lower limit");
  assert.match(biasLine.name, /^bias /);
  assert.match(titleOf(fig), /n=27 valid of 30/);
  assert.match(titleOf(fig), /limits of agreement/);
});

test("blandAltmanStats: no limits below two images, none at all for none", () => {
  assert.deepEqual(blandAltmanStats([]), { n: 0, bias: null, sd: null, limits: null });
  assert.deepEqual(blandAltmanStats([2]), { n: 1, bias: 2, sd: null, limits: null });
  const s = blandAltmanStats([1, 3]);
  close(s.sd!, Math.SQRT2, "sd of [1, 3] (n − 1)");
  close(s.limits![0], 2 - 1.96 * Math.SQRT2, "lower");
});

test("confusionHeatmap: rows expected, columns predicted, counts sum to the valid n, axis titles", () => {
  for (const model of SYN_MODELS) {
    const fig = confusionHeatmap(data.records, model, SYN_SCALE);
    const hm = fig.data[0] as Trace;
    const v = valid(model);
    const z = hm.z as number[][];
    assert.equal(z.flat().reduce((a, b) => a + b, 0), v.length, `${model}: counts sum to valid n`);
    assert.deepEqual(hm.x, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const r of v) assert.ok(z[Math.round(r.expected) - 1][Math.round(r.predicted) - 1] > 0);
    assert.match(String((fig.layout.xaxis as Trace).title.text), /predicted/);
    assert.match(String((fig.layout.yaxis as Trace).title.text), /expected/);
    assert.match(titleOf(fig), new RegExp(`n=${v.length} valid of ${SYN_N}`));
    assert.equal(hm.texttemplate, "%{z}", "counts printed in the cells");
  }
  const mean = confusionHeatmap(data.records, "mean", SYN_SCALE).data[0] as Trace;
  const col6 = (mean.z as number[][]).map((row) => row[5]);
  assert.equal(col6.reduce((a, b) => a + b, 0), SYN_N, "the constant baseline fills one column");
});

test("confusionCounts rounds halves up and keeps out-of-scale values on the edge", () => {
  const { z } = confusionCounts([{ expected: 1.5, predicted: 2.49 }, { expected: 3, predicted: 3 }], { min: 1, max: 3 });
  assert.deepEqual(z, [[0, 0, 0], [0, 1, 0], [0, 0, 1]]);
});

test("a model without any valid answer gives empty figures that still say n=0", () => {
  const records = data.records.map((r) => (r.model === "gpt4" ? { ...r, predicted: null, error: "down" } : r));
  const fig = scatterPredictedVsExpected(records, "gpt4", SYN_SCALE);
  assert.deepEqual((fig.data[0] as Trace).x, []);
  assert.match(titleOf(fig), /n=0 valid of 30/);
  const ba = blandAltman(records, "gpt4", SYN_SCALE);
  assert.equal(ba.data.length, 1, "no bias or limit lines without data");
});
