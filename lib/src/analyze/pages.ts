/** The chart pages of plots/: one complete offline HTML page per chart (plotly.js inlined), and the index. */
import { RUN_FILES, type RunData } from "../compare";
import { plotlyScriptTag } from "../core/display";
import { escapeHtml } from "../core/html";
import { reportWarnings } from "./report";
import type { RunChart } from "./run-charts";

export const PAGE_STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}.meta{color:#666;font-size:13px;margin:0 0 16px}
.warning{background:#fff3cd;border:1px solid #e0b200;padding:6px 10px;margin:6px 0;border-radius:4px}
ul{line-height:1.7}a{color:#2f5f8f}`;

/**
 * A chart as a complete offline HTML page: plotly.js inlined, the chart in `#chart`. When the chart
 * has been drawn the page sets `data-rendered` on <body> (or `data-render-error` with the reason).
 */
export function chartPage(chart: RunChart, run: { run_id: string; kind?: string }): string {
  const height = Number(chart.figure.layout.height ?? 460);
  const spec = JSON.stringify({ data: chart.figure.data, layout: chart.figure.layout, config: { responsive: true, displaylogo: false } }).replace(/</g, "\\u003c");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(chart.title)} · streetsafe run ${escapeHtml(run.run_id)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1>${escapeHtml(chart.title)}</h1>
<p class="meta">streetsafe ${escapeHtml(run.kind ?? "comparison")} run ${escapeHtml(run.run_id)} · <a href="index.html">all charts</a></p>
${plotlyScriptTag()}
<div id="chart" class="streetsafe-chart" style="width:100%;height:${height}px"></div>
<script type="text/javascript">(function(){
var s=${spec};
function done(){document.body.setAttribute("data-rendered","true");}
function fail(e){document.body.setAttribute("data-render-error",String(e&&e.message||e));}
try{window.Plotly.newPlot("chart",s.data,s.layout,s.config).then(done,fail);}catch(e){fail(e);}
})();</script>
</body>
</html>
`;
}

export function indexPage(data: RunData, charts: { chart: RunChart; png: boolean }[], withoutValid: string[], pngNote: string | null): string {
  const groups = new Map<string, { chart: RunChart; png: boolean }[]>();
  for (const c of charts) groups.set(c.chart.group, [...(groups.get(c.chart.group) ?? []), c]);
  const sections = [...groups.entries()]
    .map(
      ([group, items]) =>
        `<h2>${escapeHtml(group)}</h2>\n<ul>\n${items
          .map(({ chart, png }) => `<li><a class="chart-link" href="${escapeHtml(chart.name)}.html">${escapeHtml(chart.title)}</a>${png ? ` · <a href="${escapeHtml(chart.name)}.png">PNG</a>` : ""}</li>`)
          .join("\n")}\n</ul>`,
    )
    .join("\n");
  const warnings = reportWarnings(data).map((w) => `<p class="warning"><b>⚠ WARNING:</b> ${escapeHtml(w)}</p>`);
  const notes = withoutValid.map((m) => `<p class="warning">No per-model charts for "${escapeHtml(m)}": it has no valid answer.</p>`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Charts · streetsafe run ${escapeHtml(data.run.run_id)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1>Charts of comparison run ${escapeHtml(data.run.run_id)}</h1>
<p class="meta">${data.metrics.n_images} test images · ${data.metrics.common.n} answered by every model · each chart is a standalone page that opens offline${pngNote ? ` · ${escapeHtml(pngNote)}` : ""} · report: <a href="../${RUN_FILES.reportMd}">${RUN_FILES.reportMd}</a>, <a href="../${RUN_FILES.reportTxt}">${RUN_FILES.reportTxt}</a></p>
${[...warnings, ...notes].join("\n")}
${sections}
</body>
</html>
`;
}
