/** Public API of the report module: HTML reports of evaluations and of before/after comparisons. */
export { chartJs } from "./chartjs.js";
export {
  type CompareLabels,
  type CompareMeta,
  compareCharts,
  renderCompareReport,
  renderComparison,
} from "./compare-report.js";
export { evalCharts, type ReportMeta, renderEvalReport } from "./eval-report.js";
export { type ChartSpec, expectedSeries, type SeriesSpec } from "./html.js";
export { EVAL_FILES, loadEvalSummary, summaryPath, writeEvalOutputs } from "./io.js";
