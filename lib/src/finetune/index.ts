/**
 * Guide step 2: fine-tuning. `openai/` runs jobs on OpenAI / Azure OpenAI (capabilities, dry run, jobs,
 * watching, the fine_tune_info.json record — the one reader of that file is `readFineTuneRecord`).
 * `local/` is the place for the local Qwen2-VL LoRA route.
 */
export * from "./openai";
