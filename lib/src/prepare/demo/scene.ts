/**
 * Renders a demo scene as SVG: a flat illustration of a street seen from 2.5 m up on the road, drawn in
 * layers (sky, skyline, ground and its wear, light pools, facades, graffiti), then the objects far to
 * near (street lights, greenery, people, cars, fences, litter). Deterministic in (cues, size): every
 * random choice comes from one seeded generator, drawn in this fixed order.
 */
import seedrandom from "seedrandom";
import { clamp, randInt, type Rng, type SceneCues, type TimeOfDay } from "./cues";

// ---------------------------------------------------------------------------------------------- colours

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

// ---------------------------------------------------------------------------------------------- the canvas

type Point3 = [number, number, number];

/** The camera, the street's geometry, the drawing helpers and the layers being filled. */
interface Canvas {
  rng: Rng;
  /** Image side in pixels. */
  S: number;
  tod: TimeOfDay;
  /** A surface colour under the scene's ambient light. */
  tone: (hex: string, extra?: number) => string;
  dark: boolean;
  /** Focal length (px), horizon row (px), camera height (m), far plane (m). */
  f: number;
  y0: number;
  camH: number;
  zFar: number;
  /** Half the road width, the building line, the nearest depth drawn and the street-light poles' x (m). */
  roadHalf: number;
  X: number;
  zN: number;
  poleX: number;
  /** A point in metres (x across, y up, z ahead) → pixels. */
  P: (x: number, y: number, z: number) => [number, number];
  pt: (x: number, y: number, z: number) => string;
  poly: (pts: Point3[], fill: string, extra?: string) => string;
  line: (a: Point3, b: Point3, stroke: string, widthM: number, extra?: string) => string;
  pick: <T>(xs: readonly T[]) => T;
  rr: (lo: number, hi: number) => number;
  defs: string[];
  /** Sky, ground, facades: drawn in this order. */
  back: string[];
  /** Objects, drawn far to near. */
  items: { z: number; svg: string }[];
}

/** A street light: its side (-1 left, 1 right), its distance, and whether it is on. */
interface StreetLight {
  s: number;
  z: number;
  on: boolean;
}

function canvasFor(cues: SceneCues, size: number): Canvas {
  const rng = seedrandom(`layout-${cues.layoutSeed}`);
  const S = size;
  const tod = cues.timeOfDay;
  // camera: 2.5 m up on the road (somewhere between the lanes), looking down the street
  const camX = (rng() - 0.5) * 2.6;
  const f = 0.45 * S;
  const cx = S / 2;
  const y0 = 0.47 * S;
  const camH = 2.5;
  const P = (x: number, y: number, z: number): [number, number] => [cx + (f * (x - camX)) / z, y0 + (f * (camH - y)) / z];
  const pt = (x: number, y: number, z: number) => {
    const [a, b] = P(x, y, z);
    return `${n1(a)},${n1(b)}`;
  };
  const roadHalf = 3.4;
  return {
    rng,
    S,
    tod,
    tone: toner(tod),
    dark: tod !== "day",
    f,
    y0,
    camH,
    zFar: 160,
    roadHalf,
    X: roadHalf + cues.sidewalkWidth, // building line
    zN: 0.6,
    poleX: roadHalf + 0.35,
    P,
    pt,
    poly: (pts, fill, extra = "") => `<polygon points="${pts.map(([x, y, z]) => pt(x, y, z)).join(" ")}" fill="${fill}"${extra}/>`,
    line: (a, b, stroke, widthM, extra = "") => {
      const z = Math.min(a[2], b[2]);
      return `<line x1="${n1(P(...a)[0])}" y1="${n1(P(...a)[1])}" x2="${n1(P(...b)[0])}" y2="${n1(P(...b)[1])}" stroke="${stroke}" stroke-width="${n1(Math.max(0.4, (f * widthM) / z))}"${extra}/>`;
    },
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!,
    rr: (lo, hi) => lo + rng() * (hi - lo),
    defs: [],
    back: [],
    items: [],
  };
}

/** Renders the scene as an SVG document, size×size pixels. Deterministic in (cues, size). */
export function renderSceneSvg(cues: SceneCues, size: number): string {
  const c = canvasFor(cues, size);
  drawSky(c);
  drawSkyline(c);
  drawGround(c);
  drawWear(c, cues);
  const lights = placeStreetLights(c, cues);
  drawLightPools(c, lights);
  drawFacades(c, cues);
  drawGraffiti(c, cues);
  drawStreetLights(c, lights);
  drawGreenery(c, cues);
  drawPeople(c, cues, lights);
  drawCars(c, cues);
  drawFences(c, cues);
  drawLitter(c, cues);
  return composeSvg(c);
}

// ---------------------------------------------------------------------------------------------- the layers

/** The sky: its gradient (and the light gradients later parts use), stars and the moon at night, clouds by day. */
function drawSky(c: Canvas): void {
  const { S, tod, y0, rr, defs, back } = c;
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
}

/** Distant buildings at the end of the street. */
function drawSkyline(c: Canvas): void {
  const { tone, zFar, poly, pick, rr, back } = c;
  for (let x = -60; x < 60; ) {
    const w = rr(6, 16), h = rr(12, 45);
    back.push(poly([[x, 0, zFar], [x + w, 0, zFar], [x + w, h, zFar], [x, h, zFar]], tone(pick(["#8d9aab", "#9aa5b4", "#7f8b9c"]))));
    x += w;
  }
}

/** Road, sidewalks with curbs and paving joints, lane markings. */
function drawGround(c: Canvas): void {
  const { S, tone, y0, zFar, poly, line, roadHalf, X, zN, back } = c;
  back.push(`<rect y="${n1(y0)}" width="${S}" height="${n1(S - y0)}" fill="${tone("#4d5258")}"/>`);
  const swColour = tone("#bdb7ab");
  for (const s of [-1, 1]) {
    back.push(poly([[s * roadHalf, 0, zN], [s * X, 0, zN], [s * X, 0, zFar], [s * roadHalf, 0, zFar]], swColour));
    back.push(poly([[s * roadHalf, 0, zN], [s * roadHalf, 0.15, zN], [s * roadHalf, 0.15, zFar], [s * roadHalf, 0, zFar]], tone("#dcd7cd")));
    // paving joints
    for (let z = 3; z < 60; z += 2.5) back.push(line([s * roadHalf, 0.15, z], [s * X, 0, z], tone("#a29c90"), 0.04));
  }
  // lane markings
  for (let z = 3; z < zFar; z += 9) back.push(poly([[-0.08, 0, z], [0.08, 0, z], [0.08, 0, z + 4], [-0.08, 0, z + 4]], tone("#e8e2c8")));
}

/** Cracks on the sidewalks and, on badly kept streets, potholes. */
function drawWear(c: Canvas, cues: SceneCues): void {
  const { rng, tone, f, camH, P, pt, rr, roadHalf, X, back } = c;
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
}

/** Where the street lights stand and which of them work (only visible when dark). */
function placeStreetLights(c: Canvas, cues: SceneCues): StreetLight[] {
  const { rng, dark, rr } = c;
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
  return lights;
}

/** Pools of light under the working lamps, drawn on the ground before the facades. */
function drawLightPools(c: Canvas, lights: StreetLight[]): void {
  const { f, camH, P, poleX, back } = c;
  for (const L of lights) {
    if (!L.on) continue;
    const lx = L.s * (poleX - 1.3);
    const [a, b] = P(lx, 0, L.z);
    const r = 5;
    back.push(`<ellipse cx="${n1(a)}" cy="${n1(b)}" rx="${n1((f * r) / L.z)}" ry="${n1((f * camH * r) / (L.z * L.z) * 0.9)}" fill="url(#pool)"/>`);
  }
}

/** Buildings along both sides: facades, cornices, windows (lit by `litWindows` when dark), shopfronts. */
function drawFacades(c: Canvas, cues: SceneCues): void {
  const { rng, tone, dark, f, poly, pick, rr, X, zN, back } = c;
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
}

/** Graffiti scribbles and tags on the walls. */
function drawGraffiti(c: Canvas, cues: SceneCues): void {
  const { rng, tone, dark, f, P, pt, pick, rr, X, back } = c;
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
}

/** The street-light poles and lamps, glowing when on. */
function drawStreetLights(c: Canvas, lights: StreetLight[]): void {
  const { tod, tone, f, P, poly, line, poleX, items } = c;
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
}

/** Greenery: planters (level ≥ 1) and trees (level ≥ 2). */
function drawGreenery(c: Canvas, cues: SceneCues): void {
  const { rng, tone, f, P, poly, line, pick, rr, roadHalf, X, items } = c;
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
}

/** Pedestrians, brighter near a working lamp. */
function drawPeople(c: Canvas, cues: SceneCues, lights: StreetLight[]): void {
  const { rng, tone, f, P, poly, pick, rr, roadHalf, X, items } = c;
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
}

/** Cars: moving in both lanes, some parked along the curb; lights on when dark. */
function drawCars(c: Canvas, cues: SceneCues): void {
  const { rng, tone, dark, f, P, poly, pick, rr, roadHalf, items } = c;
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
}

/** Chain-link fences along the buildings, or construction barriers along the curb. */
function drawFences(c: Canvas, cues: SceneCues): void {
  const { rng, tone, dark, poly, line, rr, roadHalf, X, back, items } = c;
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
}

/** Litter: trash bags, paper, cans and bottles. */
function drawLitter(c: Canvas, cues: SceneCues): void {
  const { rng, tone, dark, f, P, poly, pick, rr, roadHalf, X, items } = c;
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
}

/** Objects far to near over the background, and a faint haze at night that keeps the lights readable. */
function composeSvg(c: Canvas): string {
  const { S, tod, defs, back, items } = c;
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
