/** The report files of a run folder, and the report as a string (notebooks, the CLI). */
import path from "node:path";
import { RUN_FILES, type RunData } from "../../compare";
import { writeFileAtomic } from "../../core/atomic-output";
import { writeMetricsCsv } from "./csv";
import { renderMarkdown } from "./markdown";
import { reportBlocks } from "./sections";
import { renderText } from "./text";
import { writeMetricsWorkbook } from "./xlsx";

/** report.md / report.txt as a string (also for notebooks: `show.markdown(formatRunReport(data, "md"))`). */
export function formatRunReport(data: RunData, format: "md" | "txt"): string {
  const blocks = reportBlocks(data);
  return format === "md" ? renderMarkdown(blocks) : renderText(blocks);
}

/** Write metrics.csv, metrics.xlsx, report.md and report.txt into `runDir`, each atomically. Returns their paths. */
export async function writeRunReports(runDir: string, data: RunData): Promise<string[]> {
  const files = {
    csv: path.join(runDir, RUN_FILES.metricsCsv),
    xlsx: path.join(runDir, RUN_FILES.metricsXlsx),
    md: path.join(runDir, RUN_FILES.reportMd),
    txt: path.join(runDir, RUN_FILES.reportTxt),
  };
  // Each file is written through a temporary name and renamed, so none is ever half-written.
  const blocks = reportBlocks(data);
  await writeMetricsWorkbook(files.xlsx, data);
  await writeMetricsCsv(files.csv, data);
  await writeFileAtomic(files.md, renderMarkdown(blocks));
  await writeFileAtomic(files.txt, renderText(blocks));
  return Object.values(files);
}
