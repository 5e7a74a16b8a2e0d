/**
 * `STREETSAFE_TRACE=1`: timestamps of a command's phases on stderr — wall ms since the process started
 * (`performance.now()`), the main thread's busy ms (event-loop utilisation), the process's CPU ms (all
 * threads) and RSS (current, peak) — e.g. `[trace] 412 ms (main 300, cpu 520, rss 180 MB, peak 190 MB)
 * compare: test set loaded (400 images)`. For finding where a command's time goes; costs nothing when off.
 */
import { performance } from "node:perf_hooks";

const on = !!process.env["STREETSAFE_TRACE"];

export function trace(label: string): void {
  if (!on) return;
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const rss = process.memoryUsage.rss() / 2 ** 20;
  const peak = process.resourceUsage().maxRSS / 1024;
  process.stderr.write(`[trace] ${performance.now().toFixed(0)} ms (main ${elu.active.toFixed(0)}, cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)}, rss ${rss.toFixed(0)} MB, peak ${peak.toFixed(0)} MB) ${label}\n`);
}
