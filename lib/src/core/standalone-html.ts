/**
 * What keeps an HTML report (an exported notebook, a chart page) from standing alone: anything it would fetch
 * from the network, and absolute paths of this machine (the repository, HOME, the temp folder). A path written
 * relative (`data/…`, `~/…`, `../…`) is fine. Empty when the page stands alone.
 */
import os from "node:os";
import { PROJECT_ROOT } from "./project-path";

export interface MachinePaths {
  root?: string;
  home?: string;
  tmp?: string;
}

const NETWORK: [string, RegExp][] = [
  ["script with a src", /<script\b[^>]*\ssrc\s*=/i],
  ["stylesheet from the network", /<link\b[^>]*\shref\s*=\s*["']?(?:https?:)?\/\//i],
  ["CSS import or url() from the network", /(?:@import\s+(?:url\()?|url\()\s*["']?(?:https?:)?\/\//i],
  ["image from the network", /<img\b[^>]*\ssrc\s*=\s*["']?(?:https?:)?\/\//i],
  ["iframe from the network", /<iframe\b[^>]*\ssrc\s*=\s*["']?(?:https?:)?\/\//i],
  ["module import from the network", /import\(\s*["'](?:https?:)?\/\//i],
];

export function standaloneProblems(html: string, where: MachinePaths = {}): string[] {
  const problems: string[] = [];
  const report = (what: string, re: RegExp) => {
    const m = re.exec(html);
    if (m) problems.push(`${what}: …${html.slice(Math.max(0, m.index - 60), m.index + m[0].length + 60).replace(/\s+/g, " ")}…`);
  };
  for (const [what, re] of NETWORK) report(what, re);
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const paths: [string, string | undefined][] = [
    ["the repository", where.root ?? PROJECT_ROOT],
    ["the home folder", where.home ?? os.homedir()],
    ["the temp folder", where.tmp ?? os.tmpdir()],
  ];
  for (const [what, p] of paths) {
    // Absolute: not the tail of a longer or relative path (`../tmp/x` is relative; `file:///tmp/x` is not), followed by a separator or the end.
    if (p && p !== "/") report(`absolute path of ${what} (${p})`, new RegExp(`(?<![\\w.~-])${esc(p)}(?=[/\\\\"'\\s<&]|$)`));
  }
  return problems;
}
