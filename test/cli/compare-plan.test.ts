import { test } from "node:test";
import assert from "node:assert/strict";
import { comparePlan, type CompareFlags } from "../../lib/src/cli/commands/compare";

const base: CompareFlags = { models: ["gpt4"], outputDir: "runs", cache: true, dataDir: "data", config: "models/models.json", seed: 42, scale: "1-10", plots: true };

test("compare flags → plan: --retry-failed (table)", () => {
  const cases: [Partial<CompareFlags>, string | RegExp | undefined][] = [
    [{}, undefined],
    [{ resume: "r1", retryFailed: true }, "transient"],
    [{ resume: "r1", retryFailed: "transient" }, "transient"],
    [{ resume: "r1", retryFailed: "all" }, "all"],
    [{ resume: "r1", retryFailed: "some" }, /--retry-failed takes transient or all \(default transient\), got "some"/],
    [{ retryFailed: true }, /--retry-failed needs --resume RUN/],
  ];
  for (const [flags, want] of cases) {
    const run = () => comparePlan({ ...base, ...flags });
    if (want instanceof RegExp) assert.throws(run, want, JSON.stringify(flags));
    else assert.equal(run().retryFailed, want, JSON.stringify(flags));
  }
});
