/**
 * The run's tally as answers come in: done, failed and spent (the progress line), and the cost cap —
 * once `--max-cost` is reached every request still to go is stopped.
 */
import type { PredictionRecord } from "../run-folder";
import type { CompareProgress } from "./options";

export class RunBudget {
  done = 0;
  failed = 0;
  spent: number;
  /** Why the run stopped before every item was answered (the cost cap, a batch that stopped waiting). */
  stopReason: string | undefined;
  private readonly started = Date.now();

  constructor(
    readonly total: number,
    spentBefore: number,
    private readonly maxCost: number | undefined,
    /** Aborted to stop every request in flight (the cost cap). */
    private readonly stop: AbortController,
    private readonly onProgress?: (p: CompareProgress) => void,
  ) {
    this.spent = spentBefore;
  }

  report(): void {
    this.onProgress?.({ done: this.done, failed: this.failed, total: this.total, costUsd: this.spent, ratePerSecond: this.done / Math.max((Date.now() - this.started) / 1000, 1e-3) });
  }

  /** Count one answer as recorded; at --max-cost, stop what is still to go. */
  count(r: PredictionRecord): void {
    this.countAnswer(r.predicted === null, r.cost_usd);
  }

  /** Count one answer of any task (failed or not, its cost); at --max-cost, stop what is still to go. */
  countAnswer(failed: boolean, costUsd: number | null): void {
    this.done++;
    if (failed) this.failed++;
    this.spent += costUsd ?? 0;
    this.report();
    if (this.maxCost !== undefined && this.spent >= this.maxCost && !this.stop.signal.aborted) {
      this.stopReason = `--max-cost $${this.maxCost.toFixed(2)} reached ($${this.spent.toFixed(4)} spent)`;
      this.stop.abort();
    }
  }
}
