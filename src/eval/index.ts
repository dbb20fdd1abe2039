/** Public API of the evaluation module: pass@k, bootstrap CIs, summaries and edge of competence. */

export {
  BOOTSTRAP_DEFAULTS,
  type BootstrapOptions,
  bootstrapDiffCI,
  bootstrapMeanCI,
  type DiffCI,
  type MeanCI,
  makeRng,
} from "./bootstrap.js";
export {
  type CompareOptions,
  type CompareRow,
  compareEvalSummaries,
  type EvalComparison,
  type Pairing,
} from "./comparison.js";
export {
  type ClassifyOptions,
  classifyProblem,
  EDGE_CLASSES,
  EDGE_DEFAULTS,
  type EdgeBandOptions,
  type EdgeClass,
  type EdgeOpRow,
  type EdgeOptions,
  edgeBand,
  edgeByOp,
  selectEdgeProblems,
} from "./edge.js";
export {
  buildEvalSummary,
  EVAL_ERROR_KEYS,
  EVAL_ERROR_LABELS,
  EVAL_SUMMARY_FORMAT,
  EVAL_SUMMARY_VERSION,
  type EvalCounts,
  type EvalErrorCounts,
  type EvalErrorKey,
  type EvalErrorStat,
  type EvalProblemStat,
  type EvalRecord,
  type EvalRow,
  type EvalSummary,
  type EvalSummaryOptions,
  type MetaValue,
  parseEvalSummary,
} from "./evaluation.js";
export {
  allK,
  countCorrect,
  kGrid,
  PASSK_ESTIMATORS,
  type PassKEstimator,
  passAtK,
  passAtKFirst,
  problemPassAtK,
} from "./passk.js";
export {
  type Band,
  type CIStat,
  type CIStatN,
  PAPER_BANDS,
  type ProblemOutcome,
  type Summary,
  type SummaryOptions,
  type SummaryRow,
  summarize,
  validateOutcome,
  validateOutcomes,
} from "./summary.js";
