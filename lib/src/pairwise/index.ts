/**
 * The pairwise step (issue #13): human votes on pairs ("which of these two street views looks safer?")
 * → validated votes → Bradley–Terry, TrueSkill and Q-score ratings with their uncertainty → the 1–10
 * scale by a stated rule → a run folder (and a ground-truth file `prepare` reads); pair plans for asking
 * models; and the evaluation of pairwise answers against human votes (pair majorities, score agreement,
 * position bias); models asked about pairs in both orders (`ask`) and judged against the votes (`evaluate`).
 * `fit`, `plan`, `ask` and `evaluate` run a step; the rest are its parts, for notebooks.
 */
export { runFit as fit, type PairwiseFitOptions, type PairwiseFitResult } from "./fit/run";
export { runPairPlan as plan, formatPlanSummary, PLAN_FILES, PLAN_METHODS, readPlanFolder, type PairPlanOptions, type PairPlanResult, type PlanFolder, type PlanMethod } from "./plan/run";
export { DEFAULT_PAIRWISE_DIR } from "./outputs";
export { fitRatings, MAPPING_CHOICES, mappedOf, RATING_MODELS, summarizeVotes, type FitRatingsOptions, type MappingChoice, type RatingFit, type RatingModel, type VoteSummary } from "./fit/ratings";
export { fittedModels, GROUND_TRUTH_COLUMNS, groundTruthRows, scoreColumns, scoreRows, type ScoreColumn, type ScoreRow } from "./fit/table";
export { FIT_FILES, fitDocument, modelRecords, writeFitRun, type FitProvenance } from "./fit/write";
export { formatFitSummary } from "./fit/summary";
export { EQUAL, LEFT, RIGHT, imageTotals, VoteSetBuilder, voteSetFrom, type ImageTotals, type Outcome, type VoteSet } from "./votes/vote-set";
export { loadVotes, loadVotesOrThrow, VOTE_FILE_EXTENSIONS, type LoadVotesOptions, type VotesFile } from "./votes/load";
export { LEFT_COLUMNS, QUESTION_COLUMNS, readVoteTable, RIGHT_COLUMNS, VoteReader, WINNER_COLUMNS, type VoteColumns, type VoteReadOptions, type VoteReadResult } from "./votes/validate";
export { aggregatePairs, type PairCounts } from "./votes/pair-counts";
export { BradleyTerryError, bradleyTerryProbability, fitBradleyTerry, type BradleyTerryDiagnostics, type BradleyTerryOptions, type BradleyTerryResult } from "./ratings/bradley-terry";
export { fitTrueSkill, quality1vs1, rate1vs1, trueSkillParams, trueSkillWinProbability, type Rating, type TrueSkillOptions, type TrueSkillParams, type TrueSkillResult } from "./ratings/trueskill";
export { qScores, type QScoreOptions, type QScoreResult } from "./ratings/q-score";
export { mapBradleyTerry, mapQScores, mapToScale, mapTrueSkill, type MapOptions, type MappedScores, type RuleDescription, type ScaleRule } from "./ratings/scale-map";
export { adaptivePairPlan, pairGain, planBothOrders, randomPairPlan, type AdaptivePairPlan, type AdaptivePlanOptions, type PairPlan } from "./plan/pair-plan";
export { agreementWithHumans, pairMajorities, type AgreementOptions, type AgreementResult, type PairTally } from "./evaluate/pair-agreement";
export { alignScores, scoreAgreement, type CorrelationSummary, type Estimate } from "./evaluate/score-agreement";
export { kendallTauB } from "./evaluate/kendall";
export { resolveOrderedAnswers, type OrderBiasOptions, type OrderBiasSummary, type OrderedAnswer, type PairResolution, type PositionAnswer, type ResolvedPair } from "./evaluate/order-bias";
export { outcomeProbabilities, simulateVotes, type SimulateOptions } from "./simulate";
export { biasByModel, DEFAULT_PAIRWISE_MODELS, formatAskSummary, runPairwiseAsk as ask, type PairwiseAskOptions, type PairwiseAskResult } from "./ask/run";
export { ASK_FILES, latestAnswers, readAnswers, readAskRun, type AnswerRecord, type AskModelInfo, type AskRunInfo, type PairOrder } from "./ask/run-folder";
export { failedJudgment, type JudgeMethod, type PairJudge, type PairJudgment, type PairProbabilities } from "./ask/judge";
export { judgeFor } from "./ask/judges";
export { CachedPairJudge } from "./ask/cached-judge";
export { answerProbabilities, OpenAIPairJudge } from "./ask/openai-judge";
export { answerFromScores, ScorePairJudge } from "./ask/score-judge";
export { QwenPairJudge, qwenPairMessages } from "./ask/qwen-judge";
export { DEFAULT_EQUAL_CREDIT, evaluatePairwise, type ModelEvaluation, type PairwiseEvaluateOptions, type PairwiseEvaluation, type Protocol } from "./evaluate/run";
export {
  agreementBars,
  EVALUATE_FILES,
  evaluationCharts,
  evaluationRows,
  formatEvaluationMarkdown,
  formatEvaluationText,
  positionBiasBars,
  runPairwiseEvaluate as evaluate,
  scoreScatter,
  type PairwiseEvaluateResult,
  type PairwiseEvaluateRunOptions,
} from "./evaluate/report";
