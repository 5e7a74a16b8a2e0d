/**
 * OpenAI-compatible chat models (OpenAI, Azure OpenAI, and servers that speak the same API, such as
 * vLLM) through the official `openai` SDK. Scores are integers on the configured scale (default 1–10),
 * asked for with exactly the prompt the fine-tuning files use (`promptMessages`).
 *
 * - Structured outputs (`response_format: json_schema`, strict) by default. A server that rejects the
 *   schema's bounds gets the schema without them; one that rejects json_schema gets plain text. Each
 *   fallback happens once per model instance and is remembered (`describe().fallbacks`).
 * - Token probabilities (`logprobs`, `top_logprobs`) at the position where the score is written give
 *   `probabilities` (over the scale's integers, renormalised) and `expectedScore`. A server without
 *   logprobs support just gives none.
 * - Retries (429 with retry-after, 408/409/5xx, connection errors, and status-200 bodies that are empty,
 *   truncated, malformed or reset mid-body) are the SDK's loop fed by openai/client.ts's fetch;
 *   `timeoutMs` bounds each attempt, including reading the body, and a retry-after beyond
 *   `maxRetryAfterMs` fails at once (the SDK would sleep for any length asked). A final failure says
 *   "(after N attempts)" and is marked `transient` when asking again later may fix it.
 * - A failure on one image is a Prediction with `score: null` and `error`; only setup problems (no key,
 *   no Azure endpoint) throw, as ModelUnavailableError naming the variable that fixes them. The API key
 *   is scrubbed from every text this module returns.
 */
import type OpenAI from "openai";
import { APIError, APIUserAbortError } from "openai";
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { promptMessages, type ImageDetail } from "../../prompt/messages";
import { toDataUrl } from "../../core/image";
import { PROMPT_VERSION, promptHash } from "../../prompt/prompts";
import { DEFAULT_SCALE, type Scale } from "../../core/scale";
import { parseScoreText } from "../../prompt/score-text";
import type { PreparedImage } from "../../core/types";
import { createOpenAIClient, type OpenAIClientHandle, type OpenAIClientOptions } from "../../openai/client";
import { describeRequestFailure, isTransientApiError } from "../../openai/errors";
import { explainModelNotFound } from "../../openai/lifecycle";
import { redact } from "../../openai/keys";
import { scoreProbabilities } from "./probabilities";
import { ModelUnavailableError } from "../../core/errors";
import type { BatchAbility, Prediction, PredictOptions, ScoreModel, TokenUsage } from "../types";

// ---------------------------------------------------------------------------------------------------
// Constants

/** Defaults for every option not given (one place; covered by a test). */
export const OPENAI_CHAT_DEFAULTS = {
  provider: "openai",
  detail: "low",
  structuredOutputs: true,
  logprobs: true,
  topLogprobs: 10,
  temperature: 0,
  maxTokens: 400,
  maxTokensParam: "max_completion_tokens",
  timeoutMs: 60_000,
  maxRetries: 4,
  maxRetryAfterMs: 60_000,
  azureApiKeyEnv: "AZURE_OPENAI_API_KEY",
  openaiApiKeyEnv: "OPENAI_API_KEY",
} as const;

/** The structured-outputs schema name. */
export const SCORE_SCHEMA_NAME = "safety_score";

// ---------------------------------------------------------------------------------------------------
// Types

export interface OpenAIChatOptions {
  /** The config name the user asked for. */
  name: string;
  /** Model id (OpenAI) or deployment/model name (Azure, when `azure.deployment` is not given). */
  model: string;
  scale?: Scale;
  provider?: "openai" | "azure";
  /** Default: `OPENAI_BASE_URL` (from `env`), else the SDK's default (api.openai.com). For Azure, replaces `endpoint`. */
  baseURL?: string;
  /** Variable holding the key; `<apiKeyEnv>_FILE` may name a file holding it instead. Default OPENAI_API_KEY (AZURE_OPENAI_API_KEY for Azure). */
  apiKeyEnv?: string;
  /** The key itself (programmatic use); never recorded. Wins over `apiKeyEnv`. */
  apiKey?: string;
  /** Azure settings; each falls back to the SDK's usual variable: AZURE_OPENAI_ENDPOINT, OPENAI_API_VERSION, and AZURE_OPENAI_DEPLOYMENT (ours). */
  azure?: { endpoint?: string; apiVersion?: string; deployment?: string };
  /** `image_url.detail`; default "low". */
  detail?: ImageDetail;
  /** Ask for `response_format: json_schema` (strict); default true. */
  structuredOutputs?: boolean;
  /** Ask for token logprobs to compute `expectedScore`; default true. */
  logprobs?: boolean;
  /** Alternatives per token (0–20); default 10. */
  topLogprobs?: number;
  /** Default 0. */
  temperature?: number;
  /** Sent as `seed` when given (best-effort determinism on OpenAI). */
  seed?: number;
  /** Reply token limit; default 400. */
  maxTokens?: number;
  /** Older servers know only `max_tokens`; default "max_completion_tokens". */
  maxTokensParam?: "max_tokens" | "max_completion_tokens";
  /** Per attempt (headers and body), in ms; default 60 000. */
  timeoutMs?: number;
  /** SDK retries (429/408/409/5xx/connection errors, honouring retry-after); default 4. */
  maxRetries?: number;
  /** A retry-after longer than this is not waited out: the prediction fails at once. Default 60 000. */
  maxRetryAfterMs?: number;
  /** Environment to read keys and Azure settings from (tests); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** How the model is currently being asked, after any fallbacks. */
type ResponseFormatMode = "json_schema" | "json_schema_unbounded" | "text";

// ---------------------------------------------------------------------------------------------------
// The class

export class OpenAIChatModel implements ScoreModel {
  readonly kind = "api";
  readonly name: string;
  readonly id: string;
  readonly scale: Scale;
  private readonly client: OpenAI;
  private readonly apiKey: string;
  private readonly settings: {
    provider: "openai" | "azure";
    baseURL: string;
    deployment?: string;
    apiVersion?: string;
    detail: ImageDetail;
    structuredOutputs: boolean;
    logprobs: boolean;
    topLogprobs: number;
    temperature: number;
    seed?: number;
    maxTokens: number;
    maxTokensParam: "max_tokens" | "max_completion_tokens";
    timeoutMs: number;
    maxRetries: number;
    maxRetryAfterMs: number;
  };
  private format: ResponseFormatMode;
  private logprobsOn: boolean;
  private readonly fallbacks: string[] = [];
  /** The SDK client with its key, error-body capture and retry-after cap (openai/client.ts). */
  private readonly handle: OpenAIClientHandle;
  /** How `handle` was made, with the key resolved (for clientFor). */
  private readonly clientOptions: OpenAIClientOptions;

  constructor(opts: OpenAIChatOptions) {
    const d = OPENAI_CHAT_DEFAULTS;
    const env = opts.env ?? process.env;
    const provider = opts.provider ?? d.provider;
    this.name = opts.name;
    this.id = opts.model;
    this.scale = opts.scale ?? DEFAULT_SCALE;
    const timeoutMs = Math.max(1, Math.ceil(opts.timeoutMs ?? d.timeoutMs));
    const maxRetries = opts.maxRetries ?? d.maxRetries;
    const topLogprobs = opts.topLogprobs ?? d.topLogprobs;
    if (!Number.isInteger(topLogprobs) || topLogprobs < 0 || topLogprobs > 20) {
      throw new ModelUnavailableError(opts.name, `topLogprobs must be an integer from 0 to 20, got ${topLogprobs}`);
    }
    const maxRetryAfterMs = opts.maxRetryAfterMs ?? d.maxRetryAfterMs;
    const apiKeyEnv = opts.apiKeyEnv ?? (provider === "azure" ? d.azureApiKeyEnv : d.openaiApiKeyEnv);
    const clientOptions: OpenAIClientOptions = {
      name: opts.name,
      provider,
      ...(opts.baseURL !== undefined ? { baseURL: opts.baseURL } : {}),
      apiKeyEnv,
      ...(opts.apiKey !== undefined ? { apiKey: opts.apiKey } : {}),
      azure: {
        ...opts.azure,
        deployment: opts.azure?.deployment ?? env["AZURE_OPENAI_DEPLOYMENT"] ?? opts.model,
      },
      timeoutMs,
      maxRetries,
      maxRetryAfterMs,
      env,
    };
    this.handle = createOpenAIClient(clientOptions);
    this.client = this.handle.client;
    this.apiKey = this.handle.apiKey;
    this.clientOptions = { ...clientOptions, apiKey: this.apiKey };
    const { baseURL, deployment, apiVersion } = this.handle;

    this.settings = {
      provider,
      baseURL,
      ...(deployment !== undefined ? { deployment } : {}),
      ...(apiVersion !== undefined ? { apiVersion } : {}),
      detail: opts.detail ?? d.detail,
      structuredOutputs: opts.structuredOutputs ?? d.structuredOutputs,
      logprobs: (opts.logprobs ?? d.logprobs) && topLogprobs > 0,
      topLogprobs,
      temperature: opts.temperature ?? d.temperature,
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      maxTokens: opts.maxTokens ?? d.maxTokens,
      maxTokensParam: opts.maxTokensParam ?? d.maxTokensParam,
      timeoutMs,
      maxRetries,
      maxRetryAfterMs,
    };
    this.format = this.settings.structuredOutputs ? "json_schema" : "text";
    this.logprobsOn = this.settings.logprobs;
  }

  /** Settings for run.json (no secrets), with any fallbacks taken so far. */
  describe(): Record<string, unknown> {
    return {
      type: "openai-chat",
      model: this.id,
      ...this.settings,
      promptVersion: PROMPT_VERSION,
      promptHash: promptHash(this.scale),
      scale: this.scale,
      responseFormat: this.format,
      logprobsActive: this.logprobsOn,
      fallbacks: [...this.fallbacks],
    };
  }

  /** The settings that change answers (the response cache keys on these; timeouts and fallbacks do not). */
  cacheKeyFields(): Record<string, unknown> {
    const { timeoutMs: _t, maxRetries: _r, maxRetryAfterMs: _w, ...answering } = this.settings;
    return { type: "openai-chat", model: this.id, ...answering, scale: this.scale };
  }

  async predict(image: PreparedImage, opts: PredictOptions = {}): Promise<Prediction> {
    return this.complete(
      () => this.chatRequestBody(image, opts),
      (completion, ms) => this.predictionFromCompletion(completion, ms),
      (error, ms, transient) => ({ ...this.failure(error, "", ms), transient }),
      opts.signal,
    );
  }

  /**
   * One chat request through this model's client: `body()` is built anew for each try, so it follows
   * the fallbacks taken (response format, logprobs); `read` turns the completion into the answer and
   * `fail` a failure (its text already described and scrubbed of the key; `transient`: asking again later may
   * fix it). A stop by `signal` throws.
   * Used by `predict` and by other tasks asked of the same model (the pairwise judge).
   */
  async complete<T>(body: () => ChatCompletionCreateParamsNonStreaming, read: (completion: ChatCompletion, latencyMs: number) => T, fail: (error: string, latencyMs: number, transient: boolean) => T, signal?: AbortSignal): Promise<T> {
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    for (let fallbacksLeft = 3; ; fallbacksLeft--) {
      const asked = { format: this.format, logprobs: this.logprobsOn };
      try {
        const completion = await this.client.chat.completions.create(body(), { ...(signal ? { signal } : {}) });
        return read(completion, latency());
      } catch (err) {
        if (signal?.aborted || err instanceof APIUserAbortError) throw err;
        if (fallbacksLeft > 0 && this.fallBack(err, asked)) continue;
        return fail(redact(this.describeError(err), [this.apiKey]), latency(), isTransientApiError(err));
      }
    }
  }

  /**
   * A request body for `messages` with this model's settings (model, temperature, seed, reply token
   * limit, logprobs) and, while structured outputs are on, `response_format` with the named strict
   * schema (`schema(bounded)`: bounded false after a server refused minimum/maximum).
   */
  chatBody(messages: ChatCompletionMessageParam[], format: { name: string; schema: (bounded: boolean) => Record<string, unknown> }): ChatCompletionCreateParamsNonStreaming {
    const s = this.settings;
    const body: ChatCompletionCreateParamsNonStreaming = { model: this.id, messages, temperature: s.temperature, [s.maxTokensParam]: s.maxTokens };
    if (s.seed !== undefined) body.seed = s.seed;
    if (this.format !== "text") body.response_format = { type: "json_schema", json_schema: { name: format.name, strict: true, schema: format.schema(this.format === "json_schema") } };
    if (this.logprobsOn) {
      body.logprobs = true;
      body.top_logprobs = s.topLogprobs;
    }
    return body;
  }

  /** `detail` of image parts, as configured. */
  get imageDetail(): ImageDetail {
    return this.settings.detail;
  }

  /** `text` with this model's key scrubbed (replies and errors a caller records). */
  scrub(text: string): string {
    return redact(text, [this.apiKey]);
  }

  /**
   * The exact JSON body `predict` sends for `image` (model, messages, response_format, logprobs,
   * temperature, seed, reply token limit), with the fallbacks taken so far. The Batch API sends it as
   * one line's `body`.
   */
  chatRequestBody(image: PreparedImage, opts: Pick<PredictOptions, "prompt"> = {}): ChatCompletionCreateParamsNonStreaming {
    const prompt = opts.prompt;
    let messages = promptMessages(this.scale, { dataUrl: toDataUrl(image.jpeg), detail: this.settings.detail });
    if (prompt !== undefined) {
      messages = messages.map((m) =>
        m.role === "user" && Array.isArray(m.content)
          ? { ...m, content: m.content.map((p) => (p.type === "text" ? { ...p, text: prompt } : p)) }
          : m,
      );
    }
    return this.chatBody(messages as ChatCompletionMessageParam[], { name: SCORE_SCHEMA_NAME, schema: (bounded) => scoreSchema(this.scale, bounded) });
  }

  /**
   * The Prediction `predict` returns for `completion` (a chat completion as the API sends it; anything
   * else becomes a failure): the parsed score, reasons, usage, and probabilities from logprobs. The Batch
   * API's output lines carry the same completions.
   */
  predictionFromCompletion(completion: ChatCompletion, latencyMs: number): Prediction {
    return this.toPrediction(completion, latencyMs);
  }

  /**
   * The Batch API's view of this model: the request `predict` sends and the completion parser. Azure
   * OpenAI serves batches through batch deployments with their own routing, so there it is unavailable.
   */
  get batch(): BatchAbility {
    return {
      unavailable: this.settings.provider === "azure" ? "Azure OpenAI batches need a batch deployment; asked directly" : null,
      requestBody: (image, opts) => this.chatRequestBody(image, opts) as unknown as Record<string, unknown>,
      prediction: (body, latencyMs) => this.predictionFromCompletion(body as ChatCompletion, latencyMs),
      client: (limits) => this.clientFor(limits),
    };
  }

  /**
   * A client for the same provider, server and key with other limits, for endpoints beside chat
   * (the Batch API's files and batches, whose uploads and downloads outlast one chat request).
   */
  clientFor(limits: { timeoutMs?: number; maxRetries?: number } = {}): OpenAIClientHandle {
    return createOpenAIClient({
      ...this.clientOptions,
      ...(limits.timeoutMs !== undefined ? { timeoutMs: limits.timeoutMs } : {}),
      ...(limits.maxRetries !== undefined ? { maxRetries: limits.maxRetries } : {}),
    });
  }

  // -------------------------------------------------------------------------------------------------
  // Private helpers

  /**
   * Step down after a 400 naming a feature this server lacks (true: ask again). `asked` is what the
   * failed request used: when a concurrent request has already stepped down, just ask again.
   */
  private fallBack(err: unknown, asked: { format: ResponseFormatMode; logprobs: boolean }): boolean {
    if (!(err instanceof APIError) || (err.status !== 400 && err.status !== 422)) return false;
    const text = `${err.param ?? ""} ${this.errorText(err)}`;
    const why = () => redact(this.errorText(err), [this.apiKey]).slice(0, 300);
    if (asked.format !== "text" && /response_format|json_schema|structured output|guided_json/i.test(text)) {
      if (this.format === asked.format) {
        const bounds = /minimum|maximum|not permitted|keyword/i.test(text);
        const next: ResponseFormatMode = asked.format === "json_schema" && bounds ? "json_schema_unbounded" : "text";
        this.fallbacks.push(`${asked.format} → ${next}: ${why()}`);
        this.format = next;
      }
      return true;
    }
    if (asked.logprobs && /logprobs/i.test(text)) {
      if (this.logprobsOn) {
        this.fallbacks.push(`logprobs off: ${why()}`);
        this.logprobsOn = false;
      }
      return true;
    }
    return false;
  }

  private toPrediction(completion: ChatCompletion, latencyMs: number): Prediction {
    if (!completion || typeof completion !== "object" || !Array.isArray((completion as Partial<ChatCompletion>).choices)) {
      const shown = typeof completion === "string" ? completion : JSON.stringify(completion);
      return this.failure(`unexpected response (not a chat completion): ${String(shown).slice(0, 200)}`, String(shown ?? ""), latencyMs);
    }
    const modelId = completion.model || this.id;
    const usage = toUsage(completion);
    const choice = completion.choices[0];
    if (!choice?.message) return this.failure("the response has no choices", "", latencyMs, usage, modelId);
    const { message } = choice;
    if (message.refusal) {
      return this.failure(`the model refused: ${message.refusal}`, message.refusal, latencyMs, usage, modelId);
    }
    const raw = message.content ?? "";
    const parsed = parseScoreText(raw, this.scale);
    if (!parsed.ok || !Number.isInteger(parsed.score)) {
      const why = parsed.ok ? `${parsed.score} is not a whole number` : `${parsed.reason} [${parsed.code}]`;
      const cut = choice.finish_reason === "length" ? ` (the reply was cut at ${this.settings.maxTokens} tokens)` : "";
      return this.failure(`no valid score in the reply: ${why}${cut}`, raw, latencyMs, usage, modelId);
    }
    const prediction: Prediction = {
      score: parsed.score,
      reasons: parsed.reasons.map((r) => redact(r, [this.apiKey])),
      raw: redact(raw, [this.apiKey]),
      latencyMs,
      modelId,
      ...(usage ? { usage } : {}),
    };
    const tokens = choice.logprobs?.content;
    if (tokens && tokens.length > 0) {
      const probs = scoreProbabilities(tokens, parsed.score, this.scale);
      if (probs) {
        prediction.probabilities = probs.probabilities;
        prediction.expectedScore = probs.expectedScore;
      }
    }
    return prediction;
  }

  private failure(error: string, raw: string, latencyMs: number, usage?: TokenUsage, modelId = this.id): Prediction {
    return {
      score: null,
      reasons: [],
      raw: redact(raw, [this.apiKey]),
      error: redact(error, [this.apiKey]),
      latencyMs,
      modelId,
      ...(usage ? { usage } : {}),
    };
  }

  /** The provider's message, or the raw error body when the SDK could not read one. */
  private errorText(err: APIError): string {
    return this.handle.errorText(err);
  }

  /** The failure in one line; a "model not found" for a model the lifecycle table says is shut down is explained by the table. */
  private describeError(err: unknown): string {
    if (err instanceof APIError) {
      const explained = explainModelNotFound(this.id, { status: err.status, code: err.code ?? null, message: this.errorText(err) }, { configName: this.name, provider: this.settings.provider });
      if (explained) return explained;
    }
    return describeRequestFailure(err, this.handle, this.settings);
  }
}

// ---------------------------------------------------------------------------------------------------
// Pure helpers

/** The strict structured-outputs schema for `{score, reasons}`; `bounds` adds minimum/maximum. */
export function scoreSchema(scale: Scale, bounds = true): Record<string, unknown> {
  return {
    type: "object",
    properties: {
      score: bounds ? { type: "integer", minimum: scale.min, maximum: scale.max } : { type: "integer" },
      reasons: { type: "array", items: { type: "string" } },
    },
    required: ["score", "reasons"],
    additionalProperties: false,
  };
}

/** Token usage of a completion, where reported. */
export function toUsage(c: ChatCompletion): TokenUsage | undefined {
  const u = c.usage;
  if (!u || typeof u.prompt_tokens !== "number") return undefined;
  const usage: TokenUsage = { inputTokens: u.prompt_tokens, outputTokens: u.completion_tokens ?? 0 };
  const cached = u.prompt_tokens_details?.cached_tokens;
  if (typeof cached === "number") usage.cachedInputTokens = cached;
  return usage;
}
