/** Guide step 2: fine-tuning jobs on OpenAI / Azure OpenAI (capabilities, dry run, jobs, watching, the record). */
export * from "./capabilities";
export * from "./record";
export * from "./training-metrics";
export * from "./dry-run";
export * from "./monitor";
export * from "./tuner";
