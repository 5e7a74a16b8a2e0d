/**
 * Where the local Qwen2-VL route keeps its work, under `<modelsDir>/fine_tuned_qwen2vl/` (one owner: every other
 * module asks here):
 *
 *   fine_tune_info.json   the record (record.ts), rewritten atomically at every change
 *   export_check.json     the parity check of the export (step 3's check-export), beside the record
 *   export/               the ONNX export that `qwen2vl-ft` (models/models.json) loads — replaced atomically
 *   training/             the LoRA adapter (adapter_model.safetensors, adapter_config.json, train_results.json)
 *                         and its checkpoint-<step>/ folders (resume continues from the newest)
 *   merged/               the base model with the adapter merged in (a full Hugging Face folder, fp32): the
 *                         PyTorch side of the parity check
 *   logs/                 each Python job's log (train.log, merge.log, export.log, check.log)
 *
 * The export is a folder of its own (not the record's folder itself) so that replacing it is one rename: a
 * failed export leaves the previous one untouched, and the record, checkpoints and merged model stay where they
 * are.
 */
import path from "node:path";

export const LOCAL_FINETUNE_SUBDIR = "fine_tuned_qwen2vl";

export interface LocalFineTuneLayout {
  dir: string;
  record: string;
  check: string;
  export: string;
  training: string;
  merged: string;
  logs: string;
  log(job: "train" | "merge" | "export" | "check"): string;
}

export function localFineTuneLayout(modelsDir = "models"): LocalFineTuneLayout {
  const dir = path.join(modelsDir, LOCAL_FINETUNE_SUBDIR);
  const logs = path.join(dir, "logs");
  return {
    dir,
    record: path.join(dir, "fine_tune_info.json"),
    check: path.join(dir, "export_check.json"),
    export: path.join(dir, "export"),
    training: path.join(dir, "training"),
    merged: path.join(dir, "merged"),
    logs,
    log: (job) => path.join(logs, `${job}.log`),
  };
}
