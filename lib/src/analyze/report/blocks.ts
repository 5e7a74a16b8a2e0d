/** A report as a list of blocks (headings, paragraphs, warnings, lists, tables), rendered as Markdown or text. */

export type Align = "l" | "r";
export type Block =
  | { kind: "title"; text: string }
  | { kind: "h2"; text: string }
  | { kind: "h3"; text: string }
  | { kind: "para"; text: string }
  | { kind: "warning"; text: string }
  | { kind: "list"; items: string[] }
  | { kind: "table"; head: string[]; rows: string[][]; align: Align[] };

export function table(head: string[], rows: string[][], align?: Align[]): Block {
  return { kind: "table", head, rows, align: align ?? head.map((_, i) => (i === 0 ? "l" : "r")) };
}
