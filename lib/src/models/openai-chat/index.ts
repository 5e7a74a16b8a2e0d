/** OpenAI-compatible chat models (OpenAI, Azure OpenAI, vLLM, Ollama, …) through the official SDK. */
export { OPENAI_CHAT_DEFAULTS, OpenAIChatModel, SCORE_SCHEMA_NAME, scoreSchema, type OpenAIChatOptions } from "./model";
export { scoreProbabilities } from "./probabilities";
