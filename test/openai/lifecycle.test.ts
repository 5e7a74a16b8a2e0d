/**
 * The models' lifecycle table (lib/src/openai/lifecycle.ts): model id × day → state (table), the warnings
 * `predict`, `compare`, `finetune` and the notebooks print, a shut-down model's "model not found" explained,
 * and the table kept beside the prices (every priced model has a row).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { explainModelNotFound, fineTuneJobsWarning, lifecycleOf, lifecycleRows, lifecycleWarning, MODEL_LIFECYCLE } from "../../lib/src/openai/lifecycle";
import { FINE_TUNE_PRICES, INFERENCE_PRICES } from "../../lib/src/openai/prices";
import { fineTuneLifecycleWarnings } from "../../lib/src/finetune/openai/capabilities";

test("lifecycle: model id × day → state and days left (table)", () => {
  const cases: [string, string, string, number | null][] = [
    ["gpt-4o", "2026-10-20", "ok", 86],
    ["gpt-4o", "2026-11-15", "soon", 60],
    ["gpt-4o", "2026-12-01", "soon", 44],
    ["gpt-4o-2024-08-06", "2027-01-13", "soon", 1],
    ["gpt-4o-2024-11-20", "2027-01-14", "past", 0],
    ["gpt-4o-mini", "2027-02-01", "past", -18],
    ["gpt-4.1", "2026-12-01", "soon", 44],
    ["ft:gpt-4o-mini-2024-07-18:org:streetsafe:abc123", "2026-12-01", "soon", 44],
    ["gpt-4.1-nano-2025-04-14", "2026-12-01", "past", -39],
    ["gpt-4o-2024-05-13", "2026-10-01", "soon", 22],
    ["llava:13b", "2027-02-01", "unknown", null],
  ];
  for (const [model, today, state, days] of cases) {
    const s = lifecycleOf(model, { today });
    assert.equal(s.state, state, `${model} on ${today}`);
    assert.equal(s.daysLeft, days, `${model} on ${today}`);
  }
  assert.equal(lifecycleOf("ft:gpt-4o-mini-2024-07-18:org::x", { today: "2026-12-01" }).base, "gpt-4o-mini-2024-07-18");
  assert.equal(lifecycleOf("gpt-4o", { provider: "azure", today: "2027-02-01" }).state, "not-applicable", "OpenAI's table is not Azure's");
});

test("the warning names the date and how to switch (--gpt4-model, models/models.json); none far off or on Azure", () => {
  assert.equal(lifecycleWarning("gpt-4o", { configName: "gpt4", today: "2026-10-20" }), null, "86 days away");
  const w = lifecycleWarning("gpt-4o", { configName: "gpt4", today: "2026-12-01" })!;
  assert.match(w, /^gpt4 \(gpt-4o\) shuts down on 2027-01-14 \(in 44 days\) per OpenAI deprecations notice of 2026-10-14/);
  assert.match(w, /switch with --gpt4-model <id> or the "model" of "gpt4" in models\/models\.json/);
  const ft = lifecycleWarning("ft:gpt-4o-mini-2024-07-18:org:streetsafe:abc123", { configName: "gpt4o-mini-ft", today: "2027-01-20" })!;
  assert.match(ft, /gpt4o-mini-ft \(ft:gpt-4o-mini-2024-07-18:org:streetsafe:abc123, a fine-tune of gpt-4o-mini-2024-07-18\) was shut down on 2027-01-14/);
  assert.match(ft, /npx streetsafe finetune --base-model/);
  assert.doesNotMatch(ft, /--gpt4-model/);
  assert.equal(lifecycleWarning("gpt-4o", { provider: "azure", today: "2027-01-20" }), null);
  assert.equal(lifecycleWarning("llava:13b", { today: "2027-01-20" }), null);
});

test("finetune warns about its base model, OpenAI's last day for new jobs, and Azure's screening of images with people", () => {
  const openai = fineTuneLifecycleWarnings("gpt-4o-mini", "openai", false, "2026-12-01");
  assert.match(openai[0]!, /^base model gpt-4o-mini-2024-07-18 shuts down on 2027-01-14 \(in 44 days\).*choose another base model with --base-model/);
  assert.match(openai[1]!, /new fine-tuning jobs until 2027-01-06 \(36 days left\)/);
  assert.match(fineTuneJobsWarning("2027-01-07")!, /no new fine-tuning jobs since 2027-01-06/);
  assert.equal(fineTuneJobsWarning("2026-10-01"), null);
  const azure = fineTuneLifecycleWarnings("gpt-4o-2024-08-06", "azure", true, "2026-12-01");
  assert.equal(azure.length, 1, "Azure: no OpenAI dates, the screening note");
  assert.match(azure[0]!, /Azure OpenAI drops training images that show people, faces or children/);
  assert.deepEqual(fineTuneLifecycleWarnings("gpt-4o-2024-08-06", "azure", false, "2026-12-01"), []);
});

test("after the date, a model-not-found is explained by the table; other errors and unknown models keep the provider's message", () => {
  const err = { status: 404, code: "model_not_found", message: "The model `gpt-4o` does not exist or you do not have access to it." };
  const explained = explainModelNotFound("gpt-4o", err, { configName: "gpt4", today: "2027-01-20" })!;
  assert.match(explained, /^model shut down: gpt-4o was shut down on 2027-01-14 \(OpenAI deprecations notice of 2026-10-14.*\); the API answered HTTP 404: The model `gpt-4o` does not exist.*--gpt4-model/);
  assert.equal(explainModelNotFound("gpt-4o", err, { today: "2026-12-01" }), null, "before the date a 404 is something else (a typo, no access)");
  assert.equal(explainModelNotFound("gpt-4o", { status: 500, message: "boom" }, { today: "2027-01-20" }), null);
  assert.equal(explainModelNotFound("my-model", err, { today: "2027-01-20" }), null);
  assert.match(explainModelNotFound("ft:gpt-4o-mini-2024-07-18:lab::x", { status: 404, message: "The model does not exist" }, { today: "2027-02-01" })!, /a fine-tune of gpt-4o-mini-2024-07-18, which goes with its base model/);
});

test("every model with a price has a lifecycle row (itself, its alias's snapshot or its base); every row is dated and sourced", () => {
  for (const m of [...Object.keys(INFERENCE_PRICES), ...Object.keys(FINE_TUNE_PRICES)]) {
    assert.notEqual(lifecycleOf(m, { today: "2026-12-01" }).state, "unknown", `${m} has no lifecycle row`);
  }
  for (const e of Object.values(MODEL_LIFECYCLE)) {
    assert.match(e.shutdown ?? "", /^\d{4}-\d\d-\d\d$/, e.model);
    assert.ok(e.source && typeof e.verified === "boolean", e.model);
  }
  assert.ok(lifecycleRows("2026-12-01").some((r) => r.model === "gpt-4o" && r.state === "soon" && r.days_left === 44));
});
