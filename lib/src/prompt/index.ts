/** The task prompt and the reply: one wording for training and inference, one strict score parser, one rule for where a score is written. */
export { assistantTarget, PROMPT_VERSION, promptHash, roundScore, systemPrompt, userPrompt, type ScoreReply } from "./prompts";
export { promptMessages, type ImageDetail, type OpenAIChatMessage, type OpenAIImagePart, type OpenAITextPart } from "./messages";
export { parseScoreText, splitReasons, type ScoreTextFailure, type ScoreTextResult } from "./score-text";
export { scoreOffset } from "./score-position";
export {
  answerOfToken,
  PAIR_ANSWERS,
  PAIR_SCHEMA_NAME,
  pairAnswerOffset,
  pairSchema,
  PAIRWISE_PROMPT_VERSION,
  pairwiseMessages,
  pairwisePromptHash,
  pairwiseSystemPrompt,
  pairwiseUserParts,
  pairwiseUserPrompt,
  parsePairAnswer,
  type PairAnswer,
  type PairAnswerResult,
} from "./pairwise";
