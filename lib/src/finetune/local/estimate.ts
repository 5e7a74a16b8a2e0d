/**
 * Time and memory of a local LoRA fine-tune, estimated before it runs (the dry run), with its basis spelled out.
 *
 * Compute per training example ≈ 4 · P_lm · T (the language model's forward pass, 2·P·T, plus its backward pass
 * to the inputs — LoRA leaves the base weights without gradients) + 2 · P_vision · patches (the frozen vision
 * tower runs forward only); T = text tokens + image tokens. For Qwen2-VL-2B and a 400×400 street image (392² →
 * 196 image tokens, 784 patches, ~250 text tokens) that is ≈ 3.8 TFLOP, and one measured step on this kind of
 * machine took 45–60 s per example (python/qwen2vl/bench_2b_step.py: 2.4 TFLOP at 224², 5.7 at 504²).
 *
 * Throughput: CPU fp32 ≈ 35 GFLOP/s per core (measured 55 GFLOP/s per CPU-second for the model's matmuls on an
 * AVX2 CPU, at ~65 % overall efficiency); one GPU in bf16 ≈ 40 TFLOP/s (a 24 GB A10/L4-class card reaches 25–40 %
 * of its ~120 TFLOP/s dense bf16 peak on LoRA steps of ~500 tokens; an A100 or H100 is 2–6× faster).
 * Memory: CPU fp32 = 4 bytes per parameter + ≈ 15 MB of activations per token in a micro-batch for the 2B
 * (measured: 12.4 GB peak at 321 tokens, 17.4 GB at 581, batch 1), scaled by width × depth; GPU bf16 = 2 bytes
 * per parameter + half the activations. Startup (imports, loading the weights) is added once.
 */
export const ESTIMATE_BASIS = {
  cpuFlopsPerCore: 35e9,
  gpuFlops: 40e12,
  /** Activation bytes per token in a micro-batch for Qwen2-VL-2B (hidden 1536, 28 layers), fp32. */
  activationBytesPerToken2B: 15e6,
  width2B: 1536 * 28,
  /** streetsafe's prompt and reply in Qwen2 tokens (system ≈ 193, user 23, reply ≤ 25, template 14). */
  textTokens: 255,
  startupSeconds: 10,
  /** Reading weights from disk and building the model, bytes per second. */
  loadBytesPerSecond: 300e6,
} as const;

export interface EstimateInput {
  languageParams: number;
  visionParams: number;
  /** hidden size × layers of the language model (activation scale). */
  width: number;
  imageTokens: number;
  textTokens?: number;
  trainExamples: number;
  valExamples: number;
  totalSteps: number;
  stepsPerEpoch: number;
  batchSize: number;
  /** Evaluations over the validation split during the run. */
  evaluations: number;
  device: "cpu" | "cuda";
  cores: number;
}

export interface TrainingEstimate {
  tokensPerExample: number;
  tflopPerExample: number;
  secondsPerExample: number;
  /** Examples passed through training: (steps / steps per epoch) × training examples. */
  examplesSeen: number;
  trainSeconds: number;
  evalSeconds: number;
  totalSeconds: number;
  peakMemoryBytes: number;
  basis: string;
}

export function estimateTraining(x: EstimateInput): TrainingEstimate {
  const text = x.textTokens ?? ESTIMATE_BASIS.textTokens;
  const tokens = text + x.imageTokens;
  const patches = 4 * x.imageTokens;
  const flops = 4 * x.languageParams * tokens + 2 * x.visionParams * patches;
  const throughput = x.device === "cuda" ? ESTIMATE_BASIS.gpuFlops : Math.max(1, x.cores) * ESTIMATE_BASIS.cpuFlopsPerCore;
  const perExample = flops / throughput;
  const examplesSeen = Math.round((x.totalSteps / Math.max(1, x.stepsPerEpoch)) * x.trainExamples);
  const trainSeconds = examplesSeen * perExample;
  // An evaluation is a forward pass (half a training pass) over the validation split.
  const evalSeconds = x.evaluations * x.valExamples * perExample * 0.5;
  const params = x.languageParams + x.visionParams;
  const activations = ESTIMATE_BASIS.activationBytesPerToken2B * (x.width / ESTIMATE_BASIS.width2B) * tokens * x.batchSize;
  const peak = x.device === "cuda" ? 2 * params + activations / 2 : 4 * params + activations;
  const startup = ESTIMATE_BASIS.startupSeconds + (4 * params) / ESTIMATE_BASIS.loadBytesPerSecond;
  const where = x.device === "cuda" ? `one GPU at ${ESTIMATE_BASIS.gpuFlops / 1e12} TFLOP/s (bf16)` : `${x.cores} CPU core${x.cores === 1 ? "" : "s"} at ${ESTIMATE_BASIS.cpuFlopsPerCore / 1e9} GFLOP/s each (fp32)`;
  return {
    tokensPerExample: tokens,
    tflopPerExample: flops / 1e12,
    secondsPerExample: perExample,
    examplesSeen,
    trainSeconds,
    evalSeconds,
    totalSeconds: startup + trainSeconds + evalSeconds,
    peakMemoryBytes: peak,
    basis: `≈ ${(flops / 1e12).toFixed(flops < 1e10 ? 5 : 2)} TFLOP per example (4·P_lm·T + 2·P_vision·patches, T = ${text} text + ${Math.round(x.imageTokens)} image tokens) on ${where}; memory ${x.device === "cuda" ? "2" : "4"} bytes per parameter + activations (see lib/src/finetune/local/estimate.ts)`,
  };
}

/** `1 h 25 min`, `3 min 10 s`, `42 s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 0.1) return `${Math.max(1, Math.round(seconds * 1000))} ms`;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const m = Math.round(seconds / 60);
  if (m < 60) return `${m} min${seconds < 600 ? ` ${Math.round(seconds % 60)} s` : ""}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${(h / 24).toFixed(1)} days`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(0)} MB`;
  return `${Math.round(bytes / 1e3)} kB`;
}
