/** A report's blocks as Markdown (report.md). */
import type { Block } from "./blocks";

/**
 * Markdown-safe text: escapes what would change the rendering (backslash, backtick, `*`, `_` at a word
 * edge, `<` opening a tag, `|` inside tables) and nothing else, so the raw .md stays readable.
 */
function mdEscape(s: string, inTable = false): string {
  let out = s
    .replace(/[\\`*]/g, "\\$&")
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, "\\_")
    .replace(/<(?=[A-Za-z/!?])/g, "\\<")
    .replace(/\r?\n/g, " ");
  if (inTable) out = out.replace(/\|/g, "\\|");
  return out;
}
const mdCell = (s: string) => mdEscape(s, true);

export function renderMarkdown(blocks: Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case "title":
        out.push(`# ${mdEscape(b.text)}`, "");
        break;
      case "h2":
        out.push(`## ${mdEscape(b.text)}`, "");
        break;
      case "h3":
        out.push(`### ${mdEscape(b.text)}`, "");
        break;
      case "para":
        out.push(mdEscape(b.text), "");
        break;
      case "warning":
        out.push(`> **⚠ WARNING:** ${mdEscape(b.text)}`, "");
        break;
      case "list":
        out.push(...b.items.map((i) => `- ${mdEscape(i)}`), "");
        break;
      case "table":
        out.push(`| ${b.head.map(mdCell).join(" | ")} |`);
        out.push(`|${b.align.map((a) => (a === "r" ? "---:" : ":---")).join("|")}|`);
        for (const r of b.rows) out.push(`| ${r.map(mdCell).join(" | ")} |`);
        out.push("");
        break;
    }
  }
  return out.join("\n").replace(/\n+$/, "\n");
}
