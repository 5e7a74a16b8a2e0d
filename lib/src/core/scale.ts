/** The score scale ground truth and models use; inclusive integer bounds. Default 1–10. */
export interface Scale {
  min: number;
  max: number;
}

export const DEFAULT_SCALE: Scale = { min: 1, max: 10 };

/** Parse "1-10" / "1..10" / "0-100" as given on the command line. */
export function parseScale(text: string): Scale {
  const m = /^\s*(-?\d+)\s*(?:-|\.\.|–|:)\s*(-?\d+)\s*$/.exec(text);
  if (!m) throw new Error(`--scale must look like "1-10", got "${text}"`);
  const scale = { min: Number(m[1]), max: Number(m[2]) };
  if (scale.min >= scale.max) throw new Error(`--scale minimum must be below its maximum, got "${text}"`);
  return scale;
}

export function inScale(value: number, scale: Scale): boolean {
  return value >= scale.min && value <= scale.max;
}
