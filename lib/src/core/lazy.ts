/**
 * Heavy dependencies loaded on first use instead of at import: `require("exceljs")` alone costs ~0.3 s
 * of CPU, which every CLI command paid at start-up whether or not it touched a workbook (a comparison
 * only writes one at the end), and nodejs-polars loads a native library only notebook tables need.
 */
import type ExcelJSModule from "exceljs";
import type PolarsModule from "nodejs-polars";

let excel: typeof ExcelJSModule | undefined;
/** exceljs (ground-truth .xlsx files, metrics.xlsx, the demo workbook). */
export function excelJS(): typeof ExcelJSModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  excel ??= require("exceljs") as typeof ExcelJSModule;
  return excel;
}

let pl: typeof PolarsModule | undefined;
/** nodejs-polars (notebook tables). */
export function polars(): typeof PolarsModule {
  if (!pl) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require("nodejs-polars") as typeof PolarsModule & { default?: typeof PolarsModule };
    pl = m.default ?? m;
  }
  return pl;
}
