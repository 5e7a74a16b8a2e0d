/**
 * Rich output for notebooks (tslab) and HTML reports: Polars tables as HTML, Plotly charts that
 * carry plotly.js inline (once per page; no CDN, so exported reports open offline), image thumbnails.
 */
import { readFileSync } from "node:fs";
import type pl from "nodejs-polars";
import { polars } from "./lazy";
import type { Figure } from "./figure";
import { escapeHtml } from "./html";

let plotlyShipped = false;

/** plotly.js as a script that sets window.Plotly even where a page has AMD/CommonJS loaders. */
let plotlyTag: string | undefined;
export function plotlyScriptTag(): string {
  // Read once per process: every chart page of a run inlines the same ~4.8 MB.
  plotlyTag ??= `<script type="text/javascript">(function(define, exports, module){${readFileSync(require.resolve("plotly.js-dist-min"), "utf8")}\n})(undefined, undefined, undefined);</script>`;
  return plotlyTag;
}

/** A chart as HTML; plotly.js is included the first time in this process (one notebook = one kernel). */
export function plotHtml(fig: Figure, opts: { includePlotlyJs?: boolean } = {}): string {
  const include = opts.includePlotlyJs ?? !plotlyShipped;
  plotlyShipped ||= include;
  const id = `plot-${Math.random().toString(36).slice(2, 10)}`;
  const spec = JSON.stringify({ data: fig.data, layout: fig.layout, config: { responsive: true, displaylogo: false } }).replace(/</g, "\\u003c");
  return `${include ? plotlyScriptTag() : ""}<div id="${id}" style="width:100%;min-height:${Number(fig.layout.height ?? 420)}px"></div>
<script type="text/javascript">(function(){var s=${spec};window.Plotly.newPlot("${id}", s.data, s.layout, s.config);})();</script>`;
}

type Tabular = pl.DataFrame | readonly object[];

function toFrame(data: Tabular): pl.DataFrame {
  return Array.isArray(data) ? polars().DataFrame(data as Record<string, unknown>[]) : (data as pl.DataFrame);
}

function formatCell(v: unknown, digits: number): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** A Polars frame (or rows) as a styled HTML table with its shape and column types. */
export function tableHtml(data: Tabular, opts: { caption?: string; maxRows?: number; digits?: number } = {}): string {
  const df = toFrame(data);
  if (df.width === 0) return `<p><b>${escapeHtml(opts.caption ?? "table")}</b>: none</p>`;
  const maxRows = opts.maxRows ?? 20;
  const cols = df.columns;
  const types = df.dtypes.map((t) => String(t));
  const rows = df.head(maxRows).toRecords() as Record<string, unknown>[];
  const head = `<tr>${cols.map((c, i) => `<th title="${escapeHtml(types[i])}">${escapeHtml(c)}<br><small style="font-weight:normal;color:#888">${escapeHtml(types[i].toLowerCase())}</small></th>`).join("")}</tr>`;
  const body = rows
    .map((r) => `<tr>${cols.map((c) => `<td>${escapeHtml(formatCell(r[c], opts.digits ?? 3))}</td>`).join("")}</tr>`)
    .join("");
  const more = df.height > maxRows ? `<tr><td colspan="${cols.length}" style="color:#888">… ${df.height - maxRows} more rows</td></tr>` : "";
  const caption = `${opts.caption ? `<b>${escapeHtml(opts.caption)}</b> · ` : ""}shape: (${df.height}, ${df.width})`;
  return `<table class="streetsafe-table" style="border-collapse:collapse;font-size:13px"><caption style="caption-side:top;text-align:left">${caption}</caption><thead>${head}</thead><tbody>${body}${more}</tbody></table>
<style>.streetsafe-table th,.streetsafe-table td{border:1px solid #ddd;padding:3px 8px;text-align:left}.streetsafe-table th{background:#f4f4f4}</style>`;
}

/** A grid of JPEG thumbnails with captions (bytes embedded, so the page stays self-contained). */
export function thumbnailsHtml(images: { jpeg: Buffer; caption: string }[], size = 160): string {
  const cells = images
    .map(
      (im) => `<figure style="margin:4px;display:inline-block;text-align:center;width:${size}px">
<img src="data:image/jpeg;base64,${im.jpeg.toString("base64")}" style="width:${size}px;height:${size}px;object-fit:cover;border-radius:4px">
<figcaption style="font-size:12px">${escapeHtml(im.caption)}</figcaption></figure>`,
    )
    .join("");
  return `<div style="display:flex;flex-wrap:wrap">${cells}</div>`;
}

/** Display in the running tslab kernel (notebooks); required lazily so the CLI never loads tslab. */
function tslabDisplay(): { html(s: string): void; markdown(s: string): void } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("tslab").display;
}

export const show = {
  table: (data: Tabular, opts?: Parameters<typeof tableHtml>[1]) => tslabDisplay().html(tableHtml(data, opts)),
  plot: (fig: Figure) => tslabDisplay().html(plotHtml(fig)),
  thumbnails: (images: { jpeg: Buffer; caption: string }[], size?: number) => tslabDisplay().html(thumbnailsHtml(images, size)),
  html: (html: string) => tslabDisplay().html(html),
  markdown: (md: string) => tslabDisplay().markdown(md),
};
