/**
 * Progress for long work: a live bar (cli-progress) on an interactive terminal, and a line every
 * 10% elsewhere (notebooks, CI logs), so headless output stays readable.
 */
import cliProgress from "cli-progress";

export interface Progress {
  update(done: number, extra?: string): void;
  stop(): void;
}

export function createProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY && total > 0) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted} {extra}`, stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { extra: "" });
    return { update: (done, extra = "") => bar.update(done, { extra }), stop: () => bar.stop() };
  }
  let lastDecile = -1;
  const started = Date.now();
  return {
    update(done, extra = "") {
      const decile = total ? Math.floor((done / total) * 10) : 10;
      if (decile === lastDecile) return;
      lastDecile = decile;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      stream.write(`${label}: ${done}/${total} (${Math.round((done / Math.max(total, 1)) * 100)}%) ${secs}s ${extra}\n`);
    },
    stop() {},
  };
}

/** A callback shape the lib functions accept; wraps a Progress lazily so callers that pass nothing print nothing. */
export function progressCallback(label: string, enabled: boolean): ((done: number, total: number) => void) | undefined {
  if (!enabled) return undefined;
  let p: Progress | undefined;
  return (done, total) => {
    p ??= createProgress(label, total);
    p.update(done);
    if (done >= total) p.stop();
  };
}
