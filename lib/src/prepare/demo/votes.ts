/**
 * The demo dataset's pairwise votes (votes.csv): simulated "which looks safer?" judgments between demo
 * scenes, from the same documented rule and rater noise as the absolute scores (cues.ts).
 *
 * The rule (DEMO_VOTES_DESCRIPTION says it in words for the README):
 * - pairs: DEMO_VOTE_ROUNDS rounds; in each round the scenes are shuffled and taken two by two, so every
 *   scene is compared once a round (with an odd count, one scene sits the round out); each pair is shown
 *   in a random left/right order. Pairs may meet again in a later round: repeated pairs stay separate votes;
 * - a random DEMO_SECOND_RATER_SHARE of the pairs is judged by a second rater, shown in the other order;
 * - each judgment: the rater sees each scene as its noise-free `rule_score` plus Gaussian noise with sd
 *   DEMO_NOISE_SD (the same simulated rater as the absolute scores), independently for the two scenes,
 *   and names the one that looks safer — or "equal" when the two perceptions differ by less than
 *   DEMO_EQUAL_BAND points. That is Thurstone's Case V with an indifference band (Glenn & David 1960):
 *   P(left) = Φ((Δ − band)/(sd·√2)), Δ = rule_left − rule_right.
 * Seeded separately from the scenes, so adding the votes changed no image or score.
 */
import seedrandom from "seedrandom";
import { DEMO_NOISE_SD, gaussian } from "./cues";

export const DEMO_VOTES_FILE = "votes.csv";
export const DEMO_VOTE_ROUNDS = 20;
export const DEMO_EQUAL_BAND = 0.3;
export const DEMO_SECOND_RATER_SHARE = 0.1;
export const DEMO_VOTE_QUESTION = "safer";
export const DEMO_VOTE_COLUMNS = ["left", "right", "winner", "question"] as const;

export interface DemoVote {
  left: string;
  right: string;
  winner: "left" | "right" | "equal";
  question: string;
}

/** One rater's judgment of a shown pair (see the module comment). */
function judge(ruleLeft: number, ruleRight: number, rng: () => number): DemoVote["winner"] {
  const d = ruleLeft + DEMO_NOISE_SD * gaussian(rng) - (ruleRight + DEMO_NOISE_SD * gaussian(rng));
  return d > DEMO_EQUAL_BAND ? "left" : d < -DEMO_EQUAL_BAND ? "right" : "equal";
}

/** The votes the generator writes for these scenes (their noise-free rule scores) and seed. */
export function demoVotes(scenes: readonly { image: string; ruleScore: number }[], seed: number): DemoVote[] {
  const rng = seedrandom(`streetsafe-demo-votes-${seed}`);
  const order = scenes.map((_, i) => i);
  const votes: DemoVote[] = [];
  const vote = (l: number, r: number) => {
    const a = scenes[l]!;
    const b = scenes[r]!;
    votes.push({ left: a.image, right: b.image, winner: judge(a.ruleScore, b.ruleScore, rng), question: DEMO_VOTE_QUESTION });
  };
  for (let round = 0; round < DEMO_VOTE_ROUNDS; round++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let k = 0; k + 1 < order.length; k += 2) {
      const [l, r] = rng() < 0.5 ? [order[k]!, order[k + 1]!] : [order[k + 1]!, order[k]!];
      vote(l, r);
      if (rng() < DEMO_SECOND_RATER_SHARE) vote(r, l);
    }
  }
  return votes;
}

export const DEMO_VOTES_DESCRIPTION = `**Simulated pairwise votes (\`votes.csv\`).** Columns \`left\`, \`right\`, \`winner\` (left / right / equal) and
\`question\` (always "${DEMO_VOTE_QUESTION}"), one row per vote, as Place Pulse publishes its votes. ${DEMO_VOTE_ROUNDS} rounds: in each, the scenes are
shuffled and paired two by two (with an odd count one scene sits out), each pair shown in a random order;
${Math.round(DEMO_SECOND_RATER_SHARE * 100)}% of the pairs get a second rater, shown the other way round, and pairs that meet again in a later round
are voted again — so the file holds repeated pairs, as real vote files do. Each simulated rater perceives each
scene as its noise-free \`rule_score\` plus Gaussian noise (sd ${DEMO_NOISE_SD}, the same rater noise as \`safety_score\`), independently
for the two scenes, and picks the one that looks safer, or answers "equal" when the two perceptions differ by
less than ${DEMO_EQUAL_BAND} points: Thurstone's Case V with an indifference band, P(left) = Φ((Δ − ${DEMO_EQUAL_BAND})/(${DEMO_NOISE_SD}·√2)) for
Δ = rule_left − rule_right. \`npx streetsafe pairwise fit --votes data/demo/votes.csv --images data/demo/images\` turns
them into scores; their order should follow \`rule_score\`.`;
