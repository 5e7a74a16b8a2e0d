/** Flag parsing shared by the commands: each parser names the flag in its error. */
import { InvalidArgumentError } from "commander";

export function intFlag(flag: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be an integer${rangeText(min, max)}, got "${value}"`);
    }
    return n;
  };
}

export function ratioFlag(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n >= 1) {
      throw new InvalidArgumentError(`${flag} must be a number in [0, 1), got "${value}"`);
    }
    return n;
  };
}

export function choiceFlag<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`${flag} must be one of ${choices.join(", ")}, got "${value}"`);
    }
    return value as T;
  };
}

function rangeText(min: number, max: number): string {
  if (min > -Infinity && max < Infinity) return ` in ${min}..${max}`;
  if (min > -Infinity) return ` ≥ ${min}`;
  return "";
}
