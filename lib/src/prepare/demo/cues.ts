/**
 * What a demo scene is made of, and its "ground truth": the cues one scene is drawn from, the DOCUMENTED
 * linear rule that turns them into a score (plus seeded rater noise), the reasons, and the seeded sampling
 * of correlated cue values. A model that learns this rule learns nothing about real streets.
 */

// ---------------------------------------------------------------------------------------------- types

export type TimeOfDay = "day" | "dusk" | "night";
export type FenceKind = "none" | "chain-link" | "barrier";

/** The cues one scene is drawn from. Levels are integers 0 (none) … 3 (a lot). */
export interface SceneCues {
  timeOfDay: TimeOfDay;
  /** Street-light poles in view, 0–6. */
  streetLights: number;
  /** How many of them are switched on / working (0..streetLights). Only visible at dusk and night. */
  streetLightsWorking: number;
  /** Share of windows lit, 0–1 in steps of 0.1. Only visible at dusk and night. */
  litWindows: number;
  /** Sidewalk width in metres, 1.0–5.0 in steps of 0.5. */
  sidewalkWidth: number;
  /** Sidewalk cracks / poor repair, level 0–3. */
  sidewalkCracks: number;
  /** Trees and planters, level 0–3. */
  greenery: number;
  /** Graffiti on the walls, level 0–3. */
  graffiti: number;
  /** Litter on the ground, level 0–3. */
  litter: number;
  /** Cars on the road and parked, 0–8. */
  cars: number;
  /** Pedestrians, 0–8. */
  people: number;
  /** Chain-link fences along the buildings, or construction barriers along the curb. */
  fence: FenceKind;
  /** Seed for the placement of everything drawn (not a safety cue; same cues + same seed = same picture). */
  layoutSeed: number;
}

/** Standard deviation of the simulated rater noise added to the rule before rounding. */
export const DEMO_NOISE_SD = 0.7;

/** A uniform random number generator in [0, 1) (seedrandom). */
export type Rng = () => number;

// ---------------------------------------------------------------------------------------------- the rule

interface Contribution {
  /** Column-style key of the cue. */
  cue: string;
  /** Points this cue adds to the base score. */
  points: number;
  /** Points relative to a typical scene; what makes a cue "dominant" for the reasons. */
  salience: number;
  positive: string;
  negative: string;
}

const BASE_SCORE = 6;

/** Every cue's share of the rule; the sum of `points` plus the base is {@link demoScoreRule}. */
export function demoScoreContributions(c: SceneCues): Contribution[] {
  const dark = c.timeOfDay !== "day";
  const night = c.timeOfDay === "night";
  const broken = c.streetLights - c.streetLightsWorking;
  const timePoints = c.timeOfDay === "day" ? 0.5 : night ? -1.5 : -0.3;
  const lightPerLamp = night ? 0.35 : dark ? 0.15 : 0;
  const lightPoints = lightPerLamp * c.streetLightsWorking - (dark ? 0.15 * broken : 0);
  const windowPoints = (night ? 1.0 : dark ? 0.5 : 0) * c.litWindows;
  const fencePoints = c.fence === "chain-link" ? -0.6 : c.fence === "barrier" ? -0.3 : 0;
  return [
    {
      cue: "time_of_day",
      points: timePoints,
      salience: timePoints + 0.35,
      positive: "daylight, good visibility",
      negative: night ? "dark night-time street" : "fading light at dusk",
    },
    {
      cue: "street_lights",
      points: lightPoints,
      salience: lightPoints - lightPerLamp * 3,
      positive: "well-lit street",
      negative: c.streetLightsWorking === 0 ? "no working street lights" : "few working street lights",
    },
    {
      cue: "lit_windows",
      points: windowPoints,
      salience: windowPoints - (night ? 0.5 : dark ? 0.25 : 0),
      positive: "lit windows overlooking the street",
      negative: "dark windows, nobody watching",
    },
    {
      cue: "sidewalk_width_m",
      points: 0.35 * (c.sidewalkWidth - 2.5),
      salience: 0.35 * (c.sidewalkWidth - 2.5),
      positive: "wide sidewalk",
      negative: "narrow sidewalk",
    },
    {
      cue: "sidewalk_cracks",
      points: -0.3 * c.sidewalkCracks,
      salience: -0.3 * (c.sidewalkCracks - 1),
      positive: "well-kept sidewalk",
      negative: "cracked, poorly kept sidewalk",
    },
    {
      cue: "greenery",
      points: 0.35 * c.greenery,
      salience: 0.35 * (c.greenery - 1.5),
      positive: "trees and greenery",
      negative: "no greenery",
    },
    {
      cue: "graffiti",
      points: -0.45 * c.graffiti,
      salience: -0.45 * c.graffiti,
      positive: "clean walls",
      negative: "graffiti on walls",
    },
    {
      cue: "litter",
      points: -0.4 * c.litter,
      salience: -0.4 * c.litter,
      positive: "clean street",
      negative: "litter on the ground",
    },
    {
      cue: "people",
      points: 0.15 * c.people,
      salience: 0.15 * (c.people - 3),
      positive: "people around",
      negative: c.people === 0 ? "deserted street" : "few people around",
    },
    {
      cue: "cars",
      points: -0.08 * c.cars,
      salience: -0.08 * c.cars,
      positive: "little traffic",
      negative: "heavy traffic",
    },
    {
      cue: "fence",
      points: fencePoints,
      salience: fencePoints,
      positive: "open frontages",
      negative: c.fence === "chain-link" ? "chain-link fences" : "construction barriers",
    },
  ];
}

/** The noise-free demo "safety" of a scene: base 6 plus the cue contributions (see DEMO_RULE_DESCRIPTION). */
export function demoScoreRule(cues: SceneCues): number {
  let s = BASE_SCORE;
  for (const c of demoScoreContributions(cues)) s += c.points;
  return s;
}

/** Ground-truth integer: rule + rater noise, rounded half up and clamped to 1–10. */
export function demoGroundTruthScore(ruleScore: number, noise: number): number {
  return Math.min(10, Math.max(1, Math.round(ruleScore + noise)));
}

/**
 * 1–`max` short rater reasons: the cues that move this scene furthest from a typical one, leaning towards
 * those that agree with the overall verdict (a rater who gives a 9 names what is good first).
 */
export function demoReasons(cues: SceneCues, max = 3): string[] {
  const lean = demoScoreRule(cues) - 5.5;
  const key = (c: Contribution) => Math.abs(c.salience) * (c.salience * lean > 0 ? 2 : 1);
  const ranked = demoScoreContributions(cues)
    .filter((c) => c.salience !== 0)
    .sort((a, b) => key(b) - key(a) || a.cue.localeCompare(b.cue));
  const strong = ranked.filter((c) => Math.abs(c.salience) >= 0.3);
  const chosen = (strong.length > 0 ? strong : ranked).slice(0, Math.max(1, max));
  return chosen.map((c) => (c.salience > 0 ? c.positive : c.negative));
}

export const DEMO_RULE_DESCRIPTION = `**Synthetic rule (not a finding about real streets).** Each demo image is drawn from cue values;
its noise-free score is

\`rule = ${BASE_SCORE} + Σ contributions\`, with

| cue (column) | values | contribution |
|---|---|---|
| \`cue_time_of_day\` | day / dusk / night | day +0.5, dusk −0.3, night −1.5 |
| \`cue_street_lights\`, \`cue_street_lights_working\` | 0–6 poles, 0–poles working | night: +0.35 per working light; dusk: +0.15 per working light; dusk and night: −0.15 per broken light; day: 0 |
| \`cue_lit_windows\` | share 0–1 | night +1.0 × share, dusk +0.5 × share, day 0 |
| \`cue_sidewalk_width_m\` | 1.0–5.0 m | +0.35 × (width − 2.5) |
| \`cue_sidewalk_cracks\` | level 0–3 | −0.3 per level |
| \`cue_greenery\` | level 0–3 | +0.35 per level |
| \`cue_graffiti\` | level 0–3 | −0.45 per level |
| \`cue_litter\` | level 0–3 | −0.4 per level |
| \`cue_people\` | 0–8 | +0.15 per person |
| \`cue_cars\` | 0–8 | −0.08 per car |
| \`cue_fence\` | none / chain-link / barrier | 0 / −0.6 / −0.3 |

The ground truth \`safety_score\` is \`round(rule + noise)\` (halves rounded up) clamped to 1–10, where \`noise\` is a seeded
Gaussian with standard deviation ${DEMO_NOISE_SD} (a simulated rater). \`rule_score\` holds the noise-free value.
The 1–3 \`reasons\` name the cues that move the scene furthest from a typical one (those agreeing with the
verdict first).
Cue values are sampled around a hidden per-scene "neighbourhood quality", so cues are correlated (as on real
streets) and scores spread over most of the scale.`;

// ---------------------------------------------------------------------------------------------- sampling

export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Standard normal deviate from a uniform rng (Box–Muller). */
export function gaussian(rng: Rng): number {
  let u = 0;
  while (u <= Number.EPSILON) u = rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Seeded random cue values; a hidden neighbourhood quality correlates them. */
export function sampleCues(rng: Rng): SceneCues {
  const q = rng(); // hidden neighbourhood quality, 0 (neglected) … 1 (well kept)
  const level = (goodness: number) => clamp(Math.round(3 * goodness + 0.9 * gaussian(rng)), 0, 3);
  const count = (goodness: number, max: number) =>
    clamp(Math.round(max * goodness + 1.6 * gaussian(rng)), 0, max);
  const t = rng();
  const timeOfDay: TimeOfDay = t < 0.45 ? "day" : t < 0.65 ? "dusk" : "night";
  const streetLights = clamp(Math.round(1 + 5 * q + 1.3 * gaussian(rng)), 0, 6);
  let working = 0;
  for (let i = 0; i < streetLights; i++) if (rng() < 0.35 + 0.65 * q) working++;
  const litWindows = clamp(Math.round(10 * clamp(0.15 + 0.6 * q + 0.2 * gaussian(rng), 0, 1)) / 10, 0, 1);
  const sidewalkWidth = clamp(Math.round(2 * (1 + 4 * q + 1.0 * gaussian(rng))) / 2, 1, 5);
  const f = rng();
  const fenceChance = 0.55 * (1 - q);
  const fence: FenceKind = f < fenceChance * 0.6 ? "chain-link" : f < fenceChance ? "barrier" : "none";
  return {
    timeOfDay,
    streetLights,
    streetLightsWorking: working,
    litWindows,
    sidewalkWidth,
    sidewalkCracks: level(1 - q),
    greenery: level(q),
    graffiti: level(1 - q - 0.1),
    litter: level(1 - q - 0.1),
    cars: randInt(rng, 0, 8),
    people: count(timeOfDay === "night" ? 0.6 * q : 0.3 + 0.5 * q, 8),
    fence,
    layoutSeed: Math.floor(rng() * 2 ** 31),
  };
}
