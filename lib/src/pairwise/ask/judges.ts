/**
 * Which pair judge a model gets: an OpenAI-compatible chat model and the local Qwen2-VL are asked with
 * both images in one request (behind the response cache the factory gave them); any other ScoreModel —
 * the baselines, a model type without a two-image judge — answers through its scores (score-judge.ts).
 * A new model type gets a two-image judge by implementing PairJudge and adding a line here.
 */
import { LocalQwen2VLModel, OpenAIChatModel, responseCacheOf, type ScoreModel } from "../../models";
import { CachedPairJudge } from "./cached-judge";
import type { PairJudge } from "./judge";
import { OpenAIPairJudge } from "./openai-judge";
import { QwenPairJudge } from "./qwen-judge";
import { ScorePairJudge } from "./score-judge";

export function judgeFor(model: ScoreModel): PairJudge {
  const cached = responseCacheOf(model);
  const inner = cached ? cached.inner : model;
  const judge = inner instanceof OpenAIChatModel ? new OpenAIPairJudge(inner) : inner instanceof LocalQwen2VLModel ? new QwenPairJudge(inner) : null;
  if (judge) return cached ? new CachedPairJudge(judge, cached.cache) : judge;
  return new ScorePairJudge(model);
}
