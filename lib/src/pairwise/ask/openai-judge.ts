/**
 * The OpenAI-compatible pair judge: both images in one chat request (image A first), structured output
 * `{"safer": "A" | "B" | "equal"}` (json_schema, strict) where the server supports it and the strict
 * parser otherwise, P(A safer) from the answer token's probabilities where logprobs are given. The
 * request goes through the same OpenAIChatModel — its client, key, retries, timeouts and fallbacks
 * (`complete`, `chatBody`) — so nothing of the API handling is repeated here.
 */
import type { ChatCompletion, ChatCompletionMessageParam, ChatCompletionTokenLogprob } from "openai/resources/chat/completions";
import { toDataUrl } from "../../core/image";
import type { PreparedImage } from "../../core/types";
import type { OpenAIChatModel } from "../../models";
import { toUsage } from "../../models/openai-chat/model";
import { answerOfToken, PAIR_SCHEMA_NAME, pairAnswerOffset, pairSchema, pairwiseMessages, parsePairAnswer } from "../../prompt/pairwise";
import { failedJudgment, pairwiseSettings, type PairJudge, type PairJudgment, type PairProbabilities } from "./judge";

const POSITION = { A: "first", B: "second", equal: "equal" } as const;

export class OpenAIPairJudge implements PairJudge {
  readonly kind = "api";
  readonly method = "two-images";
  readonly name: string;
  readonly id: string;

  constructor(private readonly model: OpenAIChatModel) {
    this.name = model.name;
    this.id = model.id;
  }

  describe(): Record<string, unknown> {
    return pairwiseSettings(this.model.describe(), "describe");
  }

  cacheKeyFields(): Record<string, unknown> {
    return pairwiseSettings(this.model.cacheKeyFields(), "cache");
  }

  /** The JSON body one request sends (image A = `first`). */
  requestBody(first: PreparedImage, second: PreparedImage) {
    const messages = pairwiseMessages(toDataUrl(first.jpeg), toDataUrl(second.jpeg), this.model.imageDetail) as ChatCompletionMessageParam[];
    return this.model.chatBody(messages, { name: PAIR_SCHEMA_NAME, schema: () => pairSchema() });
  }

  judge(first: PreparedImage, second: PreparedImage, opts: { signal?: AbortSignal } = {}): Promise<PairJudgment> {
    return this.model.complete(
      () => this.requestBody(first, second),
      (c, ms) => this.judgment(c, ms),
      (error, ms) => failedJudgment(this.id, error, ms),
      opts.signal,
    );
  }

  /** The judgment for one chat completion (anything else is a failure). */
  judgment(c: ChatCompletion, latencyMs: number): PairJudgment {
    if (!c || typeof c !== "object" || !Array.isArray((c as Partial<ChatCompletion>).choices)) {
      return failedJudgment(this.id, `unexpected response (not a chat completion): ${String(JSON.stringify(c)).slice(0, 200)}`, latencyMs);
    }
    const modelId = c.model || this.id;
    const usage = toUsage(c);
    const choice = c.choices[0];
    if (!choice?.message) return failedJudgment(modelId, "the response has no choices", latencyMs, "", usage);
    if (choice.message.refusal) return failedJudgment(modelId, `the model refused: ${this.model.scrub(choice.message.refusal)}`, latencyMs, this.model.scrub(choice.message.refusal), usage);
    const raw = this.model.scrub(choice.message.content ?? "");
    const parsed = parsePairAnswer(raw);
    if (!parsed.ok) {
      const cut = choice.finish_reason === "length" ? " (the reply was cut at the token limit)" : "";
      return failedJudgment(modelId, `no valid answer in the reply: ${parsed.reason}${cut}`, latencyMs, raw, usage);
    }
    const j: PairJudgment = { answer: POSITION[parsed.answer], raw, latencyMs, modelId, ...(usage ? { usage } : {}) };
    const probabilities = answerProbabilities(choice.logprobs?.content ?? [], POSITION[parsed.answer]);
    if (probabilities) j.probabilities = probabilities;
    return j;
  }
}

/**
 * P(A), P(B), P(equal) from the top_logprobs at the token where the answer is written (after
 * `"safer": "`), renormalised over the three; undefined without logprobs, when the position is not
 * found, or when the chosen token there is not the parsed answer.
 */
export function answerProbabilities(tokens: Pick<ChatCompletionTokenLogprob, "token" | "top_logprobs" | "logprob">[], answer: PairJudgment["answer"]): PairProbabilities | undefined {
  if (tokens.length === 0) return undefined;
  const text = tokens.map((t) => t.token).join("");
  const at = pairAnswerOffset(text);
  if (at < 0) return undefined;
  let start = 0;
  let i = 0;
  for (; i < tokens.length; i++) {
    if (at < start + tokens[i]!.token.length) break;
    start += tokens[i]!.token.length;
  }
  const here = tokens[i];
  if (!here) return undefined;
  const prefix = here.token.slice(0, at - start);
  const of = (token: string) => answerOfToken(token.startsWith(prefix) ? token.slice(prefix.length) : token);
  const chosen = of(here.token);
  if (!chosen || POSITION[chosen] !== answer) return undefined;
  const mass = { first: 0, second: 0, equal: 0 };
  const alts = here.top_logprobs?.length ? here.top_logprobs : [{ token: here.token, logprob: here.logprob }];
  for (const alt of alts) {
    const a = of(alt.token);
    if (a) mass[POSITION[a]] += Math.exp(alt.logprob);
  }
  const total = mass.first + mass.second + mass.equal;
  if (!(total > 0)) return undefined;
  return { first: mass.first / total, second: mass.second / total, equal: mass.equal / total };
}
