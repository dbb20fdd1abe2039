/** Public API of the evaluation module: pass@k, bootstrap CIs, summaries and edge of competence. */

export {
  BOOTSTRAP_DEFAULTS,
  type BootstrapOptions,
  bootstrapMeanCI,
  type MeanCI,
  makeRng,
} from "./bootstrap.js";
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
