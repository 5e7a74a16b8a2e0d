/** The synthetic demo dataset: rendered street scenes scored by a documented rule, written like user data. */
export {
  DEMO_CUE_COLUMNS,
  DEMO_DEFAULT_COUNT,
  DEMO_DEFAULT_SEED,
  DEMO_DEFAULT_SIZE,
  DEMO_MARKER_FILE,
  demoRatings,
  ensureDemoData,
  generateDemoData,
  type DemoOptions,
  type DemoRating,
  type DemoResult,
} from "./dataset";
export {
  DEMO_NOISE_SD,
  DEMO_RULE_DESCRIPTION,
  demoGroundTruthScore,
  demoReasons,
  demoScoreContributions,
  demoScoreRule,
  sampleCues,
  type FenceKind,
  type SceneCues,
  type TimeOfDay,
} from "./cues";
export { renderSceneSvg } from "./scene";
export { DEMO_EQUAL_BAND, DEMO_SECOND_RATER_SHARE, DEMO_VOTE_QUESTION, DEMO_VOTE_ROUNDS, DEMO_VOTES_DESCRIPTION, DEMO_VOTES_FILE, demoVotes, type DemoVote } from "./votes";
