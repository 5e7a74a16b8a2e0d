/** Which models the Batch API can ask: those with an available Batch ability and an OpenAI Batch price. */
import { answerCost } from "../../../openai/prices";
import { responseCacheOf, type BatchAbility, type CachedModel, type ScoreModel } from "../../../models";

/** Why a model without a Batch ability (local models, baselines) is asked directly; not worth a log line. */
export const NOT_AN_API_MODEL = "not an API model";

/** A model that can go through the Batch API: its Batch ability, and the response cache in front of it if any. */
export interface BatchTarget {
  model: ScoreModel;
  ability: BatchAbility;
  cache: CachedModel | undefined;
}

/** The model's Batch ability (behind the response cache or not) when the Batch API can ask it here; else why not. */
export function batchTarget(model: ScoreModel): BatchTarget | { reason: string } {
  const ability = model.batch;
  if (!ability) return { reason: NOT_AN_API_MODEL };
  if (ability.unavailable) return { reason: ability.unavailable };
  // The Batch API and its prices are OpenAI's: a model without an OpenAI price (vLLM, Ollama, other
  // servers) has no batch endpoint to go to.
  if (answerCost(model.id, { inputTokens: 1, outputTokens: 1 }, true) === null) return { reason: `${model.id} is not an OpenAI model with a Batch price; asked directly` };
  return { model, ability, cache: responseCacheOf(model) };
}
