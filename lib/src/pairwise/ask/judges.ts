/**
 * Which pair judge a model gets: an OpenAI-compatible chat model is asked with both images in one
 * request (behind the response cache the factory gave it); any other ScoreModel — baselines, and a
 * local model without a two-image judge — answers through its scores (score-judge.ts).
 */
import { OpenAIChatModel, responseCacheOf, type ScoreModel } from "../../models";
import { CachedPairJudge } from "./cached-judge";
import type { PairJudge } from "./judge";
import { OpenAIPairJudge } from "./openai-judge";
import { ScorePairJudge } from "./score-judge";

export function judgeFor(model: ScoreModel): PairJudge {
  const cached = responseCacheOf(model);
  const inner = cached ? cached.inner : model;
  if (inner instanceof OpenAIChatModel) {
    const judge = new OpenAIPairJudge(inner);
    return cached ? new CachedPairJudge(judge, cached.cache) : judge;
  }
  return new ScorePairJudge(model);
}
