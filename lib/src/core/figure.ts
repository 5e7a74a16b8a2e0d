/** A Plotly figure spec: plain data + layout objects. Rendering lives in display.ts and analyze/pages.ts. */
export interface Figure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
}
