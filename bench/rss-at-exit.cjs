// Preloaded into a benchmarked CLI process (node --require): writes its peak RSS (KiB) and CPU time (ms)
// to the file STREETSAFE_BENCH_RSS names when it exits, so the bench needs no /usr/bin/time.
const fs = require("node:fs");
const out = process.env.STREETSAFE_BENCH_RSS;
if (out) {
  process.on("exit", () => {
    const u = process.resourceUsage();
    fs.writeFileSync(out, JSON.stringify({ maxRssKiB: u.maxRSS, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }));
  });
}
