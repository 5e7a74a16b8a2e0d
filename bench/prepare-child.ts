/**
 * One `prepare` in a fresh process, so that its peak RSS is its own: prints one JSON line
 * `{ seconds, maxRssMB, ... }`. Argument: JSON `{ groundTruth, images, dataDir }`, or `{ baseline: true }`
 * to report the RSS of a process that only loaded the library.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { prepare } from "../lib/src/prepare/run";

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? "{}") as { groundTruth?: string; images?: string; dataDir?: string; baseline?: boolean };
  const rssMB = () => process.resourceUsage().maxRSS / 1024;
  if (args.baseline) {
    process.stdout.write(JSON.stringify({ seconds: 0, maxRssMB: rssMB() }) + "\n");
    return;
  }
  const started = performance.now();
  // Stage ends: images checked (first "writing" event), OpenAI JSONL written (its last event), the rest
  // (Qwen data, format checks of the four files, summary, commit) until prepare returns.
  let checkedAt = 0;
  let jsonlAt = 0;
  const r = await prepare({
    groundTruth: args.groundTruth!,
    images: args.images!,
    dataDir: args.dataDir!,
    onProgress: (stage, done, total) => {
      if (stage === "writing fine-tuning files") {
        checkedAt ||= performance.now();
        if (done === total) jsonlAt = performance.now();
      }
    },
  });
  const end = performance.now();
  const seconds = (end - started) / 1000;
  const stages = { check_images_s: (checkedAt - started) / 1000, openai_jsonl_s: (jsonlAt - checkedAt) / 1000, qwen_checks_commit_s: (end - jsonlAt) / 1000 };
  const jsonl = path.join(r.dataDir, "openai_finetuning");
  let withImagesBytes = 0;
  for (const f of await fs.readdir(jsonl)) if (f.includes("with_images")) withImagesBytes += (await fs.stat(path.join(jsonl, f))).size;
  const examples = r.checks.filter((c) => c.file.includes("with_images")).reduce((s, c) => s + c.examples, 0);
  process.stdout.write(JSON.stringify({ seconds, maxRssMB: rssMB(), images: r.images.length, withImagesMB: withImagesBytes / 1e6, withImagesExamples: examples, ...stages }) + "\n");
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
