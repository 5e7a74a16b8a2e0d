/**
 * The SYNTHETIC demo dataset (`npx streetsafe demo-data`).
 *
 * Rendered flat-illustration street scenes (SVG → JPEG with sharp) whose "ground truth" comes from a
 * documented linear rule of the drawn cues plus seeded rater noise. It exists so a researcher can try the
 * whole workflow without their own data; it says so in every file it writes. It is not a benchmark of
 * perceived safety: a model that learns the rule learns nothing about real streets.
 *
 * Output looks exactly like user data: `<outDir>/images/scene_001.jpg …`, `<outDir>/ground_truth.xlsx`
 * (sheet "README" + sheet "ratings" with `image`, `safety_score`, `reasons`, `rule_score`, `cue_*`),
 * and `<outDir>/README.md`. Written into a sibling staging folder and renamed into place at the end.
 */
import fs from "node:fs";
import path from "node:path";
import ExcelJS from "exceljs";
import pLimit from "p-limit";
import seedrandom from "seedrandom";
import sharp from "sharp";

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

export interface DemoOptions {
  outDir: string;
  /** Number of images, default 150. */
  count?: number;
  /** Seed for cues, noise and layouts, default 42. */
  seed?: number;
  /** Square image side in pixels, default 400. */
  size?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DemoResult {
  outDir: string;
  groundTruthPath: string;
  imagesDir: string;
  count: number;
}

/** One row of the demo ground truth. */
export interface DemoRating {
  image: string;
  safetyScore: number;
  /** The noise-free value of {@link demoScoreRule}. */
  ruleScore: number;
  reasons: string[];
  cues: SceneCues;
}

export const DEMO_DEFAULT_COUNT = 150;
export const DEMO_DEFAULT_SEED = 42;
export const DEMO_DEFAULT_SIZE = 400;
/** Standard deviation of the simulated rater noise added to the rule before rounding. */
export const DEMO_NOISE_SD = 0.7;
/** File in a generated folder that marks it as ours, so a rerun may replace it. */
export const DEMO_MARKER_FILE = ".streetsafe-demo.json";
const RENDER_CONCURRENCY = 4;
const JPEG_QUALITY = 90;

type Rng = () => number;

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

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Standard normal deviate from a uniform rng (Box–Muller). */
export function gaussian(rng: Rng): number {
  let u = 0;
  while (u <= Number.EPSILON) u = rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function randInt(rng: Rng, lo: number, hi: number): number {
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

// ---------------------------------------------------------------------------------------------- rendering

type RGB = [number, number, number];

function hexToRgb(hex: string): RGB {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function rgbStr([r, g, b]: RGB): string {
  const h = (x: number) => clamp(Math.round(x), 0, 255).toString(16).padStart(2, "0");
  return `#${h(r)}${h(g)}${h(b)}`;
}

function mix(a: RGB, b: RGB, t: number): RGB {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Colour of a surface under the scene's ambient light. */
function toner(tod: TimeOfDay): (hex: string, extra?: number) => string {
  const dusk = hexToRgb("#ff9a5a");
  const night = hexToRgb("#1c2850");
  return (hex, extra = 1) => {
    const c = hexToRgb(hex);
    let out: RGB;
    if (tod === "day") out = c;
    else if (tod === "dusk") out = mix(c, dusk, 0.12).map((x) => x * 0.72) as RGB;
    else out = mix(c, night, 0.3).map((x) => x * 0.3) as RGB;
    return rgbStr(out.map((x) => x * extra) as RGB);
  };
}

const n1 = (x: number) => (Math.round(x * 10) / 10).toString();

/** Renders the scene as an SVG document, size×size pixels. Deterministic in (cues, size). */
export function renderSceneSvg(cues: SceneCues, size: number): string {
  const rng = seedrandom(`layout-${cues.layoutSeed}`);
  const S = size;
  const tod = cues.timeOfDay;
  const tone = toner(tod);
  const dark = tod !== "day";
  // camera: 2.5 m up on the road (somewhere between the lanes), looking down the street
  const camX = (rng() - 0.5) * 2.6;
  const f = 0.45 * S;
  const cx = S / 2;
  const y0 = 0.47 * S;
  const camH = 2.5;
  const zFar = 160;
  const P = (x: number, y: number, z: number): [number, number] => [cx + (f * (x - camX)) / z, y0 + (f * (camH - y)) / z];
  const pt = (x: number, y: number, z: number) => {
    const [a, b] = P(x, y, z);
    return `${n1(a)},${n1(b)}`;
  };
  const poly = (pts: [number, number, number][], fill: string, extra = "") =>
    `<polygon points="${pts.map(([x, y, z]) => pt(x, y, z)).join(" ")}" fill="${fill}"${extra}/>`;
  const line = (a: [number, number, number], b: [number, number, number], stroke: string, widthM: number, extra = "") => {
    const z = Math.min(a[2], b[2]);
    return `<line x1="${n1(P(...a)[0])}" y1="${n1(P(...a)[1])}" x2="${n1(P(...b)[0])}" y2="${n1(P(...b)[1])}" stroke="${stroke}" stroke-width="${n1(Math.max(0.4, (f * widthM) / z))}"${extra}/>`;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const rr = (lo: number, hi: number) => lo + rng() * (hi - lo);

  const roadHalf = 3.4;
  const X = roadHalf + cues.sidewalkWidth; // building line
  const defs: string[] = [];
  const back: string[] = []; // sky, ground, facades: drawn in this order
  const items: { z: number; svg: string }[] = []; // objects, drawn far to near

  // ---- sky
  const skyStops: Record<TimeOfDay, [string, string, string]> = {
    day: ["#5fa8e6", "#9fcdf0", "#dcecf7"],
    dusk: ["#2b2d63", "#b0607a", "#f6a460"],
    night: ["#03061a", "#0b1333", "#1b2552"],
  };
  const [s0, s1, s2] = skyStops[tod];
  defs.push(
    `<linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${s0}"/><stop offset="0.6" stop-color="${s1}"/><stop offset="1" stop-color="${s2}"/></linearGradient>`,
    `<radialGradient id="pool"><stop offset="0" stop-color="#ffd98a" stop-opacity="0.75"/><stop offset="0.6" stop-color="#ffcf70" stop-opacity="0.3"/><stop offset="1" stop-color="#ffcf70" stop-opacity="0"/></radialGradient>`,
    `<radialGradient id="glow"><stop offset="0" stop-color="#fff6d0" stop-opacity="1"/><stop offset="0.3" stop-color="#ffe08a" stop-opacity="0.7"/><stop offset="1" stop-color="#ffd070" stop-opacity="0"/></radialGradient>`,
    `<radialGradient id="redglow"><stop offset="0" stop-color="#ff4040" stop-opacity="0.9"/><stop offset="1" stop-color="#ff2020" stop-opacity="0"/></radialGradient>`,
  );
  back.push(`<rect width="${S}" height="${n1(y0 + 1)}" fill="url(#sky)"/>`);
  if (tod === "night") {
    for (let i = 0; i < 40; i++)
      back.push(`<circle cx="${n1(rr(0, S))}" cy="${n1(rr(0, y0 * 0.8))}" r="${n1(rr(0.4, 1.1) * (S / 400))}" fill="#e8ecff" opacity="${n1(rr(0.4, 0.9))}"/>`);
    back.push(`<circle cx="${n1(rr(0.15, 0.85) * S)}" cy="${n1(rr(0.06, 0.2) * S)}" r="${n1(0.03 * S)}" fill="#f2efd8"/>`);
  } else if (tod === "day") {
    for (let i = 0; i < 3; i++) {
      const ccx = rr(0, S), ccy = rr(0.05, 0.25) * S, w = rr(0.08, 0.16) * S;
      back.push(`<ellipse cx="${n1(ccx)}" cy="${n1(ccy)}" rx="${n1(w)}" ry="${n1(w * 0.28)}" fill="#ffffff" opacity="0.8"/>`);
    }
  }
  // distant skyline at the end of the street
  for (let x = -60; x < 60; ) {
    const w = rr(6, 16), h = rr(12, 45);
    back.push(poly([[x, 0, zFar], [x + w, 0, zFar], [x + w, h, zFar], [x, h, zFar]], tone(pick(["#8d9aab", "#9aa5b4", "#7f8b9c"]))));
    x += w;
  }
  // ground: road everywhere below the horizon, then sidewalks and curbs
  back.push(`<rect y="${n1(y0)}" width="${S}" height="${n1(S - y0)}" fill="${tone("#4d5258")}"/>`);
  const zN = 0.6;
  const swColour = tone("#bdb7ab");
  for (const s of [-1, 1]) {
    back.push(poly([[s * roadHalf, 0, zN], [s * X, 0, zN], [s * X, 0, zFar], [s * roadHalf, 0, zFar]], swColour));
    back.push(poly([[s * roadHalf, 0, zN], [s * roadHalf, 0.15, zN], [s * roadHalf, 0.15, zFar], [s * roadHalf, 0, zFar]], tone("#dcd7cd")));
    // paving joints
    for (let z = 3; z < 60; z += 2.5) back.push(line([s * roadHalf, 0.15, z], [s * X, 0, z], tone("#a29c90"), 0.04));
  }
  // lane markings
  for (let z = 3; z < zFar; z += 9) back.push(poly([[-0.08, 0, z], [0.08, 0, z], [0.08, 0, z + 4], [-0.08, 0, z + 4]], tone("#e8e2c8")));
  // cracks on the sidewalk
  const nCracks = cues.sidewalkCracks * 6;
  for (let i = 0; i < nCracks; i++) {
    const s = rng() < 0.5 ? -1 : 1;
    let z = rr(2.5, 30), x = rr(roadHalf + 0.2, X - 0.1);
    const pts: string[] = [pt(s * x, 0, z)];
    const segs = randInt(rng, 3, 6);
    for (let k = 0; k < segs; k++) {
      z += rr(0.2, 0.8);
      x = clamp(x + rr(-0.35, 0.35), roadHalf + 0.1, X);
      pts.push(pt(s * x, 0, z));
    }
    back.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${tone("#4e4a44")}" stroke-width="${n1(Math.max(0.5, (f * 0.06) / z))}"/>`);
  }
  // potholes on the road for badly kept streets
  for (let i = 0; i < Math.max(0, cues.sidewalkCracks - 1) * 2; i++) {
    const z = rr(4, 25), x = rr(-roadHalf + 0.5, roadHalf - 0.5);
    const [a, b] = P(x, 0, z);
    back.push(`<ellipse cx="${n1(a)}" cy="${n1(b)}" rx="${n1((f * 0.5) / z)}" ry="${n1((f * camH * 0.25) / (z * z))}" fill="${tone("#33373c")}"/>`);
  }

  // ---- street-light placement (needed for pools before the facades)
  const lights: { s: number; z: number; on: boolean }[] = [];
  for (let i = 0; i < cues.streetLights; i++) {
    const s = i % 2 === 0 ? 1 : -1;
    lights.push({ s, z: 5 + i * rr(7, 10) + rr(0, 3), on: dark && i < cues.streetLightsWorking });
  }
  // shuffle which lights are the broken ones
  for (let i = lights.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = lights[i]!.on;
    lights[i]!.on = lights[j]!.on;
    lights[j]!.on = tmp;
  }
  const poleX = roadHalf + 0.35;
  for (const L of lights) {
    if (!L.on) continue;
    const lx = L.s * (poleX - 1.3);
    const [a, b] = P(lx, 0, L.z);
    const r = 5;
    back.push(`<ellipse cx="${n1(a)}" cy="${n1(b)}" rx="${n1((f * r) / L.z)}" ry="${n1((f * camH * r) / (L.z * L.z) * 0.9)}" fill="url(#pool)"/>`);
  }

  // ---- buildings along both sides
  const facadeColours = ["#b5654a", "#d8c39d", "#9aa3ad", "#c98f6b", "#8c9a7a", "#e0d5c1", "#a8736b", "#7d8796", "#c7b08a"];
  for (const s of [-1, 1]) {
    let z = 1;
    while (z < 140) {
      const len = rr(9, 22), h = rr(7, 24), col = pick(facadeColours);
      const z1 = Math.max(z, zN), z2 = z + len;
      back.push(poly([[s * X, 0, z1], [s * X, 0, z2], [s * X, h, z2], [s * X, h, z1]], tone(col, s < 0 ? 0.92 : 1)));
      // cornice
      back.push(poly([[s * X, h - 0.5, z1], [s * X, h - 0.5, z2], [s * X, h, z2], [s * X, h, z1]], tone(col, 0.75)));
      // windows on upper floors, shopfront and door on the ground floor
      const winDay = tone("#9cc4de"), winDark = rgbStr(hexToRgb("#161c2c")), winLit = "#ffd877";
      for (let wz = z + 1.2; wz + 1.3 < z2 - 0.5; wz += 3) {
        if ((f * 1.3) / wz < 1.2) break; // too far to see
        for (let wy = 3.5; wy + 1.6 < h - 0.8; wy += 3.2) {
          const fill = dark ? (rng() < cues.litWindows ? winLit : winDark) : winDay;
          back.push(poly([[s * X, wy, wz], [s * X, wy, wz + 1.3], [s * X, wy + 1.6, wz + 1.3], [s * X, wy + 1.6, wz]], fill));
        }
        if (wz < 60) {
          const shop = rng();
          if (shop < 0.3) back.push(poly([[s * X, 0, wz + 0.3], [s * X, 0, wz + 1.3], [s * X, 2.1, wz + 1.3], [s * X, 2.1, wz + 0.3]], tone("#5a4032")));
          else if (shop < 0.7) {
            const lit = dark && rng() < cues.litWindows;
            back.push(poly([[s * X, 0.6, wz], [s * X, 0.6, wz + 2.2], [s * X, 2.4, wz + 2.2], [s * X, 2.4, wz]], lit ? "#ffe6a0" : dark ? winDark : tone("#86aec9")));
          }
        }
      }
      z = z2 + (rng() < 0.2 ? rr(1, 4) : 0);
    }
  }
  const gColours = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#f032e6", "#ffe119", "#111111"];
  for (let i = 0; i < cues.graffiti * 5; i++) {
    const s = rng() < 0.5 ? -1 : 1;
    let gz = rr(2.5, 28), gy = rr(0.4, 1.8);
    const pts: string[] = [pt(s * X, gy, gz)];
    const col = pick(gColours);
    for (let k = 0; k < 7; k++) {
      gz += rr(0.1, 0.45);
      gy = clamp(gy + rr(-0.6, 0.6), 0.3, 2.6);
      pts.push(pt(s * X, gy, gz));
    }
    const w = Math.max(0.8, (f * 0.12) / gz);
    back.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${dark ? tone(col, 1.6) : col}" stroke-width="${n1(w)}" stroke-linejoin="round" stroke-linecap="round"/>`);
    if (rng() < 0.5) {
      const [a, b] = P(s * X, gy, gz);
      back.push(`<circle cx="${n1(a)}" cy="${n1(b)}" r="${n1(w * 1.6)}" fill="${dark ? tone(pick(gColours), 1.6) : pick(gColours)}"/>`);
    }
  }

  // ---- objects
  // street lights
  for (const L of lights) {
    const px = L.s * poleX, hx = L.s * (poleX - 1.3);
    let svg = line([px, 0, L.z], [px, 6, L.z], tone("#3d4247"), 0.14);
    svg += line([px, 6, L.z], [hx, 6.1, L.z], tone("#3d4247"), 0.1);
    const [a, b] = P(hx, 6, L.z);
    const r = (f * 0.3) / L.z;
    if (L.on) {
      svg += poly([[hx - 0.2, 5.9, L.z], [hx + 0.2, 5.9, L.z], [hx + 2.5, 0, L.z], [hx - 2.5, 0, L.z]], "#ffe6a0", ` opacity="${tod === "night" ? 0.12 : 0.07}"`);
      svg += `<circle cx="${n1(a)}" cy="${n1(b)}" r="${n1(r * 5)}" fill="url(#glow)"/>`;
      svg += `<ellipse cx="${n1(a)}" cy="${n1(b)}" rx="${n1(r)}" ry="${n1(r * 0.5)}" fill="#fffbe8"/>`;
    } else {
      svg += `<ellipse cx="${n1(a)}" cy="${n1(b)}" rx="${n1(r)}" ry="${n1(r * 0.5)}" fill="${tone("#8a9096")}"/>`;
    }
    items.push({ z: L.z, svg });
  }
  // greenery: planters (level ≥ 1) and trees (level ≥ 2)
  const nTrees = cues.greenery >= 2 ? (cues.greenery === 3 ? randInt(rng, 7, 10) : randInt(rng, 3, 5)) : 0;
  const nPlanters = cues.greenery >= 1 ? randInt(rng, 2, 4) : 0;
  for (let i = 0; i < nTrees; i++) {
    const s = i % 2 === 0 ? -1 : 1;
    const z = 4 + i * rr(3.5, 6);
    const tx = s * (roadHalf + Math.min(0.9, cues.sidewalkWidth * 0.4));
    const [a, b] = P(tx, 4.2, z);
    let svg = line([tx, 0, z], [tx, 3.2, z], tone("#6b4a2f"), 0.25);
    const r = (f * rr(1.6, 2.3)) / z;
    const g = pick(["#4f8a3c", "#3f7a35", "#5c9a45"]);
    svg += `<circle cx="${n1(a)}" cy="${n1(b)}" r="${n1(r)}" fill="${tone(g)}"/>`;
    svg += `<circle cx="${n1(a - r * 0.35)}" cy="${n1(b - r * 0.3)}" r="${n1(r * 0.55)}" fill="${tone(g, 1.2)}"/>`;
    items.push({ z, svg });
  }
  for (let i = 0; i < nPlanters; i++) {
    const s = rng() < 0.5 ? -1 : 1;
    const z = rr(4, 25);
    const px = s * (X - 0.5);
    let svg = poly([[px - 0.4, 0, z], [px + 0.4, 0, z], [px + 0.4, 0.6, z], [px - 0.4, 0.6, z]], tone("#8a7d6b"));
    const [a, b] = P(px, 0.85, z);
    svg += `<ellipse cx="${n1(a)}" cy="${n1(b)}" rx="${n1((f * 0.5) / z)}" ry="${n1((f * 0.35) / z)}" fill="${tone("#4b8d3a")}"/>`;
    items.push({ z, svg });
  }
  // people
  const clothes = ["#2f4f7f", "#7f2f3a", "#3a6f4a", "#444444", "#c08a2a", "#5a3f7f", "#b0b0b0"];
  for (let i = 0; i < cues.people; i++) {
    const s = rng() < 0.5 ? -1 : 1;
    const z = rr(4, 40);
    const x = s * rr(roadHalf + 0.4, Math.max(roadHalf + 0.5, X - 0.3));
    const near = lights.find((L) => L.on && Math.abs(L.z - z) < 4 && L.s === s);
    const lit = (hex: string) => (near ? tone(hex, 2.2) : tone(hex));
    let svg = poly([[x - 0.12, 0, z], [x - 0.02, 0, z], [x - 0.02, 0.85, z], [x - 0.14, 0.85, z]], lit("#2a2a33"));
    svg += poly([[x + 0.02, 0, z], [x + 0.12, 0, z], [x + 0.14, 0.85, z], [x + 0.02, 0.85, z]], lit("#2a2a33"));
    svg += poly([[x - 0.24, 0.85, z], [x + 0.24, 0.85, z], [x + 0.2, 1.48, z], [x - 0.2, 1.48, z]], lit(pick(clothes)));
    const [a, b] = P(x, 1.6, z);
    svg += `<circle cx="${n1(a)}" cy="${n1(b)}" r="${n1((f * 0.12) / z)}" fill="${lit(pick(["#e0b48c", "#b07850", "#7a4e30", "#f0c8a0"]))}"/>`;
    items.push({ z, svg });
  }
  // cars: moving in both lanes, some parked along the curb
  const carColours = ["#c0392b", "#2c3e50", "#ecf0f1", "#7f8c8d", "#2980b9", "#16a085", "#f1c40f", "#1b1b1b"];
  for (let i = 0; i < cues.cars; i++) {
    const kind = rng();
    const x = kind < 0.35 ? -1.7 : kind < 0.7 ? 1.7 : (rng() < 0.5 ? -1 : 1) * (roadHalf - 1.05);
    const oncoming = x < 0 && kind < 0.35;
    const z = rr(6, 60);
    const body = tone(pick(carColours));
    const w = 0.9;
    const side = x < 0 ? x + w : x - w;
    let svg = poly([[side, 0.25, z], [side, 0.25, z + 4.3], [side, 1.0, z + 4.3], [side, 1.0, z]], tone("#1e2226"), "");
    svg += poly([[side, 0.25, z], [side, 0.25, z + 4.3], [side, 1.0, z + 4.3], [side, 1.0, z]], body, ' opacity="0.75"');
    svg += poly([[x - w, 0.25, z], [x + w, 0.25, z], [x + w, 1.0, z], [x - w, 1.0, z]], body);
    svg += poly([[x - w * 0.8, 1.0, z + 0.6], [x + w * 0.8, 1.0, z + 0.6], [x + w * 0.6, 1.45, z + 1.2], [x - w * 0.6, 1.45, z + 1.2]], body);
    svg += poly([[x - w * 0.7, 1.05, z + 0.65], [x + w * 0.7, 1.05, z + 0.65], [x + w * 0.55, 1.4, z + 1.15], [x - w * 0.55, 1.4, z + 1.15]], dark ? "#11151c" : tone("#5d7285"));
    svg += poly([[x - w * 0.95, 0, z], [x - w * 0.55, 0, z], [x - w * 0.55, 0.3, z], [x - w * 0.95, 0.3, z]], "#111111");
    svg += poly([[x + w * 0.55, 0, z], [x + w * 0.95, 0, z], [x + w * 0.95, 0.3, z], [x + w * 0.55, 0.3, z]], "#111111");
    for (const lx of [x - w * 0.75, x + w * 0.75]) {
      const [a, b] = P(lx, 0.78, z);
      const r = (f * 0.13) / z;
      if (dark && oncoming) svg += `<circle cx="${n1(a)}" cy="${n1(b)}" r="${n1(r * 4)}" fill="url(#glow)"/><circle cx="${n1(a)}" cy="${n1(b)}" r="${n1(r)}" fill="#fffbe0"/>`;
      else if (dark && Math.abs(x) < 2) svg += `<circle cx="${n1(a)}" cy="${n1(b)}" r="${n1(r * 3)}" fill="url(#redglow)"/><circle cx="${n1(a)}" cy="${n1(b)}" r="${n1(r)}" fill="#ff5040"/>`;
      else svg += `<circle cx="${n1(a)}" cy="${n1(b)}" r="${n1(r)}" fill="${oncoming ? tone("#f4f1de") : tone("#b8322a")}"/>`;
    }
    items.push({ z, svg });
  }
  // fences
  if (cues.fence === "chain-link") {
    const sides = rng() < 0.5 ? [rng() < 0.5 ? -1 : 1] : [-1, 1];
    for (const s of sides) {
      const fx = s * (X - 0.25);
      const za = rr(2.5, 6), zb = za + rr(18, 40);
      const mesh = tone("#a9b0b5", dark ? 1.4 : 1);
      let svg = poly([[fx, 0, za], [fx, 0, zb], [fx, 2.2, zb], [fx, 2.2, za]], mesh, ' opacity="0.15"');
      const step = 0.35;
      for (let z = za; z < zb; z += step) {
        const z2 = Math.min(zb, z + 2.2);
        svg += line([fx, 0, z], [fx, 2.2, z2], mesh, 0.025);
        svg += line([fx, 2.2, z], [fx, 0, z2], mesh, 0.025);
      }
      for (let z = za; z <= zb; z += 2.5) svg += line([fx, 0, z], [fx, 2.3, z], tone("#6f767b", dark ? 1.4 : 1), 0.07);
      svg += line([fx, 2.2, za], [fx, 2.2, zb], tone("#6f767b", dark ? 1.4 : 1), 0.06);
      // barbed wire on top
      svg += line([fx, 2.4, za], [fx, 2.4, zb], tone("#555b60", dark ? 1.4 : 1), 0.03, ' stroke-dasharray="2,1.5"');
      back.push(svg); // along the building line: behind everything else on the sidewalk
    }
  } else if (cues.fence === "barrier") {
    const s = rng() < 0.5 ? -1 : 1;
    const bx = s * (roadHalf - 0.35);
    const za = rr(4, 10);
    for (let k = 0; k < randInt(rng, 4, 9); k++) {
      const z = za + k * 2.2;
      let svg = poly([[bx - 0.25 * s, 0, z], [bx - 0.25 * s, 0, z + 2], [bx - 0.25 * s, 0.9, z + 2], [bx - 0.25 * s, 0.9, z]], tone("#d9d4cc", 0.8));
      const stripes = 5;
      for (let t = 0; t < stripes; t++) {
        const zz = z + (2 * t) / stripes;
        svg += poly([[bx - 0.25 * s, 0.45, zz], [bx - 0.25 * s, 0.45, zz + 2 / stripes], [bx - 0.25 * s, 0.8, zz + 2 / stripes], [bx - 0.25 * s, 0.8, zz]], t % 2 ? tone("#ffffff", dark ? 1.6 : 1) : tone("#d62d20", dark ? 1.6 : 1));
      }
      items.push({ z, svg });
    }
  }
  // litter
  const nLitter = cues.litter === 0 ? 0 : cues.litter * 9 + randInt(rng, 0, 4);
  for (let i = 0; i < nLitter; i++) {
    const s = rng() < 0.5 ? -1 : 1;
    const z = rr(3.5, 15);
    const onSidewalk = rng() < 0.55;
    const x = onSidewalk ? s * rr(roadHalf + 0.1, X - 0.1) : s * rr(roadHalf - 1.2, roadHalf - 0.05);
    const kind = rng();
    let svg: string;
    if (kind < 0.15 && cues.litter >= 2) {
      // trash bag
      const [a, b] = P(x, 0.35, z);
      svg = `<ellipse cx="${n1(a)}" cy="${n1(b)}" rx="${n1((f * 0.5) / z)}" ry="${n1((f * 0.38) / z)}" fill="${tone("#1d1f22", dark ? 2 : 1)}"/>`;
    } else if (kind < 0.55) {
      // paper
      const pts: [number, number, number][] = [];
      for (let k = 0; k < 5; k++) {
        const ang = (k / 5) * Math.PI * 2;
        const r = rr(0.22, 0.45);
        pts.push([x + Math.cos(ang) * r, 0.01, z + Math.sin(ang) * r * 2.5]);
      }
      svg = poly(pts, tone(pick(["#f4f4ee", "#e8e0c8", "#dfe7f0", "#c9a27a"])), ` stroke="${tone("#6d675e")}" stroke-width="${n1(Math.max(0.4, (f * 0.02) / z))}"`);
    } else {
      // can / bottle
      svg = poly([[x - 0.12, 0, z], [x + 0.12, 0, z], [x + 0.12, 0.35, z], [x - 0.12, 0.35, z]], tone(pick(["#d62828", "#2a9d8f", "#e9c46a", "#5c8a3a", "#9e9e9e"])));
    }
    items.push({ z, svg });
  }

  items.sort((a, b) => b.z - a.z);
  // a faint dusk/night haze over everything keeps the light sources readable
  const overlay = tod === "night" ? `<rect width="${S}" height="${S}" fill="#050a20" opacity="0.12"/>` : "";
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${S}" height="${S}" viewBox="0 0 ${S} ${S}">` +
    `<defs>${defs.join("")}</defs>` +
    back.join("") +
    items.map((i) => i.svg).join("") +
    overlay +
    `</svg>`
  );
}

// ---------------------------------------------------------------------------------------------- dataset

/** The ratings the generator would write for (seed, count); no files touched. */
export function demoRatings(count: number, seed = DEMO_DEFAULT_SEED): DemoRating[] {
  const rng = seedrandom(`streetsafe-demo-${seed}`);
  const width = Math.max(3, String(count).length);
  const out: DemoRating[] = [];
  for (let i = 1; i <= count; i++) {
    const cues = sampleCues(rng);
    const noise = DEMO_NOISE_SD * gaussian(rng);
    const nReasons = 1 + Math.floor(rng() * 3);
    const ruleScore = demoScoreRule(cues);
    out.push({
      image: `scene_${String(i).padStart(width, "0")}.jpg`,
      safetyScore: demoGroundTruthScore(ruleScore, noise),
      ruleScore: Math.round(ruleScore * 100) / 100,
      reasons: demoReasons(cues, nReasons),
      cues,
    });
  }
  return out;
}

/** Cue columns of the "ratings" sheet, in order. */
export const DEMO_CUE_COLUMNS: readonly { header: string; get: (c: SceneCues) => string | number }[] = [
  { header: "cue_time_of_day", get: (c) => c.timeOfDay },
  { header: "cue_street_lights", get: (c) => c.streetLights },
  { header: "cue_street_lights_working", get: (c) => c.streetLightsWorking },
  { header: "cue_lit_windows", get: (c) => c.litWindows },
  { header: "cue_sidewalk_width_m", get: (c) => c.sidewalkWidth },
  { header: "cue_sidewalk_cracks", get: (c) => c.sidewalkCracks },
  { header: "cue_greenery", get: (c) => c.greenery },
  { header: "cue_graffiti", get: (c) => c.graffiti },
  { header: "cue_litter", get: (c) => c.litter },
  { header: "cue_cars", get: (c) => c.cars },
  { header: "cue_people", get: (c) => c.people },
  { header: "cue_fence", get: (c) => c.fence },
];

function readmeLines(count: number, seed: number, size: number): string[] {
  return [
    "SYNTHETIC DEMO DATA: not real street-view images and not real human ratings.",
    "",
    `Generated by streetsafe (\`npx streetsafe demo-data\`): ${count} rendered street scenes, ${size}×${size} JPEG, seed ${seed}.`,
    "Each scene is drawn from random cue values (time of day, street lights, lit windows, sidewalk width and cracks,",
    "greenery, graffiti, litter, cars, people, fences). Its safety_score comes from a fixed linear rule of those cues",
    `plus simulated rater noise (Gaussian, sd ${DEMO_NOISE_SD}), rounded and clamped to 1–10. Use it to try the workflow,`,
    "never to draw conclusions about perceived safety: a model that scores it well has learned the rule below.",
    "",
    "The same seed and count always give the same ratings and images.",
    "",
    ...DEMO_RULE_DESCRIPTION.split("\n"),
  ];
}

function demoReadmeMarkdown(count: number, seed: number, size: number): string {
  const lines = readmeLines(count, seed, size);
  return [
    "# streetsafe demo data (SYNTHETIC)",
    "",
    ...lines,
    "",
    "## Files",
    "",
    "- `images/scene_NNN.jpg`: the rendered scenes.",
    "- `ground_truth.xlsx`: sheet `README` (this text) and sheet `ratings` with `image`, `safety_score`,",
    "  `reasons` (joined with \"; \"), `rule_score` (noise-free) and the `cue_*` columns the scene was drawn from.",
    "",
    `Regenerate with \`npx streetsafe demo-data\` using seed ${seed} and count ${count}.`,
    "",
  ].join("\n");
}

async function writeWorkbook(file: string, ratings: DemoRating[], seed: number, size: number): Promise<void> {
  const wb = new ExcelJS.Workbook();
  wb.creator = "streetsafe demo-data";
  const readme = wb.addWorksheet("README");
  readme.getColumn(1).width = 120;
  for (const l of readmeLines(ratings.length, seed, size)) readme.addRow([l]);
  readme.getCell("A1").font = { bold: true, size: 14 };

  const sheet = wb.addWorksheet("ratings");
  const headers = ["image", "safety_score", "reasons", "rule_score", ...DEMO_CUE_COLUMNS.map((c) => c.header)];
  sheet.addRow(headers);
  sheet.getRow(1).font = { bold: true };
  sheet.views = [{ state: "frozen", ySplit: 1 }];
  for (const r of ratings) {
    sheet.addRow([r.image, r.safetyScore, r.reasons.join("; "), r.ruleScore, ...DEMO_CUE_COLUMNS.map((c) => c.get(r.cues))]);
  }
  sheet.columns.forEach((col, i) => {
    col.width = i === 2 ? 60 : Math.max(10, headers[i]!.length + 2);
  });
  await wb.xlsx.writeFile(file);
}


function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`demo-data: ${name} must be a whole number from ${min} to ${max}, got ${value}`);
}

function removeQuietly(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true });
  } catch {
    // nothing there to remove (or a parent is not a folder): the caller's own error says more
  }
}

/** May an existing `outDir` be replaced? Only when it is empty or a previous demo folder. */
function replaceable(dir: string): boolean {
  const st = fs.statSync(dir);
  if (!st.isDirectory()) return false;
  const entries = fs.readdirSync(dir);
  return entries.length === 0 || entries.includes(DEMO_MARKER_FILE);
}

/**
 * Generates the demo dataset into `opts.outDir`, replacing a previous demo folder there. Everything is
 * written into `<outDir>.staging-<pid>` first; the old folder is removed only after the new one is complete.
 * Refuses to replace a non-empty folder that is not a previous demo folder.
 */
export async function generateDemoData(opts: DemoOptions): Promise<DemoResult> {
  const count = opts.count ?? DEMO_DEFAULT_COUNT;
  const seed = opts.seed ?? DEMO_DEFAULT_SEED;
  const size = opts.size ?? DEMO_DEFAULT_SIZE;
  checkInt("count", count, 1, 100_000);
  checkInt("seed", seed, 0, Number.MAX_SAFE_INTEGER);
  checkInt("size", size, 64, 4096);
  const outDir = path.resolve(opts.outDir);
  if (fs.existsSync(outDir) && !replaceable(outDir))
    throw new Error(
      `demo-data: ${outDir} exists and is not a streetsafe demo folder (no ${DEMO_MARKER_FILE}); choose another --out or remove it`,
    );

  const staging = `${outDir}.staging-${process.pid}`;
  const old = `${outDir}.old-${process.pid}`;
  removeQuietly(staging);
  try {
    const stagingImages = path.join(staging, "images");
    try {
      fs.mkdirSync(stagingImages, { recursive: true });
    } catch (e) {
      throw new Error(`demo-data: cannot create ${staging}: ${(e as Error).message}`);
    }
    const ratings = demoRatings(count, seed);
    let done = 0;
    // On the first failure the queued renders are skipped and running ones finish before cleanup,
    // so nothing writes into a staging folder that a later run may reuse.
    const limit = pLimit(RENDER_CONCURRENCY);
    let failed = false;
    const renders = ratings.map((r) =>
      limit(async () => {
        if (failed) return;
        try {
          const svg = renderSceneSvg(r.cues, size);
          await sharp(Buffer.from(svg)).flatten({ background: "#000000" }).jpeg({ quality: JPEG_QUALITY }).toFile(path.join(stagingImages, r.image));
          opts.onProgress?.(++done, count);
        } catch (e) {
          failed = true;
          throw e;
        }
      }),
    );
    const settled = await Promise.allSettled(renders);
    const firstError = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (firstError) throw firstError.reason;
    await writeWorkbook(path.join(staging, "ground_truth.xlsx"), ratings, seed, size);
    fs.writeFileSync(path.join(staging, "README.md"), demoReadmeMarkdown(count, seed, size));
    fs.writeFileSync(
      path.join(staging, DEMO_MARKER_FILE),
      JSON.stringify({ generator: "streetsafe demo-data", synthetic: true, seed, count, size }, null, 2) + "\n",
    );

    // swap into place: old → aside, staging → outDir, then drop the old one
    let movedOld = false;
    if (fs.existsSync(outDir)) {
      fs.rmSync(old, { recursive: true, force: true });
      fs.renameSync(outDir, old);
      movedOld = true;
    }
    try {
      fs.renameSync(staging, outDir);
    } catch (e) {
      if (movedOld) fs.renameSync(old, outDir);
      throw e;
    }
    if (movedOld) fs.rmSync(old, { recursive: true, force: true });
  } catch (e) {
    removeQuietly(staging);
    throw e;
  }
  return {
    outDir,
    groundTruthPath: path.join(outDir, "ground_truth.xlsx"),
    imagesDir: path.join(outDir, "images"),
    count,
  };
}

/**
 * The demo dataset at `outDir`, generated only when it is not there yet (same count and seed);
 * what notebooks call so re-running them does not redraw 150 scenes.
 */
export async function ensureDemoData(opts: DemoOptions): Promise<DemoResult> {
  const outDir = path.resolve(opts.outDir);
  const count = opts.count ?? DEMO_DEFAULT_COUNT;
  const seed = opts.seed ?? DEMO_DEFAULT_SEED;
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(outDir, DEMO_MARKER_FILE), "utf8"));
    if (marker.count === count && marker.seed === seed && fs.existsSync(path.join(outDir, "ground_truth.xlsx"))) {
      return { outDir, groundTruthPath: path.join(outDir, "ground_truth.xlsx"), imagesDir: path.join(outDir, "images"), count };
    }
  } catch {
    // no demo folder yet (or an unreadable marker): generate it
  }
  return generateDemoData(opts);
}
