/**
 * The streetsafe library, as the notebooks and the CLI call it: one namespace per guide step, and the
 * shared parts the steps stand on.
 *
 *   ss.prepare  (step 1)  ground truth → splits → fine-tuning data, checks, cost; the demo dataset
 *   ss.finetune (step 2)  fine-tuning jobs and their record
 *   ss.models   (step 3)  every model behind one interface, made by name from the config
 *   ss.compare  (step 4)  every model on the same test images → a run folder
 *   ss.analyze  (step 5)  a run's charts, reports and takeaways
 *   ss.pairwise           votes on pairs → ratings with uncertainty → 1–10; pair plans; pairwise evaluation
 *   ss.core · ss.prompt · ss.openai   errors, scale, images, display · the prompt and reply · the API parts
 *
 * `show` (notebook display) and `DEFAULT_SCALE` are also at the top level: every notebook uses them.
 */
export * as core from "./core";
export * as prompt from "./prompt";
export * as openai from "./openai";
export * as prepare from "./prepare";
export * as finetune from "./finetune";
export * as models from "./models";
export * as compare from "./compare";
export * as analyze from "./analyze";
export * as pairwise from "./pairwise";
export { show } from "./core/display";
export { DEFAULT_SCALE, type Scale } from "./core/scale";
