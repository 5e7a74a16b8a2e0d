/**
 * Guide step 2: fine-tuning. `openai/` runs jobs on OpenAI / Azure OpenAI (capabilities, dry run, jobs,
 * watching, the fine_tune_info.json record — the one reader of that file is `readFineTuneRecord`).
 * `local/` fine-tunes Qwen2-VL here (LoRA with the project's Python, merge, ONNX export, its check); both show
 * their progress and loss curves through training-progress.ts.
 */
export * from "./openai";
export * from "./local";
export { formatFineTuneProgress, lossCurveFigure, lossCurveText, type FineTuneProgress, type TrainingMetricPoint } from "./training-progress";
