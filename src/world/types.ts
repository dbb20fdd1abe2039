/** Shared types of the synthetic world. */

/** Forward: the question asks for the last node. Reverse: an early leaf is unknown, the last node is given. */
export type Mode = "forward" | "reverse";

/** All modes. */
export const MODES: readonly Mode[] = ["forward", "reverse"];

/** One node of a gold dependency graph, keyed by its normalised name. */
export interface GraphNode {
  name: string;
  /** Numeric value (in reverse mode: the value under the true x). */
  value: number;
  /** Names of the parent nodes (constants are not nodes). */
  parents: string[];
  /** Reverse mode only: the node's value as a linear expression in x, canonical form (e.g. "2*x + 1"). */
  expr?: string;
}

/** The gold graph: solution nodes in topological order; the last one is the queried (forward) or given (reverse) node. */
export interface GoldGraph {
  nodes: GraphNode[];
}

/** Which problem to generate: a pure function of these fields. */
export interface ProblemKey {
  seed: number;
  index: number;
  op: number;
  context: string;
  mode: Mode;
}

/** One generated problem, as written to JSONL (interop.md data sets). */
export interface Problem extends ProblemKey {
  id: string;
  problem: string;
  question: string;
  /** Reference wording of the solution, ending `Answer: N.` */
  solution: string;
  answer: string;
  /** Model text up to and including `<solution>`. */
  prompt: string;
  /** Gold continuation of the prompt: ` trace </solution> <answer> N </answer>`. */
  completion: string;
  graph: GoldGraph;
}
