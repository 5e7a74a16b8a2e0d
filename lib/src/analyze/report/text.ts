/** A report's blocks as plain text wrapped at 100 columns (report.txt, the CLI's summary). */
import type { Block } from "./blocks";

function wrap(text: string, width: number, indent = ""): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = indent + w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

export function renderText(blocks: Block[]): string {
  const out: string[] = [];
  const width = 100;
  for (const b of blocks) {
    switch (b.kind) {
      case "title":
        out.push(b.text, "=".repeat(b.text.length), "");
        break;
      case "h2":
        out.push(b.text.toUpperCase(), "-".repeat(b.text.length), "");
        break;
      case "h3":
        out.push(`* ${b.text}`, "");
        break;
      case "para":
        out.push(...wrap(b.text, width), "");
        break;
      case "warning":
        out.push(...wrap(`!! WARNING: ${b.text}`, width, "   "), "");
        break;
      case "list":
        for (const i of b.items) out.push(...wrap(`  - ${i}`, width, "    "));
        out.push("");
        break;
      case "table": {
        const widths = b.head.map((h, c) => Math.max(h.length, ...b.rows.map((r) => (r[c] ?? "").length)));
        const cell = (s: string, c: number) => (b.align[c] === "r" ? s.padStart(widths[c]) : s.padEnd(widths[c]));
        const line = (r: string[]) => `  ${r.map(cell).join("  ")}`.trimEnd();
        out.push(line(b.head), `  ${widths.map((w) => "-".repeat(w)).join("  ")}`);
        for (const r of b.rows) out.push(line(r));
        out.push("");
        break;
      }
    }
  }
  return out.join("\n").replace(/\n+$/, "\n");
}
